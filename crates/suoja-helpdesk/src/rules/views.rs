//! Views: saved ticket lists with Zendesk's conditions (`all` and `any`), columns and order.
//! Every tenant gets the workspace's queues as default views (mine, unassigned, new and open,
//! pending, recently solved); admins change or retire them and add shared views, agents add
//! personal ones. A view's list is one query on the tickets' indexed columns; tags go through
//! the search index; counts stop just past [`VIEW_COUNT_CAP`] and are kept a while when
//! counting is costly (`counts`).

use serde::{Deserialize, Serialize};
use suoja_core::{Scope, TicketId};
use suoja_store::Conn;
use suoja_store::rules::RuleRow;
use suoja_store::tickets::{Conditions, GroupKey, TicketFilter, TicketSort};

use super::conditions::{self, Context, Wire};
use super::{Kind, RuleInput};
use crate::model::Ticket;
use crate::{Helpdesk, HelpdeskError, Result};

/// The most a view's count counts exactly: beyond it the workspace shows "1000+".
pub const VIEW_COUNT_CAP: i64 = 1_000;

/// The columns a view may show, as Zendesk names them.
pub const COLUMNS: &[&str] = &[
    "nice_id",
    "subject",
    "requester",
    "assignee",
    "group",
    "organization",
    "status",
    "priority",
    "type",
    "created",
    "updated",
    "due_date",
];

/// The columns a view may group by, as Zendesk names them (a subject or a ticket number is
/// not something tickets share).
pub const GROUPS: &[&str] = &[
    "status",
    "priority",
    "type",
    "requester",
    "assignee",
    "group",
    "organization",
    "created",
    "updated",
    "due_date",
];

/// The orders a view may list in, as Zendesk names them.
pub const SORTS: &[&str] = &["updated_at", "created_at", "nice_id"];

/// A view's definition, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewDefinition {
    /// Every one holds.
    #[serde(default)]
    pub all: Vec<Wire>,
    /// At least one holds (when any are given).
    #[serde(default)]
    pub any: Vec<Wire>,
    /// Columns shown.
    pub columns: Vec<String>,
    /// Order: one of [`SORTS`].
    pub sort_by: String,
    /// `asc` or `desc`.
    pub sort_order: String,
    /// Grouped by one of [`COLUMNS`], when set.
    #[serde(default)]
    pub group_by: Option<String>,
    /// `asc` or `desc`.
    #[serde(default = "desc")]
    pub group_order: String,
}

fn desc() -> String {
    "desc".into()
}

/// A view.
#[derive(Debug, Clone)]
pub struct View {
    /// The stored rule (title, owner, key, …).
    pub row: RuleRow,
    /// Its definition.
    pub def: ViewDefinition,
}

impl View {
    fn from_row(row: RuleRow) -> Result<View> {
        let def = serde_json::from_str(&row.definition).map_err(|e| HelpdeskError::Internal(format!("view {}: {e}", row.id)))?;
        Ok(View { row, def })
    }

    /// The path segment the workspace uses for it: a default view's key, or its id.
    pub fn slug(&self) -> String {
        self.row.key.clone().unwrap_or_else(|| self.row.id.to_string())
    }

    /// The default title it was given, when it is a default view still holding it (pages
    /// show it in the reader's language).
    pub fn default_title_key(&self) -> Option<&str> {
        let key = self.row.key.as_deref()?;
        DEFAULTS.iter().find(|d| d.0 == key && d.1 == self.row.title).map(|d| d.0)
    }

    /// What its tickets are grouped by across the whole list (days in a time zone `offset`
    /// milliseconds east of UTC), and whether groups come in ascending order.
    fn grouping(&self, offset: i64) -> Option<(GroupKey, bool)> {
        let key = match self.def.group_by.as_deref()? {
            "status" => GroupKey::Status,
            "priority" => GroupKey::Priority,
            "type" => GroupKey::Type,
            "requester" => GroupKey::Requester,
            "assignee" => GroupKey::Assignee,
            "group" => GroupKey::Group,
            "organization" => GroupKey::Organization,
            "created" => GroupKey::Created { offset },
            "updated" => GroupKey::Updated { offset },
            "due_date" => GroupKey::Due { offset },
            _ => return None,
        };
        Some((key, self.def.group_order == "asc"))
    }

    fn sort(&self) -> TicketSort {
        let asc = self.def.sort_order == "asc";
        match (self.def.sort_by.as_str(), asc) {
            ("created_at", true) => TicketSort::CreatedAsc,
            ("created_at", false) => TicketSort::CreatedDesc,
            ("nice_id", true) => TicketSort::Id,
            ("nice_id", false) => TicketSort::IdDesc,
            (_, true) => TicketSort::UpdatedAsc,
            (_, false) => TicketSort::UpdatedDesc,
        }
    }
}

/// What a create or update gives (`None`: left as it is).
#[derive(Debug, Clone, Default)]
pub struct ViewInput {
    /// Title, description, active, position, restriction.
    pub rule: RuleInput,
    /// Conditions that must all hold.
    pub all: Option<Vec<Wire>>,
    /// Conditions of which one must hold.
    pub any: Option<Vec<Wire>>,
    /// Columns.
    pub columns: Option<Vec<String>>,
    /// Order.
    pub sort_by: Option<String>,
    /// `asc` or `desc`.
    pub sort_order: Option<String>,
    /// Grouping (`Some(None)` removes it).
    pub group_by: Option<Option<String>>,
    /// `asc` or `desc`.
    pub group_order: Option<String>,
}

const DEFAULT_COLUMNS: &[&str] = &["nice_id", "subject", "requester", "status", "priority", "updated"];

/// A condition as `(field, operator, value)`.
type Triple = (&'static str, &'static str, &'static str);

/// The default views: (key, title, all conditions).
const DEFAULTS: &[(&str, &str, &[Triple])] = &[
    (
        "mine",
        "My open tickets",
        &[("assignee_id", "is", "current_user"), ("status", "less_than", "solved")],
    ),
    (
        "unassigned",
        "Unassigned tickets",
        &[("assignee_id", "is", ""), ("status", "less_than", "solved")],
    ),
    ("open", "All open tickets", &[("status", "less_than", "pending")]),
    ("pending", "Pending tickets", &[("status", "is", "pending")]),
    (
        "solved",
        "Recently solved",
        &[("status", "greater_than", "hold"), ("SOLVED", "less_than", "168")],
    ),
    (
        "sla_breached",
        "Tickets past an SLA target",
        &[("sla_breached", "is", "true"), ("status", "less_than", "solved")],
    ),
];

fn wire(field: &str, operator: &str, value: &str) -> Wire {
    Wire {
        field: field.into(),
        operator: operator.into(),
        value: serde_json::Value::String(value.into()),
    }
}

fn definition_json(d: &ViewDefinition) -> Result<String> {
    serde_json::to_string(d).map_err(|e| HelpdeskError::Internal(e.to_string()))
}

/// Lays `input` over `def` and checks the result.
fn apply(def: &mut ViewDefinition, input: &ViewInput) -> Result<()> {
    if let Some(a) = &input.all {
        def.all = a.clone();
    }
    if let Some(a) = &input.any {
        def.any = a.clone();
    }
    let (all, any) = conditions::check(&def.all, &def.any)?;
    if all.is_empty() {
        // As Zendesk: a view lists what its `all` conditions choose; `any` alone is not enough.
        return Err(HelpdeskError::invalid(
            "conditions",
            "conditions: a view needs at least one condition under all",
        ));
    }
    def.all = all;
    def.any = any;
    if let Some(cols) = &input.columns {
        if cols.is_empty() || cols.len() > COLUMNS.len() {
            return Err(HelpdeskError::invalid("columns", "columns: one or more of the known columns"));
        }
        if let Some(bad) = cols.iter().find(|c| !COLUMNS.contains(&c.as_str())) {
            return Err(HelpdeskError::invalid(
                "columns",
                format!("columns: unknown column {bad:?}; Suoja shows {}", COLUMNS.join(", ")),
            ));
        }
        if let Some((_, twice)) = cols.iter().enumerate().find(|(i, c)| cols.iter().take(*i).any(|x| x == *c)) {
            return Err(HelpdeskError::invalid("columns", format!("columns: {twice:?} is listed twice")));
        }
        def.columns = cols.clone();
    }
    if let Some(s) = &input.sort_by {
        if !SORTS.contains(&s.as_str()) {
            return Err(HelpdeskError::invalid("sort_by", format!("sort_by: one of {}", SORTS.join(", "))));
        }
        def.sort_by = s.clone();
    }
    for (name, given, slot) in [
        ("sort_order", &input.sort_order, &mut def.sort_order),
        ("group_order", &input.group_order, &mut def.group_order),
    ] {
        if let Some(o) = given {
            if o != "asc" && o != "desc" {
                return Err(HelpdeskError::invalid(name, format!("{name}: asc or desc")));
            }
            *slot = o.clone();
        }
    }
    if let Some(g) = &input.group_by {
        // A grouping kept from before it was checked may be sent back unchanged.
        if let Some(col) = g
            && !GROUPS.contains(&col.as_str())
            && def.group_by.as_deref() != Some(col.as_str())
        {
            return Err(HelpdeskError::invalid("group_by", format!("group_by: one of {}", GROUPS.join(", "))));
        }
        def.group_by = g.clone();
    }
    Ok(())
}

impl Helpdesk {
    /// Adds the default views the tenant does not have yet (a view another writer added
    /// meanwhile is left as it is). A read tells when there is nothing to add.
    pub(crate) async fn ensure_default_views(&self, scope: &Scope) -> Result<()> {
        let mut c = self.db.read().await?;
        let have = suoja_store::rules::count_defaults(&mut c, scope.tenant, Kind::View.as_str()).await?;
        drop(c);
        if have >= suoja_core::num::to_i64(DEFAULTS.len()) {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        for (i, (key, title, all)) in DEFAULTS.iter().enumerate() {
            let def = ViewDefinition {
                all: all.iter().map(|(f, o, v)| wire(f, o, v)).collect(),
                any: Vec::new(),
                columns: DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect(),
                sort_by: "updated_at".into(),
                sort_order: "desc".into(),
                group_by: None,
                group_order: desc(),
            };
            let row = RuleRow {
                id: 0,
                kind: Kind::View.as_str().into(),
                key: Some(key.to_string()),
                owner_id: None,
                title: title.to_string(),
                description: String::new(),
                active: true,
                position: i64::try_from(i).unwrap_or(0),
                definition: definition_json(&def)?,
                created_at: now,
                updated_at: now,
            };
            suoja_store::rules::insert(&mut tx, scope.tenant, &row).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The views `scope` sees (staff): the shared ones and their own, in order; only the active
    /// (or inactive) ones when `active` is given.
    pub async fn list_views(&self, scope: &Scope, active: Option<bool>) -> Result<Vec<View>> {
        self.rules_of(scope, Kind::View, active).await?.into_iter().map(View::from_row).collect()
    }

    /// One view `scope` sees.
    pub async fn get_view(&self, scope: &Scope, id: i64) -> Result<View> {
        View::from_row(self.rule(scope, Kind::View, id).await?)
    }

    /// A view by its workspace path segment: a default view's key or an id.
    pub async fn view_by_slug(&self, scope: &Scope, slug: &str) -> Result<View> {
        if let Ok(id) = slug.parse::<i64>() {
            return self.get_view(scope, id).await;
        }
        self.list_views(scope, None)
            .await?
            .into_iter()
            .find(|v| v.row.key.as_deref() == Some(slug))
            .ok_or(HelpdeskError::NotFound("View"))
    }

    /// Adds a view: shared (admins) or personal.
    pub async fn create_view(&self, scope: &Scope, input: ViewInput) -> Result<View> {
        let mut def = ViewDefinition {
            all: Vec::new(),
            any: Vec::new(),
            columns: DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect(),
            sort_by: "updated_at".into(),
            sort_order: "desc".into(),
            group_by: None,
            group_order: desc(),
        };
        apply(&mut def, &input)?;
        View::from_row(self.add_rule(scope, Kind::View, &input.rule, definition_json(&def)?).await?)
    }

    /// Changes a view.
    pub async fn update_view(&self, scope: &Scope, id: i64, input: ViewInput) -> Result<View> {
        let row = self
            .change_rule(scope, Kind::View, id, &input.rule, |old| {
                let mut def: ViewDefinition = serde_json::from_str(old).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
                apply(&mut def, &input)?;
                definition_json(&def)
            })
            .await?;
        View::from_row(row)
    }

    /// Removes a view (not a default one).
    pub async fn delete_view(&self, scope: &Scope, id: i64) -> Result<()> {
        self.remove_rule(scope, Kind::View, id).await
    }

    /// The ticket filter a view stands for, for `scope` now.
    pub(crate) async fn view_filter(&self, c: &mut Conn, scope: &Scope, v: &View) -> Result<TicketFilter> {
        self.rule_filter(c, scope, &v.def.all, &v.def.any).await
    }

    /// The ticket filter conditions stand for, for `scope` now.
    pub(crate) async fn rule_filter(&self, c: &mut Conn, scope: &Scope, all: &[Wire], any: &[Wire]) -> Result<TicketFilter> {
        let uses = |f: &str| all.iter().chain(any).any(|w| w.field == f || w.value == f);
        let groups: Vec<i64> = if uses("current_groups") {
            suoja_store::groups::memberships(c, scope.tenant, Some(scope.actor), None, 0, 500, 0)
                .await?
                .iter()
                .map(|m| m.group_id.0)
                .collect()
        } else {
            Vec::new()
        };
        let hasher = if uses("current_tags") || uses("tags") {
            Some(self.vault.search_hasher(c, scope.tenant).await?)
        } else {
            None
        };
        let conn: &Conn = c;
        let tagged = |tags: &[String]| {
            let h = hasher.as_ref()?;
            let tokens: Vec<i64> = tags.iter().map(|t| h.token(&suoja_search::index::tag_term(t))).collect();
            suoja_search::index::tickets_holding_any(conn, &tokens, false)
        };
        let cx = Context {
            scope,
            now: self.now(),
            groups: &groups,
            tagged: &tagged,
        };
        let all = all.iter().map(|w| conditions::to_store(w, &cx)).collect::<Result<Vec<_>>>()?;
        let any = any.iter().map(|w| conditions::to_store(w, &cx)).collect::<Result<Vec<_>>>()?;
        Ok(TicketFilter {
            conditions: Some(Conditions { all, any }),
            ..Default::default()
        })
    }

    /// One page of a view's tickets (staff), in its order, and whether more follow. A grouped
    /// view lists its groups one after another across pages, each in the view's order; days
    /// (grouping by a time) are those of a time zone `utc_offset` milliseconds east of UTC.
    pub async fn view_tickets(&self, scope: &Scope, v: &View, utc_offset: i64, limit: i64, offset: i64) -> Result<(Vec<Ticket>, bool)> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let f = self.view_filter(&mut c, scope, v).await?;
        let group = v.grouping(utc_offset.clamp(-86_400_000, 86_400_000));
        let mut rows = suoja_store::tickets::list_grouped(&mut c, scope.tenant, &f, group, v.sort(), limit + 1, offset).await?;
        let has_more = suoja_core::num::to_i64(rows.len()) > limit;
        rows.truncate(suoja_core::num::to_usize(limit.max(0)));
        let tickets = self.open_tickets(&mut c, scope, &rows).await?;
        self.consulted_tickets(scope, &tickets, "ticket.listed", "support");
        Ok((tickets, has_more))
    }

    /// The ids of a view's tickets as `scope` sees it, in its order, at most `limit` (staff).
    /// Nothing is opened, so no read is noted: for scoping a breach.
    pub async fn view_ticket_ids(&self, scope: &Scope, v: &View, limit: i64) -> Result<Vec<TicketId>> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let f = self.view_filter(&mut c, scope, v).await?;
        let rows = suoja_store::tickets::list(&mut c, scope.tenant, &f, v.sort(), limit, 0).await?;
        Ok(rows.iter().map(|r| r.id).collect())
    }

    /// A person's latest tickets, newest change first, without a total (staff; the ticket
    /// page's side panel).
    pub async fn latest_tickets_of(&self, scope: &Scope, requester: suoja_core::UserId, limit: i64) -> Result<Vec<Ticket>> {
        crate::require_staff(scope)?;
        let f = TicketFilter {
            requester: Some(requester),
            ..Default::default()
        };
        let mut c = self.db.read().await?;
        let rows = suoja_store::tickets::list(&mut c, scope.tenant, &f, TicketSort::UpdatedDesc, limit, 0).await?;
        let tickets = self.open_tickets(&mut c, scope, &rows).await?;
        self.consulted_tickets(scope, &tickets, "ticket.listed", "support");
        Ok(tickets)
    }
}
