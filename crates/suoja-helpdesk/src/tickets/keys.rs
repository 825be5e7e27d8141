//! Moving a ticket to a new requester's key.

use suoja_core::{KeyId, TenantId};
use suoja_store::Conn;
use suoja_store::tickets::TicketRow;

use crate::{Helpdesk, Result};

impl Helpdesk {
    /// Moves a ticket's personal fields (and the comments sealed under the ticket's key) to a
    /// new requester's key, so that erasing the old requester cannot shred this ticket.
    pub(super) async fn rekey_ticket(&self, c: &mut Conn, t: TenantId, row: &mut TicketRow, new_key: KeyId) -> Result<()> {
        let v = &self.vault;
        let old_key = row.key_id;
        macro_rules! reseal {
            ($field:expr) => {{
                let plain = v.decrypt(c, t, &$field).await?;
                $field = v.encrypt(c, t, new_key, &plain).await?;
            }};
        }
        if let Some(s) = row.subject_enc.as_mut() {
            let plain = v.decrypt(c, t, s).await?;
            *s = v.encrypt(c, t, new_key, &plain).await?;
        }
        if let Some(s) = row.external_id_enc.as_mut() {
            let plain = v.decrypt(c, t, s).await?;
            *s = v.encrypt(c, t, new_key, &plain).await?;
        }
        reseal!(row.description_enc);
        reseal!(row.tags_enc);
        reseal!(row.custom_fields_enc);
        row.key_id = new_key;
        self.rekey_audits(c, t, row.id, new_key).await?;
        let comments = suoja_store::comments::for_ticket(c, t, row.id, suoja_store::comments::CommentQuery::ALL).await?;
        for m in comments.into_iter().filter(|m| m.key_id == old_key) {
            let body = v.decrypt(c, t, &m.body_enc).await?;
            let html = match &m.html_enc {
                Some(h) => Some(v.decrypt(c, t, h).await?),
                None => None,
            };
            let body_enc = v.encrypt(c, t, new_key, &body).await?;
            let html_enc = match html {
                Some(h) => Some(v.encrypt(c, t, new_key, &h).await?),
                None => None,
            };
            suoja_store::comments::rekey(c, t, m.id, new_key, body_enc, html_enc).await?;
        }
        Ok(())
    }
}
