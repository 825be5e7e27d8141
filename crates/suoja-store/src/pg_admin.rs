//! Work on a PostgreSQL server rather than in a database: making and dropping scratch
//! databases (the benchmark's and the tests'), a connection of its own, and the server's WAL
//! counter. Names are made
//! here, from a fixed prefix and random letters, never taken from outside.

use sqlx::{AnyConnection, Connection as _};

use crate::Result;

/// Creates a database named `prefix` + random hex on the server of `admin_url` and returns its
/// URL. `prefix` must be lower-case letters, digits and `_`.
pub async fn create_database(admin_url: &str, prefix: &str) -> Result<String> {
    if !prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(crate::StoreError::Config("a database name prefix is lower-case letters, digits and _".into()));
    }
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}{}", suoja_core::random::hex_id().chars().take(10).collect::<String>());
    let mut c = AnyConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await?;
    c.close().await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .ok_or_else(|| crate::StoreError::Config("a PostgreSQL URL needs a database path".into()))?;
    Ok(format!("{base}/{name}"))
}

/// Drops the database of `url` if its name starts with `prefix` (best effort: a scratch
/// database left behind is only disk).
pub async fn drop_database(admin_url: &str, url: &str, prefix: &str) {
    let Some(name) = url
        .rsplit('/')
        .next()
        .filter(|n| n.starts_with(prefix) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    else {
        return;
    };
    sqlx::any::install_default_drivers();
    if let Ok(mut c) = AnyConnection::connect(admin_url).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut c)
            .await;
        let _ = c.close().await;
    }
}

/// A connection of its own to `url` (another database of the server, or its administrative
/// one), outside any pool.
pub async fn connect(url: &str) -> Result<crate::Conn> {
    sqlx::any::install_default_drivers();
    Ok(crate::Conn::detached(AnyConnection::connect(url).await?))
}

/// Bytes the server has written to its WAL since its statistics were reset.
pub async fn wal_bytes(url: &str) -> Option<u64> {
    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(url).await.ok()?;
    let bytes: Option<String> = sqlx::query_scalar("SELECT wal_bytes::text FROM pg_stat_wal").fetch_one(&mut c).await.ok();
    let _ = c.close().await;
    bytes.and_then(|b| b.parse().ok())
}
