//! Fuzzing over real HTTP: every API route that takes a body, the search query, cursors, form
//! bodies and multipart uploads get generated hostile input (well-formed JSON of the wrong shape,
//! a valid body with one value swapped, broken JSON and UTF-8, deep nesting, broken multipart),
//! and every answer must be the client's mistake or a success: never a 5xx, never slower than a
//! few seconds. The inputs come from a fixed seed, so a failure names an input that reproduces;
//! `SUOJA_FUZZ_CASES` runs more of them (the default keeps CI within a minute per engine), and
//! `SUOJA_FUZZ_STATS` prints each answer's status.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::TestRunner;
use reqwest::Method;
use serde_json::Value;

use crate::authz::{api_body, concrete, world};
use crate::harness::{Engine, TestApp, pg_url};
use crate::web::{Browser, PASSWORD};

/// The slowest answer a hostile input may get.
const SLOWEST: Duration = Duration::from_secs(5);

fn cases() -> usize {
    std::env::var("SUOJA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12)
}

/// Field names the API knows, and some it does not.
const KEYS: &[&str] = &[
    "ticket",
    "tickets",
    "user",
    "organization",
    "group",
    "comment",
    "body",
    "html_body",
    "public",
    "subject",
    "requester_id",
    "assignee_id",
    "collaborator_ids",
    "email_ccs",
    "status",
    "priority",
    "tags",
    "custom_fields",
    "id",
    "value",
    "uploads",
    "name",
    "email",
    "phone",
    "role",
    "password",
    "request",
    "kind",
    "subject_id",
    "export",
    "format",
    "mention",
    "decision",
    "hold",
    "scope",
    "ground",
    "expires_at",
    "webhook",
    "endpoint",
    "subscriptions",
    "token",
    "scopes",
    "text",
    "redaction",
    "reason",
    "code",
    "note",
    "settings",
    "retention_policy",
    "enabled",
    "api_token",
    "search",
    "weak",
    "x",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1)),
        Just(Value::from(1.5)),
        "\\PC{0,30}".prop_map(Value::String),
        Just(Value::String("\u{0}".into())),
        Just(Value::String("<redact>x</redact><script>alert(1)</script>".into())),
        Just(Value::String("2024-02-30T25:61:00Z".into())),
        Just(Value::String("http://169.254.169.254/latest".into())),
        Just(Value::String("é".repeat(5_000))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// A body for a route: raw bytes and a content type.
#[derive(Debug, Clone)]
struct Body(Vec<u8>);

/// Replaces one value somewhere in `v` (picked by `pick`) with `with`.
fn swap_one(v: &mut Value, pick: &mut usize, with: &Value) -> bool {
    if *pick == 0 {
        *v = with.clone();
        return true;
    }
    *pick -= 1;
    match v {
        Value::Object(m) => m.values_mut().any(|c| swap_one(c, pick, with)),
        Value::Array(a) => a.iter_mut().any(|c| swap_one(c, pick, with)),
        _ => false,
    }
}

fn bodies(valid: Option<Value>) -> impl Strategy<Value = Body> {
    let valid = valid.unwrap_or_else(|| serde_json::json!({}));
    let text = valid.to_string();
    let swapped = {
        let valid = valid.clone();
        (0usize..12, value()).prop_map(move |(mut pick, with)| {
            let mut v = valid.clone();
            swap_one(&mut v, &mut pick, &with);
            Body(v.to_string().into_bytes())
        })
    };
    let truncated = {
        let text = text.clone();
        (0..text.len().max(1)).prop_map(move |cut| Body(text.as_bytes()[..cut.min(text.len())].to_vec()))
    };
    let broken_utf8 = {
        let text = text.clone();
        Just(()).prop_map(move |()| {
            let mut b = text.clone().into_bytes();
            let at = b.iter().position(|c| *c == b'"').map_or(0, |p| p + 1);
            b.splice(at..at, [0xff, 0xfe, 0xc3]);
            Body(b)
        })
    };
    prop_oneof![
        3 => swapped,
        2 => value().prop_map(|v| Body(v.to_string().into_bytes())),
        1 => truncated,
        1 => broken_utf8,
        1 => Just(Body("[".repeat(10_000).into_bytes())),
        1 => Just(Body(b"{\"a\":1e99999999999}".to_vec())),
        1 => Just(Body(format!("{text}{text}").into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body),
    ]
}

fn sample<S: Strategy>(runner: &mut TestRunner, s: &S) -> S::Value {
    s.new_tree(runner).map(|t| t.current()).unwrap_or_else(|e| panic!("generating an input: {e}"))
}

/// One request's verdict: `None` when it is acceptable.
fn judge(what: &str, status: reqwest::StatusCode, took: Duration, input: &[u8]) -> Option<String> {
    if std::env::var_os("SUOJA_FUZZ_STATS").is_some() {
        eprintln!("FUZZ {what} {}", status.as_u16());
    }
    let shown = String::from_utf8_lossy(&input[..input.len().min(300)]).into_owned();
    if status.is_server_error() {
        Some(format!("{what}: {status} for {shown:?}"))
    } else if took > SLOWEST {
        Some(format!("{what}: took {took:?} for {shown:?}"))
    } else {
        None
    }
}

async fn run(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let w = world(&app).await;
    let mut runner = TestRunner::deterministic();
    let mut problems = Vec::new();
    let n = cases();

    // JSON bodies, on every route that takes one.
    for (method, path) in suoja_http::every_route() {
        if !path.starts_with("/api/") || !matches!(method, "post" | "put") || path == "/api/v2/uploads" {
            continue;
        }
        let url = concrete(method, path, &w.ids);
        let strategy = bodies(api_body(method, path, &w.ids));
        for _ in 0..n {
            let Body(bytes) = sample(&mut runner, &strategy);
            let started = Instant::now();
            let r = app
                .req(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &url)
                .header("content-type", "application/json")
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            problems.extend(judge(&format!("{} {path}", method.to_uppercase()), r.status(), started.elapsed(), &bytes));
        }
    }

    // Search queries and cursors, in the API and the agents' workspace.
    let query = prop_oneof![
        "\\PC{0,60}",
        prop::collection::vec(
            prop_oneof![
                Just("status:"),
                Just("\""),
                Just("-"),
                Just("<"),
                Just(">="),
                Just("created>"),
                Just("2024-13-45"),
                Just("type:user"),
                Just("tags:"),
                Just("*"),
                Just(" "),
                Just("&"),
                Just("|"),
                Just("!"),
                Just("'"),
                Just("\\"),
                Just(":*"),
                Just("é"),
            ],
            0..30
        )
        .prop_map(|v| v.concat()),
    ];
    let mut agent = Browser::new(&app);
    agent.sign_in("aatu@one.example", PASSWORD).await;
    for _ in 0..n * 8 {
        let q = sample(&mut runner, &query);
        for path in ["/api/v2/search.json", "/api/v2/search/count.json", "/api/v2/users/search.json"] {
            let started = Instant::now();
            let r = app.req(Method::GET, path).query(&[("query", q.as_str())]).send().await.unwrap();
            problems.extend(judge(path, r.status(), started.elapsed(), q.as_bytes()));
        }
        let started = Instant::now();
        let encoded = percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC).to_string();
        let page = agent.get(&format!("/agent/search?query={encoded}")).await;
        problems.extend(judge("/agent/search", page.status, started.elapsed(), q.as_bytes()));
        for key in [
            "page[after]",
            "page[before]",
            "cursor",
            "page",
            "per_page",
            "page[size]",
            "start_time",
            "sort_order",
        ] {
            let started = Instant::now();
            let r = app.req(Method::GET, "/api/v2/tickets.json").query(&[(key, q.as_str())]).send().await.unwrap();
            problems.extend(judge(&format!("/api/v2/tickets?{key}="), r.status(), started.elapsed(), q.as_bytes()));
        }
    }

    // Uploads: any bytes under any file name.
    let upload = (
        prop_oneof![
            "\\PC{0,40}",
            Just("../../etc/passwd".to_string()),
            Just("a\u{0}b.txt".to_string()),
            Just("x".repeat(2_000))
        ],
        prop::collection::vec(any::<u8>(), 0..2_000),
        prop_oneof![
            Just("text/plain"),
            Just("image/png"),
            Just("text/html"),
            Just(""),
            Just("multipart/form-data; boundary=")
        ],
    );
    for _ in 0..n * 2 {
        let (name, bytes, ty) = sample(&mut runner, &upload);
        let started = Instant::now();
        let r = app
            .req(Method::POST, "/api/v2/uploads.json")
            .query(&[("filename", name.as_str())])
            .header("content-type", ty)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        problems.extend(judge("POST /api/v2/uploads", r.status(), started.elapsed(), name.as_bytes()));
    }

    // Multipart forms: the composers, with well-formed, odd and broken parts.
    let part = (
        prop_oneof![
            Just("csrf"),
            Just("body"),
            Just("subject"),
            Just("files"),
            Just("form_id"),
            Just("public"),
            Just("x")
        ],
        prop::option::of(prop_oneof!["\\PC{0,20}", Just("".to_string()), Just("../x".to_string())]),
        prop::collection::vec(any::<u8>(), 0..300),
    );
    let form = (
        prop::collection::vec(part, 0..6),
        prop_oneof![Just("XyZ"), Just("-"), Just(""), Just("a\"b")],
        any::<prop::sample::Index>(),
        any::<bool>(),
    );
    let composers = [
        "/portal/requests/new".to_string(),
        format!("/agent/tickets/{}/comments", w.ids["ticket"]),
        format!("/portal/requests/{}/comments", w.ids["ticket"]),
    ];
    let csrf = agent.get("/account").await.hidden("csrf");
    for _ in 0..n * 2 {
        let (parts, boundary, cut, truncate) = sample(&mut runner, &form);
        let mut body = Vec::new();
        for (name, file, data) in &parts {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
            if let Some(f) = file {
                body.extend_from_slice(format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes());
            }
            body.extend_from_slice(b"\r\n\r\n");
            if *name == "csrf" {
                body.extend_from_slice(csrf.as_bytes());
            } else {
                body.extend_from_slice(data);
            }
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        if truncate {
            body.truncate(cut.index(body.len() + 1));
        }
        for path in &composers {
            let started = Instant::now();
            let status = agent.post_raw(path, &format!("multipart/form-data; boundary={boundary}"), body.clone()).await;
            problems.extend(judge(&format!("POST {path} (multipart)"), status, started.elapsed(), &body));
        }
    }

    // URL-encoded forms with broken escapes and invalid UTF-8, on every page that takes a form.
    let raw_form = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "[a-z_=&%+0-9A-F]{0,200}".prop_map(String::into_bytes),
    ];
    for (method, path) in suoja_http::every_route() {
        if path.starts_with("/api/") || method != "post" || path.starts_with("/signout") {
            continue;
        }
        let url = concrete(method, path, &w.ids);
        for _ in 0..n.div_ceil(4) {
            let mut bytes = format!("csrf={csrf}&").into_bytes();
            bytes.extend(sample(&mut runner, &raw_form));
            let started = Instant::now();
            let status = agent.post_raw(&url, "application/x-www-form-urlencoded", bytes.clone()).await;
            problems.extend(judge(&format!("POST {path} (form)"), status, started.elapsed(), &bytes));
        }
    }

    assert!(
        problems.is_empty(),
        "{} hostile input(s) got a server error or a slow answer:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

mod hostile_input_gets_a_client_error_in_bounded_time {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if pg_url().is_none() {
            eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
            return;
        }
        run(Engine::Postgres).await;
    }
}
