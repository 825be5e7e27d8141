//! Precision of every privacy operation over realistic people (issue: the privacy engine on
//! real people). Canaries prove that everything of a person is found; these tests prove that
//! nothing of anyone else is touched or disclosed: people who share a first name ("Ann Lee",
//! "Ann Berg"), names that are common words or parts of words ("Ted" in "started", "Ann" in
//! "channel", a person who calls herself "password"), a Finnish name with diacritics, a
//! two-letter name, a name written inside HTML, two addresses with the same local part. After
//! each operation, every text in the tenant is compared byte for byte with the expected one and
//! the exports of people the operation is not about are compared with their exports before it;
//! every operation runs under a time bound.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_core::{Role, Scope, TenantId, UserId};
use suoja_privacy::export::{Options, no_progress};

use crate::fixtures::export::comment_as;
use crate::harness::{Tenant, TestApp};
use crate::{engine_test, engine_test_clocked};

/// Every operation must answer within this (a hang is a failure, not a stuck CI run).
const BOUND: Duration = Duration::from_secs(60);

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within {BOUND:?}"))
}

struct Person {
    id: i64,
    login: Tenant,
}

pub(crate) struct Pop {
    lee: Person,
    berg: Person,
    ted: Person,
    mark: Person,
    aija: Person,
    bo: Person,
    eve: Person,
    agent: i64,
    t_lee: i64,
    t_berg: i64,
    t_ted: i64,
    t_mark: i64,
    t_aija: i64,
    t_bo: i64,
    t_eve: i64,
    org: i64,
}

async fn person(app: &TestApp, name: &str, email: &str) -> Person {
    let (id, login) = app.end_user_with_password(name, email).await;
    Person { id, login }
}

async fn ticket_as(app: &TestApp, requester: i64, subject: &str, body: &str) -> i64 {
    app.ticket(requester, subject, body).await
}

async fn html_comment(app: &TestApp, ticket: i64, author: i64, html: &str, public: bool) {
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{ticket}.json"),
            json!({"ticket": {"comment": {"html_body": html, "author_id": author, "public": public}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// The people and their texts.
pub(crate) async fn population(app: &TestApp) -> Pop {
    let lee = person(app, "Ann Lee", "ann@one.example").await;
    let (s, v) = app
        .put(&format!("/api/v2/users/{}.json", lee.id), json!({"user": {"phone": "+358 40 111 2222"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let berg = person(app, "Ann Berg", "ann@two.example").await;
    let ted = person(app, "Ted", "ted@ted.example").await;
    let mark = person(app, "Mark Page", "mark@page.example").await;
    let aija = person(app, "Äijä Öljynen", "aija@oljynen.example").await;
    let bo = person(app, "Bo", "bo@ek.example").await;
    let eve = person(app, "<b>Eve</b> Evans", "eve@evans.example").await;
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Sam Agent", "email": "sam@support.example", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = v["user"]["id"].as_i64().unwrap();

    let t_lee = ticket_as(app, lee.id, "Internet down", "Hi, my internet channel is down. Ann Lee").await;
    let t_berg = ticket_as(app, berg.id, "Line problems", "Ann Berg here: the channel started failing on Monday.").await;
    comment_as(
        app,
        t_berg,
        agent,
        "Ann Lee (ann@one.example, 040-1112222) called about Ann Berg's case; password reset started.",
        false,
    )
    .await;
    comment_as(app, t_berg, agent, "Hi Ann, Ted will call you back.", true).await;
    let t_ted = ticket_as(app, ted.id, "Refund", "Ted called and we started a refund. Mark the invoice as paid.").await;
    comment_as(app, t_ted, agent, "The password for this account was reset.", false).await;
    let t_mark = ticket_as(app, mark.id, "Refund for Mark", "My name is Mark Page. Ted called and we started a refund.").await;
    let t_aija = ticket_as(app, aija.id, "Kanava", "Hei, kanava ei toimi.").await;
    html_comment(
        app,
        t_aija,
        agent,
        "<p>Äijä Öljynen wrote to <b>Ann</b> Lee about the <i>channel</i>.</p>",
        true,
    )
    .await;
    let t_bo = ticket_as(app, bo.id, "Contact", "Bo here: please contact ann@two.example, not ann@one.example.").await;
    let t_eve = ticket_as(app, eve.id, "Evans", "Eve writing.").await;
    html_comment(app, t_eve, agent, "<p>Reply to <b>Eve</b> Evans, cc Ann Lee</p>", true).await;
    let (s, v) = app
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "Channel Partners Oy", "notes": "Key contacts: Ann Berg and Ann Lee; phone +358 40 111 2222; channel partner since 2019."}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let org = v["organization"]["id"].as_i64().unwrap();
    Pop {
        lee,
        berg,
        ted,
        mark,
        aija,
        bo,
        eve,
        agent,
        t_lee,
        t_berg,
        t_ted,
        t_mark,
        t_aija,
        t_bo,
        t_eve,
        org,
    }
}

/// Every text of the tenant, read from the store (no API read, so no one's consultation log
/// changes): subjects, descriptions, comment bodies and HTML, organisation texts.
pub(crate) async fn texts(app: &TestApp) -> BTreeMap<String, String> {
    let tenant = app.t.tenant_id;
    let mut c = app.helpdesk().db().read().await.unwrap();
    let vault = app.helpdesk().vault();
    let mut out = BTreeMap::new();
    let tickets: Vec<(i64, Option<Vec<u8>>, Vec<u8>)> = sqlx::query_as("SELECT id, subject_enc, description_enc FROM tickets WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut c)
        .await
        .unwrap();
    for (id, subject, description) in tickets {
        if let Some(s) = subject {
            out.insert(format!("ticket {id} subject"), vault.decrypt_str(&mut c, TenantId(tenant), &s).await.unwrap());
        }
        out.insert(
            format!("ticket {id} description"),
            vault.decrypt_str(&mut c, TenantId(tenant), &description).await.unwrap(),
        );
    }
    type CommentCells = (i64, i64, Vec<u8>, Option<Vec<u8>>);
    let comments: Vec<CommentCells> = sqlx::query_as("SELECT id, ticket_id, body_enc, html_enc FROM comments WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut c)
        .await
        .unwrap();
    for (id, ticket, body, html) in comments {
        out.insert(
            format!("ticket {ticket} comment {id} body"),
            vault.decrypt_str(&mut c, TenantId(tenant), &body).await.unwrap(),
        );
        if let Some(h) = html {
            out.insert(
                format!("ticket {ticket} comment {id} html"),
                vault.decrypt_str(&mut c, TenantId(tenant), &h).await.unwrap(),
            );
        }
    }
    let orgs: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as("SELECT id, name, details, notes FROM organizations WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut c)
        .await
        .unwrap();
    for (id, name, details, notes) in orgs {
        out.insert(format!("org {id} name"), name);
        out.insert(format!("org {id} details"), details.unwrap_or_default());
        out.insert(format!("org {id} notes"), notes.unwrap_or_default());
    }
    out
}

/// A person's own export (built as themselves, so no one's consultation log changes), without
/// the time it was generated.
pub(crate) async fn export_of(app: &TestApp, id: i64) -> String {
    let scope = Scope {
        tenant: TenantId(app.t.tenant_id),
        actor: UserId(id),
        role: Role::EndUser,
        privacy_officer: false,
        token: None,
    };
    let e = bounded("an export", app.privacy().export(&scope, UserId(id), None, &Options::default(), &no_progress))
        .await
        .unwrap();
    let mut doc = e.doc;
    doc["generated_at"] = Value::Null;
    serde_json::to_string_pretty(&doc).unwrap()
}

async fn exports(app: &TestApp, ids: &[i64]) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    for id in ids {
        out.insert(*id, export_of(app, *id).await);
    }
    out
}

fn assert_same_exports(before: &BTreeMap<i64, String>, after: &BTreeMap<i64, String>, what: &str) {
    for (id, b) in before {
        let a = &after[id];
        if a != b {
            let diff: Vec<String> = b
                .lines()
                .zip(a.lines())
                .filter(|(x, y)| x != y)
                .take(5)
                .map(|(x, y)| format!("- {x}\n+ {y}"))
                .collect();
            panic!("{what} changed the export of person {id}:\n{}", diff.join("\n"));
        }
    }
}

/// Compares texts: the keys in `changed` must have become the given values (`None`: gone), and
/// every other text must be byte-identical.
fn assert_texts(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>, changed: &BTreeMap<String, Option<String>>, what: &str) {
    for (k, v) in before {
        match changed.get(k) {
            Some(Some(want)) => assert_eq!(after.get(k), Some(want), "{what}: {k}"),
            Some(None) => assert!(!after.contains_key(k), "{what}: {k} should be gone"),
            None => assert_eq!(after.get(k), Some(v), "{what} touched {k}"),
        }
    }
    for k in after.keys() {
        assert!(before.contains_key(k) || changed.contains_key(k), "{what} made a new text {k}");
    }
}

/// `text` with `first`, then whitespace, then `last` replaced by the erasure's marker (the
/// plain text of an HTML comment keeps the spaces its tags became).
fn replace_full_name(text: &str, first: &str, last: &str) -> String {
    let start = text.find(first).unwrap();
    let rest = &text[start + first.len()..];
    let gap = rest.len() - rest.trim_start().len();
    assert!(rest[gap..].starts_with(last), "{text}");
    format!("{}[redacted]{}", &text[..start], &rest[gap + last.len()..])
}

fn key_of(texts: &BTreeMap<String, String>, prefix: &str, contains: &str) -> String {
    texts
        .iter()
        .find(|(k, v)| k.starts_with(prefix) && v.contains(contains))
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| panic!("no text under {prefix:?} holds {contains:?}: {texts:#?}"))
}

pub(crate) async fn verified_request(app: &TestApp, kind: &str, subject: i64, extra: Value) -> i64 {
    let mut body = json!({"kind": kind, "subject_id": subject, "channel": "email"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, v) = app.post("/api/v2/privacy/requests.json", json!({ "request": body })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["request"]["id"].as_i64().unwrap();
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{id}/verify"), json!({"note": "checked"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

/// A request's JSON export, built and downloaded through the API.
pub(crate) async fn request_export(app: &TestApp, request: i64) -> Value {
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/requests/{request}/exports.json"),
            json!({"export": {"format": "json"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let url = v["export"]["download_url"].as_str().unwrap().to_string();
    app.req(Method::GET, &url).send().await.unwrap().json().await.unwrap()
}

pub(crate) async fn mentions(app: &TestApp, request: i64) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v2/privacy/requests/{request}/mentions.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["mentions"].as_array().unwrap().clone()
}

pub(crate) async fn decide(app: &TestApp, request: i64, mention: &Value, decision: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v2/privacy/requests/{request}/mentions"),
        json!({"mention": {"id": mention["id"], "decision": decision}}),
    )
    .await
}

fn find(list: &[Value], source_id: i64) -> &Value {
    list.iter()
        .find(|m| m["source_id"] == source_id)
        .unwrap_or_else(|| panic!("no mention of {source_id}: {list:#?}"))
}

async fn comment_id(app: &TestApp, texts: &BTreeMap<String, String>, ticket: i64, contains: &str) -> i64 {
    let _ = app;
    let k = key_of(texts, &format!("ticket {ticket} comment "), contains);
    k.split_whitespace().nth(3).unwrap().parse().unwrap()
}

engine_test!(a_person_named_ted_is_planned_and_erased_without_touching_started, |app| async move {
    let p = population(&app).await;
    let before = texts(&app).await;
    let others = exports(&app, &[p.lee.id, p.mark.id, p.aija.id, p.bo.id]).await;

    // The dry run answers, and "Ted" (a one-word name: weak) is listed for review, not replaced.
    let (s, v) = bounded(
        "Ted's erasure plan",
        app.get(&format!("/api/v2/privacy/subjects/{}/erasure_plan.json", p.ted.id)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let plan = &v["erasure_plan"];
    assert_eq!(plan["counts"]["redacted_comments"], 0, "{v}");
    assert_eq!(plan["counts"]["review_mentions"], 2, "Mark's ticket and Ann Berg's reply name a Ted: {v}");
    let mut listed: Vec<i64> = plan["review"].as_array().unwrap().iter().map(|m| m["ticket_id"].as_i64().unwrap()).collect();
    listed.sort_unstable();
    let mut want = vec![p.t_berg, p.t_mark];
    want.sort_unstable();
    assert_eq!(listed, want, "{v}");

    // The erasure (no request, so nobody accepted a weak match) changes no one else's text.
    let (s, v) = bounded(
        "Ted's erasure",
        app.post(&format!("/api/v2/privacy/subjects/{}/erasure.json", p.ted.id), json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let after = texts(&app).await;
    let gone: BTreeMap<String, Option<String>> = before
        .keys()
        .filter(|k| k.starts_with(&format!("ticket {} ", p.t_ted)))
        .map(|k| (k.clone(), None))
        .collect();
    assert_texts(&before, &after, &gone, "erasing Ted");
    assert!(after.values().any(|t| t.contains("Ted called and we started a refund")));
    assert_same_exports(&others, &exports(&app, &[p.lee.id, p.mark.id, p.aija.id, p.bo.id]).await, "erasing Ted");

    // The retention policy's own erasures take the same road: a one-letter or sentence-long
    // name never hangs it (bad names are covered in `bad_names_never_hang_or_fail`).
});

engine_test!(erasure_replaces_only_the_person_and_what_was_accepted, |app| async move {
    let p = population(&app).await;
    // A weak mention that is about Ann Lee, and one that is not.
    comment_as(&app, p.t_bo, p.agent, "Ann called from the Lee household about Bo's order.", false).await;
    let before = texts(&app).await;
    let untouched = [p.ted.id, p.mark.id];
    let others = exports(&app, &untouched).await;

    let request = verified_request(&app, "erasure", p.lee.id, json!({})).await;
    let (s, v) = bounded(
        "a weak mention search",
        app.post(
            &format!("/api/v2/privacy/requests/{request}/mentions/search"),
            json!({"search": {"weak": true}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = mentions(&app, request).await;
    assert!(list.iter().all(|m| m["strength"] == "weak"), "an erasure reviews weak matches only: {list:#?}");
    let household = comment_id(&app, &before, p.t_bo, "Lee household").await;
    let hi_ann = comment_id(&app, &before, p.t_berg, "Hi Ann").await;
    let berg_first = comment_id(&app, &before, p.t_berg, "Ann Berg here").await;
    let (s, v) = decide(&app, request, find(&list, household), "accept").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = decide(&app, request, find(&list, hi_ann), "reject").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = decide(&app, request, find(&list, berg_first), "reject").await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (s, v) = bounded("the erasure", app.post(&format!("/api/v2/privacy/requests/{request}/erasure"), json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");

    let after = texts(&app).await;
    let mut changed: BTreeMap<String, Option<String>> = before
        .keys()
        .filter(|k| k.starts_with(&format!("ticket {} ", p.t_lee)))
        .map(|k| (k.clone(), None))
        .collect();
    let mut set = |k: String, v: &str| {
        changed.insert(k, Some(v.to_string()));
    };
    set(
        key_of(&before, &format!("ticket {} comment", p.t_berg), "called about"),
        "[redacted] ([redacted], [redacted]) called about Ann Berg's case; password reset started.",
    );
    set(
        format!("ticket {} comment {household} body", p.t_bo),
        "[redacted] called from the [redacted] household about Bo's order.",
    );
    let aija_html = key_of(&before, &format!("ticket {} comment", p.t_aija), "<p>");
    set(aija_html.clone(), "<p>Äijä Öljynen wrote to <b>[redacted]</b> about the <i>channel</i>.</p>");
    let aija_body = aija_html.replace(" html", " body");
    set(aija_body.clone(), &replace_full_name(&before[&aija_body], "Ann", "Lee"));
    set(
        key_of(&before, &format!("ticket {} comment", p.t_bo), "Bo here"),
        "Bo here: please contact ann@two.example, not [redacted].",
    );
    set(
        format!("ticket {} description", p.t_bo),
        "Bo here: please contact ann@two.example, not [redacted].",
    );
    let eve_html = key_of(&before, &format!("ticket {} comment", p.t_eve), "<p>");
    set(eve_html.clone(), "<p>Reply to <b>Eve</b> Evans, cc [redacted]</p>");
    let eve_body = eve_html.replace(" html", " body");
    set(eve_body.clone(), &replace_full_name(&before[&eve_body], "Ann", "Lee"));
    set(
        format!("org {} notes", p.org),
        "Key contacts: Ann Berg and [redacted]; phone [redacted]; channel partner since 2019.",
    );
    assert_texts(&before, &after, &changed, "erasing Ann Lee");
    assert_same_exports(&others, &exports(&app, &untouched).await, "erasing Ann Lee");
    // The erasure ledger lists the accepted text by id (no text), so a replay after a restore
    // replaces it again.
    let ledger = std::fs::read_to_string(app.settings.erasure_ledger_file()).unwrap();
    let line = ledger
        .lines()
        .find(|l| l.contains(&format!("\"subject_id\":{}", p.lee.id)))
        .expect("the erasure is in the ledger");
    let entry: Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        entry["accepted"],
        json!([{"source": "comment", "id": household, "ticket_id": p.t_bo}]),
        "{line}"
    );
    // Ann Berg is still herself everywhere.
    let (s, v) = app.get(&format!("/api/v2/users/{}.json", p.berg.id)).await;
    assert_eq!((s, v["user"]["name"].as_str()), (StatusCode::OK, Some("Ann Berg")));
    let (_, v) = app.get("/api/v2/search.json?query=ann@two.example").await;
    assert!(v["count"].as_i64().unwrap() >= 1, "{v}");
});

engine_test!(an_export_holds_reviewed_passages_and_nothing_else_of_anyone, |app| async move {
    let p = population(&app).await;
    let before_texts = texts(&app).await;
    let untouched = [p.berg.id, p.ted.id, p.mark.id, p.aija.id, p.bo.id, p.eve.id];
    let others = exports(&app, &untouched).await;

    let request = verified_request(&app, "access", p.lee.id, json!({})).await;
    let (s, v) = bounded(
        "building an export",
        app.post(
            &format!("/api/v2/privacy/requests/{request}/exports.json"),
            json!({"export": {"format": "json"}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let list = mentions(&app, request).await;
    let note = comment_id(&app, &before_texts, p.t_berg, "called about").await;
    let bo = comment_id(&app, &before_texts, p.t_bo, "Bo here").await;
    let aija = comment_id(&app, &before_texts, p.t_aija, "wrote to").await;
    let eve = comment_id(&app, &before_texts, p.t_eve, "Reply to").await;
    let mut found: Vec<i64> = list.iter().map(|m| m["source_id"].as_i64().unwrap()).collect();
    found.sort_unstable();
    let mut want = vec![note, bo, aija, eve];
    want.sort_unstable();
    assert_eq!(found, want, "strong matches only, on other people's tickets: {list:#?}");
    // The passage is the sentence, other people replaced; the reviewer sees no more than that.
    let n = find(&list, note);
    assert_eq!(n["classes"], json!(["email", "phone", "full_name"]));
    let passage = n["passages"][0].as_str().unwrap();
    assert!(
        passage.starts_with("Ann Lee (ann@one.example, 040-1112222) called about [other person"),
        "{passage}"
    );
    assert!(!passage.contains("Berg"), "{passage}");
    // Bo's one-word name is all of his name, and Ann Berg's address is hers: both replaced.
    let passage = find(&list, bo)["passages"][0].as_str().unwrap().to_string();
    assert!(
        passage.starts_with("[other person ") && passage.ends_with(", not ann@one.example."),
        "{passage}"
    );
    assert!(!passage.contains("Bo ") && !passage.contains("two.example"), "{passage}");
    for (m, d) in [(note, "accept"), (bo, "accept"), (aija, "reject"), (eve, "reject")] {
        let (s, v) = decide(&app, request, find(&list, m), d).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let doc = request_export(&app, request).await;
    let text = serde_json::to_string(&doc).unwrap();
    let got: Vec<i64> = doc["mentions"].as_array().unwrap().iter().map(|m| m["comment_id"].as_i64().unwrap()).collect();
    assert_eq!(got.len(), 2, "{doc:#}");
    assert!(got.contains(&note) && got.contains(&bo), "{got:?}");
    // Nothing of other people's tickets beyond the accepted sentences; no weak "Ann".
    for leak in [
        "Ann Berg",
        "ann@two.example",
        "Hi Ann",
        "started failing",
        "Ted called",
        "password for this account",
        "Äijä",
        "Eve",
        "Mark Page",
    ] {
        assert!(!text.contains(leak), "Ann Lee's export holds {leak:?}: {doc:#}");
    }
    assert!(text.contains("channel is down"), "her own ticket is there");
    // Nothing changed for anyone else, and nothing of theirs was touched.
    assert_same_exports(&others, &exports(&app, &untouched).await, "Ann Lee's export");
    assert_texts(&before_texts, &texts(&app).await, &BTreeMap::new(), "Ann Lee's export");
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A closed request's mentions cannot be decided any more.
    let (s, _) = decide(&app, request, find(&list, aija), "accept").await;
    assert_eq!(s, StatusCode::CONFLICT);
});

engine_test!(a_self_service_export_never_discloses_other_peoples_notes, |app| async move {
    let p = population(&app).await;
    // Mark renames himself to a common word that an internal note on Ted's ticket holds.
    let (s, v) = app
        .call_password(
            &p.mark.login,
            Method::PUT,
            &format!("/api/v2/users/{}.json", p.mark.id),
            Some(json!({"user": {"name": "password"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mark_leaks: &[&str] = &[
        "password reset started",
        "password for this account",
        "channel is down",
        "Ann Lee",
        "ann@one.example",
    ];
    let berg_leaks: &[&str] = &[
        "password for this account",
        "channel is down",
        "Ted called",
        "Ann Lee",
        "ann@one.example",
        "040-1112222",
    ];
    for (who, leaks) in [(&p.mark, mark_leaks), (&p.berg, berg_leaks)] {
        let (s, v) = app
            .call_password(
                &who.login,
                Method::POST,
                "/api/v2/privacy/requests.json",
                Some(json!({"request": {"kind": "access"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["request"]["id"].as_i64().unwrap();
        let (s, v) = bounded(
            "a self-service export",
            app.call_password(
                &who.login,
                Method::POST,
                &format!("/api/v2/privacy/requests/{id}/exports.json"),
                Some(json!({"export": {"format": "json"}})),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let url = v["export"]["download_url"].as_str().unwrap().to_string();
        let resp = app.client.get(&url).basic_auth(&who.login.email, Some(&who.login.token)).send().await.unwrap();
        let doc: Value = resp.json().await.unwrap();
        let text = serde_json::to_string(&doc).unwrap();
        assert!(doc["mentions"].as_array().unwrap().is_empty(), "{doc:#}");
        for leak in leaks {
            assert!(!text.contains(leak), "a self-service export holds {leak:?}: {doc:#}");
        }
    }
    // Ann Berg's own ticket is hers, with the note about it (the operator's policy includes
    // notes), other people replaced.
    let (s, v) = app.call_password(&p.berg.login, Method::GET, "/api/v2/privacy/requests.json", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["requests"][0]["status"], "verified", "the request stays open: {v}");
});

engine_test!(end_users_see_only_what_is_public, |app| async move {
    let p = population(&app).await;
    // Search: a word only an internal note holds neither finds nor counts.
    for (q, n) in [("password", 0), ("refund", 1), ("reset", 0), ("invoice", 1)] {
        let (s, v) = app
            .call_password(&p.ted.login, Method::GET, &format!("/api/v2/search.json?query={q}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["count"], n, "{q}: {v}");
        assert_eq!(v["results"].as_array().unwrap().len(), usize::try_from(n).unwrap(), "{q}: {v}");
        let (s, v) = app
            .call_password(&p.ted.login, Method::GET, &format!("/api/v2/search/count.json?query={q}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["count"], n, "{q}: {v}");
    }
    // Staff search still finds the note.
    let (_, v) = app.get("/api/v2/search.json?query=password").await;
    assert!(v["count"].as_i64().unwrap() >= 1, "{v}");

    // A ticket an agent opens with a private first comment shows its requester no description.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": p.berg.id, "subject": "Account review", "comment": {"body": "internal: customer is difficult", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = v["ticket"]["id"].as_i64().unwrap();
    assert_eq!(v["ticket"]["description"], "internal: customer is difficult", "staff see the first comment");
    let seen = |v: &Value| v.to_string().contains("difficult");
    let (s, v) = app.call_password(&p.berg.login, Method::GET, &format!("/api/v2/tickets/{t}.json"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["description"], "");
    let (_, v) = app
        .call_password(&p.berg.login, Method::GET, &format!("/api/v2/users/{}/tickets/requested.json", p.berg.id), None)
        .await;
    assert!(!seen(&v), "{v}");
    let (_, v) = app.call_password(&p.berg.login, Method::GET, "/api/v2/search.json?query=difficult", None).await;
    assert_eq!(v["count"], 0, "{v}");
    let (_, v) = app.call_password(&p.berg.login, Method::GET, "/api/v2/search.json?query=account", None).await;
    assert_eq!(v["count"], 1, "the subject is public: {v}");
    assert!(!seen(&v), "{v}");
    comment_as(&app, t, p.agent, "We are looking into your account.", true).await;
    let (_, v) = app.call_password(&p.berg.login, Method::GET, &format!("/api/v2/tickets/{t}.json"), None).await;
    assert_eq!(v["ticket"]["description"], "We are looking into your account.");
    let (_, v) = app
        .call_password(&p.berg.login, Method::GET, &format!("/api/v2/tickets/{t}/comments.json"), None)
        .await;
    assert!(!seen(&v), "{v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["description"], "internal: customer is difficult");
    // Her self-service export shows the public description too (notes excluded by choice).
    let _ = p.t_berg;
});

engine_test!(other_people_are_untouched_by_rectification_restriction_and_redaction, |app| async move {
    let p = population(&app).await;
    let untouched = [p.berg.id, p.ted.id, p.mark.id, p.aija.id, p.bo.id, p.eve.id];
    let mut before = texts(&app).await;
    let mut others = exports(&app, &untouched).await;

    // Rectification of Ann Lee's profile: it changes, no one else's export or text does.
    let request = verified_request(
        &app,
        "rectification",
        p.lee.id,
        json!({"changes": {"details": "Prefers e-mail", "phone": "+358 40 111 2222"}}),
    )
    .await;
    let (s, v) = bounded("a rectification", app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let after = texts(&app).await;
    assert_texts(&before, &after, &BTreeMap::new(), "rectifying Ann Lee");
    let now = exports(&app, &untouched).await;
    assert_same_exports(&others, &now, "rectifying Ann Lee");
    // A corrected name changes no stored text either (other people's exports then stop
    // replacing the old spelling, which names no one any more: see docs/PRIVACY-PRECISION.md).
    let request = verified_request(&app, "rectification", p.lee.id, json!({"changes": {"name": "Ann Lee-Smith"}})).await;
    let (s, v) = bounded("a rectification", app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_texts(&before, &texts(&app).await, &BTreeMap::new(), "correcting Ann Lee's name");
    let now = exports(&app, &untouched).await;
    (before, others) = (after, now);

    // Restriction and its lifting.
    let (s, v) = bounded(
        "a restriction",
        app.post(
            &format!("/api/v2/privacy/subjects/{}/restriction", p.lee.id),
            json!({"reason": "disputed accuracy"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_same_exports(&others, &exports(&app, &untouched).await, "restricting Ann Lee");
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{}/restriction/lift", p.lee.id),
            json!({"reason": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_texts(&before, &texts(&app).await, &BTreeMap::new(), "restricting Ann Lee");
    assert_same_exports(&others, &exports(&app, &untouched).await, "lifting Ann Lee's restriction");

    // Staff redact "Ann Lee" in her own ticket's comment: only that phrase of that comment (and
    // the description it mirrors) changes.
    let key = key_of(&before, &format!("ticket {} comment", p.t_lee), "channel is down");
    let id: i64 = key.split_whitespace().nth(3).unwrap().parse().unwrap();
    let (s, v) = bounded(
        "a redaction",
        app.put(&format!("/api/v2/tickets/{}/comments/{id}/redact.json", p.t_lee), json!({"text": "Ann Lee"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let marked = "Hi, my internet channel is down. \u{2587}\u{2587}\u{2587}\u{2587}\u{2587}\u{2587}\u{2587}";
    let changed = BTreeMap::from([
        (key, Some(marked.to_string())),
        (format!("ticket {} description", p.t_lee), Some(marked.to_string())),
    ]);
    assert_texts(&before, &texts(&app).await, &changed, "redacting in Ann Lee's ticket");
    assert_same_exports(&others, &exports(&app, &untouched).await, "redacting in Ann Lee's ticket");
});

engine_test_clocked!(retention_erases_the_inactive_person_and_only_their_strong_matches, |app, clock| async move {
    let p = population(&app).await;
    let (s, v) = app
        .put("/api/v2/privacy/retention/inactive_end_users.json", json!({"retention_policy": {"value": 1}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Ann Lee's only ticket was solved on day 0; everyone else is active again after three weeks.
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{}.json", p.t_lee), json!({"ticket": {"status": "solved"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    clock.advance_ms(21 * 86_400_000);
    for (who, t) in [
        (&p.berg, p.t_berg),
        (&p.ted, p.t_ted),
        (&p.mark, p.t_mark),
        (&p.aija, p.t_aija),
        (&p.bo, p.t_bo),
        (&p.eve, p.t_eve),
    ] {
        let (s, v) = app
            .call_password(
                &who.login,
                Method::PUT,
                &format!("/api/v2/tickets/{t}.json"),
                Some(json!({"ticket": {"comment": {"body": "still here"}}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    clock.advance_ms(14 * 86_400_000);
    let before = texts(&app).await;
    let untouched = [p.ted.id, p.mark.id];
    let others = exports(&app, &untouched).await;
    bounded("the retention run", app.privacy().run_retention()).await.unwrap();
    let erasures = bounded("the erasures it started", crate::harness::erasures_settled(&app)).await;
    assert!(
        erasures
            .iter()
            .any(|e| e.subject_id == p.lee.id && e.state == suoja_core::ErasureState::Completed),
        "Ann Lee's erasure completed: {erasures:?}"
    );
    let (s, _) = app.get(&format!("/api/v2/users/{}.json", p.lee.id)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "Ann Lee was inactive for 35 days");
    let (s, _) = app.get(&format!("/api/v2/users/{}.json", p.berg.id)).await;
    assert_eq!(s, StatusCode::OK, "Ann Berg was active");
    let after = texts(&app).await;
    let mut changed: BTreeMap<String, Option<String>> = before
        .keys()
        .filter(|k| k.starts_with(&format!("ticket {} ", p.t_lee)))
        .map(|k| (k.clone(), None))
        .collect();
    changed.insert(
        key_of(&before, &format!("ticket {} comment", p.t_berg), "called about"),
        Some("[redacted] ([redacted], [redacted]) called about Ann Berg's case; password reset started.".into()),
    );
    for k in before.keys() {
        let (b, a) = (&before[k], after.get(k));
        if !changed.contains_key(k) && a != Some(b) {
            // Strong matches elsewhere (the Äijä, Bo and Eve comments, the organisation) change
            // exactly where the full name, address or number stood: nothing else in the text.
            let a = a.unwrap_or_else(|| panic!("{k} vanished"));
            assert!(a.contains("[redacted]") && !a.contains("Ann Lee") && !a.contains("ann@one.example"), "{k}: {a}");
            let stripped: String = a.replace("[redacted]", "");
            assert!(b.len() > stripped.len(), "{k}: {b} -> {a}");
            changed.insert(k.clone(), Some(a.clone()));
        }
    }
    assert_texts(&before, &after, &changed, "the retention erasure");
    for t in after.values() {
        assert!(!t.contains("Ann Lee") || t.contains("Ann Lee-"), "a strong match survived: {t}");
    }
    assert!(after.values().any(|t| t == "Hi Ann, Ted will call you back."), "weak matches stay");
    assert_same_exports(&others, &exports(&app, &untouched).await, "the retention erasure");
});

engine_test!(bad_names_never_hang_or_fail, |app| async move {
    let long = "Virtanen ".repeat(1_200);
    let sentence = "The quick brown fox jumps over the lazy dog";
    let names = [
        "A".to_string(),
        "Bo".to_string(),
        sentence.to_string(),
        long.trim().to_string(),
        "Ann\u{7}\u{1b}[31m Lee".to_string(),
        "<img src=x onerror=alert(1)> Ann".to_string(),
        "[redacted]".to_string(),
        "e".to_string(),
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (s, v) = app
            .post("/api/v2/users.json", json!({"user": {"name": name, "email": format!("bad{i}@names.example")}}))
            .await;
        assert!(s == StatusCode::CREATED || s == StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {s} {v}");
        if s == StatusCode::CREATED {
            ids.push(v["user"]["id"].as_i64().unwrap());
        }
    }
    let (s, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "", "email": "empty@names.example"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an empty name is refused: {v}");
    let other = app.user("Reader Person", "reader@names.example").await;
    let t = app
        .ticket(
            other,
            "a e i o u",
            &format!("a e Bo [redacted] {sentence} {} <img> Ann Lee.", long.get(..200).unwrap()),
        )
        .await;
    let before = texts(&app).await;
    for id in &ids {
        let (s, v) = bounded("a plan", app.get(&format!("/api/v2/privacy/subjects/{id}/erasure_plan.json"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let request = verified_request(&app, "access", *id, json!({})).await;
        let (s, v) = bounded(
            "an export",
            app.post(
                &format!("/api/v2/privacy/requests/{request}/exports.json"),
                json!({"export": {"format": "json"}}),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = bounded(
            "mentions",
            app.post(
                &format!("/api/v2/privacy/requests/{request}/mentions/search"),
                json!({"search": {"weak": true}}),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // Erasing each (no review: strong matches only) leaves the reader's ticket as it was, except
    // where a full name of at least two words stood.
    for id in &ids {
        let (s, v) = bounded("an erasure", app.post(&format!("/api/v2/privacy/subjects/{id}/erasure.json"), json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // None of these names has a strong form in the reader's text (one-word names are weak, a
    // sentence or a paragraph is no full name, markup and control characters are no words).
    assert_texts(&before, &texts(&app).await, &BTreeMap::new(), "erasing people with odd names");
    let _ = t;

    // Decisions on mentions: bad input, unknown ids, other tenants.
    let request = verified_request(&app, "access", other, json!({})).await;
    for body in [
        json!({}),
        json!({"mention": {"id": 1}}),
        json!({"mention": {"id": 1, "decision": "maybe"}}),
        json!({"mention": {"id": "x", "decision": "accept"}}),
        json!({"mention": {"id": 1, "decision": "accept", "extra": 1}}),
    ] {
        let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/mentions"), body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let (s, _) = app
        .post(
            &format!("/api/v2/privacy/requests/{request}/mentions"),
            json!({"mention": {"id": 999999, "decision": "accept"}}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let two = app.second_tenant("two").await;
    let (s, _) = app
        .call_as(&two, Method::GET, &format!("/api/v2/privacy/requests/{request}/mentions.json"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call_as(
            &two,
            Method::POST,
            &format!("/api/v2/privacy/requests/{request}/mentions/search"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});
