//! Backups that honour erasure (issue: backups and restore): a backup taken while the server
//! answers requests; `backup verify`; damaged, truncated, altered or key-less backups and a
//! non-empty target are refused before anything is touched; a canary person is erased after
//! the backup — the old backup file's copy of their data cannot be opened with the vault's keys
//! even before any replay, while everyone else's can; the old backup is restored, the erasure
//! ledger replayed and the search index rebuilt, and then the person is absent through the API
//! and the byte scan of the data directory (and PostgreSQL's cluster, and the backups) finds
//! none of their values while everyone else's data is intact.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::json;
use suoja_privacy::scan::{Canary, scan};

use crate::fixtures::disk::{described, surfaces};
use crate::fixtures::people::world;
use crate::harness::{Engine, TempDir, TestApp, pg_url};

fn run_ok(out: &std::process::Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{what} failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn refused(out: &std::process::Output, what: &str, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} was accepted");
    assert!(stderr.contains(says), "{what}: expected \"{says}\" in: {stderr}");
}

fn backup_dir(root: &Path) -> PathBuf {
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("manifest.json").exists())
        .expect("a backup folder")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

async fn ticket_count(app: &TestApp) -> i64 {
    let (s, v) = app.get("/api/v2/tickets/count.json").await;
    if s == StatusCode::OK {
        return v["count"]["value"].as_i64().unwrap();
    }
    let (_, v) = app.get("/api/v2/tickets.json").await;
    v["count"].as_i64().unwrap()
}

async fn backup_erase_restore(engine: Engine) {
    if engine == Engine::Postgres && pg_url().is_none() {
        eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
        return;
    }
    let mut app = TestApp::spawn(engine).await;
    let w = world(&app).await;
    let backups = TempDir::new();
    let root = backups.0.clone();

    // A community post, redacted after the backup below.
    let (s, v) = app.post("/api/v2/community/topics.json", json!({"topic": {"name": "Notices"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/community/posts.json",
            json!({"post": {"title": "Opening hours", "details": "<p>Door code 4417 until May.</p>", "topic_id": v["topic"]["id"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let notice = v["post"]["id"].as_i64().unwrap();

    // The backup runs while the server answers reads and writes.
    let mut cmd = app.cli_command(&["backup", "--to", root.to_str().unwrap()]);
    let taking = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    let mut answered = 0;
    while !taking.is_finished() {
        let (s, v) = app.get(&format!("/api/v2/tickets/{}.json", w.t2)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"requester_id": w.b.id, "subject": "during backup", "comment": {"body": "written while the backup ran"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        answered += 1;
    }
    let out = taking.await.unwrap();
    let said = run_ok(&out, "backup");
    assert!(said.contains("written to"), "{said}");
    assert!(answered > 0, "the server answered during the backup");
    let dir = backup_dir(&root);
    let said = run_ok(&app.cli(&["backup", "verify", dir.to_str().unwrap()]), "verify");
    assert!(said.contains("intact"), "{said}");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let id = manifest["id"].as_str().unwrap().to_string();
    assert!(
        manifest["rows"].as_array().unwrap().iter().all(|r| r[0] != "search_index"),
        "the search index is left out: {manifest}"
    );
    let keys_file = root.join("key-vault").join(format!("{id}.keys.suoja"));
    assert!(keys_file.exists(), "the key vault is kept apart");

    // Bad backups and a non-empty target are refused, and nothing changes.
    let before = ticket_count(&app).await;
    let bad = root.join("bad");
    copy_dir(&dir, &bad);
    let data = bad.join("data.suoja");
    let full = std::fs::read(&data).unwrap();
    let restore_bad = |why: &str, says: &str| {
        let out = app.cli(&["restore", "--from", bad.to_str().unwrap(), "--keys", keys_file.to_str().unwrap(), "--force"]);
        refused(&out, why, says);
    };
    std::fs::write(&data, &full[..full.len() / 2]).unwrap();
    restore_bad("a truncated backup", "damaged or truncated");
    refused(
        &app.cli(&["backup", "verify", bad.to_str().unwrap()]),
        "verify of a truncated backup",
        "damaged or truncated",
    );
    let mut flipped = full.clone();
    let mid = flipped.len() / 3;
    flipped[mid] ^= 0x40;
    std::fs::write(&data, &flipped).unwrap();
    restore_bad("a corrupt backup", "damaged");
    std::fs::write(&data, &full).unwrap();
    let text = std::fs::read_to_string(bad.join("manifest.json"))
        .unwrap()
        .replace(&format!("\"engine\": \"{}\"", manifest["engine"].as_str().unwrap()), "\"engine\": \"other\"");
    std::fs::write(bad.join("manifest.json"), text).unwrap();
    restore_bad("an altered manifest", "altered");
    std::fs::write(bad.join("manifest.json"), b"{not json").unwrap();
    restore_bad("a broken manifest", "not a backup manifest");
    let out = app.cli(&["restore", "--from", dir.to_str().unwrap()]);
    refused(&out, "a restore over data without --force", "--force");
    let out = app.cli(&[
        "restore",
        "--from",
        dir.to_str().unwrap(),
        "--keys",
        root.join("nothing.txt").to_str().unwrap(),
        "--force",
    ]);
    refused(&out, "a keys file that is not one", "--keys");
    let elsewhere = TempDir::new();
    let out = app.cli(&["restore", "--from", dir.to_str().unwrap(), "--data-dir", elsewhere.0.to_str().unwrap()]);
    refused(&out, "a restore without the root key", "no root key");
    assert!(!elsewhere.0.join("root.key").exists(), "no new root key is made up");
    assert_eq!(ticket_count(&app).await, before, "nothing was touched by refused restores");

    // After the backup, a phrase in T3's first comment is redacted.
    let (_, v) = app.get(&format!("/api/v2/tickets/{}/comments.json", w.t3)).await;
    let first = v["comments"][0].clone();
    let phrase = first["body"].as_str().unwrap().split_whitespace().next().unwrap().to_string();
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{}/comments/{}/redact.json", w.t3, first["id"]),
            json!({"text": phrase}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // And a phrase in the community post.
    let (s, v) = app
        .put(&format!("/api/v2/community/posts/{notice}/redact"), json!({"text": "Door code 4417"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A is erased after the backup.
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{}/erasure.json", w.a.id), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");

    // Even before any replay, the old backup's copy of A cannot be opened with the vault as it
    // now stands (A's key is destroyed), while B's data opens.
    let scratch = TempDir::new();
    let plain = scratch.0.join("data.db");
    {
        let key = app.helpdesk().vault().backup_key(&id);
        let mut out = std::fs::File::create(&plain).unwrap();
        suoja_vault::stream::open(&key, "data", &mut std::fs::File::open(dir.join("data.suoja")).unwrap(), &mut out, &mut |_| {}).unwrap();
        out.flush().unwrap();
    }
    let old = suoja_store::Db::connect(&format!("sqlite://{}", plain.display()), &suoja_store::DbOptions::default())
        .await
        .unwrap();
    let (mut opened, mut refused_a) = (Vec::new(), 0);
    {
        let mut oc = old.read().await.unwrap();
        let a_key: i64 = sqlx::query_scalar("SELECT key_id FROM users WHERE id = $1")
            .bind(w.a.id)
            .fetch_one(&mut oc)
            .await
            .unwrap();
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT key_id, body_enc FROM comments")
            .fetch_all(&mut oc)
            .await
            .unwrap();
        let users: Vec<(i64, Vec<u8>)> = sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT key_id, name_enc FROM users")
            .fetch_all(&mut oc)
            .await
            .unwrap();
        let mut live = app.helpdesk().db().read().await.unwrap();
        let tenant = suoja_core::TenantId(app.t.tenant_id);
        for (key, sealed) in rows.into_iter().chain(users) {
            match app.helpdesk().vault().decrypt_str(&mut live, tenant, &sealed).await {
                Ok(text) => {
                    assert_ne!(key, a_key, "data sealed under A's key opened from the old backup: {text}");
                    opened.push(text);
                }
                Err(_) => {
                    assert_eq!(key, a_key, "only data sealed under A's key is unreadable");
                    refused_a += 1;
                }
            }
        }
    }
    old.close().await;
    assert!(refused_a >= 2, "A's name and comments are in the backup, sealed");
    assert!(opened.iter().any(|t| t == &w.b.name), "B's data opens from the backup");
    drop(scratch);

    // Restore the old backup over the live data: replay, then a rebuilt index.
    app.stop_server().await;
    let said = run_ok(&app.cli(&["restore", "--from", dir.to_str().unwrap(), "--force"]), "restore");
    assert!(said.contains("1 erasures replayed"), "{said}");
    assert!(said.contains("2 redactions applied again"), "{said}");
    app.start_server().await;

    // The redaction made after the backup holds: the ledger file has no text, so the whole
    // comment (and the description) is redacted again, and the history shows it once.
    let (_, v) = app.get(&format!("/api/v2/tickets/{}/comments.json", w.t3)).await;
    let body = v["comments"][0]["body"].as_str().unwrap();
    assert!(!body.is_empty() && body.chars().all(|c| c == '\u{2587}'), "{body}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{}.json", w.t3)).await;
    assert!(!v.to_string().contains(&phrase), "{v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{}/audits.json", w.t3)).await;
    let redactions = v["audits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["events"].as_array().unwrap())
        .filter(|e| e["type"] == "CommentRedactionEvent")
        .count();
    assert_eq!(redactions, 1, "{v}");
    // So does the post's: its whole text is marked again.
    let (_, v) = app.get(&format!("/api/v2/community/posts/{notice}.json")).await;
    let details = v["post"]["details"].as_str().unwrap();
    assert!(!details.contains("4417") && details.contains('\u{2587}'), "{v}");

    // A is absent; B and everyone else's data intact.
    for path in [format!("/api/v2/users/{}.json", w.a.id), format!("/api/v2/tickets/{}.json", w.t1)] {
        let (s, v) = app.get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (s, v) = app.get(&format!("/api/v2/users/{}.json", w.b.id)).await;
    assert_eq!((s, v["user"]["name"].as_str()), (StatusCode::OK, Some(w.b.name.as_str())));
    let (s, v) = app.get(&format!("/api/v2/tickets/{}.json", w.t3)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get(&format!("/api/v2/search.json?query={}", w.b.email)).await;
    assert!(v["count"].as_i64().unwrap() >= 1, "the rebuilt index finds B: {v}");
    for canary in &w.a.canaries {
        let (_, v) = app.get(&format!("/api/v2/search.json?query={canary}")).await;
        assert!(!w.a.canaries.iter().any(|c| v.to_string().contains(c.as_str())), "search shows A: {v}");
        let (_, v) = app.get(&format!("/api/v2/users/search.json?query={canary}")).await;
        assert!(!v.to_string().contains(&w.a.email), "user search shows A: {v}");
    }
    let (_, v) = app.get("/api/v2/privacy/erasures.json").await;
    assert!(
        v["erasures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["subject_id"] == w.a.id && e["origin"] == "replay" && e["state"] == "completed"),
        "{v}"
    );
    assert!(app.privacy().verify_ledger(&app.admin_scope()).await.unwrap().ok());

    // Bytes: nothing of A in the data directory, the cluster or the backups; B still found.
    let mut places = surfaces(&app).await;
    places.push(root.clone());
    let a: Vec<Canary> = w.a.canaries.iter().enumerate().map(|(i, v)| Canary::text(format!("a{i}"), v.clone())).collect();
    let report = scan(&places, &a).unwrap();
    assert!(report.hits.is_empty(), "{:#?}", described(&app, &report).await);
    let (_, v) = app.get(&format!("/api/v2/users/{}.json", w.b.id)).await;
    assert_eq!(v["user"]["email"], w.b.email.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_erase_restore_sqlite() {
    backup_erase_restore(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_erase_restore_postgres() {
    backup_erase_restore(Engine::Postgres).await;
}

/// Disaster recovery (issue: no resurrection after a disaster restore): a person is erased after
/// the last backup, then the whole data directory (on PostgreSQL, the database too) is lost.
/// Given only the backup directory and the root key, a restore into a new place replays the
/// ledger kept beside the backups: the person is not there and cannot be read. A copy of the
/// backup without that ledger is refused, unless the operator takes the named risk, and then
/// the restore says what it did not replay.
async fn disaster_restore(engine: Engine) {
    if engine == Engine::Postgres && pg_url().is_none() {
        eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
        return;
    }
    let mut app = TestApp::spawn(engine).await;
    let w = world(&app).await;
    let backups = TempDir::new();
    let root = backups.0.clone();
    let said = run_ok(&app.cli(&["backup", "--to", root.to_str().unwrap()]), "backup");
    assert!(said.contains("erasure ledger kept at"), "{said}");
    let dir = backup_dir(&root);
    let ledger = root.join("erasure-ledger.jsonl");
    assert!(std::fs::read_to_string(&ledger).unwrap().contains("\"checkpoint\""));

    // A is erased after the backup: the erasure reaches the ledger beside the backups at once.
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{}/erasure.json", w.a.id), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let kept = std::fs::read_to_string(&ledger).unwrap();
    assert!(kept.contains(&format!("\"subject_id\":{}", w.a.id)), "{kept}");

    // Everything is lost but the backup directory and the root key.
    let key = std::fs::read_to_string(app.settings.data_dir.join("root.key")).unwrap();
    app.stop_server().await;
    std::fs::remove_dir_all(&app.settings.data_dir).unwrap();
    let fresh = TempDir::new();
    let place = |app: &mut TestApp, dir: &Path| {
        app.settings.data_dir = dir.to_path_buf();
        std::fs::create_dir_all(dir).unwrap();
        suoja_store::files::write_private(&dir.join("root.key"), key.as_bytes()).unwrap();
    };
    let new_database = || async {
        match engine {
            Engine::Sqlite => None,
            Engine::Postgres => Some(crate::harness::fresh_pg_database(&pg_url().unwrap()).await),
        }
    };

    // A copy of the backup without its ledger is refused before anything is written …
    let copied = TempDir::new();
    let lone = copied.0.join(dir.file_name().unwrap());
    copy_dir(&dir, &lone);
    copy_dir(&root.join("key-vault"), &copied.0.join("key-vault"));
    let risky = TempDir::new();
    place(&mut app, &risky.0);
    app.settings.database_url = new_database().await;
    let out = app.cli(&["restore", "--from", lone.to_str().unwrap()]);
    refused(&out, "a restore without a ledger as new as the backup", "--risk-restoring-erased-people");
    assert!(!risky.0.join("suoja.db").exists(), "nothing was written");
    // … unless the operator takes the risk, and then A is back: exactly what the refusal warns of.
    let out = app.cli(&["restore", "--from", lone.to_str().unwrap(), "--risk-restoring-erased-people"]);
    let said = run_ok(&out, "a risky restore");
    assert!(said.contains("NOT REPLAYED"), "{said}");
    app.start_server().await;
    let (s, _) = app.get(&format!("/api/v2/users/{}.json", w.a.id)).await;
    assert_eq!(s, StatusCode::OK, "the risk the flag names");
    app.stop_server().await;
    if let Some(url) = &app.settings.database_url {
        // That database holds A again; it goes before the byte scan below.
        let name = url.rsplit('/').next().unwrap().to_string();
        let mut c = suoja_store::pg_admin::connect(&pg_url().unwrap()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut c)
            .await
            .unwrap();
    }

    // The real restore: the backup directory as it is, into a new place.
    place(&mut app, &fresh.0);
    app.settings.database_url = new_database().await;
    let said = run_ok(&app.cli(&["restore", "--from", dir.to_str().unwrap()]), "restore");
    assert!(said.contains("1 erasures replayed"), "{said}");
    assert!(!said.contains("NOT REPLAYED"), "{said}");
    app.start_server().await;
    for path in [format!("/api/v2/users/{}.json", w.a.id), format!("/api/v2/tickets/{}.json", w.t1)] {
        let (s, v) = app.get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (s, v) = app.get(&format!("/api/v2/users/{}.json", w.b.id)).await;
    assert_eq!((s, v["user"]["name"].as_str()), (StatusCode::OK, Some(w.b.name.as_str())));
    // Bytes: nothing of A in the new data directory or (PostgreSQL) the cluster.
    let places = surfaces(&app).await;
    let a: Vec<Canary> = w.a.canaries.iter().enumerate().map(|(i, v)| Canary::text(format!("a{i}"), v.clone())).collect();
    let report = scan(&places, &a).unwrap();
    assert!(report.hits.is_empty(), "{:#?}", described(&app, &report).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disaster_restore_sqlite() {
    disaster_restore(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disaster_restore_postgres() {
    disaster_restore(Engine::Postgres).await;
}
