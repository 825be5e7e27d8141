//! Redaction (issue: irreversible redaction): a phrase in a plain comment, a phrase marked with
//! `<redact>` tags in an HTML comment, the description, the subject, a custom field, a file and a
//! call recording are redacted through the API; afterwards no API surface, search, export or
//! byte of the data directory (database files, WAL, free pages; PostgreSQL's cluster) holds the
//! text, the old ciphertext is gone from the SQLite files, and the ticket's history records each
//! redaction without the text. Bad input is refused with nothing changed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_privacy::scan::{Canary, scan};

use crate::engine_test;
use crate::fixtures::disk::surfaces;
use crate::fixtures::export::{access_request, build};
use crate::harness::TestApp;

const MARK: &str = "\u{2587}";

async fn comments(app: &TestApp, ticket: i64) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["comments"].as_array().unwrap().clone()
}

struct Fixture {
    ticket: i64,
    requester: i64,
    /// [description, plain phrase comment, html comment, files comment]
    comment_ids: Vec<i64>,
    file: i64,
    recording: i64,
    /// The two text fields the ticket fills in.
    fields: (i64, i64),
    words: Words,
}

/// Unique words (the search index splits on punctuation, so each is one token).
struct Words {
    subject: String,
    description: String,
    plain: String,
    html: String,
    field: String,
    file: String,
    audio: String,
    kept: String,
}

impl Words {
    fn redacted(&self) -> Vec<&String> {
        vec![&self.subject, &self.description, &self.plain, &self.html, &self.field, &self.file, &self.audio]
    }
}

async fn fixture(app: &TestApp) -> Fixture {
    let tag = suoja_core::random::hex_id();
    let tag = tag.get(..8).unwrap_or("0");
    let w = Words {
        subject: format!("aiheSalaisuus{tag}"),
        description: format!("kuvausSalaisuus{tag}"),
        plain: format!("korttinumero{tag}"),
        html: format!("htmlSalaisuus{tag}"),
        field: format!("kenttaSalaisuus{tag}"),
        file: format!("tiedostoSisalto{tag}"),
        audio: format!("aaniSisalto{tag}"),
        kept: format!("pysyva{tag}"),
    };
    let requester = app.user("Riikka Redaktio", &format!("riikka.{tag}@example.fi")).await;
    let fields = (app.text_field("Reference").await, app.text_field("Kept").await);
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": requester, "subject": format!("Order {} {}", w.subject, w.kept),
                "comment": {"body": format!("My number is {} and {}", w.description, w.kept)},
                "custom_fields": [{"id": fields.0, "value": format!("{} ok", w.field)}, {"id": fields.1, "value": w.kept}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    let put = |body: Value| {
        let path = format!("/api/v2/tickets/{ticket}.json");
        async move {
            let (s, v) = app.put(&path, json!({"ticket": {"comment": body}})).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    };
    put(json!({"body": format!("Card {} then again {}. {}", w.plain, w.plain, w.kept), "public": true})).await;
    put(json!({"html_body": format!("<p>Call me at <b>{}</b> today, {}</p>", w.html, w.kept), "public": false})).await;
    let file = app.upload("statement.txt", "text/plain", w.file.as_bytes()).await;
    let audio = app.upload("call.mp3", "audio/mpeg", w.audio.as_bytes()).await;
    put(json!({"body": "files attached", "uploads": [file, audio]})).await;
    let list = comments(app, ticket).await;
    let comment_ids: Vec<i64> = list.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(comment_ids.len(), 4);
    let files = list[3]["attachments"].as_array().unwrap();
    Fixture {
        ticket,
        requester,
        comment_ids,
        file: files[0]["id"].as_i64().unwrap(),
        recording: files[1]["id"].as_i64().unwrap(),
        fields,
        words: w,
    }
}

/// `PUT …/comments/{comment}/attachments/{attachment}/redact` on ticket `ticket`.
async fn redact_file(app: &TestApp, ticket: i64, comment: i64, attachment: i64) -> (StatusCode, Value) {
    app.put(
        &format!("/api/v2/tickets/{ticket}/comments/{comment}/attachments/{attachment}/redact.json"),
        json!({}),
    )
    .await
}

async fn search_count(app: &TestApp, word: &str) -> u64 {
    let (s, v) = app.get(&format!("/api/v2/search.json?query={word}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["count"].as_u64().unwrap()
}

async fn stored_comment(app: &TestApp, id: i64) -> suoja_store::comments::CommentRow {
    let mut c = app.helpdesk().db().read().await.unwrap();
    suoja_store::comments::by_id(&mut c, suoja_core::TenantId(app.t.tenant_id), suoja_core::CommentId(id))
        .await
        .unwrap()
        .unwrap()
}

engine_test!(redaction_is_irreversible_everywhere, |app| async move {
    let f = fixture(&app).await;
    let w = &f.words;
    let t = f.ticket;
    for word in w.redacted().into_iter().filter(|x| ![&w.file, &w.audio, &w.field].contains(x)) {
        assert_eq!(search_count(&app, word).await, 1, "{word} is searchable before");
    }
    // An export package of the requester exists, holding the text.
    let request = access_request(&app, f.requester).await;
    let (package, bytes) = build(&app, request, json!({"format": "json"})).await;
    assert!(String::from_utf8(bytes).unwrap().contains(&w.plain), "the export holds the text before");
    let old_download = package["download_url"].as_str().unwrap().to_string();
    // The sealed bytes the plain comment was stored as: the scan finds them before.
    let before = stored_comment(&app, f.comment_ids[1]).await;
    let old_cipher = vec![Canary::raw("old ciphertext", before.body_enc[before.body_enc.len() - 48..].to_vec())];
    assert!(
        !scan(&surfaces(&app).await, &old_cipher).unwrap().hits.is_empty(),
        "the scan sees the stored ciphertext"
    );

    // Plain comment by text: every occurrence.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}/comments/{}/redact.json", f.comment_ids[1]),
            json!({"text": w.plain}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let marks = MARK.repeat(w.plain.chars().count());
    assert_eq!(v["comment"]["body"], format!("Card {marks} then again {marks}. {}", w.kept));
    // HTML comment by tags, in Zendesk's shape.
    let html = comments(&app, t).await[2]["html_body"].as_str().unwrap().to_string();
    let tagged = html.replace(&w.html, &format!("<redact>{}</redact>", w.html));
    assert_ne!(tagged, html);
    let (s, v) = app
        .put(
            &format!("/api/v2/comment_redactions/{}.json", f.comment_ids[2]),
            json!({"ticket_id": t, "html_body": tagged}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["comment"]["html_body"].as_str().unwrap().contains(&MARK.repeat(w.html.chars().count())),
        "{v}"
    );
    assert!(v["comment"]["body"].as_str().unwrap().contains(&w.kept), "the rest stays: {v}");
    // The first comment, and with it the description.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}/comments/{}/redact.json", f.comment_ids[0]),
            json!({"text": w.description}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Subject and custom fields: a phrase in one, the whole value of another.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{t}/redact.json"),
            json!({"redaction": {"subject": w.subject, "custom_fields": [{"id": f.fields.0, "text": w.field}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["ticket"]["subject"].as_str().unwrap().contains(&w.kept), "{v}");
    // A file: placeholder; a call recording: metadata kept, media gone.
    let (s, v) = redact_file(&app, t, f.comment_ids[3], f.file).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["attachment"]["file_name"], "redacted.txt");
    assert_eq!(v["attachment"]["size"], 0);
    let (s, v) = redact_file(&app, t, f.comment_ids[3], f.recording).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["attachment"]["file_name"], "call.mp3");
    assert_eq!(v["attachment"]["content_type"], "audio/mpeg");
    assert_eq!(v["attachment"]["size"], w.audio.len());
    for id in [f.file, f.recording] {
        let r = app.req(Method::GET, &format!("/api/v2/attachments/{id}/content")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.bytes().await.unwrap().is_empty(), "attachment {id} has no content left");
    }

    // Every API surface: none of the redacted words, the kept word still there.
    let mut surfaces_text = String::new();
    for path in [
        format!("/api/v2/tickets/{t}.json"),
        format!("/api/v2/tickets/{t}/comments.json"),
        "/api/v2/incremental/tickets/cursor.json?start_time=0".to_string(),
        format!("/api/v2/tickets/{t}/audits.json"),
    ] {
        let (s, v) = app.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        surfaces_text.push_str(&v.to_string());
    }
    for word in w.redacted() {
        assert!(!surfaces_text.contains(word.as_str()), "{word} is still shown");
        assert_eq!(search_count(&app, word).await, 0, "{word} is still searchable");
    }
    assert!(surfaces_text.contains(&w.kept));
    assert_eq!(search_count(&app, &w.kept).await, 1, "the rest stays searchable");
    let custom = app.get(&format!("/api/v2/tickets/{t}.json")).await.1["ticket"]["custom_fields"].clone();
    assert!(custom.to_string().contains(&w.kept), "the other field is untouched: {custom}");

    // The export that held the text is gone; a new one has none of it.
    let r = app.req(Method::GET, &old_download).send().await.unwrap();
    assert_ne!(r.status(), StatusCode::OK, "the old package cannot be downloaded any more");
    let (_, bytes) = build(&app, request, json!({"format": "json"})).await;
    let doc = String::from_utf8(bytes).unwrap();
    for word in w.redacted() {
        assert!(!doc.contains(word.as_str()), "{word} in the new export");
    }
    assert!(doc.contains(&w.kept));

    // The history: one event per redaction, by the admin, without the text.
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}/audits.json")).await;
    let redactions: Vec<&Value> = v["audits"].as_array().unwrap().iter().filter(|a| !redaction_kinds(a).is_empty()).collect();
    let kinds: Vec<String> = redactions.iter().flat_map(|a| redaction_kinds(a)).collect();
    assert_eq!(
        kinds,
        [
            "CommentRedactionEvent",
            "CommentRedactionEvent",
            "CommentRedactionEvent",
            "SubjectRedactionEvent",
            "CustomFieldRedactionEvent",
            "AttachmentRedactionEvent",
            "VoiceRecordingRedactionEvent"
        ]
    );
    assert!(redactions.iter().all(|a| a["author_id"] == app.t.admin_id));

    // Bytes: no redacted word in any encoding anywhere in the data directory (or the cluster),
    // and not the old ciphertext either (SQLite: secure_delete and the truncated WAL;
    // PostgreSQL: the redaction's VACUUM compacted the page and the WAL segment was retired).
    let mut canaries: Vec<Canary> = w.redacted().into_iter().map(|x| Canary::text("redacted", x.clone())).collect();
    canaries.extend(old_cipher);
    let report = scan(&surfaces(&app).await, &canaries).unwrap();
    assert!(report.hits.is_empty(), "{:#?}", crate::fixtures::disk::described(&app, &report).await);
});

engine_test!(redaction_refuses_bad_input_and_changes_nothing, |app| async move {
    let f = fixture(&app).await;
    let w = &f.words;
    let t = f.ticket;
    let c1 = f.comment_ids[1];
    let before = comments(&app, t).await;
    let redact = |ticket: i64, comment: i64, body: Value| {
        let path = format!("/api/v2/tickets/{ticket}/comments/{comment}/redact.json");
        let app = &app;
        async move { app.put(&path, body).await }
    };
    for (body, want) in [
        (json!({"text": "not in the comment at all"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"text": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"text": "   "}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"text": ["a"]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"text": w.plain, "extra": 1}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, v) = redact(t, c1, body.clone()).await;
        assert_eq!(s, want, "{body}: {v}");
        assert!(v["error"].is_string() || v["details"].is_object(), "{v}");
    }
    // Unknown ids, a comment of another ticket, another tenant, an end user.
    let other_ticket = app.ticket(f.requester, "other", "other body").await;
    for (ticket, comment) in [(t, 999_999), (999_999, c1), (other_ticket, c1)] {
        let (s, v) = redact(ticket, comment, json!({"text": w.plain})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{ticket}/{comment}: {v}");
    }
    let other = app.second_tenant("redaction-two").await;
    let (s, _) = app
        .call_as(
            &other,
            Method::PUT,
            &format!("/api/v2/tickets/{t}/comments/{c1}/redact.json"),
            Some(json!({"text": w.plain})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, end_user) = app.end_user_with_password("Eero Enduser", "eero.redact@example.fi").await;
    let (s, _) = app
        .call_password(
            &end_user,
            Method::PUT,
            &format!("/api/v2/tickets/{t}/comments/{c1}/redact.json"),
            Some(json!({"text": w.plain})),
        )
        .await;
    assert!(s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND, "{s}");
    // <redact> tags: nested, overlapping, unclosed, empty, none, or text changed elsewhere.
    let html = before[2]["html_body"].as_str().unwrap().to_string();
    let c2 = f.comment_ids[2];
    for tagged in [
        html.replacen(&w.html, &format!("<redact>{}<redact>x</redact></redact>", w.html), 1),
        html.replacen(&w.html, &format!("<redact>{}", w.html), 1),
        html.replacen(&w.html, &format!("{}</redact>", w.html), 1),
        html.replacen(&w.html, &format!("<redact></redact>{}", w.html), 1),
        html.clone(),
        html.replacen(&w.html, &format!("<redact>{}</redact> extra words", w.html), 1),
    ] {
        let (s, v) = app
            .put(&format!("/api/v2/comment_redactions/{c2}.json"), json!({"ticket_id": t, "html_body": tagged}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{tagged}: {v}");
    }
    let (s, v) = app
        .put(
            &format!("/api/v2/comment_redactions/{c2}.json"),
            json!({"ticket_id": other_ticket, "html_body": html.replacen(&w.html, &format!("<redact>{}</redact>", w.html), 1)}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "comment of another ticket: {v}");
    // Subject and fields: text not there, unknown field, nothing named.
    for body in [
        json!({"redaction": {"subject": "not in the subject"}}),
        json!({"redaction": {"custom_fields": [{"id": 9999}]}}),
        json!({"redaction": {"custom_fields": [{"id": f.fields.0, "text": "absent"}]}}),
        json!({"redaction": {}}),
        json!({"redaction": {"custom_fields": "3601"}}),
    ] {
        let (s, v) = app.put(&format!("/api/v2/tickets/{t}/redact.json"), body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    // Nothing changed by any of it, and no history.
    assert_eq!(comments(&app, t).await, before);
    let (s, v) = app.get(&format!("/api/v2/tickets/{t}/audits.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["audits"].as_array().is_some_and(|a| !a.is_empty()), "the ticket's own audits are there: {v}");
    assert_eq!(redaction_kinds(&v).len(), 0, "{v}");

    // A redacted phrase cannot be redacted again; a redacted attachment stays redacted once.
    let (s, _) = redact(t, c1, json!({"text": w.plain})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = redact(t, c1, json!({"text": w.plain})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = redact(t, c1, json!({"text": MARK.repeat(3)})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    for _ in 0..2 {
        let (s, v) = redact_file(&app, t, f.comment_ids[3], f.file).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = redact_file(&app, t, c1, f.file).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "attachment named under the wrong comment: {v}");
    let (s, v) = app.get(&format!("/api/v2/tickets/{t}/audits.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(redaction_kinds(&v).len(), 2, "one comment and one attachment redaction: {v}");
});

// A redaction replayed from the erasure ledger file after a restore reaches only the ticket and
// comment it was made on: a ticket written after it (a restore brings back old id counters, so
// a new ticket may carry the id) or a comment of another ticket is left as it is.
crate::engine_test!(a_replayed_ticket_redaction_never_reaches_a_later_ticket, |app| async move {
    use suoja_privacy::redaction::RedactionRecord;
    let requester = app.user("Rita Replay", "rita.replay@example.fi").await;
    let ticket = app.ticket(requester, "Replay", "nothing secret here").await;
    let (_, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    let comment = v["comments"][0]["id"].as_i64().unwrap();
    let now = app.helpdesk().now().0;
    let record = |ticket_id: i64, at: i64| RedactionRecord {
        tenant_id: app.t.tenant_id,
        ticket_id,
        event: "comment_redaction".into(),
        comment_id: Some(comment),
        attachment_id: None,
        field_id: None,
        at,
    };
    let other = app.ticket(requester, "Other", "another text").await;
    for r in [record(ticket, now - 60_000), record(other, now + 1)] {
        assert!(!app.privacy().replay_redaction(&r).await.unwrap(), "{r:?}");
    }
    let (_, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    assert_eq!(v["comments"][0]["body"], "nothing secret here");
    // The redaction it was applies (the whole comment, since the file holds no text).
    assert!(app.privacy().replay_redaction(&record(ticket, now + 1)).await.unwrap());
    let (_, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    assert!(v["comments"][0]["body"].as_str().unwrap().chars().all(|c| c == '\u{2587}'), "{v}");
});

/// The redaction events in an audit, or in a list of audits, in order.
fn redaction_kinds(v: &Value) -> Vec<String> {
    let audits: Vec<&Value> = match v["audits"].as_array() {
        Some(list) => list.iter().collect(),
        None => vec![v],
    };
    audits
        .iter()
        .flat_map(|a| a["events"].as_array().into_iter().flatten())
        .filter_map(|e| e["type"].as_str().filter(|t| t.ends_with("RedactionEvent")).map(str::to_string))
        .collect()
}
