//! Work on a PostgreSQL server rather than in a database: making and dropping scratch
//! databases (the benchmark's and the tests'), a connection of its own, and the server's WAL
//! counter. Names are made
//! here, from a fixed prefix and random letters, never taken from outside.

use sqlx::{AnyConnection, Connection as _};

use crate::Result;

/// Creates a database named `prefix` + random hex on the server of `admin_url` and returns its
/// URL. `prefix` must be lower-case letters, digits and `_`.
pub async fn create_database(admin_url: &str, prefix: &str) -> Result<String> {
    create(admin_url, prefix, None).await
}

/// Like [`create_database`], with this build's migrations already applied: the database is a
/// copy of a template database of the schema (`suoja_schema_` and the migrations' fingerprint),
/// which the first caller migrates and later callers reuse. The tests make a database each; on
/// the test machines copying one took about 1 s where creating and migrating one took about 2.
pub async fn create_migrated_database(admin_url: &str, prefix: &str) -> Result<String> {
    check_prefix(prefix)?;
    let fingerprint = crate::migrate::fingerprint(crate::Engine::Postgres);
    let template = format!("suoja_schema_{}", fingerprint.get(..16).unwrap_or(&fingerprint));
    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(admin_url).await?;
    // The template's lock is waited for a bounded time: a caller stuck while migrating it fails
    // the others with PostgreSQL's lock timeout rather than holding them forever.
    sqlx::query("SET lock_timeout = '2min'").execute(&mut c).await?;
    let copied = copy_of_template(&mut c, admin_url, prefix, &template).await;
    // Closing also lets go of a lock that a failure left held.
    c.close().await?;
    copied
}

/// Makes the template if need be, holding the lock alone (one caller migrates, the others wait
/// and then find it), then copies it holding the lock shared: tests of a build with other
/// migrations on the same server, which drop this template as an older one, wait for the
/// copies under way. A template dropped between the two is made again.
async fn copy_of_template(c: &mut AnyConnection, admin_url: &str, prefix: &str, template: &str) -> Result<String> {
    for _ in 0..3 {
        sqlx::query("SELECT pg_advisory_lock(4243)").execute(&mut *c).await?;
        let made = make_template(c, admin_url, template).await;
        sqlx::query("SELECT pg_advisory_unlock(4243)").execute(&mut *c).await?;
        made?;
        sqlx::query("SELECT pg_advisory_lock_shared(4243)").execute(&mut *c).await?;
        let copied = match exists(c, template).await {
            Ok(true) => Some(create_on(c, admin_url, prefix, Some(template)).await),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        };
        sqlx::query("SELECT pg_advisory_unlock_shared(4243)").execute(&mut *c).await?;
        if let Some(copied) = copied {
            return copied;
        }
    }
    Err(crate::StoreError::Config(format!(
        "the template database {template} was dropped three times while being copied (tests of another build on this server?)"
    )))
}

async fn exists(c: &mut AnyConnection, name: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut *c)
        .await?;
    Ok(n > 0)
}

/// Makes the template database `name` unless it exists, dropping the templates of other
/// schemas. It is built under another name and renamed when migrated, so a caller that died
/// halfway leaves no template behind, and it takes no connections (only copies are used).
async fn make_template(c: &mut AnyConnection, admin_url: &str, name: &str) -> Result<()> {
    if exists(c, name).await? {
        return Ok(());
    }
    let older: Vec<String> = sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'suoja\\_schema\\_%'")
        .fetch_all(&mut *c)
        .await?;
    for old in older.iter().filter(|n| n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')) {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)")))
            .execute(&mut *c)
            .await?;
    }
    let building = format!("{name}_new");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}"))).execute(&mut *c).await?;
    let db = crate::Db::connect(&with_database(admin_url, &building)?, &crate::DbOptions::default()).await?;
    db.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {building} RENAME TO {name}")))
        .execute(&mut *c)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")))
        .execute(&mut *c)
        .await?;
    Ok(())
}

fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        Ok(())
    } else {
        Err(crate::StoreError::Config("a database name prefix is lower-case letters, digits and _".into()))
    }
}

async fn create(admin_url: &str, prefix: &str, template: Option<&str>) -> Result<String> {
    check_prefix(prefix)?;
    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(admin_url).await?;
    let url = create_on(&mut c, admin_url, prefix, template).await?;
    c.close().await?;
    Ok(url)
}

/// Creates the database on the connection `c` (empty, or a copy of `template`).
async fn create_on(c: &mut AnyConnection, admin_url: &str, prefix: &str, template: Option<&str>) -> Result<String> {
    let name = format!("{prefix}{}", suoja_core::random::hex_id().chars().take(10).collect::<String>());
    let sql = match template {
        Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
        None => format!("CREATE DATABASE {name}"),
    };
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *c).await?;
    with_database(admin_url, &name)
}

/// `admin_url` with its database replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> Result<String> {
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
