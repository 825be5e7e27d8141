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

/// Another node on the app's database, with a ledger file of its own: (its directory, kept
/// while the test runs; the file; its privacy services).
fn second_node(app: &TestApp) -> (crate::harness::TempDir, std::path::PathBuf, suoja_privacy::Privacy) {
    let dir = crate::harness::TempDir::new();
    let file = dir.0.join("erasure-ledger.jsonl");
    let node = suoja_privacy::Privacy::new(app.helpdesk().clone(), suoja::app::policy(&app.settings).unwrap())
        .with_erasure_log(suoja_privacy::erasure::ledger_file::ErasureLog::new(file.clone(), Vec::new()));
    (dir, file, node)
}

/// The lines of the erasure ledger's file at `path` that name `subject` as erased.
fn completions_in(path: &std::path::Path, subject: i64) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"erasure_id\"") && l.contains(&format!("\"subject_id\":{subject},")))
        .count()
}

// The erasure ledger is in the database too: a node that did not run an erasure copies its line
// into its own file, a node starting on the database writes the lines it lacks, and a line only
// a file has (the database was put back from an older copy) goes back into the database.
engine_test!(the_erasure_ledger_is_in_the_database_and_every_nodes_file, |app| async move {
    let (s, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Eino Erased", "email": "eino@example.fi"}}))
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    let eino = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{eino}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    let in_db = || async {
        let mut c = app.helpdesk().db().read().await.unwrap();
        suoja_store::erasure_log::all(&mut c).await.unwrap()
    };
    let lines = in_db().await;
    let completion: Vec<&String> = lines.iter().filter(|l| l.contains(&format!("\"subject_id\":{eino},"))).collect();
    assert_eq!(completion.len(), 1, "one completion line in the database: {lines:?}");
    assert_eq!(completions_in(&app.settings.erasure_ledger_file(), eino), 1, "and in this node's file");

    // Another node on the same database, with a file of its own.
    let (_other, other_file, node_b) = second_node(&app);
    // Starting, it writes what it lacks before serving; afterwards it copies new lines.
    node_b.reconcile_erasure_log().await.unwrap();
    assert_eq!(completions_in(&other_file, eino), 1, "node B's file after its start");
    let (_, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Eeva Erased", "email": "eeva@example.fi"}}))
        .await;
    let eeva = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{eeva}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    assert_eq!(completions_in(&other_file, eeva), 0);
    assert!(node_b.sync_erasure_log().await.unwrap() >= 1);
    assert_eq!(completions_in(&other_file, eeva), 1, "node B copied the line node A wrote");
    assert_eq!(node_b.sync_erasure_log().await.unwrap(), 0, "and copies it once");
    assert_eq!(completions_in(&other_file, eeva), 1);

    // A line only node B's file has (the database came back from an older copy) goes back into
    // the database when B starts.
    let lost = json!({"tenant_id": app.t.tenant_id, "subject_id": 987_654, "key_id": null, "erasure_id": 99_999, "completed_at": "2026-01-01T00:00:00Z"});
    let lost_line = lost.to_string();
    suoja_privacy::erasure::ledger_file::append_ledger_lines(&other_file, std::slice::from_ref(&lost)).unwrap();
    node_b.reconcile_erasure_log().await.unwrap();
    assert!(in_db().await.contains(&lost_line), "the file's line is in the database again");
    // Node A copies it too, without writing its own lines twice.
    app.privacy().sync_erasure_log().await.unwrap();
    let a_file = std::fs::read_to_string(app.settings.erasure_ledger_file()).unwrap();
    assert_eq!(a_file.lines().filter(|l| *l == lost_line).count(), 1, "{a_file}");
    assert_eq!(completions_in(&app.settings.erasure_ledger_file(), eino), 1);
    assert_eq!(completions_in(&app.settings.erasure_ledger_file(), eeva), 1);
});

// The copy between nodes misses nothing that commits late or after a crash: a line numbered
// lower than one already copied, a line the database could not take when it was written, and
// a file whose last line a crash tore (no line is glued to it, and it goes nowhere).
engine_test!(the_erasure_ledger_copy_misses_nothing_late_or_torn, |app| async move {
    let (_other, other_file, node_b) = second_node(&app);
    node_b.reconcile_erasure_log().await.unwrap();
    let line =
        |n: i64| json!({"tenant_id": app.t.tenant_id, "subject_id": n, "key_id": null, "erasure_id": n, "completed_at": "2026-12-01T00:00:00Z"}).to_string();
    let now = suoja_core::Clock::now(&suoja_core::clock::SystemClock).0;
    let insert = |id: i64, l: String| {
        let pool = app.helpdesk().db().write_pool().clone();
        async move {
            sqlx::query("INSERT INTO erasure_log (id, digest, line, written_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(suoja_store::erasure_log::digest(&l))
                .bind(l)
                .bind(now)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    // Row 5000 commits and is copied; row 4000, numbered lower, commits after.
    insert(5000, line(501)).await;
    node_b.sync_erasure_log().await.unwrap();
    insert(4000, line(401)).await;
    node_b.sync_erasure_log().await.unwrap();
    let text = std::fs::read_to_string(&other_file).unwrap();
    for l in [line(501), line(401)] {
        assert_eq!(text.lines().filter(|x| *x == l).count(), 1, "{l} once in {text}");
    }

    // The database cannot take a line when an erasure completes: the node's file has it, and
    // the next copy writes it to the database.
    let (_, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Olli Offline", "email": "olli@example.fi"}}))
        .await;
    let olli = v["user"]["id"].as_i64().unwrap();
    exec(&app, "ALTER TABLE erasure_log RENAME TO erasure_log_away", &[]).await;
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{olli}/erasure.json"), json!({})).await;
    assert!(s.is_success(), "{v}");
    exec(&app, "ALTER TABLE erasure_log_away RENAME TO erasure_log", &[]).await;
    assert_eq!(completions_in(&app.settings.erasure_ledger_file(), olli), 1, "the file took it");
    let db = app.helpdesk().db().clone();
    let in_db = |who: i64| {
        let db = db.clone();
        async move {
            let mut c = db.read().await.unwrap();
            suoja_store::erasure_log::all(&mut c)
                .await
                .unwrap()
                .into_iter()
                .filter(|l| l.contains(&format!("\"subject_id\":{who},")) && l.contains("\"erasure_id\""))
                .count()
        }
    };
    assert_eq!(in_db(olli).await, 0);
    app.privacy().sync_erasure_log().await.unwrap();
    assert_eq!(in_db(olli).await, 1, "the next copy wrote it to the database");
    node_b.sync_erasure_log().await.unwrap();
    assert_eq!(completions_in(&other_file, olli), 1, "and node B has it");

    // The list of backup directories cannot be read when an erasure completes: the line still
    // reaches the database at once.
    let (_, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Bea Backupless", "email": "bea@example.fi"}}))
        .await;
    let bea = v["user"]["id"].as_i64().unwrap();
    exec(&app, "ALTER TABLE backup_targets RENAME TO backup_targets_away", &[]).await;
    let (s, v) = app.post(&format!("/api/v2/privacy/subjects/{bea}/erasure.json"), json!({})).await;
    exec(&app, "ALTER TABLE backup_targets_away RENAME TO backup_targets", &[]).await;
    assert!(s.is_success(), "{v}");
    assert_eq!(in_db(bea).await, 1, "in the database without waiting for a copy");

    // A crash tore node B's last line: it is left out, the next line is whole, and the
    // database never takes the torn text.
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().append(true).open(&other_file).unwrap();
        f.write_all(br#"{"tenant_id": 1, "subject_id": 77"#).unwrap();
    }
    insert(6000, line(601)).await;
    node_b.sync_erasure_log().await.unwrap();
    node_b.reconcile_erasure_log().await.unwrap();
    let text = std::fs::read_to_string(&other_file).unwrap();
    assert!(text.lines().any(|x| x == line(601)), "the copied line is whole: {text}");
    let mut c = app.helpdesk().db().read().await.unwrap();
    let rows = suoja_store::erasure_log::all(&mut c).await.unwrap();
    assert!(rows.iter().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{rows:?}");
});

// A node that was paused, or busy with a long sweep, for longer than the copy's window still
// copies what was written meanwhile: the next copy reads from before the last one, however
// long ago that was.
crate::engine_test_clocked!(a_paused_node_copies_what_was_written_meanwhile, |app, clock| async move {
    let (_other, other_file, node_b) = second_node(&app);
    node_b.reconcile_erasure_log().await.unwrap();
    node_b.sync_erasure_log().await.unwrap();
    let last_copy = suoja_core::Clock::now(&clock).0;
    // Three minutes later, a line another node wrote ten seconds after the last copy.
    clock.advance_ms(180_000);
    let line =
        json!({"tenant_id": app.t.tenant_id, "subject_id": 4242, "key_id": null, "erasure_id": 4242, "completed_at": "2026-03-02T09:00:10Z"}).to_string();
    sqlx::query("INSERT INTO erasure_log (digest, line, written_at) VALUES ($1, $2, $3)")
        .bind(suoja_store::erasure_log::digest(&line))
        .bind(line.clone())
        .bind(last_copy + 10_000)
        .execute(app.helpdesk().db().write_pool())
        .await
        .unwrap();
    assert_eq!(node_b.sync_erasure_log().await.unwrap(), 1);
    let text = std::fs::read_to_string(&other_file).unwrap();
    assert_eq!(text.lines().filter(|l| *l == line).count(), 1, "{text}");
});
