//! The SQLite writer's statements, run in place. sqlx's SQLite driver hands every statement to
//! a worker thread and back (two thread wake-ups, ~100 µs here), and a request's write
//! transaction holds the one writer for all of its statements, so those hand-offs bounded how
//! many requests per second could write. While the group commit holds the writer, its
//! statements run instead on a `rusqlite` connection to the same file, on the calling thread:
//! the same SQL and the same `sqlx` query values and rows (`AnyArguments` in, `AnyRow` out), so
//! nothing above the store sees the difference. Reads stay on sqlx's pooled readers.
//!
//! Statements here are short (the writer's transactions are a request's worth of rows) and
//! run on the async thread; what can take long does not: `COMMIT` and `ROLLBACK` run on
//! tokio's blocking threads (`group.rs`; in place on the writer's own thread, which has nothing
//! else to run meanwhile, `writer_thread.rs`), `BEGIN IMMEDIATE` never waits for another process's
//! lock on the thread (it is retried after async sleeps), and a long transaction yields to the
//! runtime between statements (tokio's cooperative budget).

use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValue};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx_core::any::{AnyColumn, AnyValueKind};

/// How long a statement waits for a lock another process holds (the writer's `busy_timeout`).
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Prepared statements the writer keeps (a request's statements are the same few dozen).
const STATEMENT_CACHE: usize = 256;

/// Statements with more parameters than this have their numbering kept (see [`Numbering`]).
const KEEP_NUMBERING_FROM: usize = 32;

/// Numberings kept at most (a bulk write's statements take a few shapes per table, see
/// `bulk::pieces`; one of thousands of parameters keeps about a hundred kilobytes with its
/// text).
const NUMBERINGS_KEPT: usize = 64;

/// A prepared statement: kept in the connection's cache, or for one run.
enum Prepared<'c> {
    Kept(rusqlite::CachedStatement<'c>),
    Once(rusqlite::Statement<'c>),
}

/// Which argument each parameter of a statement takes, by parameter index. Reading a
/// parameter's name from SQLite walks its list of names from the start, so numbering a
/// statement costs time quadratic in its parameters: nothing for a request's statements, but
/// seconds for the multi-row inserts of a bulk write (thousands of parameters). The numbering
/// of those is worked out once per SQL text and kept, as the prepared statement is.
type Numbering = Arc<[usize]>;

/// A `rusqlite` connection to the SQLite file the writer pool writes. Used only by whoever
/// holds the pool's writer connection, so its lock is never contended; it is there because
/// the connection moves between tasks.
pub(crate) struct Lite {
    /// `None` once closed ([`Lite::close`]).
    conn: Mutex<Option<rusqlite::Connection>>,
    /// Numberings of statements with many parameters, by SQL text (at most [`NUMBERINGS_KEPT`]).
    numberings: Mutex<std::collections::HashMap<String, Numbering>>,
}

impl std::fmt::Debug for Lite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lite")
    }
}

/// What a statement gave: its rows, then one result (rows changed; no last id, as sqlx gives none).
pub(crate) type Output = Vec<sqlx::Either<AnyQueryResult, AnyRow>>;

impl Lite {
    /// Opens the existing database file at `path` for writing and applies the writer's
    /// per-connection settings (`pragmas`: the same as the sqlx writer's).
    pub(crate) fn open(path: &str, pragmas: &str) -> std::result::Result<Self, sqlx::Error> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(to_sqlx)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.execute_batch(pragmas).map_err(to_sqlx)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(to_sqlx)?;
        Ok(Lite {
            conn: Mutex::new(Some(conn)),
            numberings: Mutex::default(),
        })
    }

    /// Runs SQL without arguments and without rows wanted (`BEGIN`, `SAVEPOINT`, pragmas;
    /// several statements allowed).
    pub(crate) fn batch(&self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        let guard = self.lock();
        open(&guard)?.execute_batch(sql).map_err(to_sqlx)
    }

    /// `BEGIN IMMEDIATE` without waiting: `Ok(false)` when another process holds the write
    /// lock (the caller waits without blocking its thread, and tries again).
    pub(crate) fn try_begin_immediate(&self) -> std::result::Result<bool, sqlx::Error> {
        let guard = self.lock();
        let conn = open(&guard)?;
        conn.busy_timeout(std::time::Duration::ZERO).map_err(to_sqlx)?;
        let began = conn.execute_batch("BEGIN IMMEDIATE");
        conn.busy_timeout(BUSY_TIMEOUT).map_err(to_sqlx)?;
        match began {
            Ok(()) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DatabaseBusy => Ok(false),
            Err(e) => Err(to_sqlx(e)),
        }
    }

    /// Rolls back a transaction left open (checked and undone under one lock); whether there
    /// was one.
    pub(crate) fn rollback_if_open(&self) -> bool {
        let guard = self.lock();
        match guard.as_ref() {
            Some(conn) if !conn.is_autocommit() => {
                let _ = conn.execute_batch("ROLLBACK");
                true
            }
            _ => false,
        }
    }

    /// The write-ahead log of the file this connection writes, named as SQLite names it: after
    /// the database's own path as SQLite resolved it (symbolic links followed), which the path
    /// in the URL need not be.
    pub(crate) fn wal_path(&self) -> Option<std::path::PathBuf> {
        let guard = self.lock();
        let path = guard.as_ref()?.path()?;
        (!path.is_empty()).then(|| std::path::PathBuf::from(format!("{path}-wal")))
    }

    /// Whether a transaction is open on the connection.
    pub(crate) fn in_transaction(&self) -> bool {
        self.lock().as_ref().is_some_and(|c| !c.is_autocommit())
    }

    /// Closes the connection (a transaction still open is rolled back); statements after this
    /// fail.
    pub(crate) fn close(&self) {
        if let Some(conn) = self.lock().take() {
            let _ = conn.close();
        }
    }

    /// Runs one statement (or, without arguments, several) with sqlx's arguments; its rows (at
    /// most one when `first_only`) and then its result. A statement sqlx marks as not
    /// `persistent` is prepared for this run only, as sqlx's driver does.
    pub(crate) fn run(&self, sql: &str, args: Option<AnyArguments>, first_only: bool, persistent: bool) -> std::result::Result<Output, sqlx::Error> {
        let guard = self.lock();
        let conn = open(&guard)?;
        let prepared = if persistent {
            conn.prepare_cached(sql).map(Prepared::Kept)
        } else {
            conn.prepare(sql).map(Prepared::Once)
        };
        let mut held = match prepared {
            Ok(s) => s,
            Err(rusqlite::Error::MultipleStatement) if args.as_ref().is_none_or(|a| a.values.0.is_empty()) => {
                conn.execute_batch(sql).map_err(to_sqlx)?;
                return Ok(vec![sqlx::Either::Left(AnyQueryResult {
                    rows_affected: conn.changes(),
                    last_insert_id: None,
                })]);
            }
            Err(e) => return Err(to_sqlx(e)),
        };
        let stmt: &mut rusqlite::Statement<'_> = match &mut held {
            Prepared::Kept(s) => s,
            Prepared::Once(s) => s,
        };
        let values = args.map(|a| a.values.0).unwrap_or_default();
        let numbering = self.numbering(sql, stmt)?;
        bind(stmt, &values, &numbering)?;
        let readonly = stmt.readonly();
        let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
        let mut out = Output::new();
        if names.is_empty() {
            stmt.raw_execute().map_err(to_sqlx)?;
        } else {
            let index: Arc<sqlx_core::HashMap<sqlx_core::ext::ustr::UStr, usize>> =
                Arc::new(names.iter().enumerate().map(|(i, n)| (sqlx_core::ext::ustr::UStr::new(n), i)).collect());
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(to_sqlx)? {
                let mut values = Vec::with_capacity(names.len());
                let mut columns = Vec::with_capacity(names.len());
                for (i, name) in names.iter().enumerate() {
                    let kind = match row.get_ref(i).map_err(to_sqlx)? {
                        ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
                        ValueRef::Integer(v) => AnyValueKind::BigInt(v),
                        ValueRef::Real(v) => AnyValueKind::Double(v),
                        ValueRef::Text(t) => match std::str::from_utf8(t) {
                            Ok(s) => AnyValueKind::Text(Arc::new(s.to_string())),
                            Err(e) => {
                                return Err(sqlx::Error::ColumnDecode {
                                    index: name.clone(),
                                    source: Box::new(e),
                                });
                            }
                        },
                        ValueRef::Blob(b) => AnyValueKind::Blob(Arc::new(b.to_vec())),
                    };
                    columns.push(AnyColumn {
                        ordinal: i,
                        name: sqlx_core::ext::ustr::UStr::new(name),
                        type_info: AnyTypeInfo { kind: kind_of(&kind) },
                    });
                    values.push(AnyValue { kind });
                }
                out.push(sqlx::Either::Right(AnyRow {
                    column_names: index.clone(),
                    columns,
                    values,
                }));
                if first_only {
                    break;
                }
            }
        }
        drop(held);
        out.push(sqlx::Either::Left(AnyQueryResult {
            rows_affected: if readonly { 0 } else { conn.changes() },
            last_insert_id: None,
        }));
        Ok(out)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<rusqlite::Connection>> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The numbering of `stmt` (prepared from `sql`): worked out now for a statement with few
    /// parameters, kept for one with many.
    fn numbering(&self, sql: &str, stmt: &rusqlite::Statement<'_>) -> std::result::Result<Numbering, sqlx::Error> {
        if stmt.parameter_count() <= KEEP_NUMBERING_FROM {
            return numbering(stmt);
        }
        let mut kept = self.numberings.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = kept.get(sql) {
            return Ok(n.clone());
        }
        let n = numbering(stmt)?;
        if kept.len() >= NUMBERINGS_KEPT {
            kept.clear();
        }
        kept.insert(sql.to_string(), n.clone());
        Ok(n)
    }
}

fn open(conn: &Option<rusqlite::Connection>) -> std::result::Result<&rusqlite::Connection, sqlx::Error> {
    conn.as_ref().ok_or(sqlx::Error::PoolClosed)
}

fn kind_of(v: &AnyValueKind) -> AnyTypeInfoKind {
    match v {
        AnyValueKind::BigInt(_) => AnyTypeInfoKind::BigInt,
        AnyValueKind::Double(_) => AnyTypeInfoKind::Double,
        AnyValueKind::Text(_) | AnyValueKind::TextSlice(_) => AnyTypeInfoKind::Text,
        AnyValueKind::Blob(_) => AnyTypeInfoKind::Blob,
        _ => AnyTypeInfoKind::Null,
    }
}

/// Which argument each parameter takes, by sqlx's SQLite driver's rules: a parameter written
/// `?N` or `$N` takes the N-th argument (so `$2` before `$1`, or `$1` twice, mean what they
/// say), an anonymous `?` the next argument in order; any other name is refused.
fn numbering(stmt: &rusqlite::Statement<'_>) -> std::result::Result<Numbering, sqlx::Error> {
    let mut anonymous = 0usize;
    let mut out = Vec::with_capacity(stmt.parameter_count());
    for p in 1..=stmt.parameter_count() {
        out.push(match stmt.parameter_name(p) {
            Some(name) => {
                let digits = name
                    .strip_prefix('?')
                    .or_else(|| name.strip_prefix('$'))
                    .ok_or_else(|| sqlx::Error::Protocol(format!("unsupported SQL parameter format: {name}")))?;
                // The leading digits, as sqlx reads them (SQLite takes `$1::text` as one name).
                let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
                match digits[..end].parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(sqlx::Error::Protocol(format!("parameters must be numbered from 1: {name}"))),
                }
            }
            None => {
                anonymous += 1;
                anonymous
            }
        });
    }
    Ok(out.into())
}

/// Binds sqlx's arguments by `numbering`; parameters beyond the arguments given stay NULL, as
/// SQLite leaves unbound ones.
fn bind(stmt: &mut rusqlite::Statement<'_>, values: &[AnyValueKind], numbering: &[usize]) -> std::result::Result<(), sqlx::Error> {
    for (p, n) in numbering.iter().enumerate() {
        let Some(v) = n.checked_sub(1).and_then(|i| values.get(i)) else {
            break;
        };
        stmt.raw_bind_parameter(p + 1, Arg(v)).map_err(to_sqlx)?;
    }
    Ok(())
}

/// One sqlx argument as SQLite takes it (as sqlx's SQLite driver binds it).
struct Arg<'a>(&'a AnyValueKind);

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            AnyValueKind::Null(_) => ToSqlOutput::Owned(Value::Null),
            AnyValueKind::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
            AnyValueKind::SmallInt(i) => ToSqlOutput::Owned(Value::Integer(i64::from(*i))),
            AnyValueKind::Integer(i) => ToSqlOutput::Owned(Value::Integer(i64::from(*i))),
            AnyValueKind::BigInt(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            AnyValueKind::Real(r) => ToSqlOutput::Owned(Value::Real(f64::from(*r))),
            AnyValueKind::Double(d) => ToSqlOutput::Owned(Value::Real(*d)),
            AnyValueKind::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            AnyValueKind::TextSlice(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            AnyValueKind::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            _ => return Err(rusqlite::Error::ToSqlConversionFailure("an argument of a kind SQLite does not store".into())),
        })
    }
}

/// A failure SQLite reported, as sqlx reports one (code = SQLite's extended result code).
#[derive(Debug)]
struct LiteError {
    code: i32,
    message: String,
}

impl std::fmt::Display for LiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for LiteError {}

impl DatabaseError for LiteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

fn to_sqlx(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, message) => sqlx::Error::Database(Box::new(LiteError {
            code: f.extended_code,
            message: message.unwrap_or_else(|| f.to_string()),
        })),
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row as _;

    fn args(values: Vec<AnyValueKind>) -> Option<AnyArguments> {
        let mut a = AnyArguments::default();
        a.values.0 = values;
        Some(a)
    }

    /// A statement with thousands of parameters (a bulk write's multi-row insert, shared
    /// leading parameters and numbers out of order) binds every value where it belongs, the
    /// first time and from its kept numbering after; a named parameter is refused there too.
    #[test]
    fn many_parameters_bind_by_number_first_and_later_times() {
        let dir = std::env::temp_dir().join(format!("suoja-lite-many-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let lite = Lite::open_create(dir.join("t.db").to_str().unwrap());
        lite.batch("CREATE TABLE m (k INTEGER, a INTEGER, b TEXT)").unwrap();
        let rows = 1_000;
        let sql = format!(
            "INSERT INTO m (k, b, a) VALUES {}",
            (0..rows)
                .map(|i| format!("($1, ${}, ${})", 3 + 2 * i, 2 + 2 * i))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for round in 0..2i64 {
            let mut values = vec![AnyValueKind::BigInt(round)];
            for i in 0..rows {
                values.push(AnyValueKind::BigInt(i64::from(i)));
                values.push(AnyValueKind::Text(Arc::new(format!("row {i}"))));
            }
            lite.run(&sql, args(values), false, false).unwrap();
            let out = lite
                .run(
                    "SELECT COUNT(*) AS n FROM m WHERE k = $1 AND b = 'row ' || a",
                    args(vec![AnyValueKind::BigInt(round)]),
                    false,
                    true,
                )
                .unwrap();
            let sqlx::Either::Right(row) = &out[0] else { panic!("a row") };
            assert_eq!(row.try_get::<i64, _>("n").unwrap(), 1_000, "round {round}");
        }
        assert_eq!(lite.numberings.lock().unwrap().len(), 1, "kept once, used again");
        let named = format!("SELECT {}, :x", (1..=40).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "));
        assert!(lite.run(&named, args(vec![AnyValueKind::BigInt(1)]), false, true).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Parameters by number, rows and results read back as sqlx's driver gives them, and
    /// SQLite's failures as sqlx database errors.
    #[test]
    fn statements_behave_as_through_sqlx() {
        let dir = std::env::temp_dir().join(format!("suoja-lite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let lite = Lite::open_create(path.to_str().unwrap());
        lite.batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b BLOB, c REAL, u TEXT UNIQUE)")
            .unwrap();
        let out = lite
            .run(
                "INSERT INTO t (u, a, b, c) VALUES ($2, $1, $3, $4)",
                args(vec![
                    AnyValueKind::Text(Arc::new("ä".into())),
                    AnyValueKind::Text(Arc::new("x".into())),
                    AnyValueKind::Blob(Arc::new(vec![0, 1, 2])),
                    AnyValueKind::Double(1.5),
                ]),
                false,
                true,
            )
            .unwrap();
        let sqlx::Either::Left(r) = &out[0] else { panic!("a result") };
        assert_eq!((r.rows_affected, r.last_insert_id), (1, None), "as sqlx reports them");
        let out = lite
            .run(
                "SELECT id, a, b, c, u, NULL AS n FROM t WHERE u = $1 AND u = $1",
                args(vec![AnyValueKind::Text(Arc::new("x".into()))]),
                false,
                true,
            )
            .unwrap();
        let sqlx::Either::Right(row) = &out[0] else { panic!("a row") };
        assert_eq!(row.try_get::<i64, _>("id").unwrap(), 1);
        assert_eq!(row.try_get::<i32, _>(0).unwrap(), 1);
        assert_eq!(row.try_get::<String, _>("a").unwrap(), "ä");
        assert_eq!(row.try_get::<Vec<u8>, _>("b").unwrap(), vec![0, 1, 2]);
        assert_eq!(row.try_get::<f64, _>("c").unwrap(), 1.5);
        assert_eq!(row.try_get::<Option<String>, _>("n").unwrap(), None);
        let Err(sqlx::Error::Database(db)) = lite.run("INSERT INTO t (u) VALUES ('x')", None, false, true) else {
            panic!("a database error")
        };
        assert!(db.is_unique_violation());
        assert!(db.message().contains("t.u"), "{}", db.message());
        let out = lite.run("SELECT $2 AS x", args(vec![AnyValueKind::BigInt(1)]), false, true).unwrap();
        let sqlx::Either::Right(row) = &out[0] else { panic!("a row") };
        assert_eq!(row.try_get::<Option<i64>, _>("x").unwrap(), None, "a parameter without an argument is NULL");
        assert!(
            lite.run("SELECT :name", args(vec![AnyValueKind::BigInt(1)]), false, true).is_err(),
            "named parameters are refused"
        );
        assert!(
            lite.run("SELECT $0", args(vec![AnyValueKind::BigInt(1)]), false, true).is_err(),
            "parameters count from 1"
        );
        let out = lite
            .run(
                "SELECT ? AS a, ? AS b",
                args(vec![AnyValueKind::BigInt(1), AnyValueKind::BigInt(2)]),
                false,
                true,
            )
            .unwrap();
        let sqlx::Either::Right(row) = &out[0] else { panic!("a row") };
        assert_eq!((row.try_get::<i64, _>("a").unwrap(), row.try_get::<i64, _>("b").unwrap()), (1, 2));
        let out = lite.run("SELECT 1; SELECT 2", None, false, true).unwrap();
        assert_eq!(out.len(), 1);
        assert!(!lite.in_transaction());
        lite.batch("BEGIN").unwrap();
        assert!(lite.in_transaction());
        lite.close();
        assert!(lite.run("SELECT 1", None, false, true).is_err(), "closed");
        assert!(!lite.in_transaction(), "closing rolled back");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    impl Lite {
        fn open_create(path: &str) -> Self {
            let conn = rusqlite::Connection::open(path).unwrap();
            Lite {
                conn: Mutex::new(Some(conn)),
                numberings: Mutex::default(),
            }
        }
    }
}
