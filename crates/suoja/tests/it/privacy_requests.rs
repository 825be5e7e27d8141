//! Data-subject requests over the API: intake from staff, from a signed-in person and by an
//! e-mail link; deadlines; identity checks with expiry, single use and attempt limits;
//! extensions and refusals with reasons; the inbox order; tenant isolation; the ledger.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_core::TenantId;

use crate::engine_test_clocked;
use crate::harness::TestApp;

const DAY: i64 = 86_400_000;

/// The token of the confirmation link in a message: `reference.secret`.
fn token_from(body: &str) -> String {
    let q = body.split("/privacy/confirm?token=").nth(1).expect("a confirmation link");
    q.split_whitespace().next().unwrap().to_string()
}

async fn confirm(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.call_anon(Method::POST, "/api/v2/privacy/confirmations", Some(json!({"token": token})))
        .await
}

async fn ledger_kinds(app: &TestApp) -> Vec<String> {
    let mut c = app.helpdesk().db().read().await.unwrap();
    suoja_store::ledger::page(&mut c, TenantId(app.t.tenant_id), 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

engine_test_clocked!(staff_request_link_confirmation_and_deadline, |app, clock| async move {
    let anna = app.user("Anna Äijälä", "anna@example.fi").await;
    // A letter that arrived on Friday 27 February 2026, entered on Monday 2 March.
    let (s, v) = app
        .post(
            "/api/v2/privacy/requests.json",
            json!({"request": {"kind": "access", "subject_id": anna, "channel": "letter", "received_at": "2026-02-27T10:00:00Z"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let r = &v["request"];
    assert_eq!(r["received_at"], "2026-02-27T10:00:00Z");
    // One month from 27 February is 27 March 2026, a Friday: due at the end of that day (UTC).
    assert_eq!(r["due_at"], "2026-03-27T23:59:59Z");
    assert_eq!(r["status"], "verifying", "a link went to the address on record");
    assert_eq!(r["verified"], false);
    let id = r["id"].as_i64().unwrap();

    let mail = app.outbox(anna).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "verification_link");
    let token = token_from(&mail[0].1);
    // The link carries the token and nothing else: no request number beside it. (The token is
    // random base64, so it may itself start with the digits of an id; only the parameter names
    // are checked.)
    let link = mail[0].1.lines().find(|l| l.contains("/privacy/confirm?")).unwrap();
    let query = link.split_once('?').unwrap().1;
    let names: Vec<&str> = query.split('&').map(|kv| kv.split_once('=').map_or(kv, |(k, _)| k)).collect();
    assert_eq!(names, ["token"], "the link names no request number: {}", mail[0].1);
    assert!(mail[0].1.starts_with("We received a access request") || mail[0].1.contains("access request"));

    // A wrong code counts, the right one verifies, and the link cannot be used twice.
    let (reference, _) = token.split_once('.').unwrap();
    let (s, v) = confirm(&app, &format!("{reference}.not-it")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = confirm(&app, &token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["status"], "verified");
    assert_eq!(v["request"]["id"], id);
    let (s, _) = confirm(&app, &token).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, v) = app.get(&format!("/api/v2/privacy/requests/{id}.json")).await;
    assert_eq!(v["request"]["verification"], "email_link");

    // The clock runs: past the due date the request is overdue.
    clock.advance_ms(26 * DAY);
    let (_, v) = app.get(&format!("/api/v2/privacy/requests/{id}.json")).await;
    assert_eq!(v["request"]["overdue"], true);
    assert!(v["request"]["time_left_seconds"].as_i64().unwrap() < 0);

    let kinds = ledger_kinds(&app).await;
    for k in ["request.received", "request.link_sent", "request.verification_failed", "request.verified"] {
        assert!(kinds.iter().any(|x| x == k), "ledger lacks {k}: {kinds:?}");
    }
});

engine_test_clocked!(links_expire_and_lock_after_five_wrong_codes, |app, clock| async move {
    let bea = app.user("Bea Berg", "bea@example.fi").await;
    let (_, v) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "access", "subject_id": bea}}))
        .await;
    let first = v["request"]["id"].as_i64().unwrap();
    let token = token_from(&app.outbox(bea).await[0].1);
    // After 24 hours the link is dead.
    clock.advance_ms(DAY + 1000);
    let (s, v) = confirm(&app, &token).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["description"].as_str().unwrap().contains("expired"));
    let (_, v) = app.get(&format!("/api/v2/privacy/requests/{first}.json")).await;
    assert_eq!(v["request"]["verified"], false);

    // A second request: five wrong codes lock the link, even the right code is refused, and
    // only staff review can verify it now.
    let (_, v) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "portability", "subject_id": bea}}))
        .await;
    let second = v["request"]["id"].as_i64().unwrap();
    let token = token_from(&app.outbox(bea).await[1].1);
    let (reference, _) = token.split_once('.').unwrap();
    for _ in 0..5 {
        let (s, _) = confirm(&app, &format!("{reference}.guess")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, _) = confirm(&app, &token).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, v) = app.get(&format!("/api/v2/privacy/requests/{second}.json")).await;
    assert_eq!(v["request"]["verified"], false, "a locked link verifies nothing");
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/requests/{second}/verify"),
            json!({"note": "called back on the number on file"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["verification"], "staff");
    // The note is kept with the request, sealed; not in the ledger.
    assert_eq!(v["request"]["details"]["verification_note"], "called back on the number on file");

    // At most three links a day go to one address.
    for _ in 0..3 {
        app.post("/api/v2/privacy/requests.json", json!({"request": {"kind": "access", "subject_id": bea}}))
            .await;
    }
    let links = app.outbox(bea).await.iter().filter(|(k, _)| k == "verification_link").count();
    assert_eq!(links, 1 + 3, "one link on day one, then at most three within a day: {links}");
});

engine_test_clocked!(people_ask_for_themselves_and_anonymous_answers_do_not_leak, |app, clock| async move {
    let _ = &clock;
    let (cai, cai_login) = app.end_user_with_password("Cai Carlsson", "cai@example.fi").await;
    let (dan, dan_login) = app.end_user_with_password("Dan Dahl", "dan@example.fi").await;
    // Signed in: verified by the session, received now.
    let (s, v) = app
        .call_password(
            &cai_login,
            Method::POST,
            "/api/v2/privacy/requests",
            Some(json!({"request": {"kind": "access"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["request"]["status"], "verified");
    assert_eq!(v["request"]["channel"], "portal");
    assert_eq!(v["request"]["subject_id"], cai);
    let cais = v["request"]["id"].as_i64().unwrap();
    // Not about someone else, and not someone else's request.
    let (s, _) = app
        .call_password(
            &cai_login,
            Method::POST,
            "/api/v2/privacy/requests",
            Some(json!({"request": {"kind": "access", "subject_id": dan}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call_password(&dan_login, Method::GET, &format!("/api/v2/privacy/requests/{cais}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app.call_password(&dan_login, Method::GET, "/api/v2/privacy/requests", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["count"], 0);
    // People cannot act on their own requests.
    let (s, _) = app
        .call_password(
            &cai_login,
            Method::POST,
            &format!("/api/v2/privacy/requests/{cais}/extend"),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Anonymous: the same answer for a known and an unknown address; only the known one gets a link.
    let (s1, v1) = app
        .call_anon(
            Method::POST,
            "/api/v2/privacy/requests",
            Some(json!({"request": {"kind": "erasure", "email": "dan@example.fi"}})),
        )
        .await;
    let (s2, v2) = app
        .call_anon(
            Method::POST,
            "/api/v2/privacy/requests",
            Some(json!({"request": {"kind": "erasure", "email": "nobody@example.fi"}})),
        )
        .await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(v1, v2);
    assert_eq!(v1["request"], Value::Null);
    let (_, inbox) = app.get("/api/v2/privacy/requests.json").await;
    assert_eq!(inbox["count"], 2, "Cai's, and the one for Dan's address: {inbox}");
    let links = app.outbox(dan).await;
    assert_eq!(links.len(), 1);
    assert!(links[0].1.contains("erasure request"));
    // The link points at the configured address, not at whatever host the caller claimed.
    let spoofed = app
        .client
        .post(app.url("/api/v2/privacy/requests"))
        .header("host", "evil.example")
        .json(&json!({"request": {"kind": "access", "email": "dan@example.fi"}}));
    let (s, _) = crate::harness::send(spoofed).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    for (_, body) in app.outbox(dan).await {
        assert!(!body.contains("evil.example"), "{body}");
    }
});

engine_test_clocked!(extensions_refusals_and_the_inbox_order, |app, clock| async move {
    let eve = app.user("Eve Ek", "eve@example.fi").await;
    let finn = app.user("Finn Fors", "finn@example.fi").await;
    // Two requests: the older one is due first and is listed first.
    let (_, newer) = app
        .post(
            "/api/v2/privacy/requests.json",
            json!({"request": {"kind": "access", "subject_id": eve, "channel": "email", "received_at": "2026-03-01T08:00:00Z"}}),
        )
        .await;
    let (_, older) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "rectification", "subject_id": finn, "channel": "phone", "received_at": "2026-01-30T08:00:00Z", "changes": {"phone": "+358 40 111 2222"}}}))
        .await;
    let (newer, older) = (newer["request"]["id"].as_i64().unwrap(), older["request"]["id"].as_i64().unwrap());
    let (_, inbox) = app.get("/api/v2/privacy/requests.json?status=open").await;
    let order: Vec<i64> = inbox["requests"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(order, vec![older, newer]);
    // 30 January + one month = 28 February 2026 (clamped), a Saturday → Monday 2 March.
    assert_eq!(inbox["requests"][0]["due_at"], "2026-03-02T23:59:59Z");

    // Extension: needs a reason, is told to the person, moves the due date to three months.
    let (s, _) = app.post(&format!("/api/v2/privacy/requests/{newer}/extend"), json!({"reason": "  "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/requests/{newer}/extend"),
            json!({"reason": "the request covers eleven years of tickets"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["due_at"], "2026-06-01T23:59:59Z");
    assert_eq!(v["request"]["original_due_at"], "2026-04-01T23:59:59Z");
    let (s, _) = app.post(&format!("/api/v2/privacy/requests/{newer}/extend"), json!({"reason": "again"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "only one extension");
    let notice = app.outbox(eve).await.into_iter().find(|(k, _)| k == "request_extended").expect("a notice");
    assert!(notice.1.contains("eleven years of tickets") && notice.1.contains("2026-06-01"));

    // Past the original due date an extension is too late.
    clock.advance_ms(2 * DAY);
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{older}/extend"), json!({"reason": "late"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // Refusal: a known code and a reason; the person is told how to complain; then it is closed.
    let (s, _) = app
        .post(&format!("/api/v2/privacy/requests/{older}/refuse"), json!({"code": "because", "reason": "x"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(&format!("/api/v2/privacy/requests/{older}/refuse"), json!({"code": "identity_not_confirmed"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/requests/{older}/refuse"),
            json!({"code": "identity_not_confirmed", "reason": "the caller could not confirm the address on file"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["status"], "refused");
    let notice = app.outbox(finn).await.into_iter().find(|(k, _)| k == "request_refused").expect("a notice");
    assert!(notice.1.contains("lodge a complaint") && notice.1.contains("judicial remedy") && notice.1.contains("could not confirm"));
    let (s, _) = app.post(&format!("/api/v2/privacy/requests/{older}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Closed requests sort after open ones.
    let (_, inbox) = app.get("/api/v2/privacy/requests.json").await;
    assert_eq!(inbox["requests"][0]["id"], newer);
    let (_, open) = app.get("/api/v2/privacy/requests.json?status=open").await;
    assert_eq!(open["count"], 1);

    // Reasons are in the person's sealed details, never in the ledger.
    let mut c = app.helpdesk().db().read().await.unwrap();
    for e in suoja_store::ledger::page(&mut c, TenantId(app.t.tenant_id), 0, 1000).await.unwrap() {
        assert!(!e.details.contains("eleven years") && !e.details.contains("could not confirm"), "{}", e.details);
    }
});

engine_test_clocked!(bad_privacy_input_is_refused_and_writes_nothing, |app, clock| async move {
    let _ = &clock;
    let gus = app.user("Gus Grön", "gus@example.fi").await;
    let other = app.second_tenant("two").await;
    let (_, v) = app
        .call_as(
            &other,
            Method::POST,
            "/api/v2/users.json",
            Some(json!({"user": {"name": "Hidden", "email": "hidden@two.example"}})),
        )
        .await;
    let theirs = v["user"]["id"].as_i64().unwrap();
    let cases: Vec<(Value, StatusCode)> = vec![
        (json!({"request": {"subject_id": gus}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"request": {"kind": "everything", "subject_id": gus}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"request": {"kind": "access", "subject_id": "gus"}}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"request": {"kind": "access", "subject_id": gus, "surprise": 1}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"request": {"kind": "access", "subject_id": gus, "channel": "pigeon"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"request": {"kind": "access", "subject_id": gus, "received_at": "2099-01-01T00:00:00Z"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"request": {"kind": "access", "subject_id": gus, "received_at": "yesterday"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"request": {"kind": "rectification", "subject_id": gus}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"request": {"kind": "rectification", "subject_id": gus, "changes": {"password": "x"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"request": {"kind": "rectification", "subject_id": gus, "changes": {"email": "not an address"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"request": {"kind": "access", "subject_id": 99_999_999}}), StatusCode::NOT_FOUND),
        (json!({"request": {"kind": "access", "subject_id": theirs}}), StatusCode::NOT_FOUND),
        (json!({"request": "access"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, want) in cases {
        let (s, v) = app.post("/api/v2/privacy/requests.json", body.clone()).await;
        assert_eq!(s, want, "{body} → {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let raw = app
        .req(Method::POST, "/api/v2/privacy/requests.json")
        .header("content-type", "application/json")
        .body(b"{\"request\": {\"kind\": \"acc\xffess\"}}".to_vec());
    let (s, _) = crate::harness::send(raw).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, inbox) = app.get("/api/v2/privacy/requests.json").await;
    assert_eq!(inbox["count"], 0, "nothing was written");
    assert!(app.outbox(gus).await.is_empty());
    // Unknown and other tenants' requests answer 404 on every action.
    let (_, v) = app
        .call_as(
            &other,
            Method::POST,
            "/api/v2/privacy/requests.json",
            Some(json!({"request": {"kind": "access", "subject_id": theirs}})),
        )
        .await;
    let their_request = v["request"]["id"].as_i64().unwrap();
    for path in [
        format!("/api/v2/privacy/requests/{their_request}"),
        "/api/v2/privacy/requests/424242".to_string(),
    ] {
        let (s, _) = app.get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        for (action, body) in [
            ("extend", json!({"reason": "r"})),
            ("refuse", json!({"code": "other", "reason": "r"})),
            ("fulfil", json!({})),
            ("verify", json!({"note": "n"})),
        ] {
            let (s, _) = app.post(&format!("{path}/{action}"), body).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}/{action}");
        }
    }
    let (s, _) = app.get("/api/v2/privacy/requests.json?status=weird").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
});

engine_test_clocked!(anonymous_requests_cannot_flood_the_inbox, |app, clock| async move {
    let _ = &clock;
    app.user("Olli Ojala", "olli@example.fi").await;
    for _ in 0..10 {
        let (s, _) = app
            .call_anon(
                Method::POST,
                "/api/v2/privacy/requests",
                Some(json!({"request": {"kind": "access", "email": "olli@example.fi"}})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    let (_, inbox) = app.get("/api/v2/privacy/requests.json").await;
    assert_eq!(inbox["count"], 3, "only as many requests as links a day: {inbox}");
});
