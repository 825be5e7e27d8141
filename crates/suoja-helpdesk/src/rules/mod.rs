//! Business rules: views (saved ticket lists), macros (prepared changes and replies),
//! automations (hourly), triggers (on every update) and SLA policies (targets counted in
//! calendar or business hours, [`schedules`]), in Zendesk's shapes. A view or macro is
//! shared by the team or personal to one agent: admins write the shared ones; an agent writes
//! their own personal ones and sees the shared ones and theirs; automations and triggers are the
//! team's. Every tenant gets default rules (the workspace's queues, closing solved tickets, the
//! e-mail notifications), which admins may change or take out of use but not remove.

pub mod automations;
pub mod categories;
pub mod conditions;
pub mod counts;
pub(crate) mod kept;
pub mod macros;
pub mod metric_events;
pub mod schedules;
pub mod sla;
pub mod triggers;
pub mod views;

use suoja_core::{Scope, UserId};
use suoja_store::rules::RuleRow;

use crate::{Helpdesk, HelpdeskError, Result};

/// The most shared rules of one kind a tenant keeps.
pub const MAX_RULES: i64 = 2_000;

/// The most personal rules of one kind an agent keeps.
pub const MAX_PERSONAL: i64 = 100;

/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 4_096;

/// A kind of rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A view.
    View,
    /// A macro.
    Macro,
    /// An automation.
    Automation,
    /// A trigger.
    Trigger,
    /// An SLA policy.
    Sla,
    /// A category triggers are filed under.
    TriggerCategory,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::Macro => "macro",
            Kind::Automation => "automation",
            Kind::Trigger => "trigger",
            Kind::Sla => "sla",
            Kind::TriggerCategory => "trigger_category",
        }
    }

    fn not_found(self) -> HelpdeskError {
        HelpdeskError::NotFound(match self {
            Kind::View => "View",
            Kind::Macro => "Macro",
            Kind::Automation => "Automation",
            Kind::Trigger => "Trigger",
            Kind::Sla => "SLA policy",
            Kind::TriggerCategory => "Trigger category",
        })
    }
}

/// What a create or update gives of the parts every rule has (`None`: left as it is).
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// In use.
    pub active: Option<bool>,
    /// Order.
    pub position: Option<i64>,
    /// `Some(None)`: shared by the team; `Some(Some(agent))`: personal to that agent.
    pub restriction: Option<Option<UserId>>,
}

/// Whether `scope` sees the rule: staff see the shared ones and their own.
fn sees(scope: &Scope, r: &RuleRow) -> bool {
    scope.is_staff() && r.owner_id.is_none_or(|o| o == scope.actor)
}

/// Whether `scope` may change the rule: admins the shared ones, an agent their own.
fn may_change(scope: &Scope, owner: Option<UserId>) -> Result<()> {
    match owner {
        None if scope.is_admin() => Ok(()),
        None => Err(HelpdeskError::Forbidden(
            "only admins change shared views and macros; agents write personal ones",
        )),
        Some(o) if o == scope.actor && scope.is_staff() => Ok(()),
        Some(_) => Err(HelpdeskError::Forbidden("a personal view or macro belongs to its agent")),
    }
}

fn check_title(t: &str) -> Result<String> {
    let t = t.trim();
    if t.is_empty() {
        return Err(HelpdeskError::Invalid {
            field: "title".into(),
            message: "Title: cannot be blank".into(),
            code: "BlankValue",
        });
    }
    if t.chars().count() > 255 || t.chars().any(hidden) {
        return Err(HelpdeskError::invalid("title", "Title: at most 255 characters, on one line"));
    }
    Ok(t.to_string())
}

/// Characters a title or description may not hold: controls, and the ones that reorder or hide
/// the text around them.
fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn check_description(d: &str) -> Result<String> {
    if d.chars().count() > MAX_DESCRIPTION || d.chars().any(|c| !matches!(c, '\n' | '\t' | '\r') && hidden(c)) {
        return Err(HelpdeskError::invalid(
            "description",
            "Description: at most 4096 characters, without control characters",
        ));
    }
    Ok(d.to_string())
}

/// The definition of a rule that tests conditions and acts (an automation, a trigger), as
/// stored: `all`, `any` and `actions`.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct WhenThen {
    #[serde(default)]
    pub all: Vec<conditions::Wire>,
    #[serde(default)]
    pub any: Vec<conditions::Wire>,
    pub actions: Vec<macros::Action>,
    /// A trigger's category (a rule of kind `trigger_category`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<i64>,
}

impl WhenThen {
    /// A stored rule's definition.
    pub(crate) fn read(row: &RuleRow) -> Result<WhenThen> {
        serde_json::from_str(&row.definition).map_err(|e| HelpdeskError::Internal(format!("{} {}: {e}", row.kind, row.id)))
    }

    /// The definition as stored.
    pub(crate) fn json(all: Vec<conditions::Wire>, any: Vec<conditions::Wire>, actions: Vec<macros::Action>) -> Result<String> {
        serde_json::to_string(&WhenThen {
            all,
            any,
            actions,
            category_id: None,
        })
        .map_err(|e| HelpdeskError::Internal(e.to_string()))
    }

    /// A stored definition put in a category (or out of any, with `None`).
    pub(crate) fn in_category(definition: &str, category: Option<i64>) -> Result<String> {
        let mut d: WhenThen = serde_json::from_str(definition).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
        d.category_id = category;
        serde_json::to_string(&d).map_err(|e| HelpdeskError::Internal(e.to_string()))
    }
}

/// Puts the rules of a kind named in `ids` first, in that order, the others after them in the
/// order they had, in the caller's transaction. `false` (nothing changed) when `ids` is empty,
/// names a rule twice or names one the tenant does not have: the caller says which list.
async fn reorder(c: &mut suoja_store::Conn, scope: &Scope, kind: Kind, ids: &[i64], now: suoja_core::Timestamp) -> Result<bool> {
    let rows = suoja_store::rules::list(c, scope.tenant, kind.as_str(), scope.actor).await?;
    let mut seen = std::collections::BTreeSet::new();
    if ids.is_empty() || ids.iter().any(|id| !seen.insert(*id) || !rows.iter().any(|r| r.id == *id)) {
        return Ok(false);
    }
    let order = ids.iter().copied().chain(rows.iter().map(|r| r.id).filter(|id| !seen.contains(id)));
    for (i, id) in order.enumerate() {
        suoja_store::rules::set_position(c, scope.tenant, kind.as_str(), id, i64::try_from(i).unwrap_or(0), now).await?;
    }
    Ok(true)
}

/// A default rule every tenant gets: shared, keyed, at its place among the defaults.
fn default_row(kind: Kind, key: &str, title: &str, place: usize, active: bool, definition: String, now: suoja_core::Timestamp) -> RuleRow {
    RuleRow {
        id: 0,
        kind: kind.as_str().into(),
        key: Some(key.to_string()),
        owner_id: None,
        title: title.to_string(),
        description: String::new(),
        active,
        position: i64::try_from(place).unwrap_or(0),
        definition,
        created_at: now,
        updated_at: now,
    }
}

impl Helpdesk {
    /// The rules of a kind `scope` sees (staff), in their order; only active ones with `active`.
    pub(crate) async fn rules_of(&self, scope: &Scope, kind: Kind, active: Option<bool>) -> Result<Vec<RuleRow>> {
        crate::require_staff(scope)?;
        if kind == Kind::View {
            self.ensure_default_views(scope).await?;
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::rules::list(&mut c, scope.tenant, kind.as_str(), scope.actor).await?;
        Ok(rows.into_iter().filter(|r| sees(scope, r) && active.is_none_or(|a| a == r.active)).collect())
    }

    /// One rule `scope` sees (another agent's personal rule is not found).
    pub(crate) async fn rule(&self, scope: &Scope, kind: Kind, id: i64) -> Result<RuleRow> {
        crate::require_staff(scope)?;
        if kind == Kind::View {
            self.ensure_default_views(scope).await?;
        }
        let mut c = self.db.read().await?;
        suoja_store::rules::get(&mut c, scope.tenant, kind.as_str(), id, false)
            .await?
            .filter(|r| sees(scope, r))
            .ok_or_else(|| kind.not_found())
    }

    /// Adds a rule with its definition (JSON, already checked). An agent's rule is personal
    /// unless they are an admin asking for a shared one.
    pub(crate) async fn add_rule(&self, scope: &Scope, kind: Kind, input: &RuleInput, definition: String) -> Result<RuleRow> {
        crate::require_staff(scope)?;
        let owner = match input.restriction {
            Some(o) => o,
            None if scope.is_admin() => None,
            None => Some(scope.actor),
        };
        may_change(scope, owner)?;
        let title = check_title(input.title.as_deref().unwrap_or(""))?;
        let description = check_description(input.description.as_deref().unwrap_or(""))?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        // Two adds at once must not both pass the count below.
        suoja_store::rules::lock_for_insert(&mut tx, scope.tenant).await?;
        // An agent's personal rules count apart from the team's and from other agents', so no one
        // uses up what the others may add.
        let most = if owner.is_some() { MAX_PERSONAL } else { MAX_RULES };
        if suoja_store::rules::count(&mut tx, scope.tenant, kind.as_str(), owner).await? >= most {
            return Err(HelpdeskError::Conflict(format!("at most {most} of a kind; remove one first")));
        }
        let position = match input.position {
            Some(p) => p,
            None => suoja_store::rules::last_position(&mut tx, scope.tenant, kind.as_str()).await?.saturating_add(1),
        };
        let mut row = RuleRow {
            id: 0,
            kind: kind.as_str().into(),
            key: None,
            owner_id: owner,
            title,
            description,
            active: input.active.unwrap_or(true),
            position,
            definition,
            created_at: now,
            updated_at: now,
        };
        row.id = suoja_store::rules::insert(&mut tx, scope.tenant, &row)
            .await?
            .ok_or_else(|| HelpdeskError::Internal("a new rule was not inserted".into()))?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, rule.id = row.id, kind = kind.as_str(), "rule created");
        Ok(row)
    }

    /// Changes a rule: `change` gets its definition (JSON) and returns the new one, checked.
    /// Who it belongs to changes only by an admin making a personal rule shared or the reverse.
    pub(crate) async fn change_rule(
        &self,
        scope: &Scope,
        kind: Kind,
        id: i64,
        input: &RuleInput,
        change: impl FnOnce(&str) -> Result<String>,
    ) -> Result<RuleRow> {
        crate::require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::rules::get(&mut tx, scope.tenant, kind.as_str(), id, true)
            .await?
            .filter(|r| sees(scope, r))
            .ok_or_else(|| kind.not_found())?;
        may_change(scope, row.owner_id)?;
        if let Some(owner) = input.restriction
            && owner != row.owner_id
        {
            if row.key.is_some() {
                return Err(HelpdeskError::invalid("restriction", "restriction: a default view stays shared"));
            }
            may_change(scope, owner)?;
            if !scope.is_admin() {
                return Err(HelpdeskError::Forbidden("only admins share views and macros with the team"));
            }
            suoja_store::rules::lock_for_insert(&mut tx, scope.tenant).await?;
            let most = if owner.is_some() { MAX_PERSONAL } else { MAX_RULES };
            if suoja_store::rules::count(&mut tx, scope.tenant, kind.as_str(), owner).await? >= most {
                return Err(HelpdeskError::Conflict(format!("at most {most} of a kind; remove one first")));
            }
            suoja_store::rules::set_owner(&mut tx, scope.tenant, kind.as_str(), id, owner).await?;
            row.owner_id = owner;
        }
        if let Some(t) = &input.title {
            row.title = check_title(t)?;
        }
        if let Some(d) = &input.description {
            row.description = check_description(d)?;
        }
        if let Some(a) = input.active {
            row.active = a;
        }
        if let Some(p) = input.position {
            row.position = p;
        }
        row.definition = change(&row.definition)?;
        row.updated_at = self.now();
        suoja_store::rules::update(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Removes a rule. A default view cannot be removed (it can be taken out of use).
    pub(crate) async fn remove_rule(&self, scope: &Scope, kind: Kind, id: i64) -> Result<()> {
        crate::require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let row = suoja_store::rules::get(&mut tx, scope.tenant, kind.as_str(), id, true)
            .await?
            .filter(|r| sees(scope, r))
            .ok_or_else(|| kind.not_found())?;
        may_change(scope, row.owner_id)?;
        if row.key.is_some() {
            return Err(HelpdeskError::Conflict("a built-in rule cannot be removed; make it inactive instead".into()));
        }
        suoja_store::rules::delete(&mut tx, scope.tenant, kind.as_str(), id).await?;
        tx.commit().await?;
        Ok(())
    }
}
