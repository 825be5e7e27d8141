//! The web interface over HTTP, as a browser without JavaScript uses it: sign-in (password,
//! second factor, e-mail link), sessions, CSRF and origin checks, the CSP nonce, forms that keep
//! bad input, double submits, hostile content, and who sees what. The flows in a real browser
//! are in `e2e/`.

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use suoja_core::{Clock as _, TenantId, UserId};

use crate::engine_test;
use crate::engine_test_clocked;
use crate::harness::TestApp;

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A browser without JavaScript: keeps cookies, does not follow redirects.
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
    /// The host name sent, when not the address's (another tenant's subdomain).
    host: Option<String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    /// The value of the first hidden input `name`.
    pub(crate) fn hidden(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&needle).unwrap_or_else(|| panic!("no {name} field in:\n{}", self.body));
        let rest = &self.body[at + needle.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self::at(&app.base)
    }

    /// A browser for the server at `base`.
    pub(crate) fn at(base: &str) -> Self {
        Browser {
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            base: base.to_string(),
            cookies: HashMap::new(),
            host: None,
        }
    }

    /// A browser that names `host` (such as `two.example`, another tenant's subdomain).
    pub(crate) fn for_host(base: &str, host: &str) -> Self {
        let port = base.rsplit(':').next().unwrap_or("80");
        Browser {
            host: Some(format!("{host}:{port}")),
            ..Self::at(base)
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, r: reqwest::RequestBuilder) -> Page {
        let r = match &self.host {
            Some(h) => r.header("host", h),
            None => r,
        };
        let resp = r.header("cookie", self.cookie_header()).send().await.unwrap();
        for v in resp.headers().get_all(SET_COOKIE) {
            let s = v.to_str().unwrap();
            let (pair, attrs) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        Page { status, headers, body }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let r = self.client.get(format!("{}{path}", self.base));
        self.finish(r).await
    }

    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = self.client.post(format!("{}{path}", self.base)).form(fields);
        self.finish(r).await
    }

    /// Posts `body` as it is, under `content_type`; the answer's status.
    pub(crate) async fn post_raw(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> StatusCode {
        let r = self.client.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        self.finish(r).await.status
    }

    /// Posts a form shown on `page`, with its CSRF token.
    pub(crate) async fn submit(&mut self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        let csrf = page.hidden("csrf");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub(crate) async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.submit("/signin", "/signin", &[("email", email), ("password", password), ("return_to", "/")])
            .await
    }
}

/// The security settings form with the defaults, and `set` changed.
pub(crate) fn security_form<'a>(set: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f: Vec<(&str, &str)> = vec![
        ("allowed_ranges", ""),
        ("min_length", "12"),
        ("history", "0"),
        ("idle_minutes", "30"),
        ("absolute_hours", "12"),
        ("sign_in_alerts", "1"),
    ];
    for (k, v) in set {
        f.retain(|(name, _)| name != k);
        f.push((k, v));
    }
    f
}

async fn agent(app: &TestApp, name: &str, email: &str) -> i64 {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            serde_json::json!({"user": {"name": name, "email": email, "role": "agent", "password": PASSWORD}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["user"]["id"].as_i64().unwrap()
}

async fn ticket_count(app: &TestApp) -> i64 {
    let (s, v) = app.get("/api/v2/tickets.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["count"].as_i64().unwrap()
}

/// Text without the per-response nonce and CSRF token, to compare two pages.
pub(crate) fn without_tokens(s: &str) -> String {
    let mut out = String::new();
    for part in s.split('"') {
        if part.len() >= 20 && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            out.push_str("TOKEN");
        } else {
            out.push_str(part);
        }
        out.push('"');
    }
    out
}

engine_test!(sign_in_is_guarded_and_answers_the_same_for_unknown_and_wrong, |app| async move {
    let (person, _) = app.end_user_with_password("Ella Asiakas", "ella@example.fi").await;
    let mut b = Browser::new(&app);

    // The page: a nonce CSP whose nonce is the script's, no framing, a pre-sign-in cookie.
    let page = b.get("/signin").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap().to_string();
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "the script does not carry the header's nonce"
    );
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
    assert!(page.body.contains("<html lang=\"en\">"));
    let set = page.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    let second = b.get("/signin").await;
    let nonce2 = second
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .to_string();
    assert!(!nonce2.starts_with(nonce), "the nonce must change with every response");

    // No CSRF token, a wrong one, or another site's origin: refused, no session.
    let no_token = b.post("/signin", &[("email", "ella@example.fi"), ("password", PASSWORD)]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong_token = b
        .post(
            "/signin",
            &[("csrf", "x".repeat(32).as_str()), ("email", "ella@example.fi"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
    let csrf = b.get("/signin").await.hidden("csrf");
    let foreign = b.client.post(format!("{}/signin", b.base)).header("origin", "https://evil.example").form(&[
        ("csrf", csrf.as_str()),
        ("email", "ella@example.fi"),
        ("password", PASSWORD),
    ]);
    let foreign = b.finish(foreign).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(!b.cookies.contains_key("suoja_session"));

    // Unknown e-mail and wrong password read the same.
    let unknown = b.sign_in("nobody@example.fi", PASSWORD).await;
    let wrong = b.sign_in("ella@example.fi", "not the password").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        without_tokens(&unknown.body).replace("nobody@example.fi", "E"),
        without_tokens(&wrong.body).replace("ella@example.fi", "E")
    );
    assert!(!b.cookies.contains_key("suoja_session"));

    // Signed in: an HttpOnly session; an end user goes to the portal and may not enter the workspace.
    let ok = b.sign_in("ella@example.fi", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let set = ok.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(set.starts_with("suoja_session=") && set.contains("HttpOnly"), "{set}");
    assert_eq!(b.get("/").await.location(), "/portal");
    assert_eq!(b.get("/agent/views/mine").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/privacy").await.status, StatusCode::FORBIDDEN);

    // Signed out: pages send the browser to sign in and back.
    let mut anon = Browser::new(&app);
    let to = anon.get("/agent/views/open").await;
    assert_eq!(to.status, StatusCode::SEE_OTHER);
    assert_eq!(to.location(), "/signin?return_to=%2Fagent%2Fviews%2Fopen");
    assert_eq!(anon.get("/portal").await.status, StatusCode::SEE_OTHER);

    // Sign-out everywhere ends the other browser's session too.
    let mut phone = Browser::new(&app);
    assert_eq!(phone.sign_in("ella@example.fi", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/portal").await.status, StatusCode::OK);
    let out = b.submit("/account", "/signout/everywhere", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/portal").await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/portal").await.status, StatusCode::SEE_OTHER);
    let _ = person;
});

engine_test_clocked!(second_factor_staff_rule_and_idle_sessions, |app, clock| async move {
    agent(&app, "Aino Agentti", "aino@example.fi").await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("aino@example.fi", PASSWORD).await.location(), "/");

    // Set up TOTP through the pages.
    let shown = b.submit("/account/second-factor", "/account/second-factor", &[]).await;
    assert_eq!(shown.status, StatusCode::OK);
    let secret_b32 = shown.hidden("secret");
    let secret = suoja_helpdesk::totp::from_base32(&secret_b32).unwrap();
    let code_now = |offset: i64| suoja_helpdesk::totp::code_at(&secret, suoja_helpdesk::totp::step_of(clock.now()) + offset);
    let wrong = b
        .submit(
            "/account/second-factor",
            "/account/second-factor/confirm",
            &[("code", "000000"), ("secret", &secret_b32)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains(&secret_b32), "the key should stay on the page after a wrong code");
    let csrf = b.get("/account").await.hidden("csrf");
    let ok = b.post("/account/second-factor/confirm", &[("csrf", &csrf), ("code", &code_now(0))]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body.matches("<li><code>").count(), 10, "the recovery codes come at once");

    // Signing in now takes a code; a wrong one ends the attempt; a used one does not work twice.
    clock.advance_ms((60) * 1000);
    let mut c = Browser::new(&app);
    let step = c.sign_in("aino@example.fi", PASSWORD).await;
    assert!(step.location().starts_with("/signin/second-factor"), "{}", step.location());
    assert_eq!(
        c.get("/agent/views/mine").await.status,
        StatusCode::SEE_OTHER,
        "a half-signed-in browser must not get in"
    );
    let bad = c.submit("/signin/second-factor", "/signin/second-factor", &[("code", "123456")]).await;
    assert_eq!(bad.location(), "/signin?failed=code");
    c.sign_in("aino@example.fi", PASSWORD).await;
    let code = code_now(0);
    let good = c
        .submit("/signin/second-factor", "/signin/second-factor", &[("code", &code), ("return_to", "/")])
        .await;
    assert_eq!(good.location(), "/");
    assert_eq!(c.get("/agent/views/mine").await.status, StatusCode::OK);
    let mut d = Browser::new(&app);
    d.sign_in("aino@example.fi", PASSWORD).await;
    let replay = d.submit("/signin/second-factor", "/signin/second-factor", &[("code", &code)]).await;
    assert_eq!(replay.location(), "/signin?failed=code", "the same code was accepted twice");

    // Idle for more than 30 minutes: signed out. Active: stays.
    clock.advance_ms((20 * 60) * 1000);
    assert_eq!(c.get("/agent/views/mine").await.status, StatusCode::OK);
    clock.advance_ms((31 * 60) * 1000);
    assert_eq!(c.get("/agent/views/mine").await.status, StatusCode::SEE_OTHER);

    // The admin requires a second factor of staff: an agent without one must set it up first.
    agent(&app, "Veikko Agentti", "veikko@example.fi").await;
    let admin_pw = "admin password for the test";
    let (s, _) = app
        .put(
            &format!("/api/v2/users/{}.json", app.t.admin_id),
            serde_json::json!({"user": {"password": admin_pw}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.t.email, admin_pw).await;
    let set = admin
        .submit("/admin/security", "/admin/security", &security_form(&[("staff_second_factor", "1")]))
        .await;
    assert_eq!(set.location(), "/admin/security?done=saved");
    let mut v = Browser::new(&app);
    let enrol = v.sign_in("veikko@example.fi", PASSWORD).await;
    assert!(enrol.location().starts_with("/account/second-factor"), "{}", enrol.location());
    assert_eq!(v.get("/agent/views/mine").await.status, StatusCode::SEE_OTHER);
    let shown = v.submit("/account/second-factor", "/account/second-factor", &[]).await;
    let secret = suoja_helpdesk::totp::from_base32(&shown.hidden("secret")).unwrap();
    let code = suoja_helpdesk::totp::code_at(&secret, suoja_helpdesk::totp::step_of(clock.now()));
    let csrf = shown.hidden("csrf");
    let done = v
        .post("/account/second-factor/confirm", &[("csrf", &csrf), ("code", &code), ("return_to", "/agent")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "the recovery codes, then on");
    assert!(done.body.contains("href=\"/agent\""), "{}", done.body);
    assert_eq!(v.get("/agent/views/mine").await.status, StatusCode::OK);
    // Turning it off takes a current code; while the rule holds, a new one must be set up
    // straight away (how a lost phone is replaced).
    let off = v.submit("/account", "/account/second-factor/remove", &[("code", "000000")]).await;
    assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY);
    clock.advance_ms(30_000);
    let code = suoja_helpdesk::totp::code_at(&secret, suoja_helpdesk::totp::step_of(clock.now()));
    let off = v.submit("/account", "/account/second-factor/remove", &[("code", &code)]).await;
    assert_eq!(off.location(), "/account?done=factor_off");
    assert_eq!(
        v.get("/agent/views/mine").await.status,
        StatusCode::SEE_OTHER,
        "only setting up a new factor now"
    );
    assert_eq!(v.get("/account/second-factor").await.status, StatusCode::OK);
});

/// The bodies of the mails of `kind` queued for `user`.
async fn mails(app: &TestApp, user: i64, kind: &str) -> Vec<String> {
    app.privacy()
        .outbox_for(TenantId(app.t.tenant_id), UserId(user))
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, b)| b.expose().clone())
        .collect()
}

/// An admin signed in through the pages.
pub(crate) async fn admin_browser(app: &TestApp) -> Browser {
    let admin_pw = "admin password for the test";
    let (s, _) = app
        .put(
            &format!("/api/v2/users/{}.json", app.t.admin_id),
            serde_json::json!({"user": {"password": admin_pw}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut admin = Browser::new(app);
    assert_eq!(admin.sign_in(&app.t.email, admin_pw).await.location(), "/");
    admin
}

// The security settings page: bad values are refused at their fields with nothing saved; the
// session limits chosen hold open sessions too (idle and absolute).
engine_test_clocked!(security_settings_page_and_session_limits, |app, clock| async move {
    agent(&app, "Aino Agentti", "aino@example.fi").await;
    let mut admin = admin_browser(&app).await;
    let page = admin.get("/admin/security").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("name=\"idle_minutes\"") && page.body.contains("value=\"30\""),
        "{}",
        page.body
    );
    for (set, why) in [
        (vec![("idle_minutes", "2")], "from 5 to 1440"),
        (vec![("absolute_hours", "twelve")], "whole number"),
        (vec![("idle_minutes", "120"), ("absolute_hours", "1")], "longer than the absolute limit"),
        (vec![("min_length", "7"), ("idle_minutes", "10")], "from 8 to 64"),
        (
            vec![("ip_enabled", "1"), ("allowed_ranges", "10.9.9.0/24"), ("idle_minutes", "10")],
            "lock you out",
        ),
        (vec![("allowed_ranges", "10.9.9.0/99")], "prefix length"),
    ] {
        let r = admin.submit("/admin/security", "/admin/security", &security_form(&set)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{set:?}");
        assert!(r.body.contains(why), "{set:?}: {}", r.body);
        assert!(r.body.contains("aria-invalid=\"true\""), "the error is at its field: {set:?}");
    }
    let (_, v) = app.get("/api/v2/account/settings.json").await;
    assert_eq!(
        v["settings"]["security"]["sessions"],
        serde_json::json!({"idle_minutes": 30, "absolute_hours": 12})
    );
    assert_eq!(v["settings"]["security"]["password"]["min_length"], 12);
    assert_eq!(v["settings"]["security"]["ip_restriction"]["enabled"], false);
    // Not for agents.
    let mut a = Browser::new(&app);
    a.sign_in("aino@example.fi", PASSWORD).await;
    assert_eq!(a.get("/admin/security").await.status, StatusCode::FORBIDDEN);

    // Ten minutes idle, one hour in all; sessions opened before are held to them.
    let mut busy = Browser::new(&app);
    busy.sign_in("aino@example.fi", PASSWORD).await;
    let mut away = Browser::new(&app);
    away.sign_in("aino@example.fi", PASSWORD).await;
    let limits = |idle: &'static str, hours: &'static str| security_form(&[("idle_minutes", idle), ("absolute_hours", hours)]);
    let r = admin.submit("/admin/security", "/admin/security", &limits("10", "1")).await;
    assert_eq!(r.location(), "/admin/security?done=saved");
    clock.advance_ms(9 * 60_000);
    assert_eq!(a.get("/agent/views/mine").await.status, StatusCode::OK);
    assert_eq!(busy.get("/agent/views/mine").await.status, StatusCode::OK);
    clock.advance_ms(5 * 60_000);
    assert_eq!(busy.get("/agent/views/mine").await.status, StatusCode::OK);
    clock.advance_ms(6 * 60_000);
    assert_eq!(a.get("/agent/views/mine").await.status, StatusCode::SEE_OTHER, "idle past ten minutes");
    // A longer idle limit chosen later brings back no session that timed out: neither the one
    // seen ending, nor one not used since it timed out (the admin's own had timed out too).
    let mut admin = admin_browser(&app).await;
    let r = admin.submit("/admin/security", "/admin/security", &limits("30", "1")).await;
    assert_eq!(r.location(), "/admin/security?done=saved");
    assert_eq!(a.get("/agent/views/mine").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        away.get("/agent/views/mine").await.status,
        StatusCode::SEE_OTHER,
        "timed out at ten minutes, before the change"
    );
    // Busy all along, opened before the one-hour limit was set: it ends at the hour.
    for _ in 0..4 {
        clock.advance_ms(9 * 60_000);
        assert_eq!(busy.get("/agent/views/mine").await.status, StatusCode::OK);
    }
    clock.advance_ms(9 * 60_000);
    assert_eq!(busy.get("/agent/views/mine").await.status, StatusCode::SEE_OTHER, "busy, but past one hour");
    // The change is in the ledger as numbers.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let entries = suoja_store::ledger::page(&mut c, TenantId(app.t.tenant_id), 0, 10_000).await.unwrap();
    let changes: Vec<_> = entries.iter().filter(|e| e.details.contains("session_limits")).collect();
    assert_eq!(changes.len(), 2, "two saved changes, none for the refused ones");
    assert!(changes[0].details.contains("\"idle_minutes\":10"), "{}", changes[0].details);
});

// Recovery codes: shown once when two-step sign-in is set up; each signs in once in place of
// the app's code (typed any way), after a password only — not after a sign-in link; wrong ones
// count toward the lockout; the person is mailed when one is used and when new ones are made
// (which takes a current code from the app); a lost phone is replaced with one. Only hashes are
// kept; the ledger names no code.
engine_test_clocked!(recovery_codes_stand_in_for_a_lost_second_factor, |app, clock| async move {
    let aino = agent(&app, "Aino Agentti", "aino@example.fi").await;
    let mut b = Browser::new(&app);
    b.sign_in("aino@example.fi", PASSWORD).await;
    assert_eq!(
        b.get("/account/recovery-codes").await.location(),
        "/account/second-factor",
        "no codes without a factor"
    );
    let shown = b.submit("/account/second-factor", "/account/second-factor", &[]).await;
    let secret = suoja_helpdesk::totp::from_base32(&shown.hidden("secret")).unwrap();
    let totp = |clock: &suoja_core::clock::ManualClock| suoja_helpdesk::totp::code_at(&secret, suoja_helpdesk::totp::step_of(clock.now()));
    let page = b
        .submit("/account/second-factor", "/account/second-factor/confirm", &[("code", &totp(&clock))])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let codes_of = |body: &str| -> Vec<String> { body.split("<li><code>").skip(1).map(|p| p[..p.find('<').unwrap()].to_string()).collect() };
    let codes = codes_of(&page.body);
    assert_eq!(codes.len(), 10, "{}", page.body);
    assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{codes:?}");
    assert!(!b.get("/account/recovery-codes").await.body.contains(&codes[0]), "shown only once");

    // A code signs in once, however it is typed.
    let typed = codes[0].replace('-', " ").to_uppercase();
    let mut phone_lost = Browser::new(&app);
    let step = phone_lost.sign_in("aino@example.fi", PASSWORD).await;
    assert!(step.location().starts_with("/signin/second-factor"));
    let r = phone_lost
        .submit("/signin/second-factor", "/signin/second-factor", &[("code", &typed), ("return_to", "/agent")])
        .await;
    assert_eq!(r.location(), "/agent");
    assert_eq!(phone_lost.get("/agent/views/mine").await.status, StatusCode::OK);
    let told = mails(&app, aino, "recovery_code_used").await;
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("9 unused codes left"), "{}", told[0]);
    let failures = || {
        let db = app.helpdesk().db().clone();
        async move {
            let mut c = db.read().await.unwrap();
            let n: Option<i64> = sqlx::query_scalar("SELECT failures FROM sign_in_failures WHERE user_id = $1")
                .bind(aino)
                .fetch_optional(&mut c)
                .await
                .unwrap();
            n.unwrap_or(0)
        }
    };
    let mut again = Browser::new(&app);
    again.sign_in("aino@example.fi", PASSWORD).await;
    let r = again.submit("/signin/second-factor", "/signin/second-factor", &[("code", &codes[0])]).await;
    assert_eq!(r.location(), "/signin?failed=code", "a used code does not work twice");
    assert_eq!(failures().await, 1, "a wrong recovery code counts toward the lockout");

    // A sign-in link and a recovery code are not enough: after a link, only the app's code.
    app.helpdesk()
        .send_sign_in_link(TenantId(app.t.tenant_id), &suoja_core::Email::parse("aino@example.fi").unwrap(), &app.base)
        .await
        .unwrap();
    let (_, body) = app
        .privacy()
        .outbox_for(TenantId(app.t.tenant_id), UserId(aino))
        .await
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "sign_in_link")
        .unwrap();
    let link = body.expose().split_whitespace().find(|w| w.contains("/signin/link/")).unwrap().to_string();
    let path = link[link.find("/signin/link/").unwrap()..].to_string();
    let mut by_link = Browser::new(&app);
    let step = by_link.submit(&path, &path, &[]).await;
    assert!(step.location().starts_with("/signin/second-factor"), "{}", step.location());
    let r = by_link.submit("/signin/second-factor", "/signin/second-factor", &[("code", &codes[1])]).await;
    assert_eq!(r.location(), "/signin?failed=code", "no recovery code after a link");

    // New codes take a current code from the app, and end the old ones.
    let wrong = b.submit("/account/recovery-codes", "/account/recovery-codes", &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("aria-invalid=\"true\""));
    clock.advance_ms(30_000);
    let renewed = b.submit("/account/recovery-codes", "/account/recovery-codes", &[("code", &totp(&clock))]).await;
    assert_eq!(renewed.status, StatusCode::OK);
    let new_codes = codes_of(&renewed.body);
    assert_eq!(new_codes.len(), 10);
    assert_eq!(mails(&app, aino, "recovery_codes_created").await.len(), 1, "the person is told");
    let mut old = Browser::new(&app);
    old.sign_in("aino@example.fi", PASSWORD).await;
    let r = old.submit("/signin/second-factor", "/signin/second-factor", &[("code", &codes[2])]).await;
    assert_eq!(r.location(), "/signin?failed=code");

    // The phone is lost: a recovery code signs in, another removes the old factor.
    let mut lost = Browser::new(&app);
    lost.sign_in("aino@example.fi", PASSWORD).await;
    let r = lost.submit("/signin/second-factor", "/signin/second-factor", &[("code", &new_codes[0])]).await;
    assert_eq!(r.location(), "/");
    let r = lost.submit("/account", "/account/second-factor/remove", &[("code", &new_codes[1])]).await;
    assert_eq!(r.location(), "/account?done=factor_off");
    assert_eq!(mails(&app, aino, "second_factor_removed").await.len(), 1);

    // Only hashes are stored (and none once the factor is gone); the ledger names no code.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1")
        .bind(aino)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let entries = suoja_store::ledger::page(&mut c, TenantId(app.t.tenant_id), 0, 10_000).await.unwrap();
    assert_eq!(entries.iter().filter(|e| e.kind == "recovery_codes.created").count(), 2);
    assert_eq!(entries.iter().filter(|e| e.kind == "recovery_code.used").count(), 2);
    for e in &entries {
        for code in codes.iter().chain(&new_codes) {
            assert!(!e.details.contains(&code[..5]), "{}", e.details);
        }
    }
});

// A staff sign-in from a browser not used before mails the person — not for the first browser
// of a new account, not for one used before, not for end users (whose browsers are not even
// remembered), not twice in ten minutes, not when the admins switch alerts off. The tenant can
// require two-step sign-in of end users too, which holds sessions already open.
engine_test_clocked!(sign_in_alerts_and_the_end_users_second_factor, |app, clock| async move {
    let aino = agent(&app, "Aino Agentti", "aino@example.fi").await;
    let (eeva, _) = app.end_user_with_password("Eeva Esimerkki", "eeva@example.fi").await;
    let mut first = Browser::new(&app);
    first.sign_in("aino@example.fi", PASSWORD).await;
    assert!(first.cookies.contains_key("suoja_device"), "{:?}", first.cookies.keys());
    assert!(
        mails(&app, aino, "sign_in_alert").await.is_empty(),
        "the first browser of a new account is remembered quietly"
    );
    clock.advance_ms(11 * 60_000);
    first.sign_in("aino@example.fi", PASSWORD).await;
    assert!(mails(&app, aino, "sign_in_alert").await.is_empty(), "a browser used before");
    let mut second = Browser::new(&app);
    second.sign_in("aino@example.fi", PASSWORD).await;
    let alerts = mails(&app, aino, "sign_in_alert").await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].contains("not signed in with before") && alerts[0].contains("127.0.0.1"),
        "{}",
        alerts[0]
    );
    Browser::new(&app).sign_in("aino@example.fi", PASSWORD).await;
    assert_eq!(mails(&app, aino, "sign_in_alert").await.len(), 1, "not twice in ten minutes");
    let mut eeva_open = Browser::new(&app);
    eeva_open.sign_in("eeva@example.fi", PASSWORD).await;
    assert!(!eeva_open.cookies.contains_key("suoja_device"), "end users' browsers are not remembered");
    assert_eq!(eeva_open.get("/portal").await.status, StatusCode::OK);
    assert!(mails(&app, eeva, "sign_in_alert").await.is_empty());

    let mut admin = admin_browser(&app).await;
    let r = admin
        .submit(
            "/admin/security",
            "/admin/security",
            &security_form(&[("sign_in_alerts", "0"), ("end_user_second_factor", "1")]),
        )
        .await;
    assert_eq!(r.location(), "/admin/security?done=saved");
    clock.advance_ms(11 * 60_000);
    Browser::new(&app).sign_in("aino@example.fi", PASSWORD).await;
    assert_eq!(mails(&app, aino, "sign_in_alert").await.len(), 1, "alerts switched off");

    // End users now set up a second step before anything else: on the pages (a session open
    // before the rule included) and over the API.
    assert_eq!(
        eeva_open.get("/portal").await.status,
        StatusCode::SEE_OTHER,
        "the open session may only set up the factor"
    );
    assert_eq!(eeva_open.get("/account/second-factor").await.status, StatusCode::OK);
    let mut e = Browser::new(&app);
    let enrol = e.sign_in("eeva@example.fi", PASSWORD).await;
    assert!(enrol.location().starts_with("/account/second-factor"), "{}", enrol.location());
    assert_eq!(e.get("/portal").await.status, StatusCode::SEE_OTHER);
    let basic = reqwest::Client::new()
        .get(format!("{}/api/v2/users/me.json", app.base))
        .basic_auth("eeva@example.fi", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED, "a password alone no longer does");
    let (_, v) = app.get("/api/v2/account/settings.json").await;
    assert_eq!(
        v["settings"]["security"]["second_factor"],
        serde_json::json!({"staff": false, "end_users": true})
    );
    assert_eq!(v["settings"]["security"]["sign_in_alerts"], serde_json::json!({"enabled": false}));
    // The records of processing say what is in force.
    let (_, rop) = app.get("/api/v2/privacy/records_of_processing.json").await;
    let codes: Vec<&str> = rop["records_of_processing"]["security"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["code"].as_str())
        .collect();
    assert!(codes.contains(&"end_user_second_factor") && codes.contains(&"no_sign_in_alerts"), "{codes:?}");
    // Devices of the staff are remembered as hashes, none of the end user's.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let devices: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT user_id, device_hash FROM known_devices")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert!(devices.iter().all(|(u, h)| *u != eeva && h.len() == 32), "{devices:?}");
});

// Password guessing: ten wrong passwords in a row and the account takes no password — not even
// the right one — for 15 minutes, over the pages and the API alike, answering exactly as for a
// wrong password or an unknown address. A success in between starts the count again; other
// accounts and unknown addresses are untouched; an e-mail sign-in link still works.
engine_test_clocked!(password_guessing_blocks_the_account_for_a_while, |app, clock| async move {
    let (person, _) = app.end_user_with_password("Veera Vartioitu", "veera@example.fi").await;
    app.end_user_with_password("Niilo Naapuri", "niilo@example.fi").await;
    let failures = |app: &TestApp| {
        let db = app.helpdesk().db().clone();
        async move {
            let mut c = db.read().await.unwrap();
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_failures WHERE user_id <> 0")
                .fetch_one(&mut c)
                .await
                .unwrap();
            rows
        }
    };
    let mut b = Browser::new(&app);
    for _ in 0..9 {
        assert_eq!(b.sign_in("veera@example.fi", "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(b.sign_in("veera@example.fi", PASSWORD).await.location(), "/", "nine wrong ones do not block");
    assert_eq!(failures(&app).await, 0, "a success forgets the failures");

    let mut g = Browser::new(&app);
    for _ in 0..10 {
        assert_eq!(g.sign_in("veera@example.fi", "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..12 {
        assert_eq!(g.sign_in("nobody@example.fi", "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(failures(&app).await, 1, "only the existing account is counted");
    {
        // Unknown addresses cost the same writes, against one counter of no one (it too starts
        // again at ten).
        let mut c = app.helpdesk().db().read().await.unwrap();
        let nobody: i64 = sqlx::query_scalar("SELECT failures FROM sign_in_failures WHERE user_id = 0")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(nobody, 2);
    }
    let blocked = g.sign_in("veera@example.fi", PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::UNAUTHORIZED, "the right password during the block");
    assert!(!g.cookies.contains_key("suoja_session"));
    let unknown = g.sign_in("nobody@example.fi", PASSWORD).await;
    assert_eq!(
        without_tokens(&blocked.body).replace("veera@example.fi", "E"),
        without_tokens(&unknown.body).replace("nobody@example.fi", "E"),
        "a block must read as a wrong password"
    );
    let api = app
        .client
        .get(app.url("/api/v2/users/me.json"))
        .basic_auth("veera@example.fi", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "the API's password sign-in is blocked too");
    let mut n = Browser::new(&app);
    assert_eq!(n.sign_in("niilo@example.fi", PASSWORD).await.location(), "/", "another account is untouched");
    let mut l = Browser::new(&app);
    l.submit("/signin/link", "/signin/link", &[("email", "veera@example.fi")]).await;
    let mail = app.privacy().outbox_for(TenantId(app.t.tenant_id), UserId(person)).await.unwrap();
    let (_, body) = mail.iter().find(|(k, _)| k == "sign_in_link").expect("no sign-in link queued");
    let link = body.expose().split_whitespace().find(|w| w.contains("/signin/link/")).unwrap();
    let path = &link[link.find("/signin/link/").unwrap()..];
    assert_eq!(l.submit(path, path, &[]).await.location(), "/", "a sign-in link works during the block");

    clock.advance_ms(14 * 60_000);
    assert_eq!(
        g.sign_in("veera@example.fi", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "still blocked at 14 minutes"
    );
    clock.advance_ms(2 * 60_000);
    assert_eq!(g.sign_in("veera@example.fi", PASSWORD).await.location(), "/", "the block ends after 15 minutes");
    assert_eq!(failures(&app).await, 0);
});

// A long conversation opens at its newest comments, with earlier ones a link away (a page past
// the last shows the last); the portal pages the same way. With more agents than one list page
// holds, the ticket's assignee is still the one selected, so saving the side panel keeps it.
engine_test!(long_tickets_and_many_agents_keep_the_page_truthful, |app| async move {
    let (person, _) = app.end_user_with_password("Pekka Pitkä", "pekka@example.fi").await;
    let mut last_agent = 0;
    for n in 0..101 {
        last_agent = agent(&app, &format!("Agentti {n:03}"), &format!("agentti{n:03}@example.fi")).await;
    }
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            serde_json::json!({"ticket": {"subject": "Pitkä", "requester_id": person, "assignee_id": last_agent, "comment": {"body": "entry 0000"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    for n in 1..=104 {
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{ticket}.json"),
                serde_json::json!({"ticket": {"comment": {"body": format!("entry {n:04}")}}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let mut ag = Browser::new(&app);
    ag.sign_in("agentti000@example.fi", PASSWORD).await;
    let newest = ag.get(&format!("/agent/tickets/{ticket}")).await;
    assert_eq!(newest.status, StatusCode::OK);
    assert!(newest.body.contains("entry 0104") && newest.body.contains("entry 0005"), "the newest hundred");
    assert!(!newest.body.contains("entry 0004"), "older ones wait on the next page");
    assert!(newest.body.contains("Comments 6–105 of 105"), "{}", newest.body);
    assert!(newest.body.contains(&format!("href=\"/agent/tickets/{ticket}?page=2#comment-pages\"")));
    let earlier = ag.get(&format!("/agent/tickets/{ticket}?page=2")).await;
    assert!(earlier.body.contains("entry 0000") && earlier.body.contains("entry 0004") && !earlier.body.contains("entry 0005"));
    assert!(earlier.body.contains("Comments 1–5 of 105"));
    assert!(
        ag.get(&format!("/agent/tickets/{ticket}?page=99")).await.body.contains("Comments 1–5 of 105"),
        "past the last is the last"
    );
    assert!(
        ag.get(&format!("/agent/tickets/{ticket}?page=x")).await.body.contains("entry 0104"),
        "a bad page number is the first"
    );

    // The assignee, past the first hundred agents, is selected.
    assert!(
        newest.body.contains(&format!("<option value=\"{last_agent}\" selected>Agentti 100</option>")),
        "the assignee is not the selected option"
    );
    let mut user = Browser::new(&app);
    user.sign_in("pekka@example.fi", PASSWORD).await;
    let mine = user.get(&format!("/portal/requests/{ticket}")).await;
    assert!(mine.body.contains("entry 0104") && !mine.body.contains("entry 0004"));
    let older = user.get(&format!("/portal/requests/{ticket}?page=2")).await;
    assert!(older.body.contains("entry 0000") && older.body.contains("Comments 1–5 of 105"));

    // Redacting on an earlier page leads back to that page, at the comment.
    let (_, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    let cid = v["comments"].as_array().unwrap().iter().find(|c| c["body"] == "entry 0002").unwrap()["id"]
        .as_i64()
        .unwrap();
    let action = format!("/agent/tickets/{ticket}/comments/{cid}/redact?page=2");
    assert!(earlier.body.contains(&format!("action=\"{action}\"")), "the form names its page");
    let done = ag.submit(&format!("/agent/tickets/{ticket}?page=2"), &action, &[("text", "0002")]).await;
    assert_eq!(done.location(), format!("/agent/tickets/{ticket}?done=redacted&page=2#comment-{cid}"));
    let back = ag.get(done.location().split('#').next().unwrap()).await;
    assert!(back.body.contains("entry \u{2587}\u{2587}\u{2587}\u{2587}") && back.body.contains("Comments 1–5 of 105"));
});

engine_test!(sign_in_links_work_once, |app| async move {
    let (person, _) = app.end_user_with_password("Lotta Linkki", "lotta@example.fi").await;
    let mut b = Browser::new(&app);
    let sent = b.submit("/signin/link", "/signin/link", &[("email", "lotta@example.fi")]).await;
    let unknown = b.submit("/signin/link", "/signin/link", &[("email", "nobody@example.fi")]).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert_eq!(
        without_tokens(&sent.body),
        without_tokens(&unknown.body),
        "the answer must not tell whether the address exists"
    );
    let bad = b.submit("/signin/link", "/signin/link", &[("email", "not an address")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("not an address"), "the input should be kept");
    let mail = app.privacy().outbox_for(TenantId(app.t.tenant_id), UserId(person)).await.unwrap();
    let (_, body) = mail.iter().find(|(k, _)| k == "sign_in_link").expect("no sign-in link queued");
    let link = body.expose().split_whitespace().find(|w| w.contains("/signin/link/")).unwrap();
    let path = &link[link.find("/signin/link/").unwrap()..];
    // Opening the link does not use it (mail scanners open links); the button does.
    let mut c = Browser::new(&app);
    assert_eq!(c.get(path).await.status, StatusCode::OK);
    assert_eq!(c.get(path).await.status, StatusCode::OK);
    let used = c.submit(path, path, &[]).await;
    assert_eq!(used.location(), "/");
    assert_eq!(c.get("/portal").await.status, StatusCode::OK);
    let mut d = Browser::new(&app);
    let again = d.submit(path, path, &[]).await;
    assert_eq!(again.location(), "/signin?failed=link");
    assert!(!d.cookies.contains_key("suoja_session"));
});

// A service's own message (written in English where it arises, as the API answers) reaches a
// Finnish page in Finnish: at its field when the form shows it, otherwise as the form's message
// naming the field; on an error page with the field's Finnish label. English readers get it as is.
engine_test!(service_messages_follow_the_page_language, |app| async move {
    let admin_pw = "admin password for the test";
    let set_locale = |locale: &'static str| {
        let app = &app;
        async move {
            let (s, v) = app
                .put(
                    &format!("/api/v2/users/{}.json", app.t.admin_id),
                    serde_json::json!({"user": {"locale": locale}}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    };
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", app.t.admin_id),
            serde_json::json!({"user": {"password": admin_pw}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    set_locale("fi").await;
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.t.email, admin_pw).await;

    // A hold with a ground the form does not offer: the service refuses `ground`, which the form
    // has no message place for; nothing is placed.
    let fields = [("scope", "tag"), ("target", "vip"), ("ground", "whim"), ("days", "30"), ("reference", "")];
    let bad = admin.submit("/privacy/holds", "/privacy/holds", &fields).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("Peruste: on oltava jokin näistä: "), "{}", bad.body);
    assert!(!bad.body.contains("must be one of"), "English on a Finnish page");
    let (_, holds) = app.get("/api/v2/privacy/holds.json").await;
    assert!(!holds.to_string().contains("vip"), "a refused hold was placed: {holds}");

    // Redacting a phrase the comment does not hold: the error page names the field in Finnish.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            serde_json::json!({"ticket": {"subject": "Kielet", "comment": {"body": "Hei vain"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    let (_, c) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    let comment = c["comments"][0]["id"].as_i64().unwrap();
    let page = format!("/agent/tickets/{ticket}");
    let action = format!("/agent/tickets/{ticket}/comments/{comment}/redact");
    let refused = admin.submit(&page, &action, &[("text", "ei ole tässä")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(
        refused.body.contains("Teksti: ei esiinny kommentissa (se voi olla jo peitetty)"),
        "{}",
        refused.body
    );

    // The console names the person's records and the erasure plan's lines in Finnish, not by
    // the data map's table names.
    let (person, _) = app.end_user_with_password("Kaisa Kielinen", "kaisa@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/privacy/requests.json",
            serde_json::json!({"request": {"kind": "erasure", "subject_id": person}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let console = admin.get(&format!("/privacy/requests/{}", v["request"]["id"])).await;
    assert_eq!(console.status, StatusCode::OK, "{}", console.body);
    assert!(console.body.contains("<dt>Profiili</dt>"), "{}", console.body);
    assert!(!console.body.contains("<dt>users</dt>") && !console.body.contains("<dt>profile</dt>"));

    set_locale("en-US").await;
    let console = admin.get(&format!("/privacy/requests/{}", v["request"]["id"])).await;
    assert!(console.body.contains("<dt>Profile</dt>"), "{}", console.body);
    let refused = admin.submit(&page, &action, &[("text", "not here")]).await;
    assert!(
        refused.body.contains("text: does not occur in the comment (it may already be redacted)"),
        "{}",
        refused.body
    );
    let bad = admin.submit("/privacy/holds", "/privacy/holds", &fields).await;
    assert!(bad.body.contains("ground: must be one of "), "{}", bad.body);
});

engine_test!(forms_keep_bad_input_and_content_stays_inert, |app| async move {
    app.end_user_with_password("Eero Esimerkki", "eero@example.fi").await;
    agent(&app, "Aino Agentti", "aino@example.fi").await;
    let mut user = Browser::new(&app);
    user.sign_in("eero@example.fi", PASSWORD).await;
    // Missing and oversized fields: shown again with the input and a message at the field.
    let form = user.get("/portal/requests/new").await;
    let (csrf, fid) = (form.hidden("csrf"), form.hidden("form_id"));
    let empty = user
        .post(
            "/portal/requests/new",
            &[("csrf", &csrf), ("form_id", &fid), ("subject", ""), ("body", "Kept text")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty.body.contains("Kept text") && empty.body.contains("id=\"subject-error\""),
        "{}",
        empty.body
    );
    let long = "s".repeat(151);
    let too_long = user
        .post(
            "/portal/requests/new",
            &[("csrf", &csrf), ("form_id", &fid), ("subject", &long), ("body", "Kept")],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.body.contains(&long) && too_long.body.contains("at most 150"));
    let huge = "b".repeat(70_000);
    let too_big = user
        .post(
            "/portal/requests/new",
            &[("csrf", &csrf), ("form_id", &fid), ("subject", "Big"), ("body", &huge)],
        )
        .await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Broken UTF-8: a clear answer, no ticket.
    let raw = user
        .client
        .post(format!("{}/portal/requests/new", user.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            [
                format!("csrf={csrf}&form_id={fid}&subject=").into_bytes(),
                vec![0xff, 0xfe, 0x41],
                b"&body=x".to_vec(),
            ]
            .concat(),
        );
    let raw = user.finish(raw).await;
    assert_eq!(raw.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", raw.body);
    assert_eq!(ticket_count(&app).await, 0, "a refused form wrote something");

    // Hostile content is shown as text; a second submit of the same form makes no second ticket.
    let hostile = r#"<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a><svg onload=alert(4)>"#;
    let fields = [
        ("csrf", csrf.as_str()),
        ("form_id", fid.as_str()),
        ("subject", "Printer <b>fire</b>"),
        ("body", hostile),
    ];
    let first = user.post("/portal/requests/new", &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = user.post("/portal/requests/new", &fields).await;
    assert_eq!(second.location(), first.location(), "the second submit should lead to the first result");
    assert_eq!(ticket_count(&app).await, 1, "a double submit created two tickets");
    let page = user.get(first.location().split('?').next().unwrap()).await;
    assert!(
        page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the text should be shown, escaped: {}",
        page.body
    );
    for bad in ["<script>alert", "<img src=x", "<svg onload", "href=\"javascript:", "<b>fire"] {
        assert!(!page.body.contains(bad), "{bad} reached the page unescaped");
    }
    let ticket: i64 = first.location().split('?').next().unwrap().rsplit('/').next().unwrap().parse().unwrap();

    // The agent's internal note never reaches the end user; the reply does.
    let mut ag = Browser::new(&app);
    ag.sign_in("aino@example.fi", PASSWORD).await;
    // The views count it where it belongs: unassigned and open, not mine, pending or solved.
    let views = ag.get("/agent/views/unassigned").await;
    let counts: Vec<&str> = views
        .body
        .split("<span class=\"count\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(
        counts,
        ["0", "1", "1", "0", "0", "0"],
        "mine, unassigned, open, pending, solved, past an SLA target"
    );
    assert!(views.body.contains(&format!("/agent/tickets/{ticket}")));
    let tp = ag.get(&format!("/agent/tickets/{ticket}")).await;
    let (csrf, fid) = (tp.hidden("csrf"), tp.hidden("form_id"));
    let note = ag
        .post(
            &format!("/agent/tickets/{ticket}/comments"),
            &[("csrf", &csrf), ("form_id", &fid), ("public", "0"), ("body", "note-only-for-staff")],
        )
        .await;
    assert_eq!(note.status, StatusCode::SEE_OTHER);
    let tp = ag.get(&format!("/agent/tickets/{ticket}")).await;
    let fid = tp.hidden("form_id");
    ag.post(
        &format!("/agent/tickets/{ticket}/comments"),
        &[("csrf", &csrf), ("form_id", &fid), ("public", "1"), ("body", "reply-for-everyone")],
    )
    .await;
    let mine = user.get(&format!("/portal/requests/{ticket}")).await;
    assert!(mine.body.contains("reply-for-everyone"));
    assert!(!mine.body.contains("note-only-for-staff"));
    assert!(ag.get(&format!("/agent/tickets/{ticket}")).await.body.contains("note-only-for-staff"));

    // A post after the session ended hands the text back instead of losing it.
    let tp = ag.get(&format!("/agent/tickets/{ticket}")).await;
    let (csrf, fid) = (tp.hidden("csrf"), tp.hidden("form_id"));
    ag.cookies.remove("suoja_session");
    let lost = ag
        .post(
            &format!("/agent/tickets/{ticket}/comments"),
            &[("csrf", &csrf), ("form_id", &fid), ("body", "half-written answer")],
        )
        .await;
    assert_eq!(lost.status, StatusCode::UNAUTHORIZED);
    assert!(lost.body.contains("half-written answer") && lost.body.contains("id=\"unsent\""));

    // Another tenant's ticket and unknown ids are 404 pages, not errors.
    let other = app.second_tenant("two").await;
    let (s, v) = app
        .call_as(
            &other,
            reqwest::Method::POST,
            "/api/v2/tickets.json",
            Some(serde_json::json!({"ticket": {"subject": "theirs", "comment": {"body": "theirs"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let theirs = v["ticket"]["id"].as_i64().unwrap();
    let mut ag = Browser::new(&app);
    ag.sign_in("aino@example.fi", PASSWORD).await;
    assert_eq!(ag.get(&format!("/agent/tickets/{theirs}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(ag.get("/agent/tickets/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(ag.get("/agent/tickets/abc").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(user.get(&format!("/portal/requests/{theirs}")).await.status, StatusCode::NOT_FOUND);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_tls() {
    let app = TestApp::spawn_with(crate::harness::Engine::Sqlite, |s| s.public_url = Some("https://help.example.fi".into())).await;
    app.end_user_with_password("Tiina Tls", "tiina@example.fi").await;
    let mut b = Browser::new(&app);
    let page = b.get("/signin").await;
    assert!(page.headers.get(SET_COOKIE).unwrap().to_str().unwrap().contains("; Secure"));
    let ok = b.sign_in("tiina@example.fi", PASSWORD).await;
    let set = ok.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    // The `__Host-` prefix: only this host, over HTTPS, for every path can have set it.
    assert!(
        set.starts_with("__Host-suoja_session=") && set.contains("; Secure") && set.contains("HttpOnly") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains("Domain"), "{set}");
    assert_eq!(b.get("/portal").await.status, StatusCode::OK, "the prefixed cookie is the session");
    // HSTS on pages and the API alike.
    assert!(ok.headers.get("strict-transport-security").is_some());
    let r = app.client.get(app.url("/api/v2/users/me.json")).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").unwrap().to_str().unwrap().contains("max-age="));
    // Signing out asks the browser to clear the site's storage (drafts kept there).
    let csrf = b.get("/portal").await.hidden("csrf");
    let out = b.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.headers.get("clear-site-data").unwrap(), "\"storage\"");
    // Over plain HTTP (a local test server) there is no HSTS.
    let plain = TestApp::spawn(crate::harness::Engine::Sqlite).await;
    let r = plain.client.get(plain.url("/signin")).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
}

engine_test!(the_console_reviews_mentions_one_by_one, |app| async move {
    let admin_pw = "admin password for the test";
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", app.t.admin_id),
            serde_json::json!({"user": {"password": admin_pw}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.t.email, admin_pw).await;
    let lee = app.user("Ann Lee", "ann@one.example").await;
    let berg = app.user("Ann Berg", "ann@two.example").await;
    let t = app.ticket(berg, "Line", "The channel started failing.").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            serde_json::json!({"ticket": {"comment": {"body": "<script>alert(1)</script> Ann Lee called for Ann Berg. Nothing else here.", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            serde_json::json!({"ticket": {"comment": {"body": "Thanks Ann, we will call."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/privacy/requests.json",
            serde_json::json!({"request": {"kind": "access", "subject_id": lee, "channel": "email"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let request = v["request"]["id"].as_i64().unwrap();
    let page = format!("/privacy/requests/{request}");
    let done = admin.submit(&page, &format!("{page}/verify"), &[("how", "called back")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let done = admin.submit(&page, &format!("{page}/export"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    // The candidate: the sentence around the match, other people replaced, markup inert.
    let shown = admin.get(&page).await;
    assert!(shown.body.contains("Mentions in other people&#39;s conversations"), "{}", shown.body);
    assert!(shown.body.contains("Internal note on ticket #"), "{}", shown.body);
    assert!(
        shown
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62; Ann Lee called for [other person"),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains("Ann Berg") && !shown.body.contains("Nothing else here"), "{}", shown.body);
    let (_, list) = app.get(&format!("/api/v2/privacy/requests/{request}/mentions.json")).await;
    let id = list["mentions"][0]["id"].as_i64().unwrap();
    let action = format!("{page}/mentions/{id}");
    let decided = admin.submit(&page, &action, &[("decision", "accept")]).await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    let shown = admin.get(&page).await;
    assert!(shown.body.contains("mention-state\">accepted"), "{}", shown.body);
    assert!(!shown.body.contains(&format!("action=\"{action}\"")), "a decided mention has no buttons");
    let again = admin.submit(&page, &action, &[("decision", "reject")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let odd = admin.submit(&page, &action, &[("decision", "perhaps")]).await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST, "{}", odd.body);
    // The weak search is there for the reviewer to ask for.
    let searched = admin.submit(&page, &format!("{page}/mentions/search"), &[("weak", "1")]).await;
    assert_eq!(searched.status, StatusCode::SEE_OTHER, "{}", searched.body);
    let (_, list) = app.get(&format!("/api/v2/privacy/requests/{request}/mentions.json")).await;
    assert!(
        list["mentions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["strength"] == "weak" && m["source_id"] != id),
        "Ann Berg's own comment naming an Ann is only a weak candidate: {list}"
    );
    let _ = t;
});

// The workspace's view counts are exact below their cap and say "1000+" at it, so a large
// queue costs a page no more than a small one.
engine_test!(view_counts_stop_at_their_cap, |app| async move {
    let a = agent(&app, "Jonottaja", "jonottaja@example.fi").await;
    let (person, _) = app.end_user_with_password("Jono Asiakas", "jono@example.fi").await;
    let open = |assignee: Option<i64>| suoja_helpdesk::model::TicketInput {
        assignee_id: Some(assignee.map(suoja_core::UserId)),
        status: Some(suoja_core::Status::Open),
        ..crate::harness::import_ticket(person, "Jonossa", "odottaa")
    };
    let mut batch: Vec<_> = (0..1_000).map(|_| open(None)).collect();
    batch.extend((0..3).map(|_| open(Some(a))));
    app.helpdesk().import_tickets(&app.admin_scope(), batch).await.unwrap();
    let mut ag = Browser::new(&app);
    ag.sign_in("jonottaja@example.fi", PASSWORD).await;
    let page = ag.get("/agent/views/open").await;
    assert_eq!(page.status, StatusCode::OK);
    let count = |slug: &str| {
        let at = page.body.find(&format!("href=\"/agent/views/{slug}\"")).unwrap();
        let rest = &page.body[at..];
        let start = rest.find("<span class=\"count\">").unwrap() + "<span class=\"count\">".len();
        rest[start..start + rest[start..].find('<').unwrap()].to_string()
    };
    assert_eq!(count("open"), "1000+", "1 003 open tickets");
    assert_eq!(count("unassigned"), "1000", "exactly at the cap is still exact");
    assert_eq!(count("mine"), "3");
    assert_eq!(count("pending"), "0");
});

// The requester rates their solved request on the portal: good or bad with a comment, shown back
// to them, changeable while it is solved; a choice left out is refused at its field.
engine_test!(the_requester_rates_a_solved_request_on_the_portal, |app| async move {
    let (me, login) = app.end_user_with_password("Reetta Arvioija", "reetta.rates@example.fi").await;
    let t = app.ticket(me, "Password reset", "I cannot sign in").await;
    let mut b = Browser::new(&app);
    b.sign_in(&login.email, &login.token).await;
    let page = b.get(&format!("/portal/requests/{t}")).await;
    assert!(!page.body.contains("rating-title"), "an open request is not rated");
    let (s, _) = app
        .put(&format!("/api/v2/tickets/{t}.json"), serde_json::json!({"ticket": {"status": "solved"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = b.get(&format!("/portal/requests/{t}")).await;
    assert!(page.body.contains("How did we do?"), "{}", page.body);
    let refused = b
        .submit(&format!("/portal/requests/{t}"), &format!("/portal/requests/{t}/rating"), &[("comment", "hmm")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = b
        .submit(
            &format!("/portal/requests/{t}"),
            &format!("/portal/requests/{t}/rating"),
            &[("score", "bad"), ("comment", "It took three days")],
        )
        .await;
    assert_eq!(done.location(), format!("/portal/requests/{t}?done=rated"));
    let page = b.get(&format!("/portal/requests/{t}")).await;
    assert!(
        page.body.contains("id=\"rating-now\"") && page.body.contains("It took three days"),
        "{}",
        page.body
    );
    let (_, v) = app.get("/api/v2/satisfaction_ratings.json").await;
    assert_eq!(v["satisfaction_ratings"][0]["score"], "bad", "{v}");
    assert_eq!(v["satisfaction_ratings"][0]["comment"], "It took three days", "{v}");
    let again = b
        .submit(&format!("/portal/requests/{t}"), &format!("/portal/requests/{t}/rating"), &[("score", "good")])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v2/satisfaction_ratings.json").await.1["satisfaction_ratings"][0]["score"], "good");
    // The ticket given to another requester: its earlier requester's rating is not shown to
    // them, nor offered for them to send as theirs.
    let words = b
        .submit(
            &format!("/portal/requests/{t}"),
            &format!("/portal/requests/{t}/rating"),
            &[("score", "bad"), ("comment", "Reetta's own words")],
        )
        .await;
    assert_eq!(words.status, StatusCode::SEE_OTHER);
    let (paula, paula_login) = app.end_user_with_password("Paula Perijä", "paula.rates@example.fi").await;
    let (s, _) = app
        .put(&format!("/api/v2/tickets/{t}.json"), serde_json::json!({"ticket": {"requester_id": paula}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut pb = Browser::new(&app);
    pb.sign_in(&paula_login.email, &paula_login.token).await;
    let page = pb.get(&format!("/portal/requests/{t}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("Reetta's own words") && !page.body.contains("rating-now"), "{}", page.body);
    // Another person's request is not theirs to rate.
    let other = app.user("Olli Muu", "olli.rates@example.fi").await;
    let theirs = app.ticket(other, "Other", "Not Reetta's").await;
    app.put(&format!("/api/v2/tickets/{theirs}.json"), serde_json::json!({"ticket": {"status": "solved"}}))
        .await;
    let page = b.get("/portal/requests/new").await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(&format!("/portal/requests/{theirs}/rating"), &[("csrf", csrf.as_str()), ("score", "good")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
});
