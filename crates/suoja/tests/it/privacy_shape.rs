//! The privacy shape from the first table: the data map declares every live column (on both
//! engines), the engines' schemas agree, and personal values never reach the database's bytes
//! in plaintext — checked here and by `suoja verify erasure`.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::engine_test;
use crate::harness::{Engine, TestApp, send};

engine_test!(data_map_declares_every_live_column_and_nothing_stale, |app| async move {
    // Every column that holds rows, including the tables an engine keeps beside a declared one
    // (SQLite's `search_index_docs`), each checked against what its declared table says.
    let live: Vec<(String, String)> = suoja_store::schema::storage_columns(app.helpdesk().db())
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.table, c.column))
        .collect();
    let declared: Vec<(String, String)> = suoja_privacy::datamap::declared_columns()
        .into_iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    let beside = |table: &str| suoja_privacy::datamap::STORED_BESIDE.iter().find(|(t, _, _)| *t == table);
    let is_declared = |(table, column): &(String, String)| match beside(table) {
        Some((_, of, key)) => column == key || declared.contains(&(of.to_string(), column.clone())),
        None => declared.contains(&(table.clone(), column.clone())),
    };
    let undeclared: Vec<_> = live.iter().filter(|c| !is_declared(c)).collect();
    let stale: Vec<_> = declared.iter().filter(|c| !live.contains(c)).collect();
    assert!(
        undeclared.is_empty(),
        "columns missing from the data map (crates/suoja-privacy/src/datamap.rs): {undeclared:?}"
    );
    assert!(stale.is_empty(), "data map declares columns that do not exist: {stale:?}");
    if app.engine == Engine::Sqlite {
        // The words' own table is among those checked (it escaped the check before).
        assert!(live.iter().any(|(t, c)| t == "search_index_docs" && c == "public"), "{live:?}");
    }
});

engine_test!(personal_columns_are_never_sampled_into_engine_statistics, |app| async move {
    let db = app.helpdesk().db();
    let personal = suoja_privacy::datamap::personal_columns();
    assert!(personal.contains(&("vault_subject_keys", "wrapped")) && personal.contains(&("organizations", "notes")));
    match app.engine {
        Engine::Postgres => {
            // After ANALYZE, no personal column has a row in pg_statistic, and each has target 0.
            sqlx::query("ANALYZE").execute(db.write_pool()).await.unwrap();
            for (table, column) in &personal {
                let target: i64 =
                    sqlx::query_scalar("SELECT COALESCE(attstattarget::int8, -1) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2")
                        .bind(table.to_string())
                        .bind(column.to_string())
                        .fetch_one(db.write_pool())
                        .await
                        .unwrap();
                assert_eq!(target, 0, "{table}.{column} would be sampled by ANALYZE");
                let stats: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1 AND attname = $2")
                    .bind(table.to_string())
                    .bind(column.to_string())
                    .fetch_one(db.write_pool())
                    .await
                    .unwrap();
                assert_eq!(stats, 0, "{table}.{column} has statistics");
            }
        }
        Engine::Sqlite => {
            // This SQLite has STAT4: ANALYZE samples index keys (organisation names, blind-index
            // hashes). After Suoja refreshes statistics only the row counts remain.
            let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options").fetch_all(db.write_pool()).await.unwrap();
            assert!(options.iter().any(|o| o == "ENABLE_STAT4"), "{options:?}");
            let (s, v) = app
                .post(
                    "/api/v2/organizations.json",
                    json!({"organization": {"name": "Näytemaa Oy", "notes": "sampled?"}}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let mut c = db.write_pool().acquire().await.unwrap();
            sqlx::Executor::execute(&mut *c, "PRAGMA analysis_limit = 0; ANALYZE").await.unwrap();
            let sampled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat4").fetch_one(&mut *c).await.unwrap();
            assert!(sampled > 0, "a full ANALYZE samples index keys");
            drop(c);
            suoja_store::dialect::refresh_statistics(db).await.unwrap();
            let sampled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat4")
                .fetch_one(db.write_pool())
                .await
                .unwrap();
            assert_eq!(sampled, 0, "samples are dropped");
            let counts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat1")
                .fetch_one(db.write_pool())
                .await
                .unwrap();
            assert!(counts > 0, "row counts stay for the planner");
        }
    }
});

#[tokio::test]
async fn sqlite_and_postgres_migrations_give_the_same_schema() {
    let Some(_) = crate::harness::pg_url() else {
        eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
        return;
    };
    let a = TestApp::spawn(Engine::Sqlite).await;
    let b = TestApp::spawn(Engine::Postgres).await;
    let sa = suoja_store::schema::columns(a.helpdesk().db()).await.unwrap();
    let sb = suoja_store::schema::columns(b.helpdesk().db()).await.unwrap();
    assert_eq!(sa, sb);
}

/// The canary values of one person, put into every personal field that exists today.
pub struct Canary {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub subject: String,
    pub body: String,
    pub note: String,
    pub custom: String,
    pub tag: String,
    pub file_name: String,
    pub file_content: String,
    pub details: String,
}

impl Canary {
    pub fn new(seed: &str) -> Self {
        let r = crate::harness::random_name("");
        Self {
            name: format!("Kanarialintu{seed}{r} Lintunen"),
            email: format!("canary.{seed}{r}@example.fi"),
            phone: format!("+35850{}", &r[..7].bytes().map(|b| (b % 10 + b'0') as char).collect::<String>()),
            subject: format!("canarysubject{seed}{r}"),
            body: format!("canarybody{seed}{r}"),
            note: format!("canarynote{seed}{r}"),
            custom: format!("canarycustom{seed}{r}"),
            tag: format!("canarytag{seed}{r}"),
            file_name: format!("canaryfile{seed}{r}.txt"),
            file_content: format!("canarycontent{seed}{r}"),
            details: format!("canarydetails{seed}{r}"),
        }
    }

    pub fn values(&self) -> Vec<&str> {
        vec![
            &self.name,
            &self.email,
            &self.phone,
            &self.subject,
            &self.body,
            &self.note,
            &self.custom,
            &self.tag,
            &self.file_name,
            &self.file_content,
            &self.details,
        ]
    }

    /// Creates the person and a ticket carrying every value; returns (user id, ticket id).
    pub async fn plant(&self, app: &TestApp) -> (i64, i64) {
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": self.name, "email": self.email, "phone": self.phone, "details": self.details}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let uid = v["user"]["id"].as_i64().unwrap();
        let (s, up) = send(
            app.req(Method::POST, &format!("/api/v2/uploads.json?filename={}", self.file_name))
                .body(self.file_content.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{up}");
        let token = up["upload"]["token"].as_str().unwrap();
        let field = app.text_field("Reference").await;
        let (s, v) = app
            .post("/api/v2/tickets.json", json!({"ticket": {"requester_id": uid, "subject": self.subject, "comment": {"body": self.body, "uploads": [token]}, "tags": [self.tag], "custom_fields": [{"id": field, "value": self.custom}]}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let tid = v["ticket"]["id"].as_i64().unwrap();
        let (s, _) = app
            .put(
                &format!("/api/v2/tickets/{tid}.json"),
                json!({"ticket": {"comment": {"body": self.note, "public": false}}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        (uid, tid)
    }
}

/// Every encoding a value could leak in that a plain byte scan can find.
pub fn needles(value: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for v in [value.to_string(), value.to_lowercase(), value.to_uppercase()] {
        out.push(v.as_bytes().to_vec());
        out.push(v.encode_utf16().flat_map(u16::to_le_bytes).collect());
        out.push(v.encode_utf16().flat_map(u16::to_be_bytes).collect());
    }
    out
}

pub fn find_in(bytes: &[u8], needle: &[u8]) -> bool {
    needle.len() <= bytes.len() && bytes.windows(needle.len()).any(|w| w == needle)
}

/// One pass over `bytes` for every needle of every value; returns the values found.
pub fn scan<'a>(bytes: &[u8], values: &[&'a str]) -> Vec<&'a str> {
    let mut pats = Vec::new();
    let mut owner = Vec::new();
    for (i, v) in values.iter().enumerate() {
        for n in needles(v) {
            pats.push(n);
            owner.push(i);
        }
    }
    let ac = aho_corasick::AhoCorasick::new(&pats).unwrap();
    let mut found: Vec<&str> = ac.find_iter(bytes).map(|m| values[owner[m.pattern().as_usize()]]).collect();
    found.sort();
    found.dedup();
    found
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The files holding the test database's bytes (and the WAL).
pub async fn database_files(app: &TestApp) -> Vec<PathBuf> {
    match app.engine {
        Engine::Sqlite => files_under(&app.dir.0)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("suoja.db")))
            .collect(),
        Engine::Postgres => {
            let url = app.settings.database_url.clone().unwrap();
            let mut c = suoja_store::pg_admin::connect(&url).await.unwrap();
            sqlx::query("CHECKPOINT").execute(&mut c).await.unwrap();
            let dir: String = sqlx::query_scalar("SELECT current_setting('data_directory')").fetch_one(&mut c).await.unwrap();
            let oid: String = sqlx::query_scalar("SELECT oid::text FROM pg_database WHERE datname = current_database()")
                .fetch_one(&mut c)
                .await
                .unwrap();
            let mut files = files_under(&Path::new(&dir).join("base").join(oid));
            files.extend(files_under(&Path::new(&dir).join("pg_wal")));
            assert!(
                !files.is_empty(),
                "cannot read PostgreSQL's data directory {dir}; the test must run where the cluster's files are readable"
            );
            files
        }
    }
}

engine_test!(personal_values_are_encrypted_at_rest, |app| async move {
    let canary = Canary::new("rest");
    let (uid, tid) = canary.plant(&app).await;
    // The values are there through the API...
    let (_, v) = app.get(&format!("/api/v2/tickets/{tid}.json?include=users")).await;
    let text = v.to_string();
    for want in [
        &canary.subject,
        &canary.body,
        &canary.custom,
        &canary.tag,
        &canary.name,
        &canary.email,
        &canary.phone,
    ] {
        assert!(text.contains(want.as_str()), "{want} readable through the API");
    }
    let _ = uid;
    // ...and in no byte of the database files.
    let files = database_files(&app).await;
    let mut scanned = 0usize;
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        scanned += bytes.len();
        let found = scan(&bytes, &canary.values());
        assert!(found.is_empty(), "plaintext {found:?} found in {}", f.display());
    }
    assert!(scanned > 10_000, "scanned {scanned} bytes in {files:?}");
});

#[test]
fn the_byte_scan_finds_what_it_looks_for() {
    let hay = "xx Kanarialintu yy".as_bytes();
    assert!(needles("Kanarialintu").iter().any(|n| find_in(hay, n)));
    let utf16: Vec<u8> = "Kanarialintu".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert!(needles("Kanarialintu").iter().any(|n| find_in(&utf16, n)));
    assert!(!needles("Kanarialintu").iter().any(|n| find_in(b"nothing here", n)));
}

engine_test!(the_erasure_scan_finds_planted_copies_and_nothing_sealed, |app| async move {
    let u = app.user("Raili Rantanen", "raili.rantanen@example.fi").await;
    app.put(&format!("/api/v2/users/{u}.json"), json!({"user": {"phone": "+358 40 777 1234"}}))
        .await;
    app.ticket(u, "Raili's question", "My number is +358 40 777 1234").await;
    // Outside the data directory (the scan would find the file itself), and not shared with the
    // other engine's run of this test.
    let elsewhere = crate::harness::TempDir::new();
    let canaries = elsewhere.0.join("canaries.txt");
    std::fs::write(&canaries, "name: Raili Rantanen\nemail: raili.rantanen@example.fi\nphone: +358 40 777 1234\n").unwrap();
    let canary_arg = canaries.to_str().unwrap().to_string();
    // The stores hold ciphertext and keyed hashes only: nothing to find.
    let out = app.cli(&["verify", "erasure", "--canary", &canary_arg]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(": 0 hits"), "{text}");
    // A copy that escaped (here: a base64 blob and a SHA-256 of the address in a stray file) is found
    // and named by file and encoding, never by value.
    use base64::Engine as _;
    use sha2::Digest as _;
    let stray = app.settings.data_dir.join("stray.log");
    let blob = base64::engine::general_purpose::STANDARD.encode("{\"email\":\"raili.rantanen@example.fi\"}");
    let digest = hex::encode(sha2::Sha256::digest(b"raili.rantanen@example.fi"));
    std::fs::write(&stray, format!("payload={blob}\nhash={digest}\n")).unwrap();
    let out = app.cli(&["verify", "erasure", "--canary", &canary_arg]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{text}{err}");
    assert!(
        text.contains("stray.log") && text.contains("email (base64)") && text.contains("email (sha-256)"),
        "{text}{err}"
    );
    assert!(!text.contains("raili.rantanen@example.fi") && !text.contains("Raili Rantanen"), "{text}");
    std::fs::remove_file(&stray).unwrap();
    std::fs::remove_file(&canaries).unwrap();
});
