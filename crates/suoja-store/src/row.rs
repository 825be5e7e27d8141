//! Small helpers for reading typed columns from an `AnyRow`.

use sqlx::Row as _;
use sqlx::any::AnyRow;

pub(crate) fn i64_(row: &AnyRow, col: &str) -> crate::Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}
pub(crate) fn opt_i64(row: &AnyRow, col: &str) -> crate::Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}
pub(crate) fn bool_(row: &AnyRow, col: &str) -> crate::Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}
pub(crate) fn text(row: &AnyRow, col: &str) -> crate::Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}
pub(crate) fn opt_text(row: &AnyRow, col: &str) -> crate::Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}
pub(crate) fn bytes(row: &AnyRow, col: &str) -> crate::Result<Vec<u8>> {
    Ok(row.try_get::<Vec<u8>, _>(col)?)
}
pub(crate) fn opt_bytes(row: &AnyRow, col: &str) -> crate::Result<Option<Vec<u8>>> {
    Ok(row.try_get::<Option<Vec<u8>>, _>(col)?)
}
