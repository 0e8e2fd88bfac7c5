//! The panel's process really stopped (SIGSTOP, as a debugger, a frozen VM or `kill -STOP` do)
//! and continued (SIGCONT). A child process (this test binary, re-executed) holds the Era session
//! and the history store, with IVR control of a call; the simulator stays in this process. While
//! the child is stopped a call ends and another begins; after SIGCONT the child must show both
//! right, hold IVR control on the connection the platform knows, get live events and DTMF, and
//! have every call exactly once in its history, with no duplicate popup.
//!
//! The child reports on stdout (`@@ ...` lines) and runs the end-state checks of `common::era`
//! itself when told to on stdin.
//!
//! Scenarios: stopped for 4 s (`CTI_SIGSTOP_SECS`, or `CTI_LONG=1`: 120 s, the two
//! minutes) with the usual subscription lifetime; stopped for longer than the subscriptions live
//! (2 s lifetime, rare pings: the link survives, the platform lets them lapse), where the panel
//! must notice the lapse and reconcile on the same connection.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::era::*;
use common::measure;
use cti_core::era::{EraEvent, IvrEvent};
use cti_core::model::{CallEventKind, ConnectionState};
use serde_json::json;

const CHILD_URL: &str = "CTI_SIGSTOP_CHILD_URL";
const CHILD_EXPIRES: &str = "CTI_SIGSTOP_CHILD_EXPIRES";
const CHILD_PING_MS: &str = "CTI_SIGSTOP_CHILD_PING_MS";
const CHILD_TEST: &str = "child_panel_process";
/// Any one wait of the parent (the goal after the fault clears is ≤ 30 s).
const BOUND: Duration = Duration::from_secs(30);

/// Not a test on its own: the panel the SIGSTOP tests run in a child process (returns at once
/// unless the parent set `CTI_SIGSTOP_CHILD_URL`).
#[test]
fn child_panel_process() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let mut cfg = client_cfg(&url);
    if let Some(e) = env(CHILD_EXPIRES) {
        cfg.expires_secs = e;
    }
    if let Some(p) = env(CHILD_PING_MS) {
        cfg.ping_interval_ms = p;
        cfg.pong_timeout_ms = p;
        cfg.request_timeout_ms = cfg.request_timeout_ms.max(p);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(child_main(cfg));
}

async fn child_main(cfg: cti_core::era::EraConfig) {
    let panel = Arc::new(Panel::start(cfg).await);
    // Report connection states and events as they come; accept every IVR offer.
    let p = panel.clone();
    tokio::spawn(async move {
        let mut st = p.handle.state();
        loop {
            let line = match &*st.borrow_and_update() {
                ConnectionState::Connected { since_ms } => format!("STATE connected {since_ms}"),
                other => format!("STATE other {other:?}"),
            };
            println!("@@ {line}");
            if st.changed().await.is_err() {
                return;
            }
        }
    });
    let p = panel.clone();
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let events = p.events();
            for e in &events[seen..] {
                match e {
                    EraEvent::Call { event } => match event.kind {
                        CallEventKind::Created { .. } => {
                            println!("@@ CALL created {}", event.call_id)
                        }
                        CallEventKind::Ended { .. } => println!("@@ CALL ended {}", event.call_id),
                        _ => {}
                    },
                    EraEvent::Ivr {
                        event: IvrEvent::Offered { offer },
                    } => match p.handle.ivr_accept(&offer.key, &offer.ivrid).await {
                        Ok(outcome) => println!("@@ IVR accepted {} {outcome:?}", offer.key),
                        Err(e) => println!("@@ IVR refused {} {e}", offer.key),
                    },
                    EraEvent::Ivr {
                        event: IvrEvent::Dtmf { digit, .. },
                    } => println!("@@ IVR dtmf {digit}"),
                    _ => {}
                }
            }
            seen = events.len();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // Commands from the parent: `check <live cids,> <ended cids,>`; end of input ends the child.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("check") {
            continue;
        }
        let list = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or_default()
                .split(',')
                .filter(|c| !c.is_empty() && *c != "-")
                .map(str::to_string)
                .collect()
        };
        let (live, ended) = (list(parts.next()), list(parts.next()));
        // A failed check panics: the child exits without CHECKED and its stderr says why.
        panel.check_end_state(&live, &ended).await;
        println!("@@ CHECKED");
    }
}

/// The child seen from the parent: its process, what it reported, its stdin.
struct PanelProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: tempfile::NamedTempFile,
}

impl PanelProcess {
    fn spawn(url: &str, env: &[(&str, String)]) -> PanelProcess {
        let stderr = tempfile::NamedTempFile::new().expect("temp file");
        let exe = std::env::current_exe().expect("test binary");
        let mut cmd = Command::new(exe);
        cmd.args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_URL, url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("child starts");
        let stdout = child.stdout.take().expect("child stdout");
        let stdin = child.stdin.take();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The harness may print "test child_panel_process ... " before our first line.
                if let Some(at) = line.find("@@ ") {
                    l2.lock().unwrap().push(line[at + 3..].trim().to_string());
                }
            }
            l2.lock().unwrap().push("EOF".into());
        });
        PanelProcess {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    fn mark(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// The first line at or after `mark` matching `pred`; fails after `within` or at EOF.
    async fn wait(&self, mark: usize, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            let (found, seen, eof) = {
                let lines = self.lines.lock().unwrap();
                let found = lines[mark.min(lines.len())..]
                    .iter()
                    .find(|l| pred(l))
                    .cloned();
                (
                    found,
                    lines.join("\n  "),
                    lines.last().is_some_and(|l| l == "EOF"),
                )
            };
            if let Some(l) = found {
                return l;
            }
            if Instant::now() >= deadline || eof {
                panic!(
                    "the panel process never reported {what}; it reported:\n  {seen}\nits stderr:\n{}",
                    self.stderr_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_line(&self, what: &str) -> String {
        self.wait(0, what, |l| l == what).await
    }

    fn stderr_text(&self) -> String {
        let s = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
        let tail: Vec<&str> = s.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    fn signal(&self, sig: libc::c_int) -> std::io::Result<()> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(std::io::Error::other)?;
        // SAFETY: kill(2) with the pid of our own child, which has not been reaped yet.
        if unsafe { libc::kill(pid, sig) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("child reads");
        stdin.flush().expect("flush");
    }

    /// Run the end-state checks in the child.
    async fn check(&mut self, live: &[String], ended: &[String]) {
        let join = |v: &[String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(",")
            }
        };
        let m = self.mark();
        self.send(&format!("check {} {}", join(live), join(ended)));
        self.wait(m, "CHECKED (the end-state checks passed)", |l| {
            l == "CHECKED"
        })
        .await;
    }

    async fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(
                    status.success(),
                    "the panel process failed: {}",
                    self.stderr_text()
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        panic!("the panel process did not end: {}", self.stderr_text());
    }
}

impl Drop for PanelProcess {
    fn drop(&mut self) {
        // Never leave a stopped child behind when a check fails.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.signal(libc::SIGCONT);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Stop the panel's process for `pause`; `act_after` into it a call ends and another begins;
/// continue it and check the end state. Returns the simulator (for scenario-specific checks).
async fn stopped_and_continued(
    scenario: &str,
    pause: Duration,
    act_after: Duration,
    env: &[(&str, String)],
) -> cti_sim::Sim {
    let sim = sim_on(0, |_| {}).await;
    let mut panel = PanelProcess::spawn(&format!("http://{}", sim.addr), env);
    panel
        .wait(0, "a connection", |l| l.starts_with("STATE connected"))
        .await;
    let ivr_call = answered(&sim, "+79000000090");
    panel
        .wait_line(&format!("CALL created {}", cid(&sim, &ivr_call)))
        .await;
    cti_sim::era::offer_ivr_control(&sim.ctx, &ivr_call, "800", json!({"lang": "ru"}));
    let accepted = panel
        .wait(0, "IVR control", |l| l.starts_with("IVR accepted"))
        .await;
    assert!(accepted.ends_with("Accepted"), "{accepted}");
    let key = accepted.split_whitespace().nth(2).expect("key").to_string();
    check_platform(&sim, Some(&key), true).await;
    let ends = answered(&sim, "+79000000091");
    panel
        .wait_line(&format!("CALL created {}", cid(&sim, &ends)))
        .await;

    let m = panel.mark();
    panel.signal(libc::SIGSTOP).expect("SIGSTOP");
    let stopped = Instant::now();
    tokio::time::sleep(act_after).await;
    sim.world().hangup(&ends, "200").expect("hangup");
    let starts = answered(&sim, "+79000000092");
    tokio::time::sleep(pause.saturating_sub(stopped.elapsed())).await;
    assert_eq!(panel.mark(), m, "a stopped process reported something");
    panel.signal(libc::SIGCONT).expect("SIGCONT");
    let t0 = Instant::now();
    panel
        .wait(m, "the end of the call that ended meanwhile", |l| {
            l == format!("CALL ended {}", cid(&sim, &ends))
        })
        .await;
    panel
        .wait(m, "the call that began meanwhile", |l| {
            l == format!("CALL created {}", cid(&sim, &starts))
        })
        .await;
    measure(scenario, "pause_s", pause.as_secs());
    measure(
        scenario,
        "calls_right_after_continue_ms",
        t0.elapsed().as_millis(),
    );
    check_platform(&sim, Some(&key), false).await;
    measure(
        scenario,
        "subscribed_with_ivr_after_continue_ms",
        t0.elapsed().as_millis(),
    );

    // Live again: a new call and the controlled session's DTMF reach the panel.
    let m = panel.mark();
    let probe = answered(&sim, "+79000000093");
    panel
        .wait(m, "a live call after continuing", |l| {
            l == format!("CALL created {}", cid(&sim, &probe))
        })
        .await;
    cti_sim::era::press_dtmf(&sim.ctx, &ivr_call, "5");
    panel
        .wait(m, "DTMF after continuing", |l| l == "IVR dtmf 5")
        .await;

    let live: Vec<String> = [&ivr_call, &starts, &probe]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    panel.check(&live, &[cid(&sim, &ends)]).await;
    panel.finish().await;
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_stopped_then_continued() {
    if std::env::var(CHILD_URL).is_ok() {
        return;
    }
    let pause = fault_secs("CTI_SIGSTOP_SECS", 4, 120);
    stopped_and_continued("sigstop", pause, Duration::from_secs(1), &[]).await;
}

/// Stopped for longer than the subscriptions live, with pings too rare to call the link dead:
/// the connection survives, the platform let the subscriptions lapse and sent nothing about the
/// two calls. The panel must notice (its renewal is late, and refused) and reconcile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_stopped_longer_than_its_subscriptions_live() {
    if std::env::var(CHILD_URL).is_ok() {
        return;
    }
    let pause = fault_secs("CTI_SIGSTOP_LAPSE_SECS", 4, 30);
    let env = [
        (CHILD_EXPIRES, "2".to_string()),
        (CHILD_PING_MS, "120000".to_string()),
    ];
    // The calls change once nothing is in force any more (the last renewal came ≤ 2 s before).
    let act_after = Duration::from_millis(2_300);
    let sim = stopped_and_continued("sigstop_lapsed", pause, act_after, &env).await;
    assert_eq!(
        received(&sim, "connection_info"),
        1,
        "recovered on the same connection"
    );
}
