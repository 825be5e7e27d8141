//! Export packages: built as jobs (a row at once, `building` until its last chunk is stored),
//! kept as chunks of ciphertext under the package's own key (itself sealed under the person's
//! key), downloadable until they expire, then deleted with their chunks. Packages from before
//! schema v8 hold their whole content in `content_enc` instead.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, opt_bytes, opt_i64, opt_text, text};

/// A package is being built.
pub const BUILDING: &str = "building";
/// A package is ready to download.
pub const READY: &str = "ready";
/// A package's build failed (or its node stopped beating).
pub const FAILED: &str = "failed";

/// A stored package.
#[derive(Debug, Clone)]
pub struct PackageRow {
    /// Random 32-hex id (also the download handle).
    pub id: String,
    /// The request it answers.
    pub request_id: Option<i64>,
    /// The person.
    pub subject_id: i64,
    /// `json`, `pdf` or `zip`.
    pub format: String,
    /// `building`, `ready` or `failed`.
    pub status: String,
    /// Whole sealed content (packages from before schema v8; empty otherwise).
    pub content_enc: Vec<u8>,
    /// The package's key, sealed under the person's key (chunked packages).
    pub file_key_enc: Option<Vec<u8>>,
    /// How many chunks hold the content (`None`: the content is whole in `content_enc`).
    pub chunks: Option<i64>,
    /// Plaintext size in bytes (so far, while building).
    pub size: i64,
    /// Started.
    pub created_at: Timestamp,
    /// Deleted after.
    pub expires_at: Timestamp,
    /// Times downloaded.
    pub downloads: i64,
    /// Last sign of life of its builder.
    pub heartbeat_at: Option<Timestamp>,
    /// Who started the build (a node taking it over builds on their behalf).
    pub started_by: Option<i64>,
    /// The build's options as JSON (which tickets, internal notes or not): ids and words only.
    pub build_options: Option<String>,
    /// Takeovers of the build so far (0: its first builder's).
    pub build_attempt: i64,
}

const COLS: &str = "id, request_id, subject_id, format, status, file_key_enc, chunks, size, created_at, expires_at, downloads, heartbeat_at, started_by, build_options, build_attempt";

/// Stores a package row (a build starting, or a package built elsewhere).
pub async fn insert(c: &mut Conn, tenant: TenantId, p: &PackageRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO export_packages (id, tenant_id, request_id, subject_id, format, status, content_enc, file_key_enc, chunks, size, created_at, expires_at, downloads, heartbeat_at, started_by, build_options) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(p.id.clone())
    .bind(tenant.0)
    .bind(p.request_id)
    .bind(p.subject_id)
    .bind(p.format.clone())
    .bind(p.status.clone())
    .bind(p.content_enc.clone())
    .bind(p.file_key_enc.clone())
    .bind(p.chunks)
    .bind(p.size)
    .bind(p.created_at.0)
    .bind(p.expires_at.0)
    .bind(p.downloads)
    .bind(p.heartbeat_at.map(|t| t.0))
    .bind(p.started_by)
    .bind(p.build_options.clone())
    .execute(c)
    .await?;
    Ok(())
}

fn row(r: &sqlx::any::AnyRow) -> Result<PackageRow> {
    Ok(PackageRow {
        id: text(r, "id")?,
        request_id: opt_i64(r, "request_id")?,
        subject_id: i64_(r, "subject_id")?,
        format: text(r, "format")?,
        status: text(r, "status")?,
        content_enc: Vec::new(),
        file_key_enc: opt_bytes(r, "file_key_enc")?,
        chunks: opt_i64(r, "chunks")?,
        size: i64_(r, "size")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        expires_at: Timestamp(i64_(r, "expires_at")?),
        downloads: i64_(r, "downloads")?,
        heartbeat_at: opt_i64(r, "heartbeat_at")?.map(Timestamp),
        started_by: opt_i64(r, "started_by")?,
        build_options: opt_text(r, "build_options")?,
        build_attempt: i64_(r, "build_attempt")?,
    })
}

/// A package (without a whole content; see [`whole_content`]).
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<PackageRow>> {
    let sql = format!("SELECT {COLS} FROM export_packages WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(row).transpose()
}

/// The whole sealed content of a package from before schema v8.
pub async fn whole_content(c: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<Vec<u8>>> {
    let r = sqlx::query("SELECT content_enc FROM export_packages WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(|r| bytes(r, "content_enc")).transpose()
}

/// Packages of a request, newest first.
pub async fn for_request(c: &mut Conn, tenant: TenantId, request: i64) -> Result<Vec<PackageRow>> {
    let sql = format!("SELECT {COLS} FROM export_packages WHERE tenant_id = $1 AND request_id = $2 ORDER BY created_at DESC, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(request).fetch_all(c).await?;
    rows.iter().map(row).collect()
}

/// Packages started for a person since `since` (whatever became of them): the daily cap.
pub async fn started_since(c: &mut Conn, tenant: TenantId, subject: i64, since: Timestamp) -> Result<Vec<Timestamp>> {
    let at: Vec<i64> =
        sqlx::query_scalar("SELECT created_at FROM export_packages WHERE tenant_id = $1 AND subject_id = $2 AND created_at >= $3 ORDER BY created_at")
            .bind(tenant.0)
            .bind(subject)
            .bind(since.0)
            .fetch_all(c)
            .await?;
    Ok(at.into_iter().map(Timestamp).collect())
}

/// A package of the person still being built by a live builder (heartbeat at `alive_after` or
/// later), if any.
pub async fn building_for(c: &mut Conn, tenant: TenantId, subject: i64, alive_after: Timestamp) -> Result<Option<PackageRow>> {
    let sql = format!(
        "SELECT {COLS} FROM export_packages WHERE tenant_id = $1 AND subject_id = $2 AND status = 'building' AND heartbeat_at >= $3 ORDER BY created_at LIMIT 1"
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(subject)
        .bind(alive_after.0)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(row).transpose()
}

/// Builds (of every tenant) whose builder went silent before `alive_after`, oldest first, at
/// most `limit`: builds another node may take over.
pub async fn dead_builds(c: &mut Conn, alive_after: Timestamp, limit: i64) -> Result<Vec<(TenantId, PackageRow)>> {
    let sql = format!(
        "SELECT tenant_id, {COLS} FROM export_packages WHERE status = 'building' AND (heartbeat_at IS NULL OR heartbeat_at < $1) ORDER BY created_at LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(alive_after.0).bind(limit).fetch_all(c).await?;
    rows.iter().map(|r| Ok((TenantId(i64_(r, "tenant_id")?), row(r)?))).collect()
}

/// Takes over a build whose builder went silent before `alive_after`: counts one more attempt,
/// beats its heartbeat as this builder's and drops the chunks stored so far (the build starts
/// again). Returns the new attempt, which the builder names in every write; `None` when it is
/// no longer a dead build (another node took it, it finished, or it was swept).
pub async fn take_over(c: &mut Conn, tenant: TenantId, package: &str, alive_after: Timestamp, now: Timestamp) -> Result<Option<i64>> {
    // On PostgreSQL a row its builder holds locked (a node frozen inside a chunk's transaction)
    // is passed over rather than waited for: the background work of every node would wait.
    let lock = if c.engine() == crate::Engine::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let attempt: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE export_packages SET heartbeat_at = $3, size = 0, build_attempt = build_attempt + 1 \
         WHERE tenant_id = $1 AND id = (SELECT id FROM export_packages WHERE tenant_id = $1 AND id = $2 AND status = 'building' \
         AND (heartbeat_at IS NULL OR heartbeat_at < $4){lock}) RETURNING build_attempt"
    )))
    .bind(tenant.0)
    .bind(package)
    .bind(now.0)
    .bind(alive_after.0)
    .fetch_optional(&mut *c)
    .await?;
    if attempt.is_some() {
        delete_chunks(c, tenant, &[package.to_string()]).await?;
    }
    Ok(attempt)
}

/// Marks the person's builds whose builder went silent before `alive_after` as failed (so
/// another can start), dropping what was stored of them.
pub async fn fail_dead_builds(c: &mut Conn, tenant: TenantId, subject: i64, alive_after: Timestamp) -> Result<()> {
    let dead: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM export_packages WHERE tenant_id = $1 AND subject_id = $2 AND status = 'building' AND (heartbeat_at IS NULL OR heartbeat_at < $3)",
    )
    .bind(tenant.0)
    .bind(subject)
    .bind(alive_after.0)
    .fetch_all(&mut *c)
    .await?;
    for id in dead {
        // Still silent: a node may have taken the build over since the query above.
        fail_building(c, tenant, &id, " AND (heartbeat_at IS NULL OR heartbeat_at < $3)", Some(alive_after.0)).await?;
    }
    Ok(())
}

/// One chunk of a package, as it is stored.
#[derive(Debug, Clone)]
pub struct Chunk<'a> {
    /// The package.
    pub package: &'a str,
    /// The person it is about.
    pub subject: i64,
    /// Its place, from 0.
    pub seq: i64,
    /// The sealed chunk, for its row or already a blob.
    pub content: crate::blobs::Content,
    /// The package's plaintext size with this chunk.
    pub size_so_far: i64,
}

/// Stores one chunk of a package being built by `attempt` and beats its heartbeat. False, with
/// nothing stored, when the build is no longer that attempt's (another node took it over) or no
/// longer building.
pub async fn insert_chunk(c: &mut Conn, tenant: TenantId, chunk: Chunk<'_>, attempt: i64, now: Timestamp) -> Result<bool> {
    let mine =
        sqlx::query("UPDATE export_packages SET size = $3, heartbeat_at = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'building' AND build_attempt = $5")
            .bind(tenant.0)
            .bind(chunk.package)
            .bind(chunk.size_so_far)
            .bind(now.0)
            .bind(attempt)
            .execute(&mut *c)
            .await?
            .rows_affected()
            == 1;
    if !mine {
        return Ok(false);
    }
    let (content_enc, blob_key) = chunk.content.into_columns();
    sqlx::query("INSERT INTO export_chunks (tenant_id, package_id, subject_id, seq, content_enc, blob_key) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(tenant.0)
        .bind(chunk.package)
        .bind(chunk.subject)
        .bind(chunk.seq)
        .bind(content_enc)
        .bind(blob_key)
        .execute(c)
        .await?;
    Ok(true)
}

/// Beats a building package's heartbeat for `attempt` (between chunks of long work).
pub async fn heartbeat(c: &mut Conn, tenant: TenantId, package: &str, attempt: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE export_packages SET heartbeat_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'building' AND build_attempt = $4")
        .bind(tenant.0)
        .bind(package)
        .bind(now.0)
        .bind(attempt)
        .execute(c)
        .await?;
    Ok(())
}

/// Marks a package built by `attempt` ready with its chunk count and size. Returns false if it
/// is gone (the person was erased, or it was swept as failed, while it was being built) or was
/// taken over by another attempt.
pub async fn finish(c: &mut Conn, tenant: TenantId, package: &str, attempt: i64, chunks: i64, size: i64, now: Timestamp) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE export_packages SET status = 'ready', chunks = $3, size = $4, heartbeat_at = $5 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'building' AND build_attempt = $6",
    )
    .bind(tenant.0)
    .bind(package)
    .bind(chunks)
    .bind(size)
    .bind(now.0)
    .bind(attempt)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Marks a package still building failed and drops what was stored of it; a package already
/// ready or failed is left as it is.
pub async fn fail(c: &mut Conn, tenant: TenantId, package: &str) -> Result<()> {
    fail_building(c, tenant, package, "", None).await
}

/// As [`fail`], only while the build is `attempt`'s: a builder whose build was taken over
/// leaves it alone.
pub async fn fail_attempt(c: &mut Conn, tenant: TenantId, package: &str, attempt: i64) -> Result<()> {
    fail_building(c, tenant, package, " AND build_attempt = $3", Some(attempt)).await
}

/// Fails a building package under one more condition (`and`, naming `$3` when `value` is
/// given) and drops its chunks when it did.
async fn fail_building(c: &mut Conn, tenant: TenantId, package: &str, and: &'static str, value: Option<i64>) -> Result<()> {
    let sql = format!("UPDATE export_packages SET status = 'failed' WHERE tenant_id = $1 AND id = $2 AND status = 'building'{and}");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(package.to_string());
    if let Some(v) = value {
        q = q.bind(v);
    }
    if q.execute(&mut *c).await?.rows_affected() == 1 {
        delete_chunks(c, tenant, &[package.to_string()]).await?;
    }
    Ok(())
}

/// One chunk's ciphertext, from its row or its blob.
pub async fn chunk(c: &mut Conn, blobs: &crate::blobs::Blobs, tenant: TenantId, package: &str, seq: i64) -> Result<Option<Vec<u8>>> {
    let r: Option<(Vec<u8>, Option<String>)> =
        sqlx::query_as("SELECT content_enc, blob_key FROM export_chunks WHERE tenant_id = $1 AND package_id = $2 AND seq = $3")
            .bind(tenant.0)
            .bind(package)
            .bind(seq)
            .fetch_optional(c)
            .await?;
    match r {
        Some((inline, key)) => blobs.content(key.as_deref(), inline).await,
        None => Ok(None),
    }
}

/// Counts a download.
pub async fn count_download(c: &mut Conn, tenant: TenantId, id: &str) -> Result<()> {
    sqlx::query("UPDATE export_packages SET downloads = downloads + 1 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

async fn delete_chunks(c: &mut Conn, tenant: TenantId, packages: &[String]) -> Result<u64> {
    let mut n = 0;
    for p in packages {
        n += sqlx::query("DELETE FROM export_chunks WHERE tenant_id = $1 AND package_id = $2")
            .bind(tenant.0)
            .bind(p.clone())
            .execute(&mut *c)
            .await?
            .rows_affected();
    }
    Ok(n)
}

/// Deletes packages (and their chunks) by id; returns how many packages went.
pub async fn delete(c: &mut Conn, tenant: TenantId, ids: &[String]) -> Result<u64> {
    delete_chunks(c, tenant, ids).await?;
    let mut n = 0;
    for id in ids {
        n += sqlx::query("DELETE FROM export_packages WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.clone())
            .execute(&mut *c)
            .await?
            .rows_affected();
    }
    Ok(n)
}

/// Deletes a person's packages and their chunks (their data changed, or they were erased).
pub async fn delete_for_subject(c: &mut Conn, tenant: TenantId, subject: i64) -> Result<u64> {
    sqlx::query("DELETE FROM export_chunks WHERE tenant_id = $1 AND subject_id = $2")
        .bind(tenant.0)
        .bind(subject)
        .execute(&mut *c)
        .await?;
    Ok(sqlx::query("DELETE FROM export_packages WHERE tenant_id = $1 AND subject_id = $2")
        .bind(tenant.0)
        .bind(subject)
        .execute(c)
        .await?
        .rows_affected())
}

/// Deletes, in every tenant, packages past their expiry, failed ones and ones whose builder
/// stopped beating before `dead_before` (a day after they started), with their chunks; returns
/// how many packages went.
pub async fn purge_expired(c: &mut Conn, now: Timestamp, dead_before: Timestamp) -> Result<u64> {
    let day_ago = now.0 - 86_400_000;
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT tenant_id, id FROM export_packages WHERE expires_at <= $1 OR (status = 'failed' AND created_at < $2) OR (status = 'building' AND (heartbeat_at IS NULL OR heartbeat_at < $3) AND created_at < $2)",
    )
    .bind(now.0)
    .bind(day_ago)
    .bind(dead_before.0)
    .fetch_all(&mut *c)
    .await?;
    let mut n = 0;
    for (tenant, id) in rows {
        n += delete(c, TenantId(tenant), &[id]).await?;
    }
    Ok(n)
}
