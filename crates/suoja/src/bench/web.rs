//! The web interface's pages: an agent's ticket page with 100 comments, the default view of 50
//! tickets and a view of conditions an admin wrote,
//! timed one request at a time over loopback against `GET /healthz` on the same server (the
//! in-run baseline: the HTTP stack with no page behind it), and the weight of each page with its
//! stylesheet, script and icon.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use suoja_core::{Email, Personal, Role, Scope, TicketId};
use suoja_helpdesk::Helpdesk;
use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput, UserInput};

/// Timings of one page.
#[derive(Debug, Clone, Default)]
pub struct PageFigures {
    /// Median, ms.
    pub p50: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// HTML bytes.
    pub html_bytes: usize,
}

/// What the web benchmark measured.
#[derive(Debug, Clone, Default)]
pub struct WebFigures {
    /// `GET /healthz`.
    pub baseline: PageFigures,
    /// The ticket page with 100 comments.
    pub ticket: PageFigures,
    /// The "all open tickets" view, 50 rows.
    pub view: PageFigures,
    /// A view an admin wrote: unsolved, and urgent or tagged `vip`.
    pub custom_view: PageFigures,
    /// A view an admin wrote: every unsolved ticket, newest first (sorted by creation time).
    pub newest_view: PageFigures,
    /// Bytes of the stylesheet, script and icon every page loads.
    pub asset_bytes: usize,
    /// Requests timed per page.
    pub samples: usize,
    /// The hourly automation pass.
    pub automations: AutomationFigures,
    /// A ticket update with triggers.
    pub triggers: TriggerFigures,
    /// A ticket update with SLA policies (its clocks measured and kept).
    pub slas: TriggerFigures,
}

/// A ticket's update timed in-process without some rules and with them (100 more triggers;
/// SLA policies).
#[derive(Debug, Clone, Default)]
pub struct TriggerFigures {
    /// Updates timed in each case.
    pub samples: usize,
    /// p50 without the rules (the default notification triggers alone), ms.
    pub baseline_p50_ms: f64,
    /// p50 with them, ms.
    pub with_p50_ms: f64,
    /// p95s, ms.
    pub baseline_p95_ms: f64,
    /// p95 with the 100.
    pub with_p95_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(suoja_core::num::floor_usize(((sorted.len() as f64 - 1.0) * p).round()))
        .copied()
        .unwrap_or(0.0)
}

/// An internal note, as an agent answering writes it.
fn note(text: String) -> CommentInput {
    CommentInput {
        body: Some(Personal::new(text)),
        html_body: None,
        public: false,
        author_id: None,
        uploads: Vec::new(),
        files: Vec::new(),
        via: Default::default(),
    }
}

/// Times `samples` updates of one ticket (a priority as `priority` says for the i-th, and an
/// internal note), after ten untimed ones; milliseconds each.
/// A ticket an agent works on while a measurement runs.
async fn worked_on(hd: &Helpdesk, admin: &Scope, requester: suoja_core::UserId, subject: &str) -> anyhow::Result<TicketId> {
    let input = TicketInput {
        subject: Some(Personal::new(subject.into())),
        comment: Some(note("The first words.".into())),
        requester: Some(RequesterRef::Id(requester)),
        ..Default::default()
    };
    Ok(hd.create_ticket(admin, input).await.map_err(|e| anyhow::anyhow!("{e}"))?.ticket.id)
}

/// High and normal by turns, so each timed update changes the priority.
fn alternating(i: usize) -> suoja_core::Priority {
    if i.is_multiple_of(2) {
        suoja_core::Priority::High
    } else {
        suoja_core::Priority::Normal
    }
}

async fn timed_updates(
    hd: &Helpdesk,
    admin: &Scope,
    ticket: TicketId,
    samples: usize,
    priority: impl Fn(usize) -> suoja_core::Priority,
    words: String,
) -> anyhow::Result<Vec<f64>> {
    let mut ms = Vec::with_capacity(samples);
    for i in 0..samples + 10 {
        let input = TicketInput {
            priority: Some(Some(priority(i))),
            comment: Some(note(format!("{words} step {i}."))),
            ..Default::default()
        };
        let started = Instant::now();
        hd.update_ticket(admin, ticket, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if i >= 10 {
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(ms)
}

/// The p50s and p95s of updates timed without and with some rules.
fn figures(samples: usize, mut base: Vec<f64>, mut with: Vec<f64>) -> TriggerFigures {
    base.sort_by(f64::total_cmp);
    with.sort_by(f64::total_cmp);
    TriggerFigures {
        samples,
        baseline_p50_ms: percentile(&base, 0.5),
        with_p50_ms: percentile(&with, 0.5),
        baseline_p95_ms: percentile(&base, 0.95),
        with_p95_ms: percentile(&with, 0.95),
    }
}

/// Times `samples` updates of one ticket (a priority change and an internal note, as an agent
/// answering) with the default triggers alone and with 100 more active triggers, in four rounds
/// of each taking turns. Each of the 100 tests what a team's triggers test (a status change, a
/// tag, a word in the comment, the group), and one in ten holds and tags the ticket, so the
/// triggers are both tested and run.
pub async fn measure_triggers(hd: &Helpdesk, admin: &Scope, requester: suoja_core::UserId, samples: usize) -> anyhow::Result<TriggerFigures> {
    let e = |e: suoja_helpdesk::HelpdeskError| anyhow::anyhow!("{e}");
    let ticket = worked_on(hd, admin, requester, "Triggers at work").await?;
    let time = |round: usize| timed_updates(hd, admin, ticket, samples / 4, alternating, format!("Checked the logs again, round {round}"));
    let cond = suoja_helpdesk::rules::conditions::Wire::new;
    let mut ids = Vec::with_capacity(100);
    for i in 0..100 {
        let all = match i % 4 {
            0 => vec![cond("status", "value", "solved"), cond("update_type", "is", "Change")],
            1 => vec![cond("current_tags", "includes", &format!("bench_t{i}")), cond("priority", "changed", "")],
            2 => vec![cond("comment_includes_word", "includes", &format!("refund{i} chargeback{i}"))],
            _ => vec![cond("group_id", "is", ""), cond("priority", "is", "low"), cond("role", "is", "end_user")],
        };
        // One in ten holds on every update (a priority change by an agent) and tags the ticket.
        let all = if i % 10 == 9 {
            vec![cond("priority", "changed", ""), cond("role", "is_not", "end_user")]
        } else {
            all
        };
        hd.create_trigger(
            admin,
            suoja_helpdesk::rules::triggers::TriggerInput {
                rule: suoja_helpdesk::rules::RuleInput {
                    title: Some(format!("Bench trigger {i}")),
                    ..Default::default()
                },
                all: Some(all),
                actions: Some(vec![suoja_helpdesk::rules::macros::Action {
                    field: "current_tags".into(),
                    value: serde_json::Value::String(format!("bench_fired{i}")),
                }]),
                ..Default::default()
            },
        )
        .await
        .map_err(e)
        .map(|t| ids.push(t.row.id))?;
    }
    // Rounds without and with the 100, taking turns, so whatever else the database is doing
    // (the search index merging its segments) falls on both alike.
    let switch = |on: bool| {
        let ids = ids.clone();
        async move {
            for id in ids {
                let input = suoja_helpdesk::rules::triggers::TriggerInput {
                    rule: suoja_helpdesk::rules::RuleInput {
                        active: Some(on),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                hd.update_trigger(admin, id, input).await.map_err(e)?;
            }
            anyhow::Ok(())
        }
    };
    let (mut base, mut with): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for round in 0..4 {
        switch(false).await?;
        base.extend(time(2 * round).await?);
        switch(true).await?;
        with.extend(time(2 * round + 1).await?);
    }
    Ok(figures(samples, base, with))
}

/// Times `samples` updates of one ticket (a priority change and an internal note) without SLA
/// policies and with ten, in four rounds of each taking turns: nine whose filters do not hold
/// and the tenth, last in order, with business-hours and calendar targets on a schedule with
/// holidays, so every update tests the filters, reads the ticket's history and keeps its next
/// breach. The ticket's history grows by a comment and an audit each update (to ~300 each).
pub async fn measure_slas(hd: &Helpdesk, admin: &Scope, requester: suoja_core::UserId, samples: usize) -> anyhow::Result<TriggerFigures> {
    use suoja_helpdesk::rules::sla::{PolicyMetric, SlaInput};
    let e = |e: suoja_helpdesk::HelpdeskError| anyhow::anyhow!("{e}");
    let ticket = hd
        .create_ticket(
            admin,
            TicketInput {
                subject: Some(Personal::new("Clocks at work".into())),
                comment: Some(note("The first words.".into())),
                requester: Some(RequesterRef::Id(requester)),
                tags: Some(vec!["bench_sla".into()]),
                ..Default::default()
            },
        )
        .await
        .map_err(e)?
        .ticket
        .id;
    let week: Vec<(u32, u32)> = (1..=5).map(|d| (d * 1440 + 480, d * 1440 + 960)).collect();
    let schedule = hd
        .create_schedule(
            admin,
            suoja_helpdesk::rules::schedules::ScheduleInput {
                name: Some("Bench office".into()),
                time_zone: Some("Europe/Helsinki".into()),
                intervals: Some(week),
            },
        )
        .await
        .map_err(e)?;
    for (i, day) in [
        "2026-01-01",
        "2026-01-06",
        "2026-04-03",
        "2026-05-01",
        "2026-06-19",
        "2026-12-24",
        "2026-12-25",
        "2026-12-31",
    ]
    .iter()
    .enumerate()
    {
        let input = suoja_helpdesk::rules::schedules::HolidayInput {
            name: Some(format!("Holiday {i}")),
            start_date: Some((*day).into()),
            end_date: Some((*day).into()),
        };
        hd.put_holiday(admin, schedule.row.id, None, input).await.map_err(e)?;
    }
    let target = |metric: &str, minutes: i64, business_hours: bool| PolicyMetric {
        priority: "normal".into(),
        metric: metric.into(),
        target: minutes,
        business_hours,
    };
    let mut ids = Vec::with_capacity(10);
    for i in 0..10 {
        let tag = if i == 9 { "bench_sla".to_string() } else { format!("bench_sla_other{i}") };
        let input = SlaInput {
            rule: suoja_helpdesk::rules::RuleInput {
                title: Some(format!("Bench SLA {i}")),
                ..Default::default()
            },
            all: Some(vec![suoja_helpdesk::rules::conditions::Wire::new("current_tags", "includes", &tag)]),
            any: None,
            metrics: Some(vec![
                target("first_reply_time", 240, true),
                target("requester_wait_time", 2_880, false),
                target("periodic_update", 480, true),
                target("total_resolution_time", 10_080, false),
            ]),
        };
        ids.push(hd.create_sla_policy(admin, input).await.map_err(e)?.row.id);
    }
    let switch = |on: bool| {
        let ids = ids.clone();
        async move {
            for id in ids {
                let input = SlaInput {
                    rule: suoja_helpdesk::rules::RuleInput {
                        active: Some(on),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                hd.update_sla_policy(admin, id, input).await.map_err(e)?;
            }
            // The change has the tenant's open tickets measured again in the background: timed
            // updates wait for it, so neither side pays for it.
            let waited = Instant::now();
            while hd.remeasuring(admin.tenant) {
                anyhow::ensure!(waited.elapsed().as_secs() < 600, "SLA clocks still being measured after ten minutes");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            anyhow::Ok(())
        }
    };
    let time = |round: usize| {
        timed_updates(
            hd,
            admin,
            ticket,
            samples / 4,
            |_| suoja_core::Priority::Normal,
            format!("Watched the clock, round {round}"),
        )
    };
    let (mut base, mut with): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for round in 0..4 {
        switch(false).await?;
        base.extend(time(2 * round).await?);
        switch(true).await?;
        with.extend(time(2 * round + 1).await?);
    }
    Ok(figures(samples, base, with))
}

/// The hourly automation pass, timed in-process on the seeded database.
#[derive(Debug, Clone, Default)]
pub struct AutomationFigures {
    /// The pass with Zendesk's default alone (nothing solved: the cost of looking), ms.
    pub baseline_ms: f64,
    /// The pass with an automation that tags every urgent ticket, ms.
    pub pass_ms: f64,
    /// Tickets it changed.
    pub changed: u64,
    /// An agent's ticket updates (priority and an internal note) while nothing else runs: p50
    /// and p99, ms.
    pub writes_alone_ms: (f64, f64),
    /// The same updates while the pass runs: p50, p99 and the slowest, ms, and how many.
    pub writes_during_ms: (f64, f64, f64, usize),
}

/// Times the automation pass: first with the default alone (it finds nothing to close), then
/// with an automation that finds the urgent tickets (one in a hundred) and tags them (a tag
/// no view of the benchmark tests, so the pages are timed on the same tickets).
pub async fn measure_automations(hd: &Helpdesk, admin: &Scope, requester: suoja_core::UserId) -> anyhow::Result<AutomationFigures> {
    // An agent keeps working on a ticket of their own: timed alone first, then during the pass.
    let ticket = worked_on(hd, admin, requester, "Worked on during the automations").await?;
    let mut alone = timed_updates(hd, admin, ticket, 200, alternating, "Working alone".into()).await?;
    alone.sort_by(f64::total_cmp);
    let started = Instant::now();
    hd.run_automations().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let baseline_ms = started.elapsed().as_secs_f64() * 1000.0;
    let cond = suoja_helpdesk::rules::conditions::Wire::new;
    hd.create_automation(
        admin,
        suoja_helpdesk::rules::automations::AutomationInput {
            rule: suoja_helpdesk::rules::RuleInput {
                title: Some("Tag urgent tickets".into()),
                ..Default::default()
            },
            all: Some(vec![
                cond("priority", "is", "urgent"),
                cond("current_tags", "not_includes", "bench_seen"),
                cond("NEW", "less_than", "100000"),
            ]),
            actions: Some(vec![suoja_helpdesk::rules::macros::Action {
                field: "current_tags".into(),
                value: serde_json::Value::String("bench_seen".into()),
            }]),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (hd, admin, done) = (hd.clone(), *admin, done.clone());
        tokio::spawn(async move {
            let mut ms = Vec::new();
            let mut i = 0usize;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let input = TicketInput {
                    priority: Some(Some(alternating(i))),
                    comment: Some(note(format!("Working during the pass, step {i}."))),
                    ..Default::default()
                };
                let at = Instant::now();
                hd.update_ticket(&admin, ticket, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                ms.push(at.elapsed().as_secs_f64() * 1000.0);
                i += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            anyhow::Ok(ms)
        })
    };
    let report = hd.run_automations().await.map_err(|e| anyhow::anyhow!("{e}"));
    let pass_ms = started.elapsed().as_secs_f64() * 1000.0;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut during = writer.await??;
    let report = report?;
    during.sort_by(f64::total_cmp);
    Ok(AutomationFigures {
        baseline_ms,
        pass_ms,
        changed: report.ran.iter().map(|r| r.2).sum(),
        writes_alone_ms: (percentile(&alone, 0.5), percentile(&alone, 0.99)),
        writes_during_ms: (
            percentile(&during, 0.5),
            percentile(&during, 0.99),
            during.last().copied().unwrap_or(0.0),
            during.len(),
        ),
    })
}

/// The agent's password in the benchmark tenant.
pub const AGENT_PASSWORD: &str = "bench agent password";

/// Seeds an agent with a password, a ticket with 100 comments (about 300 bytes each, every
/// fifth an internal note) and two shared views (unsolved, and urgent or tagged `vip`; every
/// unsolved ticket, newest first); returns the ticket and the views' ids.
pub async fn seed(hd: &Helpdesk, admin: &Scope, requester: suoja_core::UserId) -> anyhow::Result<(TicketId, i64, i64)> {
    let cond = suoja_helpdesk::rules::conditions::Wire::new;
    let view = hd
        .create_view(
            admin,
            suoja_helpdesk::rules::views::ViewInput {
                rule: suoja_helpdesk::rules::RuleInput {
                    title: Some("Urgent or VIP".into()),
                    ..Default::default()
                },
                all: Some(vec![cond("status", "less_than", "solved")]),
                any: Some(vec![cond("priority", "is", "urgent"), cond("current_tags", "includes", "vip")]),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .row
        .id;
    let newest = hd
        .create_view(
            admin,
            suoja_helpdesk::rules::views::ViewInput {
                rule: suoja_helpdesk::rules::RuleInput {
                    title: Some("Newest unsolved".into()),
                    ..Default::default()
                },
                all: Some(vec![cond("status", "less_than", "solved")]),
                sort_by: Some("created_at".into()),
                sort_order: Some("desc".into()),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .row
        .id;
    hd.create_user(
        admin,
        UserInput {
            name: Some(Personal::new("Bench Agent".into())),
            email: Some(Some(Email::parse("agent@example.fi").map_err(|e| anyhow::anyhow!(e.0))?)),
            role: Some(Role::Agent),
            password: Some(Personal::new(AGENT_PASSWORD.into())),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let comment = |i: usize, public: bool| CommentInput {
        body: Some(Personal::new(format!(
            "Comment {i}: thank you for the details. We checked the order, the delivery address and the invoice, and we will get back to you as soon as the warehouse confirms the package. Reference {i:05}, line two of the message follows here."
        ))),
        html_body: None,
        public,
        author_id: None,
        uploads: Vec::new(),
        files: Vec::new(),
        via: Default::default(),
    };
    let t = hd
        .create_ticket(
            admin,
            TicketInput {
                subject: Some(Personal::new("A long conversation".into())),
                comment: Some(comment(0, true)),
                requester: Some(RequesterRef::Id(requester)),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ticket
        .id;
    for i in 1..100 {
        hd.update_ticket(
            admin,
            t,
            TicketInput {
                comment: Some(comment(i, i % 5 != 0)),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok((t, view, newest))
}

/// Times `n` requests of `url` (after 20 unmeasured ones) with `cookie`.
pub(super) async fn time(client: &reqwest::Client, url: &str, cookie: &str, n: usize) -> anyhow::Result<PageFigures> {
    let mut ms = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n + 20 {
        let started = Instant::now();
        let resp = client.get(url).header("cookie", cookie).send().await?;
        if !resp.status().is_success() {
            bail!("{url} answered {}", resp.status());
        }
        let body = resp.bytes().await?;
        // The first requests warm the connection and the caches; they are not counted.
        if i >= 20 {
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        bytes = body.len();
    }
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        ms.get(suoja_core::num::floor_usize(((ms.len() as f64 - 1.0) * p).round()))
            .copied()
            .unwrap_or(0.0)
    };
    Ok(PageFigures {
        p50: pct(0.5),
        p95: pct(0.95),
        html_bytes: bytes,
    })
}

/// Signs the agent in through the sign-in form and times the pages.
pub async fn measure(
    base: &str,
    ticket: TicketId,
    custom_view: i64,
    newest_view: i64,
    samples: usize,
    rules: (AutomationFigures, TriggerFigures, TriggerFigures),
) -> anyhow::Result<WebFigures> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let page = client.get(format!("{base}/signin")).send().await?;
    let pre = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no pre-sign-in cookie")?
        .to_string();
    let html = page.text().await?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("no CSRF token on the sign-in page")?
        .to_string();
    let signed = client
        .post(format!("{base}/signin"))
        .header("cookie", &pre)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "agent@example.fi"),
            ("password", AGENT_PASSWORD),
            ("return_to", "/"),
        ])
        .send()
        .await?;
    let session = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("suoja_session="))
        .and_then(|v| v.split(';').next())
        .context("the agent could not sign in")?
        .to_string();
    let baseline = time(&client, &format!("{base}/healthz"), "", samples).await?;
    let ticket = time(&client, &format!("{base}/agent/tickets/{}", ticket.0), &session, samples).await?;
    let view = time(&client, &format!("{base}/agent/views/open"), &session, samples).await?;
    let custom_view = time(&client, &format!("{base}/agent/views/{custom_view}"), &session, samples).await?;
    let newest_view = time(&client, &format!("{base}/agent/views/{newest_view}"), &session, samples).await?;
    let mut asset_bytes = 0;
    for a in ["app.css", "app.js", "icon.svg"] {
        asset_bytes += client.get(format!("{base}/assets/{a}")).send().await?.bytes().await?.len();
    }
    Ok(WebFigures {
        baseline,
        ticket,
        view,
        custom_view,
        newest_view,
        asset_bytes,
        samples,
        automations: rules.0,
        triggers: rules.1,
        slas: rules.2,
    })
}
