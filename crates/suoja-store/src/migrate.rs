//! Embedded, numbered, append-only migrations: the same numbers exist for SQLite and
//! PostgreSQL, and each applied migration is recorded with a checksum so an edited, already
//! released migration is refused at start instead of silently diverging.

use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, Connection as _, Executor as _, Row as _};

use crate::{Engine, Result, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "privacy",
        sqlite: include_str!("../migrations/sqlite/0002_privacy.sql"),
        postgres: include_str!("../migrations/postgres/0002_privacy.sql"),
    },
    Migration {
        version: 3,
        name: "erasure",
        sqlite: include_str!("../migrations/sqlite/0003_erasure.sql"),
        postgres: include_str!("../migrations/postgres/0003_erasure.sql"),
    },
    Migration {
        version: 4,
        name: "retention",
        sqlite: include_str!("../migrations/sqlite/0004_retention.sql"),
        postgres: include_str!("../migrations/postgres/0004_retention.sql"),
    },
    Migration {
        version: 5,
        name: "web",
        sqlite: include_str!("../migrations/sqlite/0005_web.sql"),
        postgres: include_str!("../migrations/postgres/0005_web.sql"),
    },
    Migration {
        version: 6,
        name: "sign_in",
        sqlite: include_str!("../migrations/sqlite/0006_sign_in.sql"),
        postgres: include_str!("../migrations/postgres/0006_sign_in.sql"),
    },
    Migration {
        version: 7,
        name: "mentions",
        sqlite: include_str!("../migrations/sqlite/0007_mentions.sql"),
        postgres: include_str!("../migrations/postgres/0007_mentions.sql"),
    },
    Migration {
        version: 8,
        name: "hardening",
        sqlite: include_str!("../migrations/sqlite/0008_hardening.sql"),
        postgres: include_str!("../migrations/postgres/0008_hardening.sql"),
    },
    Migration {
        version: 9,
        name: "search_index",
        sqlite: include_str!("../migrations/sqlite/0009_search_index.sql"),
        postgres: include_str!("../migrations/postgres/0009_search_index.sql"),
    },
    Migration {
        version: 10,
        name: "ticket_tags",
        sqlite: include_str!("../migrations/sqlite/0010_ticket_tags.sql"),
        postgres: include_str!("../migrations/postgres/0010_ticket_tags.sql"),
    },
    Migration {
        version: 11,
        name: "mail",
        sqlite: include_str!("../migrations/sqlite/0011_mail.sql"),
        postgres: include_str!("../migrations/postgres/0011_mail.sql"),
    },
    Migration {
        version: 12,
        name: "tenant_mail",
        sqlite: include_str!("../migrations/sqlite/0012_tenant_mail.sql"),
        postgres: include_str!("../migrations/postgres/0012_tenant_mail.sql"),
    },
    Migration {
        version: 13,
        name: "large_values_last",
        sqlite: include_str!("../migrations/sqlite/0013_large_values_last.sql"),
        postgres: include_str!("../migrations/postgres/0013_large_values_last.sql"),
    },
    Migration {
        version: 14,
        name: "tenant_smtp",
        sqlite: include_str!("../migrations/sqlite/0014_tenant_smtp.sql"),
        postgres: include_str!("../migrations/postgres/0014_tenant_smtp.sql"),
    },
    Migration {
        version: 15,
        name: "help_center",
        sqlite: include_str!("../migrations/sqlite/0015_help_center.sql"),
        postgres: include_str!("../migrations/postgres/0015_help_center.sql"),
    },
    Migration {
        version: 16,
        name: "community",
        sqlite: include_str!("../migrations/sqlite/0016_community.sql"),
        postgres: include_str!("../migrations/postgres/0016_community.sql"),
    },
    Migration {
        version: 17,
        name: "free_text_scan",
        sqlite: include_str!("../migrations/sqlite/0017_free_text_scan.sql"),
        postgres: include_str!("../migrations/postgres/0017_free_text_scan.sql"),
    },
    Migration {
        version: 18,
        name: "accountability",
        sqlite: include_str!("../migrations/sqlite/0018_accountability.sql"),
        postgres: include_str!("../migrations/postgres/0018_accountability.sql"),
    },
    Migration {
        version: 19,
        name: "sign_in_security",
        sqlite: include_str!("../migrations/sqlite/0019_sign_in_security.sql"),
        postgres: include_str!("../migrations/postgres/0019_sign_in_security.sql"),
    },
    Migration {
        version: 20,
        name: "satisfaction",
        sqlite: include_str!("../migrations/sqlite/0020_satisfaction.sql"),
        postgres: include_str!("../migrations/postgres/0020_satisfaction.sql"),
    },
    Migration {
        version: 21,
        name: "group_memberships",
        sqlite: include_str!("../migrations/sqlite/0021_group_memberships.sql"),
        postgres: include_str!("../migrations/postgres/0021_group_memberships.sql"),
    },
    Migration {
        version: 22,
        name: "ticket_audits",
        sqlite: include_str!("../migrations/sqlite/0022_ticket_audits.sql"),
        postgres: include_str!("../migrations/postgres/0022_ticket_audits.sql"),
    },
    Migration {
        version: 23,
        name: "external_id_index",
        sqlite: include_str!("../migrations/sqlite/0023_external_id_index.sql"),
        postgres: include_str!("../migrations/postgres/0023_external_id_index.sql"),
    },
    Migration {
        version: 24,
        name: "fields_and_forms",
        sqlite: include_str!("../migrations/sqlite/0024_fields_and_forms.sql"),
        postgres: include_str!("../migrations/postgres/0024_fields_and_forms.sql"),
    },
    Migration {
        version: 25,
        name: "business_rules",
        sqlite: include_str!("../migrations/sqlite/0025_business_rules.sql"),
        postgres: include_str!("../migrations/postgres/0025_business_rules.sql"),
    },
    Migration {
        version: 26,
        name: "existing_tenants_automation",
        sqlite: include_str!("../migrations/sqlite/0026_existing_tenants_automation.sql"),
        postgres: include_str!("../migrations/postgres/0026_existing_tenants_automation.sql"),
    },
    Migration {
        version: 27,
        name: "consultation_node",
        sqlite: include_str!("../migrations/sqlite/0027_consultation_node.sql"),
        postgres: include_str!("../migrations/postgres/0027_consultation_node.sql"),
    },
    Migration {
        version: 28,
        name: "sla",
        sqlite: include_str!("../migrations/sqlite/0028_sla.sql"),
        postgres: include_str!("../migrations/postgres/0028_sla.sql"),
    },
    Migration {
        version: 29,
        name: "cluster",
        sqlite: include_str!("../migrations/sqlite/0029_cluster.sql"),
        postgres: include_str!("../migrations/postgres/0029_cluster.sql"),
    },
    Migration {
        version: 30,
        name: "export_takeover",
        sqlite: include_str!("../migrations/sqlite/0030_export_takeover.sql"),
        postgres: include_str!("../migrations/postgres/0030_export_takeover.sql"),
    },
    Migration {
        version: 31,
        name: "export_attempts",
        sqlite: include_str!("../migrations/sqlite/0031_export_attempts.sql"),
        postgres: include_str!("../migrations/postgres/0031_export_attempts.sql"),
    },
    Migration {
        version: 32,
        name: "imports",
        sqlite: include_str!("../migrations/sqlite/0032_imports.sql"),
        postgres: include_str!("../migrations/postgres/0032_imports.sql"),
    },
    Migration {
        version: 33,
        name: "erasure_log",
        sqlite: include_str!("../migrations/sqlite/0033_erasure_log.sql"),
        postgres: include_str!("../migrations/postgres/0033_erasure_log.sql"),
    },
    Migration {
        version: 34,
        name: "erasure_log_window",
        sqlite: include_str!("../migrations/sqlite/0034_erasure_log_window.sql"),
        postgres: include_str!("../migrations/postgres/0034_erasure_log_window.sql"),
    },
    Migration {
        version: 35,
        name: "blobs",
        sqlite: include_str!("../migrations/sqlite/0035_blobs.sql"),
        postgres: include_str!("../migrations/postgres/0035_blobs.sql"),
    },
    Migration {
        version: 36,
        name: "more_blobs",
        sqlite: include_str!("../migrations/sqlite/0036_more_blobs.sql"),
        postgres: include_str!("../migrations/postgres/0036_more_blobs.sql"),
    },
    Migration {
        version: 37,
        name: "search_index_docs",
        sqlite: include_str!("../migrations/sqlite/0037_search_index_docs.sql"),
        postgres: include_str!("../migrations/postgres/0037_search_index_docs.sql"),
    },
    Migration {
        version: 38,
        name: "carried_chain_key",
        sqlite: include_str!("../migrations/sqlite/0038_carried_chain_key.sql"),
        postgres: include_str!("../migrations/postgres/0038_carried_chain_key.sql"),
    },
    Migration {
        version: 39,
        name: "ticket_metric_events",
        sqlite: include_str!("../migrations/sqlite/0039_ticket_metric_events.sql"),
        postgres: include_str!("../migrations/postgres/0039_ticket_metric_events.sql"),
    },
    Migration {
        version: 40,
        name: "search_index_sizes",
        sqlite: include_str!("../migrations/sqlite/0040_search_index_sizes.sql"),
        postgres: include_str!("../migrations/postgres/0040_search_index_sizes.sql"),
    },
    Migration {
        version: 41,
        name: "tickets_live",
        sqlite: include_str!("../migrations/sqlite/0041_tickets_live.sql"),
        postgres: include_str!("../migrations/postgres/0041_tickets_live.sql"),
    },
    Migration {
        version: 42,
        name: "tickets_created",
        sqlite: include_str!("../migrations/sqlite/0042_tickets_created.sql"),
        postgres: include_str!("../migrations/postgres/0042_tickets_created.sql"),
    },
    Migration {
        version: 43,
        name: "tickets_requester_index",
        sqlite: include_str!("../migrations/sqlite/0043_tickets_requester_index.sql"),
        postgres: include_str!("../migrations/postgres/0043_tickets_requester_index.sql"),
    },
];

/// A migration no release has, applied only when asked (`DbOptions::rehearsal_migration`): the
/// "next version" the tests roll nodes to, one by one, while the others keep serving on the
/// schema they know. Like a real one it changes a busy table (a nullable column on `tickets`).
const REHEARSAL: Migration = Migration {
    version: 9001,
    name: "rehearsal",
    sqlite: "ALTER TABLE tickets ADD COLUMN rehearsal_probe TEXT;",
    postgres: "ALTER TABLE tickets ADD COLUMN rehearsal_probe TEXT;",
};

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// The table that records the applied migrations.
const BOOKKEEPING: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// A digest of every migration's text on `engine`: two databases migrated by builds with the same
/// fingerprint have the same schema (it names the tests' template database, `pg_admin`).
pub fn fingerprint(engine: Engine) -> String {
    let mut h = Sha256::new();
    h.update(BOOKKEEPING);
    for m in MIGRATIONS {
        h.update(m.version.to_be_bytes());
        h.update(match engine {
            Engine::Sqlite => m.sqlite,
            Engine::Postgres => m.postgres,
        });
    }
    hex::encode(h.finalize())
}

pub(crate) async fn run(conn: &mut AnyConnection, engine: Engine, rehearsal: bool) -> Result<()> {
    conn.execute(BOOKKEEPING).await?;
    if engine == Engine::Postgres {
        // Several nodes may start at once; one migrates, the others wait here.
        conn.execute("SELECT pg_advisory_lock(4242)").await?;
    }
    if engine == Engine::Sqlite {
        // A migration that copies a whole table (13 rebuilds `attachments`) journals the old
        // image of every free page it reuses; in memory that could be the size of the table.
        // Free pages were zeroed when freed (`secure_delete`), so a temporary file holds zeros
        // and sealed content only.
        conn.execute("PRAGMA temp_store = FILE").await?;
    }
    let result = apply_pending(conn, engine, rehearsal).await;
    match engine {
        Engine::Postgres => {
            conn.execute("SELECT pg_advisory_unlock(4242)").await?;
        }
        Engine::Sqlite => {
            conn.execute("PRAGMA temp_store = MEMORY").await?;
        }
    }
    result
}

async fn apply_pending(conn: &mut AnyConnection, engine: Engine, rehearsal: bool) -> Result<()> {
    let applied = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await?;
    let mut done = std::collections::HashMap::new();
    for row in applied {
        done.insert(row.try_get::<i64, _>("version")?, row.try_get::<String, _>("checksum")?);
    }
    let known = if rehearsal { REHEARSAL.version } else { latest_version() };
    if let Some(max) = done.keys().max().filter(|m| **m > known) {
        return Err(StoreError::Migration {
            version: *max,
            reason: "the database was migrated by a newer Suoja; refusing to start".into(),
        });
    }
    for m in MIGRATIONS.iter().chain(rehearsal.then_some(&REHEARSAL)) {
        let sql = match engine {
            Engine::Sqlite => m.sqlite,
            Engine::Postgres => m.postgres,
        };
        let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
        if let Some(existing) = done.get(&m.version) {
            if *existing != checksum {
                return Err(StoreError::Migration {
                    version: m.version,
                    reason: format!("migration {} was edited after it was applied", m.name),
                });
            }
            continue;
        }
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(|e| StoreError::Migration {
            version: m.version,
            reason: e.to_string(),
        })?;
        sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(checksum)
            .bind(0_i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(migration.version = m.version, migration.name = m.name, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory SQLite database with the migrations before `version` applied and recorded.
    async fn migrated_before(version: i64) -> AnyConnection {
        sqlx::any::install_default_drivers();
        let mut c = AnyConnection::connect("sqlite::memory:").await.unwrap();
        c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await
        .unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version < version) {
            sqlx::raw_sql(m.sqlite).execute(&mut c).await.unwrap();
            let checksum = hex::encode(Sha256::digest(m.sqlite.as_bytes()));
            sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, 0)")
                .bind(m.version)
                .bind(m.name)
                .bind(checksum)
                .execute(&mut c)
                .await
                .unwrap();
        }
        c
    }

    /// The rehearsal migration is applied only when asked, once, after every real one; a build
    /// that does not know it then refuses the database, as an old node refuses a newer schema.
    #[tokio::test]
    async fn the_rehearsal_migration_stands_for_the_next_version() {
        let mut c = migrated_before(1).await;
        run(&mut c, Engine::Sqlite, false).await.unwrap();
        c.execute("SELECT rehearsal_probe FROM tickets").await.unwrap_err();
        run(&mut c, Engine::Sqlite, true).await.unwrap();
        run(&mut c, Engine::Sqlite, true).await.unwrap();
        c.execute("SELECT rehearsal_probe FROM tickets").await.unwrap();
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM schema_migrations WHERE version = 9001")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(applied, 1);
        let refused = run(&mut c, Engine::Sqlite, false).await.unwrap_err();
        assert!(refused.to_string().contains("newer Suoja"), "{refused}");
    }

    /// Version 26 gives a tenant that existed before automations Zendesk's default automation
    /// out of use (switched on unasked, it would close every ticket solved long ago); a tenant
    /// created later gets it in use from the services.
    #[tokio::test]
    async fn an_upgraded_tenant_gets_the_default_automation_out_of_use() {
        let mut c = migrated_before(26).await;
        c.execute("INSERT INTO tenants (subdomain, name, region, created_at) VALUES ('old', 'Old', 'eu', 1), ('older', 'Older', 'eu', 1)")
            .await
            .unwrap();
        run(&mut c, Engine::Sqlite, false).await.unwrap();
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT tenant_id, active, definition FROM business_rules WHERE kind = 'automation' AND rule_key = 'close_solved' ORDER BY tenant_id",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|(_, active, _)| *active == 0), "{rows:?}");
        assert!(rows[0].2.contains(r#"{"field":"status","value":"closed"}"#), "{rows:?}");
    }

    /// Versions 13 and 35 rebuild SQLite's `attachments` with the content last: the rows, their
    /// ids and the AUTOINCREMENT counter (past a deleted file's id) survive it, and the content
    /// is the last column.
    #[tokio::test]
    async fn rebuilding_attachments_keeps_rows_ids_and_the_counter() {
        let mut c = migrated_before(13).await;
        for i in 1..=3_i64 {
            sqlx::query(
                "INSERT INTO attachments (tenant_id, key_id, uploader_id, upload_token_hash, ticket_id, comment_id, file_name_enc, content_type, size, content_enc, created_at) \
                 VALUES (1, 2, 3, NULL, 4, 5, x'01', 'text/plain', $1, $2, $3)",
            )
            .bind(i)
            .bind(vec![u8::try_from(i).unwrap(); 5000])
            .bind(1000 + i)
            .execute(&mut c)
            .await
            .unwrap();
        }
        c.execute("DELETE FROM attachments WHERE id = 3").await.unwrap();
        run(&mut c, Engine::Sqlite, false).await.unwrap();

        let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('attachments') ORDER BY cid")
            .fetch_all(&mut c)
            .await
            .unwrap();
        assert_eq!(cols.last().map(String::as_str), Some("content_enc"), "{cols:?}");
        let rows: Vec<(i64, i64, i64, Vec<u8>)> = sqlx::query_as("SELECT id, size, created_at, content_enc FROM attachments ORDER BY id")
            .fetch_all(&mut c)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        for (i, (id, size, created, content)) in rows.into_iter().enumerate() {
            let n = i64::try_from(i).unwrap() + 1;
            assert_eq!((id, size, created), (n, n, 1000 + n));
            assert_eq!(content, vec![u8::try_from(n).unwrap(); 5000]);
        }
        let next: i64 = sqlx::query_scalar(
            "INSERT INTO attachments (tenant_id, key_id, uploader_id, file_name_enc, content_type, size, content_enc, created_at) VALUES (1, 2, 3, x'01', 'a', 1, x'00', 1) RETURNING id",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(next, 4, "the id of the deleted file is not handed out again");
        let indexes: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'attachments' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .fetch_all(&mut c)
                .await
                .unwrap();
        // Its six, and version 35's on `blob_key` (35 rebuilds it again, `blob_key` before the
        // content).
        assert_eq!(indexes.len(), 7, "{indexes:?}");
        let leftover: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_sequence WHERE name <> 'attachments' AND name LIKE 'attachments%'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(leftover, 0);
    }
}
