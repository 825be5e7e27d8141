//! The helpdesk's own addresses: the support address, the reply address of each ticket
//! (`support+t42-<mac>@example.com`, unguessable without the tenant's key, so nobody joins a
//! ticket by writing to an address made up from its number), and the keyed hashes under which
//! Message-IDs are remembered for threading.

use suoja_core::TenantId;
use suoja_store::Conn;
use suoja_vault::Vault;

use crate::{MailError, Result};

/// Letters of the reply token's MAC (80 bits).
const MAC_HEX: usize = 20;

/// The support address, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// Before the `@`.
    pub local: String,
    /// After the `@`, lower case.
    pub domain: String,
}

impl Support {
    /// Reads `support@example.com`.
    pub fn parse(address: &str) -> Result<Self> {
        let (local, domain) = address
            .trim()
            .rsplit_once('@')
            .filter(|(l, d)| !l.is_empty() && d.contains('.') && !l.contains('+'))
            .ok_or_else(|| MailError::Config("mail_from must be an address like support@example.com (without a +tag)".into()))?;
        Ok(Self {
            local: local.to_string(),
            domain: domain.to_ascii_lowercase(),
        })
    }

    /// The address itself.
    pub fn address(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    /// The address replies to a ticket go to.
    pub fn reply_address(&self, token: &str) -> String {
        format!("{}+{token}@{}", self.local, self.domain)
    }

    /// Whether `address` is the support address or one of its `+tag` forms; with its tag.
    pub fn tag_of<'a>(&self, address: &'a str) -> Option<Option<&'a str>> {
        let (local, domain) = address.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        match local.split_once('+') {
            Some((base, tag)) if base.eq_ignore_ascii_case(&self.local) => Some(Some(tag)),
            None if local.eq_ignore_ascii_case(&self.local) => Some(None),
            _ => None,
        }
    }

    /// A Message-ID for outbox message `id` of `tenant` (ids and random letters only).
    pub fn message_id(&self, tenant: TenantId, id: i64) -> String {
        format!("suoja.{}.{}.{}@{}", tenant.0, id, suoja_core::random::token::<8>(), self.domain)
    }
}

/// The reply token of `ticket`: its number and a MAC under the tenant's key.
pub async fn ticket_token(v: &Vault, c: &mut Conn, tenant: TenantId, ticket: i64) -> Result<String> {
    let mac = v.blind_index(c, tenant, &format!("mail-reply-token:{ticket}")).await?;
    let hex = hex::encode(mac);
    Ok(format!("t{ticket}-{}", hex.get(..MAC_HEX).unwrap_or(&hex)))
}

/// The ticket a reply token names, if its MAC is right.
pub async fn ticket_of_token(v: &Vault, c: &mut Conn, tenant: TenantId, token: &str) -> Result<Option<i64>> {
    let Some((num, _)) = token.strip_prefix('t').and_then(|t| t.split_once('-')) else {
        return Ok(None);
    };
    let Ok(ticket) = num.parse::<i64>() else {
        return Ok(None);
    };
    let expected = ticket_token(v, c, tenant, ticket).await?;
    let given = token.to_ascii_lowercase();
    let same = expected.len() == given.len() && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    Ok(same.then_some(ticket))
}

/// The keyed hash a Message-ID is remembered under.
pub async fn message_hash(v: &Vault, c: &mut Conn, tenant: TenantId, message_id: &str) -> Result<Vec<u8>> {
    let id = message_id.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase();
    Ok(v.blind_index(c, tenant, &format!("mail-message-id:{id}")).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn support_addresses_and_tags() {
        let s = Support::parse("Support@Example.COM").unwrap();
        assert_eq!(s.tag_of("support@example.com"), Some(None));
        assert_eq!(s.tag_of("SUPPORT+t4-abc@example.com"), Some(Some("t4-abc")));
        assert_eq!(s.tag_of("supporter@example.com"), None);
        assert_eq!(s.tag_of("support@example.org"), None);
        assert_eq!(s.tag_of("nobody"), None);
        assert!(Support::parse("no-at-sign").is_err());
        assert!(Support::parse("a+b@example.com").is_err());
        assert_eq!(s.reply_address("t1-x"), "Support+t1-x@example.com");
    }
}
