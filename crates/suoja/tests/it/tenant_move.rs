//! Moving a tenant between regions as an operator does it: two regions on PostgreSQL (each
//! with its own database, blob directory, root key and block of ids), a node in each, and
//! `suoja tenant move acme --to us`. The first run is killed while the tenant is frozen and
//! the second resumes it. Afterwards the new region serves the tenant with the same ids,
//! texts, files, search and privacy ledger; the old one refuses it (421) and holds nothing of
//! it (no row; a byte scan of its database directory and blob store finds none of its sealed
//! values or files); the other tenants of both regions read byte-identical; a restore of a
//! backup of the old region taken before the move removes the tenant again; and a move that
//! is cancelled before its switch leaves the tenant where it was, with nothing in the other
//! region.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_privacy::scan::{Canary, scan};

use crate::harness::{TempDir, fresh_pg_database, pg_url, random_name, send};
use crate::process::command;
use crate::residency::{Made, Region, TwoRegions, db_dir, files, flow, host, init, req};

/// `suoja ARGS` as an operator of `node`'s region runs it, with the shared configuration.
fn operator(config: &Path, node: &Region, args: &[&str]) -> std::process::Command {
    let mut c = command(&node.dir.0, None);
    c.env("SUOJA_CONFIG", config).env("SUOJA_REGION", node.name).args(args);
    c
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A GET as `who` at `node`, its text with the node's port taken out (URLs name it).
async fn read(node: &Region, who: &Made, path: &str) -> (StatusCode, String) {
    let base = format!("http://127.0.0.1:{}", node.port);
    let r = req(Method::GET, &base, path, &host(&who.subdomain, node.port), Some(who)).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap().replace(&format!(":{}", node.port), ":PORT");
    (status, text)
}

/// Waits until `check` holds (every 100 ms, at most `secs`).
async fn until<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Slices of one tenant's sealed values in a region's database, and of its files.
async fn sealed_of_tenant(r: &Region, tenant: i64) -> Vec<Canary> {
    let pool = sqlx::AnyPool::connect(&r.db).await.unwrap();
    let mut out = Vec::new();
    for (what, sql) in [
        ("subject", "SELECT subject_enc FROM tickets WHERE tenant_id = $1 AND subject_enc IS NOT NULL"),
        ("comment", "SELECT body_enc FROM comments WHERE tenant_id = $1"),
        ("name", "SELECT name_enc FROM users WHERE tenant_id = $1"),
        ("key", "SELECT wrapped FROM vault_subject_keys WHERE tenant_id = $1"),
        ("tenant key", "SELECT wrapped FROM vault_tenant_keys WHERE tenant_id = $1"),
    ] {
        for (i, b) in sqlx::query_scalar::<_, Vec<u8>>(sql)
            .bind(tenant)
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .enumerate()
        {
            let mid = b.len() / 2;
            out.push(Canary::raw(format!("{} {what} {i}", r.name), b[mid - 12..mid + 12].to_vec()));
        }
    }
    pool.close().await;
    let dir = r.blobs.0.join(format!("t{tenant}"));
    if dir.exists() {
        for f in files(&dir) {
            let b = std::fs::read(&f).unwrap();
            let mid = b.len() / 2;
            out.push(Canary::raw(format!("{} file {}", r.name, f.display()), b[mid - 24..mid + 24].to_vec()));
        }
    }
    out
}

/// Rows of `tenant` in every table of a region's database, by table (only those with any).
async fn rows_of(r: &Region, tenant: i64) -> Vec<(String, i64)> {
    let pool = sqlx::AnyPool::connect(&r.db).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t} WHERE tenant_id = $1")))
            .bind(tenant)
            .fetch_one(&pool)
            .await
            .unwrap();
        if n > 0 {
            out.push((t, n));
        }
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(&pool)
        .await
        .unwrap();
    if n > 0 {
        out.push(("tenants".into(), n));
    }
    pool.close().await;
    out
}

fn tenant_id(out: &std::process::Output) -> i64 {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["tenant_id"].as_i64().unwrap()
}

/// Starts `suoja tenant move SUBDOMAIN --to us` and waits until the tenant's requests are
/// refused in eu (503, with a time to come back); returns the running move.
async fn start_until_frozen(config: &Path, eu: &Region, who: &Made, extra: &[&str]) -> std::process::Child {
    let mut args = vec!["tenant", "move", who.subdomain.as_str(), "--to", "us"];
    args.extend_from_slice(extra);
    let child = operator(config, eu, &args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", eu.port);
    let mut refused = None;
    let end = Instant::now() + Duration::from_secs(15);
    while refused.is_none() && Instant::now() < end {
        let resp = req(Method::GET, &base, "/api/v2/tickets.json", &host(&who.subdomain, eu.port), Some(who))
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
            let retry = resp.headers().get(reqwest::header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_string());
            refused = Some((retry, resp.json::<Value>().await.unwrap()));
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (retry, body) = refused.expect("the tenant's requests are refused while it is moved");
    assert_eq!(body["error"], json!("TenantMoving"), "{body}");
    assert_eq!(retry.as_deref(), Some("30"));
    child
}

/// As [`start_until_frozen`], and kills the run there (SIGKILL).
async fn start_and_kill(config: &Path, eu: &Region, who: &Made, extra: &[&str]) {
    let mut child = start_until_frozen(config, eu, who, extra).await;
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_moves_to_another_region_with_its_ids_and_leaves_nothing_behind() {
    let Some(admin) = pg_url() else {
        assert!(std::env::var("CI").is_err(), "CI runs the tenant move test on PostgreSQL");
        eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
        return;
    };
    sqlx::any::install_default_drivers();
    let TwoRegions { eu, us, routing, conf, config } = TwoRegions::fresh(&admin).await;
    let block = 1_i64 << 36;

    let out = init(&config, &eu, "eu", "acme");
    let acme_id = tenant_id(&out);
    let acme = Made::from_init(out, &random_name("muutto"));
    let out = init(&config, &eu, "eu", "legacy");
    let legacy_id = tenant_id(&out);
    let legacy = Made::from_init(out, &random_name("jaa"));
    let out = init(&config, &us, "us", "globex");
    assert!(tenant_id(&out) >= block, "us numbers its records in its own block: {}", tenant_id(&out));
    let globex = Made::from_init(out, &random_name("pysy"));
    assert!(acme_id < block && legacy_id < block);

    let (eu_node, us_node) = (eu.start(&config), us.start(&config));
    let (eu_base, us_base) = (eu_node.base(), us_node.base());
    flow(&eu_base, eu.port, &acme).await;
    flow(&eu_base, eu.port, &legacy).await;
    flow(&us_base, us.port, &globex).await;

    // What acme, legacy and globex read before the move.
    let paths = ["/api/v2/tickets.json", "/api/v2/users.json"];
    let mut before = Vec::new();
    for p in paths {
        let (s, t) = read(&eu, &acme, p).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        before.push(t);
    }
    let tickets: Value = serde_json::from_str(&before[0]).unwrap();
    let ticket = tickets["tickets"][0]["id"].as_i64().unwrap();
    let comments_path = format!("/api/v2/tickets/{ticket}/comments.json");
    let (_, comments_before) = read(&eu, &acme, &comments_path).await;
    let (_, ledger) = read(&eu, &acme, "/api/v2/privacy/ledger/verify.json").await;
    let ledger: Value = serde_json::from_str(&ledger).unwrap();
    let entries_before = ledger["ledger"]["entries"].as_i64().unwrap();
    assert!(entries_before > 0, "{ledger}");
    let (_, legacy_before) = read(&eu, &legacy, "/api/v2/tickets.json").await;
    let (_, globex_before) = read(&us, &globex, "/api/v2/tickets.json").await;
    let acme_sealed = sealed_of_tenant(&eu, acme_id).await;
    assert!(acme_sealed.iter().any(|c| c.label.contains("file")), "acme has a file in eu's store");

    // A backup of eu before the move.
    let backups = TempDir::new();
    ok(
        &operator(&config, &eu, &["backup", "--to", backups.0.to_str().unwrap()]).output().unwrap(),
        "backup",
    );

    // The first run is killed while acme is frozen; a node of the other region refuses it too,
    // as its route still names eu.
    start_and_kill(&config, &eu, &acme, &[]).await;
    let (s, v) = send(req(Method::GET, &us_base, "/api/v2/tickets.json", &host("acme", us.port), Some(&acme))).await;
    assert_eq!((s, v["region"].as_str()), (StatusCode::MISDIRECTED_REQUEST, Some("eu")), "{v}");
    let status = ok(&operator(&config, &eu, &["tenant", "move-status", "acme"]).output().unwrap(), "move-status");
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_ne!(status["phase"], json!("done"), "{status}");
    assert_eq!((status["from_region"].as_str(), status["to_region"].as_str()), (Some("eu"), Some("us")));
    // Another target while this move is under way is refused.
    let out = operator(&config, &eu, &["tenant", "move", "acme", "--to", "eu"]).output().unwrap();
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("being moved to us"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The second run resumes it to the end, scanning eu's database directory.
    let eu_dir = db_dir(&admin, &eu.db).await;
    let cert_file = conf.0.join("certificate.json");
    let out = operator(
        &config,
        &eu,
        &[
            "tenant",
            "move",
            "acme",
            "--to",
            "us",
            "--scan",
            eu_dir.to_str().unwrap(),
            "--certificate",
            cert_file.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let printed = ok(&out, "the resumed move");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resuming"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert: Value = serde_json::from_str(&printed).unwrap();
    eprintln!("the certificate: {cert:#}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(cert, serde_json::from_slice::<Value>(&std::fs::read(&cert_file).unwrap()).unwrap());
    assert_eq!(
        (cert["tenant_id"].as_i64(), cert["from_region"].as_str(), cert["to_region"].as_str()),
        (Some(acme_id), Some("eu"), Some("us")),
        "{cert}"
    );
    let erased = &cert["source_erasure"];
    assert_eq!(erased["rows_left"], json!(0), "{cert}");
    assert_eq!(erased["files_deleted_and_checked_gone"], json!(1), "{cert}");
    assert_eq!(erased["scan"]["tenant_key_found"], json!(0), "{cert}");
    assert_eq!(erased["scan"]["sealed_values_found"], json!(0), "{cert}");
    assert!(
        erased["scan"]["canaries"].as_u64().unwrap() >= 5 && erased["scan"]["files"].as_u64().unwrap() > 0,
        "{cert}"
    );
    assert!(cert["copied"]["rows"].as_u64().unwrap() > 10, "{cert}");
    let text = cert.to_string();
    assert!(
        !text.contains(&acme.word) && !text.contains("aino"),
        "the certificate holds ids and counts only"
    );

    // us serves acme with the same ids, texts and files; eu refuses it and says where it is.
    let (s, v) = send(req(Method::GET, &eu_base, "/api/v2/tickets.json", &host("acme", eu.port), Some(&acme))).await;
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "{v}");
    assert_eq!(
        (v["region"].as_str(), v["url"].as_str()),
        (Some("us"), Some(format!("http://127.0.0.1:{}", us.port).as_str()))
    );
    for (p, was) in paths.iter().zip(&before) {
        let (s, now) = read(&us, &acme, p).await;
        assert_eq!(s, StatusCode::OK, "{now}");
        assert_eq!(&now, was, "{p} reads the same in us");
    }
    let (_, comments_after) = read(&us, &acme, &comments_path).await;
    assert_eq!(comments_after, comments_before);
    let comments: Value = serde_json::from_str(&comments_after).unwrap();
    let content = comments["comments"][0]["attachments"][0]["content_url"].as_str().unwrap();
    let path = format!("/api/{}", content.split_once("/api/").unwrap().1);
    let bytes = req(Method::GET, &us_base, &path, &host("acme", us.port), Some(&acme)).send().await.unwrap();
    assert_eq!(bytes.status(), StatusCode::OK);
    assert_eq!(bytes.text().await.unwrap(), format!("receipt of {} ", acme.word).repeat(50));
    let (s, v) = send(req(
        Method::GET,
        &us_base,
        &format!("/api/v2/search.json?query=type%3Aticket%20{}", acme.word),
        &host("acme", us.port),
        Some(&acme),
    ))
    .await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(1)), "search finds acme's words in us: {v}");
    // The ledger keeps every hash it had (the chain key came along) and records the move.
    let (_, ledger) = read(&us, &acme, "/api/v2/privacy/ledger/verify.json").await;
    let ledger: Value = serde_json::from_str(&ledger).unwrap();
    assert_eq!(ledger["ledger"]["broken"], Value::Null, "{ledger}");
    assert!(cert["ledger_entry"]["seq"].as_i64().unwrap() > entries_before, "{cert}");
    let (_, records) = read(&us, &acme, "/api/v2/privacy/records_of_processing.json").await;
    let records: Value = serde_json::from_str(&records).unwrap();
    assert_eq!(records["records_of_processing"]["region"], json!("us"));
    // New records of acme take us's ids, beside the ones it brought.
    let (s, v) = send(
        req(Method::POST, &us_base, "/api/v2/tickets.json", &host("acme", us.port), Some(&acme)).json(&json!({
            "ticket": {"subject": "After the move", "comment": {"body": "Settled in"}}
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["ticket"]["id"].as_i64().unwrap() >= block, "{v}");

    // The other tenants read byte-identical; eu holds nothing of acme.
    assert_eq!(read(&eu, &legacy, "/api/v2/tickets.json").await.1, legacy_before);
    assert_eq!(read(&us, &globex, "/api/v2/tickets.json").await.1, globex_before);
    assert_eq!(rows_of(&eu, acme_id).await, vec![], "no row of acme is left in eu");
    let found = scan(&[db_dir(&admin, &eu.db).await, eu.blobs.0.clone()], &acme_sealed).unwrap();
    assert!(found.hits.is_empty(), "eu's files hold acme's values: {:?}", found.hits);
    let legacy_sealed = sealed_of_tenant(&eu, legacy_id).await;
    assert!(
        !scan(&[db_dir(&admin, &eu.db).await], &legacy_sealed).unwrap().hits.is_empty(),
        "the scan sees what eu keeps"
    );
    // Done is done: moving it "again" to where it is is refused, the status shows the certificate.
    let out = operator(&config, &eu, &["tenant", "move", "acme", "--to", "us"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already served in region us"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_str(&ok(&operator(&config, &eu, &["tenant", "move-status", "acme"]).output().unwrap(), "status")).unwrap();
    assert_eq!((status["phase"].as_str(), &status["certificate"]), (Some("done"), &cert));

    // A backup of eu from before the move, restored there, does not bring acme back.
    drop(eu_node);
    let dir: PathBuf = std::fs::read_dir(&backups.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && p.file_name().unwrap() != "key-vault")
        .unwrap();
    let out = operator(&config, &eu, &["restore", "--from", dir.to_str().unwrap(), "--force"])
        .output()
        .unwrap();
    ok(&out, "restore");
    assert_eq!(rows_of(&eu, acme_id).await, vec![], "the restore's replay removes the tenant that moved away");
    assert!(!rows_of(&eu, legacy_id).await.is_empty());
    let eu_node = eu.start(&config);
    let eu_base = eu_node.base();
    assert_eq!(read(&eu, &legacy, "/api/v2/tickets.json").await.1, legacy_before);

    // A move cancelled while its run goes on: the run stops at its next step, legacy is served
    // in eu again, us holds nothing of it.
    let running = start_until_frozen(&config, &eu, &legacy, &["--no-rewrite"]).await;
    ok(&operator(&config, &eu, &["tenant", "move", "legacy", "--cancel"]).output().unwrap(), "cancel");
    let out = running.wait_with_output().unwrap();
    assert!(!out.status.success(), "the cancelled run stops");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cancelled"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = until(10, || async { read(&eu, &legacy, "/api/v2/tickets.json").await.0 == StatusCode::OK }).await;
    assert!(back, "legacy is served in eu again");
    assert_eq!(read(&eu, &legacy, "/api/v2/tickets.json").await.1, legacy_before);
    assert_eq!(rows_of(&us, legacy_id).await, vec![], "nothing of legacy is left in us");
    let status: Value = serde_json::from_str(&ok(&operator(&config, &eu, &["tenant", "move-status", "legacy"]).output().unwrap(), "status")).unwrap();
    assert_eq!(status["phase"], json!("cancelled"), "{status}");
    ok(
        &operator(&config, &eu, &["tenant", "move", "legacy", "--cancel"]).output().unwrap(),
        "a second cancel finishes what is left, if anything",
    );
    let out = operator(&config, &eu, &["tenant", "move", "acme", "--cancel"]).output().unwrap();
    assert!(!out.status.success(), "a move that is done cannot be cancelled");
    let (s, _) = send(req(Method::GET, &eu_base, "/api/v2/tickets.json", &host("acme", eu.port), Some(&acme))).await;
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST);

    drop((eu_node, us_node));
    for db in [&eu.db, &us.db, &routing] {
        suoja_store::pg_admin::drop_database(&admin, db, "suoja_t_").await;
    }
}

/// Every table of a SQLite database with rows of `tenant` (the full-text table's content
/// table included), and whether the full-text index is intact.
async fn sqlite_rows_of(url: &str, tenant: i64) -> (Vec<(String, i64)>, bool) {
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL%' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'tenant_id') ORDER BY 1")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(tables.contains(&"search_index_docs".to_string()));
    let mut out = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t} WHERE tenant_id = $1")))
            .bind(tenant)
            .fetch_one(&pool)
            .await
            .unwrap();
        if n > 0 {
            out.push((t, n));
        }
    }
    let intact = sqlx::query("INSERT INTO search_index (search_index) VALUES ('integrity-check')")
        .execute(&pool)
        .await
        .is_ok();
    pool.close().await;
    (out, intact)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_moves_out_of_a_region_on_sqlite_and_its_index_goes_with_it() {
    let Some(admin) = pg_url() else {
        assert!(std::env::var("CI").is_err(), "CI runs the tenant move test on PostgreSQL");
        eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
        return;
    };
    sqlx::any::install_default_drivers();
    let dir = TempDir::new();
    let eu = Region {
        name: "eu",
        db: format!("sqlite://{}", dir.0.join("suoja.db").display()),
        dir,
        blobs: TempDir::new(),
        port: crate::process::free_port(),
    };
    let us = Region::fresh("us").await;
    let routing = fresh_pg_database(&admin).await;
    let conf = TempDir::new();
    let config = conf.0.join("suoja.toml");
    std::fs::write(&config, format!("routing_url = \"{routing}\"\n{}{}", eu.entry(0), us.entry(1))).unwrap();
    // us held a tenant before the regions had blocks of their own: its id is 1, as the first
    // tenant of eu's (SQLite numbers from 1).
    let out = command(&us.dir.0, Some(&us.db))
        .env("SUOJA_BLOB_URL", format!("file://{}", us.blobs.0.display()))
        .args(["init", "--subdomain", "globex", "--admin-email", "admin@globex.example"])
        .output()
        .unwrap();
    assert_eq!(tenant_id(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let clash = Made::from_init(init(&config, &eu, "eu", "clash"), "unused");
    let out = init(&config, &eu, "eu", "acme");
    let acme_id = tenant_id(&out);
    let acme = Made::from_init(out, &random_name("sqlitesta"));
    let out = init(&config, &eu, "eu", "stays");
    let stays_id = tenant_id(&out);
    let stays = Made::from_init(out, &random_name("paikallaan"));
    let (eu_node, us_node) = (eu.start(&config), us.start(&config));
    flow(&eu_node.base(), eu.port, &acme).await;
    flow(&eu_node.base(), eu.port, &stays).await;
    let (_, before) = read(&eu, &acme, "/api/v2/tickets.json").await;
    let (_, stays_before) = read(&eu, &stays, "/api/v2/tickets.json").await;
    let mut canaries = sealed_of_tenant(&eu, acme_id).await;
    // The index's words of acme (keyed hashes, written as words), as they lie in the file.
    let pool = sqlx::AnyPool::connect(&eu.db).await.unwrap();
    let words: Vec<String> = sqlx::query_scalar("SELECT public FROM search_index_docs WHERE tenant_id = $1")
        .bind(acme_id)
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    for w in words.iter().flat_map(|t| t.split_whitespace()).filter(|w| w.len() >= 8).take(20) {
        canaries.push(Canary::raw(format!("index word {w}"), w.as_bytes().to_vec()));
    }
    assert!(canaries.len() >= 10, "{}", canaries.len());
    assert!(!sqlite_rows_of(&eu.db, acme_id).await.0.is_empty());

    // clash has globex's id: it cannot move to us, and nothing of either is touched.
    let globex_rows = rows_of(&us, 1).await;
    let out = operator(&config, &eu, &["tenant", "move", "clash", "--to", "us"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another tenant (globex)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows_of(&us, 1).await, globex_rows);
    assert_eq!(
        read(&eu, &clash, "/api/v2/tickets.json").await.0,
        StatusCode::OK,
        "clash is served in eu as before"
    );

    let out = operator(&config, &eu, &["tenant", "move", "acme", "--to", "us"]).output().unwrap();
    let cert: Value = serde_json::from_str(&ok(&out, "the move")).unwrap();
    assert_eq!(cert["source_erasure"]["scan"]["sealed_values_found"], json!(0), "{cert}");
    assert!(
        cert["source_erasure"]["scan"]["files"].as_u64().unwrap() >= 2,
        "the database file and its blob store are scanned: {cert}"
    );

    let (rows, intact) = sqlite_rows_of(&eu.db, acme_id).await;
    assert_eq!(rows, vec![], "no row of acme is left in eu, its index's content table included");
    assert!(intact, "eu's full-text index is intact after the tenant's entries went");
    let found = scan(&[eu.dir.0.clone(), eu.blobs.0.clone()], &canaries).unwrap();
    assert!(found.hits.is_empty(), "eu's files hold acme's values or index words: {:?}", found.hits);
    assert!(!sqlite_rows_of(&eu.db, stays_id).await.0.is_empty());
    assert_eq!(read(&eu, &stays, "/api/v2/tickets.json").await.1, stays_before);
    let (s, now) = read(&us, &acme, "/api/v2/tickets.json").await;
    assert_eq!((s, now), (StatusCode::OK, before));
    let (s, v) = send(req(
        Method::GET,
        &us_node.base(),
        &format!("/api/v2/search.json?query=type%3Aticket%20{}", acme.word),
        &host("acme", us.port),
        Some(&acme),
    ))
    .await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(1)), "{v}");

    // A restore of eu from before the next move gives the departed tenant's id to a new
    // tenant (SQLite numbers from its largest row): the replay of the move removes only the
    // tenant that left, never the newcomer with its id.
    let backups = TempDir::new();
    ok(
        &operator(&config, &eu, &["backup", "--to", backups.0.to_str().unwrap()]).output().unwrap(),
        "backup",
    );
    let out = init(&config, &eu, "eu", "late");
    let late_id = tenant_id(&out);
    Made::from_init(out, "unused");
    ok(
        &operator(&config, &eu, &["tenant", "move", "late", "--to", "us"]).output().unwrap(),
        "moving late",
    );
    drop(eu_node);
    let dir: PathBuf = std::fs::read_dir(&backups.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && p.file_name().unwrap() != "key-vault")
        .unwrap();
    ok(
        &operator(&config, &eu, &["restore", "--from", dir.to_str().unwrap(), "--force"])
            .output()
            .unwrap(),
        "restore",
    );
    let out = init(&config, &eu, "eu", "newcomer");
    assert_eq!(tenant_id(&out), late_id, "SQLite gives the id out again");
    let newcomer = Made::from_init(out, "unused");
    let eu_node = eu.start(&config);
    assert_eq!(read(&eu, &newcomer, "/api/v2/tickets.json").await.0, StatusCode::OK, "the newcomer stays");
    assert!(!sqlite_rows_of(&eu.db, late_id).await.0.is_empty());
    drop((eu_node, us_node));
    for db in [&us.db, &routing] {
        suoja_store::pg_admin::drop_database(&admin, db, "suoja_t_").await;
    }
}
