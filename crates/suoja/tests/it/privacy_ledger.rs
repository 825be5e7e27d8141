//! The privacy ledger is tamper-evident: `suoja verify ledger` recomputes the keyed hash chain
//! and names the first broken entry when one is edited, removed from the middle or the end, or
//! when two are swapped; restored, it verifies again.

use serde_json::json;
use suoja_core::TenantId;
use suoja_store::ledger::Entry;

use crate::engine_test;
use crate::harness::TestApp;

fn verify_cli(app: &TestApp) -> (bool, String) {
    let out = app.cli(&["verify", "ledger"]);
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

async fn report(app: &TestApp) -> suoja_privacy::ledger::Report {
    suoja_privacy::ledger::verify(app.helpdesk().db(), app.helpdesk().vault(), TenantId(app.t.tenant_id))
        .await
        .unwrap()
}

async fn entries(app: &TestApp) -> Vec<Entry> {
    let mut c = app.helpdesk().db().read().await.unwrap();
    suoja_store::ledger::page(&mut c, TenantId(app.t.tenant_id), 0, 1000).await.unwrap()
}

async fn exec(app: &TestApp, sql: &str, binds: &[i64]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(app.helpdesk().db().write_pool()).await.unwrap();
}

async fn put_back(app: &TestApp, e: &Entry) {
    sqlx::query("INSERT INTO ledger (tenant_id, seq, at, kind, subject_id, actor_id, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(app.t.tenant_id)
        .bind(e.seq)
        .bind(e.at.0)
        .bind(e.kind.clone())
        .bind(e.subject)
        .bind(e.actor)
        .bind(e.details.clone())
        .bind(e.prev_hash.clone())
        .bind(e.hash.clone())
        .execute(app.helpdesk().db().write_pool())
        .await
        .unwrap();
}

engine_test!(every_kind_of_tampering_is_detected, |app| async move {
    let u = app.user("Lea Lind", "lea@example.fi").await;
    for kind in ["access", "portability", "restriction"] {
        let (_, v) = app
            .post("/api/v2/privacy/requests.json", json!({"request": {"kind": kind, "subject_id": u}}))
            .await;
        let id = v["request"]["id"].as_i64().unwrap();
        app.post(&format!("/api/v2/privacy/requests/{id}/verify"), json!({"note": "checked"})).await;
    }
    let all = entries(&app).await;
    assert!(all.len() >= 9, "{}", all.len());
    let r = report(&app).await;
    assert!(r.ok(), "{:?}", r.broken);
    assert_eq!(r.head_seq, suoja_core::num::to_i64(all.len()));
    let (ok, out) = verify_cli(&app);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("{} entries verified", all.len())), "{out}");

    // Edited: details of entry 3 changed.
    exec(
        &app,
        "UPDATE ledger SET details = '{\"request\":999}' WHERE tenant_id = $1 AND seq = 3",
        &[app.t.tenant_id],
    )
    .await;
    let r = report(&app).await;
    assert_eq!(r.broken.as_ref().map(|b| b.seq), Some(3));
    assert!(r.broken.unwrap().reason.contains("edited"));
    let (ok, out) = verify_cli(&app);
    assert!(!ok && out.contains("BROKEN at entry 3"), "{out}");
    exec(&app, "DELETE FROM ledger WHERE tenant_id = $1 AND seq = 3", &[app.t.tenant_id]).await;
    put_back(&app, &all[2]).await;
    assert!(report(&app).await.ok());

    // Edited: only the time.
    exec(&app, "UPDATE ledger SET at = at + 1 WHERE tenant_id = $1 AND seq = 5", &[app.t.tenant_id]).await;
    assert_eq!(report(&app).await.broken.map(|b| b.seq), Some(5));
    exec(&app, "UPDATE ledger SET at = at - 1 WHERE tenant_id = $1 AND seq = 5", &[app.t.tenant_id]).await;
    assert!(report(&app).await.ok());

    // Removed from the middle.
    exec(&app, "DELETE FROM ledger WHERE tenant_id = $1 AND seq = 4", &[app.t.tenant_id]).await;
    let b = report(&app).await.broken.unwrap();
    assert_eq!(b.seq, 4);
    assert!(b.reason.contains("missing"), "{}", b.reason);
    put_back(&app, &all[3]).await;
    assert!(report(&app).await.ok());

    // Removed from the end (the head remembers).
    let last = all.last().unwrap().clone();
    exec(&app, "DELETE FROM ledger WHERE tenant_id = $1 AND seq = $2", &[app.t.tenant_id, last.seq]).await;
    let b = report(&app).await.broken.unwrap();
    assert!(b.reason.contains("removed from the end"), "{}", b.reason);
    let (ok, _) = verify_cli(&app);
    assert!(!ok);
    put_back(&app, &last).await;
    assert!(report(&app).await.ok());

    // Reordered: entries 2 and 6 swap places (their numbers stay).
    let (two, six) = (all[1].clone(), all[5].clone());
    exec(&app, "DELETE FROM ledger WHERE tenant_id = $1 AND seq IN (2, 6)", &[app.t.tenant_id]).await;
    put_back(&app, &Entry { seq: 2, ..six.clone() }).await;
    put_back(&app, &Entry { seq: 6, ..two.clone() }).await;
    assert_eq!(report(&app).await.broken.map(|b| b.seq), Some(2));
    exec(&app, "DELETE FROM ledger WHERE tenant_id = $1 AND seq IN (2, 6)", &[app.t.tenant_id]).await;
    put_back(&app, &two).await;
    put_back(&app, &six).await;

    // A forged entry with a plain SHA-256 chain (no key) does not verify either.
    use sha2::Digest as _;
    let head = all.last().unwrap();
    let body = suoja_store::ledger::canonical(TenantId(app.t.tenant_id), head.seq + 1, head.at, "request.fulfilled", Some(u), None, "{}");
    let mut h = sha2::Sha256::new();
    h.update(&head.hash);
    h.update(&body);
    let forged = Entry {
        seq: head.seq + 1,
        kind: "request.fulfilled".into(),
        subject: Some(u),
        actor: None,
        details: "{}".into(),
        prev_hash: head.hash.clone(),
        hash: h.finalize().to_vec(),
        at: head.at,
    };
    put_back(&app, &forged).await;
    exec(&app, "UPDATE ledger_heads SET seq = seq + 1 WHERE tenant_id = $1", &[app.t.tenant_id]).await;
    assert_eq!(report(&app).await.broken.map(|b| b.seq), Some(head.seq + 1));
    exec(&app, "DELETE FROM ledger WHERE tenant_id = $1 AND seq = $2", &[app.t.tenant_id, head.seq + 1]).await;
    exec(&app, "UPDATE ledger_heads SET seq = seq - 1 WHERE tenant_id = $1", &[app.t.tenant_id]).await;
    let (ok, out) = verify_cli(&app);
    assert!(ok, "restored: {out}");
});
