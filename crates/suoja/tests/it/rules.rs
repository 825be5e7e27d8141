//! Views and macros: conditions that choose exactly the tickets they name, in the view's order,
//! with counts; rules refused whole when a field, operator, value or placeholder is unknown;
//! personal rules seen and changed by their agent alone; macros that show what they would do
//! without doing it, and do it from the agent page; the pages; and the privacy engine reading
//! what people typed into rules.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Tenant, TestApp};
use crate::web::{Browser, PASSWORD};
use crate::{engine_test, engine_test_clocked};

async fn login(app: &TestApp, name: &str, email: &str, role: &str) -> (i64, Tenant) {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": name, "email": email, "role": role, "password": PASSWORD}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["user"]["id"].as_i64().unwrap();
    (
        id,
        Tenant {
            email: email.into(),
            token: PASSWORD.into(),
            admin_id: id,
            tenant_id: app.t.tenant_id,
        },
    )
}

async fn ticket(app: &TestApp, body: Value) -> i64 {
    let mut t = json!({"subject": "Printer", "comment": {"body": "It jams"}});
    t.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
    let (s, v) = app.post("/api/v2/tickets.json", json!({ "ticket": t })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket"]["id"].as_i64().unwrap()
}

fn ids(v: &Value) -> Vec<i64> {
    v["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

async fn view(app: &TestApp, who: Option<&Tenant>, body: Value) -> (StatusCode, Value) {
    match who {
        Some(w) => app.call_password(w, Method::POST, "/api/v2/views.json", Some(json!({ "view": body }))).await,
        None => app.post("/api/v2/views.json", json!({ "view": body })).await,
    }
}

fn c(field: &str, operator: &str, value: &str) -> Value {
    json!({"field": field, "operator": operator, "value": value})
}

engine_test!(views_choose_exactly_the_tickets_their_conditions_name, |app| async move {
    let (agent, a) = login(&app, "Aino Agentti", "aino.agent@example.fi", "agent").await;
    let (_, v) = app.post("/api/v2/groups.json", json!({"group": {"name": "Laskutus"}})).await;
    let group = v["group"]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            "/api/v2/group_memberships.json",
            json!({"group_membership": {"user_id": agent, "group_id": group}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let r = app.user("Reijo Pyytäjä", "reijo@example.fi").await;
    let t1 = ticket(
        &app,
        json!({"requester_id": r, "status": "open", "priority": "high", "assignee_id": agent, "tags": ["vip"]}),
    )
    .await;
    let t2 = ticket(&app, json!({"requester_id": r, "status": "pending", "priority": "low"})).await;
    let t3 = ticket(
        &app,
        json!({"requester_id": r, "status": "new", "priority": "urgent", "group_id": group, "tags": ["vip", "billing"]}),
    )
    .await;
    let t4 = ticket(&app, json!({"requester_id": r, "status": "solved", "priority": "normal", "assignee_id": agent})).await;
    let t5 = ticket(&app, json!({"requester_id": r, "status": "hold", "type": "incident"})).await;

    // Every tenant has the workspace's queues as default views, first, shared.
    let (s, v) = app.get("/api/v2/views.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let defaults: Vec<&Value> = v["views"].as_array().unwrap().iter().collect();
    assert_eq!(defaults.len(), 6, "{v}");
    assert!(defaults.iter().all(|d| d["default"] == true && d["restriction"].is_null()), "{v}");
    assert_eq!(defaults[0]["title"], "My open tickets");
    let pending_view = defaults[3]["id"].as_i64().unwrap();
    assert_eq!(ids(&app.get(&format!("/api/v2/views/{pending_view}/tickets.json")).await.1), vec![t2]);

    // all + any, in the view's order.
    let (s, v) = view(
        &app,
        None,
        json!({"title": "Urgent or VIP", "all": [c("status", "less_than", "solved")], "any": [c("priority", "is", "urgent"), c("current_tags", "includes", "vip")],
               "output": {"columns": ["nice_id", "subject", "priority"], "sort_by": "nice_id", "sort_order": "asc"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["view"]["execution"]["columns"][2]["id"], "priority", "{v}");
    assert_eq!(v["view"]["conditions"]["any"][1]["value"], "vip", "{v}");
    let urgent = v["view"]["id"].as_i64().unwrap();
    let (s, v) = app.get(&format!("/api/v2/views/{urgent}/tickets.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec![t1, t3], "{v}");
    assert_eq!(v["count"], 2);
    // One page at a time.
    let (_, v) = app.get(&format!("/api/v2/views/{urgent}/tickets.json?per_page=1")).await;
    assert_eq!(ids(&v), vec![t1]);
    assert!(v["next_page"].as_str().unwrap().contains("page=2"), "{v}");
    let (_, v) = app.get(&format!("/api/v2/views/{urgent}/tickets.json?per_page=1&page=2")).await;
    assert_eq!(ids(&v), vec![t3]);
    assert!(v["next_page"].is_null(), "{v}");
    // Or by cursor, as the clients page.
    let (_, v) = app.get(&format!("/api/v2/views/{urgent}/tickets.json?page[size]=1")).await;
    assert_eq!(ids(&v), vec![t1]);
    assert_eq!(v["meta"]["has_more"], true, "{v}");
    let next = v["links"]["next"].as_str().unwrap().to_string();
    let (s, v) = app.get(&next[next.find("/api/v2").unwrap()..]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec![t3]);
    assert_eq!(v["meta"]["has_more"], false, "{v}");
    assert!(v["links"]["next"].is_null(), "{v}");
    // A forged cursor is refused, not run.
    let (s, v) = app.get(&format!("/api/v2/views/{urgent}/tickets.json?page[size]=1&page[after]=aS01")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Each kind of condition picks what it names and nothing else (no priority is below low;
    // "is not" holds for tickets without a value).
    for (all, want) in [
        (vec![c("priority", "less_than", "normal")], vec![t2, t5]),
        (vec![c("priority", "greater_than", "normal")], vec![t1, t3]),
        (vec![c("type", "is", "incident")], vec![t5]),
        (vec![c("type", "is_not", "incident")], vec![t1, t2, t3, t4]),
        (vec![c("assignee_id", "is", "")], vec![t2, t3, t5]),
        (vec![c("assignee_id", "is_not", &agent.to_string())], vec![t2, t3, t5]),
        (vec![c("group_id", "is", &group.to_string())], vec![t3]),
        (vec![c("current_tags", "not_includes", "vip"), c("status", "is_not", "solved")], vec![t2, t5]),
        (vec![c("current_tags", "includes", "billing nosuchtag")], vec![t3]),
        (vec![c("status", "greater_than", "pending")], vec![t4, t5]),
        (vec![c("NEW", "less_than", "1")], vec![t1, t2, t3, t4, t5]),
        (vec![c("NEW", "greater_than", "0")], vec![]),
        (vec![c("SOLVED", "less_than", "24")], vec![t4]),
        // Solved is not closed.
        (vec![c("CLOSED", "less_than", "24")], vec![]),
        // Tags as a ticket's are kept: a trailing comma or capitals change nothing.
        (vec![c("current_tags", "includes", "VIP,")], vec![t1, t3]),
        (vec![c("requester_id", "is", &r.to_string()), c("status", "is", "closed")], vec![]),
    ] {
        let (s, v) = view(
            &app,
            None,
            json!({"title": "Check", "all": all, "output": {"sort_by": "nice_id", "sort_order": "asc"}}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["view"]["id"].as_i64().unwrap();
        let (_, got) = app.get(&format!("/api/v2/views/{id}/tickets.json")).await;
        assert_eq!(ids(&got), want, "{all:?}: {got}");
        let (_, n) = app.get(&format!("/api/v2/views/{id}/count.json")).await;
        assert_eq!(n["view_count"]["value"], want.len(), "{n}");
        let (s, _) = app.delete(&format!("/api/v2/views/{id}.json")).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }

    // `current_user` and `current_groups` are whoever looks.
    let (s, v) = view(&app, Some(&a), json!({"title": "Mine and my groups'", "any": [c("assignee_id", "is", "current_user"), c("group_id", "is", "current_groups")], "all": [c("status", "less_than", "solved")]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["view"]["restriction"]["id"], agent, "an agent's view is theirs: {v}");
    let mine = v["view"]["id"].as_i64().unwrap();
    let (_, v) = app.call_password(&a, Method::GET, &format!("/api/v2/views/{mine}/tickets.json"), None).await;
    let mut got = ids(&v);
    got.sort();
    assert_eq!(got, vec![t1, t3], "{v}");

    // Counts of several views at once; ids the caller cannot see are left out.
    let (s, v) = app
        .call_password(&a, Method::GET, &format!("/api/v2/views/count_many.json?ids={mine},{urgent},999999"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let counts: Vec<(i64, i64)> = v["view_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["view_id"].as_i64().unwrap(), c["value"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, vec![(mine, 2), (urgent, 2)], "{v}");

    // A default view can be changed and taken out of use, not removed.
    let (s, v) = app.delete(&format!("/api/v2/views/{pending_view}.json")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/views/{pending_view}.json"),
            json!({"view": {"title": "Waiting on customers", "active": false}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/api/v2/views/active.json").await;
    assert!(!v["views"].as_array().unwrap().iter().any(|x| x["id"] == pending_view), "{v}");
    let (_, v) = app.get("/api/v2/views.json?active=false").await;
    assert_eq!(v["views"][0]["title"], "Waiting on customers", "{v}");
});

engine_test!(views_refuse_bad_conditions_whole_and_personal_views_stay_personal, |app| async move {
    let (aino, a) = login(&app, "Aino Agentti", "aino.agent@example.fi", "agent").await;
    let (_, b) = login(&app, "Bertta Agentti", "bertta.agent@example.fi", "agent").await;
    let (_, end_user) = app.end_user_with_password("Eero Asiakas", "eero@example.fi").await;
    let before = app.get("/api/v2/views.json").await.1["count"].as_i64().unwrap();
    for (body, needle) in [
        (json!({"title": "x", "all": [c("colour", "is", "red")]}), "unknown field \\\"colour\\\""),
        (json!({"title": "x", "all": [c("status", "includes", "open")]}), "operator \\\"includes\\\""),
        (json!({"title": "x", "all": [c("status", "is", "sleeping")]}), "status is one of"),
        (json!({"title": "x", "all": [c("NEW", "greater_than_business_hours", "4")]}), "business hours"),
        (json!({"title": "x", "all": [c("custom_fields_5", "is", "a")]}), "current_tags"),
        (
            json!({"title": "x", "all": [{"field": "status", "operator": "is", "value": ["open"]}]}),
            "must be a string",
        ),
        (json!({"title": "x", "all": [{"field": "status"}]}), "conditions"),
        (json!({"title": "x", "any": [c("status", "is", "open")]}), "at least one condition under all"),
        (
            json!({"title": "x", "all": [c("status", "is", "open")], "output": {"columns": ["subject", "shoe_size"]}}),
            "unknown column",
        ),
        (
            json!({"title": "x", "all": [c("status", "is", "open")], "output": {"sort_by": "colour"}}),
            "sort_by",
        ),
        (json!({"title": "", "all": [c("status", "is", "open")]}), "Title"),
        (
            json!({"title": "x", "all": [c("status", "is", "open")], "output": {"columns": ["subject", "subject"]}}),
            "listed twice",
        ),
        (
            json!({"title": "x", "all": [{"field": "status", "operator": "is", "value": "open", "extra": 1}]}),
            "conditions",
        ),
        (
            json!({"title": "x", "description": "d".repeat(4097), "all": [c("status", "is", "open")]}),
            "description",
        ),
        (json!({"title": "Right\u{202e}to left", "all": [c("status", "is", "open")]}), "Title"),
        (
            json!({"title": "x", "all": [c("status", "is", "open")], "restriction": {"type": "Group", "id": 1}}),
            "group restrictions",
        ),
    ] {
        let (s, v) = view(&app, None, body.clone()).await;
        assert!(s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST, "{body}: {s} {v}");
        assert!(v.to_string().contains(needle), "{body}: {v}");
    }
    let (s, v) = app.post("/api/v2/views.json", json!({"view": "not an object"})).await;
    assert!(s.is_client_error(), "{v}");
    assert_eq!(app.get("/api/v2/views.json").await.1["count"], before, "nothing was saved");

    // An agent's views are personal; they cannot make shared ones or change the team's.
    let (s, v) = view(&app, Some(&a), json!({"title": "Aino's queue", "all": [c("status", "is", "open")]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let personal = v["view"]["id"].as_i64().unwrap();
    let (s, v) = view(
        &app,
        Some(&a),
        json!({"title": "For everyone", "all": [c("status", "is", "open")], "restriction": null}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) = view(
        &app,
        Some(&a),
        json!({"title": "For Bertta", "all": [c("status", "is", "open")], "restriction": {"type": "User", "id": aino + 1}}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let shared = app.get("/api/v2/views.json").await.1["views"][0]["id"].as_i64().unwrap();
    let (s, _) = app
        .call_password(
            &a,
            Method::PUT,
            &format!("/api/v2/views/{shared}.json"),
            Some(json!({"view": {"title": "Mine now"}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .call_password(
            &a,
            Method::PUT,
            &format!("/api/v2/views/{personal}.json"),
            Some(json!({"view": {"title": "Aino's own queue"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Nobody else sees it, admins included: it answers as an id that does not exist.
    for who in [Some(&b), None] {
        for (m, path) in [
            (Method::GET, format!("/api/v2/views/{personal}.json")),
            (Method::GET, format!("/api/v2/views/{personal}/tickets.json")),
            (Method::PUT, format!("/api/v2/views/{personal}.json")),
            (Method::DELETE, format!("/api/v2/views/{personal}.json")),
        ] {
            let body = (m == Method::PUT).then(|| json!({"view": {"title": "taken"}}));
            let (s, _) = match who {
                Some(w) => app.call_password(w, m.clone(), &path, body).await,
                None => app.call(m.clone(), &path, body).await,
            };
            assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}");
        }
        let listed = match who {
            Some(w) => app.call_password(w, Method::GET, "/api/v2/views.json", None).await.1,
            None => app.get("/api/v2/views.json").await.1,
        };
        assert!(!listed["views"].as_array().unwrap().iter().any(|v| v["id"] == personal), "{listed}");
    }
    let (_, v) = app.call_password(&a, Method::GET, &format!("/api/v2/views/{personal}.json"), None).await;
    assert_eq!(v["view"]["title"], "Aino's own queue");
    // An agent's personal views count against their own allowance, never the team's.
    for i in 1..100 {
        let (s, v) = view(&app, Some(&a), json!({"title": format!("Mine {i}"), "all": [c("status", "is", "open")]})).await;
        assert_eq!(s, StatusCode::CREATED, "{i}: {v}");
    }
    let (s, v) = view(&app, Some(&a), json!({"title": "One too many", "all": [c("status", "is", "open")]})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = view(&app, Some(&b), json!({"title": "Bertta's", "all": [c("status", "is", "open")]})).await;
    assert_eq!(s, StatusCode::CREATED, "another agent still can: {v}");
    let (s, v) = view(&app, None, json!({"title": "The team's", "all": [c("status", "is", "open")]})).await;
    assert_eq!(s, StatusCode::CREATED, "and the admins: {v}");
    // End users have no views; another tenant's admin does not find this one.
    let (s, _) = app.call_password(&end_user, Method::GET, "/api/v2/views.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let other = app.second_tenant("toinen").await;
    let (s, _) = app.call_as(&other, Method::GET, &format!("/api/v2/views/{shared}.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

engine_test!(macros_show_what_they_would_do_and_the_agent_page_applies_them, |app| async move {
    let (agent, a) = login(&app, "Aino Agentti", "aino.agent@example.fi", "agent").await;
    let (_, b) = login(&app, "Bertta Agentti", "bertta.agent@example.fi", "agent").await;
    let r = app.user("Åsa <b>Öberg</b>", "asa@example.fi").await;
    let t = ticket(&app, json!({"requester_id": r, "status": "open", "tags": ["vip", "printer"]})).await;
    let before = app.get(&format!("/api/v2/tickets/{t}.json")).await.1;

    let (s, v) = app
        .post(
            "/api/v2/macros.json",
            json!({"macro": {"title": "Ask for details", "actions": [
                {"field": "status", "value": "pending"},
                {"field": "priority", "value": "high"},
                {"field": "current_tags", "value": "waiting"},
                {"field": "remove_tags", "value": "vip"},
                {"field": "assignee_id", "value": "current_user"},
                {"field": "comment_value", "value": "Hei {{ticket.requester.first_name}}, ticket {{ ticket.id }} needs details. {{current_user.name}}"},
                {"field": "comment_mode_is_public", "value": "false"}
            ]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let m = v["macro"]["id"].as_i64().unwrap();
    assert_eq!(v["macro"]["actions"][5]["field"], "comment_value");

    // Without a ticket: the changes, and the reply with only the agent's placeholders filled.
    let (s, v) = app.call_password(&a, Method::GET, &format!("/api/v2/macros/{m}/apply.json"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["result"]["ticket"]["status"], "pending", "{v}");
    assert_eq!(v["result"]["ticket"]["assignee_id"], agent, "{v}");
    assert_eq!(v["result"]["comment"]["public"], false);
    assert_eq!(
        v["result"]["comment"]["body"],
        "Hei {{ticket.requester.first_name}}, ticket {{ ticket.id }} needs details. Aino Agentti"
    );

    // On a ticket: the ticket as it would be, the reply filled in; nothing changes.
    let (s, v) = app
        .call_password(&a, Method::GET, &format!("/api/v2/tickets/{t}/macros/{m}/apply.json"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let would = &v["result"]["ticket"];
    assert_eq!(would["status"], "pending");
    assert_eq!(would["priority"], "high");
    assert_eq!(would["tags"], json!(["printer", "waiting"]), "{v}");
    assert_eq!(v["result"]["comment"]["body"], format!("Hei Åsa, ticket {t} needs details. Aino Agentti"));
    assert!(
        v["result"]["comment"]["html_body"].as_str().unwrap().contains("&lt;b&gt;") || !v["result"]["comment"]["html_body"].as_str().unwrap().contains("<b>"),
        "{v}"
    );
    assert_eq!(app.get(&format!("/api/v2/tickets/{t}.json")).await.1, before, "apply changes nothing");

    // An HTML reply: a name is text, never markup.
    let (s, v) = app
        .post(
            "/api/v2/macros.json",
            json!({"macro": {"title": "Greet", "actions": [{"field": "comment_value_html", "value": "<p>Dear {{ticket.requester.name}}</p>"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let greet = v["macro"]["id"].as_i64().unwrap();
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}/macros/{greet}/apply.json")).await;
    let html = v["result"]["comment"]["html_body"].as_str().unwrap();
    assert!(html.contains("Dear Åsa &lt;b&gt;Öberg&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert_eq!(v["result"]["comment"]["body"], "Dear Åsa <b>Öberg</b>", "{v}");

    // Refused whole: unknown fields, values, placeholders and fields.
    let (_, v) = app
        .post("/api/v2/ticket_fields.json", json!({"ticket_field": {"type": "integer", "title": "Seats"}}))
        .await;
    let seats = v["ticket_field"]["id"].as_i64().unwrap();
    let count = app.get("/api/v2/macros.json").await.1["count"].clone();
    for (actions, needle) in [
        (json!([{"field": "colour", "value": "red"}]), "unknown field"),
        (json!([{"field": "status", "value": "sleeping"}]), "status is one of"),
        (
            json!([{"field": "comment_value", "value": "Hi {{ticket.requester.shoe_size}}"}]),
            "unknown placeholder {{ticket.requester.shoe_size}}",
        ),
        (json!([{"field": "comment_value", "value": "Hi {{ticket.id"}]), "not closed"),
        (json!([{"field": "custom_fields_999999", "value": "1"}]), "names no ticket field"),
        (json!([{"field": format!("custom_fields_{seats}"), "value": "many"}]), "Seats"),
        (json!([]), "one to 50 actions"),
        (json!("status"), "actions"),
    ] {
        let (s, v) = app.post("/api/v2/macros.json", json!({"macro": {"title": "Bad", "actions": actions}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{actions}: {v}");
        assert!(v.to_string().contains(needle), "{actions}: {v}");
    }
    for (actions, needle) in [
        (json!([{"field": "assignee_id", "value": r.to_string()}]), "is not an agent"),
        (json!([{"field": "assignee_id", "value": "999999"}]), "is not an agent"),
        (json!([{"field": "group_id", "value": "999999"}]), "names no group"),
        (json!([{"field": "current_tags", "value": "a\u{0}b"}]), "control character"),
        (json!([{"field": "comment_value", "value": "x\u{0}y"}]), "control character"),
    ] {
        let (s, v) = app.post("/api/v2/macros.json", json!({"macro": {"title": "Bad", "actions": actions}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{actions}: {v}");
        assert!(v.to_string().contains(needle), "{actions}: {v}");
    }
    assert_eq!(app.get("/api/v2/macros.json").await.1["count"], count, "nothing was saved");

    // Placeholders cannot grow a ticket past what a ticket takes: the subject repeated fifteen
    // times over a long subject is refused, and the ticket stays as it was.
    let long = ticket(&app, json!({"requester_id": r, "subject": "s".repeat(300)})).await;
    let (s, v) = app
        .post(
            "/api/v2/macros.json",
            json!({"macro": {"title": "Grow", "actions": [{"field": "subject", "value": "{{ticket.title}}".repeat(15)}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let grow = v["macro"]["id"].as_i64().unwrap();
    let (s, v) = app.get(&format!("/api/v2/tickets/{long}/macros/{grow}/apply.json")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("longer than 1024"), "{v}");
    let (s, v) = app
        .post(
            "/api/v2/macros.json",
            json!({"macro": {"title": "Grow reply", "actions": [{"field": "comment_value", "value": "{{ticket.title}}".repeat(300)}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.get(&format!("/api/v2/tickets/{long}/macros/{}/apply.json", v["macro"]["id"])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("longer than 65536"), "{v}");
    assert_eq!(app.get(&format!("/api/v2/tickets/{long}.json")).await.1["ticket"]["subject"], "s".repeat(300));

    // The agent page applies it as one update, by the agent.
    let mut browser = Browser::new(&app);
    browser.sign_in("aino.agent@example.fi", PASSWORD).await;
    let page = browser.get(&format!("/agent/tickets/{t}")).await;
    assert!(page.body.contains("Ask for details"), "the macro menu lists it");
    let done = browser
        .submit(
            &format!("/agent/tickets/{t}"),
            &format!("/agent/tickets/{t}/macro"),
            &[("macro_id", &m.to_string())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["status"], "pending");
    assert_eq!(v["ticket"]["assignee_id"], agent);
    assert_eq!(v["ticket"]["tags"], json!(["printer", "waiting"]), "{v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}/comments.json")).await;
    let last = v["comments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["public"], false);
    assert_eq!(last["author_id"], agent);
    assert_eq!(last["body"], format!("Hei Åsa, ticket {t} needs details. Aino Agentti"));

    // A macro out of use is not applied.
    let (s, _) = app.put(&format!("/api/v2/macros/{greet}.json"), json!({"macro": {"active": false}})).await;
    assert_eq!(s, StatusCode::OK);
    let refused = browser
        .submit(
            &format!("/agent/tickets/{t}"),
            &format!("/agent/tickets/{t}/macro"),
            &[("macro_id", &greet.to_string())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);

    // Another agent's personal macro is not found, and changes nothing.
    let (s, v) = app
        .call_password(
            &b,
            Method::POST,
            "/api/v2/macros.json",
            Some(json!({"macro": {"title": "Bertta's", "actions": [{"field": "status", "value": "solved"}]}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hers = v["macro"]["id"].as_i64().unwrap();
    let (s, _) = app
        .call_password(&a, Method::GET, &format!("/api/v2/tickets/{t}/macros/{hers}/apply.json"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let refused = browser
        .submit(
            &format!("/agent/tickets/{t}"),
            &format!("/agent/tickets/{t}/macro"),
            &[("macro_id", &hers.to_string())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v2/tickets/{t}.json")).await.1["ticket"]["status"], "pending");
});

engine_test!(the_rules_page_adds_views_and_macros_and_the_workspace_lists_them, |app| async move {
    let (aino, _) = login(&app, "Aino Agentti", "aino.agent@example.fi", "agent").await;
    let r = app.user("Reijo Pyytäjä", "reijo@example.fi").await;
    let t = ticket(&app, json!({"requester_id": r, "status": "open", "tags": ["vip"]})).await;
    ticket(&app, json!({"requester_id": r, "status": "open"})).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("aino.agent@example.fi", PASSWORD).await;
    let page = browser.get("/agent/rules").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("My open tickets") && page.body.contains("Pending tickets"), "{}", page.body);
    assert!(!page.body.contains("name=\"shared\""), "an agent cannot share");

    // A mistake is shown at its field, with what was typed kept.
    let refused = browser
        .submit(
            "/agent/rules",
            "/agent/rules/views",
            &[("title", "VIP queue"), ("all", "colour is red\ncurrent_tags includes vip")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("unknown field"), "{}", refused.body);
    assert!(refused.body.contains("colour is red\ncurrent_tags includes vip"), "{}", refused.body);
    assert!(refused.body.contains("value=\"VIP queue\""));

    // What the page does not offer is held to the same limits (a long description, sent by hand).
    let long = "d".repeat(5_000);
    let refused = browser
        .submit(
            "/agent/rules",
            "/agent/rules/views",
            &[("title", "Long"), ("all", "status is open"), ("description", &long)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("at most 4096 characters"), "{}", refused.body);
    let done = browser
        .submit(
            "/agent/rules",
            "/agent/rules/views",
            &[("title", "VIP queue"), ("all", "current_tags includes vip\nstatus less_than solved")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let at = done.location().to_string();
    let page = browser.get(&at).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h1 id=\"view-title\">VIP queue</h1>"), "{}", page.body);
    assert!(page.body.contains(&format!("href=\"/agent/tickets/{t}\"")));
    assert_eq!(page.body.matches("href=\"/agent/tickets/").count(), 1, "only the VIP ticket");
    let sidebar = &page.body[page.body.find(&format!("href=\"{at}\"")).unwrap()..];
    assert!(
        sidebar.starts_with(&format!("href=\"{at}\" aria-current=\"page\"><span>VIP queue</span> <span class=\"count\">1<")),
        "{sidebar:.120}"
    );

    let done = browser
        .submit(
            "/agent/rules",
            "/agent/rules/macros",
            &[
                ("title", "Close politely"),
                ("actions", "status = solved"),
                ("reply", "Thanks {{ticket.requester.first_name}}!"),
                ("public", "1"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = browser.get(&format!("/agent/tickets/{t}")).await;
    assert!(page.body.contains("Close politely"));
    let refused = browser
        .submit("/agent/rules", "/agent/rules/macros", &[("title", "Broken"), ("actions", "status = sleeping")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("status = sleeping") && refused.body.contains("is one of"),
        "{}",
        refused.body
    );

    // Finnish pages name the default views in Finnish, and say what is wrong in Finnish.
    let (s, v) = app.put(&format!("/api/v2/users/{aino}.json"), json!({"user": {"locale": "fi"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut fi = Browser::new(&app);
    fi.sign_in("aino.agent@example.fi", PASSWORD).await;
    let page = fi.get("/agent/views/pending").await;
    assert!(page.body.contains("Odottavat tiketit"), "{}", page.body);
    let refused = fi
        .submit("/agent/rules", "/agent/rules/views", &[("title", "Väärin"), ("all", "status on auki")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("operaattorilla &#34;on&#34; ei voi testata kenttää status"),
        "{}",
        refused.body
    );
});

engine_test!(the_privacy_engine_reads_rules_and_personal_ones_go_with_their_agent, |app| async move {
    let (ted, ted_login) = login(&app, "Ted Smith", "ted.smith@example.fi", "agent").await;
    let (_, teddy) = login(&app, "Teddy Started", "teddy@example.fi", "agent").await;
    let (s, v) = view(&app, Some(&ted_login), json!({"title": "Ted's queue", "all": [c("status", "is", "open")]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let teds_view = v["view"]["id"].as_i64().unwrap();
    // A condition on tags, in the older spelling, naming him.
    let (s, v) = view(&app, None, json!({"title": "His tag", "all": [c("tags", "includes", "ted.smith@example.fi")]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["view"]["conditions"]["all"][0]["field"], "current_tags", "one spelling: {v}");
    let tag_view = v["view"]["id"].as_i64().unwrap();
    let (s, v) = view(&app, Some(&teddy), json!({"title": "Started by Teddy", "all": [c("status", "is", "open")]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let teddys_view = v["view"]["id"].as_i64().unwrap();
    let (_, v) = app
        .post(
            "/api/v2/macros.json",
            json!({"macro": {"title": "Escalate", "actions": [{"field": "comment_value", "value": "Escalated to ted.smith@example.fi today.\nBest regards,\nTed Smith\tsupport"}]}}),
        )
        .await;
    let naming = v["macro"]["id"].as_i64().unwrap();
    let (_, v) = app
        .post(
            "/api/v2/macros.json",
            json!({"macro": {"title": "Started", "actions": [{"field": "comment_value", "value": "We started on it; Teddy has it."}]}}),
        )
        .await;
    let other = v["macro"]["id"].as_i64().unwrap();
    let other_before = app.get(&format!("/api/v2/macros/{other}.json")).await.1;
    let teddys_before = app
        .call_password(&teddy, Method::GET, &format!("/api/v2/views/{teddys_view}.json"), None)
        .await
        .1;

    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{ted}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");

    // His personal view went with him; the shared macro no longer names him.
    let scope = suoja_core::Scope {
        tenant: suoja_core::TenantId(app.t.tenant_id),
        actor: suoja_core::UserId(ted),
        role: suoja_core::Role::Agent,
        privacy_officer: false,
        token: None,
    };
    let left = app.helpdesk().list_views(&scope, None).await.unwrap();
    assert!(!left.iter().any(|v| v.row.id == teds_view), "{left:?}");
    let (_, v) = app.get(&format!("/api/v2/macros/{naming}.json")).await;
    assert!(!v.to_string().contains("ted.smith@example.fi"), "{v}");
    let (_, tv) = app.get(&format!("/api/v2/views/{tag_view}.json")).await;
    assert_eq!(tv["view"]["conditions"]["all"][0]["value"], "[redacted]", "{tv}");
    let reply = v["macro"]["actions"][0]["value"].as_str().unwrap();
    assert_eq!(reply, "Escalated to [redacted] today.\nBest regards,\n[redacted]\tsupport", "{v}");
    // Everyone else's rules read byte for byte as before.
    assert_eq!(app.get(&format!("/api/v2/macros/{other}.json")).await.1, other_before);
    assert_eq!(
        app.call_password(&teddy, Method::GET, &format!("/api/v2/views/{teddys_view}.json"), None)
            .await
            .1,
        teddys_before
    );
});

const HOUR: i64 = 3_600_000;

engine_test_clocked!(automations_change_what_their_hours_find_once_and_nothing_else, |app, clock| async move {
    let r = app.user("Reijo Pyytäjä", "reijo@example.fi").await;
    let solved = ticket(&app, json!({"requester_id": r, "status": "solved"})).await;
    let quiet = ticket(&app, json!({"requester_id": r, "status": "pending"})).await;
    let quiet_too = ticket(&app, json!({"requester_id": r, "status": "pending", "tags": ["vip"]})).await;
    let open = ticket(&app, json!({"requester_id": r, "status": "open"})).await;
    let trashed = ticket(&app, json!({"requester_id": r, "status": "pending"})).await;
    let (s, _) = app.delete(&format!("/api/v2/tickets/{trashed}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Every tenant has Zendesk's default: close a ticket four days after it was solved.
    let (s, v) = app.get("/api/v2/automations.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["automations"][0]["default"], true);
    assert_eq!(v["automations"][0]["actions"][0], json!({"field": "status", "value": "closed"}));

    // Refused whole: no hours, whoever looks, replies, and a rule that would run forever.
    let (_, agent) = login(&app, "Aino Agentti", "aino.agent@example.fi", "agent").await;
    let solve = json!([{"field": "status", "value": "solved"}]);
    for (all, actions, needle) in [
        (
            json!([c("status", "is", "solved"), c("CLOSED", "greater_than", "2")]),
            solve.clone(),
            "closed tickets are final",
        ),
        (
            json!([c("status", "greater_than", "solved"), c("NEW", "greater_than", "2")]),
            json!([{"field": "priority", "value": "high"}]),
            "closed tickets are final",
        ),
        (
            json!([c("status", "is", "pending"), c("updated_at", "is", "0")]),
            json!([{"field": "priority", "value": "high"}]),
            "every hour",
        ),
        (json!([c("status", "is", "pending")]), solve.clone(), "hours condition"),
        (
            json!([
                c("status", "is", "pending"),
                c("assignee_id", "is", "current_user"),
                c("NEW", "greater_than", "2")
            ]),
            solve.clone(),
            "no one looking",
        ),
        (
            json!([c("status", "is", "pending"), c("NEW", "greater_than", "2")]),
            json!([{"field": "comment_value", "value": "Hi"}]),
            "not one of them",
        ),
        (
            json!([c("status", "is", "pending"), c("NEW", "greater_than", "2")]),
            json!([{"field": "priority", "value": "high"}]),
            "every hour",
        ),
        (
            json!([c("status", "is", "pending"), c("NEW", "greater_than", "2")]),
            json!([{"field": "assignee_id", "value": "current_user"}]),
            "no one looking",
        ),
    ] {
        let (s, v) = app
            .post(
                "/api/v2/automations.json",
                json!({"automation": {"title": "Bad", "all": all, "actions": actions}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{all} {actions}: {v}");
        assert!(v.to_string().contains(needle), "{all} {actions}: {v}");
    }
    let body = json!({"automation": {"title": "Solve quiet pending tickets", "all": [c("status", "is", "pending"), c("updated_at", "greater_than", "72")], "actions": [{"field": "status", "value": "solved"}, {"field": "current_tags", "value": "auto_solved"}]}});
    let (s, _) = app.call_password(&agent, Method::POST, "/api/v2/automations.json", Some(body.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "automations are the admins'");
    assert_eq!(app.get("/api/v2/automations.json").await.1["count"], 1, "nothing was saved");
    let (s, v) = app.post("/api/v2/automations.json", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let auto = v["automation"]["id"].as_i64().unwrap();
    let open_before = app.get(&format!("/api/v2/tickets/{open}.json")).await.1;

    // Too early: nothing.
    clock.advance_ms(72 * HOUR);
    let report = app.helpdesk().run_automations().await.unwrap();
    assert!(report.ran.is_empty(), "{report:?}");

    // Past 72 hours quiet: both pending tickets are solved and tagged; the trashed one is not.
    clock.advance_ms(2 * HOUR);
    let report = app.helpdesk().run_automations().await.unwrap();
    assert_eq!(report.ran, vec![(app.t.tenant_id, auto, 2, 0)], "{report:?}");
    for t in [quiet, quiet_too] {
        let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
        assert_eq!(v["ticket"]["status"], "solved", "{v}");
        assert!(v["ticket"]["tags"].as_array().unwrap().contains(&json!("auto_solved")), "{v}");
    }
    assert!(
        app.get(&format!("/api/v2/tickets/{quiet_too}.json")).await.1["ticket"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("vip"))
    );
    // Once: the next pass finds nothing to change.
    assert!(app.helpdesk().run_automations().await.unwrap().ran.is_empty());

    // Four days after it was solved the first ticket is closed; the ones solved just now wait.
    clock.advance_ms(24 * HOUR);
    let report = app.helpdesk().run_automations().await.unwrap();
    assert_eq!(report.ran.len(), 1, "{report:?}");
    assert_eq!((report.ran[0].2, report.ran[0].3), (1, 0), "{report:?}");
    assert_eq!(app.get(&format!("/api/v2/tickets/{solved}.json")).await.1["ticket"]["status"], "closed");
    assert_eq!(app.get(&format!("/api/v2/tickets/{quiet}.json")).await.1["ticket"]["status"], "solved");
    clock.advance_ms(4 * 24 * HOUR);
    app.helpdesk().run_automations().await.unwrap();
    assert_eq!(app.get(&format!("/api/v2/tickets/{quiet}.json")).await.1["ticket"]["status"], "closed");

    // What no automation names is byte for byte as it was; the trash is left alone.
    assert_eq!(app.get(&format!("/api/v2/tickets/{open}.json")).await.1, open_before);
    let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
    assert!(v.to_string().contains(&format!("\"id\":{trashed}")), "{v}");

    // Taken out of use, an automation rests; the default cannot be removed.
    let default = app.get("/api/v2/automations.json").await.1["automations"][0]["id"].as_i64().unwrap();
    let (s, _) = app.delete(&format!("/api/v2/automations/{default}.json")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = app
        .put(&format!("/api/v2/automations/{auto}.json"), json!({"automation": {"active": false}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let again = ticket(&app, json!({"requester_id": r, "status": "pending"})).await;
    clock.advance_ms(80 * HOUR);
    app.helpdesk().run_automations().await.unwrap();
    assert_eq!(app.get(&format!("/api/v2/tickets/{again}.json")).await.1["ticket"]["status"], "pending");
    let (s, _) = app.delete(&format!("/api/v2/automations/{auto}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // An automation that cannot run (its stored definition broken behind Suoja's back) is
    // logged and passed over: the others still run, and it can still be taken out of use.
    let (_, v) = app
        .post(
            "/api/v2/automations.json",
            json!({"automation": {"title": "Tag quiet open tickets", "all": [c("status", "is", "open"), c("current_tags", "not_includes", "quiet"), c("updated_at", "greater_than", "24")], "actions": [{"field": "current_tags", "value": "quiet"}]}}),
        )
        .await;
    let tagger = v["automation"]["id"].as_i64().unwrap();
    let (_, v) = app
        .post(
            "/api/v2/automations.json",
            json!({"automation": {"title": "Soon broken", "all": [c("status", "is", "new"), c("NEW", "greater_than", "1")], "actions": [{"field": "status", "value": "open"}]}}),
        )
        .await;
    let broken = v["automation"]["id"].as_i64().unwrap();
    sqlx::query(
        "UPDATE business_rules SET definition = '{\"all\":[{\"field\":\"colour\",\"operator\":\"is\",\"value\":\"red\"}],\"actions\":[]}' WHERE id = $1",
    )
    .bind(broken)
    .execute(app.helpdesk().db().write_pool())
    .await
    .unwrap();
    // The broken one comes first in order; the tagger runs after it all the same.
    let (s, _) = app
        .put(&format!("/api/v2/automations/{broken}.json"), json!({"automation": {"position": 0}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let report = app.helpdesk().run_automations().await.unwrap();
    assert_eq!(report.failed, vec![(app.t.tenant_id, broken)], "{report:?}");
    assert!(report.ran.iter().any(|r| r.1 == tagger && r.2 == 1), "{report:?}");
    assert!(
        app.get(&format!("/api/v2/tickets/{open}.json")).await.1["ticket"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("quiet"))
    );
    let (s, v) = app
        .put(&format!("/api/v2/automations/{broken}.json"), json!({"automation": {"active": false}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Put back in use, it is checked again.
    let (s, v) = app
        .put(&format!("/api/v2/automations/{broken}.json"), json!({"automation": {"active": true}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A status test that admits more than closed tickets is taken.
    let (s, v) = app
        .post(
            "/api/v2/automations.json",
            json!({"automation": {"title": "Past open", "all": [c("status", "greater_than", "open"), c("current_tags", "not_includes", "late"), c("NEW", "greater_than", "48")], "actions": [{"field": "current_tags", "value": "late"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
});

engine_test!(concurrent_adds_never_pass_the_limit_of_personal_rules, |app| async move {
    let (_, _) = login(&app, "Aino Agentti", "aino.agent@example.fi", "agent").await;
    let (s, v) = app.post("/api/v2/api_tokens.json", json!({"api_token": {"description": "agent"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = Tenant {
        email: "aino.agent@example.fi".into(),
        token: v["api_token"]["token"].as_str().unwrap().into(),
        admin_id: 0,
        tenant_id: app.t.tenant_id,
    };
    let body = |i: usize| json!({"view": {"title": format!("Oma {i}"), "all": [c("status", "is", "open")]}});
    for i in 0..99 {
        let (s, v) = app.call_as(&agent, Method::POST, "/api/v2/views.json", Some(body(i))).await;
        assert_eq!(s, StatusCode::CREATED, "{i}: {v}");
    }
    // One place left, eight asking at once: exactly one gets it.
    let tries = (0..8).map(|i| app.call_as(&agent, Method::POST, "/api/v2/views.json", Some(body(100 + i))));
    let answers = futures_util::future::join_all(tries).await;
    let made = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    assert_eq!(made, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{answers:?}"
    );
    let (_, v) = app.call_as(&agent, Method::GET, "/api/v2/views.json", None).await;
    let personal = v["views"].as_array().unwrap().iter().filter(|x| !x["restriction"].is_null()).count();
    assert_eq!(personal, 100, "{v}");
});

engine_test!(a_view_page_shows_its_columns_and_groups, |app| async move {
    let (agent, _) = login(&app, "Aino Agentti", "aino.agent@example.fi", "agent").await;
    let mut g = Vec::new();
    for name in ["Laskutus", "Toimitus"] {
        let (_, v) = app.post("/api/v2/groups.json", json!({"group": {"name": name}})).await;
        g.push(v["group"]["id"].as_i64().unwrap());
    }
    let r = app.user("Ted Virtanen", "ted@example.fi").await;
    let a = ticket(&app, json!({"requester_id": r, "subject": "Lasku A", "group_id": g[0], "assignee_id": agent})).await;
    let b = ticket(&app, json!({"requester_id": r, "subject": "Paketti B", "group_id": g[1]})).await;
    let c2 = ticket(&app, json!({"requester_id": r, "subject": "Lasku C", "group_id": g[0]})).await;
    let (s, v) = view(
        &app,
        None,
        json!({"title": "By group", "all": [c("status", "less_than", "solved")],
            "output": {"columns": ["nice_id", "subject", "assignee", "group"], "group_by": "group", "group_order": "asc", "sort_by": "nice_id", "sort_order": "asc"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["view"]["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in("aino.agent@example.fi", PASSWORD).await;
    let page = browser.get(&format!("/agent/views/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let table = page
        .body
        .split("<table id=\"view-tickets\">")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap()
        .to_string();
    let head = table.split("</thead>").next().unwrap();
    for h in ["#", "Subject", "Assignee", "Group"] {
        assert!(head.contains(&format!(">{h}</th>")), "{h}: {head}");
    }
    assert!(!head.contains("Requester") && !head.contains("Status"), "only the view's columns: {head}");
    // Laskutus first (groups ascending), its two tickets together under it, then Toimitus.
    let order: Vec<String> = vec![
        "Group: Laskutus".into(),
        format!("/agent/tickets/{a}\""),
        format!("/agent/tickets/{c2}\""),
        "Group: Toimitus".into(),
        format!("/agent/tickets/{b}\""),
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|s| table.find(s.as_str()).unwrap_or_else(|| panic!("{s} in {table}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}: {table}");
    assert!(table.contains("Aino Agentti"), "the assignee's name: {table}");
});

engine_test!(a_grouped_view_keeps_each_group_together_across_pages, |app| async move {
    let r = app.user("Ted Virtanen", "ted@example.fi").await;
    // Priorities interleaved in creation order, so an order by number alone mixes them.
    let plan = ["low", "urgent", "", "high", "urgent", "low", "", "high", "urgent", "normal"];
    let mut made: Vec<(i64, &str)> = Vec::new();
    for p in plan {
        let body = if p.is_empty() {
            json!({"requester_id": r})
        } else {
            json!({"requester_id": r, "priority": p})
        };
        made.push((ticket(&app, body).await, p));
    }
    let (s, v) = view(
        &app,
        None,
        json!({"title": "By priority", "all": [c("status", "less_than", "solved")],
            "output": {"group_by": "priority", "group_order": "desc", "sort_by": "nice_id", "sort_order": "asc"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["view"]["id"].as_i64().unwrap();
    // Read three at a time, by pages and by cursor: every page continues the groups.
    let mut paged = Vec::new();
    for page in 1..=4 {
        let (s, v) = app.get(&format!("/api/v2/views/{id}/tickets.json?per_page=3&page={page}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        paged.extend(ids(&v));
    }
    let mut cursor = Vec::new();
    let mut url = format!("/api/v2/views/{id}/tickets.json?page[size]=3");
    for _ in 0..4 {
        let (s, v) = app.get(&url).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        cursor.extend(ids(&v));
        let Some(next) = v["links"]["next"].as_str() else { break };
        url = next.split_once("/api/v2").map(|(_, p)| format!("/api/v2{p}")).unwrap();
    }
    let rank = |p: &str| ["", "low", "normal", "high", "urgent"].iter().position(|x| *x == p).unwrap();
    let mut want = made.clone();
    want.sort_by_key(|(id, p)| (std::cmp::Reverse(rank(p)), *id));
    let want: Vec<i64> = want.into_iter().map(|(id, _)| id).collect();
    assert_eq!(paged, want, "urgent, high, normal, low, none; by number within each");
    assert_eq!(cursor, want);
    // Ascending groups, newest number first within each; by status too.
    let (s, v) = app
        .put(
            &format!("/api/v2/views/{id}.json"),
            json!({"view": {"output": {"group_order": "asc", "sort_order": "desc"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get(&format!("/api/v2/views/{id}/tickets.json?per_page=100")).await;
    let mut want = made.clone();
    want.sort_by_key(|(id, p)| (rank(p), std::cmp::Reverse(*id)));
    assert_eq!(ids(&v), want.into_iter().map(|(id, _)| id).collect::<Vec<_>>());
    // Something tickets do not share is not a group, and nothing is changed by asking.
    for bad in ["subject", "nice_id", "colour"] {
        let (s, v) = app
            .put(&format!("/api/v2/views/{id}.json"), json!({"view": {"output": {"group_by": bad}}}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    let (_, v) = app.get(&format!("/api/v2/views/{id}.json")).await;
    assert_eq!(v["view"]["execution"]["group_by"], "priority", "{v}");
});
