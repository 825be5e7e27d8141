//! Schema introspection: the live tables and columns, read from the engine's catalogue. The
//! data-map completeness test and the migration parity test compare against this.

use sqlx::Row as _;

use crate::{Db, Engine, Result};

/// One column of the live schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
}

/// Every column of every application table (migration bookkeeping excluded): the logical
/// schema, the same on both engines.
pub async fn columns(db: &Db) -> Result<Vec<Column>> {
    let mut conn = db.read().await?;
    let mut out = Vec::new();
    match db.engine() {
        Engine::Sqlite => {
            for table in sqlite_tables(&mut conn).await? {
                if table == "schema_migrations" {
                    continue;
                }
                out.extend(sqlite_columns(&mut conn, &table).await?);
            }
        }
        Engine::Postgres => {
            let rows = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'",
            )
            .fetch_all(&mut conn)
            .await?;
            for r in rows {
                out.push(Column {
                    table: r.try_get("t")?,
                    column: r.try_get("c")?,
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every column that holds rows on this engine: [`columns`], and on SQLite also the tables a
/// full-text table keeps its content in (`search_index_docs`, which the logical schema names by
/// its full-text table, `search_index`). The data map's completeness test reads this, so no
/// table that holds anything escapes it.
pub async fn storage_columns(db: &Db) -> Result<Vec<Column>> {
    let mut out = columns(db).await?;
    if db.engine() == Engine::Sqlite {
        let mut conn = db.read().await?;
        let logical = sqlite_tables(&mut conn).await?;
        for table in sqlite_row_tables(&mut conn).await? {
            if !logical.contains(&table) {
                out.extend(sqlite_columns(&mut conn, &table).await?);
            }
        }
        out.sort();
    }
    Ok(out)
}

/// A SQLite table's columns.
async fn sqlite_columns(conn: &mut crate::Conn, table: &str) -> Result<Vec<Column>> {
    let cols = sqlx::query("SELECT name FROM pragma_table_info($1)")
        .bind(table.to_string())
        .fetch_all(&mut *conn)
        .await?;
    cols.into_iter()
        .map(|c| {
            Ok(Column {
                table: table.to_string(),
                column: c.try_get("name")?,
            })
        })
        .collect()
}

/// The application's tables on SQLite, by name: SQLite's own and a full-text table's shadow
/// tables (`search_index_data`, `…_content`…, its storage, described by its own columns) left out.
pub(crate) async fn sqlite_tables<C>(c: &mut C) -> Result<Vec<String>>
where
    C: Send,
    for<'a> &'a mut C: sqlx::Executor<'a, Database = sqlx::Any>,
{
    tables_but(c, |t, v| t.starts_with(&format!("{v}_"))).await
}

/// SQLite's tables that hold rows: as [`sqlite_tables`], but without the full-text tables
/// themselves and leaving out only FTS5's own shadow tables, so a content table a full-text
/// table indexes (`search_index_docs`) is listed.
pub(crate) async fn sqlite_row_tables<C>(c: &mut C) -> Result<Vec<String>>
where
    C: Send,
    for<'a> &'a mut C: sqlx::Executor<'a, Database = sqlx::Any>,
{
    const SHADOW: &[&str] = &["_data", "_idx", "_content", "_docsize", "_config"];
    tables_but(c, |t, v| t == v || SHADOW.iter().any(|s| t == format!("{v}{s}"))).await
}

/// SQLite's tables (its own left out) but those `left_out(table, full_text_table)` names for
/// some full-text table.
async fn tables_but<C>(c: &mut C, left_out: impl Fn(&str, &str) -> bool) -> Result<Vec<String>>
where
    C: Send,
    for<'a> &'a mut C: sqlx::Executor<'a, Database = sqlx::Any>,
{
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .fetch_all(&mut *c)
        .await?;
    let virtual_tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")
        .fetch_all(&mut *c)
        .await?;
    Ok(tables.into_iter().filter(|t| !virtual_tables.iter().any(|v| left_out(t, v))).collect())
}
