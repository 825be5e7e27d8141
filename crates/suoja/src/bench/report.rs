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
        "Reproduce: `cargo run --release -- bench` (add `--pg postgres://user@127.0.0.1:PORT/postgres` for PostgreSQL; `.ci/pg-start` starts one).\n"
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
        let _ = writeln!(s, "\nPeak server RSS: {:.0} MB.", r.rss_kib as f64 / 1024.0);
        let c16 = r.create.iter().find(|(c, _)| *c == 16).map(|(_, st)| st.clone()).unwrap_or_default();
        let b16 = baseline.iter().find(|(c, _)| *c == 16).map(|(_, b)| b.rps).unwrap_or(f64::NAN);
        let search_p50 = r.search.iter().map(|(_, _, st)| st.p50).fold(0.0, f64::max);
        let rss_mb = r.rss_kib as f64 / 1024.0;
        let _ = writeln!(s, "\n### Targets\n\n| target | measured | |\n|---|---|---|");
        let _ = writeln!(
            s,
            "| create-ticket ≥ 50 % of baseline throughput (c=16) | {:.0} % | {} |",
            100.0 * c16.rps / b16,
            verdict(c16.rps / b16 >= 0.5)
        );
        let _ = writeln!(s, "| create-ticket p99 ≤ 25 ms at c=16 | {:.1} ms | {} |", c16.p99, verdict(c16.p99 <= 25.0));
        let _ = writeln!(
            s,
            "| search p50 ≤ 20 ms at {} tickets (worst query) | {:.1} ms | {} |",
            args.tickets,
            search_p50,
            verdict(search_p50 <= 20.0)
        );
        let _ = writeln!(s, "| server RSS ≤ 150 MB | {rss_mb:.0} MB | {} |", verdict(rss_mb <= 150.0));
    }
    s.push_str(NOTES);
    s
}

const NOTES: &str = "
## Reading the figures

- A Suoja ticket creation is several statements in one transaction (the ticket, its first
  comment, its search postings, CC links), each value sealed under the requester's key, plus the
  authentication lookups; the baseline is one plain `INSERT`. On SQLite every statement of a write
  goes through the single writer connection, and sqlx hands each statement to its connection
  thread and back (~100 µs per statement on these machines, `shared/reference/limits.md` §2), so
  the statement count, not the encryption, sets the cost.
- Search answers from the keyed-hash postings table and then filters and sorts the candidates by
  recency; the first page is rendered after decrypting only its tickets.
";
