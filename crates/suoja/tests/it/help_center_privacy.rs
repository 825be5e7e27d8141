//! Privacy in help center and community text, on both engines: a person named in other people's
//! posts and comments is found there by the identifier matcher (strong matches as candidates of
//! an access request, weak ones only for review), the accepted passages reach their export, an
//! erasure replaces only their identifiers and only where it may, staff redact phrases from
//! posts and comments, and the community content policy empties what quiet people wrote.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Tenant, TestApp};
use crate::privacy_precision::{decide, export_of, mentions, request_export, verified_request};
use crate::{engine_test, engine_test_clocked};

const DAY: i64 = 86_400_000;

async fn topic(app: &TestApp) -> i64 {
    let (s, v) = app.post("/api/v2/community/topics.json", json!({"topic": {"name": "Printing"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["topic"]["id"].as_i64().unwrap()
}

async fn article(app: &TestApp) -> i64 {
    let (_, v) = app.post("/api/v2/help_center/categories.json", json!({"category": {"name": "Printers"}})).await;
    let category = v["category"]["id"].as_i64().unwrap();
    let (_, v) = app
        .post(
            &format!("/api/v2/help_center/categories/{category}/sections.json"),
            json!({"section": {"name": "Paper jams"}}),
        )
        .await;
    let section = v["section"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/v2/help_center/sections/{section}/articles.json"),
            json!({"article": {"title": "Clearing a jam", "body": "<p>Open the tray.</p>"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["article"]["id"].as_i64().unwrap()
}

async fn post(app: &TestApp, who: &Tenant, topic: i64, title: &str, details: &str) -> i64 {
    let (s, v) = app
        .call_password(
            who,
            Method::POST,
            "/api/v2/community/posts.json",
            Some(json!({"post": {"title": title, "details": details, "topic_id": topic}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["post"]["id"].as_i64().unwrap()
}

async fn comment(app: &TestApp, who: &Tenant, path: &str, body: &str) -> i64 {
    let (s, v) = app.call_password(who, Method::POST, path, Some(json!({"comment": {"body": body}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["comment"]["id"].as_i64().unwrap()
}

/// A post's title and details, and a comment's body, as the API shows them.
async fn post_text(app: &TestApp, id: i64) -> (String, String) {
    let (s, v) = app.get(&format!("/api/v2/community/posts/{id}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    (v["post"]["title"].as_str().unwrap().into(), v["post"]["details"].as_str().unwrap().into())
}

async fn body_of(app: &TestApp, path: &str) -> String {
    let (s, v) = app.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v["comment"]["body"].as_str().unwrap().into()
}

async fn redact(app: &TestApp, path: String, body: Value) -> (StatusCode, Value) {
    app.put(&path, body).await
}

engine_test!(
    a_person_is_found_exported_and_erased_in_community_text_and_no_one_else_is_touched,
    |app| async move {
        let topic = topic(&app).await;
        let article = article(&app).await;
        let (anna, anna_login) = app.end_user_with_password("Anna Äijälä", "anna.aijala@example.fi").await;
        let (bob, bob_login) = app.end_user_with_password("Bob Berg", "bob.berg@example.com").await;
        let (ted, ted_login) = app.end_user_with_password("Ted Tedder", "ted.tedder@example.com").await;
        // Bob names Anna in full in his post (strong) and by her first name in a comment (weak);
        // Ted's post holds "Annals" and "started" and names no one; Anna writes her own post.
        let bobs = post(
            &app,
            &bob_login,
            topic,
            "Printer trouble",
            "<p>Anna Äijälä (anna.aijala@example.fi) showed me the fix. It started working.</p>",
        )
        .await;
        let bobs_comments = format!("/api/v2/community/posts/{bobs}/comments");
        let weak = comment(&app, &bob_login, &format!("{bobs_comments}.json"), "Anna said thanks.").await;
        let teds = post(&app, &ted_login, topic, "Ted started a thread", "<p>Annals of printing, by Ted.</p>").await;
        let annas = post(&app, &anna_login, topic, "My own question", "<p>Anna asks.</p>").await;
        let on_article = format!("/api/v2/help_center/articles/{article}/comments");
        let html = comment(&app, &bob_login, &format!("{on_article}.json"), "<p>Ask <b>Anna Äijälä</b> about this.</p>").await;
        let teds_before = post_text(&app, teds).await;
        let teds_export = export_of(&app, ted).await;

        // An access request finds the two strong matches, not the weak one nor Ted's words.
        let request = verified_request(&app, "access", anna, json!({})).await;
        let (s, v) = app
            .post(
                &format!("/api/v2/privacy/requests/{request}/mentions/search"),
                json!({"search": {"weak": false}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let list = mentions(&app, request).await;
        let mut found: Vec<(String, i64)> = list
            .iter()
            .map(|m| (m["source"].as_str().unwrap().to_string(), m["source_id"].as_i64().unwrap()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![("hc_article_comments".to_string(), html), ("hc_posts".to_string(), bobs)],
            "{list:#?}"
        );
        let passage = list.iter().find(|m| m["source"] == "hc_posts").unwrap()["passages"][0]
            .as_str()
            .unwrap()
            .to_string();
        assert!(passage.contains("Anna Äijälä (anna.aijala@example.fi) showed me the fix."), "{passage}");
        assert!(!passage.contains("Bob") && !passage.contains("<p>"), "{passage}");
        for m in &list {
            let (s, v) = decide(&app, request, m, "accept").await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let doc = request_export(&app, request).await;
        assert_eq!(doc["format_version"], 2);
        let m = doc["mentions"].as_array().unwrap();
        assert_eq!(m.len(), 2, "{doc:#}");
        let in_post = m.iter().find(|m| m["source"] == "hc_posts").unwrap();
        assert_eq!(
            (in_post["source_id"].as_i64(), in_post["public"].as_bool()),
            (Some(bobs), Some(true)),
            "{in_post}"
        );
        let text = doc.to_string();
        assert!(
            !text.contains("Annals") && !text.contains("said thanks"),
            "nothing of Ted's or the weak comment"
        );

        // The erasure replaces Anna's identifiers in Bob's post and article comment and nothing
        // else: the weak comment waits for review, Ted's post and export stay byte-identical.
        let (s, v) = app.get(&format!("/api/v2/privacy/subjects/{anna}/erasure_plan.json")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["erasure_plan"]["counts"]["redacted_texts"], 2, "{v}");
        let review: Vec<&Value> = v["erasure_plan"]["review"].as_array().unwrap().iter().collect();
        assert!(review.iter().any(|r| r["source"] == "hc_post_comments" && r["id"] == weak), "{v}");
        let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{anna}/erasure.json"), json!({})).await;
        assert!(s.is_success(), "{v}");
        assert_eq!(v["erasure"]["state"], "completed", "{v}");
        assert_eq!(
            post_text(&app, bobs).await,
            (
                "Printer trouble".to_string(),
                "<p>[redacted] ([redacted]) showed me the fix. It started working.</p>".to_string()
            )
        );
        assert_eq!(
            body_of(&app, &format!("{on_article}/{html}.json")).await,
            "<p>Ask <b>[redacted]</b> about this.</p>"
        );
        assert_eq!(body_of(&app, &format!("{bobs_comments}/{weak}.json")).await, "Anna said thanks.");
        assert_eq!(post_text(&app, teds).await, teds_before);
        assert_eq!(export_of(&app, ted).await, teds_export, "Ted's export is byte-identical");
        assert_eq!(post_text(&app, annas).await.0, "[removed at the person's request]");
        let _ = bob;
    }
);

engine_test!(staff_redact_posts_and_comments_and_bad_redactions_change_nothing, |app| async move {
    let topic = topic(&app).await;
    let article = article(&app).await;
    let (bob, bob_login) = app.end_user_with_password("Bob Berg", "bob.berg@example.com").await;
    let bobs = post(&app, &bob_login, topic, "Card 4111 1111", "<p>My card is 4111 1111 &amp; it failed.</p>").await;
    let other = post(&app, &bob_login, topic, "Second", "<p>Nothing here.</p>").await;
    let on_post = format!("/api/v2/community/posts/{bobs}/comments");
    let c = comment(&app, &bob_login, &format!("{on_post}.json"), "Call me on 040 123 4567, thanks.").await;
    let on_article = format!("/api/v2/help_center/articles/{article}/comments");
    let ac = comment(&app, &bob_login, &format!("{on_article}.json"), "<p>Tom &amp; Jerry live at Elm St 5.</p>").await;
    let bobs_export = export_of(&app, bob).await;

    // Refused: an end user, another post's path, a phrase that is not there, a blank one, an
    // unknown field, broken JSON, another tenant; nothing changes.
    let (s, _) = app
        .call_password(
            &bob_login,
            Method::PUT,
            &format!("/api/v2/community/posts/{bobs}/redact"),
            Some(json!({"text": "4111"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = redact(&app, format!("/api/v2/community/posts/{other}/comments/{c}/redact"), json!({"text": "040"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = redact(
        &app,
        format!("/api/v2/help_center/articles/{}/comments/{ac}/redact", article + 1000),
        json!({"text": "Elm"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = redact(&app, format!("{on_post}/{c}/redact"), json!({"text": "not in it"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = redact(&app, format!("{on_post}/{c}/redact"), json!({"text": "  "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = redact(&app, format!("{on_post}/{c}/redact"), json!({"text": "040", "body": "x"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .req(Method::PUT, &format!("{on_post}/{c}/redact"))
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let two = app.second_tenant("two").await;
    let (s, _) = app
        .call_as(&two, Method::PUT, &format!("{on_post}/{c}/redact"), Some(json!({"text": "040"})))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(export_of(&app, bob).await, bobs_export, "nothing changed");

    // Staff redact: every occurrence, title and details alike, the escaped form in HTML too.
    let (s, v) = redact(&app, format!("/api/v2/community/posts/{bobs}/redact"), json!({"text": "4111 1111"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["post"]["title"], "Card ▇▇▇▇▇▇▇▇▇");
    assert_eq!(v["post"]["details"], "<p>My card is ▇▇▇▇▇▇▇▇▇ &amp; it failed.</p>");
    let (s, v) = redact(&app, format!("{on_post}/{c}/redact"), json!({"text": "040 123 4567"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["comment"]["body"], "Call me on ▇▇▇▇▇▇▇▇▇▇▇▇, thanks.");
    let (s, v) = redact(&app, format!("{on_article}/{ac}/redact"), json!({"text": "Tom & Jerry"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["comment"]["body"], "<p>▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇ live at Elm St 5.</p>");
    // Once redacted, the phrase is gone: a second redaction of it is refused.
    let (s, _) = redact(&app, format!("{on_post}/{c}/redact"), json!({"text": "040 123 4567"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(post_text(&app, other).await, ("Second".to_string(), "<p>Nothing here.</p>".to_string()));
    let export = export_of(&app, bob).await;
    assert!(
        !export.contains("4111 1111") && !export.contains("040 123") && !export.contains("Jerry"),
        "{export}"
    );
    // The ledger has each redaction, with no text.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let entries = suoja_store::ledger::page(&mut c, suoja_core::TenantId(app.t.tenant_id), 0, 10_000)
        .await
        .unwrap();
    let redactions: Vec<_> = entries.iter().filter(|e| e.kind == "text.redacted").collect();
    assert_eq!(redactions.len(), 3);
    assert!(redactions.iter().all(|e| !e.details.contains("4111") && e.subject == Some(bob)));
});

engine_test_clocked!(the_community_content_policy_empties_what_quiet_people_wrote, |app, clock| async move {
    let topic = topic(&app).await;
    let (idle, idle_login) = app.end_user_with_password("Ilona Idle", "ilona@example.fi").await;
    let (active, active_login) = app.end_user_with_password("Aino Active", "aino@example.fi").await;
    let idle_post = post(&app, &idle_login, topic, "Ilona asks", "<p>Is there a fix?</p>").await;
    let active_post = post(&app, &active_login, topic, "Aino asks", "<p>Me too.</p>").await;
    let path = format!("/api/v2/community/posts/{active_post}/comments.json");
    let idle_comment = comment(&app, &idle_login, &path, "Same here.").await;
    // Twenty months on, Aino writes again (and does nothing else); Ilona does nothing, and
    // staff pinning her post is not her activity.
    clock.advance_ms(600 * DAY);
    let (s, v) = app
        .put(&format!("/api/v2/community/posts/{idle_post}.json"), json!({"post": {"pinned": true}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    comment(
        &app,
        &active_login,
        &format!("/api/v2/community/posts/{idle_post}/comments.json"),
        "Found it: restart.",
    )
    .await;
    clock.advance_ms(150 * DAY);

    // On by default at 24 months: Ilona is due, Aino is not.
    let (s, v) = app.get("/api/v2/privacy/retention/community_content/preview.json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["preview"]["ids"], json!([idle]), "{v}");
    // Writing in the community counts as activity for the inactive end users policy too.
    let (s, v) = app
        .put("/api/v2/privacy/retention/inactive_end_users.json", json!({"retention_policy": {"value": 24}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/api/v2/privacy/retention/inactive_end_users/preview.json").await;
    let due: Vec<i64> = v["preview"]["ids"].as_array().unwrap().iter().map(|i| i.as_i64().unwrap()).collect();
    assert!(due.contains(&idle) && !due.contains(&active), "{v}");
    app.put(
        "/api/v2/privacy/retention/inactive_end_users.json",
        json!({"retention_policy": {"enabled": false}}),
    )
    .await;

    let report = app.privacy().run_retention().await.unwrap();
    assert!(report.applied.iter().any(|(_, p, n)| *p == "community_content" && *n == 1), "{report:?}");
    assert_eq!(post_text(&app, idle_post).await.0, "[removed at the person's request]");
    assert_eq!(
        body_of(&app, &format!("/api/v2/community/posts/{active_post}/comments/{idle_comment}.json")).await,
        "[removed at the person's request]"
    );
    assert_eq!(post_text(&app, active_post).await, ("Aino asks".to_string(), "<p>Me too.</p>".to_string()));
    let (_, v) = app.get(&format!("/api/v2/community/posts/{idle_post}/comments.json")).await;
    assert_eq!(v["comments"][0]["body"], "Found it: restart.", "Aino's answer on Ilona's post stays");
    // Ilona herself stays (only her words went); a second run finds nothing more.
    let (s, _) = app.get(&format!("/api/v2/users/{idle}.json")).await;
    assert_eq!(s, StatusCode::OK);
    let report = app.privacy().run_retention().await.unwrap();
    assert!(!report.applied.iter().any(|(_, p, _)| *p == "community_content"), "{report:?}");
});

engine_test!(a_replayed_redaction_never_reaches_a_row_that_is_not_the_one_redacted, |app| async move {
    use suoja_privacy::redaction::TextRedactionRecord;
    let topic = topic(&app).await;
    let (bob, bob_login) = app.end_user_with_password("Bob Berg", "bob.berg@example.com").await;
    let (ted, ted_login) = app.end_user_with_password("Ted Tedder", "ted.tedder@example.com").await;
    let bobs = post(&app, &bob_login, topic, "Bob's post", "<p>Written by Bob.</p>").await;
    let teds = post(&app, &ted_login, topic, "Ted's post", "<p>Written by Ted.</p>").await;
    let now = app.helpdesk().now().0;
    let record = |row_id: i64, subject_id: i64, at: i64| TextRedactionRecord {
        tenant_id: app.t.tenant_id,
        table: "hc_posts".into(),
        row_id,
        subject_id: Some(subject_id),
        at,
    };
    // A redaction of Bob's row applied to Ted's (an id given again after a restore), one from
    // before the row was written, and one of a row that is not there: none changes anything,
    // and each is recorded so that it is never tried again.
    for r in [record(teds, bob, now + 1), record(bobs, bob, now - 60_000), record(bobs + 1000, bob, now + 1)] {
        assert!(!app.privacy().replay_text_redaction(&r).await.unwrap(), "{r:?}");
        assert!(!app.privacy().replay_text_redaction(&r).await.unwrap(), "{r:?}");
    }
    assert_eq!(post_text(&app, teds).await, ("Ted's post".to_string(), "<p>Written by Ted.</p>".to_string()));
    assert_eq!(post_text(&app, bobs).await, ("Bob's post".to_string(), "<p>Written by Bob.</p>".to_string()));
    // The row it was: its whole text is marked, once.
    let r = record(bobs, bob, now + 1);
    assert!(app.privacy().replay_text_redaction(&r).await.unwrap());
    assert!(!app.privacy().replay_text_redaction(&r).await.unwrap());
    let (title, details) = post_text(&app, bobs).await;
    assert!(title.chars().all(|c| c == '\u{2587}') && !details.contains("Bob"), "{title} {details}");
    assert_eq!(post_text(&app, teds).await.1, "<p>Written by Ted.</p>");
    let _ = ted;
});

engine_test!(an_erased_agent_s_address_leaves_the_articles_they_wrote, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Ada Agent", "email": "ada.agent@example.com", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ada = v["user"]["id"].as_i64().unwrap();
    let article = article(&app).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/help_center/articles/{article}.json"),
            json!({"article": {"author_id": ada, "body": "<p>Write to ada.agent@example.com or Ada Agent. Adam knows too.</p>"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{ada}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    // The article stays (the tenant's), its author an id that no longer resolves, and her
    // address and full name are gone from it; "Adam" is someone else.
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}.json")).await;
    assert_eq!(v["article"]["body"], "<p>Write to [redacted] or [redacted]. Adam knows too.</p>", "{v}");
    assert_eq!(v["article"]["author_id"], ada);
    let (_, v) = app.get("/api/v2/help_center/articles/search.json?query=ada.agent%40example.com").await;
    assert_eq!(v["count"], 0, "the index no longer finds her address: {v}");
});
