//! Rectification and restriction (GDPR Art. 16, 18, 19): corrections reach the profile and the
//! search index, the ledger names fields and never values, and every recipient that received
//! the person's data is told; a restricted person disappears from staff lists, search, views,
//! incremental exports and webhooks until a privacy officer lifts it with a reason, after the
//! person was told.

use reqwest::{Method, StatusCode};
use serde_json::json;
use suoja_core::{TenantId, UserId};

use crate::engine_test;
use crate::harness::{TestApp, recipient, wait_for};

async fn visible_ids(app: &TestApp, path: &str, key: &str) -> Vec<i64> {
    let (s, v) = app.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v[key].as_array().unwrap().iter().map(|x| x["id"].as_i64().unwrap()).collect()
}

engine_test!(rectification_reaches_index_ledger_and_recipients, |app| async move {
    let (endpoint, got) = recipient().await;
    let (s, v) = app
        .post("/api/v2/webhooks.json", json!({"webhook": {"name": "CRM sync", "endpoint": endpoint, "http_method": "POST", "request_format": "json", "status": "active", "subscriptions": ["ticket.created", "ticket.updated"]}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (ilse, login) = app.end_user_with_password("Ilse Iivari", "ilse.old@example.fi").await;
    let ticket = app.ticket(ilse, "Osoitteenmuutos", "Vaihdoin sähköpostiosoitetta").await;
    // The recipient got the ticket with Ilse's name and address: a disclosure.
    let first = wait_for(&got, |v| v["type"] == "ticket.created" && v["ticket"]["id"] == ticket).await;
    assert_eq!(first["ticket"]["requester"]["email"], "ilse.old@example.fi");

    // Ilse asks for her address and phone to be corrected; she is signed in, so verified.
    let (s, v) = app
        .call_password(
            &login,
            Method::POST,
            "/api/v2/privacy/requests",
            Some(json!({"request": {"kind": "rectification", "changes": {"email": "ilse.new@example.fi", "phone": "+358 45 222 3333"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["request"]["id"].as_i64().unwrap();
    // An export built before the correction holds the old address; it is dropped with it.
    let (_, v) = app
        .call_password(&login, Method::POST, "/api/v2/privacy/requests", Some(json!({"request": {"kind": "access"}})))
        .await;
    let access = v["request"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/requests/{access}/exports.json"),
            json!({"export": {"format": "json"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{id}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["status"], "fulfilled");

    // The profile and the search index have the new values; the old address finds nobody.
    let (_, u) = app.get(&format!("/api/v2/users/{ilse}.json")).await;
    assert_eq!(u["user"]["email"], "ilse.new@example.fi");
    assert_eq!(u["user"]["phone"], "+358 45 222 3333");
    let (_, found) = app.get("/api/v2/users/search.json?query=ilse.old@example.fi").await;
    assert_eq!(found["users"], json!([]));
    let (_, found) = app.get("/api/v2/users/search.json?query=ilse.new@example.fi").await;
    assert_eq!(found["users"][0]["id"], ilse);
    let (_, packages) = app.get(&format!("/api/v2/privacy/requests/{access}/exports.json")).await;
    assert_eq!(packages["exports"], json!([]), "the stale export is gone");

    // The recipient is told, by opaque id and field names only.
    let told = wait_for(&got, |v| v["type"] == "subject.rectified").await;
    assert_eq!(told["subject_id"], ilse);
    assert_eq!(told["fields"], json!(["email", "phone"]));
    assert!(!told.to_string().contains("ilse.new") && !told.to_string().contains("ilse.old"));

    // The ledger holds the event and the field names, never the old or new values.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let entries = suoja_store::ledger::page(&mut c, TenantId(app.t.tenant_id), 0, 1000).await.unwrap();
    let rectified = entries.iter().find(|e| e.kind == "user.rectified").expect("a rectification entry");
    assert_eq!(rectified.subject, Some(ilse));
    assert!(rectified.details.contains("email"));
    for e in &entries {
        for v in ["ilse.old", "ilse.new", "222 3333", "2223333"] {
            assert!(!e.details.contains(v), "ledger entry {} holds {v}", e.kind);
        }
    }
    drop(c);

    // The disclosure log and the recipients are in Ilse's export.
    let scope = app.admin_scope();
    let export = app
        .privacy()
        .export(&scope, UserId(ilse), None, &Default::default(), &suoja_privacy::export::no_progress)
        .await
        .unwrap();
    let recipients = &export.doc["privacy"]["recipients"];
    assert_eq!(recipients[0]["name"], "CRM sync", "{recipients}");
    assert!(
        export.doc["privacy"]["disclosures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["event"] == "ticket.created" && d["outcome"] == "delivered")
    );
    assert!(
        export.doc["information"]["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "CRM sync")
    );
});

engine_test!(restriction_hides_the_person_until_lifted_with_a_reason, |app| async move {
    let (endpoint, got) = recipient().await;
    app.post(
        "/api/v2/webhooks.json",
        json!({"webhook": {"name": "Analytics", "endpoint": endpoint, "subscriptions": ["ticket.created", "ticket.updated"]}}),
    )
    .await;
    let (jaana, login) = app.end_user_with_password("Jaana Järvi", "jaana@example.fi").await;
    let other = app.user("Kalle Koski", "kalle@example.fi").await;
    let hers = app.ticket(jaana, "Kiistanalainen lasku", "Lasku 77 on väärin").await;
    let his = app.ticket(other, "Toinen asia", "Ei liity").await;
    wait_for(&got, |v| v["type"] == "ticket.created" && v["ticket"]["id"] == hers).await;
    // A trigger that would tag any ticket a comment reaches.
    let (s, v) = app
        .post(
            "/api/v2/triggers.json",
            json!({"trigger": {"title": "Seen", "conditions": {"all": [{"field": "comment_is_public", "operator": "is", "value": "not_relevant"}]}, "actions": [{"field": "current_tags", "value": "trigger_saw"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Only privacy staff restrict, and only with a reason.
    let (s, _) = app.post(&format!("/api/v2/privacy/subjects/{jaana}/restriction"), json!({"reason": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call_password(
            &login,
            Method::POST,
            &format!("/api/v2/privacy/subjects/{jaana}/restriction"),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(&format!("/api/v2/privacy/subjects/{}/restriction", app.t.admin_id), json!({"reason": "x"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "nobody restricts themselves");
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{jaana}/restriction"),
            json!({"reason": "accuracy of invoice 77 disputed"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["restriction"]["tickets"], 1);
    let (s, _) = app
        .post(&format!("/api/v2/privacy/subjects/{jaana}/restriction"), json!({"reason": "again"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    wait_for(&got, |v| v["type"] == "subject.restricted" && v["subject_id"] == jaana).await;

    // Gone from staff views, lists, search and exports; still there for Jaana herself.
    assert_eq!(visible_ids(&app, "/api/v2/tickets.json", "tickets").await, vec![his]);
    assert!(!visible_ids(&app, "/api/v2/users.json", "users").await.contains(&jaana));
    let (s, _) = app.get(&format!("/api/v2/tickets/{hers}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&format!("/api/v2/tickets/{hers}/comments.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&format!("/api/v2/users/{jaana}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, found) = app.get("/api/v2/search.json?query=lasku").await;
    assert!(found["results"].as_array().unwrap().iter().all(|r| r["id"] != hers), "{found}");
    let (_, found) = app.get("/api/v2/search.json?query=type:user jaana@example.fi").await;
    assert_eq!(found["count"], 0, "{found}");
    let (_, inc) = app.get("/api/v2/incremental/tickets/cursor.json?start_time=0").await;
    assert!(inc["tickets"].as_array().unwrap().iter().all(|t| t["id"] != hers));
    let (s, mine) = app
        .call_password(&login, Method::GET, &format!("/api/v2/users/{jaana}/tickets/requested.json"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(mine["tickets"][0]["id"], hers);

    // Her new activity reaches no recipient while restricted.
    let before = got.lock().unwrap().len();
    let (s, _) = app
        .call_password(
            &login,
            Method::PUT,
            &format!("/api/v2/tickets/{hers}.json"),
            Some(json!({"ticket": {"comment": {"body": "Lisätietoa"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let his_update = app
        .put(&format!("/api/v2/tickets/{his}.json"), json!({"ticket": {"comment": {"body": "päivitys"}}}))
        .await;
    assert_eq!(his_update.0, StatusCode::OK);
    wait_for(&got, |v| v["type"] == "ticket.updated" && v["ticket"]["id"] == his).await;
    assert!(
        got.lock().unwrap()[before..].iter().all(|v| v["ticket"]["id"] != hers),
        "a restricted ticket was sent"
    );

    // A privacy officer sees the footprint only with a reason, and the look is logged.
    let (s, _) = app.get(&format!("/api/v2/privacy/subjects/{jaana}/footprint.json")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .get(&format!("/api/v2/privacy/subjects/{jaana}/footprint.json?reason=assessing%20the%20dispute"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["footprint"]["restricted"], true);
    assert_eq!(v["footprint"]["tickets"][0]["id"], hers);
    let mut c = app.helpdesk().db().read().await.unwrap();
    let looks = suoja_store::consultations::for_subject(&mut c, TenantId(app.t.tenant_id), jaana).await.unwrap();
    assert!(looks.iter().any(|l| l.action == "footprint.viewed" && l.purpose == "assessing the dispute"));
    drop(c);

    // Lifting needs a reason and tells her first.
    let (s, _) = app.post(&format!("/api/v2/privacy/subjects/{jaana}/restriction/lift"), json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{jaana}/restriction/lift"),
            json!({"reason": "invoice 77 corrected"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // No rule ran on her ticket while it was restricted; his was tagged.
    let (_, t) = app.get(&format!("/api/v2/tickets/{hers}.json")).await;
    assert_eq!(t["ticket"]["tags"], json!([]), "{t}");
    let (_, t) = app.get(&format!("/api/v2/tickets/{his}.json")).await;
    assert_eq!(t["ticket"]["tags"], json!(["trigger_saw"]), "{t}");
    let notes = app.privacy().outbox_for(TenantId(app.t.tenant_id), UserId(jaana)).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|(k, b)| k == "restriction_lifted" && b.expose().contains("invoice 77 corrected"))
    );
    let (s, _) = app.get(&format!("/api/v2/tickets/{hers}.json")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(visible_ids(&app, "/api/v2/tickets.json", "tickets").await.contains(&hers));
    wait_for(&got, |v| v["type"] == "subject.restriction_lifted").await;
    let kinds: Vec<String> = {
        let mut c = app.helpdesk().db().read().await.unwrap();
        suoja_store::ledger::for_subject(&mut c, TenantId(app.t.tenant_id), jaana)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    };
    for k in ["subject.restricted", "subject.inspected", "subject.restriction_lifted"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
});

engine_test!(webhook_registration_checks_its_input, |app| async move {
    for (body, field) in [
        (json!({"webhook": {"name": "x", "endpoint": "ftp://example.fi/hook"}}), "endpoint"),
        (json!({"webhook": {"name": "", "endpoint": "http://127.0.0.1:9/hook"}}), "name"),
        (
            json!({"webhook": {"name": "x", "endpoint": "http://127.0.0.1:9/hook", "subscriptions": ["everything"]}}),
            "subscriptions",
        ),
        (
            json!({"webhook": {"name": "x", "endpoint": "http://127.0.0.1:9/hook", "http_method": "GET"}}),
            "http_method",
        ),
        (
            json!({"webhook": {"name": "x", "endpoint": "http://127.0.0.1:9/hook", "status": "sleeping"}}),
            "status",
        ),
    ] {
        let (s, v) = app.post("/api/v2/webhooks.json", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["details"].get(field).is_some(), "{field}: {v}");
    }
    let (_, v) = app.get("/api/v2/webhooks.json").await;
    assert_eq!(v["webhooks"], json!([]));
    let other = app.second_tenant("two").await;
    let (_, v) = app
        .call_as(
            &other,
            Method::POST,
            "/api/v2/webhooks.json",
            Some(json!({"webhook": {"name": "theirs", "endpoint": "http://127.0.0.1:9/hook"}})),
        )
        .await;
    let theirs = v["webhook"]["id"].as_str().unwrap().to_string();
    let (s, _) = app.get(&format!("/api/v2/webhooks/{theirs}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.delete(&format!("/api/v2/webhooks/{theirs}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});
