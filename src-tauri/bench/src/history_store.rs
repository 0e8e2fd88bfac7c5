//! History store benchmark (a command that prints numbers, not a test).
//!
//! ```text
//! cargo run -p cti-bench --release -- history-store [--calls 1000000] [--single 10000]
//!     [--lookups 10000] [--searches 1000] [--dir DIR] [--keep] [--merge-window 30]
//! ```
//!
//! `cti-bench history` (and `all`) runs it in a child process and turns its output into rows.
//!
//! 1. bulk: fills `--calls` synthetic calls (≈5–6 events each, three sources, a year of dates)
//!    through `History::import` in batches and reports events/s and rows/s (every row written:
//!    events, calls, ids, legs, parties, IVR sessions, recordings, search rows);
//! 2. single acknowledged commit: `--single` one-event `store` calls (the events of new calls,
//!    20 in flight, so most commits update an existing call), each awaited (WAL +
//!    `synchronous=FULL`), a lookup after each and a light concurrent reader; p50/p99/max;
//! 3. indexed lookups (by remote number, by time range, LIMIT 50; call details): p50/p99;
//! 4. FTS search (number fragments and name fragments, LIMIT 50): p50/p95/p99;
//! 5. `PRAGMA quick_check` time and the file size.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cti_core::history::{CallFilter, History, HistoryConfig, PageRequest};
use cti_core::model::{CallEvent, CallEventKind, Direction, Party, ResultCode, Source};
use cti_core::sink::RawRecord;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DAY_MS: i64 = 86_400_000;
const NUMBER_POOL: u64 = 200_000;
const FIRST: [&str; 12] = [
    "Ivan",
    "Anna",
    "Pavel",
    "Olga",
    "Sergey",
    "Maria",
    "Дмитрий",
    "Елена",
    "Алексей",
    "Наталья",
    "John",
    "Kate",
];
const LAST: [&str; 12] = [
    "Petrov",
    "Smirnova",
    "Ivanov",
    "Kuznetsova",
    "Popov",
    "Sokolova",
    "Лебедев",
    "Козлова",
    "Новиков",
    "Морозова",
    "Smith",
    "Brown",
];

struct Args {
    calls: u64,
    single: usize,
    lookups: usize,
    searches: usize,
    dir: Option<PathBuf>,
    keep: bool,
    merge_window: u32,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        calls: 1_000_000,
        single: 10_000,
        lookups: 10_000,
        searches: 1_000,
        dir: None,
        keep: false,
        merge_window: 30,
    };
    let mut it = args;
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--calls" => {
                a.calls = value("--calls")?
                    .parse()
                    .map_err(|e| format!("--calls: {e}"))?
            }
            "--single" => {
                a.single = value("--single")?
                    .parse()
                    .map_err(|e| format!("--single: {e}"))?
            }
            "--lookups" => {
                a.lookups = value("--lookups")?
                    .parse()
                    .map_err(|e| format!("--lookups: {e}"))?
            }
            "--searches" => {
                a.searches = value("--searches")?
                    .parse()
                    .map_err(|e| format!("--searches: {e}"))?
            }
            "--dir" => a.dir = Some(PathBuf::from(value("--dir")?)),
            "--keep" => a.keep = true,
            "--merge-window" => {
                a.merge_window = value("--merge-window")?
                    .parse()
                    .map_err(|e| format!("--merge-window: {e}"))?
            }
            "-h" | "--help" => {
                println!("cti-bench history-store [--calls N] [--single N] [--lookups N] [--searches N] [--dir DIR] [--keep] [--merge-window SECS]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn remote_number(n: u64) -> String {
    format!("9{:09}", n.wrapping_mul(2_654_435_761) % 1_000_000_000)
}

/// The events of synthetic call `i`, as one source reports it.
fn call_events(i: u64, at: i64, rng: &mut StdRng) -> Vec<CallEvent> {
    let source = match rng.random_range(0..100) {
        0..60 => Source::Webhook,
        60..85 => Source::Era,
        _ => Source::Telphin,
    };
    let call_id = format!("bench-{i}");
    let mut n = 0;
    let mut out = Vec::with_capacity(8);
    let mut push = |at_ms: i64, kind: CallEventKind| {
        out.push(CallEvent {
            source,
            call_id: call_id.clone(),
            control_id: None,
            at_ms,
            kind,
            dedup_key: format!("{call_id}:{n}"),
        });
        n += 1;
    };
    let remote = remote_number(rng.random_range(0..NUMBER_POOL));
    let remote_party = if rng.random_bool(0.5) {
        let name = format!(
            "{} {}",
            FIRST[rng.random_range(0..FIRST.len())],
            LAST[rng.random_range(0..LAST.len())]
        );
        Party {
            number: remote.clone(),
            name: Some(name),
            extension_id: None,
        }
    } else {
        Party::number(remote.clone())
    };
    let ext = |rng: &mut StdRng| format!("{}", rng.random_range(100..200));
    let me = ext(rng);
    let direction = match rng.random_range(0..100) {
        0..70 => Direction::Inbound,
        70..95 => Direction::Outbound,
        _ => Direction::Internal,
    };
    let (from, to) = match direction {
        Direction::Outbound => (Party::number(me.clone()), remote_party),
        Direction::Inbound => (remote_party, Party::number("4950665310")),
        Direction::Internal => (Party::number(me.clone()), Party::number(ext(rng))),
    };
    push(
        at,
        CallEventKind::Created {
            direction,
            from,
            to,
            did: None,
            via: None,
        },
    );
    let mut t = at + 500;
    if rng.random_bool(0.1) {
        push(
            t,
            CallEventKind::Ivr {
                step: "menu".into(),
                detail: serde_json::json!({"component": "menu"}),
            },
        );
        push(
            t + 3_000,
            CallEventKind::Dtmf {
                digits: format!("{}", rng.random_range(0..1000)),
            },
        );
        t += 5_000;
    }
    let legs = rng.random_range(1..=3);
    for l in 0..legs {
        let who = if l == 0 { me.clone() } else { ext(rng) };
        push(
            t,
            CallEventKind::LegRinging {
                leg_id: format!("{call_id}-{l}"),
                party: Party::number(who),
            },
        );
    }
    let answered = rng.random_bool(0.7);
    let end = t + rng.random_range(5_000..300_000);
    if answered {
        push(
            t + 4_000,
            CallEventKind::Answered {
                leg_id: Some(format!("{call_id}-0")),
                by: Party::number(me),
            },
        );
        for l in 1..legs {
            push(
                t + 4_000,
                CallEventKind::LegEnded {
                    leg_id: format!("{call_id}-{l}"),
                    result: ResultCode::from_code("487"),
                },
            );
        }
        push(
            end,
            CallEventKind::Ended {
                result: ResultCode::from_code("200"),
                talk_secs: Some((end - t - 4_000) / 1000),
            },
        );
        if rng.random_bool(0.05) {
            push(
                end + 1_000,
                CallEventKind::RecordingAvailable {
                    reference: format!("/rec/{call_id}.mp3"),
                },
            );
        }
    } else {
        let code = ["304", "486", "603-S"][rng.random_range(0..3)];
        for l in 0..legs {
            push(
                t + 20_000,
                CallEventKind::LegEnded {
                    leg_id: format!("{call_id}-{l}"),
                    result: ResultCode::from_code(code),
                },
            );
        }
        push(
            t + 20_000,
            CallEventKind::Ended {
                result: ResultCode::from_code(code),
                talk_secs: Some(0),
            },
        );
    }
    out
}

fn pct(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn report(name: &str, mut v: Vec<Duration>, qs: &[f64]) {
    v.sort_unstable();
    let parts: Vec<String> = qs
        .iter()
        .map(|q| format!("p{} {}", (q * 100.0) as u32, ms(pct(&v, *q))))
        .collect();
    println!(
        "  {name:<34} n={:<6} {}  max {}",
        v.len(),
        parts.join("  "),
        ms(*v.last().unwrap_or(&Duration::ZERO))
    );
}

/// CPU seconds used so far by this process's threads named `name` (Linux `/proc`; assumes the
/// usual 100 clock ticks per second). `None` elsewhere.
fn thread_cpu_secs(name: &str) -> Option<f64> {
    let mut total = 0u64;
    let mut found = false;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // After the command: state is field 3, utime 14 and stime 15 (1-based, whole line).
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        total += utime + stime;
        found = true;
    }
    found.then_some(total as f64 / 100.0)
}

fn count_rows(h: &History) -> Result<i64, Box<dyn std::error::Error>> {
    let r = h.reader()?;
    let c = r.connection()?;
    let mut total = 0;
    for t in [
        "event",
        "call",
        "call_source",
        "leg",
        "call_party",
        "ivr_session",
        "recording",
        "transfer",
        "park_episode",
        "raw_record",
    ] {
        let n: i64 = c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
        total += n;
    }
    // One search row per call.
    let calls: i64 = c.query_row("SELECT count(*) FROM call", [], |r| r.get(0))?;
    Ok(total + calls)
}

/// `cti-bench history-store ARGS…` (the arguments after the subcommand).
pub fn main(args: impl Iterator<Item = String>) -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args(args)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::Builder::new()
        .prefix("history-bench")
        .tempdir_in(args.dir.clone().unwrap_or_else(std::env::temp_dir))?;
    let path = tmp.path().join("history.db");
    println!(
        "history bench: {} calls, file {}",
        args.calls,
        path.display()
    );
    println!("settings: WAL, synchronous=FULL, one writer thread (group commit), pooled readers");
    let config = HistoryConfig {
        merge_window_secs: args.merge_window,
        ..HistoryConfig::default()
    };
    let h = History::open(&path, &config)?;
    let mut rng = StdRng::seed_from_u64(42);
    let now = chrono::Utc::now().timestamp_millis();
    let span = 365 * DAY_MS;
    let first_at = now - span - DAY_MS;

    // 1. Bulk.
    let batch_calls = 2_000u64;
    let mut events_total = 0u64;
    let mut import_time = Duration::ZERO;
    let wall = Instant::now();
    let mut i = 0u64;
    while i < args.calls {
        let upto = (i + batch_calls).min(args.calls);
        let mut batch = Vec::with_capacity(((upto - i) * 6) as usize);
        for k in i..upto {
            let at = first_at
                + (k as i64 * span) / args.calls.max(1) as i64
                + rng.random_range(0..1_000);
            batch.extend(call_events(k, at, &mut rng));
        }
        events_total += batch.len() as u64;
        let t = Instant::now();
        let acc = h.import(batch).await?;
        import_time += t.elapsed();
        if acc.duplicates != 0 {
            return Err("unexpected duplicates in the bulk data".into());
        }
        i = upto;
        if i.is_multiple_of(100_000) {
            println!(
                "  … {i} calls, {:.0} events/s so far",
                events_total as f64 / import_time.as_secs_f64()
            );
        }
    }
    let wall = wall.elapsed();
    let writer_cpu = thread_cpu_secs("history-writer");
    let rows = count_rows(&h)?;
    println!("\n[bulk import] {} calls, {} events, {} rows in {:.1} s (import {:.1} s, generation included in wall)",
        args.calls, events_total, rows, wall.as_secs_f64(), import_time.as_secs_f64());
    println!(
        "  events/s {:.0}   rows/s {:.0}   calls/s {:.0}",
        events_total as f64 / import_time.as_secs_f64(),
        rows as f64 / import_time.as_secs_f64(),
        args.calls as f64 / import_time.as_secs_f64()
    );

    if let Some(cpu) = writer_cpu {
        println!(
            "  writer thread CPU {:.1} s → {:.0} rows per writer CPU-second (independent of machine load)",
            cpu,
            rows as f64 / cpu
        );
    }

    // Restart, as the app would after an import: close checkpoints the WAL into the file, so
    // the next phases measure the steady state rather than the import's write-back.
    let t = Instant::now();
    h.close().await?;
    let closed = t.elapsed();
    let t = Instant::now();
    let h = History::open(&path, &config)?;
    let opened = t.elapsed();
    let t = Instant::now();
    let status = h.integrity_checked().await;
    println!(
        "\n[restart] close (WAL checkpoint) {:.2} s; open {} (integrity check in the background: {status:?} after {:.2} s)",
        closed.as_secs_f64(),
        ms(opened),
        t.elapsed().as_secs_f64()
    );

    // 2. Single acknowledged commits, interleaved with reads (a lookup after every commit, as
    //    the UI would read while events arrive) and a light concurrent reader (one lookup per ms).
    let stop = Arc::new(AtomicBool::new(false));
    let reader_h = h.clone();
    let reader_stop = Arc::clone(&stop);
    let reads = tokio::task::spawn_blocking(move || -> Result<u64, String> {
        let mut rng = StdRng::seed_from_u64(7);
        let r = reader_h.reader().map_err(|e| e.to_string())?;
        let mut n = 0;
        while !reader_stop.load(Ordering::Relaxed) {
            let f = CallFilter {
                number: Some(remote_number(rng.random_range(0..NUMBER_POOL))),
                ..CallFilter::default()
            };
            r.list_calls(&f, &PageRequest::first(50))
                .map_err(|e| e.to_string())?;
            n += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(n)
    });
    let interleaved = h.reader()?;
    // Live traffic: the events of new calls arrive one request each, 20 calls in flight at a
    // time (round-robin), so most commits update a call that already exists.
    let mut live: Vec<CallEvent> = Vec::with_capacity(args.single + 64);
    let mut next_call = args.calls;
    while live.len() < args.single {
        let group: Vec<Vec<CallEvent>> = (0..20u64)
            .map(|g| {
                call_events(
                    next_call + g,
                    now + (next_call + g) as i64 * 1_000,
                    &mut rng,
                )
            })
            .collect();
        next_call += 20;
        let longest = group.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..longest {
            live.extend(group.iter().filter_map(|evs| evs.get(i).cloned()));
        }
    }
    live.truncate(args.single);
    let mut single = Vec::with_capacity(args.single);
    for ev in live {
        let raw = RawRecord {
            source: ev.source,
            received_ms: now,
            what: "POST /hooks/…/calls".into(),
            body: "{}".into(),
        };
        let t = Instant::now();
        h.store(Some(raw), vec![ev]).await?;
        single.push(t.elapsed());
        let f = CallFilter {
            number: Some(remote_number(rng.random_range(0..NUMBER_POOL))),
            ..CallFilter::default()
        };
        interleaved.list_calls(&f, &PageRequest::first(50))?;
    }
    drop(interleaved);
    stop.store(true, Ordering::Relaxed);
    let concurrent_reads = reads.await??;
    let mut slowest: Vec<(usize, Duration)> = single.iter().copied().enumerate().collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.1));
    slowest.truncate(5);
    println!(
        "\n[single acknowledged commit] live calls' events one per store(), awaited; a lookup after each; {concurrent_reads} concurrent lookups"
    );
    report("store() → durable commit", single, &[0.5, 0.99]);
    let slow: Vec<String> = slowest
        .iter()
        .map(|(i, d)| format!("#{i} {}", ms(*d)))
        .collect();
    println!("  slowest: {}", slow.join(", "));

    // 3. Indexed lookups.
    let r = h.reader()?;
    let mut by_number = Vec::with_capacity(args.lookups);
    let mut by_range = Vec::with_capacity(args.lookups);
    let mut details = Vec::with_capacity(args.lookups);
    let mut found = 0usize;
    for _ in 0..args.lookups {
        let f = CallFilter {
            number: Some(remote_number(rng.random_range(0..NUMBER_POOL))),
            ..CallFilter::default()
        };
        let t = Instant::now();
        found += r.list_calls(&f, &PageRequest::first(50))?.calls.len();
        by_number.push(t.elapsed());

        let from = first_at + rng.random_range(0..span);
        let f = CallFilter {
            from_ms: Some(from),
            to_ms: Some(from + DAY_MS),
            ..CallFilter::default()
        };
        let t = Instant::now();
        let page = r.list_calls(&f, &PageRequest::first(50))?;
        by_range.push(t.elapsed());

        if let Some(c) = page.calls.first() {
            let t = Instant::now();
            r.call_details(c.id)?;
            details.push(t.elapsed());
        }
    }
    println!("\n[indexed lookups] LIMIT 50 ({found} rows returned by number)");
    report("by remote number", by_number, &[0.5, 0.99]);
    report("by time range (1 day)", by_range, &[0.5, 0.99]);
    report("call details by id", details, &[0.5, 0.99]);

    // 4. Full-text search.
    let mut fts_numbers = Vec::with_capacity(args.searches);
    let mut fts_names = Vec::with_capacity(args.searches);
    let mut hits = 0usize;
    for _ in 0..args.searches {
        let number = remote_number(rng.random_range(0..NUMBER_POOL));
        let start = rng.random_range(0..6);
        let f = CallFilter {
            text: Some(number[start..start + 4].to_string()),
            ..CallFilter::default()
        };
        let t = Instant::now();
        hits += r.list_calls(&f, &PageRequest::first(50))?.calls.len();
        fts_numbers.push(t.elapsed());

        let word = LAST[rng.random_range(0..LAST.len())];
        let chars: Vec<char> = word.chars().collect();
        let len = rng.random_range(3..=chars.len().min(5));
        let from = rng.random_range(0..=chars.len() - len);
        let fragment: String = chars[from..from + len].iter().collect();
        let f = CallFilter {
            text: Some(fragment),
            ..CallFilter::default()
        };
        let t = Instant::now();
        hits += r.list_calls(&f, &PageRequest::first(50))?.calls.len();
        fts_names.push(t.elapsed());
    }
    println!("\n[FTS5 search] trigram, newest first, LIMIT 50 ({hits} rows returned)");
    report(
        "4-digit number fragment",
        fts_numbers.clone(),
        &[0.5, 0.95, 0.99],
    );
    report(
        "3–5 letter name fragment",
        fts_names.clone(),
        &[0.5, 0.95, 0.99],
    );
    let mut all = fts_numbers;
    all.extend(fts_names);
    report("all searches", all, &[0.5, 0.95, 0.99]);
    drop(r);

    // 5. Integrity check and size.
    h.close().await?;
    let size = std::fs::metadata(&path)?.len();
    let t = Instant::now();
    let conn = rusqlite::Connection::open(&path)?;
    let ok: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    println!(
        "\n[quick_check] {ok} in {:.2} s; file {:.1} MiB",
        t.elapsed().as_secs_f64(),
        size as f64 / 1_048_576.0
    );

    if args.keep {
        let kept = tmp.keep();
        println!("kept {}", kept.display());
    }
    Ok(())
}
