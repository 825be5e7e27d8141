//! An erasure killed with SIGKILL at several points (inside a step's transaction, right after
//! a step committed, after the key was destroyed, before the read-back) completes after a
//! restart with the same result as one never interrupted: the same counts, a clean read-back,
//! the person gone through the API. The real binary, on both engines.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Engine, TempDir, send};
use crate::process::{Proc, client, db_for, init};
use crate::process_test;

async fn crash_at(engine: Engine, point: &str) {
    let dir = TempDir::new();
    let db = db_for(engine).await;
    let boot = init(&dir.0, db.as_deref(), "ops@example.fi");
    let token = boot["api_token"].as_str().unwrap().to_string();
    let req = client("ops@example.fi", &token);
    let p = Proc::start(&dir.0, db.as_deref(), "first.log", &[("SUOJA_TEST_CRASH_AT", point)]);
    let base = p.base();
    let call = |m: Method, path: &str, body: Option<Value>| {
        let mut r = req(m, format!("{base}{path}"));
        if let Some(b) = body {
            r = r.json(&b);
        }
        send(r)
    };
    // A person with tickets, a CC link and a comment elsewhere, and a mention.
    let (s, v) = call(
        Method::POST,
        "/api/v2/users.json",
        Some(json!({"user": {"name": "Kaisa Kaatuva", "email": "kaisa@example.fi"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let k = v["user"]["id"].as_i64().unwrap();
    let (_, v) = call(
        Method::POST,
        "/api/v2/users.json",
        Some(json!({"user": {"name": "Other Person", "email": "other@example.fi"}})),
    )
    .await;
    let o = v["user"]["id"].as_i64().unwrap();
    for i in 0..5 {
        let (s, v) = call(
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"requester_id": k, "subject": format!("K {i}"), "comment": {"body": "kaisa's words"}}})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (_, v) = call(
        Method::POST,
        "/api/v2/tickets.json",
        Some(json!({"ticket": {"requester_id": o, "subject": "Other", "comment": {"body": "ask kaisa@example.fi"}, "collaborator_ids": [k]}})),
    )
    .await;
    let other_ticket = v["ticket"]["id"].as_i64().unwrap();
    call(
        Method::PUT,
        &format!("/api/v2/tickets/{other_ticket}.json"),
        Some(json!({"ticket": {"comment": {"body": "kaisa writes too", "author_id": k}}})),
    )
    .await;
    let (_, plan) = call(Method::GET, &format!("/api/v2/privacy/subjects/{k}/erasure_plan.json"), None).await;
    let planned = plan["erasure_plan"]["counts"].clone();
    assert_eq!(planned["tickets"], 5, "{plan}");

    // Permanent deletion: the process dies at `point` while answering.
    assert_eq!(call(Method::DELETE, &format!("/api/v2/users/{k}.json"), None).await.0, StatusCode::OK);
    let died = req(Method::DELETE, format!("{base}/api/v2/deleted_users/{k}.json")).send().await;
    assert!(died.is_err(), "the server was killed at {point} before answering");
    drop(p);

    // After a restart the worker resumes once the dead runner's lease has run out.
    let p = Proc::start(&dir.0, db.as_deref(), "second.log", &[]);
    let base = p.base();
    let deadline = Instant::now() + Duration::from_secs(60);
    let erasure = loop {
        let (s, v) = send(req(Method::GET, format!("{base}/api/v2/privacy/erasures.json"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let e = v["erasures"][0].clone();
        if e["state"] == "completed" {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "the erasure did not complete after the restart (killed at {point}): {e}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let nonzero = |v: &Value| -> Value {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.retain(|_, n| n.as_u64().unwrap_or(0) > 0);
        Value::Object(m)
    };
    assert_eq!(
        nonzero(&erasure["done"]),
        nonzero(&erasure["planned"]),
        "killed at {point}: counts differ from the plan"
    );
    assert_eq!(erasure["planned"]["tickets"], planned["tickets"]);
    assert_eq!(erasure["planned"]["tombstoned_comments"], planned["tombstoned_comments"]);
    assert!(erasure["checks"].as_array().unwrap().iter().all(|c| c["remaining"] == 0), "{erasure}");
    let (s, _) = send(req(Method::GET, format!("{base}/api/v2/users/{k}.json"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, c) = send(req(Method::GET, format!("{base}/api/v2/tickets/{other_ticket}/comments.json"))).await;
    assert_eq!(c["comments"][0]["body"], "ask [redacted]", "{c}");
    assert_eq!(c["comments"][1]["body"], suoja_privacy::erasure::rows::TOMBSTONE, "{c}");
    let (_, l) = send(req(Method::GET, format!("{base}/api/v2/privacy/ledger/verify.json"))).await;
    assert_eq!(l["ledger"]["broken"], Value::Null, "{l}");

    // The operator's check: every byte of the data directory (database files, both servers'
    // logs) and, on PostgreSQL, the cluster's directory after a checkpoint.
    drop(p);
    let elsewhere = TempDir::new();
    let canaries = elsewhere.0.join("canaries.txt");
    std::fs::write(&canaries, "name: Kaisa Kaatuva\nemail: kaisa@example.fi\n").unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_suoja"));
    cmd.env_remove("SUOJA_ROOT_KEY").env("SUOJA_DATA_DIR", &dir.0);
    match &db {
        Some(u) => cmd.env("SUOJA_DATABASE_URL", u),
        None => cmd.env_remove("SUOJA_DATABASE_URL"),
    };
    let out = cmd.args(["verify", "erasure", "--canary"]).arg(&canaries).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "killed at {point}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(": 0 hits"), "{stdout}");
    if engine == Engine::Postgres {
        assert!(
            stdout.lines().filter(|l| l.starts_with("scanning")).count() >= 2,
            "the cluster directory was scanned: {stdout}"
        );
    }
}

async fn inside_the_tickets_step(engine: Engine) {
    crash_at(engine, "commit:tickets").await;
}
async fn after_the_comments_step(engine: Engine) {
    crash_at(engine, "after:comments").await;
}
async fn after_the_key_was_destroyed(engine: Engine) {
    crash_at(engine, "after:profile").await;
}
async fn before_the_read_back(engine: Engine) {
    crash_at(engine, "before:verify").await;
}
process_test!(erasure_killed_inside_a_step_completes_after_restart, inside_the_tickets_step);
process_test!(erasure_killed_between_steps_completes_after_restart, after_the_comments_step);
process_test!(erasure_killed_after_key_destruction_completes_after_restart, after_the_key_was_destroyed);
process_test!(erasure_killed_before_read_back_completes_after_restart, before_the_read_back);
