//! Writing many rows at once (imports and seeding): ids handed out before the rows are written,
//! and the `VALUES` lists of multi-row inserts. Rows written this way carry their ids, so a
//! batch can refer to a ticket or comment it has not written yet and write them all in a few
//! statements instead of one round trip per row.

use crate::{Conn, Engine, Result};

/// A statement being given its values (one row's, or a multi-row insert's).
pub(crate) type Statement<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// At most this many values bound to one statement (SQLite allows 32 766, PostgreSQL 65 535).
const MAX_PARAMS: usize = 8_000;

/// A table whose ids can be handed out ahead of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    /// `tickets.id`.
    Tickets,
    /// `comments.id`.
    Comments,
}

impl Sequence {
    fn table(self) -> &'static str {
        match self {
            Sequence::Tickets => "tickets",
            Sequence::Comments => "comments",
        }
    }
}

/// Hands out `n` ids of `table`'s sequence for rows written later in the caller's transaction,
/// ascending. No other writer is given them: PostgreSQL takes them from the identity's
/// sequence (an id handed out in a transaction that rolls back stays unused); SQLite, whose one
/// writer runs one write transaction at a time, moves the table's `AUTOINCREMENT` counter past
/// them (rolled back with the transaction).
pub async fn reserve_ids(c: &mut Conn, table: Sequence, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let count = i64::try_from(n).unwrap_or(i64::MAX);
    let name = table.table();
    if c.engine() == Engine::Postgres {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)")
            .bind(name)
            .bind(count)
            .fetch_all(&mut *c)
            .await?;
        let mut ids = ids;
        ids.sort_unstable();
        return Ok(ids);
    }
    // The counter's row exists once the table has had a row; before that it starts from the
    // highest id there (none: 0).
    let start = format!(
        "INSERT INTO sqlite_sequence (name, seq) SELECT $1, COALESCE((SELECT MAX(id) FROM {name}), 0) \
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)"
    );
    sqlx::query(sqlx::AssertSqlSafe(start)).bind(name).execute(&mut *c).await?;
    let last: i64 = sqlx::query_scalar("UPDATE sqlite_sequence SET seq = seq + $2 WHERE name = $1 RETURNING seq")
        .bind(name)
        .bind(count)
        .fetch_one(&mut *c)
        .await?;
    Ok((last - count + 1..=last).collect())
}

/// How many rows of `cols` values one multi-row statement takes.
pub(crate) fn rows_per_statement(cols: usize) -> usize {
    (MAX_PARAMS / cols.max(1)).max(1)
}

/// `rows` cut into pieces whose lengths are powers of two (the largest first, each within the
/// engines' limits for `cols` values a row): a bulk write's statements then take a few shapes,
/// each prepared once and kept (SQLite parses a statement's numbered parameters in time
/// quadratic in their number, and a kept statement of thousands of values holds about a
/// megabyte, so neither one shape per row count nor preparing each time will do).
pub(crate) fn pieces<T>(rows: &[T], cols: usize) -> impl Iterator<Item = &[T]> {
    let most = prev_power_of_two(rows_per_statement(cols));
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (piece, after) = rest.split_at(prev_power_of_two(rest.len()).min(most));
        rest = after;
        Some(piece)
    })
}

/// The largest power of two not above `n` (1 for 0).
fn prev_power_of_two(n: usize) -> usize {
    if n <= 1 { 1 } else { 1 << (usize::BITS - 1 - n.leading_zeros()) }
}

/// `($first, …), (…), …`: `rows` tuples of `cols` numbered placeholders, from `$first` on.
pub(crate) fn values(first: usize, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 6);
    let mut n = first;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for k in 0..cols {
            if k > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&n.to_string());
            n += 1;
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_number_every_placeholder_once() {
        assert_eq!(values(2, 2, 3), "($2, $3, $4), ($5, $6, $7)");
        assert_eq!(values(1, 1, 1), "($1)");
        assert_eq!(values(1, 0, 3), "");
    }

    #[test]
    fn pieces_take_few_shapes_and_keep_every_row_in_order() {
        let rows: Vec<u32> = (0..1_000).collect();
        let lengths: Vec<usize> = pieces(&rows, 10).map(<[u32]>::len).collect();
        assert_eq!(lengths, vec![512, 256, 128, 64, 32, 8]);
        let back: Vec<u32> = pieces(&rows, 10).flatten().copied().collect();
        assert_eq!(back, rows);
        assert_eq!(pieces(&rows, 24).map(<[u32]>::len).max(), Some(256), "333 rows fit; 256 is the largest piece");
        assert_eq!(pieces::<u32>(&[], 3).count(), 0);
        assert_eq!(
            (prev_power_of_two(0), prev_power_of_two(1), prev_power_of_two(5), prev_power_of_two(8)),
            (1, 1, 4, 8)
        );
    }

    #[test]
    fn statements_stay_under_the_engines_limits() {
        assert_eq!(rows_per_statement(10), 800);
        assert_eq!(rows_per_statement(0), MAX_PARAMS);
        assert!(rows_per_statement(25) * 25 <= MAX_PARAMS);
    }
}
