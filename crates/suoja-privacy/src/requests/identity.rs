//! Identity checks for requests (GDPR Art. 12(6), A12-03): a one-time link to an address
//! already on record — stored as a hash, valid 24 hours, single use, locked after a few wrong
//! codes, a few a day per person — or staff's recorded confirmation; and the sealed outbox the
//! links and notices wait in.

use serde_json::json;
use sha2::{Digest as _, Sha256};
use suoja_core::{Personal, Scope, TenantId, Timestamp, UserId, random};
use suoja_store::Conn;
use suoja_store::requests::{RequestRow, VerificationRow};

use super::Request;
use crate::{Privacy, PrivacyError, Result, require_privacy};

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Privacy {
    /// Sends (queues) a one-time link to the address on record; at most `links_per_day`.
    pub(super) async fn send_link(&self, c: &mut Conn, tenant: TenantId, row: &mut RequestRow, base_url: &str, now: Timestamp) -> Result<bool> {
        let sent = suoja_store::requests::verifications_since(c, tenant, row.subject_id, Timestamp(now.0 - 86_400_000)).await?;
        if sent >= self.policy.links_per_day {
            return Ok(false);
        }
        let reference = random::token::<16>();
        let secret = random::token::<24>();
        let v = VerificationRow {
            id: 0,
            request_id: row.id,
            subject_id: row.subject_id,
            reference: Some(reference.clone()),
            token_hash: token_hash(&secret),
            expires_at: Timestamp(now.0 + self.policy.link_ttl_ms.min(24 * 3_600_000)),
            attempts: 0,
            used_at: None,
            created_at: now,
        };
        suoja_store::requests::insert_verification(c, tenant, &v).await?;
        let body = format!(
            "We received a {} request about your data. If it was you, confirm it within 24 hours by opening this link:\n{}/privacy/confirm?token={reference}.{secret}\nIf it was not you, ignore this message.",
            row.kind,
            base_url.trim_end_matches('/'),
        );
        self.queue_message(c, tenant, UserId(row.subject_id), row.key_id, "verification_link", &body)
            .await?;
        row.status = suoja_core::RequestStatus::Verifying;
        row.updated_at = now;
        suoja_store::requests::update(c, tenant, row).await?;
        self.record_ledger(
            c,
            tenant,
            suoja_core::LedgerKind::RequestLinkSent,
            Some(row.subject_id),
            None,
            json!({ "request": row.id }),
        )
        .await?;
        Ok(true)
    }

    pub(super) async fn queue_message(&self, c: &mut Conn, tenant: TenantId, to: UserId, key: suoja_core::KeyId, kind: &str, body: &str) -> Result<()> {
        let sealed = self.hd.vault().encrypt_str(c, tenant, key, body).await?;
        suoja_store::outbox::insert(c, tenant, to.0, kind, sealed, self.hd.now()).await?;
        Ok(())
    }

    /// Messages queued for a person (opened), oldest first.
    pub async fn outbox_for(&self, tenant: TenantId, user: UserId) -> Result<Vec<(String, Personal<String>)>> {
        let mut c = self.hd.db().read().await?;
        let rows = suoja_store::outbox::for_user(&mut c, tenant, user.0).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let body = self.hd.vault().decrypt_str(&mut c, tenant, &r.body_enc).await?;
            out.push((r.kind, Personal::new(body)));
        }
        Ok(out)
    }

    /// Confirms a request with the token from its link (no session needed): the link's random
    /// reference, a dot, and its secret. Wrong secrets count against the link; after
    /// `max_link_attempts` it is locked and staff must confirm the person instead. Every way a
    /// token can fail — malformed, unknown, wrong, used, expired, locked — gets one answer
    /// ([`PrivacyError::InvalidLink`]), so trying tokens tells nothing about which links or
    /// requests exist.
    pub async fn confirm(&self, tenant: TenantId, token: &str) -> Result<Request> {
        let now = self.hd.now();
        let (reference, secret) = token.trim().split_once('.').ok_or(PrivacyError::InvalidLink)?;
        let mut tx = self.hd.db().begin().await?;
        let v = suoja_store::requests::verification_by_reference(&mut tx, tenant, reference)
            .await?
            .ok_or(PrivacyError::InvalidLink)?;
        let id = v.request_id;
        let mut row = suoja_store::requests::by_id(&mut tx, tenant, id).await?.ok_or(PrivacyError::InvalidLink)?;
        if row.verified_at.is_some() || v.used_at.is_some() || v.attempts >= self.policy.max_link_attempts || now >= v.expires_at {
            return Err(PrivacyError::InvalidLink);
        }
        let given = token_hash(secret);
        if given.len() != v.token_hash.len() || !suoja_core::random::constant_time_eq(&given, &v.token_hash) {
            suoja_store::requests::update_verification(&mut tx, tenant, v.id, v.attempts + 1, None).await?;
            self.record_ledger(
                &mut tx,
                tenant,
                suoja_core::LedgerKind::RequestVerificationFailed,
                Some(row.subject_id),
                None,
                json!({ "request": id, "attempt": v.attempts + 1 }),
            )
            .await?;
            tx.commit().await?;
            return Err(PrivacyError::InvalidLink);
        }
        suoja_store::requests::update_verification(&mut tx, tenant, v.id, v.attempts, Some(now)).await?;
        row.status = suoja_core::RequestStatus::Verified;
        row.verified_at = Some(now);
        row.verification = Some("email_link".into());
        row.updated_at = now;
        suoja_store::requests::update(&mut tx, tenant, &row).await?;
        self.record_ledger(
            &mut tx,
            tenant,
            suoja_core::LedgerKind::RequestVerified,
            Some(row.subject_id),
            None,
            json!({ "request": id, "method": "email_link" }),
        )
        .await?;
        let req = self.open_request(&mut tx, tenant, row).await?;
        tx.commit().await?;
        Ok(req)
    }

    /// Staff confirm the person's identity themselves (for requests from addresses not on
    /// record, or after a locked link), with a recorded note of how.
    pub async fn verify_by_staff(&self, scope: &Scope, id: i64, how: &str) -> Result<Request> {
        require_privacy(scope)?;
        if how.trim().is_empty() {
            return Err(PrivacyError::invalid("note", "say how the identity was confirmed"));
        }
        self.change(scope, id, |row, now| {
            if row.verified_at.is_some() {
                return Err(PrivacyError::Conflict("the request is already verified".into()));
            }
            row.status = suoja_core::RequestStatus::Verified;
            row.verified_at = Some(now);
            row.verification = Some("staff".into());
            Ok((
                suoja_core::LedgerKind::RequestVerified,
                json!({ "method": "staff" }),
                Some(("verification_note", how.to_string())),
            ))
        })
        .await
    }
}
