//! The breach register over the API: the 72-hour clock with a moved clock, a late notification
//! that needs its reasons, scoping by what one token read (exactly those people, not the ones
//! other credentials read or the same token read outside the window), by what one node of two
//! on the same database served, by tickets through the
//! data map, the authority's notification in English and Finnish (JSON and PDF), the people's
//! notices once per person in their language, bad input that saves nothing, tenancy, and a
//! ledger that names ids only.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_core::TenantId;

use crate::harness::{Tenant, TestApp};
use crate::{engine_test_clocked, engine_test_configured};

const HOUR: i64 = 3_600_000;

async fn ledger(app: &TestApp) -> Vec<(String, Option<i64>, String)> {
    let mut c = app.helpdesk().db().read().await.unwrap();
    suoja_store::ledger::page(&mut c, TenantId(app.t.tenant_id), 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.subject, e.details))
        .collect()
}

fn now_iso(clock: &suoja_core::clock::ManualClock, offset_ms: i64) -> String {
    suoja_core::Timestamp(suoja_core::Clock::now(clock).0 + offset_ms).to_iso()
}

async fn people(app: &TestApp, breach: i64) -> Value {
    let (s, v) = app.get(&format!("/api/v2/privacy/breaches/{breach}/people.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn ids(v: &Value) -> BTreeSet<i64> {
    v["people"].as_array().unwrap().iter().map(|p| p["user_id"].as_i64().unwrap()).collect()
}

/// A second API token of the tenant, as a caller acting as `email`.
async fn token_for(app: &TestApp, email: &str) -> (i64, Tenant) {
    let (s, v) = app.post("/api/v2/api_tokens.json", json!({"api_token": {"description": "CRM sync"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let caller = Tenant {
        email: email.into(),
        token: v["api_token"]["token"].as_str().unwrap().into(),
        admin_id: 0,
        tenant_id: app.t.tenant_id,
    };
    (v["api_token"]["id"].as_i64().unwrap(), caller)
}

engine_test_clocked!(a_token_window_finds_exactly_the_people_that_token_read, |app, clock| async move {
    let anna = app.user("Anna Virtanen", "anna@example.fi").await;
    let bertta = app.user("Bertta Virtanen", "bertta@example.fi").await;
    let celia = app.user("Celia Anna Korhonen", "celia@example.fi").await;
    let daniel = app.user("Daniel Ted", "daniel@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aatu Agentti", "email": "aatu@example.fi", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let aatu = v["user"]["id"].as_i64().unwrap();
    let eino = app.user("Eino Leino", "eino@example.fi").await;
    let fanni = app.user("Fanni Ted", "fanni@example.fi").await;
    let ta = app.ticket(anna, "Lasku", "Laskussa on virhe").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": bertta, "subject": "Invoice", "comment": {"body": "It started yesterday"}, "collaborator_ids": [eino]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let tb = v["ticket"]["id"].as_i64().unwrap();
    // Fanni answers on Bertta's ticket (an agent adds her words, as from a phone call).
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{tb}.json"),
            json!({"ticket": {"comment": {"body": "Same here, call me", "author_id": fanni}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tc = app.ticket(celia, "Salasana", "Unohdin salasanan").await;
    let td = app.ticket(daniel, "Delivery", "Where is it?").await;
    let (leaked_id, leaked) = token_for(&app, "aatu@example.fi").await;
    let (_, other) = token_for(&app, "aatu@example.fi").await;
    let (lister_id, lister) = token_for(&app, &app.t.email).await;

    clock.advance_ms(HOUR);
    let from = now_iso(&clock, 0);
    // Inside the window: the leaked token reads Anna's and Bertta's tickets; another token of
    // the same agent reads Daniel's, and the admin's own token reads Celia's.
    for t in [ta, tb] {
        let (s, v) = app.call_as(&leaked, Method::GET, &format!("/api/v2/tickets/{t}.json"), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // Reading a ticket's comments shows every writer's words.
    let (s, v) = app.call_as(&leaked, Method::GET, &format!("/api/v2/tickets/{tb}/comments.json"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app.call_as(&other, Method::GET, &format!("/api/v2/tickets/{td}.json"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get(&format!("/api/v2/tickets/{tc}.json")).await;
    assert_eq!(s, StatusCode::OK);
    // A third token lists tickets: every requester's words, and the CC by id.
    let (s, v) = app.call_as(&lister, Method::GET, "/api/v2/tickets.json", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    clock.advance_ms(HOUR);
    let to = now_iso(&clock, 0);
    // After the window: the leaked token reads Daniel's.
    clock.advance_ms(HOUR);
    let (s, _) = app.call_as(&leaked, Method::GET, &format!("/api/v2/tickets/{td}.json"), None).await;
    assert_eq!(s, StatusCode::OK);

    let (s, v) = app
        .post(
            "/api/v2/privacy/breaches.json",
            json!({"breach": {"aware_at": now_iso(&clock, 0), "description": "An integration's API token was published in a public repository.",
                "data_categories": ["identifier"], "people_categories": ["customers"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["breach"]["id"].as_i64().unwrap();
    let (s, v) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}/scope.json"),
            json!({"scope": [{"kind": "token_reads", "token_id": leaked_id, "from": from, "to": to}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["affected"]["people"], 4, "{v}");
    let found = people(&app, id).await;
    // The requesters, the CC on a ticket it read, and the writer of a comment it read; not
    // Celia (read by the admin's token) nor Daniel (read by another token, and later by this one).
    assert_eq!(ids(&found), BTreeSet::from([anna, bertta, eino, fanni]), "{found}");
    let of = |u: i64| found["people"].as_array().unwrap().iter().find(|p| p["user_id"] == u).unwrap().clone();
    assert_eq!(
        of(anna)["categories"],
        json!(["contact", "content", "identifier"]),
        "ticket.viewed shows no files"
    );
    assert_eq!(
        of(fanni)["categories"],
        json!(["contact", "content", "file", "identifier"]),
        "her comment was read"
    );
    assert_eq!(of(eino)["categories"], json!(["identifier"]), "a CC is named on the ticket by id");
    assert_eq!(found["affected"]["by_category"]["content"]["people"], 3);

    // Listing reads everyone the tickets name: requesters by their words, the CC by id only.
    let (s, _) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}/scope.json"),
            json!({"scope": [{"kind": "token_reads", "token_id": lister_id, "from": from, "to": to}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let listed = people(&app, id).await;
    assert_eq!(ids(&listed), BTreeSet::from([anna, bertta, celia, daniel, eino]), "{listed}");
    let cats = |u: i64| listed["people"].as_array().unwrap().iter().find(|p| p["user_id"] == u).unwrap()["categories"].clone();
    assert_eq!(cats(eino), json!(["identifier"]), "{listed}");
    assert_eq!(cats(bertta), json!(["content", "identifier"]), "{listed}");

    // The same member of staff over every credential, in the same window: Daniel too (read
    // with the other token), never Celia (the admin read her ticket).
    let (s, v) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}/scope.json"),
            json!({"scope": [{"kind": "staff_reads", "user_id": aatu, "from": from, "to": to}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&people(&app, id).await), BTreeSet::from([anna, bertta, daniel, eino, fanni]));

    // The scope is kept with the breach (sealed), shown back as given.
    let (_, v) = app.get(&format!("/api/v2/privacy/breaches/{id}.json")).await;
    assert_eq!(v["breach"]["scope"][0]["kind"], "staff_reads", "{v}");
    assert_eq!(v["breach"]["scope"][0]["from"], from);
});

engine_test_configured!(
    a_node_window_finds_the_people_that_node_served_and_no_one_another_node_served,
    |s| { s.node_name = Some("help-a".into()) },
    |app, clock| async move {
        // Shared first and family names, and a name inside a word of another's ticket.
        let ted = app.user("Ted Virtanen", "ted@example.fi").await;
        let ted2 = app.user("Ted Korhonen", "ted.k@example.fi").await;
        let aino = app.user("Aino Virtanen", "aino@example.fi").await;
        let t1 = app.ticket(ted, "Lasku", "Laskussa on virhe").await;
        let t2 = app.ticket(ted2, "Delivery", "It started yesterday, Ted here").await;
        let t3 = app.ticket(aino, "Salasana", "Unohdin salasanan").await;
        let (b, b_base) = app.second_node("help-b", std::sync::Arc::new(clock.clone())).await;
        let on_b = |path: &str| app.req(Method::GET, &format!("{b_base}{path}"));

        clock.advance_ms(HOUR);
        let from = now_iso(&clock, 0);
        // Inside the window: node a serves Ted Virtanen's ticket, node b Ted Korhonen's, with
        // the same credential (a proxy spreads one integration's requests over both).
        let (s, _) = app.get(&format!("/api/v2/tickets/{t1}.json")).await;
        assert_eq!(s, StatusCode::OK);
        let r = on_b(&format!("/api/v2/tickets/{t2}.json")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        clock.advance_ms(HOUR);
        let to = now_iso(&clock, 0);
        // After the window node a serves Aino's.
        clock.advance_ms(HOUR);
        let (s, _) = app.get(&format!("/api/v2/tickets/{t3}.json")).await;
        assert_eq!(s, StatusCode::OK);
        // Each node writes its own reads (every few hundred milliseconds; at once here).
        b.privacy.flush_consultations().await.unwrap();
        app.privacy().flush_consultations().await.unwrap();

        let (s, v) = app
            .post(
                "/api/v2/privacy/breaches.json",
                json!({"breach": {"aware_at": now_iso(&clock, 0), "description": "A server's memory was read by an attacker."}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["breach"]["id"].as_i64().unwrap();
        for (node, expected) in [("help-a", BTreeSet::from([ted])), ("help-b", BTreeSet::from([ted2]))] {
            let (s, v) = app
                .put(
                    &format!("/api/v2/privacy/breaches/{id}/scope.json"),
                    json!({"scope": [{"kind": "node_reads", "node": node, "from": from, "to": to}]}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let found = people(&app, id).await;
            assert_eq!(ids(&found), expected, "{node}: {found}");
            assert_eq!(found["people"][0]["categories"], json!(["contact", "content", "identifier"]), "{found}");
        }
        // The whole day on node a: Aino too, never Ted Korhonen.
        let (s, _) = app
            .put(
                &format!("/api/v2/privacy/breaches/{id}/scope.json"),
                json!({"scope": [{"kind": "node_reads", "node": "help-a", "from": now_iso(&clock, -10 * HOUR), "to": now_iso(&clock, 0)}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(ids(&people(&app, id).await), BTreeSet::from([ted, aino]));
        let (_, v) = app.get(&format!("/api/v2/privacy/breaches/{id}.json")).await;
        assert_eq!(
            v["breach"]["scope"][0],
            json!({"kind": "node_reads", "node": "help-a", "from": now_iso(&clock, -10 * HOUR), "to": now_iso(&clock, 0)})
        );

        // A name no node ever had is refused, not taken for "nobody"; the scope stays.
        for (body, field) in [
            (json!({"kind": "node_reads", "node": "help-c", "from": from, "to": to}), "help-c"),
            (json!({"kind": "node_reads", "node": " ", "from": from, "to": to}), "node"),
            (json!({"kind": "node_reads", "node": "help-a", "from": to, "to": from}), "start"),
            (json!({"kind": "node_reads", "node": "help-a", "from": from}), "to"),
        ] {
            let (s, v) = app.put(&format!("/api/v2/privacy/breaches/{id}/scope.json"), json!({"scope": [body]})).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert!(v.to_string().contains(field), "{field}: {v}");
        }
        assert_eq!(ids(&people(&app, id).await), BTreeSet::from([ted, aino]));
        b.stop().await.unwrap();
    }
);

engine_test_clocked!(
    the_clock_runs_from_awareness_and_a_late_notification_needs_its_reasons,
    |app, clock| async move {
        let (s, v) = app
        .post(
            "/api/v2/privacy/breaches.json",
            json!({"breach": {"aware_at": now_iso(&clock, -2 * HOUR), "occurred_at": now_iso(&clock, -30 * HOUR), "description": "A misdirected export e-mail."}}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let b = &v["breach"];
        let id = b["id"].as_i64().unwrap();
        assert_eq!(b["state"], "open");
        assert_eq!(b["authority_notification_due_at"], now_iso(&clock, 70 * HOUR));
        assert_eq!(b["time_left_seconds"], 70 * 3600);
        assert_eq!(b["overdue"], false);

        clock.advance_ms(71 * HOUR);
        let (_, v) = app.get(&format!("/api/v2/privacy/breaches/{id}.json")).await;
        assert_eq!(v["breach"]["overdue"], true, "{v}");
        assert_eq!(v["breach"]["time_left_seconds"], -3600);
        let (_, list) = app.get("/api/v2/privacy/breaches.json").await;
        assert_eq!(list["breaches"][0]["overdue"], true);

        // No contact point: no notification yet.
        let (s, v) = app.get(&format!("/api/v2/privacy/breaches/{id}/notification.json")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains("contact"), "{v}");
        let (s, v) = app
            .put(
                &format!("/api/v2/privacy/breaches/{id}.json"),
                json!({"breach": {"contact": "Pirjo Tietosuoja, dpo@example.fi"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // Late without reasons: refused, and nothing changed.
        let (s, v) = app
            .post(
                &format!("/api/v2/privacy/breaches/{id}/authority_notified.json"),
                json!({"notification": {"reference": "TSV-1"}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains("delay_reason"), "{v}");
        let (_, v) = app.get(&format!("/api/v2/privacy/breaches/{id}.json")).await;
        assert_eq!(
            (v["breach"]["state"].as_str(), v["breach"]["authority_reference"].as_str()),
            (Some("open"), Some(""))
        );
        let (s, v) = app
            .post(
                &format!("/api/v2/privacy/breaches/{id}/authority_notified.json"),
                json!({"notification": {"reference": "TSV-1", "delay_reason": "The extent was known only after the logs were restored."}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["breach"]["state"], "authority_notified");
        assert_eq!(v["breach"]["time_left_seconds"], Value::Null);
        let (s, v) = app.get(&format!("/api/v2/privacy/breaches/{id}/notification.json?locale=fi")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let n = &v["notification"];
        assert_eq!((n["late"].as_bool(), n["language"].as_str()), (Some(true), Some("fi")));
        assert_eq!(n["delay_reason"], "The extent was known only after the logs were restored.");
        assert_eq!(n["consequences"], Value::Null, "to follow");
        // Recorded once.
        let (s, _) = app
            .post(&format!("/api/v2/privacy/breaches/{id}/authority_notified.json"), json!({"notification": {}}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        // What the authority was told is not undone afterwards: the moment of awareness, the
        // reasons for the delay, the contact point, the decision to notify.
        for (body, field) in [
            (json!({"breach": {"aware_at": now_iso(&clock, -100 * HOUR)}}), "aware_at"),
            (json!({"breach": {"delay_reason": ""}}), "delay_reason"),
            (json!({"breach": {"contact": ""}}), "contact"),
            (json!({"breach": {"notify_authority": false}}), "notify_authority"),
        ] {
            let (s, v) = app.put(&format!("/api/v2/privacy/breaches/{id}.json"), body.clone()).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
            assert!(v.to_string().contains(field), "{body}: {v}");
        }

        // Closing needs the decision about the people.
        let (s, v) = app.post(&format!("/api/v2/privacy/breaches/{id}/close.json"), json!({})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, _) = app
            .put(
                &format!("/api/v2/privacy/breaches/{id}.json"),
                json!({"breach": {"notify_people": false, "people_reasoning": "The message was deleted unread."}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = app.post(&format!("/api/v2/privacy/breaches/{id}/close.json"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["breach"]["state"], "closed");
        let (s, _) = app
            .put(&format!("/api/v2/privacy/breaches/{id}.json"), json!({"breach": {"measures": "more"}}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "a closed record does not change");

        // Every step is in the ledger, which names the breach and holds none of its text.
        let entries = ledger(&app).await;
        let kinds: Vec<&str> = entries.iter().map(|(k, _, _)| k.as_str()).filter(|k| k.starts_with("breach.")).collect();
        assert_eq!(
            kinds,
            [
                "breach.recorded",
                "breach.updated",
                "breach.authority_notified",
                "breach.updated",
                "breach.closed"
            ]
        );
        for (_, _, details) in &entries {
            assert!(
                !details.contains("misdirected") && !details.contains("Pirjo") && !details.contains("restored"),
                "{details}"
            );
        }
        let (s, v) = app.get("/api/v2/privacy/ledger/verify.json").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v["ledger"]["broken"].is_null(), "{v}");
        // The register for an authority lists it with its reasons.
        let (s, v) = app.get("/api/v2/privacy/breaches/register.json").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["register"]["breaches"][0]["late"], true);
        assert_eq!(v["register"]["breaches"][0]["people_reasoning"], "The message was deleted unread.");
    }
);

engine_test_clocked!(notices_go_once_to_each_person_in_their_language, |app, clock| async move {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aino Mäkelä", "email": "aino@example.fi", "locale": "fi"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let aino = v["user"]["id"].as_i64().unwrap();
    let ted = app.user("Ted Started", "ted@example.com").await;
    let cc = app.user("Anna Ted", "anna.ted@example.com").await;
    let bystander = app.user("Aino Ted Korhonen", "aino.k@example.fi").await;
    let t1 = app.ticket(aino, "Lasku", "Laskussa on virhe").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": ted, "subject": "Order", "comment": {"body": "It started on Monday"}, "collaborator_ids": [cc], "assignee_id": app.t.admin_id}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t2 = v["ticket"]["id"].as_i64().unwrap();
    let other = app.ticket(bystander, "Muu asia", "Ei liity").await;

    let (_, v) = app
        .post(
            "/api/v2/privacy/breaches.json",
            json!({"breach": {"aware_at": now_iso(&clock, -HOUR), "description": "Two tickets were shown to the wrong customer."}}),
        )
        .await;
    let id = v["breach"]["id"].as_i64().unwrap();
    let before_any = (app.outbox(aino).await, app.outbox(ted).await);
    // Scoped by tickets: the people the map links to them, nobody else.
    let (s, v) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}/scope.json"),
            json!({"scope": [{"kind": "tickets", "ids": [t1, t2]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let found = people(&app, id).await;
    let expected = BTreeSet::from([aino, ted, cc, app.t.admin_id]);
    assert_eq!(ids(&found), expected, "whoever the map links to the tickets, nobody else: {found}");
    let of = |u: i64| found["people"].as_array().unwrap().iter().find(|p| p["user_id"] == u).unwrap().clone();
    // The requester's words and fields are theirs; the CC and the assignee are named there.
    assert_eq!(of(ted)["categories"], json!(["contact", "content", "identifier", "profile"]), "{found}");
    assert_eq!(of(ted)["records"], 2, "the ticket and its first comment, each once: {found}");
    assert_eq!(of(cc)["categories"], json!(["contact", "identifier"]), "{found}");
    assert_eq!(of(app.t.admin_id)["categories"], json!(["contact", "identifier"]), "{found}");

    // Notices need what they must say.
    let (s, v) = app.post(&format!("/api/v2/privacy/breaches/{id}/notify_people.json"), json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("contact"), "{v}");
    assert_eq!((app.outbox(aino).await, app.outbox(ted).await), before_any, "nothing was queued");
    let (s, _) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}.json"),
            json!({"breach": {"contact": "Pirjo, dpo@example.fi", "people_summary": "A reply meant for you was shown to another customer.",
                "consequences": "They may have seen your name and your message.", "measures": "We removed it and checked every reply since.",
                "data_categories": ["special"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Sent twice at once: each person still gets one notice.
    let path = format!("/api/v2/privacy/breaches/{id}/notify_people.json");
    let ((s1, v1), (s2, v2)) = tokio::join!(app.post(&path, json!({})), app.post(&path, json!({})));
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{v1} {v2}");
    let queued = v1["notices"]["queued"].as_i64().unwrap() + v2["notices"]["queued"].as_i64().unwrap();
    assert_eq!(queued, i64::try_from(expected.len()).unwrap(), "{v1} {v2}");
    let notice = |mail: Vec<(String, String)>| -> Value {
        let found: Vec<_> = mail.into_iter().filter(|(k, _)| k == "breach_notice").collect();
        assert_eq!(found.len(), 1, "one notice");
        serde_json::from_str(&found[0].1).unwrap()
    };
    let fi = notice(app.outbox(aino).await);
    assert!(fi["subject"].as_str().unwrap().contains("tietoturvaloukkaus"), "{fi}");
    assert!(fi["text"].as_str().unwrap().contains("Mitä tapahtui: A reply meant for you"), "{fi}");
    let en = notice(app.outbox(ted).await);
    assert!(en["subject"].as_str().unwrap().contains("security incident"), "{en}");
    assert!(
        en["text"].as_str().unwrap().contains("special categories of data"),
        "what the record says was exposed: {en}"
    );
    assert!(en["text"].as_str().unwrap().contains("Who to contact: Pirjo"), "{en}");
    // Each notice names the person's own categories and nobody else.
    for n in [&fi, &en] {
        let text = n["text"].as_str().unwrap();
        for name in ["Aino", "Ted", "Anna", "Korhonen", "Mäkelä"] {
            assert!(!text.contains(name), "{name} in a notice: {text}");
        }
    }
    assert!(
        app.outbox(bystander).await.iter().all(|(k, _)| k != "breach_notice"),
        "not on the tickets: not told"
    );

    // Again: nobody twice.
    let (s, v) = app.post(&format!("/api/v2/privacy/breaches/{id}/notify_people.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["notices"]["queued"].as_i64(), v["notices"]["notified_before"].as_i64()),
        (Some(0), Some(queued))
    );
    assert_eq!(notice(app.outbox(aino).await), fi);
    // One ledger entry per person, naming them by id and holding no text.
    let told: Vec<_> = ledger(&app).await.into_iter().filter(|(k, _, _)| k == "breach.person_notified").collect();
    assert_eq!(told.len(), expected.len());
    assert_eq!(told.iter().filter_map(|(_, s, _)| *s).collect::<BTreeSet<_>>(), expected);
    assert!(told.iter().all(|(_, _, d)| !d.contains("reply")), "{told:?}");
    // Rescoped to one ticket and a new one: everyone told stays on record as told, and the
    // breach does not close while someone who can be written to is untold.
    let (s, _) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}/scope.json"),
            json!({"scope": [{"kind": "tickets", "ids": [t1, other]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let again = people(&app, id).await;
    let mut now_expected = expected.clone();
    now_expected.insert(bystander);
    assert_eq!(ids(&again), now_expected, "{again}");
    let told_now = again["people"].as_array().unwrap().iter().filter(|p| p["notified_at"].is_string()).count();
    assert_eq!(told_now, expected.len(), "{again}");
    let (s, _) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}.json"),
            json!({"breach": {"notify_authority": false, "authority_reasoning": "No risk to rights and freedoms."}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.post(&format!("/api/v2/privacy/breaches/{id}/close.json"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "the bystander is untold: {v}");
    let (_, v) = app.post(&path, json!({})).await;
    assert_eq!(v["notices"]["queued"], 1, "{v}");
    let (s, v) = app.post(&format!("/api/v2/privacy/breaches/{id}/close.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The authority's notification as a PDF, in Finnish: it opens and reads.
    let r = app
        .req(Method::GET, &format!("/api/v2/privacy/breaches/{id}/notification?format=pdf&locale=fi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Ilmoitus henkilötietojen tietoturvaloukkauksesta"), "{text}");
        assert!(text.contains("(b) Yhteyspiste lisätietoja varten"), "{text}");
        assert!(text.contains("Pirjo, dpo@example.fi"), "{text}");
    }
});

/// The text of a PDF by `pdftotext`, when it is installed (CI installs it).
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = crate::harness::TempDir::new();
    let path = dir.0.join("n.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output().ok()?;
    assert!(out.status.success(), "pdftotext could not read the notification");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

engine_test_clocked!(bad_breach_input_is_refused_and_saves_nothing, |app, clock| async move {
    let anna = app.user("Anna Virtanen", "anna@example.fi").await;
    let ta = app.ticket(anna, "Lasku", "Laskussa on virhe").await;
    for (body, field) in [
        (json!({"breach": {"aware_at": now_iso(&clock, HOUR), "description": "x"}}), "aware_at"),
        (json!({"breach": {"description": "x"}}), "aware_at"),
        (json!({"breach": {"aware_at": "yesterday", "description": "x"}}), "aware_at"),
        (json!({"breach": {"aware_at": now_iso(&clock, 0)}}), "description"),
        (
            json!({"breach": {"aware_at": now_iso(&clock, 0), "description": "x", "data_categories": ["names"]}}),
            "data_categories",
        ),
        (
            json!({"breach": {"aware_at": now_iso(&clock, 0), "description": "x", "notify_people": "yes"}}),
            "notify_people",
        ),
        (
            json!({"breach": {"aware_at": now_iso(&clock, -HOUR), "occurred_at": now_iso(&clock, 0), "description": "x"}}),
            "occurred_at",
        ),
        (
            json!({"breach": {"aware_at": now_iso(&clock, 0), "description": "x", "colour": "red"}}),
            "colour",
        ),
    ] {
        let (s, v) = app.post("/api/v2/privacy/breaches.json", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v.to_string().contains(field), "{body}: {v}");
    }
    let (_, v) = app.get("/api/v2/privacy/breaches.json").await;
    assert_eq!(v["count"], 0, "nothing half-saved: {v}");
    assert!(ledger(&app).await.iter().all(|(k, _, _)| !k.starts_with("breach.")));

    let (_, v) = app
        .post(
            "/api/v2/privacy/breaches.json",
            json!({"breach": {"aware_at": now_iso(&clock, 0), "description": "A lost phone."}}),
        )
        .await;
    let id = v["breach"]["id"].as_i64().unwrap();
    let (s, _) = app
        .put(
            &format!("/api/v2/privacy/breaches/{id}/scope.json"),
            json!({"scope": [{"kind": "tickets", "ids": [ta]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let before = people(&app, id).await;
    // Another tenant's ticket is a missing one; so is an unknown id; a window backwards, an
    // unknown kind, too many things or none: refused, and the scope is as it was.
    let other = app.second_tenant("toinen").await;
    let (_, v) = app
        .call_as(
            &other,
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "Oma", "comment": {"body": "oma"}}})),
        )
        .await;
    let foreign = v["ticket"]["id"].as_i64().unwrap();
    let too_many: Vec<Value> = (0..21).map(|_| json!({"kind": "tickets", "ids": [ta]})).collect();
    for scope in [
        json!([{"kind": "tickets", "ids": [ta, foreign]}]),
        json!([{"kind": "tickets", "ids": [999_999]}]),
        json!([{"kind": "tickets", "ids": []}]),
        json!([{"kind": "token_reads", "token_id": 1, "from": now_iso(&clock, 0), "to": now_iso(&clock, -HOUR)}]),
        json!([{"kind": "token_reads", "token_id": 1, "from": now_iso(&clock, 0)}]),
        json!([{"kind": "everything"}]),
        json!([{"kind": "organization", "id": 999_999}]),
        json!([{"kind": "token_reads", "token_id": 999_999, "from": now_iso(&clock, -HOUR), "to": now_iso(&clock, 0)}]),
        json!([{"kind": "staff_reads", "user_id": anna, "from": now_iso(&clock, -HOUR), "to": now_iso(&clock, 0)}]),
        json!([{"kind": "tag", "tag": "no-such-tag"}]),
        json!([{"kind": "export_package", "id": "nope"}]),
        json!([]),
        json!(too_many),
        json!("tickets"),
    ] {
        let (s, v) = app.put(&format!("/api/v2/privacy/breaches/{id}/scope.json"), json!({ "scope": scope })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{scope}: {v}");
        assert_eq!(people(&app, id).await, before, "{scope}");
    }
    // Another tenant sees none of it.
    let (s, _) = app.call_as(&other, Method::GET, &format!("/api/v2/privacy/breaches/{id}.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call_as(
            &other,
            Method::PUT,
            &format!("/api/v2/privacy/breaches/{id}/scope.json"),
            Some(json!({"scope": [{"kind": "tickets", "ids": [foreign]}]})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = app.call_as(&other, Method::GET, "/api/v2/privacy/breaches.json", None).await;
    assert_eq!(v["count"], 0);
    // Format and locale are checked.
    let (s, _) = app.get(&format!("/api/v2/privacy/breaches/{id}/notification.json?locale=sv")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
});

// A breach scoped by a search or a view finds exactly the people on the tickets it selects (and
// one scoped by a copy made at a time, everyone on record then and no one after):
// a word that is part of another word, or a name shared with someone elsewhere, brings in no
// one else; a search that finds too much or nothing, an unknown view, a bad query: refused,
// nothing saved. Scoping notes no read in anyone's consultation log.
engine_test_clocked!(a_search_or_a_view_scopes_a_breach_to_exactly_its_tickets, |app, clock| async move {
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let other_ted = app.user("Ted Korhonen", "ted.k@example.fi").await;
    let aino = app.user("Aino Mäkelä", "aino@example.fi").await;
    let leak = app
        .ticket(ted, "Vuotanut lasku", "Laskutusvirhe: invoice-4711 lähti väärälle. Terveisin Virtanen")
        .await;
    app.ticket(other_ted, "Started again", "The process started again after the restart.").await;
    let pending = app.ticket(aino, "Odottaa", "Odotan vastausta.").await;
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{pending}.json"), json!({"ticket": {"status": "pending"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/privacy/breaches.json",
            json!({"breach": {"aware_at": now_iso(&clock, -HOUR), "description": "Search results e-mailed out."}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["breach"]["id"].as_i64().unwrap();
    app.privacy().flush_consultations().await.unwrap();
    let reads_before: i64 = {
        let mut c = app.helpdesk().db().read().await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM consultations").fetch_one(&mut c).await.unwrap()
    };
    let scope = |body: Value| {
        let app = &app;
        async move { app.put(&format!("/api/v2/privacy/breaches/{id}/scope.json"), json!({ "scope": body })).await }
    };

    let admin = app.t.admin_id;
    // A word that is also a person's name: the tickets count, the person's profile does not.
    for query in ["invoice-4711", "Virtanen"] {
        let (s, v) = scope(json!([{"kind": "search", "query": query}])).await;
        assert_eq!(s, StatusCode::OK, "{query}: {v}");
        let found = ids(&people(&app, id).await);
        assert!(
            found.contains(&ted) && !found.contains(&other_ted) && !found.contains(&aino),
            "{query}: {found:?}"
        );
        assert!(found.iter().all(|p| [ted, admin].contains(p)), "only the ticket's people: {found:?}");
    }
    let (_, b) = app.get(&format!("/api/v2/privacy/breaches/{id}.json")).await;
    assert_eq!(b["breach"]["scope"][0]["ids"], json!([leak]), "resolved to the ticket: {b}");

    let (s, v) = scope(json!([{"kind": "view", "view": " Pending"}])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let found = ids(&people(&app, id).await);
    assert!(found.contains(&aino) && !found.contains(&ted) && !found.contains(&other_ted), "{found:?}");
    // What the view held is kept: the ticket leaving it later, and another scope added to the
    // stored one, still find Aino.
    let (_, b) = app.get(&format!("/api/v2/privacy/breaches/{id}.json")).await;
    let stored = b["breach"]["scope"][0].clone();
    assert_eq!(stored, json!({"kind": "view", "view": "pending", "ids": [pending]}), "{b}");
    let (s, _) = app.put(&format!("/api/v2/tickets/{pending}.json"), json!({"ticket": {"status": "open"}})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = scope(json!([stored, {"kind": "tickets", "ids": [leak]}])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let found = ids(&people(&app, id).await);
    assert!(found.contains(&aino) && found.contains(&ted), "{found:?}");
    let (s, v) = scope(json!([{"kind": "view", "view": "pending"}])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a fresh look at the view finds it empty now: {v}");

    for (body, why) in [
        (json!([{"kind": "view", "view": "everything"}]), "no view is called that"),
        (json!([{"kind": "view", "view": "999999"}]), "no view is called that"),
        (json!([{"kind": "view", "view": "mine"}]), "whoever opens it"),
        (json!([{"kind": "search", "query": "type:user Virtanen"}]), "tickets only"),
        (json!([{"kind": "search", "query": "nosuchwordanywhere"}]), "finds no ticket"),
        (json!([{"kind": "search", "query": "status:bogus"}]), "status"),
        (json!([{"kind": "search"}]), "query"),
    ] {
        let (s, v) = scope(body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v.to_string().contains(why), "{body}: {v}");
    }
    let found = ids(&people(&app, id).await);
    assert!(found.contains(&aino) && found.contains(&ted), "a refused scope changes nothing: {found:?}");

    // A backup made an hour ago holds everyone then, and no one who came after.
    let backup_at = now_iso(&clock, 0);
    clock.advance_ms(HOUR);
    let ulla = app.user("Ulla Uusi", "ulla@example.fi").await;
    app.ticket(ulla, "Uusi asia", "Kirjoitin tänään.").await;
    // Copied later onto an older ticket: not in the copy either.
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{leak}.json"), json!({"ticket": {"collaborator_ids": [ulla]}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = scope(json!([{"kind": "snapshot", "at": backup_at}])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let found = ids(&people(&app, id).await);
    assert!([ted, other_ted, aino].iter().all(|p| found.contains(p)) && !found.contains(&ulla), "{found:?}");
    let (s, v) = scope(json!([{"kind": "snapshot", "at": now_iso(&clock, HOUR)}])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, b) = app.get(&format!("/api/v2/privacy/breaches/{id}.json")).await;
    assert_eq!(b["breach"]["scope"], json!([{"kind": "snapshot", "at": backup_at}]), "{b}");
    app.privacy().flush_consultations().await.unwrap();
    let reads_after: i64 = {
        let mut c = app.helpdesk().db().read().await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM consultations").fetch_one(&mut c).await.unwrap()
    };
    assert_eq!(reads_before, reads_after, "scoping reads nobody's data");
});
