//! Files in the blob store: a local directory (SQLite's default) and a real S3-protocol server
//! (s3s-fs, started by `.ci/s3-start` and named by the `AWS_*` variables and
//! `SUOJA_TEST_S3_BUCKET`). A file's bytes leave Suoja sealed under its person's key; its blob
//! goes with its row (redaction, erasure: deleted and checked gone) while everyone else's stay
//! byte for byte; files kept in the database move into the store and leave no copy in the
//! database's files; a backup carries the files and a restore brings them back.

use reqwest::{Method, StatusCode};
use serde_json::json;
use suoja_core::{AttachmentId, TenantId};
use suoja_privacy::scan::{Canary, scan};

use crate::harness::{Engine, TestApp, pg_url, random_name};

/// The test S3 bucket, if configured. In CI (`CI=true`) it must be.
pub(crate) fn s3_bucket() -> Option<String> {
    match std::env::var("SUOJA_TEST_S3_BUCKET") {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            assert!(std::env::var("CI").is_err(), "SUOJA_TEST_S3_BUCKET must be set in CI (.ci/s3-start prints it)");
            None
        }
    }
}

/// Where a test keeps its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    /// The default: the database on PostgreSQL, `DATA_DIR/blobs` on SQLite.
    Default,
    /// A local directory outside the data directory.
    Elsewhere,
    /// A prefix of its own in the test S3 bucket.
    S3,
}

/// The `blob_url` for `store` (`None` when it cannot run here).
fn blob_url(store: Store) -> Option<Option<String>> {
    match store {
        Store::Default => Some(None),
        Store::Elsewhere => {
            let dir = std::env::temp_dir().join(random_name("suoja-blobs-"));
            Some(Some(format!("file://{}", dir.display())))
        }
        Store::S3 => s3_bucket().map(|b| Some(format!("s3://{b}/{}", random_name("t-")))),
    }
}

async fn spawn(engine: Engine, store: Store) -> Option<TestApp> {
    if engine == Engine::Postgres && pg_url().is_none() {
        return None;
    }
    let url = blob_url(store)?;
    Some(TestApp::spawn_with(engine, |s| s.blob_url = url).await)
}

fn tenant(app: &TestApp) -> TenantId {
    TenantId(app.t.tenant_id)
}

/// A ticket for `requester` whose first comment carries one file; returns the ticket's and
/// the file's ids.
async fn ticket_with_file(app: &TestApp, requester: i64, subject: &str, name: &str, bytes: &[u8]) -> (i64, i64, i64) {
    let token = app.upload(name, "text/plain", bytes).await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": subject, "requester_id": requester, "comment": {"body": format!("{subject}: see the file"), "uploads": [token]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    let (s, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = &v["comments"][0];
    (ticket, c["id"].as_i64().unwrap(), c["attachments"][0]["id"].as_i64().unwrap())
}

async fn end_user(app: &TestApp, name: &str, email: &str) -> i64 {
    let (s, v) = app.post("/api/v2/users.json", json!({"user": {"name": name, "email": email}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["user"]["id"].as_i64().unwrap()
}

async fn download(app: &TestApp, id: i64) -> (StatusCode, Vec<u8>) {
    let r = app.req(Method::GET, &format!("/api/v2/attachments/{id}/content")).send().await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

async fn row(app: &TestApp, id: i64) -> suoja_store::attachments::AttachmentRow {
    let mut c = app.helpdesk().db().read().await.unwrap();
    suoja_store::attachments::by_id(&mut c, tenant(app), AttachmentId(id)).await.unwrap().unwrap()
}

/// The sealed bytes in a row's own column (empty when its content is a blob).
async fn inline(app: &TestApp, id: i64) -> Vec<u8> {
    let mut c = app.helpdesk().db().read().await.unwrap();
    sqlx::query_scalar("SELECT content_enc FROM attachments WHERE tenant_id = $1 AND id = $2")
        .bind(app.t.tenant_id)
        .bind(id)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

/// Waits (bounded) until `check` holds.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("waited 30 s for {what}");
}

/// Shared first names, a name inside another word, diacritics, a name in HTML: the file of
/// the person erased goes, the others' stay byte for byte.
async fn files_leave_with_their_rows(app: TestApp) {
    let blobs = app.helpdesk().db().blobs().clone();
    assert!(blobs.is_external(), "{blobs:?}");
    let ted = end_user(&app, "Ted Lindqvist", "ted.lindqvist@example.org").await;
    let other_ted = end_user(&app, "Ted Åkerström", "ted.akerstrom@example.org").await;
    let asa = end_user(&app, "Åsa Jääskeläinen", "asa.j@example.org").await;
    let ted_bytes = b"Ted Lindqvist started the invoice dispute; canary-blob-ted-7f3a".to_vec();
    let other_bytes = "<p>Ted \u{c5}kerstr\u{f6}m</p> restarted the router; canary-blob-other-91c2"
        .as_bytes()
        .to_vec();
    let asa_bytes = "\u{c5}sa J\u{e4}\u{e4}skel\u{e4}inen: quarterly notes".repeat(2_000).into_bytes();
    let (_, _, ted_file) = ticket_with_file(&app, ted, "Invoice", "ted.txt", &ted_bytes).await;
    let (_, _, other_file) = ticket_with_file(&app, other_ted, "Router", "router.txt", &other_bytes).await;
    let (_, _, asa_file) = ticket_with_file(&app, asa, "Notes", "notes.txt", &asa_bytes).await;
    let (_, _, asa_second) = ticket_with_file(&app, asa, "More notes", "more.txt", b"a second file of Asa's").await;

    // Each file is a blob of its own, its row's column empty; the blob is sealed.
    let mut keys = Vec::new();
    for (id, plain) in [(ted_file, &ted_bytes), (other_file, &other_bytes), (asa_file, &asa_bytes)] {
        let r = row(&app, id).await;
        let key = r.blob_key.clone().expect("the file is a blob");
        assert!(key.starts_with(&format!("t{}/f/", app.t.tenant_id)), "{key}");
        assert!(inline(&app, id).await.is_empty(), "no copy in the row");
        let sealed = blobs.get(&key).await.unwrap().unwrap();
        assert!(sealed.len() > plain.len(), "sealed: nonce and tag added");
        let probe = &plain[..plain.len().min(24)];
        assert!(!sealed.windows(probe.len()).any(|w| w == probe), "the store never holds plaintext");
        assert_eq!(download(&app, id).await, (StatusCode::OK, plain.clone()));
        keys.push(key);
    }
    if let Some(dir) = blobs.local_dir() {
        let canaries = [Canary::text("ted", "canary-blob-ted-7f3a"), Canary::text("other", "canary-blob-other-91c2")];
        let report = scan(&[dir.to_path_buf()], &canaries).unwrap();
        assert!(report.files >= 3 && report.hits.is_empty(), "{} files, {:?}", report.files, report.hits);
    }
    // The reads so far are in the consultation log before the exports are compared.
    app.privacy().flush_consultations().await.unwrap();
    let other_export = crate::privacy_precision::export_of(&app, other_ted).await;
    let asa_export = crate::privacy_precision::export_of(&app, asa).await;
    assert!(asa_export.contains("notes.txt"), "the export lists Åsa's file");

    // Redacting one of Åsa's files deletes its blob at once; her other file stays.
    let second_key = row(&app, asa_second).await.blob_key.unwrap();
    let second_ticket = row(&app, asa_second).await.ticket_id.unwrap().0;
    let second_comment = row(&app, asa_second).await.comment_id.unwrap().0;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{second_ticket}/comments/{second_comment}/attachments/{asa_second}/redact"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!blobs.exists(&second_key).await.unwrap(), "a redacted file's blob is gone");
    assert!(row(&app, asa_second).await.blob_key.is_none());
    assert!(download(&app, asa_second).await.1.is_empty(), "the placeholder is empty");
    let asa_export = crate::privacy_precision::export_of(&app, asa).await;

    // Erasing Ted deletes his file's blob, checked gone, and counts it.
    let (s, v) = app
        .call_as(&app.t, Method::POST, &format!("/api/v2/privacy/subjects/{ted}/erasure.json"), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let text = v.to_string();
    assert!(text.contains("\"blobs\":1"), "the erasure counts the blob it deleted: {v}");
    assert!(!text.contains("\"store\":\"blob store\",\"remaining\":1"), "{v}");
    assert!(!blobs.exists(&keys[0]).await.unwrap(), "Ted's blob is gone");
    let mut c = app.helpdesk().db().read().await.unwrap();
    assert_eq!(suoja_store::blobs::trash_len(&mut c, Some(tenant(&app))).await.unwrap(), 0);
    drop(c);

    // Everyone else's: their blobs, their bytes, their exports.
    for (id, key, plain) in [(other_file, &keys[1], &other_bytes), (asa_file, &keys[2], &asa_bytes)] {
        assert!(blobs.exists(key).await.unwrap());
        assert_eq!(download(&app, id).await, (StatusCode::OK, plain.clone()));
    }
    app.privacy().flush_consultations().await.unwrap();
    assert_eq!(crate::privacy_precision::export_of(&app, other_ted).await, other_export);
    assert_eq!(crate::privacy_precision::export_of(&app, asa).await, asa_export);
    let left: Vec<String> = blobs.list(Some(tenant(&app))).await.unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(left.len(), 2, "only the other Ted's and Åsa's file remain: {left:?}");

    // A blob no row names (an upload whose transaction failed) is swept once old enough;
    // named ones never are, nor anything in the store not of Suoja's naming.
    let orphan = suoja_store::blobs::Blobs::new_key(tenant(&app));
    blobs.put(&orphan, b"sealed orphan".to_vec()).await.unwrap();
    let foreign = [
        format!("t{}/f/not-ours", app.t.tenant_id),
        format!("t{}/operator-notes.txt", app.t.tenant_id),
        "root.key".to_string(),
    ];
    for k in &foreign {
        blobs.put(k, b"someone else's".to_vec()).await.unwrap();
    }
    let db = app.helpdesk().db();
    let young = suoja_core::Timestamp(app.helpdesk().now().0 - 3_600_000);
    assert_eq!(blobs.sweep_orphans(db, None, young).await.unwrap(), 0, "too young");
    let later = suoja_core::Timestamp(app.helpdesk().now().0 + 60_000);
    assert_eq!(blobs.sweep_orphans(db, None, later).await.unwrap(), 1);
    assert!(!blobs.exists(&orphan).await.unwrap());
    assert!(blobs.exists(&keys[1]).await.unwrap() && blobs.exists(&keys[2]).await.unwrap());
    for k in &foreign {
        assert!(blobs.exists(k).await.unwrap(), "{k} is not Suoja's to sweep");
    }

    // A key in the trash that a row names again (a restore put the row back) loses no blob.
    let mut c = db.begin().await.unwrap();
    sqlx::query("INSERT INTO blob_trash (tenant_id, blob_key) VALUES ($1, $2)")
        .bind(app.t.tenant_id)
        .bind(keys[1].clone())
        .execute(&mut *c)
        .await
        .unwrap();
    c.commit().await.unwrap();
    blobs.empty_trash(db, Some(tenant(&app))).await.unwrap();
    assert!(blobs.exists(&keys[1]).await.unwrap(), "a named blob is never deleted");
    let mut c = db.read().await.unwrap();
    assert_eq!(suoja_store::blobs::trash_len(&mut c, Some(tenant(&app))).await.unwrap(), 0);
    drop(c);
    assert_eq!(download(&app, other_file).await, (StatusCode::OK, other_bytes.clone()));

    // A process configured with another store, or with none, refuses the database; so does
    // one whose store is marked as another installation's.
    let refused = |e: anyhow::Result<suoja_helpdesk::Helpdesk>| match e {
        Ok(_) => panic!("another store was taken for the server's"),
        Err(e) => format!("{e:#}"),
    };
    let mut wrong = app.settings.clone();
    for url in [
        "database".to_string(),
        format!("file://{}", std::env::temp_dir().join(random_name("suoja-other-")).display()),
    ] {
        wrong.blob_url = Some(url.clone());
        let e = refused(suoja::app::open(&wrong).await);
        assert!(e.contains("blob_url"), "{url}: {e}");
    }
    let ours = suoja::app::blob_store_mark(app.helpdesk().vault());
    assert_eq!(
        blobs.get("suoja-installation").await.unwrap(),
        Some(ours.clone().into_bytes()),
        "the store is marked"
    );
    blobs.put("suoja-installation", b"another installation".to_vec()).await.unwrap();
    let e = refused(suoja::app::open(&app.settings).await);
    assert!(e.contains("never share"), "{e}");
    blobs.put("suoja-installation", ours.into_bytes()).await.unwrap();
    // One file lost from the store does not keep the server from starting.
    blobs.delete(&keys[2]).await.unwrap();
    let again = suoja::app::open(&app.settings).await.unwrap();
    again.db().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_leave_with_their_rows_sqlite_local() {
    let app = spawn(Engine::Sqlite, Store::Default).await.unwrap();
    files_leave_with_their_rows(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_leave_with_their_rows_postgres_s3() {
    if let Some(app) = spawn(Engine::Postgres, Store::S3).await {
        files_leave_with_their_rows(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_leave_with_their_rows_sqlite_s3() {
    if let Some(app) = spawn(Engine::Sqlite, Store::S3).await {
        files_leave_with_their_rows(app).await;
    }
}

/// Files stored while the database kept them move into the store once one is configured; the
/// database's files then hold no copy (its sealed bytes, looked for as they are, after the
/// scan has shown it finds them before).
async fn files_move_into_the_store(engine: Engine, store: Store) {
    if engine == Engine::Postgres && pg_url().is_none() {
        return;
    }
    let Some(url) = blob_url(store) else { return };
    let mut app = TestApp::spawn_with(engine, |s| s.blob_url = Some("database".into())).await;
    let who = end_user(&app, "Ted Lindqvist", "ted.lindqvist@example.org").await;
    let mut files = Vec::new();
    for i in 0..5 {
        let bytes = format!("file {i} of Ted's: {}", "quarterly figures ".repeat(100)).into_bytes();
        let (_, _, id) = ticket_with_file(&app, who, &format!("Report {i}"), &format!("r{i}.txt"), &bytes).await;
        assert!(row(&app, id).await.blob_key.is_none(), "kept in the database");
        files.push((id, bytes, inline(&app, id).await));
    }
    let sealed: Vec<Canary> = files
        .iter()
        .map(|(id, _, sealed)| Canary::raw(format!("file {id}"), sealed[sealed.len() / 2..sealed.len() / 2 + 48].to_vec()))
        .collect();
    let before = scan(&crate::fixtures::disk::surfaces(&app).await, &sealed).unwrap();
    assert!(!before.hits.is_empty(), "the scan finds the sealed bytes in the database first");

    app.stop_server().await;
    app.settings.blob_url = url;
    app.start_server().await;
    let blobs = app.helpdesk().db().blobs().clone();
    assert!(blobs.is_external());
    for (id, _, _) in &files {
        let id = *id;
        until("the files to move", || async { row(&app, id).await.blob_key.is_some() }).await;
    }
    until("the move's copies to leave the trash", || async {
        let mut c = app.helpdesk().db().read().await.unwrap();
        suoja_store::blobs::trash_len(&mut c, None).await.unwrap() == 0
    })
    .await;
    for (id, plain, was) in &files {
        assert!(inline(&app, *id).await.is_empty());
        let key = row(&app, *id).await.blob_key.unwrap();
        assert_eq!(&blobs.get(&key).await.unwrap().unwrap(), was, "the same sealed bytes, moved");
        assert_eq!(download(&app, *id).await, (StatusCode::OK, plain.clone()));
    }
    // The move's last batch rewrote the table and retired the log; wait for the loop to be done.
    until("the move to finish", || async {
        suoja_store::blobs::move_into_store(app.helpdesk().db(), 100).await.unwrap() == 0
    })
    .await;
    suoja_store::dialect::rewrite_table(app.helpdesk().db(), "attachments").await.unwrap();
    suoja_store::dialect::retire_wal(app.helpdesk().db()).await.unwrap();
    let mut surfaces = crate::fixtures::disk::surfaces(&app).await;
    if let Some(dir) = blobs.local_dir() {
        surfaces.retain(|p| !dir.starts_with(p));
    }
    let after = scan(&surfaces, &sealed).unwrap();
    assert!(
        after.hits.is_empty(),
        "the database's files still hold moved files: {:?}",
        crate::fixtures::disk::described(&app, &after).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_in_the_database_move_into_the_store_sqlite() {
    files_move_into_the_store(Engine::Sqlite, Store::Elsewhere).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_in_the_database_move_into_the_store_postgres_s3() {
    files_move_into_the_store(Engine::Postgres, Store::S3).await;
}

/// A backup holds the files of the store; a restore over an installation whose store lost
/// them brings them back, and the server moves them into its store again.
async fn backup_carries_files(engine: Engine, store: Store) {
    let Some(mut app) = spawn(engine, store).await else { return };
    let who = end_user(&app, "Åsa Jääskeläinen", "asa.j@example.org").await;
    let bytes = "Åsa's contract, signed".repeat(50).into_bytes();
    let (_, _, id) = ticket_with_file(&app, who, "Contract", "contract.txt", &bytes).await;
    let key = row(&app, id).await.blob_key.unwrap();
    let backups = crate::harness::TempDir::new();
    // A backup run without the server's store writes nothing and says why.
    for url in [
        "database".to_string(),
        format!("file://{}", std::env::temp_dir().join(random_name("suoja-other-")).display()),
    ] {
        let out = app
            .cli_command(&["backup", "--to", backups.0.to_str().unwrap()])
            .env("SUOJA_BLOB_URL", &url)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && said.contains("blob_url"), "{url}: {said}");
    }
    let written = std::fs::read_dir(&backups.0)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.path().join("manifest.json").exists());
    assert!(!written, "no backup was written");
    let out = app.cli(&["backup", "--to", backups.0.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    app.stop_server().await;
    // The store loses the file.
    let blobs = suoja_store::blobs::Blobs::open(&app.settings.blob_url()).unwrap();
    blobs.delete(&key).await.unwrap();
    let dir = std::fs::read_dir(&backups.0)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("manifest.json").exists())
        .unwrap();
    let out = app.cli(&["restore", "--from", dir.to_str().unwrap(), "--force"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    app.start_server().await;
    assert_eq!(download(&app, id).await, (StatusCode::OK, bytes.clone()), "restored with its row");
    until("the restored file to move into the store", || async { row(&app, id).await.blob_key.is_some() }).await;
    let again = row(&app, id).await.blob_key.unwrap();
    assert_ne!(again, key, "a new blob");
    assert!(app.helpdesk().db().blobs().exists(&again).await.unwrap());
    assert_eq!(download(&app, id).await, (StatusCode::OK, bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_carries_the_files_of_the_store_sqlite_local() {
    backup_carries_files(Engine::Sqlite, Store::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_carries_the_files_of_the_store_postgres_s3() {
    backup_carries_files(Engine::Postgres, Store::S3).await;
}

/// A large file goes up to S3 in parts and comes back whole; a bad `blob_url` is refused
/// with what is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_go_up_in_parts_and_bad_store_settings_are_refused() {
    for bad in ["relative/dir", "s3://", "ftp://host/x"] {
        let e = suoja_store::blobs::Blobs::open(bad).unwrap_err().to_string();
        assert!(e.contains("blob_url"), "{bad}: {e}");
    }
    let Some(app) = spawn(Engine::Sqlite, Store::S3).await else { return };
    let who = end_user(&app, "Ted Lindqvist", "ted.lindqvist@example.org").await;
    let big: Vec<u8> = (0..12 * 1024 * 1024_u32).map(|i| u8::try_from(i % 251).unwrap()).collect();
    let (_, _, id) = ticket_with_file(&app, who, "Recording", "call.bin", &big).await;
    let key = row(&app, id).await.blob_key.unwrap();
    let blobs = app.helpdesk().db().blobs();
    assert!(blobs.get(&key).await.unwrap().unwrap().len() > big.len());
    let (s, got) = download(&app, id).await;
    assert_eq!(s, StatusCode::OK);
    assert!(got == big, "12 MB back whole");
}
