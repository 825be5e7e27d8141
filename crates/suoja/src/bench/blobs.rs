//! What keeping files in a blob store costs. On each engine, the same uploads (`POST
//! /api/v2/uploads`, 256 KB of random bytes each, eight at once) and downloads of them (`GET
//! /api/v2/attachments/{id}/content`, eight at once) are timed against a fresh installation
//! served by `suoja serve` for each place files can be kept: the database (the in-run baseline),
//! a local directory, and — when `SUOJA_BENCH_S3_BUCKET` and the `AWS_*` environment name one —
//! an S3-compatible server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use suoja_config::Settings;

use super::load::{self, Stats};
use super::{ChildGuard, free_port, serve_command, wait_port};

/// Bytes of each file.
const FILE_BYTES: usize = 256 * 1024;
/// Requests at once.
const AT_ONCE: usize = 8;

/// One engine and store's figures.
#[derive(Debug, Clone, Default)]
pub struct BlobFigures {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Where files were kept.
    pub store: String,
    /// Uploads.
    pub up: Stats,
    /// Downloads.
    pub down: Stats,
}

/// The places measured: a label and the `blob_url` (a local directory's is made per run).
fn stores() -> Vec<(&'static str, Option<String>)> {
    let mut out = vec![("database", Some("database".to_string())), ("local directory", None)];
    if let Ok(b) = std::env::var("SUOJA_BENCH_S3_BUCKET")
        && !b.is_empty()
    {
        out.push(("S3 (s3s-fs on loopback)", Some(format!("s3://{b}/bench-{}", super::hex_suffix()))));
    }
    out
}

/// Measures uploads and downloads on `engine` (PostgreSQL when `pg` names a server) for every
/// store, `secs` each.
pub async fn measure(engine: &str, pg: Option<&str>, secs: Duration) -> anyhow::Result<Vec<BlobFigures>> {
    let mut out = Vec::new();
    for (label, url) in stores() {
        let dir = std::env::temp_dir().join(format!("suoja-bench-blobs-{}", super::hex_suffix()));
        std::fs::create_dir_all(&dir)?;
        let blob_url = url.unwrap_or_else(|| format!("file://{}", dir.join("blobs").display()));
        let database_url = match pg {
            Some(admin) => Some(suoja_store::pg_admin::create_database(admin, "suoja_bench_").await?),
            None => None,
        };
        let settings = Settings {
            data_dir: dir.clone(),
            database_url: database_url.clone(),
            blob_url: Some(blob_url.clone()),
            ..Settings::default()
        };
        let token = {
            let hd = crate::app::open(&settings).await?;
            let boot = super::bench_tenant(&hd, "bench@example.fi").await?;
            hd.db().close().await;
            boot.api_token.expose().clone()
        };
        let port = free_port()?;
        let mut cmd = serve_command(&dir, port, &settings)?;
        cmd.env("SUOJA_BLOB_URL", &blob_url).env("SUOJA_UPLOAD_QUOTA_MB_PER_DAY", "1000000");
        let server = ChildGuard {
            child: cmd.spawn().context("starting suoja serve")?,
        };
        wait_port(port).await?;
        let base = format!("http://127.0.0.1:{port}");
        let auth = ("bench@example.fi/token".to_string(), token);
        // Random bytes (nothing compresses them on the way): 256 KB of 32-byte random blocks.
        let file: Vec<u8> = (0..FILE_BYTES / 32).flat_map(|_| suoja_core::random::bytes::<32>()).collect();
        let file = Arc::new(file);
        let b = base.clone();
        let up = load::run(AT_ONCE, secs, &auth, move |c, i| {
            c.post(format!("{b}/api/v2/uploads.json?filename=f{i}.bin"))
                .header("content-type", "application/octet-stream")
                .body(file.as_ref().clone())
        })
        .await?;
        // The files uploaded have ids 1, 2, … in the fresh installation (most of them: a few
        // in flight at the end may not have committed).
        let stored = suoja_core::num::floor_usize(up.rps * secs.as_secs_f64() * 0.9).max(1);
        let b = base.clone();
        let down = load::run(AT_ONCE, secs, &auth, move |c, i| {
            c.get(format!("{b}/api/v2/attachments/{}/content", i % stored + 1))
        })
        .await?;
        println!("  {engine} files in the {label}: upload {}; download {}", up.line(), down.line());
        drop(server);
        if let (Some(admin), Some(url)) = (pg, &database_url) {
            super::drop_pg_database(admin, url).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        out.push(BlobFigures {
            engine: engine.into(),
            store: label.into(),
            up,
            down,
        });
    }
    Ok(out)
}
