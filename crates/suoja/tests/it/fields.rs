//! Ticket, user and organisation fields and ticket forms: definitions through the API, values
//! checked against them on every path that takes them, what requesters may see and set, the
//! fields a solved ticket must hold, and the privacy engine reading what admins typed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::engine_test;
use crate::harness::{Tenant, TestApp};

/// A person with a password, in `role`, for calls as them.
async fn login(app: &TestApp, name: &str, email: &str, role: &str) -> (i64, Tenant) {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": name, "email": email, "role": role, "password": "correct horse battery"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["user"]["id"].as_i64().unwrap();
    (
        id,
        Tenant {
            email: email.into(),
            token: "correct horse battery".into(),
            admin_id: id,
            tenant_id: app.t.tenant_id,
        },
    )
}

async fn field(app: &TestApp, body: Value) -> Value {
    let (s, v) = app.post("/api/v2/ticket_fields.json", json!({ "ticket_field": body })).await;
    assert_eq!(s, StatusCode::CREATED, "{body}: {v}");
    v["ticket_field"].clone()
}

async fn ticket_count(app: &TestApp) -> i64 {
    app.get("/api/v2/tickets.json").await.1["count"].as_i64().unwrap()
}

engine_test!(ticket_fields_are_defined_by_admins_and_values_must_fit_them, |app| async move {
    // The system fields are listed first, and cannot be removed.
    let (s, v) = app.get("/api/v2/ticket_fields.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let types: Vec<&str> = v["ticket_fields"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["subject", "description", "status", "tickettype", "priority", "group", "assignee"]);
    let status_field = &v["ticket_fields"][2];
    assert_eq!(status_field["removable"], false);
    assert_eq!(status_field["system_field_options"][4]["value"], "solved");
    let (s, v) = app.delete(&format!("/api/v2/ticket_fields/{}.json", status_field["id"])).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    let plan = field(
        &app,
        json!({"type": "tagger", "title": "Plan", "custom_field_options": [{"name": "Gold", "value": "plan_gold"}, {"name": "Silver", "value": "Plan_Silver"}]}),
    )
    .await;
    assert_eq!(plan["custom_field_options"][1]["value"], "plan_silver", "option values are tags: {plan}");
    let seats = field(&app, json!({"type": "integer", "title": "Seats"})).await;
    let price = field(&app, json!({"type": "decimal", "title": "Price"})).await;
    let renew = field(&app, json!({"type": "date", "title": "Renewal"})).await;
    let vip = field(&app, json!({"type": "checkbox", "title": "VIP", "tag": "vip"})).await;
    let order = field(&app, json!({"type": "regexp", "title": "Order", "regexp_for_validation": "^[A-Z]{2}-[0-9]+$"})).await;
    let topics = field(
        &app,
        json!({"type": "multiselect", "title": "Topics", "custom_field_options": [{"name": "Billing", "value": "billing"}, {"name": "Login", "value": "login"}]}),
    )
    .await;
    let id = |f: &Value| f["id"].as_i64().unwrap();

    // Definitions that make no sense are refused whole.
    let before = app.get("/api/v2/ticket_fields/count.json").await.1["count"]["value"].clone();
    for bad in [
        json!({"type": "rainbow", "title": "X"}),
        json!({"type": "text"}),
        json!({"type": "text", "title": "   "}),
        json!({"type": "tagger", "title": "No options"}),
        json!({"type": "tagger", "title": "Twice", "custom_field_options": [{"name": "A", "value": "a"}, {"name": "B", "value": "A"}]}),
        json!({"type": "tagger", "title": "Spaced", "custom_field_options": [{"name": "A", "value": "two words"}]}),
        json!({"type": "regexp", "title": "Broken", "regexp_for_validation": "(["}),
        json!({"type": "regexp", "title": "Missing"}),
        json!({"type": "text", "title": "Options", "custom_field_options": [{"name": "A", "value": "a"}]}),
        json!({"type": "text", "title": "Unknown", "colour": "red"}),
    ] {
        let (s, v) = app.post("/api/v2/ticket_fields.json", json!({ "ticket_field": bad })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(v["details"].is_object() || v["description"].is_string(), "{v}");
    }
    assert_eq!(app.get("/api/v2/ticket_fields/count.json").await.1["count"]["value"], before);
    // Agents read fields, they do not make them.
    let (_, agent) = login(&app, "Aino Agentti", "aino.fields@example.fi", "agent").await;
    let (s, _) = app.call_password(&agent, Method::GET, "/api/v2/ticket_fields.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_password(
            &agent,
            Method::POST,
            "/api/v2/ticket_fields.json",
            Some(json!({"ticket_field": {"type": "text", "title": "Mine"}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Values come back in the shape their type keeps.
    let requester = app.user("Matti Meikäläinen", "matti.fields@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": "Upgrade", "comment": {"body": "More seats"}, "custom_fields": [
                {"id": id(&plan), "value": "plan_gold"}, {"id": id(&seats), "value": 12}, {"id": id(&price), "value": "19.90"},
                {"id": id(&renew), "value": "2027-02-28"}, {"id": id(&vip), "value": "true"}, {"id": id(&order), "value": "FI-1234"},
                {"id": id(&topics), "value": ["login", "billing", "login"]}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = v["ticket"]["id"].as_i64().unwrap();
    let value = |v: &Value, f: &Value| v["ticket"]["custom_fields"].as_array().unwrap().iter().find(|x| x["id"] == f["id"]).unwrap()["value"].clone();
    assert_eq!(value(&v, &seats), "12");
    assert_eq!(value(&v, &vip), true);
    assert_eq!(value(&v, &topics), json!(["billing", "login"]), "in the options' order");
    // The chosen options and the ticked box's tag are the ticket's tags too, as in Zendesk.
    assert_eq!(v["ticket"]["tags"], json!(["billing", "login", "plan_gold", "vip"]));
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"custom_fields": [{"id": id(&plan), "value": "plan_silver"}, {"id": id(&vip), "value": false}, {"id": id(&topics), "value": ["billing"]}], "additional_tags": ["kept"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["tags"], json!(["billing", "kept", "plan_silver"]), "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"custom_fields": [{"id": id(&plan), "value": "plan_gold"}, {"id": id(&vip), "value": true}, {"id": id(&topics), "value": ["login", "billing"]}]}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["tags"], json!(["billing", "kept", "login", "plan_gold", "vip"]), "{v}");

    // A value that does not fit, or a field that does not exist: a clear 422, nothing written.
    let tickets = ticket_count(&app).await;
    for (f, bad) in [
        (id(&plan), json!("plan_bronze")),
        (id(&seats), json!("twelve")),
        (id(&seats), json!(1.5)),
        (id(&price), json!("1e999")),
        (id(&renew), json!("2027-02-30")),
        (id(&vip), json!("maybe")),
        (id(&order), json!("fi-1234")),
        (id(&topics), json!(["billing", "sales"])),
        (id(&topics), json!({"a": 1})),
        (987_654, json!("x")),
    ] {
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"requester_id": requester, "subject": "Bad", "comment": {"body": "x"}, "custom_fields": [{"id": f, "value": bad}]}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(v.to_string().contains("custom_fields"), "{v}");
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}.json"),
                json!({"ticket": {"custom_fields": [{"id": f, "value": bad}], "subject": "Changed"}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    assert_eq!(ticket_count(&app).await, tickets);
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["subject"], "Upgrade", "a refused update changes nothing");
    assert_eq!(value(&v, &plan), "plan_gold");

    // Options keep their ids when the list changes; the type cannot change.
    let gold = plan["custom_field_options"][0]["id"].as_i64().unwrap();
    let (s, v) = app
        .put(
            &format!("/api/v2/ticket_fields/{}.json", id(&plan)),
            json!({"ticket_field": {"custom_field_options": [{"id": gold, "name": "Gold+", "value": "plan_gold"}, {"name": "Bronze", "value": "plan_bronze"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket_field"]["custom_field_options"][0]["id"], gold);
    assert_eq!(v["ticket_field"]["custom_field_options"][0]["name"], "Gold+");
    let (s, v) = app.get(&format!("/api/v2/ticket_fields/{}/options.json", id(&plan))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 2);
    let (s, v) = app
        .put(&format!("/api/v2/ticket_fields/{}.json", id(&plan)), json!({"ticket_field": {"type": "text"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // A removed field keeps the values already given and takes no new ones.
    let (s, _) = app.delete(&format!("/api/v2/ticket_fields/{}.json", id(&order))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(value(&v, &order), "FI-1234");
    let (s, _) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"custom_fields": [{"id": id(&order), "value": "FI-9"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.get(&format!("/api/v2/ticket_fields/{}.json", id(&order))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An inactive field takes no values either.
    let (s, _) = app
        .put(
            &format!("/api/v2/ticket_fields/{}.json", id(&seats)),
            json!({"ticket_field": {"active": false}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"custom_fields": [{"id": id(&seats), "value": 3}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
});

/// Saves the agent page's properties of ticket `t` with `status` and `fields` (id, value).
async fn save_on_page(admin: &mut crate::web::Browser, t: i64, status: &str, fields: &[(i64, &str)]) -> crate::web::Page {
    let names: Vec<(String, String)> = fields.iter().map(|(id, v)| (format!("field_{id}"), (*v).to_string())).collect();
    let shown: Vec<String> = fields.iter().map(|(id, _)| id.to_string()).collect();
    let mut form: Vec<(&str, &str)> = vec![("status", status), ("priority", ""), ("assignee_id", "0"), ("group_id", "0"), ("tags", "")];
    for (i, (k, v)) in names.iter().enumerate() {
        form.push(("field_shown", shown[i].as_str()));
        form.push((k.as_str(), v.as_str()));
    }
    admin.submit(&format!("/agent/tickets/{t}"), &format!("/agent/tickets/{t}"), &form).await
}

engine_test!(a_required_field_must_hold_a_value_before_an_agent_solves_the_ticket, |app| async move {
    let cause = field(&app, json!({"type": "text", "title": "Root cause", "required": true})).await;
    let cause_id = cause["id"].as_i64().unwrap();
    let requester = app.user("Liisa Laine", "liisa.fields@example.fi").await;
    let t = app.ticket(requester, "Broken login", "Cannot sign in").await;
    // On the agent page: refused, and nothing changes.
    let mut admin = crate::web::admin_browser(&app).await;
    let page = admin.get(&format!("/agent/tickets/{t}")).await;
    assert!(
        page.body.contains("Root cause <span class=\"muted\">(required to solve)</span>"),
        "{}",
        page.body
    );
    let refused = save_on_page(&mut admin, t, "solved", &[(cause_id, "")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("Root cause is required to solve the ticket"), "{}", refused.body);
    assert_eq!(app.get(&format!("/api/v2/tickets/{t}.json")).await.1["ticket"]["status"], "new");
    let done = save_on_page(&mut admin, t, "solved", &[(cause_id, "expired password")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(app.get(&format!("/api/v2/tickets/{t}.json")).await.1["ticket"]["status"], "solved");
    // Emptying it on a solved ticket there is refused too.
    let refused = save_on_page(&mut admin, t, "solved", &[(cause_id, "")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);

    // The API solves whatever the field holds, as Zendesk's does; a merge closes its sources.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": "Done", "status": "solved", "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t2 = app.ticket(requester, "Again", "Still broken").await;
    let (s, v) = app.put(&format!("/api/v2/tickets/{t2}.json"), json!({"ticket": {"status": "solved"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let a = app.ticket(requester, "Duplicate", "Same thing").await;
    let b = app.ticket(requester, "Original", "The thing").await;
    let (s, v) = app.post(&format!("/api/v2/tickets/{b}/merge.json"), json!({"ids": [a]})).await;
    assert!(s.is_success(), "{v}");
    // The requester marking their own ticket solved is not asked for agents' fields.
    let (me, login) = app.end_user_with_password("Kalle Korhonen", "kalle.fields@example.fi").await;
    let t3 = app.ticket(me, "Question", "How?").await;
    let (s, _) = app
        .put(&format!("/api/v2/tickets/{t3}.json"), json!({"ticket": {"assignee_id": app.t.admin_id}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .call_password(
            &login,
            Method::PUT,
            &format!("/api/v2/requests/{t3}.json"),
            Some(json!({"request": {"solved": true}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
});

engine_test!(requesters_see_and_set_only_the_fields_the_portal_shows, |app| async move {
    let order = field(
        &app,
        json!({"type": "text", "title": "Order number", "title_in_portal": "Your order number", "visible_in_portal": true, "editable_in_portal": true, "required_in_portal": true}),
    )
    .await;
    let shown = field(&app, json!({"type": "text", "title": "Shown", "visible_in_portal": true})).await;
    let internal = field(&app, json!({"type": "text", "title": "Churn risk"})).await;
    assert_eq!(order["title_in_portal"], "Your order number");
    let (me, login) = app.end_user_with_password("Outi Ostaja", "outi.fields@example.fi").await;
    let new_request = |fields: Value| json!({"request": {"subject": "Where is my parcel", "comment": {"body": "It has not come"}, "custom_fields": fields}});
    // A required portal field left out, a field the portal does not let them set: refused.
    for fields in [
        json!([]),
        json!([{"id": order["id"], "value": "A-1"}, {"id": internal["id"], "value": "high"}]),
        json!([{"id": order["id"], "value": "A-1"}, {"id": shown["id"], "value": "x"}]),
    ] {
        let (s, v) = app
            .call_password(&login, Method::POST, "/api/v2/requests.json", Some(new_request(fields.clone())))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{fields}: {v}");
    }
    let (s, v) = app
        .call_password(
            &login,
            Method::POST,
            "/api/v2/requests.json",
            Some(new_request(json!([{"id": order["id"], "value": "A-1"}]))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["request"]["id"].as_i64().unwrap();
    // Staff fill in the rest; the requester sees only what the portal shows.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"custom_fields": [{"id": internal["id"], "value": "high"}, {"id": shown["id"], "value": "visible note"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["custom_fields"].as_array().unwrap().len(), 3);
    // As Zendesk lists them to end users: the ticket fields the portal shows, no others.
    let (s, v) = app.call_password(&login, Method::GET, "/api/v2/ticket_fields.json", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let titles: Vec<&str> = v["ticket_fields"].as_array().unwrap().iter().map(|f| f["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Subject", "Description", "Order number", "Shown"], "{v}");
    let (s, _) = app
        .call_password(&login, Method::GET, &format!("/api/v2/ticket_fields/{}.json", internal["id"]), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.call_password(&login, Method::GET, "/api/v2/user_fields.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.call_password(&login, Method::GET, &format!("/api/v2/requests/{id}.json"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ids: Vec<&Value> = v["request"]["custom_fields"].as_array().unwrap().iter().map(|f| &f["id"]).collect();
    assert_eq!(ids, [&order["id"], &shown["id"]], "{v}");
    assert!(!v.to_string().contains("high"), "{v}");
    // Their own export holds every value about them, with the fields' titles.
    let doc = crate::privacy_precision::export_of(&app, me).await;
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let exported = &doc["tickets"][0]["custom_fields"];
    assert!(
        exported.as_array().unwrap().iter().any(|f| f["title"] == "Churn risk" && f["value"] == "high"),
        "{exported}"
    );
});

engine_test!(ticket_forms_choose_fields_and_the_default_form_is_given_to_new_tickets, |app| async move {
    let model = field(&app, json!({"type": "text", "title": "Device model", "required": true})).await;
    let serial = field(&app, json!({"type": "text", "title": "Serial", "required": true})).await;
    let (_, v) = app.get("/api/v2/ticket_fields.json").await;
    let subject_id = v["ticket_fields"][0]["id"].clone();
    let (s, v) = app
        .post(
            "/api/v2/ticket_forms.json",
            json!({"ticket_form": {"name": "Hardware", "ticket_field_ids": [subject_id, model["id"]]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hardware = v["ticket_form"].clone();
    assert_eq!(hardware["default"], true, "the first form is the default: {v}");
    assert_eq!(hardware["display_name"], "Hardware");
    let (s, v) = app
        .post(
            "/api/v2/ticket_forms.json",
            json!({"ticket_form": {"name": "Internal", "end_user_visible": false, "ticket_field_ids": [serial["id"]]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let internal = v["ticket_form"].clone();
    for bad in [
        json!({"ticket_form": {"name": "Ghost", "ticket_field_ids": [987_654]}}),
        json!({"ticket_form": {"name": ""}}),
        json!({"ticket_form": {"name": "Cond", "agent_conditions": [{"parent_field_id": 1}]}}),
    ] {
        let (s, v) = app.post("/api/v2/ticket_forms.json", bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    assert_eq!(app.get("/api/v2/ticket_forms.json").await.1["count"], 2);

    // New tickets get the default form; solving asks only for its required fields.
    let requester = app.user("Pekka Puhelin", "pekka.fields@example.fi").await;
    let t = app.ticket(requester, "Phone broken", "Screen cracked").await;
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["ticket_form_id"], hardware["id"]);
    let mut admin = crate::web::admin_browser(&app).await;
    let model_id = model["id"].as_i64().unwrap();
    let refused = save_on_page(&mut admin, t, "solved", &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("Device model"), "{}", refused.body);
    let done = save_on_page(&mut admin, t, "solved", &[(model_id, "P30")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "the serial is not on this form: {}", done.body);
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"ticket_form_id": 987_654}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Requesters see and choose only the forms meant for them.
    let (_, login) = app.end_user_with_password("Eeva Enduser", "eeva.fields@example.fi").await;
    let (s, v) = app.call_password(&login, Method::GET, "/api/v2/ticket_forms.json", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 1);
    let (s, _) = app
        .call_password(&login, Method::GET, &format!("/api/v2/ticket_forms/{}.json", internal["id"]), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app
        .call_password(
            &login,
            Method::POST,
            "/api/v2/requests.json",
            Some(json!({"request": {"subject": "Hi", "comment": {"body": "x"}, "ticket_form_id": internal["id"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The default form stays until another is the default; then it may go.
    let (s, _) = app.delete(&format!("/api/v2/ticket_forms/{}.json", hardware["id"])).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = app
        .put(
            &format!("/api/v2/ticket_forms/{}.json", internal["id"]),
            json!({"ticket_form": {"default": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app
        .get(&format!("/api/v2/ticket_forms/show_many.json?ids={},{}", hardware["id"], internal["id"]))
        .await;
    let defaults: Vec<&Value> = v["ticket_forms"].as_array().unwrap().iter().filter(|f| f["default"] == true).collect();
    assert_eq!(defaults.len(), 1, "{v}");
    let (s, _) = app.delete(&format!("/api/v2/ticket_forms/{}.json", hardware["id"])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["ticket_form_id"], Value::Null, "its tickets lose the form, keep their values: {v}");
    assert_eq!(v["ticket"]["custom_fields"][0]["value"], "P30");
});

engine_test!(user_and_organization_fields_are_keyed_checked_and_merged, |app| async move {
    for (path, root) in [
        ("/api/v2/user_fields.json", "user_field"),
        ("/api/v2/organization_fields.json", "organization_field"),
    ] {
        let (s, v) = app
            .post(path, json!({ root: {"type": "dropdown", "key": "tier", "title": "Tier", "custom_field_options": [{"name": "Gold", "value": "gold"}, {"name": "Free", "value": "free"}]} }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v[root]["key"], "tier");
        let (s, v) = app
            .post(path, json!({ root: {"type": "date", "key": "since", "title": "Customer since"} }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        for bad in [
            json!({ root: {"type": "text", "key": "tier", "title": "Again"} }),
            json!({ root: {"type": "text", "key": "9lives", "title": "Digit"} }),
            json!({ root: {"type": "text", "title": "No key"} }),
        ] {
            let (s, v) = app.post(path, bad.clone()).await;
            assert!(s == StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {s} {v}");
        }
    }
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Sanna Suur", "email": "sanna.fields@example.fi", "user_fields": {"tier": "gold"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let u = v["user"]["id"].as_i64().unwrap();
    // A second key is laid over the first; null removes one.
    let (s, v) = app
        .put(&format!("/api/v2/users/{u}.json"), json!({"user": {"user_fields": {"since": "2019-05-01"}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["user_fields"], json!({"tier": "gold", "since": "2019-05-01"}));
    let (_, v) = app
        .put(&format!("/api/v2/users/{u}.json"), json!({"user": {"user_fields": {"tier": null}}}))
        .await;
    assert_eq!(v["user"]["user_fields"], json!({"since": "2019-05-01"}));
    for bad in [
        json!({"tier": "platinum"}),
        json!({"since": "yesterday"}),
        json!({"shoe_size": "44"}),
        json!("gold"),
    ] {
        let (s, v) = app
            .put(&format!("/api/v2/users/{u}.json"), json!({"user": {"user_fields": bad, "name": "Changed"}}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    assert_eq!(app.get(&format!("/api/v2/users/{u}.json")).await.1["user"]["name"], "Sanna Suur");

    let (s, v) = app
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "Kone Oy", "organization_fields": {"tier": "free"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let org = v["organization"]["id"].as_i64().unwrap();
    assert_eq!(v["organization"]["organization_fields"], json!({"tier": "free"}));
    let (s, v) = app
        .put(
            &format!("/api/v2/organizations/{org}.json"),
            json!({"organization": {"organization_fields": {"tier": "bronze"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "Ghost Oy", "organization_fields": {"nope": 1}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.get("/api/v2/organizations.json").await.1["count"], 1, "nothing half-made");
});

engine_test!(
    a_person_named_in_what_admins_typed_is_erased_there_and_no_one_else_is_touched,
    |app| async move {
        // Ted Smith is named in a field's description and an option, and in an organisation's
        // field; Teddy, "started" and another Smith are not him.
        let f = field(
            &app,
            json!({"type": "tagger", "title": "Escalation contact", "description": "Ask Ted Smith (ted.smith@example.fi) first; started by Teddy.",
            "custom_field_options": [{"name": "Ted Smith", "value": "contact_ted"}, {"name": "Anna Smith", "value": "contact_anna"}]}),
        )
        .await;
        let other = field(
            &app,
            json!({"type": "text", "title": "Started by Teddy", "description": "Anna Smith owns this."}),
        )
        .await;
        let (s, _) = app
            .post(
                "/api/v2/organization_fields.json",
                json!({"organization_field": {"type": "text", "key": "owner", "title": "Owner"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, v) = app
            .post(
                "/api/v2/organizations.json",
                json!({"organization": {"name": "Kone Oy", "organization_fields": {"owner": "ted.smith@example.fi"}}}),
            )
            .await;
        let org = v["organization"]["id"].as_i64().unwrap();
        let (_, v) = app
            .post(
                "/api/v2/organizations.json",
                json!({"organization": {"name": "Other Oy", "organization_fields": {"owner": "Teddy started it"}}}),
            )
            .await;
        let other_org = v["organization"]["id"].as_i64().unwrap();
        let other_before = app.get(&format!("/api/v2/ticket_fields/{}.json", other["id"])).await.1;
        let other_org_before = app.get(&format!("/api/v2/organizations/{other_org}.json")).await.1;
        let ted = app.user("Ted Smith", "ted.smith@example.fi").await;

        // His access request finds him in the definitions (organisations' text is searched for
        // an erasure).
        let request = crate::privacy_precision::verified_request(&app, "access", ted, json!({})).await;
        let (s, v) = app
            .post(
                &format!("/api/v2/privacy/requests/{request}/exports.json"),
                json!({"export": {"format": "json"}}),
            )
            .await;
        assert!(s.is_success(), "{v}");
        let found = crate::privacy_precision::mentions(&app, request).await;
        let sources: Vec<&str> = found.iter().map(|m| m["source"].as_str().unwrap()).collect();
        assert!(sources.contains(&"field_definitions"), "{found:#?}");
        assert!(
            !found.iter().any(|m| m["source"] == "field_definitions" && m["source_id"] == other["id"]),
            "{found:#?}"
        );

        let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{ted}/erasure.json"), json!({})).await;
        assert!(s.is_success(), "{v}");
        assert_eq!(v["erasure"]["state"], "completed", "{v}");
        let (s, v) = app.get(&format!("/api/v2/ticket_fields/{}.json", f["id"])).await;
        assert_eq!(s, StatusCode::OK, "the definition still reads: {v}");
        let text = v.to_string();
        assert!(!text.contains("Ted Smith") && !text.contains("ted.smith@example.fi"), "{text}");
        assert!(text.contains("Teddy") && text.contains("Anna Smith"), "{text}");
        assert_eq!(v["ticket_field"]["custom_field_options"].as_array().unwrap().len(), 2, "{v}");
        let (_, v) = app.get(&format!("/api/v2/organizations/{org}.json")).await;
        assert!(!v.to_string().contains("ted.smith"), "{v}");
        // Everything else reads byte for byte as before.
        assert_eq!(app.get(&format!("/api/v2/ticket_fields/{}.json", other["id"])).await.1, other_before);
        assert_eq!(app.get(&format!("/api/v2/organizations/{other_org}.json")).await.1, other_org_before);
    }
);

engine_test!(
    fields_are_kept_on_the_admin_page_and_filled_in_on_the_agent_and_portal_pages,
    |app| async move {
        use crate::web::Browser;
        let mut admin = crate::web::admin_browser(&app).await;
        let page = admin.get("/admin/fields").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Subject") && page.body.contains("id=\"fields-user-none\""), "{}", page.body);
        // A drop-down requesters must fill in; one that cannot be read is shown back, kept.
        let bad = admin
            .submit(
                "/admin/fields",
                "/admin/fields",
                &[("owner", "ticket"), ("type", "tagger"), ("title", "Plan"), ("options", "Gold plan = two words")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("field-options-error") && bad.body.contains("value=\"Plan\""), "{}", bad.body);
        let done = admin
            .submit(
                "/admin/fields",
                "/admin/fields",
                &[
                    ("owner", "ticket"),
                    ("type", "tagger"),
                    ("title", "Plan"),
                    ("options", "Gold plan = gold\nSilver"),
                    ("visible_in_portal", "1"),
                    ("editable_in_portal", "1"),
                    ("required_in_portal", "1"),
                ],
            )
            .await;
        assert_eq!(done.location(), "/admin/fields?done=field_added", "{}", done.body);
        let (_, v) = app.get("/api/v2/ticket_fields.json").await;
        let plan = v["ticket_fields"].as_array().unwrap().iter().find(|f| f["title"] == "Plan").unwrap().clone();
        let fid = plan["id"].as_i64().unwrap();
        assert_eq!(plan["custom_field_options"][1]["value"], "silver");
        assert_eq!(plan["required_in_portal"], true);

        // The agent page offers the options; saving sets the value once, and saving again
        // changes nothing.
        let requester = app.user("Venla Valinta", "venla.fields@example.fi").await;
        let t = app.ticket(requester, "Which plan", "I am not sure").await;
        let page = admin.get(&format!("/agent/tickets/{t}")).await;
        assert!(
            page.body.contains(&format!("<select id=\"field-{fid}\"")) && page.body.contains("Gold plan"),
            "{}",
            page.body
        );
        let shown = fid.to_string();
        let name = format!("field_{fid}");
        let form = [
            ("status", "open"),
            ("priority", ""),
            ("assignee_id", "0"),
            ("group_id", "0"),
            ("tags", ""),
            ("field_shown", shown.as_str()),
            (name.as_str(), "gold"),
        ];
        for _ in 0..2 {
            let r = admin.submit(&format!("/agent/tickets/{t}"), &format!("/agent/tickets/{t}"), &form).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
        let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
        assert_eq!(v["ticket"]["custom_fields"], json!([{"id": fid, "value": "gold"}]));
        let (_, audits) = app.get(&format!("/api/v2/tickets/{t}/audits.json")).await;
        let changes = audits.to_string().matches(&format!("\"field_name\":\"{fid}\"")).count();
        assert_eq!(changes, 1, "{audits}");

        // A requester must choose a plan to open a request, and then sees it on the request.
        let (_, login) = app.end_user_with_password("Ville Valitsija", "ville.fields@example.fi").await;
        let mut me = Browser::new(&app);
        me.sign_in(&login.email, &login.token).await;
        let page = me.get("/portal/requests/new").await;
        assert!(page.body.contains(&format!("name=\"field_{fid}\" required")), "{}", page.body);
        let refused = me
            .submit(
                "/portal/requests/new",
                "/portal/requests/new",
                &[
                    ("form_id", "fields-portal-new-0123456789ab"),
                    ("subject", "Upgrade please"),
                    ("body", "More seats"),
                    ("field_shown", shown.as_str()),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(
            refused.body.contains("Plan is required") && refused.body.contains("Upgrade please"),
            "{}",
            refused.body
        );
        let sent = me
            .submit(
                "/portal/requests/new",
                "/portal/requests/new",
                &[
                    ("form_id", "fields-portal-new-0123456789ac"),
                    ("subject", "Upgrade please"),
                    ("body", "More seats"),
                    ("field_shown", shown.as_str()),
                    (name.as_str(), "silver"),
                ],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let request = me.get(sent.location()).await;
        assert!(request.body.contains("<dt>Plan</dt><dd>Silver</dd>"), "{}", request.body);

        // Out of use, the portal no longer asks for it.
        let r = admin
            .submit("/admin/fields", &format!("/admin/fields/{fid}/active"), &[("owner", "ticket"), ("active", "0")])
            .await;
        assert_eq!(r.location(), "/admin/fields?done=field_changed");
        assert!(!me.get("/portal/requests/new").await.body.contains(&format!("field_{fid}")));
    }
);

engine_test!(a_client_writes_back_what_it_read_and_requesters_never_learn_hidden_values, |app| async move {
    let tier = field(
        &app,
        json!({"type": "tagger", "title": "Secret tier", "custom_field_options": [{"name": "Gold", "value": "tier_gold"}, {"name": "Free", "value": "tier_free"}]}),
    )
    .await;
    let escalated = field(&app, json!({"type": "checkbox", "title": "Escalated", "tag": "escalated"})).await;
    let product = field(
        &app,
        json!({"type": "tagger", "title": "Product", "visible_in_portal": true, "custom_field_options": [{"name": "A", "value": "prod_a"}]}),
    )
    .await;
    let old = field(&app, json!({"type": "text", "title": "Old reference"})).await;
    let (me, login) = app.end_user_with_password("Eeva Asiakas", "eeva.hidden@example.fi").await;
    let t = app.ticket(me, "Billing", "Wrong amount").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"custom_fields": [{"id": tier["id"], "value": "tier_gold"}, {"id": escalated["id"], "value": true},
                {"id": product["id"], "value": "prod_a"}, {"id": old["id"], "value": "R-1"}], "additional_tags": ["billing"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["tags"], json!(["billing", "escalated", "prod_a", "tier_gold"]));

    // The requester sees neither the hidden fields nor any tag (staff's labels, which hidden
    // fields put there too), and cannot find the ticket by a tag.
    for path in [format!("/api/v2/tickets/{t}.json"), format!("/api/v2/requests/{t}.json")] {
        let (s, v) = app.call_password(&login, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let text = v.to_string();
        assert!(
            !text.contains("tier_gold") && !text.contains("escalated") && !text.contains("R-1"),
            "{path}: {text}"
        );
    }
    let (_, v) = app.call_password(&login, Method::GET, &format!("/api/v2/tickets/{t}.json"), None).await;
    assert_eq!(v["ticket"]["tags"], json!([]));
    for (query, found) in [
        ("tags:tier_gold", 0),
        ("tags:escalated", 0),
        ("tags:prod_a", 0),
        ("tags:billing", 0),
        ("Billing", 1),
    ] {
        let (s, v) = app
            .call_password(&login, Method::GET, &format!("/api/v2/search.json?query={query}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["count"], found, "{query}: {v}");
    }
    assert_eq!(app.get("/api/v2/search.json?query=tags:tier_gold").await.1["count"], 1, "staff find it");

    // A field removed: its value stays, forms no longer list it, and a client writing back the
    // ticket it read (that value included) changes what it meant to change.
    let (s, v) = app
        .post(
            "/api/v2/ticket_forms.json",
            json!({"ticket_form": {"name": "Billing", "ticket_field_ids": [tier["id"], old["id"]]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let form = v["ticket_form"]["id"].as_i64().unwrap();
    let (s, _) = app.delete(&format!("/api/v2/ticket_fields/{}.json", old["id"])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get(&format!("/api/v2/ticket_forms/{form}.json")).await;
    assert_eq!(v["ticket_form"]["ticket_field_ids"], json!([tier["id"]]));
    let (s, v) = app
        .put(
            &format!("/api/v2/ticket_forms/{form}.json"),
            json!({"ticket_form": {"name": "Billing and invoices"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, read) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"priority": "high", "custom_fields": read["ticket"]["custom_fields"], "tags": read["ticket"]["tags"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["priority"], "high");
    assert_eq!(v["ticket"]["custom_fields"], read["ticket"]["custom_fields"]);
    // Nothing held for an unknown field: even a null is refused.
    let (s, _) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"custom_fields": [{"id": 987_654, "value": null}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A new value for the removed field is still refused.
    let (s, _) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"custom_fields": [{"id": old["id"], "value": "R-2"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The same for a person's fields.
    let (s, v) = app
        .post(
            "/api/v2/user_fields.json",
            json!({"user_field": {"type": "text", "key": "badge", "title": "Badge"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let badge = v["user_field"]["id"].as_i64().unwrap();
    let (s, v) = app
        .put(&format!("/api/v2/users/{me}.json"), json!({"user": {"user_fields": {"badge": "B-7"}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app.delete(&format!("/api/v2/user_fields/{badge}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{me}.json"),
            json!({"user": {"notes": "called", "user_fields": {"badge": "B-7"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["notes"], "called");
});

engine_test!(a_new_ticket_is_answered_as_it_reads_back, |app| async move {
    // The answer to a create is built from what the request sealed, not read back: it must be
    // what a later read of the same ticket gives, field for field.
    let plan = field(
        &app,
        json!({"type": "tagger", "title": "Plan", "custom_field_options": [{"name": "Gold", "value": "plan_gold"}]}),
    )
    .await;
    let price = field(&app, json!({"type": "decimal", "title": "Price"})).await;
    let topics = field(
        &app,
        json!({"type": "multiselect", "title": "Topics", "custom_field_options": [{"name": "Billing", "value": "billing"}, {"name": "Login", "value": "login"}]}),
    )
    .await;
    let vip = field(&app, json!({"type": "checkbox", "title": "VIP", "tag": "vip"})).await;
    let requester = app.user("Åke Ñandú", "ake.readback@example.fi").await;
    let follower = app.user("Aino Seuraaja", "aino.readback@example.fi").await;
    for ticket in [
        json!({"requester_id": requester, "subject": "Åke’s  invoice — “urgent”", "comment": {"html_body": "<p>Hei <b>Åke</b>,</p><script>alert(1)</script><p>started &amp; 1.50 €</p>"},
               "tags": ["Zeta", "alpha", "ZETA"], "external_id": "ext-Å-1", "priority": "high", "type": "incident", "email_cc_ids": [follower],
               "custom_fields": [{"id": plan["id"], "value": "plan_gold"}, {"id": price["id"], "value": "1.50"}, {"id": topics["id"], "value": ["login", "billing"]}, {"id": vip["id"], "value": true}]}),
        json!({"requester_id": requester, "comment": {"body": "Only a body, no subject.", "public": false}}),
    ] {
        let (s, created) = app.post("/api/v2/tickets.json", json!({ "ticket": ticket })).await;
        assert_eq!(s, StatusCode::CREATED, "{ticket}: {created}");
        let (s, read) = app.get(&format!("/api/v2/tickets/{}.json", created["ticket"]["id"])).await;
        assert_eq!(s, StatusCode::OK, "{read}");
        assert_eq!(created["ticket"], read["ticket"], "{ticket}");
    }
});
