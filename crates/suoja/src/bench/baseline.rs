//! The baseline: a bare axum handler that parses the same ticket JSON and inserts one row of the
//! same size into SQLite with the same durability settings as Suoja (WAL, `synchronous=NORMAL`,
//! `secure_delete=ON`, one writer connection). It runs as its own process, like the server.

use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::load::{self, Stats};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, public_id TEXT UNIQUE, subject TEXT, body TEXT, status TEXT, priority TEXT, requester_email TEXT, assignee_id INTEGER, tags TEXT, created_at INTEGER, updated_at INTEGER); \
    CREATE INDEX IF NOT EXISTS t_req ON tickets (requester_email); CREATE INDEX IF NOT EXISTS t_status ON tickets (status, updated_at);";

async fn insert(State(pool): State<sqlx::SqlitePool>, Json(v): Json<Value>) -> Result<Json<Value>, axum::http::StatusCode> {
    let t = v.get("ticket").unwrap_or(&Value::Null);
    let now = jiff_now();
    let id: i64 = sqlx::query_scalar("INSERT INTO tickets (public_id, subject, body, status, priority, requester_email, assignee_id, tags, created_at, updated_at) VALUES ($1, $2, $3, 'new', $4, $5, NULL, $6, $7, $7) RETURNING id")
        .bind(suoja_core::random::hex_id())
        .bind(t["subject"].as_str().unwrap_or(""))
        .bind(t.pointer("/comment/body").and_then(Value::as_str).unwrap_or(""))
        .bind(t["priority"].as_str().unwrap_or("normal"))
        .bind(format!("requester-{}@example.fi", t["requester_id"]))
        .bind(t["tags"].to_string())
        .bind(now)
        .fetch_one(&pool)
        .await
        .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(json!({"ticket": {"id": id}})))
}

fn jiff_now() -> i64 {
    use suoja_core::Clock as _;
    suoja_core::clock::SystemClock.now().0
}

/// Serves the baseline (the hidden `suoja bench-baseline` command).
pub async fn serve_baseline(listen: std::net::SocketAddr, db: std::path::PathBuf) -> anyhow::Result<()> {
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .pragma("secure_delete", "ON");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(opts)
        .await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    let app = axum::Router::new()
        .route("/api/v2/tickets", post(insert))
        .route("/api/v2/tickets.json", post(insert))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Starts the baseline process and measures it at concurrency 1, 16 and 64.
pub async fn measure(secs: u64) -> anyhow::Result<Vec<(usize, Stats)>> {
    let dir = std::env::temp_dir().join(format!("suoja-bench-baseline-{}", suoja_core::random::hex_id()));
    std::fs::create_dir_all(&dir)?;
    let port = super::free_port()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["bench-baseline", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.join("baseline.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the baseline server")?;
    let guard = super::ChildGuard { child };
    super::wait_port(port).await?;
    let url = format!("http://127.0.0.1:{port}/api/v2/tickets.json");
    let auth = ("unused".to_string(), "unused".to_string());
    let mut out = Vec::new();
    for conc in [1usize, 16, 64] {
        let url = url.clone();
        let stats = load::run(conc, Duration::from_secs(secs), &auth, move |c, i| {
            let (subject, body) = super::ticket_text(i);
            c.post(url.clone())
                .json(&json!({"ticket": {"requester_id": 2, "subject": subject, "comment": {"body": body}, "tags": ["bench", "load"], "priority": "normal"}}))
        })
        .await?;
        println!("  baseline insert c={conc}: {}", stats.line());
        out.push((conc, stats));
    }
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}
