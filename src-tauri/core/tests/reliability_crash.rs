//! Crash safety of the history behind the webhook listener: a child process (this test binary,
//! re-executed) runs the listener with the history store on a temp file; the parent floods it
//! with seed-004 webhooks and SIGKILLs it at random moments, round after round. Afterwards every
//! request that got a 2xx is in the history, `PRAGMA integrity_check` is ok, and the store opened
//! cleanly at the start of every round.
//!
//! Rounds: 20 by default, `CTI_CRASH_ROUNDS` (or `CTI_LONG=1`: 200) for the long run.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cti_core::history::{History, HistoryConfig};
use cti_core::hooks::{generate_token, Listener, ListenerConfig};
use rand::{Rng, SeedableRng};

const CHILD_DB: &str = "CTI_CRASH_CHILD_DB";
const CHILD_TOKEN: &str = "CTI_CRASH_CHILD_TOKEN";
const CHILD_TEST: &str = "child_listener_process";
/// Concurrent senders in the flood.
const SENDERS: usize = 4;

/// Not a test on its own: the listener the crash test runs in a child process (returns at once
/// unless the parent set `CTI_CRASH_CHILD_DB`).
#[test]
fn child_listener_process() {
    let (Ok(db), Ok(token)) = (std::env::var(CHILD_DB), std::env::var(CHILD_TOKEN)) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let history = match History::open(&db, &HistoryConfig::default()) {
            Ok(h) => h,
            Err(e) => {
                println!("OPEN_FAILED {e}");
                return;
            }
        };
        let cfg = ListenerConfig {
            port: 0,
            token,
            ..ListenerConfig::default()
        };
        let listener = Listener::start(cfg, Arc::new(history))
            .await
            .expect("listener starts");
        println!("READY {}", listener.local_addr().port());
        // Serve until killed (bounded, in case the parent died first).
        tokio::time::sleep(Duration::from_secs(120)).await;
    });
}

fn create_inc_call(session: &str, i: u64) -> String {
    serde_json::json!({
        "SessionID": session,
        "HookType": "CreateIncCall",
        "StartTime": "2021-01-28 14:15:22",
        "CityNumber": "4950665310",
        "Caller": format!("958{:07}", i % 10_000_000),
        "Called": "4950665310",
        "Redirecting": "84950665310"
    })
    .to_string()
}

/// Start a child; returns it and its port, or why it did not become ready.
fn spawn_child(exe: &std::path::Path, db: &std::path::Path, token: &str) -> (Child, u16) {
    let mut child = Command::new(exe)
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, db)
        .env(CHILD_TOKEN, token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let mut rd = BufReader::new(stdout);
        loop {
            line.clear();
            match rd.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                // The harness prints "test child_listener_process ... " before our line.
                Ok(_) => {
                    if let Some(at) = line.find("READY ").or_else(|| line.find("OPEN_FAILED")) {
                        let _ = tx.send(line[at..].trim().to_string());
                    }
                }
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the child never became ready")
        });
    let port = line
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the store did not reopen cleanly after a kill: {line}")
        });
    (child, port)
}

#[test]
fn acknowledged_webhooks_survive_kill_9_of_the_listener() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    let rounds = common::knobs::env_u64("CTI_CRASH_ROUNDS", 20, 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("history.db");
    let token = generate_token();
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC7A5);
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("http client");
    let started = Instant::now();
    let mut refused_or_failed = 0usize;
    for round in 0..rounds {
        let (mut child, port) = spawn_child(&exe, &db, &token);
        let url = format!("http://127.0.0.1:{port}/hooks/{token}/calls");
        // Kill mostly mid-flood, sometimes right after start-up.
        let kill_after = if rng.random_bool(0.85) {
            Duration::from_millis(rng.random_range(50..400))
        } else {
            Duration::from_millis(rng.random_range(0..30))
        };
        let failed = rt.block_on(async {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut tasks = Vec::new();
            for w in 0..SENDERS {
                let (http, url, acked, stop) =
                    (http.clone(), url.clone(), acked.clone(), stop.clone());
                tasks.push(tokio::spawn(async move {
                    let mut failed = 0usize;
                    for i in 0..100_000u64 {
                        if stop.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        let session = format!("r{round}-w{w}-{i}");
                        let body = create_inc_call(&session, i);
                        match http.post(&url).body(body).send().await {
                            Ok(r) if r.status().is_success() => acked.lock().unwrap().push(session),
                            Ok(r) => panic!("{session}: unexpected status {}", r.status()),
                            // The child is gone: stop sending.
                            Err(_) => {
                                failed += 1;
                                break;
                            }
                        }
                    }
                    failed
                }));
            }
            tokio::time::sleep(kill_after).await;
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut failed = 0;
            for t in tasks {
                failed += t.await.expect("sender");
            }
            failed
        });
        refused_or_failed += failed;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() as u64 >= rounds,
        "too few requests were acknowledged ({}) to mean anything",
        acked.len()
    );
    // The store opens cleanly, passes integrity_check and holds every acknowledged request.
    let t = Instant::now();
    let h = History::open(&db, &HistoryConfig::default()).expect("reopens cleanly");
    let reopen = t.elapsed();
    let r = h.reader().expect("reader");
    assert!(
        r.integrity_check()
            .expect("integrity_check runs")
            .is_empty(),
        "integrity_check failed after kill -9"
    );
    let conn = r.connection().expect("connection");
    let mut stmt = conn
        .prepare(
            "SELECT count(*) FROM call_source WHERE source = 'webhook' AND source_call_id = ?1",
        )
        .expect("prepare");
    let missing: Vec<&String> = acked
        .iter()
        .filter(|s| {
            stmt.query_row([s.as_str()], |r| r.get::<_, i64>(0))
                .unwrap_or(0)
                != 1
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged webhooks lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    common::measure("crash_listener", "rounds", rounds);
    common::measure("crash_listener", "acknowledged", acked.len());
    common::measure("crash_listener", "unanswered_at_kill", refused_or_failed);
    common::measure("crash_listener", "reopen_ms", reopen.as_millis());
    common::measure("crash_listener", "total_s", started.elapsed().as_secs());
}
