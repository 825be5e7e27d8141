//! Tenant scope: for every endpoint that takes an id, another tenant's id answers 404 (not 403),
//! and searches, lists and exports of one tenant never show the other's records.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::api_flows::urlencode;
use crate::engine_test;

engine_test!(another_tenants_ids_are_invisible_everywhere, |app| async move {
    // Tenant one's records.
    let u = app.user("Tenant One Person", "person@one-tenant.fi").await;
    let t = app.ticket(u, "tenant-one-secret", "tenant-one-body-word").await;
    let (_, o) = app.post("/api/v2/organizations.json", json!({"organization": {"name": "One Org"}})).await;
    let org = o["organization"]["id"].as_i64().unwrap();
    let (_, g) = app.post("/api/v2/groups.json", json!({"group": {"name": "One Group"}})).await;
    let group = g["group"]["id"].as_i64().unwrap();
    let (_, up) = crate::harness::send(app.req(Method::POST, "/api/v2/uploads.json?filename=a.txt").body("file")).await;
    let token = up["upload"]["token"].as_str().unwrap().to_string();
    app.put(
        &format!("/api/v2/tickets/{t}.json"),
        json!({"ticket": {"comment": {"body": "with file", "uploads": [token]}}}),
    )
    .await;
    let (_, cm) = app.get(&format!("/api/v2/tickets/{t}/comments.json")).await;
    let att = cm["comments"][1]["attachments"][0]["id"].as_i64().unwrap();
    let (_, job) = app
        .post(
            "/api/v2/tickets/create_many.json",
            json!({"tickets": [{"requester_id": u, "comment": {"body": "b"}}]}),
        )
        .await;
    let job = job["job_status"]["id"].as_str().unwrap().to_string();
    let t_trash = app.ticket(u, "trash", "x").await;
    app.delete(&format!("/api/v2/tickets/{t_trash}.json")).await;
    let u_deleted = app.user("Deleted One", "deleted@one-tenant.fi").await;
    app.delete(&format!("/api/v2/users/{u_deleted}.json")).await;

    let two = app.second_tenant("two").await;
    let as_two = |m: Method, p: String, b: Option<serde_json::Value>| {
        let app = &app;
        let two = two.clone();
        async move { app.call_as(&two, m, &p, b).await }
    };
    let probes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v2/users/{u}.json"), None),
        (Method::PUT, format!("/api/v2/users/{u}.json"), Some(json!({"user": {"name": "hijack"}}))),
        (Method::DELETE, format!("/api/v2/users/{u}.json"), None),
        (Method::GET, format!("/api/v2/users/{u}/tickets/requested.json"), None),
        (Method::GET, format!("/api/v2/users/{u}/tickets/ccd.json"), None),
        (Method::GET, format!("/api/v2/users/{u}/tickets/assigned.json"), None),
        (Method::GET, format!("/api/v2/deleted_users/{u_deleted}.json"), None),
        (Method::GET, format!("/api/v2/tickets/{t}.json"), None),
        (Method::PUT, format!("/api/v2/tickets/{t}.json"), Some(json!({"ticket": {"status": "solved"}}))),
        (Method::DELETE, format!("/api/v2/tickets/{t}.json"), None),
        (Method::GET, format!("/api/v2/tickets/{t}/comments.json"), None),
        (Method::GET, format!("/api/v2/tickets/{t}/comments/count.json"), None),
        (Method::PUT, format!("/api/v2/deleted_tickets/{t_trash}/restore.json"), None),
        (Method::DELETE, format!("/api/v2/deleted_tickets/{t_trash}.json"), None),
        (Method::GET, format!("/api/v2/organizations/{org}.json"), None),
        (
            Method::PUT,
            format!("/api/v2/organizations/{org}.json"),
            Some(json!({"organization": {"name": "hijack"}})),
        ),
        (Method::DELETE, format!("/api/v2/organizations/{org}.json"), None),
        (Method::GET, format!("/api/v2/organizations/{org}/tickets.json"), None),
        (Method::GET, format!("/api/v2/groups/{group}.json"), None),
        (Method::PUT, format!("/api/v2/groups/{group}.json"), Some(json!({"group": {"name": "hijack"}}))),
        (Method::DELETE, format!("/api/v2/groups/{group}.json"), None),
        (Method::GET, format!("/api/v2/attachments/{att}.json"), None),
        (Method::GET, format!("/api/v2/attachments/{att}/content"), None),
        (Method::GET, format!("/api/v2/job_statuses/{job}.json"), None),
    ];
    for (m, p, b) in probes {
        let (s, v) = as_two(m.clone(), p.clone(), b).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {p}: {v}");
    }
    // Lists, search and exports.
    for p in [
        "/api/v2/tickets.json".to_string(),
        "/api/v2/deleted_tickets.json".to_string(),
        "/api/v2/deleted_users.json".to_string(),
        "/api/v2/organizations.json".to_string(),
        "/api/v2/groups.json".to_string(),
        format!("/api/v2/tickets/show_many.json?ids={t}"),
        format!("/api/v2/users/show_many.json?ids={u}"),
        format!("/api/v2/search.json?query={}", urlencode("tenant-one-body-word")),
        format!("/api/v2/search.json?query={}", urlencode("person@one-tenant.fi")),
        format!("/api/v2/users/search.json?query={}", urlencode("person@one-tenant.fi")),
        "/api/v2/organizations/search.json?name=One%20Org".to_string(),
        "/api/v2/incremental/tickets/cursor.json?start_time=0".to_string(),
        "/api/v2/incremental/users/cursor.json?start_time=0".to_string(),
    ] {
        let (s, v) = as_two(Method::GET, p.clone(), None).await;
        assert_eq!(s, StatusCode::OK, "{p}: {v}");
        let text = v.to_string();
        for leak in ["tenant-one", "one-tenant.fi", "One Org", "One Group", &format!("\"id\":{t},")] {
            assert!(!text.contains(leak), "{p} leaks {leak}: {text}");
        }
    }
    // Tenant one still sees everything intact.
    let (s, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["ticket"]["subject"], "tenant-one-secret");
    assert_eq!(v["ticket"]["status"], "new");
});

// Search counts and ranks one tenant's tickets only. A neighbour on the same installation with
// more than a ranking's worth of newer tickets holding the same word leaves this tenant's
// relevance order and count as they would be alone (the short ticket first, though older):
// each tenant's words are hashed under its own key, so the index holds no match of theirs.
engine_test!(a_large_neighbour_does_not_crowd_a_tenants_search, |app| async move {
    let person = app.user("Pieni Asiakas", "pieni@example.fi").await;
    let short = app.ticket(person, "Printer", "printer").await;
    let filler = "the order arrived on tuesday and the box had been opened somewhere on the way to us";
    let long = app.ticket(person, "Question", &format!("{filler} {filler} printer")).await;
    let big = app.second_tenant("naapuri").await;
    let scope = suoja_core::Scope {
        tenant: suoja_core::TenantId(big.tenant_id),
        actor: suoja_core::UserId(big.admin_id),
        role: suoja_core::Role::Admin,
        privacy_officer: false,
        token: None,
    };
    let theirs = (0..1_100)
        .map(|i| crate::harness::import_ticket(big.admin_id, &format!("Printer {i}"), "printer printer"))
        .collect();
    app.helpdesk().import_tickets(&scope, theirs).await.unwrap();
    let (s, v) = app.get("/api/v2/search.json?query=printer%20type:ticket").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 2, "{v}");
    let ids: Vec<i64> = v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![short, long], "ranked among this tenant's own tickets");
    let (s, v) = crate::harness::send(app.req_as(&big, Method::GET, "/api/v2/search.json?query=printer%20type:ticket")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 1000, "the neighbour's count stops where paging does: {v}");
});
