//! The help center over the API: categories, sections and articles written by staff; what
//! signed-in people add (comments, votes, subscriptions); who reads what; bad input; and what
//! erasure and export do to it, on both engines.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::engine_test;
use crate::harness::{Tenant, TestApp};

/// A category, a section and a published article by the admin; their ids.
async fn shelf(app: &TestApp, article: Value) -> (i64, i64, i64) {
    let (s, v) = app
        .post(
            "/api/v2/help_center/categories.json",
            json!({"category": {"name": "Getting started", "description": "First steps"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let category = v["category"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/v2/help_center/categories/{category}/sections.json"),
            json!({"section": {"name": "Accounts"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let section = v["section"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(&format!("/api/v2/help_center/sections/{section}/articles.json"), json!({ "article": article }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (category, section, v["article"]["id"].as_i64().unwrap())
}

async fn as_user(app: &TestApp, who: &Tenant, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    app.call_password(who, method, path, body).await
}

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v[key].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

engine_test!(staff_publish_and_people_read_comment_vote_and_follow, |app| async move {
    let (category, section, article) = shelf(
        &app,
        json!({"title": "Resetting a password", "body": "<p onclick=\"steal()\">Open <b>Settings</b><script>alert(1)</script> and choose the lighthouse option.</p>", "label_names": ["password", "password", " account "]}),
    )
    .await;
    let (s, v) = app.get(&format!("/api/v2/help_center/articles/{article}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let a = &v["article"];
    assert_eq!(a["title"], "Resetting a password");
    assert_eq!(a["section_id"], section);
    assert_eq!(a["author_id"], app.t.admin_id);
    assert_eq!(a["locale"], "en-us");
    assert_eq!(a["label_names"], json!(["password", "account"]));
    assert_eq!(a["user_segment_id"], Value::Null);
    let body = a["body"].as_str().unwrap();
    assert!(
        body.contains("<b>Settings</b>") && !body.contains("script") && !body.contains("onclick"),
        "{body}"
    );

    // Drafts, staff-only and signed-in articles beside it.
    let mut hidden = Vec::new();
    for extra in [json!({"draft": true}), json!({"user_segment_id": 2})] {
        let mut art = json!({"title": "Internal lighthouse procedure", "body": "<p>lighthouse</p>"});
        art.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (s, v) = app
            .post(&format!("/api/v2/help_center/sections/{section}/articles.json"), json!({ "article": art }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        hidden.push(v["article"]["id"].as_i64().unwrap());
    }
    let (s, v) = app
        .post(
            &format!("/api/v2/help_center/fi/sections/{section}/articles.json"),
            json!({"article": {"title": "Salasanan vaihto", "body": "<p>Majakka.</p>", "user_segment_id": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let finnish = v["article"]["id"].as_i64().unwrap();
    assert_eq!(v["article"]["locale"], "fi");

    let (reader, login) = app.end_user_with_password("Ted Started", "ted@example.com").await;
    let (_, other) = app.end_user_with_password("Ted Tedder", "ted.tedder@example.com").await;
    let (s, v) = as_user(&app, &login, Method::GET, "/api/v2/help_center/articles.json", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v, "articles"), vec![article, finnish], "end users see published articles for them: {v}");
    assert_eq!(v["count"], 2);
    let (_, v) = app.get("/api/v2/help_center/articles.json").await;
    assert_eq!(v["count"], 4, "staff see drafts and every segment: {v}");
    for id in &hidden {
        let (s, _) = as_user(&app, &login, Method::GET, &format!("/api/v2/help_center/articles/{id}.json"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "article {id} is not the end user's to read");
    }
    let (_, v) = as_user(&app, &login, Method::GET, "/api/v2/help_center/fi/articles.json", None).await;
    assert_eq!(ids(&v, "articles"), vec![finnish]);
    let (s, _) = app.get("/api/v2/help_center/xx-yy/articles.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an unknown locale");
    let (_, v) = app.get(&format!("/api/v2/help_center/categories/{category}/articles.json")).await;
    assert_eq!(v["count"], 4);

    // Search: the end user finds the article by a word of its body, never the staff-only one.
    let (s, v) = as_user(&app, &login, Method::GET, "/api/v2/help_center/articles/search.json?query=lighthouse", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v, "results"), vec![article], "{v}");
    let (_, v) = app.get("/api/v2/help_center/articles/search.json?query=lighthouse").await;
    let mut found = ids(&v, "results");
    found.sort_unstable();
    assert_eq!(found, [vec![article], hidden.clone()].concat());
    for q in ["", "%22unbalanced", "!!!", &"sana ".repeat(150)] {
        let (s, v) = app.get(&format!("/api/v2/help_center/articles/search.json?query={q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
    }

    // Comments: sanitised, sealed, in order; author and time only by staff.
    let path = format!("/api/v2/help_center/articles/{article}/comments.json");
    let (s, v) = as_user(
        &app,
        &login,
        Method::POST,
        &path,
        Some(json!({"comment": {"body": "<p>Thanks <img src=x onerror=alert(1)>Ted!</p>", "locale": "en-us"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mine = v["comment"]["id"].as_i64().unwrap();
    assert_eq!(v["comment"]["author_id"], reader);
    assert!(!v["comment"]["body"].as_str().unwrap().contains("onerror"), "{v}");
    let (s, v) = as_user(
        &app,
        &login,
        Method::POST,
        &path,
        Some(json!({"comment": {"body": "as someone else", "author_id": app.t.admin_id}})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = as_user(&app, &other, Method::POST, &path, Some(json!({"comment": {"body": "<p> </p>"}}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a blank comment: {v}");
    let (s, v) = as_user(&app, &other, Method::POST, &path, Some(json!({"comment": {"body": "Me too."}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let theirs = v["comment"]["id"].as_i64().unwrap();
    let (s, _) = as_user(
        &app,
        &other,
        Method::PUT,
        &format!("/api/v2/help_center/articles/{article}/comments/{mine}.json"),
        Some(json!({"comment": {"body": "hijacked"}})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the author or staff edit a comment");
    let (s, v) = app
        .put(
            &format!("/api/v2/help_center/articles/{article}/comments/{mine}.json"),
            json!({"comment": {"body": "Thanks, Ted! (edited)"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["comment"]["non_author_editor_id"], app.t.admin_id);
    let (_, v) = as_user(&app, &other, Method::GET, &path, None).await;
    assert_eq!(ids(&v, "comments"), vec![mine, theirs]);
    let (_, v) = as_user(&app, &login, Method::GET, &format!("/api/v2/help_center/users/{reader}/comments.json"), None).await;
    assert_eq!(ids(&v, "comments"), vec![mine]);

    // Votes: again is a change, not a second vote; not on one's own words.
    let up = format!("/api/v2/help_center/articles/{article}/up.json");
    let (s, v) = as_user(&app, &login, Method::POST, &up, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let vote = v["vote"]["id"].as_i64().unwrap();
    assert_eq!(v["vote"]["value"], 1);
    let (s, v) = as_user(&app, &login, Method::POST, &format!("/api/v2/help_center/articles/{article}/down.json"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["vote"]["id"].as_i64(), v["vote"]["value"].as_i64()), (Some(vote), Some(-1)));
    as_user(&app, &other, Method::POST, &up, None).await;
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}.json")).await;
    assert_eq!(
        (v["article"]["vote_sum"].as_i64(), v["article"]["vote_count"].as_i64()),
        (Some(0), Some(2)),
        "{v}"
    );
    let (s, v) = as_user(
        &app,
        &login,
        Method::POST,
        &format!("/api/v2/help_center/articles/{article}/comments/{mine}/up.json"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a vote on one's own comment: {v}");
    let (s, v) = as_user(
        &app,
        &other,
        Method::POST,
        &format!("/api/v2/help_center/articles/{article}/comments/{mine}/up.json"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = as_user(&app, &login, Method::GET, &format!("/api/v2/help_center/articles/{article}/votes.json"), None).await;
    assert_eq!(ids(&v, "votes"), vec![vote], "an end user sees their own vote only");
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/votes.json")).await;
    assert_eq!(v["count"], 2, "staff see every vote");
    let (s, _) = as_user(&app, &other, Method::DELETE, &format!("/api/v2/help_center/votes/{vote}.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another person's vote");
    let (s, _) = as_user(&app, &login, Method::DELETE, &format!("/api/v2/help_center/votes/{vote}.json"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}.json")).await;
    assert_eq!((v["article"]["vote_sum"].as_i64(), v["article"]["vote_count"].as_i64()), (Some(1), Some(1)));

    // Subscriptions: following twice answers the first.
    let subs = format!("/api/v2/help_center/articles/{article}/subscriptions.json");
    let (s, v) = as_user(&app, &login, Method::POST, &subs, Some(json!({"subscription": {"source_locale": "en-us"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sub = v["subscription"]["id"].as_i64().unwrap();
    let (s, v) = as_user(&app, &login, Method::POST, &subs, Some(json!({"subscription": {"source_locale": "en-us"}}))).await;
    assert_eq!((s, v["subscription"]["id"].as_i64()), (StatusCode::OK, Some(sub)));
    let (s, _) = as_user(&app, &login, Method::POST, &subs, Some(json!({"subscription": {"user_id": app.t.admin_id}}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only staff subscribe someone else");
    let (s, _) = as_user(
        &app,
        &login,
        Method::POST,
        &format!("/api/v2/help_center/articles/{}/subscriptions.json", hidden[1]),
        Some(json!({"subscription": {}})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a staff-only article cannot be followed by an end user");
    let (_, v) = as_user(
        &app,
        &login,
        Method::GET,
        &format!("/api/v2/help_center/users/{reader}/subscriptions.json"),
        None,
    )
    .await;
    assert_eq!(ids(&v, "subscriptions"), vec![sub]);
    let (s, _) = as_user(
        &app,
        &other,
        Method::GET,
        &format!("/api/v2/help_center/users/{reader}/subscriptions.json"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another person's subscriptions");
    let (s, _) = as_user(
        &app,
        &login,
        Method::DELETE,
        &format!("/api/v2/help_center/articles/{article}/subscriptions/{sub}.json"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Comments can be turned off; the archive hides an article from everyone.
    let (s, _) = app
        .put(
            &format!("/api/v2/help_center/articles/{article}.json"),
            json!({"article": {"comments_disabled": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = as_user(&app, &other, Method::POST, &path, Some(json!({"comment": {"body": "late"}}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = app.delete(&format!("/api/v2/help_center/articles/{article}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v2/help_center/articles/{article}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = app.get("/api/v2/help_center/articles/search.json?query=lighthouse").await;
    assert_eq!(ids(&v, "results"), hidden, "an archived article leaves the index");
});

engine_test!(bad_help_center_input_gets_a_clear_answer_and_writes_nothing, |app| async move {
    let (category, section, article) = shelf(&app, json!({"title": "Billing", "body": "<p>How invoices work.</p>"})).await;
    let (_, login) = app.end_user_with_password("Eeva End", "eeva@example.com").await;
    let cases: Vec<(Method, String, Option<Value>, StatusCode)> = vec![
        (
            Method::POST,
            "/api/v2/help_center/sections/999999/articles.json".into(),
            Some(json!({"article": {"title": "x"}})),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/api/v2/help_center/categories/999999/sections.json".into(),
            Some(json!({"section": {"name": "x"}})),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": ""}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": "x", "locale": "klingon"}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": "x", "user_segment_id": 77}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": ["x"]}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": "x", "surprise": 1}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": "x", "author_id": 999999}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": "x", "position": "first"}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/xx/sections/{section}/articles.json"),
            Some(json!({"article": {"title": "x"}})),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            format!("/api/v2/help_center/articles/{article}.json"),
            Some(json!({"article": {"section_id": 999999}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            format!("/api/v2/help_center/sections/{section}.json"),
            Some(json!({"section": {"category_id": 999999}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/articles/{article}/comments.json"),
            Some(json!({"comment": {}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v2/help_center/articles/{article}/comments.json"),
            Some(json!({"comment": {"body": "hi", "created_at": "yesterday"}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v2/help_center/articles/999999/comments.json".into(),
            Some(json!({"comment": {"body": "hi"}})),
            StatusCode::NOT_FOUND,
        ),
        (Method::POST, "/api/v2/help_center/articles/abc/up.json".into(), None, StatusCode::NOT_FOUND),
        (
            Method::POST,
            format!("/api/v2/help_center/articles/{article}/up.json"),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            "/api/v2/help_center/articles.json?per_page=0".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v2/help_center/articles.json?page[after]=notacursor".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/api/v2/help_center/articles/search.json?query={}", "a".repeat(1_200)),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (m, path, body, want) in cases {
        let (s, v) = app.call(m.clone(), &path, body.clone()).await;
        assert_eq!(s, want, "{m} {path} {body:?}: {v}");
    }
    // End users cannot author.
    for (path, body) in [
        ("/api/v2/help_center/categories.json".to_string(), json!({"category": {"name": "x"}})),
        (
            format!("/api/v2/help_center/categories/{category}/sections.json"),
            json!({"section": {"name": "x"}}),
        ),
        (
            format!("/api/v2/help_center/sections/{section}/articles.json"),
            json!({"article": {"title": "x"}}),
        ),
    ] {
        let (s, v) = as_user(&app, &login, Method::POST, &path, Some(body)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
    }
    // Broken JSON and broken UTF-8.
    for raw in [&b"{\"comment\": {\"body\": "[..], &b"{\"comment\": {\"body\": \"\xff\xfe\"}}"[..]] {
        let r = app
            .req(Method::POST, &format!("/api/v2/help_center/articles/{article}/comments.json"))
            .header("content-type", "application/json")
            .body(raw.to_vec());
        let (s, _) = crate::harness::send(r).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    // Nothing of the refused requests was written.
    let (_, v) = app.get("/api/v2/help_center/articles.json").await;
    assert_eq!(v["count"], 1, "{v}");
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/comments.json")).await;
    assert_eq!(v["count"], 0, "{v}");
    let (_, v) = app.get("/api/v2/help_center/sections.json").await;
    assert_eq!(v["count"], 1, "{v}");

    // Another tenant sees none of it, by id or by list.
    let two = app.second_tenant("two").await;
    for path in [
        format!("/api/v2/help_center/articles/{article}.json"),
        format!("/api/v2/help_center/sections/{section}.json"),
        format!("/api/v2/help_center/categories/{category}.json"),
        format!("/api/v2/help_center/articles/{article}/comments.json"),
    ] {
        let (s, _) = app.call_as(&two, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, v) = app
        .call_as(&two, Method::GET, "/api/v2/help_center/articles/search.json?query=invoices", None)
        .await;
    assert_eq!(v["count"], 0, "{v}");
    let (s, _) = app
        .call_as(
            &two,
            Method::POST,
            &format!("/api/v2/help_center/sections/{section}/articles.json"),
            Some(json!({"article": {"title": "x"}})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

/// What an article's comments say, by id, as the admin reads them.
async fn comment_bodies(app: &TestApp, article: i64) -> Vec<(i64, Value)> {
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/comments.json")).await;
    v["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["url"] = Value::Null;
            (c["id"].as_i64().unwrap(), c)
        })
        .collect()
}

engine_test!(erasure_leaves_tombstones_corrects_votes_and_touches_no_one_else, |app| async move {
    let (_, section, article) = shelf(&app, json!({"title": "Started with Ted", "body": "<p>Ted started it.</p>"})).await;
    let (ted, ted_login) = app.end_user_with_password("Ted Ödmark", "ted@example.fi").await;
    let (teddy, teddy_login) = app.end_user_with_password("Ted Tedder", "teddy@example.fi").await;
    let base = format!("/api/v2/help_center/articles/{article}");
    let say = |who: &Tenant, body: &str| {
        let (who, body, path) = (who.clone(), body.to_string(), format!("{base}/comments.json"));
        let app = &app;
        async move {
            let (s, v) = as_user(app, &who, Method::POST, &path, Some(json!({"comment": {"body": body}}))).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["comment"]["id"].as_i64().unwrap()
        }
    };
    let teds = say(&ted_login, "<p>I am <b>Ted Ödmark</b> and I started this.</p>").await;
    let teddys = say(&teddy_login, "<p>Ted started? So did I — Ted Tedder.</p>").await;
    as_user(&app, &ted_login, Method::POST, &format!("{base}/up.json"), None).await;
    as_user(&app, &ted_login, Method::POST, &format!("{base}/comments/{teddys}/down.json"), None).await;
    as_user(&app, &teddy_login, Method::POST, &format!("{base}/up.json"), None).await;
    as_user(&app, &teddy_login, Method::POST, &format!("{base}/comments/{teds}/up.json"), None).await;
    for who in [&ted_login, &teddy_login] {
        let (s, _) = as_user(
            &app,
            who,
            Method::POST,
            &format!("/api/v2/help_center/sections/{section}/subscriptions.json"),
            Some(json!({"subscription": {"include_comments": true}})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let teddy_export = crate::privacy_precision::export_of(&app, teddy).await;
    let ted_export = crate::privacy_precision::export_of(&app, ted).await;
    let export: Value = serde_json::from_str(&ted_export).unwrap();
    let records = &export["records"];
    assert_eq!(
        records["hc_article_comments"][0]["body"], "<p>I am <b>Ted Ödmark</b> and I started this.</p>",
        "{records}"
    );
    assert_eq!(records["hc_votes"].as_array().map(Vec::len), Some(2), "{records}");
    assert_eq!(records["hc_subscriptions"][0]["content_type"], "Section", "{records}");
    assert!(!ted_export.contains("So did I"), "another person's comment is not in Ted's export");
    let before = comment_bodies(&app, article).await;

    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{ted}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let checks = v["erasure"]["checks"].clone();
    assert!(
        checks
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x["store"] == "hc_article_comments" && x["remaining"] == 0)),
        "the read-back checks the tombstones: {v}"
    );

    // Ted's comment stays in its place as a tombstone; Teddy's is byte-identical, and the votes
    // on it are counted without Ted's.
    let after = comment_bodies(&app, article).await;
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].0, teds);
    assert_eq!(after[0].1["body"], "[removed at the person's request]");
    let mut kept = before[1].1.clone();
    kept["vote_sum"] = json!(0);
    kept["vote_count"] = json!(0);
    assert_eq!(after[1].1, kept, "Teddy's comment, with Ted's vote gone");
    let (_, v) = app.get(&format!("{base}.json")).await;
    assert_eq!((v["article"]["vote_sum"].as_i64(), v["article"]["vote_count"].as_i64()), (Some(1), Some(1)));
    let (_, v) = app.get(&format!("/api/v2/help_center/sections/{section}/subscriptions.json")).await;
    assert_eq!(
        v["subscriptions"]
            .as_array()
            .map(|s| s.iter().map(|x| x["user_id"].as_i64().unwrap()).collect::<Vec<_>>()),
        Some(vec![teddy])
    );
    let (_, v) = app.get(&format!("{base}/comments/{teds}/votes.json")).await;
    assert_eq!(v["count"], 1, "Teddy's vote on Ted's tombstone stays: {v}");
    assert_eq!(
        crate::privacy_precision::export_of(&app, teddy).await,
        teddy_export,
        "Teddy's export is byte-identical"
    );

    // Tombstones refuse edits; the author-staff article survives its author's erasure.
    let (s, _) = app.put(&format!("{base}/comments/{teds}.json"), json!({"comment": {"body": "back"}})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = app.get(&format!("{base}.json")).await;
    assert_eq!((s, v["article"]["title"].as_str()), (StatusCode::OK, Some("Started with Ted")));
});

engine_test!(a_tenant_that_deletes_erased_comments_gets_no_tombstones, |app| async move {
    let (_, _, article) = shelf(&app, json!({"title": "Hours", "body": "<p>We are open.</p>"})).await;
    let (s, v) = app
        .put("/api/v2/privacy/settings.json", json!({"settings": {"erasure_comments": "delete"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (gone, login) = app.end_user_with_password("Maija Meikäläinen", "maija@example.fi").await;
    let (_, stays) = app.end_user_with_password("Maija Virtanen", "maija.v@example.fi").await;
    let path = format!("/api/v2/help_center/articles/{article}/comments.json");
    for (who, body) in [(&login, "Kiitos!"), (&stays, "Kiitos myös, Maija.")] {
        let (s, v) = as_user(&app, who, Method::POST, &path, Some(json!({"comment": {"body": body}}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{gone}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    let after = comment_bodies(&app, article).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].1["body"], "Kiitos myös, Maija.");
});

/// A topic (for everyone unless `segment`) by the admin; its id.
async fn topic(app: &TestApp, segment: Option<i64>) -> i64 {
    let (s, v) = app
        .post(
            "/api/v2/community/topics.json",
            json!({"topic": {"name": "Feature requests", "user_segment_id": segment}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["topic"]["id"].as_i64().unwrap()
}

engine_test!(people_post_comment_and_vote_in_the_community_and_staff_moderate, |app| async move {
    let open = topic(&app, None).await;
    let staff_only = topic(&app, Some(2)).await;
    let (author, login) = app.end_user_with_password("Ted Started", "ted.c@example.com").await;
    let (_, other) = app.end_user_with_password("Tedda Other", "tedda@example.com").await;

    // Posting: in a topic the person may read; moderation fields are staff's.
    let (s, v) = as_user(
        &app,
        &login,
        Method::POST,
        "/api/v2/community/posts.json",
        Some(json!({"post": {"title": "Dark mode, please", "details": "<p>My eyes <script>x()</script>hurt.</p>", "topic_id": open}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let post = v["post"]["id"].as_i64().unwrap();
    assert_eq!((v["post"]["author_id"].as_i64(), v["post"]["status"].as_str()), (Some(author), Some("none")));
    assert_eq!(v["post"]["details"], "<p>My eyes hurt.</p>");
    for body in [
        json!({"post": {"title": "x", "topic_id": staff_only}}),
        json!({"post": {"title": "x", "topic_id": 999_999}}),
    ] {
        let (s, v) = as_user(&app, &login, Method::POST, "/api/v2/community/posts.json", Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    for body in [
        json!({"post": {"title": "x", "topic_id": open, "pinned": true}}),
        json!({"post": {"title": "x", "topic_id": open, "author_id": app.t.admin_id}}),
    ] {
        let (s, _) = as_user(&app, &login, Method::POST, "/api/v2/community/posts.json", Some(body)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, v) = as_user(
        &app,
        &login,
        Method::POST,
        "/api/v2/community/posts.json",
        Some(json!({"post": {"title": "", "topic_id": open}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = as_user(
        &app,
        &other,
        Method::PUT,
        &format!("/api/v2/community/posts/{post}.json"),
        Some(json!({"post": {"title": "Mine now"}})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the author or staff edit a post");

    // Comments, an official answer, votes.
    let path = format!("/api/v2/community/posts/{post}/comments.json");
    let (s, v) = as_user(&app, &other, Method::POST, &path, Some(json!({"comment": {"body": "+1 from me"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let theirs = v["comment"]["id"].as_i64().unwrap();
    let (s, v) = app.post(&path, json!({"comment": {"body": "It is on our list.", "official": true}})).await;
    assert_eq!((s, v["comment"]["official"].as_bool()), (StatusCode::CREATED, Some(true)), "{v}");
    let (s, _) = as_user(&app, &other, Method::POST, &path, Some(json!({"comment": {"body": "me", "official": true}}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = as_user(&app, &other, Method::POST, &format!("/api/v2/community/posts/{post}/up.json"), None).await;
    assert_eq!((s, v["vote"]["item_type"].as_str()), (StatusCode::OK, Some("Post")), "{v}");
    let (s, _) = as_user(&app, &login, Method::POST, &format!("/api/v2/community/posts/{post}/up.json"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no vote on one's own post");
    let (s, v) = as_user(
        &app,
        &login,
        Method::POST,
        &format!("/api/v2/community/posts/{post}/comments/{theirs}/down.json"),
        None,
    )
    .await;
    assert_eq!((s, v["vote"]["item_type"].as_str()), (StatusCode::OK, Some("PostComment")), "{v}");
    let (_, v) = app.get(&format!("/api/v2/community/posts/{post}.json")).await;
    assert_eq!((v["post"]["vote_sum"].as_i64(), v["post"]["comment_count"].as_i64()), (Some(1), Some(2)), "{v}");

    // Moderation: status, pin, close (no more comments from people), hide.
    let (s, v) = app
        .put(
            &format!("/api/v2/community/posts/{post}.json"),
            json!({"post": {"status": "planned", "pinned": true, "closed": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/community/posts/{post}.json"), json!({"post": {"status": "someday"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = as_user(&app, &other, Method::POST, &path, Some(json!({"comment": {"body": "late"}}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "a closed post takes no comments");
    let (_, v) = as_user(&app, &other, Method::GET, "/api/v2/community/posts.json?filter_by=planned", None).await;
    assert_eq!(ids(&v, "posts"), vec![post]);
    let (_, v) = as_user(&app, &other, Method::GET, "/api/v2/community/posts.json?filter_by=completed", None).await;
    assert_eq!(v["count"], 0);
    let (s, _) = app.get("/api/v2/community/posts.json?sort_by=colour").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    for sort in ["created_at", "recent_activity", "votes", "comments"] {
        let (s, v) = app.get(&format!("/api/v2/community/topics/{open}/posts.json?sort_by={sort}")).await;
        assert_eq!((s, ids(&v, "posts")), (StatusCode::OK, vec![post]), "{sort}");
    }
    app.put(
        &format!("/api/v2/community/posts/{post}/comments/{theirs}.json"),
        json!({"comment": {"hidden": true}}),
    )
    .await;
    let (_, v) = as_user(&app, &login, Method::GET, &path, None).await;
    assert_eq!(v["count"], 1, "a hidden comment is staff's only: {v}");
    let (_, v) = app.get(&path).await;
    assert_eq!(v["count"], 2);
    app.put(&format!("/api/v2/community/posts/{post}.json"), json!({"post": {"hidden": true}}))
        .await;
    let (s, _) = as_user(&app, &other, Method::GET, &format!("/api/v2/community/posts/{post}.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a hidden post is staff's only");
    let (s, _) = app.get(&format!("/api/v2/community/posts/{post}.json")).await;
    assert_eq!(s, StatusCode::OK);

    // Staff-only topics are invisible to end users; another tenant sees nothing.
    let (_, v) = as_user(&app, &login, Method::GET, "/api/v2/community/topics.json", None).await;
    assert_eq!(ids(&v, "topics"), vec![open]);
    let (s, _) = as_user(&app, &login, Method::GET, &format!("/api/v2/community/topics/{staff_only}/posts.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let two = app.second_tenant("two").await;
    for p in [
        format!("/api/v2/community/topics/{open}.json"),
        format!("/api/v2/community/posts/{post}/comments.json"),
    ] {
        let (s, _) = app.call_as(&two, Method::GET, &p, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }
    let (_, v) = app.call_as(&two, Method::GET, "/api/v2/community/posts.json", None).await;
    assert_eq!(v["count"], 0);

    // Following a topic, then deleting it takes its posts and subscriptions.
    let (s, _) = as_user(
        &app,
        &other,
        Method::POST,
        &format!("/api/v2/community/topics/{open}/subscriptions.json"),
        Some(json!({"subscription": {"include_comments": true}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app.delete(&format!("/api/v2/community/topics/{open}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = app.get("/api/v2/community/posts.json").await;
    assert_eq!(v["count"], 0);
});

engine_test!(erasing_an_author_leaves_community_tombstones_and_others_whole, |app| async move {
    let open = topic(&app, None).await;
    let (gone, gone_login) = app.end_user_with_password("Eino Äijälä", "eino@example.fi").await;
    let (stays, stays_login) = app.end_user_with_password("Eino Virta", "eino.v@example.fi").await;
    let (s, v) = as_user(
        &app,
        &gone_login,
        Method::POST,
        "/api/v2/community/posts.json",
        Some(json!({"post": {"title": "Eino Äijälä asks", "details": "<p>Eino here.</p>", "topic_id": open}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let post = v["post"]["id"].as_i64().unwrap();
    let path = format!("/api/v2/community/posts/{post}/comments.json");
    let (_, v) = as_user(
        &app,
        &stays_login,
        Method::POST,
        &path,
        Some(json!({"comment": {"body": "Hi Eino, I am Eino too."}})),
    )
    .await;
    let kept = v["comment"]["id"].as_i64().unwrap();
    as_user(&app, &gone_login, Method::POST, &path, Some(json!({"comment": {"body": "Thanks, namesake."}}))).await;
    as_user(
        &app,
        &gone_login,
        Method::POST,
        &format!("/api/v2/community/posts/{post}/comments/{kept}/up.json"),
        None,
    )
    .await;
    as_user(&app, &stays_login, Method::POST, &format!("/api/v2/community/posts/{post}/up.json"), None).await;
    let stays_export = crate::privacy_precision::export_of(&app, stays).await;
    let export: Value = serde_json::from_str(&crate::privacy_precision::export_of(&app, gone).await).unwrap();
    assert_eq!(export["records"]["hc_posts"][0]["title"], "Eino Äijälä asks", "{}", export["records"]);
    assert_eq!(export["records"]["hc_post_comments"][0]["body"], "Thanks, namesake.");

    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{gone}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    let (_, v) = app.get(&format!("/api/v2/community/posts/{post}.json")).await;
    assert_eq!(
        (v["post"]["title"].as_str(), v["post"]["details"].as_str()),
        (Some("[removed at the person's request]"), Some("")),
        "{v}"
    );
    assert_eq!(v["post"]["vote_count"], 1, "the other person's vote stays");
    let (_, v) = app.get(&path).await;
    let bodies: Vec<&str> = v["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["Hi Eino, I am Eino too.", "[removed at the person's request]"]);
    assert_eq!(v["comments"][0]["vote_count"], 0, "the erased person's vote is gone");
    assert_eq!(
        crate::privacy_precision::export_of(&app, stays).await,
        stays_export,
        "the other Eino's export is byte-identical"
    );
});

engine_test!(the_pages_read_signed_out_and_take_forms_from_people_only, |app| async move {
    use crate::web::{Browser, PASSWORD};
    let (_, section, article) = shelf(&app, json!({"title": "Printer help", "body": "<p>Turn it <b>off</b>.</p><script>x()</script>"})).await;
    let (s, v) = app
        .post(
            &format!("/api/v2/help_center/sections/{section}/articles.json"),
            json!({"article": {"title": "Staff notes", "user_segment_id": 2}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let staff_only = v["article"]["id"].as_i64().unwrap();
    let topic = topic(&app, None).await;

    // Signed out: what is for everyone, no forms, a 404 for the rest.
    let mut anon = Browser::new(&app);
    let home = anon.get("/hc").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Printer help") && !home.body.contains("Staff notes"), "{}", home.body);
    let page = anon.get(&format!("/hc/articles/{article}")).await;
    assert!(page.body.contains("Turn it <b>off</b>.") && !page.body.contains("<script>x()"), "{}", page.body);
    assert!(!page.body.contains("name=\"body\""), "a comment form for someone signed out");
    assert_eq!(anon.get(&format!("/hc/articles/{staff_only}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(anon.get("/hc/articles/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(anon.get("/hc/articles/abc").await.status, StatusCode::BAD_REQUEST);
    let search = anon.get("/hc/search?q=printer").await;
    assert!(search.body.contains(&format!("/hc/articles/{article}")), "{}", search.body);
    let csrf = anon.get("/signin").await.hidden("csrf");
    let refused = anon
        .post(&format!("/hc/articles/{article}/comments"), &[("csrf", &csrf), ("body", "anonymous")])
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.location().starts_with("/signin"), "{}", refused.location());

    // A person: a blank comment is refused with its message and writes nothing; hostile text is
    // shown as text; a vote and a follow go through forms.
    let (_, _) = app.end_user_with_password("Maija Meikäläinen", "maija.hc@example.fi").await;
    let mut b = Browser::new(&app);
    b.sign_in("maija.hc@example.fi", "correct horse battery").await;
    let here = format!("/hc/articles/{article}");
    let blank = b.submit(&here, &format!("{here}/comments"), &[("body", "   ")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.body.contains("aria-invalid=\"true\""), "{}", blank.body);
    let long = "x".repeat(70 * 1024);
    let too_long = b.submit(&here, &format!("{here}/comments"), &[("body", &long)]).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/comments.json")).await;
    assert_eq!(v["count"], 0, "refused comments wrote nothing");
    let said = b
        .submit(&here, &format!("{here}/comments"), &[("body", "<img src=x onerror=alert(1)> thanks")])
        .await;
    assert_eq!(said.status, StatusCode::SEE_OTHER);
    let page = b.get(&here).await;
    assert!(page.body.contains("&lt;img src=x onerror=alert(1)&gt; thanks"), "shown as the text written");
    assert_eq!(b.submit(&here, &format!("{here}/vote"), &[("value", "up")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.submit(&here, &format!("{here}/follow"), &[]).await.status, StatusCode::SEE_OTHER);
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}.json")).await;
    assert_eq!(v["article"]["vote_count"], 1);
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/subscriptions.json")).await;
    assert_eq!(v["count"], 1);
    // Not the editor, not moderation.
    assert_eq!(b.get("/hc/articles/new").await.status, StatusCode::FORBIDDEN);
    let topic_page = format!("/hc/community/topics/{topic}");
    let posted = b
        .submit(&topic_page, &format!("{topic_page}/posts"), &[("title", "Dark mode"), ("details", "Please.")])
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let post: i64 = posted
        .location()
        .trim_start_matches("/hc/community/posts/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let post_page = format!("/hc/community/posts/{post}");
    let moderated = b.submit(&post_page, &format!("{post_page}/moderate"), &[("pinned", "1")]).await;
    assert_eq!(moderated.status, StatusCode::FORBIDDEN);

    // Staff moderate and author; the editor keeps only safe HTML.
    let mut staff = Browser::new(&app);
    let (s, _) = app
        .put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": PASSWORD}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    staff.sign_in(&app.t.email, PASSWORD).await;
    let moderated = staff
        .submit(&post_page, &format!("{post_page}/moderate"), &[("status", "planned"), ("closed", "1")])
        .await;
    assert_eq!(moderated.status, StatusCode::SEE_OTHER);
    let closed = b.submit(&post_page, &format!("{post_page}/comments"), &[("body", "late")]).await;
    assert_eq!(closed.status, StatusCode::UNPROCESSABLE_ENTITY, "a closed post takes no comments from people");
    let saved = staff
        .submit(
            "/hc/articles/new",
            "/hc/articles/new",
            &[
                ("title", "Billing"),
                ("section", &section.to_string()),
                ("body", "<p>Pay <a href=\"javascript:x()\">here</a>.</p>"),
                ("locale", "en-us"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let id: i64 = saved.location().trim_start_matches("/hc/articles/").split('?').next().unwrap().parse().unwrap();
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{id}.json")).await;
    assert!(!v["article"]["body"].as_str().unwrap().contains("javascript"), "{v}");
    let no_section = staff.submit("/hc/articles/new", "/hc/articles/new", &[("title", "Lost")]).await;
    assert_eq!(no_section.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Staff redact from the pages, as under a ticket's comments; people cannot.
    let refused = b.submit(&post_page, &format!("{post_page}/redact"), &[("text", "Please")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!b.get(&post_page).await.body.contains("redact-post"), "no redaction form for people");
    let done = staff.submit(&post_page, &format!("{post_page}/redact"), &[("text", "Please")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, v) = app.get(&format!("/api/v2/community/posts/{post}.json")).await;
    assert!(!v["post"]["details"].as_str().unwrap().contains("Please"), "{v}");
    assert_eq!(v["post"]["title"], "Dark mode", "only the phrase goes");
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/comments.json")).await;
    let comment = v["comments"][0]["id"].as_i64().unwrap().to_string();
    assert!(
        staff.get(&here).await.body.contains(&format!("redact-{comment}")),
        "the form is under each comment"
    );
    let missing = staff
        .submit(&here, &format!("{here}/redact"), &[("comment", &comment), ("text", "not there")])
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = staff
        .submit(&here, &format!("{here}/redact"), &[("comment", &comment), ("text", "thanks")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/comments/{comment}.json")).await;
    let body = v["comment"]["body"].as_str().unwrap();
    assert!(!body.contains("thanks") && body.contains("onerror=alert(1)"), "{body}");
});

crate::engine_test_configured!(
    followers_hear_of_new_articles_posts_and_comments_without_anyone_s_words,
    |s| {
        s.mail_from = Some("support@one.example".into());
        s.smtp_url = Some("smtp://127.0.0.1:9?tls=none".into());
    },
    |app, _clock| async move {
        let (_, section, article) = shelf(&app, json!({"title": "Invoices", "body": "<p>How invoices work.</p>"})).await;
        let open = topic(&app, None).await;
        let (follower, login) = app.end_user_with_password("Fiona Follower", "fiona@example.fi").await;
        let (_, writer) = app.end_user_with_password("Walter Writer", "walter@example.fi").await;
        for path in [
            format!("/api/v2/help_center/sections/{section}/subscriptions.json"),
            format!("/api/v2/help_center/articles/{article}/subscriptions.json"),
            format!("/api/v2/community/topics/{open}/subscriptions.json"),
        ] {
            let (s, v) = as_user(&app, &login, Method::POST, &path, Some(json!({"subscription": {}}))).await;
            assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
        }
        app.post(
            &format!("/api/v2/help_center/sections/{section}/articles.json"),
            json!({"article": {"title": "Refunds"}}),
        )
        .await;
        app.post(
            &format!("/api/v2/help_center/sections/{section}/articles.json"),
            json!({"article": {"title": "Draft", "draft": true}}),
        )
        .await;
        as_user(
            &app,
            &writer,
            Method::POST,
            &format!("/api/v2/help_center/articles/{article}/comments.json"),
            Some(json!({"comment": {"body": "secret words of Walter"}})),
        )
        .await;
        let (_, v) = as_user(
            &app,
            &writer,
            Method::POST,
            "/api/v2/community/posts.json",
            Some(json!({"post": {"title": "Walter's private title", "topic_id": open}})),
        )
        .await;
        assert!(v["post"]["id"].is_i64(), "{v}");
        let got = app.outbox(follower).await;
        let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, vec!["hc_article", "hc_comment", "community_post"], "{got:?}");
        assert!(got.iter().all(|(_, t)| !t.contains("Walter")), "a notice carried someone's words: {got:?}");
        assert!(got[0].1.contains("Refunds"), "{got:?}");
        // The writer hears nothing of their own writing.
        let (_, v) = app.get("/api/v2/users/search.json?query=walter@example.fi").await;
        let walter = v["users"][0]["id"].as_i64().unwrap();
        assert!(app.outbox(walter).await.is_empty());
    }
);

engine_test!(what_the_review_found_stays_fixed, |app| async move {
    let (_, section, article) = shelf(&app, json!({"title": "Open", "body": "<p>For all.</p>"})).await;
    // `user_segment_ids` is honoured, never dropped; disagreeing or several are refused.
    let path = format!("/api/v2/help_center/sections/{section}/articles.json");
    let (s, v) = app.post(&path, json!({"article": {"title": "Staff", "user_segment_ids": [2]}})).await;
    assert_eq!((s, v["article"]["user_segment_id"].as_i64()), (StatusCode::CREATED, Some(2)), "{v}");
    for body in [
        json!({"article": {"title": "x", "user_segment_ids": [1, 2]}}),
        json!({"article": {"title": "x", "user_segment_id": 1, "user_segment_ids": [2]}}),
        json!({"article": {"title": "x", "user_segment_ids": [77]}}),
    ] {
        let (s, v) = app.post(&path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }

    // A restricted person's words are hidden from everyone but staff while it lasts.
    let open = topic(&app, None).await;
    let (quiet, quiet_login) = app.end_user_with_password("Rauha Rajattu", "rauha@example.fi").await;
    let (_, reader) = app.end_user_with_password("Lukija Lahtinen", "lukija@example.fi").await;
    let (_, v) = as_user(
        &app,
        &quiet_login,
        Method::POST,
        "/api/v2/community/posts.json",
        Some(json!({"post": {"title": "Rauha asks", "topic_id": open}})),
    )
    .await;
    let post = v["post"]["id"].as_i64().unwrap();
    as_user(
        &app,
        &quiet_login,
        Method::POST,
        &format!("/api/v2/help_center/articles/{article}/comments.json"),
        Some(json!({"comment": {"body": "Rauha says hi"}})),
    )
    .await;
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{quiet}/restriction"),
            json!({"reason": "accuracy contested"}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (_, v) = as_user(&app, &reader, Method::GET, "/api/v2/community/posts.json", None).await;
    assert_eq!(v["count"], 0, "{v}");
    let (s, _) = as_user(&app, &reader, Method::GET, &format!("/api/v2/community/posts/{post}.json"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = as_user(
        &app,
        &reader,
        Method::GET,
        &format!("/api/v2/help_center/articles/{article}/comments.json"),
        None,
    )
    .await;
    assert_eq!(v["count"], 0, "{v}");
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/comments.json")).await;
    assert_eq!(v["count"], 1, "staff still see it");
    let mut anon = crate::web::Browser::new(&app);
    assert_eq!(anon.get(&format!("/hc/community/posts/{post}")).await.status, StatusCode::NOT_FOUND);

    // A client sending a post back as it read it (moderation fields unchanged) may, as its author.
    let (_, author) = app.end_user_with_password("Kalle Kirjoittaja", "kalle@example.fi").await;
    let (_, v) = as_user(
        &app,
        &author,
        Method::POST,
        "/api/v2/community/posts.json",
        Some(json!({"post": {"title": "Mine", "topic_id": open}})),
    )
    .await;
    let mut mine = v["post"].clone();
    mine["title"] = json!("Mine, edited");
    let (s, v) = as_user(
        &app,
        &author,
        Method::PUT,
        &format!("/api/v2/community/posts/{}.json", mine["id"]),
        Some(json!({ "post": mine.clone() })),
    )
    .await;
    assert_eq!((s, v["post"]["title"].as_str()), (StatusCode::OK, Some("Mine, edited")), "{v}");
    mine["pinned"] = json!(true);
    let (s, _) = as_user(
        &app,
        &author,
        Method::PUT,
        &format!("/api/v2/community/posts/{}.json", mine["id"]),
        Some(json!({ "post": mine })),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a change to a moderation field is staff's");

    // Staff cannot put words in someone's mouth where they could not read them.
    let (_, v) = app.get("/api/v2/users/search.json?query=kalle@example.fi").await;
    let kalle = v["users"][0]["id"].as_i64().unwrap();
    let (_, v) = app.post(&path, json!({"article": {"title": "Drafty", "draft": true}})).await;
    let draft = v["article"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/v2/help_center/articles/{draft}/comments.json"),
            json!({"comment": {"body": "as Kalle", "author_id": kalle}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Comments are bounded (pages show many at once).
    let (s, _) = as_user(
        &app,
        &author,
        Method::POST,
        &format!("/api/v2/help_center/articles/{article}/comments.json"),
        Some(json!({"comment": {"body": "x".repeat(70 * 1024)}})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
});

engine_test!(deleting_erased_people_s_comments_keeps_their_posts_and_others_votes_tidy, |app| async move {
    let (_, _, article) = shelf(&app, json!({"title": "Hours", "body": "<p>Open.</p>"})).await;
    let (s, _) = app
        .put("/api/v2/privacy/settings.json", json!({"settings": {"erasure_comments": "delete"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let open = topic(&app, None).await;
    let (gone, gone_login) = app.end_user_with_password("Olli Poistuva", "olli@example.fi").await;
    let (_, other) = app.end_user_with_password("Olli Jää", "olli.j@example.fi").await;
    let (_, v) = as_user(
        &app,
        &gone_login,
        Method::POST,
        "/api/v2/community/posts.json",
        Some(json!({"post": {"title": "Olli asks", "topic_id": open}})),
    )
    .await;
    let post = v["post"]["id"].as_i64().unwrap();
    let (_, v) = as_user(
        &app,
        &other,
        Method::POST,
        &format!("/api/v2/community/posts/{post}/comments.json"),
        Some(json!({"comment": {"body": "Answer from the other Olli"}})),
    )
    .await;
    assert!(v["comment"]["id"].is_i64(), "{v}");
    let (_, v) = as_user(
        &app,
        &gone_login,
        Method::POST,
        &format!("/api/v2/help_center/articles/{article}/comments.json"),
        Some(json!({"comment": {"body": "bye"}})),
    )
    .await;
    let doomed = v["comment"]["id"].as_i64().unwrap();
    as_user(
        &app,
        &other,
        Method::POST,
        &format!("/api/v2/help_center/articles/{article}/comments/{doomed}/up.json"),
        None,
    )
    .await;
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{gone}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    // The post keeps its place (the other Olli's answer hangs on it); the comment went, and the
    // vote given to it with it.
    let (s, v) = app.get(&format!("/api/v2/community/posts/{post}.json")).await;
    assert_eq!(
        (s, v["post"]["title"].as_str()),
        (StatusCode::OK, Some("[removed at the person's request]")),
        "{v}"
    );
    let (_, v) = app.get(&format!("/api/v2/community/posts/{post}/comments.json")).await;
    assert_eq!(v["comments"][0]["body"], "Answer from the other Olli");
    let (_, v) = app.get(&format!("/api/v2/help_center/articles/{article}/comments.json")).await;
    assert_eq!(v["count"], 0);
    let (_, v) = as_user(&app, &other, Method::GET, "/api/v2/users/me.json", None).await;
    let (_, v) = app.get(&format!("/api/v2/help_center/users/{}/votes.json", v["user"]["id"])).await;
    assert_eq!(v["count"], 0, "the vote on the deleted comment went: {v}");
});

// Posts sorted by comments are sorted by the comments everyone may read: hidden comments do not
// count, so the order tells no one they are there.
engine_test!(sorting_posts_by_comments_counts_only_what_everyone_reads, |app| async move {
    let open = topic(&app, None).await;
    let (_, login) = app.end_user_with_password("Sanni Sort", "sanni.sort@example.fi").await;
    let mut posts = Vec::new();
    for title in ["Quiet one", "Talked about"] {
        let (s, v) = as_user(
            &app,
            &login,
            Method::POST,
            "/api/v2/community/posts.json",
            Some(json!({"post": {"title": title, "topic_id": open}})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        posts.push(v["post"]["id"].as_i64().unwrap());
    }
    let (quiet, talked) = (posts[0], posts[1]);
    // Two comments on the first post, both hidden by staff; one visible comment on the second.
    for _ in 0..2 {
        let (s, v) = app
            .post(
                &format!("/api/v2/community/posts/{quiet}/comments.json"),
                json!({"comment": {"body": "moderated away", "hidden": true}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = app
        .post(
            &format!("/api/v2/community/posts/{talked}/comments.json"),
            json!({"comment": {"body": "visible"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = as_user(
        &app,
        &login,
        Method::GET,
        &format!("/api/v2/community/topics/{open}/posts.json?sort_by=comments"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v, "posts"), vec![talked, quiet], "{v}");
});

// A person asking for the articles of an id learns nothing of who else has an account: another
// end user's id answers as an unknown one does; staff's ids (authors) and their own answer.
engine_test!(listing_articles_by_author_tells_people_of_no_one_else, |app| async move {
    let (me, login) = app.end_user_with_password("Kaisa Kysyjä", "kaisa.k@example.fi").await;
    let other = app.user("Olli Other", "olli.o@example.fi").await;
    let ask = async |id: i64| {
        let path = format!("/api/v2/help_center/users/{id}/articles.json");
        as_user(&app, &login, Method::GET, &path, None).await
    };
    let (unknown, _) = ask(other + 10_000).await;
    let (someone, v) = ask(other).await;
    assert_eq!((unknown, someone), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND), "{v}");
    assert_eq!(ask(me).await.0, StatusCode::OK);
    assert_eq!(ask(app.t.admin_id).await.0, StatusCode::OK, "staff write articles");
    let (s, _) = app.get(&format!("/api/v2/help_center/users/{other}/articles.json")).await;
    assert_eq!(s, StatusCode::OK, "staff see anyone's");
});
