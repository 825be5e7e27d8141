//! SLA policies and business-hours schedules over the API, with a moved clock: a ticket's
//! targets counted across the evening, a weekend and a holiday in Helsinki time; calendar-hour
//! targets; the clocks pausing while the ticket waits for its requester; the default view of
//! tickets past a target; policies measured again when changed; bad input that saves nothing;
//! who may read and change them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::engine_test_clocked;
use crate::harness::TestApp;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn at(s: &str) -> String {
    suoja_core::Timestamp::parse(s).unwrap().to_iso()
}

async fn slas(app: &TestApp, ticket: i64) -> Value {
    let (s, v) = app.get(&format!("/api/v2/tickets/{ticket}.json?include=slas")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["ticket"]["slas"].clone()
}

fn metric<'a>(slas: &'a Value, name: &str) -> &'a Value {
    slas["policy_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == name)
        .unwrap_or_else(|| panic!("{name} in {slas}"))
}

async fn overdue(app: &TestApp) -> Vec<i64> {
    let (_, v) = app.get("/api/v2/views.json").await;
    let view = v["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["title"] == "Tickets past an SLA target")
        .unwrap()["id"]
        .clone();
    let (s, v) = app.get(&format!("/api/v2/views/{view}/tickets.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

engine_test_clocked!(targets_run_in_business_hours_pause_and_show_in_the_overdue_view, |app, clock| async move {
    // Monday 2 March 09:00 UTC → Friday 6 March 14:30 UTC (16:30 in Helsinki).
    clock.advance_ms(4 * 24 * HOUR + 5 * HOUR + 30 * MINUTE);
    let week: Vec<Value> = (1..=5).map(|d| json!({"start_time": d * 1440 + 540, "end_time": d * 1440 + 1020})).collect();
    let (s, v) = app
        .post(
            "/api/v2/business_hours/schedules.json",
            json!({"schedule": {"name": "Helsinki office", "time_zone": "Europe/Helsinki", "intervals": week}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let schedule = v["schedule"]["id"].as_i64().unwrap();
    assert_eq!(v["schedule"]["intervals"][0], json!({"start_time": 1980, "end_time": 2460}));
    let (s, v) = app
        .post(
            &format!("/api/v2/business_hours/schedules/{schedule}/holidays.json"),
            json!({"holiday": {"name": "Company day", "start_date": "2026-03-09", "end_date": "2026-03-09"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "VIP", "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "vip"}], "any": []},
                "policy_metrics": [
                    {"priority": "normal", "metric": "first_reply_time", "target": 60, "business_hours": true},
                    {"priority": "normal", "metric": "requester_wait_time", "target": 120, "business_hours": false},
                    {"priority": "urgent", "metric": "first_reply_time", "target": 10, "business_hours": false}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let policy = v["sla_policy"]["id"].as_i64().unwrap();

    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let vip = app.tagged_ticket(ted, "Lasku", &["vip"], "Laskussa on virhe").await;
    let plain = app.ticket(ted, "Toinen", "Ei kiirettä").await;

    let s1 = slas(&app, vip).await;
    assert_eq!(s1["policy"], json!({"id": policy, "title": "VIP"}), "{s1}");
    // Friday 16:30 → 17:00 is half an hour, Monday is a holiday, so the other half hour ends
    // Tuesday 09:30 in Helsinki (07:30 UTC).
    let frt = metric(&s1, "first_reply_time");
    assert_eq!(
        (frt["stage"].as_str(), frt["breach_at"].as_str()),
        (Some("active"), Some(at("2026-03-10T07:30:00Z").as_str())),
        "{s1}"
    );
    // Calendar hours: two hours from now.
    let rwt = metric(&s1, "requester_wait_time");
    assert_eq!(rwt["breach_at"].as_str(), Some(at("2026-03-06T16:30:00Z").as_str()), "{s1}");
    assert_eq!(s1["policy_metrics"].as_array().unwrap().len(), 2, "only the ticket's priority: {s1}");
    // The filter holds on tagged tickets only.
    assert_eq!(slas(&app, plain).await["policy"], Value::Null);
    assert_eq!(overdue(&app).await, Vec::<i64>::new());

    // 17:00 UTC: the requester has waited two and a half hours.
    clock.advance_ms(2 * HOUR + 30 * MINUTE);
    assert_eq!(overdue(&app).await, vec![vip]);

    // A public reply and pending: the first reply is met (half an hour of business time), the
    // wait stops, missed; no clock runs, so the ticket leaves the view.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{vip}.json"),
            json!({"ticket": {"status": "pending", "comment": {"body": "Korjaamme laskun", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let s2 = slas(&app, vip).await;
    let frt = metric(&s2, "first_reply_time");
    assert_eq!((frt["stage"].as_str(), frt["breached"].as_bool()), (Some("achieved"), Some(false)), "{s2}");
    let rwt = metric(&s2, "requester_wait_time");
    assert_eq!(
        (rwt["stage"].as_str(), rwt["breach_at"].clone(), rwt["breached"].as_bool()),
        (Some("paused"), Value::Null, Some(true)),
        "{s2}"
    );
    assert_eq!(overdue(&app).await, Vec::<i64>::new());

    // Urgent: its own, tighter target from creation (10 calendar minutes, long missed).
    let (s, _) = app
        .put(
            &format!("/api/v2/tickets/{vip}.json"),
            json!({"ticket": {"priority": "urgent", "status": "open"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let s3 = slas(&app, vip).await;
    assert_eq!(s3["policy_metrics"].as_array().unwrap().len(), 1, "{s3}");
    assert_eq!(metric(&s3, "first_reply_time")["stage"], "achieved");

    // Back to normal and open: the requester's wait runs again, already past its target.
    let (s, _) = app.put(&format!("/api/v2/tickets/{vip}.json"), json!({"ticket": {"priority": "normal"}})).await;
    assert_eq!(s, StatusCode::OK);
    let rwt = metric(&slas(&app, vip).await, "requester_wait_time").clone();
    assert_eq!((rwt["stage"].as_str(), rwt["breached"].as_bool()), (Some("active"), Some(true)), "{rwt}");
    assert_eq!(overdue(&app).await, vec![vip]);

    // The policy changed to gold tickets: measured again (in the background), the ticket is
    // no longer under a policy and leaves the view.
    let (s, v) = app
        .put(
            &format!("/api/v2/slas/policies/{policy}.json"),
            json!({"sla_policy": {"filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "gold"}]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut left = false;
    for _ in 0..100 {
        if overdue(&app).await.is_empty() {
            left = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(left, "the ticket stayed in the overdue view after its policy stopped applying");
    assert_eq!(slas(&app, vip).await["policy"], Value::Null);
});

engine_test_clocked!(bad_rules_and_schedules_save_nothing_and_only_admins_change_them, |app, _clock| async move {
    let (s, v) = app
        .post(
            "/api/v2/business_hours/schedules.json",
            json!({"schedule": {"name": "Office", "time_zone": "UTC", "intervals": [{"start_time": 1980, "end_time": 2460}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let schedule = v["schedule"]["id"].as_i64().unwrap();
    let base = json!({"title": "P", "filter": {"all": []}, "policy_metrics": [{"priority": "high", "metric": "first_reply_time", "target": 30}]});
    let (s, v) = app.post("/api/v2/slas/policies.json", json!({"sla_policy": base})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let policy = v["sla_policy"]["id"].as_i64().unwrap();

    let with = |k: &str, val: Value| {
        let mut b = base.clone();
        b[k] = val;
        json!({"sla_policy": b})
    };
    for (body, needle) in [
        (
            with("policy_metrics", json!([{"priority": "high", "metric": "first_reply_time", "target": 0}])),
            "1 to 525600",
        ),
        (
            with("policy_metrics", json!([{"priority": "high", "metric": "first_reply_time", "target": -10}])),
            "1 to 525600",
        ),
        (
            with("policy_metrics", json!([{"priority": "high", "metric": "reply_sometime", "target": 10}])),
            "unknown metric",
        ),
        (
            with("policy_metrics", json!([{"priority": "high", "metric": "first_reply_time", "target": "ten"}])),
            "policy_metrics",
        ),
        (
            with("filter", json!({"all": [{"field": "colour", "operator": "is", "value": "red"}]})),
            "unknown field",
        ),
        (
            with("filter", json!({"all": [{"field": "NEW", "operator": "greater_than", "value": "2"}]})),
            "counts hours",
        ),
        (with("title", json!("")), "Title"),
    ] {
        let (s, v) = app.post("/api/v2/slas/policies.json", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} {v}");
        assert!(v.to_string().contains(needle), "{needle}: {v}");
    }
    for (body, needle) in [
        (
            json!({"schedule": {"name": "X", "time_zone": "UTC", "intervals": [{"start_time": 0, "end_time": 600}, {"start_time": 300, "end_time": 900}]}}),
            "overlap",
        ),
        (
            json!({"schedule": {"name": "X", "time_zone": "Mars/Olympus", "intervals": [{"start_time": 0, "end_time": 600}]}}),
            "time_zone",
        ),
        (json!({"schedule": {"name": "X", "time_zone": "UTC", "intervals": []}}), "at least one interval"),
        (
            json!({"schedule": {"name": "X", "time_zone": "UTC", "intervals": [{"start_time": 600, "end_time": 600}]}}),
            "interval",
        ),
        (
            json!({"schedule": {"name": "X", "time_zone": "UTC", "intervals": [{"start_time": 0, "end_time": 20000}]}}),
            "interval",
        ),
        (json!({"schedule": {"name": "", "time_zone": "UTC", "intervals": []}}), "name"),
    ] {
        let (s, v) = app.post("/api/v2/business_hours/schedules.json", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} {v}");
        assert!(v.to_string().contains(needle), "{needle}: {v}");
    }
    for (body, needle) in [
        (
            json!({"holiday": {"name": "Back", "start_date": "2026-12-26", "end_date": "2026-12-24"}}),
            "end_date",
        ),
        (
            json!({"holiday": {"name": "Long", "start_date": "2026-01-01", "end_date": "2027-06-01"}}),
            "end_date",
        ),
        (
            json!({"holiday": {"name": "Bad", "start_date": "24.12.2026", "end_date": "2026-12-24"}}),
            "start_date",
        ),
    ] {
        let (s, v) = app
            .post(&format!("/api/v2/business_hours/schedules/{schedule}/holidays.json"), body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} {v}");
        assert!(v.to_string().contains(needle), "{needle}: {v}");
    }
    // A refused change leaves the policy as it was.
    let (s, _) = app
        .put(
            &format!("/api/v2/slas/policies/{policy}.json"),
            json!({"sla_policy": {"title": "Changed", "policy_metrics": [{"priority": "high", "metric": "first_reply_time", "target": 0}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, v) = app.get("/api/v2/slas/policies.json").await;
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["sla_policies"][0]["title"], "P");
    assert_eq!(v["sla_policies"][0]["policy_metrics"][0]["target"], 30);
    let (_, v) = app.get("/api/v2/business_hours/schedules.json").await;
    assert_eq!(v["schedules"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = app.get(&format!("/api/v2/business_hours/schedules/{schedule}/holidays.json")).await;
    assert_eq!(v["holidays"], json!([]));

    // An agent reads but does not change them; another tenant finds none of them.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aatu Agentti", "email": "aatu@example.fi", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.post("/api/v2/api_tokens.json", json!({"api_token": {"description": "agent"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = crate::harness::Tenant {
        email: "aatu@example.fi".into(),
        token: v["api_token"]["token"].as_str().unwrap().into(),
        admin_id: 0,
        tenant_id: app.t.tenant_id,
    };
    let (s, _) = app.call_as(&agent, Method::GET, &format!("/api/v2/slas/policies/{policy}.json"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call_as(
            &agent,
            Method::PUT,
            &format!("/api/v2/slas/policies/{policy}.json"),
            Some(json!({"sla_policy": {"title": "Mine"}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let other = app.second_tenant("two").await;
    let (s, _) = app.call_as(&other, Method::GET, &format!("/api/v2/slas/policies/{policy}.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call_as(&other, Method::GET, &format!("/api/v2/business_hours/schedules/{schedule}.json"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app
        .call_as(
            &other,
            Method::PUT,
            "/api/v2/slas/policies/reorder.json",
            Some(json!({"sla_policy_ids": [policy]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
});

engine_test_clocked!(a_reply_made_private_and_an_agent_s_own_request_move_the_clocks, |app, clock| async move {
    let (s, v) = app
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "All", "filter": {"all": [], "any": []},
                "policy_metrics": [{"priority": "normal", "metric": "first_reply_time", "target": 30}, {"priority": "normal", "metric": "next_reply_time", "target": 30}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let asked = app.ticket(ted, "Lasku", "Laskussa on virhe").await;
    clock.advance_ms(10 * MINUTE);
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{asked}.json"),
            json!({"ticket": {"comment": {"body": "Katsomme", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reply = v["audit"]["events"].as_array().unwrap().iter().find(|e| e["type"] == "Comment").unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(metric(&slas(&app, asked).await, "first_reply_time")["stage"], "achieved");
    clock.advance_ms(30 * MINUTE);
    assert_eq!(overdue(&app).await, Vec::<i64>::new());
    // Made private, the reply is no reply: the first reply is 40 minutes late, at once.
    let (s, v) = app.put(&format!("/api/v2/tickets/{asked}/comments/{reply}/make_private.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(metric(&slas(&app, asked).await, "first_reply_time")["stage"], "active");
    assert_eq!(overdue(&app).await, vec![asked]);

    // An agent opens a ticket in public for its requester: answered; the requester's answer
    // starts the next reply's clock.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": ted, "submitter_id": app.t.admin_id, "subject": "Soitto", "comment": {"body": "Soitit meille, tässä tiketti", "public": true, "author_id": app.t.admin_id}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let opened = v["ticket"]["id"].as_i64().unwrap();
    assert_eq!(metric(&slas(&app, opened).await, "first_reply_time")["stage"], "achieved");
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{opened}.json"),
            json!({"ticket": {"comment": {"body": "Kiitos", "public": true, "author_id": ted}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let nrt = metric(&slas(&app, opened).await, "next_reply_time").clone();
    assert_eq!(nrt["stage"], "active", "{nrt}");
    clock.advance_ms(31 * MINUTE);
    let mut late = overdue(&app).await;
    late.sort_unstable();
    assert_eq!(late, vec![asked, opened]);
});

engine_test_clocked!(imported_tickets_are_measured_once_they_are_in, |app, clock| async move {
    let (s, v) = app
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "All", "filter": {"all": [], "any": []},
                "policy_metrics": [{"priority": "normal", "metric": "first_reply_time", "target": 30}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let imported = app
        .helpdesk()
        .import_tickets(
            &app.admin_scope(),
            (0..3)
                .map(|i| crate::harness::import_ticket(ted, &format!("Tuotu {i}"), "Vanha pyyntö"))
                .collect(),
        )
        .await
        .unwrap();
    clock.advance_ms(31 * MINUTE);
    let mut want: Vec<i64> = imported.iter().map(|t| t.0).collect();
    want.sort_unstable();
    let mut got = Vec::new();
    for _ in 0..100 {
        got = overdue(&app).await;
        got.sort_unstable();
        if got == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got, want, "the imported tickets' first replies are overdue");
});

/// A ticket's metric events, as `include=metric_events` gives them: (metric, instance, type,
/// time) in order, and the events themselves.
async fn metric_events(app: &TestApp, ticket: i64) -> (Vec<(String, i64, String, String)>, Value) {
    let (s, v) = app.get(&format!("/api/v2/tickets/{ticket}.json?include=metric_events")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let by_metric = v["ticket"]["metric_events"].clone();
    let mut all: Vec<Value> = Vec::new();
    for m in [
        "agent_work_time",
        "pausable_update_time",
        "periodic_update_time",
        "reply_time",
        "requester_wait_time",
        "resolution_time",
    ] {
        all.extend(by_metric[m].as_array().unwrap_or_else(|| panic!("{m} in {by_metric}")).iter().cloned());
    }
    let mut short: Vec<(String, i64, String, String)> = all
        .iter()
        .map(|e| {
            assert_eq!(e["ticket_id"], ticket, "{e}");
            (
                e["metric"].as_str().unwrap().to_string(),
                e["instance_id"].as_i64().unwrap(),
                e["type"].as_str().unwrap().to_string(),
                e["time"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    short.sort_by(|a, b| (a.3.as_str(), a.0.as_str()).cmp(&(b.3.as_str(), b.0.as_str())));
    (short, by_metric)
}

fn has(events: &[(String, i64, String, String)], metric: &str, instance: i64, kind: &str, time: &str) -> bool {
    events.iter().any(|e| e.0 == metric && e.1 == instance && e.2 == kind && e.3 == at(time))
}

engine_test_clocked!(metric_events_record_each_clock_and_export_by_time, |app, clock| async move {
    // Monday 2 March 09:00 UTC. First reply in 30 min, next replies in 60, calendar hours.
    let (s, v) = app
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "Tuki", "description": "Perustaso", "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "sla"}], "any": []},
                "policy_metrics": [
                    {"priority": "normal", "metric": "first_reply_time", "target": 30, "business_hours": false},
                    {"priority": "normal", "metric": "next_reply_time", "target": 60, "business_hours": false}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let policy = v["sla_policy"]["id"].as_i64().unwrap();
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let a = app.tagged_ticket(ted, "Lasku", &["sla"], "Laskussa on virhe").await;
    // Another ticket of the same person, outside the policy: its events never change with A's.
    let b = app.ticket(ted, "Toinen", "Ei kiirettä").await;
    let (b_events, b_raw) = metric_events(&app, b).await;
    assert!(has(&b_events, "reply_time", 1, "activate", "2026-03-02T09:00:00Z"), "{b_events:?}");
    assert!(
        b_events.iter().all(|e| e.2 != "apply_sla" && e.2 != "breach"),
        "no policy applies: {b_events:?}"
    );

    // A: the first reply target applies, and its breach is recorded ahead.
    let (events, raw) = metric_events(&app, a).await;
    for m in ["agent_work_time", "requester_wait_time", "resolution_time", "reply_time"] {
        assert!(has(&events, m, 1, "activate", "2026-03-02T09:00:00Z"), "{m}: {events:?}");
    }
    let apply = raw["reply_time"].as_array().unwrap().iter().find(|e| e["type"] == "apply_sla").unwrap().clone();
    assert_eq!(
        apply["sla"],
        json!({"target": 30, "business_hours": false, "policy": {"id": policy, "title": "Tuki", "description": "Perustaso"}})
    );
    let breach = raw["reply_time"].as_array().unwrap().iter().find(|e| e["type"] == "breach").unwrap().clone();
    assert_eq!(
        (breach["time"].as_str(), &breach["deleted"]),
        (Some(at("2026-03-02T09:30:00Z").as_str()), &json!(false))
    );

    // 10:00: an agent replies in public and sets pending (the first reply was missed).
    clock.advance_ms(HOUR);
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{a}.json"),
            json!({"ticket": {"status": "pending", "comment": {"body": "Korjaamme laskun", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // 11:00: the requester answers (open again); 11:30 the agent replies and solves it.
    clock.advance_ms(HOUR);
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{a}.json"),
            json!({"ticket": {"status": "open", "comment": {"body": "Vieläkin väärin", "public": true, "author_id": ted}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, raw) = metric_events(&app, a).await;
    let ahead = raw["reply_time"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "breach" && e["instance_id"] == 2)
        .unwrap()
        .clone();
    assert_eq!(ahead["time"].as_str(), Some(at("2026-03-02T12:00:00Z").as_str()), "{raw}");
    clock.advance_ms(30 * MINUTE);
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{a}.json"),
            json!({"ticket": {"status": "solved", "comment": {"body": "Nyt se on oikein", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (events, raw) = metric_events(&app, a).await;
    let want = [
        ("reply_time", 1, "breach", "2026-03-02T09:30:00Z"),
        ("reply_time", 1, "fulfill", "2026-03-02T10:00:00Z"),
        ("agent_work_time", 1, "pause", "2026-03-02T10:00:00Z"),
        ("requester_wait_time", 1, "pause", "2026-03-02T10:00:00Z"),
        ("periodic_update_time", 1, "activate", "2026-03-02T10:00:00Z"),
        ("pausable_update_time", 1, "pause", "2026-03-02T10:00:00Z"),
        ("agent_work_time", 1, "activate", "2026-03-02T11:00:00Z"),
        ("reply_time", 2, "activate", "2026-03-02T11:00:00Z"),
        ("reply_time", 2, "apply_sla", "2026-03-02T11:00:00Z"),
        ("reply_time", 2, "fulfill", "2026-03-02T11:30:00Z"),
        ("resolution_time", 1, "fulfill", "2026-03-02T11:30:00Z"),
    ];
    for (m, i, k, t) in want {
        assert!(has(&events, m, i, k, t), "{m} {i} {k} {t}: {events:?}");
    }
    let status = |m: &str, i: i64| {
        raw[m]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "update_status" && e["instance_id"] == i)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("reply_time", 1), json!({"calendar": 60, "business": 60}));
    assert_eq!(status("reply_time", 2), json!({"calendar": 30, "business": 30}));
    assert_eq!(status("requester_wait_time", 1), json!({"calendar": 90, "business": 90}), "not while pending");
    // The second reply came in time: the breach recorded ahead is called off, the first stays.
    let breaches: Vec<(i64, bool)> = raw["reply_time"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "breach")
        .map(|e| (e["instance_id"].as_i64().unwrap(), e["deleted"].as_bool().unwrap()))
        .collect();
    assert_eq!(breaches, vec![(1, false), (2, true)]);
    // Nothing was recorded twice.
    let unique: std::collections::BTreeSet<_> = events.iter().collect();
    assert_eq!(unique.len(), events.len(), "{events:?}");
    // The other ticket's events are as they were.
    let (b_after, b_raw_after) = metric_events(&app, b).await;
    assert_eq!((&b_after, &b_raw_after), (&b_events, &b_raw));

    // The export, a day later: everything that happened since 09:00, oldest first, by pages of
    // five continuing where the last ended.
    clock.advance_ms(24 * HOUR);
    let start = suoja_core::Timestamp::parse("2026-03-02T09:00:00Z").unwrap().as_secs();
    let mut exported: Vec<Value> = Vec::new();
    let mut url = format!("/api/v2/incremental/ticket_metric_events.json?start_time={start}&per_page=5");
    for _ in 0..40 {
        let (s, v) = app.get(&url).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        exported.extend(v["ticket_metric_events"].as_array().unwrap().iter().cloned());
        if v["end_of_stream"] == true {
            break;
        }
        url = v["next_page"]
            .as_str()
            .unwrap()
            .split_once("/api/v2")
            .map(|(_, p)| format!("/api/v2{p}"))
            .unwrap();
    }
    let times: Vec<&str> = exported.iter().map(|e| e["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");
    let mut ids: Vec<i64> = exported.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), exported.len(), "no event twice");
    let of_a = exported.iter().filter(|e| e["ticket_id"] == a).count();
    let of_b = exported.iter().filter(|e| e["ticket_id"] == b).count();
    assert_eq!((of_a, of_b), (events.len(), b_events.len()), "every event of both tickets");
    assert!(
        exported.iter().any(|e| e["type"] == "breach" && e["deleted"] == true && e["ticket_id"] == a),
        "the called-off breach shows once its time passed"
    );
    // From a later start only the later events.
    let later = suoja_core::Timestamp::parse("2026-03-02T11:00:00Z").unwrap().as_secs();
    let (_, v) = app.get(&format!("/api/v2/incremental/ticket_metric_events.json?start_time={later}")).await;
    let list = v["ticket_metric_events"].as_array().unwrap();
    assert!(
        !list.is_empty() && list.iter().all(|e| e["time"].as_str().unwrap() >= at("2026-03-02T11:00:00Z").as_str()),
        "{v}"
    );

    // Agents do not export; a missing start_time is a clear 400.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aatu Agentti", "email": "aatu@example.fi", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.post("/api/v2/api_tokens.json", json!({"api_token": {"description": "agent"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = crate::harness::Tenant {
        email: "aatu@example.fi".into(),
        token: v["api_token"]["token"].as_str().unwrap().into(),
        admin_id: 0,
        tenant_id: app.t.tenant_id,
    };
    let (s, _) = app
        .call_as(
            &agent,
            Method::GET,
            &format!("/api/v2/incremental/ticket_metric_events.json?start_time={start}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.get("/api/v2/incremental/ticket_metric_events.json").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Deleted for good, a ticket takes its events with it.
    let (s, _) = app.call(Method::DELETE, &format!("/api/v2/tickets/{a}.json"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.call(Method::DELETE, &format!("/api/v2/deleted_tickets/{a}.json"), None).await;
    assert!(s.is_success(), "{s} {v}");
    let (_, v) = app.get(&format!("/api/v2/incremental/ticket_metric_events.json?start_time={start}")).await;
    let left: Vec<&Value> = v["ticket_metric_events"].as_array().unwrap().iter().filter(|e| e["ticket_id"] == a).collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(v["count"].as_u64(), Some(u64::try_from(b_events.len()).unwrap()), "{v}");
});

engine_test_clocked!(metric_events_are_a_log_that_past_changes_do_not_rewrite, |app, clock| async move {
    // First reply in 30 min, next replies in 60, for tickets tagged "sla".
    let (s, v) = app
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "Tuki", "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "sla"}], "any": []},
                "policy_metrics": [
                    {"priority": "normal", "metric": "first_reply_time", "target": 30, "business_hours": false},
                    {"priority": "normal", "metric": "next_reply_time", "target": 60, "business_hours": false}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let policy = v["sla_policy"]["id"].as_i64().unwrap();
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let a = app.tagged_ticket(ted, "Lasku", &["sla"], "Laskussa on virhe").await;
    let breaches = |raw: &Value| -> Vec<(i64, String, bool)> {
        raw["reply_time"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "breach")
            .map(|e| {
                (
                    e["instance_id"].as_i64().unwrap(),
                    e["time"].as_str().unwrap().to_string(),
                    e["deleted"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let first_breach = at("2026-03-02T09:30:00Z");

    // 09:10: the tag goes, the policy no longer applies: the breach to come is called off. At
    // 09:15 it is back: the same breach is to come again, a row of its own.
    clock.advance_ms(10 * MINUTE);
    let (s, v) = app.put(&format!("/api/v2/tickets/{a}.json"), json!({"ticket": {"tags": []}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, raw) = metric_events(&app, a).await;
    assert_eq!(breaches(&raw), vec![(1, first_breach.clone(), true)], "{raw}");
    clock.advance_ms(5 * MINUTE);
    let (s, v) = app.put(&format!("/api/v2/tickets/{a}.json"), json!({"ticket": {"tags": ["sla"]}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, raw) = metric_events(&app, a).await;
    assert_eq!(breaches(&raw), vec![(1, first_breach.clone(), true), (1, first_breach.clone(), false)], "{raw}");
    let applied: Vec<&Value> = raw["reply_time"].as_array().unwrap().iter().filter(|e| e["type"] == "apply_sla").collect();
    assert_eq!(applied.len(), 1, "the target did not change: {raw}");

    // 10:00: an agent replies (late); 10:10 the reply is made private. The log keeps what was
    // recorded: no second fulfilment of the first turn, no event rewritten.
    clock.advance_ms(45 * MINUTE);
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{a}.json"),
            json!({"ticket": {"comment": {"body": "Katsomme asiaa", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (before, _) = metric_events(&app, a).await;
    let (_, v) = app.get(&format!("/api/v2/tickets/{a}/comments.json")).await;
    let reply = v["comments"].as_array().unwrap().last().unwrap()["id"].as_i64().unwrap();
    clock.advance_ms(10 * MINUTE);
    let (s, v) = app.put(&format!("/api/v2/tickets/{a}/comments/{reply}/make_private.json"), json!({})).await;
    assert!(s.is_success(), "{s} {v}");
    let (after, raw) = metric_events(&app, a).await;
    for e in &before {
        assert!(after.contains(e), "{e:?} was rewritten: {after:?}");
    }
    let fulfils = after.iter().filter(|e| e.0 == "reply_time" && e.1 == 1 && e.2 == "fulfill").count();
    assert_eq!(fulfils, 1, "{after:?}");
    // Every row once, the called-off breach and the same breach to come again being two.
    let standing: Vec<(&str, i64, &str, &str)> = raw
        .as_object()
        .unwrap()
        .values()
        .flat_map(|list| list.as_array().unwrap().iter())
        .filter(|e| e["deleted"] != true)
        .map(|e| {
            (
                e["metric"].as_str().unwrap(),
                e["instance_id"].as_i64().unwrap(),
                e["type"].as_str().unwrap(),
                e["time"].as_str().unwrap(),
            )
        })
        .collect();
    let unique: std::collections::BTreeSet<_> = standing.iter().collect();
    assert_eq!((unique.len(), standing.len() + 1), (standing.len(), after.len()), "{after:?}");
    // The clocks now read the first reply as still awaited; the breach they show is in the log.
    let frt = metric(&slas(&app, a).await, "first_reply_time").clone();
    assert_eq!(
        (frt["stage"].as_str(), frt["breach_at"].as_str()),
        (Some("active"), Some(first_breach.as_str())),
        "{frt}"
    );
    assert!(breaches(&raw).contains(&(1, first_breach.clone(), false)), "{raw}");

    // 10:20: an agent answers in public; 10:30 the requester writes back, which starts the
    // next turn: its breach at 11:30 is to come.
    clock.advance_ms(10 * MINUTE);
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{a}.json"),
            json!({"ticket": {"comment": {"body": "Kiitos", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    clock.advance_ms(10 * MINUTE);
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{a}.json"),
            json!({"ticket": {"comment": {"body": "Vieläkin väärin", "public": true, "author_id": ted}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let nrt = metric(&slas(&app, a).await, "next_reply_time").clone();
    let (_, raw) = metric_events(&app, a).await;
    let to_come: Vec<(i64, String, bool)> = breaches(&raw)
        .into_iter()
        .filter(|b| b.1.as_str() > at("2026-03-02T10:30:00Z").as_str())
        .collect();
    assert_eq!(to_come.len(), 1, "{raw}");
    assert_eq!(
        Some(to_come[0].1.as_str()),
        nrt["breach_at"].as_str(),
        "the events and the clocks agree: {nrt} {raw}"
    );
    assert!(!to_come[0].2);

    // 10:50: the next-reply target drops to 5 minutes, so the running turn was missed at 10:35;
    // then it is raised back to 60 (missed at 11:30, to come). Each time the policy is measured
    // again in the background, and the running turn keeps one standing breach, the one the
    // clocks show: a breach moved into the past is recorded, the one before it called off.
    clock.advance_ms(20 * MINUTE);
    let mut to_come = Vec::new();
    for (target, due) in [(5, "2026-03-02T10:35:00Z"), (60, "2026-03-02T11:30:00Z")] {
        let (s, v) = app
            .put(
                &format!("/api/v2/slas/policies/{policy}.json"),
                json!({"sla_policy": {"policy_metrics": [
                    {"priority": "normal", "metric": "first_reply_time", "target": 30, "business_hours": false},
                    {"priority": "normal", "metric": "next_reply_time", "target": target, "business_hours": false}]}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let due = at(due);
        let mut standing = Vec::new();
        for _ in 0..100 {
            let (_, raw) = metric_events(&app, a).await;
            standing = breaches(&raw).into_iter().filter(|b| b.0 == 2 && !b.2).collect();
            if standing == vec![(2, due.clone(), false)] {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            standing,
            vec![(2, due.clone(), false)],
            "target {target}: one standing breach for the running turn"
        );
        let nrt = metric(&slas(&app, a).await, "next_reply_time").clone();
        assert_eq!(nrt["breach_at"].as_str(), Some(due.as_str()), "{nrt}");
        let (_, raw) = metric_events(&app, a).await;
        let last = raw["reply_time"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|e| e["type"] == "apply_sla")
            .unwrap()
            .clone();
        assert_eq!(last["sla"]["target"], target, "the new target applied: {raw}");
        to_come = standing;
    }
    // A second ticket with a breach to come goes to the trash; the policy is removed.
    let b = app.tagged_ticket(ted, "Toinen", &["sla"], "Vielä yksi").await;
    let (_, raw) = metric_events(&app, b).await;
    assert_eq!(breaches(&raw).iter().filter(|x| !x.2).count(), 1, "{raw}");
    let (s, _) = app.call(Method::DELETE, &format!("/api/v2/tickets/{b}.json"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // The policy is removed: measured again in the background, the breach to come is called off.
    let (s, _) = app.call(Method::DELETE, &format!("/api/v2/slas/policies/{policy}.json"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let mut called_off = false;
    for _ in 0..100 {
        let (_, raw) = metric_events(&app, a).await;
        if breaches(&raw).iter().any(|b| b.1 == to_come[0].1 && b.2) {
            called_off = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(called_off, "the breach of a removed policy stayed to come");
    // The ticket in the trash comes back: its breach to come is called off too.
    let (s, v) = app.put(&format!("/api/v2/deleted_tickets/{b}/restore.json"), json!({})).await;
    assert!(s.is_success(), "{s} {v}");
    let (_, raw) = metric_events(&app, b).await;
    assert!(breaches(&raw).iter().all(|x| x.2), "{raw}");
});

// A node keeps a tenant's SLA policies and webhooks between requests, by the version of each
// read in the request's own transaction: what an admin adds, changes (even within the same
// millisecond) or removes through another node applies to the next ticket, on every node. What
// node b used shows in what it stored: the breach times the overdue view lists.
engine_test_clocked!(policies_and_webhooks_changed_on_one_node_apply_at_once_on_another, |app, clock| async move {
    let (b, b_base) = app.second_node("help-b", std::sync::Arc::new(clock.clone())).await;
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let on_b = |tag: &str| {
        let body = json!({"ticket": {"subject": "Lasku", "comment": {"body": "Laskussa on virhe"}, "requester_id": ted, "tags": [tag]}});
        app.req(Method::POST, &format!("{b_base}/api/v2/tickets.json")).json(&body)
    };
    let create_on_b = |tag: &'static str| async move {
        let (s, v) = crate::harness::send(on_b(tag)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["ticket"]["id"].as_i64().unwrap()
    };
    // Node b reads (and keeps) the tenant's rules: no policy, no webhook yet.
    let before = create_on_b("vip").await;

    // Through node a: a webhook for new tickets and a policy for VIP tickets.
    let (endpoint, got) = crate::harness::recipient().await;
    let (s, v) = app
        .post(
            "/api/v2/webhooks.json",
            json!({"webhook": {"name": "CRM", "endpoint": endpoint, "subscriptions": ["ticket.created"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "VIP", "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "vip"}], "any": []},
                "policy_metrics": [{"priority": "normal", "metric": "first_reply_time", "target": 60, "business_hours": false}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let policy = v["sla_policy"]["id"].as_i64().unwrap();

    // Node b's next VIP ticket is measured by the policy and announced to the webhook.
    let measured = create_on_b("vip").await;
    crate::harness::wait_for(&got, |v| v["type"] == "ticket.created" && v["ticket"]["id"] == measured).await;

    // The policy changed through node a in the same millisecond (the clock stands still): it
    // now applies to gold tickets only.
    let (s, v) = app
        .put(
            &format!("/api/v2/slas/policies/{policy}.json"),
            json!({"sla_policy": {"filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "gold"}], "any": []}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The tickets there are measured again by the changed policy (done here, not left to the
    // background): the measured VIP ticket has no target any more.
    app.helpdesk().remeasure(app.admin_scope().tenant).await.unwrap();
    let vip_after_change = create_on_b("vip").await;
    let gold = create_on_b("gold").await;

    // An hour and a half later, the only ticket past its first reply target is the gold one:
    // node b measured its new tickets by the policy as it stood when each was created.
    clock.advance_ms(90 * MINUTE);
    assert_eq!(
        overdue(&app).await,
        vec![gold],
        "before {before}, measured {measured}, VIP after the change {vip_after_change}"
    );

    // The policy removed through node a: node b's next gold ticket is never late.
    let (s, _) = app.delete(&format!("/api/v2/slas/policies/{policy}.json")).await;
    assert!(s.is_success(), "{s}");
    let after_removal = create_on_b("gold").await;
    clock.advance_ms(90 * MINUTE);
    assert!(!overdue(&app).await.contains(&after_removal));
    assert_eq!(slas(&app, after_removal).await["policy"], Value::Null);
    b.stop().await.unwrap();
});
