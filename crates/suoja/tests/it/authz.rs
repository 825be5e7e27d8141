//! The authorization matrix: every route the server has (the API table and the web pages, from
//! `suoja_http::every_route`) tried by seven callers, compared with the table in
//! `docs/SECURITY.md`. A route without a row there, a row without a route, or an answer other than
//! the table's fails the test, which then prints what it saw.
//!
//! Each caller gets a server of its own with the same world in it (so what one caller deletes is
//! still there for the next) and tries reads first, then writes, then deletions and erasures, then
//! signing out. The ids in a path are those of the signed-in end user's own things where end users
//! can have such things (their ticket, its comment and files, their profile, organisation,
//! privacy request and export) and someone else's otherwise.

use std::collections::{BTreeMap, HashMap};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Engine, Tenant, TestApp, pg_url, send};
use crate::web::{Browser, PASSWORD};

fn in_30_days() -> String {
    suoja_core::Timestamp(suoja_core::Clock::now(&suoja_core::clock::SystemClock).0 + 30 * 86_400_000).to_iso()
}

fn in_30_days_ago() -> String {
    suoja_core::Timestamp(suoja_core::Clock::now(&suoja_core::clock::SystemClock).0 - 30 * 86_400_000).to_iso()
}

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    EndUser,
    OtherEndUser,
    Agent,
    Officer,
    Admin,
    OtherAdmin,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::EndUser,
    Caller::OtherEndUser,
    Caller::Agent,
    Caller::Officer,
    Caller::Admin,
    Caller::OtherAdmin,
];

/// The matrix as `docs/SECURITY.md` writes it: (method, path) → one answer per caller.
fn expected() -> BTreeMap<(String, String), Vec<String>> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SECURITY.md")).expect("docs/SECURITY.md");
    let table = doc
        .split("<!-- matrix:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- matrix:end -->").next())
        .expect("the matrix between its markers");
    let mut out = BTreeMap::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<String> = line.trim_matches('|').split('|').map(|c| c.trim().trim_matches('`').to_string()).collect();
        assert_eq!(cells.len(), 2 + CALLERS.len(), "a row of the matrix: {line}");
        let previous = out.insert((cells[0].to_lowercase(), cells[1].clone()), cells[2..].to_vec());
        assert!(previous.is_none(), "a row given twice: {line}");
    }
    out
}

/// What an answer means for the matrix.
fn outcome(status: StatusCode, location: &str, path: &str) -> String {
    match status.as_u16() {
        401 => "401".into(),
        403 => "403".into(),
        404 => "404".into(),
        300..=399 if location.starts_with("/signin") && !path.starts_with("/signin") => "sign-in".into(),
        s @ 500..=599 => format!("{s}!"),
        405 => "405!".into(),
        _ => "ok".into(),
    }
}

/// The world each caller's server holds; ids by name.
pub(crate) struct World {
    pub(crate) ids: HashMap<&'static str, String>,
    /// The callers' API credentials (`email/token`) and passwords for the web.
    end_user: Tenant,
    agent: Tenant,
    officer: Tenant,
    admin: Tenant,
    other_end_user: Tenant,
    other_admin: Tenant,
}

async fn created(app: &TestApp, who: &Tenant, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = app.call_as(who, Method::POST, path, Some(body)).await;
    assert!(s.is_success(), "{path}: {s} {v}");
    v[key].clone()
}

fn id(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) async fn world(app: &TestApp) -> World {
    let admin = app.t.clone();
    let (s, v) = app
        .put(&format!("/api/v2/users/{}.json", admin.admin_id), json!({"user": {"password": PASSWORD}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let as_token = |email: &str| Tenant {
        email: email.to_string(),
        token: admin.token.clone(),
        admin_id: 0,
        tenant_id: admin.tenant_id,
    };
    let mut ids: HashMap<&'static str, String> = HashMap::new();
    let org = created(
        app,
        &admin,
        "/api/v2/organizations.json",
        json!({"organization": {"name": "Matriisi Oy"}}),
        "organization",
    )
    .await;
    ids.insert("org", id(&org["id"]));
    let group = created(app, &admin, "/api/v2/groups.json", json!({"group": {"name": "Matriisi"}}), "group").await;
    ids.insert("group", id(&group["id"]));
    let field = created(
        app,
        &admin,
        "/api/v2/ticket_fields.json",
        json!({"ticket_field": {"type": "text", "title": "Matriisi"}}),
        "ticket_field",
    )
    .await;
    ids.insert("ticket_field", id(&field["id"]));
    let field = created(
        app,
        &admin,
        "/api/v2/ticket_fields.json",
        json!({"ticket_field": {"type": "text", "title": "Poistuva"}}),
        "ticket_field",
    )
    .await;
    ids.insert("ticket_field_doomed", id(&field["id"]));
    let form = created(
        app,
        &admin,
        "/api/v2/ticket_forms.json",
        json!({"ticket_form": {"name": "Matriisi"}}),
        "ticket_form",
    )
    .await;
    ids.insert("ticket_form_default", id(&form["id"]));
    let form = created(
        app,
        &admin,
        "/api/v2/ticket_forms.json",
        json!({"ticket_form": {"name": "Matriisi 2"}}),
        "ticket_form",
    )
    .await;
    ids.insert("ticket_form", id(&form["id"]));
    // Shared views and a macro (admins write them; agents read them and apply the macro).
    for key in ["view", "view_web"] {
        let v = created(
            app,
            &admin,
            "/api/v2/views.json",
            json!({"view": {"title": format!("Matriisi {key}"), "all": [{"field": "status", "operator": "less_than", "value": "solved"}]}}),
            "view",
        )
        .await;
        ids.insert(key, id(&v["id"]));
    }
    let m = created(
        app,
        &admin,
        "/api/v2/macros.json",
        json!({"macro": {"title": "Matriisi", "actions": [{"field": "current_tags", "value": "matrix"}]}}),
        "macro",
    )
    .await;
    ids.insert("macro", id(&m["id"]));
    let a = created(
        app,
        &admin,
        "/api/v2/automations.json",
        json!({"automation": {"title": "Matriisi", "all": [{"field": "status", "operator": "is", "value": "pending"}, {"field": "updated_at", "operator": "greater_than", "value": "240"}], "actions": [{"field": "status", "value": "solved"}]}}),
        "automation",
    )
    .await;
    ids.insert("automation", id(&a["id"]));
    let tr = created(
        app,
        &admin,
        "/api/v2/triggers.json",
        json!({"trigger": {"title": "Matriisi", "conditions": {"all": [{"field": "status", "operator": "is", "value": "open"}]}, "actions": [{"field": "priority", "value": "high"}]}}),
        "trigger",
    )
    .await;
    ids.insert("trigger", id(&tr["id"]));
    for key in ["trigger_category", "trigger_category_doomed"] {
        let c = created(
            app,
            &admin,
            "/api/v2/trigger_categories.json",
            json!({"trigger_category": {"name": format!("Matriisi {key}")}}),
            "trigger_category",
        )
        .await;
        ids.insert(key, id(&c["id"]));
    }
    let sla = created(
        app,
        &admin,
        "/api/v2/slas/policies.json",
        json!({"sla_policy": {"title": "Matriisi", "filter": {"all": [{"field": "status", "operator": "less_than", "value": "solved"}]}, "policy_metrics": [{"priority": "normal", "metric": "first_reply_time", "target": 60, "business_hours": false}]}}),
        "sla_policy",
    )
    .await;
    ids.insert("sla_policy", id(&sla["id"]));
    for key in ["schedule", "schedule_doomed", "schedule_doomed_page"] {
        let s = created(
            app,
            &admin,
            "/api/v2/business_hours/schedules.json",
            json!({"schedule": {"name": format!("Matriisi {key}"), "time_zone": "Europe/Helsinki", "intervals": [{"start_time": 1980, "end_time": 2460}]}}),
            "schedule",
        )
        .await;
        ids.insert(key, id(&s["id"]));
    }
    for key in ["holiday", "holiday_doomed_page"] {
        let h = created(
            app,
            &admin,
            &format!("/api/v2/business_hours/schedules/{}/holidays.json", ids["schedule"]),
            json!({"holiday": {"name": format!("Joulu {key}"), "start_date": "2026-12-24", "end_date": "2026-12-26"}}),
            "holiday",
        )
        .await;
        ids.insert(key, id(&h["id"]));
    }
    ids.insert("rule_kind", "views".into());
    let field = created(
        app,
        &admin,
        "/api/v2/user_fields.json",
        json!({"user_field": {"type": "text", "key": "matriisi", "title": "Matriisi"}}),
        "user_field",
    )
    .await;
    ids.insert("user_field", id(&field["id"]));
    let field = created(
        app,
        &admin,
        "/api/v2/organization_fields.json",
        json!({"organization_field": {"type": "text", "key": "matriisi", "title": "Matriisi"}}),
        "organization_field",
    )
    .await;
    ids.insert("org_field", id(&field["id"]));
    let person = |name: &str, email: &str, extra: Value| {
        let mut user = json!({"name": name, "email": email, "password": PASSWORD});
        if let (Some(u), Some(e)) = (user.as_object_mut(), extra.as_object()) {
            u.extend(e.clone());
        }
        json!({ "user": user })
    };
    let end_user = created(
        app,
        &admin,
        "/api/v2/users.json",
        person("Eveliina Esimerkki", "eveliina@one.example", json!({"organization_id": org["id"]})),
        "user",
    )
    .await;
    ids.insert("end_user", id(&end_user["id"]));
    // A member of the organisation whose membership the matrix reads and ends.
    let member = created(
        app,
        &admin,
        "/api/v2/users.json",
        json!({"user": {"name": "Mikko Jäsen", "email": "mikko@one.example", "organization_id": org["id"]}}),
        "user",
    )
    .await;
    ids.insert("member", id(&member["id"]));
    // The address identity of the end user (identities are numbered from the person's id).
    ids.insert("identity", (end_user["id"].as_i64().unwrap() * 2).to_string());
    let agent = created(
        app,
        &admin,
        "/api/v2/users.json",
        person("Aatu Agentti", "aatu@one.example", json!({"role": "agent"})),
        "user",
    )
    .await;
    ids.insert("agent", id(&agent["id"]));
    let membership = created(
        app,
        &admin,
        "/api/v2/group_memberships.json",
        json!({"group_membership": {"user_id": agent["id"], "group_id": group["id"]}}),
        "group_membership",
    )
    .await;
    ids.insert("group_membership", id(&membership["id"]));
    ids.insert("group_member", id(&agent["id"]));
    let officer = created(
        app,
        &admin,
        "/api/v2/users.json",
        person("Pirjo Tietosuoja", "pirjo@one.example", json!({"role": "agent", "privacy_officer": true})),
        "user",
    )
    .await;
    ids.insert("officer", id(&officer["id"]));
    for (key, name, email) in [
        ("subject", "Seppo Subjekti", "seppo@one.example"),
        ("refused_for", "Riitta Torjuttu", "riitta@one.example"),
        ("erase_for", "Eino Poistettava", "eino@one.example"),
        ("erase_web_for", "Elli Poistettava", "elli@one.example"),
        ("request_for", "Pekka Pyytäjä", "pekka@one.example"),
        ("erased", "Ossi Poistettu", "ossi@one.example"),
        ("deleted", "Dora Poistettu", "dora@one.example"),
    ] {
        let u = created(app, &admin, "/api/v2/users.json", json!({"user": {"name": name, "email": email}}), "user").await;
        ids.insert(key, id(&u["id"]));
    }
    let end_user_login = as_token("eveliina@one.example");

    // The end user's ticket: their first comment carries two files.
    let mut uploads = Vec::new();
    for name in ["kuitti.txt", "liite.txt"] {
        let up = app
            .req_as(&end_user_login, Method::POST, &format!("/api/v2/uploads.json?filename={name}"))
            .header("content-type", "text/plain")
            .body(b"matrix file".to_vec());
        let (s, v) = send(up).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        uploads.push(v["upload"]["token"].clone());
    }
    let ticket = created(
        app,
        &end_user_login,
        "/api/v2/tickets.json",
        json!({"ticket": {"subject": "Laskussa virhe", "comment": {"body": "The invoice is wrong, secret code 1234", "uploads": uploads}}}),
        "ticket",
    )
    .await;
    ids.insert("ticket", id(&ticket["id"]));
    // A solved ticket of the end user's, which they rated.
    let rated = created(
        app,
        &end_user_login,
        "/api/v2/tickets.json",
        json!({"ticket": {"subject": "Arvio", "comment": {"body": "matrix"}}}),
        "ticket",
    )
    .await;
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{}.json", rated["id"]), json!({"ticket": {"status": "solved"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rating = created(
        app,
        &end_user_login,
        &format!("/api/v2/tickets/{}/satisfaction_rating.json", rated["id"]),
        json!({"satisfaction_rating": {"score": "good", "comment": "matrix"}}),
        "satisfaction_rating",
    )
    .await;
    ids.insert("rated_ticket", id(&rated["id"]));
    ids.insert("rating", id(&rating["id"]));
    let (s, v) = app.get(&format!("/api/v2/tickets/{}/audits.json", ticket["id"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    ids.insert("audit", id(&v["audits"][0]["id"]));
    let (s, v) = app.get(&format!("/api/v2/tickets/{}/comments.json", ticket["id"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = &v["comments"][0];
    ids.insert("comment", id(&first["id"]));
    ids.insert("file", id(&first["attachments"][0]["id"]));
    ids.insert("file_web", id(&first["attachments"][1]["id"]));
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{}.json", ticket["id"]),
            json!({"ticket": {"comment": {"body": "Checked with billing.", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{}.json", ticket["id"]),
            json!({"ticket": {"comment": {"body": "Your code word is kettle.", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get(&format!("/api/v2/tickets/{}/comments.json", ticket["id"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reply = v["comments"].as_array().unwrap().last().unwrap().clone();
    ids.insert("reply", id(&reply["id"]));
    ids.insert("reply_html", reply["html_body"].as_str().unwrap().to_string());

    // The end user's mail: a ticket opened by e-mail, whose first comment has its original.
    let room = suoja_mail::Mailroom::new(
        app.privacy().clone(),
        suoja_mail::MailConfig {
            support: suoja_mail::Support::parse("support@one.example").unwrap(),
            privacy: None,
            public_url: app.base.clone(),
            max_bytes: 1 << 20,
            per_sender_per_hour: 100,
            dns: None,
            tenant_domains: Vec::new(),
            trust: suoja_mail::Trust::public(),
            local_hops: 0,
        },
    );
    let mailed = room
        .deliver(
            suoja_core::TenantId(app.t.tenant_id),
            b"From: eveliina@one.example\r\nTo: support@one.example\r\nSubject: By mail\r\nMessage-ID: <matrix@one.example>\r\n\r\nSent by mail.\r\n",
        )
        .await
        .unwrap()
        .ticket()
        .unwrap();
    ids.insert("mail_ticket", mailed.to_string());
    let (s, v) = app.get(&format!("/api/v2/tickets/{mailed}/comments.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    ids.insert("mail_comment", id(&v["comments"][0]["id"]));
    // A mailbox the tenant's admins added (its server is nowhere).
    {
        let hd = app.helpdesk();
        let t = suoja_core::TenantId(app.t.tenant_id);
        let mut tx = hd.db().begin().await.unwrap();
        let key = hd.vault().create_subject_key(&mut tx, t, "mailbox", hd.now()).await.unwrap();
        let sealed = hd
            .vault()
            .encrypt_str(&mut tx, t, key, r#"{"url": "imap://u:p@127.0.0.1:9/INBOX", "move_to": null}"#)
            .await
            .unwrap();
        let mailbox = suoja_store::mail::insert_mailbox(&mut tx, t, key.0, &sealed, app.t.admin_id, hd.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        ids.insert("mailbox", mailbox.to_string());
    }

    // Someone else's ticket that mentions the end user by name; tickets in the trash; a hold.
    let subject = ids["subject"].clone();
    let other = created(
        app,
        &admin,
        "/api/v2/tickets.json",
        json!({"ticket": {"subject": "Refund", "requester_id": subject.parse::<i64>().unwrap(), "comment": {"body": "Eveliina Esimerkki called about the refund."}}}),
        "ticket",
    )
    .await;
    ids.insert("other_ticket", id(&other["id"]));
    for key in ["trashed_restore", "trashed_purge", "held", "bulk_delete", "bulk_purge", "merge_source"] {
        let t = created(
            app,
            &admin,
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": key, "requester_id": subject.parse::<i64>().unwrap(), "comment": {"body": "matrix"}}}),
            "ticket",
        )
        .await;
        ids.insert(key, id(&t["id"]));
        if !matches!(key, "held" | "bulk_delete" | "merge_source") {
            let (s, _) = app.delete(&format!("/api/v2/tickets/{}.json", t["id"])).await;
            assert_eq!(s, StatusCode::NO_CONTENT);
        }
    }
    let in_30_days = in_30_days();
    let hold = created(
        app,
        &admin,
        "/api/v2/privacy/holds.json",
        json!({"hold": {"scope": "ticket", "ticket_id": ids["held"].parse::<i64>().unwrap(), "ground": "legal_claims", "expires_at": in_30_days}}),
        "hold",
    )
    .await;
    ids.insert("hold", id(&hold["id"]));
    // Two breaches: one to work on, one with its decisions made, to close.
    let an_hour_ago = suoja_core::Timestamp(suoja_core::Clock::now(&suoja_core::clock::SystemClock).0 - 3_600_000).to_iso();
    for (key, decided) in [("breach", false), ("breach_web", false), ("breach_doomed", true), ("breach_doomed_web", true)] {
        let mut b = json!({"aware_at": an_hour_ago, "description": "A laptop with an export was stolen.", "contact": "Pirjo, privacy officer",
            "people_summary": "A laptop was stolen.", "consequences": "Little risk: the disk was encrypted.", "measures": "The laptop was wiped remotely."});
        if decided {
            b["notify_authority"] = json!(false);
            b["authority_reasoning"] = json!("the disk was encrypted");
            b["notify_people"] = json!(false);
            b["people_reasoning"] = json!("no risk to them");
        }
        let breach = created(app, &admin, "/api/v2/privacy/breaches.json", json!({ "breach": b }), "breach").await;
        ids.insert(key, id(&breach["id"]));
    }
    let sub = created(
        app,
        &admin,
        "/api/v2/privacy/subprocessors.json",
        json!({"subprocessor": {"name": "Pilvi Oy", "service": "hosting", "location": "Finland", "safeguard": "within the EU"}}),
        "subprocessor",
    )
    .await;
    ids.insert("subprocessor", id(&sub["id"]));
    for key in ["breach", "breach_web"] {
        let (s, v) = app
            .call_as(
                &admin,
                Method::PUT,
                &format!("/api/v2/privacy/breaches/{}/scope.json", ids[key]),
                Some(json!({"scope": [{"kind": "tickets", "ids": [ids["held"].parse::<i64>().unwrap()]}]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, _) = app.delete(&format!("/api/v2/users/{}.json", ids["deleted"])).await;
    assert_eq!(s, StatusCode::OK);

    // Tokens, webhooks, a job.
    let token = created(
        app,
        &admin,
        "/api/v2/api_tokens.json",
        json!({"api_token": {"description": "matrix"}}),
        "api_token",
    )
    .await;
    ids.insert("api_token", id(&token["id"]));
    let hook = created(
        app,
        &admin,
        "/api/v2/webhooks.json",
        json!({"webhook": {"name": "matrix", "endpoint": "https://127.0.0.1:9/hook", "subscriptions": ["ticket.created"]}}),
        "webhook",
    )
    .await;
    ids.insert("webhook", id(&hook["id"]));
    let job = created(
        app,
        &admin,
        "/api/v2/tickets/create_many.json",
        json!({"tickets": [{"subject": "job", "requester_id": subject.parse::<i64>().unwrap(), "comment": {"body": "matrix"}}]}),
        "job_status",
    )
    .await;
    ids.insert("job", id(&job["id"]));

    // The help center: a category, a section and an article for everyone; a comment on it by
    // someone else (so no caller votes on their own words); the end user's vote and follows.
    let category = created(
        app,
        &admin,
        "/api/v2/help_center/categories.json",
        json!({"category": {"name": "Ohjeet"}}),
        "category",
    )
    .await;
    ids.insert("hc_category", id(&category["id"]));
    let section = created(
        app,
        &admin,
        &format!("/api/v2/help_center/categories/{}/sections.json", category["id"]),
        json!({"section": {"name": "Laskutus"}}),
        "section",
    )
    .await;
    ids.insert("hc_section", id(&section["id"]));
    // Written by a staff member who is none of the callers, so every caller may vote on it.
    let author = created(
        app,
        &admin,
        "/api/v2/users.json",
        person("Kaisa Kirjoittaja", "kaisa@one.example", json!({"role": "agent"})),
        "user",
    )
    .await;
    let article = created(
        app,
        &admin,
        &format!("/api/v2/help_center/sections/{}/articles.json", section["id"]),
        json!({"article": {"title": "Laskun maksaminen", "body": "<p>invoice</p>", "author_id": author["id"]}}),
        "article",
    )
    .await;
    ids.insert("hc_article", id(&article["id"]));
    // What the deletions take: a category, section and article of their own, so deleting one
    // (with what is in it) leaves the others for the routes tried after it.
    let doomed = created(
        app,
        &admin,
        "/api/v2/help_center/categories.json",
        json!({"category": {"name": "Poistuva"}}),
        "category",
    )
    .await;
    ids.insert("hc_category_doomed", id(&doomed["id"]));
    let doomed = created(
        app,
        &admin,
        &format!("/api/v2/help_center/categories/{}/sections.json", category["id"]),
        json!({"section": {"name": "Poistuva"}}),
        "section",
    )
    .await;
    ids.insert("hc_section_doomed", id(&doomed["id"]));
    let doomed = created(
        app,
        &admin,
        &format!("/api/v2/help_center/sections/{}/articles.json", section["id"]),
        json!({"article": {"title": "Poistuva"}}),
        "article",
    )
    .await;
    ids.insert("hc_article_doomed", id(&doomed["id"]));
    let hc_comment = created(
        app,
        &admin,
        &format!("/api/v2/help_center/articles/{}/comments.json", article["id"]),
        json!({"comment": {"body": "Hyvä ohje.", "author_id": ids["subject"].parse::<i64>().unwrap()}}),
        "comment",
    )
    .await;
    ids.insert("hc_comment", id(&hc_comment["id"]));
    let vote = created(
        app,
        &end_user_login,
        &format!("/api/v2/help_center/articles/{}/up.json", article["id"]),
        json!({}),
        "vote",
    )
    .await;
    ids.insert("hc_vote", id(&vote["id"]));
    for (key, what) in [("hc_article_sub", "articles"), ("hc_section_sub", "sections")] {
        let on = if what == "articles" { &article["id"] } else { &section["id"] };
        let sub = created(
            app,
            &end_user_login,
            &format!("/api/v2/help_center/{what}/{on}/subscriptions.json"),
            json!({"subscription": {"source_locale": "en-us"}}),
            "subscription",
        )
        .await;
        ids.insert(key, id(&sub["id"]));
    }

    // The community: a topic with a post and a comment by someone who is none of the callers;
    // the end user's vote and follows; a topic and a post for the deletions.
    let subject_id = ids["subject"].parse::<i64>().unwrap();
    let topic = created(app, &admin, "/api/v2/community/topics.json", json!({"topic": {"name": "Toiveet"}}), "topic").await;
    ids.insert("cm_topic", id(&topic["id"]));
    let post = created(
        app,
        &admin,
        "/api/v2/community/posts.json",
        json!({"post": {"title": "Tumma teema", "topic_id": topic["id"], "author_id": subject_id}}),
        "post",
    )
    .await;
    ids.insert("cm_post", id(&post["id"]));
    let cm_comment = created(
        app,
        &admin,
        &format!("/api/v2/community/posts/{}/comments.json", post["id"]),
        json!({"comment": {"body": "Kyllä kiitos.", "author_id": subject_id}}),
        "comment",
    )
    .await;
    ids.insert("cm_comment", id(&cm_comment["id"]));
    created(
        app,
        &end_user_login,
        &format!("/api/v2/community/posts/{}/up.json", post["id"]),
        json!({}),
        "vote",
    )
    .await;
    for (key, on) in [
        ("cm_post_sub", format!("posts/{}", post["id"])),
        ("cm_topic_sub", format!("topics/{}", topic["id"])),
    ] {
        let sub = created(
            app,
            &end_user_login,
            &format!("/api/v2/community/{on}/subscriptions.json"),
            json!({"subscription": {}}),
            "subscription",
        )
        .await;
        ids.insert(key, id(&sub["id"]));
    }
    let doomed = created(app, &admin, "/api/v2/community/topics.json", json!({"topic": {"name": "Poistuva"}}), "topic").await;
    ids.insert("cm_topic_doomed", id(&doomed["id"]));
    let doomed = created(
        app,
        &admin,
        "/api/v2/community/posts.json",
        json!({"post": {"title": "Poistuva", "topic_id": topic["id"], "author_id": subject_id}}),
        "post",
    )
    .await;
    ids.insert("cm_post_doomed", id(&doomed["id"]));

    // Privacy: the end user's access request with a package and a mention; requests to refuse
    // and to carry out; a completed erasure.
    let request = |key: &'static str, kind: &'static str| {
        let subject_id = ids[key].parse::<i64>().unwrap();
        let admin = admin.clone();
        async move {
            created(
                app,
                &admin,
                "/api/v2/privacy/requests.json",
                json!({"request": {"kind": kind, "subject_id": subject_id}}),
                "request",
            )
            .await
        }
    };
    let access = request("end_user", "access").await;
    let refused = request("refused_for", "access").await;
    let erasure = request("erase_for", "erasure").await;
    let erasure_web = request("erase_web_for", "erasure").await;
    ids.insert("request", id(&access["id"]));
    for r in [&access, &erasure, &erasure_web] {
        created(
            app,
            &admin,
            &format!("/api/v2/privacy/requests/{}/verify.json", r["id"]),
            json!({"note": "called back on the number on file"}),
            "request",
        )
        .await;
    }
    ids.insert("request_refuse", id(&refused["id"]));
    ids.insert("request_erase", id(&erasure["id"]));
    ids.insert("request_erase_web", id(&erasure_web["id"]));
    let export = created(
        app,
        &admin,
        &format!("/api/v2/privacy/requests/{}/exports.json", access["id"]),
        json!({"export": {"format": "json"}}),
        "export",
    )
    .await;
    let export = crate::fixtures::export::ready(app, access["id"].as_i64().unwrap(), export["id"].as_str().unwrap_or(&id(&export["id"]))).await;
    ids.insert("export", id(&export["export"]["id"]));
    let mentions = created(
        app,
        &admin,
        &format!("/api/v2/privacy/requests/{}/mentions/search.json", access["id"]),
        json!({"search": {}}),
        "mentions",
    )
    .await;
    ids.insert("mention", id(&mentions[0]["id"]));
    let erased = created(
        app,
        &admin,
        &format!("/api/v2/privacy/subjects/{}/erasure.json", ids["erased"]),
        json!({}),
        "erasure",
    )
    .await;
    ids.insert("erasure", id(&erased["id"]));

    // The other tenant: its admin and an end user of its own.
    let other_admin = app.second_tenant("two").await;
    let (s, v) = app
        .call_as(
            &other_admin,
            Method::PUT,
            &format!("/api/v2/users/{}.json", other_admin.admin_id),
            Some(json!({"user": {"password": PASSWORD}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    created(
        app,
        &other_admin,
        "/api/v2/users.json",
        json!({"user": {"name": "Toinen Asiakas", "email": "toinen@two.example", "password": PASSWORD}}),
        "user",
    )
    .await;
    let other_end_user = Tenant {
        email: "toinen@two.example".into(),
        token: other_admin.token.clone(),
        admin_id: 0,
        tenant_id: other_admin.tenant_id,
    };
    // The newest entry of the audit log the world's setup wrote.
    let (s, v) = app.call_as(&admin, Method::GET, "/api/v2/audit_logs.json?page[size]=1", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    ids.insert("audit_log", id(&v["audit_logs"][0]["id"]));
    World {
        ids,
        end_user: end_user_login,
        agent: as_token("aatu@one.example"),
        officer: as_token("pirjo@one.example"),
        admin,
        other_end_user,
        other_admin,
    }
}

/// The concrete path (with query) a route is tried at.
pub(crate) fn concrete(method: &str, path: &str, ids: &HashMap<&'static str, String>) -> String {
    let pick = |name: &str| -> &'static str {
        match (method, path, name) {
            (_, "/hc/sections/{id}", _) => "hc_section",
            (_, p, "id") if p.starts_with("/hc/articles/") => "hc_article",
            (_, p, "id") if p.starts_with("/hc/community/topics/") => "cm_topic",
            (_, p, "id") if p.starts_with("/hc/community/posts/") => "cm_post",
            (_, p, "comment_id") if p.starts_with("/hc/community/") => "cm_comment",
            (_, p, "subscription_id") if p.contains("/community/posts/") => "cm_post_sub",
            (_, p, "subscription_id") if p.contains("/community/topics/") => "cm_topic_sub",
            (_, p, "comment_id") if p.starts_with("/api/v2/community/") => "cm_comment",
            ("delete", "/api/v2/community/topics/{id}", _) => "cm_topic_doomed",
            ("delete", "/api/v2/community/posts/{id}", _) => "cm_post_doomed",
            (_, p, "id") if p.starts_with("/api/v2/community/users/") => "end_user",
            (_, p, "id") if p.starts_with("/api/v2/community/topics/") => "cm_topic",
            (_, p, "id") if p.starts_with("/api/v2/community/posts/") => "cm_post",
            (_, p, "subscription_id") if p.contains("/articles/") => "hc_article_sub",
            (_, _, "subscription_id") => "hc_section_sub",
            (_, p, "comment_id") if p.starts_with("/api/v2/help_center/") => "hc_comment",
            ("delete", "/api/v2/help_center/categories/{id}", _) => "hc_category_doomed",
            ("delete", "/api/v2/help_center/sections/{id}", _) => "hc_section_doomed",
            ("delete", "/api/v2/help_center/articles/{id}", _) => "hc_article_doomed",
            (_, p, "id") if p.starts_with("/api/v2/help_center/users/") => "end_user",
            (_, p, "id") if p.starts_with("/api/v2/help_center/votes/") => "hc_vote",
            (_, p, "id") if p.starts_with("/api/v2/help_center/") && p.contains("/categories/") => "hc_category",
            (_, p, "id") if p.starts_with("/api/v2/help_center/") && p.contains("/sections/") => "hc_section",
            (_, p, "id") if p.starts_with("/api/v2/help_center/") && p.contains("/articles/") => "hc_article",
            (_, "/agent/tickets/{id}/comments/{comment_id}/original", "id") => "mail_ticket",
            (_, p, "id") if p.starts_with("/api/v2/requests/") => "ticket",
            (_, "/agent/tickets/{id}/comments/{comment_id}/original", _) => "mail_comment",
            (_, _, "identity_id") => "identity",
            (_, p, "id") if p.starts_with("/api/v2/organization_memberships/") => "member",
            (_, p, "id") if p.starts_with("/api/v2/group_memberships/") => "group_membership",
            (_, "/api/v2/users/{user_id}/group_memberships/{id}/make_default", "user_id") => "group_member",
            (_, "/api/v2/users/{user_id}/group_memberships/{id}/make_default", _) => "group_membership",
            (_, "/api/v2/tickets/{id}/satisfaction_rating", _) => "rated_ticket",
            (_, p, "id") if p.starts_with("/api/v2/satisfaction_ratings/") => "rating",
            (_, "/api/v2/tickets/{ticket_id}/audits/count" | "/api/v2/tickets/{ticket_id}/audits/{id}", "ticket_id") => "ticket",
            (_, "/api/v2/tickets/{ticket_id}/audits/{id}", _) => "audit",
            (_, p, "id") if p.starts_with("/api/v2/users/") || p.starts_with("/agent/users/") => "end_user",
            (_, p, "id") if p.starts_with("/api/v2/deleted_users/") => "deleted",
            (_, p, "id") if p.contains("/organizations/") => "org",
            (_, p, "id") if p.starts_with("/api/v2/groups/") => "group",
            (_, p, "id") if p.starts_with("/api/v2/ticket_fields/") => "ticket_field",
            (_, p, "id") if p.starts_with("/api/v2/ticket_forms/") => "ticket_form",
            (_, p, "id") if p.starts_with("/api/v2/views/") => "view",
            (_, p, "id") if p.starts_with("/api/v2/macros/") => "macro",
            (_, p, "id") if p.starts_with("/api/v2/automations/") => "automation",
            (_, p, "id") if p.starts_with("/api/v2/triggers/") => "trigger",
            ("delete", "/api/v2/trigger_categories/{id}", _) => "trigger_category_doomed",
            (_, p, "id") if p.starts_with("/api/v2/trigger_categories/") => "trigger_category",
            (_, p, "id") if p.starts_with("/api/v2/slas/policies/") => "sla_policy",
            ("delete", "/api/v2/business_hours/schedules/{id}", _) => "schedule_doomed",
            (_, "/agent/rules/schedules/{id}/remove", _) => "schedule_doomed_page",
            (_, "/agent/rules/schedules/{id}/holidays/{holiday_id}/remove", "holiday_id") => "holiday_doomed_page",
            (_, _, "holiday_id") => "holiday",
            (_, p, "id") if p.starts_with("/agent/rules/schedules/") => "schedule",
            (_, p, "id") if p.starts_with("/api/v2/business_hours/schedules/") => "schedule",
            (_, "/api/v2/tickets/{ticket_id}/macros/{id}/apply", "ticket_id") => "ticket",
            (_, "/api/v2/tickets/{ticket_id}/macros/{id}/apply", _) => "macro",
            (_, p, "kind") if p.starts_with("/agent/rules/") => "rule_kind",
            (_, p, "id") if p.starts_with("/agent/rules/") => "view_web",
            (_, p, "id") if p.starts_with("/api/v2/user_fields/") => "user_field",
            (_, p, "id") if p.starts_with("/api/v2/organization_fields/") => "org_field",
            ("put", "/api/v2/deleted_tickets/{id}/restore", _) => "trashed_restore",
            (_, p, "id") if p.starts_with("/api/v2/deleted_tickets/") => "trashed_purge",
            (_, p, "id") if p.contains("/tickets/{id}") => "ticket",
            (_, "/api/v2/comment_redactions/{id}", _) => "reply",
            (_, _, "comment_id") => "comment",
            ("post", p, "attachment_id") if p.starts_with("/agent/") => "file_web",
            (_, _, "attachment_id") => "file",
            (_, p, "id") if p.starts_with("/api/v2/attachments/") || p.starts_with("/files/") => "file",
            (_, p, "id") if p.starts_with("/api/v2/api_tokens/") => "api_token",
            (_, p, "id") if p.starts_with("/api/v2/job_statuses/") => "job",
            (_, p, "id") if p.starts_with("/api/v2/webhooks/") => "webhook",
            (_, "/api/v2/privacy/requests/{id}/refuse", _) => "request_refuse",
            (_, "/api/v2/privacy/requests/{id}/erasure", _) => "request_erase",
            (_, "/privacy/requests/{id}/erase", _) => "request_erase_web",
            (_, p, "id") if p.contains("/privacy/requests/{id}") => "request",
            (_, _, "mention") => "mention",
            (_, p, "id") if p.contains("/exports/{id}") => "export",
            (_, p, "id") if p.starts_with("/api/v2/privacy/subjects/") => "subject",
            (_, p, "id") if p.contains("/erasures/{id}") => "erasure",
            (_, p, "id") if p.contains("/holds/{id}") => "hold",
            (_, p, "id") if p.contains("/subprocessors/{id}") => "subprocessor",
            (_, p, "id") if p.starts_with("/api/v2/audit_logs/") => "audit_log",
            (_, "/api/v2/privacy/breaches/{id}/close", _) => "breach_doomed",
            (_, "/privacy/breaches/{id}/close", _) => "breach_doomed_web",
            (_, p, "id") if p.starts_with("/privacy/breaches/{id}") => "breach_web",
            (_, p, "id") if p.contains("/breaches/{id}") => "breach",
            (_, p, "id") if p.starts_with("/admin/mail/mailboxes/") => "mailbox",
            (_, "/admin/fields/{id}/remove", _) => "ticket_field_doomed",
            (_, p, "id") if p.starts_with("/admin/fields/") => "ticket_field",
            (_, p, "id") if p.starts_with("/portal/requests/") => "ticket",
            _ => panic!("no id for {{{name}}} in {method} {path}: say which in authz::concrete"),
        }
    };
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let name = &rest[open + 1..close];
        let value = match name {
            "view" => "mine".to_string(),
            "locale" => "en-us".to_string(),
            "name" => "app.css".to_string(),
            "policy" => "inactive_end_users".to_string(),
            "token" => "not-a-real-link".to_string(),
            _ => ids[pick(name)].clone(),
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    let query = match path {
        "/api/v2/users/search" => "?query=Eveliina".to_string(),
        "/api/v2/users/show_many" => format!("?ids={},{}", ids["end_user"], ids["subject"]),
        "/api/v2/organizations/search" => "?name=Matriisi".to_string(),
        "/api/v2/tickets/show_many" => format!("?ids={},{}", ids["ticket"], ids["other_ticket"]),
        "/api/v2/organizations/show_many" => format!("?ids={}", ids["org"]),
        "/api/v2/ticket_forms/show_many" => format!("?ids={},{}", ids["ticket_form"], ids["ticket_form_default"]),
        "/api/v2/views/count_many" => format!("?ids={},{}", ids["view"], ids["view_web"]),
        "/api/v2/tickets/update_many" => format!("?ids={}", ids["other_ticket"]),
        "/api/v2/tickets/destroy_many" => format!("?ids={}", ids["bulk_delete"]),
        "/api/v2/deleted_tickets/destroy_many" => format!("?ids={}", ids["bulk_purge"]),
        "/api/v2/users/update_many" => format!("?ids={}", ids["end_user"]),
        // Nobody has this id: the job answers for each caller without deleting the matrix's people.
        "/api/v2/users/destroy_many" => "?ids=999999999".to_string(),
        "/api/v2/search" | "/api/v2/search/count" | "/agent/search" | "/api/v2/help_center/articles/search" => "?query=invoice".to_string(),
        "/api/v2/search/export" => "?query=invoice&filter[type]=ticket".to_string(),
        "/hc/search" => "?q=invoice".to_string(),
        "/api/v2/incremental/tickets/cursor" | "/api/v2/incremental/users/cursor" => "?start_time=0".to_string(),
        "/api/v2/incremental/tickets"
        | "/api/v2/incremental/users"
        | "/api/v2/incremental/organizations"
        | "/api/v2/incremental/ticket_events"
        | "/api/v2/incremental/ticket_metric_events" => "?start_time=0".to_string(),
        "/api/v2/privacy/subjects/{id}/footprint" => "?reason=matrix".to_string(),
        _ => String::new(),
    };
    out + &query
}

/// A body that passes validation for a caller who may use the route (so what decides the answer
/// is who calls, not what they sent).
pub(crate) fn api_body(method: &str, path: &str, ids: &HashMap<&'static str, String>) -> Option<Value> {
    let n = |k: &str| ids[k].parse::<i64>().unwrap();
    let in_30_days = in_30_days();
    Some(match (method, path) {
        ("post" | "put" | "delete", "/api/v2/tickets/{id}/tags") => json!({"tags": ["matrix"]}),
        ("get" | "delete", _) => return None,
        ("post", "/api/v2/users") => json!({"user": {"name": "Uusi Ihminen", "email": "uusi@one.example"}}),
        ("put", "/api/v2/users/{id}") => json!({"user": {"notes": "matrix"}}),
        ("post", "/api/v2/organizations") => json!({"organization": {"name": "Uusi Oy"}}),
        ("put", "/api/v2/organizations/{id}") => json!({"organization": {"notes": "matrix"}}),
        ("post", "/api/v2/groups") => json!({"group": {"name": "Uusi ryhmä"}}),
        ("post", "/api/v2/ticket_fields") => json!({"ticket_field": {"type": "text", "title": "Uusi kenttä"}}),
        ("put", "/api/v2/ticket_fields/{id}") => json!({"ticket_field": {"title": "Kenttä"}}),
        ("post", "/api/v2/user_fields") => json!({"user_field": {"type": "text", "key": "uusi", "title": "Uusi kenttä"}}),
        ("put", "/api/v2/user_fields/{id}") => json!({"user_field": {"title": "Kenttä"}}),
        ("post", "/api/v2/organization_fields") => json!({"organization_field": {"type": "text", "key": "uusi", "title": "Uusi kenttä"}}),
        ("put", "/api/v2/organization_fields/{id}") => json!({"organization_field": {"title": "Kenttä"}}),
        ("post", "/api/v2/ticket_forms") => json!({"ticket_form": {"name": "Uusi lomake"}}),
        ("post", "/api/v2/views") => json!({"view": {"title": "Uusi näkymä", "all": [{"field": "status", "operator": "is", "value": "open"}]}}),
        ("put", "/api/v2/views/{id}") => json!({"view": {"title": "Näkymä"}}),
        ("post", "/api/v2/macros") => json!({"macro": {"title": "Uusi makro", "actions": [{"field": "priority", "value": "high"}]}}),
        ("put", "/api/v2/macros/{id}") => json!({"macro": {"title": "Makro"}}),
        ("post", "/api/v2/automations") => {
            json!({"automation": {"title": "Uusi", "all": [{"field": "NEW", "operator": "is", "value": "48"}], "actions": [{"field": "priority", "value": "high"}]}})
        }
        ("put", "/api/v2/automations/{id}") => json!({"automation": {"title": "Automaatio"}}),
        ("post", "/api/v2/triggers") => {
            json!({"trigger": {"title": "Uusi", "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"}]}, "actions": [{"field": "current_tags", "value": "uusi"}]}})
        }
        ("put", "/api/v2/triggers/{id}") => json!({"trigger": {"title": "Liipaisin"}}),
        ("put", "/api/v2/triggers/reorder") => json!({"trigger_ids": [n("trigger")]}),
        ("post", "/api/v2/trigger_categories") => json!({"trigger_category": {"name": "Uusi luokka"}}),
        ("patch", "/api/v2/trigger_categories/{id}") => json!({"trigger_category": {"name": "Luokka"}}),
        ("post", "/api/v2/slas/policies") => {
            json!({"sla_policy": {"title": "Uusi", "filter": {"all": []}, "policy_metrics": [{"priority": "high", "metric": "first_reply_time", "target": 30}]}})
        }
        ("put", "/api/v2/slas/policies/{id}") => json!({"sla_policy": {"title": "Palvelutaso"}}),
        ("put", "/api/v2/slas/policies/reorder") => json!({"sla_policy_ids": [n("sla_policy")]}),
        ("post", "/api/v2/business_hours/schedules") => {
            json!({"schedule": {"name": "Uusi", "time_zone": "UTC", "intervals": [{"start_time": 1980, "end_time": 2460}]}})
        }
        ("put", "/api/v2/business_hours/schedules/{id}") => json!({"schedule": {"name": "Aikataulu"}}),
        ("put", "/api/v2/business_hours/schedules/{id}/workweek") => json!({"workweek": {"intervals": [{"start_time": 1980, "end_time": 2400}]}}),
        ("post", "/api/v2/business_hours/schedules/{id}/holidays") => {
            json!({"holiday": {"name": "Vappu", "start_date": "2027-05-01", "end_date": "2027-05-01"}})
        }
        ("put", "/api/v2/business_hours/schedules/{id}/holidays/{holiday_id}") => json!({"holiday": {"name": "Jouluaika"}}),
        ("put", "/api/v2/ticket_forms/{id}") => json!({"ticket_form": {"display_name": "Lomake"}}),
        ("put", "/api/v2/groups/{id}") => json!({"group": {"name": "Ryhmä"}}),
        ("post", "/api/v2/tickets") => json!({"ticket": {"subject": "Uusi", "comment": {"body": "matrix"}}}),
        ("post", "/api/v2/requests") => json!({"request": {"subject": "Uusi", "comment": {"body": "matrix"}}}),
        ("put", "/api/v2/requests/{id}") => json!({"request": {"comment": {"body": "matrix"}}}),
        ("post", "/api/v2/users/create_many") => json!({"users": [{"name": "Uusi Joukko", "email": "joukko@one.example"}]}),
        ("post", "/api/v2/users/create_or_update") => json!({"user": {"name": "Uusi Tai", "email": "tai@one.example"}}),
        ("post", "/api/v2/users/create_or_update_many") => json!({"users": [{"name": "Uusi Moni", "email": "moni@one.example"}]}),
        ("put", "/api/v2/users/update_many") => json!({"user": {"notes": "matrix"}}),
        ("post", "/api/v2/tickets/{id}/satisfaction_rating") => json!({"satisfaction_rating": {"score": "bad", "comment": "matrix"}}),
        ("post", "/api/v2/tickets/{id}/merge") => json!({"ids": [n("merge_source")]}),
        ("post", "/api/v2/group_memberships") => json!({"group_membership": {"user_id": n("officer"), "group_id": n("group")}}),
        ("post", "/api/v2/organization_memberships") => json!({"organization_membership": {"user_id": n("subject"), "organization_id": n("org")}}),
        ("post", "/api/v2/organizations/create_many") => json!({"organizations": [{"name": "Joukko Oy"}]}),
        ("put", "/api/v2/tickets/update_many") => json!({"ticket": {"priority": "low"}}),
        ("post", "/api/v2/tickets/create_many") => json!({"tickets": [{"subject": "Uusi", "comment": {"body": "matrix"}}]}),
        ("put", "/api/v2/tickets/{id}") => json!({"ticket": {"comment": {"body": "One more thing."}}}),
        ("put", "/api/v2/tickets/{id}/comments/{comment_id}/redact") => json!({"text": "1234"}),
        ("put", "/api/v2/comment_redactions/{id}") => {
            json!({"ticket_id": n("ticket"), "html_body": ids["reply_html"].replace("kettle", "<redact>kettle</redact>")})
        }
        ("put", "/api/v2/tickets/{id}/comments/{comment_id}/attachments/{attachment_id}/redact") => json!({}),
        ("put", "/api/v2/tickets/{id}/redact") => json!({"redaction": {"subject": "virhe"}}),
        ("put", "/api/v2/deleted_tickets/{id}/restore") => json!({}),
        ("post", "/api/v2/api_tokens") => json!({"api_token": {"description": "matrix"}}),
        ("post", "/api/v2/oauth/tokens") => json!({"token": {"scopes": ["read"]}}),
        ("post", "/api/v2/uploads") => return None,
        ("post", "/api/v2/webhooks") => {
            json!({"webhook": {"name": "uusi", "endpoint": "https://127.0.0.1:9/new", "subscriptions": ["ticket.created"]}})
        }
        ("post", "/api/v2/webhooks/{id}/signing_secret") => json!({}),
        ("post", "/api/v2/privacy/requests") => json!({"request": {"kind": "access", "subject_id": n("request_for")}}),
        ("post", "/api/v2/privacy/confirmations") => json!({"token": "not.a-real-link"}),
        ("post", "/api/v2/privacy/requests/{id}/verify") => json!({"note": "called back on the number on file"}),
        ("post", "/api/v2/privacy/requests/{id}/extend") => json!({"reason": "the request covers many years"}),
        ("post", "/api/v2/privacy/requests/{id}/refuse") => {
            json!({"code": "identity_not_confirmed", "reason": "the caller could not confirm the address on file"})
        }
        ("post", "/api/v2/privacy/requests/{id}/fulfil") => json!({}),
        ("post", "/api/v2/privacy/requests/{id}/exports") => json!({"export": {"format": "json"}}),
        ("post", "/api/v2/privacy/requests/{id}/mentions") => json!({"mention": {"id": n("mention"), "decision": "accept"}}),
        ("post", "/api/v2/privacy/requests/{id}/mentions/search") => json!({"search": {}}),
        ("post", "/api/v2/privacy/subjects/{id}/restriction") => json!({"reason": "accuracy contested"}),
        ("post", "/api/v2/privacy/subjects/{id}/restriction/lift") => json!({"reason": "corrected"}),
        ("post", "/api/v2/privacy/subjects/{id}/erasure" | "/api/v2/privacy/requests/{id}/erasure") => json!({}),
        ("post", "/api/v2/privacy/holds") => {
            json!({"hold": {"scope": "ticket", "ticket_id": n("other_ticket"), "ground": "legal_claims", "expires_at": in_30_days}})
        }
        ("put", "/api/v2/privacy/controller") => json!({"controller": {"name": "Matriisi Oy", "contact": "tietosuoja@one.example", "dpo_contact": "Pirjo"}}),
        ("post", "/api/v2/privacy/subprocessors") => {
            json!({"subprocessor": {"name": "Uusi Oy", "service": "mail", "location": "Sweden", "safeguard": "within the EU"}})
        }
        ("put", "/api/v2/privacy/subprocessors/{id}") => json!({"subprocessor": {"service": "matrix"}}),
        ("put", "/api/v2/subprocessors/subscription") => json!({"subscription": {"subscribed": true}}),
        ("put", "/api/v2/account/settings") => json!({"settings": {"security": {"ip_restriction": {"enabled": false, "allowed_ranges": "127.0.0.0/8"}}}}),
        ("post", "/api/v2/privacy/breaches") => json!({"breach": {"aware_at": in_30_days_ago(), "description": "matrix"}}),
        ("put", "/api/v2/privacy/breaches/{id}") => json!({"breach": {"measures": "matrix"}}),
        ("put", "/api/v2/privacy/breaches/{id}/scope") => json!({"scope": [{"kind": "tickets", "ids": [n("other_ticket")]}]}),
        ("post", "/api/v2/privacy/breaches/{id}/authority_notified") => json!({"notification": {"reference": "matrix"}}),
        ("put", "/api/v2/privacy/retention/{policy}") => json!({"retention_policy": {"enabled": false}}),
        ("put", "/api/v2/privacy/settings") => json!({"settings": {"erasure_comments": "tombstone"}}),
        ("post", "/api/v2/help_center/categories" | "/api/v2/help_center/{locale}/categories") => json!({"category": {"name": "Uusi"}}),
        ("put", p) if p.ends_with("/categories/{id}") => json!({"category": {"name": "Muutettu"}}),
        ("post", p) if p.ends_with("/categories/{id}/sections") => json!({"section": {"name": "Uusi"}}),
        ("put", p) if p.ends_with("/sections/{id}") => json!({"section": {"name": "Muutettu"}}),
        ("post", p) if p.ends_with("/sections/{id}/articles") => json!({"article": {"title": "Uusi", "body": "<p>matrix</p>"}}),
        ("put", p) if p.ends_with("/articles/{id}") => json!({"article": {"title": "Muutettu"}}),
        ("post" | "put", p) if p.starts_with("/api/v2/help_center/") && (p.ends_with("/comments") || p.ends_with("/comments/{comment_id}")) => {
            json!({"comment": {"body": "matrix"}})
        }
        ("post", p) if p.starts_with("/api/v2/help_center/") && p.ends_with("/subscriptions") => json!({"subscription": {"source_locale": "en-us"}}),
        ("post", "/api/v2/community/topics") => json!({"topic": {"name": "Uusi"}}),
        ("put", "/api/v2/community/topics/{id}") => json!({"topic": {"name": "Muutettu"}}),
        ("post", "/api/v2/community/posts") => json!({"post": {"title": "Uusi", "topic_id": n("cm_topic")}}),
        ("put", "/api/v2/community/posts/{id}") => json!({"post": {"title": "Muutettu"}}),
        ("post" | "put", p) if p.starts_with("/api/v2/community/") && (p.ends_with("/comments") || p.ends_with("/comments/{comment_id}")) => {
            json!({"comment": {"body": "matrix"}})
        }
        ("post", p) if p.starts_with("/api/v2/community/") && p.ends_with("/subscriptions") => json!({"subscription": {}}),
        ("put", "/api/v2/help_center/articles/{id}/comments/{comment_id}/redact") => json!({"text": "ohje"}),
        ("put", "/api/v2/community/posts/{id}/redact") => json!({"text": "Tumma"}),
        ("put", "/api/v2/community/posts/{id}/comments/{comment_id}/redact") => json!({"text": "kiitos"}),
        _ => json!({}),
    })
}

/// Fields of a web form, besides its CSRF token.
fn form(path: &str) -> Vec<(&'static str, &'static str)> {
    match path {
        "/signin" => vec![("email", "nobody@one.example"), ("password", "not the password")],
        "/signin/link" => vec![("email", "nobody@one.example")],
        "/account" => vec![("locale", "en"), ("time_zone", "Europe/Helsinki")],
        "/agent/tickets/{id}" => vec![("status", "open"), ("priority", "normal"), ("tags", "matrix")],
        "/agent/tickets/{id}/comments" => vec![("form_id", "matrix-agent-comment-0123456789"), ("public", "1"), ("body", "One more thing.")],
        "/portal/requests/{id}/comments" => vec![("form_id", "matrix-portal-reply-0123456789"), ("body", "One more thing.")],
        "/portal/requests/{id}/rating" => vec![("score", "good"), ("comment", "Thanks")],
        "/portal/requests/new" => vec![("form_id", "matrix-portal-new-0123456789ab"), ("subject", "Uusi"), ("body", "matrix")],
        "/agent/tickets/{id}/comments/{comment_id}/redact" => vec![("text", "secret")],
        "/portal/privacy/correct" => vec![("name", "Eveliina Esimerkki-Korjattu"), ("message", "My name is spelt wrong.")],
        "/portal/privacy/erase" => vec![("confirm", "1")],
        "/subprocessors/subscription" => vec![("subscribe", "1")],
        "/privacy/breaches" => vec![
            ("aware_at", "2026-01-01T10:00"),
            ("description", "matrix"),
            ("form_id", "matrix-breach-new-0123456789ab"),
        ],
        "/privacy/breaches/{id}" => vec![
            ("description", "matrix"),
            ("people_summary", "matrix"),
            ("consequences", "matrix"),
            ("measures", "matrix"),
            ("contact", "matrix"),
        ],
        "/privacy/breaches/{id}/scope" => vec![("kind", "tag"), ("target", "matrix")],
        "/privacy/breaches/{id}/authority_notified" => vec![("reference", "matrix")],
        "/privacy/holds" => vec![("scope", "tag"), ("target", "matrix-hold"), ("ground", "legal_claims"), ("days", "30")],
        "/privacy/requests/{id}/mentions/{mention}" => vec![("decision", "accept")],
        "/privacy/requests/{id}/verify" => vec![("how", "called back on the number on file")],
        "/privacy/retention/{policy}" => vec![("value", "730"), ("enabled", "1")],
        "/hc/articles/{id}/comments" | "/hc/community/posts/{id}/comments" => vec![("body", "Kiitos ohjeesta.")],
        "/hc/articles/{id}/vote" | "/hc/community/posts/{id}/vote" => vec![("value", "up")],
        "/hc/articles/new" | "/hc/articles/{id}/edit" => vec![("title", "Ohje"), ("body", "<p>Teksti</p>"), ("locale", "en-us")],
        "/hc/community/topics/{id}/posts" => vec![("title", "Uusi ajatus"), ("details", "Tarkemmin")],
        "/hc/community/posts/{id}/moderate" => vec![("status", "planned"), ("pinned", "1")],
        "/hc/community/posts/{id}/comments/{comment_id}/moderate" => vec![("official", "1")],
        "/hc/articles/{id}/redact" => vec![("text", "ohje")],
        "/admin/security" => vec![
            ("min_length", "12"),
            ("history", "0"),
            ("idle_minutes", "30"),
            ("absolute_hours", "12"),
            ("sign_in_alerts", "1"),
        ],
        "/hc/community/posts/{id}/redact" => vec![("text", "Tumma")],
        "/admin/fields" => vec![("owner", "ticket"), ("type", "text"), ("title", "Uusi kenttä")],
        "/admin/fields/{id}/active" => vec![("owner", "ticket"), ("active", "0")],
        "/admin/fields/{id}/remove" => vec![("owner", "ticket")],
        "/agent/rules/views" => vec![("title", "Uusi näkymä"), ("all", "status is open")],
        "/agent/rules/schedules" => vec![("name", "Uusi aikataulu"), ("time_zone", "Europe/Helsinki"), ("hours", "ma-pe 08:00-16:00")],
        "/agent/rules/schedules/{id}/holidays" => vec![("name", "Vappu"), ("start_date", "2027-05-01")],
        "/agent/rules/macros" => vec![("title", "Uusi makro"), ("actions", "priority = high")],
        "/agent/rules/{kind}/{id}/active" => vec![("active", "0")],
        _ => vec![],
    }
}

/// When a route is tried: reads, writes, deletions and erasures, then signing out.
fn phase(method: &str, path: &str) -> u8 {
    match (method, path) {
        (_, "/signout" | "/signout/everywhere" | "/admin/security" | "/account/second-factor/remove") => 4,
        ("get", _) => 0,
        // Removing tags changes the ticket; it deletes nothing.
        ("delete", "/api/v2/tickets/{id}/tags") => 1,
        ("delete", _) => 2,
        (_, p) if p.ends_with("/erasure") || p.ends_with("/erase") => 3,
        _ => 1,
    }
}

/// A signed-in (or anonymous) caller.
struct Session {
    api: Option<Tenant>,
    web: Browser,
    csrf: String,
}

async fn session(app: &TestApp, caller: Caller, w: &World) -> Session {
    let api = match caller {
        Caller::Anonymous => None,
        Caller::EndUser => Some(w.end_user.clone()),
        Caller::OtherEndUser => Some(w.other_end_user.clone()),
        Caller::Agent => Some(w.agent.clone()),
        Caller::Officer => Some(w.officer.clone()),
        Caller::Admin => Some(w.admin.clone()),
        Caller::OtherAdmin => Some(w.other_admin.clone()),
    };
    let mut web = match caller {
        Caller::OtherEndUser | Caller::OtherAdmin => Browser::for_host(&app.base, "two.example"),
        _ => Browser::new(app),
    };
    if let Some(who) = &api {
        let page = web.sign_in(&who.email, PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{caller:?} signs in: {}", page.body);
    }
    let csrf = web.get(if api.is_some() { "/account" } else { "/signin" }).await.hidden("csrf");
    Session { api, web, csrf }
}

/// Tries one route as the session's caller; the answer as the matrix writes it.
async fn attempt(app: &TestApp, s: &mut Session, method: &str, path: &str, ids: &HashMap<&'static str, String>) -> (String, String) {
    let url = concrete(method, path, ids);
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let (status, location, said) = if path.starts_with("/api/") {
        let mut r = app.client.request(m, app.url(&url));
        if let Some(who) = &s.api {
            r = r.basic_auth(format!("{}/token", who.email), Some(&who.token));
        }
        r = if path == "/api/v2/uploads" {
            r.query(&[("filename", "matrix.txt")])
                .header("content-type", "text/plain")
                .body(b"matrix".to_vec())
        } else if let Some(b) = api_body(method, path, ids) {
            r.json(&b)
        } else {
            r
        };
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, location, resp.text().await.unwrap_or_default())
    } else if method == "get" {
        let page = s.web.get(&url).await;
        (page.status, page.location().to_string(), page.body)
    } else {
        let mut fields = vec![("csrf", s.csrf.as_str())];
        fields.extend(form(path));
        if path == "/hc/articles/{id}/redact" {
            fields.push(("comment", ids["hc_comment"].as_str()));
        }
        if path == "/agent/tickets/{id}/macro" {
            fields.push(("macro_id", ids["macro"].as_str()));
        }
        let page = s.web.post(&url, &fields).await;
        (page.status, page.location().to_string(), page.body)
    };
    // A page's error message says more than its first lines.
    let said = match said
        .find("role=\"alert\"")
        .or_else(|| said.find("class=\"errors"))
        .or_else(|| said.find("<main"))
    {
        Some(at) => said[at..].chars().take(240).collect(),
        None => said.chars().take(160).collect::<String>(),
    };
    (outcome(status, &location, path), format!("{status} {location} {said}"))
}

async fn run(engine: Engine) {
    let routes = suoja_http::every_route();
    let expected = expected();
    let mut problems = Vec::new();
    for (method, path) in &routes {
        if !expected.contains_key(&(method.to_string(), path.to_string())) {
            problems.push(format!("no row for `{}` `{path}`", method.to_uppercase()));
        }
    }
    for (method, path) in expected.keys() {
        if !routes.iter().any(|(m, p)| m == method && p == path) {
            problems.push(format!("a row for a route that does not exist: `{}` `{path}`", method.to_uppercase()));
        }
    }
    let mut order: Vec<(&str, &str)> = routes.clone();
    order.sort_by_key(|(m, p)| phase(m, p));
    let mut seen: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (column, caller) in CALLERS.into_iter().enumerate() {
        // Mail is set up (its server is nowhere), so the mail pages act on what they are given.
        let mut app = TestApp::spawn_with(engine, |s| {
            s.mail_from = Some("support@one.example".into());
            s.smtp_url = Some("smtp://127.0.0.1:9?tls=none".into());
        })
        .await;
        let w = world(&app).await;
        let mut s = session(&app, caller, &w).await;
        for (method, path) in &order {
            if phase(method, path) == 4 {
                // Each of these ends (or changes) the session: a fresh one for each.
                s = session(&app, caller, &w).await;
            }
            let (got, detail) = attempt(&app, &mut s, method, path, &w.ids).await;
            let key = (method.to_string(), path.to_string());
            if std::env::var_os("SUOJA_MATRIX_DETAIL").is_some() {
                eprintln!("DETAIL {caller:?} {} {path}: {got} {detail}", method.to_uppercase());
            }
            if let Some(want) = expected.get(&key).map(|row| row[column].as_str())
                && want != got
            {
                problems.push(format!(
                    "`{}` `{path}` as {caller:?}: the matrix says {want}, the server answered {got} ({detail})",
                    method.to_uppercase()
                ));
            }
            seen.entry(key).or_insert_with(|| vec![String::new(); CALLERS.len()])[column] = got;
        }
        app.stop_server().await;
    }
    if !problems.is_empty() {
        let mut table = String::new();
        for (method, path) in &routes {
            if let Some(row) = seen.get(&(method.to_string(), path.to_string())) {
                table.push_str(&format!("| `{}` | `{path}` | {} |\n", method.to_uppercase(), row.join(" | ")));
            }
        }
        panic!(
            "{} disagreement(s) with the matrix in docs/SECURITY.md:\n{}\n\nWhat the server answered:\n{table}",
            problems.len(),
            problems.join("\n")
        );
    }
}

mod authorization_matrix {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if pg_url().is_none() {
            eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
            return;
        }
        run(Engine::Postgres).await;
    }
}
