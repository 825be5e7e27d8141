//! Triggers: rules run on every ticket update, in order, each at most once per update (one
//! that changes the ticket sends the others back to the first, so two triggers undoing each
//! other stop); the e-mail notifications as default triggers the mail settings switch; what
//! a notification says and to whom; the webhook calls they make, their bodies filled in as JSON;
//! and triggers refused whole when anything in them is wrong.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_core::TenantId;

use crate::harness::TestApp;

fn c(field: &str, operator: &str, value: &str) -> Value {
    json!({"field": field, "operator": operator, "value": value})
}

fn a(field: &str, value: Value) -> Value {
    json!({"field": field, "value": value})
}

async fn trigger(app: &TestApp, title: &str, all: Vec<Value>, actions: Vec<Value>) -> i64 {
    let (s, v) = app
        .post(
            "/api/v2/triggers.json",
            json!({"trigger": {"title": title, "conditions": {"all": all, "any": []}, "actions": actions}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["trigger"]["id"].as_i64().unwrap()
}

async fn update(app: &TestApp, id: i64, ticket: Value) -> Value {
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), json!({ "ticket": ticket })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// A new ticket in `group`; its priority as the triggers leave it.
async fn grouped(app: &TestApp, group: i64) -> Value {
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Grouped", "group_id": group, "comment": {"body": "in billing"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket"]["priority"].clone()
}

crate::engine_test!(triggers_run_in_order_each_once_and_chain_on_each_other_s_changes, |app| async move {
    let (_, v) = app.post("/api/v2/groups.json", json!({"group": {"name": "Laskutus"}})).await;
    let group = v["group"]["id"].as_i64().unwrap();
    // A: a comment asking for a refund goes to billing, tagged. B holds only after A's change.
    // C and D undo each other's priority: each fires once, and the update ends.
    let ta = trigger(
        &app,
        "Refunds to billing",
        vec![c("update_type", "is", "Change"), c("comment_includes_word", "includes", "refund hyvitys")],
        vec![a("group_id", json!(group.to_string())), a("current_tags", json!("refund"))],
    )
    .await;
    let tb = trigger(
        &app,
        "Billing is high",
        vec![c("group_id", "is", &group.to_string())],
        vec![a("priority", json!("high"))],
    )
    .await;
    let tc = trigger(
        &app,
        "High to normal",
        vec![c("priority", "value", "high")],
        vec![a("priority", json!("normal"))],
    )
    .await;
    let td = trigger(
        &app,
        "Normal refunds to high",
        vec![c("priority", "is", "normal"), c("current_tags", "includes", "refund")],
        vec![a("priority", json!("high"))],
    )
    .await;
    let r = app.user("Ted Started", "ted@example.fi").await;
    let id = app.ticket(r, "Invoice", "Charged twice").await;
    let (_, quiet) = app.get(&format!("/api/v2/tickets/{id}.json")).await;

    // "refunding" and "started" are not the word "refund": nothing fires, nothing changes.
    update(&app, id, json!({"comment": {"body": "We started refunding checks. Ted?", "public": false}})).await;
    let (_, still) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    for field in ["group_id", "priority", "tags", "status"] {
        assert_eq!(still["ticket"][field], quiet["ticket"][field], "{field}");
    }

    update(&app, id, json!({"comment": {"body": "Please REFUND me.", "public": true}})).await;
    let (_, now) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(now["ticket"]["group_id"], group);
    assert_eq!(now["ticket"]["tags"], json!(["refund"]));
    // A, B (high), C (normal), D (high again); C does not fire twice.
    assert_eq!(now["ticket"]["priority"], "high");
    let (_, audits) = app.get(&format!("/api/v2/tickets/{id}/audits.json")).await;
    let last = audits["audits"].as_array().unwrap().last().unwrap().clone();
    let by: Vec<(String, i64)> = last["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "Change")
        .map(|e| {
            (
                e["field_name"].as_str().unwrap().to_string(),
                e["via"]["source"]["from"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by,
        vec![
            ("group_id".to_string(), ta),
            ("tags".to_string(), ta),
            ("priority".to_string(), tb),
            ("priority".to_string(), tc),
            ("priority".to_string(), td),
        ],
        "{last}"
    );
    let rule = &last["events"].as_array().unwrap().iter().find(|e| e["type"] == "Change").unwrap()["via"];
    assert_eq!(rule["channel"], "rule");
    assert_eq!(rule["source"]["rel"], "trigger");

    // Out of use, a trigger does nothing; order is every trigger, once.
    let (s, v) = app.put(&format!("/api/v2/triggers/{ta}.json"), json!({"trigger": {"active": false}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id2 = app.ticket(r, "Again", "Charged").await;
    update(&app, id2, json!({"comment": {"body": "refund", "public": true}})).await;
    let (_, t2) = app.get(&format!("/api/v2/tickets/{id2}.json")).await;
    assert_eq!(t2["ticket"]["group_id"], Value::Null);
    let (_, list) = app.get("/api/v2/triggers.json").await;
    let mut order: Vec<i64> = list["triggers"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    order.reverse();
    // Another server taking a trigger out of use (straight in the database) is seen by this
    // one's next update, though it keeps the triggers it read.
    // B makes it high, C then normal.
    assert_eq!(grouped(&app, group).await, "normal", "B runs on a new ticket in the group");
    {
        let tenant = TenantId(app.t.tenant_id);
        let mut tx = app.helpdesk().db().begin().await.unwrap();
        let mut row = suoja_store::rules::get(&mut tx, tenant, "trigger", tb, true).await.unwrap().unwrap();
        row.active = false;
        row.updated_at = suoja_core::Timestamp(row.updated_at.0 + 1);
        suoja_store::rules::update(&mut tx, tenant, &row).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(grouped(&app, group).await, Value::Null, "B out of use elsewhere is out of use here");
    let (s, v) = app.put("/api/v2/triggers/reorder.json", json!({"trigger_ids": order.clone()})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let got: Vec<i64> = v["triggers"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(got, order);
    // Named ones first, the rest after in their order.
    let (s, v) = app.put("/api/v2/triggers/reorder.json", json!({"trigger_ids": [order[3]]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let got: Vec<i64> = v["triggers"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    let mut want = vec![order[3]];
    want.extend(order.iter().copied().filter(|i| *i != order[3]));
    assert_eq!(got, want);
    for bad in [json!([order[0], order[0]]), json!([999_999]), json!([]), json!("x")] {
        let (s, v) = app.put("/api/v2/triggers/reorder.json", json!({ "trigger_ids": bad })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    let (_, v) = app.get("/api/v2/triggers.json").await;
    let kept: Vec<i64> = v["triggers"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(kept, want, "a refused order changes nothing");
    let _ = (tc, td);
});

crate::engine_test!(a_trigger_that_cannot_make_its_change_is_skipped_and_the_update_stands, |app| async move {
    let gone = app.agent("Lähtevä Agentti", "leaving@example.fi").await;
    let field = app.text_field("Yövuoro").await;
    // One trigger's assignee stops being an agent; another's field is taken out of use after it
    // has already changed the status in memory: each is skipped whole, and the rest run.
    trigger(
        &app,
        "Urgent to the night shift",
        vec![c("priority", "value", "urgent")],
        vec![a("assignee_id", json!(gone.to_string())), a("current_tags", json!("night"))],
    )
    .await;
    trigger(
        &app,
        "Urgent is pending, noted",
        vec![c("priority", "value", "urgent")],
        vec![a("status", json!("pending")), a(&format!("custom_fields_{field}"), json!("yes"))],
    )
    .await;
    trigger(
        &app,
        "Urgent is seen",
        vec![c("priority", "value", "urgent")],
        vec![a("current_tags", json!("urgent_seen"))],
    )
    .await;
    let (s, v) = app.put(&format!("/api/v2/users/{gone}.json"), json!({"user": {"role": "end-user"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/ticket_fields/{field}.json"), json!({"ticket_field": {"active": false}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = app.user("Riikka Pyytäjä", "riikka@example.fi").await;
    let id = app.ticket(r, "Down", "All down").await;
    let v = update(
        &app,
        id,
        json!({"status": "open", "priority": "urgent", "comment": {"body": "Escalating", "public": false}}),
    )
    .await;
    assert_eq!(v["ticket"]["priority"], "urgent", "the agent's own change stands");
    assert_eq!(v["ticket"]["status"], "open", "the refused trigger's status went with it");
    assert_eq!(v["ticket"]["assignee_id"], Value::Null);
    assert_eq!(v["ticket"]["tags"], json!(["urgent_seen"]), "the other triggers ran");
    let (_, audits) = app.get(&format!("/api/v2/tickets/{id}/audits.json")).await;
    let last = audits["audits"].as_array().unwrap().last().unwrap().clone();
    let from_rules: Vec<&Value> = last["events"].as_array().unwrap().iter().filter(|e| e["via"]["channel"] == "rule").collect();
    assert_eq!(from_rules.len(), 1, "only the tag: {last}");
    assert_eq!(from_rules[0]["field_name"], "tags");
    // The tags' rows (what holds by tag and the privacy graph read) are the ticket's tags:
    // the skipped trigger's tag is in neither.
    let hd = app.helpdesk();
    let mut c = hd.db().read().await.unwrap();
    assert_eq!(hd.tickets_with_tag(&mut c, TenantId(app.t.tenant_id), "urgent_seen").await.unwrap(), vec![id]);
    assert!(hd.tickets_with_tag(&mut c, TenantId(app.t.tenant_id), "night").await.unwrap().is_empty());
});

crate::engine_test!(tags_a_trigger_removes_leave_the_tickets_tag_rows_too, |app| async move {
    // Two triggers change the tags of one update, one adding and one removing: the rows (what
    // holds by tag and the privacy graph read) end as the tags do, written once after both.
    trigger(
        &app,
        "Urgent is seen",
        vec![c("priority", "value", "urgent")],
        vec![a("current_tags", json!("seen"))],
    )
    .await;
    trigger(
        &app,
        "Seen is no longer stale",
        vec![c("current_tags", "includes", "seen")],
        vec![a("remove_tags", json!("stale"))],
    )
    .await;
    let mut ids = Vec::new();
    for tags in [json!(["stale", "keep"]), json!(["stale"])] {
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"subject": "Tagged", "tags": tags, "comment": {"body": "Old"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["ticket"]["id"].as_i64().unwrap());
    }
    let (id, other) = (ids[0], ids[1]);
    let v = update(&app, id, json!({"priority": "urgent"})).await;
    assert_eq!(v["ticket"]["tags"], json!(["keep", "seen"]), "{v}");
    let hd = app.helpdesk();
    let mut c = hd.db().read().await.unwrap();
    let t = TenantId(app.t.tenant_id);
    let stale = hd.tickets_with_tag(&mut c, t, "stale").await.unwrap();
    assert_eq!(stale, vec![other], "the removed tag's row went, and only this ticket's");
    assert_eq!(hd.tickets_with_tag(&mut c, t, "keep").await.unwrap(), vec![id]);
    assert_eq!(hd.tickets_with_tag(&mut c, t, "seen").await.unwrap(), vec![id]);
});

crate::engine_test!(triggers_with_anything_wrong_are_refused_whole, |app| async move {
    let (_, before) = app.get("/api/v2/triggers.json").await;
    let n = before["count"].as_i64().unwrap();
    assert_eq!(n, 4, "the default notifications: {before}");
    let ok_actions = vec![a("priority", json!("high"))];
    for (all, actions, needle) in [
        (vec![c("colour", "is", "red")], ok_actions.clone(), "unknown field"),
        (vec![c("NEW", "greater_than", "4")], ok_actions.clone(), "counts hours"),
        (vec![c("status", "changed_to", "solved")], ok_actions.clone(), "operator"),
        (vec![], ok_actions.clone(), "at least one condition"),
        (vec![c("status", "is", "open")], vec![], "one to"),
        (
            vec![c("status", "is", "open")],
            vec![a("notification_user", json!(["999999", "Hi", "Text"]))],
            "no person",
        ),
        (
            vec![c("status", "is", "open")],
            vec![a("notification_group", json!(["999999", "Hi", "Text"]))],
            "no group",
        ),
        (
            vec![c("status", "is", "open")],
            vec![a("notification_user", json!(["requester_id", "Hi {{ticket.secret}}", "x"]))],
            "placeholder",
        ),
        (vec![c("status", "is", "open")], vec![a("notification_webhook", json!(["1", "{}"]))], "webhook"),
        (vec![c("status", "is", "open")], vec![a("comment_value", json!("Thanks"))], "not one of them"),
        (vec![c("status", "is", "open")], vec![a("assignee_id", json!("999999"))], "not an agent"),
        (vec![c("comment_includes_word", "includes", "... !!")], ok_actions.clone(), "at least one word"),
    ] {
        let (s, v) = app
            .post(
                "/api/v2/triggers.json",
                json!({"trigger": {"title": "Bad", "conditions": {"all": all, "any": []}, "actions": actions}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{needle}: {v}");
        assert!(v.to_string().contains(needle), "{needle}: {v}");
    }
    // Wrong shapes.
    for body in [
        json!({"trigger": {"title": "Bad", "conditions": {"all": [c("status", "is", "open")]}, "actions": [a("priority", json!("high"))], "extra": 1}}),
        json!({"trigger": {"title": "", "conditions": {"all": [c("status", "is", "open")]}, "actions": [a("priority", json!("high"))]}}),
        json!({"trigger": "x"}),
    ] {
        let (s, v) = app.post("/api/v2/triggers.json", body).await;
        assert!(s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST, "{s}: {v}");
    }
    let (_, after) = app.get("/api/v2/triggers.json").await;
    assert_eq!(after["count"].as_i64().unwrap(), n, "nothing was saved");
    // End users do not see triggers; a default one is not removed.
    let (_, login) = app.end_user_with_password("Eero Enduser", "eero@example.fi").await;
    let (s, _) = app.call_password(&login, Method::GET, "/api/v2/triggers.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let default = after["triggers"][0]["id"].as_i64().unwrap();
    assert_eq!(after["triggers"][0]["default"], true);
    let (s, _) = app.delete(&format!("/api/v2/triggers/{default}.json")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app.get("/api/v2/triggers/999999.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

crate::engine_test_configured!(
    the_mail_notifications_are_default_triggers_the_settings_switch_and_admins_write_more,
    |s| {
        s.mail_from = Some("support@one.example".into());
        s.smtp_url = Some("smtp://127.0.0.1:9?tls=none".into());
    },
    |app, _clock| async move {
        let hd = app.helpdesk();
        let aino = app.agent("Aino Agentti", "aino@example.fi").await;
        // Two requesters with the same first name; one reads Finnish.
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": "Ted Virtanen", "email": "ted.v@example.fi", "locale": "fi"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let ted = v["user"]["id"].as_i64().unwrap();
        let other_ted = app.user("Ted Started", "ted.s@example.fi").await;
        let cc = app.user("Cecilia Copy", "cecilia@example.fi").await;
        let other = app.ticket(other_ted, "Other", "Mine").await;
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"subject": "Lasku", "requester_id": ted, "assignee_id": aino, "email_cc_ids": [cc], "comment": {"body": "Tuplaveloitus <b>kiitos</b>"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["ticket"]["id"].as_i64().unwrap();
        // The requester's acknowledgement in Finnish, without their words; the assignee's notice
        // with them.
        let got = app.outbox(ted).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "ticket_received");
        assert!(got[0].1.contains("Pyyntösi on vastaanotettu: Lasku"), "{got:?}");
        assert!(!got[0].1.contains("Tuplaveloitus"), "{got:?}");
        let to_aino = app.outbox(aino).await;
        assert_eq!(to_aino.len(), 1, "{to_aino:?}");
        assert!(
            to_aino[0].1.contains("Assigned to you: Lasku") && to_aino[0].1.contains("Tuplaveloitus"),
            "{to_aino:?}"
        );
        let audits = app.get(&format!("/api/v2/tickets/{id}/audits.json")).await.1;
        let first = audits["audits"][0]["events"].as_array().unwrap().clone();
        assert!(
            first.iter().any(|e| e["type"] == "Notification" && e["recipients"] == json!([ted])),
            "{first:?}"
        );

        // A public reply: the requester and the CC, never its author; an internal note: only
        // the assignee, and no end user sees its words.
        update(&app, id, json!({"comment": {"body": "Palautimme rahat.", "public": true}})).await;
        update(&app, id, json!({"comment": {"body": "Sisäinen: tarkista pankki", "public": false}})).await;
        let got = app.outbox(ted).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].0, "ticket_reply");
        assert!(got[1].1.contains("Palautimme rahat.") && got[1].1.contains("Vastaus pyyntöösi"), "{got:?}");
        let to_cc = app.outbox(cc).await;
        assert_eq!(to_cc.len(), 1, "{to_cc:?}");
        assert!(to_cc[0].1.contains("Re: Lasku"), "English for an English reader: {to_cc:?}");
        assert!(
            app.outbox(ted).await.iter().chain(&app.outbox(cc).await).all(|(_, t)| !t.contains("Sisäinen")),
            "an internal note reaches no end user"
        );
        let to_aino = app.outbox(aino).await;
        assert_eq!(to_aino.len(), 3, "{to_aino:?}");
        assert!(to_aino[2].1.contains("Sisäinen: tarkista pankki"), "{to_aino:?}");
        let admin = app.t.admin_id;
        assert!(app.outbox(admin).await.is_empty(), "no one is told of their own update");

        // The mail settings switch the defaults: replies off.
        let scope = app.admin_scope();
        let mut n = hd.notification_settings(&scope).await.unwrap();
        assert!(n.received && n.replies && n.assignee);
        n.replies = false;
        hd.set_notification_settings(&scope, n).await.unwrap();
        assert!(!hd.notification_settings(&scope).await.unwrap().replies);
        let (_, list) = app.get("/api/v2/triggers.json").await;
        let comment_trigger = list["triggers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["title"] == "Notify requester and CCs of comment update")
            .unwrap()
            .clone();
        assert_eq!(comment_trigger["active"], false, "{comment_trigger}");
        update(&app, id, json!({"comment": {"body": "Vielä yksi.", "public": true}})).await;
        assert_eq!(app.outbox(ted).await.len(), 2, "replies are off");

        // An admin's own trigger: tell the requester by first name when their ticket is solved.
        let other_before = app.outbox(other_ted).await;
        trigger(
            &app,
            "Solved: tell the requester",
            vec![c("status", "value", "solved")],
            vec![a(
                "notification_user",
                json!([
                    "requester_id",
                    "{{ticket.title}} is solved",
                    "Hello {{ticket.requester.first_name}}, {{ticket.assignee.name}} solved #{{ticket.id}}."
                ]),
            )],
        )
        .await;
        update(&app, id, json!({"status": "solved"})).await;
        let got = app.outbox(ted).await;
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[2].1.contains("Lasku is solved"), "{got:?}");
        assert!(got[2].1.contains(&format!("Hello Ted, Aino Agentti solved #{id}.")), "{got:?}");
        assert_eq!(app.outbox(other_ted).await, other_before, "the other Ted's mail is untouched");

        // Placeholders naming people: an end user reads only their own details and staff's names.
        trigger(
            &app,
            "Tell everyone on the ticket",
            vec![c("priority", "value", "high")],
            vec![a(
                "notification_user",
                json!([
                    "requester_and_ccs",
                    "About {{ticket.id}}",
                    "R={{ticket.requester.name}} <{{ticket.requester.email}}> A={{ticket.assignee.name}} U={{current_user.name}} <{{current_user.email}}>"
                ]),
            )],
        )
        .await;
        let id2 = {
            let (s, v) = app
                .post(
                    "/api/v2/tickets.json",
                    json!({"ticket": {"subject": "Toinen", "requester_id": ted, "assignee_id": aino, "email_cc_ids": [cc], "comment": {"body": "Moi"}}}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["ticket"]["id"].as_i64().unwrap()
        };
        update(&app, id2, json!({"priority": "high"})).await;
        let mine = app.outbox(ted).await.last().unwrap().1.clone();
        assert!(mine.contains("R=Ted Virtanen <ted.v@example.fi> A=Aino Agentti U="), "{mine}");
        let theirs = app.outbox(cc).await.last().unwrap().1.clone();
        assert!(theirs.contains("R= <> A=Aino Agentti U="), "no one else's details: {theirs}");
        assert!(!theirs.contains("ted.v@example.fi") && !theirs.contains("Virtanen"), "{theirs}");

        // A message quoting the update's comment is not sent to an end user for an internal note.
        trigger(
            &app,
            "Quote every comment",
            vec![c("comment_is_public", "is", "not_relevant"), c("update_type", "is", "Change")],
            vec![a(
                "notification_user",
                json!(["requester_and_ccs", "Comment", "Said: {{ticket.latest_comment}}"]),
            )],
        )
        .await;
        let before_note = (app.outbox(ted).await.len(), app.outbox(cc).await.len());
        update(&app, id2, json!({"comment": {"body": "Vain meille", "public": false}})).await;
        assert_eq!((app.outbox(ted).await.len(), app.outbox(cc).await.len()), before_note, "nothing about a note");
        update(&app, id2, json!({"comment": {"body": "Teille kaikille", "public": true}})).await;
        assert!(app.outbox(ted).await.iter().any(|(_, t)| t.contains("Said: Teille kaikille")));

        // A trigger whose change is refused sends nothing either.
        let leaving = app.agent("Lähtevä Agentti", "leaving@example.fi").await;
        trigger(
            &app,
            "Escalate",
            vec![c("priority", "value", "urgent")],
            vec![
                a("assignee_id", json!(leaving.to_string())),
                a("notification_user", json!(["requester_id", "Escalated", "We escalated it."])),
            ],
        )
        .await;
        let (s, v) = app.put(&format!("/api/v2/users/{leaving}.json"), json!({"user": {"role": "end-user"}})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        update(&app, id2, json!({"priority": "urgent"})).await;
        assert!(
            app.outbox(ted).await.iter().all(|(_, t)| !t.contains("We escalated")),
            "the refused trigger told no one"
        );
        // By id, a notification names an agent.
        let (s, v) = app
            .post(
                "/api/v2/triggers.json",
                json!({"trigger": {"title": "To a customer", "conditions": {"all": [c("status", "is", "open")]}, "actions": [a("notification_user", json!([cc.to_string(), "Hi", "There"]))]}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

        // A CC whose processing is restricted is sent nothing, and no placeholder names them.
        let (s, v) = app
            .post(&format!("/api/v2/privacy/subjects/{cc}/restriction"), json!({"reason": "disputed address"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let cc_before = app.outbox(cc).await.len();
        update(&app, id2, json!({"comment": {"body": "Vielä kerran kaikille", "public": true}})).await;
        assert_eq!(app.outbox(cc).await.len(), cc_before, "a restricted person is sent nothing");
        assert!(app.outbox(ted).await.iter().any(|(_, t)| t.contains("Said: Vielä kerran kaikille")));
        let _ = other;
    }
);

crate::engine_test!(an_update_stops_after_fifty_triggers_have_changed_it, |app| async move {
    // A chain written backwards, the worst order: each change sends the tests back to the first.
    for i in (0..55).rev() {
        trigger(
            &app,
            &format!("Step {i}"),
            vec![c("current_tags", "includes", &format!("step{i}"))],
            vec![a("current_tags", json!(format!("step{}", i + 1)))],
        )
        .await;
    }
    // A condition sent without its value means "no value", as Zendesk reads it.
    let (s, v) = app
        .post(
            "/api/v2/triggers.json",
            json!({"trigger": {"title": "No value", "conditions": {"all": [{"field": "status", "operator": "changed"}]}, "actions": [a("current_tags", json!("status_moved"))]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let r = app.user("Ketju Pyytäjä", "ketju@example.fi").await;
    let id = app.ticket(r, "Chain", "Go").await;
    let v = update(&app, id, json!({"additional_tags": ["step0"]})).await;
    let tags: Vec<String> = v["ticket"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(tags.contains(&"step50".to_string()), "{tags:?}");
    assert!(!tags.contains(&"step51".to_string()), "the 51st change was not made: {tags:?}");
    // Fifty changes of the tags, and their rows (written once, after the last trigger) hold
    // every tag the ticket ended with; a ticket opened with the first tag chains the same way.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Chain on create", "tags": ["step0"], "comment": {"body": "Go"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let created = v["ticket"]["id"].as_i64().unwrap();
    assert!(v["ticket"]["tags"].as_array().unwrap().contains(&json!("step50")), "{v}");
    {
        let hd = app.helpdesk();
        let mut c = hd.db().read().await.unwrap();
        let t = TenantId(app.t.tenant_id);
        for tag in ["step0", "step1", "step25", "step50"] {
            let mut with = hd.tickets_with_tag(&mut c, t, tag).await.unwrap();
            with.sort_unstable();
            assert_eq!(with, vec![id, created], "{tag}");
        }
        assert!(hd.tickets_with_tag(&mut c, t, "step51").await.unwrap().is_empty());
    }
    let v = update(&app, id, json!({"status": "pending"})).await;
    assert!(v["ticket"]["tags"].as_array().unwrap().contains(&json!("status_moved")), "{v}");
});

crate::engine_test!(a_trigger_calls_a_webhook_with_its_body_filled_in_for_the_ticket, |app| async move {
    let (endpoint, got) = crate::harness::recipient().await;
    let (s, v) = app
        .post(
            "/api/v2/webhooks.json",
            json!({"webhook": {"name": "Events", "endpoint": endpoint, "subscriptions": ["ticket.created"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let events_only = v["webhook"]["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            "/api/v2/webhooks.json",
            json!({"webhook": {"name": "CRM", "endpoint": endpoint, "subscriptions": ["conditional_ticket_events"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hook = v["webhook"]["id"].as_str().unwrap().to_string();
    let body = r#"{"ticket": "{{ticket.id}}", "title": "{{ticket.title}}", "who": "{{ticket.requester.name}}", "mail": "{{ticket.requester.email}}", "state": ["{{ticket.status}}", "{{ticket.priority}}"]}"#;
    let when = vec![c("update_type", "is", "Create"), c("current_tags", "includes", "crm")];
    // Only a webhook subscribed to conditional_ticket_events is called by triggers.
    let (s, v) = app
        .post(
            "/api/v2/triggers.json",
            json!({"trigger": {"title": "To CRM", "conditions": {"all": when.clone(), "any": []}, "actions": [a("notification_webhook", json!([events_only, body]))]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("not subscribed"), "{v}");
    let id = trigger(
        &app,
        "To CRM",
        when,
        vec![a("notification_webhook", json!([hook, body])), a("priority", json!("high"))],
    )
    .await;
    let (_, v) = app.get(&format!("/api/v2/triggers/{id}.json")).await;
    assert_eq!(v["trigger"]["actions"][0]["value"], json!([hook, body]), "kept as given");

    // Quotes, a backslash and another script's words stay inside their strings.
    let ted = app.user("Ted \"Teddy\" O'Brien", "ted@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": ted, "subject": "Lasku \"maaliskuu\" \\ 2026 </script>", "tags": ["crm"], "comment": {"body": "Hei"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let called = v["ticket"]["id"].as_i64().unwrap();
    let quiet = app.ticket(ted, "Toinen", "Ei CRM:ään").await;
    let got_call = crate::harness::wait_for(&got, |v| v.get("ticket") == Some(&json!(called.to_string()))).await;
    assert_eq!(
        got_call,
        json!({"ticket": called.to_string(), "title": "Lasku \"maaliskuu\" \\ 2026 </script>", "who": "Ted \"Teddy\" O'Brien", "mail": "ted@example.fi", "state": ["new", "high"]}),
        "the body as the trigger left the ticket (its own change included)"
    );
    // The other webhook got the ticket events, never the call; the untagged ticket made none.
    crate::harness::wait_for(&got, |v| v["type"] == "ticket.created" && v["ticket"]["id"] == quiet).await;
    let all = got.lock().unwrap().clone();
    assert_eq!(all.iter().filter(|v| v.get("who").is_some()).count(), 1, "{all:?}");
    assert!(!all.iter().any(|v| v.get("ticket") == Some(&json!(quiet.to_string()))), "{all:?}");
    // A webhook a trigger calls is not removed from under it.
    let (s, v) = app.delete(&format!("/api/v2/webhooks/{hook}.json")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = app.delete(&format!("/api/v2/triggers/{id}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.delete(&format!("/api/v2/webhooks/{hook}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
});

crate::engine_test!(triggers_are_filed_under_categories, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/trigger_categories.json",
            json!({"trigger_category": {"name": "Notifications", "position": 0}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let notices = v["trigger_category"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["trigger_category"]["name"], "Notifications");
    let (s, v) = app
        .post("/api/v2/trigger_categories.json", json!({"trigger_category": {"name": "Routing"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let routing = v["trigger_category"]["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            "/api/v2/triggers.json",
            json!({"trigger": {"title": "Route VIP", "category_id": routing, "conditions": {"all": [c("current_tags", "includes", "vip")], "any": []}, "actions": [a("priority", json!("high"))]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["trigger"]["id"].as_i64().unwrap();
    assert_eq!(v["trigger"]["category_id"], json!(routing));
    let (_, v) = app.get(&format!("/api/v2/triggers.json?category_id={routing}")).await;
    let listed: Vec<i64> = v["triggers"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, vec![id], "{v}");
    // A category holding a trigger is not removed; an unknown one is not taken.
    let (s, v) = app.delete(&format!("/api/v2/trigger_categories/{routing}.json")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/triggers/{id}.json"), json!({"trigger": {"category_id": "999999"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("no trigger category"), "{v}");
    // Moved, it leaves the category, which can then go; its conditions and actions stay.
    let (s, v) = app
        .put(&format!("/api/v2/triggers/{id}.json"), json!({"trigger": {"category_id": notices}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["trigger"]["category_id"], json!(notices));
    assert_eq!(v["trigger"]["actions"], json!([a("priority", json!("high"))]));
    let (s, v) = app
        .patch_json(
            &format!("/api/v2/trigger_categories/{routing}.json"),
            json!({"trigger_category": {"name": "Reitit"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["trigger_category"]["name"], "Reitit");
    let (s, _) = app.delete(&format!("/api/v2/trigger_categories/{routing}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get("/api/v2/trigger_categories.json").await;
    assert_eq!(v["trigger_categories"].as_array().unwrap().len(), 1, "{v}");
});
