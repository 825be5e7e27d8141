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
        if subdomain.is_empty() || !subdomain.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(HelpdeskError::invalid("subdomain", "use lower-case letters, digits and '-'"));
        }
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

    /// The tenant a request's host names: `acme.anything` selects subdomain `acme`; a host that
    /// names none (an IP address, `localhost`) selects the installation's first tenant. With
    /// several regions a subdomain this region does not hold selects nothing (never another
    /// tenant), and one another region serves is refused ([`Helpdesk::check_region`]).
    pub async fn tenant_for_host(&self, host: &str) -> Result<Option<TenantId>> {
        self.check_region(host).await?;
        let mut c = self.db.read().await?;
        if let Some(label) = host_label(host) {
            if let Some(t) = suoja_store::tenants::by_subdomain(&mut c, label).await? {
                return Ok(Some(t.id));
            }
            if self.residency.is_some() {
                return Ok(None);
            }
        }
        Ok(suoja_store::tenants::first(&mut c).await?.map(|t| t.id))
    }

    /// With several regions: refuses a host naming a tenant that another region serves (it
    /// was created there, or moved there), before anything of this region is read for it.
    pub async fn check_region(&self, host: &str) -> Result<()> {
        let (Some(r), Some(label)) = (&self.residency, host_label(host)) else {
            return Ok(());
        };
        match r.routes.region_of(label).await? {
            Some(region) if region != r.region => Err(HelpdeskError::WrongRegion {
                url: r.urls.get(&region).cloned(),
                region,
            }),
            _ => Ok(()),
        }
    }

    /// This node's region and the routes every region shares, when there are several.
    pub fn residency(&self) -> Option<&Residency> {
        self.residency.as_deref()
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
}

/// The subdomain label a host names (`acme` in `acme.help.example:8080`); none for an IP
/// address or a name without a dot (`localhost`).
fn host_label(host: &str) -> Option<&str> {
    let name = host.split(':').next().unwrap_or("");
    let is_ip = name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[');
    let label = name.split('.').next().unwrap_or("");
    (!is_ip && name.contains('.') && !label.is_empty()).then_some(label)
}
