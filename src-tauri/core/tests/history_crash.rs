//! kill -9 durability: a child process streams acknowledged writes and prints each acknowledged
//! key; the parent SIGKILLs it at random moments, many times, then checks that every
//! acknowledged write is in the file and that the file passes `PRAGMA integrity_check`.
//!
//! `HISTORY_CRASH_ITERATIONS` sets the number of kills (default 30; use 200+ for the long run).

mod history_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cti_core::history::{History, HistoryConfig};
use cti_core::model::{CallEvent, CallEventKind, Direction, Party, Source};
use history_support::raw_for;
use rand::{Rng, SeedableRng};

const CHILD_DB: &str = "HISTORY_CRASH_CHILD_DB";
const CHILD_ROUND: &str = "HISTORY_CRASH_CHILD_ROUND";
const CHILD_TEST: &str = "child_writer_process";
/// Concurrent writers in the child (so kills land inside group commits too).
const WRITERS: usize = 4;

fn created(round: &str, writer: usize, i: u64) -> Vec<CallEvent> {
    let call_id = format!("{round}-{writer}-{i}");
    let at = 1_704_067_200_000 + i as i64 * 1_000;
    vec![
        CallEvent {
            source: Source::Webhook,
            call_id: call_id.clone(),
            control_id: None,
            at_ms: at,
            kind: CallEventKind::Created {
                direction: Direction::Inbound,
                from: Party::number(format!("9{:09}", i)),
                to: Party::number("101"),
                did: None,
                via: None,
            },
            dedup_key: format!("{call_id}:created"),
        },
        CallEvent {
            source: Source::Webhook,
            call_id: call_id.clone(),
            control_id: None,
            at_ms: at + 500,
            kind: CallEventKind::LegRinging {
                leg_id: format!("{call_id}-l"),
                party: Party::number("101"),
            },
            dedup_key: format!("{call_id}:ringing"),
        },
    ]
}

/// Not a test on its own: the writer the crash test runs in a child process (it returns at once
/// unless the parent set `HISTORY_CRASH_CHILD_DB`).
#[test]
fn child_writer_process() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    let round = std::env::var(CHILD_ROUND).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let h = History::open(&db, &HistoryConfig::default()).unwrap();
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let h = h.clone();
            let round = round.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let events = created(&round, w, i);
                    let key = events[0].dedup_key.clone();
                    h.store(Some(raw_for(Source::Webhook, &key)), events)
                        .await
                        .unwrap();
                    // One write per line, after the commit returned.
                    let line = format!("ACK {key}\n");
                    let mut out = std::io::stdout().lock();
                    out.write_all(line.as_bytes()).unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    let iterations: u32 = std::env::var("HISTORY_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut rounds_with_acks = 0;

    for round in 0..iterations {
        let mut child = Command::new(&exe)
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &db)
            .env(CHILD_ROUND, format!("r{round}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&acked);
        let (first_tx, first_rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut rd = BufReader::new(stdout);
            let mut line = String::new();
            let mut n = 0;
            loop {
                line.clear();
                match rd.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    // A line cut by the kill has no newline and does not count.
                    Ok(_) if line.ends_with('\n') => {
                        if let Some(key) = line.trim_end().strip_prefix("ACK ") {
                            sink.lock().unwrap().push(key.to_string());
                            n += 1;
                            if n == 1 {
                                let _ = first_tx.send(());
                            }
                        }
                    }
                    Ok(_) => break,
                }
            }
            n
        });
        // Kill at a random moment: mostly while writes stream, sometimes during startup.
        if rng.random_bool(0.85) {
            let _ = first_rx.recv_timeout(Duration::from_secs(20));
            std::thread::sleep(Duration::from_millis(rng.random_range(0..120)));
        } else {
            std::thread::sleep(Duration::from_millis(rng.random_range(0..40)));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if reader.join().unwrap() > 0 {
            rounds_with_acks += 1;
        }
    }

    let acked = acked.lock().unwrap().clone();
    assert!(
        rounds_with_acks >= iterations / 2,
        "too few rounds got to write ({rounds_with_acks}/{iterations})"
    );
    let started = Instant::now();
    let h = History::open(&db, &HistoryConfig::default()).unwrap();
    let r = h.reader().unwrap();
    assert!(
        r.integrity_check().unwrap().is_empty(),
        "integrity_check failed after kill -9"
    );
    let conn = r.connection().unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT count(*) FROM event e JOIN call c ON c.id = e.call_id
             WHERE e.source = 'webhook' AND e.dedup_key IN (?1, replace(?1, ':created', ':ringing'))",
        )
        .unwrap();
    let mut missing = Vec::new();
    for key in &acked {
        let n: i64 = stmt.query_row([key], |r| r.get(0)).unwrap();
        if n != 2 {
            missing.push(key.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    // Each acknowledged call is a complete record.
    let legs: i64 = conn
        .query_row("SELECT count(*) FROM leg l JOIN call c ON c.id = l.call_id WHERE c.direction = 'inbound'", [], |r| r.get(0))
        .unwrap();
    assert!(legs as usize >= acked.len());
    eprintln!(
        "{iterations} kills, {} acknowledged writes, all present; reopen+check took {:?}",
        acked.len(),
        started.elapsed()
    );
}
