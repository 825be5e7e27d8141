//! Views' counts, kept a while when counting is costly (see [`crate::counts`]): exact up to
//! [`VIEW_COUNT_CAP`], per view, and per agent when the view's conditions name the viewer.

use suoja_core::{Scope, TenantId, UserId};

use super::views::{VIEW_COUNT_CAP, View};
use crate::{Helpdesk, Result};

/// A view's count as the workspace and the API show it; `value` at most [`VIEW_COUNT_CAP`].
pub type ViewCount = crate::counts::Count;

/// Whose count: the view, and the agent asking when its conditions name `current_user` or
/// `current_groups` (everyone else's count of it differs).
pub(crate) type Key = (TenantId, i64, Option<UserId>);

/// The views' counts kept on this server.
pub(crate) type CountCache = crate::counts::CountCache<Key>;

/// A view's definition and time of change, hashed.
fn version(v: &View) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.row.definition.hash(&mut h);
    v.row.updated_at.0.hash(&mut h);
    h.finish()
}

fn key(scope: &Scope, v: &View) -> Key {
    let personal = v.def.all.iter().chain(&v.def.any).any(super::conditions::names_the_viewer);
    (scope.tenant, v.row.id, personal.then_some(scope.actor))
}

impl Helpdesk {
    /// A view's count (staff), exact up to [`VIEW_COUNT_CAP`]: counted now when counting is
    /// cheap, else as last counted (see [`crate::counts`]).
    pub async fn view_count(&self, scope: &Scope, v: &View) -> Result<ViewCount> {
        crate::require_staff(scope)?;
        let (hd, scope, v2) = (self.clone(), *scope, v.clone());
        let count = move || {
            let (hd, v) = (hd.clone(), v2.clone());
            async move {
                let n = {
                    let mut c = hd.db.read().await?;
                    let f = hd.view_filter(&mut c, &scope, &v).await?;
                    suoja_store::tickets::count_capped(&mut c, scope.tenant, &f, VIEW_COUNT_CAP + 1).await?
                };
                Ok(ViewCount {
                    value: n.min(VIEW_COUNT_CAP),
                    more: n > VIEW_COUNT_CAP,
                    fresh: true,
                    counted_at: hd.now(),
                })
            }
        };
        self.view_counts.get(key(&scope, v), version(v), "view", count(), count).await
    }
}
