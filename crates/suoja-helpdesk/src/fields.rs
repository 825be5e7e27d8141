//! Ticket, user and organisation fields, and ticket forms (Zendesk's `ticket_fields`,
//! `user_fields`, `organization_fields`, `ticket_forms`): their definitions, which admins write
//! and staff read, and the checking of the values people give against them. A value is taken
//! only for a field that exists and is active, in the shape its type asks for; requesters may set
//! only the fields editable in the portal and see only those visible there; agents fill in the
//! required ones before a ticket is solved, requesters the ones required in the portal before
//! it is opened.

use serde_json::{Map, Value, json};
use suoja_core::Scope;
use suoja_store::fields::{FieldRow, FormRow};
use suoja_store::{Conn, StoreError};

use crate::{Helpdesk, HelpdeskError, Result, require_staff};

/// Whose fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A ticket's custom fields, set by id.
    Ticket,
    /// A user's fields, set by key.
    User,
    /// An organisation's fields, set by key.
    Organization,
}

impl Owner {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Ticket => "ticket",
            Owner::User => "user",
            Owner::Organization => "organization",
        }
    }

    fn not_found(self) -> HelpdeskError {
        HelpdeskError::NotFound(match self {
            Owner::Ticket => "TicketField",
            Owner::User => "UserField",
            Owner::Organization => "OrganizationField",
        })
    }

    /// The types a field of this owner may have.
    pub fn types(self) -> &'static [&'static str] {
        match self {
            Owner::Ticket => &["text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "tagger", "multiselect"],
            _ => &[
                "text",
                "textarea",
                "checkbox",
                "date",
                "integer",
                "decimal",
                "regexp",
                "dropdown",
                "multiselect",
            ],
        }
    }
}

/// A ticket's built-in fields, as Zendesk lists them: `(type, title, position)`.
pub const SYSTEM_FIELDS: &[(&str, &str, i64)] = &[
    ("subject", "Subject", 1),
    ("description", "Description", 2),
    ("status", "Status", 3),
    ("tickettype", "Type", 4),
    ("priority", "Priority", 5),
    ("group", "Group", 6),
    ("assignee", "Assignee", 7),
];

/// Most fields an owner may have (system fields aside).
pub const MAX_FIELDS: i64 = 400;
/// Most options a drop-down may have.
pub const MAX_OPTIONS: usize = 2000;
/// Longest pattern of a `regexp` field.
const MAX_PATTERN: usize = 1000;
/// Longest single-line value.
const MAX_LINE: usize = 1024;
/// Longest multi-line value.
const MAX_TEXT: usize = 65_536;

/// One option of a drop-down or multi-select.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldOption {
    /// Id.
    pub id: i64,
    /// What people see.
    pub name: String,
    /// What is stored (a tag).
    pub value: String,
    /// Chosen by default.
    #[serde(default)]
    pub default: bool,
}

/// A field definition with its options.
#[derive(Debug, Clone)]
pub struct Field {
    /// As stored.
    pub def: FieldRow,
    /// Its options, in order.
    pub options: Vec<FieldOption>,
}

impl Field {
    /// A stored definition with its options read.
    pub fn from_row(def: FieldRow) -> Self {
        let options = serde_json::from_str(&def.options).unwrap_or_default();
        Field { def, options }
    }

    /// Whether it takes values (not a system field, and in use).
    fn takes_values(&self) -> bool {
        self.def.active && !self.def.system
    }
}

/// An option as given: an existing option's id keeps it.
#[derive(Debug, Clone, Default)]
pub struct OptionInput {
    /// An existing option's id.
    pub id: Option<i64>,
    /// What people see.
    pub name: String,
    /// What is stored.
    pub value: String,
    /// Chosen by default.
    pub default: bool,
}

/// A new field, or changes to one.
#[derive(Debug, Clone, Default)]
pub struct FieldInput {
    /// Type (on creation only).
    pub field_type: Option<String>,
    /// Key (user and organisation fields, on creation only).
    pub key: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Title in the portal.
    pub title_in_portal: Option<Option<String>>,
    /// Position.
    pub position: Option<i64>,
    /// In use.
    pub active: Option<bool>,
    /// Required to solve.
    pub required: Option<bool>,
    /// Required of requesters.
    pub required_in_portal: Option<bool>,
    /// Visible to requesters.
    pub visible_in_portal: Option<bool>,
    /// Editable by requesters.
    pub editable_in_portal: Option<bool>,
    /// A `regexp` field's pattern.
    pub regexp: Option<Option<String>>,
    /// A checkbox's tag.
    pub tag: Option<Option<String>>,
    /// Options (replacing the list).
    pub options: Option<Vec<OptionInput>>,
}

/// A ticket form with its fields.
#[derive(Debug, Clone)]
pub struct Form {
    /// As stored.
    pub row: FormRow,
    /// Its fields' ids, in order.
    pub field_ids: Vec<i64>,
}

impl Form {
    fn from_row(row: FormRow) -> Self {
        let field_ids = serde_json::from_str(&row.field_ids).unwrap_or_default();
        Form { row, field_ids }
    }
}

/// A new form, or changes to one.
#[derive(Debug, Clone, Default)]
pub struct FormInput {
    /// Name agents see.
    pub name: Option<String>,
    /// Name requesters see.
    pub display_name: Option<String>,
    /// Position.
    pub position: Option<i64>,
    /// In use.
    pub active: Option<bool>,
    /// The default form.
    pub default: Option<bool>,
    /// Requesters may choose it.
    pub end_user_visible: Option<bool>,
    /// Its fields, in order.
    pub field_ids: Option<Vec<i64>>,
}

fn invalid(field: &str, message: impl Into<String>) -> HelpdeskError {
    HelpdeskError::invalid(field, message)
}

/// A required value left out; `message` names the field as people read it.
fn blank(field: &str, message: &'static str) -> HelpdeskError {
    HelpdeskError::Invalid {
        field: field.into(),
        message: message.into(),
        code: "BlankValue",
    }
}

fn admin(scope: &Scope) -> Result<()> {
    if scope.is_admin() {
        Ok(())
    } else {
        Err(HelpdeskError::Forbidden("only admins can change fields and forms"))
    }
}

/// A tag as Zendesk keeps one: one word, lower case, at most 80 characters.
fn tag_value(s: &str, field: &str) -> Result<String> {
    let t = s.trim().to_lowercase();
    if t.is_empty() || t.chars().count() > 80 || t.chars().any(char::is_whitespace) || t.contains(',') {
        return Err(invalid(field, format!("{field}: a value is one word of at most 80 characters")));
    }
    Ok(t)
}

/// A user or organisation field's key: a letter, then letters, digits and underscores.
fn check_key(k: &str) -> Result<String> {
    let ok = k.len() <= 64 && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(k.to_string())
    } else {
        Err(invalid(
            "key",
            "Key: begins with a letter and holds only letters, digits and underscores (at most 64)",
        ))
    }
}

fn compile(pattern: &str) -> Result<regex::Regex> {
    if pattern.len() > MAX_PATTERN {
        return Err(invalid("regexp_for_validation", "regexp_for_validation: at most 1000 characters"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| invalid("regexp_for_validation", "regexp_for_validation: is not a valid regular expression"))
}

/// The options given, checked: names not blank, values tags and unique; an option keeps its id
/// when it names one of `old`, others get new ids after the highest so far.
fn options(field_id: i64, given: &[OptionInput], old: &[FieldOption]) -> Result<Vec<FieldOption>> {
    if given.is_empty() {
        return Err(invalid("custom_field_options", "custom_field_options: a drop-down needs at least one option"));
    }
    if given.len() > MAX_OPTIONS {
        return Err(invalid("custom_field_options", "custom_field_options: at most 2000 options"));
    }
    let mut next = old.iter().map(|o| o.id).max().unwrap_or(field_id.saturating_mul(10_000));
    let mut out: Vec<FieldOption> = Vec::with_capacity(given.len());
    for o in given {
        // An existing option named by its id alone stays as it is.
        let kept = o.id.and_then(|id| old.iter().find(|x| x.id == id));
        let o = match kept {
            Some(x) if o.name.trim().is_empty() && o.value.trim().is_empty() => &OptionInput {
                id: Some(x.id),
                name: x.name.clone(),
                value: x.value.clone(),
                default: o.default || x.default,
            },
            _ => o,
        };
        let name = o.name.trim();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(invalid(
                "custom_field_options",
                "custom_field_options: each option needs a name of at most 255 characters",
            ));
        }
        let value = tag_value(&o.value, "custom_field_options")?;
        if out.iter().any(|x| x.value == value) {
            return Err(HelpdeskError::duplicate("custom_field_options", "custom_field_options: values must be unique"));
        }
        let id = match o.id.filter(|id| old.iter().any(|x| x.id == *id) && !out.iter().any(|x| x.id == *id)) {
            Some(id) => id,
            None => {
                next = next.saturating_add(1);
                next
            }
        };
        out.push(FieldOption {
            id,
            name: name.to_string(),
            value,
            default: o.default,
        });
    }
    if out.iter().filter(|o| o.default).count() > 1 {
        return Err(invalid("custom_field_options", "custom_field_options: at most one option is the default"));
    }
    Ok(out)
}

/// A date as `YYYY-MM-DD`.
fn date(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 10).then_some(())?;
    s.parse::<jiff::civil::Date>().ok().map(|d| d.to_string())
}

/// `v` checked against field `f` and put in the shape kept: text as given, a checkbox as a
/// boolean, a date as `YYYY-MM-DD`, numbers as their decimal text (as Zendesk answers them), a
/// drop-down as one of its values, a multi-select as a list of them; `null` clears.
pub fn check_value(f: &Field, v: &Value, label: &str) -> Result<Value> {
    let title = &f.def.title;
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match f.def.field_type.as_str() {
        "text" | "regexp" => {
            let s = text(v).ok_or_else(|| invalid(label, format!("{label}: {title} is a line of text")))?;
            if s.contains('\n') || s.chars().count() > MAX_LINE {
                return Err(invalid(label, format!("{label}: {title} is one line of at most 1024 characters")));
            }
            if f.def.field_type == "regexp" {
                let re = compile(f.def.regexp.as_deref().unwrap_or(""))?;
                if !re.is_match(&s) {
                    return Err(invalid(label, format!("{label}: {title} does not match its pattern")));
                }
            }
            if s.is_empty() { Value::Null } else { Value::String(s) }
        }
        "textarea" => {
            let s = text(v).ok_or_else(|| invalid(label, format!("{label}: {title} is text")))?;
            if s.chars().count() > MAX_TEXT {
                return Err(invalid(label, format!("{label}: {title} is too long")));
            }
            if s.is_empty() { Value::Null } else { Value::String(s) }
        }
        "checkbox" => match v {
            Value::Bool(b) => Value::Bool(*b),
            Value::Number(n) if n.as_i64() == Some(1) => Value::Bool(true),
            Value::Number(n) if n.as_i64() == Some(0) => Value::Bool(false),
            Value::String(s) if s == "true" || s == "1" => Value::Bool(true),
            Value::String(s) if s == "false" || s == "0" || s.is_empty() => Value::Bool(false),
            _ => return Err(invalid(label, format!("{label}: {title} is true or false"))),
        },
        "date" => {
            let s = text(v).ok_or_else(|| invalid(label, format!("{label}: {title} is a date (YYYY-MM-DD)")))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            Value::String(date(&s).ok_or_else(|| invalid(label, format!("{label}: {title} is a date (YYYY-MM-DD)")))?)
        }
        "integer" => {
            let s = text(v).ok_or_else(|| invalid(label, format!("{label}: {title} is a whole number")))?;
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            let n: i64 = s.trim().parse().map_err(|_| invalid(label, format!("{label}: {title} is a whole number")))?;
            Value::String(n.to_string())
        }
        "decimal" => {
            let s = text(v).ok_or_else(|| invalid(label, format!("{label}: {title} is a number")))?;
            let t = s.trim();
            if t.is_empty() {
                return Ok(Value::Null);
            }
            let n: f64 = t.parse().map_err(|_| invalid(label, format!("{label}: {title} is a number")))?;
            if !n.is_finite() || t.len() > 40 || !t.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+')) {
                return Err(invalid(label, format!("{label}: {title} is a number")));
            }
            Value::String(t.to_string())
        }
        "tagger" | "dropdown" => {
            let s = text(v).ok_or_else(|| invalid(label, format!("{label}: {title} is one of its options")))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            let o = f
                .options
                .iter()
                .find(|o| o.value == s)
                .ok_or_else(|| invalid(label, format!("{label}: {title} is one of its options")))?;
            Value::String(o.value.clone())
        }
        "multiselect" => {
            let items = match v {
                Value::Array(a) => a.clone(),
                Value::String(s) => vec![Value::String(s.clone())],
                _ => return Err(invalid(label, format!("{label}: {title} is a list of its options"))),
            };
            let mut chosen: Vec<String> = Vec::new();
            for it in &items {
                let s = it
                    .as_str()
                    .ok_or_else(|| invalid(label, format!("{label}: {title} is a list of its options")))?;
                let o = f
                    .options
                    .iter()
                    .find(|o| o.value == s)
                    .ok_or_else(|| invalid(label, format!("{label}: {title} is a list of its options")))?;
                if !chosen.contains(&o.value) {
                    chosen.push(o.value.clone());
                }
            }
            // Kept in the options' order, so the same choice reads the same however it was sent.
            let out: Vec<&String> = f.options.iter().map(|o| &o.value).filter(|v| chosen.contains(v)).collect();
            if out.is_empty() { Value::Null } else { json!(out) }
        }
        _ => return Err(invalid(label, format!("{label}: {title} cannot be set"))),
    })
}

/// Custom field values checked against the ticket fields they name.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// The values as kept.
    pub values: Vec<(i64, Value)>,
    /// The tenant's ticket fields (empty when no value was given).
    pub defs: Vec<Field>,
}

/// [`Helpdesk::check_ticket_values`] against ticket fields already read (`defs`).
pub(crate) fn check_ticket_values_against(scope: &Scope, given: &[(i64, Value)], defs: Vec<Field>) -> Result<Checked> {
    let mut out = Vec::with_capacity(given.len());
    for (id, v) in given {
        let f = defs
            .iter()
            .find(|f| f.def.id == *id && f.takes_values())
            .ok_or_else(|| invalid("custom_fields", format!("custom_fields: there is no ticket field {id}")))?;
        if !scope.is_staff() && !f.def.editable_in_portal {
            return Err(invalid("custom_fields", format!("custom_fields: {} cannot be set by requesters", f.def.title)));
        }
        out.push((*id, check_value(f, v, "custom_fields")?));
    }
    Ok(Checked { values: out, defs })
}

impl Checked {
    /// The tags field `id` holding `v` puts on its ticket, as Zendesk links them: a drop-down's
    /// chosen option, each option of a multi-select, a ticked check box's tag.
    pub fn tags_of(&self, id: i64, v: &Value) -> Vec<String> {
        let Some(f) = self.defs.iter().find(|f| f.def.id == id) else {
            return Vec::new();
        };
        match (f.def.field_type.as_str(), v) {
            ("tagger" | "dropdown", Value::String(s)) => vec![s.clone()],
            ("multiselect", Value::Array(items)) => items.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            ("checkbox", Value::Bool(true)) => f.def.tag.clone().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

impl Helpdesk {
    /// A ticket's system field rows exist for the tenant (they are made the first time fields
    /// or forms are used).
    async fn ensure_system_fields(&self, scope: &Scope) -> Result<()> {
        let mut c = self.db.read().await?;
        let have = suoja_store::fields::fields(&mut c, scope.tenant, Owner::Ticket.as_str()).await?;
        drop(c);
        if have.iter().filter(|f| f.system).count() >= SYSTEM_FIELDS.len() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        suoja_store::fields::ensure_system(&mut tx, scope.tenant, SYSTEM_FIELDS, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An owner's fields, in order: every one for staff; for requesters, as Zendesk lists them
    /// to end users, the ticket fields the portal shows them (user and organisation fields are
    /// staff's).
    pub async fn list_fields(&self, scope: &Scope, owner: Owner) -> Result<Vec<Field>> {
        if owner != Owner::Ticket {
            require_staff(scope)?;
        }
        if owner == Owner::Ticket {
            self.ensure_system_fields(scope).await?;
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::fields::fields(&mut c, scope.tenant, owner.as_str()).await?;
        Ok(rows
            .into_iter()
            .filter(|f| scope.is_staff() || (f.active && f.visible_in_portal))
            .map(Field::from_row)
            .collect())
    }

    /// One field (as [`Self::list_fields`] shows them).
    pub async fn get_field(&self, scope: &Scope, owner: Owner, id: i64) -> Result<Field> {
        if owner != Owner::Ticket {
            require_staff(scope)?;
        }
        let mut c = self.db.read().await?;
        suoja_store::fields::field(&mut c, scope.tenant, owner.as_str(), id)
            .await?
            .filter(|f| scope.is_staff() || (f.active && f.visible_in_portal))
            .map(Field::from_row)
            .ok_or_else(|| owner.not_found())
    }

    /// Creates a field (admins).
    pub async fn create_field(&self, scope: &Scope, owner: Owner, input: FieldInput) -> Result<Field> {
        admin(scope)?;
        let ty = input.field_type.clone().ok_or_else(|| blank("type", "Type: cannot be blank"))?;
        let ty = if owner != Owner::Ticket && ty == "tagger" {
            "dropdown".to_string()
        } else {
            ty
        };
        if !owner.types().contains(&ty.as_str()) {
            return Err(invalid("type", format!("Type: must be one of {}", owner.types().join(", "))));
        }
        let key = match owner {
            Owner::Ticket => None,
            _ => Some(check_key(input.key.as_deref().ok_or_else(|| blank("key", "Key: cannot be blank"))?)?),
        };
        if owner == Owner::Ticket {
            // Placed after the system fields.
            self.ensure_system_fields(scope).await?;
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if suoja_store::fields::count_custom(&mut tx, scope.tenant, owner.as_str()).await? >= MAX_FIELDS {
            return Err(HelpdeskError::Conflict(format!("at most {MAX_FIELDS} fields; remove one first")));
        }
        let existing = suoja_store::fields::fields(&mut tx, scope.tenant, owner.as_str()).await?;
        let position = existing.iter().map(|f| f.position).max().unwrap_or(0).saturating_add(1);
        let mut row = new_row(owner, ty, key, String::new(), position, now);
        if input.title.is_none() {
            return Err(blank("title", "Title: cannot be blank"));
        }
        let mut field = Field {
            def: row.clone(),
            options: Vec::new(),
        };
        apply_field(&mut field, &input, true)?;
        row = field.def.clone();
        row.id = suoja_store::fields::insert_field(&mut tx, scope.tenant, &row).await.map_err(|e| match e {
            StoreError::Duplicate(_) => HelpdeskError::duplicate("key", "Key: has already been taken"),
            other => other.into(),
        })?;
        // Options are numbered from the field's id, known only now.
        if let Some(given) = &input.options {
            field.options = options(row.id, given, &[])?;
            row.options = serde_json::to_string(&field.options).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
            suoja_store::fields::update_field(&mut tx, scope.tenant, &row).await?;
        }
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, field.id = row.id, owner = owner.as_str(), "field created");
        Ok(Field::from_row(row))
    }

    /// Changes a field (admins). Its type and key stay; a system field keeps its kind.
    pub async fn update_field(&self, scope: &Scope, owner: Owner, id: i64, input: FieldInput) -> Result<Field> {
        admin(scope)?;
        let mut tx = self.db.begin().await?;
        let row = suoja_store::fields::field(&mut tx, scope.tenant, owner.as_str(), id)
            .await?
            .ok_or_else(|| owner.not_found())?;
        let mut field = Field::from_row(row);
        if input
            .field_type
            .as_deref()
            .is_some_and(|t| t != field.def.field_type && !(t == "tagger" && field.def.field_type == "dropdown"))
        {
            return Err(invalid("type", "Type: cannot be changed; make a new field"));
        }
        if input.key.as_deref().is_some_and(|k| Some(k) != field.def.key.as_deref()) {
            return Err(invalid("key", "Key: cannot be changed; make a new field"));
        }
        apply_field(&mut field, &input, false)?;
        if let Some(given) = &input.options {
            field.options = options(field.def.id, given, &field.options)?;
            field.def.options = serde_json::to_string(&field.options).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
        }
        field.def.updated_at = self.now();
        suoja_store::fields::update_field(&mut tx, scope.tenant, &field.def).await?;
        tx.commit().await?;
        Ok(field)
    }

    /// Removes a field (admins). Values already given stay with their records (they are
    /// people's data, exported and erased with them) and are no longer taken.
    pub async fn delete_field(&self, scope: &Scope, owner: Owner, id: i64) -> Result<()> {
        admin(scope)?;
        let mut tx = self.db.begin().await?;
        let row = suoja_store::fields::field(&mut tx, scope.tenant, owner.as_str(), id)
            .await?
            .ok_or_else(|| owner.not_found())?;
        if row.system {
            return Err(HelpdeskError::Conflict("a system field cannot be removed; make it inactive instead".into()));
        }
        suoja_store::fields::delete_field(&mut tx, scope.tenant, owner.as_str(), id).await?;
        // Forms no longer list it.
        if owner == Owner::Ticket {
            for mut form in suoja_store::fields::forms(&mut tx, scope.tenant).await? {
                let ids: Vec<i64> = Form::from_row(form.clone()).field_ids;
                if ids.contains(&id) {
                    let kept: Vec<i64> = ids.into_iter().filter(|x| *x != id).collect();
                    form.field_ids = serde_json::to_string(&kept).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
                    form.updated_at = self.now();
                    suoja_store::fields::update_form(&mut tx, scope.tenant, &form).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ticket forms: every one for staff; the active ones requesters may choose for end users.
    pub async fn list_forms(&self, scope: &Scope) -> Result<Vec<Form>> {
        let mut c = self.db.read().await?;
        let rows = suoja_store::fields::forms(&mut c, scope.tenant).await?;
        Ok(rows
            .into_iter()
            .filter(|f| scope.is_staff() || (f.active && f.end_user_visible))
            .map(Form::from_row)
            .collect())
    }

    /// One form (as [`Self::list_forms`] shows them).
    pub async fn get_form(&self, scope: &Scope, id: i64) -> Result<Form> {
        let mut c = self.db.read().await?;
        suoja_store::fields::form(&mut c, scope.tenant, id, false)
            .await?
            .filter(|f| scope.is_staff() || (f.active && f.end_user_visible))
            .map(Form::from_row)
            .ok_or(HelpdeskError::NotFound("TicketForm"))
    }

    /// Creates a form (admins). Without fields named it holds the system fields.
    pub async fn create_form(&self, scope: &Scope, input: FormInput) -> Result<Form> {
        admin(scope)?;
        self.ensure_system_fields(scope).await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let fields = suoja_store::fields::fields(&mut tx, scope.tenant, Owner::Ticket.as_str()).await?;
        let forms = suoja_store::fields::forms(&mut tx, scope.tenant).await?;
        let name = input.name.clone().unwrap_or_default();
        let mut row = FormRow {
            id: 0,
            display_name: String::new(),
            name,
            position: forms.iter().map(|f| f.position).max().unwrap_or(0).saturating_add(1),
            active: true,
            default: forms.is_empty(),
            end_user_visible: true,
            field_ids: "[]".into(),
            created_at: now,
            updated_at: now,
        };
        let ids = input
            .field_ids
            .clone()
            .unwrap_or_else(|| fields.iter().filter(|f| f.system).map(|f| f.id).collect());
        apply_form(&mut row, &input, &ids, &fields)?;
        row.id = suoja_store::fields::insert_form(&mut tx, scope.tenant, &row).await?;
        if row.default {
            suoja_store::fields::clear_other_defaults(&mut tx, scope.tenant, row.id).await?;
        }
        tx.commit().await?;
        Ok(Form::from_row(row))
    }

    /// Changes a form (admins).
    pub async fn update_form(&self, scope: &Scope, id: i64, input: FormInput) -> Result<Form> {
        admin(scope)?;
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::fields::form(&mut tx, scope.tenant, id, true)
            .await?
            .ok_or(HelpdeskError::NotFound("TicketForm"))?;
        let fields = suoja_store::fields::fields(&mut tx, scope.tenant, Owner::Ticket.as_str()).await?;
        let ids = match &input.field_ids {
            Some(ids) => ids.clone(),
            // Kept as they are, less any field removed since.
            None => Form::from_row(row.clone())
                .field_ids
                .into_iter()
                .filter(|id| fields.iter().any(|f| f.id == *id))
                .collect(),
        };
        if input.default == Some(false) && row.default {
            return Err(invalid("default", "default: make another form the default instead"));
        }
        apply_form(&mut row, &input, &ids, &fields)?;
        row.updated_at = self.now();
        suoja_store::fields::update_form(&mut tx, scope.tenant, &row).await?;
        if row.default {
            suoja_store::fields::clear_other_defaults(&mut tx, scope.tenant, row.id).await?;
        }
        tx.commit().await?;
        Ok(Form::from_row(row))
    }

    /// Removes a form (admins); its tickets keep their values. The default form stays.
    pub async fn delete_form(&self, scope: &Scope, id: i64) -> Result<()> {
        admin(scope)?;
        let mut tx = self.db.begin().await?;
        let row = suoja_store::fields::form(&mut tx, scope.tenant, id, true)
            .await?
            .ok_or(HelpdeskError::NotFound("TicketForm"))?;
        if row.default {
            return Err(HelpdeskError::Conflict(
                "the default form cannot be removed; make another form the default first".into(),
            ));
        }
        suoja_store::fields::delete_form(&mut tx, scope.tenant, id, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The ticket custom fields a requester sees (active, visible in the portal), in order; on
    /// a form, only the form's, in its order.
    pub async fn portal_fields(&self, scope: &Scope, form: Option<i64>) -> Result<Vec<Field>> {
        let mut c = self.db.read().await?;
        let all: Vec<Field> = suoja_store::fields::fields(&mut c, scope.tenant, Owner::Ticket.as_str())
            .await?
            .into_iter()
            .map(Field::from_row)
            .filter(|f| f.takes_values() && f.def.visible_in_portal)
            .collect();
        let form = match form {
            Some(id) => suoja_store::fields::form(&mut c, scope.tenant, id, false).await?.map(Form::from_row),
            None => None,
        };
        Ok(match form {
            Some(form) => form.field_ids.iter().filter_map(|id| all.iter().find(|f| f.def.id == *id).cloned()).collect(),
            None => all,
        })
    }

    /// The field a value carried in from another helpdesk (a portability import) goes into: an
    /// active custom ticket field with the same title that takes the value, or else a new
    /// multi-line text field with that title. Returns its id and the value as kept.
    pub async fn field_for_import(&self, scope: &Scope, title: &str, value: &Value) -> Result<(i64, Value)> {
        let title: String = title.trim().chars().take(255).collect();
        let title = if title.is_empty() { "Imported field".to_string() } else { title };
        self.ensure_system_fields(scope).await?;
        let mut tx = self.db.begin().await?;
        let defs = self.ticket_field_defs(&mut tx, scope.tenant).await?;
        for f in defs.iter().filter(|f| f.takes_values() && f.def.title == title) {
            if let Ok(v) = check_value(f, value, "custom_fields") {
                return Ok((f.def.id, v));
            }
        }
        if suoja_store::fields::count_custom(&mut tx, scope.tenant, Owner::Ticket.as_str()).await? >= MAX_FIELDS {
            return Err(HelpdeskError::Conflict(format!("at most {MAX_FIELDS} fields; remove one first")));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let now = self.now();
        let position = defs.iter().map(|f| f.def.position).max().unwrap_or(0).saturating_add(1);
        let row = new_row(Owner::Ticket, "textarea".into(), None, title, position, now);
        let id = suoja_store::fields::insert_field(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        let field = Field::from_row(FieldRow { id, ..row });
        Ok((id, check_value(&field, &Value::String(text), "custom_fields")?))
    }

    /// The ticket fields in force, by id.
    pub(crate) async fn ticket_field_defs(&self, c: &mut Conn, t: suoja_core::TenantId) -> Result<Vec<Field>> {
        Ok(suoja_store::fields::fields(c, t, Owner::Ticket.as_str())
            .await?
            .into_iter()
            .map(Field::from_row)
            .collect())
    }

    /// Custom field values given for a ticket, checked against the tenant's ticket fields:
    /// every id names an active custom field (one a requester may edit, when a requester
    /// gives it), every value fits its type. Returns the values as kept.
    pub(crate) async fn check_ticket_values(&self, c: &mut Conn, scope: &Scope, given: &[(i64, Value)]) -> Result<Checked> {
        if given.is_empty() {
            return Ok(Checked::default());
        }
        let defs = self.ticket_field_defs(c, scope.tenant).await?;
        check_ticket_values_against(scope, given, defs)
    }

    /// The fields a ticket must hold for `who`: agents solving it fill in the required fields,
    /// requesters opening it the ones required in the portal (the ticket's form's, when it has
    /// one). Names the first that is empty.
    pub(crate) async fn check_required(
        &self,
        c: &mut Conn,
        t: suoja_core::TenantId,
        form: Option<i64>,
        values: &[(i64, Value)],
        requester: bool,
    ) -> Result<()> {
        let defs = self.ticket_field_defs(c, t).await?;
        let on_form: Option<Vec<i64>> = match form {
            Some(id) => suoja_store::fields::form(c, t, id, false).await?.map(|f| Form::from_row(f).field_ids),
            None => None,
        };
        for f in defs.iter().filter(|f| f.takes_values()) {
            let needed = if requester {
                f.def.required_in_portal && f.def.editable_in_portal
            } else {
                f.def.required
            };
            if !needed || on_form.as_ref().is_some_and(|ids| !ids.contains(&f.def.id)) {
                continue;
            }
            if is_empty(values.iter().find(|(id, _)| *id == f.def.id).map(|(_, v)| v)) {
                return Err(if requester {
                    HelpdeskError::Invalid {
                        field: "custom_fields".into(),
                        message: format!("custom_fields: {} is required", f.def.title),
                        code: "BlankValue",
                    }
                } else {
                    HelpdeskError::Invalid {
                        field: "custom_fields".into(),
                        message: format!("custom_fields: {} is required to solve the ticket", f.def.title),
                        code: "BlankValue",
                    }
                });
            }
        }
        Ok(())
    }

    /// A ticket form named for a ticket exists and is active (and one requesters may choose,
    /// when a requester names it).
    pub(crate) async fn check_form(&self, c: &mut Conn, scope: &Scope, id: i64) -> Result<()> {
        let ok = suoja_store::fields::form(c, scope.tenant, id, false)
            .await?
            .is_some_and(|f| f.active && (scope.is_staff() || f.end_user_visible));
        if ok {
            Ok(())
        } else {
            Err(invalid("ticket_form_id", format!("ticket_form_id: there is no ticket form {id}")))
        }
    }

    /// The ids of the ticket fields requesters see.
    pub(crate) async fn portal_visible_ids(&self, c: &mut Conn, t: suoja_core::TenantId) -> Result<Vec<i64>> {
        Ok(self
            .ticket_field_defs(c, t)
            .await?
            .into_iter()
            .filter(|f| f.takes_values() && f.def.visible_in_portal)
            .map(|f| f.def.id)
            .collect())
    }

    /// User or organisation field values given by key, checked against the owner's fields and
    /// laid over `current`: every key names an active field, every value fits its type; a
    /// `null` removes the value.
    pub(crate) async fn merge_keyed_values(&self, c: &mut Conn, t: suoja_core::TenantId, owner: Owner, current: &Value, given: &Value) -> Result<Value> {
        let label = match owner {
            Owner::User => "user_fields",
            _ => "organization_fields",
        };
        let Value::Object(given) = given else {
            return Err(invalid(label, format!("{label}: must be an object")));
        };
        let mut out: Map<String, Value> = match current {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        if given.is_empty() {
            return Ok(Value::Object(out));
        }
        let defs: Vec<Field> = suoja_store::fields::fields(c, t, owner.as_str())
            .await?
            .into_iter()
            .map(Field::from_row)
            .collect();
        for (k, v) in given {
            // Sent back as held (a removed field's value included): no change.
            if out.get(k) == Some(v) {
                continue;
            }
            let f = defs
                .iter()
                .find(|f| f.def.key.as_deref() == Some(k.as_str()) && f.takes_values())
                .ok_or_else(|| {
                    invalid(
                        label,
                        format!("{label}: there is no field with the key {}", k.chars().take(64).collect::<String>()),
                    )
                })?;
            match check_value(f, v, label)? {
                Value::Null => {
                    out.remove(k);
                }
                v => {
                    out.insert(k.clone(), v);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// A new custom field of `owner`, in use, shown nowhere outside the staff's pages, placed at
/// `position`.
fn new_row(owner: Owner, field_type: String, key: Option<String>, title: String, position: i64, now: suoja_core::Timestamp) -> FieldRow {
    FieldRow {
        id: 0,
        owner: owner.as_str().into(),
        system: false,
        field_type,
        key,
        title,
        description: String::new(),
        title_in_portal: None,
        position,
        active: true,
        required: false,
        required_in_portal: false,
        visible_in_portal: false,
        editable_in_portal: false,
        regexp: None,
        tag: None,
        options: "[]".into(),
        created_at: now,
        updated_at: now,
    }
}

fn apply_field(field: &mut Field, input: &FieldInput, creating: bool) -> Result<()> {
    let d = &mut field.def;
    if let Some(t) = &input.title {
        let t = t.trim();
        if t.is_empty() {
            return Err(blank("title", "Title: cannot be blank"));
        }
        if t.chars().count() > 255 {
            return Err(invalid("title", "Title: at most 255 characters"));
        }
        d.title = t.to_string();
    }
    if let Some(x) = &input.description {
        if x.chars().count() > 4096 {
            return Err(invalid("description", "Description: at most 4096 characters"));
        }
        d.description = x.clone();
    }
    if let Some(x) = &input.title_in_portal {
        d.title_in_portal = x.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if d.title_in_portal.as_ref().is_some_and(|s| s.chars().count() > 255) {
            return Err(invalid("title_in_portal", "title_in_portal: at most 255 characters"));
        }
    }
    if let Some(p) = input.position {
        d.position = p.clamp(0, 1_000_000);
    }
    for (slot, given) in [
        (&mut d.active, input.active),
        (&mut d.required, input.required),
        (&mut d.required_in_portal, input.required_in_portal),
        (&mut d.visible_in_portal, input.visible_in_portal),
        (&mut d.editable_in_portal, input.editable_in_portal),
    ] {
        if let Some(b) = given {
            *slot = b;
        }
    }
    if d.editable_in_portal {
        d.visible_in_portal = true;
    }
    let ty = d.field_type.clone();
    if let Some(r) = &input.regexp {
        if ty != "regexp" {
            return Err(invalid("regexp_for_validation", "regexp_for_validation: only a regexp field has a pattern"));
        }
        d.regexp = r.clone();
    }
    if ty == "regexp" {
        compile(
            d.regexp
                .as_deref()
                .ok_or_else(|| blank("regexp_for_validation", "regexp_for_validation: cannot be blank"))?,
        )?;
    }
    if let Some(tag) = &input.tag {
        if ty != "checkbox" {
            return Err(invalid("tag", "tag: only a checkbox has a tag"));
        }
        d.tag = tag.as_deref().filter(|s| !s.trim().is_empty()).map(|s| tag_value(s, "tag")).transpose()?;
    }
    let has_options = matches!(ty.as_str(), "tagger" | "dropdown" | "multiselect");
    if input.options.is_some() && !has_options {
        return Err(invalid(
            "custom_field_options",
            "custom_field_options: only a drop-down or multi-select has options",
        ));
    }
    if creating && has_options && input.options.is_none() {
        return Err(invalid("custom_field_options", "custom_field_options: a drop-down needs at least one option"));
    }
    if d.system && (input.options.is_some() || input.regexp.is_some() || input.tag.is_some()) {
        return Err(invalid("type", "a system field has no options, pattern or tag"));
    }
    Ok(())
}

fn apply_form(row: &mut FormRow, input: &FormInput, ids: &[i64], fields: &[FieldRow]) -> Result<()> {
    if let Some(n) = &input.name {
        row.name = n.trim().to_string();
    }
    if row.name.is_empty() {
        return Err(blank("name", "Name: cannot be blank"));
    }
    if row.name.chars().count() > 255 {
        return Err(invalid("name", "Name: at most 255 characters"));
    }
    if let Some(n) = &input.display_name {
        if n.chars().count() > 255 {
            return Err(invalid("display_name", "display_name: at most 255 characters"));
        }
        row.display_name = n.trim().to_string();
    }
    if row.display_name.is_empty() {
        row.display_name = row.name.clone();
    }
    if let Some(p) = input.position {
        row.position = p.clamp(0, 1_000_000);
    }
    if let Some(b) = input.active {
        row.active = b;
    }
    if let Some(b) = input.end_user_visible {
        row.end_user_visible = b;
    }
    if input.default == Some(true) {
        row.default = true;
    }
    if row.default && !row.active {
        return Err(invalid("active", "active: the default form is in use"));
    }
    let mut seen = Vec::with_capacity(ids.len());
    for id in ids {
        if !fields.iter().any(|f| f.id == *id) {
            return Err(invalid("ticket_field_ids", format!("ticket_field_ids: there is no ticket field {id}")));
        }
        if !seen.contains(id) {
            seen.push(*id);
        }
    }
    row.field_ids = serde_json::to_string(&seen).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(ty: &str) -> Field {
        Field {
            def: FieldRow {
                id: 7,
                owner: "ticket".into(),
                system: false,
                field_type: ty.into(),
                key: None,
                title: "Plan".into(),
                description: String::new(),
                title_in_portal: None,
                position: 1,
                active: true,
                required: false,
                required_in_portal: false,
                visible_in_portal: false,
                editable_in_portal: false,
                regexp: Some("^[A-Z]{2}-[0-9]+$".into()),
                tag: None,
                options: "[]".into(),
                created_at: suoja_core::Timestamp(0),
                updated_at: suoja_core::Timestamp(0),
            },
            options: vec![
                FieldOption {
                    id: 1,
                    name: "Gold".into(),
                    value: "gold".into(),
                    default: false,
                },
                FieldOption {
                    id: 2,
                    name: "Silver".into(),
                    value: "silver".into(),
                    default: false,
                },
            ],
        }
    }

    #[test]
    fn values_take_their_types_shape() {
        assert_eq!(check_value(&field("integer"), &json!(12), "x").unwrap(), json!("12"));
        assert_eq!(check_value(&field("integer"), &json!(" 12 "), "x").unwrap(), json!("12"));
        assert!(check_value(&field("integer"), &json!("12a"), "x").is_err());
        assert!(check_value(&field("integer"), &json!(1.5), "x").is_err());
        assert_eq!(check_value(&field("decimal"), &json!("1.25"), "x").unwrap(), json!("1.25"));
        assert!(check_value(&field("decimal"), &json!("NaN"), "x").is_err());
        assert!(check_value(&field("decimal"), &json!("inf"), "x").is_err());
        assert_eq!(check_value(&field("checkbox"), &json!("true"), "x").unwrap(), json!(true));
        assert!(check_value(&field("checkbox"), &json!("yes"), "x").is_err());
        assert_eq!(check_value(&field("checkbox"), &json!(1), "x").unwrap(), json!(true));
        assert!(check_value(&field("checkbox"), &json!(2), "x").is_err());
        assert_eq!(check_value(&field("date"), &json!("2024-02-29"), "x").unwrap(), json!("2024-02-29"));
        assert!(check_value(&field("date"), &json!("2023-02-29"), "x").is_err());
        assert!(check_value(&field("date"), &json!("2024-2-9"), "x").is_err());
        assert_eq!(check_value(&field("tagger"), &json!("gold"), "x").unwrap(), json!("gold"));
        assert!(check_value(&field("tagger"), &json!("Gold"), "x").is_err());
        assert_eq!(
            check_value(&field("multiselect"), &json!(["silver", "gold", "silver"]), "x").unwrap(),
            json!(["gold", "silver"])
        );
        assert!(check_value(&field("multiselect"), &json!(["bronze"]), "x").is_err());
        assert_eq!(check_value(&field("regexp"), &json!("FI-123"), "x").unwrap(), json!("FI-123"));
        assert!(check_value(&field("regexp"), &json!("fi-123"), "x").is_err());
        assert!(check_value(&field("text"), &json!("two\nlines"), "x").is_err());
        assert_eq!(check_value(&field("textarea"), &json!("two\nlines"), "x").unwrap(), json!("two\nlines"));
        assert_eq!(check_value(&field("text"), &Value::Null, "x").unwrap(), Value::Null);
        assert!(check_value(&field("text"), &json!({"a": 1}), "x").is_err());
    }

    #[test]
    fn options_keep_their_ids_and_refuse_duplicates() {
        let old = field("tagger").options;
        let given = vec![
            OptionInput {
                id: Some(2),
                name: "Silver".into(),
                value: "silver".into(),
                default: false,
            },
            OptionInput {
                id: None,
                name: "Bronze".into(),
                value: "Bronze".into(),
                default: true,
            },
        ];
        let out = options(7, &given, &old).unwrap();
        assert_eq!(out[0].id, 2);
        assert_eq!(out[1].value, "bronze");
        assert!(out[1].id > 2);
        let dup = vec![
            OptionInput {
                name: "A".into(),
                value: "a".into(),
                ..Default::default()
            },
            OptionInput {
                name: "B".into(),
                value: "A".into(),
                ..Default::default()
            },
        ];
        assert!(options(7, &dup, &[]).is_err());
        assert!(options(7, &[], &[]).is_err());
        // Named by its id alone (as clients send back what they did not change), it stays.
        let kept = options(
            7,
            &[OptionInput {
                id: Some(1),
                ..Default::default()
            }],
            &old,
        )
        .unwrap();
        assert_eq!((kept[0].id, kept[0].name.as_str(), kept[0].value.as_str()), (1, "Gold", "gold"));
        assert!(
            options(
                7,
                &[OptionInput {
                    id: Some(99),
                    ..Default::default()
                }],
                &old
            )
            .is_err()
        );
        let spaced = vec![OptionInput {
            name: "A".into(),
            value: "two words".into(),
            ..Default::default()
        }];
        assert!(options(7, &spaced, &[]).is_err());
    }

    #[test]
    fn patterns_and_keys_are_checked() {
        assert!(compile("(a+)+$").is_ok());
        assert!(compile("(").is_err());
        assert!(compile(&"a".repeat(2000)).is_err());
        assert!(check_key("plan_level").is_ok());
        assert!(check_key("1plan").is_err());
        assert!(check_key("plan level").is_err());
    }
}
