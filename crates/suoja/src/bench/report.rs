//! Renders `BENCHMARKS.md` from one run's figures.

use std::fmt::Write as _;

use super::load::Stats;
use super::{BenchArgs, EngineResult};

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// The report.
pub fn render(args: &BenchArgs, baseline: &[(usize, Stats)], results: &[EngineResult]) -> String {
    let mut s = String::new();
    let now = {
        use suoja_core::Clock as _;
        suoja_core::clock::SystemClock.now().to_iso()
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `suoja bench` (release build) on {now}, {cores} cores, {} tickets in the database, {} s per point.",
        args.tickets, args.secs
    );
    let _ = writeln!(
        s,
        "Server and load generator share the machine's cores (loopback HTTP, keep-alive, closed loop)."
    );
    let _ = writeln!(
        s,
        "Absolute figures move with the machine's load; the **ratios** against the baseline measured in the same run are the figures to compare.\n"
    );
    let _ = writeln!(
        s,
        "Reproduce: `cargo run --release -- bench` (add `--pg postgres://user@127.0.0.1:PORT/postgres` for PostgreSQL; `.ci/pg-start --durable` starts one).\n"
    );
    let _ = writeln!(
        s,
        "## Baseline\n\nA bare axum handler that parses the same ticket JSON and inserts one row of the same size into SQLite (WAL, `synchronous=NORMAL`, `secure_delete=ON`, one writer connection).\n"
    );
    let _ = writeln!(s, "| concurrency | req/s | p50 ms | p99 ms |\n|---:|---:|---:|---:|");
    for (c, b) in baseline {
        let _ = writeln!(s, "| {c} | {:.0} | {:.2} | {:.2} |", b.rps, b.p50, b.p99);
    }
    for r in results {
        let _ = writeln!(s, "\n## {}\n", r.engine);
        let _ = writeln!(s, "Seeding {} tickets through the library took {:.0} s.\n", args.tickets, r.seed_secs);
        let _ = writeln!(
            s,
            "### Create ticket (`POST /api/v2/tickets`, ~1 KB body)\n\n| concurrency | req/s | p50 ms | p99 ms | ratio to baseline req/s |\n|---:|---:|---:|---:|---:|"
        );
        for (c, st) in &r.create {
            let b = baseline.iter().find(|(bc, _)| bc == c).map(|(_, b)| b.rps).unwrap_or(f64::NAN);
            let _ = writeln!(s, "| {c} | {:.0} | {:.2} | {:.2} | {:.2} |", st.rps, st.p50, st.p99, st.rps / b);
        }
        same_creates(
            &mut s,
            r,
            &r.create_normal,
            "`durable_commits = false` (`synchronous=NORMAL`: synced at checkpoints only), and what syncing every commit costs",
            "durable ÷ not",
        );
        same_creates(
            &mut s,
            r,
            &r.create_sqlx_writer,
            "`sqlite_native_writer = false` (the writer's statements sent one by one to sqlx's SQLite worker thread, as before 2026-12-03), and what running them in place gains",
            "in place ÷ sqlx",
        );
        if !r.create_bytes.is_empty() {
            let what = if r.engine == "sqlite" {
                "written by the server (WAL and database)"
            } else {
                "of WAL"
            };
            let list: Vec<String> = r.create_bytes.iter().map(|(c, b)| format!("{:.1} KB at c={c}", b / 1000.0)).collect();
            let _ = writeln!(s, "\nBytes {what} per created ticket: {}.", list.join(", "));
        }
        if !r.reply.is_empty() {
            let _ = writeln!(
                s,
                "\n### Add a reply (`PUT /api/v2/tickets/{{id}}`, a public comment of 40 words, spread over the tickets)\n\n| concurrency | req/s | p50 ms | p99 ms | ratio to baseline req/s |\n|---:|---:|---:|---:|---:|"
            );
            for (c, st) in &r.reply {
                let b = baseline.iter().find(|(bc, _)| bc == c).map(|(_, b)| b.rps).unwrap_or(f64::NAN);
                let _ = writeln!(s, "| {c} | {:.0} | {:.2} | {:.2} | {:.2} |", st.rps, st.p50, st.p99, st.rps / b);
            }
            if !r.reply_bytes.is_empty() {
                let list: Vec<String> = r.reply_bytes.iter().map(|(c, b)| format!("{:.1} KB at c={c}", b / 1000.0)).collect();
                let _ = writeln!(s, "\nBytes written per reply (as for creates): {}.", list.join(", "));
            }
        }
        if let Some(sh) = &r.show {
            let _ = writeln!(
                s,
                "\n### Show ticket (`GET /api/v2/tickets/{{id}}`, concurrency 16)\n\n{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms.",
                sh.rps, sh.p50, sh.p99
            );
        }
        let _ = writeln!(
            s,
            "\n### Search (`GET /api/v2/search`, first page of 20, concurrency 1)\n\n| query | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|"
        );
        for (label, _, st) in &r.search {
            let _ = writeln!(s, "| {label} | {:.0} | {:.2} | {:.2} |", st.rps, st.p50, st.p99);
        }
        if let Some((n, p50, worst, errors)) = r.hostile {
            let _ = writeln!(
                s,
                "\nHostile queries ({n} kinds, 20 each: empty, only punctuation, 1 000 words, 1 000 tags, a 5 000-letter word, an unclosed quote, unknown properties, a year 99999999, broken UTF-8, NUL, an unknown `sort_by`, a page past the end, five common words at 100 a page): worst p50 {p50:.1} ms, slowest single answer {worst:.1} ms, {errors} server errors."
            );
        }
        let _ = writeln!(s, "\nPeak server RSS: {:.0} MB.", r.rss_kib as f64 / 1024.0);
        if let Some(e) = &r.export {
            let _ = writeln!(
                s,
                "\n### Access export (one person: {} tickets, {} comments, among the other tickets)\n\n| step | ms (best of 3) | ratio to baseline |\n|---|---:|---:|\n| baseline: read the person's comment ciphertext | {:.0} | 1.0 |\n| JSON (graph, decryption, placeholders, serialisation; {:.1} MB) | {:.0} | {:.1} |\n| PDF ({:.1} MB, fonts embedded) | {:.0} | {:.1} |",
                e.tickets,
                e.comments,
                e.baseline_ms,
                e.json_bytes as f64 / 1e6,
                e.json_ms,
                e.json_ms / e.baseline_ms,
                e.pdf_bytes as f64 / 1e6,
                e.pdf_ms,
                e.pdf_ms / e.baseline_ms
            );
        }
        if let Some(e) = &r.erasure {
            s.push_str(&erasure_table(e));
        }
        let at = |c: usize| r.create.iter().find(|(x, _)| *x == c).map(|(_, st)| st.clone()).unwrap_or_default();
        let (c16, c64) = (at(16), at(64));
        let b16 = baseline.iter().find(|(c, _)| *c == 16).map(|(_, b)| b.rps).unwrap_or(f64::NAN);
        let search_p50 = r.search.iter().map(|(_, _, st)| st.p50).fold(0.0, f64::max);
        let search_p99 = r.search.iter().map(|(_, _, st)| st.p99).fold(0.0, f64::max);
        let rss_mb = r.rss_kib as f64 / 1024.0;
        let _ = writeln!(s, "\n### Targets\n\n| target | measured | |\n|---|---|---|");
        if r.engine == "sqlite" {
            let _ = writeln!(
                s,
                "| create-ticket ≥ 5 000 req/s at c=16 | {:.0} req/s ({:.0} % of the baseline) | {} |",
                c16.rps,
                100.0 * c16.rps / b16,
                verdict(c16.rps >= 5000.0)
            );
            let _ = writeln!(s, "| create-ticket p99 ≤ 10 ms at c=16 | {:.1} ms | {} |", c16.p99, verdict(c16.p99 <= 10.0));
            if let Some((_, reply)) = r.reply.iter().find(|(c, _)| *c == 16) {
                let _ = writeln!(
                    s,
                    "| add a reply (40 words) ≥ 5 000 req/s at c=16 | {:.0} req/s, p99 {:.1} ms | {} |",
                    reply.rps,
                    reply.p99,
                    verdict(reply.rps >= 5000.0)
                );
            }
            if let Some((_, normal)) = r.create_normal.iter().find(|(c, _)| *c == 16) {
                let cost = 1.0 - c16.rps / normal.rps;
                // Durable commits measured as fast or faster is the machine's noise, not a gain.
                let said = if cost < 0.005 {
                    "costs nothing measurable".to_string()
                } else {
                    format!("costs {:.0} %", 100.0 * cost)
                };
                let _ = writeln!(
                    s,
                    "| durable commits (each commit synced before it is answered) the default if they cost ≤ 20 % (c=16) | {said} | {} |",
                    verdict(cost <= 0.2)
                );
            }
        } else {
            let _ = writeln!(
                s,
                "| create-ticket ≥ 2 000 req/s at c=64 | {:.0} req/s | {} |",
                c64.rps,
                verdict(c64.rps >= 2000.0)
            );
            let _ = writeln!(s, "| create-ticket p99 ≤ 40 ms at c=64 | {:.1} ms | {} |", c64.p99, verdict(c64.p99 <= 40.0));
        }
        if let Some((_, b)) = r.create_bytes.iter().find(|(c, _)| *c == 16) {
            let _ = writeln!(
                s,
                "| ≤ 20 KB written per created ticket (c=16) | {:.1} KB | {} |",
                b / 1000.0,
                verdict(*b <= 20_000.0)
            );
        }
        let _ = writeln!(
            s,
            "| search p50 ≤ 10 ms, p99 ≤ 50 ms at {} tickets (worst query; the target is at 1 000 000) | p50 {:.1} ms, p99 {:.1} ms | {} |",
            args.tickets,
            search_p50,
            search_p99,
            verdict(search_p50 <= 10.0 && search_p99 <= 50.0)
        );
        if let Some((_, p50, worst, errors)) = r.hostile {
            let _ = writeln!(
                s,
                "| hostile queries: no server error, ≤ 100 ms | {errors} errors, worst p50 {p50:.1} ms, slowest {worst:.1} ms | {} |",
                verdict(errors == 0 && worst <= 100.0)
            );
        }
        let _ = writeln!(s, "| server RSS ≤ 200 MB | {rss_mb:.0} MB | {} |", verdict(rss_mb <= 200.0));
        if let Some(e) = &r.export {
            let _ = writeln!(
                s,
                "| export JSON ≤ 1 s (1 000 tickets, 10 000 comments) | {:.2} s | {} |",
                e.json_ms / 1000.0,
                verdict(e.json_ms <= 1000.0)
            );
            let _ = writeln!(s, "| export PDF ≤ 5 s | {:.2} s | {} |", e.pdf_ms / 1000.0, verdict(e.pdf_ms <= 5000.0));
        }
    }
    s.push_str(NOTES);
    s
}

fn erasure_table(e: &super::erasure::ErasureFigures) -> String {
    let mut s = format!(
        "\n### Erasure (one person: {} tickets, {} comments, in a database of {} tickets)\n\n| step | ms | ratio to baseline |\n|---|---:|---:|\n| baseline: read the person's comment ciphertext | {:.0} | 1.0 |\n| erase: plan, every step, maintenance, read-back ({}) | {:.0} | {:.1} |\n",
        e.tickets,
        e.comments,
        e.db_tickets,
        e.baseline_ms,
        if e.verified { "verified clean" } else { "NOT verified" },
        e.erase_ms,
        e.erase_ms / e.baseline_ms
    );
    if e.dir_bytes > 0 {
        s.push_str(&format!(
            "\nCanary scan of the data directory ({:.0} MB, every encoding): {:.1} s, {:.0} MB/s; a plain read of the same files took {:.1} s (ratio {:.1}); hits of the erased person: {}.\n",
            e.dir_bytes as f64 / 1e6,
            e.scan_ms / 1000.0,
            e.dir_bytes as f64 / 1e6 / (e.scan_ms / 1000.0),
            e.read_ms / 1000.0,
            e.scan_ms / e.read_ms.max(1.0),
            e.hits
        ));
    }
    s.push_str(&format!(
        "\n| target | measured | |\n|---|---|---|\n| erase ≤ 5 s including the read-back | {:.2} s | {} |\n",
        e.erase_ms / 1000.0,
        verdict(e.erase_ms <= 5000.0 && e.verified)
    ));
    if e.dir_bytes > 0 {
        s.push_str(&format!(
            "| canary scan ≤ 60 s | {:.1} s | {} |\n",
            e.scan_ms / 1000.0,
            verdict(e.scan_ms <= 60_000.0 && e.hits == 0)
        ));
    }
    s
}

/// `old` with the section between `start` and `end` replaced by `section` (which begins with
/// `start`), or `section` added at the end when `old` has none.
/// The create-ticket table of a run with one setting changed, with the default's req/s over
/// its own at each concurrency (nothing when it was not run).
fn same_creates(s: &mut String, r: &EngineResult, rows: &[(usize, Stats)], what: &str, ratio: &str) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nThe same with {what}:\n\n| concurrency | req/s | p50 ms | p99 ms | {ratio} |\n|---:|---:|---:|---:|---:|"
    );
    for (c, st) in rows {
        let default = r.create.iter().find(|(dc, _)| dc == c).map(|(_, d)| d.rps).unwrap_or(f64::NAN);
        let _ = writeln!(s, "| {c} | {:.0} | {:.2} | {:.2} | {:.2} |", st.rps, st.p50, st.p99, default / st.rps);
    }
}

/// What a full run keeps of the old report: everything after its notes (the before-and-after
/// write-ups and the sections other modes write), which a full run does not measure.
pub fn kept_sections(old: &str) -> String {
    let Some(notes) = old.find("\n## Reading the figures") else {
        return String::new();
    };
    let after = notes + 1;
    let rest = &old[after..];
    match [rest.find("\n## "), rest.find("\n<!-- ")].into_iter().flatten().min() {
        Some(i) => rest[i..].to_string(),
        None => String::new(),
    }
}

fn splice(old: &str, start: &str, end: &str, mut section: String) -> String {
    section.push_str(end);
    section.push('\n');
    match (old.find(start), old.find(end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &old[..a], section, old[b + end.len()..].trim_start_matches('\n')),
        _ => format!("{}\n{}", old.trim_end(), section),
    }
}

const CLUSTER_START: &str = "<!-- several-nodes:start -->";
const CLUSTER_END: &str = "<!-- several-nodes:end -->";

/// `old` with its section on several nodes replaced by `f` (or added at the end).
pub fn with_cluster_section(old: &str, f: &super::cluster::ClusterFigures) -> String {
    let mut s = format!(
        "{CLUSTER_START}\n## Several nodes (mixed load)\n\nWritten by `suoja bench --cluster-only --tickets {} --pg …` on {}. {} tickets \
         seeded on PostgreSQL ({:.0} s); then one, two and three `suoja serve` nodes on that database, each request sent to the \
         next node in turn. The mix: 5 in 10 show a ticket, 1 searches two common words, 1 lists the newest tickets, 2 add a \
         public reply of 40 words, 1 creates a ticket. After 5 s of warm-up at the first rate (not counted), each rate is offered for {} s **open-loop** (a request leaves when its \
         time comes, answered or not) and latency counts from that time; rates climb by 1.4× until p99 passes 50 ms or a \
         request fails. **The nodes, PostgreSQL and the load generator share the same two cores**, so more nodes add no \
         cores: the figure shows what the nodes cost each other, not how a cluster of machines scales.\n\n\
         | nodes | offered req/s | answered req/s | p50 ms | p99 ms | failed |\n|---:|---:|---:|---:|---:|---:|\n",
        f.tickets,
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso(),
        f.tickets,
        f.seed_secs,
        f.secs,
    );
    for n in &f.by_nodes {
        for p in &n.points {
            s.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.1} | {:.1} | {} |\n",
                n.nodes, p.offered, p.stats.rps, p.stats.p50, p.stats.p99, p.stats.errors
            ));
        }
    }
    s.push_str("\n| nodes | highest rate with p99 ≤ 50 ms and nothing failed | p99 there | peak RSS per node |\n|---:|---:|---:|---|\n");
    for n in &f.by_nodes {
        let rss: Vec<String> = n.rss_mb.iter().map(|m| format!("{m:.0} MB")).collect();
        match n.sustained() {
            Some(p) => s.push_str(&format!(
                "| {} | {:.0} req/s | {:.1} ms | {} |\n",
                n.nodes,
                p.offered,
                p.stats.p99,
                rss.join(", ")
            )),
            None => s.push_str(&format!("| {} | none of the rates tried | — | {} |\n", n.nodes, rss.join(", "))),
        }
    }
    s.push_str(
        "\nThe rates are 1.4× apart, so each node count's limit lies between its last two rates. The target (p99 ≤ 50 ms at \
         1 000 000 tickets on three nodes, at the highest rate the machine sustains) is measured here at the `--tickets` given.\n",
    );
    match &f.soak {
        Some(soak) => {
            s.push_str(&format!(
                "\n### Soak: three nodes at {:.0} req/s (four fifths of their highest rate) for {} s\n\n\
                 Sampled every 30 s: each node's resident memory now, the database's connections now (every node's pools and this \
                 question), and the load of the 30 s before.\n\n| at s | RSS per node, MB | connections | answered req/s | p50 ms | p99 ms | failed |\n|---:|---|---:|---:|---:|---:|---:|\n",
                soak.rate,
                soak.samples.last().map_or(0, |x| x.at_secs),
            ));
            for x in &soak.samples {
                let rss: Vec<String> = x.rss_mb.iter().map(|m| format!("{m:.0}")).collect();
                s.push_str(&format!(
                    "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {} |\n",
                    x.at_secs,
                    rss.join(", "),
                    x.connections,
                    x.stats.rps,
                    x.stats.p50,
                    x.stats.p99,
                    x.stats.errors
                ));
            }
        }
        None => s.push_str("\nNo soak in this run (`--soak-secs`).\n"),
    }
    splice(old, CLUSTER_START, CLUSTER_END, s)
}

const ERASURE_START: &str = "<!-- erasure-at-scale:start -->";
const ERASURE_END: &str = "<!-- erasure-at-scale:end -->";

/// `old` with its erasure-at-scale section replaced by these results (or added at the end).
pub fn with_erasure_section(old: &str, args: &BenchArgs, results: &[EngineResult]) -> String {
    let mut section = format!(
        "{ERASURE_START}\n## Erasure at {} tickets\n\nWritten by `suoja bench --erasure-only --tickets {}` on {}. The database is seeded as above, then the person is erased through the library.\n",
        args.tickets,
        args.tickets,
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso()
    );
    for r in results {
        section.push_str(&format!("\n### {} (seeded in {:.0} s)\n", r.engine, r.seed_secs));
        if let Some(e) = &r.erasure {
            section.push_str(&erasure_table(e));
        }
    }
    splice(old, ERASURE_START, ERASURE_END, section)
}

const BACKUP_START: &str = "<!-- backup-at-scale:start -->";
const BACKUP_END: &str = "<!-- backup-at-scale:end -->";

fn backup_table(b: &super::backup::BackupFigures) -> String {
    let r = &b.restore_secs;
    format!(
        "\n| step | s | MB/s (data directory {:.0} MB) | ratio to the plain copy |\n|---|---:|---:|---:|\n\
         | baseline: plain copy of the data directory | {:.1} | {:.0} | 1.0 |\n\
         | `suoja backup` (snapshot, search index left out, encrypted; {:.0} MB written) | {:.1} | {:.0} | {:.2} |\n\
         | `suoja restore`: decrypt and check | {:.1} | | |\n\
         | `suoja restore`: records and keys into place | {:.1} | | |\n\
         | `suoja restore`: erasure-ledger replay | {:.1} | | |\n\
         | `suoja restore` up to here (what the search index does not need) | {:.1} | {:.0} | {:.2} |\n\
         | `suoja restore`: search index rebuilt from the records | {:.1} | | |\n\
         \n| show-ticket, 4 concurrent clients | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|\n\
         | idle | {:.0} | {:.2} | {:.2} | {} |\n\
         | while `suoja backup` runs (req/s: mean; p50, p99: worst 2-second slice) | {:.0} | {:.2} | {:.2} | {} |\n",
        b.dir_bytes as f64 / 1e6,
        b.copy_secs,
        b.copy_mb_s(),
        b.backup_bytes as f64 / 1e6,
        b.backup_secs,
        b.backup_mb_s(),
        b.backup_mb_s() / b.copy_mb_s(),
        r[0],
        r[1],
        r[2],
        r[0] + r[1] + r[2],
        b.restore_mb_s(),
        b.restore_mb_s() / b.copy_mb_s(),
        r[3],
        b.idle.rps,
        b.idle.p50,
        b.idle.p99,
        b.idle.errors,
        b.during.rps,
        b.during.p50,
        b.during.p99,
        b.during.errors,
    )
}

/// `old` with its backup section (between the markers) replaced by these results.
pub fn with_backup_section(old: &str, args: &BenchArgs, results: &[EngineResult]) -> String {
    let mut section = format!(
        "{BACKUP_START}\n## Backup and restore at {} tickets\n\nWritten by `suoja bench --backup-only --tickets {}` on {}. The SQLite database is seeded as above; a server runs on it while `suoja backup` runs in another process; the restore goes into an empty data directory.\n",
        args.tickets,
        args.tickets,
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso()
    );
    for r in results {
        section.push_str(&format!("\n### {} (seeded in {:.0} s)\n", r.engine, r.seed_secs));
        if let Some(b) = &r.backup {
            section.push_str(&backup_table(b));
        }
    }
    splice(old, BACKUP_START, BACKUP_END, section)
}

const WEB_START: &str = "<!-- web-pages:start -->";
const WEB_END: &str = "<!-- web-pages:end -->";

fn web_table(w: &super::web::WebFigures) -> String {
    let row = |name: &str, p: &super::web::PageFigures, target: &str| {
        format!(
            "| {name} | {:.2} | {:.2} | {:.1} | {:.1} | {} | {:.0} | {target} |\n",
            p.p50,
            p.p95,
            p.p50 / w.baseline.p50.max(0.001),
            (p.html_bytes + w.asset_bytes) as f64 / 1024.0,
            p.html_bytes,
            p.p95 - w.baseline.p95,
        )
    };
    let mut t = format!(
        "\n| page | p50 ms | p95 ms | p50 ratio to the baseline | page weight KB (HTML + CSS + JS + icon) | HTML bytes | p95 minus baseline p95, ms | target |\n|---|---:|---:|---:|---:|---:|---:|---|\n\
         | baseline: `GET /healthz` on the same server | {:.2} | {:.2} | 1.0 | | {} | 0 | |\n",
        w.baseline.p50, w.baseline.p95, w.baseline.html_bytes
    );
    t.push_str(&row("agent ticket page, 100 comments", &w.ticket, "≤ 30 ms server time, ≤ 150 KB"));
    t.push_str(&row("agent view \"all open tickets\", 50 rows", &w.view, "≤ 20 ms server time, ≤ 150 KB"));
    t.push_str(&row(
        "agent view an admin wrote: unsolved, and urgent or tagged vip",
        &w.custom_view,
        "p50 ≤ 10 ms at 1 000 000 tickets",
    ));
    t.push_str(&row(
        "agent view an admin wrote: every unsolved ticket, newest first (by creation time)",
        &w.newest_view,
        "p50 ≤ 10 ms at 1 000 000 tickets",
    ));
    let a = &w.automations;
    t.push_str(&format!(
        "\nThe hourly automation pass, in-process: {:.0} ms with Zendesk's default alone (nothing solved, nothing to change: the cost of looking); {:.0} ms with an automation that finds the urgent tickets and tags them ({} changed, a ticket per transaction, ratio {:.1} to the default alone; {:.2} ms per changed ticket).\n",
        a.baseline_ms,
        a.pass_ms,
        a.changed,
        a.pass_ms / a.baseline_ms.max(0.001),
        if a.changed > 0 { (a.pass_ms - a.baseline_ms) / a.changed as f64 } else { 0.0 }
    ));
    t.push_str(&format!(
        "Meanwhile an agent updated a ticket of their own (a priority change and an internal note, every 20 ms): {} updates during the pass, p50 {:.2} ms, p99 {:.2} ms, slowest {:.0} ms, against p50 {:.2} ms and p99 {:.2} ms with nothing else running (p50 ratio {:.1}).\n",
        a.writes_during_ms.3,
        a.writes_during_ms.0,
        a.writes_during_ms.1,
        a.writes_during_ms.2,
        a.writes_alone_ms.0,
        a.writes_alone_ms.1,
        a.writes_during_ms.0 / a.writes_alone_ms.0.max(0.001)
    ));
    let tr = &w.triggers;
    t.push_str(&format!(
        "\nA ticket update (a priority change and an internal note, in-process, {} samples each): p50 {:.2} ms (p95 {:.2}) with the four default notification triggers; p50 {:.2} ms (p95 {:.2}) with 100 more active triggers, ten of which hold and tag the ticket: **{:+.2} ms** p50 (target: ≤ 1 ms with 100 active triggers).\n",
        tr.samples,
        tr.baseline_p50_ms,
        tr.baseline_p95_ms,
        tr.with_p50_ms,
        tr.with_p95_ms,
        tr.with_p50_ms - tr.baseline_p50_ms
    ));
    let sl = &w.slas;
    t.push_str(&format!(
        "\nThe same update with ten SLA policies (the tenth applies: business-hours and calendar targets on a schedule with holidays; the ticket's history grows to ~300 comments and audits), {} samples each: p50 {:.2} ms (p95 {:.2}) without; p50 {:.2} ms (p95 {:.2}) with: **{:+.2} ms** p50 to test the filters, measure the clocks from the ticket's history and keep its next breach.\n",
        sl.samples,
        sl.baseline_p50_ms,
        sl.baseline_p95_ms,
        sl.with_p50_ms,
        sl.with_p95_ms,
        sl.with_p50_ms - sl.baseline_p50_ms
    ));
    t.push_str(&format!("\nAssets (every page, cached by the browser for an hour): {} bytes. Timed one request at a time, {} samples per page after 20 warm-up requests, signed in as an agent through the sign-in form.\n", w.asset_bytes, w.samples));
    t
}

/// `old` with its web-pages section (between the markers) replaced by these results.
pub fn with_web_section(old: &str, args: &BenchArgs, results: &[EngineResult]) -> String {
    let mut section = format!(
        "{WEB_START}\n## Web pages\n\nWritten by `suoja bench --web-only --tickets {}` on {}. A server runs on a database seeded as above plus one ticket with 100 comments (one in five an internal note), then vacuumed and analysed (PostgreSQL); each page is requested over loopback, one at a time, and compared with `GET /healthz` on the same server in the same run, so the ratio and the difference are the page's own cost.\n",
        args.tickets,
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso()
    );
    for r in results {
        section.push_str(&format!("\n### {} (seeded in {:.0} s)\n", r.engine, r.seed_secs));
        if let Some(w) = &r.web {
            section.push_str(&web_table(w));
        }
    }
    section.push_str(
        "\nFound by measuring (first version, same data): the view took 51 ms on SQLite. Its five counts and its page each \
         read the wide ticket rows, and the recently-solved count went through the updated-at index, which every recent ticket \
         matches (18 ms alone). An index over the views' columns (status, assignee, update time, trash and restriction flags), \
         one pass for the four unsolved counts, recently solved by closing time, and the requester's latest tickets from a \
         (requester, update time) index took it to 7 ms; the ticket page went from 16 to 4 ms. On PostgreSQL the first figures \
         (44 and 66 ms) were mostly autovacuum working through the freshly seeded tables on the same two cores, hence the \
         `VACUUM ANALYZE` before timing.\n",
    );
    splice(old, WEB_START, WEB_END, section)
}

const NOTES: &str = "
## Reading the figures

- **Create ticket** is one transaction holding the ticket, its first comment (each value sealed
  under the requester's key) and the ticket's row in the search index. The index is one row per
  document: on SQLite an FTS5 table whose words are the keyed token hashes (FTS5 buffers a
  transaction's entries and writes them as one segment, merging segments later), on PostgreSQL
  `bigint[]` columns under GIN indexes. Until 2026-12-02 it was one B-tree row per distinct word
  (about 60 per ticket), which dirtied dozens of index pages per commit; with indexing switched
  off, a throwaway build then reached 1 021 req/s at c=16 against 220 with it. On SQLite,
  requests writing at the same time share one transaction and one commit (group commit, each
  request in a savepoint), so syncing every commit (`durable_commits`, the default) costs about
  what it saves; without group commit it halved throughput. Each request holds the one writer
  for all of its statements (about twelve). Since 2026-12-03 they run in place on a `rusqlite`
  connection instead of being handed one by one to sqlx's SQLite worker thread (about 100 µs
  each way); the table with `sqlite_native_writer = false` is the old path. Timed inside the
  writer on a 5 000-ticket run at c=16 (a throwaway instrumented build): a request holds the
  writer ~310 µs, ~240 µs of it in SQLite (the ticket row 61 µs, the comment 53 µs, two tag
  rows 22 µs each, the index row 33 µs, two user reads 14 µs each, savepoint and release
  36 µs); each shared `COMMIT` takes ~1 ms (writing the dirty pages to the WAL, and FTS5
  flushing the index: FTS5 writes its pending terms as a new segment at every savepoint, so
  one segment per request rather than per commit, until a new ticket's index row began to wait
  for the batch's commit, 2026-12-07 at midnight) and carried ~2.5 requests. With a third of
  the two cores idle meanwhile, the writer is the bottleneck: creates are bounded by ~310 µs +
  a share of the commit per request.
- **Add a reply** is one transaction that locks and reads the ticket, seals the comment under
  its writer's key, runs the triggers, writes the audit, keeps the SLA clock, and adds the
  comment's new words to the ticket's index entry. On SQLite each document's words are a row of
  `search_index_docs` that the FTS5 table indexes as external content: a reply updates that row
  and gives FTS5 only the words the ticket did not hold yet (a change that removes words tells
  FTS5's `delete` command exactly which), so each (word, ticket) entry exists once and an
  erasure's secure delete still finds every one. Until 2026-12-05 (night) a reply deleted and
  re-inserted the ticket's whole entry, and with `secure-delete` on that rewrote an index page
  for each word the ticket already held: modelled apart (100 000 documents of ~60 tokens, 40
  more a change, 16 changes a commit), 478 changes/s and 171 KB of log a change that way,
  ~2 900/s and 22 KB this way. What a reply still writes is its own rows (comment, audit, ticket,
  SLA clocks, outbox) and their indexes, each on a page of its own. PostgreSQL updates the
  ticket's arrays under their GIN indexes.
- **Search**: without `sort_by` tickets are ranked by relevance, one formula on both engines
  (a query word counts 2 in the public text and 1 in the internal, over the log of
  the ticket's length), over the 1 000 newest matches (as far as pages reach); the ranked ids
  are then checked against the other filters by primary key, best first, a page at a time. An
  end user's order uses only what they read. With `sort_by`, a query matching at most 1 000
  tickets sorts them; one matching more walks the tickets in that order, testing each against
  the index, and stops at the page. `count` in `/search` stops at 1 000 (where paging stops),
  driven by the index's matches; `/search/count` counts everything. The time per result (~1 ms
  at 100 a page) is opening each ticket (decryption, people), not the index.
- **Seeding** goes through the same services in transactions of 1 000 tickets.
- **Access export**: the exported person is seeded after the suite's tickets (1 000 tickets, nine
  more comments on each, some by the person, some internal notes), and the export runs through the
  library as `suoja export` and the API do: the subject graph from the data map, decryption of
  every sealed value, third-party placeholders, the Art. 15 section, the ledger entry, then JSON
  or the PDF (laid out by Suoja, DejaVu Sans embedded whole, content streams compressed). The
  baseline reads the same comments' ciphertext in one query without opening anything. The first
  measurement (1.2 s for JSON at 100 000 tickets) was dominated by table scans: the graph follows
  every subject link of the data map, and `tickets.submitter_id`, `attachments.uploader_id` and
  `attachments.ticket_id` had no index; with them it is 0.4 s (both engines). The PDF's
  first version measured every candidate line from scratch (5.7 s); lines are now measured
  incrementally with glyph metrics looked up once.
";

const PRECISION_START: &str = "<!-- precision:start -->";
const PRECISION_END: &str = "<!-- precision:end -->";

/// `old` with its precision section replaced by these figures (or added at the end).
pub fn with_precision_section(old: &str, m: &super::precision::MatcherFigures, searches: &[super::precision::SearchFigures]) -> String {
    let ratio = |ms: f64| if m.baseline_ms > 0.0 { ms / m.baseline_ms } else { 0.0 };
    let mut s = format!(
        "{PRECISION_START}\n## Precision\n\nWritten by `suoja bench --precision-only` on {}.\n\n\
         ### Identifier matcher ({} comments of ~2 KB, {:.1} MB; the person's full name, address and number written several ways)\n\n\
         | what | ms | MB/s | ratio to `str::replace` |\n|---|---:|---:|---:|\n\
         | baseline: `str::replace` of the full name | {:.0} | {:.0} | 1.0 |\n\
         | matcher, strong matches replaced ({} replaced) | {:.0} | {:.0} | {:.1} |\n\
         | matcher, weak matches replaced too | {:.0} | {:.0} | {:.1} |\n\
         | matcher, the same text read as HTML | {:.0} | {:.0} | {:.1} |\n\
         \nThese comments are full of traps (\"channel\", \"annual\", \"leeway\", \"Ann\" alone), so every one is segmented into words. \
         Over 10 000 comments of the same size that hold none of the person's name words, no `@` and no digit — most of a helpdesk — \
         the matcher rules each text out before segmenting it: {:.0} ms against {:.0} ms for `str::replace` (ratio {:.1}).\n",
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso(),
        m.comments,
        m.bytes as f64 / 1e6,
        m.baseline_ms,
        mbps(m.bytes, m.baseline_ms),
        m.replaced,
        m.strong_ms,
        mbps(m.bytes, m.strong_ms),
        ratio(m.strong_ms),
        m.weak_ms,
        mbps(m.bytes, m.weak_ms),
        ratio(m.weak_ms),
        m.html_ms,
        mbps(m.bytes, m.html_ms),
        ratio(m.html_ms),
        m.absent_ms,
        m.absent_baseline_ms,
        if m.absent_baseline_ms > 0.0 {
            m.absent_ms / m.absent_baseline_ms
        } else {
            0.0
        },
    );
    s.push_str(
        "\n### End-user search (an end user with 1 000 tickets, each with a public reply and an internal note; first page of 20, p50 of 15)\n\n\
         Words only internal notes hold must not find or count a ticket for an end user. The index holds \
         each ticket's words together, so the end user's tickets it finds are checked against their \
         subject and public comments (filter after matching) instead of indexing public and internal \
         text apart, which would write every public word twice on the create path.\n\n\
         | engine | agent's search | end user's search | end user, word only in notes (no result) | ratio end user / agent |\n|---|---:|---:|---:|---:|\n",
    );
    for f in searches {
        let r = if f.staff_ms > 0.0 { f.end_user_ms / f.staff_ms } else { 0.0 };
        s.push_str(&format!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} |\n",
            f.engine, f.staff_ms, f.end_user_ms, f.notes_only_ms, r
        ));
    }
    splice(old, PRECISION_START, PRECISION_END, s)
}

fn mbps(bytes: usize, ms: f64) -> f64 {
    if ms > 0.0 { bytes as f64 / 1e6 / (ms / 1000.0) } else { 0.0 }
}

const MAIL_START: &str = "<!-- mail:start -->";
const MAIL_END: &str = "<!-- mail:end -->";

/// `old` with its mail section replaced by these figures (or added at the end).
pub fn with_mail_section(old: &str, figures: &[super::mail::MailFigures]) -> String {
    let mut s = format!(
        "{MAIL_START}\n## E-mail\n\nWritten by `suoja bench --mail-only` on {}. Inbound: each message (~10 KB of text and a 100 KB \
         attachment, from 50 senders) read, its sender found or created, a ticket with its comment and file, the sealed original, \
         its thread entry and the acknowledgement queued, one transaction each, through the library: one at a time, as \
         `suoja mail deliver` stores them, and four side by side, as an IMAP pass stores them (their commits share a sync to \
         disk); half the messages each way, times scaled to all of them. The baseline stores the same bytes as one row each, \
         one transaction each, in the same database, the same two ways (best of two).\n\n\
         | engine | stored | messages | KB each | baseline ms | import ms | messages/s | ratio to baseline | target |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n",
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso(),
    );
    let per_sec = |n: usize, ms: f64| if ms > 0.0 { n as f64 / (ms / 1000.0) } else { 0.0 };
    for f in figures {
        for (how, baseline, import) in [
            ("one at a time", f.baseline_ms, f.import_ms),
            ("4 side by side", f.baseline_side_ms, f.import_side_ms),
        ] {
            let rate = per_sec(f.messages, import);
            s.push_str(&format!(
                "| {} | {how} | {} | {} | {:.0} | {:.0} | {:.0} | {:.1} | ≥ 200/s on SQLite: {} |\n",
                f.engine,
                f.messages,
                f.message_bytes / 1024,
                baseline,
                import,
                rate,
                if baseline > 0.0 { import / baseline } else { 0.0 },
                if f.engine != "sqlite" {
                    "—"
                } else if rate >= 200.0 {
                    "met"
                } else {
                    "**missed**"
                }
            ));
        }
    }
    if figures.iter().any(|f| f.outbound.is_some()) {
        s.push_str(
            "\nOutbound, with Postfix and Dovecot on loopback (`.ci/mail-start`): the acknowledgements the import queued, handed to \
             Postfix by the sender (claimed in batches, opened, sent, marked sent without their body); and the time from a public \
             reply's commit to the message in the requester's Dovecot mailbox, with the server's own mail loop sending \
             (it looks at the outbox every 500 ms), 40 replies one at a time.\n\n\
             The baseline hands as many messages of the same size straight to Postfix, 20 at a time over the same pooled \
             connections: what the mail server takes on this machine.\n\n\
             | engine | handed to SMTP | baseline ms | ms | messages/s | ratio to baseline | target | reply to mailbox p50 ms | p99 ms | target |\n|---|---:|---:|---:|---:|---:|---|---:|---:|---|\n",
        );
        for f in figures {
            if let (Some((n, ms)), Some((_, p50, p99))) = (f.outbound, f.latency) {
                let rate = per_sec(n, ms);
                s.push_str(&format!(
                    "| {} | {n} | {:.0} | {ms:.0} | {rate:.0} | {:.1} | ≥ 200/s: {} | {p50:.0} | {p99:.0} | p99 ≤ 2 s: {} |\n",
                    f.engine,
                    f.outbound_baseline_ms,
                    if f.outbound_baseline_ms > 0.0 { ms / f.outbound_baseline_ms } else { 0.0 },
                    if rate >= 200.0 { "met" } else { "**missed**" },
                    if p99 <= 2000.0 { "met" } else { "**missed**" }
                ));
            }
        }
    } else {
        s.push_str("\nOutbound was not measured in this run (no mail servers: set `SUOJA_TEST_MAIL` from `.ci/mail-start`).\n");
    }
    splice(old, MAIL_START, MAIL_END, s)
}

const HC_START: &str = "<!-- help-center:start -->";
const HC_END: &str = "<!-- help-center:end -->";

/// `old` with its help center section replaced by `figures` (or added at the end).
pub fn with_hc_section(old: &str, figures: &[super::help_center::HcFigures]) -> String {
    let mut s = format!(
        "{HC_START}\n## Help center and community pages\n\nWritten by `suoja bench --hc-only` on {}. Signed out, one request at a \
         time over loopback, after 20 unmeasured requests; the baseline is `GET /healthz` on the same server. Articles are \
         created through the library (sealed, sanitised, indexed); posts are written in batches through the store, each \
         sealed under its author's key; the article and the post each carry 50 comments; the topic page lists the newest 30 \
         of its posts; the search is for a word in 1 % of the articles.\n\n\
         | engine | articles | posts | seeded in s | page | p50 ms | p95 ms | KB | p50 ÷ baseline | target p50 ≤ 10 ms |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---|\n",
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso(),
    );
    for f in figures {
        for (name, p, target) in [
            ("`/healthz` (baseline)", &f.baseline, false),
            ("home `/hc`", &f.home, false),
            ("article, 50 comments", &f.article, true),
            ("topic, newest 30 posts", &f.topic, true),
            ("post, 50 comments", &f.post, false),
            ("article search", &f.search, true),
        ] {
            let ratio = if f.baseline.p50 > 0.0 { p.p50 / f.baseline.p50 } else { 0.0 };
            let verdict = if !target {
                "—".to_string()
            } else if p.p50 <= 10.0 {
                "met".to_string()
            } else {
                "**missed**".to_string()
            };
            s.push_str(&format!(
                "| {} | {} | {} | {:.0} | {name} | {:.2} | {:.2} | {:.1} | {:.1} | {verdict} |\n",
                f.engine,
                f.articles,
                f.posts,
                f.seed_secs,
                p.p50,
                p.p95,
                p.html_bytes as f64 / 1024.0,
                ratio
            ));
        }
    }
    s.push_str(
        "\nExport and erasure of a person with 1 000 posts and 1 000 comments on others' posts, through the library \
         (targets as for tickets: JSON ≤ 1 s, PDF ≤ 5 s, erasure with its read-back ≤ 5 s). The export has no \
         request, so it does not search others' text; the inspection does (every post and comment of the others, \
         opened and matched), as an access request's mention search and the erasure's plan do:\n\n\
         | engine | export JSON ms | export PDF ms | inspection ms | erasure ms | read back clean |\n|---|---:|---:|---:|---:|---|\n",
    );
    for f in figures {
        s.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {} |\n",
            f.engine,
            f.export_json_ms,
            f.export_pdf_ms,
            f.inspect_ms,
            f.erase_ms,
            if f.erase_verified { "yes" } else { "**no**" }
        ));
    }
    s.push('\n');
    splice(old, HC_START, HC_END, s)
}

const IMPORT_START: &str = "<!-- import:start -->";
const IMPORT_END: &str = "<!-- import:end -->";

/// `old` with its section on imports from another helpdesk replaced by `figures` (or added at
/// the end).
pub fn with_import_section(old: &str, figures: &[super::import::ImportFigures]) -> String {
    let parallel = super::import::PARALLEL;
    let mut s = format!(
        "{IMPORT_START}\n## Moving in from another helpdesk\n\nWritten by `suoja bench --import-only` on {}. A source installation \
         (SQLite, served by `suoja serve` on loopback) holds 205 people and the tickets below, each with five comments of 40 words \
         (the requester's, an agent's reply, the requester's answer, an internal note, a reply). `suoja import zendesk \
         --parallel {parallel}` brings the whole tenant into a fresh installation, timed from start to end: the incremental exports, \
         each ticket's comments ({parallel} requests at once), every record sealed, indexed, audited and mapped. The baseline reads \
         exactly the same pages the same way and writes nothing. Source, import and destination share the same two cores. \
         \"writing\" and \"waiting\" are the import's own account of its tickets stage: time spent writing, and time spent \
         waiting for the source (reading runs ahead while tickets are written).\n\n\
         | into | tickets | comments each | reading alone s | import s | writing s | waiting s | tickets/s | ratio to reading | target |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso(),
    );
    for f in figures {
        let rate = if f.import_secs > 0.0 { f.tickets as f64 / f.import_secs } else { 0.0 };
        let (writing, waiting) = match f.split {
            Some((w, r)) => (format!("{w:.1}"), format!("{r:.1}")),
            None => ("–".into(), "–".into()),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {writing} | {waiting} | {:.0} | {:.2} | ≥ 1 000/s: {} |\n",
            f.engine,
            f.tickets,
            f.comments,
            f.read_secs,
            f.import_secs,
            rate,
            if f.read_secs > 0.0 { f.import_secs / f.read_secs } else { 0.0 },
            if rate >= 1000.0 { "met" } else { "**missed**" }
        ));
    }
    if let Some(f) = figures.first()
        && f.seed_secs > 0.0
    {
        s.push_str(&format!(
            "\nSeeding the source through the library (`import_conversations`, SQLite, batches of 500 tickets of five comments): \
             {} tickets in {:.1} s, {:.0} tickets/s.\n",
            f.tickets,
            f.seed_secs,
            f.tickets as f64 / f.seed_secs
        ));
    }
    s.push_str(
        "\nHow a batch is written: the import reads a hundred tickets with their comments, hands out their ticket and comment \
         ids ahead, seals and indexes them in memory (the people, form and fields they name read once), and writes tickets, \
         comments, audits, tag rows, index entries and the import's map in a handful of multi-row statements — on PostgreSQL \
         as two transactions at once, each a task of its own — while the next hundred are read (and on PostgreSQL sealed). Before this \
         (2026-12-05) a ticket of five comments cost about 38 statements, each a round trip, and PostgreSQL brought 411 \
         tickets/s over (SQLite 1 077/s). What remains on PostgreSQL is mostly the search index: each document's tokens go into \
         two GIN indexes kept without a pending list (so an erased document leaves nothing behind there), about half of \
         PostgreSQL's time in the import, and the WAL those inserts write. With both engines the source, sharing the same two \
         cores, is what the import waits for most.\n",
    );
    splice(old, IMPORT_START, IMPORT_END, s)
}

const BLOBS_START: &str = "<!-- file-store:start -->";
const BLOBS_END: &str = "<!-- file-store:end -->";

/// `old` with its section on where files are kept replaced by `figures` (or added at the end).
pub fn with_blobs_section(old: &str, figures: &[super::blobs::BlobFigures]) -> String {
    let mut s = format!(
        "{BLOBS_START}\n## Where files are kept\n\nWritten by `suoja bench --blobs-only` on {}. A fresh installation per row, \
         served by `suoja serve`: uploads (`POST /api/v2/uploads`, 256 KB of random bytes each, eight at once) and then downloads of \
         them (`GET /api/v2/attachments/{{id}}/content`, eight at once), each for the same time. Every file is sealed either way; \
         the baseline is the same engine keeping files in the database. The S3 server is s3s-fs on loopback (files on the same \
         disk), so its row is what the protocol costs, not a network.\n\n\
         | engine | files kept in | uploads/s | p50 ms | p99 ms | ratio to database | downloads/s | p50 ms | p99 ms | ratio to database |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        suoja_core::Clock::now(&suoja_core::clock::SystemClock).to_iso(),
    );
    for f in figures {
        let base = figures.iter().find(|b| b.engine == f.engine && b.store == "database");
        let ratio = |x: f64, b: Option<f64>| match b {
            Some(b) if b > 0.0 => format!("{:.2}", x / b),
            _ => "–".into(),
        };
        s.push_str(&format!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {} | {:.0} | {:.1} | {:.1} | {} |\n",
            f.engine,
            f.store,
            f.up.rps,
            f.up.p50,
            f.up.p99,
            ratio(f.up.rps, base.map(|b| b.up.rps)),
            f.down.rps,
            f.down.p50,
            f.down.p99,
            ratio(f.down.rps, base.map(|b| b.down.rps)),
        ));
    }
    s.push_str(
        "\nThe S3 rows' downloads measure the test server more than Suoja: s3s-fs answers a GET on a connection kept alive \
         about 40 ms late (curl shows the same, 5 ms on a new connection and 43 ms on a reused one: the delay of an \
         acknowledgement the server waits for), and object_store keeps its connections alive. Uploads are not held up.\n",
    );
    splice(old, BLOBS_START, BLOBS_END, s)
}

#[cfg(test)]
mod tests {
    /// A full run keeps the write-ups after the notes and the sections other modes wrote.
    #[test]
    fn a_full_run_keeps_what_it_does_not_measure() {
        let old = "# Benchmarks\n\n## sqlite\nold figures\n\n## Reading the figures\n\n- notes\n\n<!-- mail:start -->\n## E-mail\nmail\n<!-- mail:end -->\n";
        assert_eq!(super::kept_sections(old), "\n<!-- mail:start -->\n## E-mail\nmail\n<!-- mail:end -->\n");
        let old = "# Benchmarks\n\n## Reading the figures\n\n- notes\n\n## Before and after\ntext\n";
        assert_eq!(super::kept_sections(old), "\n## Before and after\ntext\n");
        assert_eq!(super::kept_sections("# Benchmarks\n"), "");
    }
}
