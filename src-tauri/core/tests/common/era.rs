//! An Era "panel" under test: a session against the simulator (directly or through the
//! [`super::proxy::FaultProxy`]) whose events are stored in a real history file, with the end
//! state every fault scenario must reach:
//!
//! - connected and subscribed: the platform holds exactly the panel's three subscriptions, on
//!   one live connection;
//! - IVR control re-acquired: the platform names that connection as the controller;
//! - the right calls: each expected call has exactly one `Created` (one popup) and, when over,
//!   exactly one `Ended`; no dedup key was emitted twice;
//! - the history has every call exactly once (one `call` row per Era `cid`, nothing else).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cti_core::era::{self, AcceptOutcome, EraConfig, EraEvent, EraHandle, IvrEvent};
use cti_core::history::{History, HistoryConfig};
use cti_core::model::{CallEvent, CallEventKind, ConnectionState, Source};
use cti_core::sink::RawRecord;
use cti_sim::era::render::EraIds;
use cti_sim::world::Direction;
use cti_sim::{Sim, SimConfig};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::knobs;

/// How long any single wait in a scenario may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A simulator at real-time speed (so the platform's subscription expiry and the client's
/// renewal share one clock) on `port` (0: any), with quick `dlg_stop` and components.
pub async fn sim_on(port: u16, tweak: impl FnOnce(&mut SimConfig)) -> Sim {
    let mut cfg = SimConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], port)),
        speed: 1.0,
        ..SimConfig::default()
    };
    cfg.era.dlg_stop_delay_ms = 50;
    cfg.era.play_secs = 2;
    tweak(&mut cfg);
    // A restarted platform binds the port its predecessor just left: retry briefly.
    let mut last = None;
    for _ in 0..50 {
        match Sim::start(cfg.clone()).await {
            Ok(s) => return s,
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("simulator did not start: {last:?}");
}

/// Client settings for user 101 at `base_url` (the simulator or the proxy in front of it).
///
/// Short versions use a quick backoff (base 250 ms, cap 2 s) and a 1 s ping with a 1.5 s pong
/// deadline so that dead links are found in seconds; `CTI_PRODUCTION_TIMINGS=1` (set by the
/// long-tests script) keeps the shipped defaults for the backoff (1 s, cap 30 s).
pub fn client_cfg(base_url: &str) -> EraConfig {
    let production = std::env::var("CTI_PRODUCTION_TIMINGS").is_ok_and(|v| v == "1");
    let (base, cap) = if production {
        (1_000, 30_000)
    } else {
        (250, 2_000)
    };
    EraConfig {
        backoff_base_ms: base,
        backoff_cap_ms: cap,
        ping_interval_ms: 1_000,
        pong_timeout_ms: 1_500,
        request_timeout_ms: 4_000,
        connect_timeout_ms: 3_000,
        rest_timeout_ms: 4_000,
        objects: vec!["101".into(), "800".into()],
        inspector_frames: false,
        ..EraConfig::for_server(base_url, "101", "era-user-101")
    }
}

/// The Era `cid` of a simulator call.
pub fn cid(sim: &Sim, world_id: &str) -> String {
    let call = sim.world().call(world_id).expect("call exists");
    EraIds::of(&call, &sim.ctx.config.era.domain).cid
}

/// An inbound call from `from` ringing extension 101; returns (world id, leg id).
pub fn ringing(sim: &Sim, from: &str) -> (String, String) {
    let c = sim
        .world()
        .create_call(Direction::Inbound, from, None, "101", None);
    let leg = sim.world().ring(&c.id, "101").expect("ring");
    (c.id, leg)
}

/// An inbound call from `from` answered by 101; returns the world id.
pub fn answered(sim: &Sim, from: &str) -> String {
    let (id, leg) = ringing(sim, from);
    sim.world().answer(&id, &leg).expect("answer");
    id
}

#[derive(Default)]
struct Counters {
    processed: AtomicUsize,
    stored: AtomicUsize,
    duplicates: AtomicUsize,
    errors: AtomicUsize,
}

/// The panel under test.
pub struct Panel {
    pub handle: EraHandle,
    pub history: History,
    log: Arc<Mutex<Vec<EraEvent>>>,
    changed: Arc<Notify>,
    counters: Arc<Counters>,
    _dir: tempfile::TempDir,
}

impl Panel {
    /// Start a session with `cfg`; its call events go to a fresh history file.
    pub async fn start(cfg: EraConfig) -> Panel {
        let dir = tempfile::tempdir().expect("temp dir");
        let history = History::open(dir.path().join("history.db"), &HistoryConfig::default())
            .expect("history opens");
        let (handle, mut events) = era::start(cfg).expect("session starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let changed = Arc::new(Notify::new());
        let counters = Arc::new(Counters::default());
        let (log2, changed2, counters2, h2) = (
            log.clone(),
            changed.clone(),
            counters.clone(),
            history.clone(),
        );
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                let call = match &ev {
                    EraEvent::Call { event } => Some(event.clone()),
                    _ => None,
                };
                log2.lock().unwrap().push(ev);
                changed2.notify_waiters();
                if let Some(event) = call {
                    let raw = RawRecord {
                        source: Source::Era,
                        received_ms: chrono::Utc::now().timestamp_millis(),
                        what: "era notify".into(),
                        body: event.dedup_key.clone(),
                    };
                    match h2.store(Some(raw), vec![event]).await {
                        Ok(a) => {
                            counters2
                                .stored
                                .fetch_add(a.stored as usize, Ordering::SeqCst);
                            counters2
                                .duplicates
                                .fetch_add(a.duplicates as usize, Ordering::SeqCst);
                        }
                        Err(e) => {
                            eprintln!("history store failed: {e}");
                            counters2.errors.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    counters2.processed.fetch_add(1, Ordering::SeqCst);
                    changed2.notify_waiters();
                }
            }
        });
        Panel {
            handle,
            history,
            log,
            changed,
            counters,
            _dir: dir,
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.handle.state().borrow().clone()
    }

    /// Wait until the state matches; returns how long it took.
    pub async fn wait_state(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&ConnectionState) -> bool,
    ) -> Duration {
        let t0 = Instant::now();
        let mut st = self.handle.state();
        let r = tokio::time::timeout(within, st.wait_for(|s| pred(s)))
            .await
            .map(|r| r.is_ok());
        match r {
            Ok(true) => t0.elapsed(),
            Ok(false) => panic!("state channel closed while waiting for {what}"),
            Err(_) => panic!(
                "timed out after {within:?} waiting for {what}; state {:?}",
                self.state()
            ),
        }
    }

    pub async fn wait_connected(&self, within: Duration) -> Duration {
        self.wait_state("Connected", within, |s| {
            matches!(s, ConnectionState::Connected { .. })
        })
        .await
    }

    /// `since_ms` of the current connection, when connected.
    pub fn connected_since(&self) -> Option<i64> {
        match self.state() {
            ConnectionState::Connected { since_ms } => Some(since_ms),
            _ => None,
        }
    }

    /// Wait for a connection newer than the one connected at `prev` (ms); returns how long
    /// it took.
    pub async fn wait_reconnected(&self, prev: Option<i64>, within: Duration) -> Duration {
        let prev = prev.unwrap_or(i64::MIN);
        self.wait_state(
            "a new connection",
            within,
            |s| matches!(s, ConnectionState::Connected { since_ms } if *since_ms > prev),
        )
        .await
    }

    pub async fn wait_offline(&self, within: Duration) -> Duration {
        self.wait_state("the link to be declared lost", within, |s| {
            !matches!(s, ConnectionState::Connected { .. })
        })
        .await
    }

    /// Number of events so far (a mark for [`Panel::wait_since`]).
    pub fn mark(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn events(&self) -> Vec<EraEvent> {
        self.log.lock().unwrap().clone()
    }

    /// The first event at or after `mark` matching `pred`.
    pub async fn wait_since(
        &self,
        mark: usize,
        what: &str,
        pred: impl Fn(&EraEvent) -> bool,
    ) -> EraEvent {
        let deadline = Instant::now() + WAIT;
        loop {
            let notified = self.changed.notified();
            if let Some(e) = self.log.lock().unwrap()[mark..].iter().find(|e| pred(e)) {
                return e.clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out waiting for {what}; state {:?}; calls seen: {:#?}",
                    self.state(),
                    self.calls()
                        .iter()
                        .map(|c| (&c.call_id, kind_name(&c.kind)))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    pub async fn wait_call(
        &self,
        mark: usize,
        what: &str,
        pred: impl Fn(&CallEvent) -> bool,
    ) -> CallEvent {
        match self
            .wait_since(
                mark,
                what,
                |e| matches!(e, EraEvent::Call { event } if pred(event)),
            )
            .await
        {
            EraEvent::Call { event } => event,
            _ => unreachable!(),
        }
    }

    pub async fn wait_ivr(
        &self,
        mark: usize,
        what: &str,
        pred: impl Fn(&IvrEvent) -> bool,
    ) -> IvrEvent {
        match self
            .wait_since(
                mark,
                what,
                |e| matches!(e, EraEvent::Ivr { event } if pred(event)),
            )
            .await
        {
            EraEvent::Ivr { event } => event,
            _ => unreachable!(),
        }
    }

    /// Call events seen so far.
    pub fn calls(&self) -> Vec<CallEvent> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                EraEvent::Call { event } => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    /// Wait until the call `cid` was created (and ended, when `ended`).
    pub async fn wait_call_state(&self, cid: &str, ended: bool) {
        let c = cid.to_string();
        self.wait_call(0, &format!("Created of {cid}"), |e| {
            e.call_id == c && matches!(e.kind, CallEventKind::Created { .. })
        })
        .await;
        if ended {
            self.wait_call(0, &format!("Ended of {cid}"), |e| {
                e.call_id == c && matches!(e.kind, CallEventKind::Ended { .. })
            })
            .await;
        }
    }

    /// Take control of the next IVR session offered after `mark`; returns (key, ivrid).
    pub async fn take_ivr(&self, mark: usize) -> (String, String) {
        let offer = match self
            .wait_ivr(mark, "an IVR offer", |e| {
                matches!(e, IvrEvent::Offered { .. })
            })
            .await
        {
            IvrEvent::Offered { offer } => offer,
            _ => unreachable!(),
        };
        let outcome = self
            .handle
            .ivr_accept(&offer.key, &offer.ivrid)
            .await
            .expect("ivr_accept answered");
        assert_eq!(outcome, AcceptOutcome::Accepted);
        (offer.key, offer.ivrid)
    }

    /// Wait until every call event so far went through the history store.
    pub async fn history_caught_up(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let notified = self.changed.notified();
            let emitted = self.calls().len();
            if self.counters.processed.load(Ordering::SeqCst) >= emitted {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("the history did not catch up with {emitted} call events");
            }
        }
    }

    /// No duplicate popups, no event twice: every dedup key once; per call at most one
    /// `Created` and at most one `Ended`.
    pub fn check_no_duplicates(&self) {
        let calls = self.calls();
        let mut keys = HashSet::new();
        let mut dup_keys = Vec::new();
        let mut created: BTreeMap<&str, usize> = BTreeMap::new();
        let mut ended: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &calls {
            if !keys.insert(e.dedup_key.as_str()) {
                dup_keys.push(e.dedup_key.clone());
            }
            match e.kind {
                CallEventKind::Created { .. } => *created.entry(&e.call_id).or_default() += 1,
                CallEventKind::Ended { .. } => *ended.entry(&e.call_id).or_default() += 1,
                _ => {}
            }
        }
        assert!(
            dup_keys.is_empty(),
            "dedup keys emitted twice: {dup_keys:?}"
        );
        let twice: Vec<_> = created.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "calls created (popped up) twice: {twice:?}"
        );
        let twice: Vec<_> = ended.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "calls ended twice: {twice:?}");
    }

    /// The panel shows exactly these calls (by Era `cid`), `ended` ones as over and the others
    /// as live; nothing else was created.
    pub fn check_calls(&self, live: &[String], ended: &[String]) {
        let calls = self.calls();
        let created: BTreeSet<String> = calls
            .iter()
            .filter(|e| matches!(e.kind, CallEventKind::Created { .. }))
            .map(|e| e.call_id.clone())
            .collect();
        let over: BTreeSet<String> = calls
            .iter()
            .filter(|e| matches!(e.kind, CallEventKind::Ended { .. }))
            .map(|e| e.call_id.clone())
            .collect();
        let expected: BTreeSet<String> = live.iter().chain(ended).cloned().collect();
        assert_eq!(created, expected, "the calls the panel created");
        for c in ended {
            assert!(
                over.contains(c),
                "call {c} is over but the panel never ended it"
            );
        }
        for c in live {
            assert!(!over.contains(c), "call {c} is live but the panel ended it");
        }
    }

    /// The whole end state: no duplicate popup or event, exactly these calls (`live` ones
    /// live, `ended` ones over), each once in the history and nothing else there.
    pub async fn check_end_state(&self, live: &[String], ended: &[String]) {
        self.check_no_duplicates();
        self.check_calls(live, ended);
        let all: Vec<String> = live.iter().chain(ended).cloned().collect();
        self.check_history(&all).await;
    }

    /// Every expected call exactly once in the history, and no other call.
    pub async fn check_history(&self, expected: &[String]) {
        self.history_caught_up().await;
        assert_eq!(
            self.counters.errors.load(Ordering::SeqCst),
            0,
            "history store errors"
        );
        assert_eq!(
            self.counters.duplicates.load(Ordering::SeqCst),
            0,
            "the history saw events twice"
        );
        let expected: Vec<String> = expected.to_vec();
        let (per_call, total) = self
            .history
            .read(move |r| {
                let conn = r.connection()?;
                let mut per = Vec::new();
                for cid in &expected {
                    let n: i64 = conn.query_row(
                        "SELECT count(DISTINCT call_id) FROM call_source WHERE source = 'era' AND source_call_id = ?1",
                        [cid],
                        |row| row.get(0),
                    )?;
                    per.push((cid.clone(), n));
                }
                let total: i64 =
                    conn.query_row("SELECT count(*) FROM call WHERE sources & 1 = 1", [], |row| {
                        row.get(0)
                    })?;
                Ok((per, total))
            })
            .await
            .expect("history query");
        for (cid, n) in &per_call {
            assert_eq!(*n, 1, "call {cid} is in the history {n} times");
        }
        assert_eq!(
            total as usize,
            per_call.len(),
            "the history has calls nobody made"
        );
    }
}

/// The platform side of "connected + subscribed (+ IVR control)": the newest connection holds
/// exactly the panel's three subscriptions and controls `ivr_key` when given; with `exclusive`,
/// no other connection holds any (waits, bounded, for abandoned connections to go away).
/// Returns that connection.
pub async fn check_platform(sim: &Sim, ivr_key: Option<&str>, exclusive: bool) -> u64 {
    let ctl = cti_sim::era::control(&sim.ctx);
    let deadline = Instant::now() + WAIT;
    loop {
        let subs = ctl.subscriptions();
        let newest = subs.iter().map(|(c, _)| *c).max();
        let on_newest = subs.iter().filter(|(c, _)| Some(*c) == newest).count();
        let ok_subs = on_newest == 3 && (!exclusive || subs.len() == 3);
        let ok_ivr = match (ivr_key, newest) {
            (None, _) => true,
            (Some(k), Some(c)) => ctl.ivr_controller(k) == Some((Some(c), true)),
            (Some(_), None) => false,
        };
        if ok_subs && ok_ivr {
            return newest.unwrap_or_default();
        }
        if Instant::now() > deadline {
            panic!(
                "platform state: subscriptions {subs:?}, IVR controller {:?}",
                ivr_key.map(|k| ctl.ivr_controller(k))
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Number of frames named `what` the simulator received.
pub fn received(sim: &Sim, what: &str) -> usize {
    sim.journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, what)
        .iter()
        .filter(|e| e.what == what)
        .count()
}

pub fn kind_name(k: &CallEventKind) -> &'static str {
    match k {
        CallEventKind::Created { .. } => "created",
        CallEventKind::LegRinging { .. } => "leg_ringing",
        CallEventKind::LegEnded { .. } => "leg_ended",
        CallEventKind::Answered { .. } => "answered",
        CallEventKind::Held => "held",
        CallEventKind::Resumed => "resumed",
        CallEventKind::Transferred { .. } => "transferred",
        CallEventKind::Ended { .. } => "ended",
        CallEventKind::Parked { .. } => "parked",
        CallEventKind::Unparked { .. } => "unparked",
        CallEventKind::RecordingAvailable { .. } => "recording",
        CallEventKind::Dtmf { .. } => "dtmf",
        CallEventKind::Ivr { .. } => "ivr",
    }
}

/// Short (default) or long duration of a fault, seconds, from `var` / `CTI_LONG`.
pub fn fault_secs(var: &str, short: u64, long: u64) -> Duration {
    Duration::from_secs(knobs::env_u64(var, short, long))
}
