//! The erasure benchmark: the export person (1 000 tickets, 10 000 comments) is erased from
//! the seeded database through the library — plan, every step, engine maintenance and the
//! read-back — timed against reading the same person's ciphertext; then, on SQLite, the canary
//! scan of the whole data directory, timed against a plain read of the same files.

use std::io::Read as _;
use std::path::Path;
use std::time::Instant;

use suoja_core::{Scope, UserId};
use suoja_helpdesk::Helpdesk;
use suoja_privacy::Privacy;
use suoja_privacy::erasure::Origin;
use suoja_privacy::scan::{Canary, scan};

/// Erasure figures.
#[derive(Debug, Clone, Default)]
pub struct ErasureFigures {
    /// Tickets in the database before the erasure.
    pub db_tickets: i64,
    /// Reading the person's comment ciphertext (the export benchmark's baseline), ms.
    pub baseline_ms: f64,
    /// Plan, run, maintenance and read-back, ms.
    pub erase_ms: f64,
    /// Tickets and comments erased.
    pub tickets: u64,
    /// Comments erased with them.
    pub comments: u64,
    /// Whether the read-back found the stores clean.
    pub verified: bool,
    /// Bytes in the data directory (SQLite only).
    pub dir_bytes: u64,
    /// Reading every file of the data directory, ms (SQLite only).
    pub read_ms: f64,
    /// The canary scan of the same files, ms (SQLite only).
    pub scan_ms: f64,
    /// Hits of the erased person's values (must be 0).
    pub hits: usize,
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Erases `person` and, on SQLite (`data_dir` given), scans the data directory for them.
pub async fn measure(
    hd: &Helpdesk,
    privacy: &Privacy,
    admin: &Scope,
    person: UserId,
    baseline_ms: f64,
    data_dir: Option<&Path>,
) -> anyhow::Result<ErasureFigures> {
    let mut f = ErasureFigures {
        baseline_ms,
        ..Default::default()
    };
    {
        let mut c = hd.db().read().await?;
        f.db_tickets = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE tenant_id = $1")
            .bind(admin.tenant.0)
            .fetch_one(&mut c)
            .await?;
    }
    let t = Instant::now();
    let row = privacy.erase(admin, person, Origin::Api).await.map_err(err)?;
    f.erase_ms = t.elapsed().as_secs_f64() * 1000.0;
    f.tickets = row.done.get("tickets").and_then(serde_json::Value::as_u64).unwrap_or(0);
    f.comments = row.done.get("tickets.comments").and_then(serde_json::Value::as_u64).unwrap_or(0);
    f.verified = row.state == suoja_core::ErasureState::Completed;
    println!(
        "  erasure of {} tickets / {} comments among {} tickets: {:.0} ms (state {}); baseline read {:.0} ms",
        f.tickets, f.comments, f.db_tickets, f.erase_ms, row.state, f.baseline_ms
    );
    if let Some(dir) = data_dir {
        let list = suoja_privacy::scan::files(&[dir.to_path_buf()])?;
        let t = Instant::now();
        let mut buf = vec![0u8; 1 << 20];
        for p in &list {
            let mut file = std::fs::File::open(p)?;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                f.dir_bytes += n as u64;
            }
        }
        f.read_ms = t.elapsed().as_secs_f64() * 1000.0;
        let canaries = [Canary::text("name", "Export Person"), Canary::text("email", "export.person@example.fi")];
        let t = Instant::now();
        let report = scan(&[dir.to_path_buf()], &canaries)?;
        f.scan_ms = t.elapsed().as_secs_f64() * 1000.0;
        f.hits = report.hits.len();
        println!(
            "  canary scan of {:.0} MB: {:.1} s (plain read {:.1} s), {} hits",
            f.dir_bytes as f64 / 1e6,
            f.scan_ms / 1000.0,
            f.read_ms / 1000.0,
            f.hits
        );
    }
    Ok(f)
}
