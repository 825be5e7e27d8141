//! Export packages: the JSON, the PDF, or a ZIP with both and the original files, sealed under
//! the person's key while they wait to be downloaded (so erasing the person shreds them too),
//! downloadable by the person or privacy staff until they expire, then deleted.

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use serde_json::json;
use suoja_core::{Scope, TenantId, Timestamp, UserId, random};
use suoja_store::exports::PackageRow;

use super::{Export, Format, Options, Progress};
use crate::{Privacy, PrivacyError, Result};

/// A stored package, without its content.
#[derive(Debug, Clone)]
pub struct Package {
    /// Id (the download handle).
    pub id: String,
    /// The request it answers.
    pub request_id: Option<i64>,
    /// The person.
    pub subject_id: i64,
    /// Format.
    pub format: Format,
    /// Size in bytes.
    pub size: i64,
    /// Built.
    pub created_at: Timestamp,
    /// Deleted after.
    pub expires_at: Timestamp,
    /// Times downloaded.
    pub downloads: i64,
}

fn open(r: &PackageRow) -> Package {
    Package {
        id: r.id.clone(),
        request_id: r.request_id,
        subject_id: r.subject_id,
        format: Format::parse(&r.format).unwrap_or(Format::Zip),
        size: r.size,
        created_at: r.created_at,
        expires_at: r.expires_at,
        downloads: r.downloads,
    }
}

const README: &str = "This archive holds a copy of the personal data a Suoja helpdesk keeps about you.\n\n\
export.json  the machine-readable copy (JSON; its schema is named in the \"$schema\" field)\n\
export.pdf   the same for reading, with the information about how your data is used\n\
files/       the original files (attachments), named as listed in export.json\n\n\
Other people appear as placeholders to protect them.\n";

/// Builds the bytes of a package in `format`.
pub fn bytes(export: &Export, format: Format) -> Result<Vec<u8>> {
    let json = serde_json::to_vec_pretty(&export.doc).map_err(|e| PrivacyError::Internal(e.to_string()))?;
    match format {
        Format::Json => Ok(json),
        Format::Pdf => super::pdf::render(&export.doc).ok_or_else(|| PrivacyError::Internal("the embedded font could not be read".into())),
        Format::Zip => {
            let pdf = super::pdf::render(&export.doc).ok_or_else(|| PrivacyError::Internal("the embedded font could not be read".into()))?;
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            let err = |e: zip::result::ZipError| PrivacyError::Internal(e.to_string());
            let ioerr = |e: std::io::Error| PrivacyError::Internal(e.to_string());
            zip.start_file("README.txt", deflated).map_err(err)?;
            zip.write_all(README.as_bytes()).map_err(ioerr)?;
            zip.start_file("export.json", deflated).map_err(err)?;
            zip.write_all(&json).map_err(ioerr)?;
            zip.start_file("export.pdf", stored).map_err(err)?;
            zip.write_all(&pdf).map_err(ioerr)?;
            for f in &export.files {
                // Large files (scans, photos, recordings) are mostly compressed already.
                let how = if f.bytes.len() > 256 * 1024 { stored } else { deflated };
                zip.start_file(f.path.as_str(), how).map_err(err)?;
                zip.write_all(&f.bytes).map_err(ioerr)?;
            }
            Ok(zip.finish().map_err(err)?.into_inner())
        }
    }
}

/// Requests whose package is being built right now, so a second click does not build twice.
#[derive(Debug, Default, Clone)]
pub(crate) struct Building(Arc<Mutex<HashSet<(TenantId, i64)>>>);

struct Guard<'a>(&'a Building, (TenantId, i64));
impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.1);
    }
}

impl Privacy {
    /// Builds and stores the package answering an access or portability request. Privacy staff
    /// may build any; the person may build their own once the request is verified.
    pub async fn build_package(&self, scope: &Scope, request: i64, format: Format, opts: &Options, progress: Progress<'_>) -> Result<Package> {
        let req = self.get(scope, request).await?;
        if !matches!(req.row.kind.as_str(), "access" | "portability") {
            return Err(PrivacyError::Conflict(format!("a {} request has no export", req.row.kind)));
        }
        if req.row.verified_at.is_none() {
            return Err(PrivacyError::Conflict("the person's identity is not confirmed yet".into()));
        }
        if req.row.status == "refused" {
            return Err(PrivacyError::Conflict("the request was refused".into()));
        }
        let key = (scope.tenant, request);
        if !self.building.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key) {
            return Err(PrivacyError::Conflict("an export for this request is already being built".into()));
        }
        let _guard = Guard(&self.building, key);
        let subject = UserId(req.row.subject_id);
        let export = self.export(scope, subject, Some(request), opts, progress).await?;
        progress("packaging", 0, 1);
        let content = bytes(&export, format)?;
        progress("packaging", 1, 1);
        self.store_package(scope, subject, Some(request), format, &content).await
    }

    /// Seals and stores package bytes.
    pub async fn store_package(&self, scope: &Scope, subject: UserId, request: Option<i64>, format: Format, content: &[u8]) -> Result<Package> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let user = suoja_store::users::by_id(&mut tx, scope.tenant, subject)
            .await?
            .ok_or(PrivacyError::NotFound("User"))?;
        let sealed = self.hd.vault().encrypt(&mut tx, scope.tenant, user.key_id, content).await?;
        let row = PackageRow {
            id: random::hex_id(),
            request_id: request,
            subject_id: subject.0,
            format: format.as_str().into(),
            content_enc: sealed,
            size: i64::try_from(content.len()).unwrap_or(i64::MAX),
            created_at: now,
            expires_at: Timestamp(now.0 + self.policy.export_ttl_ms),
            downloads: 0,
        };
        suoja_store::exports::insert(&mut tx, scope.tenant, &row).await?;
        self.hd
            .record_ledger(
                &mut tx,
                scope.tenant,
                "export.stored",
                Some(subject.0),
                Some(scope.actor.0),
                json!({ "request": request, "package": row.id, "format": row.format, "bytes": row.size }),
            )
            .await?;
        tx.commit().await?;
        Ok(open(&row))
    }

    /// Packages of a request, newest first (expired ones are gone).
    pub async fn packages(&self, scope: &Scope, request: i64) -> Result<Vec<Package>> {
        self.get(scope, request).await?;
        let now = self.hd.now();
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::exports::for_request(&mut c, scope.tenant, request)
            .await?
            .iter()
            .filter(|p| p.expires_at > now)
            .map(open)
            .collect())
    }

    /// Downloads a package: the person or privacy staff, before it expires. Logged.
    pub async fn download(&self, scope: &Scope, id: &str) -> Result<(Package, Vec<u8>)> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let row = suoja_store::exports::by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|p| p.expires_at > now)
            .filter(|p| scope.handles_privacy() || p.subject_id == scope.actor.0)
            .ok_or(PrivacyError::NotFound("Export"))?;
        let content = self.hd.vault().decrypt(&mut tx, scope.tenant, &row.content_enc).await?;
        suoja_store::exports::count_download(&mut tx, scope.tenant, id).await?;
        self.hd
            .record_ledger(
                &mut tx,
                scope.tenant,
                "export.downloaded",
                Some(row.subject_id),
                Some(scope.actor.0),
                json!({ "package": id }),
            )
            .await?;
        tx.commit().await?;
        Ok((open(&row), content))
    }

    /// Deletes packages past their expiry (every tenant); returns how many.
    pub async fn purge_expired_packages(&self) -> Result<u64> {
        let mut tx = self.hd.db().begin().await?;
        let n = suoja_store::exports::purge_expired(&mut tx, self.hd.now()).await?;
        tx.commit().await?;
        Ok(n)
    }
}
