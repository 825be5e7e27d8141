//! Retention schedules (issue: retention on by default): with the clock moved by hand and the
//! scheduler running every second, each record is there just before its policy's period ends and
//! gone within one scheduler interval after — trashed tickets, export packages, call recordings,
//! attachments, closed tickets (a redaction does not restart their clock) and inactive end users
//! (erased in full) — while legal holds keep what they cover. Policies are viewed, changed,
//! switched off and previewed through the API and the CLI; changes are in the ledger; bad values
//! are refused.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_core::clock::ManualClock;

use crate::fixtures::export::{access_request, build};
use crate::harness::{Engine, TestApp, pg_url};

const DAY: i64 = 86_400_000;

async fn spawn(engine: Engine) -> Option<(TestApp, ManualClock)> {
    if engine == Engine::Postgres && pg_url().is_none() {
        eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
        return None;
    }
    let clock = ManualClock::new(suoja_core::Timestamp::parse("2026-03-02T09:00:00Z").unwrap());
    let app = TestApp::spawn_full(engine, |s| s.retention_interval_secs = 1, std::sync::Arc::new(clock.clone())).await;
    Some((app, clock))
}

/// Waits for `check` to hold: one scheduler interval (1 s) plus the time the run itself takes,
/// which on a loaded machine (a PostgreSQL checkpoint after the deletions) can be seconds.
async fn within_an_interval(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not done within the scheduler interval");
}

/// Lets the scheduler run at least twice at the current time.
async fn two_runs() {
    tokio::time::sleep(Duration::from_millis(2_300)).await;
}

async fn exists(app: &TestApp, path: &str) -> bool {
    let (s, v) = app.get(path).await;
    assert!(s == StatusCode::OK || s == StatusCode::NOT_FOUND, "{path}: {s} {v}");
    s == StatusCode::OK
}

async fn content(app: &TestApp, attachment: i64) -> Vec<u8> {
    let r = app.req(Method::GET, &format!("/api/v2/attachments/{attachment}/content")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

async fn ticket(app: &TestApp, requester: i64, status: &str, body: &str) -> i64 {
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": "retention", "status": status, "comment": {"body": body}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket"]["id"].as_i64().unwrap()
}

async fn no_record_outlives_its_policy(engine: Engine) {
    let Some((app, clock)) = spawn(engine).await else { return };
    let at = |days: i64| {
        clock.set(suoja_core::Timestamp(
            suoja_core::Timestamp::parse("2026-03-02T09:00:00Z").unwrap().0 + days * DAY,
        ))
    };
    // The defaults are in force from the start.
    let (s, v) = app.get("/api/v2/privacy/retention.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let policies = v["retention_policies"].as_array().unwrap();
    assert!(policies.iter().all(|p| p["enabled"] == true && p["value"] == p["default"]), "{v}");
    let value = |name: &str| policies.iter().find(|p| p["policy"] == name).unwrap()["value"].as_i64().unwrap();
    assert_eq!(
        (
            value("closed_tickets"),
            value("inactive_end_users"),
            value("attachments"),
            value("call_recordings"),
            value("deleted_tickets")
        ),
        (730, 36, 365, 90, 7)
    );

    // Day 0: the records.
    let active = app.user("Aktiivinen Asiakas", "active.retention@example.fi").await;
    let (idle, _) = app.end_user_with_password("Passiivinen Asiakas", "idle.retention@example.fi").await;
    let open = ticket(&app, active, "open", "still being worked on").await;
    let solved = ticket(&app, active, "solved", "solved on day zero").await;
    let redacted_later = ticket(&app, active, "solved", "solved with secret123 inside").await;
    let held = ticket(&app, active, "closed", "kept for a lawsuit").await;
    let trashed = ticket(&app, active, "open", "deleted on day zero").await;
    let (s, _) = app.delete(&format!("/api/v2/tickets/{trashed}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let file = app.upload("invoice.txt", "text/plain", b"invoice body").await;
    let audio = app.upload("call.ogg", "audio/ogg", b"recorded voice").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{open}.json"),
            json!({"ticket": {"comment": {"body": "files", "uploads": [file, audio]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{open}/comments.json")).await;
    let files = v["comments"][1]["attachments"].as_array().unwrap().clone();
    let (file, audio) = (files[0]["id"].as_i64().unwrap(), files[1]["id"].as_i64().unwrap());
    let request = access_request(&app, active).await;
    let (package, _) = build(&app, request, json!({"format": "json"})).await;
    let package_url = package["download_url"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            "/api/v2/privacy/holds.json",
            json!({"hold": {"scope": "ticket", "ticket_id": held, "ground": "legal_claims", "reference": "Case 7", "expires_at": "2036-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Identity-check links (48 hours): the access request above sent one.
    let links = async || -> i64 {
        let mut c = app.helpdesk().db().read().await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM privacy_verifications WHERE tenant_id = $1")
            .bind(app.t.tenant_id)
            .fetch_one(&mut c)
            .await
            .unwrap()
    };
    assert_eq!(links().await, 1);
    at(1);
    two_runs().await;
    assert_eq!(links().await, 1, "a day old: kept");
    at(2);
    clock.advance_ms(1000);
    within_an_interval("identity-check link", async || links().await == 0).await;

    // Trash (7 days) and export packages (168 hours).
    at(6);
    two_runs().await;
    let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
    assert_eq!(v["count"], 1, "six days in the trash: still there");
    assert_eq!(app.req(Method::GET, &package_url).send().await.unwrap().status(), StatusCode::OK);
    at(7);
    clock.advance_ms(1000);
    within_an_interval("trash and package", async || {
        app.get("/api/v2/deleted_tickets.json").await.1["count"] == 0 && app.req(Method::GET, &package_url).send().await.unwrap().status() != StatusCode::OK
    })
    .await;

    // Call recordings (90 days): the media goes, the metadata stays.
    at(89);
    two_runs().await;
    assert_eq!(content(&app, audio).await, b"recorded voice");
    at(90);
    clock.advance_ms(1000);
    within_an_interval("recording", async || content(&app, audio).await.is_empty()).await;
    let (_, v) = app.get(&format!("/api/v2/attachments/{audio}.json")).await;
    assert_eq!(
        (v["attachment"]["file_name"].as_str(), v["attachment"]["size"].as_i64()),
        (Some("call.ogg"), Some(14))
    );
    assert_eq!(content(&app, file).await, b"invoice body", "files have their own, longer policy");

    // Attachments (365 days), switched off first: the preview names the file, nothing happens;
    // switched on: gone within the interval.
    let (s, v) = app
        .put("/api/v2/privacy/retention/attachments.json", json!({"retention_policy": {"enabled": false}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    at(366);
    two_runs().await;
    let (s, v) = app.get("/api/v2/privacy/retention/attachments/preview.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["preview"]["enabled"].as_bool(), v["preview"]["count"].as_i64()),
        (Some(false), Some(1)),
        "{v}"
    );
    assert_eq!(v["preview"]["ids"], json!([file]));
    assert_eq!(content(&app, file).await, b"invoice body", "a disabled policy removes nothing");
    let (s, _) = app
        .put("/api/v2/privacy/retention/attachments.json", json!({"retention_policy": {"enabled": true}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    within_an_interval("attachment", async || content(&app, file).await.is_empty()).await;
    let (_, v) = app.get(&format!("/api/v2/attachments/{file}.json")).await;
    assert_eq!(v["attachment"]["file_name"], "redacted.txt");

    // Closed tickets (730 days from closing). A redaction on day 700 does not restart the clock.
    at(700);
    let (_, v) = app.get(&format!("/api/v2/tickets/{redacted_later}/comments.json")).await;
    let first = v["comments"][0]["id"].as_i64().unwrap();
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{redacted_later}/comments/{first}/redact.json"),
            json!({"text": "secret123"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    at(729);
    two_runs().await;
    for t in [solved, redacted_later, held, open] {
        assert!(
            exists(&app, &format!("/api/v2/tickets/{t}.json")).await || t == held,
            "ticket {t} before its time"
        );
    }
    at(730);
    clock.advance_ms(1000);
    within_an_interval("closed tickets", async || {
        !exists(&app, &format!("/api/v2/tickets/{solved}.json")).await && !exists(&app, &format!("/api/v2/tickets/{redacted_later}.json")).await
    })
    .await;
    assert!(
        exists(&app, &format!("/api/v2/tickets/{open}.json")).await,
        "open tickets are not closed tickets"
    );
    let (_, v) = app.get("/api/v2/privacy/retention/closed_tickets/preview.json").await;
    assert_eq!(
        (v["preview"]["count"].as_i64(), v["preview"]["held"].as_i64()),
        (Some(1), Some(1)),
        "the held one is due but kept: {v}"
    );
    {
        let mut c = app.helpdesk().db().read().await.unwrap();
        let row = suoja_store::tickets::by_id(&mut c, suoja_core::TenantId(app.t.tenant_id), suoja_core::TicketId(held))
            .await
            .unwrap();
        assert!(row.is_some(), "the legal hold keeps its ticket");
    }

    // Inactive end users (36 months of 30 days): the idle person is erased in full; the person
    // with an open ticket stays.
    at(36 * 30 - 1);
    two_runs().await;
    assert!(exists(&app, &format!("/api/v2/users/{idle}.json")).await);
    at(36 * 30);
    clock.advance_ms(1000);
    within_an_interval("inactive person", async || !exists(&app, &format!("/api/v2/users/{idle}.json")).await).await;
    assert!(exists(&app, &format!("/api/v2/users/{active}.json")).await);
    let erasure = async || {
        let (_, v) = app.get("/api/v2/privacy/erasures.json").await;
        v["erasures"].as_array().unwrap().iter().find(|e| e["subject_id"] == idle).cloned().unwrap()
    };
    within_an_interval("the erasure's read-back", async || erasure().await["state"] == "completed").await;
    let erasure = erasure().await;
    assert_eq!(
        (erasure["origin"].as_str(), erasure["state"].as_str()),
        (Some("retention"), Some("completed")),
        "{erasure}"
    );

    // The ledger holds every change and run, no personal data, and verifies.
    assert!(app.privacy().verify_ledger(&app.admin_scope()).await.unwrap().ok());
    let ledger = ledger_kinds(&app).await;
    for kind in ["retention.changed", "retention.applied"] {
        assert!(ledger.iter().any(|k| k == kind), "{kind} in {ledger:?}");
    }
}

async fn ledger_kinds(app: &TestApp) -> Vec<String> {
    let mut c = app.helpdesk().db().read().await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT kind FROM ledger WHERE tenant_id = $1 ORDER BY seq")
        .bind(app.t.tenant_id)
        .fetch_all(&mut c)
        .await
        .unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_record_outlives_its_policy_sqlite() {
    no_record_outlives_its_policy(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_record_outlives_its_policy_postgres() {
    no_record_outlives_its_policy(Engine::Postgres).await;
}

crate::engine_test!(retention_policies_refuse_bad_values_and_work_from_the_cli, |app| async move {
    let path = "/api/v2/privacy/retention/closed_tickets.json";
    for (body, code) in [
        (json!({"retention_policy": {"value": 0}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"retention_policy": {"value": -5}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"retention_policy": {"value": 1.5}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"retention_policy": {"value": "30"}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"retention_policy": {"value": 40_000}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"retention_policy": {}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"retention_policy": {"enabled": "yes"}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"retention_policy": {"value": 30, "unit": "days"}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"value": 30}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, v) = app.put(path, body.clone()).await;
        assert_eq!(s, code, "{body}: {v}");
    }
    let (s, _) = app
        .put("/api/v2/privacy/retention/deleted_tickets.json", json!({"retention_policy": {"value": 8}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the trash keeps nothing longer than 7 days");
    let (s, _) = app
        .put("/api/v2/privacy/retention/verification_links.json", json!({"retention_policy": {"value": 2}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "links are counted for a day");
    let (s, _) = app
        .put("/api/v2/privacy/retention/no_such_policy.json", json!({"retention_policy": {"value": 3}}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get("/api/v2/privacy/retention/no_such_policy/preview.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing was stored by any of it.
    let (_, v) = app.get("/api/v2/privacy/retention.json").await;
    assert!(v["retention_policies"].as_array().unwrap().iter().all(|p| p["updated_by"].is_null()), "{v}");
    // Agents may not see or change policies.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Anna Agentti", "email": "anna.retention@support.example", "role": "agent", "password": "agent-password-3"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = crate::harness::Tenant {
        email: "anna.retention@support.example".into(),
        token: "agent-password-3".into(),
        admin_id: v["user"]["id"].as_i64().unwrap(),
        tenant_id: app.t.tenant_id,
    };
    let (s, _) = app.call_password(&agent, Method::GET, "/api/v2/privacy/retention.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call_password(&agent, Method::PUT, path, Some(json!({"retention_policy": {"value": 30}})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The CLI: list, set (and a refused value), preview.
    let out = app.cli(&["retention", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("closed_tickets") && text.contains("730"), "{text}");
    let out = app.cli(&["retention", "set", "closed_tickets", "--value", "400"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = app.cli(&["retention", "set", "closed_tickets", "--value", "-1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("value"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = app.cli(&["retention", "preview", "closed_tickets"]);
    let preview: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(preview["count"], 0, "{preview}");
    let (_, v) = app.get("/api/v2/privacy/retention.json").await;
    let p = v["retention_policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "closed_tickets")
        .cloned()
        .unwrap();
    assert_eq!((p["value"].as_i64(), p["updated_by"].as_i64()), (Some(400), Some(0)), "{p}");
});

crate::engine_test_clocked!(held_records_do_not_starve_the_rest_of_a_policy, |app, clock| async move {
    use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput};
    let requester = app.user("Pidetty Asiakas", "held.many@example.fi").await;
    let ticket = |tags: Vec<String>| TicketInput {
        subject: Some(suoja_core::Personal::new("closed long ago".into())),
        comment: Some(CommentInput {
            body: Some(suoja_core::Personal::new("done".into())),
            html_body: None,
            public: true,
            author_id: None,
            uploads: Vec::new(),
            files: Vec::new(),
            via: Default::default(),
        }),
        requester: Some(RequesterRef::Id(suoja_core::UserId(requester))),
        status: Some(suoja_core::Status::Solved),
        tags: Some(tags),
        ..Default::default()
    };
    // 600 tickets under a tag hold, solved first, then one that no hold keeps.
    let held = app
        .helpdesk()
        .import_tickets(&app.admin_scope(), (0..600).map(|_| ticket(vec!["lawsuit".into()])).collect())
        .await
        .unwrap();
    clock.advance_ms(1000);
    let free = app.helpdesk().import_tickets(&app.admin_scope(), vec![ticket(Vec::new())]).await.unwrap();
    let (s, v) = app
        .post(
            "/api/v2/privacy/holds.json",
            json!({"hold": {"scope": "tag", "tag": "lawsuit", "ground": "legal_claims", "expires_at": "2036-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The search index is derived data (a restore rebuilds it, a re-index empties it for a
    // while): a hold by tag must not depend on it.
    let mut tx = app.helpdesk().db().begin().await.unwrap();
    suoja_search::index::clear(&mut tx, suoja_core::TenantId(app.t.tenant_id)).await.unwrap();
    tx.commit().await.unwrap();
    clock.advance_ms(731 * DAY);
    let report = app.privacy().run_retention().await.unwrap();
    let closed: u64 = report.applied.iter().filter(|(_, p, _)| *p == "closed_tickets").map(|(_, _, n)| n).sum();
    assert_eq!(closed, 1, "the one ticket no hold keeps goes in the first run: {report:?}");
    let mut c = app.helpdesk().db().read().await.unwrap();
    let t = suoja_core::TenantId(app.t.tenant_id);
    assert!(suoja_store::tickets::by_id(&mut c, t, free[0]).await.unwrap().is_none());
    let ids: Vec<i64> = held.iter().map(|i| i.0).collect();
    assert_eq!(suoja_store::graph::count_linked(&mut c, t, "tickets", "id", &ids).await.unwrap(), 600);
});

// Tickets from before the tag blind index get their rows once, at start: a tenant listed as
// pending is filled in from the sealed tags and then taken off the list.
crate::engine_test!(the_tag_index_is_filled_in_for_tickets_from_before_it, |app| async move {
    let requester = app.user("Vanha Asiakas", "old.tags@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": "Old", "comment": {"body": "from before"}, "tags": ["Lawsuit", "vip"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["ticket"]["id"].as_i64().unwrap();
    let t = suoja_core::TenantId(app.t.tenant_id);
    let hd = app.helpdesk();
    let mut c = hd.db().read().await.unwrap();
    assert_eq!(hd.tickets_with_tag(&mut c, t, "lawsuit").await.unwrap(), vec![id]);
    drop(c);
    // As a database from before the table: no rows, the tenant pending.
    for sql in [
        "DELETE FROM ticket_tags WHERE tenant_id = $1",
        "INSERT INTO ticket_tags_backfill (tenant_id) VALUES ($1)",
    ] {
        sqlx::query(sql).bind(app.t.tenant_id).execute(hd.db().write_pool()).await.unwrap();
    }
    let mut c = hd.db().read().await.unwrap();
    assert!(hd.tickets_with_tag(&mut c, t, "lawsuit").await.unwrap().is_empty());
    drop(c);
    assert_eq!(hd.backfill_ticket_tags().await.unwrap(), 1);
    let mut c = hd.db().read().await.unwrap();
    assert_eq!(hd.tickets_with_tag(&mut c, t, "LAWSUIT").await.unwrap(), vec![id]);
    assert_eq!(hd.tickets_with_tag(&mut c, t, "vip").await.unwrap(), vec![id]);
    assert!(hd.tickets_with_tag(&mut c, t, "law").await.unwrap().is_empty(), "whole tags only");
    drop(c);
    assert_eq!(hd.backfill_ticket_tags().await.unwrap(), 0, "once");
});
