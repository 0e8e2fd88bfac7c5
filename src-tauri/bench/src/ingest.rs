//! Benchmark 2: seed-004 JSON webhook ingest into our listener + the real history store, beside
//! the listener acknowledging into nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::ci::{ceiling, combine, ramp_step, rotation, secs, Combined, Run};
use crate::loadgen::{self, Check, LoadSpec, MakeRequest};
use crate::procmem::OthersCpu;
use crate::rules;
use crate::servers::{self, Paths, Server, SinkKind};
use crate::table::{fmt_ms, fmt_rate, Row, Verdict};
use crate::Section;

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub rate: f64,
    pub secs: f64,
    pub rounds: usize,
    pub ramp_rates: Vec<f64>,
    pub ramp_secs: f64,
    pub p99_limit_ms: f64,
}

impl IngestOptions {
    pub fn standard() -> IngestOptions {
        IngestOptions {
            rate: 200.0,
            secs: 10.0,
            rounds: 3,
            ramp_rates: vec![250.0, 500.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0],
            ramp_secs: 5.0,
            p99_limit_ms: 50.0,
        }
    }
}

fn ingest_request(server: &Server, base: u64) -> Option<MakeRequest> {
    let (addr, path) = (server.addr, server.calls_path.clone()?);
    Some(Arc::new(move |i| {
        let n = base + i;
        let body = rules::seed004_event(n / 5, (n % 5) as usize);
        loadgen::post(addr, &path, "application/json", Bytes::from(body))
    }))
}

pub fn run_ingest(paths: &Paths, opts: &IngestOptions) -> Section {
    let title = "JSON webhook ingest";
    let token = servers::token();
    let durable = match servers::spawn_ours(paths, &token, SinkKind::History) {
        Ok(s) => s,
        Err(e) => {
            return Section::failed(
                title,
                Row::not_measured("webhook ingest ack p99", "≤ 10 ms", e),
            )
        }
    };
    let bare = servers::spawn_ours(paths, &token, SinkKind::Null).ok();
    let check: Check = Arc::new(|status, _| status == 200);
    let mut runs: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
    let mut base = 0u64;
    let mut lineup: Vec<(&str, &Server)> = vec![("history", &durable)];
    if let Some(b) = &bare {
        lineup.push(("listener only", b));
    }
    for round in 0..opts.rounds.max(1) {
        for idx in rotation(lineup.len(), round) {
            let (name, s) = lineup[idx];
            let spec = LoadSpec {
                warmup: Duration::from_secs(1),
                ..LoadSpec::new(opts.rate, secs(opts.secs))
            };
            let Some(make) = ingest_request(s, base) else {
                continue;
            };
            base += spec.count_in(spec.duration + spec.warmup) + 1_000;
            eprintln!(
                "cti-bench: ingest round {}/{} {name} at {}",
                round + 1,
                opts.rounds.max(1),
                fmt_rate(opts.rate)
            );
            let others = OthersCpu::start();
            let result = loadgen::run(s.addr, make, check.clone(), &spec);
            let others_cpu = others.percent_of_a_core();
            s.wait_idle(Duration::from_secs(60));
            match result {
                Ok(r) => {
                    let run = Run::of(&r, others_cpu);
                    eprintln!(
                        "    p50 {} p99 {} max {} errors {}",
                        fmt_ms(run.summary.p50),
                        fmt_ms(run.summary.p99),
                        fmt_ms(run.summary.max),
                        run.error_text
                    );
                    runs.entry(name).or_default().push(run);
                }
                Err(e) => eprintln!("    failed: {e}"),
            }
        }
    }
    let mut ramps: BTreeMap<&str, Vec<(f64, Run)>> = BTreeMap::new();
    for &(name, s) in &lineup {
        for &rate in &opts.ramp_rates {
            let spec = LoadSpec {
                warmup: Duration::from_millis(500),
                ..LoadSpec::new(rate, secs(opts.ramp_secs))
            };
            let request = || {
                let make = ingest_request(s, base)?;
                base += spec.count_in(spec.duration + spec.warmup) + 1_000;
                Some(make)
            };
            let best = ramp_step(s, &spec, rate, opts.p99_limit_ms, &check, request);
            let Some(run) = best else { break };
            let ok = run.holds(rate, opts.p99_limit_ms);
            eprintln!(
                "cti-bench: ingest ramp {name} {}: p99 {} errors {} → {}",
                fmt_rate(rate),
                fmt_ms(run.summary.p99),
                run.error_text,
                if ok { "holds" } else { "past the limit" }
            );
            ramps.entry(name).or_default().push((rate, run));
            if !ok {
                break;
            }
        }
    }
    drop(bare);
    drop(durable);

    let combined: BTreeMap<&str, Combined> = runs.iter().map(|(k, v)| (*k, combine(v))).collect();
    let rate = fmt_rate(opts.rate);
    let mut rows = Vec::new();
    let limit = opts.p99_limit_ms;
    match combined.get("history") {
        Some(h) => {
            let mut r = Row::new(format!("Webhook ingest ack p99 @ {rate} (durable History)"))
                .ours(fmt_ms(h.summary.p99))
                .target("≤ 10 ms, 0 errors")
                .verdict(Verdict::of(h.summary.p99 <= 10.0 && h.errors == 0));
            if let Some(b) = combined.get("listener only") {
                r = r
                    .peer(format!("no store {}", fmt_ms(b.summary.p99)))
                    .ratio(h.summary.p99, b.summary.p99);
            }
            rows.push(r);
        }
        None => rows.push(Row::not_measured(
            format!("Webhook ingest ack p99 @ {rate}"),
            "≤ 10 ms",
            "no successful run",
        )),
    }
    let ceil = |name: &str| {
        ramps.get(name).and_then(|steps| {
            ceiling(
                &steps
                    .iter()
                    .map(|(r, run)| (*r, run.holds(*r, limit)))
                    .collect::<Vec<_>>(),
            )
        })
    };
    let top = opts.ramp_rates.last().copied().unwrap_or(0.0);
    let show = |c: Option<f64>, name: &str| match c {
        Some(c)
            if c >= top
                && ramps
                    .get(name)
                    .is_some_and(|s| s.len() == opts.ramp_rates.len()) =>
        {
            format!("≥ {}", fmt_rate(c))
        }
        Some(c) => fmt_rate(c),
        None => format!(
            "< {}",
            fmt_rate(opts.ramp_rates.first().copied().unwrap_or(0.0))
        ),
    };
    let h = ceil("history");
    let mut r = Row::new(format!("Webhook ingest sustained rate (p99 ≤ {limit} ms)"))
        .ours(show(h, "history"))
        .target("≥ 1,000/s")
        .verdict(Verdict::of(h.unwrap_or(0.0) >= 1_000.0));
    if ramps.contains_key("listener only") {
        let b = ceil("listener only");
        r = r.peer(format!("no store {}", show(b, "listener only")));
        if let (Some(h), Some(b)) = (h, b) {
            r = r.ratio(h, b);
        }
    }
    rows.push(r);

    let mut d = String::new();
    let _ = writeln!(
        d,
        "Seed-004 sequences (CreateIncCall, AttemptIncCallBegin, ChangeIncCall, AttemptIncCallEnd, EndIncCall; one call id each) POSTed open loop at {rate}, {} rounds × {} s; acknowledged = HTTP 200 after the durable commit (WAL, synchronous=FULL) on a fresh file under target/.\n",
        opts.rounds.max(1),
        opts.secs
    );
    let _ = writeln!(
        d,
        "| store | p50 | p99 | p99.9 | max | errors |\n|---|---|---|---|---|---|"
    );
    for (name, c) in &combined {
        let _ = writeln!(
            d,
            "| {name} | {} | {} | {} | {} | {} |",
            fmt_ms(c.summary.p50),
            fmt_ms(c.summary.p99),
            fmt_ms(c.summary.p999),
            fmt_ms(c.summary.max),
            c.errors
        );
    }
    let _ = writeln!(d);
    for (name, steps) in &ramps {
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
        let _ = writeln!(d, "- ramp, {name}: {}", s.join(", "));
    }
    Section {
        title: title.into(),
        rows,
        details: d,
    }
}
