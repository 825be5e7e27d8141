//! Rows inserted when a shared transaction commits rather than when they are written: the
//! SQLite search index's rows for new documents.
//!
//! Why: FTS5 writes the entries it holds in memory out to disk as a segment of their own at
//! every savepoint opened after them (each request of a group commit runs in one, and so do
//! many single statements). Indexed one request at a time, every new ticket became a segment:
//! ~9 % of the writer's time and 6–7 log pages a commit. Inserted together as the batch commits,
//! outside every savepoint, a batch's documents make one segment.
//!
//! The rule that keeps this invisible: rows are only deferred in a request that began with
//! [`Db::begin_adding`](crate::Db::begin_adding), one that adds records and changes only those
//! it adds, and only outside its own nested savepoints. Every other request of the batch finds
//! them inserted before its savepoint begins, and the search engine inserts a request's own
//! deferred rows before it reads or changes the index in that request
//! ([`Conn::settle_deferred`](crate::Conn::settle_deferred)). A request whose work is undone
//! takes its deferred rows with it; a batch that rolls back drops them all.

use crate::group::WriterTarget;

/// A value of a deferred row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// One deferred row: the table and columns it goes `into`, its values, and the request (the
/// batch's member) that wrote it.
#[derive(Debug)]
pub(crate) struct Row {
    into: &'static str,
    values: Vec<Bound>,
    member: u64,
}

/// The deferred rows a writer carries from request to request within a batch.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    rows: Vec<Row>,
    /// The request holding the writer, and whether it may defer ([`Db::begin_adding`]).
    member: u64,
    adding: bool,
    /// Nested savepoints the request holds open (rows are not deferred inside one, where a
    /// rollback to it would have to take them back).
    nested: usize,
}

impl Deferred {
    /// A request takes the writer.
    pub(crate) fn enter(&mut self, member: u64, adding: bool) {
        self.member = member;
        self.adding = adding;
        self.nested = 0;
    }

    /// Whether a row written now waits for the commit.
    pub(crate) fn defers(&self) -> bool {
        self.adding && self.nested == 0
    }

    pub(crate) fn push(&mut self, into: &'static str, values: Vec<Bound>) {
        self.rows.push(Row {
            into,
            values,
            member: self.member,
        });
    }

    /// A nested savepoint opens (`true`) or ends (`false`).
    pub(crate) fn nest(&mut self, opens: bool) {
        self.nested = if opens {
            self.nested.saturating_add(1)
        } else {
            self.nested.saturating_sub(1)
        };
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The request's work was undone: its rows go too.
    pub(crate) fn undo_member(&mut self) {
        let member = self.member;
        self.rows.retain(|r| r.member != member);
    }

    /// The whole batch was rolled back.
    pub(crate) fn clear(&mut self) {
        self.rows.clear();
    }

    /// Takes the rows to insert now: every request's, or the holding request's own.
    pub(crate) fn take(&mut self, all: bool) -> Vec<Row> {
        if all {
            return std::mem::take(&mut self.rows);
        }
        let member = self.member;
        let (own, others): (Vec<Row>, Vec<Row>) = std::mem::take(&mut self.rows).into_iter().partition(|r| r.member == member);
        self.rows = others;
        own
    }
}

/// One row for `into`, of no request's (inserted at once).
pub(crate) fn row(into: &'static str, values: Vec<Bound>) -> Row {
    Row { into, values, member: 0 }
}

/// Inserts `rows` on `target`, a table's rows in the order of their first value (the search
/// index's rowid: FTS5 starts a new segment whenever a rowid is lower than the one before), in
/// pieces of the few shapes a bulk write takes (`bulk::pieces`, each statement prepared once
/// and kept). A failure leaves the rest uninserted: the caller's transaction, or its part of
/// it, fails with it.
pub(crate) async fn insert(mut target: WriterTarget<'_>, mut rows: Vec<Row>) -> std::result::Result<(), sqlx::Error> {
    let key = |r: &Row| match r.values.first() {
        Some(Bound::Int(i)) => *i,
        _ => 0,
    };
    rows.sort_by(|a, b| a.into.cmp(b.into).then(key(a).cmp(&key(b))));
    for table in rows.chunk_by(|a, b| a.into == b.into && a.values.len() == b.values.len()) {
        let Some(first) = table.first() else { continue };
        let width = first.values.len();
        for piece in crate::bulk::pieces(table, width) {
            // `into` is a table and its columns as the code names them, never input.
            let sql = format!("INSERT INTO {} VALUES {}", first.into, crate::bulk::values(1, piece.len(), width));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in piece.iter().flat_map(|r| &r.values) {
                q = match v {
                    Bound::Int(i) => q.bind(*i),
                    Bound::Text(t) => q.bind(t.clone()),
                };
            }
            run_on(&mut target, q).await?;
        }
    }
    Ok(())
}

/// Runs a statement on the writer, native or pooled, as a `Conn` would.
async fn run_on(target: &mut WriterTarget<'_>, q: crate::bulk::Statement<'_>) -> std::result::Result<(), sqlx::Error> {
    use futures_util::StreamExt as _;
    let mut results = match target {
        WriterTarget::Native(lite) => crate::db::native(lite, q, false),
        WriterTarget::Pooled(c) => sqlx::Executor::fetch_many(&mut **c, q),
    };
    while let Some(item) = results.next().await {
        item?;
    }
    Ok(())
}
