//! Moving one tenant's records between two databases of Suoja's schema (regions): the tables
//! that hold a tenant's rows, copying them, an order-independent digest of them on either side,
//! and deleting them. Also each region's block of ids, so a moved tenant keeps its ids.
//!
//! The store knows no table by name here but its own bookkeeping: a table is the tenant's when
//! it has a `tenant_id` column (the `tenants` row itself is its `id`); the caller names the
//! derived tables (rebuilt where the tenant lands, never copied).

use futures_util::TryStreamExt as _;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use suoja_core::TenantId;

use crate::{Conn, Db, Engine, Result, StoreError};

/// Bits of ids each region's block spans: region `b` numbers new records from `b × 2^36`
/// (some 68 billion records of each kind per region). With at most 100 blocks every id stays
/// below 2^43, so the ids derived from them (a ticket audit's events are numbered from 2^50 by
/// audit id × 1000) stay below 2^53, which JavaScript clients read exactly.
pub const ID_BLOCK_BITS: u32 = 36;

/// Tables of every tenant's shared bookkeeping, never moved: the blob trash (what is left to
/// delete from the region's own store; the move empties the tenant's share of it there).
const STAYS: &[&str] = &["blob_trash"];

/// Rows per multi-row insert.
const BATCH: usize = 200;

/// How a column's values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 64-bit integers.
    Int,
    /// Text.
    Text,
    /// Bytes.
    Blob,
}

/// One table holding a tenant's rows, with its columns (sorted by name, the same on both
/// engines).
#[derive(Debug, Clone)]
pub struct TenantTable {
    /// Its name.
    pub name: String,
    /// Its columns and how each is read.
    pub columns: Vec<(String, Kind)>,
}

impl TenantTable {
    /// The condition that picks `$1`'s rows.
    fn owner(&self) -> &'static str {
        if self.name == "tenants" { "id = $1" } else { "tenant_id = $1" }
    }
}

/// Moves `db`'s (PostgreSQL) identity sequences into `block`: a sequence below
/// `block × 2^36` continues from there, so this region's new ids never meet another region's.
/// Returns how many sequences moved. SQLite: nothing (its ids follow its largest row).
pub async fn enter_id_block(db: &Db, block: u16) -> Result<u64> {
    if db.engine() != Engine::Postgres {
        return Ok(0);
    }
    let base = i64::from(block) << ID_BLOCK_BITS;
    let end = base.saturating_add(1_i64 << ID_BLOCK_BITS);
    let mut tx = db.begin().await?;
    let positions = locked_positions(&mut tx).await?;
    if let Some((seq, _)) = positions.iter().find(|(_, last)| *last >= end) {
        return Err(StoreError::Config(format!(
            "{seq} has given out ids beyond this region's id_block {block} (they end at {end}): give the region a block of its own that no other region's ids reach"
        )));
    }
    // `false`: the next id is `base` itself.
    let moved = set_below(&mut tx, &positions, base, false).await?;
    tx.commit().await?;
    Ok(moved)
}

/// The highest id `db`'s (PostgreSQL) sequences have given out; 0 on SQLite.
pub async fn ids_given_out(db: &Db) -> Result<i64> {
    if db.engine() != Engine::Postgres {
        return Ok(0);
    }
    let mut c = db.read().await?;
    Ok(positions(&mut c).await?.into_iter().map(|(_, last)| last).max().unwrap_or(0))
}

/// Moves every sequence of `db` (PostgreSQL) past `floor`: ids a region gave out before a
/// restore took it back in time may live on with tenants that moved away, and are never
/// given out again. Returns how many sequences moved. SQLite: nothing.
pub async fn raise_ids(db: &Db, floor: i64) -> Result<u64> {
    if db.engine() != Engine::Postgres || floor <= 0 {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let positions = locked_positions(&mut tx).await?;
    // `true`: `floor` counts as given out, the next id is after it.
    let moved = set_below(&mut tx, &positions, floor.saturating_add(1), true).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Every identity sequence's last value, read under a lock held to the end of `tx`'s
/// transaction: nodes starting together (or a restore beside them) take turns, so none resets
/// ids another has just given out.
async fn locked_positions(tx: &mut Conn) -> Result<Vec<(String, i64)>> {
    sqlx::query("SELECT pg_advisory_xact_lock(7370436101)").execute(&mut *tx).await?;
    positions(tx).await
}

/// Sets every sequence whose last value lies below `next` to give out `next` next (`called`:
/// set to `next - 1` as already given out; otherwise to `next` not yet given out). Returns how
/// many were set.
async fn set_below(tx: &mut Conn, positions: &[(String, i64)], next: i64, called: bool) -> Result<u64> {
    let value = if called { next - 1 } else { next };
    let mut moved = 0;
    for (seq, last) in positions {
        if *last < next {
            sqlx::query("SELECT setval($1::regclass, $2, $3)")
                .bind(seq.clone())
                .bind(value)
                .bind(called)
                .execute(&mut *tx)
                .await?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// Every identity sequence of the schema with its last value.
async fn positions(c: &mut Conn) -> Result<Vec<(String, i64)>> {
    let seqs: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_serial_sequence(format('%I', table_name::text), column_name::text) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *c)
    .await?;
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let last: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT last_value FROM {seq}")))
            .fetch_one(&mut *c)
            .await?;
        out.push((seq, last));
    }
    Ok(out)
}

/// The tables holding a tenant's rows in `db`, by name: every table with a `tenant_id` column
/// and `tenants`, except `derived` ones (and their storage tables, `<name>_…`) and the shared
/// bookkeeping that stays in a region.
pub async fn tenant_tables(db: &Db, derived: &[&str]) -> Result<Vec<TenantTable>> {
    let mut c = db.read().await?;
    let mut by_table: std::collections::BTreeMap<String, Vec<(String, Kind)>> = std::collections::BTreeMap::new();
    match db.engine() {
        Engine::Sqlite => {
            for t in crate::schema::sqlite_row_tables(&mut c).await? {
                let rows = sqlx::query("SELECT name, type FROM pragma_table_info($1)")
                    .bind(t.clone())
                    .fetch_all(&mut c)
                    .await?;
                for r in rows {
                    let (name, ty): (String, String) = (r.try_get("name")?, r.try_get("type")?);
                    by_table.entry(t.clone()).or_default().push((name, kind_of(&ty)));
                }
            }
        }
        Engine::Postgres => {
            let rows = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty FROM information_schema.columns \
                 WHERE table_schema = current_schema()",
            )
            .fetch_all(&mut c)
            .await?;
            for r in rows {
                let (t, name, ty): (String, String, String) = (r.try_get("t")?, r.try_get("c")?, r.try_get("ty")?);
                by_table.entry(t).or_default().push((name, kind_of(&ty)));
            }
        }
    }
    let mut out = Vec::new();
    for (name, mut columns) in by_table {
        let derived_here = derived.iter().any(|d| name == *d || name.starts_with(&format!("{d}_")));
        let owned = name == "tenants" || columns.iter().any(|(c, _)| c == "tenant_id");
        if derived_here || !owned || STAYS.contains(&name.as_str()) {
            continue;
        }
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        out.push(TenantTable { name, columns });
    }
    Ok(out)
}

fn kind_of(ty: &str) -> Kind {
    match ty.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int" => Kind::Int,
        "blob" | "bytea" => Kind::Blob,
        _ => Kind::Text,
    }
}

/// Copies `tenant`'s rows of `table` from `src` to `dst` (the destination's transaction);
/// returns how many. Ids are kept as they are: a row whose id the destination already gives
/// to another is refused by its unique index, which fails the whole copy.
pub async fn copy(src: &mut Conn, dst: &mut Conn, tenant: TenantId, table: &TenantTable) -> Result<u64> {
    let names = table.columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    let select = format!("SELECT {names} FROM {} WHERE {}", table.name, table.owner());
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).bind(tenant.0).fetch(&mut *src);
    let mut batch = Vec::with_capacity(BATCH);
    let mut n = 0u64;
    loop {
        let next = rows.try_next().await?;
        let done = next.is_none();
        if let Some(r) = next {
            batch.push(r);
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            insert_rows(dst, &table.name, &table.columns, &batch).await.map_err(|e| match e {
                StoreError::Duplicate(index) => StoreError::Config(format!(
                    "table {}: an id of the tenant's records is already another record's there ({index}; ids given out before each region had an id_block of its own): the tenant cannot move there with its ids",
                    table.name
                )),
                other => other,
            })?;
            n += batch.len() as u64;
            batch.clear();
        }
        if done {
            break;
        }
    }
    Ok(n)
}

/// Inserts `batch` (rows read with `columns`) into `table` of `dst` in one statement.
pub(crate) async fn insert_rows<D>(dst: &mut D, table: &str, columns: &[(String, Kind)], batch: &[sqlx::any::AnyRow]) -> Result<()>
where
    D: Send,
    for<'a> &'a mut D: sqlx::Executor<'a, Database = sqlx::Any>,
{
    let width = columns.len();
    let names = columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    let groups: Vec<String> = (0..batch.len())
        .map(|i| format!("({})", (1..=width).map(|j| format!("${}", i * width + j)).collect::<Vec<_>>().join(", ")))
        .collect();
    let sql = format!("INSERT INTO {table} ({names}) VALUES {}", groups.join(", "));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for r in batch {
        for (name, kind) in columns {
            q = match kind {
                Kind::Int => q.bind(r.try_get::<Option<i64>, _>(name.as_str())?),
                Kind::Text => q.bind(r.try_get::<Option<String>, _>(name.as_str())?),
                Kind::Blob => q.bind(r.try_get::<Option<Vec<u8>>, _>(name.as_str())?),
            };
        }
    }
    q.execute(&mut *dst).await?;
    Ok(())
}

/// What a table holds of a tenant: how many rows, and a digest of them that does not depend on
/// their order (the sum, modulo 2^256, of each row's SHA-256 over its columns by name and
/// value), so the two sides of a move compare whatever order their engines read rows in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    /// The table.
    pub table: String,
    /// Rows of the tenant.
    pub rows: u64,
    /// The digest, hex.
    pub digest: String,
}

/// The digest of `tenant`'s rows of `table` in `c`, leaving out the columns `skip` names.
pub async fn digest(c: &mut Conn, tenant: TenantId, table: &TenantTable, skip: &[&str]) -> Result<TableDigest> {
    let cols: Vec<&(String, Kind)> = table.columns.iter().filter(|(n, _)| !skip.contains(&n.as_str())).collect();
    let names = cols.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    let select = format!("SELECT {names} FROM {} WHERE {}", table.name, table.owner());
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).bind(tenant.0).fetch(&mut *c);
    let mut sum = [0u64; 4];
    let mut n = 0u64;
    while let Some(r) = rows.try_next().await? {
        let mut h = Sha256::new();
        for (name, kind) in &cols {
            h.update(name.as_bytes());
            h.update([0]);
            let value: Option<Vec<u8>> = match kind {
                Kind::Int => r.try_get::<Option<i64>, _>(name.as_str())?.map(|v| v.to_be_bytes().to_vec()),
                Kind::Text => r.try_get::<Option<String>, _>(name.as_str())?.map(String::into_bytes),
                Kind::Blob => r.try_get::<Option<Vec<u8>>, _>(name.as_str())?,
            };
            match value {
                None => h.update([0]),
                Some(v) => {
                    h.update([1]);
                    h.update((v.len() as u64).to_be_bytes());
                    h.update(&v);
                }
            }
        }
        add(&mut sum, &h.finalize());
        n += 1;
    }
    let digest = sum.iter().map(|w| format!("{w:016x}")).collect::<String>();
    Ok(TableDigest {
        table: table.name.clone(),
        rows: n,
        digest,
    })
}

/// `sum += hash` modulo 2^256, both as four big-endian 64-bit words.
fn add(sum: &mut [u64; 4], hash: &[u8]) {
    let mut carry = false;
    for (i, slot) in sum.iter_mut().enumerate().rev() {
        let mut word = [0u8; 8];
        for (to, from) in word.iter_mut().zip(hash.iter().skip(i * 8)) {
            *to = *from;
        }
        let (s1, c1) = slot.overflowing_add(u64::from_be_bytes(word));
        let (s2, c2) = s1.overflowing_add(u64::from(carry));
        *slot = s2;
        carry = c1 || c2;
    }
}

/// Deletes `tenant`'s rows of `table` in `c`; returns how many.
pub async fn delete(c: &mut Conn, tenant: TenantId, table: &str) -> Result<u64> {
    let owner = if table == "tenants" { "id = $1" } else { "tenant_id = $1" };
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE {owner}")))
        .bind(tenant.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Every table of `db` with a `tenant_id` column (derived ones and their storage tables too,
/// but not a full-text table or its shadow tables), for deleting everything of a tenant.
pub async fn all_tenant_tables(db: &Db) -> Result<Vec<String>> {
    // On SQLite a full-text table's entries go with the rows of its content table (triggers),
    // which is listed; the full-text table itself is not.
    let mut tables: Vec<String> = tenant_tables(db, &[]).await?.into_iter().map(|t| t.name).collect();
    tables.extend(STAYS.iter().map(|s| s.to_string()));
    // Children before `tenants`, whose row goes last.
    tables.sort_by_key(|t| t == "tenants");
    Ok(tables)
}

/// The blob keys `tenant`'s rows name in `c` (files kept in the region's blob store).
pub async fn blob_keys(c: &mut Conn, tenant: TenantId) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for h in crate::blobs::HELD {
        let keys: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT blob_key FROM {} WHERE tenant_id = $1 AND blob_key IS NOT NULL ORDER BY blob_key",
            h.table
        )))
        .bind(tenant.0)
        .fetch_all(&mut *c)
        .await?;
        out.extend(keys);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_sum_carries_between_words_and_ignores_order() {
        let mut a = [0u64, 0, 0, u64::MAX];
        add(
            &mut a,
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        );
        assert_eq!(a, [0, 0, 1, 0]);
        let (x, y) = (Sha256::digest(b"one"), Sha256::digest(b"two"));
        let (mut s1, mut s2) = ([0u64; 4], [0u64; 4]);
        add(&mut s1, &x);
        add(&mut s1, &y);
        add(&mut s2, &y);
        add(&mut s2, &x);
        assert_eq!(s1, s2);
        let mut s3 = [0u64; 4];
        add(&mut s3, &x);
        add(&mut s3, &x);
        assert_ne!(s1, s3);
    }
}
