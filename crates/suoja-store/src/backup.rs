//! Consistent copies of a live database for backups, and putting one back. A backup is always a
//! pair of SQLite files in Suoja's own schema, whatever the engine: `data.db` with every table
//! except the search index (rebuilt on restore) and the key vault, and `keys.db` with the key
//! vault alone (kept separately and briefly, so destroying a person's key also reaches backups).
//!
//! SQLite: the live file is attached read-only to the new `data.db` and every table is copied in
//! one read transaction while the server keeps writing (`VACUUM INTO` would copy the search index
//! only for it to be deleted and the copy compacted again: 73 of 122 s at 1 M tickets).
//! PostgreSQL: every table is read in one `REPEATABLE READ` read-only transaction (one snapshot)
//! and written to the two files. Restoring into PostgreSQL copies the files' rows back in one transaction and moves the
//! identity sequences past the restored ids.

use std::path::Path;

use futures_util::TryStreamExt as _;
use sqlx::{Acquire as _, AnyConnection, Executor as _, Row as _};

use crate::relocation::Kind;
use crate::{Db, DbOptions, Engine, Result, StoreError};

/// What a backup does with each table, as the caller's data map declares it: derived tables
/// (rebuilt after a restore) are left out, the key vault's go into `keys.db`, every other table
/// into `data.db`. The store knows no table by name but its own bookkeeping.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Tables of derived data, left out.
    pub derived: Vec<&'static str>,
    /// Tables of the key vault, copied into `keys.db` apart from the data.
    pub vault: Vec<&'static str>,
}

/// The migrations' own bookkeeping, written by the migrations themselves: never copied.
const BOOKKEEPING: &str = "schema_migrations";

impl Layout {
    fn is_vault(&self, table: &str) -> bool {
        self.vault.contains(&table)
    }
    /// Whether `table` is copied into `data.db`.
    fn is_data(&self, table: &str) -> bool {
        table != BOOKKEEPING && !self.derived.contains(&table) && !self.is_vault(table)
    }
}

/// Rows per multi-row insert.
const BATCH: usize = 200;

/// A table's columns with their declared SQLite types, read from a SQLite connection.
async fn table_columns(c: &mut AnyConnection, table: &str) -> Result<Vec<(String, Kind)>> {
    let rows = sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
        .bind(table.to_string())
        .fetch_all(&mut *c)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.try_get("name")?;
        let ty: String = r.try_get("type")?;
        let kind = match ty.to_ascii_uppercase().as_str() {
            "INTEGER" => Kind::Int,
            "TEXT" => Kind::Text,
            "BLOB" => Kind::Blob,
            other => return Err(StoreError::Config(format!("column {table}.{name} has an unexpected type {other}"))),
        };
        out.push((name, kind));
    }
    Ok(out)
}

async fn sqlite_tables(c: &mut AnyConnection) -> Result<Vec<String>> {
    crate::schema::sqlite_tables(c).await
}

/// Copies the rows of `table` from `src` to `dst` (both in Suoja's schema); returns how many.
async fn copy_table<D>(src: &mut AnyConnection, dst: &mut D, table: &str, cols: &[(String, Kind)], progress: &mut dyn FnMut(u64)) -> Result<u64>
where
    D: Send,
    for<'a> &'a mut D: sqlx::Executor<'a, Database = sqlx::Any>,
{
    let names = cols.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    let select = format!("SELECT {names} FROM {table}");
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut *src);
    let mut batch: Vec<sqlx::any::AnyRow> = Vec::with_capacity(BATCH);
    let mut n = 0u64;
    loop {
        let next = rows.try_next().await?;
        let done = next.is_none();
        if let Some(r) = next {
            batch.push(r);
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            crate::relocation::insert_rows(&mut *dst, table, cols, &batch).await?;
            n += batch.len() as u64;
            progress(n);
            batch.clear();
        }
        if done {
            break;
        }
    }
    Ok(n)
}

async fn open_file(path: &Path) -> Result<Db> {
    let url = format!("sqlite://{}", path.display());
    Db::connect(
        &url,
        &DbOptions {
            max_connections: 1,
            ..DbOptions::default()
        },
    )
    .await
}

/// Puts the files a snapshot's rows keep in the blob store into the snapshot itself (`data`, a
/// SQLite file written by [`snapshot`]): each blob's bytes into its row, which then names no
/// blob, so a backup holds everything it needs and a restore brings the files back inline (the
/// server moves them into its own store after). The copy's trash is emptied: a restored backup
/// never tells a store to delete anything. Returns the files put in and the keys of blobs not
/// found (their rows' content is left empty): a row deleted after the snapshot took its blob
/// with it, and the caller tells those from blobs lost. Refuses rows that name blobs when no
/// store is configured (this process's `blob_url` is not the server's).
pub async fn inline_blobs(data: &Path, blobs: &crate::blobs::Blobs) -> Result<(u64, Vec<String>)> {
    let db = open_file(data).await?;
    let done = async {
        let mut c = db.begin().await?;
        let (mut inlined, mut missing) = (0, Vec::new());
        for h in crate::blobs::HELD {
            let named: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT blob_key FROM {} WHERE blob_key IS NOT NULL", h.table)))
                .fetch_all(&mut *c)
                .await?;
            if !named.is_empty() && !blobs.is_external() {
                return Err(StoreError::Config(
                    "the database's rows name files in a blob store, but blob_url is `database` here: run the backup with the server's blob_url (and AWS_* environment)".into(),
                ));
            }
            for key in named {
                let bytes = match blobs.get(&key).await? {
                    Some(b) => {
                        inlined += 1;
                        b
                    }
                    None => {
                        missing.push(key.clone());
                        Vec::new()
                    }
                };
                sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {} SET {} = $2, blob_key = NULL WHERE blob_key = $1", h.table, h.column)))
                    .bind(key)
                    .bind(bytes)
                    .execute(&mut *c)
                    .await?;
            }
        }
        sqlx::query("DELETE FROM blob_trash").execute(&mut *c).await?;
        c.commit().await?;
        Ok::<_, StoreError>((inlined, missing))
    }
    .await;
    db.close().await;
    done
}

/// Of `keys`, those a row of the live database still names (see [`inline_blobs`]).
pub async fn still_named(db: &Db, keys: &[String]) -> Result<Vec<String>> {
    let mut c = db.read().await?;
    let mut out = Vec::new();
    for k in keys {
        if crate::blobs::is_named_by_row(&mut c, k).await? {
            out.push(k.clone());
        }
    }
    Ok(out)
}

/// A snapshot's result: rows per table, the schema version, the engine.
pub type Snapshot = (Vec<(String, u64)>, i64, Engine);

/// Writes a consistent copy of the database at `url` as `data` and `keys` (two new SQLite
/// files) without writing to it (a SQLite source is opened read-only, so a running server's
/// writes are never in its way); calls `progress` with the rows copied so far.
pub async fn snapshot(url: &str, data: &Path, keys: &Path, layout: &Layout, progress: &mut dyn FnMut(u64)) -> Result<Snapshot> {
    use sqlx::{ConnectOptions as _, Connection as _};
    use std::str::FromStr as _;
    sqlx::any::install_default_drivers();
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let live = rest.split('?').next().unwrap_or(rest);
        let mut src = sqlx::any::AnyConnectOptions::from_str(&format!("sqlite://{live}?mode=ro"))?.connect().await?;
        let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(&mut src).await?;
        src.close().await?;
        if version != crate::migrate::latest_version() {
            return Err(StoreError::Config(format!(
                "the database is at schema version {version}, this build at {}: start the server (or run `suoja migrate`) first",
                crate::migrate::latest_version()
            )));
        }
        return Ok((sqlite_copy(live, data, keys, layout, progress).await?, version, Engine::Sqlite));
    }
    let db = Db::connect(url, &DbOptions::default()).await?;
    let counts = copy_snapshot(&db, data, keys, layout, progress).await;
    db.close().await;
    Ok((counts?, crate::migrate::latest_version(), Engine::Postgres))
}

/// Copies the live SQLite database at `live` into fresh `data` and `keys` files in one read
/// transaction of the live file (attached read-only, so the server's writer never waits): every
/// table but the search index and the vault into `data`, the vault into `keys`. The copies are
/// scratch files until sealed, so they are written without a journal or `fsync`.
async fn sqlite_copy(live: &str, data: &Path, keys: &Path, layout: &Layout, progress: &mut dyn FnMut(u64)) -> Result<Vec<(String, u64)>> {
    use sqlx::{ConnectOptions as _, Connection as _};
    use std::str::FromStr as _;
    // Both files get Suoja's schema first.
    open_file(data).await?.close().await;
    open_file(keys).await?.close().await;
    let mut c = sqlx::any::AnyConnectOptions::from_str(&format!("sqlite://{}", data.display()))?
        .connect()
        .await?;
    c.execute("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA secure_delete = OFF; PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY")
        .await?;
    sqlx::query("ATTACH DATABASE $1 AS live")
        .bind(format!("file:{live}?mode=ro"))
        .execute(&mut c)
        .await?;
    let keys_path = keys.to_str().ok_or_else(|| StoreError::Config("backup path is not valid UTF-8".into()))?;
    sqlx::query("ATTACH DATABASE $1 AS vault").bind(keys_path.to_string()).execute(&mut c).await?;
    c.execute("PRAGMA vault.journal_mode = OFF; PRAGMA vault.synchronous = OFF").await?;
    let mut counts = Vec::new();
    let mut done = 0u64;
    c.execute("BEGIN").await?;
    let copied = async {
        for t in sqlite_tables(&mut c).await? {
            let vault = layout.is_vault(&t);
            if !vault && !layout.is_data(&t) {
                continue;
            }
            let cols = table_columns(&mut c, &t).await?;
            let names = cols.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
            let target = if vault { "vault" } else { "main" };
            let n = c
                .execute(sqlx::AssertSqlSafe(format!("INSERT INTO {target}.{t} ({names}) SELECT {names} FROM live.{t}")))
                .await?
                .rows_affected();
            done += n;
            progress(done);
            counts.push((t, n));
        }
        Ok::<(), StoreError>(())
    }
    .await;
    match copied {
        Ok(()) => {
            c.execute("COMMIT").await?;
        }
        Err(e) => {
            let _ = c.execute("ROLLBACK").await;
            return Err(e);
        }
    }
    c.execute("DETACH DATABASE live").await?;
    c.execute("DETACH DATABASE vault").await?;
    c.close().await?;
    Ok(counts)
}

/// Copies every table of a PostgreSQL database in one snapshot into `data` and `keys`.
async fn copy_snapshot(db: &Db, data: &Path, keys: &Path, layout: &Layout, progress: &mut dyn FnMut(u64)) -> Result<Vec<(String, u64)>> {
    let copy = open_file(data).await?;
    let keys_db = open_file(keys).await?;
    let mut conn = db.write_pool().acquire().await?;
    let mut snap = conn.begin().await?;
    snap.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
    let mut dc = copy.write_pool().acquire().await?;
    let mut kc = keys_db.write_pool().acquire().await?;
    let mut counts = Vec::new();
    let mut done = 0u64;
    for t in sqlite_tables(&mut dc).await? {
        if !layout.is_vault(&t) && !layout.is_data(&t) {
            continue;
        }
        let cols = table_columns(&mut dc, &t).await?;
        let target = if layout.is_vault(&t) { &mut kc } else { &mut dc };
        let mut tx = target.begin().await?;
        let base = done;
        let n = copy_table(&mut snap, &mut *tx, &t, &cols, &mut |k| progress(base + k)).await?;
        tx.commit().await?;
        done += n;
        counts.push((t, n));
    }
    snap.commit().await?;
    drop((dc, kc));
    copy.close().await;
    keys_db.close().await;
    Ok(counts)
}

/// Whether `db` holds no tenant yet (a fresh database, safe to restore into).
pub async fn is_empty(db: &Db) -> Result<bool> {
    let mut c = db.read().await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(&mut c).await?;
    Ok(n == 0)
}

/// Whether the SQLite database file at `path` holds a tenant, read without writing to it.
pub async fn sqlite_has_data(path: &Path) -> Result<bool> {
    use sqlx::{ConnectOptions as _, Connection as _};
    use std::str::FromStr as _;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::any::AnyConnectOptions::from_str(&format!("sqlite://{}?mode=ro", path.display()))?
        .connect()
        .await?;
    let n: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(&mut c).await.ok();
    c.close().await?;
    Ok(n.unwrap_or(0) > 0)
}

/// Copies a restored `data.db` and `keys.db` into `db` (PostgreSQL, migrated) in one
/// transaction — with `replace`, after deleting every row already there, in the same
/// transaction, so a failed restore leaves the old data as it was — then moves every identity
/// sequence past the restored ids.
pub async fn import(db: &Db, data: &Path, keys: &Path, layout: &Layout, replace: bool, progress: &mut dyn FnMut(u64)) -> Result<u64> {
    let tables: std::collections::BTreeSet<String> = crate::schema::columns(db).await?.into_iter().map(|c| c.table).collect();
    let data_db = open_file(data).await?;
    let keys_db = open_file(keys).await?;
    let mut dc = data_db.write_pool().acquire().await?;
    let mut kc = keys_db.write_pool().acquire().await?;
    let mut tx = db.begin().await?;
    if replace {
        for t in &tables {
            tx.execute(sqlx::AssertSqlSafe(format!("DELETE FROM {t}"))).await?;
        }
        // The rows just deleted put their blobs' keys into the trash (triggers): the data they
        // belonged to is replaced, not erased, so the trash goes too and those blobs are left to
        // the orphan sweep (a restored row may name the same blob).
        tx.execute("DELETE FROM blob_trash").await?;
    }
    let mut done = 0u64;
    for t in sqlite_tables(&mut dc).await? {
        if !layout.is_data(&t) {
            continue;
        }
        let cols = table_columns(&mut dc, &t).await?;
        let base = done;
        done += copy_table(&mut dc, &mut *tx, &t, &cols, &mut |k| progress(base + k)).await?;
    }
    for t in &layout.vault {
        let cols = table_columns(&mut kc, t).await?;
        let base = done;
        done += copy_table(&mut kc, &mut *tx, t, &cols, &mut |k| progress(base + k)).await?;
    }
    if db.engine() == Engine::Postgres {
        let seqs: Vec<(String, String)> = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("t")?, r.try_get("c")?)))
        .collect::<Result<_>>()?;
        for (t, c) in seqs {
            tx.execute(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{t}', '{c}'), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)"
            )))
            .await?;
        }
    }
    tx.commit().await?;
    drop((dc, kc));
    data_db.close().await;
    keys_db.close().await;
    Ok(done)
}

/// Puts the vault rows of `keys` into the SQLite database at `data` (restoring into SQLite).
pub async fn attach_keys(data: &Path, keys: &Path, layout: &Layout) -> Result<u64> {
    let data_db = open_file(data).await?;
    let keys_db = open_file(keys).await?;
    let mut kc = keys_db.write_pool().acquire().await?;
    let mut tx = data_db.begin().await?;
    let mut n = 0;
    for t in &layout.vault {
        let cols = table_columns(&mut kc, t).await?;
        n += copy_table(&mut kc, &mut *tx, t, &cols, &mut |_| {}).await?;
    }
    tx.commit().await?;
    drop(kc);
    keys_db.close().await;
    data_db.close().await;
    Ok(n)
}

/// SQLite's own check of a database file; `Ok(())` when it reports no damage.
pub async fn integrity_check(path: &Path) -> Result<()> {
    use sqlx::{ConnectOptions as _, Connection as _};
    sqlx::any::install_default_drivers();
    use std::str::FromStr as _;
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut c = sqlx::any::AnyConnectOptions::from_str(&url)?.connect().await?;
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut c).await?;
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut c)
        .await
        .ok()
        .flatten();
    c.close().await?;
    if rows != ["ok"] {
        return Err(StoreError::Config(format!("the database file is damaged: {}", rows.join("; "))));
    }
    match version {
        Some(v) if v <= crate::migrate::latest_version() => Ok(()),
        Some(v) => Err(StoreError::Config(format!("the backup has schema version {v}, newer than this build knows"))),
        None => Err(StoreError::Config("the file is not a Suoja database".into())),
    }
}
