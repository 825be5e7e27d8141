//! Generic reads for the subject graph: rows of a table named by the data map whose link column
//! holds one of a set of ids. Table and column names come from the data map (code), never from
//! a request; values come back untyped for the privacy engine to interpret.

use crate::Conn;
use sqlx::Row as _;
use sqlx::any::AnyRow;
use suoja_core::TenantId;

use crate::Result;

/// A stored value of unknown column type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (ciphertext, hashes).
    Bytes(Vec<u8>),
}

fn value(r: &AnyRow, i: usize) -> Value {
    use sqlx::ValueRef as _;
    use sqlx::any::AnyTypeInfoKind as K;
    // Decode by the value's own type; trying types in turn builds an error per miss.
    if let Ok(raw) = r.try_get_raw(i) {
        let kind = raw.type_info().kind();
        let v = match kind {
            K::Null => Some(Value::Null),
            K::Bool | K::SmallInt | K::Integer | K::BigInt => r.try_get::<Option<i64>, _>(i).ok().map(|v| v.map_or(Value::Null, Value::Int)),
            K::Text => r.try_get::<Option<String>, _>(i).ok().map(|v| v.map_or(Value::Null, Value::Text)),
            K::Blob => r.try_get::<Option<Vec<u8>>, _>(i).ok().map(|v| v.map_or(Value::Null, Value::Bytes)),
            K::Real | K::Double => None,
        };
        if let Some(v) = v {
            return v;
        }
    }
    if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
        return v.map_or(Value::Null, Value::Int);
    }
    if let Ok(v) = r.try_get::<Option<String>, _>(i) {
        return v.map_or(Value::Null, Value::Text);
    }
    if let Ok(v) = r.try_get::<Option<Vec<u8>>, _>(i) {
        return v.map_or(Value::Null, Value::Bytes);
    }
    Value::Null
}

pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Rows of `table` (scoped to `tenant`) whose `link` column is one of `ids`, with `columns`
/// in the order given, ordered by the first column.
pub async fn rows_linked(c: &mut Conn, tenant: TenantId, table: &str, columns: &[&str], link: &str, ids: &[i64]) -> Result<Vec<Vec<Value>>> {
    rows_linked_sized(c, tenant, table, columns, &[], link, ids).await
}

/// As [`rows_linked`], but the columns named in `sized` (files) come back as their stored
/// length in bytes rather than their content, so finding a person's data never loads their
/// files.
pub async fn rows_linked_sized(
    c: &mut Conn,
    tenant: TenantId,
    table: &str,
    columns: &[&str],
    sized: &[&str],
    link: &str,
    ids: &[i64],
) -> Result<Vec<Vec<Value>>> {
    if ids.is_empty() || columns.is_empty() {
        return Ok(Vec::new());
    }
    if !(is_identifier(table) && is_identifier(link) && columns.iter().all(|c| is_identifier(c))) {
        return Err(crate::StoreError::Config(format!("not an identifier in the data map: {table}")));
    }
    let select: Vec<String> = columns
        .iter()
        .map(|c| {
            if sized.contains(c) {
                format!("CAST(length({c}) AS BIGINT) AS {c}")
            } else {
                (*c).to_string()
            }
        })
        .collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT {} FROM {table} WHERE tenant_id = $1 AND {link} IN ({}) ORDER BY {}",
            select.join(", "),
            placeholders.join(", "),
            columns.first().copied().unwrap_or("1")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *c).await? {
            out.push((0..columns.len()).map(|i| value(&r, i)).collect());
        }
    }
    Ok(out)
}

/// Up to `limit` rows of `table` (scoped to `tenant`), newest id first, with `columns` in the
/// order given; only rows whose `id` is below `before` when it is given (the next page).
pub async fn rows_newest(c: &mut Conn, tenant: TenantId, table: &str, columns: &[&str], before: Option<i64>, limit: i64) -> Result<Vec<Vec<Value>>> {
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    if !(is_identifier(table) && columns.iter().all(|c| is_identifier(c))) {
        return Err(crate::StoreError::Config(format!("not an identifier in the data map: {table}")));
    }
    // The tables read this way have an index on (tenant_id, id), so a page is read in index
    // order within the tenant (an index in another order made every page re-read and sort the
    // tenant's rows, quadratic over a scan).
    let sql = format!(
        "SELECT {} FROM {table} WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        columns.join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(c)
        .await?;
    Ok(rows.iter().map(|r| (0..columns.len()).map(|i| value(r, i)).collect()).collect())
}

/// Writes `values` (text or bytes; a `Null` empties the column) into the row of `table`
/// (scoped to `tenant`) whose `id` is `id`. Returns whether the row exists.
pub async fn set_values(c: &mut Conn, tenant: TenantId, table: &str, id: i64, values: &[(&str, Value)]) -> Result<bool> {
    if values.is_empty() {
        return Ok(false);
    }
    if !(is_identifier(table) && values.iter().all(|(c, _)| is_identifier(c))) {
        return Err(crate::StoreError::Config(format!("not an identifier in the data map: {table}")));
    }
    let mut set: Vec<String> = Vec::with_capacity(values.len());
    let mut n = 2;
    for (c, v) in values {
        if *v == Value::Null {
            set.push(format!("{c} = NULL"));
        } else {
            n += 1;
            set.push(format!("{c} = ${n}"));
        }
    }
    let sql = format!("UPDATE {table} SET {} WHERE tenant_id = $1 AND id = $2", set.join(", "));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id);
    for (_, v) in values {
        q = match v {
            Value::Null => q,
            Value::Int(i) => q.bind(*i),
            Value::Text(t) => q.bind(t.clone()),
            Value::Bytes(b) => q.bind(b.clone()),
        };
    }
    Ok(q.execute(c).await?.rows_affected() > 0)
}

fn checked(table: &str, link: &str) -> Result<()> {
    if is_identifier(table) && is_identifier(link) {
        Ok(())
    } else {
        Err(crate::StoreError::Config(format!("not an identifier in the data map: {table}")))
    }
}

/// Deletes the rows of `table` (scoped to `tenant`) whose `link` column is one of `ids`.
/// Returns how many went.
pub async fn delete_linked(c: &mut Conn, tenant: TenantId, table: &str, link: &str, ids: &[i64]) -> Result<u64> {
    checked(table, link)?;
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND {link} IN ({})", placeholders.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        n += q.execute(&mut *c).await?.rows_affected();
    }
    Ok(n)
}

/// How many rows of `table` (scoped to `tenant`) have `link` equal to one of `ids`.
pub async fn count_linked(c: &mut Conn, tenant: TenantId, table: &str, link: &str, ids: &[i64]) -> Result<i64> {
    checked(table, link)?;
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 AND {link} IN ({})", placeholders.join(", "));
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        n += q.fetch_one(&mut *c).await?;
    }
    Ok(n)
}

/// Empties `columns` (sets them NULL) in the rows of `table` (scoped to `tenant`) whose `link`
/// column is one of `ids` and that still hold a value in one of them: the rows stay, as
/// tombstones. Returns how many rows changed.
pub async fn clear_linked(c: &mut Conn, tenant: TenantId, table: &str, link: &str, ids: &[i64], columns: &[&str]) -> Result<u64> {
    checked(table, link)?;
    let Some(filled) = any_filled(columns)? else { return Ok(0) };
    let set: Vec<String> = columns.iter().map(|c| format!("{c} = NULL")).collect();
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "UPDATE {table} SET {} WHERE tenant_id = $1 AND {link} IN ({}) AND ({filled})",
            set.join(", "),
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        n += q.execute(&mut *c).await?.rows_affected();
    }
    Ok(n)
}

/// How many rows of `table` (scoped to `tenant`) linked by `link` to one of `ids` still hold a
/// value in one of `columns` (rows a tombstone has not emptied yet).
pub async fn count_linked_filled(c: &mut Conn, tenant: TenantId, table: &str, link: &str, ids: &[i64], columns: &[&str]) -> Result<i64> {
    checked(table, link)?;
    let Some(filled) = any_filled(columns)? else { return Ok(0) };
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 AND {link} IN ({}) AND ({filled})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        n += q.fetch_one(&mut *c).await?;
    }
    Ok(n)
}

/// `a IS NOT NULL OR b IS NOT NULL …` over `columns`; `None` when there are none.
fn any_filled(columns: &[&str]) -> Result<Option<String>> {
    if !columns.iter().all(|c| is_identifier(c)) {
        return Err(crate::StoreError::Config("not an identifier in the data map".into()));
    }
    Ok((!columns.is_empty()).then(|| columns.iter().map(|c| format!("{c} IS NOT NULL")).collect::<Vec<_>>().join(" OR ")))
}

/// One file column's stored (sealed) value: `column` of the row of `table` whose `id` is `id`,
/// read from its blob when the table keeps its files in the blob store.
pub async fn file(c: &mut Conn, blobs: &crate::blobs::Blobs, tenant: TenantId, table: &str, column: &str, id: i64) -> Result<Option<Vec<u8>>> {
    checked(table, column)?;
    if crate::blobs::is_held(table, column) {
        let sql = format!("SELECT {column}, blob_key FROM {table} WHERE tenant_id = $1 AND id = $2");
        let r: Option<(Vec<u8>, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
        return match r {
            Some((inline, key)) => blobs.content(key.as_deref(), inline).await,
            None => Ok(None),
        };
    }
    let sql = format!("SELECT {column} FROM {table} WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    Ok(r.and_then(|r| r.try_get::<Option<Vec<u8>>, _>(0).ok().flatten()))
}
