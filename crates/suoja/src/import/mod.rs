//! `suoja import zendesk`: moving a tenant in from Zendesk, or from anything that speaks its
//! API (another Suoja installation included). Reads ticket fields, groups, organisations,
//! people (the incremental export), then tickets (the incremental export) with their comments,
//! public and internal, and their attachments, then satisfaction ratings, then the help center
//! (categories, sections, articles and their comments) and the community (topics, posts and
//! their comments, see `guide.rs`); writes them through the helpdesk's import
//! paths, which seal, index and remember each record by its source id in the record's own
//! transaction. Each stage remembers how far it got, so an import stopped at any moment
//! resumes where it was, and running it again changes nothing.

mod client;
mod guide;
mod zendesk;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use serde_json::Value;
use suoja_core::{Personal, Scope};
use suoja_helpdesk::Helpdesk;
use suoja_helpdesk::import::{IdMap, ImportedComment, ImportedTicket, ImportedUser, Landed, Outcome, kind};
use suoja_helpdesk::model::NewFile;

use client::{Client, File, next_page};

/// Arguments of `suoja import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where from.
    #[command(subcommand)]
    pub from: ImportFrom,
}

/// The helpdesks Suoja imports from.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// A Zendesk account (or anything speaking Zendesk's API), through its REST API.
    Zendesk(ZendeskArgs),
}

/// Arguments of `suoja import zendesk`.
#[derive(Debug, Args)]
pub struct ZendeskArgs {
    /// The account's address, e.g. https://acme.zendesk.com.
    #[arg(long)]
    pub url: String,
    /// An administrator's e-mail address at the account.
    #[arg(long)]
    pub email: String,
    /// Their API token (or set ZENDESK_API_TOKEN, which keeps it out of the process list).
    #[arg(long, env = "ZENDESK_API_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Tenant subdomain to import into (default: the installation's first tenant).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Read the source and say what would come over; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// At most this many requests a minute to the source (it is also kept under 80 % of the
    /// limit the account reports).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rate: Option<u32>,
    /// Requests to the source at once (tickets' comments and files; the rate limit above
    /// still holds).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub parallel: u16,
}

/// Runs `suoja import`.
pub async fn run(config: Option<&std::path::Path>, args: ImportArgs) -> anyhow::Result<()> {
    let ImportFrom::Zendesk(args) = args.from;
    let client = Client::new(&args.url, &args.email, &args.token, args.max_rate)?;
    let settings = crate::cli::settings(config, args.data_dir.clone(), None)?;
    let hd = crate::app::open(&settings).await?;
    let tenant = {
        let mut c = hd.db().read().await?;
        match &args.tenant {
            Some(s) => suoja_store::tenants::by_subdomain(&mut c, s).await?,
            None => suoja_store::tenants::first(&mut c).await?,
        }
        .context("no such tenant (create it first with `suoja init`)")?
    };
    let source = client.source().await?;
    let mut run = Import {
        hd,
        scope: Scope::operator(tenant.id),
        source,
        client: Arc::new(client),
        ids: IdMap::default(),
        report: Report::default(),
        dry: args.dry_run,
        parallel: usize::from(args.parallel),
        asked: std::collections::HashSet::new(),
    };
    run.load_ids().await?;
    let result = run.stages().await;
    // Imported tickets' SLA clocks are measured in the background; the process waits for it.
    while run.hd.remeasuring(tenant.id) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    run.report.print(&run.source, &tenant.subdomain, run.dry);
    run.hd.db().close().await;
    result
}

struct Import {
    hd: Helpdesk,
    scope: Scope,
    client: Arc<Client>,
    source: String,
    ids: IdMap,
    report: Report,
    dry: bool,
    parallel: usize,
    /// People the source was asked for by id (asked once, found or not).
    asked: std::collections::HashSet<i64>,
}

/// Stage names, as checkpoints and the report name them.
const USERS: &str = "users";
const TICKETS: &str = "tickets";
/// The tickets the last run refused (source ids), tried again by the next.
const TICKETS_REFUSED: &str = "tickets:refused";
/// Records written per transaction.
const BATCH: usize = 100;

fn err(e: suoja_helpdesk::HelpdeskError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl Import {
    async fn load_ids(&mut self) -> anyhow::Result<()> {
        let (hd, s, src) = (&self.hd, &self.scope, self.source.as_str());
        self.ids = IdMap {
            users: hd.imported(s, src, kind::USER).await.map_err(err)?,
            orgs: hd.imported(s, src, kind::ORGANIZATION).await.map_err(err)?,
            groups: hd.imported(s, src, kind::GROUP).await.map_err(err)?,
            fields: hd.imported(s, src, kind::TICKET_FIELD).await.map_err(err)?,
            gone: hd.imported_people_gone(s, src).await.map_err(err)?,
        };
        Ok(())
    }

    async fn stages(&mut self) -> anyhow::Result<()> {
        self.ticket_fields().await?;
        self.groups().await?;
        self.orgs().await?;
        self.users().await?;
        self.tickets().await?;
        self.ratings().await?;
        self.guide().await
    }

    /// Every item of a list the source pages through (`root`: the items' key).
    async fn list(&self, first: &str, root: &str) -> anyhow::Result<Vec<Value>> {
        let mut url = self.client.url(first)?;
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            if !seen.insert(url.to_string()) {
                bail!("the source gave the same page of {root} twice; stopping");
            }
            let Some(page) = self.client.json(&url).await? else { break };
            out.extend(page.get(root).and_then(Value::as_array).cloned().unwrap_or_default());
            match next_page(&page) {
                Some(next) => url = self.client.url(&next)?,
                None => break,
            }
        }
        Ok(out)
    }

    async fn ticket_fields(&mut self) -> anyhow::Result<()> {
        for f in self.list("/api/v2/ticket_fields.json", "ticket_fields").await? {
            let Some(sid) = zendesk::id(&f) else { continue };
            let input = match zendesk::ticket_field(&f) {
                Ok(None) => continue,
                Ok(Some(input)) => input,
                Err(reason) => {
                    self.report.read("ticket field");
                    self.report.refuse("ticket field", sid, reason);
                    continue;
                }
            };
            self.report.read("ticket field");
            if self.dry {
                self.report.dry("ticket field", self.ids.fields.contains_key(&sid));
                continue;
            }
            let landed = self.hd.import_ticket_field(&self.scope, &self.source, sid, input).await;
            self.report.settle("ticket field", sid, landed, &mut self.ids.fields)?;
        }
        Ok(())
    }

    async fn groups(&mut self) -> anyhow::Result<()> {
        for g in self.list("/api/v2/groups.json", "groups").await? {
            let Some(sid) = zendesk::id(&g) else { continue };
            if g.get("deleted").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            self.report.read("group");
            if self.dry {
                self.report.dry("group", self.ids.groups.contains_key(&sid));
                continue;
            }
            let name = g.get("name").and_then(Value::as_str).unwrap_or_default();
            let description = g.get("description").and_then(Value::as_str).filter(|d| !d.is_empty());
            let landed = self.hd.import_group(&self.scope, &self.source, sid, name, description).await;
            self.report.settle("group", sid, landed, &mut self.ids.groups)?;
        }
        Ok(())
    }

    async fn orgs(&mut self) -> anyhow::Result<()> {
        for o in self.list("/api/v2/organizations.json?page[size]=100", "organizations").await? {
            let Some(sid) = zendesk::id(&o) else { continue };
            self.report.read("organization");
            if self.dry {
                self.report.dry("organization", self.ids.orgs.contains_key(&sid));
                continue;
            }
            match zendesk::org(&o, &self.ids) {
                Ok(input) => {
                    let landed = self.hd.import_org(&self.scope, &self.source, sid, input).await;
                    self.report.settle("organization", sid, landed, &mut self.ids.orgs)?;
                }
                Err(reason) => self.report.refuse("organization", sid, reason),
            }
        }
        Ok(())
    }

    /// Brings people over (a batch, one transaction), mapping their ids.
    async fn people(&mut self, users: &[Value]) -> anyhow::Result<()> {
        let mut batch = Vec::with_capacity(users.len());
        for u in users {
            let Some(sid) = zendesk::id(u) else { continue };
            self.report.read("person");
            if self.dry {
                let here = self.ids.users.contains_key(&sid) || self.has_address(u).await?;
                self.report.dry("person", here);
                continue;
            }
            match zendesk::user(u, &self.ids) {
                Ok((input, created_at)) => batch.push(ImportedUser {
                    source_id: sid,
                    input,
                    created_at,
                }),
                Err(reason) => self.report.refuse("person", sid, reason),
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        let out = self.hd.import_people(&self.scope, &self.source, batch).await.map_err(err)?;
        for (sid, l) in &out.landed {
            self.ids.users.insert(*sid, l.id());
        }
        self.report.outcome("person", out);
        Ok(())
    }

    /// Brings over the people the source has with these ids (asked for 100 at a time): those
    /// a record names that the people stage did not read.
    async fn people_by_id(&mut self, ids: &[i64]) -> anyhow::Result<()> {
        for chunk in ids.chunks(100) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let mut url = self.client.url("/api/v2/users/show_many.json")?;
            url.query_pairs_mut().append_pair("ids", &list.join(","));
            let users = self
                .client
                .json(&url)
                .await?
                .and_then(|v| v.get("users").and_then(Value::as_array).cloned())
                .unwrap_or_default();
            self.people(&users).await?;
        }
        Ok(())
    }

    /// Does someone here have this person's address (an import would find them)?
    async fn has_address(&self, user: &Value) -> anyhow::Result<bool> {
        let Some(Ok(email)) = user.get("email").and_then(Value::as_str).map(suoja_core::Email::parse) else {
            return Ok(false);
        };
        let mut c = self.hd.db().read().await?;
        Ok(self.hd.user_by_email(&mut c, self.scope.tenant, &email).await.map_err(err)?.is_some())
    }

    /// The first page of the incremental export of `stage`: from its checkpoint, or (a first
    /// run, or a dry run) from the beginning.
    async fn export_pages(&self, stage: &str) -> anyhow::Result<(url::Url, Option<String>)> {
        let saved = self.hd.import_checkpoint(&self.scope, &self.source, stage).await.map_err(err)?;
        let path = format!("/api/v2/incremental/{stage}/cursor.json");
        let url = match &saved {
            Some(cursor) if !self.dry => {
                let mut u = self.client.url(&path)?;
                u.query_pairs_mut().append_pair("cursor", cursor);
                u
            }
            _ => {
                let mut u = self.client.url(&path)?;
                u.query_pairs_mut().append_pair("start_time", "0");
                u
            }
        };
        Ok((url, saved))
    }

    async fn checkpoint(&self, stage: &str, page: &Value) -> anyhow::Result<()> {
        if self.dry {
            return Ok(());
        }
        if let Some(cursor) = page.get("after_cursor").and_then(Value::as_str) {
            self.hd.set_import_checkpoint(&self.scope, &self.source, stage, cursor).await.map_err(err)?;
        }
        Ok(())
    }

    async fn users(&mut self) -> anyhow::Result<()> {
        let bar = progress("people", self.count("type:user").await);
        let (mut url, _) = self.export_pages(USERS).await?;
        loop {
            let page = self.client.json(&url).await?.context("the source has no incremental user export")?;
            let users = page.get("users").and_then(Value::as_array).cloned().unwrap_or_default();
            for chunk in users.chunks(BATCH) {
                self.people(chunk).await?;
                bar.inc(chunk.len() as u64);
                bar.set_message(self.report.line("person"));
            }
            self.checkpoint(USERS, &page).await?;
            if users.is_empty() || page.get("end_of_stream").and_then(Value::as_bool) != Some(false) {
                break;
            }
            url = next_export_page(&self.client, &page, &url)?;
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// Tickets: one task reads the source (pages, and each ticket's comments and files) while
    /// this one writes what was read before, so reading and writing overlap.
    async fn tickets(&mut self) -> anyhow::Result<()> {
        let bar = progress("tickets", self.count("type:ticket").await);
        let (url, _) = self.export_pages(TICKETS).await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        // Tickets refused by an earlier run are tried again first (what refused them may have
        // changed here: a quota, a person's role), since the export's cursor has moved on.
        let retry: Vec<i64> = if self.dry {
            Vec::new()
        } else {
            self.hd
                .import_checkpoint(&self.scope, &self.source, TICKETS_REFUSED)
                .await
                .map_err(err)?
                .unwrap_or_default()
                .split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect()
        };
        let reader = Reader {
            retry,
            client: self.client.clone(),
            hd: self.hd.clone(),
            scope: self.scope,
            source: self.source.clone(),
            parallel: self.parallel,
            dry: self.dry,
        };
        let reading = Stop(tokio::spawn(reader.run(url, tx)));
        // PostgreSQL takes two transactions at once (one per core), and a chunk is sealed and
        // indexed while the database writes the one before. SQLite has one writer, which a
        // chunk holds from its first statement: the next would only wait for it (and could time
        // out waiting behind large files), so there one chunk is written at a time.
        let postgres = self.hd.db().engine() == suoja_store::Engine::Postgres;
        let writers = if postgres { 2 } else { 1 };
        let behind = if postgres { 1 } else { 0 };
        let (mut waiting, mut writing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        // Chunks being written, oldest first.
        let mut in_flight: std::collections::VecDeque<(Vec<Writing>, u64)> = std::collections::VecDeque::new();
        loop {
            let started = std::time::Instant::now();
            let Some(fetched) = rx.recv().await else { break };
            waiting += started.elapsed();
            let started = std::time::Instant::now();
            match fetched? {
                Fetched::Chunk { deleted, here, todo } => {
                    for _ in 0..deleted {
                        self.report.note("tickets deleted at the source, left there");
                    }
                    let n = todo.len() + here.len() + deleted;
                    for id in here {
                        self.report.read("ticket");
                        self.report.landed("ticket", Landed::Found(id));
                    }
                    in_flight.push_back((self.write_tickets(todo, writers).await?, n as u64));
                    while in_flight.len() > behind {
                        if let Some((tasks, n)) = in_flight.pop_front() {
                            self.settle_tickets(tasks).await?;
                            bar.inc(n);
                        }
                    }
                    bar.set_message(self.report.line("ticket"));
                }
                Fetched::PageEnd(cursor) => {
                    // A page is passed only once every ticket on it is in.
                    while let Some((tasks, n)) = in_flight.pop_front() {
                        self.settle_tickets(tasks).await?;
                        bar.inc(n);
                    }
                    if !self.dry {
                        self.hd.set_import_checkpoint(&self.scope, &self.source, TICKETS, &cursor).await.map_err(err)?;
                    }
                }
            }
            writing += started.elapsed();
        }
        let started = std::time::Instant::now();
        while let Some((tasks, n)) = in_flight.pop_front() {
            self.settle_tickets(tasks).await?;
            bar.inc(n);
        }
        writing += started.elapsed();
        self.report.ticket_time = Some((waiting, writing));
        drop(reading);
        bar.finish_and_clear();
        if !self.dry {
            let refused: Vec<String> = self
                .report
                .refused
                .iter()
                .filter(|(what, _, _)| *what == "ticket")
                .map(|(_, id, _)| id.to_string())
                .collect();
            self.hd
                .set_import_checkpoint(&self.scope, &self.source, TICKETS_REFUSED, &refused.join(","))
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    /// Satisfaction ratings of the tickets brought over (scores only: an offered, unanswered
    /// survey is not a rating).
    async fn ratings(&mut self) -> anyhow::Result<()> {
        for r in self.list("/api/v2/satisfaction_ratings.json?page[size]=100", "satisfaction_ratings").await? {
            let Some(sid) = zendesk::id(&r) else { continue };
            let Some(rating) = zendesk::rating(&r) else { continue };
            self.report.read("rating");
            if self.dry {
                self.report.dry("rating", false);
                continue;
            }
            match self
                .hd
                .import_rating(&self.scope, &self.source, rating.ticket, rating.score, rating.comment, rating.at)
                .await
            {
                Ok(l) => self.report.landed("rating", l),
                Err(suoja_helpdesk::HelpdeskError::NotFound(_)) => self.report.refuse("rating", sid, "ticket_id: the rated ticket was not brought over".into()),
                Err(e) => self.report.refuse_or_stop("rating", sid, e)?,
            }
        }
        Ok(())
    }

    /// How many records a search at the source counts (for the progress bar; `None` when it
    /// cannot say).
    async fn count(&self, query: &str) -> Option<u64> {
        let mut url = self.client.url("/api/v2/search/count.json").ok()?;
        url.query_pairs_mut().append_pair("query", query);
        let v = self.client.json(&url).await.ok()??;
        v.get("count").and_then(Value::as_u64)
    }

    /// Starts writing tickets read from the source (`writers` transactions at once); what
    /// became of them is settled by [`Self::settle_tickets`].
    async fn write_tickets(&mut self, todo: Vec<(i64, Value, Conversation)>, writers: usize) -> anyhow::Result<Vec<Writing>> {
        for _ in &todo {
            self.report.read("ticket");
        }
        if self.dry {
            for _ in &todo {
                self.report.dry("ticket", false);
            }
            return Ok(Vec::new());
        }
        // People the source made after the people stage read them.
        let mut missing: Vec<i64> = todo
            .iter()
            .flat_map(|(_, t, comments)| {
                let plain: Vec<Value> = comments.comments.iter().map(|(c, _)| c.clone()).collect();
                zendesk::people_of(t, &plain)
            })
            .filter(|u| !self.ids.users.contains_key(u))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        self.people_by_id(&missing).await?;
        let mut batch = Vec::with_capacity(todo.len());
        for (sid, t, comments) in todo {
            match self.imported_ticket(sid, &t, comments) {
                Ok(it) => batch.push(it),
                Err(reason) => self.report.refuse("ticket", sid, reason),
            }
        }
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // Each part is written by a task of its own, so the parts' sealing and indexing run on
        // separate cores while the database writes the others.
        let per_part = batch.len().div_ceil(writers.max(1));
        let mut parts = Vec::with_capacity(writers);
        while !batch.is_empty() {
            let rest = batch.split_off(per_part.min(batch.len()));
            parts.push(std::mem::replace(&mut batch, rest));
        }
        Ok(parts
            .into_iter()
            .map(|part| {
                let (hd, scope, source) = (self.hd.clone(), self.scope, self.source.clone());
                tokio::spawn(async move {
                    let out = hd.import_conversations(&scope, &source, part.clone()).await;
                    (part, out)
                })
            })
            .collect())
    }

    /// Waits for tickets being written and reports what became of them.
    async fn settle_tickets(&mut self, tasks: Vec<Writing>) -> anyhow::Result<()> {
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            let (part, out) = task.await.context("a writer of the import stopped")?;
            outcomes.push(match out {
                Ok(o) => o,
                // Transactions at once may wait on each other (the database breaks such a
                // deadlock by failing one); a part that failed so is written again alone.
                Err(_) => self.hd.import_conversations(&self.scope, &self.source, part).await.map_err(err)?,
            });
        }
        for out in outcomes {
            self.report.outcome("ticket", out);
        }
        Ok(())
    }

    fn imported_ticket(&mut self, sid: i64, t: &Value, conversation: Conversation) -> Result<ImportedTicket, String> {
        for why in conversation.left {
            self.report.note(why);
        }
        let (created_at, updated_at) = zendesk::ticket_times(t);
        let mut dropped = 0;
        let mut input = zendesk::ticket(t, &self.ids, &mut dropped)?;
        if dropped > 0 {
            *self.report.notes.entry("custom field values of fields not brought over, left out").or_default() += dropped;
        }
        let mut written = Vec::with_capacity(conversation.comments.len());
        for (c, files) in conversation.comments {
            written.push(zendesk::comment(&c, &self.ids, files, created_at)?);
        }
        let mut written = written.into_iter();
        let (first, _) = written.next().ok_or("comments: the source gave none")?;
        input.comment = Some(first);
        Ok(ImportedTicket {
            source_id: sid,
            input,
            later: written.map(|(input, created_at)| ImportedComment { input, created_at }).collect(),
            created_at,
            updated_at,
        })
    }
}

/// What the reading task hands the writing one.
enum Fetched {
    /// Part of a page: how many tickets are deleted at the source, the ids here of those
    /// brought over before, and the rest with their comments and files.
    Chunk {
        deleted: usize,
        here: Vec<i64>,
        todo: Vec<(i64, Value, Conversation)>,
    },
    /// A page is all handed over: its cursor (the checkpoint, once what came before is written).
    PageEnd(String),
}

/// Stops a task when dropped (the writer gave up, so the reader need not go on).
struct Stop(tokio::task::JoinHandle<()>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A part of a chunk of tickets being written by a task of its own: the tickets, and what
/// became of them.
type Writing = tokio::task::JoinHandle<(Vec<ImportedTicket>, Result<Outcome, suoja_helpdesk::HelpdeskError>)>;

/// The task reading tickets from the source.
struct Reader {
    retry: Vec<i64>,
    client: Arc<Client>,
    hd: Helpdesk,
    scope: Scope,
    source: String,
    parallel: usize,
    dry: bool,
}

impl Reader {
    async fn run(self, first: url::Url, tx: tokio::sync::mpsc::Sender<anyhow::Result<Fetched>>) {
        if let Err(e) = self.pages(first, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    }

    async fn pages(&self, first: url::Url, tx: &tokio::sync::mpsc::Sender<anyhow::Result<Fetched>>) -> anyhow::Result<()> {
        for ids in self.retry.chunks(100) {
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            let mut url = self.client.url("/api/v2/tickets/show_many.json")?;
            url.query_pairs_mut().append_pair("ids", &list.join(","));
            let tickets = self
                .client
                .json(&url)
                .await?
                .and_then(|v| v.get("tickets").and_then(Value::as_array).cloned())
                .unwrap_or_default();
            let fetched = self.chunk(&tickets).await?;
            if tx.send(Ok(fetched)).await.is_err() {
                return Ok(());
            }
        }
        let mut url = first;
        loop {
            let page = self.client.json(&url).await?.context("the source has no incremental ticket export")?;
            let tickets = page.get("tickets").and_then(Value::as_array).cloned().unwrap_or_default();
            for chunk in tickets.chunks(BATCH) {
                let fetched = self.chunk(chunk).await?;
                if tx.send(Ok(fetched)).await.is_err() {
                    return Ok(());
                }
            }
            if let Some(cursor) = page.get("after_cursor").and_then(Value::as_str)
                && tx.send(Ok(Fetched::PageEnd(cursor.to_string()))).await.is_err()
            {
                return Ok(());
            }
            if tickets.is_empty() || page.get("end_of_stream").and_then(Value::as_bool) != Some(false) {
                return Ok(());
            }
            url = next_export_page(&self.client, &page, &url)?;
        }
    }

    async fn chunk(&self, tickets: &[Value]) -> anyhow::Result<Fetched> {
        let mut deleted = 0;
        let mut todo = Vec::with_capacity(tickets.len());
        let mut listed = std::collections::HashSet::new();
        for t in tickets {
            // A source listing a ticket twice on a page gives it once.
            let Some(sid) = zendesk::id(t).filter(|sid| listed.insert(*sid)) else {
                continue;
            };
            if zendesk::is_deleted(t) {
                deleted += 1;
            } else {
                todo.push((sid, t));
            }
        }
        let ids: Vec<i64> = todo.iter().map(|(sid, _)| *sid).collect();
        let known = self.hd.imported_among(&self.scope, &self.source, kind::TICKET, &ids).await.map_err(err)?;
        let here = todo.iter().filter_map(|(sid, _)| known.get(sid).copied()).collect();
        todo.retain(|(sid, _)| !known.contains_key(sid));
        let conversations: Vec<anyhow::Result<Conversation>> = if self.dry {
            todo.iter().map(|_| Ok(Conversation::default())).collect()
        } else {
            // Each ticket's comments (and their files), several tickets at once.
            let wanted: Vec<i64> = todo.iter().map(|(sid, _)| *sid).collect();
            futures_util::stream::iter(wanted)
                .map(|sid| conversation(self.client.clone(), sid))
                .buffered(self.parallel)
                .collect()
                .await
        };
        let mut out = Vec::with_capacity(todo.len());
        for ((sid, t), got) in todo.into_iter().zip(conversations) {
            out.push((sid, t.clone(), got?));
        }
        Ok(Fetched::Chunk { deleted, here, todo: out })
    }
}

/// A ticket's comments as the source has them, oldest first, each with its files read, and
/// the files left where they are (why, one entry each).
#[derive(Default)]
struct Conversation {
    comments: Vec<(Value, Vec<NewFile>)>,
    left: Vec<&'static str>,
}

/// A ticket's comments, oldest first, each with its files read.
async fn conversation(client: Arc<Client>, ticket: i64) -> anyhow::Result<Conversation> {
    let first = format!("/api/v2/tickets/{ticket}/comments.json?page[size]=100&sort_order=asc");
    let mut url = client.url(&first)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Conversation::default();
    loop {
        if !seen.insert(url.to_string()) {
            bail!("the source gave the same page of ticket {ticket}'s comments twice; stopping");
        }
        let Some(page) = client.json(&url).await? else { break };
        for c in page.get("comments").and_then(Value::as_array).cloned().unwrap_or_default() {
            let mut files = Vec::new();
            for (name, content_type, address) in zendesk::attachments(&c) {
                match client.file(&address, suoja_helpdesk::uploads::MAX_UPLOAD_BYTES).await? {
                    File::Got(bytes) => files.push(NewFile {
                        file_name: Personal::new(name),
                        content_type,
                        bytes: Personal::new(bytes),
                    }),
                    File::Gone => out.left.push("files the source no longer has, left out"),
                    File::Left(why) => out.left.push(why),
                }
            }
            out.comments.push((c, files));
        }
        match next_page(&page) {
            Some(next) => url = client.url(&next)?,
            None => break,
        }
    }
    Ok(out)
}

/// The next page of an incremental export; a source that names the page just read again
/// would never end, so that stops the import.
fn next_export_page(client: &Client, page: &Value, current: &url::Url) -> anyhow::Result<url::Url> {
    let next = client.url(page.get("after_url").and_then(Value::as_str).context("the source gave no next page")?)?;
    if &next == current {
        bail!("the source's export gave the page just read as the next one; stopping");
    }
    Ok(next)
}

fn progress(what: &str, total: Option<u64>) -> indicatif::ProgressBar {
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("  {prefix:8} {bar:30} {pos}/{len} {msg}  {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// Counts per kind of record, refusals, and things left out on purpose.
#[derive(Debug, Default)]
struct Report {
    counts: BTreeMap<&'static str, [u64; 4]>,
    refused: Vec<(&'static str, i64, String)>,
    notes: BTreeMap<&'static str, u64>,
    /// Of the tickets stage: time spent waiting for the source, and time spent writing.
    ticket_time: Option<(std::time::Duration, std::time::Duration)>,
}

const READ: usize = 0;
const NEW: usize = 1;
const HERE: usize = 2;
const REFUSED: usize = 3;

impl Report {
    fn bump(&mut self, what: &'static str, slot: usize) {
        if let Some(n) = self.counts.entry(what).or_default().get_mut(slot) {
            *n += 1;
        }
    }

    fn read(&mut self, what: &'static str) {
        self.bump(what, READ);
    }

    fn landed(&mut self, what: &'static str, l: Landed) {
        self.bump(what, if matches!(l, Landed::New(_)) { NEW } else { HERE });
    }

    fn dry(&mut self, what: &'static str, here: bool) {
        self.bump(what, if here { HERE } else { NEW });
    }

    fn refuse(&mut self, what: &'static str, source_id: i64, reason: String) {
        self.bump(what, REFUSED);
        self.refused.push((what, source_id, reason));
    }

    /// Records what became of one record: its id here in `ids`, or its refusal (a failure
    /// that is not the record's own stops the import).
    fn settle(
        &mut self,
        what: &'static str,
        source_id: i64,
        landed: Result<Landed, suoja_helpdesk::HelpdeskError>,
        ids: &mut std::collections::HashMap<i64, i64>,
    ) -> anyhow::Result<()> {
        match landed {
            Ok(l) => {
                ids.insert(source_id, l.id());
                self.landed(what, l);
                Ok(())
            }
            Err(e) => self.refuse_or_stop(what, source_id, e),
        }
    }

    /// A record's own failure is reported; any other failure stops the import.
    fn refuse_or_stop(&mut self, what: &'static str, source_id: i64, e: suoja_helpdesk::HelpdeskError) -> anyhow::Result<()> {
        use suoja_core::ErrorKind as K;
        match e.kind() {
            K::Invalid | K::NotFound | K::Conflict | K::Forbidden => {
                self.refuse(what, source_id, e.to_string());
                Ok(())
            }
            _ => Err(err(e)),
        }
    }

    fn outcome(&mut self, what: &'static str, out: Outcome) {
        if out.left_off > 0 {
            *self
                .notes
                .entry("assignees or followers who are not staff here, left off their tickets")
                .or_default() += out.left_off;
        }
        for (_, l) in out.landed {
            self.landed(what, l);
        }
        for r in out.refused {
            self.refuse(what, r.source_id, r.reason);
        }
    }

    fn note(&mut self, what: &'static str) {
        *self.notes.entry(what).or_default() += 1;
    }

    fn line(&self, what: &str) -> String {
        let [_, new, here, refused] = self.counts.get(what).copied().unwrap_or_default();
        format!("new {new} · here {here} · refused {refused}")
    }

    fn print(&self, source: &str, tenant: &str, dry: bool) {
        if dry {
            println!("Dry run: nothing was written. From {source} into tenant {tenant} would come:");
        } else {
            println!("Imported from {source} into tenant {tenant}:");
        }
        let new = if dry { "would be new" } else { "new" };
        println!("  {:<16} {:>9} {:>12} {:>14} {:>9}", "", "read", new, "already here", "refused");
        for (what, [read, new, here, refused]) in &self.counts {
            println!("  {what:<16} {read:>9} {new:>12} {here:>14} {refused:>9}");
        }
        if dry {
            println!("  (comments and files are read only by the import itself)");
        }
        for (what, plural) in [("person", "people"), ("ticket", "tickets")] {
            if !self.counts.contains_key(what) {
                println!("  no {plural} changed at the source since the last import");
            }
        }
        for (what, n) in &self.notes {
            println!("  {n} {what}");
        }
        // Which side held the tickets back: the source (reading, which runs ahead while
        // tickets are written) or this installation (writing).
        if let Some((waiting, writing)) = self.ticket_time
            && !dry
        {
            println!(
                "  tickets: {:.1} s writing, {:.1} s waiting for the source",
                writing.as_secs_f64(),
                waiting.as_secs_f64()
            );
        }
        if !self.refused.is_empty() {
            println!("Could not be imported ({}):", self.refused.len());
            for (what, id, reason) in &self.refused {
                println!("  {what} {id} at the source: {reason}");
            }
        }
    }
}
