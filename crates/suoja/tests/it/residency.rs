//! Data residency as an operator runs it: two regions, each a PostgreSQL database, a blob
//! directory and a root key of its own, one routing database they share, one configuration file
//! naming both, `suoja init --region` and a `suoja serve` node in each. After a full flow in a
//! tenant of each region, a byte scan of each region's files (its database's directory in the
//! PostgreSQL cluster, its blob directory) finds its own tenant's sealed values and never the
//! other's, and the routing database holds neither; a node refuses (421) every request for the
//! other region's tenant, whatever credentials it carries, and never answers for a subdomain
//! it does not hold with another tenant.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_privacy::scan::{Canary, scan};

use crate::harness::{TempDir, fresh_pg_database, pg_url, random_name, send};
use crate::process::{Proc, command, free_port};

/// One region's places.
pub(crate) struct Region {
    pub(crate) name: &'static str,
    pub(crate) db: String,
    pub(crate) dir: TempDir,
    pub(crate) blobs: TempDir,
    pub(crate) port: u16,
}

impl Region {
    /// A region with a fresh PostgreSQL database, data and blob directories, and a port.
    pub(crate) async fn fresh(name: &'static str) -> Self {
        Region {
            name,
            db: fresh_pg_database(&pg_url().unwrap()).await,
            dir: TempDir::new(),
            blobs: TempDir::new(),
            port: free_port(),
        }
    }

    /// The region's entry in the configuration, numbering its ids in `id_block`.
    pub(crate) fn entry(&self, id_block: u16) -> String {
        format!(
            "[regions.{}]\ndatabase_url = \"{}\"\nblob_url = \"file://{}\"\nroot_key_file = \"{}\"\nurl = \"http://127.0.0.1:{}\"\nid_block = {id_block}\n",
            self.name,
            self.db,
            self.blobs.0.display(),
            self.dir.0.join("root.key").display(),
            self.port
        )
    }

    /// A `suoja serve` node of the region, with the shared configuration.
    pub(crate) fn start(&self, config: &Path) -> Proc {
        Proc::start_on(
            self.port,
            &self.dir.0,
            None,
            "node.log",
            &[("SUOJA_CONFIG", config.to_str().unwrap()), ("SUOJA_REGION", self.name)],
        )
    }
}

/// Two PostgreSQL regions, `eu` (id block 0) and `us` (id block 1), the routing database they
/// share, and the configuration file naming them (in `conf`, kept while it lives).
pub(crate) struct TwoRegions {
    pub(crate) eu: Region,
    pub(crate) us: Region,
    pub(crate) routing: String,
    pub(crate) conf: TempDir,
    pub(crate) config: PathBuf,
}

impl TwoRegions {
    /// Fresh regions and routing database on the PostgreSQL server `admin`.
    pub(crate) async fn fresh(admin: &str) -> Self {
        let (eu, us) = (Region::fresh("eu").await, Region::fresh("us").await);
        let routing = fresh_pg_database(admin).await;
        let conf = TempDir::new();
        let config = conf.0.join("suoja.toml");
        std::fs::write(&config, format!("routing_url = \"{routing}\"\n{}{}", eu.entry(0), us.entry(1))).unwrap();
        TwoRegions { eu, us, routing, conf, config }
    }
}

/// A tenant as `suoja init` printed it, with the words its flow wrote.
pub(crate) struct Made {
    pub(crate) subdomain: String,
    pub(crate) email: String,
    pub(crate) token: String,
    pub(crate) word: String,
}

impl Made {
    /// What `suoja init` printed.
    pub(crate) fn from_init(out: std::process::Output, word: &str) -> Self {
        assert!(out.status.success(), "init: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        Made {
            subdomain: v["tenant"].as_str().unwrap().to_string(),
            email: v["admin_email"].as_str().unwrap().to_string(),
            token: v["api_token"].as_str().unwrap().to_string(),
            word: word.to_string(),
        }
    }
}

pub(crate) fn host(subdomain: &str, port: u16) -> String {
    format!("{subdomain}.help.test:{port}")
}

/// A request to `base` as `host`, with `who`'s token when given.
pub(crate) fn req(method: Method, base: &str, path: &str, host: &str, who: Option<&Made>) -> reqwest::RequestBuilder {
    let r = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header(reqwest::header::HOST, host);
    match who {
        Some(m) => r.basic_auth(format!("{}/token", m.email), Some(&m.token)),
        None => r,
    }
}

/// `suoja init --region` from `node`'s side (its data directory and `region`), with the
/// shared configuration.
pub(crate) fn init(config: &Path, node: &Region, region: &str, subdomain: &str) -> std::process::Output {
    command(&node.dir.0, None)
        .env("SUOJA_CONFIG", config)
        .env("SUOJA_REGION", node.name)
        .args([
            "init",
            "--region",
            region,
            "--subdomain",
            subdomain,
            "--admin-email",
            &format!("admin@{subdomain}.example"),
        ])
        .output()
        .unwrap()
}

/// A full flow in a tenant: a person, a ticket with a file, a reply, a search.
pub(crate) async fn flow(base: &str, port: u16, m: &Made) {
    let h = host(&m.subdomain, port);
    let (s, v) = send(req(Method::POST, base, "/api/v2/users.json", &h, Some(m)).json(&json!({
        "user": {"name": format!("Aino {}", m.word), "email": format!("aino.{}@example.fi", m.word)}
    })))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let person = v["user"]["id"].as_i64().unwrap();
    let (s, v) = send(
        req(Method::POST, base, "/api/v2/uploads.json?filename=receipt.txt", &h, Some(m))
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(format!("receipt of {} ", m.word).repeat(50)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let upload = v["upload"]["token"].as_str().unwrap().to_string();
    let (s, v) = send(req(Method::POST, base, "/api/v2/tickets.json", &h, Some(m)).json(&json!({
        "ticket": {"subject": format!("Order {}", m.word), "requester_id": person,
                   "comment": {"body": format!("The parcel {} is late", m.word), "uploads": [upload]}}
    })))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    let (s, v) = send(req(Method::PUT, base, &format!("/api/v2/tickets/{ticket}.json"), &h, Some(m)).json(&json!({
        "ticket": {"comment": {"body": format!("Found {} at the depot", m.word), "public": true}}
    })))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = send(req(
        Method::GET,
        base,
        &format!("/api/v2/search.json?query=type%3Aticket%20{}", m.word),
        &h,
        Some(m),
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], json!(1), "{v}");
}

/// Slices of the sealed values and files a region's database and blob directory hold.
pub(crate) async fn sealed_of(r: &Region) -> Vec<Canary> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&r.db).await.unwrap();
    let mut out = Vec::new();
    for (what, sql) in [
        ("subject", "SELECT subject_enc FROM tickets WHERE subject_enc IS NOT NULL"),
        ("comment", "SELECT body_enc FROM comments"),
        ("name", "SELECT name_enc FROM users"),
    ] {
        for (i, b) in sqlx::query_scalar::<_, Vec<u8>>(sql).fetch_all(&pool).await.unwrap().into_iter().enumerate() {
            let mid = b.len() / 2;
            out.push(Canary::raw(format!("{} {what} {i}", r.name), b[mid - 12..mid + 12].to_vec()));
        }
    }
    pool.close().await;
    for f in files(&r.blobs.0) {
        let b = std::fs::read(&f).unwrap();
        let mid = b.len() / 2;
        out.push(Canary::raw(format!("{} file {}", r.name, f.display()), b[mid - 24..mid + 24].to_vec()));
    }
    out
}

pub(crate) fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A database's own directory in the PostgreSQL cluster (`base/<oid>`), after a checkpoint.
pub(crate) async fn db_dir(admin: &str, url: &str) -> PathBuf {
    let pool = sqlx::AnyPool::connect(admin).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
    let data: String = sqlx::query_scalar("SHOW data_directory").fetch_one(&pool).await.unwrap();
    let name = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let oid: String = sqlx::query_scalar("SELECT oid::text FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    PathBuf::from(data).join("base").join(oid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_region_holds_only_its_own_tenants_and_refuses_the_others() {
    let Some(admin) = pg_url() else {
        assert!(std::env::var("CI").is_err(), "CI runs the residency test on PostgreSQL");
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

    // Tenants are created in their regions; the second from the other region's side (its data
    // directory and region), as an operator with one console would.
    let made = Made::from_init;
    // A tenant made before regions were configured (no route): its region's node routes it
    // when it starts, so no other region can take its subdomain.
    let out = command(&eu.dir.0, Some(&eu.db))
        .env("SUOJA_ROOT_KEY_FILE", eu.dir.0.join("root.key"))
        .env("SUOJA_BLOB_URL", format!("file://{}", eu.blobs.0.display()))
        .args(["init", "--subdomain", "legacy", "--admin-email", "admin@legacy.example"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let acme = made(init(&config, &eu, "eu", "acme"), &random_name("eurooppa"));
    // A mistyped subdomain is refused before any route is touched: acme keeps its route.
    let out = init(&config, &eu, "eu", "ACME");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("subdomain"));
    let out = init(&config, &eu, "us", "globex");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"region\":\"us\""));
    let globex = made(out, &random_name("amerikka"));
    // A subdomain another region serves cannot be created again, and nothing is left behind.
    let out = init(&config, &us, "us", "acme");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already served in region eu"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = init(&config, &us, "apac", "initech");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("eu, us"));

    let start = |r: &Region| r.start(&config);
    let (eu_node, us_node) = (start(&eu), start(&us));
    let (eu_base, us_base) = (eu_node.base(), us_node.base());
    let out = init(&config, &us, "us", "legacy");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already served in region eu"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    flow(&eu_base, eu.port, &acme).await;
    flow(&us_base, us.port, &globex).await;
    // Each tenant's records of processing state where its data is kept.
    for (base, port, who, region) in [(&eu_base, eu.port, &acme, "eu"), (&us_base, us.port, &globex, "us")] {
        let path = "/api/v2/privacy/records_of_processing.json";
        let (s, v) = send(req(Method::GET, base, path, &host(&who.subdomain, port), Some(who))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["records_of_processing"]["region"], json!(region), "{v}");
        assert!(
            v["records_of_processing"]["transfers"]
                .as_str()
                .unwrap()
                .contains(&format!("the {region} region"))
        );
    }

    // The other region's tenant is refused at a node, with and without its credentials, and
    // the answer says where it is served.
    for (base, port, who, region, url) in [
        (&eu_base, eu.port, &globex, "us", format!("http://127.0.0.1:{}", us.port)),
        (&us_base, us.port, &acme, "eu", format!("http://127.0.0.1:{}", eu.port)),
    ] {
        let h = host(&who.subdomain, port);
        for auth in [Some(who), None] {
            for path in ["/api/v2/tickets.json", "/api/v2/subprocessors.json", "/agent"] {
                let (s, v) = send(req(Method::GET, base, path, &h, auth)).await;
                assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "{path}: {v}");
                assert_eq!((v["region"].as_str(), v["url"].as_str()), (Some(region), Some(url.as_str())), "{v}");
            }
        }
        let (s, _) = send(req(Method::GET, base, "/healthz", &h, None)).await;
        assert_eq!(s, StatusCode::OK, "health checks are the node's own");
    }
    // A host naming no tenant of this region is not answered by another of its tenants.
    for h in [
        host("nobody", eu.port),
        format!("127.0.0.1:{}", eu.port),
        "localhost".into(),
        format!(".acme.help.test:{}", eu.port),
    ] {
        let (s, v) = send(req(Method::GET, &eu_base, "/api/v2/subprocessors.json", &h, None)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{h}: {v}");
    }
    for h in [host("acme", eu.port), host("ACME", eu.port), host("legacy", eu.port)] {
        let (s, v) = send(req(Method::GET, &eu_base, "/api/v2/subprocessors.json", &h, None)).await;
        assert_eq!(s, StatusCode::OK, "{h}: {v}");
    }

    // The routing database gone: no guess, the node is unavailable (503, and not ready) until
    // it is back.
    let admin_pool = sqlx::AnyPool::connect(&admin).await.unwrap();
    let routing_name = routing.rsplit('/').next().unwrap().to_string();
    let set_routing = |allow: bool| {
        let (pool, name) = (admin_pool.clone(), routing_name.clone());
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}")))
                .execute(&pool)
                .await
                .unwrap();
            if !allow {
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
                    .bind(name)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        }
    };
    set_routing(false).await;
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (s, v) = send(req(Method::GET, &eu_base, "/api/v2/tickets.json", &host("acme", eu.port), Some(&acme))).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let ready = reqwest::get(format!("{eu_base}/readyz")).await.unwrap().status();
    assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE);
    set_routing(true).await;
    let mut back = false;
    for _ in 0..100 {
        let (s, _) = send(req(Method::GET, &eu_base, "/api/v2/tickets.json", &host("acme", eu.port), Some(&acme))).await;
        if s == StatusCode::OK {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "the node serves again once the routing database is back");
    admin_pool.close().await;

    drop((eu_node, us_node));
    let (eu_sealed, us_sealed) = (sealed_of(&eu).await, sealed_of(&us).await);
    assert!(eu_sealed.len() >= 5 && us_sealed.len() >= 5, "each region holds its tenant's values and file");
    let plain: Vec<Canary> = [&acme, &globex]
        .iter()
        .map(|m| Canary::text(format!("word of {}", m.subdomain), m.word.clone()))
        .collect();
    for (r, own, other) in [(&eu, &eu_sealed, &us_sealed), (&us, &us_sealed, &eu_sealed)] {
        let surfaces = vec![db_dir(&admin, &r.db).await, r.blobs.0.clone()];
        let found = scan(&surfaces, own).unwrap();
        let labels: std::collections::BTreeSet<&str> = found.hits.iter().map(|h| h.canary.as_str()).collect();
        assert!(labels.len() >= own.len() / 2, "the scan sees {}'s own values: {labels:?}", r.name);
        let foreign = scan(&surfaces, &[other.clone(), plain.clone()].concat()).unwrap();
        assert!(foreign.hits.is_empty(), "{} holds what is not its own: {:?}", r.name, foreign.hits);
    }
    // The routing database holds subdomains and regions: no tenant's value, sealed or not.
    let routing_dir = db_dir(&admin, &routing).await;
    let everything = [eu_sealed, us_sealed, plain].concat();
    assert!(scan(&[routing_dir], &everything).unwrap().hits.is_empty());
    let pool = sqlx::AnyPool::connect(&routing).await.unwrap();
    let routes: Vec<(String, String)> = sqlx::query_as("SELECT subdomain, region FROM tenant_routes ORDER BY subdomain")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        routes,
        vec![("acme".into(), "eu".into()), ("globex".into(), "us".into()), ("legacy".into(), "eu".into())]
    );
    pool.close().await;
    for db in [&eu.db, &us.db, &routing] {
        suoja_store::pg_admin::drop_database(&admin, db, "suoja_t_").await;
    }
}
