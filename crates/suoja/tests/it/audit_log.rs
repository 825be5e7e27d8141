//! The admin audit log: staff changes to settings and privacy work, staff sign-ins and
//! downloads of privacy documents are recorded with route, object id and client address (sealed
//! in the ledger's chain); failed requests and end users' own requests are not; Zendesk's
//! filters and cursor pagination work; only admins read it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::engine_test_configured;
use crate::harness::TestApp;
use crate::web::{Browser, PASSWORD};

/// A request as the admin, from `ip` (the server trusts its loopback proxy).
async fn from(app: &TestApp, ip: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = app.req(method, path).header("x-forwarded-for", ip.to_string());
    if let Some(b) = body {
        r = r.json(&b);
    }
    crate::harness::send(r).await
}

async fn log(app: &TestApp, query: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v2/audit_logs.json{query}")).await
}

engine_test_configured!(
    the_audit_log_records_staff_changes_sign_ins_and_downloads,
    |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    },
    |app, _clock| async move {
        let (_, before) = log(&app, "").await;
        let known = before["audit_logs"].as_array().unwrap().len();

        // A change, a creation, a download, each from the office address.
        let (s, v) = from(
            &app,
            "203.0.113.5",
            Method::PUT,
            "/api/v2/privacy/retention/closed_tickets.json",
            Some(json!({"retention_policy": {"value": 400}})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = from(
            &app,
            "203.0.113.5",
            Method::POST,
            "/api/v2/webhooks.json",
            Some(json!({"webhook": {"name": "CRM", "endpoint": "https://127.0.0.1:9/hook", "subscriptions": ["ticket.created"]}})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, _) = from(&app, "203.0.113.5", Method::GET, "/api/v2/privacy/records_of_processing.json", None).await;
        assert_eq!(s, StatusCode::OK);
        // Not recorded: a refused change, ticket work, an end user's own request. (Creating the
        // end user is: staff changing people is audited.)
        let (s, _) = from(
            &app,
            "203.0.113.5",
            Method::PUT,
            "/api/v2/privacy/retention/closed_tickets.json",
            Some(json!({"retention_policy": {"value": -1}})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (person, login) = app.end_user_with_password("Eeva Esimerkki", "eeva@example.fi").await;
        let (s, _) = app
            .call_password(
                &login,
                Method::POST,
                "/api/v2/privacy/requests.json",
                Some(json!({"request": {"kind": "access"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let _ticket = app.ticket(person, "Lasku", "Laskussa on virhe").await;
        // A staff sign-in on the pages.
        let (s, _) = app
            .put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": PASSWORD}}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let mut b = Browser::new(&app);
        b.sign_in(&app.t.email, PASSWORD).await;
        let mut wrong = Browser::new(&app);
        wrong.sign_in(&app.t.email, "not the password").await;

        let (s, v) = log(&app, "").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let all = v["audit_logs"].as_array().unwrap();
        let new: Vec<&Value> = all.iter().take(all.len() - known).collect();
        let seen: Vec<(String, String, Option<String>)> = new
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_string(),
                    e["source_type"].as_str().unwrap().to_string(),
                    e["source_id"].as_str().map(str::to_string),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("login".to_string(), "signin".to_string(), None),
                ("update".to_string(), "users".to_string(), Some(app.t.admin_id.to_string())),
                ("create".to_string(), "users".to_string(), None),
                ("exported".to_string(), "privacy.records_of_processing".to_string(), None),
                ("create".to_string(), "webhooks".to_string(), None),
                ("update".to_string(), "privacy.retention".to_string(), Some("closed_tickets".to_string())),
            ],
            "{v}"
        );
        let retention = new.last().unwrap();
        assert_eq!(retention["ip_address"], "203.0.113.5");
        assert_eq!(retention["actor_id"], app.t.admin_id);
        assert_eq!(retention["change_description"], "PUT /api/v2/privacy/retention/{policy}");
        assert_eq!(new[0]["ip_address"], "127.0.0.1", "the sign-in came from the server's own address");

        // Filters and cursor pages.
        let (_, v) = log(&app, "?filter[action]=login").await;
        assert!(v["audit_logs"].as_array().unwrap().iter().all(|e| e["action"] == "login"), "{v}");
        assert_eq!(v["audit_logs"].as_array().unwrap().len(), 1);
        let (_, v) = log(&app, &format!("?filter[actor_id]={}", person)).await;
        assert_eq!(v["audit_logs"], json!([]), "an end user's own request is not in the admin audit log");
        let (_, v) = log(&app, "?filter[created_at][]=2000-01-01T00:00:00Z&filter[created_at][]=2000-01-02T00:00:00Z").await;
        assert_eq!(v["audit_logs"], json!([]));
        let (s, _) = log(&app, "?filter[action]=dance").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let mut paged = Vec::new();
        let mut next = Some(app.url("/api/v2/audit_logs.json?page[size]=2"));
        while let Some(url) = next {
            let (s, v) = app.get(&url).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            paged.extend(v["audit_logs"].as_array().unwrap().iter().map(|e| e["id"].clone()));
            next = v["links"]["next"].as_str().map(str::to_string);
        }
        assert_eq!(paged, all.iter().map(|e| e["id"].clone()).collect::<Vec<_>>());
        let (s, one) = app.get(&format!("/api/v2/audit_logs/{}.json", retention["id"])).await;
        assert_eq!((s, one["audit_log"]["source_id"].as_str()), (StatusCode::OK, Some("closed_tickets")));

        // Only admins read it; it is in the ledger's chain, the address sealed.
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": "Aatu", "email": "aatu@example.fi", "role": "agent"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let agent = crate::harness::Tenant {
            email: "aatu@example.fi".into(),
            ..app.t.clone()
        };
        let (s, _) = app.call_as(&agent, Method::GET, "/api/v2/audit_logs.json", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (_, l) = app.get("/api/v2/privacy/ledger/verify.json").await;
        assert!(l["ledger"]["broken"].is_null(), "{l}");
        let mut c = app.helpdesk().db().read().await.unwrap();
        let entries = suoja_store::ledger::page(&mut c, suoja_core::TenantId(app.t.tenant_id), 0, 10_000)
            .await
            .unwrap();
        assert!(entries.iter().all(|e| !e.details.contains("203.0.113")), "addresses are sealed");
    }
);

// The log exports as CSV with the same filters (and the export is itself audited); the admin
// page lists and filters it; the client addresses are kept only as long as the audit_addresses
// retention policy says: after it, old entries keep everything but their address, newer ones
// keep theirs, and the ledger's chain stays whole.
engine_test_configured!(
    the_audit_log_exports_as_csv_and_forgets_addresses_by_policy,
    |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    },
    |app, clock| async move {
        let policy = |value: i64| json!({"retention_policy": {"value": value, "enabled": true}});
        let (s, v) = from(
            &app,
            "203.0.113.5",
            Method::PUT,
            "/api/v2/privacy/retention/audit_addresses.json",
            Some(policy(2)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = from(
            &app,
            "198.51.100.7",
            Method::PUT,
            // An encoded path is logged with the object it acted on, decoded.
            "/api/v2/privacy/retention/closed_%74ickets.json",
            Some(policy(400)),
        )
        .await;
        assert_eq!(s, StatusCode::OK);

        // CSV: a header, one row per entry the filter selects, quoted where needed.
        let r = app
            .req(Method::GET, "/api/v2/audit_logs/export.json?filter[action]=update")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = r.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,created_at,actor_id,action,source_type,source_id,change_description,ip_address");
        let (_, json_updates) = log(&app, "?filter[action]=update").await;
        let updates = json_updates["audit_logs"].as_array().unwrap().len();
        assert_eq!(lines.len(), updates + 1, "{csv}");
        assert!(lines[1..].iter().all(|l| l.contains(",update,")), "{csv}");
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with(",update,privacy.retention,closed_tickets,PUT /api/v2/privacy/retention/{policy},198.51.100.7")),
            "{csv}"
        );
        assert!(lines.iter().any(|l| l.contains(",audit_addresses,") && l.ends_with(",203.0.113.5")), "{csv}");
        let (_, v) = log(&app, "?filter[action]=exported").await;
        assert_eq!(v["audit_logs"][0]["source_type"], "audit_logs.export", "{v}");
        let (s, _) = app.get("/api/v2/audit_logs/export.json?filter[action]=dance").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // The admin page: the same entries, filters, the download; not for agents.
        let (s, _) = app
            .put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": PASSWORD}}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let mut b = Browser::new(&app);
        b.sign_in(&app.t.email, PASSWORD).await;
        let page = b.get("/admin/audit?action=update").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("198.51.100.7") && page.body.contains("203.0.113.5"), "{}", page.body);
        assert!(!page.body.contains("signin</td>"), "filtered to updates");
        let bad = b.get("/admin/audit?actor=abc&from=yesterday").await;
        assert_eq!(bad.status, StatusCode::OK);
        assert!(bad.body.contains("role=\"alert\"") && bad.body.contains("aria-invalid=\"true\""));
        let refused = b.get("/admin/audit/export?action=update&actor=abc").await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER, "a bad filter exports nothing");
        assert!(refused.location().starts_with("/admin/audit?"), "{}", refused.location());
        let download = b.get("/admin/audit/export?action=update").await;
        assert_eq!(download.status, StatusCode::OK);
        let (_, now_updates) = log(&app, "?filter[action]=update").await;
        assert_eq!(
            download.body.lines().count(),
            now_updates["audit_logs"].as_array().unwrap().len() + 1,
            "{}",
            download.body
        );
        let (s, v) = app
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": "Aatu Agentti", "email": "aatu@example.fi", "role": "agent", "password": PASSWORD}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let mut a = Browser::new(&app);
        a.sign_in("aatu@example.fi", PASSWORD).await;
        assert_eq!(a.get("/admin/audit").await.status, StatusCode::FORBIDDEN);
        assert_eq!(a.get("/admin/audit/export").await.status, StatusCode::FORBIDDEN);

        // Three months on: the addresses of the first period are gone, the entries are not.
        clock.advance_ms(91 * 86_400_000);
        let (s, _) = from(
            &app,
            "192.0.2.44",
            Method::PUT,
            "/api/v2/privacy/retention/closed_tickets.json",
            Some(policy(500)),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let report = app.privacy().run_retention().await.unwrap();
        assert!(report.applied.iter().any(|(_, p, n)| *p == "audit_addresses" && *n >= 1), "{report:?}");
        let (_, v) = log(&app, "?filter[action]=update").await;
        let entries = v["audit_logs"].as_array().unwrap();
        assert_eq!(entries[0]["ip_address"], "192.0.2.44", "a recent address stays: {v}");
        let old: Vec<&Value> = entries.iter().skip(1).collect();
        assert!(old.len() >= 3, "{v}");
        assert!(old.iter().all(|e| e["ip_address"].is_null()), "old addresses are unreadable: {v}");
        assert!(
            old.iter().all(|e| e["change_description"].as_str().is_some_and(|r| r.starts_with("PUT "))),
            "the entries stay"
        );
        let (_, l) = app.get("/api/v2/privacy/ledger/verify.json").await;
        assert!(l["ledger"]["broken"].is_null(), "{l}");
    }
);

crate::engine_test!(business_rule_changes_are_in_the_audit_log, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/triggers.json",
            json!({"trigger": {"title": "Audited", "conditions": {"all": [{"field": "status", "operator": "is", "value": "open"}]}, "actions": [{"field": "priority", "value": "high"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let trigger = v["trigger"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "Audited", "filter": {"all": []}, "policy_metrics": [{"priority": "high", "metric": "first_reply_time", "target": 30}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = app.delete(&format!("/api/v2/triggers/{trigger}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Reading rules is not a change.
    let (s, _) = app.get("/api/v2/triggers.json").await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = log(&app, "").await;
    let seen: Vec<(String, String)> = v["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source_type"].as_str().is_some_and(|t| t.starts_with("triggers") || t.starts_with("slas")))
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["source_type"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("destroy".to_string(), "triggers".to_string()),
            ("create".to_string(), "slas.policies".to_string()),
            ("create".to_string(), "triggers".to_string()),
        ],
        "{v}"
    );
});
