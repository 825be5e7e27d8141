//! The data map: every table and column, declared once, with what it holds, whose data it is,
//! how it is stored, what erasure does to it, and how long it is kept. A test compares this
//! map with the live schema on both engines and fails on anything undeclared or stale.

use serde::Serialize;

/// What kind of data a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Not personal: ids, flags, statuses, timestamps, counters.
    None,
    /// Contact details: e-mail, phone.
    Contact,
    /// Names and other direct identifiers.
    Identifier,
    /// Free text written by or about a person: subjects, comments, notes.
    Content,
    /// Files a person sent.
    File,
    /// Labels and structured values that may describe a person (tags, custom fields).
    Profile,
    /// Credentials: password hashes, token hashes.
    Credential,
    /// Key material (wrapped keys).
    Key,
    /// Keyed hashes derived from personal data (blind index, search tokens).
    Derived,
    /// Organisational data that may name people (organisation notes).
    Organisational,
}

/// How a column's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// In plain form (only for non-personal or organisational data).
    Plain,
    /// Sealed with XChaCha20-Poly1305 under the data subject's key.
    SubjectSealed,
    /// Sealed under a tenant key (wrapped keys).
    TenantSealed,
    /// A keyed hash (HMAC) under a tenant key; not reversible without the key.
    KeyedHash,
    /// A one-way hash (Argon2id or SHA-256 of a random token).
    OneWayHash,
}

/// What erasure of the subject does to a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Erasure {
    /// The row is deleted.
    Delete,
    /// Identifiers of the subject inside the text are redacted.
    Redact,
    /// The value is replaced by a pseudonym.
    Anonymise,
    /// Nothing: the column is not personal.
    Keep,
}

/// One declared column.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// What it holds.
    pub category: Category,
    /// How it is stored.
    pub storage: Storage,
}

/// How a table's rows link to the data subject.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SubjectLink {
    /// Column holding the subject's user id (or a column leading to it).
    pub column: &'static str,
    /// What the link means (`owner`, `requester`, `author`, `collaborator`, …).
    pub role: &'static str,
}

/// One declared table.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// Why it exists (the processing purpose).
    pub purpose: &'static str,
    /// Links to data subjects; empty for tables without personal data.
    pub subjects: &'static [SubjectLink],
    /// What erasure of a linked subject does to the table's rows.
    pub erasure: Erasure,
    /// How long rows are kept.
    pub retention: &'static str,
    /// Whether the table is derived data that can be dropped and rebuilt.
    pub derived: bool,
    /// Every column.
    pub columns: &'static [Column],
}

impl Table {
    /// Whether any column holds personal data.
    pub fn is_personal(&self) -> bool {
        self.columns.iter().any(|c| c.category != Category::None)
    }
}

const fn col(name: &'static str) -> Column {
    Column {
        name,
        category: Category::None,
        storage: Storage::Plain,
    }
}
const fn sealed(name: &'static str, category: Category) -> Column {
    Column {
        name,
        category,
        storage: Storage::SubjectSealed,
    }
}

/// The map.
pub const TABLES: &[Table] = &[
    Table {
        name: "tenants",
        purpose: "Separating the organisations that share one installation",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        derived: false,
        columns: &[col("id"), col("subdomain"), col("name"), col("region"), col("created_at")],
    },
    Table {
        name: "vault_tenant_keys",
        purpose: "Encryption at rest: tenant keys wrapping the data keys",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        derived: false,
        columns: &[
            col("tenant_id"),
            Column {
                name: "wrapped",
                category: Category::Key,
                storage: Storage::TenantSealed,
            },
            col("created_at"),
        ],
    },
    Table {
        name: "vault_subject_keys",
        purpose: "Encryption at rest: one data key per person; destroying it shreds every copy of their data",
        subjects: &[SubjectLink { column: "id", role: "key of" }],
        erasure: Erasure::Delete,
        retention: "until the person is erased",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("subject_kind"),
            Column {
                name: "wrapped",
                category: Category::Key,
                storage: Storage::TenantSealed,
            },
            col("created_at"),
        ],
    },
    Table {
        name: "users",
        purpose: "Providing support: knowing who asks and who answers",
        subjects: &[SubjectLink { column: "id", role: "owner" }],
        erasure: Erasure::Delete,
        retention: "until erased; inactive end users per the retention policy",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("role"),
            col("key_id"),
            Column {
                name: "email_hash",
                category: Category::Derived,
                storage: Storage::KeyedHash,
            },
            sealed("email_enc", Category::Contact),
            sealed("name_enc", Category::Identifier),
            sealed("phone_enc", Category::Contact),
            sealed("details_enc", Category::Content),
            sealed("notes_enc", Category::Content),
            sealed("tags_enc", Category::Profile),
            sealed("external_id_enc", Category::Identifier),
            sealed("user_fields_enc", Category::Profile),
            col("organization_id"),
            col("locale"),
            col("time_zone"),
            col("verified"),
            col("active"),
            col("suspended"),
            Column {
                name: "password_hash",
                category: Category::Credential,
                storage: Storage::OneWayHash,
            },
            col("created_at"),
            col("updated_at"),
            col("deleted_at"),
            col("last_login_at"),
        ],
    },
    Table {
        name: "api_tokens",
        purpose: "Authenticating API clients",
        subjects: &[SubjectLink {
            column: "user_id",
            role: "owner",
        }],
        erasure: Erasure::Delete,
        retention: "until revoked or the user is erased",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("user_id"),
            col("kind"),
            Column {
                name: "token_hash",
                category: Category::Credential,
                storage: Storage::OneWayHash,
            },
            col("created_at"),
        ],
    },
    Table {
        name: "organizations",
        purpose: "Providing support to customer organisations",
        subjects: &[],
        erasure: Erasure::Redact,
        retention: "while the customer relationship lasts",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            Column {
                name: "name",
                category: Category::Organisational,
                storage: Storage::Plain,
            },
            Column {
                name: "details",
                category: Category::Organisational,
                storage: Storage::Plain,
            },
            Column {
                name: "notes",
                category: Category::Organisational,
                storage: Storage::Plain,
            },
            col("domain_names"),
            col("tags"),
            col("external_id"),
            col("group_id"),
            col("shared_tickets"),
            col("shared_comments"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "groups",
        purpose: "Routing tickets to teams of agents",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the group exists",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("name"),
            col("description"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "tickets",
        purpose: "Providing support: the requests people make",
        subjects: &[
            SubjectLink {
                column: "requester_id",
                role: "requester",
            },
            SubjectLink {
                column: "submitter_id",
                role: "submitter",
            },
            SubjectLink {
                column: "assignee_id",
                role: "assignee",
            },
        ],
        erasure: Erasure::Delete,
        retention: "closed tickets per the retention policy; trash 7 days",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("key_id"),
            col("requester_id"),
            col("submitter_id"),
            col("assignee_id"),
            col("group_id"),
            col("organization_id"),
            sealed("subject_enc", Category::Content),
            sealed("description_enc", Category::Content),
            col("status"),
            col("status_rank"),
            col("priority"),
            col("ticket_type"),
            sealed("tags_enc", Category::Profile),
            sealed("custom_fields_enc", Category::Profile),
            sealed("external_id_enc", Category::Identifier),
            col("due_at"),
            col("via"),
            col("created_at"),
            col("updated_at"),
            col("deleted_at"),
            col("deleted_by"),
        ],
    },
    Table {
        name: "ticket_collaborators",
        purpose: "Keeping CC'd people and followers informed",
        subjects: &[SubjectLink {
            column: "user_id",
            role: "collaborator",
        }],
        erasure: Erasure::Delete,
        retention: "with the ticket",
        derived: false,
        columns: &[col("tenant_id"), col("ticket_id"), col("user_id"), col("kind"), col("created_at")],
    },
    Table {
        name: "comments",
        purpose: "Providing support: the conversation on a ticket",
        subjects: &[
            SubjectLink {
                column: "author_id",
                role: "author",
            },
            SubjectLink {
                column: "ticket_id",
                role: "on the ticket of",
            },
        ],
        erasure: Erasure::Delete,
        retention: "with the ticket",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("ticket_id"),
            col("author_id"),
            col("key_id"),
            col("public"),
            sealed("body_enc", Category::Content),
            sealed("html_enc", Category::Content),
            col("via"),
            col("created_at"),
        ],
    },
    Table {
        name: "attachments",
        purpose: "Providing support: files sent with comments",
        subjects: &[
            SubjectLink {
                column: "uploader_id",
                role: "author",
            },
            SubjectLink {
                column: "ticket_id",
                role: "on the ticket of",
            },
        ],
        erasure: Erasure::Delete,
        retention: "with the ticket; unattached uploads 3 days",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("key_id"),
            col("uploader_id"),
            Column {
                name: "upload_token_hash",
                category: Category::Credential,
                storage: Storage::OneWayHash,
            },
            col("ticket_id"),
            col("comment_id"),
            sealed("file_name_enc", Category::Content),
            col("content_type"),
            col("size"),
            sealed("content_enc", Category::File),
            col("created_at"),
        ],
    },
    Table {
        name: "job_statuses",
        purpose: "Reporting the outcome of bulk operations (ids only)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "14 days",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("status"),
            col("total"),
            col("progress"),
            col("message"),
            col("results"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "search_postings",
        purpose: "Full-text search over tickets, users and organisations",
        subjects: &[SubjectLink {
            column: "doc_id",
            role: "indexed document",
        }],
        erasure: Erasure::Delete,
        retention: "rebuilt from the store; purged with the document",
        derived: true,
        columns: &[
            col("tenant_id"),
            Column {
                name: "token",
                category: Category::Derived,
                storage: Storage::KeyedHash,
            },
            col("doc_kind"),
            col("doc_id"),
        ],
    },
];

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Every declared (table, column) pair, sorted.
pub fn declared_columns() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<_> = TABLES.iter().flat_map(|t| t.columns.iter().map(move |c| (t.name, c.name))).collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_columns_are_never_plain_except_organisational() {
        for t in TABLES {
            for c in t.columns {
                let ok = match c.category {
                    Category::None => c.storage == Storage::Plain,
                    Category::Organisational => true,
                    _ => c.storage != Storage::Plain,
                };
                assert!(ok, "{}.{} holds {:?} but is stored {:?}", t.name, c.name, c.category, c.storage);
            }
        }
    }

    #[test]
    fn personal_tables_name_their_subjects() {
        for t in TABLES {
            let holds_subject_data = t
                .columns
                .iter()
                .any(|c| !matches!(c.category, Category::None | Category::Organisational | Category::Key));
            if holds_subject_data {
                assert!(!t.subjects.is_empty(), "{} holds personal data but names no subject link", t.name);
            }
            for s in t.subjects {
                assert!(
                    t.columns.iter().any(|c| c.name == s.column),
                    "{}: subject link {} is not a column",
                    t.name,
                    s.column
                );
            }
        }
    }
}
