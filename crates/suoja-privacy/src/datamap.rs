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
    /// Sealed in chunks under a random key of its own, which is sealed under the data
    /// subject's key (export packages): destroying the subject's key makes them unreadable.
    PackageSealed,
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
    /// The person's rows stay where they are, so a thread keeps its shape, with every personal
    /// column emptied (shown as removed at the person's request); or they are deleted, when
    /// the tenant chose that erased people's comments go. Handled from the declaration alone.
    Tombstone,
    /// As a tombstone, whatever the tenant chose for comments: the row opens a thread others
    /// answered (a community post), so it always keeps its place, emptied.
    Empty,
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
    /// Whether it is free text in which people may be named, and in what markup: the
    /// identifier matcher looks for a person in every such column (mentions, erasure).
    pub text: Option<Text>,
}

/// The markup of a free-text column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Text {
    /// Plain text.
    Plain,
    /// Sanitised HTML.
    Html,
    /// Plain text only staff read (notes about a person): like an internal note, left out of
    /// an export whose policy leaves internal notes out.
    StaffNotes,
    /// JSON whose `"value"` strings are text (a business rule's definition).
    Json,
}

impl Column {
    /// The column marked as free text in `markup`.
    const fn free(self, markup: Text) -> Column {
        Column { text: Some(markup), ..self }
    }
}

/// What a subject-link column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The subject's user id: the row is theirs or about them.
    User,
    /// The id of a ticket in the subject's footprint: the row is part of that ticket.
    Ticket,
    /// The subject's data key id.
    Key,
    /// An indexed document (ticket, user or organisation) in a derived index.
    Document,
}

/// How a table's rows link to the data subject.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SubjectLink {
    /// Column holding the subject's user id (or a column leading to it).
    pub column: &'static str,
    /// What the link means (`owner`, `requester`, `author`, `collaborator`, …).
    pub role: &'static str,
    /// What the column holds.
    pub via: Via,
    /// Whether a row linked by user id puts the person on the ticket in its `ticket_id` column
    /// (they requested it, wrote on it, follow it), so that ticket becomes part of their
    /// footprint. A row that only points at a ticket (a mention found there) does not.
    pub on_ticket: bool,
}

/// A link through a column holding the subject's user id.
pub const fn user(column: &'static str, role: &'static str) -> SubjectLink {
    SubjectLink {
        column,
        role,
        via: Via::User,
        on_ticket: true,
    }
}

/// A link through a column holding the subject's user id, on a row that points at other
/// people's records without putting the person on them.
pub const fn about(column: &'static str, role: &'static str) -> SubjectLink {
    SubjectLink {
        column,
        role,
        via: Via::User,
        on_ticket: false,
    }
}

/// A link through a column holding a ticket id.
pub const fn ticket(column: &'static str, role: &'static str) -> SubjectLink {
    SubjectLink {
        column,
        role,
        via: Via::Ticket,
        on_ticket: true,
    }
}

/// One declared table.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// Why it exists (the processing purpose).
    pub purpose: &'static str,
    /// The same in Finnish (for the records of processing and the processing agreement).
    pub purpose_fi: &'static str,
    /// Links to data subjects; empty for tables without personal data.
    pub subjects: &'static [SubjectLink],
    /// What erasure of a linked subject does to the table's rows.
    pub erasure: Erasure,
    /// How long rows are kept.
    pub retention: &'static str,
    /// The same in Finnish.
    pub retention_fi: &'static str,
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
        text: None,
    }
}
const fn sealed(name: &'static str, category: Category) -> Column {
    Column {
        name,
        category,
        storage: Storage::SubjectSealed,
        text: None,
    }
}

/// Plain text the tenant publishes or keeps about organisations, which may name people.
const fn plain_text(name: &'static str) -> Column {
    Column {
        name,
        category: Category::Organisational,
        storage: Storage::Plain,
        text: None,
    }
}

/// The map.
pub const TABLES: &[Table] = &[
    Table {
        name: "tenants",
        purpose: "Separating the organisations that share one installation",
        purpose_fi: "Saman asennuksen jakavien organisaatioiden erottaminen toisistaan",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        retention_fi: "niin kauan kuin organisaatio on olemassa",
        derived: false,
        columns: &[
            col("id"),
            col("subdomain"),
            col("name"),
            col("region"),
            col("created_at"),
            col("staff_second_factor"),
        ],
    },
    Table {
        name: "vault_tenant_keys",
        purpose: "Encryption at rest: tenant keys wrapping the data keys",
        purpose_fi: "Tallennettujen tietojen salaus: organisaation avaimet, jotka salaavat tietoavaimet",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        retention_fi: "niin kauan kuin organisaatio on olemassa",
        derived: false,
        columns: &[
            col("tenant_id"),
            Column {
                name: "wrapped",
                category: Category::Key,
                storage: Storage::TenantSealed,
                text: None,
            },
            col("created_at"),
            col("generation"),
            Column {
                name: "chain_key",
                category: Category::Key,
                storage: Storage::TenantSealed,
                text: None,
            },
        ],
    },
    Table {
        name: "vault_subject_keys",
        purpose: "Encryption at rest: one data key per person; destroying it shreds every copy of their data",
        purpose_fi: "Tallennettujen tietojen salaus: yksi tietoavain henkilöä kohden; sen hävittäminen tekee jokaisesta hänen tietojensa kopiosta lukukelvottoman",
        subjects: &[SubjectLink {
            column: "id",
            role: "key of",
            via: Via::Key,
            on_ticket: false,
        }],
        erasure: Erasure::Delete,
        retention: "until the person is erased",
        retention_fi: "kunnes henkilön tiedot poistetaan",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("subject_kind"),
            Column {
                name: "wrapped",
                category: Category::Key,
                storage: Storage::TenantSealed,
                text: None,
            },
            col("created_at"),
            col("bound"),
        ],
    },
    Table {
        name: "users",
        purpose: "Providing support: knowing who asks and who answers",
        purpose_fi: "Asiakastuki: tieto siitä, kuka kysyy ja kuka vastaa",
        subjects: &[user("id", "owner")],
        erasure: Erasure::Delete,
        retention: "until erased; inactive end users per the retention policy",
        retention_fi: "kunnes tiedot poistetaan; passiiviset loppukäyttäjät säilytyskäytännön mukaan",
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
                text: None,
            },
            sealed("email_enc", Category::Contact),
            sealed("name_enc", Category::Identifier),
            sealed("phone_enc", Category::Contact),
            sealed("details_enc", Category::Content).free(Text::StaffNotes),
            sealed("notes_enc", Category::Content).free(Text::StaffNotes),
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
                text: None,
            },
            col("created_at"),
            col("updated_at"),
            col("deleted_at"),
            col("last_login_at"),
            col("restricted"),
            col("privacy_officer"),
        ],
    },
    Table {
        name: "api_tokens",
        purpose: "Authenticating API clients",
        purpose_fi: "API-asiakkaiden tunnistaminen",
        subjects: &[user("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "until revoked or the user is erased",
        retention_fi: "kunnes tunnus perutaan tai käyttäjän tiedot poistetaan",
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
                text: None,
            },
            col("created_at"),
            Column {
                name: "description",
                category: Category::Organisational,
                storage: Storage::Plain,
                text: None,
            },
            col("scopes"),
            col("expires_at"),
        ],
    },
    Table {
        name: "organizations",
        purpose: "Providing support to customer organisations",
        purpose_fi: "Asiakastuki asiakasorganisaatioille",
        subjects: &[],
        erasure: Erasure::Redact,
        retention: "while the customer relationship lasts",
        retention_fi: "asiakassuhteen ajan",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            Column {
                name: "name",
                category: Category::Organisational,
                storage: Storage::Plain,
                text: Some(Text::Plain),
            },
            Column {
                name: "details",
                category: Category::Organisational,
                storage: Storage::Plain,
                text: Some(Text::Plain),
            },
            Column {
                name: "notes",
                category: Category::Organisational,
                storage: Storage::Plain,
                text: Some(Text::Plain),
            },
            col("domain_names"),
            col("tags"),
            col("external_id"),
            col("group_id"),
            col("shared_tickets"),
            col("shared_comments"),
            col("created_at"),
            col("updated_at"),
            Column {
                name: "organization_fields",
                category: Category::Organisational,
                storage: Storage::Plain,
                text: Some(Text::Plain),
            },
        ],
    },
    Table {
        name: "groups",
        purpose: "Routing tickets to teams of agents",
        purpose_fi: "Pyyntöjen ohjaaminen agenttitiimeille",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the group exists",
        retention_fi: "niin kauan kuin ryhmä on olemassa",
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
        name: "field_definitions",
        purpose: "Describing the fields of tickets, users and organisations: their titles and choices",
        purpose_fi: "Pyyntöjen, käyttäjien ja organisaatioiden kenttien kuvaus: otsikot ja valinnat",
        // What admins type: no one's values (those stay sealed with their records), but a title
        // or a choice may name someone, so the matcher reads them like any free text.
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the field exists",
        retention_fi: "niin kauan kuin kenttä on olemassa",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("owner"),
            col("system"),
            col("field_type"),
            col("field_key"),
            plain_text("title").free(Text::Plain),
            plain_text("description").free(Text::Plain),
            plain_text("title_in_portal").free(Text::Plain),
            col("position"),
            col("active"),
            col("required"),
            col("required_in_portal"),
            col("visible_in_portal"),
            col("editable_in_portal"),
            col("regexp"),
            col("tag"),
            plain_text("options").free(Text::Plain),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "ticket_forms",
        purpose: "Choosing which fields a ticket asks for",
        purpose_fi: "Pyynnön kysymien kenttien valinta",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the form exists",
        retention_fi: "niin kauan kuin lomake on olemassa",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            plain_text("name").free(Text::Plain),
            plain_text("display_name").free(Text::Plain),
            col("position"),
            col("active"),
            col("is_default"),
            col("end_user_visible"),
            col("field_ids"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "schedules",
        purpose: "Counting service targets in the team's business hours",
        purpose_fi: "Palvelutavoitteiden laskeminen tiimin aukioloaikoina",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the schedule exists",
        retention_fi: "niin kauan kuin aikataulu on olemassa",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            plain_text("name").free(Text::Plain),
            col("time_zone"),
            col("intervals"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "schedule_holidays",
        purpose: "Counting service targets in the team's business hours",
        purpose_fi: "Palvelutavoitteiden laskeminen tiimin aukioloaikoina",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the schedule exists",
        retention_fi: "niin kauan kuin aikataulu on olemassa",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("schedule_id"),
            plain_text("name").free(Text::Plain),
            col("start_date"),
            col("end_date"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "business_rules",
        purpose: "Organising agents' work: views of tickets and prepared replies (macros)",
        purpose_fi: "Agenttien työn järjestäminen: pyyntönäkymät ja valmiit vastaukset (makrot)",
        // What admins and agents type: a title, conditions, a prepared reply. A personal rule
        // is its agent's and goes with them; any rule's text may name someone, so the matcher
        // reads it like any free text.
        subjects: &[user("owner_id", "owner")],
        erasure: Erasure::Delete,
        retention: "while the rule exists; a personal one with its agent",
        retention_fi: "niin kauan kuin sääntö on olemassa; henkilökohtainen agenttinsa mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("kind"),
            col("rule_key"),
            col("owner_id"),
            plain_text("title").free(Text::Plain),
            plain_text("description").free(Text::Plain),
            col("active"),
            col("position"),
            plain_text("definition").free(Text::Json),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "tickets",
        purpose: "Providing support: the requests people make",
        purpose_fi: "Asiakastuki: ihmisten tekemät pyynnöt",
        subjects: &[
            user("requester_id", "requester"),
            user("submitter_id", "submitter"),
            user("assignee_id", "assignee"),
        ],
        erasure: Erasure::Delete,
        retention: "closed tickets per the retention policy; trash 7 days",
        retention_fi: "suljetut pyynnöt säilytyskäytännön mukaan; roskakorissa 7 päivää",
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
            sealed("subject_enc", Category::Content).free(Text::Plain),
            sealed("description_enc", Category::Content).free(Text::Plain),
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
            col("restricted"),
            col("closed_at"),
            col("ticket_form_id"),
            col("sla_breach_at"),
        ],
    },
    Table {
        name: "ticket_tags",
        purpose: "Finding the tickets a legal hold by tag keeps",
        purpose_fi: "Tunnisteeseen perustuvan säilytysvelvoitteen koskemien pyyntöjen löytäminen",
        subjects: &[ticket("ticket_id", "tag on the ticket of")],
        erasure: Erasure::Delete,
        retention: "with the ticket",
        retention_fi: "pyynnön mukana",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("ticket_id"),
            Column {
                name: "tag_hash",
                category: Category::Derived,
                storage: Storage::KeyedHash,
                text: None,
            },
        ],
    },
    Table {
        name: "ticket_tags_backfill",
        purpose: "Filling in the tag index once for tickets from before it existed",
        purpose_fi: "Tunnisteindeksin täyttäminen kerran sitä vanhemmille pyynnöille",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "until the server has filled in the tenant's tag index",
        retention_fi: "kunnes palvelin on täyttänyt organisaation tunnisteindeksin",
        derived: false,
        columns: &[col("tenant_id")],
    },
    Table {
        name: "ticket_external_id_backfill",
        purpose: "Indexing once the external ids of tickets from before that index existed",
        purpose_fi: "Ulkoisten tunnisteiden indeksointi kerran sitä vanhemmille pyynnöille",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "until the server has indexed the tenant's tickets' external ids",
        retention_fi: "kunnes palvelin on indeksoinut organisaation pyyntöjen ulkoiset tunnisteet",
        derived: false,
        columns: &[col("tenant_id")],
    },
    Table {
        name: "ticket_collaborators",
        purpose: "Keeping CC'd people and followers informed",
        purpose_fi: "Kopion saajien ja seuraajien pitäminen ajan tasalla",
        subjects: &[user("user_id", "collaborator"), ticket("ticket_id", "on the ticket of")],
        erasure: Erasure::Delete,
        retention: "with the ticket",
        retention_fi: "pyynnön mukana",
        derived: false,
        columns: &[col("tenant_id"), col("ticket_id"), col("user_id"), col("kind"), col("created_at")],
    },
    Table {
        name: "comments",
        purpose: "Providing support: the conversation on a ticket",
        purpose_fi: "Asiakastuki: pyynnön keskustelu",
        subjects: &[user("author_id", "author"), ticket("ticket_id", "on the ticket of")],
        erasure: Erasure::Delete,
        retention: "with the ticket",
        retention_fi: "pyynnön mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("ticket_id"),
            col("author_id"),
            col("key_id"),
            col("public"),
            sealed("body_enc", Category::Content).free(Text::Plain),
            sealed("html_enc", Category::Content).free(Text::Html),
            col("via"),
            col("created_at"),
        ],
    },
    Table {
        name: "attachments",
        purpose: "Providing support: files sent with comments",
        purpose_fi: "Asiakastuki: kommenttien mukana lähetetyt tiedostot",
        subjects: &[user("uploader_id", "author"), ticket("ticket_id", "on the ticket of")],
        erasure: Erasure::Delete,
        retention: "with the ticket; unattached uploads 3 days",
        retention_fi: "pyynnön mukana; liittämättömät lataukset 3 päivää",
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
                text: None,
            },
            col("ticket_id"),
            col("comment_id"),
            sealed("file_name_enc", Category::Content),
            col("content_type"),
            col("size"),
            sealed("content_enc", Category::File),
            col("created_at"),
            col("redacted_at"),
            // The random name of the blob holding `content_enc` when files go to a blob store
            // (the blob is the same ciphertext, deleted with the row: see `blob_trash`).
            col("blob_key"),
        ],
    },
    Table {
        name: "job_statuses",
        purpose: "Reporting the outcome of bulk operations (ids only)",
        purpose_fi: "Joukkotoimintojen tulosten raportointi (vain tunnukset)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "14 days",
        retention_fi: "14 päivää",
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
        name: "search_index",
        purpose: "Full-text search over tickets, users and organisations",
        purpose_fi: "Pyyntöjen, käyttäjien ja organisaatioiden vapaatekstihaku",
        subjects: &[SubjectLink {
            column: "doc_id",
            role: "indexed document",
            via: Via::Document,
            on_ticket: false,
        }],
        erasure: Erasure::Delete,
        retention: "rebuilt from the store; purged with the document",
        retention_fi: "rakennetaan uudelleen tallennetuista tiedoista; poistetaan asiakirjan mukana",
        derived: true,
        columns: &[
            col("tenant_id"),
            col("doc_kind"),
            col("doc_id"),
            Column {
                name: "public",
                category: Category::Derived,
                storage: Storage::KeyedHash,
                text: None,
            },
            Column {
                name: "internal",
                category: Category::Derived,
                storage: Storage::KeyedHash,
                text: None,
            },
        ],
    },
    Table {
        name: "privacy_requests",
        purpose: "Answering data-subject requests and proving it (GDPR Art. 12, accountability)",
        purpose_fi: "Rekisteröityjen pyyntöihin vastaaminen ja sen osoittaminen (tietosuoja-asetuksen 12 artikla, osoitusvelvollisuus)",
        subjects: &[user("subject_id", "subject of the request")],
        erasure: Erasure::Anonymise,
        retention: "3 years after the request is closed; reasons and changes are sealed under the person's key",
        retention_fi: "3 vuotta pyynnön sulkemisen jälkeen; perustelut ja muutokset salattuina henkilön avaimella",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("subject_id"),
            col("kind"),
            col("channel"),
            col("status"),
            col("opened_by"),
            col("received_at"),
            col("due_at"),
            col("original_due_at"),
            col("extended_at"),
            col("verified_at"),
            col("verification"),
            col("closed_at"),
            col("outcome_code"),
            col("key_id"),
            sealed("details_enc", Category::Content),
            col("withheld"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "privacy_verifications",
        purpose: "Checking the identity of a person who asks for their data, by a link to an address on record",
        purpose_fi: "Tietojaan pyytävän henkilön henkilöllisyyden tarkistaminen lähettämällä linkki tiedossa olevaan sähköpostiosoitteeseen",
        subjects: &[user("subject_id", "person being verified")],
        erasure: Erasure::Delete,
        retention: "valid 24 hours; deleted a day after expiry",
        retention_fi: "voimassa 24 tuntia; poistetaan vuorokausi vanhenemisen jälkeen",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("request_id"),
            col("subject_id"),
            col("reference"),
            Column {
                name: "token_hash",
                category: Category::Credential,
                storage: Storage::OneWayHash,
                text: None,
            },
            col("expires_at"),
            col("attempts"),
            col("used_at"),
            col("created_at"),
        ],
    },
    Table {
        name: "mail_outbox",
        purpose: "Messages to people: verification links, notices about their requests",
        purpose_fi: "Viestit ihmisille: vahvistuslinkit ja ilmoitukset heidän pyynnöistään",
        subjects: &[user("user_id", "recipient")],
        erasure: Erasure::Delete,
        retention: "30 days",
        retention_fi: "30 päivää",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("user_id"),
            col("kind"),
            sealed("body_enc", Category::Content),
            col("created_at"),
            col("sent_at"),
            col("ticket_id"),
            col("status"),
            col("attempts"),
            col("next_attempt_at"),
            col("leased_until"),
            // `<suoja.…@host>`: ids and random letters only.
            col("message_id"),
            // The mail server's status code only (`550 5.1.1`), never its text.
            col("error"),
        ],
    },
    Table {
        name: "mail_messages",
        purpose: "The original of each e-mail received (the sender's words and the addresses they wrote to), for agents and for the sender's export",
        purpose_fi: "Jokaisen vastaanotetun sähköpostin alkuperäinen sisältö (lähettäjän teksti ja osoitteet, joihin viesti lähetettiin) tukihenkilöille ja lähettäjän tietopakettiin",
        subjects: &[user("user_id", "sender")],
        erasure: Erasure::Delete,
        retention: "with its ticket; with its comment when that is redacted; with the erasure of anyone it was addressed to",
        retention_fi: "pyyntönsä mukana; kommenttinsa mukana, kun se peitetään; kenen tahansa vastaanottajan tietojen poiston mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("user_id"),
            col("ticket_id"),
            col("comment_id"),
            col("key_id"),
            Column {
                name: "dedupe_hash",
                category: Category::Derived,
                storage: Storage::KeyedHash,
                text: None,
            },
            sealed("raw_enc", Category::File),
            // The blob holding `raw_enc` when files go to a blob store (see `blob_trash`).
            col("blob_key"),
            col("size"),
            col("created_at"),
        ],
    },
    Table {
        name: "mail_recipients",
        purpose: "Who else an e-mail received was addressed to: their erasure takes the message",
        purpose_fi: "Keille muille vastaanotettu sähköposti oli osoitettu: heidän tietojensa poistaminen poistaa myös viestin",
        subjects: &[about("user_id", "recipient")],
        erasure: Erasure::Delete,
        retention: "with the message",
        retention_fi: "viestin mukana",
        derived: false,
        columns: &[col("tenant_id"), col("mail_id"), col("user_id")],
    },
    Table {
        name: "mail_seen",
        purpose: "Messages to the privacy address already handled, so a second delivery opens no second request",
        purpose_fi: "Jo käsitellyt tietosuojaosoitteeseen tulleet viestit, jotta toinen toimitus ei avaa toista pyyntöä",
        subjects: &[about("user_id", "sender")],
        erasure: Erasure::Delete,
        retention: "30 days",
        retention_fi: "30 päivää",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("user_id"),
            Column {
                name: "dedupe_hash",
                category: Category::Derived,
                storage: Storage::KeyedHash,
                text: None,
            },
            col("created_at"),
        ],
    },
    Table {
        name: "mail_threads",
        purpose: "Threading replies: which ticket a Message-ID received or sent belongs to",
        purpose_fi: "Vastausten ketjuttaminen: mihin pyyntöön vastaanotettu tai lähetetty Message-ID kuuluu",
        subjects: &[ticket("ticket_id", "message on the ticket of")],
        erasure: Erasure::Delete,
        retention: "with the ticket",
        retention_fi: "pyynnön mukana",
        derived: false,
        columns: &[
            col("tenant_id"),
            Column {
                name: "message_hash",
                category: Category::Derived,
                storage: Storage::KeyedHash,
                text: None,
            },
            col("ticket_id"),
            col("created_at"),
        ],
    },
    Table {
        name: "ledger",
        purpose: "Accountability: a tamper-evident record of every privacy action and admin change (opaque ids; the audit log's client addresses sealed under the staff member's key and a key of their 30-day period)",
        purpose_fi: "Osoitusvelvollisuus: peukaloinnin paljastava kirjaus jokaisesta tietosuojatoimesta ja ylläpidon muutoksesta (tunnukset; tapahtumalokin IP-osoitteet salattuina henkilöstön jäsenen avaimella ja 30 päivän jakson avaimella)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "for the life of the installation",
        retention_fi: "asennuksen koko elinkaaren ajan",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("seq"),
            col("at"),
            col("kind"),
            col("subject_id"),
            col("actor_id"),
            col("details"),
            col("prev_hash"),
            col("hash"),
        ],
    },
    Table {
        name: "audit_address_keys",
        purpose: "Keeping the admin audit log's client addresses only as long as the tenant chooses (a key per 30 days, destroyed by the audit_addresses retention policy)",
        purpose_fi: "Ylläpidon tapahtumalokin IP-osoitteiden säilyttäminen vain organisaation valitseman ajan (avain 30 päivää kohden, jonka audit_addresses-säilytyskäytäntö hävittää)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "the audit_addresses retention policy (12 months unless changed)",
        retention_fi: "audit_addresses-säilytyskäytännön mukaan (12 kuukautta, ellei muuteta)",
        derived: false,
        columns: &[col("tenant_id"), col("period"), col("key_id"), col("created_at")],
    },
    Table {
        name: "ledger_heads",
        purpose: "Accountability: the newest ledger entry, so removing entries at the end is detected",
        purpose_fi: "Osoitusvelvollisuus: kirjanpidon uusin merkintä, jotta lopusta poistetut merkinnät huomataan",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "for the life of the installation",
        retention_fi: "asennuksen koko elinkaaren ajan",
        derived: false,
        columns: &[col("tenant_id"), col("seq"), col("hash")],
    },
    Table {
        name: "consultations",
        purpose: "Security and transparency: who (by role) viewed a person's data, when and why",
        purpose_fi: "Tietoturva ja läpinäkyvyys: kuka (roolin mukaan) katseli henkilön tietoja, milloin ja miksi",
        subjects: &[user("subject_id", "person whose data was viewed")],
        erasure: Erasure::Delete,
        retention: "2 years",
        retention_fi: "2 vuotta",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("subject_id"),
            col("at"),
            col("actor_id"),
            col("actor_role"),
            col("action"),
            col("purpose"),
            col("token_id"),
            col("node"),
        ],
    },
    Table {
        name: "breaches",
        purpose: "Documenting personal-data breaches and notifying them (GDPR Art. 33 and 34)",
        purpose_fi: "Henkilötietojen tietoturvaloukkausten dokumentointi ja niistä ilmoittaminen (tietosuoja-asetuksen 33 ja 34 artikla)",
        // The register is the controller's record (Art. 33(5)): erasing the member of staff who
        // recorded a breach leaves it, naming them by an id that no longer resolves.
        subjects: &[about("recorded_by", "recorded a breach")],
        erasure: Erasure::Keep,
        retention: "5 years after the breach is closed; its text is sealed under a key of its own",
        retention_fi: "5 vuotta loukkauksen sulkemisen jälkeen; teksti salattuna loukkauksen omalla avaimella",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("state"),
            col("aware_at"),
            col("occurred_at"),
            col("recorded_by"),
            col("key_id"),
            sealed("details_enc", Category::Content),
            col("data_categories"),
            col("people_categories"),
            col("notify_authority"),
            col("notify_people"),
            col("authority_notified_at"),
            col("people_notified_at"),
            col("closed_at"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "breach_people",
        purpose: "Knowing whom a breach affected and proving they were told (GDPR Art. 33(5) and 34)",
        purpose_fi: "Tieto siitä, keihin loukkaus kohdistui, ja näyttö heille ilmoittamisesta (33 artiklan 5 kohta ja 34 artikla)",
        // Kept under the controller's legal obligation to document breaches (Art. 17(3)(b)):
        // ids, category codes and counts, never the exposed values themselves.
        subjects: &[about("user_id", "affected by a breach")],
        erasure: Erasure::Keep,
        retention: "as long as the breach it belongs to",
        retention_fi: "niin kauan kuin loukkaus, johon ne kuuluvat",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("breach_id"),
            col("user_id"),
            col("categories"),
            col("records"),
            col("notified_at"),
        ],
    },
    Table {
        name: "export_packages",
        purpose: "Delivering access and portability exports to the person",
        purpose_fi: "Tietopakettien toimittaminen henkilölle (pääsyoikeus ja siirto-oikeus)",
        subjects: &[user("subject_id", "person exported")],
        erasure: Erasure::Delete,
        retention: "7 days",
        retention_fi: "7 päivää",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("request_id"),
            col("subject_id"),
            col("format"),
            sealed("content_enc", Category::File),
            col("size"),
            col("created_at"),
            col("expires_at"),
            col("downloads"),
            col("status"),
            col("chunks"),
            Column {
                name: "file_key_enc",
                category: Category::Key,
                storage: Storage::SubjectSealed,
                text: None,
            },
            col("heartbeat_at"),
            col("started_by"),
            col("build_options"),
            col("build_attempt"),
        ],
    },
    Table {
        name: "export_chunks",
        purpose: "Delivering access and portability exports to the person (the package's content)",
        purpose_fi: "Tietopakettien toimittaminen henkilölle (paketin sisältö)",
        subjects: &[user("subject_id", "person exported")],
        erasure: Erasure::Delete,
        retention: "7 days, with their package",
        retention_fi: "7 päivää, pakettinsa mukana",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("package_id"),
            col("subject_id"),
            col("seq"),
            Column {
                name: "content_enc",
                category: Category::File,
                storage: Storage::PackageSealed,
                text: None,
            },
            // The blob holding `content_enc` when files go to a blob store (see `blob_trash`).
            col("blob_key"),
        ],
    },
    Table {
        name: "webhooks",
        purpose: "Recipients: outbound integrations the operator registered",
        purpose_fi: "Vastaanottajat: ylläpitäjän rekisteröimät lähtevät integraatiot",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while registered",
        retention_fi: "niin kauan kuin rekisteröity",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("name"),
            col("endpoint"),
            col("status"),
            col("subscriptions"),
            col("signing_salt"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "disclosures",
        purpose: "Telling recipients about corrections, restrictions and erasures (GDPR Art. 19)",
        purpose_fi: "Vastaanottajille ilmoittaminen oikaisuista, poistoista ja käsittelyn rajoittamisesta (19 artikla)",
        subjects: &[user("subject_id", "person whose data was disclosed")],
        erasure: Erasure::Keep,
        retention: "3 years (opaque ids only)",
        retention_fi: "3 vuotta (vain tunnuksia)",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("subject_id"),
            col("recipient_id"),
            col("event"),
            col("categories"),
            col("outcome"),
            col("at"),
        ],
    },
    Table {
        name: "work_queue",
        purpose: "Durable background work (deliveries, exports); payloads hold ids only",
        purpose_fi: "Taustatehtävien luotettava jono (toimitukset, tietopaketit); tehtävät sisältävät vain tunnuksia",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "14 days after completion",
        retention_fi: "14 päivää valmistumisen jälkeen",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("kind"),
            col("payload"),
            col("state"),
            col("attempts"),
            col("run_after"),
            col("locked_until"),
            col("last_error"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "cluster_nodes",
        purpose: "The nodes serving the database: each node's name, version and last heartbeat (no one's personal data)",
        purpose_fi: "Tietokantaa palvelevat solmut: kunkin solmun nimi, versio ja viimeisin elonmerkki (ei kenenkään henkilötietoja)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the node runs; a silent node is forgotten after ten minutes",
        retention_fi: "solmun toiminnan ajan; vaiennut solmu unohdetaan kymmenen minuutin kuluttua",
        derived: false,
        columns: &[col("name"), col("version"), col("started_at"), col("seen_at")],
    },
    Table {
        name: "cluster_turns",
        purpose: "Which node last took its turn at work run once per interval across the nodes (retention sweep, automations), and when",
        purpose_fi: "Mikä solmu viimeksi hoiti kerran jaksossa koko klusterissa tehtävän työn (säilytysajat, automaatiot) ja milloin",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "for the life of the installation (one row per kind of work)",
        retention_fi: "asennuksen koko elinkaaren ajan (rivi työn lajia kohden)",
        derived: false,
        columns: &[col("name"), col("node"), col("started_at")],
    },
    Table {
        name: "erasure_log",
        purpose: "The erasure ledger's lines (completed erasures and redactions, backups' checkpoints: ids and times only), so every node and every restore can apply them again",
        purpose_fi: "Poistokirjanpidon rivit (tehdyt poistot ja peitot sekä varmuuskopioiden tarkistuspisteet: vain tunnuksia ja aikoja), jotta jokainen solmu ja jokainen palautus voi toistaa ne",
        // Ids only: an erased person's id stays, so that a restore can erase them again.
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "for the life of the installation (opaque ids and times)",
        retention_fi: "asennuksen koko elinkaaren ajan (vain tunnuksia ja aikoja)",
        derived: false,
        columns: &[col("id"), col("digest"), col("line"), col("written_at")],
    },
    Table {
        name: "import_map",
        purpose: "Records brought over from another helpdesk: each record's id at the source and its id here (ids only), so a repeated or resumed import changes nothing",
        purpose_fi: "Toisesta asiakaspalvelujärjestelmästä tuodut tietueet: kunkin tietueen tunnus lähteessä ja täällä (vain tunnuksia), jotta toistettu tai jatkettu tuonti ei muuta mitään",
        // `local_id` names a user, a ticket or an organisation by `kind`, so it links no one by
        // itself; the rows say nothing about anyone beyond which id came from where.
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "for the life of the tenant, so that a later import does not bring an erased person back (opaque ids only)",
        retention_fi: "vuokralaisen koko elinkaaren ajan, jotta myöhempi tuonti ei palauta poistettua henkilöä (vain tunnuksia)",
        derived: false,
        columns: &[col("tenant_id"), col("source"), col("kind"), col("source_id"), col("local_id")],
    },
    Table {
        name: "blob_trash",
        purpose: "Blobs of deleted or replaced files waiting to be deleted from the blob store and checked gone (random names only)",
        purpose_fi: "Poistettujen tai korvattujen tiedostojen blobit, jotka odottavat poistoa tallennuspalvelusta ja sen tarkistusta (vain satunnaisia nimiä)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "until the blob is deleted (seconds)",
        retention_fi: "kunnes blob on poistettu (sekunteja)",
        derived: false,
        columns: &[col("id"), col("tenant_id"), col("blob_key"), col("claimed_at")],
    },
    Table {
        name: "import_checkpoints",
        purpose: "Where each stage of an import from another helpdesk stands (the source's cursor), so an interrupted import resumes",
        purpose_fi: "Mihin kukin toisesta järjestelmästä tuonnin vaihe on edennyt (lähteen kohdistin), jotta keskeytynyt tuonti jatkuu",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "for the life of the tenant (one row per stage and source; no one's personal data)",
        retention_fi: "vuokralaisen koko elinkaaren ajan (rivi vaihetta ja lähdettä kohden; ei kenenkään henkilötietoja)",
        derived: false,
        columns: &[col("tenant_id"), col("source"), col("stage"), col("position"), col("updated_at")],
    },
    Table {
        name: "erasures",
        purpose: "Erasure jobs and their evidence (GDPR Art. 17): plan, steps done, what holds kept; ids and counts only",
        purpose_fi: "Poistotyöt ja niiden näyttö (17 artikla): suunnitelma, tehdyt vaiheet ja se, mitä säilytysvelvoitteiden vuoksi säilytettiin; vain tunnuksia ja lukumääriä",
        subjects: &[user("subject_id", "person erased")],
        erasure: Erasure::Keep,
        retention: "for the life of the installation (opaque ids and counts)",
        retention_fi: "asennuksen koko elinkaaren ajan (vain tunnuksia ja lukumääriä)",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("subject_id"),
            col("subject_role"),
            col("request_id"),
            col("origin"),
            col("state"),
            col("step"),
            col("pass"),
            Column {
                name: "plan",
                category: Category::Derived,
                storage: Storage::KeyedHash,
                text: None,
            },
            col("done"),
            col("held"),
            col("error"),
            col("actor_id"),
            col("leased_until"),
            col("created_at"),
            col("updated_at"),
            col("completed_at"),
            col("ledger_hash"),
        ],
    },
    Table {
        name: "legal_holds",
        purpose: "Legal holds (GDPR Art. 17(3)): data kept despite erasure, with ground, approver and expiry",
        purpose_fi: "Säilytysvelvoitteet (17 artiklan 3 kohta): poistosta huolimatta säilytettävät tiedot perusteineen, hyväksyjineen ja päättymisaikoineen",
        subjects: &[user("subject_id", "person under a hold"), ticket("ticket_id", "ticket under a hold")],
        erasure: Erasure::Keep,
        retention: "while in force, then 3 years as evidence",
        retention_fi: "voimassaolon ajan, sitten 3 vuotta näyttönä",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("scope"),
            col("subject_id"),
            col("ticket_id"),
            Column {
                name: "tag",
                category: Category::Organisational,
                storage: Storage::Plain,
                text: None,
            },
            col("ground"),
            Column {
                name: "reference",
                category: Category::Organisational,
                storage: Storage::Plain,
                text: None,
            },
            col("approver_id"),
            col("created_by"),
            col("created_at"),
            col("expires_at"),
            col("released_at"),
            col("released_by"),
        ],
    },
    Table {
        name: "privacy_settings",
        purpose: "The tenant's choices of what erasure does where the law leaves a choice",
        purpose_fi: "Organisaation valinnat siitä, mitä poisto tekee, kun laki jättää valinnan",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        retention_fi: "niin kauan kuin organisaatio on olemassa",
        derived: false,
        columns: &[col("tenant_id"), col("erasure_comments"), col("updated_by"), col("updated_at")],
    },
    Table {
        name: "controller_details",
        purpose: "Naming the controller and its data protection officer in the records of processing and breach notifications",
        purpose_fi: "Rekisterinpitäjän ja sen tietosuojavastaavan nimeäminen selosteessa ja loukkausilmoituksissa",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        retention_fi: "niin kauan kuin organisaatio on olemassa",
        derived: false,
        columns: &[
            col("tenant_id"),
            plain_text("name"),
            plain_text("contact"),
            plain_text("dpo_contact"),
            col("subprocessor_notice_days"),
            col("updated_by"),
            col("updated_at"),
        ],
    },
    Table {
        name: "subprocessors",
        purpose: "Knowing and publishing the sub-processors the tenant uses (GDPR Art. 28)",
        purpose_fi: "Organisaation käyttämien alikäsittelijöiden kirjaaminen ja julkaiseminen (28 artikla)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists (ended ones stay listed with their end date)",
        retention_fi: "niin kauan kuin organisaatio on olemassa (päättyneet jäävät luetteloon päättymispäivineen)",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            plain_text("name"),
            plain_text("service"),
            plain_text("location"),
            plain_text("safeguard"),
            col("starts_at"),
            col("ends_at"),
            col("created_by"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "subprocessor_subscribers",
        purpose: "Telling people who asked of a new sub-processor before it starts (GDPR Art. 28(2))",
        purpose_fi: "Uudesta alikäsittelijästä ilmoittaminen ilmoituksen tilanneille ennen kuin se aloittaa käsittelyn (28 artiklan 2 kohta)",
        subjects: &[about("user_id", "subscriber")],
        erasure: Erasure::Delete,
        retention: "until unsubscribed; erased with the person",
        retention_fi: "kunnes tilaus perutaan; poistetaan henkilön tietojen mukana",
        derived: false,
        columns: &[col("tenant_id"), col("user_id"), col("created_at")],
    },
    Table {
        name: "security_settings",
        purpose: "Restricting staff and API access to the organisation's networks, and the tenant's sign-in rules",
        purpose_fi: "Henkilöstön ja API-käytön rajaaminen organisaation verkkoihin sekä organisaation kirjautumissäännöt",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        retention_fi: "niin kauan kuin organisaatio on olemassa",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("ip_restriction"),
            plain_text("allowed_ranges"),
            col("restrict_end_users"),
            col("password_min_length"),
            col("password_history"),
            col("session_idle_minutes"),
            col("session_absolute_hours"),
            col("end_user_second_factor"),
            col("sign_in_alerts"),
            col("updated_by"),
            col("updated_at"),
        ],
    },
    Table {
        name: "recovery_codes",
        purpose: "Signing in when the second factor is lost (single-use recovery codes)",
        purpose_fi: "Kirjautuminen, kun toinen tunnistustapa on kadonnut (kertakäyttöiset palautuskoodit)",
        subjects: &[about("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "until replaced, the second factor removed, or the person erased",
        retention_fi: "kunnes koodit vaihdetaan, toinen tunnistustapa poistetaan tai henkilön tiedot poistetaan",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("user_id"),
            Column {
                name: "code_hash",
                category: Category::Credential,
                storage: Storage::OneWayHash,
                text: None,
            },
            col("created_at"),
            col("used_at"),
        ],
    },
    Table {
        name: "known_devices",
        purpose: "Telling staff of a sign-in from a browser they have not used before",
        purpose_fi: "Henkilöstölle kertominen kirjautumisesta selaimella, jota he eivät ole ennen käyttäneet",
        subjects: &[about("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "180 days after the browser's last sign-in; erased with the person",
        retention_fi: "180 päivää selaimen viimeisestä kirjautumisesta; poistetaan henkilön tietojen mukana",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("user_id"),
            Column {
                name: "device_hash",
                category: Category::Identifier,
                storage: Storage::OneWayHash,
                text: None,
            },
            col("first_seen_at"),
            col("last_seen_at"),
        ],
    },
    Table {
        name: "password_history",
        purpose: "Refusing a person's last few passwords when the tenant's rules ask for it",
        purpose_fi: "Henkilön viimeisimpien salasanojen uudelleenkäytön estäminen, kun organisaation säännöt niin vaativat",
        subjects: &[about("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "the tenant's number of remembered passwords; erased with the person",
        retention_fi: "organisaation muistettavien salasanojen määrä; poistetaan henkilön tietojen mukana",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("user_id"),
            Column {
                name: "hash",
                category: Category::Credential,
                storage: Storage::OneWayHash,
                text: None,
            },
            col("created_at"),
        ],
    },
    Table {
        name: "mail_settings",
        purpose: "Which ticket notifications the tenant sends, its own support and privacy addresses (the organisation's, not a person's), and its own SMTP server, sealed under that server's own key",
        purpose_fi: "Mitä pyyntöjen ilmoituksia organisaatio lähettää, sen omat tuki- ja tietosuojaosoitteet (organisaation, ei henkilön) ja oma SMTP-palvelin, salattuna palvelimen omalla avaimella",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        retention_fi: "niin kauan kuin organisaatio on olemassa",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("notify_received"),
            col("notify_replies"),
            col("notify_assignee"),
            col("support_address"),
            col("privacy_address"),
            col("smtp_key_id"),
            col("smtp_enc"),
            col("updated_by"),
            col("updated_at"),
        ],
    },
    Table {
        name: "mail_mailboxes",
        purpose: "The IMAP mailboxes the tenant's admins added: server, folder and credentials sealed under the mailbox's own key, destroyed with it",
        purpose_fi: "Ylläpitäjien lisäämät IMAP-postilaatikot: palvelin, kansio ja tunnukset salattuina postilaatikon omalla avaimella, joka hävitetään sen mukana",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "until an admin removes the mailbox",
        retention_fi: "kunnes ylläpitäjä poistaa postilaatikon",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("key_id"),
            col("url_enc"),
            col("last_ok_at"),
            col("last_error"),
            col("leased_until"),
            col("lease_owner"),
            col("created_by"),
            col("created_at"),
        ],
    },
    Table {
        name: "ticket_events",
        purpose: "A ticket's history of redactions: what was redacted, by whom and when, never the text",
        purpose_fi: "Pyynnön peittohistoria: mitä peitettiin, kuka peitti ja milloin, ei koskaan itse tekstiä",
        subjects: &[ticket("ticket_id", "history of the ticket of"), user("actor_id", "staff who redacted")],
        erasure: Erasure::Keep,
        retention: "with the ticket",
        retention_fi: "pyynnön mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("ticket_id"),
            col("actor_id"),
            col("kind"),
            col("comment_id"),
            col("attachment_id"),
            col("field_id"),
            col("created_at"),
        ],
    },
    Table {
        name: "ticket_audits",
        purpose: "A ticket's audits: every change to it (fields with their previous values, comments, CCs, notifications sent, redactions), as integrations read them",
        purpose_fi: "Pyynnön muutoshistoria: jokainen muutos (kentät aiempine arvoineen, kommentit, kopiot, lähetetyt ilmoitukset, peitot) integraatioiden luettavaksi",
        subjects: &[ticket("ticket_id", "history of the ticket of"), about("author_id", "who made the change")],
        erasure: Erasure::Keep,
        retention: "with the ticket",
        retention_fi: "pyynnön mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("ticket_id"),
            col("author_id"),
            col("via"),
            col("events"),
            col("key_id"),
            sealed("values_enc", Category::Content),
            col("created_at"),
        ],
    },
    Table {
        name: "ticket_metric_events",
        purpose: "Measuring service levels: when each of a ticket's clocks (replies, waiting, resolution) started, paused, was met or missed, and which SLA policy applied",
        purpose_fi: "Palvelutasojen mittaus: milloin kunkin pyynnön kellot (vastaukset, odotus, ratkaisu) käynnistyivät, pysähtyivät, täyttyivät tai ylittyivät ja mikä SLA-käytäntö oli voimassa",
        subjects: &[ticket("ticket_id", "clocks of the ticket of")],
        erasure: Erasure::Keep,
        retention: "with the ticket",
        retention_fi: "pyynnön mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("ticket_id"),
            col("metric"),
            col("instance_id"),
            col("type"),
            col("occurred_at"),
            col("policy_id"),
            col("target"),
            col("business_hours"),
            col("calendar_minutes"),
            col("business_minutes"),
            col("deleted"),
            col("recorded_at"),
        ],
    },
    Table {
        name: "web_sessions",
        purpose: "Signing people in to the web interface (sessions, second-factor steps, one-time sign-in links)",
        purpose_fi: "Kirjautuminen verkkokäyttöliittymään (istunnot, toisen vaiheen tarkistukset, kertakäyttöiset kirjautumislinkit)",
        subjects: &[user("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "until signed out or expired (the tenant's absolute limit, 12 hours unless changed; links 15 minutes)",
        retention_fi: "kunnes käyttäjä kirjautuu ulos tai istunto vanhenee (organisaation enimmäiskesto, 12 tuntia ellei muuteta; linkit 15 minuuttia)",
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
                text: None,
            },
            col("created_at"),
            col("last_seen_at"),
            col("expires_at"),
        ],
    },
    Table {
        name: "privacy_mentions",
        purpose: "Reviewing mentions: passages in other people's text that may be about the person a privacy request is for, and the decision on each (ids and codes, never the text)",
        purpose_fi: "Mainintojen arviointi: muiden kirjoittamien tekstien kohdat, jotka voivat koskea henkilöä, jota tietosuojapyyntö koskee, ja päätös kustakin (tunnukset ja koodit, ei tekstiä)",
        subjects: &[about("subject_id", "mentioned")],
        erasure: Erasure::Delete,
        retention: "with the request; deleted when the person is erased",
        retention_fi: "pyynnön mukana; poistetaan henkilön tietojen mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("request_id"),
            col("subject_id"),
            col("source"),
            col("source_id"),
            col("ticket_id"),
            col("strength"),
            col("classes"),
            col("state"),
            col("decided_by"),
            col("decided_at"),
            col("created_at"),
        ],
    },
    Table {
        name: "credential_resets",
        purpose: "Account safety: whose password or sign-in e-mail an admin set, so their own session is not taken as proof of identity until they set their own password",
        purpose_fi: "Tilien turvallisuus: kenen salasanan tai kirjautumisosoitteen ylläpitäjä asetti, jotta henkilön omaa istuntoa ei pidetä henkilöllisyyden todisteena ennen kuin hän asettaa oman salasanansa",
        subjects: &[user("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "until the person sets their own password, or is erased",
        retention_fi: "kunnes henkilö asettaa oman salasanansa tai hänen tietonsa poistetaan",
        derived: false,
        columns: &[col("tenant_id"), col("user_id"), col("reset_by"), col("reset_at")],
    },
    Table {
        name: "backup_targets",
        purpose: "Keeping the erasure ledger beside every backup, so a restore brings nobody back",
        purpose_fi: "Poistokirjanpidon säilyttäminen jokaisen varmuuskopion yhteydessä, jotta palautus ei tuo poistettuja henkilöitä takaisin",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while backups are written there",
        retention_fi: "niin kauan kuin sinne kirjoitetaan varmuuskopioita",
        derived: false,
        columns: &[col("path"), col("registered_at"), col("last_backup_at")],
    },
    Table {
        name: "sign_in_failures",
        purpose: "Stopping password guessing: consecutive failed password sign-ins of an account, and until when it refuses passwords",
        purpose_fi: "Salasanojen arvailun estäminen: tilin peräkkäiset epäonnistuneet kirjautumiset ja aika, johon asti tili ei hyväksy salasanakirjautumista",
        subjects: &[user("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "until a sign-in succeeds, or a day after the last failure once no block is in force",
        retention_fi: "kunnes kirjautuminen onnistuu, tai vuorokausi viimeisen epäonnistumisen jälkeen, kun esto ei ole voimassa",
        derived: false,
        columns: &[col("tenant_id"), col("user_id"), col("failures"), col("blocked_until"), col("updated_at")],
    },
    Table {
        name: "second_factors",
        purpose: "Second sign-in factor (TOTP) of a person",
        purpose_fi: "Henkilön toinen tunnistustapa (TOTP)",
        subjects: &[user("user_id", "owner")],
        erasure: Erasure::Delete,
        retention: "until removed or the user is erased",
        retention_fi: "kunnes tunnistustapa poistetaan tai käyttäjän tiedot poistetaan",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("user_id"),
            sealed("secret_enc", Category::Credential),
            col("confirmed_at"),
            col("last_step"),
            col("created_at"),
        ],
    },
    Table {
        name: "web_submissions",
        purpose: "Refusing a form submitted twice (one-time form ids and where the first submit led)",
        purpose_fi: "Kahdesti lähetetyn lomakkeen hylkääminen (kertakäyttöiset lomaketunnukset ja ensimmäisen lähetyksen tulos)",
        subjects: &[user("user_id", "submitter")],
        erasure: Erasure::Delete,
        retention: "one day",
        retention_fi: "yksi vuorokausi",
        derived: false,
        columns: &[col("tenant_id"), col("user_id"), col("form_id"), col("location"), col("created_at")],
    },
    Table {
        name: "retention_policies",
        purpose: "The tenant's retention periods where they differ from the defaults (GDPR Art. 5(1)(e))",
        purpose_fi: "Organisaation säilytysajat, kun ne poikkeavat oletuksista (5 artiklan 1 kohdan e alakohta)",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant exists",
        retention_fi: "niin kauan kuin organisaatio on olemassa",
        derived: false,
        columns: &[
            col("tenant_id"),
            col("policy"),
            col("value"),
            col("enabled"),
            col("updated_by"),
            col("updated_at"),
        ],
    },
    Table {
        name: "hc_categories",
        purpose: "The help center: the tenant's published categories",
        purpose_fi: "Ohjekeskus: organisaation julkaisemat luokat",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant publishes them",
        retention_fi: "niin kauan kuin organisaatio julkaisee ne",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            plain_text("name").free(Text::Plain),
            plain_text("description").free(Text::Plain),
            col("locale"),
            col("position"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "hc_sections",
        purpose: "The help center: the tenant's published sections",
        purpose_fi: "Ohjekeskus: organisaation julkaisemat osiot",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant publishes them",
        retention_fi: "niin kauan kuin organisaatio julkaisee ne",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("category_id"),
            plain_text("name").free(Text::Plain),
            plain_text("description").free(Text::Plain),
            col("locale"),
            col("position"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "hc_articles",
        purpose: "The help center: articles staff publish for the tenant's customers",
        purpose_fi: "Ohjekeskus: henkilöstön asiakkaille julkaisemat artikkelit",
        // Staff write articles as the tenant's work: erasing the author leaves the text, with
        // the author an id that no longer resolves.
        subjects: &[about("author_id", "author")],
        erasure: Erasure::Keep,
        retention: "while the tenant publishes them",
        retention_fi: "niin kauan kuin organisaatio julkaisee ne",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("section_id"),
            col("author_id"),
            plain_text("title").free(Text::Plain),
            col("locale"),
            col("draft"),
            col("promoted"),
            col("position"),
            col("comments_disabled"),
            plain_text("label_names"),
            col("user_segment"),
            col("created_at"),
            col("updated_at"),
            col("edited_at"),
            col("archived_at"),
            plain_text("body").free(Text::Html),
        ],
    },
    Table {
        name: "hc_article_comments",
        purpose: "The help center: what people write under articles",
        purpose_fi: "Ohjekeskus: mitä ihmiset kirjoittavat artikkeleiden alle",
        subjects: &[about("author_id", "author")],
        erasure: Erasure::Tombstone,
        retention: "while the article exists; erased with its author",
        retention_fi: "niin kauan kuin artikkeli on olemassa; poistetaan kirjoittajan tietojen mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("article_id"),
            col("author_id"),
            col("key_id"),
            col("locale"),
            col("created_at"),
            col("updated_at"),
            col("non_author_editor_id"),
            col("non_author_updated_at"),
            sealed("body_enc", Category::Content).free(Text::Html),
        ],
    },
    Table {
        name: "hc_topics",
        purpose: "The community: the tenant's discussion topics",
        purpose_fi: "Yhteisö: organisaation keskusteluaiheet",
        subjects: &[],
        erasure: Erasure::Keep,
        retention: "while the tenant keeps them",
        retention_fi: "niin kauan kuin organisaatio pitää ne",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            plain_text("name").free(Text::Plain),
            plain_text("description").free(Text::Plain),
            col("position"),
            col("user_segment"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "hc_posts",
        purpose: "The community: what people post for discussion",
        purpose_fi: "Yhteisö: mitä ihmiset julkaisevat keskusteltavaksi",
        subjects: &[about("author_id", "author")],
        erasure: Erasure::Empty,
        retention: "while the topic exists; erased with its author (inactive people by the retention policy for inactive end users)",
        retention_fi: "niin kauan kuin aihe on olemassa; poistetaan kirjoittajan tietojen mukana (passiiviset henkilöt passiivisten loppukäyttäjien säilytyskäytännön mukaan)",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("topic_id"),
            col("author_id"),
            col("key_id"),
            col("status"),
            col("featured"),
            col("pinned"),
            col("closed"),
            col("hidden"),
            col("created_at"),
            col("updated_at"),
            col("non_author_editor_id"),
            col("non_author_updated_at"),
            sealed("title_enc", Category::Content).free(Text::Plain),
            sealed("details_enc", Category::Content).free(Text::Html),
        ],
    },
    Table {
        name: "hc_post_comments",
        purpose: "The community: what people answer to posts",
        purpose_fi: "Yhteisö: mitä ihmiset vastaavat julkaisuihin",
        subjects: &[about("author_id", "author")],
        erasure: Erasure::Tombstone,
        retention: "while the post exists; erased with its author (inactive people by the retention policy for inactive end users)",
        retention_fi: "niin kauan kuin julkaisu on olemassa; poistetaan kirjoittajan tietojen mukana (passiiviset henkilöt passiivisten loppukäyttäjien säilytyskäytännön mukaan)",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("post_id"),
            col("author_id"),
            col("key_id"),
            col("official"),
            col("hidden"),
            col("created_at"),
            col("updated_at"),
            col("non_author_editor_id"),
            col("non_author_updated_at"),
            sealed("body_enc", Category::Content).free(Text::Html),
        ],
    },
    Table {
        name: "hc_votes",
        purpose: "The help center and community: people's votes on articles, posts and their comments",
        purpose_fi: "Ohjekeskus ja yhteisö: ihmisten äänet artikkeleista, julkaisuista ja niiden kommenteista",
        subjects: &[about("user_id", "voter")],
        erasure: Erasure::Delete,
        retention: "while the item exists; erased with the person",
        retention_fi: "niin kauan kuin kohde on olemassa; poistetaan henkilön tietojen mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("user_id"),
            col("item_type"),
            col("item_id"),
            col("value"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "hc_subscriptions",
        purpose: "The help center and community: what people follow, to tell them of new articles, posts and comments",
        purpose_fi: "Ohjekeskus ja yhteisö: mitä ihmiset seuraavat, jotta heille voidaan kertoa uusista artikkeleista, julkaisuista ja kommenteista",
        subjects: &[about("user_id", "subscriber")],
        erasure: Erasure::Delete,
        retention: "until unsubscribed; erased with the person",
        retention_fi: "kunnes tilaus perutaan; poistetaan henkilön tietojen mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("user_id"),
            col("content_type"),
            col("content_id"),
            col("source_locale"),
            col("include_comments"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "group_memberships",
        purpose: "Routing tickets to teams of agents: which agents work in which group",
        purpose_fi: "Pyyntöjen ohjaaminen agenttitiimeille: mitkä agentit työskentelevät missäkin ryhmässä",
        subjects: &[about("user_id", "group member")],
        erasure: Erasure::Delete,
        retention: "while the agent is in the group; erased with the agent",
        retention_fi: "niin kauan kuin agentti on ryhmässä; poistetaan agentin tietojen mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("user_id"),
            col("group_id"),
            col("is_default"),
            col("created_at"),
            col("updated_at"),
        ],
    },
    Table {
        name: "satisfaction_ratings",
        purpose: "Support quality: a requester's rating of their solved ticket and their comment on it",
        purpose_fi: "Tuen laatu: pyynnön tekijän arvio ratkaistusta pyynnöstään ja hänen kommenttinsa siitä",
        subjects: &[user("requester_id", "rater")],
        erasure: Erasure::Delete,
        retention: "while the ticket exists; erased with the person",
        retention_fi: "niin kauan kuin pyyntö on olemassa; poistetaan henkilön tietojen mukana",
        derived: false,
        columns: &[
            col("id"),
            col("tenant_id"),
            col("ticket_id"),
            col("requester_id"),
            col("key_id"),
            col("score"),
            col("created_at"),
            col("updated_at"),
            sealed("comment_enc", Category::Content).free(Text::Plain),
        ],
    },
];

/// The table whose ids `Via::Ticket` links hold.
pub const TICKETS: &str = "tickets";

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The (table, link) pairs of `map` whose erasure is `action` and needs no rule of its own:
/// every derived-free table linked to a person by user id, except those in `own_rules` (the
/// tables the erasure runner treats with rules of their own). The plan counts them, the run
/// applies the action, and the read-back checks nothing is left, all from this one list.
pub fn declared_erasures<'a>(map: &'a [Table], action: Erasure, own_rules: &'a [&'a str]) -> impl Iterator<Item = (&'a Table, &'a SubjectLink)> + 'a {
    map.iter()
        .filter(move |t| !t.derived && t.erasure == action && !own_rules.contains(&t.name))
        .flat_map(|t| t.subjects.iter().filter(|l| l.via == Via::User).map(move |l| (t, l)))
}

impl Table {
    /// Columns holding personal data, other than `except` (the link a tombstone keeps).
    pub fn personal_column_names(&self, except: &str) -> Vec<&'static str> {
        self.columns
            .iter()
            .filter(|c| c.category != Category::None && c.name != except)
            .map(|c| c.name)
            .collect()
    }
}

/// Every column that can hold personal data or a value derived from it (sealed values, keyed
/// hashes, wrapped keys, plain organisational text): every column whose category is not `None`.
pub fn personal_columns() -> Vec<(&'static str, &'static str)> {
    TABLES
        .iter()
        .flat_map(|t| t.columns.iter().filter(|c| c.category != Category::None).map(move |c| (t.name, c.name)))
        .collect()
}

/// Every declared (table, column) pair, sorted.
pub fn declared_columns() -> Vec<(&'static str, &'static str)> {
    // (The declared columns are the logical schema's; see [`STORED_BESIDE`] for the tables
    // one engine keeps beside a declared one.)
    let mut out: Vec<_> = TABLES.iter().flat_map(|t| t.columns.iter().map(move |c| (t.name, c.name))).collect();
    out.sort();
    out
}

/// Tables one engine keeps beside a declared table, holding that table's columns: (the table,
/// the declared table whose columns it holds, its own row key). On SQLite the search index's
/// words live in `search_index_docs`, which the full-text table `search_index` indexes as
/// external content; it holds exactly what `search_index` declares, and is erased, moved and
/// scanned with it. The completeness test checks each of its columns against the declared
/// table's.
pub const STORED_BESIDE: &[(&str, &str, &str)] = &[("search_index_docs", "search_index", "id")];

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
