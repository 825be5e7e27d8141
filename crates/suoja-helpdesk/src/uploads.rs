//! Uploads and attachments: a file is uploaded first (sealed under the uploader's key and held
//! by an upload token), then attached to a comment, when it is re-sealed under the comment's
//! key so that it is erased together with what it belongs to.

use suoja_core::{AttachmentId, CommentId, KeyId, Personal, Scope, TicketId, Timestamp, random};
use suoja_store::Conn;

use crate::model::Attachment;
use crate::{Helpdesk, HelpdeskError, Result, crypt};

/// The largest file accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// A file larger than [`MAX_UPLOAD_BYTES`] is refused.
fn check_size(len: usize) -> Result<()> {
    if len > MAX_UPLOAD_BYTES {
        return Err(HelpdeskError::invalid("file", format!("is larger than {} MB", MAX_UPLOAD_BYTES / 1024 / 1024)));
    }
    Ok(())
}

/// How many bytes one person may upload in a day unless the operator says otherwise.
pub const DEFAULT_UPLOAD_QUOTA: i64 = 500 * 1024 * 1024;

/// Uploads never attached to a comment are deleted this long after they were made.
pub const UNATTACHED_KEPT_MS: i64 = 3 * 86_400_000;

/// An upload: its token (shown once) and the files it holds.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The token to pass in `comment.uploads`.
    pub token: String,
    /// Files held by the token.
    pub attachments: Vec<Attachment>,
}

/// A file's content, decrypted.
#[derive(Debug, Clone)]
pub struct FileContent {
    /// Metadata.
    pub attachment: Attachment,
    /// The bytes.
    pub bytes: Personal<Vec<u8>>,
}

/// A file on its way into an upload: sealed under its uploader's key, its content stored.
struct NewUpload<'a> {
    name: Personal<String>,
    content_type: &'a str,
    len: usize,
    key: KeyId,
    content: suoja_store::attachments::Content,
}

fn token_hash(token: &str) -> Vec<u8> {
    crate::auth::token_hash(token)
}

impl Helpdesk {
    /// Stores a file under a new or existing upload token. The file is sealed and put into the
    /// blob store before the write transaction begins, so a slow store holds up this upload
    /// only; if its row is then refused, the blob is deleted again.
    pub async fn upload(&self, scope: &Scope, existing_token: Option<&str>, file_name: Personal<String>, content_type: &str, bytes: &[u8]) -> Result<Upload> {
        check_size(bytes.len())?;
        let blobs = self.db.blobs();
        let (key, content) = {
            let mut c = self.db.read().await?;
            // Refused before anything is stored (and checked again when the row is written).
            self.check_upload(&mut c, scope, bytes.len(), self.now()).await?;
            if let Some(t) = existing_token
                && suoja_store::attachments::by_token(&mut c, scope.tenant, &token_hash(t)).await?.is_empty()
            {
                return Err(HelpdeskError::invalid("token", "is not a valid upload token"));
            }
            let user = suoja_store::users::by_id(&mut c, scope.tenant, scope.actor)
                .await?
                .ok_or(HelpdeskError::Unauthorized)?;
            let sealed = self.vault.encrypt(&mut c, scope.tenant, user.key_id, bytes).await?;
            drop(c);
            (user.key_id, suoja_store::attachments::Content::store(blobs, scope.tenant, sealed).await?)
        };
        let file = NewUpload {
            name: file_name,
            content_type,
            len: bytes.len(),
            key,
            content: content.clone(),
        };
        let written = async {
            let mut tx = self.db.begin().await?;
            let up = self.upload_in(&mut tx, scope, existing_token, file).await?;
            Ok::<_, HelpdeskError>((tx, up))
        }
        .await;
        let (tx, up) = match written {
            Ok(w) => w,
            Err(e) => {
                content.discard(blobs).await;
                return Err(e);
            }
        };
        // A failed commit may still have written the row: its blob is left to the orphan sweep.
        tx.commit().await?;
        Ok(up)
    }

    /// Writes an upload's row in the caller's transaction, its content sealed and stored.
    async fn upload_in(&self, tx: &mut Conn, scope: &Scope, existing_token: Option<&str>, file: NewUpload<'_>) -> Result<Upload> {
        let now = self.now();
        self.check_upload(tx, scope, file.len, now).await?;
        let token = existing_token.map(str::to_string).unwrap_or_else(random::token::<24>);
        let hash = token_hash(&token);
        if existing_token.is_some() && suoja_store::attachments::by_token(tx, scope.tenant, &hash).await?.is_empty() {
            return Err(HelpdeskError::invalid("token", "is not a valid upload token"));
        }
        let name_enc = crypt::seal(&self.vault, tx, scope.tenant, file.key, &file.name).await?;
        suoja_store::attachments::insert(
            tx,
            scope.tenant,
            file.key,
            scope.actor,
            suoja_store::attachments::Holder::Upload(&hash),
            name_enc,
            file.content_type,
            suoja_core::num::to_i64(file.len),
            file.content,
            now,
        )
        .await?;
        let rows = suoja_store::attachments::by_token(tx, scope.tenant, &hash).await?;
        let mut attachments = Vec::new();
        for r in &rows {
            attachments.push(Attachment {
                id: r.id,
                file_name: crypt::open(&self.vault, tx, scope.tenant, &r.file_name_enc).await?,
                content_type: r.content_type.clone(),
                size: r.size,
                ticket_id: None,
            });
        }
        Ok(Upload { token, attachments })
    }

    /// Whether `scope`'s person may store a file of `len` bytes now: within the size limit and
    /// their quota for the day.
    async fn check_upload(&self, c: &mut Conn, scope: &Scope, len: usize, now: Timestamp) -> Result<()> {
        check_size(len)?;
        // Each person's uploads of the last day count against their quota.
        let day_ago = Timestamp(now.0 - 86_400_000);
        let (used, oldest) = suoja_store::attachments::uploaded_since(c, scope.tenant, scope.actor, day_ago).await?;
        if used + suoja_core::num::to_i64(len) > self.upload_quota {
            let back = oldest.map_or(3600, |t| (t.0 + 86_400_000 - now.0).div_euclid(1000).max(1));
            return Err(HelpdeskError::Limit {
                message: format!(
                    "the upload quota of {} MB a day is used up; uploads of the last 24 hours count",
                    self.upload_quota / 1024 / 1024
                ),
                retry_after: u64::try_from(back).unwrap_or(3600),
            });
        }
        Ok(())
    }

    /// Stores files that came with a comment (a mail's attachments) as the comment's, sealed
    /// under its key: written once, in place, where an upload would be written and then moved.
    /// They count against the writer's upload quota like uploads, unless brought over by an
    /// import (`quota` false: the operator's move is nobody's uploading).
    pub(crate) async fn attach_files(
        &self,
        c: &mut Conn,
        scope: &Scope,
        (ticket, comment): (TicketId, CommentId),
        key: KeyId,
        files: &[crate::model::NewFile],
        quota: bool,
    ) -> Result<()> {
        let now = self.now();
        for f in files {
            let bytes = f.bytes.expose();
            if quota {
                self.check_upload(c, scope, bytes.len(), now).await?;
            } else {
                check_size(bytes.len())?;
            }
            let name_enc = crypt::seal(&self.vault, c, scope.tenant, key, &f.file_name).await?;
            let content_enc = self.vault.encrypt(c, scope.tenant, key, bytes).await?;
            self.insert_file(
                c,
                scope,
                key,
                suoja_store::attachments::Holder::Comment(ticket, comment),
                (name_enc, &f.content_type, bytes.len()),
                content_enc,
            )
            .await?;
        }
        Ok(())
    }

    /// Writes one file's row, its sealed content in the blob store when one is configured (the
    /// blob is put first; if the row cannot be written it is deleted again).
    async fn insert_file(
        &self,
        c: &mut Conn,
        scope: &Scope,
        key: KeyId,
        holder: suoja_store::attachments::Holder<'_>,
        (name_enc, content_type, len): (Vec<u8>, &str, usize),
        content_enc: Vec<u8>,
    ) -> Result<()> {
        let blobs = self.db.blobs();
        let content = suoja_store::attachments::Content::store(blobs, scope.tenant, content_enc).await?;
        let written = suoja_store::attachments::insert(
            c,
            scope.tenant,
            key,
            scope.actor,
            holder,
            name_enc,
            content_type,
            suoja_core::num::to_i64(len),
            content.clone(),
            self.now(),
        )
        .await;
        if written.is_err() {
            content.discard(blobs).await;
        }
        written?;
        Ok(())
    }

    /// Attaches an upload's files to a comment, re-sealing them under the comment's key.
    pub(crate) async fn bind_upload(&self, c: &mut Conn, scope: &Scope, token: &str, ticket: TicketId, comment: CommentId, key: KeyId) -> Result<()> {
        let hash = token_hash(token);
        let rows = suoja_store::attachments::by_token(c, scope.tenant, &hash).await?;
        // A token is its uploader's: someone else's (even a leaked one) reads as unknown.
        if rows.is_empty() || rows.iter().any(|r| r.uploader_id != scope.actor) {
            return Err(HelpdeskError::invalid("uploads", "contains an unknown or already used upload token"));
        }
        for r in rows {
            if r.key_id != key {
                let v = &self.vault;
                let name = v.decrypt(c, scope.tenant, &r.file_name_enc).await?;
                let blobs = self.db.blobs();
                let content_enc = suoja_store::attachments::content(c, blobs, scope.tenant, r.id)
                    .await?
                    .ok_or(HelpdeskError::NotFound("Attachment"))?;
                let content = v.decrypt(c, scope.tenant, &content_enc).await?;
                let name_enc = v.encrypt(c, scope.tenant, key, &name).await?;
                let content_enc = v.encrypt(c, scope.tenant, key, &content).await?;
                let content = suoja_store::attachments::Content::store(blobs, scope.tenant, content_enc).await?;
                let written = suoja_store::attachments::rekey(c, scope.tenant, r.id, key, name_enc, content.clone()).await;
                if written.is_err() {
                    content.discard(blobs).await;
                }
                written?;
            }
        }
        suoja_store::attachments::bind(c, scope.tenant, &hash, ticket, comment).await?;
        Ok(())
    }

    /// Reads an attachment's metadata and bytes, if the scope may see its ticket (or uploaded it).
    pub async fn attachment(&self, scope: &Scope, id: AttachmentId) -> Result<FileContent> {
        let mut c = self.db.read().await?;
        let r = suoja_store::attachments::by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Attachment"))?;
        let visible = match r.ticket_id {
            Some(t) => match suoja_store::tickets::by_id(&mut c, scope.tenant, t).await? {
                Some(row) if row.deleted_at.is_none() => {
                    let is_note = match r.comment_id {
                        Some(cid) => !suoja_store::comments::is_public(&mut c, scope.tenant, cid).await?,
                        None => false,
                    };
                    self.can_see(&mut c, scope, &row).await? && (scope.is_staff() || !is_note)
                }
                _ => false,
            },
            None => r.uploader_id == scope.actor,
        };
        if !visible {
            return Err(HelpdeskError::NotFound("Attachment"));
        }
        let content_enc = suoja_store::attachments::content(&mut c, self.db.blobs(), scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Attachment"))?;
        let bytes = self.vault.decrypt(&mut c, scope.tenant, &content_enc).await?;
        let file_name = crypt::open(&self.vault, &mut c, scope.tenant, &r.file_name_enc).await?;
        Ok(FileContent {
            attachment: Attachment {
                id,
                file_name,
                content_type: r.content_type,
                size: r.size,
                ticket_id: r.ticket_id,
            },
            bytes: Personal::new(bytes),
        })
    }
}

impl Helpdesk {
    /// Deletes uploads never attached to a comment once they are three days old (every tenant,
    /// a batch at a time); returns how many went.
    pub async fn purge_unattached_uploads(&self) -> Result<u64> {
        let before = Timestamp(self.now().0 - UNATTACHED_KEPT_MS);
        let mut tx = self.db.begin().await?;
        let n = suoja_store::attachments::purge_unattached(&mut tx, before, 500).await?;
        tx.commit().await?;
        Ok(n)
    }
}
