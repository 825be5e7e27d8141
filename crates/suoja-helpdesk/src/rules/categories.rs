//! Trigger categories (Zendesk's `trigger_categories`): named groups a team files its triggers
//! under, in an order of their own. A category is a business rule of kind `trigger_category`
//! (its name is the rule's title); a trigger names its category in its definition. Staff read
//! categories; admins change them; one holding triggers is not removed.

use suoja_core::Scope;
use suoja_store::rules::RuleRow;

use super::{Kind, RuleInput};
use crate::{Helpdesk, HelpdeskError, Result};

/// A trigger category.
#[derive(Debug, Clone)]
pub struct Category {
    /// The stored rule (its title is the name).
    pub row: RuleRow,
}

fn admins_only(scope: &Scope) -> Result<()> {
    if !scope.is_admin() {
        return Err(HelpdeskError::Forbidden("only admins change trigger categories"));
    }
    Ok(())
}

impl Helpdesk {
    /// The tenant's trigger categories, in order (staff).
    pub async fn list_trigger_categories(&self, scope: &Scope) -> Result<Vec<Category>> {
        Ok(self
            .rules_of(scope, Kind::TriggerCategory, None)
            .await?
            .into_iter()
            .map(|row| Category { row })
            .collect())
    }

    /// One trigger category.
    pub async fn get_trigger_category(&self, scope: &Scope, id: i64) -> Result<Category> {
        Ok(Category {
            row: self.rule(scope, Kind::TriggerCategory, id).await?,
        })
    }

    /// Adds a category (admins): a name, last in order unless a position is given.
    pub async fn create_trigger_category(&self, scope: &Scope, name: Option<String>, position: Option<i64>) -> Result<Category> {
        admins_only(scope)?;
        let input = RuleInput {
            title: name,
            position,
            restriction: Some(None),
            ..RuleInput::default()
        };
        Ok(Category {
            row: self.add_rule(scope, Kind::TriggerCategory, &input, "{}".into()).await?,
        })
    }

    /// Renames or moves a category (admins).
    pub async fn update_trigger_category(&self, scope: &Scope, id: i64, name: Option<String>, position: Option<i64>) -> Result<Category> {
        admins_only(scope)?;
        let input = RuleInput {
            title: name,
            position,
            ..RuleInput::default()
        };
        Ok(Category {
            row: self.change_rule(scope, Kind::TriggerCategory, id, &input, |old| Ok(old.to_string())).await?,
        })
    }

    /// Removes a category (admins); one that triggers are filed under is refused.
    pub async fn delete_trigger_category(&self, scope: &Scope, id: i64) -> Result<()> {
        admins_only(scope)?;
        self.get_trigger_category(scope, id).await?;
        let used = self.list_triggers(scope, None).await?.iter().filter(|t| t.category_id == Some(id)).count();
        if used > 0 {
            return Err(HelpdeskError::invalid(
                "category_id",
                format!("category_id: {used} triggers are filed under this category; move them first"),
            ));
        }
        self.remove_rule(scope, Kind::TriggerCategory, id).await
    }
}
