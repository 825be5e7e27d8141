//! Bad input gets a Zendesk-shaped 4xx that says what is wrong, and nothing is half-written:
//! one table, one row per kind of mistake.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::engine_test;
use crate::harness::{TestApp, send};

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    body: Body,
    status: StatusCode,
    error: &'static str,
}

enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>, &'static str),
}

async fn counts(app: &TestApp) -> (i64, i64) {
    let (_, t) = app.get("/api/v2/tickets.json?per_page=1").await;
    let (_, u) = app.get("/api/v2/users.json?per_page=1").await;
    (t["count"].as_i64().unwrap(), u["count"].as_i64().unwrap())
}

engine_test!(every_mistake_gets_a_clear_4xx_and_changes_nothing, |app| async move {
    let u = app.user("Valid", "valid@example.fi").await;
    let t = app.ticket(u, "Valid ticket", "body").await;
    let other = app.second_tenant("other").await;
    let (_, ov) = app
        .call_as(
            &other,
            Method::POST,
            "/api/v2/users.json",
            Some(json!({"user": {"name": "Other tenant user", "email": "o@example.fi"}})),
        )
        .await;
    let other_user = ov["user"]["id"].as_i64().unwrap();
    let long = "x".repeat(70_000);
    let cases = vec![
        Case {
            what: "a role filter that names no role (it would otherwise list everyone)",
            method: Method::GET,
            path: "/api/v2/users.json?role=superuser".into(),
            body: Body::None,
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "malformed JSON",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Raw(b"{\"ticket\": {".to_vec(), "application/json"),
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "JSON that is not an object",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Raw(b"[1,2]".to_vec(), "application/json"),
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "invalid UTF-8",
            method: Method::POST,
            path: "/api/v2/users.json".into(),
            body: Body::Raw(b"{\"user\": {\"name\": \"\xff\xfe\"}}".to_vec(), "application/json"),
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "wrong content type",
            method: Method::POST,
            path: "/api/v2/users.json".into(),
            body: Body::Raw(b"<user/>".to_vec(), "application/xml"),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            error: "UnsupportedMediaType",
        },
        Case {
            what: "body over the limit",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Raw(
                format!("{{\"ticket\": {{\"subject\": \"{}\"}}}}", "y".repeat(1_200_000)).into_bytes(),
                "application/json",
            ),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: "RequestTooLarge",
        },
        Case {
            what: "wrong type",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"requester_id": "abc", "comment": {"body": "x"}}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "wrong type for a flag",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"requester_id": u, "comment": {"body": "x", "public": "maybe"}}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "missing root key",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "missing description",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"subject": "no body", "requester_id": u}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "missing name",
            method: Method::POST,
            path: "/api/v2/users.json".into(),
            body: Body::Json(json!({"user": {"email": "noname@example.fi"}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "unknown field",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"requester_id": u, "comment": {"body": "x"}, "colour": "red"}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "unknown root key",
            method: Method::POST,
            path: "/api/v2/users.json".into(),
            body: Body::Json(json!({"user": {"name": "A"}, "extra": 1})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "invalid e-mail",
            method: Method::POST,
            path: "/api/v2/users.json".into(),
            body: Body::Json(json!({"user": {"name": "Bad Mail", "email": "not-an-address"}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "very long string",
            method: Method::POST,
            path: "/api/v2/users.json".into(),
            body: Body::Json(json!({"user": {"name": long}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "NUL in a name",
            method: Method::POST,
            path: "/api/v2/users.json".into(),
            body: Body::Json(json!({"user": {"name": "a\u{0}b"}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "invalid status",
            method: Method::PUT,
            path: format!("/api/v2/tickets/{t}.json"),
            body: Body::Json(json!({"ticket": {"status": "done"}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "requester that does not exist",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"requester_id": 987654321, "comment": {"body": "x"}}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "requester of another tenant",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"requester_id": other_user, "comment": {"body": "x"}}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "CC of another tenant (no partial write)",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"requester_id": u, "comment": {"body": "x"}, "collaborator_ids": [other_user]}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "new requester with a bad address (no partial write)",
            method: Method::POST,
            path: "/api/v2/tickets.json".into(),
            body: Body::Json(json!({"ticket": {"requester": {"name": "N", "email": "x@"}, "comment": {"body": "x"}}})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "RecordInvalid",
        },
        Case {
            what: "unknown ticket id",
            method: Method::GET,
            path: "/api/v2/tickets/987654321.json".into(),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            error: "RecordNotFound",
        },
        Case {
            what: "non-numeric id",
            method: Method::GET,
            path: "/api/v2/tickets/abc.json".into(),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            error: "RecordNotFound",
        },
        Case {
            what: "other tenant's user id",
            method: Method::GET,
            path: format!("/api/v2/users/{other_user}.json"),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            error: "RecordNotFound",
        },
        Case {
            what: "bad pagination cursor",
            method: Method::GET,
            path: "/api/v2/tickets.json?page[size]=10&page[after]=%%%".into(),
            body: Body::None,
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "page size out of range",
            method: Method::GET,
            path: "/api/v2/tickets.json?page[size]=1000".into(),
            body: Body::None,
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "offset past 10,000",
            method: Method::GET,
            path: "/api/v2/tickets.json?page=200&per_page=100".into(),
            body: Body::None,
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "search past 1,000 results",
            method: Method::GET,
            path: "/api/v2/search.json?query=x&page=11&per_page=100".into(),
            body: Body::None,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid",
        },
        Case {
            what: "bad search date",
            method: Method::GET,
            path: "/api/v2/search.json?query=created%3Eyesterday".into(),
            body: Body::None,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid",
        },
        Case {
            what: "empty search",
            method: Method::GET,
            path: "/api/v2/search.json?query=".into(),
            body: Body::None,
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "unknown route",
            method: Method::GET,
            path: "/api/v2/nothing_here.json".into(),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            error: "RecordNotFound",
        },
        Case {
            what: "wrong method",
            method: Method::PATCH,
            path: "/api/v2/tickets.json".into(),
            body: Body::None,
            status: StatusCode::METHOD_NOT_ALLOWED,
            error: "MethodNotAllowed",
        },
        Case {
            what: "upload without a file name",
            method: Method::POST,
            path: "/api/v2/uploads.json".into(),
            body: Body::Raw(b"abc".to_vec(), "text/plain"),
            status: StatusCode::BAD_REQUEST,
            error: "BadRequest",
        },
        Case {
            what: "job status that does not exist",
            method: Method::GET,
            path: "/api/v2/job_statuses/0123456789abcdef0123456789abcdef.json".into(),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            error: "RecordNotFound",
        },
    ];
    let before = counts(&app).await;
    for c in cases {
        let mut r = app.req(c.method.clone(), &c.path);
        r = match c.body {
            Body::None => r,
            Body::Json(v) => r.json(&v),
            Body::Raw(b, ct) => r.header("content-type", ct).body(b),
        };
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = resp.text().await.unwrap();
        assert_eq!(status, c.status, "{}: {text}", c.what);
        assert!(ct.starts_with("application/json"), "{}: content type {ct}", c.what);
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}: not JSON: {text}", c.what));
        assert_eq!(v["error"], c.error, "{}: {v}", c.what);
        if c.status == StatusCode::UNPROCESSABLE_ENTITY && c.error == "RecordInvalid" {
            assert!(v["details"].is_object() || v["description"].is_string(), "{}: says what is wrong: {v}", c.what);
        }
    }
    assert_eq!(counts(&app).await, before, "nothing was half-written");
});

engine_test!(wrong_credentials_are_401_and_say_nothing_more, |app| async move {
    let url = app.url("/api/v2/users/me.json");
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("no credentials", app.client.get(&url)),
        ("wrong token", app.client.get(&url).basic_auth("admin@one.example/token", Some("nope"))),
        (
            "unknown user with a real token",
            app.client.get(&url).basic_auth("nobody@one.example/token", Some(&app.t.token)),
        ),
        ("wrong password", app.client.get(&url).basic_auth("admin@one.example", Some("wrong-password"))),
        (
            "unknown user password",
            app.client.get(&url).basic_auth("nobody@one.example", Some("wrong-password")),
        ),
        ("bad bearer", app.client.get(&url).bearer_auth("nope")),
        ("garbage header", app.client.get(&url).header("authorization", "Basic !!!")),
    ];
    for (what, r) in cases {
        let (s, v) = send(r).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(v, json!({"error": "Couldn't authenticate you"}), "{what}");
    }
});

engine_test!(hostile_html_is_stored_safely_and_rendered_inert, |app| async move {
    let u = app.user("<img src=x onerror=alert(1)>", "hostile@example.fi").await;
    let payloads = [
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">click</a>",
        "<svg onload=alert(1)><circle/></svg>",
        "<iframe src=\"https://evil.example\"></iframe>",
    ];
    let t = app.ticket(u, "<b>subject</b>", "first").await;
    for p in payloads {
        // A comment that is nothing but a script sanitises to nothing: refused as blank.
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}.json"),
                json!({"ticket": {"comment": {"html_body": format!("ok {p}")}}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{p}: {v}");
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{t}.json"),
                json!({"ticket": {"comment": {"html_body": "<script>alert(1)</script>"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, _) = app.put(&format!("/api/v2/tickets/{t}.json"), json!({"ticket": {"comment": {"body": p}}})).await;
        assert_eq!(s, StatusCode::OK, "{p}");
    }
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}/comments.json")).await;
    for c in v["comments"].as_array().unwrap() {
        let html = c["html_body"].as_str().unwrap().to_lowercase();
        for tag in real_tags(&html) {
            for bad in ["script", "iframe", "svg", "object", "embed"] {
                assert!(!tag.starts_with(bad), "<{tag}> survived in {html}");
            }
            assert!(!tag.contains("javascript:"), "<{tag}> survived in {html}");
            let has_handler = tag.split_whitespace().skip(1).any(|attr| attr.starts_with("on") && attr.contains('='));
            assert!(!has_handler, "<{tag}> survived in {html}");
        }
    }
    // Plain bodies are kept as written (they are text, not HTML).
    assert!(v["comments"].as_array().unwrap().iter().any(|c| c["body"] == "<script>alert('x')</script>"));
});

/// The contents of every real tag (`<…>`) in `html`; escaped text (`&lt;…`) has none.
fn real_tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').unwrap_or(after.len());
        out.push(after[..end].trim_start_matches('/').to_string());
        rest = &after[end..];
    }
    out
}
