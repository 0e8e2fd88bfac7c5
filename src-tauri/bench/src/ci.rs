//! 1. Call Interactive reply latency under an open-loop fixed rate, side by side with the
//!    floor and the peers (A/B rounds in rotating order, medians over rounds), and a ramp to
//!    find each server's ceiling.
//! 2. JSON webhook ingest into our listener + the real history store.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::loadgen::{self, Check, LoadResult, LoadSpec, MakeRequest};
use crate::procmem::OthersCpu;
use crate::rules;
use crate::servers::{self, Paths, Server, SinkKind};
use crate::stats::Summary;
use crate::table::{fmt_ms, fmt_rate, Row, Verdict};
use crate::Section;

pub use crate::ingest::{run_ingest, IngestOptions};
pub use crate::ramp::ceiling;
pub(crate) use crate::ramp::ramp_step;

#[derive(Debug, Clone)]
pub struct CiOptions {
    pub rate: f64,
    pub secs: f64,
    pub rounds: usize,
    pub warmup_secs: f64,
    pub connections: usize,
    /// Rates tried in the ceiling search, ascending.
    pub ramp_rates: Vec<f64>,
    pub ramp_secs: f64,
    /// A ramp step passes while p99 stays at or under this (and errors ≤ 0.1 %, ≥ 95 % of the
    /// offered rate answered).
    pub ramp_p99_ms: f64,
    /// Also measure our listener storing every step into the real history.
    pub with_history: bool,
    /// Also measure the listener with `ivr_store = "before_reply"` (the reply waits for the
    /// durable commit), an information row; `--compare-store`.
    pub compare_store: bool,
    /// Include the Node and Python peers.
    pub peers: bool,
}

impl Default for CiOptions {
    fn default() -> Self {
        CiOptions {
            rate: 1000.0,
            // 30 s at the fixed rate per server in all, in three alternating rounds.
            secs: 10.0,
            rounds: 3,
            warmup_secs: 2.0,
            connections: 32,
            ramp_rates: vec![
                1_000.0, 2_000.0, 4_000.0, 6_000.0, 8_000.0, 12_000.0, 16_000.0, 24_000.0, 32_000.0,
            ],
            ramp_secs: 3.0,
            ramp_p99_ms: 20.0,
            with_history: true,
            compare_store: false,
            peers: true,
        }
    }
}

/// One measured run of one server.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) summary: Summary,
    pub(crate) errors: u64,
    pub(crate) error_text: String,
    pub(crate) scheduled: u64,
    pub(crate) achieved: f64,
    /// CPU the rest of the machine used during the run, % of one core.
    pub(crate) others_cpu: f64,
}

impl Run {
    pub(crate) fn of(r: &LoadResult, others_cpu: f64) -> Run {
        Run {
            summary: r.latencies.summary(),
            errors: r.error_count(),
            error_text: r.describe_errors(),
            scheduled: r.scheduled,
            achieved: r.achieved_rate(),
            others_cpu,
        }
    }

    /// Whether a ramp step held: few errors, the offered rate answered, p99 under the limit.
    pub(crate) fn holds(&self, rate: f64, p99_limit_ms: f64) -> bool {
        step_holds(self, rate, p99_limit_ms)
    }
}

pub(crate) fn step_holds(r: &Run, rate: f64, p99_limit_ms: f64) -> bool {
    let error_ok = (r.errors as f64) <= (r.scheduled as f64 * 0.001).max(0.0);
    let rate_ok = r.achieved >= rate * 0.95;
    error_ok && rate_ok && r.summary.p99 <= p99_limit_ms && r.summary.count > 0
}

/// Medians of several rounds of one server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Combined {
    pub(crate) summary: Summary,
    pub(crate) errors: u64,
    pub(crate) scheduled: u64,
    pub(crate) achieved: f64,
    pub(crate) error_text: Vec<String>,
    pub(crate) others_cpu: f64,
}

pub(crate) fn combine(runs: &[Run]) -> Combined {
    let summaries: Vec<Summary> = runs.iter().map(|r| r.summary).collect();
    Combined {
        summary: Summary::median_of(&summaries),
        errors: runs.iter().map(|r| r.errors).sum(),
        scheduled: runs.iter().map(|r| r.scheduled).sum(),
        achieved: crate::stats::median(&runs.iter().map(|r| r.achieved).collect::<Vec<_>>())
            .unwrap_or(0.0),
        error_text: runs
            .iter()
            .filter(|r| r.errors > 0)
            .map(|r| r.error_text.clone())
            .collect(),
        others_cpu: crate::stats::median(&runs.iter().map(|r| r.others_cpu).collect::<Vec<_>>())
            .unwrap_or(0.0),
    }
}

/// Round `round`'s order of `n` servers: rotated by one each round, so no server always
/// follows the same one (A/B alternation for more than two).
pub fn rotation(n: usize, round: usize) -> Vec<usize> {
    (0..n).map(|i| (i + round) % n.max(1)).collect()
}

fn ci_request(server: &Server, base: u64) -> MakeRequest {
    let (addr, path) = (server.addr, server.ivr_path.clone());
    Arc::new(move |i| loadgen::get(addr, &format!("{path}?{}", rules::ci_query(base + i))))
}

fn xml_check() -> Check {
    let expected = Bytes::from(rules::expected_reply());
    Arc::new(move |status, body| status == 200 && body == expected.as_ref())
}

pub(crate) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Start every server; the ones that cannot run are reported in `missing`.
struct Lineup {
    servers: Vec<Server>,
    missing: BTreeMap<String, String>,
}

fn lineup(paths: &Paths, opts: &CiOptions, token: &str) -> Result<Lineup, String> {
    let mut servers = vec![servers::spawn_ours(paths, token, SinkKind::Null)?];
    let mut missing = BTreeMap::new();
    let mut add = |name: &str, r: Result<Server, String>| match r {
        Ok(s) => servers.push(s),
        Err(e) => {
            eprintln!("cti-bench: {name} is not measured: {e}");
            missing.insert(name.to_string(), e);
        }
    };
    add("floor", servers::spawn_floor(paths, token));
    if opts.with_history {
        add(
            "ours+history",
            servers::spawn_ours(paths, token, SinkKind::History),
        );
        if opts.compare_store {
            add(
                "ours+history-first",
                servers::spawn_ours(paths, token, SinkKind::HistoryStoreFirst),
            );
        }
    }
    if opts.peers {
        add("node", servers::spawn_node(paths, token));
        add("python", servers::spawn_python(paths, token));
    }
    Ok(Lineup { servers, missing })
}

/// Every server must give the same reply to the seed request before it is measured.
fn same_reply(server: &Server) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let uri = format!("{}?{}", server.ivr_path, rules::SEED_001_QUERY);
    let (status, body) = rt.block_on(loadgen::fetch_once(
        server.addr,
        loadgen::get(server.addr, &uri),
        Duration::from_secs(5),
    ))?;
    let expected = rules::expected_reply();
    if status == 200 && body == expected.as_bytes() {
        Ok(())
    } else {
        Err(format!(
            "answers HTTP {status} {:?} instead of the expected XML",
            String::from_utf8_lossy(&body)
        ))
    }
}

pub fn run_ci(paths: &Paths, opts: &CiOptions) -> Section {
    let token = servers::token();
    let mut lineup = match lineup(paths, opts, &token) {
        Ok(l) => l,
        Err(e) => {
            return Section::failed(
                "Call Interactive reply latency",
                Row::not_measured("Call Interactive p99", "≤ 5 ms", e),
            )
        }
    };
    let mut k = 0;
    while k < lineup.servers.len() {
        match same_reply(&lineup.servers[k]) {
            Ok(()) => k += 1,
            Err(e) => {
                let s = lineup.servers.remove(k);
                eprintln!("cti-bench: {} excluded: {e}", s.name);
                lineup.missing.insert(s.name.clone(), e);
            }
        }
    }
    let names: Vec<String> = lineup.servers.iter().map(|s| s.name.clone()).collect();
    let mut runs: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    let check = xml_check();
    let mut base = 0u64;
    let mut next_base = |n: u64| {
        base += n + 1_000_000;
        base
    };
    for round in 0..opts.rounds.max(1) {
        for idx in rotation(lineup.servers.len(), round) {
            let s = &lineup.servers[idx];
            let spec = LoadSpec {
                warmup: secs(opts.warmup_secs),
                connections: opts.connections,
                ..LoadSpec::new(opts.rate, secs(opts.secs))
            };
            let b = next_base(spec.count_in(spec.duration + spec.warmup));
            eprintln!(
                "cti-bench: CI round {}/{} {} at {}",
                round + 1,
                opts.rounds.max(1),
                s.name,
                fmt_rate(opts.rate)
            );
            let others = OthersCpu::start();
            let result = loadgen::run(s.addr, ci_request(s, b), check.clone(), &spec);
            let others_cpu = others.percent_of_a_core();
            s.wait_idle(Duration::from_secs(60));
            match result {
                Ok(r) => {
                    let run = Run::of(&r, others_cpu);
                    eprintln!(
                        "    p50 {} p99 {} p99.9 {} max {} errors {} (rest of the machine used {:.0} % of a core)",
                        fmt_ms(run.summary.p50),
                        fmt_ms(run.summary.p99),
                        fmt_ms(run.summary.p999),
                        fmt_ms(run.summary.max),
                        run.error_text,
                        run.others_cpu
                    );
                    runs.entry(s.name.clone()).or_default().push(run);
                }
                Err(e) => eprintln!("    {} failed: {e}", s.name),
            }
        }
    }
    // Ceiling search (the durable-history variant is left out: its ceiling is the store's).
    let mut ramps: BTreeMap<String, Vec<(f64, Run)>> = BTreeMap::new();
    for s in lineup
        .servers
        .iter()
        .filter(|s| !s.name.starts_with("ours+history"))
    {
        for &rate in &opts.ramp_rates {
            let spec = LoadSpec {
                warmup: Duration::from_millis(500),
                connections: opts.connections,
                ..LoadSpec::new(rate, secs(opts.ramp_secs))
            };
            let request = || {
                let b = next_base(spec.count_in(spec.duration + spec.warmup));
                Some(ci_request(s, b))
            };
            let best = ramp_step(s, &spec, rate, opts.ramp_p99_ms, &check, request);
            let Some(run) = best else { break };
            let ok = run.holds(rate, opts.ramp_p99_ms);
            eprintln!(
                "cti-bench: ramp {} {}: p99 {} answered {} errors {} → {}",
                s.name,
                fmt_rate(rate),
                fmt_ms(run.summary.p99),
                fmt_rate(run.achieved),
                run.error_text,
                if ok { "holds" } else { "past the ceiling" }
            );
            ramps.entry(s.name.clone()).or_default().push((rate, run));
            if !ok {
                break;
            }
        }
    }
    drop(lineup.servers);
    ci_rows(opts, &names, &runs, &ramps, &lineup.missing)
}

fn ci_rows(
    opts: &CiOptions,
    names: &[String],
    runs: &BTreeMap<String, Vec<Run>>,
    ramps: &BTreeMap<String, Vec<(f64, Run)>>,
    missing: &BTreeMap<String, String>,
) -> Section {
    let combined: BTreeMap<String, Combined> =
        runs.iter().map(|(k, v)| (k.clone(), combine(v))).collect();
    let rate = fmt_rate(opts.rate);
    let mut rows = Vec::new();
    let why = |name: &str| {
        missing
            .get(name)
            .cloned()
            .unwrap_or_else(|| "no successful run".into())
    };
    let Some(ours) = combined.get("ours") else {
        rows.push(Row::not_measured(
            format!("Call Interactive p99 @ {rate}"),
            "≤ 5 ms",
            why("ours"),
        ));
        return Section {
            title: "Call Interactive reply latency".into(),
            rows,
            details: String::new(),
        };
    };
    let floor = combined.get("floor");
    let peer_label = |name: &str, v: f64| format!("{name} {}", fmt_ms(v));

    // p50.
    let mut r = Row::new(format!("CI reply p50 @ {rate} (open loop)"))
        .ours(fmt_ms(ours.summary.p50))
        .target("≤ 0.5 ms")
        .verdict(Verdict::of(ours.summary.p50 <= 0.5));
    if let Some(f) = floor {
        r = r
            .peer(peer_label("floor", f.summary.p50))
            .ratio(ours.summary.p50, f.summary.p50);
    }
    rows.push(r);
    // p99 against the floor.
    let mut r = Row::new(format!("CI reply p99 @ {rate}"))
        .ours(fmt_ms(ours.summary.p99))
        .target("≤ 5 ms and ≤ 1.5× floor");
    match floor {
        Some(f) => {
            r = r
                .peer(peer_label("floor", f.summary.p99))
                .ratio(ours.summary.p99, f.summary.p99)
                .verdict(Verdict::of(
                    ours.summary.p99 <= 5.0 && ours.summary.p99 <= 1.5 * f.summary.p99,
                ));
        }
        None => {
            r = r
                .peer(format!("floor not measured: {}", why("floor")))
                .verdict(Verdict::of(ours.summary.p99 <= 5.0));
        }
    }
    rows.push(r);
    // p99.9.
    let mut r = Row::new(format!("CI reply p99.9 @ {rate}"))
        .ours(fmt_ms(ours.summary.p999))
        .target("≤ 20 ms")
        .verdict(Verdict::of(ours.summary.p999 <= 20.0));
    if let Some(f) = floor {
        r = r
            .peer(peer_label("floor", f.summary.p999))
            .ratio(ours.summary.p999, f.summary.p999);
    }
    rows.push(r);
    // Against the peers.
    if opts.peers {
        for (name, label) in [("node", "Node http"), ("python", "Flask+gunicorn")] {
            match combined.get(name) {
                Some(p) => rows.push(
                    Row::new(format!("CI reply p99 @ {rate} vs {label}"))
                        .ours(fmt_ms(ours.summary.p99))
                        .peer(peer_label(name, p.summary.p99))
                        .ratio(ours.summary.p99, p.summary.p99)
                        .target("ahead (ratio < 1)")
                        .verdict(Verdict::of(
                            ours.summary.p99 < p.summary.p99 && ours.errors <= p.errors,
                        )),
                ),
                None => rows.push(Row::not_measured(
                    format!("CI reply p99 @ {rate} vs {label}"),
                    "ahead (ratio < 1)",
                    why(name),
                )),
            }
        }
    }
    // Errors.
    rows.push(
        Row::new(format!("CI errors @ {rate}"))
            .ours(format!(
                "{} of {}",
                ours.errors,
                crate::table::group_thousands(ours.scheduled)
            ))
            .peer(
                floor
                    .map(|f| format!("floor {}", f.errors))
                    .unwrap_or_else(|| "—".into()),
            )
            .target("0")
            .verdict(Verdict::of(ours.errors == 0)),
    );
    // With durable storage of every IVR step: after the reply (the default), and before it.
    if opts.with_history {
        match combined.get("ours+history") {
            Some(h) => {
                let mut r = Row::new(format!(
                    "CI reply p99 @ {rate}, steps stored in History after the reply (default)"
                ))
                .ours(fmt_ms(h.summary.p99))
                .target("≤ 5 ms")
                .verdict(Verdict::of(h.summary.p99 <= 5.0 && h.errors == 0));
                if let Some(f) = floor {
                    r = r
                        .peer(peer_label("floor", f.summary.p99))
                        .ratio(h.summary.p99, f.summary.p99);
                }
                rows.push(r);
            }
            None => rows.push(Row::not_measured(
                format!("CI reply p99 @ {rate}, steps stored in History after the reply (default)"),
                "≤ 5 ms",
                why("ours+history"),
            )),
        }
        let label = format!("CI reply p99 @ {rate}, stored before the reply (`before_reply`)");
        match combined.get("ours+history-first") {
            _ if !opts.compare_store => {}
            Some(h) => {
                let mut r = Row::new(label).ours(fmt_ms(h.summary.p99)).target("—");
                if let Some(f) = floor {
                    r = r
                        .peer(peer_label("floor", f.summary.p99))
                        .ratio(h.summary.p99, f.summary.p99);
                }
                rows.push(r);
            }
            None => rows.push(Row::not_measured(label, "—", why("ours+history-first"))),
        }
    }
    // Ceilings.
    let ceil = |name: &str| -> Option<f64> {
        ramps.get(name).and_then(|steps| {
            let flags: Vec<(f64, bool)> = steps
                .iter()
                .map(|(rate, run)| (*rate, run.holds(*rate, opts.ramp_p99_ms)))
                .collect();
            ceiling(&flags)
        })
    };
    let top = opts.ramp_rates.last().copied().unwrap_or(0.0);
    let fmt_ceil = |c: Option<f64>, name: &str| match (c, ramps.get(name)) {
        (Some(c), Some(steps)) if steps.len() == opts.ramp_rates.len() && c >= top => {
            format!("≥ {}", fmt_rate(c))
        }
        (Some(c), _) => fmt_rate(c),
        (None, Some(_)) => format!("< {}", fmt_rate(opts.ramp_rates[0])),
        (None, None) => "—".into(),
    };
    let ours_ceil = ceil("ours");
    let limit = opts.ramp_p99_ms;
    let mut r = Row::new(format!("CI ceiling (p99 ≤ {limit} ms, ≤ 0.1 % errors)"))
        .ours(fmt_ceil(ours_ceil, "ours"))
        .target("≥ 10,000/s, ≥ peers")
        .verdict(Verdict::of(ours_ceil.unwrap_or(0.0) >= 10_000.0));
    let mut peer_text = Vec::new();
    for name in ["floor", "node", "python"] {
        if ramps.contains_key(name) {
            peer_text.push(format!("{name} {}", fmt_ceil(ceil(name), name)));
        }
    }
    if !peer_text.is_empty() {
        r = r.peer(peer_text.join(", "));
    }
    if let (Some(o), Some(f)) = (ours_ceil, ceil("floor")) {
        r = r.ratio(o, f);
    }
    let beats_peers = ["node", "python"]
        .iter()
        .all(|p| ceil(p).is_none_or(|c| ours_ceil.unwrap_or(0.0) >= c));
    if !beats_peers {
        r = r.verdict(Verdict::Fail);
    }
    rows.push(r);

    // Details: medians per server, and the ramp steps.
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Call Interactive, open loop at {rate}: {} rounds × {} s per server ({} s at the fixed rate in all, each round after a {} s warm-up), order rotated every round; medians over rounds.\n",
        opts.rounds.max(1),
        opts.secs,
        opts.rounds.max(1) as f64 * opts.secs,
        opts.warmup_secs
    );
    let _ = writeln!(
        d,
        "| server | p50 | p99 | p99.9 | max | answered/s | errors | rest of the machine |\n|---|---|---|---|---|---|---|---|"
    );
    for name in names {
        if let Some(c) = combined.get(name) {
            let _ = writeln!(
                d,
                "| {name} | {} | {} | {} | {} | {} | {} | {:.0} % of a core |",
                fmt_ms(c.summary.p50),
                fmt_ms(c.summary.p99),
                fmt_ms(c.summary.p999),
                fmt_ms(c.summary.max),
                fmt_rate(c.achieved),
                if c.errors == 0 {
                    "0".to_string()
                } else {
                    c.error_text.join("; ")
                },
                c.others_cpu
            );
        }
    }
    let _ = writeln!(
        d,
        "\nCeiling search ({} s per step; a step holds while p99 ≤ {limit} ms, errors ≤ 0.1 % and ≥ 95 % of the offered rate is answered; a failed step is tried once more and the better attempt kept):\n",
        opts.ramp_secs
    );
    for (name, steps) in ramps {
        let s: Vec<String> = steps
            .iter()
            .map(|(rate, run)| {
                format!(
                    "{} → p99 {}{} (rest {:.0} %)",
                    fmt_rate(*rate),
                    fmt_ms(run.summary.p99),
                    if run.holds(*rate, limit) { "" } else { " ✗" },
                    run.others_cpu
                )
            })
            .collect();
        let _ = writeln!(d, "- {name}: {}", s.join(", "));
    }
    for (name, why) in missing {
        let _ = writeln!(d, "- {name} not measured: {why}");
    }
    Section {
        title: "Call Interactive reply latency".into(),
        rows,
        details: d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ramp::better;

    #[test]
    fn rotation_changes_who_goes_first() {
        assert_eq!(rotation(3, 0), vec![0, 1, 2]);
        assert_eq!(rotation(3, 1), vec![1, 2, 0]);
        assert_eq!(rotation(3, 2), vec![2, 0, 1]);
        assert_eq!(rotation(3, 3), vec![0, 1, 2]);
        assert!(rotation(0, 1).is_empty());
    }

    #[test]
    fn a_step_holds_only_with_rate_errors_and_tail_in_bounds() {
        assert!(step_holds(&run(3.0, 0, 5000, 1000.0), 1000.0, 20.0));
        assert!(step_holds(&run(3.0, 5, 5000, 999.0), 1000.0, 20.0));
        assert!(!step_holds(&run(3.0, 6, 5000, 999.0), 1000.0, 20.0));
        assert!(!step_holds(&run(25.0, 0, 5000, 1000.0), 1000.0, 20.0));
        assert!(!step_holds(&run(3.0, 0, 5000, 900.0), 1000.0, 20.0));
    }

    #[test]
    fn the_better_attempt_has_fewer_errors_then_a_lower_tail() {
        assert!(better(
            &run(3.0, 0, 5000, 1000.0),
            &run(50.0, 0, 5000, 1000.0)
        ));
        assert!(better(
            &run(50.0, 0, 5000, 1000.0),
            &run(3.0, 2, 5000, 1000.0)
        ));
        assert!(!better(
            &run(3.0, 0, 5000, 1000.0),
            &run(3.0, 0, 5000, 1000.0)
        ));
    }

    #[test]
    fn rows_compare_with_floor_and_peers() {
        let opts = CiOptions {
            ramp_rates: vec![1000.0, 2000.0],
            ..CiOptions::default()
        };
        let mut runs = BTreeMap::new();
        runs.insert("ours".to_string(), vec![run(0.9, 0, 30_000, 1000.0)]);
        runs.insert("floor".to_string(), vec![run(0.5, 0, 30_000, 1000.0)]);
        runs.insert("node".to_string(), vec![run(1.2, 0, 30_000, 1000.0)]);
        runs.insert("python".to_string(), vec![run(30.0, 0, 30_000, 1000.0)]);
        let mut ramps = BTreeMap::new();
        ramps.insert(
            "ours".to_string(),
            vec![
                (1000.0, run(1.0, 0, 5000, 1000.0)),
                (2000.0, run(1.0, 0, 10_000, 2000.0)),
            ],
        );
        ramps.insert(
            "python".to_string(),
            vec![(1000.0, run(40.0, 0, 5000, 1000.0))],
        );
        let names: Vec<String> = ["ours", "floor", "node", "python"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut missing = BTreeMap::new();
        missing.insert("ours+history".to_string(), "disk full".to_string());
        let s = ci_rows(&opts, &names, &runs, &ramps, &missing);
        let find = |needle: &str| {
            s.rows
                .iter()
                .find(|r| r.metric.contains(needle))
                .unwrap_or_else(|| panic!("no row {needle}: {:#?}", s.rows))
                .clone()
        };
        let p99 = find("p99 @ 1,000/s");
        // 0.9 ms is ≤ 5 ms but 1.8× the floor: fails the 1.5× target.
        assert_eq!(p99.verdict, Verdict::Fail);
        assert_eq!(p99.ratio, "1.80×");
        assert_eq!(find("vs Node").verdict, Verdict::Pass);
        assert_eq!(find("vs Flask").verdict, Verdict::Pass);
        assert_eq!(find("History").verdict, Verdict::NotMeasured);
        assert!(find("History").ours.contains("disk full"));
        let c = find("ceiling");
        assert_eq!(c.ours, "≥ 2,000/s");
        assert!(c.peer.contains("python < 1,000/s"), "{}", c.peer);
        assert_eq!(c.verdict, Verdict::Fail, "2,000/s is under 10,000/s");
        assert!(s.details.contains("| ours | 0.000 ms | 0.900 ms"));
        assert!(s.details.contains("% of a core |"));
    }

    fn run(p99: f64, errors: u64, scheduled: u64, achieved: f64) -> Run {
        Run {
            summary: Summary {
                count: scheduled - errors,
                p99,
                ..Summary::default()
            },
            errors,
            error_text: String::new(),
            scheduled,
            achieved,
            others_cpu: 0.0,
        }
    }
}
