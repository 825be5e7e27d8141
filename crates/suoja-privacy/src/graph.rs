//! The subject graph (GDPR Art. 15 and 17, A17-01): everything that is a person's or about
//! them, found through the data map rather than a list of tables written here. A table whose
//! subject link holds a user id contributes the rows linked to the person; a table whose link
//! holds a ticket id contributes the rows of the person's tickets. Text on other people's
//! tickets that strongly matches the person (e-mail, phone, full name, as the identifier
//! matcher decides) is listed as mentions: candidates for review, never part of the person's own
//! records (see [`crate::mentions`]). A table added to the map is covered with no change here.

use std::collections::{BTreeMap, BTreeSet};

use suoja_core::{TenantId, UserId};
use suoja_store::Conn;
use suoja_store::graph::Value;
use suoja_store::users::UserRow;

use crate::datamap::{Category, Storage, TICKETS, Table, Via};
use crate::{Privacy, PrivacyError, Result};

/// An opened value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// No value.
    Null,
    /// An integer (ids, flags, times).
    Int(i64),
    /// Text (plain or decrypted).
    Text(String),
    /// A file, by its stored (sealed) size: its content is read only when a package is
    /// written ([`crate::Privacy::read_export_file`]), one file at a time.
    File(i64),
    /// A credential, key or keyed hash: never exported.
    Secret,
    /// Sealed under a key that no longer exists.
    Unreadable,
}

impl Field {
    /// The integer, if it is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Field::Int(v) => Some(*v),
            _ => None,
        }
    }
    /// The text, if it is text.
    pub fn text(&self) -> Option<&str> {
        match self {
            Field::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// One row of a table in the graph.
#[derive(Debug, Clone)]
pub struct Record {
    /// Why it is in the graph (`requester`, `author`, `on the ticket of`, …).
    pub roles: BTreeSet<&'static str>,
    /// Column name and opened value, in the map's order.
    pub fields: Vec<(&'static str, Field)>,
}

impl Record {
    /// A field by column name.
    pub fn get(&self, column: &str) -> &Field {
        self.fields.iter().find(|(c, _)| *c == column).map_or(&Field::Null, |(_, v)| v)
    }
}

/// A person's footprint.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// The tenant.
    pub tenant: TenantId,
    /// The person.
    pub subject: UserId,
    /// Their stored user row.
    pub user: UserRow,
    /// Tickets the person is on, with their roles there.
    pub tickets: BTreeMap<i64, BTreeSet<&'static str>>,
    /// Text by others, on tickets the person is not on, that strongly matches them.
    pub mentions: Vec<crate::mentions::Found>,
    /// Rows per table.
    pub records: BTreeMap<&'static str, Vec<Record>>,
}

impl Footprint {
    /// Rows of one table.
    pub fn rows(&self, table: &str) -> &[Record] {
        self.records.get(table).map_or(&[], Vec::as_slice)
    }
    /// Rows per table, counted.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        self.records.iter().map(|(t, r)| (*t, r.len())).collect()
    }
}

impl Privacy {
    /// The footprint of `subject` in `tenant`, through `map` (normally [`crate::datamap::TABLES`]).
    pub async fn footprint(&self, tenant: TenantId, subject: UserId, map: &[Table]) -> Result<Footprint> {
        self.footprint_with(tenant, subject, map, true).await
    }

    /// As [`Self::footprint`]; with `mentions` false the search of other people's text (which
    /// opens every row of free text, up to its limit) is left out and `mentions` is empty.
    pub(crate) async fn footprint_with(&self, tenant: TenantId, subject: UserId, map: &[Table], mentions: bool) -> Result<Footprint> {
        let mut c = self.hd.db().read().await?;
        let user = suoja_store::users::by_id(&mut c, tenant, subject)
            .await?
            .ok_or(PrivacyError::NotFound("User"))?;
        let mut records: BTreeMap<&'static str, BTreeMap<Vec<Value>, Record>> = BTreeMap::new();
        let mut tickets: BTreeMap<i64, BTreeSet<&'static str>> = BTreeMap::new();
        let mut raw: BTreeMap<&'static str, Vec<(Vec<Value>, &'static str)>> = BTreeMap::new();

        // Rows linked to the person's user id.
        for t in map.iter().filter(|t| !t.derived) {
            for link in t.subjects.iter().filter(|l| l.via == Via::User) {
                let (cols, files) = columns_of(t);
                let rows = suoja_store::graph::rows_linked_sized(&mut c, tenant, t.name, &cols, &files, link.column, &[subject.0]).await?;
                for r in rows {
                    let ticket = if t.name == TICKETS { column(t, &r, "id") } else { column(t, &r, "ticket_id") };
                    if let Some(id) = ticket.filter(|_| link.on_ticket) {
                        tickets.entry(id).or_default().insert(link.role);
                    }
                    raw.entry(t.name).or_default().push((r, link.role));
                }
            }
        }

        // Text by others that strongly matches the person.
        let own: BTreeSet<i64> = tickets.keys().copied().collect();
        let reach = crate::mentions::Reach {
            complete: false,
            free_text: true,
            weak: false,
            organizations: false,
            own_comments: false,
        };
        let mentions = if mentions {
            self.find_in_text(&mut c, tenant, &user, &own, reach).await?.0
        } else {
            Vec::new()
        };
        let ticket_ids: Vec<i64> = tickets.keys().copied().collect();

        // Rows of the person's tickets (and the ticket rows they are only CC'd on).
        for t in map.iter().filter(|t| !t.derived) {
            for link in t.subjects.iter().filter(|l| l.via == Via::Ticket) {
                let (cols, files) = columns_of(t);
                for r in suoja_store::graph::rows_linked_sized(&mut c, tenant, t.name, &cols, &files, link.column, &ticket_ids).await? {
                    raw.entry(t.name).or_default().push((r, link.role));
                }
            }
            if t.name == TICKETS {
                let (cols, files) = columns_of(t);
                for r in suoja_store::graph::rows_linked_sized(&mut c, tenant, t.name, &cols, &files, "id", &ticket_ids).await? {
                    raw.entry(t.name).or_default().push((r, "on the ticket of"));
                }
            }
        }

        // Deduplicate (a row reached by several links keeps all roles) and open sealed values.
        for (name, rows) in raw {
            let Some(t) = map.iter().find(|t| t.name == name) else { continue };
            let slot = records.entry(name).or_default();
            for (r, role) in rows {
                if let Some(rec) = slot.get_mut(&r) {
                    rec.roles.insert(role);
                    continue;
                }
                let fields = self.open_fields(&mut c, tenant, t, &r).await?;
                slot.insert(
                    r,
                    Record {
                        roles: BTreeSet::from([role]),
                        fields,
                    },
                );
            }
        }
        Ok(Footprint {
            tenant,
            subject,
            user,
            tickets,
            mentions,
            records: records.into_iter().map(|(t, m)| (t, m.into_values().collect())).collect(),
        })
    }

    async fn open_fields(&self, c: &mut Conn, tenant: TenantId, t: &Table, r: &[Value]) -> Result<Vec<(&'static str, Field)>> {
        let mut out = Vec::with_capacity(t.columns.len());
        for (col, v) in t.columns.iter().zip(r) {
            let f = match (col.category, col.storage, v) {
                (_, _, Value::Null) => Field::Null,
                (Category::Credential | Category::Key | Category::Derived, _, _) => Field::Secret,
                (Category::File, _, Value::Int(size)) => Field::File(*size),
                (_, Storage::SubjectSealed, Value::Bytes(b)) => match self.hd.vault().decrypt(c, tenant, b).await {
                    Ok(plain) => Field::Text(String::from_utf8_lossy(&plain).into_owned()),
                    Err(_) => Field::Unreadable,
                },
                (_, _, Value::Int(i)) => Field::Int(*i),
                (_, _, Value::Text(s)) => Field::Text(s.clone()),
                (_, _, Value::Bytes(_)) => Field::Secret,
            };
            out.push((col.name, f));
        }
        Ok(out)
    }
}

/// A table's columns for the footprint, and those among them that hold files (read as their
/// size only).
fn columns_of(t: &Table) -> (Vec<&'static str>, Vec<&'static str>) {
    let cols = t.columns.iter().map(|c| c.name).collect();
    let files = t.columns.iter().filter(|c| c.category == Category::File).map(|c| c.name).collect();
    (cols, files)
}

fn column(t: &Table, r: &[Value], name: &str) -> Option<i64> {
    let i = t.columns.iter().position(|c| c.name == name)?;
    match r.get(i) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    }
}

impl Privacy {
    /// What privacy staff see of a person's footprint: counts per table, the tickets and the
    /// person's roles there. Every look needs a reason and is logged at once (restricted people
    /// are reachable only this way).
    pub async fn inspect(&self, scope: &suoja_core::Scope, subject: UserId, reason: &str) -> Result<serde_json::Value> {
        crate::require_privacy(scope)?;
        let fp = self.footprint(scope.tenant, subject, crate::datamap::TABLES).await?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let row = suoja_store::consultations::Consultation {
            subject_id: subject.0,
            at: now,
            actor_id: scope.actor.0,
            actor_role: crate::consult::role_name(scope).to_string(),
            action: "footprint.viewed".into(),
            purpose: reason.chars().take(500).collect(),
            token_id: scope.token,
            node: Some(self.policy.node.clone()),
        };
        suoja_store::consultations::record(&mut tx, scope.tenant, &[row]).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::SubjectInspected,
            Some(subject.0),
            Some(scope.actor.0),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(serde_json::json!({
            "subject_id": subject.0,
            "restricted": fp.user.restricted,
            "deleted": fp.user.deleted_at.is_some(),
            "tables": fp.counts(),
            "tickets": fp.tickets.iter().map(|(id, roles)| serde_json::json!({ "id": id, "roles": roles })).collect::<Vec<_>>(),
            "mentions": fp.mentions.len(),
        }))
    }
}
