//! The real binary as an operator runs it: `suoja init` and `suoja serve`, restarts, logs,
//! `kill -9` in the middle of a burst of writes, graceful shutdown on SIGTERM, rate limits.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Engine, TempDir, TestApp, fresh_pg_database, pg_url, send};
use crate::privacy_shape::{Canary, scan};

const BIN: &str = env!("CARGO_BIN_EXE_suoja");

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `suoja` process.
pub(crate) struct Proc {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

pub(crate) fn command(dir: &Path, db: Option<&str>) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("SUOJA_ROOT_KEY")
        .env("SUOJA_DATA_DIR", dir)
        .env("SUOJA_RATE_LIMIT_PER_MINUTE", "1000000")
        .env("SUOJA_LOG", "debug,sqlx=info,hyper=info,h2=info");
    match db {
        Some(u) => c.env("SUOJA_DATABASE_URL", u),
        None => c.env_remove("SUOJA_DATABASE_URL"),
    };
    c
}

pub(crate) fn init(dir: &Path, db: Option<&str>, email: &str) -> Value {
    let out = command(dir, db).args(["init", "--admin-email", email]).output().unwrap();
    assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {stdout}");
    serde_json::from_str(lines[0]).unwrap()
}

impl Proc {
    pub(crate) fn start(dir: &Path, db: Option<&str>, log_name: &str, extra: &[(&str, &str)]) -> Self {
        Self::start_on(free_port(), dir, db, log_name, extra)
    }

    /// As [`Proc::start`], listening on `port` (a node restarted where its balancer looks).
    pub(crate) fn start_on(port: u16, dir: &Path, db: Option<&str>, log_name: &str, extra: &[(&str, &str)]) -> Self {
        let log = dir.join(log_name);
        let f = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let mut c = command(dir, db);
        for (k, v) in extra {
            c.env(k, v);
        }
        let child = c
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(f)
            .spawn()
            .unwrap();
        let p = Proc { child, port, log };
        p.wait_ready();
        p
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not start; log: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
    }

    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Whether the process has ended.
    pub(crate) fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Sends SIGTERM without waiting.
    pub(crate) fn send_term(&self) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
    }

    pub(crate) fn term(&mut self) -> std::process::ExitStatus {
        self.send_term();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "server did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn db_for(engine: Engine) -> Option<String> {
    match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(fresh_pg_database(&pg_url().unwrap()).await),
    }
}

pub(crate) fn client(email: &str, token: &str) -> impl Fn(Method, String) -> reqwest::RequestBuilder + Send + Sync + use<> {
    let c = reqwest::Client::new();
    let (e, t) = (format!("{email}/token"), token.to_string());
    move |m, url| c.request(m, url).basic_auth(&e, Some(&t))
}

#[macro_export]
macro_rules! process_test {
    ($name:ident, $f:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$f($crate::harness::Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::pg_url().is_none() {
                    eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
                    return;
                }
                super::$f($crate::harness::Engine::Postgres).await;
            }
        }
    };
}

process_test!(init_serve_restart_keeps_data, init_serve_restart);
async fn init_serve_restart(engine: Engine) {
    let dir = TempDir::new();
    let db = db_for(engine).await;
    let boot = init(&dir.0, db.as_deref(), "ops@example.fi");
    assert_eq!(boot["admin_email"], "ops@example.fi");
    let token = boot["api_token"].as_str().unwrap().to_string();
    let req = client("ops@example.fi", &token);
    let mut p = Proc::start(&dir.0, db.as_deref(), "first.log", &[]);
    let (s, v) = send(req(Method::POST, format!("{}/api/v2/users.json", p.base())).json(&json!({"user": {"name": "Kept", "email": "kept@example.fi"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["user"]["id"].as_i64().unwrap();
    assert!(p.term().success());
    let p2 = Proc::start(&dir.0, db.as_deref(), "second.log", &[]);
    let (s, v) = send(req(Method::GET, format!("{}/api/v2/users/{id}.json", p2.base()))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["user"]["name"], "Kept");
    if engine == Engine::Sqlite {
        let key = std::fs::read_to_string(dir.0.join("root.key")).unwrap();
        assert_eq!(key.trim().len(), 64, "root key file holds 32 hex-encoded bytes");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(dir.0.join("root.key")).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}

process_test!(logs_hold_no_personal_data, logs_clean);
async fn logs_clean(engine: Engine) {
    let dir = TempDir::new();
    let db = db_for(engine).await;
    let boot = init(&dir.0, db.as_deref(), "ops@example.fi");
    let token = boot["api_token"].as_str().unwrap().to_string();
    let p = Proc::start(&dir.0, db.as_deref(), "server.log", &[("SUOJA_LOG_FORMAT", "json")]);
    let app_like = ProcApp {
        base: p.base(),
        email: "ops@example.fi".into(),
        token,
    };
    let canary = Canary::new("log");
    app_like.flow(&canary).await;
    drop(p);
    let log = std::fs::read(dir.0.join("server.log")).unwrap();
    assert!(log.len() > 500, "the flow was logged");
    let found = scan(&log, &canary.values());
    assert!(found.is_empty(), "log contains {found:?}");
}

// A log written to a file or a pipe is plain text: no terminal colour codes.
#[test]
fn logs_to_a_file_or_pipe_carry_no_colour_codes() {
    let dir = TempDir::new();
    let out = command(&dir.0, None).args(["init", "--admin-email", "ops@example.fi"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("INFO"), "the command logged: {log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a piped log: {log:?}");
}

/// A minimal client for a spawned process, reusing the canary planting flow.
struct ProcApp {
    base: String,
    email: String,
    token: String,
}

impl ProcApp {
    async fn call(&self, m: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = client(&self.email, &self.token);
        let mut r = req(m, format!("{}{path}", self.base));
        if let Some(b) = body {
            r = r.json(&b);
        }
        send(r).await
    }

    async fn flow(&self, c: &Canary) {
        let (s, v) = self
            .call(
                Method::POST,
                "/api/v2/users.json",
                Some(json!({"user": {"name": c.name, "email": c.email, "phone": c.phone}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let uid = v["user"]["id"].as_i64().unwrap();
        let (s, v) = self
            .call(
                Method::POST,
                "/api/v2/ticket_fields.json",
                Some(json!({"ticket_field": {"type": "text", "title": "Reference"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let field = v["ticket_field"]["id"].as_i64().unwrap();
        let (s, v) = self.call(Method::POST, "/api/v2/tickets.json", Some(json!({"ticket": {"requester_id": uid, "subject": c.subject, "comment": {"body": c.body}, "tags": [c.tag], "custom_fields": [{"id": field, "value": c.custom}]}}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let tid = v["ticket"]["id"].as_i64().unwrap();
        self.call(
            Method::PUT,
            &format!("/api/v2/tickets/{tid}.json"),
            Some(json!({"ticket": {"comment": {"body": c.note, "public": false}}})),
        )
        .await;
        for q in [&c.email, &c.body, &c.name] {
            let (s, _) = self
                .call(Method::GET, &format!("/api/v2/search.json?query={}", crate::api_flows::urlencode(q)), None)
                .await;
            assert_eq!(s, StatusCode::OK);
            self.call(
                Method::GET,
                &format!("/api/v2/users/search.json?query={}", crate::api_flows::urlencode(q)),
                None,
            )
            .await;
        }
        // Mistakes are logged too; they must not echo the values either.
        self.call(Method::POST, "/api/v2/users.json", Some(json!({"user": {"name": c.name, "email": c.email}})))
            .await;
        self.call(
            Method::POST,
            "/api/v2/users.json",
            Some(json!({"user": {"name": c.name, "email": format!("{}@", c.email)}})),
        )
        .await;
        self.call(Method::GET, &format!("/api/v2/tickets/{}.json", c.subject), None).await;
        // Redaction: the phrase redacted, a phrase not there, and broken tags; none may be logged.
        let (_, v) = self.call(Method::GET, &format!("/api/v2/tickets/{tid}/comments.json"), None).await;
        let first = v["comments"][0]["id"].as_i64().unwrap();
        let (s, v) = self
            .call(
                Method::PUT,
                &format!("/api/v2/tickets/{tid}/comments/{first}/redact.json"),
                Some(json!({"text": c.body})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        self.call(
            Method::PUT,
            &format!("/api/v2/tickets/{tid}/comments/{first}/redact.json"),
            Some(json!({"text": c.name})),
        )
        .await;
        self.call(
            Method::PUT,
            &format!("/api/v2/comment_redactions/{first}.json"),
            Some(json!({"ticket_id": tid, "html_body": format!("<redact>{}", c.note)})),
        )
        .await;
        self.call(
            Method::PUT,
            &format!("/api/v2/tickets/{tid}/redact.json"),
            Some(json!({"redaction": {"subject": c.subject, "custom_fields": [{"id": field, "text": c.custom}]}})),
        )
        .await;
        // The web interface: sign-in with a wrong and a right password, a request through the
        // portal, a sign-in link, the agent's search and a redaction of a phrase not there.
        let password = format!("{}-password", c.name);
        let (s, v) = self
            .call(Method::PUT, &format!("/api/v2/users/{uid}.json"), Some(json!({"user": {"password": password}})))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let mut person = crate::web::Browser::at(&self.base);
        person.sign_in(&c.email, &c.note).await;
        assert_eq!(person.sign_in(&c.email, &password).await.status, StatusCode::SEE_OTHER);
        let form = person.get("/portal/requests/new").await;
        let (csrf, fid) = (form.hidden("csrf"), form.hidden("form_id"));
        let sent = person
            .post(
                "/portal/requests/new",
                &[("csrf", &csrf), ("form_id", &fid), ("subject", &c.subject), ("body", &c.body)],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        person
            .post(
                "/portal/requests/new",
                &[("csrf", &csrf), ("form_id", "bad id!"), ("subject", &c.subject), ("body", &c.body)],
            )
            .await;
        person.get("/portal").await;
        person
            .submit(
                "/portal/privacy/correct",
                "/portal/privacy/correct",
                &[("name", &c.note), ("phone", &c.phone), ("email", &c.email)],
            )
            .await;
        crate::web::Browser::at(&self.base)
            .submit("/signin/link", "/signin/link", &[("email", &c.email)])
            .await;
        let admin_password = format!("{}-admin", c.tag);
        let (s, v) = self.call(Method::GET, "/api/v2/users/me.json", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let me = v["user"]["id"].as_i64().unwrap();
        self.call(
            Method::PUT,
            &format!("/api/v2/users/{me}.json"),
            Some(json!({"user": {"password": admin_password}})),
        )
        .await;
        let mut agent = crate::web::Browser::at(&self.base);
        assert_eq!(agent.sign_in(&self.email, &admin_password).await.status, StatusCode::SEE_OTHER);
        for q in [&c.name, &c.email, &c.body] {
            assert_eq!(
                agent.get(&format!("/agent/search?q={}", crate::api_flows::urlencode(q))).await.status,
                StatusCode::OK
            );
        }
        let page = agent.get(&format!("/agent/tickets/{tid}")).await;
        assert_eq!(page.status, StatusCode::OK);
        agent
            .submit(
                &format!("/agent/tickets/{tid}"),
                &format!("/agent/tickets/{tid}/comments/{first}/redact"),
                &[("text", &c.phone)],
            )
            .await;
        agent.get(&format!("/agent/users/{uid}")).await;
    }
}

process_test!(acknowledged_writes_survive_kill_9, kill9);
async fn kill9(engine: Engine) {
    let dir = TempDir::new();
    let db = db_for(engine).await;
    let boot = init(&dir.0, db.as_deref(), "ops@example.fi");
    let token = boot["api_token"].as_str().unwrap().to_string();
    let mut p = Proc::start(&dir.0, db.as_deref(), "burst.log", &[]);
    let base = p.base();
    let (s, v) = send(
        client("ops@example.fi", &token)(Method::POST, format!("{base}/api/v2/users.json"))
            .json(&json!({"user": {"name": "Burst", "email": "burst@example.fi"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let uid = v["user"]["id"].as_i64().unwrap();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(i64, String)>::new()));
    let mut tasks = Vec::new();
    for w in 0..16 {
        let acked = acked.clone();
        let base = base.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let req = client("ops@example.fi", &token);
            for i in 0..10_000 {
                let subject = format!("burst-{w}-{i}");
                let r = req(Method::POST, format!("{base}/api/v2/tickets.json"))
                    .json(&json!({"ticket": {"requester_id": uid, "subject": subject, "comment": {"body": format!("body of {subject}")}}}))
                    .send()
                    .await;
                match r {
                    Ok(resp) if resp.status() == StatusCode::CREATED => {
                        if let Ok(v) = resp.json::<Value>().await {
                            acked.lock().unwrap().push((v["ticket"]["id"].as_i64().unwrap(), subject));
                        }
                    }
                    _ => break,
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 150,
        "the burst was running when the server was killed ({} acknowledged)",
        acked.len()
    );
    let p2 = Proc::start(&dir.0, db.as_deref(), "after.log", &[]);
    let req = client("ops@example.fi", &token);
    for (id, subject) in &acked {
        let (s, v) = send(req(Method::GET, format!("{}/api/v2/tickets/{id}.json", p2.base()))).await;
        assert_eq!(s, StatusCode::OK, "acknowledged ticket {id} lost");
        assert_eq!(v["ticket"]["subject"].as_str(), Some(subject.as_str()));
        assert_eq!(v["ticket"]["description"].as_str(), Some(format!("body of {subject}").as_str()));
        let (_, c) = send(req(Method::GET, format!("{}/api/v2/tickets/{id}/comments.json", p2.base()))).await;
        assert_eq!(c["count"], 1, "ticket {id} is complete");
    }
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let dir = TempDir::new();
    let boot = init(&dir.0, None, "ops@example.fi");
    let token = boot["api_token"].as_str().unwrap().to_string();
    let mut p = Proc::start(&dir.0, None, "term.log", &[]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    let auth = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("ops@example.fi/token:{token}"))
    };
    let body = json!({"user": {"name": "In Flight", "email": "inflight@example.fi"}}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    write!(s, "POST /api/v2/users.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}", body.len()).unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill").args(["-TERM", &p.child.id().to_string()]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(rest.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 201"), "in-flight request finished: {resp}");
    let status = p.term();
    assert!(status.success(), "clean exit after SIGTERM");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.rate_limit_per_minute = 5).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = app.req(Method::GET, "/api/v2/users/me.json").send().await.unwrap();
        statuses.push(r.status());
        let h = r.headers();
        assert_eq!(h.get("x-rate-limit").unwrap(), "5");
        assert!(h.get("x-rate-limit-remaining").is_some());
        if r.status() == StatusCode::OK {
            assert!(h.get("retry-after").is_none(), "Retry-After only on 429");
        } else {
            let secs: u64 = h.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&secs));
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], "TooManyRequests");
        }
    }
    assert_eq!(statuses[..5], [StatusCode::OK; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn serve_demo_creates_suoja_data_and_prints_credentials_once() {
    let cwd = TempDir::new();
    let port = free_port();
    let start = || {
        Command::new(BIN)
            .current_dir(&cwd.0)
            .env_remove("SUOJA_DATA_DIR")
            .env_remove("SUOJA_DATABASE_URL")
            .env_remove("SUOJA_ROOT_KEY")
            .env_remove("SUOJA_CONFIG")
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let read_until_listening = |child: &mut Child| {
        use std::io::BufRead as _;
        let out = child.stdout.take().unwrap();
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(out).lines() {
            let line = line.unwrap();
            let done = line.starts_with("Suoja is listening");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    };
    let mut first = start();
    let lines = read_until_listening(&mut first);
    let token = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("API token:"))
        .map(|t| t.trim().to_string())
        .expect("API token printed");
    assert!(lines.iter().any(|l| l.contains("password:")), "{lines:?}");
    assert!(cwd.0.join("suoja-data").join("suoja.db").exists(), "SQLite database in ./suoja-data");
    assert!(cwd.0.join("suoja-data").join("root.key").exists());
    let req = client("admin@demo.suoja.example", &token);
    let (s, v) = send(
        req(Method::POST, format!("http://127.0.0.1:{port}/api/v2/users.json"))
            .json(&json!({"user": {"name": "Demo Person", "email": "demo.person@example.fi"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    Command::new("kill").args(["-TERM", &first.id().to_string()]).status().unwrap();
    assert!(first.wait().unwrap().success());

    let mut second = start();
    let lines = read_until_listening(&mut second);
    assert!(
        !lines.iter().any(|l| l.contains("API token") || l.contains("password")),
        "credentials are shown once: {lines:?}"
    );
    // A new client: the old one's pooled connection belonged to the stopped server.
    let req = client("admin@demo.suoja.example", &token);
    let (s, v) = send(req(
        Method::GET,
        format!("http://127.0.0.1:{port}/api/v2/users/search.json?query=demo.person%40example.fi"),
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["users"].as_array().unwrap().len(), 1, "data kept across the restart");
    let _ = second.kill();
    let _ = second.wait();
}
