//! Shared helpers of the `hooks_*` integration tests: a recording event sink, a listener on
//! a loopback port, fixtures.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cti_core::hooks::{generate_token, Listener, ListenerConfig, ListenerHandle};
use cti_core::model::CallEvent;
use cti_core::sink::{Accepted, EventSink, RawRecord, RejectedRequest, SinkError};
use tokio::sync::Notify;

#[derive(Default)]
struct Recorded {
    keys: HashSet<String>,
    events: Vec<CallEvent>,
    raws: Vec<RawRecord>,
    rejected: Vec<RejectedRequest>,
    duplicates: u32,
    accepts: u32,
}

/// An in-memory sink that behaves like the store: drops duplicates by `dedup_key` and counts
/// them. It can be told to fail or to stall.
#[derive(Default)]
pub struct TestSink {
    rec: Mutex<Recorded>,
    changed: Notify,
    /// `accept` returns an error.
    pub fail: AtomicBool,
    /// `accept` waits this long first (ms).
    pub delay_ms: AtomicU64,
    /// Calls of `accept` begun (before the delay).
    entered: AtomicU32,
}

impl TestSink {
    fn rec(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.rec.lock().unwrap()
    }

    pub fn events(&self) -> Vec<CallEvent> {
        self.rec().events.clone()
    }

    pub fn raws(&self) -> Vec<RawRecord> {
        self.rec().raws.clone()
    }

    pub fn rejected(&self) -> Vec<RejectedRequest> {
        self.rec().rejected.clone()
    }

    pub fn duplicates(&self) -> u32 {
        self.rec().duplicates
    }

    pub fn accepts(&self) -> u32 {
        self.rec().accepts
    }

    /// Wait (up to 10 s) until `pred` holds for the stored events; returns them.
    pub async fn wait_events(
        &self,
        what: &str,
        pred: impl Fn(&[CallEvent]) -> bool,
    ) -> Vec<CallEvent> {
        self.wait(what, |r| pred(&r.events)).await;
        self.events()
    }

    /// Wait (up to 10 s) until `n` rejected requests were reported.
    pub async fn wait_rejected(&self, n: usize) -> Vec<RejectedRequest> {
        self.wait("rejected requests", |r| r.rejected.len() >= n)
            .await;
        self.rejected()
    }

    /// Wait (up to 10 s) until `n` batches were stored (Call Interactive steps are stored after
    /// the reply, so a test reads them only once they are in).
    pub async fn wait_accepts(&self, n: u32) {
        self.wait("stored batches", |r| r.accepts >= n).await;
    }

    /// Wait (up to 10 s) until `accept` was entered `n` times.
    pub async fn wait_entered(&self, n: u32) {
        self.wait("accept calls", |_| self.entered.load(Ordering::SeqCst) >= n)
            .await;
    }

    async fn wait(&self, what: &str, pred: impl Fn(&Recorded) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.changed.notified();
            if pred(&self.rec()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let r = self.rec();
                panic!(
                    "timed out waiting for {what}; events so far: {:#?}",
                    r.events
                );
            }
        }
    }
}

#[async_trait]
impl EventSink for TestSink {
    async fn accept(&self, raw: RawRecord, events: Vec<CallEvent>) -> Result<Accepted, SinkError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(SinkError::Storage("disk full (test)".into()));
        }
        let mut acc = Accepted::default();
        {
            let mut r = self.rec();
            r.accepts += 1;
            r.raws.push(raw);
            for e in events {
                if r.keys.insert(e.dedup_key.clone()) {
                    r.events.push(e);
                    acc.stored += 1;
                } else {
                    r.duplicates += 1;
                    acc.duplicates += 1;
                }
            }
        }
        self.changed.notify_waiters();
        Ok(acc)
    }

    async fn reject(&self, rejected: RejectedRequest) {
        self.rec().rejected.push(rejected);
        self.changed.notify_waiters();
    }
}

/// A listener config on a free loopback port with a fresh token.
pub fn config() -> ListenerConfig {
    ListenerConfig {
        port: 0,
        token: generate_token(),
        ..ListenerConfig::default()
    }
}

/// Start a listener with `config` and the given sink.
pub async fn start_with(config: ListenerConfig, sink: Arc<dyn EventSink>) -> ListenerHandle {
    Listener::start(config, sink)
        .await
        .expect("listener starts")
}

/// Start a listener with `config` and a fresh [`TestSink`].
pub async fn start(config: ListenerConfig) -> (ListenerHandle, Arc<TestSink>) {
    let sink = Arc::new(TestSink::default());
    (start_with(config, sink.clone()).await, sink)
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A fixture file's text.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The seed-004 example files, in the seed's order.
pub const SEED_004: [&str; 6] = [
    "seed004_create_inc_call.json",
    "seed004_attempt_inc_call_begin.json",
    "seed004_change_inc_call.json",
    "seed004_attempt_inc_call_end.json",
    "seed004_end_inc_call.json",
    "seed004_missed_inc_call.json",
];
