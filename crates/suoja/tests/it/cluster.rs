//! Several nodes on one PostgreSQL database, as an operator runs them: three `suoja serve`
//! processes with data directories of their own behind HAProxy (health-checked on `/readyz`),
//! a PostgreSQL server of the test's own (so it can be stopped and started), and a mixed load
//! through the proxy the whole time. While the load runs the test kills a node with SIGKILL in
//! the middle of an erasure and again in the middle of building an export package (another node
//! completes each, once), stops and starts PostgreSQL
//! (the nodes reconnect) and restarts the nodes one by one (no request fails). At the end every
//! write the load had acknowledged is there.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TempDir, send};
use crate::process::{Proc, client, init};

/// A program the test needs, or `None` outside CI (where the test is skipped); in CI a missing
/// one fails the test (`.ci/run` installs it).
pub(crate) fn program(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file())));
    if found.is_none() {
        assert!(std::env::var("CI").is_err(), "{name} must be installed in CI (.ci/run installs it)");
        eprintln!("skipped: {name} is not installed");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A PostgreSQL server of the test's own, started with the repository's `.ci/pg-start`.
struct OwnPostgres {
    root: PathBuf,
    bin: PathBuf,
    url: String,
}

impl OwnPostgres {
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("pg_ctl").is_file());
        let Some(bin) = bin else {
            assert!(std::env::var("CI").is_err(), "PostgreSQL server binaries must be installed in CI");
            eprintln!("skipped: PostgreSQL server binaries are not installed");
            return None;
        };
        let root = std::env::temp_dir().join(format!("suoja-cluster-pg-{}-{}", std::process::id(), free_port()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/pg-start");
        let out = Command::new(script)
            .env("PGPORT", free_port().to_string())
            .env("PGROOT", &root)
            .output()
            .unwrap();
        assert!(out.status.success(), "pg-start: {}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Some(OwnPostgres { root, bin, url })
    }

    fn ctl(&self, args: &str) {
        let cmd = format!(
            "{}/pg_ctl -D {}/data -l {}/server.log -w {args}",
            self.bin.display(),
            self.root.display(),
            self.root.display()
        );
        let status = if nix_root() {
            Command::new("su")
                .args(["postgres", "-s", "/bin/bash", "-c", &cmd])
                .stdout(Stdio::null())
                .status()
        } else {
            Command::new("bash").args(["-c", &cmd]).stdout(Stdio::null()).status()
        }
        .unwrap();
        assert!(status.success(), "pg_ctl {args} failed");
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let cmd = format!("{}/pg_ctl -D {}/data -m immediate stop", self.bin.display(), self.root.display());
        let _ = if nix_root() {
            Command::new("su").args(["postgres", "-s", "/bin/bash", "-c", &cmd]).output()
        } else {
            Command::new("bash").args(["-c", &cmd]).output()
        };
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn nix_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// HAProxy in front of the nodes: round robin, a node taken out as soon as its `/readyz` fails,
/// a request whose connection failed (or came back empty) tried again on another node.
struct Haproxy {
    child: Child,
    port: u16,
}

impl Haproxy {
    fn start(bin: &Path, dir: &Path, nodes: &[u16]) -> Self {
        let port = free_port();
        let servers: String = nodes
            .iter()
            .enumerate()
            .map(|(i, p)| format!("  server node{i} 127.0.0.1:{p} check\n"))
            .collect();
        let config = format!(
            "global\n  maxconn 2000\n\
             defaults\n  mode http\n  option forwardfor\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response\n\
             frontend api\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
             backend nodes\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n  default-server inter 250ms fall 1 rise 2\n{servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
        let child = Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "haproxy did not start: {}",
                std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Haproxy { child, port }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the load saw: acknowledged writes, and failed requests per phase.
#[derive(Default)]
struct Seen {
    /// Tickets created: (id, the unique word in their subject).
    created: Vec<(i64, String)>,
    /// Replies acknowledged: (ticket id, the unique word in the reply).
    replied: Vec<(i64, String)>,
    /// Requests answered, per phase.
    answered: std::collections::BTreeMap<&'static str, usize>,
    /// Failed requests (status or transport error), per phase.
    failed: std::collections::BTreeMap<&'static str, Vec<String>>,
    /// Requests sent and not yet answered, per the phase they began in.
    in_flight: std::collections::BTreeMap<&'static str, usize>,
}

/// Waits until no request begun before phase `now` is still running (at most 35 s: longer
/// than a request's own 30 s timeout, so a hung request fails as itself).
async fn drained(seen: &Mutex<Seen>, now: &str) {
    let deadline = Instant::now() + Duration::from_secs(35);
    loop {
        let running: Vec<(&str, usize)> = seen
            .lock()
            .unwrap()
            .in_flight
            .iter()
            .filter(|(p, n)| **p != now && **n > 0)
            .map(|(p, n)| (*p, *n))
            .collect();
        if running.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "requests of earlier phases still running: {running:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The warnings and errors the nodes logged (the last 30 lines of each), for a failure's message.
fn node_warnings(dirs: &[TempDir]) -> String {
    let mut out = String::new();
    for (i, d) in dirs.iter().enumerate() {
        let text = std::fs::read_to_string(d.0.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect();
        out.push_str(&format!("\n--- node {i}: {} warnings and errors, the last 30:\n", lines.len()));
        for l in &lines[lines.len().saturating_sub(30)..] {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// The phase the load is in (failures are expected only while PostgreSQL is down).
struct Phase(Mutex<&'static str>);

impl Phase {
    fn set(&self, p: &'static str) {
        *self.0.lock().unwrap() = p;
    }
    fn get(&self) -> &'static str {
        *self.0.lock().unwrap()
    }
}

/// One load task: creates, replies, searches, reads and views through the proxy until `stop`.
async fn load(task: usize, base: String, email: String, token: String, seen: Arc<Mutex<Seen>>, phase: Arc<Phase>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let auth = (format!("{email}/token"), token);
    let mut mine: Vec<i64> = Vec::new();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let word = format!("lw{task}x{i}q");
        let (kind, req) = match i % 10 {
            0..=3 => (
                "create",
                http.post(format!("{base}/api/v2/tickets.json"))
                    .json(&json!({"ticket": {"subject": format!("Load {word}"), "comment": {"body": format!("Body of {word}")}, "tags": ["load"]}})),
            ),
            4 | 5 if !mine.is_empty() => {
                let t = mine[i % mine.len()];
                (
                    "reply",
                    http.put(format!("{base}/api/v2/tickets/{t}.json"))
                        .json(&json!({"ticket": {"comment": {"body": format!("Reply {word}"), "public": true}}})),
                )
            }
            6 => ("search", http.get(format!("{base}/api/v2/search.json?query=load&per_page=5"))),
            7 if !mine.is_empty() => ("show", http.get(format!("{base}/api/v2/tickets/{}.json", mine[i % mine.len()]))),
            _ => ("view", http.get(format!("{base}/api/v2/views/active.json"))),
        };
        // The phase is read and the request counted under one lock, so `drained` (which takes
        // it after setting the next phase) either sees this request or it belongs to the next.
        let during = {
            let mut book = seen.lock().unwrap();
            let p = phase.get();
            *book.in_flight.entry(p).or_default() += 1;
            p
        };
        let outcome = req.basic_auth(&auth.0, Some(&auth.1)).send().await;
        let mut back_off = false;
        match outcome {
            Ok(r) if r.status().is_success() => {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                let mut book = seen.lock().unwrap();
                *book.answered.entry(during).or_default() += 1;
                let id = body["ticket"]["id"].as_i64();
                match (kind, id) {
                    ("create", Some(id)) => {
                        mine.push(id);
                        book.created.push((id, word));
                    }
                    ("reply", Some(id)) => book.replied.push((id, word)),
                    ("create" | "reply", None) => book.failed.entry(during).or_default().push(format!("{kind}: answered without a ticket")),
                    _ => {}
                }
            }
            failed => {
                let what = match failed {
                    Ok(r) => r.status().to_string(),
                    Err(e) => e.to_string(),
                };
                seen.lock().unwrap().failed.entry(during).or_default().push(format!("{kind}: {what}"));
                back_off = true;
            }
        }
        if let Some(n) = seen.lock().unwrap().in_flight.get_mut(during) {
            *n -= 1;
        }
        if back_off {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Waits until every node answers `/readyz` with 200 (directly, not through the proxy).
async fn all_ready(ports: &[u16], within: Duration) {
    let deadline = Instant::now() + within;
    let http = reqwest::Client::new();
    for p in ports {
        loop {
            let ok = http
                .get(format!("http://127.0.0.1:{p}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "node on port {p} did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // HAProxy needs two good checks (`rise 2`) to send to a node again.
    tokio::time::sleep(Duration::from_millis(700)).await;
}

fn node_env<'a>(name: &'a str, ledger: &'a str, root_key: &'a str, blob: Option<&'a str>, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("SUOJA_NODE_NAME", name),
        ("SUOJA_ROOT_KEY", root_key),
        ("SUOJA_ERASURE_LEDGER_FILE", ledger),
        ("SUOJA_SHUTDOWN_DRAIN_SECS", "1"),
        ("SUOJA_RETENTION_INTERVAL_SECS", "1"),
        ("SUOJA_METRICS_TOKEN", "metrics-secret-for-tests"),
    ];
    env.extend(blob.map(|b| ("SUOJA_BLOB_URL", b)));
    env.extend_from_slice(extra);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_behind_haproxy_survive_a_killed_node_a_database_restart_and_a_rolling_upgrade() {
    let Some(haproxy) = program("haproxy", &["/usr/sbin/haproxy"]) else { return };
    let Some(pg) = OwnPostgres::start() else { return };
    let db = suoja_store::pg_admin::create_database(&pg.url, "suoja_cluster_").await.unwrap();
    let shared = TempDir::new();
    let boot = init(&shared.0, Some(&db), "ops@example.fi");
    let token = boot["api_token"].as_str().unwrap().to_string();
    let root_key = std::fs::read_to_string(shared.0.join("root.key")).unwrap().trim().to_string();
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new()).collect();
    // Each node keeps its own erasure ledger file, on its own disk; the database holds every
    // line, and each node copies the others' lines into its file.
    let ledgers: Vec<String> = dirs.iter().map(|d| d.0.join("erasure-ledger.jsonl").display().to_string()).collect();
    let names = ["node-a", "node-b", "node-c"];
    // Files go to one S3 store all the nodes share (when the run has one; CI does).
    let blob = crate::blobs::s3_bucket().map(|b| format!("s3://{b}/{}", crate::harness::random_name("cluster-")));
    // Node C dies (SIGKILL, by its own hand) when an erasure it runs reaches the comments step.
    let crash = [("SUOJA_TEST_CRASH_AT", "after:comments")];
    let mut nodes: Vec<Proc> = (0..3)
        .map(|i| {
            let extra: &[(&str, &str)] = if i == 2 { &crash } else { &[] };
            Proc::start(
                &dirs[i].0,
                Some(&db),
                "node.log",
                &node_env(names[i], &ledgers[i], &root_key, blob.as_deref(), extra),
            )
        })
        .collect();
    let ports: Vec<u16> = nodes.iter().map(Proc::port).collect();
    all_ready(&ports, Duration::from_secs(30)).await;
    let proxy = Haproxy::start(&haproxy, &shared.0, &ports);
    let base = format!("http://127.0.0.1:{}", proxy.port);
    let req = client("ops@example.fi", &token);

    // Every node counts the others: each heard the three heartbeats.
    let deadline = Instant::now() + Duration::from_secs(20);
    for p in &ports {
        loop {
            let m = metrics(*p).await;
            if metric(&m, "suoja_cluster_nodes_alive") == Some(3.0) {
                break;
            }
            assert!(Instant::now() < deadline, "node {p} never saw three nodes:\n{m}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // A file stored through one node is read through each of the others.
    if blob.is_some() {
        let bytes = b"the signed contract, page 1 of 1".repeat(100);
        let at = |i: usize, path: &str| format!("http://127.0.0.1:{}{path}", ports[i]);
        let up = req(Method::POST, at(0, "/api/v2/uploads.json?filename=contract.txt"))
            .header("content-type", "text/plain")
            .body(bytes.clone());
        let (s, v) = send(up).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let token = v["upload"]["token"].as_str().unwrap().to_string();
        let ticket = json!({"ticket": {"subject": "Contract", "comment": {"body": "attached", "uploads": [token]}}});
        let (s, v) = send(req(Method::POST, at(0, "/api/v2/tickets.json")).json(&ticket)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["ticket"]["id"].as_i64().unwrap();
        let (s, v) = send(req(Method::GET, at(1, &format!("/api/v2/tickets/{id}/comments.json")))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let file = v["comments"][0]["attachments"][0]["id"].as_i64().unwrap();
        for i in 1..3 {
            let r = req(Method::GET, at(i, &format!("/api/v2/attachments/{file}/content"))).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "node {i}");
            assert_eq!(r.bytes().await.unwrap().to_vec(), bytes, "node {i} reads the shared store");
        }
    }

    let seen = Arc::new(Mutex::new(Seen::default()));
    let phase = Arc::new(Phase(Mutex::new("steady")));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..6)
        .map(|t| {
            tokio::spawn(load(
                t,
                base.clone(),
                "ops@example.fi".into(),
                token.clone(),
                seen.clone(),
                phase.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 1. An erasure on node C, which dies in the middle of it.
    phase.set("node killed");
    let (s, v) =
        send(req(Method::POST, format!("{base}/api/v2/users.json")).json(&json!({"user": {"name": "Kaisa Kaatuva", "email": "kaisa@example.fi"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let kaisa = v["user"]["id"].as_i64().unwrap();
    for i in 0..3 {
        let (s, v) = send(
            req(Method::POST, format!("{base}/api/v2/tickets.json"))
                .json(&json!({"ticket": {"requester_id": kaisa, "subject": format!("Kaisa {i}"), "comment": {"body": "kaisa's words"}}})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert_eq!(send(req(Method::DELETE, format!("{base}/api/v2/users/{kaisa}.json"))).await.0, StatusCode::OK);
    let node_c = format!("http://127.0.0.1:{}", ports[2]);
    let died = req(Method::DELETE, format!("{node_c}/api/v2/deleted_users/{kaisa}.json")).send().await;
    assert!(died.is_err(), "node C was killed inside the erasure before answering");
    let killed_at = Instant::now();
    // Another node takes the erasure over once node C's lease has run out, and completes it.
    let erasure = loop {
        let (s, v) = send(req(Method::GET, format!("{base}/api/v2/privacy/erasures.json"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let e = v["erasures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["subject_id"] == kaisa)
            .cloned()
            .unwrap_or(Value::Null);
        if e["state"] == "completed" {
            break e;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "the erasure was not completed by another node: {e}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(erasure["done"]["tickets"], 3, "{erasure}");
    assert!(erasure["checks"].as_array().unwrap().iter().all(|c| c["remaining"] == 0), "{erasure}");
    // Exactly once in effect: one erasure for the person, one completion in the ledger, and
    // the ledger's chain intact.
    let (_, v) = send(req(Method::GET, format!("{base}/api/v2/privacy/erasures.json"))).await;
    let theirs = v["erasures"].as_array().unwrap().iter().filter(|e| e["subject_id"] == kaisa).count();
    assert_eq!(theirs, 1, "{v}");
    let completion = |l: &str| l.contains("\"erasure_id\"") && l.contains(&format!("\"subject_id\":{kaisa},"));
    let completions = |path: &str| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        (text.lines().filter(|l| completion(l)).count(), text)
    };
    let in_database = {
        let store = suoja_store::Db::connect(&db, &suoja_store::DbOptions::default()).await.unwrap();
        let mut c = store.read().await.unwrap();
        let lines = suoja_store::erasure_log::all(&mut c).await.unwrap();
        lines.iter().filter(|l| completion(l)).count()
    };
    assert_eq!(in_database, 1, "one completion in the database's erasure ledger");
    // Within seconds every live node's own file holds it, whichever node completed it.
    let copied_by = Instant::now() + Duration::from_secs(15);
    for path in &ledgers[..2] {
        loop {
            let (n, text) = completions(path);
            if n == 1 {
                break;
            }
            assert!(Instant::now() < copied_by && n == 0, "one completion in {path}: {text}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (_, l) = send(req(Method::GET, format!("{base}/api/v2/privacy/ledger/verify.json"))).await;
    assert_eq!(l["ledger"]["broken"], Value::Null, "{l}");
    // Every live node answers for the erased person the same way.
    for p in &ports[..2] {
        let (s, _) = send(req(Method::GET, format!("http://127.0.0.1:{p}/api/v2/users/{kaisa}.json"))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, v) = send(req(Method::GET, format!("{base}/api/v2/search.json?query=kaisa"))).await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(0)), "{v}");

    // 2. Node C comes back, to die again in the middle of building an export package.
    phase.set("node back");
    let crash = [("SUOJA_TEST_CRASH_AT", "export:chunk")];
    nodes[2] = Proc::start_on(
        ports[2],
        &dirs[2].0,
        Some(&db),
        "node.log",
        &node_env(names[2], &ledgers[2], &root_key, blob.as_deref(), &crash),
    );
    all_ready(&ports, Duration::from_secs(30)).await;
    // Ready means its file holds the erasure it was killed in (it reads the database's ledger
    // before it serves).
    let (n, text) = completions(&ledgers[2]);
    assert_eq!(n, 1, "node C's own ledger file after its restart: {text}");
    let (s, v) = send(req(Method::POST, format!("{base}/api/v2/users.json")).json(&json!({"user": {"name": "Outi Otettu", "email": "outi@example.fi"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let outi = v["user"]["id"].as_i64().unwrap();
    for i in 0..3 {
        let body = json!({"ticket": {"requester_id": outi, "subject": format!("Outi {i}"), "comment": {"body": "outi's own words"}}});
        assert_eq!(
            send(req(Method::POST, format!("{base}/api/v2/tickets.json")).json(&body)).await.0,
            StatusCode::CREATED
        );
    }
    let (s, v) = send(
        req(Method::POST, format!("{base}/api/v2/privacy/requests.json")).json(&json!({"request": {"kind": "access", "subject_id": outi, "channel": "email"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let request = v["request"]["id"].as_i64().unwrap();
    let (s, v) = send(req(Method::POST, format!("{base}/api/v2/privacy/requests/{request}/verify.json")).json(&json!({"note": "known"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    phase.set("export killed");
    // Started on node C, which dies once the package's first chunk is stored (the answer may
    // or may not have left before).
    let _ = req(Method::POST, format!("{node_c}/api/v2/privacy/requests/{request}/exports.json"))
        .json(&json!({"export": {"format": "json"}}))
        .send()
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !nodes[2].exited() {
        assert!(Instant::now() < deadline, "node C did not die inside the export");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Another node takes the silent build over and finishes it.
    let killed_at = Instant::now();
    let package = loop {
        let (s, v) = send(req(Method::GET, format!("{base}/api/v2/privacy/requests/{request}/exports.json"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let all = v["exports"].as_array().unwrap().clone();
        assert_eq!(all.len(), 1, "one package for the request: {v}");
        if all[0]["status"] == "ready" {
            break all[0].clone();
        }
        assert_ne!(all[0]["status"], "failed", "{v}");
        assert!(
            killed_at.elapsed() < Duration::from_secs(90),
            "the export was not finished by another node: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let url = package["download_url"].as_str().unwrap().to_string();
    let r = req(Method::GET, url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let export: Value = serde_json::from_slice(&r.bytes().await.unwrap()).expect("the package is a whole JSON document");
    let text = export.to_string();
    assert!(text.contains("Outi Otettu") && text.contains("outi's own words"), "{text}");
    assert!(!text.contains("Kaisa"), "{text}");
    // Exactly once in effect: one start and one completion in the privacy ledger.
    let settings = suoja_config::Settings {
        data_dir: shared.0.clone(),
        database_url: Some(db.clone()),
        blob_url: blob.clone(),
        ..Default::default()
    };
    let hd = suoja::app::open(&settings).await.unwrap();
    let id = package["id"].as_str().unwrap();
    let mut c = hd.db().read().await.unwrap();
    let tenant = suoja_store::tenants::ids(&mut c).await.unwrap()[0];
    let kinds: Vec<String> = suoja_store::ledger::page(&mut c, tenant, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.details.contains(id))
        .map(|e| e.kind)
        .collect();
    drop(c);
    hd.db().close().await;
    let builds: Vec<&String> = kinds
        .iter()
        .filter(|k| k.as_str() == "export.started" || k.as_str() == "export.stored")
        .collect();
    assert_eq!(builds, ["export.started", "export.stored"], "{kinds:?}");

    // Node C comes back (without a crash) before the database goes away.
    phase.set("node back again");
    nodes[2] = Proc::start_on(
        ports[2],
        &dirs[2].0,
        Some(&db),
        "node.log",
        &node_env(names[2], &ledgers[2], &root_key, blob.as_deref(), &[]),
    );
    all_ready(&ports, Duration::from_secs(30)).await;

    // 3. PostgreSQL stops and starts under the load; the nodes reconnect.
    phase.set("database down");
    // Requests begun before this phase finish first (a request is judged by the phase it
    // began in): a search on a node just started again can take more than a second on a busy
    // machine, and stopping the database under it fails it as unavailable.
    drained(&seen, "database down").await;
    pg.ctl("-m fast stop");
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.ctl("start");
    all_ready(&ports, Duration::from_secs(60)).await;
    phase.set("database back");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 4. A rolling upgrade: each node stopped with SIGTERM (it reports itself not ready, the
    // proxy stops sending, in-flight requests finish) and started again as the next version,
    // whose migration changes the tickets table (the first node up applies it while the other
    // two, still the old version, serve the load on the changed table).
    phase.set("rolling restart");
    let next_version = [("SUOJA_TEST_REHEARSAL_MIGRATION", "1")];
    for i in 0..3 {
        // Not ready from the signal on, while it still serves.
        nodes[i].send_term();
        let asked = Instant::now();
        loop {
            let readyz = reqwest::get(format!("http://127.0.0.1:{}/readyz", ports[i])).await.unwrap();
            if readyz.status() == StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(readyz.text().await.unwrap(), "stopping");
                break;
            }
            assert!(
                asked.elapsed() < Duration::from_millis(900),
                "node {} reported itself ready while stopping",
                names[i]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(nodes[i].term().success(), "node {} stopped cleanly", names[i]);
        nodes[i] = Proc::start_on(
            ports[i],
            &dirs[i].0,
            Some(&db),
            "node.log",
            &node_env(names[i], &ledgers[i], &root_key, blob.as_deref(), &next_version),
        );
        all_ready(&ports, Duration::from_secs(30)).await;
    }
    {
        let store = suoja_store::Db::connect(&db, &suoja_store::DbOptions::default()).await;
        // The old version refuses a database the new one migrated (it cannot know the schema).
        assert!(store.is_err(), "an old node does not start on the migrated database");
        let pool = sqlx::PgPool::connect(&db).await.unwrap();
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM schema_migrations WHERE version = 9001")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(applied, 1, "the new version's migration, applied once");
        pool.close().await;
    }
    phase.set("after");
    // The retention sweep (every second here) runs in turns: once per interval across the
    // three nodes, not once per node. Each node counts the turns it took.
    let turns = || async {
        let mut n = 0.0;
        for p in &ports {
            n += metric(&metrics(*p).await, "suoja_cluster_turns_taken_total{work=\"retention\"}").unwrap_or(0.0);
        }
        n
    };
    let (before, started) = (turns().await, Instant::now());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (after, secs) = (turns().await, started.elapsed().as_secs_f64());
    assert!(after - before >= 2.0, "the sweep ran: {before} → {after} in {secs:.1} s");
    assert!(
        after - before <= secs.ceil() + 1.0,
        "one sweep per second across the nodes, not three: {before} → {after} in {secs:.1} s"
    );
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let failed = |p: &str| seen.failed.get(p).cloned().unwrap_or_default();
    for p in ["steady", "node back", "node back again", "database back", "rolling restart", "after"] {
        assert!(
            failed(p).is_empty(),
            "requests failed in phase {p:?} (answered {:?}): {:?}{}",
            seen.answered,
            failed(p),
            node_warnings(&dirs)
        );
        assert!(
            seen.answered.get(p).copied().unwrap_or(0) > 0,
            "the load ran in phase {p:?}: {:?}",
            seen.answered
        );
    }
    // While node C died, only requests it held at that moment may have failed (the proxy
    // cannot resend a request already sent); while the database was down, failures are
    // expected, but none was a server error other than "unavailable".
    assert!(failed("node killed").len() <= 6, "{:?}", failed("node killed"));
    assert!(failed("export killed").len() <= 6, "{:?}", failed("export killed"));
    for f in failed("database down") {
        assert!(f.contains("503") || f.contains("error sending request") || f.contains("connection"), "{f}");
    }
    assert!(seen.created.len() > 50, "the load created tickets: {}", seen.created.len());

    // Every acknowledged write is there.
    let mut missing = Vec::new();
    for chunk in seen.created.chunks(100) {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
        let (s, v) = send(req(Method::GET, format!("{base}/api/v2/tickets/show_many.json?ids={}", ids.join(",")))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        for (id, word) in chunk {
            let found = v["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == *id && t["subject"].as_str().is_some_and(|s| s.contains(word.as_str())));
            if !found {
                missing.push(format!("ticket {id} ({word})"));
            }
        }
    }
    let mut by_ticket: std::collections::BTreeMap<i64, Vec<&String>> = Default::default();
    for (id, word) in &seen.replied {
        by_ticket.entry(*id).or_default().push(word);
    }
    for (id, words) in by_ticket {
        let (s, v) = send(req(Method::GET, format!("{base}/api/v2/tickets/{id}/comments.json?per_page=100"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let bodies: Vec<&str> = v["comments"].as_array().unwrap().iter().filter_map(|c| c["body"].as_str()).collect();
        for w in words {
            if !bodies.iter().any(|b| b.contains(w.as_str())) {
                missing.push(format!("reply {w} on ticket {id}"));
            }
        }
    }
    assert!(missing.is_empty(), "acknowledged writes lost: {missing:?}");

    drop(proxy);
    drop(nodes);
    for path in &ledgers {
        let (n, text) = completions(path);
        assert_eq!(n, 1, "restarts wrote the completion once into {path}: {text}");
    }
}
/// A node's metrics text.
async fn metrics(port: u16) -> String {
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .bearer_auth("metrics-secret-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// The value of the series named exactly `name` (labels included) in a metrics text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Nodes on one database take turns at cluster-wide work (one node per interval, however many
/// ask at once) and hear each other's heartbeats.
async fn turns_and_heartbeats(engine: crate::harness::Engine) {
    use suoja_helpdesk::cluster::FirstTurn;
    if engine == crate::harness::Engine::Postgres && crate::harness::pg_url().is_none() {
        return;
    }
    let app = crate::harness::TestApp::spawn(engine).await;
    let hd = app.helpdesk().clone();
    let hour = Duration::from_secs(3_600);
    // Eight nodes ask for the same turn at once: one gets it.
    let asks: Vec<_> = (0..8)
        .map(|i| {
            let hd = hd.clone();
            tokio::spawn(async move { hd.take_turn("sweep", &format!("node-{i}"), hour, FirstTurn::Now).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for a in asks {
        won += usize::from(a.await.unwrap());
    }
    assert_eq!(won, 1, "one node takes the turn");
    assert!(
        !hd.take_turn("sweep", "node-9", hour, FirstTurn::Now).await.unwrap(),
        "and no one else within the hour"
    );
    // A turn that starts an interval after the first ask.
    assert!(!hd.take_turn("hourly", "node-1", hour, FirstTurn::AfterAnInterval).await.unwrap());
    assert!(!hd.take_turn("hourly", "node-2", hour, FirstTurn::AfterAnInterval).await.unwrap());
    // A short interval comes round again, once.
    let second = Duration::from_millis(300);
    assert!(hd.take_turn("quick", "node-1", second, FirstTurn::Now).await.unwrap());
    assert!(!hd.take_turn("quick", "node-2", second, FirstTurn::Now).await.unwrap());
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (a, b) = (
        hd.take_turn("quick", "node-2", second, FirstTurn::Now).await.unwrap(),
        hd.take_turn("quick", "node-1", second, FirstTurn::Now).await.unwrap(),
    );
    assert!(a && !b, "the next interval's turn goes to the first to ask");

    // Heartbeats: each node sees the others; one that leaves is not counted.
    let t = suoja_core::Clock::now(&suoja_core::clock::SystemClock);
    hd.heartbeat("help-1", t).await.unwrap();
    let alive = hd.heartbeat("help-2", t).await.unwrap();
    let names: Vec<&str> = alive.iter().map(|n| n.name.as_str()).collect();
    assert!(names.contains(&"help-1") && names.contains(&"help-2"), "{names:?}");
    assert!(alive.iter().all(|n| n.version == env!("CARGO_PKG_VERSION")));
    hd.leave_cluster("help-1").await.unwrap();
    let alive = hd.heartbeat("help-2", t).await.unwrap();
    assert!(!alive.iter().any(|n| n.name == "help-1"), "{alive:?}");
}
crate::process_test!(nodes_take_turns_and_hear_each_other, turns_and_heartbeats);

/// What operators' tools ask: readiness, and metrics behind their token with no personal data.
async fn readiness_and_metrics(engine: crate::harness::Engine) {
    if engine == crate::harness::Engine::Postgres && crate::harness::pg_url().is_none() {
        return;
    }
    let token = "metrics-token-0123456789";
    let app = crate::harness::TestApp::spawn_with(engine, |s| s.metrics_token = Some(token.into())).await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ready");

    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Mette Mittari", "email": "mette.mittari@example.fi"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["user"]["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/v2/users/{id}.json")).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v2/users/999999.json").await.0, StatusCode::NOT_FOUND);

    for auth in [None, Some("wrong-token-0123456789"), Some("")] {
        let mut r = app.client.get(app.url("/metrics"));
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
    }
    // The API's own credentials do not open it either.
    assert_eq!(app.get("/metrics").await.0, StatusCode::UNAUTHORIZED);
    let r = app.client.get(app.url("/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for line in [
        "suoja_http_requests_total{method=\"GET\",route=\"/api/v2/users/{id}\",status=\"2xx\"} 1",
        "suoja_http_requests_total{method=\"GET\",route=\"/api/v2/users/{id}\",status=\"4xx\"} 1",
        "suoja_http_requests_total{method=\"POST\",route=\"/api/v2/users\",status=\"2xx\"} 1",
        "suoja_ready 1",
        "suoja_cluster_nodes_alive 1",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    assert!(text.contains("suoja_erasures") && text.contains("suoja_queue"), "{text}");
    for personal in ["Mette", "Mittari", "mette.mittari", "example.fi", &format!("/users/{id}"), "999999"] {
        assert!(!text.contains(personal), "{personal} in the metrics:\n{text}");
    }
}
crate::process_test!(readiness_and_metrics_for_operators, readiness_and_metrics);

/// One node alone (either engine): killed while it builds an export package, it takes the
/// silent build over itself once it is back, and the package is finished once.
async fn export_killed_mid_build(engine: crate::harness::Engine) {
    let dir = TempDir::new();
    let db = crate::process::db_for(engine).await;
    let boot = init(&dir.0, db.as_deref(), "ops@example.fi");
    let token = boot["api_token"].as_str().unwrap().to_string();
    let req = client("ops@example.fi", &token);
    let p = Proc::start(&dir.0, db.as_deref(), "first.log", &[("SUOJA_TEST_CRASH_AT", "export:chunk")]);
    let port = p.port();
    let base = p.base();
    let (s, v) =
        send(req(Method::POST, format!("{base}/api/v2/users.json")).json(&json!({"user": {"name": "Veikko Vienti", "email": "veikko@example.fi"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let person = v["user"]["id"].as_i64().unwrap();
    let body = json!({"ticket": {"requester_id": person, "subject": "Veikko's question", "comment": {"body": "veikko asks"}}});
    assert_eq!(
        send(req(Method::POST, format!("{base}/api/v2/tickets.json")).json(&body)).await.0,
        StatusCode::CREATED
    );
    let (_, v) = send(
        req(Method::POST, format!("{base}/api/v2/privacy/requests.json"))
            .json(&json!({"request": {"kind": "access", "subject_id": person, "channel": "email"}})),
    )
    .await;
    let request = v["request"]["id"].as_i64().unwrap();
    let (s, _) = send(req(Method::POST, format!("{base}/api/v2/privacy/requests/{request}/verify.json")).json(&json!({"note": "known"}))).await;
    assert_eq!(s, StatusCode::OK);
    let _ = req(Method::POST, format!("{base}/api/v2/privacy/requests/{request}/exports.json"))
        .json(&json!({"export": {"format": "zip"}}))
        .send()
        .await;
    let mut p = p;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !p.exited() {
        assert!(Instant::now() < deadline, "the node did not die inside the export");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(p);
    let p = Proc::start_on(port, &dir.0, db.as_deref(), "second.log", &[]);
    let started = Instant::now();
    let package = loop {
        let (s, v) = send(req(Method::GET, format!("{base}/api/v2/privacy/requests/{request}/exports.json"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let all = v["exports"].as_array().unwrap().clone();
        assert_eq!(all.len(), 1, "{v}");
        assert_ne!(all[0]["status"], "failed", "{v}");
        if all[0]["status"] == "ready" {
            break all[0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the silent build was not taken over: {v}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let r = req(Method::GET, package["download_url"].as_str().unwrap().to_string()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(
        i64::try_from(bytes.len()).unwrap(),
        package["size"].as_i64().unwrap(),
        "the size is the finished package's"
    );
    assert!(bytes.starts_with(b"PK"), "a whole ZIP");
    drop(p);
}
crate::process_test!(an_export_whose_node_died_is_finished_once_it_is_back, export_killed_mid_build);

/// A build taken over is the new builder's alone: the builder it was taken from (a node that
/// was paused, not dead) can neither add chunks, finish nor fail it; a finished package is never
/// failed afterwards; a build that silenced its node too often is failed, not taken again.
async fn export_builds_are_fenced(engine: crate::harness::Engine) {
    use suoja_store::exports::{self, Chunk, PackageRow};
    if engine == crate::harness::Engine::Postgres && crate::harness::pg_url().is_none() {
        return;
    }
    let app = crate::harness::TestApp::spawn(engine).await;
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let db = app.helpdesk().db().clone();
    let now = suoja_core::Clock::now(&suoja_core::clock::SystemClock);
    let long_ago = suoja_core::Timestamp(now.0 - 3_600_000);
    let package = |id: &str| PackageRow {
        id: id.into(),
        request_id: None,
        subject_id: app.t.admin_id,
        format: "json".into(),
        status: "building".into(),
        content_enc: Vec::new(),
        file_key_enc: None,
        chunks: None,
        size: 0,
        created_at: long_ago,
        expires_at: suoja_core::Timestamp(now.0 + 86_400_000),
        downloads: 0,
        heartbeat_at: Some(long_ago),
        started_by: Some(app.t.admin_id),
        build_options: None,
        build_attempt: 0,
    };
    let chunk = |package: &'static str, seq: i64| Chunk {
        package,
        subject: app.t.admin_id,
        seq,
        content: suoja_store::blobs::Content::Inline(b"sealed".to_vec()),
        size_so_far: 6 * (seq + 1),
    };
    let mut tx = db.begin().await.unwrap();
    exports::insert(&mut tx, tenant, &package("fenced")).await.unwrap();
    assert!(exports::insert_chunk(&mut tx, tenant, chunk("fenced", 0), 0, long_ago).await.unwrap());
    // Taken over: one more attempt, the old chunks gone.
    let alive_after = suoja_core::Timestamp(now.0 - 30_000);
    assert_eq!(exports::take_over(&mut tx, tenant, "fenced", alive_after, now).await.unwrap(), Some(1));
    assert_eq!(
        exports::take_over(&mut tx, tenant, "fenced", alive_after, now).await.unwrap(),
        None,
        "alive again"
    );
    assert!(exports::chunk(&mut tx, db.blobs(), tenant, "fenced", 0).await.unwrap().is_none());
    // The old builder wakes: nothing it does lands.
    assert!(!exports::insert_chunk(&mut tx, tenant, chunk("fenced", 0), 0, now).await.unwrap());
    assert!(!exports::finish(&mut tx, tenant, "fenced", 0, 1, 6, now).await.unwrap());
    exports::fail_attempt(&mut tx, tenant, "fenced", 0).await.unwrap();
    assert_eq!(exports::by_id(&mut tx, tenant, "fenced").await.unwrap().unwrap().status, "building");
    // The new builder's do.
    assert!(exports::insert_chunk(&mut tx, tenant, chunk("fenced", 0), 1, now).await.unwrap());
    assert!(exports::finish(&mut tx, tenant, "fenced", 1, 1, 6, now).await.unwrap());
    // A ready package stays ready whatever a late builder or sweep says.
    exports::fail_attempt(&mut tx, tenant, "fenced", 1).await.unwrap();
    exports::fail(&mut tx, tenant, "fenced").await.unwrap();
    let row = exports::by_id(&mut tx, tenant, "fenced").await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.chunks), ("ready", Some(1)));
    assert!(exports::chunk(&mut tx, db.blobs(), tenant, "fenced", 0).await.unwrap().is_some());
    assert_eq!(exports::take_over(&mut tx, tenant, "fenced", alive_after, now).await.unwrap(), None);
    // A build already taken over twice is failed by the next node, not built again.
    exports::insert(&mut tx, tenant, &package("cursed")).await.unwrap();
    for attempt in 1..=2 {
        let taken = exports::take_over(&mut tx, tenant, "cursed", alive_after, long_ago).await.unwrap();
        assert_eq!(taken, Some(attempt), "each takeover's heartbeat is long ago too");
    }
    tx.commit().await.unwrap();
    // The app's own background work may reach it first (and, on PostgreSQL, hold it while this
    // call passes it over): either way it is failed, never taken again.
    assert_eq!(app.privacy().resume_dead_builds().await.unwrap(), 0);
    let mut seen = (String::new(), 0);
    for _ in 0..100 {
        let mut c = db.read().await.unwrap();
        let row = exports::by_id(&mut c, tenant, "cursed").await.unwrap().unwrap();
        seen = (row.status, row.build_attempt);
        if seen.0 != "building" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, ("failed".to_string(), 3), "failed, counted once by whichever came first");
}
crate::process_test!(export_builds_are_fenced_by_their_attempt, export_builds_are_fenced);

/// A load balancer's health checks are never refused by the rate limits, while the API is.
async fn health_checks_are_not_limited(engine: crate::harness::Engine) {
    if engine == crate::harness::Engine::Postgres && crate::harness::pg_url().is_none() {
        return;
    }
    let app = crate::harness::TestApp::spawn_with(engine, |s| {
        s.rate_limit_per_minute = 5;
        s.rate_limit_per_client_per_minute = Some(5);
    })
    .await;
    for path in ["/readyz", "/healthz"] {
        for _ in 0..30 {
            let r = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
        }
    }
    let mut limited = false;
    for _ in 0..10 {
        limited |= app.get("/api/v2/users/me.json").await.0 == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "the API is limited");
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "still ready while the API refuses");
}
crate::process_test!(health_checks_are_never_rate_limited, health_checks_are_not_limited);
