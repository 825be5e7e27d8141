//! Bootstrap: a new tenant with its vault key, a first admin and an API token. Used by
//! `suoja init` and `suoja serve --demo`; the token is returned once and stored only as a hash.

use suoja_core::{Email, Personal, Role, Scope, TenantId, random};
use suoja_store::tokens::TokenKind;

use crate::model::UserInput;
use crate::{Helpdesk, HelpdeskError, Result};

/// What a bootstrap created.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The tenant.
    pub tenant: TenantId,
    /// Its subdomain.
    pub subdomain: String,
    /// The admin's scope.
    pub admin: Scope,
    /// The API token (shown once).
    pub api_token: Personal<String>,
    /// The admin's password, when one was generated (shown once).
    pub password: Option<Personal<String>>,
}

impl Helpdesk {
    /// Creates a tenant, its key, an admin with `email` (and a generated password when asked),
    /// and an API token.
    pub async fn bootstrap_tenant(&self, subdomain: &str, name: &str, region: &str, email: &Email, with_password: bool) -> Result<Bootstrap> {
        check_subdomain(subdomain)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let tenant = suoja_store::tenants::insert(&mut tx, subdomain, name, region, now).await.map_err(|e| match e {
            suoja_store::StoreError::Duplicate(_) => HelpdeskError::duplicate("subdomain", "is already taken"),
            other => other.into(),
        })?;
        self.vault.create_tenant(&mut tx, tenant, now).await?;
        let password = with_password.then(|| Personal::new(random::token::<12>()));
        let local = email.normalized().split('@').next().unwrap_or("admin").to_string();
        let input = UserInput {
            name: Some(Personal::new(local)),
            email: Some(Some(email.clone())),
            role: Some(Role::Admin),
            verified: Some(true),
            password: password.clone(),
            ..Default::default()
        };
        let admin = self.insert_user(&mut tx, tenant, &input, now).await?;
        let token = random::token::<30>();
        suoja_store::tokens::insert(&mut tx, tenant, admin.id, TokenKind::Api, &crate::auth::token_hash(&token), now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %tenant, user.id = %admin.id, "tenant bootstrapped");
        Ok(Bootstrap {
            tenant,
            subdomain: subdomain.to_string(),
            admin: Scope {
                tenant,
                actor: admin.id,
                role: Role::Admin,
                privacy_officer: false,
                token: None,
            },
            api_token: Personal::new(token),
            password,
        })
    }

    /// Creates a tenant in this node's region (`region` when there is only one) as
    /// [`Helpdesk::bootstrap_tenant`] does; with several regions its subdomain is routed to
    /// the region first, so two regions can never both create it, and the route is taken back
    /// if the tenant cannot be created — only that claim's route, and not when a tenant of that
    /// subdomain exists here (two creates of one subdomain at once: the one that lost never
    /// unroutes the one that won, which confirms its route once it is made). A subdomain that names a
    /// region (the first label of its host) is refused. Used by `suoja init` and the
    /// operator's pages.
    pub async fn create_tenant(&self, subdomain: &str, name: &str, region: &str, email: &Email, with_password: bool) -> Result<Bootstrap> {
        let region = self.residency.as_deref().map_or(region, |r| r.region.as_str());
        // Checked before any route is touched: a route is made only for a subdomain a tenant
        // can have, and taken back only by the claim that made it.
        check_subdomain(subdomain)?;
        check_name(name)?;
        if let Some(r) = &self.residency
            && r.names_a_region(subdomain)
        {
            return Err(HelpdeskError::invalid("subdomain", "names a region of this installation"));
        }
        let mut made = None;
        if let Some(r) = &self.residency {
            let at = self.now();
            match r.routes.claim(subdomain, region, at).await? {
                suoja_store::routing::Claim::Made => made = Some(at),
                suoja_store::routing::Claim::Held => {}
                suoja_store::routing::Claim::Taken(other) => {
                    return Err(HelpdeskError::duplicate("subdomain", format!("is already served in region {other}")));
                }
            }
        }
        match self.bootstrap_tenant(subdomain, name, region, email, with_password).await {
            Ok(b) => {
                if let Some(r) = &self.residency {
                    // The route is this tenant's now: a create of the same subdomain that failed
                    // cannot take it back, and one it took back meanwhile is made again.
                    match r.routes.confirm(subdomain, region, self.now()).await {
                        Ok(suoja_store::routing::Claim::Taken(other)) => {
                            tracing::error!(tenant.id = %b.tenant, region = %other, "a tenant was made while another region took its subdomain");
                            return Err(HelpdeskError::duplicate("subdomain", format!("is already served in region {other}")));
                        }
                        Ok(_) => {}
                        // A node routes its region's tenants again when it starts.
                        Err(e) => tracing::warn!(tenant.id = %b.tenant, error = %e, "confirming a new tenant's route failed"),
                    }
                }
                tracing::info!(tenant.id = %b.tenant, region, "tenant created in its region");
                Ok(b)
            }
            Err(e) => {
                let taken = matches!(&e, HelpdeskError::Invalid { field, code: "DuplicateValue", .. } if field == "subdomain");
                if let (Some(r), Some(at), false) = (&self.residency, made, taken) {
                    let exists = match self.db.read().await {
                        Ok(mut c) => suoja_store::tenants::by_subdomain(&mut c, subdomain).await.map(|t| t.is_some()),
                        Err(e) => Err(e),
                    };
                    // When it cannot be told, the route stays: a route without a tenant only
                    // keeps the subdomain from being made elsewhere; a tenant without one
                    // could be made again in another region. Only this claim's own route is
                    // taken back, never one a tenant made since has confirmed.
                    if matches!(exists, Ok(false))
                        && let Err(release) = r.routes.release_claim(subdomain, region, at).await
                    {
                        tracing::warn!(error = %release, "taking back the route of a tenant not made failed");
                    }
                }
                Err(e)
            }
        }
    }

    /// Where every tenant lives, for the operator: this region's tenants (from its database)
    /// and, with several regions, every other routed subdomain with its region; at most
    /// [`MAX_LISTED_TENANTS`] of each, by subdomain.
    pub async fn tenant_places(&self, region: &str) -> Result<Vec<TenantPlace>> {
        let here = self.residency.as_deref().map_or(region, |r| r.region.as_str());
        let local = {
            let mut c = self.db.read().await?;
            suoja_store::tenants::list(&mut c).await?
        };
        let mut places: std::collections::BTreeMap<String, TenantPlace> = local
            .into_iter()
            .take(MAX_LISTED_TENANTS)
            .map(|t| {
                let place = TenantPlace {
                    subdomain: t.subdomain.clone(),
                    id: Some(t.id),
                    name: Some(t.name),
                    region: t.region,
                    here: true,
                    last_move: None,
                };
                (t.subdomain, place)
            })
            .collect();
        if let Some(r) = &self.residency {
            for route in r.routes.list(suoja_core::num::to_i64(MAX_LISTED_TENANTS)).await? {
                let place = places.entry(route.subdomain.clone()).or_insert_with(|| TenantPlace {
                    subdomain: route.subdomain.clone(),
                    id: None,
                    name: None,
                    region: route.region.clone(),
                    here: false,
                    last_move: None,
                });
                // The route decides where it is served (a tenant moved away may still be
                // here until its move is done).
                place.region = route.region;
                place.here = place.region == here;
                place.last_move = route.last_move;
            }
        }
        Ok(places.into_values().collect())
    }

    /// The tenant a request's host names: `acme.anything` selects subdomain `acme` (in any
    /// case); a host that names none (an IP address, `localhost`) selects the installation's
    /// first tenant. With several regions only a subdomain this region holds selects a tenant
    /// (never another one, nor the first); a host naming another region's tenant never gets
    /// here (the HTTP layer refuses it first, with [`Helpdesk::check_region`]).
    pub async fn tenant_for_host(&self, host: &str) -> Result<Option<TenantId>> {
        let mut c = self.db.read().await?;
        if let Some(label) = host_label(host)
            && let Some(t) = suoja_store::tenants::by_subdomain(&mut c, &label).await?
        {
            return Ok(Some(t.id));
        }
        if self.residency.is_some() {
            return Ok(None);
        }
        Ok(suoja_store::tenants::first(&mut c).await?.map(|t| t.id))
    }

    /// With several regions: refuses a host naming a tenant that another region serves (it
    /// was created there, or moved there), or one being moved away (503 until the move has
    /// switched its route), before anything of this region is read for it. The
    /// routing database not answering is the service being unavailable (503), never a guess.
    pub async fn check_region(&self, host: &str) -> Result<()> {
        let (Some(r), Some(label)) = (&self.residency, host_label(host)) else {
            return Ok(());
        };
        let route = r.routes.route(&label).await?;
        match route.region {
            Some(region) if region != r.region => Err(HelpdeskError::WrongRegion {
                url: r.urls.get(&region).cloned(),
                region,
            }),
            Some(_) if route.moving => Err(HelpdeskError::Moving),
            _ => Ok(()),
        }
    }

    /// This node's region and the routes every region shares, when there are several.
    pub fn residency(&self) -> Option<&Residency> {
        self.residency.as_deref()
    }

    /// With several regions: routes every tenant of this region's database that has no route
    /// yet to this region (tenants made before regions were configured, or brought back by a
    /// restore), so no other region can take their subdomains. Returns the subdomains routed
    /// now and those another region's route names (their requests are refused here).
    pub async fn route_local_tenants(&self) -> Result<(Vec<String>, Vec<(String, String)>)> {
        let Some(r) = &self.residency else {
            return Ok((Vec::new(), Vec::new()));
        };
        let tenants = {
            let mut c = self.db.read().await?;
            suoja_store::tenants::list(&mut c).await?
        };
        let (mut routed, mut elsewhere) = (Vec::new(), Vec::new());
        for t in tenants {
            match r.routes.claim(&t.subdomain, &r.region, self.now()).await? {
                suoja_store::routing::Claim::Made => routed.push(t.subdomain),
                suoja_store::routing::Claim::Held => {}
                suoja_store::routing::Claim::Taken(other) => elsewhere.push((t.subdomain, other)),
            }
        }
        Ok((routed, elsewhere))
    }
}

/// The most tenants [`Helpdesk::tenant_places`] lists from each source.
pub const MAX_LISTED_TENANTS: usize = 10_000;

/// A tenant as the operator's overview shows it: ids, names of organisations and regions,
/// nothing about a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPlace {
    /// Its subdomain.
    pub subdomain: String,
    /// Its id, when this region's database holds it.
    pub id: Option<TenantId>,
    /// The organisation's name, when this region's database holds it.
    pub name: Option<String>,
    /// The region serving it.
    pub region: String,
    /// This node's region serves it.
    pub here: bool,
    /// Its latest move between regions: where to, and how far it got.
    pub last_move: Option<(String, suoja_store::routing::MovePhase)>,
}

/// An organisation's name as tenants have it: 1 to 255 characters, at least one of them
/// visible, with no control characters and none of the invisible ones that change how text
/// around them reads (zero-width spaces, direction overrides).
pub fn check_name(name: &str) -> Result<()> {
    // Refused anywhere: characters that change how the text around them reads (direction
    // overrides and marks, zero-width spaces, separators, tags). Joiners and variation
    // selectors stay: Persian, Indic scripts and emoji need them.
    let refused = |c: char| {
        matches!(
            c,
            '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}'
        )
    };
    // Shown as nothing: a name of only these (and spaces) is blank.
    let blank = |c: char| {
        c.is_whitespace()
            || refused(c)
            || matches!(
                c,
                '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{180E}' | '\u{200C}' | '\u{200D}' | '\u{3164}' | '\u{FFA0}'
            )
    };
    let n = name.trim().chars().count();
    if !(1..=255).contains(&n) || name.chars().all(blank) {
        return Err(HelpdeskError::invalid("name", "must be 1 to 255 characters"));
    }
    if name.chars().any(|c| c.is_control() || refused(c)) {
        return Err(HelpdeskError::invalid("name", "must not contain control or invisible characters"));
    }
    Ok(())
}

/// A subdomain as tenants are made with: 1 to 63 lower-case letters, digits and '-', neither
/// first nor last (a host name's label).
pub fn check_subdomain(subdomain: &str) -> Result<()> {
    if suoja_store::routing::possible_subdomain(subdomain) && !subdomain.starts_with('-') && !subdomain.ends_with('-') {
        Ok(())
    } else {
        Err(HelpdeskError::invalid(
            "subdomain",
            "use 1 to 63 lower-case letters, digits and '-' ('-' neither first nor last)",
        ))
    }
}

/// Where this node stands among several regions.
#[derive(Debug)]
pub struct Residency {
    /// The region this node serves.
    pub region: String,
    /// Which region serves each subdomain.
    pub routes: suoja_store::routing::Routes,
    /// Where each region is reached, by name (those configured with a `url`).
    pub urls: std::collections::BTreeMap<String, String>,
    /// Every configured region's name.
    pub regions: Vec<String>,
}

impl Residency {
    /// Whether `subdomain` is a region's name or the first label of a region's host
    /// (`eu` of `https://eu.help.example.com`): a tenant of it would take that host's requests.
    pub fn names_a_region(&self, subdomain: &str) -> bool {
        subdomain == self.region
            || self.regions.iter().any(|r| r == subdomain)
            || self.urls.iter().any(|(name, url)| {
                let host = url.split("://").nth(1).unwrap_or(url).split(['/', ':']).next().unwrap_or("");
                name == subdomain || host_label(host).as_deref() == Some(subdomain)
            })
    }
}

/// The subdomain a host names, lower-cased (`acme` in `ACME.help.example:8080`); none for an
/// IP address, a name without a dot (`localhost`), or a first label no tenant could have.
fn host_label(host: &str) -> Option<String> {
    let name = host
        .rsplit_once(':')
        .map_or(host, |(n, port)| if port.bytes().all(|b| b.is_ascii_digit()) { n } else { host });
    let is_ip = name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[');
    let label = name.split('.').next().unwrap_or("").to_ascii_lowercase();
    (!is_ip && name.contains('.') && suoja_store::routing::possible_subdomain(&label)).then_some(label)
}

#[cfg(test)]
mod tests {
    use super::{check_name, check_subdomain, host_label};

    #[test]
    fn names_keep_every_script_and_refuse_what_hides_or_turns_text() {
        for ok in [
            "Oy Ääkkönen Ab",
            "شرکت\u{200C}ها",
            "क्षत्रिय\u{200D}",
            "Kahvila ❤\u{FE0F}",
            "👩\u{200D}💻 Devs",
            &"x".repeat(255),
        ] {
            assert!(check_name(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "   ",
            "\u{200B}",
            "\u{3164}\u{3164}",
            "\u{00AD}",
            "Evil\u{202E}gnp.exe",
            "a\u{061C}b",
            "a\u{2028}b",
            "tag\u{E0041}",
            "bell\u{0007}",
            &"x".repeat(256),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_subdomain_is_a_host_label() {
        for ok in ["acme", "a", "acme-eu", "x1"] {
            assert!(check_subdomain(ok).is_ok(), "{ok}");
        }
        for bad in ["-acme", "acme-", "-", "Acme", "a_b", "a.b", ""] {
            assert!(check_subdomain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_host_names_its_first_label_in_lower_case() {
        assert_eq!(host_label("ACME.help.example:8080").as_deref(), Some("acme"));
        assert_eq!(host_label("acme.help.example.").as_deref(), Some("acme"));
        for none in [
            "127.0.0.1:80",
            "[::1]:8080",
            "localhost",
            "localhost:8080",
            ".acme.example",
            "",
            "a_b.example",
            "ä.example",
        ] {
            assert_eq!(host_label(none), None, "{none}");
        }
    }
}
