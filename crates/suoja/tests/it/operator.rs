//! The operator's pages (`/operator`) as the person running the installation uses them: closed
//! without a configured token, signing in with it (wrong tokens refused and limited, forged or
//! expired sign-ins not accepted, forms from another origin refused), every tenant listed with
//! its region and latest move, and a tenant created in the node's own region — on one region
//! (both engines) and across two regions on PostgreSQL, where a subdomain the other region
//! serves is refused and the new tenant is served only in its region.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::engine_test;
use crate::harness::{TestApp, pg_url, send};
use crate::residency::{Made, TwoRegions, host, init, req};
use crate::web::Browser;

const TOKEN: &str = "operator-token-0123456789-abcdefghij";

/// Signs `b` in with the operator token; the answer.
async fn sign_in(b: &mut Browser, token: &str) -> crate::web::Page {
    b.submit("/operator", "/operator/signin", &[("token", token)]).await
}

/// Creates a tenant through the form; the answer.
async fn create(b: &mut Browser, subdomain: &str, name: &str, email: &str) -> crate::web::Page {
    b.submit(
        "/operator",
        "/operator/tenants",
        &[("subdomain", subdomain), ("name", name), ("admin_email", email)],
    )
    .await
}

/// The text of the element with `id` on a page.
fn text_of(page: &crate::web::Page, id: &str) -> String {
    let at = page.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{}", page.body));
    let rest = &page.body[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + rest[start..].find('<').unwrap()].to_string()
}

engine_test!(the_operators_pages_are_closed_without_a_token, |app| async move {
    let mut b = Browser::new(&app);
    for path in ["/operator"] {
        assert_eq!(b.get(path).await.status, StatusCode::NOT_FOUND);
    }
    for path in ["/operator/signin", "/operator/tenants", "/operator/signout"] {
        assert_eq!(b.post(path, &[("token", TOKEN)]).await.status, StatusCode::NOT_FOUND, "{path}");
    }
});

mod one_region {
    use super::*;

    async fn run(engine: crate::harness::Engine) {
        let app = TestApp::spawn_with(engine, |s| s.operator_token = Some(TOKEN.into())).await;
        let mut b = Browser::new(&app);

        // Signed out: the sign-in form, in the browser's language.
        let page = b.get("/operator").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("name=\"token\""), "{}", page.body);
        let fi = app
            .client
            .get(format!("{}/operator", app.base))
            .header("accept-language", "fi")
            .send()
            .await
            .unwrap();
        assert!(fi.text().await.unwrap().contains("Ylläpitäjän kirjautuminen"));

        // A wrong token, a form without its CSRF token, a form from another site.
        let wrong = sign_in(&mut b, "operator-token-0123456789-abcdefghiX").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("operator-error"), "{}", wrong.body);
        assert_eq!(b.post("/operator/signin", &[("token", TOKEN)]).await.status, StatusCode::FORBIDDEN);
        let csrf = b.get("/operator").await.hidden("csrf");
        let foreign = app
            .client
            .post(format!("{}/operator/signin", app.base))
            .header("origin", "https://evil.example")
            .form(&[("csrf", csrf.as_str()), ("token", TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
        // A cookie made up without the token opens nothing.
        let forged = app
            .client
            .get(format!("{}/operator", app.base))
            .header("cookie", "suoja_operator=4102444800.00aa")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(forged.contains("name=\"token\"") && !forged.contains("tenant-subdomain"));

        // Signed in: the installation's tenant, in its region, and no person's data.
        let ok = sign_in(&mut b, TOKEN).await;
        assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, "/operator"));
        let home = b.get("/operator").await;
        assert_eq!(home.status, StatusCode::OK);
        assert_eq!(text_of(&home, "operator-region"), app.settings.region);
        assert!(home.body.contains(&format!("<td>{}</td>", app.t.tenant_id)), "{}", home.body);
        assert!(!home.body.contains(&app.t.email), "no admin's address on the overview");

        // Bad input is shown again with its errors, and nothing is created.
        for (subdomain, name, email, field) in [
            ("Bad_Sub", "Bad", "ada@bad.example", "tenant-subdomain-error"),
            ("bad", "", "ada@bad.example", "tenant-name-error"),
            ("bad", "Bad", "not an address", "tenant-admin-email-error"),
            ("bad", "Bad\u{0007}", "ada@bad.example", "tenant-name-error"),
        ] {
            let page = create(&mut b, subdomain, name, email).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{subdomain} {name} {email}");
            assert!(page.body.contains(field), "{field}: {}", page.body);
            assert!(!page.body.contains("data-subdomain=\"bad\""));
        }

        // A tenant made here: its admin's token works at its own host, and its admin is the
        // address typed in.
        let made = create(&mut b, "initech", "Initech Oy", "Åsa.Lindqvist@initech.example").await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let token = text_of(&made, "created-token");
        let port = app.base.rsplit(':').next().unwrap();
        let (s, me) = send(
            app.client
                .get(format!("{}/api/v2/users/me.json", app.base))
                .header("host", format!("initech.help.test:{port}"))
                .basic_auth("Åsa.Lindqvist@initech.example/token", Some(&token)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{me}");
        assert_eq!(me["user"]["role"], "admin");
        assert_eq!(
            me["user"]["email"].as_str().map(str::to_lowercase).as_deref(),
            Some("åsa.lindqvist@initech.example")
        );
        // The same subdomain again is refused at its field.
        let again = create(&mut b, "initech", "Initech", "x@initech.example").await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.body.contains("tenant-subdomain-error"), "{}", again.body);
        assert!(b.get("/operator").await.body.contains("data-subdomain=\"initech\""));

        // Signing out closes the pages again.
        let out = b.submit("/operator", "/operator/signout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(b.get("/operator").await.body.contains("name=\"token\""));

        // Wrong tokens run out: ten tries per client address in ten minutes (two were spent).
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(sign_in(&mut b, "operator-token-0123456789-abcdefghiY").await.status);
        }
        assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
        // Even the right token waits then.
        assert_eq!(sign_in(&mut b, TOKEN).await.status, StatusCode::TOO_MANY_REQUESTS);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(crate::harness::Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if pg_url().is_none() {
            eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
            return;
        }
        run(crate::harness::Engine::Postgres).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_pages_open_only_with_the_token_and_create_a_tenant_in_their_region() {
    let Some(admin) = pg_url() else {
        assert!(std::env::var("CI").is_err(), "CI runs the regions' operator test on PostgreSQL");
        eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
        return;
    };
    sqlx::any::install_default_drivers();
    let TwoRegions {
        eu,
        us,
        routing,
        conf: _conf,
        config,
    } = TwoRegions::fresh(&admin).await;
    let acme = Made::from_init(init(&config, &eu, "eu", "acme"), "acme");
    let globex = Made::from_init(init(&config, &us, "us", "globex"), "globex");

    // The EU node has the operator's pages; the US node has no token: they are not served there.
    let eu_node = crate::process::Proc::start_on(
        eu.port,
        &eu.dir.0,
        None,
        "node.log",
        &[
            ("SUOJA_CONFIG", config.to_str().unwrap()),
            ("SUOJA_REGION", eu.name),
            ("SUOJA_OPERATOR_TOKEN", TOKEN),
        ],
    );
    let us_node = us.start(&config);
    let (eu_base, us_base) = (eu_node.base(), us_node.base());
    assert_eq!(Browser::at(&us_base).get("/operator").await.status, StatusCode::NOT_FOUND);

    let mut b = Browser::at(&eu_base);
    assert_eq!(sign_in(&mut b, TOKEN).await.status, StatusCode::SEE_OTHER);
    let home = b.get("/operator").await;
    assert_eq!(text_of(&home, "operator-region"), "eu");
    // Both regions' tenants, each with its region; the other region's with a link to its pages
    // and no name (the routing database holds none).
    let row = |subdomain: &str| {
        let at = home
            .body
            .find(&format!("data-subdomain=\"{subdomain}\""))
            .unwrap_or_else(|| panic!("{subdomain}: {}", home.body));
        home.body[at..at + home.body[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(row("acme").contains("<td>eu"), "{}", row("acme"));
    let g = row("globex");
    assert!(g.contains("<td>us") && g.contains(&format!("http://127.0.0.1:{}/operator", us.port)), "{g}");
    assert!(!home.body.contains(&acme.email) && !home.body.contains(&globex.email));

    // A subdomain the other region serves is refused, and its route stays.
    let taken = create(&mut b, "globex", "Globex EU", "ada@globex.example").await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&taken, "tenant-subdomain-error").contains("us"), "{}", taken.body);
    let (s, _) = send(req(Method::GET, &us_base, "/api/v2/users/me.json", &host("globex", us.port), Some(&globex))).await;
    assert_eq!(s, StatusCode::OK);

    // A tenant created at the EU node lives in the EU: served there, refused (421) in the US.
    let made = create(&mut b, "initech", "Initech", "ada@initech.example").await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(text_of(&made, "created-region"), "eu");
    let initech = Made {
        subdomain: "initech".into(),
        email: "ada@initech.example".into(),
        token: text_of(&made, "created-token"),
        word: String::new(),
    };
    let (s, v) = send(req(Method::GET, &eu_base, "/api/v2/users/me.json", &host("initech", eu.port), Some(&initech))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v): (StatusCode, Value) = send(req(Method::GET, &us_base, "/api/v2/users/me.json", &host("initech", us.port), Some(&initech))).await;
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "{v}");
    assert_eq!(v["region"], "eu");
    // The new tenant's rows are in the EU database only.
    for (db, expected) in [(&eu.db, 1), (&us.db, 0)] {
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(db).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE subdomain = 'initech'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(n, expected, "{db}");
    }
    assert!(b.get("/operator").await.body.contains("data-subdomain=\"initech\""));

    // A region's own name, or a label no host may have, is no tenant's subdomain; nor is a
    // name that hides characters.
    for (subdomain, name, field) in [
        ("us", "Us", "tenant-subdomain-error"),
        ("eu", "Eu", "tenant-subdomain-error"),
        ("-dash", "Dash", "tenant-subdomain-error"),
        ("dash-", "Dash", "tenant-subdomain-error"),
        ("hidden", "Evil\u{202E}gnp.exe", "tenant-name-error"),
        ("hidden", "\u{200B}", "tenant-name-error"),
    ] {
        let page = create(&mut b, subdomain, name, "ada@odd.example").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{subdomain:?} {name:?}");
        assert!(page.body.contains(field), "{field}: {}", page.body);
    }

    // Several creates of one subdomain at once (a double-click, two operators): one tenant is
    // made, and its route stays, whichever create lost.
    let csrf = b.get("/operator").await.hidden("csrf");
    let cookies = b.cookie_header();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..8 {
        for _ in 0..4 {
            let (client, cookies, csrf, base) = (client.clone(), cookies.clone(), csrf.clone(), eu_base.clone());
            set.spawn(async move {
                let sub = format!("race{i}");
                let email = format!("ada@race{i}.example");
                let r = client
                    .post(format!("{base}/operator/tenants"))
                    .header("cookie", cookies)
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("subdomain", sub.as_str()),
                        ("name", "Race"),
                        ("admin_email", email.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                (i, r.status())
            });
        }
    }
    let mut made = [0; 8];
    while let Some(done) = set.join_next().await {
        let (i, status) = done.unwrap();
        assert!(matches!(status, StatusCode::CREATED | StatusCode::UNPROCESSABLE_ENTITY), "{status}");
        if status == StatusCode::CREATED {
            made[i] += 1;
        }
    }
    assert_eq!(made, [1; 8], "one tenant of each subdomain");
    let mut r = <sqlx::AnyConnection as sqlx::Connection>::connect(&routing).await.unwrap();
    for i in 0..8 {
        let region: Option<String> = sqlx::query_scalar("SELECT region FROM tenant_routes WHERE subdomain = $1")
            .bind(format!("race{i}"))
            .fetch_optional(&mut r)
            .await
            .unwrap();
        assert_eq!(region.as_deref(), Some("eu"), "race{i} lost its route");
    }
}
