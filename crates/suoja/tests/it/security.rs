//! Security hardening (issue: second factor everywhere, no unauthenticated exhaustion, revocable
//! tokens, safe webhooks): each test names the finding it closes and fails on the code before.

use reqwest::StatusCode;
use serde_json::json;
use suoja_core::Clock as _;

use crate::harness::TestApp;
use crate::web::{Browser, PASSWORD};
use crate::{engine_test, engine_test_clocked, engine_test_configured};

async fn api_status(app: &TestApp, email: &str, password: &str, path: &str) -> StatusCode {
    app.client.get(app.url(path)).basic_auth(email, Some(password)).send().await.unwrap().status()
}

async fn failures(app: &TestApp, user: i64) -> i64 {
    let mut c = app.helpdesk().db().read().await.unwrap();
    sqlx::query_scalar::<_, i64>("SELECT failures FROM sign_in_failures WHERE user_id = $1")
        .bind(user)
        .fetch_optional(&mut c)
        .await
        .unwrap()
        .unwrap_or(0)
}

async fn blocked(app: &TestApp, user: i64) -> bool {
    let mut c = app.helpdesk().db().read().await.unwrap();
    let until: Option<Option<i64>> = sqlx::query_scalar("SELECT blocked_until FROM sign_in_failures WHERE user_id = $1")
        .bind(user)
        .fetch_optional(&mut c)
        .await
        .unwrap();
    until.flatten().is_some_and(|t| t > app.helpdesk().now().0)
}

/// Sets up TOTP for a signed-in browser; returns the secret.
async fn set_up_totp(b: &mut Browser, clock: &suoja_core::clock::ManualClock) -> Vec<u8> {
    let shown = b.submit("/account/second-factor", "/account/second-factor", &[]).await;
    assert_eq!(shown.status, StatusCode::OK);
    let secret = suoja_helpdesk::totp::from_base32(&shown.hidden("secret")).unwrap();
    let code = suoja_helpdesk::totp::code_at(&secret, suoja_helpdesk::totp::step_of(clock.now()));
    let csrf = shown.hidden("csrf");
    let ok = b.post("/account/second-factor/confirm", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!(ok.status, StatusCode::OK, "the recovery codes are shown");
    secret
}

// Finding 1: the second factor was bypassed through the API's password sign-in, and a right
// password wiped the count of wrong codes.
engine_test_clocked!(the_api_takes_no_password_from_an_account_with_a_second_factor, |app, clock| async move {
    let (person, _) = app.end_user_with_password("Toni Tekijä", "toni@example.fi").await;
    assert_eq!(api_status(&app, "toni@example.fi", PASSWORD, "/api/v2/users/me.json").await, StatusCode::OK);
    let mut b = Browser::new(&app);
    b.sign_in("toni@example.fi", PASSWORD).await;
    let secret = set_up_totp(&mut b, &clock).await;
    clock.advance_ms(60_000);
    // Password access to the API ends, and so does minting a token with it; it reads as a wrong password.
    assert_eq!(
        api_status(&app, "toni@example.fi", PASSWORD, "/api/v2/users/me.json").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_status(&app, "nobody@example.fi", PASSWORD, "/api/v2/users/me.json").await,
        StatusCode::UNAUTHORIZED
    );
    let minted = app
        .client
        .post(app.url("/api/v2/oauth/tokens.json"))
        .basic_auth("toni@example.fi", Some(PASSWORD))
        .json(&json!({"token": {"client_id": 1, "scopes": ["read"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), StatusCode::UNAUTHORIZED);

    // Wrong codes count toward the block, and a right password does not wipe the count.
    let mut g = Browser::new(&app);
    for _ in 0..5 {
        g.sign_in("toni@example.fi", "guess").await;
    }
    assert_eq!(failures(&app, person).await, 5);
    let step = g.sign_in("toni@example.fi", PASSWORD).await;
    assert!(step.location().starts_with("/signin/second-factor"), "{}", step.location());
    assert_eq!(failures(&app, person).await, 5, "a right password alone does not reset the count");
    for _ in 0..5 {
        g.sign_in("toni@example.fi", PASSWORD).await;
        let bad = g.submit("/signin/second-factor", "/signin/second-factor", &[("code", "000000")]).await;
        assert_eq!(bad.location(), "/signin?failed=code");
    }
    assert!(blocked(&app, person).await, "the tenth failure (five passwords, five codes) blocks");
    // Blocked now: the right password is refused like a wrong one (no step to a code).
    let refused = g.sign_in("toni@example.fi", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // After the block, a full sign-in clears the count.
    clock.advance_ms(16 * 60_000);
    let mut h = Browser::new(&app);
    h.sign_in("toni@example.fi", PASSWORD).await;
    let code = suoja_helpdesk::totp::code_at(&secret, suoja_helpdesk::totp::step_of(clock.now()));
    let done = h
        .submit("/signin/second-factor", "/signin/second-factor", &[("code", &code), ("return_to", "/")])
        .await;
    assert_eq!(done.location(), "/");
    assert_eq!(failures(&app, person).await, 0);
});

// Finding 1, the staff rule: when the tenant requires a second factor of staff, staff cannot use
// a password on the API either; tokens still work.
engine_test!(the_staff_rule_reaches_the_api, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aapo Agentti", "email": "aapo@example.fi", "role": "agent", "password": PASSWORD}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(api_status(&app, "aapo@example.fi", PASSWORD, "/api/v2/tickets.json").await, StatusCode::OK);
    let scope = app.admin_scope();
    app.helpdesk().set_staff_second_factor(&scope, true).await.unwrap();
    assert_eq!(
        api_status(&app, "aapo@example.fi", PASSWORD, "/api/v2/tickets.json").await,
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = app.get("/api/v2/tickets.json").await;
    assert_eq!(s, StatusCode::OK, "the admin's API token still works");
    // End users are not staff: their password still works.
    let (_, login) = app.end_user_with_password("Eino Asiakas", "eino@example.fi").await;
    assert_eq!(api_status(&app, &login.email, PASSWORD, "/api/v2/users/me.json").await, StatusCode::OK);
});

// Finding 6: `return_to` led off-site when a tab or backslash hid a second slash.
engine_test!(return_to_never_leaves_the_site, |app| async move {
    let (_, _) = app.end_user_with_password("Reetta Reitti", "reetta@example.fi").await;
    for (sent, lands) in [
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%5C%5Cevil.example", "/"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%0A%2Fevil.example", "/"),
        ("%2Fportal%3Fx%3D1", "/portal?x=1"),
    ] {
        let mut b = Browser::new(&app);
        let page = b.get(&format!("/signin?return_to={sent}")).await;
        let kept = page.hidden("return_to");
        let csrf = page.hidden("csrf");
        let done = b
            .post(
                "/signin",
                &[("csrf", &csrf), ("email", "reetta@example.fi"), ("password", PASSWORD), ("return_to", &kept)],
            )
            .await;
        assert_eq!(done.location(), lands, "{sent}");
        // Posting the hostile value straight to the form does not work either.
        let mut b = Browser::new(&app);
        let csrf = b.get("/signin").await.hidden("csrf");
        let raw = percent_encoding::percent_decode_str(sent).decode_utf8().unwrap().to_string();
        let done = b
            .post(
                "/signin",
                &[("csrf", &csrf), ("email", "reetta@example.fi"), ("password", PASSWORD), ("return_to", &raw)],
            )
            .await;
        assert_eq!(done.location(), lands, "{sent} posted");
    }
});

// Finding 13: data, backup and scratch files were created with the process's umask, and a root
// key file anyone could read was used as it was.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_the_owners_alone_and_a_shared_root_key_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = TestApp::spawn(crate::harness::Engine::Sqlite).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = app.settings.data_dir.clone();
    assert_eq!(mode(&data), 0o700, "the data directory");
    for f in ["suoja.db", "suoja.db-wal", "root.key"] {
        let p = data.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{}/erasure.json", app.user("Eero Erased", "eero@example.fi").await),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(mode(&app.settings.erasure_ledger_file()), 0o600, "the erasure ledger");
    let backups = crate::harness::TempDir::new();
    let out = app.cli(&["backup", "--to", backups.0.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut seen = 0;
    let mut dirs = vec![backups.0.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                assert_eq!(mode(&p), 0o700, "{}", p.display());
                dirs.push(p);
            } else {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 4, "data, key vault, manifest and ledger");
    // A root key file others can read is refused, with the fix in the message.
    std::fs::set_permissions(data.join("root.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = app.cli(&["verify", "ledger"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("chmod 600"), "{said}");
}

// Finding 4: restriction was honoured on reads only: `PUT /users/{restricted}` answered with the
// restricted profile, and a restricted ticket could be trashed, restored or purged.
engine_test!(restriction_is_honoured_on_every_write_path, |app| async move {
    let person = app.user("Riikka Rajattu", "riikka@example.fi").await;
    let open = app.ticket(person, "Open one", "still open").await;
    let trashed = app.ticket(person, "Trashed one", "in the trash").await;
    let (s, _) = app.delete(&format!("/api/v2/tickets/{trashed}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{person}/restriction"),
            json!({"reason": "accuracy contested"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.put(&format!("/api/v2/users/{person}.json"), json!({"user": {"notes": "changed"}})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(!v.to_string().contains("Riikka"), "{v}");
    let (s, _) = app.delete(&format!("/api/v2/users/{person}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.delete(&format!("/api/v2/tickets/{open}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.put(&format!("/api/v2/deleted_tickets/{trashed}/restore.json"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.delete(&format!("/api/v2/deleted_tickets/{trashed}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing changed: lifting the restriction shows the profile and both tickets as they were.
    let (s, v) = app
        .post(&format!("/api/v2/privacy/subjects/{person}/restriction/lift"), json!({"reason": "resolved"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{person}.json")).await;
    assert_eq!(v["user"]["notes"], serde_json::Value::Null, "{v}");
    let (s, _) = app.get(&format!("/api/v2/tickets/{open}.json")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = app.get("/api/v2/deleted_tickets.json").await;
    assert!(v.to_string().contains(&format!("\"id\":{trashed}")), "{v}");
    // A verified rectification still reaches a restricted person (that is often why they are).
    let (s, v) = app
        .post(
            &format!("/api/v2/privacy/subjects/{person}/restriction"),
            json!({"reason": "accuracy contested"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/privacy/requests.json",
            json!({"request": {"kind": "rectification", "subject_id": person, "channel": "email", "changes": {"name": "Riikka Oikaistu"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let request = v["request"]["id"].as_i64().unwrap();
    app.post(&format!("/api/v2/privacy/requests/{request}/verify"), json!({"note": "checked"}))
        .await;
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
});

// Finding 3: an agent could set an end user's password or sign-in e-mail and so take over the
// account (and a session from such a change verified privacy requests).
engine_test!(agents_cannot_take_over_accounts, |app| async move {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Ansa Agentti", "email": "ansa@example.fi", "role": "agent", "password": PASSWORD}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = crate::harness::Tenant {
        email: "ansa@example.fi".into(),
        token: PASSWORD.into(),
        admin_id: v["user"]["id"].as_i64().unwrap(),
        tenant_id: app.t.tenant_id,
    };
    let (person, login) = app.end_user_with_password("Kalle Kohde", "kalle@example.fi").await;
    let mut before = Browser::new(&app);
    assert_eq!(before.sign_in("kalle@example.fi", PASSWORD).await.location(), "/");
    for change in [json!({"password": "taken over 123"}), json!({"email": "attacker@example.fi"})] {
        let (s, v) = app
            .call_password(
                &agent,
                reqwest::Method::PUT,
                &format!("/api/v2/users/{person}.json"),
                Some(json!({"user": change})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    assert_eq!(
        api_status(&app, "kalle@example.fi", PASSWORD, "/api/v2/users/me.json").await,
        StatusCode::OK,
        "nothing changed"
    );

    // An admin may: it is in the ledger, the person is told, their sessions end.
    let (s, v) = app
        .put(&format!("/api/v2/users/{person}.json"), json!({"user": {"password": "set by the admin 1"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(before.get("/portal").await.status, StatusCode::SEE_OTHER, "the old session ended");
    let mail = app
        .privacy()
        .outbox_for(suoja_core::TenantId(app.t.tenant_id), suoja_core::UserId(person))
        .await
        .unwrap();
    assert!(
        mail.iter().any(|(k, b)| k == "credentials_changed" && b.expose().contains("your password")),
        "the person is told"
    );
    let entries = {
        let mut c = app.helpdesk().db().read().await.unwrap();
        suoja_store::ledger::for_subject(&mut c, suoja_core::TenantId(app.t.tenant_id), person)
            .await
            .unwrap()
    };
    let set = entries.iter().find(|e| e.kind == "user.credentials_set").expect("a ledger entry");
    assert_eq!(set.details, r#"{"fields":["password"]}"#, "field names, never values");
    assert_eq!(set.actor, Some(app.t.admin_id));
    // A session from that password is no proof of identity: the request waits for staff, and
    // no link goes to the address on record.
    let admin_set = crate::harness::Tenant {
        token: "set by the admin 1".into(),
        ..login.clone()
    };
    let (s, v) = app
        .call_password(
            &admin_set,
            reqwest::Method::POST,
            "/api/v2/privacy/requests.json",
            Some(json!({"request": {"kind": "access"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["request"]["verified"], false, "{v}");
    let mail = app
        .privacy()
        .outbox_for(suoja_core::TenantId(app.t.tenant_id), suoja_core::UserId(person))
        .await
        .unwrap();
    assert!(
        !mail.iter().any(|(k, _)| k == "verification_link"),
        "{:?}",
        mail.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    // Once the person sets a password of their own, their session counts again.
    let (s, v) = app
        .call_password(
            &admin_set,
            reqwest::Method::PUT,
            &format!("/api/v2/users/{person}.json"),
            Some(json!({"user": {"password": "my own secret 42"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let own = crate::harness::Tenant {
        token: "my own secret 42".into(),
        ..login
    };
    let (s, v) = app
        .call_password(
            &own,
            reqwest::Method::POST,
            "/api/v2/privacy/requests.json",
            Some(json!({"request": {"kind": "access"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["request"]["verified"], true, "{v}");

    // A privacy officer who is not an admin cannot correct a staff member's sign-in address.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Pia Tietosuoja", "email": "pia@example.fi", "role": "agent", "privacy_officer": true, "password": PASSWORD}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let officer = crate::harness::Tenant {
        email: "pia@example.fi".into(),
        token: PASSWORD.into(),
        admin_id: v["user"]["id"].as_i64().unwrap(),
        tenant_id: app.t.tenant_id,
    };
    let (s, v) = app
        .call_password(
            &officer,
            reqwest::Method::POST,
            "/api/v2/privacy/requests.json",
            Some(json!({"request": {"kind": "rectification", "subject_id": app.t.admin_id, "channel": "email", "changes": {"email": "officer-controlled@example.fi"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let request = v["request"]["id"].as_i64().unwrap();
    let (s, _) = app
        .call_password(
            &officer,
            reqwest::Method::POST,
            &format!("/api/v2/privacy/requests/{request}/verify"),
            Some(json!({"note": "ok"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .call_password(
            &officer,
            reqwest::Method::POST,
            &format!("/api/v2/privacy/requests/{request}/fulfil"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{request}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "an admin may: {v}");
});

async fn bearer(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> StatusCode {
    let mut r = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap().status()
}

async fn token_status(app: &TestApp, email: &str, token: &str) -> StatusCode {
    app.client
        .get(app.url("/api/v2/users/me.json"))
        .basic_auth(format!("{email}/token"), Some(token))
        .send()
        .await
        .unwrap()
        .status()
}

// Finding 2: API tokens outlived their admin and could not be listed or revoked; OAuth tokens
// ignored their scopes and expiry, and outlived a new password or "sign out everywhere".
engine_test_clocked!(tokens_are_bound_revocable_scoped_and_expiring, |app, clock| async move {
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Toinen Admin", "email": "toinen@example.fi", "role": "admin", "password": PASSWORD}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let admin2 = v["user"]["id"].as_i64().unwrap();
    let admin2_login = crate::harness::Tenant {
        email: "toinen@example.fi".into(),
        token: PASSWORD.into(),
        admin_id: admin2,
        tenant_id: app.t.tenant_id,
    };
    let (s, v) = app
        .call_password(
            &admin2_login,
            reqwest::Method::POST,
            "/api/v2/api_tokens.json",
            Some(json!({"api_token": {"description": "CRM sync"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["api_token"]["id"].as_i64().unwrap();
    let value = v["api_token"]["token"].as_str().unwrap().to_string();
    assert_eq!(token_status(&app, "toinen@example.fi", &value).await, StatusCode::OK);
    // Listed, never shown again.
    let (s, list) = app.get("/api/v2/api_tokens.json").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert!(!list.to_string().contains(&value), "{list}");
    let row = list["api_tokens"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    assert_eq!(
        (row["description"].as_str(), row["active"].as_bool(), row["created_by_id"].as_i64()),
        (Some("CRM sync"), Some(true), Some(admin2))
    );
    // Bound to its admin: demoted or suspended, the token stops; restored, it works again.
    let (s, _) = app.put(&format!("/api/v2/users/{admin2}.json"), json!({"user": {"role": "agent"}})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(token_status(&app, "toinen@example.fi", &value).await, StatusCode::UNAUTHORIZED, "demoted");
    assert_eq!(token_status(&app, &app.t.email, &value).await, StatusCode::UNAUTHORIZED, "for anyone");
    let (_, list) = app.get("/api/v2/api_tokens.json").await;
    assert_eq!(list["api_tokens"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["active"], false);
    app.put(&format!("/api/v2/users/{admin2}.json"), json!({"user": {"role": "admin"}})).await;
    assert_eq!(token_status(&app, "toinen@example.fi", &value).await, StatusCode::OK);
    app.put(&format!("/api/v2/users/{admin2}.json"), json!({"user": {"suspended": true}})).await;
    assert_eq!(token_status(&app, "toinen@example.fi", &value).await, StatusCode::UNAUTHORIZED, "suspended");
    app.put(&format!("/api/v2/users/{admin2}.json"), json!({"user": {"suspended": false}})).await;
    assert_eq!(token_status(&app, "toinen@example.fi", &value).await, StatusCode::OK);
    // Agents do not manage tokens; admins revoke them.
    let (_, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Agentti", "email": "agentti@example.fi", "role": "agent", "password": PASSWORD}}),
        )
        .await;
    let agent = crate::harness::Tenant {
        email: "agentti@example.fi".into(),
        token: PASSWORD.into(),
        admin_id: v["user"]["id"].as_i64().unwrap(),
        tenant_id: app.t.tenant_id,
    };
    // The token acts as whoever its address names: its own admin, or another person here;
    // an address no one here has is refused.
    for (email, id) in [("toinen@example.fi", admin2), ("agentti@example.fi", agent.admin_id)] {
        let me: serde_json::Value = app
            .client
            .get(app.url("/api/v2/users/me.json"))
            .basic_auth(format!("{email}/token"), Some(&value))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["user"]["id"].as_i64(), Some(id), "{email}: {me}");
    }
    assert_eq!(token_status(&app, "ei-ketaan@example.fi", &value).await, StatusCode::UNAUTHORIZED);
    let (s, _) = app.call_password(&agent, reqwest::Method::GET, "/api/v2/api_tokens.json", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.delete(&format!("/api/v2/api_tokens/{id}.json")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(token_status(&app, "toinen@example.fi", &value).await, StatusCode::UNAUTHORIZED, "revoked");
    let (s, _) = app.delete(&format!("/api/v2/api_tokens/{id}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let two = app.second_tenant("two").await;
    // Tenant one's own first token (made at bootstrap) is id 1: tenant two cannot touch it.
    let (s, _) = app.call_as(&two, reqwest::Method::DELETE, "/api/v2/api_tokens/1.json", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's token");
    assert_eq!(app.get("/api/v2/users/me.json").await.0, StatusCode::OK);

    // OAuth scopes.
    let mint = |body: serde_json::Value| {
        let app = &app;
        async move {
            let (s, v) = app.post("/api/v2/oauth/tokens.json", json!({ "token": body })).await;
            (s, v["token"]["full_token"].as_str().unwrap_or("").to_string())
        }
    };
    let (s, read) = mint(json!({"scopes": ["read"]})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(bearer(&app, &read, reqwest::Method::GET, "/api/v2/tickets.json", None).await, StatusCode::OK);
    let ticket = json!({"ticket": {"subject": "by a read token", "comment": {"body": "no"}}});
    assert_eq!(
        bearer(&app, &read, reqwest::Method::POST, "/api/v2/tickets.json", Some(ticket.clone())).await,
        StatusCode::FORBIDDEN
    );
    let (_, tickets_only) = mint(json!({"scopes": ["tickets:write"]})).await;
    assert_eq!(
        bearer(&app, &tickets_only, reqwest::Method::POST, "/api/v2/tickets.json", Some(ticket)).await,
        StatusCode::CREATED
    );
    assert_eq!(
        bearer(&app, &tickets_only, reqwest::Method::GET, "/api/v2/users.json", None).await,
        StatusCode::FORBIDDEN
    );
    for bad in [
        json!({"scopes": ["root"]}),
        json!({"scopes": []}),
        json!({"expires_at": "2000-01-01T00:00:00Z"}),
        json!({"expires_at": "soon"}),
    ] {
        let (s, _) = mint(bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // Expiry.
    let until = suoja_core::Timestamp(clock.now().0 + 3_600_000).to_iso();
    let (_, short) = mint(json!({"expires_at": until})).await;
    assert_eq!(bearer(&app, &short, reqwest::Method::GET, "/api/v2/users/me.json", None).await, StatusCode::OK);
    clock.advance_ms(3_600_000 + 1000);
    assert_eq!(
        bearer(&app, &short, reqwest::Method::GET, "/api/v2/users/me.json", None).await,
        StatusCode::UNAUTHORIZED
    );
    // A new password and "sign out on every device" end a person's OAuth tokens.
    let (s, v) = app
        .call_password(
            &admin2_login,
            reqwest::Method::POST,
            "/api/v2/oauth/tokens.json",
            Some(json!({"token": {"scopes": ["read"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mine = v["token"]["full_token"].as_str().unwrap().to_string();
    assert_eq!(bearer(&app, &mine, reqwest::Method::GET, "/api/v2/users/me.json", None).await, StatusCode::OK);
    app.put(&format!("/api/v2/users/{admin2}.json"), json!({"user": {"password": "a brand new one 9"}}))
        .await;
    assert_eq!(
        bearer(&app, &mine, reqwest::Method::GET, "/api/v2/users/me.json", None).await,
        StatusCode::UNAUTHORIZED
    );
    let (_, outlives) = mint(json!({"scopes": ["read"]})).await;
    let scope = app.admin_scope();
    app.helpdesk().web_sign_out_everywhere(&scope).await.unwrap();
    assert_eq!(
        bearer(&app, &outlives, reqwest::Method::GET, "/api/v2/users/me.json", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v2/users/me.json").await.0,
        StatusCode::OK,
        "the admin's API token is an integration's, and stays"
    );
});

// Finding 7: the limiter was keyed by the raw Authorization header (each invented credential a
// fresh bucket), and every Basic password ran Argon2 with no bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_credentials_share_their_clients_bucket() {
    let app = TestApp::spawn_with(crate::harness::Engine::Sqlite, |s| {
        s.rate_limit_per_minute = 5;
        s.rate_limit_per_client_per_minute = Some(20);
    })
    .await;
    let mut refused = 0;
    for i in 0..25 {
        let s = api_status(&app, &format!("invented{i}@example.fi"), "guess", "/api/v2/users/me.json").await;
        assert!(s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS, "{s}");
        refused += usize::from(s == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(
        refused >= 5,
        "one client address gets 20 a minute, whatever it claims to be ({refused} refused)"
    );
    let r = app
        .client
        .get(app.url("/api/v2/users/me.json"))
        .basic_auth("x@example.fi", Some("y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_is_limited_wherever_the_guesses_come_from() {
    let app = TestApp::spawn_with(crate::harness::Engine::Sqlite, |s| {
        s.rate_limit_per_minute = 5;
        s.rate_limit_per_client_per_minute = Some(1_000);
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let guess = |from: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v2/users/me.json"))
                .header("x-forwarded-for", from)
                .basic_auth("victim@example.fi", Some("guess"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(guess(format!("203.0.113.{i}")).await);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 3, "{statuses:?}");
    // Behind a trusted proxy each client has its own bucket.
    let app2 = TestApp::spawn_with(crate::harness::Engine::Sqlite, |s| {
        s.rate_limit_per_minute = 1_000;
        s.rate_limit_per_client_per_minute = Some(3);
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for i in 0..6 {
        let s = app2
            .client
            .get(app2.url("/api/v2/users/me.json"))
            .header("x-forwarded-for", format!("198.51.100.{i}, 127.0.0.1"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s, StatusCode::UNAUTHORIZED, "client {i} has a bucket of its own");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_are_bounded() {
    let app = TestApp::spawn(crate::harness::Engine::Sqlite).await;
    let (_, login) = app.end_user_with_password("Paula Paljon", "paula@example.fi").await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let client = app.client.clone();
        let url = app.url("/api/v2/users/me.json");
        let email = if i % 2 == 0 { login.email.clone() } else { format!("nobody{i}@example.fi") };
        set.spawn(async move { client.get(url).basic_auth(email, Some("wrong guess")).send().await.unwrap().status() });
    }
    let statuses: Vec<StatusCode> = set.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "forty at once exceed the bound: {statuses:?}"
    );
}

// Finding 8: no header, body or idle timeouts: a client sending a byte now and then held a
// connection and a request open for ever; sign-in forms took bodies of any size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::spawn_with(crate::harness::Engine::Sqlite, |s| {
        s.header_timeout_secs = 1;
        s.body_timeout_secs = 1;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let closed_within = |mut c: tokio::net::TcpStream, secs: u64| async move {
        let mut buf = vec![0u8; 4096];
        let started = std::time::Instant::now();
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(secs), c.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
                Ok(Ok(_)) => continue,
                Err(_) => panic!("the connection stayed open for {secs} s"),
            }
        }
    };
    // Headers that never end.
    let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    closed_within(c, 4).await;
    // A kept-alive connection that sits idle.
    let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = [0u8; 12];
    c.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    closed_within(c, 4).await;
    // A body that trickles.
    let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let auth = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{}/token:{}", app.t.email, app.t.token));
    c.write_all(format!("POST /api/v2/tickets.json HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"ticket\"").as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), c.read(&mut answer))
        .await
        .expect("an answer in time")
        .unwrap();
    let head = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 4"), "{head}");
    // The server still serves everyone else, and wrote nothing.
    let (s, v) = app.get("/api/v2/tickets.json").await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(0)));
    // A sign-in form larger than any sign-in needs is refused before it is read.
    let page = app.client.get(app.url("/signin")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("csrf"));
    let big = "x".repeat(100 * 1024);
    let r = app
        .client
        .post(app.url("/signin"))
        .form(&[("email", "a@b.fi"), ("password", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn anon_timed(app: &TestApp, path: &str, body: serde_json::Value) -> (StatusCode, serde_json::Value, std::time::Duration) {
    let started = std::time::Instant::now();
    let (s, v) = app.call_anon(reqwest::Method::POST, path, Some(body)).await;
    (s, v, started.elapsed())
}

async fn confirm_link(app: &TestApp, token: &str) -> (StatusCode, serde_json::Value) {
    app.call_anon(reqwest::Method::POST, "/api/v2/privacy/confirmations", Some(json!({"token": token})))
        .await
}

async fn outbox_bodies(app: &TestApp, user: i64, kind: &str) -> Vec<String> {
    app.privacy()
        .outbox_for(suoja_core::TenantId(app.t.tenant_id), suoja_core::UserId(user))
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, b)| b.expose().clone())
        .collect()
}

// Finding 5: confirmation links named the request's sequential number, each way of failing had
// its own answer (unknown request 404, used 409, locked 429, wrong 422), and nothing limited how
// many codes one client could try.
engine_test_clocked!(confirmation_links_are_unguessable_uniform_and_limited, |app, clock| async move {
    let mia = app.user("Mia Mäkinen", "mia@example.fi").await;
    let (s, v) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "access", "subject_id": mia}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["request"]["id"].as_i64().unwrap();
    let mail = outbox_bodies(&app, mia, "verification_link").await;
    let link = mail[0].split_whitespace().find(|w| w.contains("/privacy/confirm?")).unwrap().to_string();
    let token = link.split("token=").nth(1).unwrap().to_string();
    let (reference, secret) = token.split_once('.').unwrap();
    assert!(reference.len() >= 20 && secret.len() >= 30, "{token}");
    // (A value of a query parameter, not a prefix: a random token may start with the digits.)
    let id_text = id.to_string();
    assert!(
        link.split(['?', '&'])
            .skip(1)
            .all(|kv| kv.split_once('=').is_none_or(|(_, v)| v != id_text && !v.starts_with(&format!("{id_text}.")))),
        "the link names no request number: {link}"
    );

    // Every failure: one status, one body.
    let expected = confirm_link(&app, "nothing-like-a-token").await;
    assert_eq!(expected.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", expected.1);
    for wrong in [
        format!("{id}.{secret}"),
        format!("unknownreference.{secret}"),
        format!("{reference}.wrong"),
        format!("{reference}."),
        ".".into(),
    ] {
        assert_eq!(confirm_link(&app, &wrong).await, expected, "{wrong}");
    }
    // A second request: its link used once, then again; a third: expired.
    let (_, v) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "portability", "subject_id": mia}}))
        .await;
    let second = v["request"]["id"].as_i64().unwrap();
    let token2 = outbox_bodies(&app, mia, "verification_link").await[1]
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (s, v) = confirm_link(&app, &token2).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["id"], second);
    assert_eq!(confirm_link(&app, &token2).await, expected, "used twice");
    clock.advance_ms(25 * 3_600_000);
    assert_eq!(confirm_link(&app, &token).await, expected, "expired");
    let (_, v) = app.get(&format!("/api/v2/privacy/requests/{id}.json")).await;
    assert_eq!(v["request"]["verified"], false);

    // Ten tries per client address in ten minutes (this was the ninth), then 429 with
    // Retry-After, whatever the token.
    assert_eq!(confirm_link(&app, "a.b").await, expected);
    let r = app
        .client
        .post(app.url("/api/v2/privacy/confirmations"))
        .json(&json!({"token": "a.b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
});

// Finding 5 on the web: the link opens a page with a button (a mail scanner fetching it confirms
// nothing); the button confirms; a bad token gets the same page whatever is wrong with it.
engine_test!(the_confirmation_page_confirms_on_the_button_only, |app| async move {
    let nea = app.user("Nea Niemi", "nea@example.fi").await;
    let (_, v) = app
        .post("/api/v2/privacy/requests.json", json!({"request": {"kind": "erasure", "subject_id": nea}}))
        .await;
    let id = v["request"]["id"].as_i64().unwrap();
    let mail = outbox_bodies(&app, nea, "verification_link").await;
    let link = mail[0].split_whitespace().find(|w| w.contains("/privacy/confirm?")).unwrap().to_string();
    let path = &link[link.find("/privacy/confirm?").unwrap()..];
    let token = path.split("token=").nth(1).unwrap().to_string();
    let mut b = Browser::new(&app);
    let page = b.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.hidden("token"), token);
    let (_, v) = app.get(&format!("/api/v2/privacy/requests/{id}.json")).await;
    assert_eq!(v["request"]["verified"], false, "opening the link confirms nothing");
    let csrf = page.hidden("csrf");
    let wrong = b.post("/privacy/confirm", &[("csrf", &csrf), ("token", "abc.def")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("cannot be used"), "{}", wrong.body);
    let done = b.post("/privacy/confirm", &[("csrf", &csrf), ("token", &token)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("confirmed") && done.body.contains("Deletion"), "{}", done.body);
    let (_, v) = app.get(&format!("/api/v2/privacy/requests/{id}.json")).await;
    assert_eq!(v["request"]["verified"], true);
    assert_eq!(v["request"]["verification"], "email_link");
    let again = b.post("/privacy/confirm", &[("csrf", &csrf), ("token", &token)]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        crate::web::without_tokens(&again.body.replace(&token, "T")),
        crate::web::without_tokens(&wrong.body.replace("abc.def", "T")),
        "a used link and a made-up one get the same page"
    );
});

// Finding 5: an anonymous privacy request or sign-in link for a known address did its writes
// before answering, an unknown one answered at once; a rectification without changes was refused
// only for known addresses. Now every answer takes the same fixed time and says the same.
engine_test!(anonymous_answers_take_the_same_time_and_say_the_same, |app| async move {
    let olga = app.user("Olga Orava", "olga@example.fi").await;
    let floor = std::time::Duration::from_millis(300);
    let mut answers = Vec::new();
    for email in ["olga@example.fi", "nobody-here@example.fi"] {
        let (s, v, took) = anon_timed(&app, "/api/v2/privacy/requests", json!({"request": {"kind": "access", "email": email}})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert!(took >= floor, "{email} answered in {took:?}");
        answers.push(v);
        let (s, v, _) = anon_timed(&app, "/api/v2/privacy/requests", json!({"request": {"kind": "rectification", "email": email}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        answers.push(v);
    }
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[1], answers[3]);
    assert_eq!(outbox_bodies(&app, olga, "verification_link").await.len(), 1, "the known address got its link");

    // The sign-in link form: same page, same minimum time.
    let mut pages = Vec::new();
    for email in ["olga@example.fi", "nobody-here@example.fi"] {
        let mut b = Browser::new(&app);
        let form = b.get("/signin/link").await;
        let csrf = form.hidden("csrf");
        let started = std::time::Instant::now();
        let page = b.post("/signin/link", &[("csrf", &csrf), ("email", email)]).await;
        assert!(started.elapsed() >= floor, "{email}");
        assert_eq!(page.status, StatusCode::OK);
        pages.push(crate::web::without_tokens(&page.body));
    }
    assert_eq!(pages[0], pages[1]);
    assert_eq!(outbox_bodies(&app, olga, "sign_in_link").await.len(), 1);

    // Asking for links is limited per client address: ten an hour (six were asked above).
    for _ in 0..4 {
        let (s, _, _) = anon_timed(
            &app,
            "/api/v2/privacy/requests",
            json!({"request": {"kind": "access", "email": "x@example.fi"}}),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    let (s, _, _) = anon_timed(
        &app,
        "/api/v2/privacy/requests",
        json!({"request": {"kind": "access", "email": "x@example.fi"}}),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
});

// Finding 5: an end user could copy any user id onto their ticket; "does not exist" for unknown
// ids told them which ids are people (and the people added could then read the ticket).
engine_test!(end_users_cannot_probe_or_add_people_by_id, |app| async move {
    let (pia, pia_login) = app.end_user_with_password("Pia Pelto", "pia@example.fi").await;
    let stranger = app.user("Sami Stranger", "sami@example.fi").await;
    let nobody = stranger + 1000;
    let mut answers = Vec::new();
    for field in ["collaborator_ids", "email_cc_ids"] {
        for id in [stranger, nobody] {
            let (s, v) = app
                .call_password(
                    &pia_login,
                    reqwest::Method::POST,
                    "/api/v2/tickets.json",
                    Some(json!({"ticket": {"subject": "cc", "comment": {"body": "hello"}, field: [id]}})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            answers.push(v.to_string().replace(&id.to_string(), "ID"));
        }
    }
    assert_eq!(answers[0], answers[1], "an existing and a made-up id get the same answer");
    assert_eq!(answers[2], answers[3]);
    // Themselves, yes; and staff still learn when an id is wrong.
    let (s, v) = app
        .call_password(
            &pia_login,
            reqwest::Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "cc", "comment": {"body": "hello"}, "email_cc_ids": [pia]}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    let (s, v) = app
        .call_password(
            &pia_login,
            reqwest::Method::PUT,
            &format!("/api/v2/tickets/{ticket}.json"),
            Some(json!({"ticket": {"comment": {"body": "more"}, "collaborator_ids": [stranger]}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not on an update either: {v}");
    let (_, v) = app.get(&format!("/api/v2/tickets/{ticket}.json")).await;
    assert!(!v["ticket"]["collaborator_ids"].as_array().unwrap().contains(&json!(stranger)), "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/tickets/{ticket}.json"), json!({"ticket": {"collaborator_ids": [nobody]}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("does not exist"), "{v}");
});

async fn upload_as(app: &TestApp, who: &crate::harness::Tenant, name: &str, bytes: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let r = app
        .client
        .post(app.url(&format!("/api/v2/uploads.json?filename={name}")))
        .basic_auth(&who.email, Some(&who.token))
        .header("content-type", "application/octet-stream")
        .body(bytes);
    crate::harness::send(r).await
}

async fn own_access_request(app: &TestApp, who: &crate::harness::Tenant) -> i64 {
    let (s, v) = app
        .call_password(
            who,
            reqwest::Method::POST,
            "/api/v2/privacy/requests",
            Some(json!({"request": {"kind": "access"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["request"]["id"].as_i64().unwrap()
}

// Finding 9: an export was built inside the request (every file in memory at once) and a person
// could start any number. Now it is a job: the answer comes at once for a large one (202,
// `building`, nothing to download yet), one package per person is built at a time, a person
// may start five a day (privacy staff are not counted), and the content is stored in sealed
// chunks as it is written.
engine_test_clocked!(exports_are_jobs_one_at_a_time_and_capped_per_day, |app, clock| async move {
    let (_, login) = app.end_user_with_password("Erkki Esimerkki", "erkki@example.fi").await;
    // Two large scans make the build take a while.
    let mut tokens = Vec::new();
    for (i, name) in ["scan-a.bin", "scan-b.bin"].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..8 * 1024 * 1024_u32)
            .map(|n| u8::try_from((n.wrapping_mul(2_654_435_761 + u32::try_from(i).unwrap()) >> 11) & 0xff).unwrap())
            .collect();
        let (s, v) = upload_as(&app, &login, name, bytes).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        tokens.push(v["upload"]["token"].as_str().unwrap().to_string());
    }
    let (s, _) = app
        .call_password(
            &login,
            reqwest::Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "Skannaukset", "comment": {"body": "Liitteenä", "uploads": tokens}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let request = own_access_request(&app, &login).await;
    let path = format!("/api/v2/privacy/requests/{request}/exports.json");

    // The first build runs; while it does, a second is refused (409) and nothing of it can be
    // downloaded.
    let first = {
        let (app_url, client, login) = (app.url(&path), app.client.clone(), login.clone());
        tokio::spawn(async move {
            let r = client
                .post(app_url)
                .basic_auth(&login.email, Some(&login.token))
                .json(&json!({"export": {"format": "zip"}}))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        })
    };
    let mut saw_building = false;
    for _ in 0..500 {
        let (_, list) = app.call_password(&login, reqwest::Method::GET, &path, None).await;
        if let Some(p) = list["exports"].as_array().unwrap().first() {
            if p["status"] == "building" {
                assert_eq!(p["download_url"], serde_json::Value::Null);
                saw_building = true;
                let (s, v) = app
                    .call_password(&login, reqwest::Method::POST, &path, Some(json!({"export": {"format": "json"}})))
                    .await;
                assert_eq!(s, StatusCode::CONFLICT, "a second build while one runs: {v}");
                break;
            }
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(saw_building, "the first build was seen running");
    let (s, v) = first.await.unwrap();
    assert!(s == StatusCode::CREATED || s == StatusCode::ACCEPTED, "{s}: {v}");
    let id = v["export"]["id"].as_str().unwrap().to_string();
    let done = crate::fixtures::export::ready(&app, request, &id).await;
    let r = app
        .client
        .get(done["export"]["download_url"].as_str().unwrap())
        .basic_auth(&login.email, Some(&login.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let size = done["export"]["size"].as_u64().unwrap();
    assert_eq!(r.content_length(), Some(size), "the download says its length");
    assert_eq!(r.bytes().await.unwrap().len() as u64, size);

    // Five a day for a person; then 429 with Retry-After (someone without files, for speed).
    let (_, maija) = app.end_user_with_password("Maija Meikäläinen", "maija@example.fi").await;
    let request = own_access_request(&app, &maija).await;
    let path = format!("/api/v2/privacy/requests/{request}/exports.json");
    for _ in 0..5 {
        let (s, v) = app
            .call_password(&maija, reqwest::Method::POST, &path, Some(json!({"export": {"format": "json"}})))
            .await;
        if s == StatusCode::ACCEPTED {
            crate::fixtures::export::ready(&app, request, v["export"]["id"].as_str().unwrap()).await;
        } else {
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
    }
    let r = app
        .client
        .post(app.url(&path))
        .basic_auth(&maija.email, Some(&maija.token))
        .json(&json!({"export": {"format": "json"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 23 * 3600 && retry <= 24 * 3600, "{retry}");
    // Privacy staff still can, and a day later the person can again.
    let (s, v) = app.post(&path, json!({"export": {"format": "json"}})).await;
    assert!(s == StatusCode::CREATED || s == StatusCode::ACCEPTED, "{s}: {v}");
    if s == StatusCode::ACCEPTED {
        crate::fixtures::export::ready(&app, request, v["export"]["id"].as_str().unwrap()).await;
    }
    clock.advance_ms(24 * 3_600_000 + 1000);
    let (s, v) = app
        .call_password(&maija, reqwest::Method::POST, &path, Some(json!({"export": {"format": "json"}})))
        .await;
    assert!(s == StatusCode::CREATED || s == StatusCode::ACCEPTED, "{s}: {v}");
});

// Finding 9: uploads had no quota per person, and uploads never attached to a comment were kept
// for ever although the data map promised three days.
engine_test_configured!(
    uploads_have_a_daily_quota_and_unattached_ones_go_after_three_days,
    |s| {
        s.upload_quota_mb_per_day = 1;
    },
    |app, clock| async move {
        let (_, ulla) = app.end_user_with_password("Ulla Upload", "ulla@example.fi").await;
        let (_, other) = app.end_user_with_password("Olli Other", "olli@example.fi").await;
        let (s, v) = upload_as(&app, &ulla, "a.bin", vec![1u8; 600 * 1024]).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let kept = v["upload"]["token"].as_str().unwrap().to_string();
        let r = app
            .client
            .post(app.url("/api/v2/uploads.json?filename=b.bin"))
            .basic_auth(&ulla.email, Some(&ulla.token))
            .header("content-type", "application/octet-stream")
            .body(vec![2u8; 600 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "over the quota");
        assert!(r.headers().get("retry-after").is_some());
        let (s, _) = upload_as(&app, &other, "c.bin", vec![3u8; 600 * 1024]).await;
        assert_eq!(s, StatusCode::CREATED, "someone else's quota is their own");
        // One of Ulla's is attached; Olli's is not.
        let (s, _) = app
            .call_password(
                &ulla,
                reqwest::Method::POST,
                "/api/v2/tickets.json",
                Some(json!({"ticket": {"subject": "file", "comment": {"body": "see", "uploads": [kept]}}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let count = |attached: bool| {
            let hd = app.helpdesk().clone();
            async move {
                let mut c = hd.db().read().await.unwrap();
                let sql = if attached {
                    "SELECT COUNT(*) FROM attachments WHERE ticket_id IS NOT NULL"
                } else {
                    "SELECT COUNT(*) FROM attachments WHERE ticket_id IS NULL"
                };
                sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.unwrap()
            }
        };
        assert_eq!((count(true).await, count(false).await), (1, 1));
        clock.advance_ms(2 * 86_400_000);
        assert_eq!(app.helpdesk().purge_unattached_uploads().await.unwrap(), 0, "two days: kept");
        clock.advance_ms(86_400_000 + 60_000);
        assert_eq!(app.helpdesk().purge_unattached_uploads().await.unwrap(), 1, "three days: gone");
        assert_eq!((count(true).await, count(false).await), (1, 0), "the attached file stays");
        // A day on, the quota is free again.
        let (s, v) = upload_as(&app, &ulla, "d.bin", vec![4u8; 600 * 1024]).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
);

// Finding 14: an upload token worked for anyone who had it, not only its uploader.
engine_test!(upload_tokens_belong_to_their_uploader, |app| async move {
    let (a, a_login) = app.end_user_with_password("Ulla Lataaja", "ulla@example.fi").await;
    let (_, b_login) = app.end_user_with_password("Bruno Toinen", "bruno@example.fi").await;
    let up = app
        .client
        .post(app.url("/api/v2/uploads.json?filename=secret.txt"))
        .basic_auth(&a_login.email, Some(&a_login.token))
        .header("content-type", "text/plain")
        .body(b"ulla's file".to_vec())
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = up.json().await.unwrap();
    let token = v["upload"]["token"].as_str().unwrap().to_string();
    let ticket = json!({"ticket": {"subject": "with a file", "comment": {"body": "see attached", "uploads": [token]}}});
    let (s, v) = app
        .call_password(&b_login, reqwest::Method::POST, "/api/v2/tickets.json", Some(ticket.clone()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "someone else's upload token: {v}");
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"requester_id": a, "subject": "staff too", "comment": {"body": "x", "uploads": [token]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not even staff may use it: {v}");
    let (s, v) = app.call_password(&a_login, reqwest::Method::POST, "/api/v2/tickets.json", Some(ticket)).await;
    assert_eq!(s, StatusCode::CREATED, "its uploader may: {v}");
});

/// A webhook receiver on loopback that keeps each delivery's headers and body, and answers 500
/// to the first `fail_first` of them.
type Deliveries = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

async fn receiver(fail_first: usize) -> (u16, Deliveries) {
    let got: Deliveries = Deliveries::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                let mut g = keep.lock().unwrap();
                g.push((headers, body.to_vec()));
                if g.len() <= fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (port, got)
}

// Finding 10: webhooks could point at loopback, metadata or private addresses over plain HTTP (a
// port-scanning oracle), and deliveries were neither signed nor identified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_reach_public_https_only_and_are_signed() {
    let mut app = TestApp::spawn_with(crate::harness::Engine::Sqlite, |s| s.webhook_allowed_hosts.clear()).await;
    let hook = |endpoint: &str| json!({"webhook": {"name": "probe", "endpoint": endpoint, "subscriptions": ["ticket.created"]}});
    for bad in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
        "https://[::1]/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
        "https://localhost/hook",
        "http://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
        "ftp://hooks.example.com/",
    ] {
        let (s, v) = app.post("/api/v2/webhooks.json", hook(bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    let (_, list) = app.get("/api/v2/webhooks.json").await;
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 0);

    // A host the operator allows (here: the loopback receiver) is reached; deliveries are signed
    // and carry an id that stays the same when a failed one is retried.
    let (port, got) = receiver(1).await;
    app.stop_server().await;
    app.settings.webhook_allowed_hosts = vec!["127.0.0.1".into(), "localhost".into()];
    app.start_server().await;
    let (s, v) = app.post("/api/v2/webhooks.json", hook(&format!("http://127.0.0.1:{port}/hook"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = v["webhook"]["signing_secret"]["secret"].as_str().unwrap().to_string();
    let (_, shown) = app.get(&format!("/api/v2/webhooks/{}.json", v["webhook"]["id"].as_str().unwrap())).await;
    assert!(!shown.to_string().contains(&secret), "the secret is shown once");
    let (s, v2) = app.post("/api/v2/webhooks.json", hook(&format!("https://localhost:{port}/hook"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v2}");
    app.ticket(app.t.admin_id, "hooked", "a delivery").await;
    let mut waited = 0;
    while got.lock().unwrap().len() < 2 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let seen = got.lock().unwrap().clone();
    assert!(seen.len() >= 2, "a failed delivery and its retry: {}", seen.len());
    let id = |h: &axum::http::HeaderMap| h.get("x-zendesk-webhook-invocation-id").unwrap().to_str().unwrap().to_string();
    assert_eq!(id(&seen[0].0), id(&seen[1].0), "a retry is the same delivery");
    for (h, body) in &seen {
        let ts = h.get("x-zendesk-webhook-signature-timestamp").unwrap().to_str().unwrap();
        let sig = h.get("x-zendesk-webhook-signature").unwrap().to_str().unwrap();
        assert_eq!(
            sig,
            suoja_helpdesk::webhooks::signature(&secret, ts, body),
            "signed with the secret shown at creation"
        );
    }
    // A replaced secret signs from then on.
    let (s, r) = app
        .post(&format!("/api/v2/webhooks/{}/signing_secret", v["webhook"]["id"].as_str().unwrap()), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_ne!(r["signing_secret"]["secret"].as_str().unwrap(), secret);

    // Taken off the operator's list, the hosts are not reached at delivery either — the
    // literal address by the check, the host name by the resolver (what it resolves to now is
    // what is checked and connected to).
    app.stop_server().await;
    app.settings.webhook_allowed_hosts.clear();
    app.start_server().await;
    let before = got.lock().unwrap().len();
    app.ticket(app.t.admin_id, "not delivered", "nowhere").await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(got.lock().unwrap().len(), before, "nothing reached the receiver");
    let (_, d) = app.get("/api/v2/webhooks.json").await;
    assert_eq!(d["webhooks"].as_array().unwrap().len(), 2);
}

// Finding 11: deliveries ran one after another with 10 s timeouts in the loop that also runs
// erasures and retention, so one dead endpoint stalled privacy work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_delays_no_privacy_work() {
    let app = TestApp::spawn(crate::harness::Engine::Sqlite).await;
    // A black hole: takes connections and never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = hole.accept().await {
            kept.push(s);
        }
    });
    let (good_port, got) = receiver(0).await;
    for (name, port) in [("dead", hole_port), ("alive", good_port)] {
        let (s, v) = app
            .post(
                "/api/v2/webhooks.json",
                json!({"webhook": {"name": name, "endpoint": format!("http://127.0.0.1:{port}/hook"), "subscriptions": ["ticket.created"]}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    for i in 0..30 {
        app.ticket(app.t.admin_id, &format!("queued {i}"), "for the dead endpoint").await;
    }
    // An erasure left to the background worker completes on time.
    let person = app.user("Erkki Pyyhittävä", "erkki@example.fi").await;
    let scope = app.admin_scope();
    let row = app
        .privacy()
        .start_erasure(&scope, suoja_core::UserId(person), suoja_privacy::erasure::Origin::Api)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let (_, v) = app.get(&format!("/api/v2/privacy/erasures/{}.json", row.id)).await;
        if v["erasure"]["state"] == "completed" {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the erasure waited on deliveries: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // And a live endpoint keeps receiving while the dead one times out.
    while got.lock().unwrap().len() < 30 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "live deliveries stalled: {}",
            got.lock().unwrap().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

// Finding 12: a subject key destroyed on one node stayed in the other nodes' caches, and a
// wrapped key did not name the row it belongs to.
engine_test!(a_destroyed_key_is_gone_on_every_node_and_keys_stay_in_their_rows, |app| async move {
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let erased = app.user("Kaisa Kahdella", "kaisa@example.fi").await;
    let kept = app.user("Kalle Kolmas", "kalle@example.fi").await;
    let sealed_name = |id: i64| {
        let hd = app.helpdesk().clone();
        async move {
            let mut c = hd.db().read().await.unwrap();
            let u = suoja_store::users::by_id(&mut c, tenant, suoja_core::UserId(id)).await.unwrap().unwrap();
            (u.key_id, u.name_enc)
        }
    };
    let (erased_key, erased_name) = sealed_name(erased).await;

    // A second node on the same database and root key, started as an operator would.
    let b = suoja::app::open(&app.settings).await.expect("open node b");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node_b = suoja::app::start(&app.settings, b, Some(listener)).await.expect("start node b");
    let b_base = format!("http://{}", node_b.addr);
    let on_b = |path: String| {
        let r = app
            .client
            .get(format!("{b_base}{path}"))
            .basic_auth(format!("{}/token", app.t.email), Some(&app.t.token));
        crate::harness::send(r)
    };
    let (s, v) = on_b(format!("/api/v2/users/{erased}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["name"], "Kaisa Kahdella");
    // Node b now holds the person's key in its cache.
    let vault_b = node_b.helpdesk.vault().clone();
    let db_b = node_b.helpdesk.db().clone();
    let open_on_b = |sealed: Vec<u8>| {
        let (vault_b, db_b) = (vault_b.clone(), db_b.clone());
        async move {
            let mut c = db_b.read().await.unwrap();
            vault_b.decrypt_str(&mut c, tenant, &sealed).await
        }
    };
    assert_eq!(open_on_b(erased_name.clone()).await.unwrap(), "Kaisa Kahdella");

    // Erased on node a: node b cannot open a copy of the person's values any more.
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{erased}/erasure.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    tokio::time::sleep(suoja_vault::GENERATION_FRESH + std::time::Duration::from_millis(10)).await;
    match open_on_b(erased_name.clone()).await {
        Err(suoja_vault::VaultError::KeyDestroyed(k)) => assert_eq!(k, erased_key),
        other => panic!("node b still opens the erased person's name: {other:?}"),
    }
    // Everyone else is read on node b as before.
    let (s, v) = on_b(format!("/api/v2/users/{kept}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["name"], "Kalle Kolmas");

    // A wrapped key copied into another person's row opens nothing there: not on a node that
    // has never seen either key, nor as a key to seal new values under.
    let victim = app.user("Ville Vieras", "ville@example.fi").await;
    let (victim_key, victim_name) = sealed_name(victim).await;
    let (kept_key, _) = sealed_name(kept).await;
    {
        let mut c = app.helpdesk().db().begin().await.unwrap();
        let wrapped = suoja_store::keys::subject_key(&mut c, tenant, kept_key).await.unwrap().unwrap();
        sqlx::query("UPDATE vault_subject_keys SET wrapped = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(wrapped)
            .bind(tenant.0)
            .bind(victim_key.0)
            .execute(&mut *c)
            .await
            .unwrap();
        c.commit().await.unwrap();
    }
    let fresh = suoja::app::open(&app.settings).await.expect("open a third node");
    let mut c = fresh.db().read().await.unwrap();
    assert!(matches!(
        fresh.vault().decrypt_str(&mut c, tenant, &victim_name).await,
        Err(suoja_vault::VaultError::Corrupt)
    ));
    assert!(matches!(
        fresh.vault().encrypt_str(&mut c, tenant, victim_key, "new value").await,
        Err(suoja_vault::VaultError::Corrupt)
    ));
    drop(c);
    node_b.stop().await.unwrap();
});

engine_test_configured!(
    the_ip_restriction_holds_staff_and_api_access_to_its_ranges,
    |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    },
    |app, _clock| async move {
        use reqwest::Method;
        let from = |ip: &str, method: Method, path: &str, body: Option<serde_json::Value>| {
            let mut r = app.req(method, path).header("x-forwarded-for", ip.to_string());
            if let Some(b) = body {
                r = r.json(&b);
            }
            crate::harness::send(r)
        };
        let set = |enabled: bool, ranges: &str, end_users: bool| json!({"settings": {"security": {"ip_restriction": {"enabled": enabled, "allowed_ranges": ranges, "end_users": end_users}}}});
        // A person signs in to the pages before the restriction, from the server's own address.
        let (_, login) = app.end_user_with_password("Eeva Esimerkki", "eeva@example.fi").await;
        let mut staff = Browser::new(&app);
        let (s, v) = app
            .put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": PASSWORD}}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        staff.sign_in(&app.t.email, PASSWORD).await;
        let page = staff.get("/agent/views/mine").await;
        assert_eq!(page.status, StatusCode::OK, "{} {}", page.location(), page.body);

        // Bad ranges, and a list that leaves out the admin's own address: refused, nothing saved.
        for (body, ip) in [
            (set(true, "203.0.113.0/33", false), "203.0.113.5"),
            (set(true, "example.com", false), "203.0.113.5"),
            (set(true, "", false), "203.0.113.5"),
            (set(true, "198.51.100.0/24", false), "203.0.113.5"),
        ] {
            let (s, v) = from(ip, Method::PUT, "/api/v2/account/settings.json", Some(body.clone())).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
            assert!(v.to_string().contains("allowed_ranges"), "{v}");
        }
        let (_, v) = app.get("/api/v2/account/settings.json").await;
        assert_eq!(v["settings"]["security"]["ip_restriction"]["enabled"], false, "{v}");

        // Saved from inside the office network, which the list allows.
        let (s, v) = from(
            "203.0.113.5",
            Method::PUT,
            "/api/v2/account/settings.json",
            Some(set(true, "203.0.113.0/24  2001:db8::/32", false)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["settings"]["security"]["ip_restriction"]["allowed_ranges"], "203.0.113.0/24 2001:db8::/32");
        // Staff and tokens: only from the ranges, on the API and on the pages.
        assert_eq!(from("203.0.113.77", Method::GET, "/api/v2/users/me.json", None).await.0, StatusCode::OK);
        assert_eq!(from("2001:db8::5", Method::GET, "/api/v2/users/me.json", None).await.0, StatusCode::OK);
        let (s, v) = from("198.51.100.9", Method::GET, "/api/v2/users/me.json", None).await;
        // From outside, credentials answer as wrong ones: nobody learns that they work.
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(
            app.get("/api/v2/tickets.json").await.0,
            StatusCode::UNAUTHORIZED,
            "the server's own address is not in the list"
        );
        // A session from outside counts as none (the person can still sign out), and signing
        // in from outside fails as a wrong password does.
        let page = staff.get("/agent/views/mine").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(page.location().starts_with("/signin"), "{}", page.location());
        assert_eq!(staff.get("/hc").await.status, StatusCode::OK);
        let mut outside = Browser::new(&app);
        let page = outside.sign_in(&app.t.email, PASSWORD).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        // End users are not held to it unless the admins say so.
        let me = |ip: &'static str| {
            let r = app
                .client
                .get(app.url("/api/v2/users/me.json"))
                .basic_auth(&login.email, Some(&login.token))
                .header("x-forwarded-for", ip);
            crate::harness::send(r)
        };
        assert_eq!(me("198.51.100.9").await.0, StatusCode::OK);
        let (s, v) = from(
            "203.0.113.5",
            Method::PUT,
            "/api/v2/account/settings.json",
            Some(json!({"settings": {"security": {"ip_restriction": {"end_users": true}}}})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(me("198.51.100.9").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(me("203.0.113.6").await.0, StatusCode::OK);
        // Switched off from inside: everyone is back.
        let (s, _) = from(
            "203.0.113.5",
            Method::PUT,
            "/api/v2/account/settings.json",
            Some(set(false, "203.0.113.0/24", false)),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(app.get("/api/v2/tickets.json").await.0, StatusCode::OK);
        staff.sign_in(&app.t.email, PASSWORD).await;
        assert_eq!(staff.get("/agent/views/mine").await.status, StatusCode::OK);
        // Locked out (the office network changed): the operator switches it off on the server.
        let (s, _) = from(
            "203.0.113.5",
            Method::PUT,
            "/api/v2/account/settings.json",
            Some(set(true, "203.0.113.0/24", false)),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(app.get("/api/v2/tickets.json").await.0, StatusCode::UNAUTHORIZED);
        let out = app.cli(&["security", "disable-ip-restriction"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("ip_restriction: off"));
        // Another process changed it: the server sees it within its two-second cache.
        let mut back = false;
        for _ in 0..50 {
            if app.get("/api/v2/tickets.json").await.0 == StatusCode::OK {
                back = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(back, "the restriction switched off on the command line took effect");
        // Every change is in the ledger, without the ranges.
        let mut c = app.helpdesk().db().read().await.unwrap();
        let entries = suoja_store::ledger::page(&mut c, suoja_core::TenantId(app.t.tenant_id), 0, 10_000)
            .await
            .unwrap();
        let changes: Vec<_> = entries.iter().filter(|e| e.details.contains("ip_restriction")).collect();
        assert_eq!(changes.len(), 5);
        assert!(changes.iter().all(|e| !e.details.contains("203.0.113")));
    }
);

/// Sets a person's password as the admin.
async fn set_password(app: &TestApp, id: i64, pw: &str) -> (StatusCode, serde_json::Value) {
    app.put(&format!("/api/v2/users/{id}.json"), json!({"user": {"password": pw}})).await
}

engine_test!(passwords_follow_the_tenants_rules, |app| async move {
    use reqwest::Method;
    let id = app.user("Eeva Esimerkki", "eeva.esimerkki@example.fi").await;
    // The defaults: twelve characters, no common password, not the person's own address; no
    // composition rules (a long phrase of lower-case words is fine).
    for (pw, why) in [
        ("short pass1", "at least 12"),
        ("Salasana1234!", "most often"),
        ("aaaaaaaaaaaaaaaa", "most often"),
        ("eeva.esimerkki@example.fi", "e-mail address"),
    ] {
        let (s, v) = set_password(&app, id, pw).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{pw}: {v}");
        assert!(v.to_string().contains(why), "{pw}: {v}");
    }
    let (s, v) = set_password(&app, id, "kolme vihreää omenaa").await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Stricter rules: sixteen characters and the last two remembered.
    let (s, v) = app
        .put(
            "/api/v2/account/settings.json",
            json!({"settings": {"security": {"password": {"min_length": 16, "history": 2}}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["settings"]["security"]["password"], json!({"min_length": 16, "history": 2}));
    let (s, v) = set_password(&app, id, "kolme vihreää o").await;
    assert_eq!((s, v.to_string().contains("at least 16")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{v}");
    let (s, _) = set_password(&app, id, "neljä punaista omenaa").await;
    assert_eq!(s, StatusCode::OK);
    for old in ["kolme vihreää omenaa", "neljä punaista omenaa"] {
        let (s, v) = set_password(&app, id, old).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{old} again: {v}");
        assert!(v.to_string().contains("last 2 passwords"), "{v}");
    }
    let (s, _) = set_password(&app, id, "viisi keltaista omenaa").await;
    assert_eq!(s, StatusCode::OK);

    // Rules out of range, or a bad one beside a good one: refused, and nothing saved.
    for body in [
        json!({"settings": {"security": {"password": {"min_length": 4}}}}),
        json!({"settings": {"security": {"password": {"history": 99}}}}),
        json!({"settings": {"security": {"password": {"min_length": 20}, "ip_restriction": {"enabled": true, "allowed_ranges": "198.51.100.0/24"}}}}),
    ] {
        let (s, v) = app.put("/api/v2/account/settings.json", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let (_, v) = app.get("/api/v2/account/settings.json").await;
    assert_eq!(v["settings"]["security"]["password"], json!({"min_length": 16, "history": 2}));
    assert_eq!(v["settings"]["security"]["ip_restriction"]["enabled"], false);
    // The remembered hashes are one-way and go with the person.
    let mut c = app.helpdesk().db().read().await.unwrap();
    let kept = suoja_store::settings::password_history(&mut c, suoja_core::TenantId(app.t.tenant_id), id, 10)
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|h| h.starts_with("$argon2id$")));
    drop(c);
    let (s, _) = app.call(Method::DELETE, &format!("/api/v2/users/{id}.json"), None).await;
    assert_eq!(s, StatusCode::OK);
});
