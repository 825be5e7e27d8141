//! Lists of ids in a statement's `IN (…)`, as bound parameters in a few fixed lengths.
//!
//! Writing the ids into the SQL text made every list a statement of its own: prepared again
//! on each call (a ticket's page read its collaborators and ratings that way, ~4 % of the
//! server's CPU under replies on SQLite) and taking a place in the statement cache that a
//! statement used again needed. Here a list is cut into pieces of at most [`MOST`] ids, and a
//! piece takes the next power of two of parameters, the last id repeated to fill them, so a
//! query has at most eight shapes, each prepared once and kept.

/// Ids bound to one statement at most.
pub(crate) const MOST: usize = 128;

/// The distinct ids of `list`, ascending, in pieces of at most [`MOST`], for one statement
/// each (an id asked twice is read once, as one `IN (…)` of the whole list would).
pub(crate) fn pieces(list: &[i64]) -> Vec<Vec<i64>> {
    let mut ids = list.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.chunks(MOST).map(<[i64]>::to_vec).collect()
}

/// How many parameters a piece of `n` ids takes: the next power of two (`n` ≤ [`MOST`]).
fn shape(n: usize) -> usize {
    n.clamp(1, MOST).next_power_of_two()
}

/// The parameter marks of a piece of `n` ids whose first is parameter `first`:
/// `$first, $first+1, …` for [`shape`]`(n)` parameters.
pub(crate) fn marks(first: usize, n: usize) -> String {
    (first..first + shape(n)).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The values to bind for a piece: the ids, then the last one again up to its shape (a
/// repeated id in `IN (…)` matches nothing more; an empty piece binds id 0, which no row has).
pub(crate) fn padded(piece: &[i64]) -> impl Iterator<Item = i64> + '_ {
    let fill = piece.last().copied().unwrap_or_default();
    piece.iter().copied().chain(std::iter::repeat(fill)).take(shape(piece.len()))
}

/// The rows of a query over a tenant's rows by id, run once a piece: `select(marks)` gives its
/// SQL, where `$1` is the tenant and `marks` (from `$2`) the piece's ids.
pub(crate) async fn rows_by_ids(
    c: &mut crate::Conn,
    tenant: suoja_core::TenantId,
    ids: &[i64],
    select: impl Fn(&str) -> String,
) -> crate::Result<Vec<sqlx::any::AnyRow>> {
    let mut rows = Vec::new();
    for piece in pieces(ids) {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(select(&marks(2, piece.len())))).bind(tenant.0);
        for id in padded(&piece) {
            q = q.bind(id);
        }
        rows.extend(q.fetch_all(&mut *c).await?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_take_few_shapes_and_keep_every_id() {
        assert_eq!(marks(2, 1), "$2");
        assert_eq!(marks(2, 3), "$2, $3, $4, $5");
        assert_eq!(padded(&[7, 8, 9]).collect::<Vec<_>>(), vec![7, 8, 9, 9]);
        assert_eq!(padded(&[5]).collect::<Vec<_>>(), vec![5]);
        let list: Vec<i64> = (1..=300).collect();
        let mut seen = Vec::new();
        let mut shapes = std::collections::BTreeSet::new();
        // Asked twice, in any order: each id lands in one piece once.
        let twice: Vec<i64> = list.iter().rev().chain(list.iter()).copied().collect();
        for piece in pieces(&twice) {
            let bound: Vec<i64> = padded(&piece).collect();
            assert_eq!(bound.len(), marks(1, piece.len()).split(", ").count());
            shapes.insert(bound.len());
            seen.extend(bound);
        }
        seen.dedup();
        assert_eq!(seen, list);
        assert_eq!(shapes, [64, 128].into_iter().collect());
        let every: std::collections::BTreeSet<usize> = (1..=MOST).map(shape).collect();
        assert_eq!(every.len(), 8);
    }

    /// Lists longer than a piece, with repeats and another tenant's ids, read on the writer
    /// and on a reader: every asked ticket's links once, in the order they were made, and
    /// nothing of the other tenant.
    #[tokio::test]
    async fn long_lists_read_every_id_once_and_only_the_tenants() {
        let dir = std::env::temp_dir().join(format!("suoja-ids-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = crate::Db::connect(&format!("sqlite://{}/t.db", dir.display()), &crate::DbOptions::default())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) \
             INSERT INTO ticket_collaborators (tenant_id, ticket_id, user_id, kind, created_at) \
             SELECT 1, i, i * 10, 'follower', 1000 - i FROM n UNION ALL SELECT 1, 7, 71, 'email_cc', 2000 \
             UNION ALL SELECT 2, 5, 99, 'follower', 1",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        let mut asked: Vec<suoja_core::TicketId> = (1..=300).rev().map(suoja_core::TicketId).collect();
        asked.extend([suoja_core::TicketId(5), suoja_core::TicketId(7), suoja_core::TicketId(301)]);
        let on_writer = crate::tickets::collaborators(&mut tx, suoja_core::TenantId(1), &asked).await.unwrap();
        tx.commit().await.unwrap();
        let mut reader = db.read().await.unwrap();
        let on_reader = crate::tickets::collaborators(&mut reader, suoja_core::TenantId(1), &asked).await.unwrap();
        drop(reader);
        for links in [on_writer, on_reader] {
            assert_eq!(links.len(), 301);
            let mut tickets: Vec<i64> = links.iter().map(|(t, _, _)| t.0).collect();
            tickets.sort_unstable();
            tickets.dedup();
            assert_eq!(tickets, (1..=300).collect::<Vec<_>>());
            assert!(links.iter().all(|(t, u, _)| u.0 == t.0 * 10 || (t.0, u.0) == (7, 71)));
            let seven: Vec<i64> = links.iter().filter(|(t, _, _)| t.0 == 7).map(|(_, u, _)| u.0).collect();
            assert_eq!(seven, vec![70, 71], "a ticket's links in the order they were made");
        }
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
