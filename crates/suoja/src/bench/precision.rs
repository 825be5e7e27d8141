//! What precision costs: the identifier matcher replacing a person's identifiers across 10 000
//! comments of 2 KB, against a plain `str::replace` of one literal over the same text (the
//! in-run baseline); and an end user's search, where words must be in what they can read (each
//! ticket the index finds is checked against its subject and public comments), against the same
//! query by an agent, at an end user with 1 000 tickets.

use std::time::Instant;

use anyhow::Context as _;
use suoja_config::Settings;
use suoja_core::{Email, Personal, Role, Scope};
use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput, UserInput};
use suoja_privacy::matcher::{Identity, Markup, Matcher};

/// The matcher's figures.
#[derive(Debug, Clone, Default)]
pub struct MatcherFigures {
    /// Comments and their total size.
    pub comments: usize,
    /// Bytes of text.
    pub bytes: usize,
    /// `str::replace` of the full name, ms (best of three).
    pub baseline_ms: f64,
    /// The matcher, strong matches replaced, ms.
    pub strong_ms: f64,
    /// The matcher, weak matches replaced too, ms.
    pub weak_ms: f64,
    /// The matcher over the same text as HTML, ms.
    pub html_ms: f64,
    /// The matcher over as many comments that never name the person (most of a helpdesk), ms.
    pub absent_ms: f64,
    /// `str::replace` over those, ms.
    pub absent_baseline_ms: f64,
    /// Strong matches replaced.
    pub replaced: usize,
}

/// The end-user search figures on one engine.
#[derive(Debug, Clone, Default)]
pub struct SearchFigures {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// An agent's search for a word in every public reply, p50 ms.
    pub staff_ms: f64,
    /// The end user's search for that word, p50 ms.
    pub end_user_ms: f64,
    /// The end user's search for a word only the internal notes hold (finds nothing), p50 ms.
    pub notes_only_ms: f64,
}

const WORDS: &[&str] = &[
    "invoice",
    "refund",
    "channel",
    "started",
    "order",
    "delivery",
    "annual",
    "marked",
    "redacted",
    "account",
    "billing",
    "the",
    "and",
    "we",
    "called",
    "about",
    "Teddy",
    "lee",
    "leeway",
    "ann-marie",
];

/// Words of comments that never name the person.
const PLAIN: &[&str] = &[
    "invoice", "refund", "order", "delivery", "account", "billing", "the", "and", "we", "called", "about", "package",
];

/// 10 000 comments of about 2 KB, with the person written every way a person is written.
fn comments() -> Vec<String> {
    generate(WORDS, true)
}

fn generate(words: &[&str], person: bool) -> Vec<String> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..10_000)
        .map(|i| {
            let mut s = String::with_capacity(2_100);
            while s.len() < 2_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let w = words.get((x >> 33) as usize % words.len()).copied().unwrap_or("the");
                s.push_str(w);
                s.push(' ');
            }
            match i % 10 {
                _ if !person => {}
                0 => s.push_str("Ann Lee called. "),
                3 => s.push_str("Mail ann.lee@example.fi please. "),
                6 => s.push_str("Phone 040-123 4567. "),
                8 => s.push_str("Ann said hi. "),
                _ => {}
            }
            s
        })
        .collect()
}

fn best_of_three(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..3 {
        let t = Instant::now();
        n = std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    (best, n)
}

/// Times the matcher against `str::replace` over the same comments.
pub fn matcher() -> MatcherFigures {
    let texts = comments();
    let bytes = texts.iter().map(String::len).sum();
    let person = Identity::new("Ann Lee", Some("ann.lee@example.fi"), Some("+358 40 123 4567"));
    let m = Matcher::one(&person);
    let (baseline_ms, _) = best_of_three(|| texts.iter().map(|t| t.replace("Ann Lee", "[redacted]").len()).sum());
    let run = |markup: Markup, weak: bool| {
        best_of_three(|| {
            texts
                .iter()
                .map(|t| {
                    m.replace(t, markup, |h| (weak || h.class.is_strong()).then(|| "[redacted]".to_string()))
                        .map_or(0, |(_, n)| n)
                })
                .sum()
        })
    };
    let (strong_ms, replaced) = run(Markup::Plain, false);
    let (weak_ms, _) = run(Markup::Plain, true);
    let (html_ms, _) = run(Markup::Html, false);
    let absent = generate(PLAIN, false);
    let (absent_baseline_ms, _) = best_of_three(|| absent.iter().map(|t| t.replace("Ann Lee", "[redacted]").len()).sum());
    let (absent_ms, _) = best_of_three(|| {
        absent
            .iter()
            .map(|t| m.replace(t, Markup::Plain, |_| Some("[redacted]".to_string())).map_or(0, |(_, n)| n))
            .sum()
    });
    MatcherFigures {
        absent_ms,
        absent_baseline_ms,
        comments: texts.len(),
        bytes,
        baseline_ms,
        strong_ms,
        weak_ms,
        html_ms,
        replaced,
    }
}

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// An end user with `tickets` tickets (a public reply with `refund`, an internal note with
/// `notesonlyword`) among as many tickets of someone else; the searches timed in-process.
pub async fn end_user_search(engine: &str, pg: Option<&str>, tickets: usize) -> anyhow::Result<SearchFigures> {
    let dir = std::env::temp_dir().join(format!("suoja-bench-precision-{engine}-{}", super::hex_suffix()));
    std::fs::create_dir_all(&dir)?;
    let mut settings = Settings {
        data_dir: dir.clone(),
        ..Settings::default()
    };
    if let Some(admin) = pg {
        settings.database_url = Some(super::create_pg_database(admin).await?);
    }
    let hd = crate::app::open(&settings).await?;
    let err = |e: suoja_helpdesk::HelpdeskError| anyhow::anyhow!("{e}");
    let boot = super::bench_tenant(&hd, "bench@example.fi").await?;
    let mut people = Vec::new();
    for who in ["enduser@example.fi", "someone@example.fi"] {
        let u = hd
            .create_user(
                &boot.admin,
                UserInput {
                    name: Some(Personal::new(format!("Person {who}"))),
                    email: Some(Some(Email::parse(who).map_err(|e| anyhow::anyhow!(e.0))?)),
                    role: Some(Role::EndUser),
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?;
        people.push(u.id);
    }
    for (k, person) in people.iter().enumerate() {
        for chunk in (0..tickets).collect::<Vec<_>>().chunks(500) {
            let batch = chunk
                .iter()
                .map(|i| TicketInput {
                    subject: Some(Personal::new(format!("Order {i}"))),
                    comment: Some(CommentInput {
                        body: Some(Personal::new(format!("Please refund order {i} of person {k}; it arrived broken."))),
                        html_body: None,
                        public: true,
                        author_id: None,
                        uploads: Vec::new(),
                        files: Vec::new(),
                        via: Default::default(),
                    }),
                    requester: Some(RequesterRef::Id(*person)),
                    ..Default::default()
                })
                .collect();
            let ids = hd.import_tickets(&boot.admin, batch).await.map_err(err)?;
            for id in ids {
                let note = TicketInput {
                    comment: Some(CommentInput {
                        body: Some(Personal::new("Internal: notesonlyword, checked the courier.".into())),
                        html_body: None,
                        public: false,
                        author_id: None,
                        uploads: Vec::new(),
                        files: Vec::new(),
                        via: Default::default(),
                    }),
                    ..Default::default()
                };
                hd.update_ticket(&boot.admin, id, note).await.map_err(err)?;
            }
        }
    }
    // A database in service has been analysed; a freshly seeded PostgreSQL one has no statistics.
    if pg.is_some() {
        sqlx::query("VACUUM ANALYZE").execute(hd.db().write_pool()).await?;
    }
    let end_user = Scope {
        tenant: boot.admin.tenant,
        actor: people.first().copied().context("no end user")?,
        role: Role::EndUser,
        privacy_officer: false,
        token: None,
    };
    let time = |scope: Scope, q: &'static str| {
        let hd = hd.clone();
        async move {
            let mut v = Vec::new();
            for _ in 0..15 {
                let t = Instant::now();
                let page = hd.search(&scope, q, 1, 20).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                std::hint::black_box(page.count);
                v.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<f64, anyhow::Error>(p50(v))
        }
    };
    let figures = SearchFigures {
        engine: engine.into(),
        staff_ms: time(boot.admin, "refund").await?,
        end_user_ms: time(end_user, "refund").await?,
        notes_only_ms: time(end_user, "notesonlyword").await?,
    };
    hd.db().close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}
