//! Access and portability exports: a canary person in every role and surface that exists, the
//! export holding all of their canaries and none of anybody else's identifiers; the JSON valid
//! against the published schema; the PDF's text (by `pdftotext`) matching the data, Finnish and
//! other Latin-extended letters included; the ZIP's files equal to the originals; filters,
//! internal-note policy, the consultation log, a round trip into a fresh tenant, and a data-map
//! table that exists only in this test build.

use std::collections::BTreeMap;
use std::io::Read as _;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_core::{Role, Scope, TenantId, UserId};
use suoja_privacy::export::{Filter, Options, no_progress};

use crate::fixtures::export::{access_request, build, comment_as, pdf_text};
use crate::harness::{Tenant, TestApp};
use crate::{engine_test, engine_test_clocked};

/// Identifiers and content of the canary person A.
const A_NAME: &str = "Åsa Kanaari-Łukasiewicz";
const A_EMAIL: &str = "asa.kanaari@example.fi";
const A_PHONE: &str = "+358 40 123 4567";
const A_CANARIES: &[&str] = &[
    A_NAME,
    A_EMAIL,
    A_PHONE,
    "canary-details-a",
    "canary-notes-a",
    "canary-tag-a",
    "canary-ext-a",
    "canary-uf-a",
    "canary-subj-1 Laskun hyvitys: ä ö å õ ß é ł",
    "canary-body-1 Hei, laskussa on virhe",
    "canary-body-2 Seuraan tätä",
    "canary-t1tag",
    "canary-cf-1",
    "canary-note-a asiakas on harmissaan",
    "canary-file-a.txt",
    "canary-msg-a please send everything",
];
/// Other people's identifiers: never in A's export.
const OTHERS: &[&str] = &[
    "Bertil Börjesson",
    "bertil.b@example.fi",
    "+358 50 765 4321",
    "+358 44 999 8888",
    "canary-b-private",
    "Agnes Agentti",
];

struct World {
    a: i64,
    a_login: Tenant,
    agent_login: Tenant,
    t1: i64,
    t2: i64,
    t3: i64,
    file: Vec<u8>,
}

async fn world(app: &TestApp) -> World {
    let (a, a_login) = app.end_user_with_password(A_NAME, A_EMAIL).await;
    app.user_field("loyalty").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{a}.json"),
            json!({"user": {"phone": A_PHONE, "details": "canary-details-a", "notes": "canary-notes-a", "tags": ["canary-tag-a"], "external_id": "canary-ext-a", "user_fields": {"loyalty": "canary-uf-a"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let b = app.user("Bertil Börjesson", "bertil.b@example.fi").await;
    app.put(&format!("/api/v2/users/{b}.json"), json!({"user": {"phone": "+358 50 765 4321"}}))
        .await;
    let c = app.user("Cecilia Carlsson", "cecilia@example.fi").await;
    app.put(&format!("/api/v2/users/{c}.json"), json!({"user": {"phone": "+358 44 999 8888"}}))
        .await;
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Agnes Agentti", "email": "agnes@support.example", "role": "agent", "password": "agent-password-1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = v["user"]["id"].as_i64().unwrap();
    let agent_login = Tenant {
        email: "agnes@support.example".into(),
        token: "agent-password-1".into(),
        admin_id: agent,
        tenant_id: app.t.tenant_id,
    };

    // T1: A requests it (A writes the description), B is CC'd, the agent answers by name, B
    // mentions C's phone, an internal note is about A, and A attaches a file.
    let (s, v) = app
        .call_password(
            &a_login,
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "canary-subj-1 Laskun hyvitys: ä ö å õ ß é ł", "comment": {"body": "canary-body-1 Hei, laskussa on virhe"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t1 = v["ticket"]["id"].as_i64().unwrap();
    let field = app.text_field("Contract").await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t1}.json"),
            json!({"ticket": {"collaborator_ids": [b], "assignee_id": agent, "tags": ["canary-t1tag"], "priority": "high", "custom_fields": [{"id": field, "value": "canary-cf-1"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    comment_as(
        app,
        t1,
        agent,
        "Hei! Bertil Börjesson (bertil.b@example.fi) on lisätty kopioksi. – Agnes Agentti",
        true,
    )
    .await;
    comment_as(app, t1, b, "Samaa mieltä; soittakaa Cecilialle numeroon +358 44 999 8888", true).await;
    comment_as(app, t1, agent, "canary-note-a asiakas on harmissaan", false).await;
    let file = b"canary-file-a contents \xc3\xa4\xc3\xb6 and bytes \x00\x01\x02".to_vec();
    let up = app
        .client
        .post(app.url("/api/v2/uploads.json?filename=canary-file-a.txt"))
        .basic_auth(&a_login.email, Some(&a_login.token))
        .header("content-type", "text/plain")
        .body(file.clone());
    let (s, v) = crate::harness::send(up).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["upload"]["token"].as_str().unwrap().to_string();
    let (s, v) = app
        .call_password(
            &a_login,
            Method::PUT,
            &format!("/api/v2/tickets/{t1}.json"),
            Some(json!({"ticket": {"comment": {"body": "Liitteenä kuitti", "uploads": [token]}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // T2: B requests it, A is CC'd and comments.
    let t2 = app
        .ticket(b, "Question about the invoice", "The invoice of March looks wrong to me as well")
        .await;
    app.put(&format!("/api/v2/tickets/{t2}.json"), json!({"ticket": {"collaborator_ids": [a]}}))
        .await;
    comment_as(app, t2, a, "canary-body-2 Seuraan tätä", true).await;

    // T3: B's ticket that mentions A's e-mail address; A is not on it.
    let t3 = app.ticket(b, "Another matter", "Please also contact asa.kanaari@example.fi about this").await;
    // T4: B's alone; nothing of it may reach A's export.
    app.ticket(b, "canary-b-private subject", "canary-b-private body").await;

    World {
        a,
        a_login,
        agent_login,
        t1,
        t2,
        t3,
        file,
    }
}

fn validate(doc: &Value) {
    let schema: Value = serde_json::from_str(suoja_privacy::export::SCHEMA).unwrap();
    let v = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "export does not follow the schema: {errors:#?}");
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

engine_test!(the_export_holds_all_of_the_person_and_none_of_anyone_else, |app| async move {
    let w = world(&app).await;
    // An agent reads A's ticket: the next export shows it (role, time, purpose; no name).
    let (s, _) = app
        .call_password(&w.agent_login, Method::GET, &format!("/api/v2/tickets/{}.json", w.t1), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // …and finds her in a list and a search.
    let (s, _) = app.call_password(&w.agent_login, Method::GET, "/api/v2/tickets.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.call_password(&w.agent_login, Method::GET, "/api/v2/search.json?query=laskun", None).await;
    assert_eq!(s, StatusCode::OK);

    let request = access_request(&app, w.a).await;
    let (meta, bytes) = build(&app, request, json!({"format": "json"})).await;
    assert_eq!(meta["format"], "json");
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    validate(&doc);
    let text = serde_json::to_string(&doc).unwrap();
    // serde_json writes UTF-8 without escaping it, so the canaries are searched for as written.
    for c in A_CANARIES {
        assert!(text.contains(c), "the export misses {c:?}");
    }
    assert!(text.contains("canary-file-a.txt"), "the attachment is listed");
    for o in OTHERS {
        assert!(!text.contains(o), "the export leaks another person's {o:?}");
    }
    // The thread stays readable with placeholders.
    let t1 = doc["tickets"].as_array().unwrap().iter().find(|t| t["id"] == w.t1).expect("T1");
    let bodies: Vec<&str> = t1["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert!(
        bodies.iter().any(|b| b.contains("[other person") && b.contains("lisätty kopioksi")),
        "{bodies:?}"
    );
    assert!(bodies.iter().any(|b| b.contains("soittakaa Cecilialle numeroon [other person")), "{bodies:?}");
    assert_eq!(t1["requester"], "you");
    assert!(t1["assignee"].as_str().unwrap().starts_with("Agent #"), "{}", t1["assignee"]);
    assert!(t1["collaborators"][0]["person"].as_str().unwrap().starts_with("[other person"));
    assert!(
        t1["comments"].as_array().unwrap().iter().any(|c| c["public"] == false),
        "internal notes are included by the default policy"
    );
    // T2 (CC'd), never T4; T3 only mentions A, so it is a candidate for review, not yet hers.
    let ids: Vec<i64> = doc["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![w.t1, w.t2]);
    assert!(doc["mentions"].as_array().unwrap().is_empty(), "nothing unreviewed is shipped");
    assert_eq!(doc["mentions_under_review"]["count"], 1);
    assert!(doc["summary"].as_str().unwrap().contains("being reviewed"), "{}", doc["summary"]);
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "a request with mentions under review cannot be fulfilled: {v}");
    let (s, m) = app.get(&format!("/api/v2/privacy/requests/{request}/mentions.json")).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["count"], 1, "{m}");
    let cand = &m["mentions"][0];
    assert_eq!(cand["ticket_id"], w.t3);
    assert_eq!(cand["strength"], "strong");
    assert_eq!(cand["classes"], json!(["email"]));
    assert_eq!(cand["state"], "pending");
    assert_eq!(cand["passages"], json!([format!("Please also contact {A_EMAIL} about this")]));
    let decide = |id: &Value| json!({"mention": {"id": id, "decision": "accept"}});
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/mentions"), decide(&cand["id"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mention"]["state"], "accepted");
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/mentions"), decide(&cand["id"])).await;
    assert_eq!(s, StatusCode::CONFLICT, "a decision is final: {v}");
    let (s, _) = app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "the package predates the decision");
    // Accepted: the passage (never the whole comment) is in the next export.
    let (_, bytes) = build(&app, request, json!({"format": "json"})).await;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    validate(&doc);
    assert_eq!(doc["mentions"].as_array().unwrap().len(), 1);
    assert_eq!(doc["mentions"][0]["ticket_id"], w.t3);
    assert_eq!(doc["mentions"][0]["passages"], cand["passages"]);
    assert_eq!(doc["mentions_under_review"]["count"], 0);
    // The consultation log: the agent's look, by role.
    let looks = doc["privacy"]["consultations"].as_array().unwrap();
    for action in ["ticket.viewed", "ticket.listed", "search.result"] {
        assert!(
            looks.iter().any(|c| c["role"] == "agent" && c["action"] == action && c["purpose"] == "support"),
            "{action}: {looks:?}"
        );
    }
    assert!(
        looks.iter().all(|c| c.get("actor_id").is_none() && c.get("actor").is_none()),
        "staff identities are withheld: {looks:?}"
    );
    // The Art. 15 information: every item present.
    let info = &doc["information"];
    for k in ["purposes", "categories", "retention", "rights"] {
        assert!(!info[k].as_array().unwrap().is_empty(), "{k}");
    }
    for k in ["source", "complaint", "automated_decisions", "transfers", "legal_basis"] {
        assert!(!info[k].as_str().unwrap().is_empty(), "{k}");
    }
    // What was withheld is in the export and recorded with the request.
    assert!(doc["withheld"]["items"].as_array().unwrap().iter().any(|i| i["reason"] == "third_party"));
    let (_, r) = app.get(&format!("/api/v2/privacy/requests/{request}.json")).await;
    assert_eq!(r["request"]["withheld"], doc["withheld"]);

    // The ZIP: README, JSON, PDF and the original file, byte for byte.
    let (_, zip_bytes) = build(&app, request, json!({"format": "zip"})).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
    names.sort();
    assert!(
        names.contains(&"export.json".to_string()) && names.contains(&"export.pdf".to_string()) && names.contains(&"README.txt".to_string()),
        "{names:?}"
    );
    let att = &t1["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| !c["attachments"].as_array().unwrap().is_empty())
        .unwrap()["attachments"][0];
    let mut f = zip.by_name(att["file"].as_str().unwrap()).unwrap();
    let mut got = Vec::new();
    f.read_to_end(&mut got).unwrap();
    assert_eq!(got, w.file);
    use sha2::Digest as _;
    assert_eq!(att["sha256"], hex::encode(sha2::Sha256::digest(&w.file)));
    drop(f);

    // The PDF: its text is the data, letters as written; nobody else's identifiers.
    let (_, pdf) = build(&app, request, json!({"format": "pdf"})).await;
    assert!(pdf.starts_with(b"%PDF-"));
    let text = squash(&pdf_text(&pdf));
    for c in [
        A_NAME,
        A_EMAIL,
        "canary-subj-1 Laskun hyvitys: ä ö å õ ß é ł",
        "canary-body-1 Hei, laskussa on virhe",
        "canary-body-2 Seuraan tätä",
        "canary-note-a asiakas on harmissaan",
        "canary-file-a.txt",
        "Internal note",
        "Public reply",
        "Contents",
    ] {
        assert!(text.contains(c), "the PDF misses {c:?}");
    }
    for o in OTHERS {
        assert!(!text.contains(o), "the PDF leaks {o:?}");
    }

    // The person downloads their own package; nobody else can.
    let (_, list) = app.get(&format!("/api/v2/privacy/requests/{request}/exports.json")).await;
    let url = list["exports"][0]["download_url"].as_str().unwrap().to_string();
    let mine = app.client.get(&url).basic_auth(&w.a_login.email, Some(&w.a_login.token)).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::OK);
    let stranger = app
        .client
        .get(&url)
        .basic_auth(&w.agent_login.email, Some(&w.agent_login.token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stranger.status(),
        StatusCode::NOT_FOUND,
        "an agent who is not a privacy officer cannot download"
    );
    let (s, _) = app.get("/api/v2/privacy/exports/00000000000000000000000000000000/download").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Fulfilment closes the request; every step is in the ledger and the ledger verifies.
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["status"], "fulfilled");
    let (s, v) = app.get("/api/v2/privacy/ledger/verify.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["ledger"]["broken"], Value::Null, "{v}");
    assert!(v["ledger"]["entries"].as_i64().unwrap() >= 8);
});

fn projection(doc: &Value) -> Value {
    let p = &doc["subject"];
    let tickets: Vec<Value> = doc["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["your_roles"].as_array().unwrap().iter().any(|r| r == "requester"))
        .map(|t| {
            json!({
                "subject": t["subject"], "description": t["description"], "status": t["status"], "priority": t["priority"],
                "type": t["type"], "tags": t["tags"],
                // Field ids are each helpdesk's own; a value keeps its field's title.
                "custom_fields": t["custom_fields"].as_array().unwrap().iter().map(|f| json!([f["title"], f["value"]])).collect::<Vec<_>>(),
                "mine": t["comments"].as_array().unwrap().iter().filter(|c| c["by_you"] == true).map(|c| json!({
                    "body": c["body"], "public": c["public"],
                    "files": c["attachments"].as_array().unwrap().iter().map(|a| json!([a["file_name"], a["sha256"]])).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "profile": {"name": p["name"], "email": p["email"], "phone": p["phone"], "details": p["details"], "locale": p["locale"], "time_zone": p["time_zone"], "tags": p["tags"]},
        "tickets": tickets,
    })
}

engine_test!(a_portability_export_round_trips_into_a_fresh_tenant, |app| async move {
    let w = world(&app).await;
    let scope = app.admin_scope();
    let export = app
        .privacy()
        .export(&scope, UserId(w.a), None, &Options::default(), &no_progress)
        .await
        .unwrap();
    validate(&export.doc);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for f in &export.files {
        let bytes = app.privacy().read_export_file(scope.tenant, f).await.unwrap().expect("a readable file");
        files.insert(f.path.clone(), bytes);
    }

    let two = app.second_tenant("two").await;
    let scope_two = Scope {
        tenant: TenantId(two.tenant_id),
        actor: UserId(two.admin_id),
        role: Role::Admin,
        privacy_officer: false,
        token: None,
    };
    let imported = app.privacy().import_export(&scope_two, &export.doc, &files).await.unwrap();
    let again = app
        .privacy()
        .export(&scope_two, imported, None, &Options::default(), &no_progress)
        .await
        .unwrap();
    validate(&again.doc);
    assert_eq!(projection(&again.doc), projection(&export.doc));
    assert!(!projection(&export.doc)["tickets"].as_array().unwrap().is_empty());
    let _ = (w.t2, w.t3);
});

engine_test!(filters_and_the_internal_note_policy, |app| async move {
    let w = world(&app).await;
    let scope = app.admin_scope();
    let ids = |doc: &Value| doc["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let run = |filter, notes| {
        let p = app.privacy().clone();
        let a = UserId(w.a);
        async move {
            p.export(
                &scope,
                a,
                None,
                &Options {
                    filter,
                    include_internal_notes: notes,
                },
                &no_progress,
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(ids(&run(Filter::Requested, None).await.doc), vec![w.t1]);
    assert_eq!(ids(&run(Filter::Ccd, None).await.doc), vec![w.t2]);
    assert_eq!(ids(&run(Filter::Commented, None).await.doc), vec![w.t1, w.t2]);
    // The person's own reply, made a note by staff since, is still theirs to have.
    let (s, v) = app
        .call_password(
            &w.a_login,
            Method::PUT,
            &format!("/api/v2/requests/{}.json", w.t1),
            Some(json!({"request": {"comment": {"body": "canary-own-words-a"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, all) = app.get(&format!("/api/v2/tickets/{}/comments.json", w.t1)).await;
    let own = all["comments"].as_array().unwrap().iter().find(|c| c["body"] == "canary-own-words-a").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, v) = app
        .call(Method::PUT, &format!("/api/v2/tickets/{}/comments/{own}/make_private.json", w.t1), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let without = run(Filter::All, Some(false)).await;
    validate(&without.doc);
    let text = serde_json::to_string(&without.doc).unwrap();
    assert!(!text.contains("canary-note-a"));
    assert!(text.contains("canary-own-words-a"), "the person's own words stay in their export");
    assert_eq!(without.doc["options"]["internal_notes_included"], false);
    let item = without.doc["withheld"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reason"] == "internal_note")
        .cloned()
        .expect("withheld notes are counted");
    assert_eq!(item["count"], 1);
    // People may not choose for themselves whether internal notes are included.
    let (s, v) = app
        .call_password(
            &w.a_login,
            Method::POST,
            "/api/v2/privacy/requests",
            Some(json!({"request": {"kind": "access"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let own = v["request"]["id"].as_i64().unwrap();
    let (s, _) = app
        .call_password(
            &w.a_login,
            Method::POST,
            &format!("/api/v2/privacy/requests/{own}/exports"),
            Some(json!({"export": {"format": "json", "include_internal_notes": false}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .call_password(
            &w.a_login,
            Method::POST,
            &format!("/api/v2/privacy/requests/{own}/exports"),
            Some(json!({"export": {"format": "json"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
});

engine_test!(a_person_with_no_data_and_exports_requested_twice_at_once, |app| async move {
    let nobody = app.user("Noora Nobody", "noora@example.fi").await;
    let request = access_request(&app, nobody).await;
    let (_, bytes) = build(&app, request, json!({"format": "json"})).await;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    validate(&doc);
    assert!(doc["summary"].as_str().unwrap().contains("we hold no data about you"), "{}", doc["summary"]);
    assert_eq!(doc["tickets"], json!([]));
    // Two builds at once: each answer is a package or a clear conflict, never an error or a
    // half-written package.
    let path = format!("/api/v2/privacy/requests/{request}/exports.json");
    let a = app.post(&path, json!({"export": {"format": "zip"}}));
    let b = app.post(&path, json!({"export": {"format": "zip"}}));
    let ((sa, _), (sb, _)) = tokio::join!(a, b);
    for s in [sa, sb] {
        assert!(s == StatusCode::CREATED || s == StatusCode::CONFLICT, "{s}");
    }
    let built = [sa, sb].iter().filter(|s| **s == StatusCode::CREATED).count();
    assert!(built >= 1);
    let (_, list) = app.get(&format!("/api/v2/privacy/requests/{request}/exports.json")).await;
    assert_eq!(list["exports"].as_array().unwrap().len(), 1 + built);
    // Erasure and rectification requests have no export.
    let (_, v) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "erasure", "subject_id": nobody}}))
        .await;
    let erase = v["request"]["id"].as_i64().unwrap();
    app.post(&format!("/api/v2/privacy/requests/{erase}/verify"), json!({"note": "n"})).await;
    let (s, _) = app.post(&format!("/api/v2/privacy/requests/{erase}/exports.json"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Unverified requests neither.
    let (_, v) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "access", "subject_id": nobody}}))
        .await;
    let unverified = v["request"]["id"].as_i64().unwrap();
    let (s, _) = app.post(&format!("/api/v2/privacy/requests/{unverified}/exports.json"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .post(
            &format!("/api/v2/privacy/requests/{unverified}/exports.json"),
            json!({"export": {"format": "docx"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
});

// A table declared only here, in the test build: the subject graph and the export cover it with
// no change to the privacy engine.
engine_test!(a_table_declared_only_in_the_test_build_is_covered, |app| async move {
    use suoja_privacy::datamap::{Category, Column, Erasure, Storage, TABLES, Table, user};
    let w = world(&app).await;
    let db = app.helpdesk().db();
    let ddl = match app.engine {
        crate::harness::Engine::Sqlite => {
            "CREATE TABLE loyalty_notes (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, user_id INTEGER NOT NULL, note_enc BLOB NOT NULL)"
        }
        crate::harness::Engine::Postgres => {
            "CREATE TABLE loyalty_notes (id BIGINT PRIMARY KEY, tenant_id BIGINT NOT NULL, user_id BIGINT NOT NULL, note_enc BYTEA NOT NULL)"
        }
    };
    sqlx::query(ddl).execute(db.write_pool()).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let key = suoja_store::users::by_id(&mut tx, TenantId(app.t.tenant_id), UserId(w.a))
        .await
        .unwrap()
        .unwrap()
        .key_id;
    let sealed = app
        .helpdesk()
        .vault()
        .encrypt_str(&mut tx, TenantId(app.t.tenant_id), key, "canary-loyalty-a gold member")
        .await
        .unwrap();
    sqlx::query("INSERT INTO loyalty_notes (id, tenant_id, user_id, note_enc) VALUES ($1, $2, $3, $4)")
        .bind(1_i64)
        .bind(app.t.tenant_id)
        .bind(w.a)
        .bind(sealed)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    const EXTRA: Table = Table {
        name: "loyalty_notes",
        purpose: "Loyalty programme notes (declared by a test)",
        purpose_fi: "Kanta-asiakasohjelman muistiinpanot (testin ilmoittama)",
        subjects: &[user("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "test",
        retention_fi: "testi",
        derived: false,
        columns: &[
            Column {
                name: "id",
                category: Category::None,
                storage: Storage::Plain,
                text: None,
            },
            Column {
                name: "tenant_id",
                category: Category::None,
                storage: Storage::Plain,
                text: None,
            },
            Column {
                name: "user_id",
                category: Category::None,
                storage: Storage::Plain,
                text: None,
            },
            Column {
                name: "note_enc",
                category: Category::Content,
                storage: Storage::SubjectSealed,
                text: None,
            },
        ],
    };
    let mut map: Vec<Table> = TABLES.to_vec();
    map.push(EXTRA);
    let scope = app.admin_scope();
    let with = app
        .privacy()
        .export_with_map(&scope, UserId(w.a), None, &Options::default(), &map, &no_progress)
        .await
        .unwrap();
    validate(&with.doc);
    assert_eq!(
        with.doc["records"]["loyalty_notes"][0]["note"], "canary-loyalty-a gold member",
        "{}",
        with.doc["records"]
    );
    assert!(
        with.doc["information"]["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "Loyalty programme notes (declared by a test)")
    );
    let without = app
        .privacy()
        .export(&scope, UserId(w.a), None, &Options::default(), &no_progress)
        .await
        .unwrap();
    assert!(without.doc["records"].get("loyalty_notes").is_none());
    let fp = app.privacy().footprint(TenantId(app.t.tenant_id), UserId(w.a), &map).await.unwrap();
    assert_eq!(fp.rows("loyalty_notes").len(), 1);
});

engine_test!(the_export_command_writes_each_format, |app| async move {
    let w = world(&app).await;
    let dir = crate::harness::TempDir::new();
    for format in ["json", "pdf", "zip"] {
        let out = dir.0.join(format!("a.{format}"));
        let o = app.cli(&[
            "export",
            "--subject",
            A_EMAIL,
            "--format",
            format,
            "--filter",
            "requested",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("1 ticket(s)"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        let bytes = std::fs::read(&out).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        }
        match format {
            "json" => {
                let doc: Value = serde_json::from_slice(&bytes).unwrap();
                validate(&doc);
                assert_eq!(doc["tickets"][0]["id"], w.t1);
            }
            "pdf" => {
                let text = squash(&pdf_text(&bytes));
                assert!(text.contains("canary-subj-1 Laskun hyvitys: ä ö å õ ß é ł"), "{text}");
                if let Ok(keep) = std::env::var("SUOJA_KEEP_EXPORT_PDF") {
                    std::fs::write(keep, &bytes).unwrap();
                }
            }
            _ => assert!(bytes.starts_with(b"PK")),
        }
    }
    let o = app.cli(&["export", "--subject", "nobody@example.fi", "--format", "json"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nobody with that e-mail address"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = app.cli(&["export", "--subject", "not-an-address", "--format", "json"]);
    assert!(!o.status.success());
    let o = app.cli(&["export", "--subject", A_EMAIL, "--format", "docx"]);
    assert!(!o.status.success());
    // The command's exports are in the ledger like any other.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let built = suoja_store::ledger::for_subject(&mut c, TenantId(app.t.tenant_id), w.a)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "export.built" && e.actor == Some(0))
        .count();
    assert_eq!(built, 3);
});

engine_test_clocked!(packages_expire_and_are_deleted_and_large_files_travel_whole, |app, clock| async move {
    let (p, login) = app.end_user_with_password("Pia Pöntinen", "pia@example.fi").await;
    let big: Vec<u8> = (0..12 * 1024 * 1024_u32)
        .map(|i| u8::try_from((i.wrapping_mul(2_654_435_761) >> 13) & 0xff).unwrap())
        .collect();
    let up = app
        .client
        .post(app.url("/api/v2/uploads.json?filename=scan.bin"))
        .basic_auth(&login.email, Some(&login.token))
        .header("content-type", "application/octet-stream")
        .body(big.clone());
    let (s, v) = crate::harness::send(up).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["upload"]["token"].as_str().unwrap().to_string();
    let (s, _) = app
        .call_password(
            &login,
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "Skannaus", "comment": {"body": "Liitteenä", "uploads": [token]}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let request = access_request(&app, p).await;
    let (meta, zip_bytes) = build(&app, request, json!({"format": "zip"})).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let name = zip
        .file_names()
        .map(|n| n.unwrap().to_string())
        .find(|n| n.ends_with("scan.bin"))
        .expect("the file is in the ZIP");
    let mut got = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut got).unwrap();
    assert!(got == big, "the file travels byte for byte");
    // The package is kept in chunks of 1 MiB, sealed: no stretch of the file is stored as it is.
    {
        let mut c = app.helpdesk().db().read().await.unwrap();
        let chunks: Vec<Vec<u8>> = sqlx::query_scalar("SELECT content_enc FROM export_chunks ORDER BY seq")
            .fetch_all(&mut c)
            .await
            .unwrap();
        assert!(chunks.len() >= 12, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|ch| ch.len() <= 1024 * 1024 + 16));
        let probe = &big[5_000_000..5_000_064];
        assert!(!chunks.iter().any(|ch| ch.windows(probe.len()).any(|w| w == probe)), "a chunk holds plaintext");
    }

    // Seven days later the package is gone: not downloadable, and deleted by the sweep.
    let url = meta["download_url"].as_str().unwrap().to_string();
    clock.advance_ms(7 * 86_400_000 + 1000);
    let resp = app.req(Method::GET, &url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (_, list) = app.get(&format!("/api/v2/privacy/requests/{request}/exports.json")).await;
    assert_eq!(list["exports"], json!([]));
    assert_eq!(app.privacy().purge_expired_packages().await.unwrap(), 1);
    let mut c = app.helpdesk().db().read().await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM export_packages").fetch_one(&mut c).await.unwrap();
    assert_eq!(left, 0);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM export_chunks").fetch_one(&mut c).await.unwrap();
    assert_eq!(left, 0, "the chunks go with their package");
});
