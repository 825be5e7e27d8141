//! Erasure end to end (issue: erasure reaching every copy): a canary person with data in every
//! role is erased through a verified request; the plan's counts equal what ran; the API knows
//! nothing of them any more while a second person is untouched; and the byte-level scan of the
//! data directory (SQLite files with WAL and free pages; PostgreSQL's cluster directory after a
//! checkpoint) finds none of their values — text in every encoding, their wrapped data key and
//! their blind-index hash — after first showing it finds a planted copy.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use suoja_privacy::scan::{Canary, scan};

use crate::fixtures::disk::{described, surfaces};
use crate::fixtures::export::comment_as;
use crate::fixtures::people::{Person, person, world};
use crate::harness::{Engine, Tenant, TestApp};
use crate::{engine_test, engine_test_clocked};

fn text_canaries(p: &Person) -> Vec<Canary> {
    p.canaries.iter().enumerate().map(|(i, v)| Canary::text(format!("{i}"), v.clone())).collect()
}

/// The person's key material and keyed hashes, as stored.
async fn key_canaries(app: &TestApp, id: i64) -> Vec<Canary> {
    let mut c = app.helpdesk().db().read().await.unwrap();
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let u = suoja_store::users::by_id(&mut c, tenant, suoja_core::UserId(id)).await.unwrap().unwrap();
    let wrapped = suoja_store::keys::subject_key(&mut c, tenant, u.key_id).await.unwrap().unwrap();
    vec![
        Canary::raw("wrapped data key", wrapped),
        Canary::raw("e-mail blind index", u.email_hash.unwrap()),
    ]
}

async fn text_of(app: &TestApp, path: &str) -> String {
    let r = app.req(Method::GET, path).send().await.unwrap();
    r.text().await.unwrap()
}

fn nonzero(v: &Value) -> Value {
    let mut m = v.as_object().cloned().unwrap_or_default();
    m.retain(|_, n| n.as_u64().unwrap_or(0) > 0);
    Value::Object(m)
}

engine_test!(erasure_reaches_every_copy_and_nothing_else, |app| async move {
    let w = world(&app).await;
    let a = &w.a;

    // The scan sees the data directory: before erasure, the organisation notes (kept in plain
    // form) hold A's e-mail, and the scan finds it there.
    let before = scan(&surfaces(&app).await, &[Canary::text("email", a.email.clone())]).unwrap();
    assert!(
        !before.hits.is_empty(),
        "the scan must find the planted copy before erasure ({} files)",
        before.files
    );
    let keys = key_canaries(&app, a.id).await;

    // An erasure request, verified, planned, run.
    let (s, v) = app
        .post(
            "/api/v2/privacy/requests.json",
            json!({"request": {"kind": "erasure", "subject_id": a.id, "channel": "email"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let rid = v["request"]["id"].as_i64().unwrap();
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{rid}/erasure.json"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "an unverified request is not carried out: {v}");
    app.post(&format!("/api/v2/privacy/requests/{rid}/verify.json"), json!({"note": "called back"}))
        .await;
    let (s, plan) = app.get(&format!("/api/v2/privacy/subjects/{}/erasure_plan.json", a.id)).await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    let counts = &plan["erasure_plan"]["counts"];
    for (k, n) in [
        ("profile", 1),
        ("keys", 1),
        ("tickets", 1),
        ("tickets.comments", 4),
        ("tickets.attachments", 1),
        ("collaborator_links", 1),
        ("tombstoned_comments", 1),
        ("attachments", 1),
        ("redacted_comments", 1),
        ("redacted_organizations", 1),
        ("export_packages", 1),
    ] {
        assert_eq!(counts[k], json!(n), "{k} in {counts}");
    }
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{rid}/erasure.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let e = &v["erasure"];
    assert_eq!(e["state"], "completed", "{e}");
    // Besides what was planned, the copies of the files in the blob store went: every file
    // deleted (two attachments and the export package's one chunk) had a blob, deleted and
    // checked gone (SQLite keeps files in `DATA_DIR/blobs`; PostgreSQL in the database).
    let mut done = nonzero(&e["done"]);
    let blobs = done.as_object_mut().unwrap().remove("blobs");
    let stored = app.helpdesk().db().blobs().is_external();
    assert_eq!(blobs, stored.then(|| json!(3)), "{e}");
    assert_eq!(done, nonzero(&e["planned"]), "what ran is what was planned");
    for (k, n) in counts.as_object().unwrap() {
        if k != "consultations" {
            assert_eq!(&e["planned"][k], n, "the dry run and the run's plan agree on {k}");
        }
    }
    assert!(e["checks"].as_array().unwrap().iter().all(|c| c["remaining"] == 0), "{}", e["checks"]);
    let eid = e["id"].as_i64().unwrap();
    let (_, r) = app.get(&format!("/api/v2/privacy/requests/{rid}.json")).await;
    assert_eq!(r["request"]["status"], "fulfilled");
    assert_eq!(r["request"]["outcome"], "erased");

    // The API knows nothing of A.
    assert_eq!(app.get(&format!("/api/v2/users/{}.json", a.id)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v2/tickets/{}.json", w.t1)).await.0, StatusCode::NOT_FOUND);
    let (s, _) = app.call_password(&a.login, Method::GET, "/api/v2/users/me.json", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the person can no longer sign in");
    let (_, found) = app.get(&format!("/api/v2/users/search.json?query={}", a.email)).await;
    assert_eq!(found["users"], json!([]));
    let (_, found) = app.get(&format!("/api/v2/search.json?query=%22{}%22", a.email)).await;
    assert_eq!(found["count"], 0, "{found}");
    let (_, comments) = app.get(&format!("/api/v2/tickets/{}/comments.json", w.t2)).await;
    let bodies: Vec<&str> = comments["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies.len(), 2, "the thread keeps its shape: {bodies:?}");
    assert_eq!(bodies[1], suoja_privacy::erasure::rows::TOMBSTONE);
    assert!(comments["comments"][1]["attachments"].as_array().is_none_or(Vec::is_empty));
    let (_, comments) = app.get(&format!("/api/v2/tickets/{}/comments.json", w.t3)).await;
    assert_eq!(comments["comments"][1]["body"], "Contact [redacted] or [redacted] about this");
    let (_, org) = app.get(&format!("/api/v2/organizations/{}.json", w.org)).await;
    assert_eq!(org["organization"]["notes"], "Billing contact: [redacted]");
    let (_, deleted) = app.get("/api/v2/deleted_tickets.json").await;
    assert!(!deleted.to_string().contains(&format!("\"id\":{}", w.t1)), "no soft-delete window: {deleted}");
    let mut everything = String::new();
    for path in [
        "/api/v2/users.json".to_string(),
        "/api/v2/tickets.json".to_string(),
        format!("/api/v2/tickets/show_many.json?ids={},{},{}&include=users", w.t1, w.t2, w.t3),
        format!("/api/v2/users/show_many.json?ids={},{}", a.id, w.b.id),
        "/api/v2/incremental/users/cursor.json?start_time=0".to_string(),
        "/api/v2/incremental/tickets/cursor.json?start_time=0".to_string(),
        format!("/api/v2/tickets/{}/comments.json", w.t2),
        format!("/api/v2/tickets/{}/comments.json", w.t3),
        "/api/v2/organizations.json".to_string(),
        format!("/api/v2/help_center/articles/{}/comments.json", w.article),
        "/api/v2/community/posts.json".to_string(),
        format!("/api/v2/community/posts/{}/comments.json", w.posts[0]),
        format!("/api/v2/community/posts/{}/comments.json", w.posts[1]),
        "/api/v2/satisfaction_ratings.json".to_string(),
        format!("/api/v2/users/{}/compliance_deletion_statuses.json", a.id),
        format!("/api/v2/privacy/erasures/{eid}.json"),
        format!("/api/v2/privacy/erasures/{eid}/certificate.json"),
    ] {
        everything.push_str(&text_of(&app, &path).await);
    }
    for c in &a.canaries {
        assert!(!everything.contains(c.as_str()), "an API answer still holds one of A's values");
    }

    // B is whole.
    let (_, b) = app.get(&format!("/api/v2/users/{}.json", w.b.id)).await;
    assert_eq!(b["user"]["name"], w.b.name.as_str());
    assert_eq!(b["user"]["email"], w.b.email.as_str());
    assert_eq!(b["user"]["phone"], w.b.phone.as_str());
    for c in &w.b.canaries {
        assert!(
            everything.contains(c.as_str()) || text_of(&app, &format!("/api/v2/users/{}.json", w.b.id)).await.contains(c.as_str()),
            "B lost {c}"
        );
    }
    let (_, found) = app.get(&format!("/api/v2/users/search.json?query={}", w.b.email)).await;
    assert_eq!(found["users"].as_array().unwrap().len(), 1);

    // Statuses, certificate, ledger.
    let (_, st) = app.get(&format!("/api/v2/users/{}/compliance_deletion_statuses.json", a.id)).await;
    let st = st["compliance_deletion_statuses"].as_array().unwrap().clone();
    assert_eq!(st.first().unwrap()["action"], "request_deletion");
    assert!(st.iter().any(|s| s["action"] == "complete" && s["application"] == "all"), "{st:?}");
    let (s, cert) = app.get(&format!("/api/v2/privacy/erasures/{eid}/certificate.json")).await;
    assert_eq!(s, StatusCode::OK, "{cert}");
    let cert = &cert["certificate"];
    assert_eq!(cert["ledger_entry"]["hash"], e["ledger_hash"]);
    assert!(cert["ledger_entry"]["seq"].as_i64().is_some(), "{cert}");
    assert!(cert["residual_copies_unreadable_by"].as_str().unwrap() > cert["completed_at"].as_str().unwrap());
    assert!(cert["erased"].as_array().unwrap().len() >= 8, "{cert}");
    let pdf = app
        .req(Method::GET, &format!("/api/v2/privacy/erasures/{eid}/certificate.json?format=pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let text = crate::fixtures::export::pdf_text(&pdf.bytes().await.unwrap());
    assert!(text.contains("Certificate of erasure") && text.contains("What was erased"), "{text}");
    let (_, l) = app.get("/api/v2/privacy/ledger/verify.json").await;
    assert_eq!(l["ledger"]["broken"], Value::Null, "{l}");

    // Bytes: none of A's values in any encoding (A17-03), on either engine.
    assert!(
        suoja_store::dialect::retire_wal(app.helpdesk().db()).await.unwrap(),
        "this role can retire WAL segments"
    );
    let paths = surfaces(&app).await;
    let after = scan(&paths, &text_canaries(a)).unwrap();
    assert!(after.hits.is_empty(), "after erasure, files still hold A: {:#?}", described(&app, &after).await);
    assert!(
        after.files > 3 && after.bytes > 100_000,
        "the scan read the data directory: {} files",
        after.files
    );
    // Nor A's wrapped data key or blind-index hash. SQLite zeroes freed space (secure_delete)
    // and truncates its WAL; PostgreSQL's WAL segments are retired, but VACUUM leaves freed heap
    // and index space as it was, so there a keyed hash can outlive the row until the page is
    // reused (it is an HMAC under the tenant key, not a value; see docs/ERASURE.md).
    let after = scan(&paths, &keys).unwrap();
    let residual: Vec<_> = after
        .hits
        .iter()
        .filter(|h| app.engine == Engine::Sqlite || h.canary != "e-mail blind index" || h.path.to_string_lossy().contains("pg_wal"))
        .collect();
    assert!(residual.is_empty(), "key material of A remains: {:#?}", described(&app, &after).await);
    // The same scan still finds B's blind-index hash: the 0 above is not blindness.
    let kept = scan(&surfaces(&app).await, &key_canaries(&app, w.b.id).await).unwrap();
    assert!(!kept.hits.is_empty(), "B's key material is on disk and the scan finds it");
});

async fn erase(app: &TestApp, who: &Tenant, id: i64) -> (StatusCode, Value) {
    app.call_as(who, Method::POST, &format!("/api/v2/privacy/subjects/{id}/erasure.json"), Some(json!({})))
        .await
}

/// Opens a transaction older than what follows: on PostgreSQL one with a transaction id and,
/// between statements, no snapshot (checked), in the app's database or (`elsewhere`) in the
/// server's administrative database; on SQLite an open read.
async fn older_transaction(app: &TestApp, elsewhere: bool) -> suoja_store::Conn {
    let db = app.helpdesk().db();
    let pg = app.engine == Engine::Postgres;
    // In the app's own database a pooled connection (on SQLite an open read).
    let mut older = if pg && elsewhere {
        suoja_store::pg_admin::connect(&crate::harness::pg_url().unwrap()).await.unwrap()
    } else {
        db.read().await.unwrap()
    };
    sqlx::query("BEGIN").execute(&mut older).await.unwrap();
    if pg {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut older).await.unwrap();
        let _: i64 = sqlx::query_scalar("SELECT txid_current()").fetch_one(&mut older).await.unwrap();
        let (xmin, xid, same): (Option<String>, Option<String>, bool) =
            sqlx::query_as("SELECT backend_xmin::text, backend_xid::text, datname = current_database() FROM pg_stat_activity WHERE pid = $1")
                .bind(pid)
                .fetch_one(db.write_pool())
                .await
                .unwrap();
        assert!(
            xmin.is_none() && xid.is_some() && same != elsewhere,
            "the case under test: an id without a snapshot, elsewhere: {elsewhere} ({xmin:?}, {xid:?}, same database: {same})"
        );
    } else {
        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&mut older).await.unwrap();
    }
    older
}

/// Runs `work` while `older` stays open for 1.5 s more; returns its answer and how long it took.
async fn while_open<F>(mut older: suoja_store::Conn, work: F) -> (bool, std::time::Duration)
where
    F: std::future::Future<Output = suoja_store::Result<bool>> + Send + 'static,
{
    let task = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let clear = work.await.unwrap();
        (clear, started.elapsed())
    });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    sqlx::query("COMMIT").execute(&mut older).await.unwrap();
    task.await.unwrap()
}

// The organisations table is rewritten so an organisation's old plain text leaves the files.
// A transaction that began before the change and has written something holds back what the
// rewrite may drop even while it holds no snapshot (READ COMMITTED, between statements): the
// rewrite waits for it, and the old text is not copied into the new files. On PostgreSQL the
// same holds for such a transaction in another database of the server (every snapshot taken
// meanwhile, the rewrite's own too, counts it as running). The plain vacuum after a redaction
// or an erasure waits the same way.
engine_test!(a_rewrite_waits_for_older_transactions_and_keeps_no_old_text, |app| async move {
    let db = app.helpdesk().db().clone();
    let pg = app.engine == Engine::Postgres;
    let waited = std::time::Duration::from_millis(1400);
    for elsewhere in if pg { vec![false, true] } else { vec![false] } {
        let tag = suoja_core::random::hex_id();
        let canary = format!("billing-{}@example.fi", tag.get(..12).unwrap_or("0"));
        let (s, v) = app
            .post(
                "/api/v2/organizations.json",
                json!({"organization": {"name": format!("Rewrite Oy {tag}"), "notes": format!("Billing contact: {canary}")}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let org = v["organization"]["id"].as_i64().unwrap();

        let older = older_transaction(&app, elsewhere).await;
        let (s, v) = app
            .put(
                &format!("/api/v2/organizations/{org}.json"),
                json!({"organization": {"notes": "Billing contact: [redacted]"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let d = db.clone();
        let (clear, took) = while_open(older, async move { suoja_store::dialect::rewrite_table(&d, "organizations").await }).await;
        assert!(clear, "the older transaction ended within the wait (elsewhere: {elsewhere})");
        assert!(suoja_store::dialect::retire_wal(&db).await.unwrap());
        let hits = scan(&surfaces(&app).await, &[Canary::text("notes", canary.clone())]).unwrap();
        assert!(
            hits.hits.is_empty(),
            "the old notes survived the rewrite (elsewhere: {elsewhere}): {:?}",
            described(&app, &hits).await
        );
        assert!(hits.files > 3, "the scan read the data directory");
        assert!(
            !pg || took >= waited,
            "the rewrite waited for the older transaction (elsewhere: {elsewhere}): {took:?}"
        );

        let older = older_transaction(&app, elsewhere).await;
        let d = db.clone();
        let (clear, took) = while_open(older, async move { suoja_store::dialect::vacuum_table(&d, "organizations").await }).await;
        assert!(clear, "the older transaction ended within the wait (elsewhere: {elsewhere})");
        assert!(
            !pg || took >= waited,
            "the vacuum waited for the older transaction (elsewhere: {elsewhere}): {took:?}"
        );
    }
});

engine_test!(erasure_edge_cases_each_have_a_clear_outcome, |app| async move {
    let w = world(&app).await;
    let admin = app.t.clone();

    // Nobody by that id, here or in another tenant.
    let (s, v) = erase(&app, &admin, 999_999).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let other = app.second_tenant("two").await;
    let (s, _) = erase(&app, &other, w.b.id).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's person is not found");
    let (s, v) = app
        .call_as(&other, Method::GET, &format!("/api/v2/privacy/subjects/{}/erasure_plan.json", w.a.id), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Agents may not erase; the admin cannot erase themselves, nor the last admin.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Pekka Agentti", "email": "pekka@support.example", "role": "agent", "password": "agent-password-2"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pekka = Tenant {
        email: "pekka@support.example".into(),
        token: "agent-password-2".into(),
        admin_id: v["user"]["id"].as_i64().unwrap(),
        tenant_id: app.t.tenant_id,
    };
    let (s, _) = app
        .call_password(
            &pekka,
            Method::POST,
            &format!("/api/v2/privacy/subjects/{}/erasure.json", w.b.id),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = erase(&app, &admin, app.t.admin_id).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = app
        .put(&format!("/api/v2/users/{}.json", pekka.admin_id), json!({"user": {"privacy_officer": true}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .call_password(
            &pekka,
            Method::POST,
            &format!("/api/v2/privacy/subjects/{}/erasure.json", app.t.admin_id),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v.to_string().contains("last admin"), "{v}");

    // An agent: the profile goes, their replies stay under a pseudonymous id, their tickets are
    // unassigned.
    let (_, before) = app.get(&format!("/api/v2/tickets/{}/comments.json", w.t3)).await;
    let (s, v) = erase(&app, &admin, w.agent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    assert_eq!(v["erasure"]["subject_role"], "agent");
    assert_eq!(app.get(&format!("/api/v2/users/{}.json", w.agent)).await.0, StatusCode::NOT_FOUND);
    let (s, after) = app.get(&format!("/api/v2/tickets/{}/comments.json?include=users", w.t3)).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after["comments"].as_array().unwrap().len(), before["comments"].as_array().unwrap().len());
    assert_eq!(after["comments"][1]["author_id"], w.agent, "the reply keeps its author as an id only");
    assert!(!after.to_string().contains("Agnes Agentti"), "{after}");
    let (_, t1) = app.get(&format!("/api/v2/tickets/{}.json", w.t1)).await;
    assert_eq!(t1["ticket"]["assignee_id"], Value::Null, "{t1}");

    // Twice at once: one erasure, both callers see it; then again: already erased.
    let (r1, r2) = tokio::join!(erase(&app, &admin, w.a.id), erase(&app, &admin, w.a.id));
    assert_eq!(r1.0, StatusCode::OK, "{}", r1.1);
    assert_eq!(r2.0, StatusCode::OK, "{}", r2.1);
    assert_eq!(r1.1["erasure"]["id"], r2.1["erasure"]["id"], "one erasure, not two");
    assert_eq!(r1.1["erasure"]["state"], "completed");
    assert_eq!(r2.1["erasure"]["state"], "completed", "the second caller waited for the first");
    let (_, list) = app.get("/api/v2/privacy/erasures.json").await;
    let of_a = list["erasures"].as_array().unwrap().iter().filter(|e| e["subject_id"] == w.a.id).count();
    assert_eq!(of_a, 1);
    let (s, v) = erase(&app, &admin, w.a.id).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v.to_string().contains("already been erased"), "{v}");

    // A ticket shared by two people erased at the same moment: both complete, nothing remains.
    let d = person(&app, "Doris").await;
    let e = person(&app, "Eemeli").await;
    let shared = app.ticket(d.id, "Shared matter", "Doris writes first").await;
    app.put(&format!("/api/v2/tickets/{shared}.json"), json!({"ticket": {"collaborator_ids": [e.id]}}))
        .await;
    comment_as(&app, shared, e.id, &format!("Eemeli answers, cc {}", d.email), true).await;
    let (r1, r2) = tokio::join!(erase(&app, &admin, d.id), erase(&app, &admin, e.id));
    for r in [&r1, &r2] {
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        assert_eq!(r.1["erasure"]["state"], "completed", "{}", r.1);
        assert!(r.1["erasure"]["checks"].as_array().unwrap().iter().all(|c| c["remaining"] == 0), "{}", r.1);
    }
    assert_eq!(app.get(&format!("/api/v2/tickets/{shared}.json")).await.0, StatusCode::NOT_FOUND);
    let mut c = app.helpdesk().db().read().await.unwrap();
    let t = suoja_core::TenantId(app.t.tenant_id);
    for table in ["comments", "ticket_collaborators", "attachments"] {
        let n = suoja_store::graph::count_linked(&mut c, t, table, "ticket_id", &[shared]).await.unwrap();
        assert_eq!(n, 0, "{table} of the shared ticket");
    }
});

engine_test!(permanent_user_deletion_through_the_zendesk_api_runs_the_pipeline, |app| async move {
    let p = person(&app, "Zelda").await;
    let t = app.ticket(p.id, "Zelda's question", "about an order").await;
    // Not soft-deleted yet: refused with a reason.
    let (s, v) = app.delete(&format!("/api/v2/deleted_users/{}.json", p.id)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(app.delete(&format!("/api/v2/users/{}.json", p.id)).await.0, StatusCode::OK);
    let (_, statuses) = app.get(&format!("/api/v2/users/{}/compliance_deletion_statuses.json", p.id)).await;
    assert_eq!(statuses["compliance_deletion_statuses"], json!([]), "soft deletion is not erasure");
    let (s, v) = app.delete(&format!("/api/v2/deleted_users/{}.json", p.id)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["deleted_user"]["id"], p.id);
    assert_eq!(v["deleted_user"]["erasure"]["state"], "completed", "{v}");
    assert!(!v.to_string().contains(&p.email));
    assert_eq!(app.get(&format!("/api/v2/deleted_users/{}.json", p.id)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v2/tickets/{t}.json")).await.0, StatusCode::NOT_FOUND);
    let (s, v) = app.delete(&format!("/api/v2/deleted_users/{}.json", p.id)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, st) = app
        .get(&format!("/api/v2/users/{}/compliance_deletion_statuses.json?application=support", p.id))
        .await;
    let st = st["compliance_deletion_statuses"].as_array().unwrap().clone();
    assert_eq!(
        st.iter().map(|s| s["action"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["started", "complete"],
        "{st:?}"
    );
    assert_eq!(st[0]["account_subdomain"], "one");
    assert_eq!(st[0]["user_id"], p.id);

    // Tickets: trash, then permanent deletion, through the same row-level pipeline.
    let q = app.user("Quentin", "quentin@example.fi").await;
    let t = app.ticket(q, "Delete me", "for good").await;
    assert_eq!(app.delete(&format!("/api/v2/tickets/{t}.json")).await.0, StatusCode::NO_CONTENT);
    let (s, v) = app.delete(&format!("/api/v2/deleted_tickets/{t}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, d) = app.get("/api/v2/deleted_tickets.json").await;
    assert_eq!(d["deleted_tickets"], json!([]));

    // Staff who do not handle privacy cannot permanently delete people.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aino Agentti", "email": "aino@support.example", "role": "agent", "password": "agent-password-3"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let aino = Tenant {
        email: "aino@support.example".into(),
        token: "agent-password-3".into(),
        admin_id: v["user"]["id"].as_i64().unwrap(),
        tenant_id: app.t.tenant_id,
    };
    let r = app.user("Riikka", "riikka@example.fi").await;
    app.delete(&format!("/api/v2/users/{r}.json")).await;
    let (s, _) = app.call_password(&aino, Method::DELETE, &format!("/api/v2/deleted_users/{r}.json"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/api/v2/deleted_users/{r}.json")).await.0, StatusCode::OK, "nothing happened");
});

engine_test_clocked!(a_legal_hold_keeps_what_it_holds_until_it_ends, |app, clock| async move {
    let w = world(&app).await;
    let a = &w.a;
    let in_days = |d: i64| suoja_core::Timestamp(suoja_core::Clock::now(&clock).0 + d * 86_400_000).to_iso();

    // Bad holds are refused with the field named, and nothing is recorded.
    for (hold, field) in [
        (
            json!({"scope": "ticket", "ticket_id": w.t2, "ground": "because", "expires_at": in_days(30)}),
            "ground",
        ),
        (
            json!({"scope": "ticket", "ticket_id": w.t2, "ground": "legal_claims", "expires_at": in_days(-1)}),
            "expires_at",
        ),
        (json!({"scope": "ticket", "ticket_id": w.t2, "ground": "legal_claims"}), "expires_at"),
        (json!({"scope": "galaxy", "ground": "legal_claims", "expires_at": in_days(30)}), "scope"),
        (json!({"scope": "ticket", "ground": "legal_claims", "expires_at": in_days(30)}), "ticket_id"),
        (
            json!({"scope": "ticket", "ticket_id": w.t2, "ground": "legal_claims", "expires_at": in_days(30), "approver_id": w.agent}),
            "approver_id",
        ),
        (
            json!({"scope": "tag", "tag": "two words", "ground": "legal_claims", "expires_at": in_days(30)}),
            "tag",
        ),
    ] {
        let (s, v) = app.post("/api/v2/privacy/holds.json", json!({ "hold": hold })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{hold}: {v}");
        assert!(v.to_string().contains(field), "{field}: {v}");
    }
    let (s, v) = app
        .post(
            "/api/v2/privacy/holds.json",
            json!({"hold": {"scope": "ticket", "ticket_id": 99_999, "ground": "legal_claims", "expires_at": in_days(30)}}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (_, holds) = app.get("/api/v2/privacy/holds.json").await;
    assert_eq!(holds["holds"], json!([]));

    // A hold on T2 (where A is CC'd and commented), for a legal claim, for 30 days.
    let (s, v) = app
        .post(
            "/api/v2/privacy/holds.json",
            json!({"hold": {"scope": "ticket", "ticket_id": w.t2, "ground": "legal_claims", "reference": "Case 2026/114", "expires_at": in_days(30)}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hold = v["hold"]["id"].as_i64().unwrap();
    assert_eq!(v["hold"]["active"], true);
    assert_eq!(
        app.get(&format!("/api/v2/tickets/{}.json", w.t2)).await.0,
        StatusCode::NOT_FOUND,
        "held tickets are restricted"
    );

    let (_, plan) = app.get(&format!("/api/v2/privacy/subjects/{}/erasure_plan.json", a.id)).await;
    let held = &plan["erasure_plan"]["held"];
    assert_eq!(held[0]["hold"], hold, "{plan}");
    assert_eq!(held[0]["tickets"], json!([w.t2]));
    assert_eq!(plan["erasure_plan"]["counts"]["tombstoned_comments"], 0, "A's comment on T2 is held");
    assert_eq!(plan["erasure_plan"]["counts"]["keys"], 0, "A's key seals held data and stays");
    assert_eq!(plan["erasure_plan"]["counts"]["tickets"], 1);

    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let a_key = {
        let mut c = app.helpdesk().db().read().await.unwrap();
        suoja_store::users::by_id(&mut c, tenant, suoja_core::UserId(a.id))
            .await
            .unwrap()
            .unwrap()
            .key_id
            .0
    };
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{}/erasure.json", a.id), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let eid = v["erasure"]["id"].as_i64().unwrap();
    assert_eq!(v["erasure"]["state"], "held", "{v}");
    assert_eq!(
        app.get(&format!("/api/v2/users/{}.json", a.id)).await.0,
        StatusCode::NOT_FOUND,
        "the profile is gone"
    );
    assert_eq!(app.get(&format!("/api/v2/tickets/{}.json", w.t1)).await.0, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&format!("/api/v2/privacy/erasures/{eid}/certificate.json")).await;
    assert_eq!(s, StatusCode::CONFLICT, "no certificate before completion");
    // Held data is kept, readable under A's key, and cannot be purged from the trash.
    let mut c = app.helpdesk().db().read().await.unwrap();
    assert_eq!(
        suoja_store::graph::count_linked(&mut c, tenant, "vault_subject_keys", "id", &[a_key])
            .await
            .unwrap(),
        1,
        "held data needs the key"
    );
    let kept = suoja_store::graph::rows_linked(&mut c, tenant, "comments", &["body_enc"], "ticket_id", &[w.t2])
        .await
        .unwrap();
    drop(c);
    assert_eq!(kept.len(), 2);
    // A held ticket is restricted: staff can neither trash nor purge it (it answers as absent).
    let scope = app.admin_scope();
    let err = app.helpdesk().delete_ticket(&scope, suoja_core::TicketId(w.t2)).await.unwrap_err();
    assert!(matches!(err, suoja_helpdesk::HelpdeskError::NotFound(_)), "{err}");
    let err = app.privacy().purge_ticket(&scope, suoja_core::TicketId(w.t2)).await.unwrap_err();
    assert!(matches!(err, suoja_privacy::PrivacyError::NotFound(_)), "{err}");

    // The runner looks again later: still held.
    clock.advance_ms((10 * 86_400) * 1000);
    crate::harness::erasures_settled(&app).await;
    assert_eq!(app.privacy().erasure(&scope, eid).await.unwrap().state.as_str(), "held");

    // The hold ends by itself: erasure resumes without anyone asking.
    clock.advance_ms((21 * 86_400) * 1000);
    crate::harness::erasures_settled(&app).await;
    let row = app.privacy().erasure(&scope, eid).await.unwrap();
    assert_eq!(row.state.as_str(), "completed", "{:?}", row.error);
    let mut c = app.helpdesk().db().read().await.unwrap();
    let keys = suoja_store::graph::count_linked(&mut c, tenant, "vault_subject_keys", "id", &[a_key])
        .await
        .unwrap();
    drop(c);
    assert_eq!(keys, 0, "the key went once nothing held needed it");
    let (s, comments) = app.get(&format!("/api/v2/tickets/{}/comments.json", w.t2)).await;
    assert_eq!(s, StatusCode::OK, "the hold ended, so B's ticket is no longer restricted: {comments}");
    assert_eq!(
        comments["comments"][1]["body"],
        suoja_privacy::erasure::rows::TOMBSTONE,
        "A's comment went when the hold ended"
    );
    let (_, h) = app.get(&format!("/api/v2/privacy/holds/{hold}.json")).await;
    assert_eq!(h["hold"]["active"], false, "{h}");
    let (_, cert) = app.get(&format!("/api/v2/privacy/erasures/{eid}/certificate.json")).await;
    let kept = &cert["certificate"]["kept"];
    assert_eq!(kept[0]["hold"], hold, "{cert}");
    assert_eq!(kept[0]["ground"], "legal_claims");
    assert_eq!(cert["certificate"]["verification"]["passes"], 2);

    // Releasing early: a second hold, released, lets its erasure go at the next look.
    let f = person(&app, "Fanni").await;
    let (_, v) = app
        .post(
            "/api/v2/privacy/holds.json",
            json!({"hold": {"scope": "person", "subject_id": f.id, "ground": "legal_obligation", "expires_at": in_days(365)}}),
        )
        .await;
    let fh = v["hold"]["id"].as_i64().unwrap();
    // Someone names her address in the community: the erasure that resumes after the hold
    // searches that text too (before its transaction, as when it starts).
    let (_, v) = app.post("/api/v2/community/topics.json", json!({"topic": {"name": "Held"}})).await;
    let (s, v) = app
        .post(
            "/api/v2/community/posts.json",
            json!({"post": {"title": "Contact", "details": format!("<p>Write to {} please.</p>", f.email), "topic_id": v["topic"]["id"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let named = v["post"]["id"].as_i64().unwrap();
    let (_, v) = app.post(&format!("/api/v2/privacy/subjects/{}/erasure.json", f.id), json!({})).await;
    assert_eq!(v["erasure"]["state"], "held", "{v}");
    let feid = v["erasure"]["id"].as_i64().unwrap();
    let (s, v) = app.delete(&format!("/api/v2/privacy/holds/{fh}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["hold"]["active"], false);
    assert_eq!(app.delete(&format!("/api/v2/privacy/holds/{fh}.json")).await.0, StatusCode::CONFLICT);
    clock.advance_ms((120) * 1000);
    crate::harness::erasures_settled(&app).await;
    assert_eq!(app.privacy().erasure(&scope, feid).await.unwrap().state.as_str(), "completed");
    let (_, v) = app.get(&format!("/api/v2/community/posts/{named}.json")).await;
    assert_eq!(v["post"]["details"], "<p>Write to [redacted] please.</p>", "{v}");
});

engine_test!(a_tenant_can_choose_to_delete_comments_instead_of_tombstones, |app| async move {
    let (_, v) = app.get("/api/v2/privacy/settings.json").await;
    assert_eq!(v["settings"]["erasure_comments"], "tombstone", "{v}");
    let (s, v) = app
        .put("/api/v2/privacy/settings.json", json!({"settings": {"erasure_comments": "shred"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .put("/api/v2/privacy/settings.json", json!({"settings": {"erasure_comments": "delete", "other": 1}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .put("/api/v2/privacy/settings.json", json!({"settings": {"erasure_comments": "delete"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/api/v2/privacy/settings.json").await;
    assert_eq!(v["settings"]["erasure_comments"], "delete");

    let g = person(&app, "Greta").await;
    let h = person(&app, "Hannu").await;
    let t = app.ticket(h.id, "Hannu's matter", "first words").await;
    comment_as(&app, t, g.id, "Greta chimes in", true).await;
    comment_as(&app, t, h.id, "Hannu answers", true).await;
    let (_, plan) = app.get(&format!("/api/v2/privacy/subjects/{}/erasure_plan.json", g.id)).await;
    assert_eq!(plan["erasure_plan"]["counts"]["deleted_comments"], 1, "{plan}");
    assert_eq!(plan["erasure_plan"]["counts"]["tombstoned_comments"], 0);
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{}/erasure.json", g.id), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["done"]["deleted_comments"], 1, "{v}");
    let (_, c) = app.get(&format!("/api/v2/tickets/{t}/comments.json")).await;
    let bodies: Vec<&str> = c["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["first words", "Hannu answers"]);
    let (_, found) = app.get("/api/v2/search.json?query=chimes").await;
    assert_eq!(found["count"], 0, "the index forgot the deleted comment: {found}");
});

engine_test_clocked!(the_ticket_trash_keeps_items_seven_days_unless_held, |app, clock| async move {
    let r = app.user("Trash Person", "trash.person@example.fi").await;
    let gone = app.ticket(r, "Soon gone", "from the trash").await;
    let held = app.ticket(r, "Held in the trash", "kept for a claim").await;
    for t in [gone, held] {
        app.helpdesk().delete_ticket(&app.admin_scope(), suoja_core::TicketId(t)).await.unwrap();
    }
    // A hold placed on a ticket already in the trash keeps it there.
    let until = suoja_core::Timestamp(suoja_core::Clock::now(&clock).0 + 30 * 86_400_000).to_iso();
    let (s, v) = app
        .post(
            "/api/v2/privacy/holds.json",
            json!({"hold": {"scope": "ticket", "ticket_id": held, "ground": "legal_claims", "expires_at": until}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The `deleted_tickets` retention policy (7 days by default) empties the trash.
    let trash_run = async || -> u64 {
        let report = app.privacy().run_retention().await.unwrap();
        report.applied.iter().filter(|(_, p, _)| *p == "deleted_tickets").map(|(_, _, n)| n).sum()
    };
    clock.advance_ms(6 * 86_400_000);
    assert_eq!(trash_run().await, 0, "six days: still restorable");
    clock.advance_ms(86_400_000 + 1000);
    // The server's own scheduler may get there first (its first run can still be going when the
    // clock moves on a loaded machine): what this run removed is one or none, and what is left
    // below is the proof.
    assert!(trash_run().await <= 1, "seven days: gone, except the held one");
    let mut c = app.helpdesk().db().read().await.unwrap();
    let t = suoja_core::TenantId(app.t.tenant_id);
    assert_eq!(suoja_store::graph::count_linked(&mut c, t, "tickets", "id", &[gone]).await.unwrap(), 0);
    assert_eq!(suoja_store::graph::count_linked(&mut c, t, "comments", "ticket_id", &[gone]).await.unwrap(), 0);
    assert_eq!(suoja_store::graph::count_linked(&mut c, t, "tickets", "id", &[held]).await.unwrap(), 1);
});

// The search index keeps nothing of an erased person: their ticket's words (public and
// internal) match nothing, and the index's own term list (FTS5's vocabulary on SQLite) no longer
// holds their tokens. On SQLite no byte of the data directory does either (FTS5 segments are
// rewritten by secure-delete, the content row zeroed). On PostgreSQL the GIN indexes have no
// pending list (an entry is in the index proper, and leaves it with the document); the freed
// bytes of a deleted index row stay in the table's free space until reused (a keyed hash, like
// any deleted B-tree entry before it), which docs/ERASURE.md states.
engine_test!(the_search_index_keeps_nothing_of_an_erased_person, |app| async move {
    let tag = suoja_core::random::hex_id();
    let tag: String = tag.chars().filter(char::is_ascii_alphabetic).take(6).collect();
    let (public_word, internal_word) = (format!("kvarts{tag}"), format!("sisäinen{tag}"));
    // Written first in public text and later in an internal note (its entry changes columns),
    // and a word that comes with a later public reply: each change is written to the index in a
    // transaction of its own, and the erasure must find every entry.
    let (both_word, reply_word) = (format!("molemmat{tag}"), format!("vastaus{tag}"));
    let person = app.user("Iida Indeksi", &format!("iida.{tag}@example.fi")).await;
    let kept = app.user("Kalle Kestävä", &format!("kalle.{tag}@example.fi")).await;
    let ticket = app.ticket(person, &format!("Order {public_word} {both_word}"), "The parcel is late").await;
    for (body, public) in [
        (format!("Checked {internal_word} {both_word} with the courier"), false),
        (format!("Sent {reply_word} today"), true),
    ] {
        let (s, v) = app
            .put(
                &format!("/api/v2/tickets/{ticket}.json"),
                json!({"ticket": {"comment": {"body": body, "public": public}}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let other = app.ticket(kept, "Another order", &format!("Mentions {public_word} too")).await;

    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let tokens = {
        let mut c = app.helpdesk().db().read().await.unwrap();
        let h = app.helpdesk().vault().search_hasher(&mut c, tenant).await.unwrap();
        [h.token(&internal_word), h.token(&both_word), h.token(&reply_word)]
    };
    let integrity = || async {
        if app.engine == Engine::Sqlite {
            // FTS5 checks its entries against the rows of words they were made from.
            sqlx::query("INSERT INTO search_index (search_index, rank) VALUES ('integrity-check', 1)")
                .execute(app.helpdesk().db().write_pool())
                .await
                .unwrap();
        }
    };

    let found = |word: String| {
        let app = &app;
        async move {
            let (s, v) = app.get(&format!("/api/v2/search.json?query={word}")).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(found(internal_word.clone()).await, vec![ticket]);
    assert_eq!(found(public_word.clone()).await, vec![other, ticket]);
    integrity().await;
    assert_eq!(
        found(format!("{reply_word} {both_word} {public_word}")).await,
        vec![ticket],
        "words from three changes"
    );

    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{person}/erasure.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(found(internal_word.clone()).await.is_empty());
    assert_eq!(found(public_word.clone()).await, vec![other], "the other person's ticket is still found");
    assert!(found(both_word.clone()).await.is_empty() && found(reply_word.clone()).await.is_empty());
    integrity().await;

    let db = app.helpdesk().db();
    let pool = db.write_pool();
    let (terms, files): (i64, Vec<PathBuf>) = match app.engine {
        Engine::Sqlite => {
            sqlx::query("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms USING fts5vocab(main, search_index, 'row')")
                .execute(pool)
                .await
                .unwrap();
            let mut n = 0i64;
            for t in tokens {
                n += sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM temp.search_terms WHERE term = $1")
                    .bind(format!("x{t:016x}"))
                    .fetch_one(pool)
                    .await
                    .unwrap();
            }
            (n, vec![app.settings.data_dir.clone()])
        }
        Engine::Postgres => {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM search_index WHERE (public || internal) && ARRAY[{}]::bigint[]",
                tokens.map(|t| t.to_string()).join(",")
            )))
            .fetch_one(pool)
            .await
            .unwrap();
            let options: Vec<String> = sqlx::query_scalar(
                "SELECT COALESCE(array_to_string(reloptions, ','), '') FROM pg_class WHERE relname IN ('search_index_public', 'search_index_all') ORDER BY relname",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            assert_eq!(options, vec!["fastupdate=off".to_string(); 2], "GIN indexes without a pending list");
            (n, Vec::new())
        }
    };
    assert_eq!(terms, 0, "the index still lists the erased person's token");
    if files.is_empty() {
        return;
    }
    // FTS5 stores a term after the prefix it shares with the term before it on the page: its last
    // twelve hex digits are in the file whenever the term is.
    let tail = |t: i64| format!("{t:016x}").split_off(4);
    let mut canaries: Vec<Canary> = tokens.iter().map(|t| Canary::text("token (as an FTS5 word)", tail(*t))).collect();
    canaries.push(Canary::text("internal word", internal_word.clone()));
    let report = scan(&files, &canaries).unwrap();
    assert!(report.hits.is_empty(), "{:#?}", described(&app, &report).await);
    // The scan sees stored tokens: the kept person's ticket's word is there.
    let kept_token = {
        let mut c = db.read().await.unwrap();
        app.helpdesk().vault().search_hasher(&mut c, tenant).await.unwrap().token(&public_word)
    };
    let report = scan(&files, &[Canary::text("kept word", tail(kept_token))]).unwrap();
    assert!(!report.hits.is_empty(), "the scan cannot see the index");
});
