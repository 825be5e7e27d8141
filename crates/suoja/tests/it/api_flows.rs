//! The daily helpdesk work through the Zendesk API: users, organisations, groups, tickets with
//! CCs and followers, replies and internal notes, uploads, status changes, lists, search,
//! pagination, the trash, bulk creation and incremental exports.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::engine_test;
use crate::engine_test_clocked;
use crate::harness::send;

engine_test!(users_crud_and_me, |app| async move {
    let (s, me) = app.get("/api/v2/users/me.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["email"], "admin@one.example");
    // Without the .json suffix too.
    let (s, _) = app.get("/api/v2/users/me").await;
    assert_eq!(s, StatusCode::OK);

    app.user_field("plan").await;
    let (s, v) = app.post("/api/v2/users.json", json!({"user": {"name": "Zoë Łukasiewicz", "email": "Zoe@Example.com", "phone": "+358 40 123 4567", "tags": ["vip"], "user_fields": {"plan": "gold"}}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["user"]["id"].as_i64().unwrap();
    assert_eq!(v["user"]["name"], "Zoë Łukasiewicz");
    assert_eq!(v["user"]["role"], "end-user");
    assert!(v["user"]["url"].as_str().unwrap().starts_with(&app.base));

    // Duplicate e-mail (case-insensitive) is refused the Zendesk way.
    let (s, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Other", "email": "zoe@example.COM"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"], "RecordInvalid");
    assert_eq!(v["details"]["email"][0]["error"], "DuplicateValue");

    let (s, v) = app
        .put(
            &format!("/api/v2/users/{id}.json"),
            json!({"user": {"id": id, "name": "Zoë K.", "phone": null}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["name"], "Zoë K.");
    assert_eq!(v["user"]["phone"], Value::Null);
    assert_eq!(v["user"]["tags"], json!(["vip"]));

    let (s, v) = app.get(&format!("/api/v2/users/search.json?query={}", "zoe@example.com")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["users"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = app.get("/api/v2/users/search.json?query=K").await;
    assert_eq!(v["users"][0]["id"], id);

    let (s, v) = app.get(&format!("/api/v2/users/show_many.json?ids={id},{}", app.t.admin_id)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["users"].as_array().unwrap().len(), 2);

    // Agents are created by admins.
    let (s, agent) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Agent Smith", "email": "agent@one.example", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(agent["user"]["role"], "agent");
    let (_, list) = app.get("/api/v2/users.json?role=agent").await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1);
    assert_eq!(list["count"], 1);

    // Soft delete answers 200 with the deactivated user and moves them to deleted_users.
    let (s, v) = app
        .call(Method::DELETE, &format!("/api/v2/users/{id}.json"), Some(json!({"user": {"id": id}})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["active"], false);
    let (_, v) = app.get("/api/v2/deleted_users.json").await;
    assert_eq!(v["deleted_users"][0]["id"], id);
    let (_, v) = app.get(&format!("/api/v2/users/search.json?query={}", "zoe@example.com")).await;
    assert_eq!(v["users"].as_array().unwrap().len(), 0);
    // Nobody deletes, suspends or demotes themselves (and so the last admin stays).
    let (s, _) = app.delete(&format!("/api/v2/users/{}.json", app.t.admin_id)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    for change in [json!({"suspended": true}), json!({"role": "agent"})] {
        let (s, v) = app.put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": change})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
    }
    // With a second admin present, an admin still cannot delete themselves.
    let (s, second) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Second Admin", "email": "second@one.example", "role": "admin"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let (s, v) = app.delete(&format!("/api/v2/users/{}.json", app.t.admin_id)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["description"].as_str().unwrap().contains("yourself"), "{v}");
    let (s, _) = app.get("/api/v2/users/me.json").await;
    assert_eq!(s, StatusCode::OK);
});

engine_test!(organizations_and_groups, |app| async move {
    let (s, o) = app
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "Acme Oy", "domain_names": ["acme.fi"], "tags": ["gold"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let oid = o["organization"]["id"].as_i64().unwrap();
    let (s, v) = app.post("/api/v2/organizations.json", json!({"organization": {"name": "Acme Oy"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/organizations/{oid}.json"), json!({"organization": {"notes": "Key account"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["organization"]["notes"], "Key account");
    let (_, v) = app.get("/api/v2/organizations/search.json?name=Acme%20Oy").await;
    assert_eq!(v["organizations"][0]["id"], oid);

    let (s, g) = app.post("/api/v2/groups.json", json!({"group": {"name": "Billing"}})).await;
    assert_eq!(s, StatusCode::CREATED);
    let gid = g["group"]["id"].as_i64().unwrap();

    let u = app.user("Org Member", "member@acme.fi").await;
    let (s, _) = app.put(&format!("/api/v2/users/{u}.json"), json!({"user": {"organization_id": oid}})).await;
    assert_eq!(s, StatusCode::OK);
    let t = app.ticket(u, "Org ticket", "hello").await;
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["organization_id"], oid, "the requester's organisation is taken over");
    let (s, v) = app.put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"group_id": gid}})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["ticket"]["group_id"], gid);
    let (_, v) = app.get(&format!("/api/v2/organizations/{oid}/tickets.json")).await;
    assert_eq!(v["tickets"][0]["id"], t);

    let (s, _) = app.delete(&format!("/api/v2/groups/{gid}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["group_id"], Value::Null);
    let (s, _) = app.delete(&format!("/api/v2/organizations/{oid}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v2/organizations/{oid}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Members keep their accounts and tickets stay, both without the organisation.
    let (s, v) = app.get(&format!("/api/v2/users/{u}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["organization_id"], Value::Null);
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["organization_id"], Value::Null);
});

engine_test!(ticket_lifecycle, |app| async move {
    let contract = app.text_field("Contract").await;
    let requester = app.user("Riikka Requester", "riikka@example.fi").await;
    let cc = app.user("Cecilia CC", "cecilia@example.fi").await;
    let (_, agent) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aino Agent", "email": "aino@one.example", "role": "agent"}}),
        )
        .await;
    let agent = agent["user"]["id"].as_i64().unwrap();

    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Laskun hyvitys", "requester_id": requester, "comment": {"body": "Hyvittäkää lasku 42, kiitos", "public": true}, "collaborator_ids": [cc], "follower_ids": [agent], "priority": "high", "type": "question", "tags": ["billing", "Refund"], "custom_fields": [{"id": contract, "value": "contract-7"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["ticket"]["id"].as_i64().unwrap();
    assert!(v["audit"]["events"].as_array().unwrap().iter().any(|e| e["type"] == "Comment"));
    let t = &v["ticket"];
    assert_eq!(t["subject"], "Laskun hyvitys");
    assert_eq!(t["description"], "Hyvittäkää lasku 42, kiitos");
    assert_eq!(t["status"], "new");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["collaborator_ids"], json!([cc]));
    assert_eq!(t["follower_ids"], json!([agent]));
    assert_eq!(t["tags"], json!(["billing", "refund"]));
    assert_eq!(t["custom_fields"], json!([{"id": contract, "value": "contract-7"}]));

    // An internal note and a public reply, through update as Zendesk does it.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"id": id, "comment": {"body": "Sisäinen huomio: tarkista sopimus", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), json!({"ticket": {"status": "pending", "assignee_id": agent, "comment": {"html_body": "<p>Hyvitys <b>tehty</b><script>alert(1)</script></p>"}, "additional_tags": ["done"], "remove_tags": ["refund"], "custom_fields": [{"id": contract, "value": "contract-8"}]}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t = &v["ticket"];
    assert_eq!(t["status"], "pending");
    assert_eq!(t["assignee_id"], agent);
    assert_eq!(t["tags"], json!(["billing", "done"]));
    assert_eq!(t["custom_fields"][0]["value"], "contract-8");
    let changes: Vec<&Value> = v["audit"]["events"].as_array().unwrap().iter().filter(|e| e["type"] == "Change").collect();
    assert!(
        changes
            .iter()
            .any(|e| e["field_name"] == "status" && e["previous_value"] == "new" && e["value"] == "pending"),
        "{changes:?}"
    );

    let (s, v) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
    assert_eq!(s, StatusCode::OK);
    let comments = v["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 3);
    assert_eq!(comments[1]["public"], false);
    assert_eq!(comments[2]["plain_body"], "Hyvitys tehty");
    let html = comments[2]["html_body"].as_str().unwrap();
    assert!(html.contains("<b>tehty</b>") && !html.contains("script"), "{html}");
    assert_eq!(v["count"], 3);
    let (_, v) = app.get(&format!("/api/v2/tickets/{id}/comments.json?include=users&page[size]=2")).await;
    assert_eq!(v["comments"].as_array().unwrap().len(), 2);
    assert_eq!(v["meta"]["has_more"], true);
    assert_eq!(v["users"][0]["id"], app.t.admin_id, "comment authors are sideloaded");

    // Lists by role.
    let (_, v) = app
        .get(&format!("/api/v2/users/{requester}/tickets/requested.json?include=None&page[size]=100"))
        .await;
    assert_eq!(v["tickets"][0]["id"], id, "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{cc}/tickets/ccd.json")).await;
    assert_eq!(v["tickets"][0]["id"], id);
    let (_, v) = app.get(&format!("/api/v2/users/{agent}/tickets/assigned.json")).await;
    assert_eq!(v["tickets"][0]["id"], id);

    // Sideloads.
    let (_, v) = app.get(&format!("/api/v2/tickets/{id}.json?include=users")).await;
    let ids: Vec<i64> = v["users"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()).collect();
    // (Made through the API for the requester: they are its submitter too.)
    assert_eq!(v["ticket"]["submitter_id"], requester);
    for want in [requester, cc, agent] {
        assert!(ids.contains(&want), "{want} in {ids:?}");
    }
    let (_, v) = app.get(&format!("/api/v2/tickets/show_many.json?ids={id},999999")).await;
    assert_eq!(v["tickets"].as_array().unwrap().len(), 1);

    // Search: free words, status, requester, tags, created.
    for q in [
        "hyvitys",
        "laskun type:ticket",
        "status:pending",
        "status<solved hyvitys",
        "requester:riikka@example.fi",
        "tags:billing",
        "created>2020-01-01 lasku",
    ] {
        let (s, v) = app.get(&format!("/api/v2/search.json?query={}", urlencode(q))).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        assert_eq!(v["results"].as_array().unwrap().len(), 1, "{q}: {v}");
        assert_eq!(v["results"][0]["result_type"], "ticket");
    }
    for q in ["status:solved", "tags:nothing", "created>2999-01-01", "refund"] {
        let (_, v) = app.get(&format!("/api/v2/search.json?query={}", urlencode(q))).await;
        assert_eq!(v["count"], 0, "{q}: {v}");
    }
    let (_, v) = app.get(&format!("/api/v2/search.json?query={}", urlencode("riikka"))).await;
    assert!(v["results"].as_array().unwrap().iter().any(|r| r["result_type"] == "user"), "{v}");

    // Solve, close, and closed tickets cannot be updated.
    let (s, _) = app.put(&format!("/api/v2/tickets/{id}.json"), json!({"ticket": {"status": "closed"}})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), json!({"ticket": {"status": "open"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
});

engine_test!(end_users_see_only_their_own_and_never_notes, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Elli End", "email": "elli@example.fi", "password": "elli-password-1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let elli = v["user"]["id"].as_i64().unwrap();
    let other = app.user("Other", "other@example.fi").await;
    let mine = app.ticket(elli, "Mine", "my problem").await;
    let theirs = app.ticket(other, "Theirs", "their problem").await;
    app.put(
        &format!("/api/v2/tickets/{mine}.json"),
        json!({"ticket": {"comment": {"body": "secret internal note", "public": false}}}),
    )
    .await;
    let as_elli = |m: Method, p: &str| app.client.request(m, app.url(p)).basic_auth("elli@example.fi", Some("elli-password-1"));
    let (s, v) = send(as_elli(Method::GET, &format!("/api/v2/tickets/{mine}/comments.json"))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["comments"].as_array().unwrap().len(), 1);
    assert!(!v.to_string().contains("secret internal note"));
    let (s, _) = send(as_elli(Method::GET, &format!("/api/v2/tickets/{theirs}.json"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = send(as_elli(Method::GET, "/api/v2/tickets.json")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = send(as_elli(Method::GET, &format!("/api/v2/search.json?query={}", urlencode("problem")))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
    let (s, _) =
        send(as_elli(Method::PUT, &format!("/api/v2/tickets/{mine}.json")).json(&json!({"ticket": {"comment": {"body": "note?", "public": false}}}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = send(as_elli(Method::PUT, &format!("/api/v2/tickets/{mine}.json")).json(&json!({"ticket": {"comment": {"body": "thanks!"}}}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(as_elli(Method::GET, &format!("/api/v2/users/{other}.json"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = send(as_elli(Method::POST, "/api/v2/tickets.json").json(&json!({"ticket": {"subject": "New", "comment": {"body": "from the portal"}}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["ticket"]["requester_id"], elli);
});

engine_test!(uploads_attach_to_comments, |app| async move {
    let u = app.user("Uploader", "up@example.fi").await;
    let t = app.ticket(u, "With file", "see attached").await;
    let bytes = b"%PDF-1.4 fake pdf with \xc3\xa4 bytes".to_vec();
    let (s, v) = send(
        app.req(Method::POST, "/api/v2/uploads.json?filename=lasku%20%C3%A4.pdf")
            .header("content-type", "application/pdf")
            .body(bytes.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["upload"]["token"].as_str().unwrap().to_string();
    assert_eq!(v["upload"]["attachment"]["file_name"], "lasku ä.pdf");
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"comment": {"body": "attached", "uploads": [token]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}/comments.json")).await;
    let att = &v["comments"][1]["attachments"][0];
    assert_eq!(att["file_name"], "lasku ä.pdf");
    assert_eq!(att["size"], bytes.len());
    let content_url = att["content_url"].as_str().unwrap().to_string();
    let resp = app.req(Method::GET, &content_url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), bytes);
    // A used token cannot be attached twice.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}.json"),
            json!({"ticket": {"comment": {"body": "again", "uploads": [token]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
});

engine_test!(cursor_pagination_through_250_tickets, |app| async move {
    let u = app.user("Many", "many@example.fi").await;
    let mut created = Vec::new();
    for chunk in 0..3 {
        let tickets: Vec<Value> = (0..(if chunk < 2 { 100 } else { 50 }))
            .map(|i| json!({"requester_id": u, "subject": format!("bulk {chunk}-{i}"), "comment": {"body": "bulk body"}}))
            .collect();
        let (s, v) = app.post("/api/v2/tickets/create_many.json", json!({"tickets": tickets})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let job = v["job_status"]["id"].as_str().unwrap().to_string();
        let (s, j) = app.get(&format!("/api/v2/job_statuses/{job}.json")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(j["job_status"]["status"], "completed");
        for r in j["job_status"]["results"].as_array().unwrap() {
            created.push(r["id"].as_i64().unwrap());
        }
    }
    assert_eq!(created.len(), 250);
    let mut seen = Vec::new();
    let mut next = Some(format!("{}/api/v2/tickets.json?page[size]=100", app.base));
    let mut pages = 0;
    while let Some(url) = next {
        let (s, v) = app.get(&url).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(url.starts_with(&app.base), "links are absolute on the host the client used");
        seen.extend(v["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()));
        pages += 1;
        let more = v["meta"]["has_more"].as_bool().unwrap();
        next = v["links"]["next"].as_str().map(str::to_string);
        assert_eq!(more, next.is_some(), "links.next is null exactly when has_more is false");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    // Offset pagination.
    let (_, v) = app.get("/api/v2/tickets.json?per_page=100&page=3").await;
    assert_eq!(v["tickets"].as_array().unwrap().len(), 50);
    assert_eq!(v["count"], 250);
    assert_eq!(v["next_page"], Value::Null);
    assert!(v["previous_page"].as_str().unwrap().contains("page=2"));
    // Going back from the last page.
    let (_, v) = app.get("/api/v2/tickets.json?page[size]=100").await;
    let after = v["meta"]["after_cursor"].as_str().unwrap().to_string();
    let (_, v2) = app.get(&format!("/api/v2/tickets.json?page[size]=100&page[after]={after}")).await;
    let before = v2["meta"]["before_cursor"].as_str().unwrap().to_string();
    let (_, back) = app.get(&format!("/api/v2/tickets.json?page[size]=100&page[before]={before}")).await;
    assert_eq!(back["tickets"], v["tickets"]);
    // Forwarded host and scheme are honoured in links.
    let (_, v) = send(
        app.req(Method::GET, "/api/v2/tickets.json?page[size]=10")
            .header("x-forwarded-host", "help.acme.example")
            .header("x-forwarded-proto", "https"),
    )
    .await;
    assert!(
        v["links"]["next"]
            .as_str()
            .unwrap()
            .starts_with("https://help.acme.example/api/v2/tickets.json?"),
        "{}",
        v["links"]["next"]
    );
});

engine_test!(trash_restore_and_permanent_delete, |app| async move {
    let u = app.user("Trash", "trash@example.fi").await;
    let t = app.ticket(u, "Throw away", "unique-trash-word").await;
    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v2/tickets/{t}.json"), Some(json!({"ticket": {"id": t}})))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
    assert_eq!(v["deleted_tickets"][0]["id"], t);
    assert_eq!(v["deleted_tickets"][0]["previous_state"], "new");
    let (s, _) = app.put(&format!("/api/v2/deleted_tickets/{t}/restore.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(s, StatusCode::OK);
    app.delete(&format!("/api/v2/tickets/{t}.json")).await;
    let (s, v) = app.delete(&format!("/api/v2/deleted_tickets/{t}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["job_status"]["status"], "completed");
    let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
    assert_eq!(v["deleted_tickets"].as_array().unwrap().len(), 0);
    let (_, v) = app.get(&format!("/api/v2/search.json?query={}", urlencode("unique-trash-word"))).await;
    assert_eq!(v["count"], 0);
    let (s, _) = app.put(&format!("/api/v2/deleted_tickets/{t}/restore.json"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

engine_test!(incremental_exports, |app| async move {
    let u = app.user("Inc", "inc@example.fi").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.ticket(u, &format!("inc {i}"), "x").await);
    }
    let mut got = Vec::new();
    let mut url = format!("{}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=2", app.base);
    for _ in 0..10 {
        let (s, v) = app.get(&url).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        got.extend(v["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()));
        if v["end_of_stream"].as_bool().unwrap() {
            break;
        }
        url = format!("{}&per_page=2", v["after_url"].as_str().unwrap());
    }
    assert_eq!(got, ids);
    let (_, v) = app.get("/api/v2/incremental/users/cursor.json?start_time=0").await;
    assert_eq!(v["users"].as_array().unwrap().len(), 2);
    assert_eq!(v["end_of_stream"], true);
    let (s, _) = app.get("/api/v2/incremental/tickets/cursor.json").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
});

engine_test_clocked!(time_based_incremental_exports_lose_and_repeat_nothing, |app, clock| async move {
    // Zendesk's time-based export: pages by start_time (seconds), next_page, end_time,
    // end_of_stream. Everything here happens within one second, then later.
    let t0 = app.helpdesk().now().as_secs();
    let person = app.user("Ilkka Inkrementti", "ilkka@example.fi").await;
    let (s, o) = app
        .post("/api/v2/organizations.json", json!({"organization": {"name": "Inkrementti Oy"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.ticket(person, &format!("inc {i}"), "x").await);
    }
    let page = |url: String| {
        let app = &app;
        async move {
            let (s, v) = app.get(&url).await;
            assert_eq!(s, StatusCode::OK, "{url}: {v}");
            v
        }
    };
    let got = |v: &Value, root: &str| -> Vec<i64> { v[root].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect() };

    // The newest minute is still settling: nothing yet, and the next poll starts where this
    // one did.
    let v = page("/api/v2/incremental/tickets.json?start_time=0".into()).await;
    assert_eq!(
        (got(&v, "tickets"), v["end_of_stream"].as_bool(), v["end_time"].as_i64()),
        (vec![], Some(true), Some(0)),
        "{v}"
    );
    assert!(
        v["next_page"].as_str().unwrap().ends_with("/api/v2/incremental/tickets.json?start_time=0"),
        "{v}"
    );
    // Nothing shown, nothing noted as exported: the fetch stops where the settled seconds do.
    let exported = || async {
        app.privacy().flush_consultations().await.unwrap();
        let mut c = app.helpdesk().db().read().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consultations WHERE tenant_id = $1 AND subject_id = $2 AND action = 'ticket.exported'")
            .bind(app.t.tenant_id)
            .bind(person)
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    };
    assert_eq!(exported().await, 0);

    clock.advance_ms(61_000);
    let v = page("/api/v2/incremental/tickets.json?start_time=0".into()).await;
    assert_eq!(got(&v, "tickets"), ids, "{v}");
    assert_eq!(
        (v["count"].as_i64(), v["end_of_stream"].as_bool(), v["end_time"].as_i64()),
        (Some(5), Some(true), Some(t0)),
        "{v}"
    );
    assert_eq!(v["tickets"][0]["generated_timestamp"], t0, "{v}");
    // Two a page: the page holds the rest of its last second, so the next starts clean.
    let v = page("/api/v2/incremental/tickets.json?start_time=0&per_page=2".into()).await;
    assert_eq!((got(&v, "tickets"), v["end_of_stream"].as_bool()), (ids.clone(), Some(false)), "{v}");
    let next = v["next_page"].as_str().unwrap().to_string();
    assert!(next.contains(&format!("start_time={}", t0 + 1)) && next.contains("per_page=2"), "{next}");
    let v = page(next).await;
    assert_eq!((got(&v, "tickets"), v["end_of_stream"].as_bool()), (vec![], Some(true)), "{v}");

    // Later: one ticket changes, one is new; polling from the next page finds exactly these.
    clock.advance_ms(10_000);
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{}.json", ids[1]), json!({"ticket": {"status": "pending"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let newest = app.ticket(person, "inc 6", "x").await;
    clock.advance_ms(61_000);
    let v = page(format!("/api/v2/incremental/tickets.json?start_time={}", t0 + 1)).await;
    assert_eq!(got(&v, "tickets"), vec![ids[1], newest], "{v}");
    assert_eq!(v["tickets"][0]["status"], "pending", "{v}");
    assert_eq!(v["end_time"].as_i64(), Some(t0 + 71), "{v}");

    // People and organisations the same way.
    let v = page("/api/v2/incremental/users.json?start_time=0".into()).await;
    assert_eq!(got(&v, "users"), vec![app.t.admin_id, person], "{v}");
    let v = page("/api/v2/incremental/organizations.json?start_time=0".into()).await;
    assert_eq!(got(&v, "organizations"), vec![o["organization"]["id"].as_i64().unwrap()], "{v}");
    let v = page(format!("/api/v2/incremental/organizations.json?start_time={}", t0 + 1)).await;
    assert_eq!(got(&v, "organizations"), Vec::<i64>::new(), "{v}");

    // Bad requests: a clear 400; agents and end users are not admins.
    for bad in [
        "/api/v2/incremental/tickets.json",
        "/api/v2/incremental/tickets.json?start_time=abc",
        "/api/v2/incremental/tickets.json?start_time=-1",
        "/api/v2/incremental/tickets.json?start_time=99999999999999",
        "/api/v2/incremental/tickets.json?start_time=0&per_page=0",
        "/api/v2/incremental/tickets.json?start_time=0&per_page=1001",
        "/api/v2/incremental/users.json?cursor=abc",
    ] {
        let (s, v) = app.get(bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (_, pw) = app.end_user_with_password("Eino Loppu", "eino.loppu@example.fi").await;
    let (s, _) = app.call_password(&pw, Method::GET, "/api/v2/incremental/tickets.json?start_time=0", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
});

engine_test!(openapi_document_covers_every_route, |app| async move {
    let (s, v) = app.get("/api/v2/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["openapi"], "3.0.3");
    let paths = v["paths"].as_object().unwrap();
    for p in [
        "/api/v2/tickets",
        "/api/v2/tickets/{id}",
        "/api/v2/search",
        "/api/v2/uploads",
        "/api/v2/incremental/tickets/cursor",
        "/api/v2/deleted_tickets/{id}",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    assert!(paths.len() >= 30);
});

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

engine_test!(bearer_tokens_from_oauth_tokens, |app| async move {
    let (s, v) = app.post("/api/v2/oauth/tokens.json", json!({"token": {"scopes": ["read", "write"]}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let bearer = v["token"]["full_token"].as_str().unwrap().to_string();
    let (s, me) = send(app.client.get(app.url("/api/v2/users/me.json")).bearer_auth(&bearer)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["user"]["id"], app.t.admin_id);
    // Basic email:password works too.
    let (s, _) = send(app.client.get(app.url("/api/v2/users/me.json")).basic_auth("admin@one.example", Some("wrong"))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
});

engine_test!(search_count_is_exact_and_list_counts_stop_at_the_window, |app| async move {
    let u = app.user("Counted", "counted@example.fi").await;
    let tickets: Vec<Value> = (0..100)
        .map(|i| json!({"requester_id": u, "subject": format!("countword {i}"), "comment": {"body": "countword body"}}))
        .collect();
    for _ in 0..11 {
        let (s, v) = app.post("/api/v2/tickets/create_many.json", json!({"tickets": tickets})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, v) = app.get("/api/v2/search/count.json?query=countword").await;
    assert_eq!(v["count"], 1100);
    let (_, v) = app.get("/api/v2/search.json?query=countword&per_page=100").await;
    assert_eq!(v["count"], 1000);
    assert_eq!(v["results"].as_array().unwrap().len(), 100);
    let ids: Vec<i64> = v["results"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let (_, p10) = app.get("/api/v2/search.json?query=countword&per_page=100&page=10").await;
    assert_eq!(p10["next_page"], Value::Null, "paging ends at 1000 results");
    let (s, _) = app.get("/api/v2/search.json?query=countword&per_page=100&page=11").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Relevance ranks the newest 1000 matches. With the 50 newest trashed, that window holds 950
    // live tickets; the pages still list the 1000 newest live matches, the last 50 from beyond
    // the window, each once.
    for id in &ids[..50] {
        let (s, v) = app.delete(&format!("/api/v2/tickets/{id}.json")).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let mut listed = Vec::new();
    for page in 1..=10 {
        let (s, v) = app.get(&format!("/api/v2/search.json?query=countword&per_page=100&page={page}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        listed.extend(v["results"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()));
    }
    let newest_live = ids[50];
    let expected: Vec<i64> = (0..1000).map(|i| newest_live - i).collect();
    assert_eq!(listed, expected, "the 1000 newest live matches, best (here: newest) first");
});

// Search answers best match first, as Zendesk does without `sort_by`: a word in the subject or a
// public reply outranks the same word only in an internal note, and a short ticket outranks a
// long one; `sort_by`/`sort_order` order by a field instead; a field Suoja cannot sort by is a
// clear 400.
/// A request holds one connection at a time: with a pool of one, a page of tickets with its
/// total `count` (counted on the page's own connection) answers at once, as do the end user's
/// own requests and the signed-in pages; a second connection taken while holding one would
/// wait for the first until the pool gives up.
mod one_connection {
    use super::*;

    async fn run(engine: crate::harness::Engine) {
        let app = crate::harness::TestApp::spawn_with(engine, |s| s.db_max_connections = 1).await;
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"subject": "Yksi yhteys", "comment": {"body": "Toimiiko?"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        for path in ["/api/v2/tickets.json", "/api/v2/tickets.json?page=1&per_page=10", "/api/v2/requests.json"] {
            let started = std::time::Instant::now();
            let (s, v) = app.get(path).await;
            assert_eq!(s, StatusCode::OK, "{path}: {v}");
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{path} waited {:?}", started.elapsed());
        }
        let (_, v) = app.get("/api/v2/tickets.json").await;
        assert_eq!(v["count"], 1, "{v}");
        // Signing in and the pages after it read the tenant's security settings on the
        // connection they already hold (each session check did take a second one).
        let mut b = crate::web::admin_browser(&app).await;
        for path in ["/agent/views/mine", "/agent/tickets/1", "/account"] {
            // Past the two seconds a node keeps the settings, so each page reads them.
            tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
            let started = std::time::Instant::now();
            let page = b.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{path} waited {:?}", started.elapsed());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(crate::harness::Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if crate::harness::pg_url().is_none() {
            eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
            return;
        }
        run(crate::harness::Engine::Postgres).await;
    }
}

engine_test!(search_ranks_by_relevance_and_sorts_as_asked, |app| async move {
    let person = app.user("Reija Relevantti", "reija@example.fi").await;
    let filler = "the order arrived yesterday and the box was opened at the front desk where the courier left it with a note about the delivery window";
    let long = app.ticket(person, "Printer question", &format!("{filler} {filler} the printer stopped")).await;
    let short = app.ticket(person, "Printer jam", "printer").await;
    let noted = app.ticket(person, "Something else", filler).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{noted}.json"),
            json!({"ticket": {"comment": {"body": "Probably the printer again", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let unrelated = app.ticket(person, "Unrelated", "nothing to see").await;
    for (id, priority) in [(long, "urgent"), (short, "low"), (noted, "high")] {
        let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), json!({"ticket": {"priority": priority}})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let ids = |v: &Value| v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>();

    let (s, v) = app.get("/api/v2/search.json?query=printer%20type:ticket").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec![short, long, noted], "best match first");
    let (_, v) = app
        .get("/api/v2/search.json?query=printer%20type:ticket&sort_by=created_at&sort_order=asc")
        .await;
    assert_eq!(ids(&v), vec![long, short, noted]);
    let (_, v) = app.get("/api/v2/search.json?query=printer%20type:ticket&sort_by=created_at").await;
    assert_eq!(ids(&v), vec![noted, short, long], "descending unless asked");
    let (_, v) = app
        .get("/api/v2/search.json?query=printer%20type:ticket&sort_by=priority&sort_order=desc")
        .await;
    assert_eq!(ids(&v), vec![long, noted, short]);
    let (_, v) = app
        .get("/api/v2/search.json?query=type:ticket%20status%3Csolved&sort_by=priority&sort_order=asc")
        .await;
    assert_eq!(ids(&v), vec![unrelated, short, noted, long], "no priority first, then low to urgent");

    for bad in ["sort_by=colour", "sort_order=sideways", "sort_by=priority&sort_order=up"] {
        let (s, v) = app.get(&format!("/api/v2/search.json?query=printer&{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["description"].as_str().unwrap().contains("sort"), "{v}");
    }
});

// Hostile or careless search queries get a clear client error (400, or Zendesk's 422 `invalid`
// for a query it cannot run) or a correct answer, never a server error; a query the parser
// reads leniently (an unclosed quote, an unknown property) still finds exactly what its words
// find. (Their server time is measured by `suoja bench`, not here.)
engine_test!(search_answers_hostile_queries_with_a_client_error_or_the_right_answer, |app| async move {
    let (person, hilkka) = app.end_user_with_password("Hilkka Haku", "hilkka@example.fi").await;
    let jam = app.ticket(person, "Printer jam", "the printer jams on page two").await;
    let invoice = app.ticket(person, "Invoice", "the invoice is wrong").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{invoice}.json"),
            json!({"ticket": {"comment": {"body": "escalated to finance", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ids = |v: &Value| v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let thousand_words = (0..1000).map(|i| format!("word{i}")).collect::<Vec<_>>().join("%20");
    let thousand_tags = (0..1000).map(|i| format!("tags:t{i}")).collect::<Vec<_>>().join("%20");
    let long_word = "a".repeat(5000);
    for (query, expect) in [
        ("query=", StatusCode::BAD_REQUEST),
        ("query=%21%21%21%20%3F%3F%3F%20...%20%22%22", StatusCode::UNPROCESSABLE_ENTITY),
        (&format!("query={thousand_words}") as &str, StatusCode::BAD_REQUEST),
        (&format!("query=type:ticket%20{thousand_words}"), StatusCode::BAD_REQUEST),
        (&format!("query={thousand_tags}"), StatusCode::BAD_REQUEST),
        (&format!("query={long_word}"), StatusCode::BAD_REQUEST),
        ("query=created%3E99999999-12-31", StatusCode::UNPROCESSABLE_ENTITY),
        ("query=created%3E2024-13-45", StatusCode::UNPROCESSABLE_ENTITY),
        ("query=updated%3C-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("query=status:purple", StatusCode::UNPROCESSABLE_ENTITY),
        ("query=type:galaxy%20printer", StatusCode::UNPROCESSABLE_ENTITY),
        ("query=%FF%FE", StatusCode::UNPROCESSABLE_ENTITY),
        ("query=printer&sort_by=colour", StatusCode::BAD_REQUEST),
        ("query=printer&sort_order=sideways", StatusCode::BAD_REQUEST),
        ("query=printer&page=0", StatusCode::BAD_REQUEST),
        ("query=printer&page=99999999999999999999", StatusCode::BAD_REQUEST),
        ("query=printer&per_page=100000", StatusCode::BAD_REQUEST),
        ("query=printer&per_page=-1", StatusCode::BAD_REQUEST),
        ("query=printer%20-status:closed", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, v) = app.get(&format!("/api/v2/search.json?{query}")).await;
        assert_eq!(s, expect, "{}: {v}", query.chars().take(60).collect::<String>());
        assert!(!v["description"].as_str().unwrap_or_default().is_empty(), "a reason is given: {v}");
    }
    // Read leniently, answered exactly: an unclosed quote is its words, an unknown property is
    // searched as words (and here matches nothing), a NUL separates words.
    for (query, expect) in [
        ("query=%22printer%20jam", vec![jam]),
        ("query=printer%00jam", vec![jam]),
        ("query=colour:red%20printer", vec![]),
        ("query=type:ticket%20zzzznothing", vec![]),
        ("query=type:ticket%20status:closed%20printer", vec![]),
        // A minus leaves a word out (Zendesk's syntax), a quoted phrase's words each.
        ("query=the%20-printer", vec![invoice]),
        ("query=the%20-%22wrong%20answer%22", vec![jam]),
        ("query=type:ticket%20-invoice", vec![jam]),
        ("query=the%20-finance", vec![jam]),
    ] {
        let (s, v) = app.get(&format!("/api/v2/search.json?{query}")).await;
        assert_eq!(s, StatusCode::OK, "{query}: {v}");
        assert_eq!(ids(&v), expect, "{query}");
        assert_eq!(v["count"].as_i64(), Some(suoja_core::num::to_i64(expect.len())), "{query}: {v}");
    }
    // An end user leaves out by what they can read: a word only an internal note holds leaves
    // nothing out for them (else the answer would tell them what the note says).
    let (s, v) = app.call_password(&hilkka, Method::GET, "/api/v2/search.json?query=the%20-finance", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut theirs = ids(&v);
    theirs.sort();
    assert_eq!(theirs, vec![jam, invoice]);

    // Nor does an internal note move a ticket up or down an end user's list: two tickets alike
    // in what the requester reads, the older with "refund" in an internal note, come newest
    // first (for staff the note counts).
    let older = app.ticket(person, "Refund", "refund please").await;
    let newer = app.ticket(person, "Refund", "refund please").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{older}.json"),
            json!({"ticket": {"comment": {"body": "refund", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.call_password(&hilkka, Method::GET, "/api/v2/search.json?query=refund", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec![newer, older], "an end user's order knows nothing of internal notes");
    let (_, v) = app.get("/api/v2/search.json?query=refund%20type:ticket").await;
    assert_eq!(ids(&v), vec![older, newer], "staff rank by the note too");

    // Yet an end user's results are ranked by what they read, on both engines: the older of two
    // of their tickets holds "warranty" in a short text, the newer in a long one; an internal
    // note on the short one, longer than the long ticket in distinct words (words count once),
    // changes nothing for them: were its length counted, the short ticket would come second.
    let filler = "the parcel came on monday and the box had been opened somewhere on the way";
    let short = app.ticket(person, "Warranty", "warranty claim").await;
    let long = app.ticket(person, "Question", &format!("{filler} {filler} and is this under warranty")).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{short}.json"),
            json!({"ticket": {"comment": {"body": (0..60).map(|i| format!("muistiinpano{i}")).collect::<Vec<_>>().join(" "), "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/api/v2/search.json?query=warranty%20type:ticket").await;
    assert_eq!(ids(&v), vec![long, short], "for staff the note makes the short ticket the longer");
    let (s, v) = app.call_password(&hilkka, Method::GET, "/api/v2/search.json?query=warranty", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec![short, long], "the short ticket first, though older");
});

/// The comment objects of an export (every object with a `by_you` flag), anywhere in it.
fn exported_comments(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) => {
            if o.contains_key("by_you") {
                out.push(v.clone());
            }
            o.values().for_each(|x| exported_comments(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| exported_comments(x, out)),
        _ => {}
    }
}

// Requester, submitter and the first comment's writer, as Zendesk documents them: a ticket an
// agent makes through the API for a customer, without `submitter_id`, is the customer's (they
// submitted it and wrote its description, which their export shows as theirs); `submitter_id`
// names who else did; `comment.author_id` names the writer; a private description stays the
// agent's note.
engine_test!(the_requester_writes_the_first_comment_of_a_ticket_made_for_them, |app| async move {
    let (aino, aino_login) = app.end_user_with_password("Aino Asiakas", "aino@example.fi").await;
    let agent = {
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": "Eino Agentti", "email": "eino@help.example", "role": "agent"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["user"]["id"].as_i64().unwrap()
    };
    let create = |body: Value| {
        let app = &app;
        async move {
            let (s, v) = app.post("/api/v2/tickets.json", json!({ "ticket": body })).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let id = v["ticket"]["id"].as_i64().unwrap();
            let (_, c) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
            (v["ticket"].clone(), c["comments"][0].clone())
        }
    };
    let admin = app.t.admin_id;
    // For the requester, no submitter named: theirs.
    let (t, c) = create(json!({"subject": "Kadonnut tilaus", "requester_id": aino, "comment": {"body": "Tilaukseni 4411 ei ole saapunut."}})).await;
    assert_eq!(
        (t["requester_id"].as_i64(), t["submitter_id"].as_i64(), c["author_id"].as_i64()),
        (Some(aino), Some(aino), Some(aino))
    );
    assert_eq!(c["public"], true);
    // A submitter named: theirs to submit and write.
    let (t, c) = create(json!({"subject": "Soitto", "requester_id": aino, "submitter_id": agent, "comment": {"body": "Asiakas soitti tilauksesta."}})).await;
    assert_eq!((t["submitter_id"].as_i64(), c["author_id"].as_i64()), (Some(agent), Some(agent)));
    // The writer named: theirs to write.
    let (t, c) = create(json!({"subject": "Välitetty", "requester_id": aino, "comment": {"body": "Välitetty viesti.", "author_id": agent}})).await;
    assert_eq!((t["submitter_id"].as_i64(), c["author_id"].as_i64()), (Some(aino), Some(agent)));
    // A new requester given by name and address: theirs too.
    let (t, c) =
        create(json!({"subject": "Uusi", "requester": {"name": "Ville Uusi", "email": "ville@example.fi"}, "comment": {"body": "Hei, olen uusi asiakas."}}))
            .await;
    assert_eq!(t["submitter_id"], t["requester_id"]);
    assert_eq!(c["author_id"], t["requester_id"]);
    // A private description is the agent's note: the requester submitted, the agent wrote, and
    // it stays private.
    let (t, c) = create(json!({"subject": "Muistiinpano", "requester_id": aino, "comment": {"body": "Sisäinen: tarkista maksu.", "public": false}})).await;
    assert_eq!((t["submitter_id"].as_i64(), c["author_id"].as_i64()), (Some(aino), Some(admin)));
    assert_eq!(c["public"], false);
    // ... and the requester never sees it, not even as the ticket's description.
    let note = t["id"].as_i64().unwrap();
    let (s, v) = app.call_password(&aino_login, Method::GET, &format!("/api/v2/tickets/{note}.json"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v.to_string().contains("Sisäinen"), "{v}");
    // The requester's export shows the description as their own words, and the comments of the
    // writers named as not theirs.
    let export: Value = serde_json::from_str(&crate::privacy_precision::export_of(&app, aino).await).unwrap();
    let mut comments = Vec::new();
    exported_comments(&export, &mut comments);
    let text = |c: &Value| c.to_string();
    let mine = comments.iter().filter(|c| c["by_you"] == true).map(text).collect::<Vec<_>>().join("\n");
    let others = comments.iter().filter(|c| c["by_you"] != true).map(text).collect::<Vec<_>>().join("\n");
    assert!(mine.contains("Tilaukseni 4411 ei ole saapunut."), "{mine}");
    assert!(
        others.contains("Asiakas soitti tilauksesta.") && others.contains("Välitetty viesti."),
        "{others}"
    );
    assert!(!mine.contains("Sisäinen"), "the agent's note is not the requester's words");
    // A submitter named who is someone else's customer: their words go with their erasure,
    // the description (the first comment's text) included.
    let xavier = app.user("Xavier Ystävä", "xavier@example.fi").await;
    let (t, c) =
        create(json!({"subject": "Ystävän puolesta", "requester_id": aino, "submitter_id": xavier, "comment": {"body": "Xavierin omat sanat avioerostaan."}}))
            .await;
    assert_eq!(c["author_id"].as_i64(), Some(xavier));
    let on_behalf = t["id"].as_i64().unwrap();
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{xavier}/erasure.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{on_behalf}.json")).await;
    assert!(!v.to_string().contains("avioerostaan"), "{v}");
    // ... and only theirs: the other tickets' descriptions are as they were.
    let (_, all) = app.get("/api/v2/tickets.json").await;
    let descriptions: Vec<&str> = all["tickets"].as_array().unwrap().iter().filter_map(|t| t["description"].as_str()).collect();
    for kept in [
        "Tilaukseni 4411 ei ole saapunut.",
        "Asiakas soitti tilauksesta.",
        "Välitetty viesti.",
        "Hei, olen uusi asiakas.",
    ] {
        assert!(descriptions.contains(&kept), "{kept} in {descriptions:?}");
    }
    let (_, v) = app
        .call_password(&aino_login, Method::GET, &format!("/api/v2/requests/{on_behalf}.json"), None)
        .await;
    assert!(!v.to_string().contains("avioerostaan"), "{v}");
    // An export without internal notes leaves out that description too.
    let scope = suoja_core::Scope {
        tenant: suoja_core::TenantId(app.t.tenant_id),
        actor: suoja_core::UserId(aino),
        role: suoja_core::Role::EndUser,
        privacy_officer: false,
        token: None,
    };
    let opts = suoja_privacy::export::Options {
        include_internal_notes: Some(false),
        ..Default::default()
    };
    let e = app
        .privacy()
        .export(&scope, suoja_core::UserId(aino), None, &opts, &suoja_privacy::export::no_progress)
        .await
        .unwrap();
    let doc = e.doc.to_string();
    assert!(doc.contains("Tilaukseni 4411") && !doc.contains("Sisäinen"), "{doc}");
});

// The Requests API: an end user opens a request, reads its public comments (never a note),
// answers and marks it solved; a CC'd person sees it under `ccd`; nobody else reaches it; the
// lists filter by status and the search finds only the caller's own.
engine_test!(end_users_open_read_answer_and_solve_requests, |app| async move {
    let (me, login) = app.end_user_with_password("Rauha Rinne", "rauha@example.fi").await;
    let (cc, cc_login) = app.end_user_with_password("Kalle Kopio", "kalle@example.fi").await;
    let (_, other) = app.end_user_with_password("Olli Ulkopuolinen", "olli@example.fi").await;
    let call = |who: &crate::harness::Tenant, m: Method, path: &str, body: Option<Value>| {
        let (app, who, path) = (&app, who.clone(), path.to_string());
        async move { app.call_password(&who, m, &path, body).await }
    };
    let (s, v) = call(
        &login,
        Method::POST,
        "/api/v2/requests.json",
        Some(json!({"request": {"subject": "Laskuvirhe", "comment": {"body": "Lasku 12 on väärin laskutettu."}}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let r = v["request"].clone();
    let id = r["id"].as_i64().unwrap();
    assert_eq!(r["requester_id"], me);
    assert_eq!(r["status"], "new");
    assert_eq!(r["can_be_solved_by_me"], false, "not assigned yet");
    assert!(r["url"].as_str().unwrap().ends_with(&format!("/api/v2/requests/{id}.json")));
    // Staff answer publicly, write a note, assign, and copy someone in.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"assignee_id": app.t.admin_id, "email_cc_ids": [cc], "comment": {"body": "Sisäinen: tarkista laskutus.", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"comment": {"body": "Korjasimme laskun."}}}),
        )
        .await;
    assert_eq!(v["ticket"]["status"], "open");
    // Public comments only.
    let (s, v) = call(&login, Method::GET, &format!("/api/v2/requests/{id}/comments.json"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let bodies: Vec<&str> = v["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["Lasku 12 on väärin laskutettu.", "Korjasimme laskun."]);
    assert!(!v.to_string().contains("Sisäinen"));
    assert_eq!(v["comments"][0]["request_id"], id);
    let (_, all) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
    let note = all["comments"].as_array().unwrap().iter().find(|c| c["public"] == false).unwrap()["id"]
        .as_i64()
        .unwrap();
    let reply = v["comments"][1]["id"].as_i64().unwrap();
    let (s, _) = call(&login, Method::GET, &format!("/api/v2/requests/{id}/comments/{note}.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a note is not a request's comment");
    let (s, v) = call(&login, Method::GET, &format!("/api/v2/requests/{id}/comments/{reply}.json"), None).await;
    assert_eq!((s, v["comment"]["body"].as_str()), (StatusCode::OK, Some("Korjasimme laskun.")));
    // Lists and their filters.
    let ids = |v: &Value| v["requests"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let (_, v) = call(&login, Method::GET, "/api/v2/requests.json", None).await;
    assert_eq!(ids(&v), vec![id]);
    assert_eq!(v["requests"][0]["can_be_solved_by_me"], true);
    let (_, v) = call(&login, Method::GET, "/api/v2/requests.json?status=solved,closed", None).await;
    assert!(ids(&v).is_empty());
    let (_, v) = call(&login, Method::GET, "/api/v2/requests/open.json", None).await;
    assert_eq!(ids(&v), vec![id]);
    let (s, v) = call(&login, Method::GET, "/api/v2/requests.json?status=whatever", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (_, v) = call(&cc_login, Method::GET, "/api/v2/requests/ccd.json", None).await;
    assert_eq!(ids(&v), vec![id]);
    let (s, _) = call(&cc_login, Method::GET, &format!("/api/v2/requests/{id}.json"), None).await;
    assert_eq!(s, StatusCode::OK, "a CC'd person reads it");
    let (_, v) = call(&cc_login, Method::GET, "/api/v2/requests/search.json?query=laskutettu", None).await;
    assert_eq!(ids(&v), vec![id], "and finds it");
    let (_, v) = call(&cc_login, Method::GET, "/api/v2/requests/search.json?query=tarkista", None).await;
    assert!(ids(&v).is_empty(), "never by a note's words");
    let (_, v) = call(&login, Method::GET, "/api/v2/requests/search.json?query=laskutettu", None).await;
    assert_eq!(ids(&v), vec![id]);
    // Nobody else reaches it, and no one writes a note or changes what is not theirs.
    for (m, body) in [(Method::GET, None), (Method::PUT, Some(json!({"request": {"comment": {"body": "hei"}}})))] {
        let (s, _) = call(&other, m, &format!("/api/v2/requests/{id}.json"), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (_, v) = call(&other, Method::GET, "/api/v2/requests/search.json?query=laskutettu", None).await;
    assert!(ids(&v).is_empty());
    let (s, v) = call(
        &login,
        Method::PUT,
        &format!("/api/v2/requests/{id}.json"),
        Some(json!({"request": {"comment": {"body": "salainen", "public": false}}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = call(
        &login,
        Method::PUT,
        &format!("/api/v2/requests/{id}.json"),
        Some(json!({"request": {"comment": {"body": "salainen", "public": "false"}}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a public flag that is not `true` is refused: {v}");
    let (s, _) = call(
        &login,
        Method::PUT,
        &format!("/api/v2/requests/{id}.json"),
        Some(json!({"request": {"assignee_id": me}})),
    )
    .await;
    assert!(s.is_client_error());
    let (s, v) = call(
        &cc_login,
        Method::PUT,
        &format!("/api/v2/requests/{id}.json"),
        Some(json!({"request": {"solved": true}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "only the requester solves it: {v}");
    let (s, v) = call(&login, Method::GET, "/api/v2/requests/search.json", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // The requester thanks and solves it.
    let (s, v) = call(
        &login,
        Method::PUT,
        &format!("/api/v2/requests/{id}.json"),
        Some(json!({"request": {"comment": {"body": "Kiitos, nyt oikein."}, "solved": true}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["request"]["status"].as_str(), v["request"]["solved"].as_bool()),
        (Some("solved"), Some(true))
    );
    let (_, v) = call(&login, Method::GET, "/api/v2/requests/solved.json", None).await;
    assert_eq!(ids(&v), vec![id]);
    let (_, v) = call(&login, Method::GET, "/api/v2/requests/open.json?status=solved", None).await;
    assert!(ids(&v).is_empty());
    // Staff see in the Requests API only what they asked for themselves.
    let (_, v) = app.get("/api/v2/requests.json").await;
    assert!(ids(&v).is_empty());
    let (_, v) = app.get("/api/v2/requests/search.json?query=laskutettu").await;
    assert!(ids(&v).is_empty(), "not the admin's request: {v}");
    let (s, _) = app.get(&format!("/api/v2/requests/{id}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

// The index a restore rebuilds (a batch of tickets read and opened while the one before it is
// written) holds exactly what was written as tickets were created and changed: the same tokens
// for every ticket, public and internal apart, across batch boundaries, the trash included.
engine_test!(the_rebuilt_search_index_is_the_one_kept_as_tickets_changed, |app| async move {
    use suoja_search::DocKind;
    let requester = app.user("Åsa Öberg", "asa.oberg@example.se").await;
    let imported = (0..1100)
        .map(|i| {
            let mut t = crate::harness::import_ticket(
                requester,
                &format!("Laskutus {i} kysymys"),
                &format!("Viesti numero {i}: lasku{} puuttuu", i % 13),
            );
            if i % 7 == 0 {
                t.subject = None;
            }
            if let Some(c) = t.comment.as_mut() {
                c.public = i % 5 != 0;
            }
            t.tags = Some(if i % 3 == 0 { vec![format!("erä{}", i % 4)] } else { Vec::new() });
            t
        })
        .collect();
    let mut ids: Vec<i64> = app
        .helpdesk()
        .import_tickets(&app.admin_scope(), imported)
        .await
        .unwrap()
        .iter()
        .map(|t| t.0)
        .collect();
    // Changed through the API after their creation: a reply, an internal note, new tags, the trash.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": "Pääsy evätty", "comment": {"body": "En pääse sisään"}, "tags": ["kirjautuminen"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let changed = v["ticket"]["id"].as_i64().unwrap();
    ids.push(changed);
    for body in [
        json!({"ticket": {"comment": {"body": "Salasana vaihdettu, kokeile uudelleen", "public": true}}}),
        json!({"ticket": {"comment": {"body": "Tarkistettu lokista: naapuri Ted", "public": false}, "tags": ["kirjautuminen", "vip"]}}),
    ] {
        let (s, v) = app.put(&format!("/api/v2/tickets/{changed}.json"), body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = app.delete(&format!("/api/v2/tickets/{}.json", ids[501])).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let entries = async || {
        let mut c = app.helpdesk().db().read().await.unwrap();
        let mut out = Vec::new();
        for id in &ids {
            out.push(suoja_search::index::read(&mut c, tenant, DocKind::Ticket, *id).await.unwrap());
        }
        out
    };
    let kept = entries().await;
    assert!(kept.iter().all(Option::is_some), "every ticket has its entry");
    let last = kept.last().unwrap().as_ref().unwrap();
    assert!(!last.public.is_empty() && !last.internal.is_empty(), "public and internal text apart: {last:?}");
    let (indexed, unreadable) = app.helpdesk().reindex_all(&mut |_| {}).await.unwrap();
    assert_eq!(unreadable, 0);
    assert!(indexed >= ids.len() as u64, "{indexed} documents for {} tickets", ids.len());
    let rebuilt = entries().await;
    for (i, (a, b)) in kept.iter().zip(&rebuilt).enumerate() {
        assert_eq!(a, b, "ticket {} reads back the same after the rebuild", ids[i]);
    }
    // Search reads the rebuilt index: 85 imported tickets say "lasku7", one of them is in the
    // trash.
    let (s, v) = app.get("/api/v2/search.json?query=lasku7%20type:ticket").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 84, "{v}");
});

// A ticket's tags through Zendesk's tags endpoints: read, set (POST), add (PUT), remove (DELETE),
// each an update of the ticket (the search index and the tag rows follow, an audit event is
// kept); a closed ticket's tags stay as they are; a bad body is a client error and changes
// nothing; end users may not use them.
engine_test!(changes_to_one_ticket_at_once_lose_nothing, |app| async move {
    // Many requests change one ticket at the same moment: tags added one by one, replies,
    // a status and a priority. Each reads the ticket and writes it back; every change must
    // be there afterwards (without the ticket row locked on PostgreSQL, each wrote back what
    // it read and the others' tags, index words and fields were lost).
    let requester = app.user("Paula Rinnakkainen", "paula@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": "Yhtä aikaa", "comment": {"body": "alku"}, "tags": ["alku"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["ticket"]["id"].as_i64().unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..12 {
        let r = app
            .req(Method::PUT, &format!("/api/v2/tickets/{id}/tags.json"))
            .json(&json!({"tags": [format!("rinnakkain{i}")]}));
        set.spawn(send(r));
        let body = format!("vastaus sana{i}x");
        let r = app
            .req(Method::PUT, &format!("/api/v2/tickets/{id}.json"))
            .json(&json!({"ticket": {"comment": {"body": body, "public": i % 2 == 0}}}));
        set.spawn(send(r));
    }
    let r = app
        .req(Method::PUT, &format!("/api/v2/tickets/{id}.json"))
        .json(&json!({"ticket": {"status": "pending"}}));
    set.spawn(send(r));
    let r = app
        .req(Method::PUT, &format!("/api/v2/tickets/{id}.json"))
        .json(&json!({"ticket": {"priority": "urgent"}}));
    set.spawn(send(r));
    while let Some(done) = set.join_next().await {
        let (s, v) = done.unwrap();
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, t) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    let mut want: Vec<String> = (0..12).map(|i| format!("rinnakkain{i}")).collect();
    want.push("alku".into());
    want.sort();
    assert_eq!(t["ticket"]["tags"], json!(want), "{t}");
    assert_eq!(
        (t["ticket"]["status"].as_str(), t["ticket"]["priority"].as_str()),
        (Some("pending"), Some("urgent")),
        "{t}"
    );
    let (_, v) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
    assert_eq!(v["comments"].as_array().unwrap().len(), 13, "{v}");
    // The index holds every reply's words and every tag.
    for i in 0..12 {
        let (_, v) = app.get(&format!("/api/v2/search.json?query=sana{i}x")).await;
        assert_eq!(v["count"], 1, "sana{i}x: {v}");
        let (_, v) = app.get(&format!("/api/v2/search.json?query=tags:rinnakkain{i}")).await;
        assert_eq!(v["count"], 1, "rinnakkain{i}: {v}");
    }

    // The same for a person and an organisation: each request changes one field.
    let fields = [
        json!({"phone": "+358 40 111 2222"}),
        json!({"details": "Asiakas vuodesta 2019"}),
        json!({"notes": "Soittaa aamuisin"}),
        json!({"locale": "fi"}),
        json!({"time_zone": "Europe/Helsinki"}),
        json!({"external_id": "crm-77"}),
    ];
    let mut set = tokio::task::JoinSet::new();
    for f in &fields {
        let r = app.req(Method::PUT, &format!("/api/v2/users/{requester}.json")).json(&json!({ "user": f }));
        set.spawn(send(r));
    }
    while let Some(done) = set.join_next().await {
        let (s, v) = done.unwrap();
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, u) = app.get(&format!("/api/v2/users/{requester}.json")).await;
    for f in &fields {
        let (k, want) = f.as_object().unwrap().iter().next().unwrap();
        assert_eq!(&u["user"][k], want, "{k}: {u}");
    }
    let (s, o) = app.post("/api/v2/organizations.json", json!({"organization": {"name": "Rinnakkain Oy"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let org = o["organization"]["id"].as_i64().unwrap();
    let fields = [
        json!({"details": "Tukku"}),
        json!({"notes": "Sopimus 2027"}),
        json!({"external_id": "org-9"}),
        json!({"tags": ["kumppani"]}),
    ];
    let mut set = tokio::task::JoinSet::new();
    for f in &fields {
        let r = app
            .req(Method::PUT, &format!("/api/v2/organizations/{org}.json"))
            .json(&json!({ "organization": f }));
        set.spawn(send(r));
    }
    while let Some(done) = set.join_next().await {
        let (s, v) = done.unwrap();
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, o) = app.get(&format!("/api/v2/organizations/{org}.json")).await;
    for f in &fields {
        let (k, want) = f.as_object().unwrap().iter().next().unwrap();
        assert_eq!(&o["organization"][k], want, "{k}: {o}");
    }
});

engine_test!(ticket_tags_endpoints_set_add_and_remove, |app| async move {
    let (person, pw) = app.end_user_with_password("Tuula Tagi", "tuula@example.fi").await;
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": person, "subject": "Lasku", "comment": {"body": "lasku puuttuu"}, "tags": ["VIP", "billing"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["ticket"]["id"].as_i64().unwrap();
    let path = format!("/api/v2/tickets/{id}/tags.json");
    let (s, v) = app.get(&path).await;
    assert_eq!((s, v.clone()), (StatusCode::OK, json!({"tags": ["billing", "vip"]})), "{v}");

    let (s, v) = app.put(&path, json!({"tags": ["urgent", "vip"]})).await;
    assert_eq!((s, v.clone()), (StatusCode::OK, json!({"tags": ["billing", "urgent", "vip"]})), "added: {v}");
    let (s, v) = send(app.req(Method::DELETE, &path).json(&json!({"tags": ["billing", "not-there"]}))).await;
    assert_eq!((s, v.clone()), (StatusCode::OK, json!({"tags": ["urgent", "vip"]})), "removed: {v}");
    let (s, v) = app.post(&path, json!({"tags": ["Palautus", "palautus"]})).await;
    assert_eq!((s, v.clone()), (StatusCode::OK, json!({"tags": ["palautus"]})), "set: {v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(v["ticket"]["tags"], json!(["palautus"]), "{v}");
    // Search and the tag rows follow the change.
    let (_, v) = app.get("/api/v2/search.json?query=tags:palautus").await;
    assert_eq!(v["count"], 1, "{v}");
    let (_, v) = app.get("/api/v2/search.json?query=tags:vip").await;
    assert_eq!(v["count"], 0, "{v}");
    let mut c = app.helpdesk().db().read().await.unwrap();
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    assert_eq!(app.helpdesk().tickets_with_tag(&mut c, tenant, "palautus").await.unwrap(), vec![id]);
    assert!(app.helpdesk().tickets_with_tag(&mut c, tenant, "vip").await.unwrap().is_empty());
    drop(c);

    // A safe update (Zendesk's safe_update with updated_stamp) made on stale data is refused
    // and changes nothing; on the ticket as it stands it goes through; here and on the ticket.
    let (_, t) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    let stamp = t["ticket"]["updated_at"].as_str().unwrap().to_string();
    let stale = json!({"tags": ["stale"], "safe_update": true, "updated_stamp": "2020-01-01T00:00:00Z"});
    let (s, v) = app.put(&path, stale).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"priority": "high", "safe_update": true, "updated_stamp": "2020-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, t) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(
        (t["ticket"]["tags"].clone(), t["ticket"]["priority"].clone()),
        (json!(["palautus"]), Value::Null),
        "nothing changed: {t}"
    );
    let (s, v) = app.put(&path, json!({"tags": ["tuore"], "safe_update": true, "updated_stamp": stamp})).await;
    assert_eq!((s, v.clone()), (StatusCode::OK, json!({"tags": ["palautus", "tuore"]})), "{v}");
    let (s, v) = app.put(&path, json!({"tags": ["x"], "safe_update": true})).await;
    assert!(s.is_client_error() && s != StatusCode::CONFLICT, "safe_update needs updated_stamp: {s} {v}");
    let (s, v) = app.post(&path, json!({"tags": ["palautus"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Bad bodies: a client error, nothing changed.
    let many = (0..101).map(|i| format!("t{i}")).collect::<Vec<_>>().join(" ");
    for bad in [
        json!({}),
        json!({"tags": "x", "other": 1}),
        json!({"tags": [{"a": 1}]}),
        json!({"tags": 5}),
        json!({"tags": many}),
    ] {
        let (s, v) = app.put(&path, bad.clone()).await;
        assert!(s.is_client_error() && s != StatusCode::NOT_FOUND, "{bad}: {s} {v}");
    }
    let (s, v) = app.put("/api/v2/tickets/999999/tags.json", json!({"tags": ["x"]})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // The requester may read their ticket, not its tags.
    let (s, _) = app.call_password(&pw, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call_password(&pw, Method::PUT, &path, Some(json!({"tags": ["mine"]}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Closed: its tags stay.
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), json!({"ticket": {"status": "closed"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.put(&path, json!({"tags": ["late"]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, v) = app.get(&path).await;
    assert_eq!(v, json!({"tags": ["palautus"]}));
});

// An end user's results are ranked among their own tickets: however many newer tickets of
// other people hold the same word, their short ticket comes before their long one, and the
// order does not change when other people's tickets come and go.
engine_test!(an_end_users_ranking_is_among_their_own_tickets, |app| async move {
    let (person, pw) = app.end_user_with_password("Oona Oma", "oona@example.fi").await;
    let filler = "the parcel came on monday and the box had been opened somewhere on the way";
    let short = app.ticket(person, "Warranty", "warranty claim").await;
    let long = app.ticket(person, "Question", &format!("{filler} and is this under warranty")).await;
    let ids = |v: &Value| v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let (s, alone) = app.call_password(&pw, Method::GET, "/api/v2/search.json?query=warranty", None).await;
    assert_eq!(s, StatusCode::OK, "{alone}");
    assert_eq!(ids(&alone), vec![short, long]);
    let other = app.user("Muu Asiakas", "muu@example.fi").await;
    // More than a ranking's worth, and more than the 2 000 matches past which a reader's own
    // tickets are found by testing each of them rather than from the matches: the answer
    // alone came the other way.
    let theirs = (0..2_100)
        .map(|i| crate::harness::import_ticket(other, &format!("Warranty {i}"), "warranty"))
        .collect();
    app.helpdesk().import_tickets(&app.admin_scope(), theirs).await.unwrap();
    let (s, crowded) = app.call_password(&pw, Method::GET, "/api/v2/search.json?query=warranty", None).await;
    assert_eq!(s, StatusCode::OK, "{crowded}");
    assert_eq!(crowded, alone, "the same answer, byte for byte, with 2 100 newer tickets of someone else");
    // Staff still rank the newest matches of the whole helpdesk.
    let (_, v) = app.get("/api/v2/search.json?query=warranty%20type:ticket").await;
    assert_eq!(v["count"], 1000, "{v}");
});

// A public reply made private (Zendesk's `make_private`): the requester no longer reads it nor
// finds the request by its words; staff still do, as a note; the description stays public;
// another ticket's comment, an unknown one or an end user's try: refused, nothing changed.
engine_test!(a_reply_made_private_leaves_the_requesters_view_and_search, |app| async move {
    let (_, login) = app.end_user_with_password("Eeva Esimerkki", "eeva@example.fi").await;
    let call = |m: Method, path: String| {
        let app = &app;
        let login = login.clone();
        async move { app.call_password(&login, m, &path, None).await }
    };
    let (s, v) = app
        .call_password(
            &login,
            Method::POST,
            "/api/v2/requests.json",
            Some(json!({"request": {"subject": "Mittari", "comment": {"body": "Mittari näyttää väärin."}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["request"]["id"].as_i64().unwrap();
    let other = app.ticket(app.t.admin_id, "Toinen", "Toinen asia.").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"comment": {"body": "Katso kalibrointiohje sivulta 4.", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, all) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
    let comments = all["comments"].as_array().unwrap();
    let (first, reply) = (comments[0]["id"].as_i64().unwrap(), comments[1]["id"].as_i64().unwrap());
    let found = |v: &Value| v["requests"].as_array().unwrap().len();
    let (_, v) = call(Method::GET, "/api/v2/requests/search.json?query=kalibrointiohje".into()).await;
    assert_eq!(found(&v), 1, "{v}");

    // Reply mails waiting in the outbox (as the notifier queues them when mail is configured):
    // this reply's, and another one's.
    let t = suoja_core::TenantId(app.t.tenant_id);
    {
        let hd = app.helpdesk();
        let mut tx = hd.db().begin().await.unwrap();
        let key = suoja_store::users::by_id(&mut tx, t, suoja_core::UserId(login.admin_id))
            .await
            .unwrap()
            .unwrap()
            .key_id;
        for text in ["Katso kalibrointiohje sivulta 4.", "Toinen vastaus."] {
            let body = json!({"subject": "Re", "text": format!("{text}\n\n--\nReply to this message to add to request {id}.\n")}).to_string();
            let sealed = hd.vault().encrypt_str(&mut tx, t, key, &body).await.unwrap();
            suoja_store::outbox::insert_about(&mut tx, t, login.admin_id, "ticket_reply", Some(id), sealed, hd.now())
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let replies = || async {
        app.privacy()
            .outbox_for(t, suoja_core::UserId(login.admin_id))
            .await
            .unwrap()
            .into_iter()
            .filter(|(k, _)| k == "ticket_reply")
            .map(|(_, b)| b.expose().clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(replies().await.len(), 2);

    let path = format!("/api/v2/tickets/{id}/comments/{reply}/make_private.json");
    let (s, v) = app.call(Method::PUT, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let left = replies().await;
    assert_eq!(left.len(), 1, "this reply's mail is withdrawn before it goes out: {left:?}");
    assert!(left[0].contains("Toinen vastaus"), "the other stays: {left:?}");
    assert_eq!((v["comment"]["id"].as_i64(), v["comment"]["public"].as_bool()), (Some(reply), Some(false)));
    let (s, v) = app.call(Method::PUT, &path, None).await;
    assert_eq!((s, v["comment"]["public"].as_bool()), (StatusCode::OK, Some(false)), "again: nothing changes");

    let (_, v) = call(Method::GET, format!("/api/v2/requests/{id}/comments.json")).await;
    assert!(!v.to_string().contains("kalibrointiohje"), "{v}");
    let (_, v) = call(Method::GET, "/api/v2/requests/search.json?query=kalibrointiohje".into()).await;
    assert_eq!(found(&v), 0, "no longer found by its words: {v}");
    let (_, v) = call(Method::GET, "/api/v2/requests/search.json?query=mittari".into()).await;
    assert_eq!(found(&v), 1, "the rest of the request still is: {v}");
    let (_, v) = app.get("/api/v2/search.json?query=kalibrointiohje").await;
    assert_eq!(v["count"], 1, "staff still find it: {v}");

    for (path, status) in [
        (format!("/api/v2/tickets/{id}/comments/{first}/make_private.json"), StatusCode::CONFLICT),
        (format!("/api/v2/tickets/{other}/comments/{reply}/make_private.json"), StatusCode::NOT_FOUND),
        (format!("/api/v2/tickets/{id}/comments/999999/make_private.json"), StatusCode::NOT_FOUND),
    ] {
        let (s, v) = app.call(Method::PUT, &path, None).await;
        assert_eq!(s, status, "{path}: {v}");
    }
    let (s, _) = call(Method::PUT, format!("/api/v2/tickets/{id}/comments/{first}/make_private.json")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = call(Method::GET, format!("/api/v2/requests/{id}/comments.json")).await;
    assert!(v.to_string().contains("Mittari näyttää väärin"), "the description stays: {v}");
});

// Job statuses as a list and by ids, and the count of deleted users, in Zendesk's shapes; staff
// only; bad ids refused.
engine_test!(job_statuses_and_deleted_users_are_listed_and_counted, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/tickets/create_many.json",
            json!({"tickets": [{"subject": "Yksi", "comment": {"body": "Ensimmäinen."}}, {"subject": "Kaksi", "comment": {"body": "Toinen."}}]}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let job = v["job_status"]["id"].as_str().unwrap().to_string();
    let (s, v) = app.get("/api/v2/job_statuses.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["job_statuses"].as_array().unwrap().iter().any(|j| j["id"] == job.as_str()), "{v}");
    let unknown = "0".repeat(32);
    let (s, v) = app.get(&format!("/api/v2/job_statuses/show_many.json?ids={job},{unknown}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let shown: Vec<&str> = v["job_statuses"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(shown, vec![job.as_str()], "unknown ids are left out");
    assert_eq!(v["job_statuses"][0]["status"], "completed", "{v}");
    for bad in ["", "?ids=", "?ids=xyz", "?ids=1,2"] {
        let (s, _) = app.get(&format!("/api/v2/job_statuses/show_many.json{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }

    let (_, v) = app.get("/api/v2/deleted_users/count.json").await;
    assert_eq!(v["count"]["value"], 0, "{v}");
    let gone = app.user("Poistuva Pekka", "pekka@example.fi").await;
    let (s, _) = app.call(Method::DELETE, &format!("/api/v2/users/{gone}.json"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = app.get("/api/v2/deleted_users/count.json").await;
    assert_eq!(v["count"]["value"], 1, "{v}");
    assert!(v["count"]["refreshed_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");

    let (_, login) = app.end_user_with_password("Eeva Esimerkki", "eeva@example.fi").await;
    for path in ["/api/v2/job_statuses.json", "/api/v2/deleted_users/count.json"] {
        let (s, _) = app.call_password(&login, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
});

// Restoring many tickets from the trash: all or none — one not in the trash restores nothing.
engine_test!(restore_many_brings_back_all_or_none, |app| async move {
    let person = app.user("Tuula Tarkka", "tuula@example.fi").await;
    let a = app.ticket(person, "Yksi", "Ensimmäinen.").await;
    let b = app.ticket(person, "Kaksi", "Toinen.").await;
    let live = app.ticket(person, "Kolme", "Kolmas.").await;
    for t in [a, b] {
        let (s, _) = app.call(Method::DELETE, &format!("/api/v2/tickets/{t}.json"), None).await;
        assert!(s.is_success());
    }
    async fn trashed(app: &crate::harness::TestApp) -> std::collections::BTreeSet<i64> {
        let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
        v["deleted_tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
    }
    let (s, v) = app
        .call(Method::PUT, &format!("/api/v2/deleted_tickets/restore_many.json?ids={a},{live}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(trashed(&app).await, [a, b].into_iter().collect(), "nothing restored");
    for bad in ["", "?ids=", "?ids=x"] {
        let (s, _) = app.call(Method::PUT, &format!("/api/v2/deleted_tickets/restore_many.json{bad}"), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (s, _) = app
        .call(Method::PUT, &format!("/api/v2/deleted_tickets/restore_many.json?ids={a},{b},{a}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(trashed(&app).await.is_empty());
    let (s, _) = app.get(&format!("/api/v2/tickets/{a}.json")).await;
    assert_eq!(s, StatusCode::OK);
});

engine_test!(bulk_jobs_for_tickets_users_and_organizations, |app| async move {
    let requester = app.user("Aino Joukko", "aino.joukko@example.fi").await;
    let mut ids = Vec::new();
    for subject in ["Yksi", "Kaksi", "Kolme"] {
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"requester_id": requester, "subject": subject, "comment": {"body": "alku"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["ticket"]["id"].as_i64().unwrap());
    }
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let ticket = |id: i64| {
        let app = &app;
        async move { app.get(&format!("/api/v2/tickets/{id}.json")).await.1["ticket"].clone() }
    };

    // The same change for the ids given; an unknown id is reported and the others done.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/update_many.json?ids={a},999999,{b}"),
            json!({"ticket": {"status": "pending", "additional_tags": ["joukko"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let job = &v["job_status"];
    assert_eq!(job["status"], "completed", "{v}");
    assert_eq!(
        job["results"],
        json!([
            {"id": a, "action": "update", "success": true, "status": "Updated"},
            {"id": 999999, "action": "update", "success": false, "error": "RecordNotFound", "details": "Ticket not found"},
            {"id": b, "action": "update", "success": true, "status": "Updated"},
        ]),
        "{v}"
    );
    for id in [a, b] {
        let t = ticket(id).await;
        assert_eq!((t["status"].as_str(), t["tags"].clone()), (Some("pending"), json!(["joukko"])), "{t}");
    }
    assert_eq!(ticket(c).await["status"], "new");
    // Polling the job gives the same results.
    let (s, polled) = app.get(&format!("/api/v2/job_statuses/{}.json", job["id"].as_str().unwrap())).await;
    assert_eq!((s, &polled["job_status"]["results"]), (StatusCode::OK, &job["results"]));

    // A change each.
    let (s, v) = app
        .put(
            "/api/v2/tickets/update_many.json",
            json!({"tickets": [{"id": a, "priority": "high"}, {"id": c, "status": "solved", "comment": {"body": "ratkaistu", "public": false}}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["job_status"]["results"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        (ticket(a).await["priority"].as_str(), ticket(c).await["status"].as_str()),
        (Some("high"), Some("solved"))
    );
    let (_, v) = app.get(&format!("/api/v2/tickets/{c}/comments.json")).await;
    assert_eq!(v["comments"].as_array().unwrap().len(), 2, "{v}");

    // Malformed bodies are refused whole: nothing changes, not even the valid items.
    let before: Vec<Value> = futures_collect(&app, &[a, b, c]).await;
    let many: Vec<Value> = (0..101).map(|i| json!({"id": i + 1, "priority": "low"})).collect();
    for (query, bad) in [
        (format!("?ids={a}"), json!({"tickets": [{"id": a, "priority": "low"}]})),
        (String::new(), json!({"ticket": {"priority": "low"}})),
        (String::new(), json!({})),
        (String::new(), json!({"tickets": []})),
        (String::new(), json!({"tickets": many})),
        (String::new(), json!({"tickets": [{"id": a, "priority": "low"}, {"priority": "low"}]})),
        (String::new(), json!({"tickets": [{"id": a, "priority": "low"}, {"id": b, "bogus": 1}]})),
        (String::new(), json!({"tickets": [{"id": a, "priority": "low"}, 5]})),
        (String::new(), json!({"tickets": [{"id": "x", "priority": "low"}]})),
        (format!("?ids={a},x"), json!({"ticket": {"priority": "low"}})),
        (String::from("?ids="), json!({"ticket": {"priority": "low"}})),
    ] {
        let (s, v) = app.put(&format!("/api/v2/tickets/update_many.json{query}"), bad.clone()).await;
        assert!(s.is_client_error(), "{query} {bad}: {s} {v}");
    }
    assert_eq!(futures_collect(&app, &[a, b, c]).await, before, "nothing changed");

    // End users do not change tickets in bulk, nor delete them.
    let (_, pw) = app.end_user_with_password("Eero Loppu", "eero.loppu@example.fi").await;
    let (s, _) = app
        .call_password(
            &pw,
            Method::PUT,
            &format!("/api/v2/tickets/update_many.json?ids={a}"),
            Some(json!({"ticket": {"priority": "low"}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call_password(&pw, Method::DELETE, &format!("/api/v2/tickets/destroy_many.json?ids={a}"), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // To the trash, then for good.
    let (s, v) = app.delete(&format!("/api/v2/tickets/destroy_many.json?ids={b},{a},999999")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["job_status"]["results"],
        json!([
            {"id": a, "action": "delete", "success": true, "status": "Deleted"},
            {"id": b, "action": "delete", "success": true, "status": "Deleted"},
            {"id": 999999, "action": "delete", "success": false, "error": "RecordNotFound", "details": "Ticket not found"},
        ]),
        "{v}"
    );
    let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
    assert_eq!(v["deleted_tickets"].as_array().unwrap().len(), 2, "{v}");
    let (s, v) = app.delete(&format!("/api/v2/deleted_tickets/destroy_many.json?ids={a},{c}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let results = &v["job_status"]["results"];
    assert_eq!(results[0], json!({"id": a, "action": "delete", "success": true, "status": "Deleted"}), "{v}");
    assert_eq!(
        (results[1]["id"].as_i64(), results[1]["success"].as_bool()),
        (Some(c), Some(false)),
        "not in the trash: {v}"
    );
    let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
    let left: Vec<i64> = v["deleted_tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(left, vec![b], "{v}");
    assert_eq!(app.get(&format!("/api/v2/tickets/{c}.json")).await.0, StatusCode::OK);

    // People: many at once, one refused for its taken address.
    let (s, v) = app
        .post(
            "/api/v2/users/create_many.json",
            json!({"users": [{"name": "Åsa Öberg", "email": "asa@example.se", "external_id": "crm-1"}, {"name": "Ted Toinen", "email": "AINO.joukko@example.fi"}, {"name": "Ted Tedson", "external_id": "crm-10"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let results = v["job_status"]["results"].as_array().unwrap().clone();
    assert_eq!((results[0]["index"].as_i64(), results[0]["status"].as_str()), (Some(0), Some("Created")), "{v}");
    assert_eq!(
        (results[1]["index"].as_i64(), results[1]["error"].as_str()),
        (Some(1), Some("RecordInvalid")),
        "{v}"
    );
    assert_eq!(results[2]["status"], "Created", "{v}");
    let text = v.to_string();
    for personal in ["asa@", "aino.joukko", "Åsa", "Öberg", "Tedson", "Toinen", "crm-"] {
        assert!(
            !text.to_lowercase().contains(&personal.to_lowercase()),
            "a job result holds ids only, not {personal}: {v}"
        );
    }
    let asa = results[0]["id"].as_i64().unwrap();
    let tedson = results[2]["id"].as_i64().unwrap();

    // By exact external id: crm-1 is not crm-10, and "crm" is neither.
    let (s, v) = app.get("/api/v2/users/show_many.json?external_ids=crm-1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let found: Vec<i64> = v["users"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert_eq!(found, vec![asa], "{v}");
    let (_, v) = app.get("/api/v2/users/show_many.json?external_ids=crm-10,crm-1").await;
    assert_eq!(v["users"].as_array().unwrap().len(), 2, "{v}");
    let (_, v) = app.get("/api/v2/users/show_many.json?external_ids=crm,CRM-1").await;
    let found: Vec<i64> = v["users"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert_eq!(found, vec![asa], "without regard to case, and a part is no match: {v}");
    let (s, _) = app.get("/api/v2/users/show_many.json?external_ids=crm-1&ids=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Create or update: by address, then by external id.
    let (s, v) = app
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "Uusi Ihminen", "email": "uusi@example.fi"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let uusi = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "Uusi Ihminen", "email": "UUSI@example.fi", "phone": "+358 50 123"}}),
        )
        .await;
    assert_eq!(
        (s, v["user"]["id"].as_i64(), v["user"]["phone"].as_str()),
        (StatusCode::OK, Some(uusi), Some("+358 50 123")),
        "{v}"
    );
    let (s, v) = app
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "Ted Tedson-Toinen", "external_id": "crm-10"}}),
        )
        .await;
    assert_eq!((s, v["user"]["id"].as_i64()), (StatusCode::OK, Some(tedson)), "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{asa}.json")).await;
    assert_eq!(v["user"]["name"], "Åsa Öberg", "the other external id's person is untouched: {v}");
    let (s, v) = app.post("/api/v2/users/create_or_update.json", json!({"user": {"name": "Kuka"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The same change for several people.
    let (s, v) = app
        .put(
            &format!("/api/v2/users/update_many.json?ids={asa},{uusi}"),
            json!({"user": {"notes": "Yhteiskäyttäjä"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for id in [asa, uusi] {
        let (_, v) = app.get(&format!("/api/v2/users/{id}.json")).await;
        assert_eq!(v["user"]["notes"], "Yhteiskäyttäjä", "{v}");
    }
    let (_, v) = app.get(&format!("/api/v2/users/{tedson}.json")).await;
    assert_eq!(v["user"]["notes"], Value::Null, "{v}");

    // Organisations.
    let (s, v) = app
        .post(
            "/api/v2/organizations/create_many.json",
            json!({"organizations": [{"name": "Joukko Oy", "external_id": "org-1"}, {"name": "Toinen Oy"}, {"name": "joukko oy"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let results = v["job_status"]["results"].as_array().unwrap().clone();
    assert_eq!(
        (results[0]["status"].as_str(), results[1]["status"].as_str()),
        (Some("Created"), Some("Created")),
        "{v}"
    );
    let (o1, o2) = (results[0]["id"].as_i64().unwrap(), results[1]["id"].as_i64().unwrap());
    let (_, v) = app.get(&format!("/api/v2/organizations/show_many.json?ids={o2},{o1},999999")).await;
    let found: Vec<i64> = v["organizations"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(found, vec![o1, o2], "{v}");
    let (_, v) = app.get("/api/v2/organizations/show_many.json?external_ids=org-1,org").await;
    assert_eq!(v["organizations"].as_array().unwrap().len(), 1, "{v}");
    let (s, _) = app.get("/api/v2/organizations/show_many.json").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
});

async fn futures_collect(app: &crate::harness::TestApp, ids: &[i64]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        out.push(app.get(&format!("/api/v2/tickets/{id}.json")).await.1);
    }
    out
}

engine_test!(search_export_walks_every_match_in_cursor_pages, |app| async move {
    let (person, pw) = app.end_user_with_password("Vilja Vientinen", "vilja@example.fi").await;
    let other = app.user("Ville Vientinen", "ville@example.fi").await;
    let mut mine = Vec::new();
    for i in 0..7 {
        let owner = if i % 2 == 0 { person } else { other };
        let id = app.ticket(owner, &format!("Vienti {i}"), "vientisana ja muuta").await;
        mine.push((id, owner));
    }
    for i in 0..3 {
        app.ticket(other, &format!("Muu {i}"), "ei sitä sanaa").await;
    }
    // A word only an internal note holds.
    let noted = mine[0].0;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{noted}.json"),
            json!({"ticket": {"comment": {"body": "sisäinensana", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let walk = |first: String, pw: Option<crate::harness::Tenant>| {
        let app = &app;
        async move {
            let mut ids = Vec::new();
            let mut url = first;
            for _ in 0..20 {
                let (s, v) = match &pw {
                    Some(p) => app.call_password(p, Method::GET, &url, None).await,
                    None => app.get(&url).await,
                };
                assert_eq!(s, StatusCode::OK, "{url}: {v}");
                ids.extend(v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()));
                assert_eq!(v["meta"]["has_more"].as_bool().unwrap(), v["links"]["next"].is_string(), "{v}");
                match v["links"]["next"].as_str() {
                    Some(next) => url = next.trim_start_matches(&app.base).to_string(),
                    None => break,
                }
            }
            ids
        }
    };
    let mut want: Vec<i64> = mine.iter().map(|(id, _)| *id).collect();
    want.reverse();
    let ids = walk("/api/v2/search/export.json?query=vientisana&filter[type]=ticket&page[size]=3".into(), None).await;
    assert_eq!(ids, want, "every match once, newest first");
    // More than /search's window would allow in one page is fine; the same for a status filter.
    let ids = walk(
        "/api/v2/search/export.json?query=vientisana%20status%3Csolved&filter[type]=ticket&page[size]=1000".into(),
        None,
    )
    .await;
    assert_eq!(ids, want);
    // An end user walks only what they may read, and a note's words find nothing for them.
    let theirs: Vec<i64> = want.iter().copied().filter(|id| mine.iter().any(|(t, o)| t == id && *o == person)).collect();
    let ids = walk(
        "/api/v2/search/export.json?query=vientisana&filter[type]=ticket&page[size]=2".into(),
        Some(pw.clone()),
    )
    .await;
    assert_eq!(ids, theirs);
    let ids = walk(
        "/api/v2/search/export.json?query=sis%C3%A4inensana&filter[type]=ticket".into(),
        Some(pw.clone()),
    )
    .await;
    assert!(ids.is_empty(), "{ids:?}");
    let ids = walk("/api/v2/search/export.json?query=sis%C3%A4inensana&filter[type]=ticket".into(), None).await;
    assert_eq!(ids, vec![noted]);
    // People by name, newest first; end users find none.
    let ids = walk("/api/v2/search/export.json?query=Vientinen&filter[type]=user&page[size]=1".into(), None).await;
    assert_eq!(ids, vec![other, person]);
    let ids = walk("/api/v2/search/export.json?query=Vientinen&filter[type]=user".into(), Some(pw.clone())).await;
    assert!(ids.is_empty());

    for bad in [
        "/api/v2/search/export.json?query=vientisana",
        "/api/v2/search/export.json?query=vientisana&filter[type]=group",
        "/api/v2/search/export.json?filter[type]=ticket",
        "/api/v2/search/export.json?query=%20&filter[type]=ticket",
        "/api/v2/search/export.json?query=vientisana&filter[type]=ticket&page[size]=1001",
        "/api/v2/search/export.json?query=vientisana&filter[type]=ticket&page[after]=!!",
        "/api/v2/search/export.json?query=type%3Auser%20x&filter[type]=ticket",
        "/api/v2/search/export.json?query=status%3Aopen%20x&filter[type]=user",
        "/api/v2/search/export.json?query=%22unclosed&filter[type]=ticket",
    ] {
        let (s, v) = app.get(bad).await;
        let refused = s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY;
        assert!(refused || (bad.contains("unclosed") && s == StatusCode::OK), "{bad}: {s} {v}");
    }
});

engine_test!(create_or_update_finds_the_right_person_and_changes_no_sign_in_details, |app| async move {
    let (s, agent) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aatu Agentti", "email": "aatu.bulk@one.example", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{agent}");
    let as_agent = crate::harness::Tenant {
        email: "aatu.bulk@one.example".into(),
        ..app.t.clone()
    };
    let credentials_notices = || async {
        let mut c = app.helpdesk().db().read().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE tenant_id = $1 AND kind = 'credentials_changed'")
            .bind(app.t.tenant_id)
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    };
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Olli Olemassa", "email": "olli@example.fi", "external_id": "CRM-77"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let olli = v["user"]["id"].as_i64().unwrap();
    let before = credentials_notices().await;

    // Found by address (any case): the address is theirs, so it is no change of sign-in
    // details: an agent may do it, and the person gets no credentials notice.
    for who in [&as_agent, &app.t] {
        let (s, v) = app
            .call_as(
                who,
                Method::POST,
                "/api/v2/users/create_or_update.json",
                Some(json!({"user": {"name": "Olli Olemassa", "email": "OLLI@example.fi", "notes": "soitti"}})),
            )
            .await;
        assert_eq!((s, v["user"]["id"].as_i64()), (StatusCode::OK, Some(olli)), "{v}");
    }
    assert_eq!(credentials_notices().await, before, "no credentials notice");
    // `"email": null` finds by external id and clears nothing.
    let (s, v) = app
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"email": null, "external_id": "crm-77", "phone": "+358 1"}}),
        )
        .await;
    assert_eq!(
        (s, v["user"]["id"].as_i64(), v["user"]["email"].as_str()),
        (StatusCode::OK, Some(olli), Some("olli@example.fi")),
        "{v}"
    );
    // External ids compare without case; one with nothing to find by is refused.
    let (_, v) = app.get("/api/v2/users/show_many.json?external_ids=crm-77").await;
    assert_eq!(v["users"][0]["id"].as_i64(), Some(olli), "{v}");
    let (s, v) = app
        .post("/api/v2/users/create_or_update.json", json!({"user": {"name": "Viiva", "external_id": "---"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Two people with one external id: ambiguous, refused.
    let (s, _) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Toinen Sama", "external_id": "crm-77"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "Kumpi", "external_id": "CRM-77"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // A restricted person's external id is taken: no second profile beside them.
    let (s, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Riikka Rajattu", "external_id": "crm-88"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let riikka = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{riikka}/restriction.json"),
            json!({"reason": "accuracy contested"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "Riikka Uusi", "external_id": "CRM-88"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, v) = app.get("/api/v2/users/show_many.json?external_ids=crm-88").await;
    assert_eq!(v["users"], json!([]), "{v}");

    // Agents create no privacy officers, in bulk or one at a time.
    let (s, v) = app
        .call_as(
            &as_agent,
            Method::POST,
            "/api/v2/users/create_many.json",
            Some(json!({"users": [{"name": "Piia", "email": "piia@example.fi", "privacy_officer": true}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["job_status"]["results"][0]["error"], "PermissionDenied", "{v}");
    let (s, _) = app
        .call_as(
            &as_agent,
            Method::POST,
            "/api/v2/users.json",
            Some(json!({"user": {"name": "Piia", "email": "piia@example.fi", "privacy_officer": true}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // One change for several tickets cannot carry an upload (it attaches to one comment).
    let a = app.ticket(olli, "Yksi", "x").await;
    let b = app.ticket(olli, "Kaksi", "x").await;
    let token = app.upload("liite.txt", "text/plain", b"liite").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/update_many.json?ids={a},{b}"),
            json!({"ticket": {"comment": {"body": "liite", "uploads": [token]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{a}/comments.json")).await;
    assert_eq!(v["comments"].as_array().unwrap().len(), 1, "nothing done: {v}");
});

engine_test!(identities_and_organization_memberships, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Iida Identiteetti", "email": "iida@example.fi", "phone": "+358 40 555"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let iida = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app.get(&format!("/api/v2/users/{iida}/identities.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ids: Vec<(&str, &str, bool)> = v["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["value"].as_str().unwrap(), i["primary"].as_bool().unwrap()))
        .collect();
    assert_eq!(ids, vec![("email", "iida@example.fi", true), ("phone_number", "+358 40 555", false)], "{v}");
    let first = v["identities"][0]["id"].as_i64().unwrap();
    let (s, one) = app.get(&format!("/api/v2/users/{iida}/identities/{first}.json")).await;
    assert_eq!((s, one["identity"]["value"].as_str()), (StatusCode::OK, Some("iida@example.fi")), "{one}");
    let (s, _) = app.get(&format!("/api/v2/users/{iida}/identities/{}.json", first + 7)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let org = |name: &'static str| {
        let app = &app;
        async move {
            app.post("/api/v2/organizations.json", json!({"organization": {"name": name}})).await.1["organization"]["id"]
                .as_i64()
                .unwrap()
        }
    };
    let (a, b) = (org("Jäsen Oy").await, org("Toinen Jäsen Oy").await);
    let (olli, pw) = app.end_user_with_password("Olli Jäsen", "olli.jasen@example.fi").await;
    let membership = |user: i64, org: i64| json!({"organization_membership": {"user_id": user, "organization_id": org}});
    let (s, v) = app.post("/api/v2/organization_memberships.json", membership(iida, a)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["organization_membership"]["id"].as_i64(),
            v["organization_membership"]["organization_id"].as_i64()
        ),
        (Some(iida), Some(a))
    );
    let (s, _) = app.post("/api/v2/organization_memberships.json", membership(olli, a)).await;
    assert_eq!(s, StatusCode::CREATED);
    // The same membership again changes nothing; another organisation is refused.
    let (s, _) = app.post("/api/v2/organization_memberships.json", membership(iida, a)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app.post("/api/v2/organization_memberships.json", membership(iida, b)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    for bad in [membership(iida, 999_999), membership(999_999, a)] {
        let (s, v) = app.post("/api/v2/organization_memberships.json", bad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    }
    let (s, v) = app
        .post("/api/v2/organization_memberships.json", json!({"organization_membership": {"user_id": iida}}))
        .await;
    assert!(s.is_client_error(), "{v}");

    let members = |v: &Value| -> Vec<i64> {
        v["organization_memberships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user_id"].as_i64().unwrap())
            .collect()
    };
    let (_, v) = app.get(&format!("/api/v2/organizations/{a}/organization_memberships.json")).await;
    assert_eq!((members(&v), v["count"].as_i64()), (vec![iida, olli], Some(2)), "{v}");
    let (_, v) = app.get("/api/v2/organization_memberships.json?page[size]=1").await;
    assert_eq!(members(&v), vec![iida], "{v}");
    let next = v["links"]["next"].as_str().unwrap().trim_start_matches(&app.base).to_string();
    let (_, v) = app.get(&next).await;
    assert_eq!(members(&v), vec![olli], "{v}");
    let (_, v) = app.get(&format!("/api/v2/organizations/{b}/organization_memberships.json")).await;
    assert_eq!(members(&v), Vec::<i64>::new());

    // End users see their own membership and identities only.
    let (s, v) = app
        .call_password(&pw, Method::GET, &format!("/api/v2/users/{olli}/organization_memberships.json"), None)
        .await;
    assert_eq!((s, members(&v)), (StatusCode::OK, vec![olli]), "{v}");
    let (s, _) = app
        .call_password(&pw, Method::GET, &format!("/api/v2/users/{iida}/organization_memberships.json"), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call_password(&pw, Method::GET, "/api/v2/organization_memberships.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call_password(&pw, Method::GET, &format!("/api/v2/users/{olli}/identities.json"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_password(&pw, Method::GET, &format!("/api/v2/users/{iida}/identities.json"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call_password(&pw, Method::DELETE, &format!("/api/v2/organization_memberships/{olli}.json"), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Out of the organisation: the person's organisation is gone; a second delete finds nothing.
    let (s, _) = app.delete(&format!("/api/v2/organization_memberships/{iida}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get(&format!("/api/v2/users/{iida}.json")).await;
    assert_eq!(v["user"]["organization_id"], Value::Null, "{v}");
    let (s, _) = app.delete(&format!("/api/v2/organization_memberships/{iida}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&format!("/api/v2/organization_memberships/{iida}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app.get(&format!("/api/v2/organization_memberships/{olli}.json")).await;
    assert_eq!((s, v["organization_membership"]["organization_id"].as_i64()), (StatusCode::OK, Some(a)), "{v}");
});

engine_test!(satisfaction_ratings_by_requesters_exported_and_erased_with_them, |app| async move {
    // Two Teds: one rates and is erased, the other's rating, words and export stay byte-identical.
    let (ted, ted_pw) = app.end_user_with_password("Ted Tähtinen", "ted.tahtinen@example.fi").await;
    let (tedb, tedb_pw) = app.end_user_with_password("Ted Berg", "ted.berg@example.com").await;
    let mine = app.ticket(ted, "Lasku", "lasku puuttuu").await;
    let theirs = app.ticket(tedb, "Started over", "it started again").await;
    let path = |id: i64| format!("/api/v2/tickets/{id}/satisfaction_rating.json");
    let rating = |score: &str, comment: &str| json!({"satisfaction_rating": {"score": score, "comment": comment}});

    // Only a solved ticket, only by its requester.
    let (s, v) = app.call_password(&ted_pw, Method::POST, &path(mine), Some(rating("good", "Kiitos"))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not solved yet: {v}");
    for id in [mine, theirs] {
        let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), json!({"ticket": {"status": "solved"}})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, _) = app.post(&path(mine), rating("good", "staff")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "staff do not rate");
    let (s, _) = app.call_password(&tedb_pw, Method::POST, &path(mine), Some(rating("bad", "not mine"))).await;
    assert!(s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN, "{s}");
    for bad in [
        json!({"satisfaction_rating": {"score": "meh"}}),
        json!({"satisfaction_rating": {}}),
        json!({"rating": {"score": "good"}}),
        json!({"satisfaction_rating": {"score": "good", "comment": "x".repeat(10_001)}}),
    ] {
        let (s, v) = app.call_password(&ted_pw, Method::POST, &path(mine), Some(bad.clone())).await;
        assert!(s.is_client_error(), "{bad}: {s} {v}");
    }
    let (s, v) = app
        .call_password(&ted_pw, Method::POST, &path(mine), Some(rating("bad", "Odotin <b>kauan</b>, Ted")))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = v["satisfaction_rating"]["id"].as_i64().unwrap();
    // A new rating replaces the old one (same id).
    let (s, v) = app
        .call_password(&ted_pw, Method::POST, &path(mine), Some(rating("good", "Nopea ratkaisu, kiitos Ted Tähtinen")))
        .await;
    assert_eq!((s, v["satisfaction_rating"]["id"].as_i64()), (StatusCode::OK, Some(first)), "{v}");
    let (s, v) = app
        .call_password(&tedb_pw, Method::POST, &path(theirs), Some(rating("bad", "It started failing again")))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let other = v["satisfaction_rating"]["id"].as_i64().unwrap();

    // Staff read them; end users do not list them.
    let (s, v) = app.get("/api/v2/satisfaction_ratings.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let listed: Vec<(i64, &str)> = v["satisfaction_ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["ticket_id"].as_i64().unwrap(), r["score"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, vec![(mine, "good"), (theirs, "bad")], "{v}");
    let (_, v) = app.get("/api/v2/satisfaction_ratings.json?score=bad").await;
    assert_eq!(v["satisfaction_ratings"].as_array().unwrap().len(), 1, "{v}");
    let (s, v) = app.get(&format!("/api/v2/satisfaction_ratings/{first}.json")).await;
    assert_eq!(
        (s, v["satisfaction_rating"]["comment"].as_str()),
        (StatusCode::OK, Some("Nopea ratkaisu, kiitos Ted Tähtinen")),
        "{v}"
    );
    let (s, _) = app.call_password(&ted_pw, Method::GET, "/api/v2/satisfaction_ratings.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.get("/api/v2/satisfaction_ratings.json?score=meh").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Rating changed the ticket, so incremental readers see it.
    let (_, t) = app.get(&format!("/api/v2/tickets/{mine}.json")).await;
    let (_, r) = app.get(&format!("/api/v2/satisfaction_ratings/{first}.json")).await;
    assert_eq!(t["ticket"]["updated_at"], r["satisfaction_rating"]["updated_at"], "{t} {r}");
    // The ticket shows its rating, as Zendesk's does, to staff and to its requester; the other
    // ticket its own; a list shows each ticket's.
    assert_eq!(
        t["ticket"]["satisfaction_rating"],
        json!({"id": first, "score": "good", "comment": "Nopea ratkaisu, kiitos Ted Tähtinen"}),
        "{t}"
    );
    let (_, t) = app.call_password(&ted_pw, Method::GET, &format!("/api/v2/tickets/{mine}.json"), None).await;
    assert_eq!(t["ticket"]["satisfaction_rating"]["id"], first, "{t}");
    let (_, t) = app.get(&format!("/api/v2/tickets/show_many.json?ids={mine},{theirs}")).await;
    let scores: Vec<&str> = t["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["satisfaction_rating"]["score"].as_str().unwrap())
        .collect();
    assert_eq!(scores, vec!["good", "bad"], "{t}");

    // Pages skip nothing, whatever is left out between them: a third person rates, the
    // middle rating's ticket goes to the trash, and the pages still reach the last one.
    let (third, third_pw) = app.end_user_with_password("Tiina Kolmas", "tiina.kolmas@example.fi").await;
    let hers = app.ticket(third, "Kolmas", "kolmas pyyntö").await;
    let (s, _) = app.put(&format!("/api/v2/tickets/{hers}.json"), json!({"ticket": {"status": "solved"}})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.call_password(&third_pw, Method::POST, &path(hers), Some(rating("good", "Hyvä"))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.delete(&format!("/api/v2/tickets/{theirs}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get("/api/v2/satisfaction_ratings.json?page[size]=1").await;
    assert_eq!(v["satisfaction_ratings"][0]["ticket_id"].as_i64(), Some(mine), "{v}");
    let next = v["links"]["next"].as_str().expect("a next page").trim_start_matches(&app.base).to_string();
    let (_, v) = app.get(&next).await;
    assert_eq!(v["satisfaction_ratings"][0]["ticket_id"].as_i64(), Some(hers), "{v}");
    let (_, v) = app.get("/api/v2/satisfaction_ratings.json?per_page=1").await;
    assert_eq!(v["count"].as_i64(), Some(2), "{v}");
    let (_, v) = app.get("/api/v2/satisfaction_ratings.json?per_page=1&page=2").await;
    assert_eq!(v["satisfaction_ratings"][0]["ticket_id"].as_i64(), Some(hers), "{v}");
    let (s, _) = app.put(&format!("/api/v2/deleted_tickets/{theirs}/restore.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    // A restricted rater's rating is out of staff's reach, even on a ticket no longer theirs.
    let (s, v) = app.put(&format!("/api/v2/tickets/{hers}.json"), json!({"ticket": {"requester_id": ted}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{third}/restriction.json"),
            json!({"reason": "accuracy contested"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/api/v2/satisfaction_ratings.json").await;
    let shown: Vec<i64> = v["satisfaction_ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ticket_id"].as_i64().unwrap())
        .collect();
    assert_eq!(shown, vec![mine, theirs], "{v}");
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{third}/restriction/lift.json"),
            json!({"reason": "corrected"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{hers}.json"), json!({"ticket": {"requester_id": third}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Closed: the rating stays as it was.
    let (s, _) = app
        .put(&format!("/api/v2/tickets/{theirs}.json"), json!({"ticket": {"status": "closed"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_password(&tedb_pw, Method::POST, &path(theirs), Some(rating("good", "changed my mind")))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The rater's export holds their rating and comment; the other Ted's export is untouched
    // by the erasure of the first.
    let export = crate::privacy_precision::export_of(&app, ted).await;
    assert!(
        export.contains("Nopea ratkaisu, kiitos Ted Tähtinen") && export.contains("satisfaction_ratings"),
        "{export}"
    );
    assert!(!export.contains("started failing"), "another person's rating is not theirs");
    let other_before = crate::privacy_precision::export_of(&app, tedb).await;
    assert!(other_before.contains("It started failing again"));
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{ted}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let (s, _) = app.get(&format!("/api/v2/satisfaction_ratings/{first}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the erased person's rating is gone");
    assert_eq!(
        crate::privacy_precision::export_of(&app, tedb).await,
        other_before,
        "the other Ted's export is byte-identical"
    );
    let (s, v) = app.get(&format!("/api/v2/satisfaction_ratings/{other}.json")).await;
    assert_eq!(
        (s, v["satisfaction_rating"]["comment"].as_str()),
        (StatusCode::OK, Some("It started failing again")),
        "{v}"
    );
});

engine_test!(merging_tickets_closes_the_sources_and_shares_no_one_s_words, |app| async move {
    let (aino, aino_pw) = app.end_user_with_password("Aino Yhdistäjä", "aino.yhd@example.fi").await;
    let (bertta, bertta_pw) = app.end_user_with_password("Bertta Muu", "bertta.muu@example.fi").await;
    let target = app.ticket(aino, "Kirjautuminen", "en pääse sisään").await;
    let same = app.ticket(aino, "Kirjautuminen taas", "sama ongelma").await;
    let other = app.ticket(bertta, "Salasana", "berttasalaisuus numero 42").await;
    let comments = |id: i64| {
        let app = &app;
        async move {
            let (_, v) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
            v["comments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["body"].as_str().unwrap().to_string(), c["public"].as_bool().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let status = |id: i64| {
        let app = &app;
        async move {
            app.get(&format!("/api/v2/tickets/{id}.json")).await.1["ticket"]["status"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let path = format!("/api/v2/tickets/{target}/merge.json");

    // Refused whole: nothing changes on any ticket.
    let closed = app.ticket(aino, "Vanha", "vanha asia").await;
    let (s, _) = app
        .put(&format!("/api/v2/tickets/{closed}.json"), json!({"ticket": {"status": "closed"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    for (bad, want) in [
        (json!({"ids": [same, closed]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"ids": [same, 999_999]}), StatusCode::NOT_FOUND),
        (json!({"ids": [target]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"ids": [1, 2, 3, 4, 5, 6]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"ids": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"ids": "x"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"ids": [same], "bogus": 1}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, v) = app.post(&path, bad.clone()).await;
        assert_eq!(s, want, "{bad}: {v}");
    }
    let (s, _) = app.post(&format!("/api/v2/tickets/{closed}/merge.json"), json!({"ids": [same]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a closed target takes nothing");
    let (s, _) = app.call_password(&aino_pw, Method::POST, &path, Some(json!({"ids": [same]}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!((status(same).await, comments(same).await.len()), ("new".to_string(), 1));

    let (s, v) = app.post(&path, json!({"ids": [other, same]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["job_status"]["results"][0]["source_ids"], json!([same, other]), "{v}");
    assert_eq!(
        (status(same).await, status(other).await, status(target).await),
        ("closed".into(), "closed".into(), "new".into())
    );
    // A source with the target's requester hears of it publicly; another requester's source
    // and the target's note stay private, and no words cross between the tickets.
    assert_eq!(
        comments(same).await.last().unwrap(),
        &(format!("This request was closed and merged into request #{target}."), true)
    );
    assert!(!comments(other).await.last().unwrap().1, "private on another requester's source");
    let on_target = comments(target).await;
    assert_eq!(
        on_target.last().unwrap(),
        &(format!("Requests #{same}, #{other} were closed and merged into this request."), false)
    );
    assert!(on_target.iter().all(|(b, _)| !b.contains("berttasalaisuus")), "{on_target:?}");
    let (_, t) = app.get(&format!("/api/v2/tickets/{target}.json")).await;
    assert_eq!(t["ticket"]["collaborator_ids"], json!([]), "Bertta is not made a CC: {t}");
    let (s, _) = app
        .call_password(&bertta_pw, Method::GET, &format!("/api/v2/requests/{target}.json"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "Bertta cannot read Aino's ticket");
    let (_, v) = app.get("/api/v2/search.json?query=berttasalaisuus").await;
    assert_eq!(
        v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![other],
        "{v}"
    );
    // Merged sources are closed: merging them again is refused.
    let (s, _) = app.post(&path, json!({"ids": [same]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Given words and visibility are used as given.
    let fresh = app.ticket(bertta, "Uusi", "uusi asia").await;
    let (s, v) = app
        .post(&path, json!({"ids": [fresh], "target_comment": "Yhdistetty", "target_comment_is_public": true, "source_comment": "Suljettu", "source_comment_is_public": true}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(comments(target).await.last().unwrap(), &("Yhdistetty".to_string(), true));
    assert_eq!(comments(fresh).await.last().unwrap(), &("Suljettu".to_string(), true));
});

engine_test!(group_memberships_of_agents, |app| async move {
    let group = |name: &'static str| {
        let app = &app;
        async move {
            app.post("/api/v2/groups.json", json!({"group": {"name": name}})).await.1["group"]["id"]
                .as_i64()
                .unwrap()
        }
    };
    let (g1, g2) = (group("Laskutus").await, group("Tekniikka").await);
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aatu Ryhmä", "email": "aatu.ryhma@one.example", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = v["user"]["id"].as_i64().unwrap();
    let as_agent = crate::harness::Tenant {
        email: "aatu.ryhma@one.example".into(),
        ..app.t.clone()
    };
    let (end_user, pw) = app.end_user_with_password("Eero Asiakas", "eero.asiakas@example.fi").await;
    let member = |user: i64, group: i64| json!({"group_membership": {"user_id": user, "group_id": group}});

    let (s, v) = app.post("/api/v2/group_memberships.json", member(agent, g1)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let m1 = v["group_membership"]["id"].as_i64().unwrap();
    assert_eq!(v["group_membership"]["default"], true, "the first group is the default: {v}");
    let (s, v) = app.post("/api/v2/group_memberships.json", member(agent, g2)).await;
    assert_eq!((s, v["group_membership"]["default"].as_bool()), (StatusCode::CREATED, Some(false)), "{v}");
    for (bad, want) in [
        (member(agent, g1), StatusCode::UNPROCESSABLE_ENTITY),
        (member(end_user, g1), StatusCode::UNPROCESSABLE_ENTITY),
        (member(agent, 999_999), StatusCode::NOT_FOUND),
        (member(999_999, g1), StatusCode::NOT_FOUND),
        (json!({"group_membership": {"user_id": agent}}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, v) = app.post("/api/v2/group_memberships.json", bad.clone()).await;
        assert_eq!(s, want, "{bad}: {v}");
    }
    let ids = |v: &Value| -> Vec<(i64, i64)> {
        v["group_memberships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["user_id"].as_i64().unwrap(), m["group_id"].as_i64().unwrap()))
            .collect()
    };
    let (_, v) = app.get(&format!("/api/v2/groups/{g1}/memberships.json")).await;
    assert_eq!(ids(&v), vec![(agent, g1)], "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{agent}/group_memberships.json")).await;
    assert_eq!((ids(&v), v["count"].as_i64()), (vec![(agent, g1), (agent, g2)], Some(2)), "{v}");
    let (_, v) = app.get("/api/v2/group_memberships.json?page[size]=1").await;
    assert_eq!(ids(&v), vec![(agent, g1)], "{v}");
    let next = v["links"]["next"].as_str().unwrap().trim_start_matches(&app.base).to_string();
    let (_, v) = app.get(&next).await;
    assert_eq!(ids(&v), vec![(agent, g2)], "{v}");
    // Agents read memberships; only admins change them; end users see none.
    let (s, _) = app.call_as(&as_agent, Method::GET, "/api/v2/group_memberships.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_as(&as_agent, Method::DELETE, &format!("/api/v2/group_memberships/{m1}.json"), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call_password(&pw, Method::GET, "/api/v2/group_memberships.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Deleting a group takes its memberships; an agent made an end user leaves every group.
    let (s, _) = app.delete(&format!("/api/v2/groups/{g1}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v2/group_memberships/{m1}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app.put(&format!("/api/v2/users/{agent}.json"), json!({"user": {"role": "end-user"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/api/v2/group_memberships.json").await;
    assert_eq!(ids(&v), Vec::<(i64, i64)>::new(), "{v}");
    let (s, _) = app.put(&format!("/api/v2/users/{agent}.json"), json!({"user": {"role": "agent"}})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.post("/api/v2/group_memberships.json", member(agent, g2)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let m = v["group_membership"]["id"].as_i64().unwrap();
    let (s, _) = app.delete(&format!("/api/v2/group_memberships/{m}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.delete(&format!("/api/v2/group_memberships/{m}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The default moves to the oldest remaining group when the default membership goes.
    let g3 = group("Myynti").await;
    let (s, v) = app.post("/api/v2/group_memberships.json", member(agent, g3)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{agent}/group_memberships.json")).await;
    assert_eq!(v["group_memberships"][0]["default"], true, "{v}");
    let (s, v) = app.post("/api/v2/group_memberships.json", member(agent, g2)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{agent}/group_memberships.json")).await;
    let first = v["group_memberships"][0]["id"].as_i64().unwrap();
    let (s, _) = app.delete(&format!("/api/v2/group_memberships/{first}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get(&format!("/api/v2/users/{agent}/group_memberships.json")).await;
    assert_eq!(
        (v["group_memberships"][0]["group_id"].as_i64(), v["group_memberships"][0]["default"].as_bool()),
        (Some(g2), Some(true)),
        "{v}"
    );
    let (s, _) = app.delete(&format!("/api/v2/group_memberships/{}.json", v["group_memberships"][0]["id"])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // A restricted agent's memberships are out of staff's reach; a deleted agent leaves every group.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Riku Rajattu", "email": "riku@one.example", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let riku = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app.post("/api/v2/group_memberships.json", member(riku, g2)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let rikus = v["group_membership"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{riku}/restriction.json"),
            json!({"reason": "accuracy contested"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get(&format!("/api/v2/groups/{g2}/memberships.json")).await;
    assert_eq!((ids(&v), v["count"].as_i64()), (vec![], Some(0)), "{v}");
    let (s, _) = app.get(&format!("/api/v2/group_memberships/{rikus}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .post(
            &format!("/api/v2/privacy/subjects/{riku}/restriction/lift.json"),
            json!({"reason": "corrected"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.delete(&format!("/api/v2/users/{riku}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut c = app.helpdesk().db().read().await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM group_memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(app.t.tenant_id)
        .bind(riku)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 0, "a deleted agent is in no group");
    drop(c);

    // Erasing an agent takes their memberships (declared in the data map), and only theirs:
    // another agent's membership of the same group stays as it was.
    let (s, _) = app.post("/api/v2/group_memberships.json", member(agent, g2)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aatu Toinen", "email": "aatu.toinen@one.example", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let other_agent = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app.post("/api/v2/group_memberships.json", member(other_agent, g2)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let others = v["group_membership"].clone();
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{agent}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    let mut c = app.helpdesk().db().read().await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM group_memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(app.t.tenant_id)
        .bind(agent)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 0);
    drop(c);
    let (s, v) = app.get(&format!("/api/v2/group_memberships/{}.json", others["id"])).await;
    assert_eq!(
        (s, &v["group_membership"]),
        (StatusCode::OK, &others),
        "the other agent's membership is untouched"
    );
});

engine_test!(tickets_are_found_by_their_whole_external_id_only, |app| async move {
    let person = app.user("Kaisa Ulkoinen", "kaisa.ulkoinen@example.fi").await;
    let make = |external: Option<&str>, body: &str| {
        let mut t = json!({"ticket": {"requester_id": person, "subject": "External", "comment": {"body": body}}});
        if let Some(x) = external {
            t["ticket"]["external_id"] = json!(x);
        }
        t
    };
    let mut ids = Vec::new();
    for (external, body) in [
        (Some("CRM-1"), "the one"),
        (Some("crm-10"), "a longer id"),
        (None, "mentions crm-1 in words"),
        (Some("crm-1"), "goes to the trash"),
    ] {
        let (s, v) = app.post("/api/v2/tickets.json", make(external, body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["ticket"]["id"].as_i64().unwrap());
    }
    let (s, v) = app.delete(&format!("/api/v2/tickets/{}.json", ids[3])).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let other = app.second_tenant("external-elsewhere").await;
    let (s, v) = app
        .call_as(
            &other,
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "x", "external_id": "crm-1", "comment": {"body": "other tenant"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let found = |q: &'static str| {
        let app = &app;
        async move {
            let (s, v) = app.get(&format!("/api/v2/tickets.json?external_id={q}")).await;
            assert_eq!(s, StatusCode::OK, "{q}: {v}");
            v["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        found("crm-1").await,
        vec![ids[0]],
        "whole id, any case; not crm-10, words, the trash or another tenant"
    );
    assert_eq!(found("CRM-10").await, vec![ids[1]]);
    assert_eq!(found("crm").await, Vec::<i64>::new());
    // A changed external id is found by its new value only.
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{}.json", ids[0]), json!({"ticket": {"external_id": "CRM-2"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(found("crm-1").await, Vec::<i64>::new());
    assert_eq!(found("crm-2").await, vec![ids[0]]);

    for bad in ["", "%20", &"x".repeat(1025)] {
        let (s, v) = app.get(&format!("/api/v2/tickets.json?external_id={bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    let (_, end_user) = app.end_user_with_password("Kaisa Toinen", "kaisa.toinen@example.fi").await;
    let (s, _) = app.call_password(&end_user, Method::GET, "/api/v2/tickets.json?external_id=crm-2", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A ticket from before the index held external ids is found once the start has filled it in.
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    {
        let mut tx = app.helpdesk().db().begin().await.unwrap();
        suoja_search::index::remove(&mut tx, tenant, suoja_search::DocKind::Ticket, ids[1])
            .await
            .unwrap();
        sqlx::query("INSERT INTO ticket_external_id_backfill (tenant_id) VALUES ($1)")
            .bind(app.t.tenant_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(found("crm-10").await, Vec::<i64>::new());
    assert_eq!(
        app.helpdesk().backfill_external_id_index().await.unwrap(),
        3,
        "the tickets with an external id, the trash's too"
    );
    assert_eq!(found("crm-10").await, vec![ids[1]]);
    assert_eq!(app.helpdesk().backfill_external_id_index().await.unwrap(), 0, "once");
});

engine_test!(
    people_are_created_or_updated_changed_and_deleted_many_at_a_time_by_id_or_external_id,
    |app| async move {
        let anna = app.user("Anna Moni", "anna.moni@example.fi").await;
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": "Bertta Moni", "email": "bertta.moni@example.fi", "external_id": "ERP-7"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let bertta = v["user"]["id"].as_i64().unwrap();
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": "Celia Moni", "email": "celia.moni@example.fi", "external_id": "erp-70"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let celia = v["user"]["id"].as_i64().unwrap();
        let results = |v: &Value| v["job_status"]["results"].as_array().unwrap().clone();
        let personal = |v: &Value| {
            let text = v.to_string().to_lowercase();
            for word in ["moni", "erp-", "@example"] {
                assert!(!text.contains(word), "a job result holds ids only, not {word}: {v}");
            }
        };

        // Found by address, then by external id; a new one created; a bad one refused alone.
        let (s, v) = app
            .post(
                "/api/v2/users/create_or_update_many.json",
                json!({"users": [
                    {"name": "Daniel Moni", "email": "daniel.moni@example.fi"},
                    {"email": "ANNA.moni@example.fi", "notes": "found by address"},
                    {"external_id": "erp-7", "notes": "found by external id"},
                    {"name": "Eino Moni", "email": "eino.moni@example.fi"},
                ]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        personal(&v);
        let r = results(&v);
        assert_eq!((r[0]["status"].as_str(), r[0]["index"].as_i64()), (Some("Created"), Some(0)), "{v}");
        assert_eq!((r[1]["status"].as_str(), r[1]["id"].as_i64()), (Some("Updated"), Some(anna)), "{v}");
        assert_eq!((r[2]["status"].as_str(), r[2]["id"].as_i64()), (Some("Updated"), Some(bertta)), "{v}");
        assert_eq!(r[3]["status"].as_str(), Some("Created"), "{v}");
        // A malformed item refuses the whole request: nothing is created.
        let (s, v) = app
            .post(
                "/api/v2/users/create_or_update_many.json",
                json!({"users": [{"name": "Frida Moni", "email": "frida.moni@example.fi"}, {"name": "Gunnar Moni", "email": "not an address"}]}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (_, v) = app.get("/api/v2/users/search.json?query=frida.moni@example.fi").await;
        assert_eq!(v["users"], json!([]), "{v}");
        let notes = |id: i64| {
            let app = &app;
            async move { app.get(&format!("/api/v2/users/{id}.json")).await.1["user"]["notes"].clone() }
        };
        assert_eq!(notes(anna).await, "found by address");
        assert_eq!(notes(bertta).await, "found by external id");
        assert_eq!(notes(celia).await, Value::Null, "erp-70 is not erp-7");

        // The same change by external ids; one nobody has is a failed item, named by its place.
        let (s, v) = app
            .put(
                "/api/v2/users/update_many.json?external_ids=ERP-70,nobody-has-this",
                json!({"user": {"notes": "by external id"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        personal(&v);
        let r = results(&v);
        assert_eq!((r[0]["id"].as_i64(), r[0]["status"].as_str()), (Some(celia), Some("Updated")), "{v}");
        assert_eq!((r[1]["index"].as_i64(), r[1]["error"].as_str()), (Some(1), Some("RecordNotFound")), "{v}");
        assert_eq!(notes(celia).await, "by external id");
        assert_eq!(notes(bertta).await, "found by external id", "untouched");

        // Deleted many at a time, by external ids or ids; unknown ones fail alone.
        let (s, v) = app.delete("/api/v2/users/destroy_many.json?external_ids=erp-7").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (results(&v)[0]["id"].as_i64(), results(&v)[0]["status"].as_str()),
            (Some(bertta), Some("Deleted")),
            "{v}"
        );
        let (s, v) = app.delete(&format!("/api/v2/users/destroy_many.json?ids={anna},999999999,{anna}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let r = results(&v);
        assert_eq!(r.len(), 2, "each id once: {v}");
        assert_eq!(
            (r[0]["status"].as_str(), r[1]["error"].as_str()),
            (Some("Deleted"), Some("RecordNotFound")),
            "{v}"
        );
        for (id, gone) in [(anna, true), (bertta, true), (celia, false)] {
            let (_, v) = app.get(&format!("/api/v2/users/{id}.json")).await;
            assert_eq!(v["user"]["active"] == false, gone, "user {id}: {v}");
        }
        let (_, v) = app.get("/api/v2/deleted_users.json").await;
        let deleted: Vec<i64> = v["deleted_users"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()).collect();
        assert!(deleted.contains(&anna) && deleted.contains(&bertta) && !deleted.contains(&celia), "{v}");

        // Bad requests change nothing.
        let many = (1..=101).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        for path in [
            "/api/v2/users/destroy_many.json".to_string(),
            "/api/v2/users/destroy_many.json?ids=".to_string(),
            format!("/api/v2/users/destroy_many.json?ids={celia}&external_ids=erp-70"),
            "/api/v2/users/destroy_many.json?external_ids=erp-70,,x".to_string(),
            "/api/v2/users/destroy_many.json?external_ids=erp-70,ERP-70".to_string(),
            format!("/api/v2/users/destroy_many.json?ids={many}"),
            "/api/v2/users/destroy_many.json?ids=x".to_string(),
        ] {
            let (s, v) = app.delete(&path).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        }
        let (s, v) = app.post("/api/v2/users/create_or_update_many.json", json!({"users": []})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(app.get(&format!("/api/v2/users/{celia}.json")).await.0, StatusCode::OK);
        let (_, end_user) = app.end_user_with_password("Fanni Moni", "fanni.moni@example.fi").await;
        let (s, _) = app
            .call_password(&end_user, Method::DELETE, &format!("/api/v2/users/destroy_many.json?ids={celia}"), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
);

engine_test!(an_agents_default_group_is_changed_by_admins_only, |app| async move {
    let mut groups = Vec::new();
    for name in ["Oletus yksi", "Oletus kaksi"] {
        let (s, v) = app.post("/api/v2/groups.json", json!({"group": {"name": name}})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        groups.push(v["group"]["id"].as_i64().unwrap());
    }
    let mut agents = Vec::new();
    for (name, email) in [("Olli Oletus", "olli.oletus@one.example"), ("Outi Oletus", "outi.oletus@one.example")] {
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": name, "email": email, "role": "agent", "password": "correct horse battery"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        agents.push(v["user"]["id"].as_i64().unwrap());
    }
    let mut memberships = Vec::new();
    for (agent, group) in [(agents[0], groups[0]), (agents[0], groups[1]), (agents[1], groups[0])] {
        let (s, v) = app
            .post(
                "/api/v2/group_memberships.json",
                json!({"group_membership": {"user_id": agent, "group_id": group}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        memberships.push(v["group_membership"]["id"].as_i64().unwrap());
    }
    let defaults = |user: i64| {
        let app = &app;
        async move {
            let (s, v) = app.get(&format!("/api/v2/users/{user}/group_memberships.json")).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["group_memberships"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["id"].as_i64().unwrap(), m["default"].as_bool().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(defaults(agents[0]).await, vec![(memberships[0], true), (memberships[1], false)]);
    let path = |user: i64, m: i64| format!("/api/v2/users/{user}/group_memberships/{m}/make_default.json");
    let (s, v) = app.put(&path(agents[0], memberships[1]), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["group_memberships"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(defaults(agents[0]).await, vec![(memberships[0], false), (memberships[1], true)]);
    assert_eq!(defaults(agents[1]).await, vec![(memberships[2], true)], "another agent's default stays");
    // Someone else's membership, an unknown one, an unknown agent: not found, nothing changed.
    for (user, m) in [(agents[0], memberships[2]), (agents[0], 999_999), (999_999, memberships[0])] {
        let (s, v) = app.put(&path(user, m), json!({})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    }
    assert_eq!(defaults(agents[0]).await, vec![(memberships[0], false), (memberships[1], true)]);
    let agent = crate::harness::Tenant {
        email: "olli.oletus@one.example".into(),
        token: "correct horse battery".into(),
        admin_id: agents[0],
        tenant_id: app.t.tenant_id,
    };
    let (s, _) = app.call_password(&agent, Method::PUT, &path(agents[0], memberships[0]), Some(json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "admins change groups");
    assert_eq!(defaults(agents[0]).await, vec![(memberships[0], false), (memberships[1], true)]);
});

engine_test_clocked!(popular_tags_count_recent_tickets_most_used_first, |app, clock| async move {
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let tagged = |tags: Value| json!({"ticket": {"requester_id": ted, "subject": "Tagged", "tags": tags, "comment": {"body": "x"}}});
    let mut made = Vec::new();
    // An old ticket: 61 days later it is out of the window.
    let (s, v) = app.post("/api/v2/tickets.json", tagged(json!(["ancient", "billing"]))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    clock.advance_ms(61 * 24 * 3_600_000);
    for tags in [
        json!(["billing", "vip"]),
        json!(["billing"]),
        json!(["vip", "ted"]),
        json!(["billing", "trashed-only"]),
    ] {
        let (s, v) = app.post("/api/v2/tickets.json", tagged(tags)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        made.push(v["ticket"]["id"].as_i64().unwrap());
    }
    // A trashed ticket's tags are not counted.
    let (s, _) = app.delete(&format!("/api/v2/tickets/{}.json", made[3])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.get("/api/v2/tags.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["tags"],
        json!([{"name": "billing", "count": 2}, {"name": "vip", "count": 2}, {"name": "ted", "count": 1}]),
        "{v}"
    );
    assert_eq!(v["count"], 3);
    let (_, v) = app.get("/api/v2/tags/count.json").await;
    assert_eq!(v["count"]["value"], 3, "{v}");
    // Paged: two at a time, then the rest.
    let (_, v) = app.get("/api/v2/tags.json?per_page=2").await;
    assert_eq!(v["tags"].as_array().unwrap().len(), 2);
    let next = v["next_page"].as_str().unwrap().to_string();
    let (_, v) = app.get(&next).await;
    assert_eq!(v["tags"], json!([{"name": "ted", "count": 1}]), "{v}");
    assert_eq!(v["next_page"], Value::Null);
    let (_, v) = app.get("/api/v2/tags.json?page[size]=2").await;
    let after = v["links"]["next"].as_str().unwrap().to_string();
    let (_, v) = app.get(&after).await;
    assert_eq!(v["tags"], json!([{"name": "ted", "count": 1}]), "{v}");
    let back = v["links"]["prev"].as_str().unwrap().to_string();
    let (s, v) = app.get(&back).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tags"], json!([{"name": "billing", "count": 2}, {"name": "vip", "count": 2}]), "{v}");
    // End users are not shown the team's tags.
    let (_, asker) = app.end_user_with_password("Aino Virtanen", "aino@example.fi").await;
    let (s, _) = app.call_password(&asker, Method::GET, "/api/v2/tags.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
});
