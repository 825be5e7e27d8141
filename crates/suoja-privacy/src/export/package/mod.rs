//! Export packages: the JSON, the PDF, or a ZIP with both and the original files.
//!
//! A package is built as a job. Starting one stores its row at once (`building`) and returns;
//! a task builds it when one of the node's few build slots is free, beating a heartbeat. A
//! build whose node died (its heartbeat silent) is taken over by another node, which builds the
//! package again from the start under the same id and key, on behalf of whoever started it. The package is written as a stream — the files are
//! read one at a time and the output is cut into chunks of 1 MiB — and each chunk is sealed
//! under the package's own random key as it is stored; that key is sealed under the person's
//! key, so erasing the person shreds every package of theirs. Downloads stream the chunks back
//! in order. A person has one package building at a time and a few a day.

mod chunks;

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use suoja_core::{Scope, TenantId, Timestamp, UserId, random};
use suoja_helpdesk::HelpdeskError;
use suoja_store::exports::{BUILDING, FAILED, PackageRow, READY};
use suoja_vault::stream::FileKey;

use super::{Export, ExportFile, Format, Options, Progress};
use crate::{Privacy, PrivacyError, Result};

pub use chunks::{ChunkSink, InMemory, PackageReader, ToFile};
use chunks::{Cutter, Feed, Source, Stored};
/// How often a build shows it is alive.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A build silent this long is taken for dead (its node stopped): another node takes it over,
/// and until one does it no longer blocks the person's next export.
const DEAD_AFTER_MS: i64 = 30_000;
/// Dead builds taken over by one node in one look.
const TAKE_OVER_AT_ONCE: i64 = 4;
/// Takeovers of one build at most: a build that keeps killing its node is failed instead.
const MAX_TAKEOVERS: i64 = 2;

/// What a build keeps so that another node can take it over: its options, and the role and
/// token of whoever started it (the rebuild's reads are logged as theirs). Ids and words only.
fn kept_build(opts: &Options, scope: &Scope) -> String {
    json!({
        "options": opts.to_value(),
        "by": {"role": scope.role.as_str(), "privacy_officer": scope.privacy_officer, "token": scope.token},
    })
    .to_string()
}

/// The options and the starter's scope kept by [`kept_build`] (`None` when unreadable).
fn read_kept_build(kept: &str, tenant: TenantId, actor: Option<i64>) -> Option<(Options, Scope)> {
    let v: Value = serde_json::from_str(kept).ok()?;
    let opts = Options::from_value(v.get("options")?)?;
    let by = v.get("by")?;
    let scope = Scope {
        tenant,
        actor: UserId(actor?),
        role: suoja_core::Role::parse(by.get("role")?.as_str()?).ok()?,
        privacy_officer: by.get("privacy_officer")?.as_bool()?,
        token: match by.get("token")? {
            Value::Null => None,
            t => Some(t.as_i64()?),
        },
    };
    Some((opts, scope))
}

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
    /// `building`, `ready` or `failed`.
    pub status: &'static str,
    /// Size in bytes (so far, while building).
    pub size: i64,
    /// Started.
    pub created_at: Timestamp,
    /// Deleted after.
    pub expires_at: Timestamp,
    /// Times downloaded.
    pub downloads: i64,
}

impl Package {
    /// Whether it can be downloaded.
    pub fn is_ready(&self) -> bool {
        self.status == READY
    }
}

/// A package as people see it. A build whose node went silent still shows as building: another
/// node takes it over, or marks it failed when it cannot.
fn open(r: &PackageRow) -> Package {
    Package {
        id: r.id.clone(),
        request_id: r.request_id,
        subject_id: r.subject_id,
        format: Format::parse(&r.format).unwrap_or(Format::Zip),
        status: match r.status.as_str() {
            READY => READY,
            BUILDING => BUILDING,
            _ => FAILED,
        },
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

type Zip = zip::ZipWriter<zip::write::StreamWriter<Cutter>>;

fn internal(e: impl std::fmt::Display) -> PrivacyError {
    PrivacyError::Internal(e.to_string())
}

/// Runs one step of the zip writer off the async threads (compressing a large file takes a
/// while) and gives it back.
async fn zip_step(zip: Zip, name: String, bytes: Vec<u8>) -> Result<Zip> {
    tokio::task::spawn_blocking(move || -> Result<Zip> {
        let mut zip = zip;
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        // Large files (scans, photos, recordings) are mostly compressed already; the PDF's
        // streams are compressed.
        let how = if bytes.len() > 256 * 1024 || name.ends_with(".pdf") {
            stored
        } else {
            deflated
        };
        zip.start_file(name, how).map_err(internal)?;
        zip.write_all(&bytes).map_err(internal)?;
        Ok(zip)
    })
    .await
    .map_err(internal)?
}

fn render_pdf(doc: &Value) -> Result<Vec<u8>> {
    super::pdf::render(doc).ok_or_else(|| PrivacyError::Internal("the embedded font could not be read".into()))
}

/// Sets `sha256` (or marks the file unreadable) on every object of `v` whose `file` is `path`.
fn set_digest(v: &mut Value, path: &str, digest: Option<&str>) {
    match v {
        Value::Object(m) => {
            if m.get("file").and_then(Value::as_str) == Some(path) {
                match digest {
                    Some(d) => {
                        m.insert("sha256".into(), json!(d));
                    }
                    None => {
                        m.insert("file".into(), Value::Null);
                        m.insert("sha256".into(), Value::Null);
                    }
                }
            }
            m.values_mut().for_each(|x| set_digest(x, path, digest));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| set_digest(x, path, digest)),
        _ => {}
    }
}

impl Privacy {
    /// Reads one file of an export (decrypted), or `None` if it is gone or its key was
    /// destroyed.
    pub async fn read_export_file(&self, tenant: TenantId, f: &ExportFile) -> Result<Option<Vec<u8>>> {
        let mut c = self.hd.db().read().await?;
        let Some(sealed) = suoja_store::graph::file(&mut c, self.hd.db().blobs(), tenant, f.table, f.column, f.row_id).await? else {
            return Ok(None);
        };
        Ok(self.hd.vault().decrypt(&mut c, tenant, &sealed).await.ok())
    }

    /// Reads every file of an export once, one at a time, to put its SHA-256 into the document;
    /// a file that cannot be read any more is listed without a path and left out.
    pub(super) async fn check_files(
        &self,
        tenant: TenantId,
        files: &mut Vec<ExportFile>,
        tickets: &mut [Value],
        records: &mut serde_json::Map<String, Value>,
        progress: Progress<'_>,
    ) -> Result<()> {
        let total = files.len() as u64;
        let mut kept = Vec::with_capacity(files.len());
        for (i, f) in std::mem::take(files).into_iter().enumerate() {
            progress("reading files", i as u64, total);
            let digest = self.read_export_file(tenant, &f).await?.map(|b| hex::encode(Sha256::digest(&b)));
            for t in tickets.iter_mut() {
                set_digest(t, &f.path, digest.as_deref());
            }
            records.values_mut().for_each(|v| set_digest(v, &f.path, digest.as_deref()));
            if digest.is_some() {
                kept.push(f);
            }
        }
        progress("reading files", total, total);
        *files = kept;
        Ok(())
    }

    /// Writes `export` as a package in `format` into `sink`, chunk by chunk: only the document,
    /// its PDF and one file at a time are in memory. Returns the package's size.
    pub async fn write_package(&self, tenant: TenantId, export: &Export, format: Format, sink: &mut impl ChunkSink) -> Result<u64> {
        let cutter = Cutter::default();
        let mut feed = Feed {
            sink,
            ready: cutter.ready.clone(),
            held: None,
            index: 0,
            total: 0,
        };
        match format {
            Format::Json => {
                let json = serde_json::to_vec_pretty(&export.doc).map_err(internal)?;
                let mut c = cutter;
                c.write_all(&json).map_err(internal)?;
                feed.drain().await?;
                feed.finish(c.current).await
            }
            Format::Pdf => {
                let doc = export.doc.clone();
                let pdf = tokio::task::spawn_blocking(move || render_pdf(&doc)).await.map_err(internal)??;
                let mut c = cutter;
                c.write_all(&pdf).map_err(internal)?;
                feed.drain().await?;
                feed.finish(c.current).await
            }
            Format::Zip => {
                let json = serde_json::to_vec_pretty(&export.doc).map_err(internal)?;
                let doc = export.doc.clone();
                let pdf = tokio::task::spawn_blocking(move || render_pdf(&doc)).await.map_err(internal)??;
                let mut zip = Zip::new_stream(cutter);
                for (name, bytes) in [("README.txt", README.as_bytes().to_vec()), ("export.json", json), ("export.pdf", pdf)] {
                    zip = zip_step(zip, name.to_string(), bytes).await?;
                    feed.drain().await?;
                }
                for f in &export.files {
                    // A file that went away since the document was made is left out (the
                    // document still lists it with its digest).
                    let Some(bytes) = self.read_export_file(tenant, f).await? else { continue };
                    zip = zip_step(zip, f.path.clone(), bytes).await?;
                    feed.drain().await?;
                }
                let cutter = tokio::task::spawn_blocking(move || zip.finish().map(zip::write::StreamWriter::into_inner))
                    .await
                    .map_err(internal)?
                    .map_err(internal)?;
                feed.finish(cutter.current).await
            }
        }
    }

    /// Builds a package in memory (for small exports and tests): the export of `subject`
    /// written in `format`.
    pub async fn package_bytes(&self, scope: &Scope, subject: UserId, opts: &Options, format: Format) -> Result<(Export, Vec<u8>)> {
        let export = self.export(scope, subject, None, opts, &super::no_progress).await?;
        let mut out = InMemory::default();
        self.write_package(scope.tenant, &export, format, &mut out).await?;
        Ok((export, out.0))
    }

    /// Starts building the package answering an access or portability request and returns at
    /// once with it (`building`); `done` finishes with the package when it is ready. Privacy
    /// staff may build any; the person may build their own once the request is verified. One
    /// package per person is built at a time, and a person may start
    /// [`crate::Policy::exports_per_day`] a day.
    pub async fn start_package(&self, scope: &Scope, request: i64, format: Format, opts: &Options) -> Result<Started> {
        let req = self.get(scope, request).await?;
        if !req.kind.is_export() {
            return Err(PrivacyError::Conflict(format!("a {} request has no export", req.kind)));
        }
        if req.verified_at.is_none() {
            return Err(PrivacyError::Conflict("the person's identity is not confirmed yet".into()));
        }
        if req.status == suoja_core::RequestStatus::Refused {
            return Err(PrivacyError::Conflict("the request was refused".into()));
        }
        let subject = UserId(req.subject_id);
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let tenant = scope.tenant;
        let alive_after = Timestamp(now.0 - DEAD_AFTER_MS);
        if suoja_store::exports::building_for(&mut tx, tenant, subject.0, alive_after).await?.is_some() {
            return Err(busy());
        }
        suoja_store::exports::fail_dead_builds(&mut tx, tenant, subject.0, alive_after).await?;
        if !scope.handles_privacy() {
            let started = suoja_store::exports::started_since(&mut tx, tenant, subject.0, Timestamp(now.0 - 86_400_000)).await?;
            if suoja_core::num::to_i64(started.len()) >= self.policy.exports_per_day {
                let back = started.first().map_or(3600, |t| (t.0 + 86_400_000 - now.0).div_euclid(1000).max(1));
                return Err(PrivacyError::Helpdesk(HelpdeskError::Limit {
                    message: format!(
                        "at most {} exports a day can be prepared; the ones of the last 24 hours count",
                        self.policy.exports_per_day
                    ),
                    retry_after: u64::try_from(back).unwrap_or(3600),
                }));
            }
        }
        let user = suoja_store::users::by_id(&mut tx, tenant, subject)
            .await?
            .ok_or(PrivacyError::NotFound("User"))?;
        let (key, raw) = FileKey::generate();
        let row = PackageRow {
            id: random::hex_id(),
            request_id: Some(request),
            subject_id: subject.0,
            format: format.as_str().into(),
            status: BUILDING.into(),
            content_enc: Vec::new(),
            file_key_enc: Some(self.hd.vault().encrypt(&mut tx, tenant, user.key_id, raw.as_slice()).await?),
            chunks: None,
            size: 0,
            created_at: now,
            expires_at: Timestamp(now.0 + self.policy.export_ttl_ms),
            downloads: 0,
            heartbeat_at: Some(now),
            started_by: Some(scope.actor.0),
            build_options: Some(kept_build(opts, scope)),
            build_attempt: 0,
        };
        // Another node may have started one for the person since the check above.
        match suoja_store::exports::insert(&mut tx, tenant, &row).await {
            Err(suoja_store::StoreError::Duplicate(_)) => return Err(busy()),
            other => other?,
        }
        self.record_ledger(
            &mut tx,
            tenant,
            suoja_core::LedgerKind::ExportStarted,
            Some(subject.0),
            Some(scope.actor.0),
            json!({ "request": request, "package": row.id, "format": row.format }),
        )
        .await?;
        tx.commit().await?;
        let package = open(&row);
        let (this, scope, opts) = (self.clone(), *scope, opts.clone());
        let id = row.id.clone();
        let done = tokio::spawn(async move { this.run_build(scope, request, subject, (id, 0), key, format, opts).await });
        Ok(Started { package, done })
    }

    /// The build of one package (`build`: its id and the attempt this builder holds): waits for
    /// a slot, writes it, marks it ready (or failed), beating the heartbeat throughout. A build
    /// taken over meanwhile by another node (this one was silent too long) stops without
    /// touching the package.
    #[allow(
        clippy::too_many_arguments,
        reason = "a build task owns everything it needs; a struct would be built only to be taken apart"
    )]
    async fn run_build(
        &self,
        scope: Scope,
        request: i64,
        subject: UserId,
        build: (String, i64),
        key: FileKey,
        format: Format,
        opts: Options,
    ) -> Result<Package> {
        let (id, attempt) = build;
        let tenant = scope.tenant;
        let beat = {
            let (hd, id) = (self.hd.clone(), id.clone());
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    let result = async {
                        let mut tx = hd.db().begin().await?;
                        suoja_store::exports::heartbeat(&mut tx, tenant, &id, attempt, hd.now()).await?;
                        tx.commit().await?;
                        Ok::<_, PrivacyError>(())
                    }
                    .await;
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "an export's heartbeat failed");
                    }
                }
            }))
        };
        let result = async {
            let _slot = self.builds.clone().acquire_owned().await.map_err(internal)?;
            let export = self.export(&scope, subject, Some(request), &opts, &super::no_progress).await?;
            let mut sink = Stored {
                privacy: self,
                tenant,
                package: id.clone(),
                subject: subject.0,
                key,
                size: 0,
                chunks: 0,
                attempt,
            };
            self.write_package(tenant, &export, format, &mut sink).await?;
            Ok::<_, PrivacyError>(sink)
        }
        .await;
        drop(beat);
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        match result {
            Ok(sink) => {
                if !suoja_store::exports::finish(&mut tx, tenant, &id, attempt, sink.chunks, sink.size, now).await? {
                    tracing::info!(tenant.id = %tenant, request.id = request, "an export package finished here was gone or taken over meanwhile; it is left alone");
                    return Err(PrivacyError::Superseded);
                }
                self.record_ledger(
                    &mut tx,
                    tenant,
                    suoja_core::LedgerKind::ExportStored,
                    Some(subject.0),
                    Some(scope.actor.0),
                    json!({ "request": request, "package": id, "format": format.as_str(), "bytes": sink.size }),
                )
                .await?;
                let row = suoja_store::exports::by_id(&mut tx, tenant, &id)
                    .await?
                    .ok_or(PrivacyError::NotFound("Export"))?;
                tx.commit().await?;
                tracing::info!(tenant.id = %tenant, request.id = request, bytes = sink.size, "export package ready");
                Ok(open(&row))
            }
            Err(PrivacyError::Superseded) => {
                tracing::info!(tenant.id = %tenant, request.id = request, "this node's export build was taken over by another node; it stops");
                Err(PrivacyError::Superseded)
            }
            Err(e) => {
                suoja_store::exports::fail_attempt(&mut tx, tenant, &id, attempt).await?;
                tx.commit().await?;
                tracing::warn!(tenant.id = %tenant, request.id = request, error = %e, "export package failed");
                Err(e)
            }
        }
    }

    /// Takes over export builds whose node went silent (it died, or was killed) and builds each
    /// again here from the start, under the same id and key, on behalf of whoever started it;
    /// returns how many. A build that cannot be taken over (its person's key is gone, its
    /// options were not kept) is marked failed; the person may start another.
    pub async fn resume_dead_builds(&self) -> Result<usize> {
        let now = self.hd.now();
        let alive_after = Timestamp(now.0 - DEAD_AFTER_MS);
        let dead = {
            let mut c = self.hd.db().read().await?;
            suoja_store::exports::dead_builds(&mut c, alive_after, TAKE_OVER_AT_ONCE).await?
        };
        let mut taken = 0;
        for (tenant, row) in dead {
            let mut tx = self.hd.db().begin().await?;
            let Some(attempt) = suoja_store::exports::take_over(&mut tx, tenant, &row.id, alive_after, now).await? else {
                continue;
            };
            let how = if attempt > MAX_TAKEOVERS {
                tracing::warn!(tenant.id = %tenant, attempts = attempt, "an export build silenced its node every time; it is failed, not taken over again");
                None
            } else {
                match self.how_to_rebuild(&mut tx, tenant, &row).await {
                    Ok(h) => h,
                    Err(e) => {
                        tracing::warn!(tenant.id = %tenant, error = %e, "an export build whose node went silent cannot be taken over");
                        None
                    }
                }
            };
            let Some((request, key, format, opts, scope)) = how else {
                suoja_store::exports::fail_attempt(&mut tx, tenant, &row.id, attempt).await?;
                tx.commit().await?;
                continue;
            };
            tx.commit().await?;
            tracing::info!(tenant.id = %tenant, request.id = request, attempt, "an export build whose node went silent was taken over");
            let (this, id, subject) = (self.clone(), row.id.clone(), UserId(row.subject_id));
            tokio::spawn(async move {
                // The build marks the package failed itself when it fails.
                let _ = this.run_build(scope, request, subject, (id, attempt), key, format, opts).await;
            });
            taken += 1;
        }
        Ok(taken)
    }

    /// What building `row` again needs: its request (still open to an export), its key
    /// (opened with the person's key), its format, its options and its starter's scope. `None`
    /// for a build started before these were kept, or whose request was refused meanwhile.
    async fn how_to_rebuild(&self, c: &mut suoja_store::Conn, tenant: TenantId, row: &PackageRow) -> Result<Option<(i64, FileKey, Format, Options, Scope)>> {
        let (Some(request), Some(sealed), Some(kept)) = (row.request_id, &row.file_key_enc, &row.build_options) else {
            return Ok(None);
        };
        let Some((opts, scope)) = read_kept_build(kept, tenant, row.started_by) else {
            return Ok(None);
        };
        let open = suoja_store::requests::by_id(c, tenant, request)
            .await?
            .is_some_and(|r| r.status != suoja_core::RequestStatus::Refused && r.verified_at.is_some());
        if !open {
            return Ok(None);
        }
        let format = Format::parse(&row.format)?;
        let raw = self.hd.vault().decrypt(c, tenant, sealed).await?;
        let key = FileKey::from_bytes(&raw).ok_or_else(|| PrivacyError::Internal("a package key has the wrong length".into()))?;
        Ok(Some((request, key, format, opts, scope)))
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

    /// Opens a package for download — the person or privacy staff, once it is ready and
    /// before it expires — and logs the download. The content is read chunk by chunk from the
    /// returned reader.
    pub async fn download(&self, scope: &Scope, id: &str) -> Result<(Package, PackageReader)> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let row = suoja_store::exports::by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|p| p.expires_at > now)
            .filter(|p| scope.handles_privacy() || p.subject_id == scope.actor.0)
            .ok_or(PrivacyError::NotFound("Export"))?;
        let package = open(&row);
        if !package.is_ready() {
            return Err(PrivacyError::Conflict(format!("the export is not ready (it is {})", package.status)));
        }
        let source = match (row.chunks, &row.file_key_enc) {
            (Some(chunks), Some(sealed_key)) => {
                let raw = self.hd.vault().decrypt(&mut tx, scope.tenant, sealed_key).await?;
                let key = FileKey::from_bytes(&raw).ok_or_else(|| PrivacyError::Internal("a package key has the wrong length".into()))?;
                Source::Chunks { key, chunks, next: 0 }
            }
            _ => {
                let sealed = suoja_store::exports::whole_content(&mut tx, scope.tenant, id)
                    .await?
                    .ok_or(PrivacyError::NotFound("Export"))?;
                Source::Whole(Some(self.hd.vault().decrypt(&mut tx, scope.tenant, &sealed).await?))
            }
        };
        suoja_store::exports::count_download(&mut tx, scope.tenant, id).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::ExportDownloaded,
            Some(row.subject_id),
            Some(scope.actor.0),
            json!({ "package": id }),
        )
        .await?;
        tx.commit().await?;
        Ok((
            package,
            PackageReader {
                privacy: self.clone(),
                tenant: scope.tenant,
                id: id.to_string(),
                source,
            },
        ))
    }

    /// Deletes packages past their expiry, failed ones and ones whose build died (every
    /// tenant), with their chunks; returns how many.
    pub async fn purge_expired_packages(&self) -> Result<u64> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let n = suoja_store::exports::purge_expired(&mut tx, now, Timestamp(now.0 - DEAD_AFTER_MS)).await?;
        tx.commit().await?;
        Ok(n)
    }
}

fn busy() -> PrivacyError {
    PrivacyError::Conflict("an export for this person is being prepared; it will be ready shortly".into())
}

/// A package build under way.
#[derive(Debug)]
pub struct Started {
    /// The package, as it was when the build started.
    pub package: Package,
    /// Finishes with the package once it is ready (or with why it failed). The build goes on
    /// if this is dropped.
    pub done: tokio::task::JoinHandle<Result<Package>>,
}

impl Started {
    /// The package once it is ready, if that takes at most `max`; otherwise the package as it
    /// is (`building`), while the build goes on.
    pub async fn ready_within(mut self, max: Duration) -> Result<Package> {
        match tokio::time::timeout(max, &mut self.done).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(internal(join)),
            Err(_) => Ok(self.package),
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
