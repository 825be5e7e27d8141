//! The records of processing (Art. 30) over the API: every table of the data map that holds
//! personal data is an activity, a retention policy changed changes the record, the controller
//! and data protection officer come from the tenant's settings (and a breach notification names
//! that officer when the breach names no one), webhooks are listed as recipients by host, and
//! the PDF reads in Finnish.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::engine_test_clocked;

async fn notices(app: &crate::harness::TestApp, user: i64) -> Vec<Value> {
    app.privacy()
        .outbox_for(suoja_core::TenantId(app.t.tenant_id), suoja_core::UserId(user))
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k == "subprocessor_notice")
        .map(|(_, b)| serde_json::from_str::<Value>(b.expose()).unwrap())
        .collect()
}

fn activity<'a>(doc: &'a Value, table: &str) -> &'a Value {
    doc["records_of_processing"]["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["table"] == table)
        .unwrap_or_else(|| panic!("no activity for {table}"))
}

engine_test_clocked!(the_records_cover_the_data_map_and_follow_the_settings, |app, clock| async move {
    let (s, doc) = app.get("/api/v2/privacy/records_of_processing.json").await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    let r = &doc["records_of_processing"];
    // Every table that holds personal data or names people is there, with its purpose and
    // retention, and nothing the map does not declare.
    let listed: Vec<&str> = r["activities"]
        .as_array()
        .unwrap()
        .iter()
        .chain(r["derived"].as_array().unwrap())
        .map(|a| a["table"].as_str().unwrap())
        .collect();
    for t in suoja_privacy::datamap::TABLES {
        let personal = t.is_personal() || !t.subjects.is_empty();
        assert_eq!(listed.contains(&t.name), personal, "{}: in the records = {}", t.name, listed.contains(&t.name));
    }
    for a in r["activities"].as_array().unwrap() {
        assert!(
            !a["purpose"].as_str().unwrap().is_empty() && !a["retention"].as_str().unwrap().is_empty(),
            "{a}"
        );
    }
    let tickets = activity(&doc, "tickets");
    assert_eq!(tickets["people"], json!(["requester", "submitter", "assignee"]));
    assert!(tickets["data"].as_array().unwrap().contains(&json!("content")), "{tickets}");
    assert_eq!(tickets["storage"], json!(["subject_sealed"]));
    assert_eq!(tickets["erasure"], "delete");
    let closed = tickets["retention_in_force"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "closed_tickets")
        .unwrap();
    assert_eq!((closed["after"].as_i64(), closed["unit"].as_str()), (Some(730), Some("days")));

    // A retention policy changed: the record says so.
    let (s, v) = app
        .put(
            "/api/v2/privacy/retention/closed_tickets.json",
            json!({"retention_policy": {"value": 365, "enabled": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, doc) = app.get("/api/v2/privacy/records_of_processing.json").await;
    for table in ["tickets", "comments"] {
        let closed = activity(&doc, table)["retention_in_force"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["policy"] == "closed_tickets")
            .cloned()
            .unwrap();
        assert_eq!((closed["after"].as_i64(), closed["enabled"].as_bool()), (Some(365), Some(true)), "{table}");
    }

    // The controller: the installation's words until the tenant names itself; blanks refused.
    assert_eq!(doc["records_of_processing"]["controller"]["dpo_contact"], "");
    let (s, v) = app.get("/api/v2/privacy/controller.json").await;
    assert_eq!((s, v["controller"].clone()), (StatusCode::OK, Value::Null));
    let (s, v) = app
        .put(
            "/api/v2/privacy/controller.json",
            json!({"controller": {"name": "Esimerkki Oy", "contact": "tietosuoja@example.fi", "dpo_contact": " "}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("dpo_contact"), "{v}");
    let (_, v) = app.get("/api/v2/privacy/controller.json").await;
    assert_eq!(v["controller"], Value::Null, "nothing half-saved");
    let (s, v) = app
        .put(
            "/api/v2/privacy/controller.json",
            json!({"controller": {"name": "Esimerkki Oy", "contact": "tietosuoja@example.fi", "dpo_contact": "Pirjo Tietosuoja, dpo@example.fi"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A webhook is a recipient, named by its host only.
    let (s, v) = app
        .post(
            "/api/v2/webhooks.json",
            json!({"webhook": {"name": "CRM", "endpoint": "https://127.0.0.1:9/hook/secret-path", "subscriptions": ["ticket.created"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, doc) = app.get("/api/v2/privacy/records_of_processing.json").await;
    let r = &doc["records_of_processing"];
    assert_eq!(r["controller"]["name"], "Esimerkki Oy");
    assert_eq!(r["controller"]["dpo_contact"], "Pirjo Tietosuoja, dpo@example.fi");
    assert_eq!(r["recipients"][0]["host"], "127.0.0.1:9", "{r}");
    assert!(!r.to_string().contains("secret-path"), "a webhook's path is not a recipient's name");
    assert!(r["security"].as_array().unwrap().iter().any(|m| m["code"] == "encryption_at_rest"));
    // The ledger notes the change without its values.
    let (_, l) = app.get("/api/v2/privacy/ledger/verify.json").await;
    assert!(l["ledger"]["broken"].is_null(), "{l}");

    // A breach that names no contact point takes the tenant's data protection officer.
    let (_, b) = app
        .post(
            "/api/v2/privacy/breaches.json",
            json!({"breach": {"aware_at": suoja_core::Timestamp(suoja_core::Clock::now(&clock).0).to_iso(), "description": "A lost laptop."}}),
        )
        .await;
    let (s, n) = app.get(&format!("/api/v2/privacy/breaches/{}/notification.json", b["breach"]["id"])).await;
    assert_eq!(s, StatusCode::OK, "{n}");
    assert_eq!(n["notification"]["contact"], "Pirjo Tietosuoja, dpo@example.fi");
    assert_eq!(n["notification"]["controller"], "Esimerkki Oy");
    // Once the authority is told, what it was told stays, whatever the settings say later.
    let bid = b["breach"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/breaches/{bid}/authority_notified.json"),
            json!({"notification": {"reference": "TSV-7"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app
        .put(
            "/api/v2/privacy/controller.json",
            json!({"controller": {"name": "Uusi Nimi Oy", "contact": "tietosuoja@example.fi", "dpo_contact": "Someone Else"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, n) = app.get(&format!("/api/v2/privacy/breaches/{bid}/notification.json")).await;
    assert_eq!(
        (n["notification"]["contact"].as_str(), n["notification"]["controller"].as_str()),
        (Some("Pirjo Tietosuoja, dpo@example.fi"), Some("Esimerkki Oy"))
    );

    // The PDF in Finnish: Finnish headings and table names.
    let res = app
        .req(Method::GET, "/api/v2/privacy/records_of_processing?format=pdf&locale=fi")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = crate::harness::TempDir::new();
    let path = dir.0.join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Ok(out) = std::process::Command::new("pdftotext").arg(&path).arg("-").output() {
        let text = String::from_utf8_lossy(&out.stdout);
        for want in [
            "Seloste käsittelytoimista",
            "Tietosuojavastaava",
            "Pyynnöt (tickets)",
            "Uusi Nimi Oy",
            "365 päivää (käytössä)",
            "pyynnön mukana",
            "Tarkoitus",
        ] {
            assert!(text.contains(want), "{want} missing from the PDF:\n{text}");
        }
    }
    let (s, _) = app.get("/api/v2/privacy/records_of_processing.json?format=docx").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
});

engine_test_clocked!(subprocessors_are_announced_ahead_to_their_subscribers, |app, clock| async move {
    const DAY: i64 = 86_400_000;
    let at = |offset: i64| suoja_core::Timestamp(suoja_core::Clock::now(&clock).0 + offset).to_iso();
    let (s, v) = app
        .put(
            "/api/v2/privacy/controller.json",
            json!({"controller": {"name": "Esimerkki Oy", "contact": "tietosuoja@example.fi", "dpo_contact": "Pirjo, dpo@example.fi", "subprocessor_notice_days": 14}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Aino (Finnish) subscribes; Ted subscribes and stops; Celia never does.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aino Mäkelä", "email": "aino@example.fi", "locale": "fi", "password": "correct horse battery"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let aino = v["user"]["id"].as_i64().unwrap();
    let aino_login = crate::harness::Tenant {
        email: "aino@example.fi".into(),
        token: "correct horse battery".into(),
        admin_id: aino,
        tenant_id: app.t.tenant_id,
    };
    let (ted, ted_login) = app.end_user_with_password("Ted Started", "ted@example.com").await;
    let celia = app.user("Celia Korhonen", "celia@example.fi").await;
    for (who, on) in [(&aino_login, true), (&ted_login, true), (&ted_login, false)] {
        let (s, v) = app
            .call_password(
                who,
                Method::PUT,
                "/api/v2/subprocessors/subscription.json",
                Some(json!({"subscription": {"subscribed": on}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, v) = app
        .call_password(&aino_login, Method::GET, "/api/v2/subprocessors/subscription.json", None)
        .await;
    assert_eq!(v["subscription"]["subscribed"], true);

    // Too soon, or incomplete: refused, nothing saved, nobody told.
    let pilvi = json!({"name": "Pilvi Oy", "service": "Hosting the helpdesk's servers", "location": "Finland", "safeguard": "Processing within the EU"});
    let mut soon = pilvi.clone();
    soon["starts_at"] = json!(at(7 * DAY));
    let mut blank = pilvi.clone();
    blank["name"] = json!("  ");
    for (body, field) in [(soon, "starts_at"), (blank, "name"), (json!({"name": "X"}), "service")] {
        let (s, v) = app.post("/api/v2/privacy/subprocessors.json", json!({ "subprocessor": body })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains(field), "{v}");
    }
    let (_, v) = app.get("/api/v2/privacy/subprocessors.json").await;
    assert_eq!(v["count"], 0, "{v}");
    assert!(notices(&app, aino).await.is_empty());

    // Added: starts when the notice period ends; the subscriber is told, in Finnish, once.
    let (s, v) = app.post("/api/v2/privacy/subprocessors.json", json!({ "subprocessor": pilvi })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["subscribers_told"], 1);
    assert_eq!(v["subprocessor"]["starts_at"], at(14 * DAY));
    let id = v["subprocessor"]["id"].as_i64().unwrap();
    let told = notices(&app, aino).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["subject"], "Uusi alikäsittelijä: Pilvi Oy");
    let text = told[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Esimerkki Oy") && text.contains("Pirjo, dpo@example.fi") && text.contains("/subprocessors"),
        "{text}"
    );
    assert!(
        notices(&app, ted).await.is_empty() && notices(&app, celia).await.is_empty(),
        "only subscribers are told"
    );

    // Public, announced, without signing in; not another tenant's.
    let (s, v) = app.call_anon(Method::GET, "/api/v2/subprocessors.json", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["subprocessors"][0]["name"], "Pilvi Oy");
    let page = app.client.get(app.url("/subprocessors")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Pilvi Oy") && page.contains("announced"), "{page}");
    let other = app.second_tenant("toinen").await;
    let (_, v) = app.call_as(&other, Method::GET, "/api/v2/subprocessors.json", None).await;
    assert_eq!(v["subprocessors"], json!([]));
    let (s, _) = app
        .call_as(&other, Method::GET, &format!("/api/v2/privacy/subprocessors/{id}.json"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // In the records of processing.
    let (_, doc) = app.get("/api/v2/privacy/records_of_processing.json").await;
    assert_eq!(doc["records_of_processing"]["subprocessors"][0]["location"], "Finland");

    // A settings change that leaves the notice period out keeps it.
    let (s, v) = app
        .put(
            "/api/v2/privacy/controller.json",
            json!({"controller": {"name": "Esimerkki Oy", "contact": "tietosuoja@example.fi", "dpo_contact": "Pirjo, dpo@example.fi"}}),
        )
        .await;
    assert_eq!((s, v["controller"]["subprocessor_notice_days"].as_i64()), (StatusCode::OK, Some(14)), "{v}");
    // An API token cannot subscribe someone else.
    let as_aino = crate::harness::Tenant {
        email: "aino@example.fi".into(),
        ..app.t.clone()
    };
    let (s, _) = app
        .call_as(
            &as_aino,
            Method::PUT,
            "/api/v2/subprocessors/subscription.json",
            Some(json!({"subscription": {"subscribed": false}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Changed while its start is a notice period away: announced again; never moved.
    let (s, v) = app
        .put(
            &format!("/api/v2/privacy/subprocessors/{id}.json"),
            json!({"subprocessor": {"starts_at": at(30 * DAY)}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/privacy/subprocessors/{id}.json"),
            json!({"subprocessor": {"location": "Finland and Sweden"}}),
        )
        .await;
    assert_eq!((s, v["subprocessor"]["location"].as_str()), (StatusCode::OK, Some("Finland and Sweden")));
    let told = notices(&app, aino).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told[1]["subject"].as_str().unwrap().contains("muuttui") && told[1]["text"].as_str().unwrap().contains("Finland and Sweden"),
        "{told:?}"
    );
    // Closer to its start than the notice period: a change means removing it and adding anew.
    clock.advance_ms(DAY);
    let (s, v) = app
        .put(
            &format!("/api/v2/privacy/subprocessors/{id}.json"),
            json!({"subprocessor": {"location": "USA"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(notices(&app, aino).await.len(), 2);
    // Removed, it leaves the public list and stays in the register.
    let (s, v) = app.delete(&format!("/api/v2/privacy/subprocessors/{id}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["subprocessor"]["ends_at"].is_string());
    let (s, _) = app.delete(&format!("/api/v2/privacy/subprocessors/{id}.json")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = app.call_anon(Method::GET, "/api/v2/subprocessors.json", None).await;
    assert_eq!(v["subprocessors"], json!([]));
    let (_, v) = app.get("/api/v2/privacy/subprocessors.json").await;
    assert_eq!(v["count"], 1);
    // The ledger has each step, with ids and counts only.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let entries = suoja_store::ledger::page(&mut c, suoja_core::TenantId(app.t.tenant_id), 0, 10_000)
        .await
        .unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).filter(|k| k.starts_with("subprocessor.")).collect();
    assert_eq!(kinds, ["subprocessor.added", "subprocessor.changed", "subprocessor.removed"]);
    assert!(entries.iter().all(|e| !e.details.contains("Pilvi") && !e.details.contains("Finland")));
});

/// The agreement's text: its blocks joined.
fn dpa_text(v: &Value) -> String {
    v["dpa"]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

// The data processing agreement: the shipped template filled in from the controller details,
// with annexes generated from the data map and settings (a changed setting changes Annex 2, a
// new sub-processor appears in Annex 3), in English and Finnish, as JSON, a PDF and a page.
engine_test_clocked!(the_processing_agreement_is_filled_in_from_the_settings, |app, _clock| async move {
    let (s, v) = app.get("/api/v2/privacy/dpa.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let blocks = v["dpa"]["blocks"].as_array().unwrap();
    assert_eq!(blocks[0], json!({"kind": "heading", "text": "Data processing agreement"}));
    let text = dpa_text(&v);
    assert!(
        text.contains("the provider of this Suoja installation") && text.contains("not appointed"),
        "{text}"
    );
    assert!(!text.contains("{{"), "every placeholder filled: {text}");
    assert!(text.contains("Web sessions end after 30 minutes idle"), "{text}");
    assert!(text.contains("None: no sub-processor"), "{text}");

    let (s, v) = app
        .put(
            "/api/v2/privacy/controller.json",
            json!({"controller": {"name": "Esimerkki Oy", "contact": "tietosuoja@example.fi", "dpo_contact": "Pirjo, dpo@example.fi", "subprocessor_notice_days": 0}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/privacy/subprocessors.json",
            json!({"subprocessor": {"name": "Pilvi Oy", "service": "Hosting the helpdesk's servers", "location": "Finland", "safeguard": "Processing within the EU"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .put(
            "/api/v2/account/settings.json",
            json!({"settings": {"security": {"sessions": {"idle_minutes": 45}}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/api/v2/privacy/dpa.json").await;
    let text = dpa_text(&v);
    assert!(
        text.contains("between Esimerkki Oy, the controller") && text.contains("Pirjo, dpo@example.fi"),
        "{text}"
    );
    assert!(
        text.contains("Web sessions end after 45 minutes idle"),
        "a changed setting changes the annex: {text}"
    );
    assert!(text.contains("Pilvi Oy — Hosting the helpdesk's servers; location: Finland"), "{text}");
    assert!(text.contains("Categories of personal data: ") && text.contains("contact details"), "{text}");
    let bullets = v["dpa"]["blocks"].as_array().unwrap().iter().filter(|b| b["kind"] == "bullet").count();
    assert!(bullets > 20, "{bullets}");

    // Finnish, the PDF, bad parameters, and who may read it.
    let (_, fi) = app.get("/api/v2/privacy/dpa.json?locale=fi").await;
    let fi_text = dpa_text(&fi);
    assert!(
        fi_text.starts_with("Henkilötietojen käsittelysopimus") && fi_text.contains("Liite 3. Alikäsittelijät"),
        "{fi_text}"
    );
    assert!(fi_text.contains("Istunnot päättyvät 45 minuutin"), "{fi_text}");
    assert!(
        fi_text.contains("pyytäjät (tukea pyytävät asiakkaat)") && fi_text.contains("tämän Suoja-asennuksen tarjoaja"),
        "{fi_text}"
    );
    assert!(!fi_text.contains("on the ticket of"), "links through tickets are not people: {fi_text}");
    assert!(fi_text.contains("Tarkoitus: Asiakastuki: pyynnön keskustelu"), "purposes in Finnish: {fi_text}");
    assert!(!fi_text.contains("Providing support"), "{fi_text}");
    let pdf = app.req(Method::GET, "/api/v2/privacy/dpa.json?format=pdf&locale=fi").send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    for bad in ["?locale=sv", "?format=docx"] {
        let (s, _) = app.get(&format!("/api/v2/privacy/dpa.json{bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
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
    let (s, _) = app.call_as(&agent, Method::GET, "/api/v2/privacy/dpa.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The console page shows the same text, escaped, with the PDFs a click away.
    let (s, _) = app
        .put(
            &format!("/api/v2/users/{}.json", app.t.admin_id),
            json!({"user": {"password": crate::web::PASSWORD}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut b = crate::web::Browser::new(&app);
    b.sign_in(&app.t.email, crate::web::PASSWORD).await;
    let page = b.get("/privacy/dpa?locale=en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<h1>Data processing agreement</h1>") && page.body.contains("Hosting the helpdesk&#39;s servers"),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"/privacy/dpa.pdf?locale=en\""));
    for path in ["/privacy/dpa.pdf?locale=fi", "/privacy/records.pdf"] {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.body.starts_with("%PDF"), "{path}");
    }
});

// An operator's own agreement, in both languages: its placeholders filled in, its annex lists
// generated; one with an unknown placeholder, an annex that is not alone on its line, or in one
// language only stops the server at start-up, saying why.
crate::engine_test_configured!(
    an_operators_agreement_template_is_used_and_checked,
    |s| {
        let dir = std::env::temp_dir().join(format!("suoja-dpa-{}-{:?}", std::process::id(), std::thread::current().id()));
        std::fs::create_dir_all(&dir).unwrap();
        let annexes = "\n## Who else\n{{annex.subprocessors}}\n\n## How\n{{annex.measures}}\n\n## What\n{{annex.categories}}\n";
        std::fs::write(
            dir.join("en.txt"),
            format!("# Terms of Palvelu Oy\n\nBetween {{{{controller.name}}}} and {{{{processor.name}}}}, in {{{{region}}}}.\n{annexes}"),
        )
        .unwrap();
        std::fs::write(
            dir.join("fi.txt"),
            format!("\u{feff}# Palvelu Oy:n ehdot\n\n{{{{controller.name}}}} ja {{{{processor.name}}}}.\n{annexes}"),
        )
        .unwrap();
        s.privacy_dpa_template = Some(dir.join("en.txt"));
        s.privacy_dpa_template_fi = Some(dir.join("fi.txt"));
        s.privacy_processor = "Palvelu Oy".into();
    },
    |app, _clock| async move {
        let (s, v) = app.get("/api/v2/privacy/dpa.json").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let blocks = v["dpa"]["blocks"].as_array().unwrap();
        assert_eq!(
            blocks[..4],
            [
                json!({"kind": "heading", "text": "Terms of Palvelu Oy"}),
                json!({"kind": "paragraph", "text": "Between the organisation running this helpdesk and Palvelu Oy, in EU."}),
                json!({"kind": "subheading", "text": "Who else"}),
                json!({"kind": "bullet", "text": "None: no sub-processor processes this helpdesk's personal data."}),
            ]
        );
        assert!(blocks.iter().any(|b| b["text"].as_str().unwrap().starts_with("Web sessions end after")), "{v}");
        assert!(
            blocks.iter().any(|b| b["text"].as_str().unwrap().starts_with("Categories of personal data")),
            "{v}"
        );
        let (_, fi) = app.get("/api/v2/privacy/dpa.json?locale=fi").await;
        assert_eq!(fi["dpa"]["blocks"][0], json!({"kind": "heading", "text": "Palvelu Oy:n ehdot"}), "{fi}");
        assert_eq!(
            fi["dpa"]["blocks"][1]["text"], "tätä palvelua käyttävä organisaatio ja Palvelu Oy.",
            "the installation's English default has Finnish of its own"
        );

        let dir = std::env::temp_dir().join(format!("suoja-dpa-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = "# T\n{{annex.categories}}\n{{annex.measures}}\n{{annex.subprocessors}}\n";
        for (en, fi, why) in [
            (format!("Hello {{{{controller.nmae}}}}\n{good}"), good.to_string(), "controller.nmae"),
            (format!("- {{{{annex.measures}}}}\n{good}"), good.to_string(), "alone on its line"),
            ("# No annexes\n".to_string(), good.to_string(), "lacks {{annex.categories}}"),
        ] {
            std::fs::write(dir.join("en.txt"), en).unwrap();
            std::fs::write(dir.join("fi.txt"), fi).unwrap();
            let settings = suoja_config::Settings {
                privacy_dpa_template: Some(dir.join("en.txt")),
                privacy_dpa_template_fi: Some(dir.join("fi.txt")),
                ..suoja_config::Settings::default()
            };
            let e = suoja::app::policy(&settings).unwrap_err().to_string();
            assert!(e.contains("privacy_dpa_template") && e.contains(why), "{e}");
        }
        let settings = suoja_config::Settings {
            privacy_dpa_template: Some(dir.join("fi.txt")),
            ..suoja_config::Settings::default()
        };
        let e = suoja::app::policy(&settings).unwrap_err().to_string();
        assert!(e.contains("set both"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("suoja-dpa-{}-{:?}", std::process::id(), std::thread::current().id())));
    }
);
