//! The test harness: boots the real Suoja server on 127.0.0.1:0 over a fresh database (a SQLite
//! file in a temporary directory, or a new PostgreSQL database on the server named by
//! `SUOJA_TEST_PG_URL`), bootstraps tenants, and talks to it over real HTTP.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use suoja::app::Running;
use suoja_config::Settings;

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, if configured. In CI (`CI=true`) it must be.
pub fn pg_url() -> Option<String> {
    match std::env::var("SUOJA_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "SUOJA_TEST_PG_URL must be set in CI: the suite runs on PostgreSQL too"
            );
            None
        }
    }
}

pub fn random_name(prefix: &str) -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    format!("{prefix}{}", hex::encode(b))
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let p = std::env::temp_dir().join(random_name("suoja-test-"));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Creates a fresh PostgreSQL database and returns its URL.
pub async fn fresh_pg_database(admin: &str) -> String {
    suoja_store::pg_admin::create_database(admin, "suoja_t_")
        .await
        .expect("create a database on the test PostgreSQL server")
}

/// One tenant's credentials.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub email: String,
    pub token: String,
    pub admin_id: i64,
    pub tenant_id: i64,
}

/// A running server with one bootstrapped tenant.
pub struct TestApp {
    pub engine: Engine,
    pub base: String,
    pub client: reqwest::Client,
    pub t: Tenant,
    pub running: Option<Running>,
    pub settings: Settings,
    pub dir: TempDir,
}

/// A test's PostgreSQL database goes with the test: left behind, the databases of a run pile up
/// in the cluster's directory, which the byte-scan tests read whole.
impl Drop for TestApp {
    fn drop(&mut self) {
        let (Some(url), Some(admin)) = (self.settings.database_url.clone(), pg_url()) else {
            return;
        };
        // On a thread of its own: this may run inside the test's runtime, which must not block
        // on itself. `WITH (FORCE)` ends the server's own connections.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                // Bounded: a server that does not answer leaves the database behind, no more.
                let drop = suoja_store::pg_admin::drop_database(&admin, &url, "suoja_t_");
                let _ = rt.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(30), drop).await });
            }
        })
        .join();
    }
}

/// Creates a fresh PostgreSQL database with the schema in it (a copy of a migrated template) and
/// returns its URL.
pub async fn migrated_pg_database(admin: &str) -> String {
    suoja_store::pg_admin::create_migrated_database(admin, "suoja_t_")
        .await
        .expect("create a migrated database on the test PostgreSQL server")
}

/// Settings for a test server on `engine` in `dir`.
pub async fn test_settings(engine: Engine, dir: &TempDir) -> Settings {
    let mut s = Settings {
        data_dir: dir.0.clone(),
        rate_limit_per_minute: 1_000_000,
        shutdown_grace_secs: 5,
        // Tests receive webhooks on loopback; `security` tests take this away.
        webhook_allowed_hosts: vec!["127.0.0.1".into()],
        ..Settings::default()
    };
    if engine == Engine::Postgres {
        let admin = pg_url().expect("PostgreSQL tests need SUOJA_TEST_PG_URL");
        s.database_url = Some(migrated_pg_database(&admin).await);
        s.db_max_connections = 4;
    }
    s
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> Self {
        Self::spawn_with(engine, |_| {}).await
    }

    pub async fn spawn_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_full(engine, tweak, std::sync::Arc::new(suoja_core::clock::SystemClock)).await
    }

    /// A server whose time a test moves by hand.
    pub async fn spawn_clocked(engine: Engine, clock: suoja_core::clock::ManualClock) -> Self {
        Self::spawn_full(engine, |_| {}, std::sync::Arc::new(clock)).await
    }

    pub async fn spawn_full(engine: Engine, tweak: impl FnOnce(&mut Settings), clock: std::sync::Arc<dyn suoja_core::Clock>) -> Self {
        let dir = TempDir::new();
        let mut settings = test_settings(engine, &dir).await;
        tweak(&mut settings);
        let hd = suoja::app::open_with_clock(&settings, clock).await.expect("open");
        let email = "admin@one.example".to_string();
        let b = hd
            .bootstrap_tenant("one", "Tenant one", "eu", &suoja_core::Email::parse(&email).unwrap(), true)
            .await
            .expect("bootstrap");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = suoja::app::start(&settings, hd, Some(listener)).await.expect("start");
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder().build().unwrap();
        let t = Tenant {
            email,
            token: b.api_token.expose().clone(),
            admin_id: b.admin.actor.0,
            tenant_id: b.tenant.0,
        };
        TestApp {
            engine,
            base,
            client,
            t,
            running: Some(running),
            settings,
            dir,
        }
    }

    pub fn helpdesk(&self) -> &suoja_helpdesk::Helpdesk {
        &self.running.as_ref().unwrap().helpdesk
    }

    pub fn privacy(&self) -> &suoja_privacy::Privacy {
        &self.running.as_ref().unwrap().privacy
    }

    /// The admin's scope, for library calls.
    pub fn admin_scope(&self) -> suoja_core::Scope {
        suoja_core::Scope {
            tenant: suoja_core::TenantId(self.t.tenant_id),
            actor: suoja_core::UserId(self.t.admin_id),
            role: suoja_core::Role::Admin,
            privacy_officer: false,
            token: None,
        }
    }

    /// Creates an end user with a password and returns (id, credentials for Basic auth).
    pub async fn end_user_with_password(&self, name: &str, email: &str) -> (i64, Tenant) {
        let (s, v) = self
            .post(
                "/api/v2/users.json",
                serde_json::json!({"user": {"name": name, "email": email, "password": "correct horse battery"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["user"]["id"].as_i64().unwrap();
        (
            id,
            Tenant {
                email: email.to_string(),
                token: "correct horse battery".into(),
                admin_id: id,
                tenant_id: self.t.tenant_id,
            },
        )
    }

    /// The messages queued for a person: their kinds and texts (opened).
    pub async fn outbox(&self, user: i64) -> Vec<(String, String)> {
        self.privacy()
            .outbox_for(suoja_core::TenantId(self.t.tenant_id), suoja_core::UserId(user))
            .await
            .unwrap()
            .into_iter()
            .map(|(k, b)| (k, b.expose().clone()))
            .collect()
    }

    /// A request as a person signed in with e-mail and password.
    pub async fn call_password(&self, who: &Tenant, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.client.request(method, self.url(path)).basic_auth(&who.email, Some(&who.token));
        if let Some(b) = body {
            r = r.json(&b);
        }
        send(r).await
    }

    /// Uploads a file as the admin; returns the upload token.
    pub async fn upload(&self, name: &str, content_type: &str, bytes: &[u8]) -> String {
        let up = self
            .req(Method::POST, &format!("/api/v2/uploads.json?filename={name}"))
            .header("content-type", content_type)
            .body(bytes.to_vec());
        let (s, v) = send(up).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["upload"]["token"].as_str().unwrap().to_string()
    }

    /// Stops the server (its database stays).
    pub async fn stop_server(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
    }

    /// Starts a server again on the same data directory and database.
    pub async fn start_server(&mut self) {
        let hd = suoja::app::open(&self.settings).await.expect("open");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = suoja::app::start(&self.settings, hd, Some(listener)).await.expect("start");
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    /// A second node on this app's database and data directory, named `node_name`, as several
    /// servers behind one proxy. Stop it before the app goes.
    pub async fn second_node(&self, node_name: &str, clock: std::sync::Arc<dyn suoja_core::Clock>) -> (suoja::app::Running, String) {
        let mut settings = self.settings.clone();
        settings.node_name = Some(node_name.to_string());
        let hd = suoja::app::open_with_clock(&settings, clock).await.expect("open a second node");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = suoja::app::start(&settings, hd, Some(listener)).await.expect("start a second node");
        let base = format!("http://{}", running.addr);
        (running, base)
    }

    /// Runs the `suoja` binary on this app's data directory and database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_command(args).output().unwrap()
    }

    /// The `suoja` command line on this app's data directory and database, not yet run.
    pub fn cli_command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_suoja"));
        c.env_remove("SUOJA_ROOT_KEY")
            .env_remove("SUOJA_CONFIG")
            .env("SUOJA_DATA_DIR", &self.settings.data_dir);
        match &self.settings.database_url {
            Some(u) => c.env("SUOJA_DATABASE_URL", u),
            None => c.env_remove("SUOJA_DATABASE_URL"),
        };
        match &self.settings.blob_url {
            Some(u) => c.env("SUOJA_BLOB_URL", u),
            None => c.env_remove("SUOJA_BLOB_URL"),
        };
        c.args(args);
        c
    }

    /// An anonymous request.
    pub async fn call_anon(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.client.request(method, self.url(path));
        if let Some(b) = body {
            r = r.json(&b);
        }
        send(r).await
    }

    /// Bootstraps another tenant on the same installation.
    pub async fn second_tenant(&self, subdomain: &str) -> Tenant {
        let email = format!("admin@{subdomain}.example");
        let b = self
            .helpdesk()
            .bootstrap_tenant(subdomain, subdomain, "eu", &suoja_core::Email::parse(&email).unwrap(), false)
            .await
            .unwrap();
        Tenant {
            email,
            token: b.api_token.expose().clone(),
            admin_id: b.admin.actor.0,
            tenant_id: b.tenant.0,
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// A request as the tenant's admin (API token).
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req_as(&self.t, method, path)
    }

    pub fn req_as(&self, t: &Tenant, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(format!("{}/token", t.email), Some(&t.token))
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(&self.t, method, path, body).await
    }

    pub async fn call_as(&self, t: &Tenant, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.req_as(t, method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        send(r).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn patch_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a text ticket field (as the admin) and returns its id.
    pub async fn text_field(&self, title: &str) -> i64 {
        let (s, v) = self
            .post(
                "/api/v2/ticket_fields.json",
                serde_json::json!({"ticket_field": {"type": "text", "title": title}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["ticket_field"]["id"].as_i64().unwrap()
    }

    /// A text user field with `key`, made unless the tenant has it already.
    pub async fn user_field(&self, key: &str) {
        let (_, v) = self.get("/api/v2/user_fields.json").await;
        if v["user_fields"].as_array().is_some_and(|a| a.iter().any(|f| f["key"] == key)) {
            return;
        }
        let (s, v) = self
            .post(
                "/api/v2/user_fields.json",
                serde_json::json!({"user_field": {"type": "text", "key": key, "title": key}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    /// Creates an end user and returns their id.
    pub async fn user(&self, name: &str, email: &str) -> i64 {
        let (s, v) = self
            .post("/api/v2/users.json", serde_json::json!({"user": {"name": name, "email": email}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["user"]["id"].as_i64().unwrap()
    }

    /// Creates an agent (without a password) and returns their id.
    pub async fn agent(&self, name: &str, email: &str) -> i64 {
        let (s, v) = self
            .post(
                "/api/v2/users.json",
                serde_json::json!({"user": {"name": name, "email": email, "role": "agent"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["user"]["id"].as_i64().unwrap()
    }

    /// Creates a ticket and returns its id.
    pub async fn ticket(&self, requester: i64, subject: &str, body: &str) -> i64 {
        let (s, v) = self
            .post(
                "/api/v2/tickets.json",
                serde_json::json!({"ticket": {"requester_id": requester, "subject": subject, "comment": {"body": body}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["ticket"]["id"].as_i64().unwrap()
    }

    /// As [`Self::ticket`], with tags.
    pub async fn tagged_ticket(&self, requester: i64, subject: &str, tags: &[&str], body: &str) -> i64 {
        let (s, v) = self
            .post(
                "/api/v2/tickets.json",
                serde_json::json!({"ticket": {"requester_id": requester, "subject": subject, "tags": tags, "comment": {"body": body}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["ticket"]["id"].as_i64().unwrap()
    }
}

pub async fn send(r: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = r.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// Runs a test body once per engine: `engine_test!(name, |app| async move { ... })` makes
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! engine_test {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports, reason = "a test body uses some of the enclosing module's names")]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::harness::TestApp::spawn($crate::harness::Engine::Sqlite).await;
                $body.await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::pg_url().is_none() {
                    eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
                    return;
                }
                let $app = $crate::harness::TestApp::spawn($crate::harness::Engine::Postgres).await;
                $body.await;
            }
        }
    };
}

/// As `engine_test!`, with a hand-moved clock: `engine_test_clocked!(name, |app, clock| ...)`.
#[macro_export]
macro_rules! engine_test_clocked {
    ($name:ident, |$app:ident, $clock:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports, reason = "a test body uses some of the enclosing module's names")]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $clock = suoja_core::clock::ManualClock::new(suoja_core::Timestamp::parse("2026-03-02T09:00:00Z").unwrap());
                let $app = $crate::harness::TestApp::spawn_clocked($crate::harness::Engine::Sqlite, $clock.clone()).await;
                $body.await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::pg_url().is_none() {
                    eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
                    return;
                }
                let $clock = suoja_core::clock::ManualClock::new(suoja_core::Timestamp::parse("2026-03-02T09:00:00Z").unwrap());
                let $app = $crate::harness::TestApp::spawn_clocked($crate::harness::Engine::Postgres, $clock.clone()).await;
                $body.await;
            }
        }
    };
}

/// As `engine_test_clocked!`, with settings changed first:
/// `engine_test_configured!(name, |settings| { … }, |app, clock| …)`.
#[macro_export]
macro_rules! engine_test_configured {
    ($name:ident, |$s:ident| $tweak:block, |$app:ident, $clock:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports, reason = "a test body uses some of the enclosing module's names")]
            use super::*;
            async fn run(engine: $crate::harness::Engine) {
                let $clock = suoja_core::clock::ManualClock::new(suoja_core::Timestamp::parse("2026-03-02T09:00:00Z").unwrap());
                let $app = $crate::harness::TestApp::spawn_full(engine, |$s: &mut suoja_config::Settings| $tweak, std::sync::Arc::new($clock.clone())).await;
                $body.await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::harness::Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::pg_url().is_none() {
                    eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
                    return;
                }
                run($crate::harness::Engine::Postgres).await;
            }
        }
    };
}

/// A ticket for `Helpdesk::import_tickets` (the bulk path, for tests that need many): a
/// subject, one public comment, and its requester.
pub fn import_ticket(requester: i64, subject: &str, body: &str) -> suoja_helpdesk::model::TicketInput {
    use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput};
    TicketInput {
        subject: Some(suoja_core::Personal::new(subject.to_string())),
        comment: Some(CommentInput {
            body: Some(suoja_core::Personal::new(body.to_string())),
            html_body: None,
            public: true,
            author_id: None,
            uploads: Vec::new(),
            files: Vec::new(),
            via: Default::default(),
        }),
        requester: Some(RequesterRef::Id(suoja_core::UserId(requester))),
        ..Default::default()
    }
}

/// A webhook recipient on loopback that keeps what it receives.
pub async fn recipient() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let got: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = std::sync::Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}/hook"), got)
}

pub async fn wait_for(got: &std::sync::Arc<std::sync::Mutex<Vec<Value>>>, what: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        if let Some(v) = got.lock().unwrap().iter().find(|v| what(v)).cloned() {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the recipient never received it; got {:?}", got.lock().unwrap());
}

/// Runs due erasures until none of the tenant's erasures is moving, and returns them (newest
/// first). The server's own worker runs due erasures too, every two seconds: when it holds one,
/// `run_due_erasures` leaves that erasure to it and returns at once, so a test that looked
/// right after the call could find it half-way. Settled: completed, failed, or held and waiting
/// for its next look (a lease longer than a runner's). Panics after a minute.
pub async fn erasures_settled(app: &TestApp) -> Vec<suoja_store::erasures::ErasureRow> {
    use suoja_core::ErasureState;
    /// A runner's lease on an erasure it is working on (the erasure runner's `LEASE_MS`).
    const RUNNER_LEASE_MS: i64 = 10_000;
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        app.privacy().run_due_erasures().await.unwrap();
        let now = app.helpdesk().now().0;
        let rows = {
            let mut c = app.helpdesk().db().read().await.unwrap();
            suoja_store::erasures::list(&mut c, tenant, 1_000, 0).await.unwrap()
        };
        let settled = rows.iter().all(|r| match r.state {
            ErasureState::Completed | ErasureState::Failed => true,
            ErasureState::Held => r.leased_until > now + RUNNER_LEASE_MS,
            ErasureState::Planned | ErasureState::Running | ErasureState::Verifying => false,
        });
        if settled {
            return rows;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "erasures still moving after a minute: {:?}",
            rows.iter().map(|r| (r.id, r.state, r.step, r.leased_until - now)).collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}
