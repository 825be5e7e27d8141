//! Ticket audits: every change recorded with its previous values (personal ones sealed, never in
//! the stored events), read back per ticket and across the account, and reached by redaction
//! and erasure in the subjects a ticket had before, without touching anyone else's.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::{engine_test, engine_test_clocked};

/// Every event of a ticket's audits, in order, with its audit's id.
async fn events(app: &TestApp, ticket: i64) -> Vec<(i64, Value)> {
    let (s, v) = app.get(&format!("/api/v2/tickets/{ticket}/audits.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["audits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["events"].as_array().unwrap().iter().map(|e| (a["id"].as_i64().unwrap(), e.clone())))
        .collect()
}

fn find<'a>(events: &'a [(i64, Value)], kind: &str, field: &str) -> Vec<&'a Value> {
    events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e["type"] == kind && e["field_name"] == field)
        .collect()
}

/// The stored events column of a ticket's audits, as the database holds it.
async fn stored_events(app: &TestApp, ticket: i64) -> String {
    let mut c = app.helpdesk().db().read().await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT events FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id")
        .bind(app.t.tenant_id)
        .bind(ticket)
        .fetch_all(&mut c)
        .await
        .unwrap();
    rows.join("\n")
}

engine_test!(
    every_change_is_audited_with_its_previous_values_and_personal_values_stay_sealed,
    |app| async move {
        let office = app.text_field("Office").await;
        let requester = app.user("Maija Virtanen", "maija.virtanen@example.fi").await;
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"requester_id": requester, "subject": "Printer on fire", "tags": ["hardware"], "priority": "low",
                "custom_fields": [{"id": office, "value": "Kerava office"}], "comment": {"body": "Smoke from the printer"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let t = v["ticket"]["id"].as_i64().unwrap();
        // The answer's audit is the stored one.
        let created_audit = v["audit"]["id"].as_i64().unwrap();
        assert!(created_audit > 0, "{v}");

        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}.json"),
                json!({"ticket": {"status": "open", "priority": "high", "subject": "Printer fixed", "additional_tags": ["urgent"],
                "custom_fields": [{"id": office, "value": "Tuusula office"}], "comment": {"body": "Replaced the fuser", "public": false}}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // Setting what a ticket already has changes nothing and records nothing.
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}.json"),
                json!({"ticket": {"priority": "high", "subject": "Printer fixed"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = app
            .put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"comment": {"body": "It works again"}}}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let reply = v["audit"]["events"].as_array().unwrap().iter().find(|e| e["type"] == "Comment").unwrap()["id"]
            .as_i64()
            .unwrap();
        let (s, v) = app.put(&format!("/api/v2/tickets/{t}/comments/{reply}/make_private.json"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");

        let all = events(&app, t).await;
        let audits: std::collections::BTreeSet<i64> = all.iter().map(|(a, _)| *a).collect();
        assert_eq!(audits.len(), 4, "create, change, reply, made private: {all:#?}");
        assert_eq!(*audits.first().unwrap(), created_audit);

        // The create audit: the values the ticket was opened with, though some changed since.
        let created: Vec<(i64, Value)> = all.iter().filter(|(a, _)| *a == created_audit).cloned().collect();
        assert_eq!(find(&created, "Create", "subject")[0]["value"], "Printer on fire");
        assert_eq!(find(&created, "Create", "tags")[0]["value"], json!(["hardware"]));
        assert_eq!(find(&created, "Create", &office.to_string())[0]["value"], "Kerava office");
        assert_eq!(find(&created, "Create", "priority")[0]["value"], "low");
        assert_eq!(find(&created, "Create", "requester_id")[0]["value"], requester);
        let first = created.iter().map(|(_, e)| e).find(|e| e["type"] == "Comment").unwrap();
        assert_eq!(first["body"], "Smoke from the printer");
        assert_eq!(first["author_id"], requester, "made through the API for the requester: their words");

        // The change: each field once, with what it was.
        let change = |field: &str| find(&all, "Change", field);
        assert_eq!(change("subject").len(), 1);
        assert_eq!(change("subject")[0]["previous_value"], "Printer on fire");
        assert_eq!(change("subject")[0]["value"], "Printer fixed");
        assert_eq!(change("status")[0]["previous_value"], "new");
        assert_eq!(change("status")[0]["value"], "open");
        assert_eq!(change("priority").len(), 1);
        assert_eq!(change("priority")[0]["previous_value"], "low");
        assert_eq!(change("tags")[0]["previous_value"], json!(["hardware"]));
        assert_eq!(change("tags")[0]["value"], json!(["hardware", "urgent"]));
        assert_eq!(change(&office.to_string())[0]["previous_value"], "Kerava office");
        assert_eq!(change(&office.to_string())[0]["value"], "Tuusula office");
        let note = all
            .iter()
            .map(|(_, e)| e)
            .find(|e| e["type"] == "Comment" && e["body"] == "Replaced the fuser")
            .unwrap();
        assert_eq!(note["public"], false);
        let private = all.iter().map(|(_, e)| e).find(|e| e["type"] == "CommentPrivacyChange").unwrap();
        assert_eq!(private["comment_id"], reply);
        assert_eq!(private["public"], false);

        // What the database keeps in the clear: types, fields, statuses, ids; no text of anyone's.
        let stored = stored_events(&app, t).await;
        for secret in ["Printer", "Kerava", "Tuusula", "hardware", "urgent", "Smoke", "fuser", "Maija"] {
            assert!(!stored.contains(secret), "{secret} stored in the clear: {stored}");
        }
        assert!(stored.contains("\"priority\"") && stored.contains("\"high\""), "{stored}");

        let (s, v) = app.get(&format!("/api/v2/tickets/{t}/audits/count.json")).await;
        assert_eq!((s, &v["count"]["value"]), (StatusCode::OK, &json!(4)), "{v}");
        // One audit by id, under its own ticket only.
        let (s, v) = app.get(&format!("/api/v2/tickets/{t}/audits/{created_audit}.json")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["audit"]["id"], created_audit);
        let other = app.ticket(requester, "Another printer", "Also smoking").await;
        for path in [
            format!("/api/v2/tickets/{other}/audits/{created_audit}.json"),
            format!("/api/v2/tickets/{t}/audits/999999999.json"),
            "/api/v2/tickets/999999999/audits.json".to_string(),
        ] {
            let (s, v) = app.get(&path).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
        }
        // End users do not read audits (internal notes and staff's changes are in them).
        let (_, maija) = app.end_user_with_password("Maija Toinen", "maija.toinen@example.fi").await;
        let (s, _) = app.call_password(&maija, Method::GET, &format!("/api/v2/tickets/{t}/audits.json"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Paging one ticket's audits: by offset and by cursor, the same audits in the same order.
        let (s, v) = app.get(&format!("/api/v2/tickets/{t}/audits.json?per_page=3")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["count"], 4);
        assert_eq!(v["audits"].as_array().unwrap().len(), 3);
        assert!(v["next_page"].as_str().is_some(), "{v}");
        let mut url = format!("/api/v2/tickets/{t}/audits.json?page[size]=1");
        let mut walked = Vec::new();
        loop {
            let (s, v) = app.get(&url).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            walked.extend(v["audits"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()));
            if v["meta"]["has_more"] != true {
                break;
            }
            url = v["links"]["next"].as_str().unwrap().to_string();
        }
        assert_eq!(walked, audits.iter().copied().collect::<Vec<_>>());
    }
);

engine_test!(the_accounts_audits_page_newest_first_both_ways_for_admins_only, |app| async move {
    let requester = app.user("Aino Laine", "aino.laine@example.fi").await;
    let mut tickets = Vec::new();
    for i in 0..3 {
        let t = app.ticket(requester, &format!("Question {i}"), "Hello").await;
        let (s, v) = app.put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"status": "open"}})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        tickets.push(t);
    }
    let (s, v) = app.get("/api/v2/ticket_audits.json?limit=1000").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let everything: Vec<i64> = v["audits"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert!(everything.len() >= 6, "{v}");
    assert!(everything.windows(2).all(|w| w[0] > w[1]), "newest first: {everything:?}");
    assert_eq!(v["after_url"], Value::Null, "nothing older");
    assert_eq!(v["before_url"], Value::Null, "nothing newer");

    // Two at a time to the oldest, then back to the newest.
    let mut pages = Vec::new();
    let mut url = Some("/api/v2/ticket_audits.json?limit=2".to_string());
    while let Some(u) = url {
        let (s, v) = app.get(&u).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        pages.push(v.clone());
        url = v["after_url"].as_str().map(str::to_string);
    }
    let walked: Vec<i64> = pages
        .iter()
        .flat_map(|p| p["audits"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(walked, everything);
    let last = pages.last().unwrap();
    let (s, back) = app.get(last["before_url"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert_eq!(back["audits"], pages[pages.len() - 2]["audits"], "before_url leads to the page before");

    for bad in ["cursor=bm90LWEtY3Vyc29y", "cursor=%FF", "limit=0", "limit=1001", "limit=ten"] {
        let (s, v) = app.get(&format!("/api/v2/ticket_audits.json?{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aino Agent", "email": "aino.agent@example.fi", "role": "agent", "password": "correct horse battery"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = crate::harness::Tenant {
        email: "aino.agent@example.fi".into(),
        token: "correct horse battery".into(),
        admin_id: v["user"]["id"].as_i64().unwrap(),
        tenant_id: app.t.tenant_id,
    };
    let (s, v) = app
        .call_password(&agent, Method::GET, &format!("/api/v2/tickets/{}/audits.json", tickets[0]), None)
        .await;
    assert_eq!(s, StatusCode::OK, "agents read a ticket's audits: {v}");
    let (s, _) = app.call_password(&agent, Method::GET, "/api/v2/ticket_audits.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "agents read audits ticket by ticket");
    // Another tenant's admin sees only their own account's audits.
    let other = app.second_tenant("audits-elsewhere").await;
    let (s, v) = app.call_as(&other, Method::GET, "/api/v2/ticket_audits.json", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["audits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| !tickets.contains(&a["ticket_id"].as_i64().unwrap())),
        "{v}"
    );
});

engine_test!(redaction_and_erasure_reach_the_subjects_a_ticket_had_and_nothing_else, |app| async move {
    let anna = app.user("Anna Berg", "anna.berg@example.fi").await;
    let ted = app.user("Ted Lind", "ted.lind@example.fi").await;
    // Ticket A once named Ted in its subject; ticket B names Ted Linden, another man, and
    // "started"; ticket C is about an order whose number is redacted later.
    let a = app.ticket(anna, "Call back Ted Lind about the invoice", "Please call").await;
    let b = app.ticket(anna, "Ted Linden started the migration", "Notes").await;
    let c = app.ticket(anna, "Order 5531 for Liisa Mäkelä", "Where is it").await;
    for (t, subject) in [(a, "Invoice question"), (b, "Migration started"), (c, "Order shipped")] {
        let (s, v) = app.put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"subject": subject}})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // Staff find a ticket by a subject it had before.
    let (s, v) = app.get("/api/v2/search.json?query=5531").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![c]
    );

    // A phrase only a past subject holds can be redacted; the same phrase elsewhere stays.
    let b_before = app.get(&format!("/api/v2/tickets/{b}/audits.json")).await.1;
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{c}/redact.json"), json!({"redaction": {"subject": "5531"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let after = events(&app, c).await;
    assert_eq!(find(&after, "Change", "subject")[0]["previous_value"], "Order ▇▇▇▇ for Liisa Mäkelä");
    assert_eq!(find(&after, "Create", "subject")[0]["value"], "Order ▇▇▇▇ for Liisa Mäkelä");
    assert_eq!(find(&after, "Change", "subject")[0]["value"], "Order shipped");
    assert!(after.iter().any(|(_, e)| e["type"] == "SubjectRedactionEvent"), "{after:#?}");
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{c}/redact.json"), json!({"redaction": {"subject": "9999"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a phrase found nowhere: {v}");

    // Erasing Ted reaches the subject ticket A had; Ted Linden's ticket B is untouched.
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{ted}/erasure.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let a_after = events(&app, a).await;
    let old = find(&a_after, "Change", "subject")[0]["previous_value"].as_str().unwrap().to_string();
    assert!(!old.contains("Ted") && !old.contains("Lind"), "{old}");
    assert!(old.starts_with("Call back ") && old.ends_with(" about the invoice"), "{old}");
    assert_eq!(find(&a_after, "Change", "subject")[0]["value"], "Invoice question");
    let b_after = app.get(&format!("/api/v2/tickets/{b}/audits.json")).await.1;
    assert_eq!(b_before.to_string(), b_after.to_string(), "another man's ticket is byte-identical");
    let (_, v) = app.get("/api/v2/search.json?query=%22Ted%20Lind%22").await;
    assert_eq!(v["count"], 0, "{v}");
});

engine_test_clocked!(ticket_events_export_by_time_without_comment_text, |app, clock| async move {
    let t0 = app.helpdesk().now().as_secs();
    let person = app.user("Eero Tapahtuma", "eero.tapahtuma@example.fi").await;
    let t = app.ticket(person, "Broken login", "Cannot sign in with password hunter2").await;
    let (s, v) = app.put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"status": "pending"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The newest minute is still settling.
    let (s, v) = app.get("/api/v2/incremental/ticket_events.json?start_time=0").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket_events"], json!([]), "{v}");
    clock.advance_ms(61_000);
    let (s, v) = app.get("/api/v2/incremental/ticket_events.json?start_time=0").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let events = v["ticket_events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{v}");
    assert!(
        events.iter().all(|e| e["ticket_id"] == t && e["event_type"] == "Audit" && e["timestamp"] == t0),
        "{v}"
    );
    assert_eq!((v["end_of_stream"].as_bool(), v["end_time"].as_i64()), (Some(true), Some(t0)), "{v}");
    let children = events[1]["child_events"].as_array().unwrap();
    let status = children.iter().find(|c| c["field_name"] == "status").unwrap();
    assert_eq!(
        (&status["previous_value"], &status["value"], &status["status"]),
        (&json!("new"), &json!("pending"), &json!("pending"))
    );
    let comment = events[0]["child_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["event_type"] == "Comment")
        .unwrap();
    assert_eq!(
        (&comment["comment_present"], &comment["comment_public"]),
        (&json!(true), &json!(true)),
        "{comment}"
    );
    assert!(!v.to_string().contains("hunter2"), "comment text stays out of the export: {v}");
    // One a page: the next page starts at the following second, nothing lost or repeated.
    let (_, v) = app.get("/api/v2/incremental/ticket_events.json?start_time=0&per_page=1").await;
    assert_eq!(v["ticket_events"].as_array().unwrap().len(), 2, "the rest of the last second comes along: {v}");
    assert!(v["next_page"].as_str().unwrap().contains(&format!("start_time={}", t0 + 1)), "{v}");
    for bad in ["", "?start_time=x", "?start_time=0&per_page=0", "?cursor=abc"] {
        let (s, v) = app.get(&format!("/api/v2/incremental/ticket_events.json{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    // The requester's data was exported: the read is on record.
    app.privacy().flush_consultations().await.unwrap();
    let mut c = app.helpdesk().db().read().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consultations WHERE tenant_id = $1 AND subject_id = $2 AND action = 'ticket.exported'")
        .bind(app.t.tenant_id)
        .bind(person)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(n >= 1);
});

engine_test!(a_persons_export_carries_their_tickets_history_with_other_people_replaced, |app| async move {
    use crate::fixtures::export::{access_request, build};
    let ted = app.user("Ted Lind", "ted.lind@example.fi").await;
    let anna = app.user("Anna Berg", "anna.berg@example.fi").await;
    let t = app.ticket(ted, "Refund for Ted Lind", "Please refund order 77").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"subject": "Refund agreed with Anna Berg", "collaborator_ids": [anna], "assignee_id": app.t.admin_id,
                "comment": {"body": "Anna Berg approved it", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A reply made private afterwards is withheld from the export, and so is every event naming it.
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"comment": {"body": "Refund sent"}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reply = v["audit"]["events"].as_array().unwrap().iter().find(|e| e["type"] == "Comment").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, v) = app.put(&format!("/api/v2/tickets/{t}/comments/{reply}/make_private.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let request = access_request(&app, ted).await;
    let (_, bytes) = build(&app, request, json!({"format": "json", "include_internal_notes": false})).await;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let schema: Value = serde_json::from_str(suoja_privacy::export::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        validator.is_valid(&doc),
        "{:?}",
        validator.iter_errors(&doc).map(|e| e.to_string()).collect::<Vec<_>>()
    );
    let history = doc["tickets"][0]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "the reply's audit and its privacy change name only it: {history:#?}");
    let text = serde_json::to_string(history).unwrap();
    assert!(text.contains("Refund for Ted Lind"), "his own words stay: {text}");
    assert!(!text.contains("Anna") && !text.contains("Berg") && !text.contains("anna.berg"), "{text}");
    let named: Vec<i64> = history
        .iter()
        .flat_map(|a| a["events"].as_array().unwrap())
        .filter_map(|e| e["comment_id"].as_i64())
        .collect();
    assert!(!named.contains(&reply) && !text.contains("CommentPrivacyChange"), "{text}");
    let change = history[1]["events"].as_array().unwrap();
    let subject = change.iter().find(|e| e["field"] == "subject").unwrap();
    assert_eq!(subject["previous_value"], "Refund for Ted Lind");
    assert!(subject["value"].as_str().unwrap().starts_with("Refund agreed with "), "{subject}");
    let ccs = change.iter().find(|e| e["field"] == "collaborator_ids").unwrap();
    assert_eq!(ccs["value"].as_array().unwrap().len(), 1);
    assert!(ccs["value"][0].as_str().unwrap().starts_with('['), "a placeholder, not an id: {ccs}");
    // The internal note is left out, and so is its comment event.
    assert!(change.iter().all(|e| e["type"] != "Comment"), "{change:#?}");
    assert_eq!(history[0]["events"].as_array().unwrap().iter().filter(|e| e["type"] == "Comment").count(), 1);

    // Anna, CC'd, gets the same history with Ted replaced in it.
    let r = access_request(&app, anna).await;
    let (_, bytes) = build(&app, r, json!({"format": "json"})).await;
    let anna_doc: Value = serde_json::from_slice(&bytes).unwrap();
    let theirs = serde_json::to_string(&anna_doc["tickets"][0]["history"]).unwrap();
    assert!(theirs.contains("Refund for ") && theirs.contains("Refund agreed with Anna Berg"), "{theirs}");
    assert!(!theirs.contains("Ted") && !theirs.contains("Lind"), "{theirs}");
});

engine_test!(
    earlier_field_values_and_tags_are_redacted_found_and_erased_and_others_untouched,
    |app| async move {
        let office = app.text_field("Office").await;
        use crate::privacy_precision::{decide, mentions, request_export, verified_request};
        let anna = app.user("Anna Berg", "anna.berg@example.fi").await;
        let ted = app.user("Ted Smith", "ted.smith@example.fi").await;
        let open = |field: &'static str, tags: Value| {
            let app = &app;
            async move {
                let (s, v) = app
                .post(
                    "/api/v2/tickets.json",
                    json!({"ticket": {"requester_id": anna, "subject": "Callback", "tags": tags, "custom_fields": [{"id": office, "value": field}], "comment": {"body": "Please call"}}}),
                )
                .await;
                assert_eq!(s, StatusCode::CREATED, "{v}");
                v["ticket"]["id"].as_i64().unwrap()
            }
        };
        let t = open("Ted Smith phone 040123", json!(["vip", "ted-smith"])).await;
        let u = open("Ted Smithers 050999, started", json!(["vip"])).await;
        for id in [t, u] {
            let (s, v) = app
                .put(
                    &format!("/api/v2/tickets/{id}.json"),
                    json!({"ticket": {"custom_fields": [{"id": office, "value": "done"}], "tags": ["vip"]}}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let field_values = |events: &[(i64, Value)]| -> Vec<Value> {
            find(events, "Change", &office.to_string())
                .iter()
                .map(|e| e["previous_value"].clone())
                .chain(find(events, "Create", &office.to_string()).iter().map(|e| e["value"].clone()))
                .collect()
        };

        // A phrase only an earlier value holds is redacted there, and in what the create shows.
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}/redact.json"),
                json!({"redaction": {"custom_fields": [{"id": office, "text": "040123"}]}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            field_values(&events(&app, t).await),
            vec![json!("Ted Smith phone ▇▇▇▇▇▇"), json!("Ted Smith phone ▇▇▇▇▇▇")]
        );
        // The whole present value goes; earlier, different values stay as they were.
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}/redact.json"),
                json!({"redaction": {"custom_fields": [{"id": office}]}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let after = events(&app, t).await;
        assert_eq!(
            find(&after, "Change", &office.to_string())[0]["value"],
            "▇▇▇▇",
            "the history's copy of that value goes too"
        );
        assert_eq!(field_values(&after)[0], "Ted Smith phone ▇▇▇▇▇▇");

        // The person is found in the ticket's history, and the reviewer sees the passage.
        let u_before = app.get(&format!("/api/v2/tickets/{u}/audits.json")).await.1;
        let request = verified_request(&app, "access", ted, json!({})).await;
        let (s, v) = app
            .post(
                &format!("/api/v2/privacy/requests/{request}/exports.json"),
                json!({"export": {"format": "json"}}),
            )
            .await;
        assert!(s.is_success(), "{v}");
        let list = mentions(&app, request).await;
        let history: Vec<&Value> = list.iter().filter(|m| m["source"] == "ticket_fields").collect();
        assert_eq!(history.len(), 1, "only the ticket whose history names Ted Smith: {list:#?}");
        assert_eq!(history[0]["source_id"], t);
        let passages = history[0]["passages"].to_string();
        assert!(passages.contains("Ted Smith"), "{passages}");
        let (s, v) = decide(&app, request, history[0], "accept").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let doc = request_export(&app, request).await;
        let exported: Vec<&Value> = doc["mentions"].as_array().unwrap().iter().filter(|m| m["source"] == "ticket_fields").collect();
        assert_eq!(exported.len(), 1, "{doc:#}");

        // His address in the present field, a tag and the external id: the erasure reaches those too.
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}.json"),
                json!({"ticket": {"custom_fields": [{"id": office, "value": "call ted.smith@example.fi"}], "additional_tags": ["ted.smith@example.fi"], "external_id": "ext ted.smith@example.fi 2"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // Erased: the name goes from every earlier value, tags included; Ted Smithers' stays.
        let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{ted}/erasure.json"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["erasure"]["state"], "completed", "{v}");
        let text = app.get(&format!("/api/v2/tickets/{t}/audits.json")).await.1.to_string();
        assert!(!text.contains("Ted") && !text.contains("Smith") && !text.contains("ted-smith"), "{text}");
        assert!(text.contains("vip") && text.contains("phone"), "the rest stays: {text}");
        let now = app.get(&format!("/api/v2/tickets/{t}.json")).await.1.to_string();
        assert!(!now.contains("ted.smith"), "{now}");
        assert!(now.contains("call [redacted]") && now.contains("ext [redacted] 2"), "{now}");
        let u_after = app.get(&format!("/api/v2/tickets/{u}/audits.json")).await.1;
        assert_eq!(u_before.to_string(), u_after.to_string(), "Ted Smithers' ticket is byte-identical");
    }
);

engine_test!(comments_name_the_audit_that_added_them_and_event_ids_stay_unique, |app| async move {
    let person = app.user("Olli Oikea", "olli.oikea@example.fi").await;
    let t = app.ticket(person, "Ids", "First").await;
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"comment": {"body": "Second"}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second_audit = v["audit"]["id"].as_i64().unwrap();
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}/comments.json")).await;
    let audits = app.get(&format!("/api/v2/tickets/{t}/audits.json")).await.1;
    let first_audit = audits["audits"][0]["id"].as_i64().unwrap();
    assert_eq!(v["comments"][0]["audit_id"], first_audit, "{v}");
    assert_eq!(v["comments"][1]["audit_id"], second_audit, "{v}");
    // Too many fields for one change are refused whole, so event ids cannot run into the next audit's.
    let fields: Vec<Value> = (1..=101).map(|i| json!({"id": i, "value": "x"})).collect();
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"custom_fields": fields}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    for bad in [json!([{"id": -5, "value": "x"}]), json!({"0": "x"})] {
        let (s, v) = app.put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"custom_fields": bad}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    let ids: Vec<i64> = events(&app, t).await.iter().map(|(_, e)| e["id"].as_i64().unwrap()).collect();
    let unique: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
});

engine_test!(an_erased_person_leaves_the_history_of_tickets_they_were_on, |app| async move {
    let requester = app.user("Riitta Pysyvä", "riitta.pysyva@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Paavo Poistuva", "email": "paavo.poistuva@example.fi", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let paavo = v["user"]["id"].as_i64().unwrap();
    let cc = app.user("Kalle Kopio", "kalle.kopio@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": "Staying", "assignee_id": paavo, "collaborator_ids": [paavo, cc], "comment": {"body": "Hello"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = v["ticket"]["id"].as_i64().unwrap();
    let before = events(&app, t).await;
    assert!(serde_json::to_string(&before).unwrap().contains(&format!("[{paavo},{cc}]")), "{before:?}");

    let (s, v) = app.delete(&format!("/api/v2/users/{paavo}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.delete(&format!("/api/v2/deleted_users/{paavo}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let after = events(&app, t).await;
    let ids = |field: &str, kind: &str| find(&after, kind, field).iter().map(|e| e["value"].clone()).collect::<Vec<_>>();
    assert_eq!(ids("collaborator_ids", "Create"), vec![json!([cc])], "the other CC stays: {after:#?}");
    assert_eq!(ids("assignee_id", "Create"), vec![Value::Null]);
    let unassigned = find(&after, "Change", "assignee_id");
    assert_eq!(unassigned.len(), 1, "the erasure's unassignment is in the history: {after:#?}");
    assert_eq!(
        (&unassigned[0]["previous_value"], &unassigned[0]["value"], &unassigned[0]["reason"]),
        (&Value::Null, &Value::Null, &json!("erasure"))
    );
    let people = [
        "requester_id",
        "submitter_id",
        "assignee_id",
        "collaborator_ids",
        "email_cc_ids",
        "follower_ids",
    ];
    for (_, e) in &after {
        let named = people.contains(&e["field_name"].as_str().unwrap_or_default());
        for key in ["value", "previous_value", "recipients"] {
            let v = &e[key];
            if named || key == "recipients" {
                assert!(*v != json!(paavo) && !v.as_array().is_some_and(|a| a.contains(&json!(paavo))), "{e}");
            }
        }
    }
});

engine_test!(a_rejected_passage_in_a_tickets_fields_is_left_alone_by_the_erasure, |app| async move {
    let handled_by = app.text_field("Handled by").await;
    use crate::privacy_precision::{decide, mentions, verified_request};
    let anna = app.user("Anna Pysyvä", "anna.pysyva@example.fi").await;
    let ilkka = app.user("Ilkka Salo", "ilkka.salo@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": anna, "subject": "Ilkka called about the invoice", "custom_fields": [{"id": handled_by, "value": "Ilkka from the Tampere office"}], "comment": {"body": "Invoice"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = v["ticket"]["id"].as_i64().unwrap();
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"custom_fields": [{"id": handled_by, "value": "handled"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let request = verified_request(&app, "erasure", ilkka, json!({})).await;
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/requests/{request}/mentions/search"),
            json!({"search": {"weak": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = mentions(&app, request).await;
    let of = |source: &str| {
        list.iter()
            .find(|m| m["source"] == source && m["source_id"] == t)
            .unwrap_or_else(|| panic!("{source}: {list:#?}"))
    };
    // The subject is about him; the field's earlier value is about another Ilkka.
    let (s, v) = decide(&app, request, of("ticket_subject"), "accept").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = decide(&app, request, of("ticket_fields"), "reject").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/erasure"), json!({})).await;
    assert!(s.is_success(), "{v}");
    let (_, ticket) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert!(!ticket["ticket"]["subject"].as_str().unwrap().contains("Ilkka"), "{ticket}");
    let after = events(&app, t).await;
    assert_eq!(
        find(&after, "Change", &handled_by.to_string())[0]["previous_value"],
        "Ilkka from the Tampere office",
        "rejected: left alone"
    );
});
