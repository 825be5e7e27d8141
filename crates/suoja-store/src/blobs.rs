//! The blob store: the sealed bytes of files (attachments, voice recordings, received mail,
//! export packages) kept outside the database, in a local directory or an S3-compatible service, through `object_store`.
//!
//! What goes in is already sealed by the caller (under its person's key, or an export package's
//! key sealed under it), so the store never holds plaintext. A row names its blob by key (the
//! `blob_key` of the tables in [`HELD`]); a row deleted or given other content puts its old key
//! into `blob_trash` in the same transaction (triggers of migrations 35 and 36), and
//! [`Blobs::empty_trash`] deletes those blobs and checks each is gone — so every path that
//! deletes a row (erasure, retention, redaction, a ticket's deletion, an expired package) also
//! deletes its blob, even if the process dies in between. Without a store configured, files stay
//! in the database as before.
//!
//! Keys are `t{tenant}/f/{random}`: nothing personal in a name, and one tenant's blobs under one
//! prefix.

use std::sync::Arc;

use futures_util::TryStreamExt as _;
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use suoja_core::{TenantId, Timestamp};

use crate::{Conn, Db, Result, StoreError};

/// A file column whose content may be a blob, named by its row's `blob_key`.
#[derive(Debug, Clone, Copy)]
pub struct Held {
    /// The table.
    pub table: &'static str,
    /// The column of sealed bytes.
    pub column: &'static str,
    /// Whether bytes kept in the database are moved into a store once one is configured
    /// (export packages' chunks are not: they expire within days).
    pub moved: bool,
}

/// Every file column whose content may be a blob: attachments and recordings, received mail as
/// it came, export packages' chunks.
pub const HELD: &[Held] = &[
    Held {
        table: "attachments",
        column: "content_enc",
        moved: true,
    },
    Held {
        table: "mail_messages",
        column: "raw_enc",
        moved: true,
    },
    Held {
        table: "export_chunks",
        column: "content_enc",
        moved: false,
    },
];

/// Whether `column` of `table` may be a blob.
pub fn is_held(table: &str, column: &str) -> bool {
    HELD.iter().any(|h| h.table == table && h.column == column)
}

/// How long a node's claim on a trash entry holds (a node that stopped while deleting gives it
/// up after this).
const CLAIM_MS: i64 = 5 * 60_000;

/// Blobs larger than this go up in parts (S3 multipart upload), a part at a time.
const MULTIPART_FROM: usize = 8 * 1024 * 1024;
/// The size of each part (S3 asks at least 5 MiB of every part but the last).
const PART_SIZE: usize = 5 * 1024 * 1024;

/// Where files' bytes are kept.
#[derive(Clone, Default)]
pub struct Blobs {
    store: Option<Arc<dyn ObjectStore>>,
    describe: String,
    /// The directory of a local store.
    dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("store", &self.describe()).finish()
    }
}

/// A store failure, said without the service's own message: an S3 error body can carry the
/// request's signing details (the access key id among them), so only its kind is kept.
fn store_error(what: &str, e: &object_store::Error) -> StoreError {
    let kind = match e {
        object_store::Error::NotFound { .. } => "not found",
        object_store::Error::AlreadyExists { .. } => "already exists",
        object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => "a precondition failed",
        object_store::Error::PermissionDenied { .. } => "permission denied",
        object_store::Error::Unauthenticated { .. } => "the credentials were refused",
        object_store::Error::InvalidPath { .. } => "not a valid key",
        _ => "the service failed or did not answer",
    };
    StoreError::Blob(format!("{what}: {kind}"))
}

/// Whether `key` is one of Suoja's blob names (`t<tenant>/f/<random>`): nothing else in the
/// store is ever deleted by a sweep.
pub fn is_blob_key(key: &str) -> bool {
    let mut parts = key.split('/');
    let (Some(t), Some("f"), Some(name), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    t.strip_prefix('t').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && name.len() == 22
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Blobs {
    /// Files stay in the database (`content_enc`).
    pub fn in_database() -> Self {
        Self::default()
    }

    /// The store `url` names: `database` (files stay in the database), a local directory
    /// (`file:///abs/path` or an absolute path; created, the owner's alone), or an
    /// S3-compatible service (`s3://bucket/prefix`; the endpoint, region and credentials come
    /// from the environment as `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, and `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
    pub fn open(url: &str) -> Result<Self> {
        let url = url.trim();
        if url == "database" {
            return Ok(Self::in_database());
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::Config("blob_url s3://… must name a bucket".into()));
            }
            if bucket.contains(['@', ':', '?', '#']) {
                return Err(StoreError::Config(
                    "blob_url s3://… names a bucket and a prefix only; credentials and the endpoint come from the environment (AWS_*)".into(),
                ));
            }
            // Bounded: a request may hold a database connection while it runs. The operator's
            // own AWS_TIMEOUT and AWS_CONNECT_TIMEOUT (read by `from_env`, like the proxy and
            // certificate settings) win over these.
            let retry = object_store::RetryConfig {
                max_retries: 2,
                retry_timeout: std::time::Duration::from_secs(10),
                backoff: object_store::BackoffConfig::default(),
            };
            let mut s3 = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).with_retry(retry);
            for (var, key, value) in [
                ("AWS_TIMEOUT", object_store::ClientConfigKey::Timeout, "15 seconds"),
                ("AWS_CONNECT_TIMEOUT", object_store::ClientConfigKey::ConnectTimeout, "3 seconds"),
            ] {
                if std::env::var_os(var).is_none() {
                    s3 = s3.with_config(object_store::aws::AmazonS3ConfigKey::Client(key), value);
                }
            }
            let s3 = s3.build().map_err(|e| StoreError::Config(format!("blob_url {url}: {e}")))?;
            let store: Arc<dyn ObjectStore> = match prefix.trim_matches('/') {
                "" => Arc::new(s3),
                p => Arc::new(object_store::prefix::PrefixStore::new(s3, p)),
            };
            return Ok(Self {
                store: Some(store),
                describe: format!("s3://{bucket}/{}", prefix.trim_matches('/')),
                dir: None,
            });
        }
        let dir = std::path::PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
        if !dir.is_absolute() {
            return Err(StoreError::Config(
                "blob_url must be `database`, an absolute directory (file:///…) or s3://bucket/prefix".into(),
            ));
        }
        Self::local(&dir)
    }

    /// A local directory (created the owner's alone; an existing one is left as it is).
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        crate::files::private_dir_all(dir).map_err(|e| StoreError::Config(format!("blob directory {}: {e}", dir.display())))?;
        let fs =
            object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| StoreError::Config(format!("blob directory {}: {e}", dir.display())))?;
        Ok(Self {
            store: Some(Arc::new(fs)),
            describe: format!("file://{}", dir.display()),
            dir: Some(dir.to_path_buf()),
        })
    }

    /// The directory of a local store (what a byte-level scan of this machine must cover).
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    /// Whether files go to a store (otherwise they stay in the database).
    pub fn is_external(&self) -> bool {
        self.store.is_some()
    }

    /// Where files go, for the logs (no credentials).
    pub fn describe(&self) -> &str {
        if self.store.is_some() { &self.describe } else { "database" }
    }

    fn store(&self) -> Result<&Arc<dyn ObjectStore>> {
        self.store
            .as_ref()
            .ok_or_else(|| StoreError::Config("no blob store is configured, but a row names a blob".into()))
    }

    /// The object naming the installation a store belongs to (not of a blob's shape, so no
    /// sweep ever deletes it).
    const MARKER: &'static str = "suoja-installation";

    /// Whether this store is the one the database's rows name blobs in: refuses a process whose
    /// `blob_url` is not the server's — files kept in the database while rows name blobs, a
    /// store marked as another installation's (`installation`: a value only this installation
    /// derives, kept in the store at its first use), or an unmarked store that has none of the
    /// blobs the rows name — before it writes a file to the wrong place or reads one as missing.
    pub async fn check_against(&self, db: &Db, installation: &str) -> Result<()> {
        let mut c = db.read().await?;
        let mut named = Vec::new();
        for h in HELD {
            let keys: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT blob_key FROM {} WHERE blob_key IS NOT NULL ORDER BY blob_key LIMIT 3",
                h.table
            )))
            .fetch_all(&mut c)
            .await?;
            named.extend(keys);
        }
        let trash: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blob_trash").fetch_one(&mut c).await?;
        drop(c);
        let Some(store) = &self.store else {
            if !named.is_empty() || trash > 0 {
                return Err(StoreError::Config(
                    "files of this installation are in a blob store (rows name blobs, or blobs wait to be deleted), but blob_url is `database`: \
                     set blob_url (and the AWS_* environment for s3://) as the server has it"
                        .into(),
                ));
            }
            return Ok(());
        };
        let wrong = || {
            StoreError::Config(format!(
                "{} is not this installation's blob store: set blob_url (and the AWS_* environment for s3://) as the server has it; \
                 never share one store (or prefix) between installations",
                self.describe()
            ))
        };
        // The store says whose it is; a store without the mark gets it, unless the rows name
        // blobs none of which it has (then it is another store).
        match self.get(Self::MARKER).await? {
            Some(mark) if mark == installation.as_bytes() => Ok(()),
            Some(_) => Err(wrong()),
            None => {
                let mut found = named.is_empty();
                for k in &named {
                    if self.exists(k).await? {
                        found = true;
                        break;
                    }
                }
                if !found {
                    return Err(wrong());
                }
                store
                    .put(&Key::from(Self::MARKER), PutPayload::from(installation.as_bytes().to_vec()))
                    .await
                    .map_err(|e| store_error("marking the store", &e))?;
                Ok(())
            }
        }
    }

    /// A new key for one of `tenant`'s blobs.
    pub fn new_key(tenant: TenantId) -> String {
        format!("t{}/f/{}", tenant.0, suoja_core::random::token::<16>())
    }

    fn key(key: &str) -> Result<Key> {
        Key::parse(key).map_err(|_| StoreError::Corrupt("blob_key".into()))
    }

    /// Stores `bytes` (sealed) under `key`: in one request, or in parts when large.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let store = self.store()?;
        let key = Self::key(key)?;
        if bytes.len() < MULTIPART_FROM {
            store.put(&key, PutPayload::from(bytes)).await.map_err(|e| store_error("storing a blob", &e))?;
            return Ok(());
        }
        let upload = store.put_multipart(&key).await.map_err(|e| store_error("starting a blob's upload", &e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        for part in bytes.chunks(PART_SIZE) {
            w.wait_for_capacity(2).await.map_err(|e| store_error("uploading a blob's part", &e))?;
            w.write(part);
        }
        w.finish().await.map_err(|e| store_error("finishing a blob's upload", &e))?;
        Ok(())
    }

    /// A blob's bytes, or `None` when there is none under `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let store = self.store()?;
        match store.get(&Self::key(key)?).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| store_error("reading a blob", &e))?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error("reading a blob", &e)),
        }
    }

    /// Whether a blob is stored under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let store = self.store()?;
        match store.head(&Self::key(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error("looking for a blob", &e)),
        }
    }

    /// Deletes the blob under `key` (none there is no failure).
    pub async fn delete(&self, key: &str) -> Result<()> {
        let store = self.store()?;
        match store.delete(&Self::key(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error("deleting a blob", &e)),
        }
    }

    /// The keys of `tenant`'s blobs (all tenants' with `None`) with when each was written.
    pub async fn list(&self, tenant: Option<TenantId>) -> Result<Vec<(String, Timestamp)>> {
        let store = self.store()?;
        let prefix = tenant.map(|t| Key::from(format!("t{}", t.0)));
        let found: Vec<object_store::ObjectMeta> = store.list(prefix.as_ref()).try_collect().await.map_err(|e| store_error("listing blobs", &e))?;
        Ok(found
            .into_iter()
            .map(|m| (m.location.to_string(), Timestamp(m.last_modified.timestamp_millis())))
            .collect())
    }

    /// A row's sealed content: the blob `key` names, or the `inline` bytes when it names none.
    pub async fn content(&self, key: Option<&str>, inline: Vec<u8>) -> Result<Option<Vec<u8>>> {
        match key {
            Some(k) => self.get(k).await,
            None => Ok(Some(inline)),
        }
    }

    /// Deletes the blobs put in the trash (of `tenant`, or of every tenant), checks each is gone
    /// and only then takes the entry out, a batch at a time. Each entry is first claimed in a
    /// transaction of its own (so two nodes never work on one, and a move into the store that has
    /// not yet named its blob cannot name it any more: see [`move_into_store`]); a blob that
    /// cannot be deleted or is still there is released for the next call (logged), and the
    /// others go on. A key a row names again (a restore put the row back) is taken out without
    /// deleting its blob. Returns how many blobs went.
    pub async fn empty_trash(&self, db: &Db, tenant: Option<TenantId>) -> Result<u64> {
        if !self.is_external() {
            return Ok(0);
        }
        const BATCH: i64 = 500;
        let (mut after, mut deleted) = (0_i64, 0_u64);
        loop {
            let trash = {
                let mut c = db.read().await?;
                trashed(&mut c, tenant, after, BATCH).await?
            };
            for (id, owner, key) in &trash {
                after = *id;
                let named = {
                    let mut c = db.read().await?;
                    is_named_by_row(&mut c, key).await?
                };
                if named {
                    let mut tx = db.begin().await?;
                    sqlx::query("DELETE FROM blob_trash WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    tx.commit().await?;
                    continue;
                }
                // Taken by this call, unless another node holds it (a claim older than
                // `CLAIM_MS` was given up by a node that stopped).
                let now = suoja_core::Clock::now(&suoja_core::clock::SystemClock).0;
                let mut tx = db.begin().await?;
                let taken = sqlx::query("UPDATE blob_trash SET claimed_at = $2 WHERE id = $1 AND (claimed_at IS NULL OR claimed_at < $3)")
                    .bind(id)
                    .bind(now)
                    .bind(now - CLAIM_MS)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                if taken == 0 {
                    continue;
                }
                let gone = match self.delete(key).await {
                    Ok(()) => !self.exists(key).await?,
                    Err(_) => false,
                };
                let mut tx = db.begin().await?;
                if gone {
                    sqlx::query("DELETE FROM blob_trash WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    deleted += 1;
                } else {
                    tracing::warn!(
                        tenant.id = owner,
                        "a deleted file's blob could not be deleted; it stays in the trash for the next pass"
                    );
                    sqlx::query("UPDATE blob_trash SET claimed_at = NULL WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            if i64::try_from(trash.len()).unwrap_or(i64::MAX) < BATCH {
                return Ok(deleted);
            }
        }
    }

    /// Deletes `tenant`'s blobs (every tenant's with `None`) that no row names and that are older
    /// than `before`: what an upload left when its transaction failed after the blob was put
    /// (the age keeps uploads still in flight). Only keys of Suoja's own shape are ever touched
    /// (see [`is_blob_key`]), whatever else the store holds. Returns how many.
    pub async fn sweep_orphans(&self, db: &Db, tenant: Option<TenantId>, before: Timestamp) -> Result<u64> {
        if !self.is_external() {
            return Ok(0);
        }
        let mut n = 0;
        for (key, written) in self.list(tenant).await? {
            if written.0 >= before.0 || !is_blob_key(&key) {
                continue;
            }
            let named = {
                let mut c = db.read().await?;
                is_named(&mut c, &key).await?
            };
            if !named {
                self.delete(&key).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Moves files kept in the database into the blob store, `limit` rows at a time, every
/// tenant's (attachments and recordings, then received mail): each blob is put first, then its
/// row names it and forgets its bytes — only if the row still holds the bytes read (a
/// redaction meanwhile wins, and the blob is deleted again). Resumable by nature: what is left
/// is what still has bytes in its row. Once nothing is left in a table, the space the bytes took
/// is given back and overwritten (SQLite zeroes freed pages itself; PostgreSQL rewrites the table
/// into new files), and the write-ahead log that still held them retired. Returns how many rows
/// it took up (none: nothing is left to move).
pub async fn move_into_store(db: &Db, limit: i64) -> Result<u64> {
    let blobs = db.blobs();
    if !blobs.is_external() {
        return Ok(0);
    }
    for h in HELD.iter().filter(|h| h.moved) {
        let (table, column) = (h.table, h.column);
        let rows: Vec<(i64, i64, Vec<u8>)> = {
            let mut c = db.read().await?;
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT tenant_id, id, {column} FROM {table} WHERE blob_key IS NULL AND length({column}) > 0 ORDER BY id LIMIT $1"
            )))
            .bind(limit)
            .fetch_all(&mut c)
            .await?
        };
        if rows.is_empty() {
            continue;
        }
        let mut moved = 0;
        for (tenant, id, sealed) in &rows {
            let key = Blobs::new_key(TenantId(*tenant));
            // The key goes into the trash before its blob is put, and out of it with the row
            // that names it: if the move stops anywhere in between, or the row was redacted or
            // deleted meanwhile, the copy is deleted by the next pass, never left unnamed.
            let mut tx = db.begin().await?;
            let intent: i64 = sqlx::query_scalar("INSERT INTO blob_trash (tenant_id, blob_key) VALUES ($1, $2) RETURNING id")
                .bind(tenant)
                .bind(key.clone())
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            if let Err(e) = blobs.put(&key, sealed.clone()).await {
                // Nothing was stored (or it is deleted by the trash if it was): the entry goes
                // unless the trash took it, and the row stays as it is for the next pass.
                let mut tx = db.begin().await?;
                sqlx::query("DELETE FROM blob_trash WHERE id = $1 AND claimed_at IS NULL")
                    .bind(intent)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                let _ = blobs.delete(&key).await;
                return Err(e);
            }
            // The copy is this move's only while its entry is in the trash unclaimed (the trash
            // may have taken it meanwhile, and then deletes it): taken out, it is named by the
            // row, or, if the row was redacted or deleted meanwhile, put back to be deleted.
            let mut tx = db.begin().await?;
            let ours = sqlx::query("DELETE FROM blob_trash WHERE id = $1 AND claimed_at IS NULL")
                .bind(intent)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if ours {
                let n = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET blob_key = $3, {column} = $4 WHERE tenant_id = $1 AND id = $2 AND blob_key IS NULL AND {column} = $5"
                )))
                .bind(tenant)
                .bind(id)
                .bind(key.clone())
                .bind(Vec::<u8>::new())
                .bind(sealed.clone())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 1 {
                    moved += 1;
                } else {
                    sqlx::query("INSERT INTO blob_trash (tenant_id, blob_key) VALUES ($1, $2)")
                        .bind(tenant)
                        .bind(key.clone())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            if !ours {
                // The trash took the entry, perhaps before the blob was put: deleted here too.
                blobs.delete(&key).await?;
            }
        }
        if moved > 0 {
            let left: i64 = {
                let mut c = db.read().await?;
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM {table} WHERE blob_key IS NULL AND length({column}) > 0"
                )))
                .fetch_one(&mut c)
                .await?
            };
            if left == 0 {
                crate::dialect::rewrite_table(db, table).await?;
                crate::dialect::retire_wal(db).await?;
                tracing::info!(table, "every file of the table is in the blob store; the database's copies are gone");
            }
        }
        return Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX));
    }
    Ok(0)
}

/// Where a file's sealed content is written: into its row, or a blob already stored.
#[derive(Debug, Clone)]
pub enum Content {
    /// The sealed bytes, in the row.
    Inline(Vec<u8>),
    /// The key of the blob holding them.
    Blob(String),
}

impl Content {
    /// What the row's two columns get: the sealed bytes (empty for a blob) and the blob's key.
    pub fn into_columns(self) -> (Vec<u8>, Option<String>) {
        match self {
            Content::Inline(b) => (b, None),
            Content::Blob(k) => (Vec::new(), Some(k)),
        }
    }

    /// `sealed` as the blob store takes it: a new blob of `tenant`'s when one is configured,
    /// into the row otherwise.
    pub async fn store(blobs: &Blobs, tenant: TenantId, sealed: Vec<u8>) -> Result<Self> {
        if !blobs.is_external() {
            return Ok(Content::Inline(sealed));
        }
        let key = Blobs::new_key(tenant);
        blobs.put(&key, sealed).await?;
        Ok(Content::Blob(key))
    }

    /// Deletes the blob just stored for a row whose statement failed, so was certainly not
    /// written (best effort: a blob left is swept as an orphan). Not for a failed commit, which
    /// may have written the row: that blob is left to the orphan sweep, which checks.
    pub async fn discard(&self, blobs: &Blobs) {
        if let Content::Blob(k) = self
            && blobs.delete(k).await.is_err()
        {
            tracing::warn!("a blob of a file that was not kept could not be deleted; the orphan sweep will");
        }
    }
}

/// Trash entries (id, tenant, key) after `after`, oldest first.
async fn trashed(c: &mut Conn, tenant: Option<TenantId>, after: i64, limit: i64) -> Result<Vec<(i64, i64, String)>> {
    let rows: Vec<(i64, i64, String)> = match tenant {
        Some(t) => {
            sqlx::query_as("SELECT id, tenant_id, blob_key FROM blob_trash WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(t.0)
                .bind(after)
                .bind(limit)
                .fetch_all(c)
                .await?
        }
        None => {
            sqlx::query_as("SELECT id, tenant_id, blob_key FROM blob_trash WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(limit)
                .fetch_all(c)
                .await?
        }
    };
    Ok(rows)
}

/// Whether a row still names the blob `key` (or the trash holds it, to be deleted there).
async fn is_named(c: &mut Conn, key: &str) -> Result<bool> {
    if is_named_by_row(c, key).await? {
        return Ok(true);
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blob_trash WHERE blob_key = $1")
        .bind(key)
        .fetch_one(c)
        .await?;
    Ok(n > 0)
}

/// Whether a row of a table in [`HELD`] names the blob `key`.
pub(crate) async fn is_named_by_row(c: &mut Conn, key: &str) -> Result<bool> {
    let counts: Vec<String> = HELD.iter().map(|h| format!("(SELECT COUNT(*) FROM {} WHERE blob_key = $1)", h.table)).collect();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {}", counts.join(" + "))))
        .bind(key)
        .fetch_one(c)
        .await?;
    Ok(n > 0)
}

/// How many blobs of `tenant`'s deleted files wait in the trash (every tenant's with `None`).
pub async fn trash_len(c: &mut Conn, tenant: Option<TenantId>) -> Result<i64> {
    Ok(match tenant {
        Some(t) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM blob_trash WHERE tenant_id = $1")
                .bind(t.0)
                .fetch_one(c)
                .await?
        }
        None => sqlx::query_scalar("SELECT COUNT(*) FROM blob_trash").fetch_one(c).await?,
    })
}

/// The newest trash entry's id of `tenant` (0 when none): what an erasure's read-back counts up to.
pub async fn trash_mark(c: &mut Conn, tenant: TenantId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM blob_trash WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(c)
        .await?)
}

/// How many of `tenant`'s trash entries up to `mark` (see [`trash_mark`]) are left.
pub async fn trash_left_upto(c: &mut Conn, tenant: TenantId, mark: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM blob_trash WHERE tenant_id = $1 AND id <= $2")
        .bind(tenant.0)
        .bind(mark)
        .fetch_one(c)
        .await?)
}
