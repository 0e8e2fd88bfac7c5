//! The request inspector: every request received and every reply sent, kept for a window, and
//! the log of rejected requests.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use ts_rs::TS;

use super::config::InspectorSettings;
use crate::sink::RejectedRequest;

/// Which listener route a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Route {
    /// `POST /hooks/{token}/calls`: seed-004 JSON call webhooks.
    Calls,
    /// `GET|POST /hooks/{token}/telphin`: Telphin extension events.
    Telphin,
    /// `GET|POST /hooks/{token}/ivr`: Call Interactive.
    Ivr,
    /// `POST /hooks/{token}/team`: callback-list claims from the other panels of the team.
    Team,
    /// `GET /health`.
    Health,
    /// Anything else, including a wrong token.
    Unknown,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Calls => "calls",
            Route::Telphin => "telphin",
            Route::Ivr => "ivr",
            Route::Team => "team",
            Route::Health => "health",
            Route::Unknown => "unknown",
        }
    }
}

/// One request and the reply it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InspectorEntry {
    #[ts(type = "number")]
    pub id: u64,
    #[ts(type = "number")]
    pub received_ms: i64,
    /// Peer address.
    pub remote: String,
    pub method: String,
    pub route: Route,
    /// Path with the token replaced by `***`.
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    /// Body as received (lossy UTF-8).
    pub body: String,
    pub status: u16,
    pub reply_content_type: Option<String>,
    /// The reply body (the Call Interactive XML included).
    pub reply_body: String,
    /// What happened: `stored 2, duplicates 0`, the rejection reason, who decided an IVR reply.
    pub note: String,
    /// Set when this entry is a replay of an earlier one.
    #[ts(type = "number | null")]
    pub replay_of: Option<u64>,
    /// Time from the full request to the reply, microseconds.
    #[ts(type = "number")]
    pub elapsed_us: u64,
}

/// What happened to a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyState {
    Complete(Bytes),
    /// Over the body limit (what was read so far is dropped).
    TooLarge,
    /// Not received within the body timeout.
    TimedOut,
    /// The connection failed while reading.
    Failed(String),
}

/// A request as the handler sees it; kept for replay.
#[derive(Debug, Clone)]
pub(crate) struct IncomingRequest {
    pub received_ms: i64,
    pub remote: SocketAddr,
    pub method: String,
    pub route: Route,
    /// Path with the token replaced by `***`.
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub body: BodyState,
}

impl IncomingRequest {
    pub fn body_bytes(&self) -> &[u8] {
        match &self.body {
            BodyState::Complete(b) => b,
            _ => &[],
        }
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.body_bytes()).into_owned()
    }
}

struct Stored {
    entry: InspectorEntry,
    request: IncomingRequest,
}

/// The inspector of one listener. Cheap to share through the handle.
pub struct Inspector {
    settings: InspectorSettings,
    next: AtomicU64,
    entries: Mutex<VecDeque<Stored>>,
    rejected: Mutex<VecDeque<RejectedRequest>>,
    live: broadcast::Sender<InspectorEntry>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Inspector {
    pub(crate) fn new(settings: InspectorSettings) -> Inspector {
        Inspector {
            settings,
            next: AtomicU64::new(1),
            entries: Mutex::new(VecDeque::new()),
            rejected: Mutex::new(VecDeque::new()),
            live: broadcast::channel(256).0,
        }
    }

    fn purge(&self, entries: &mut VecDeque<Stored>, now_ms: i64) {
        let window_ms =
            i64::try_from(self.settings.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        while entries
            .front()
            .is_some_and(|s| now_ms.saturating_sub(s.entry.received_ms) > window_ms)
        {
            entries.pop_front();
        }
        while entries.len() > self.settings.capacity {
            entries.pop_front();
        }
    }

    /// Keep a request and its reply; returns the entry with its id.
    pub(crate) fn record(
        &self,
        mut entry: InspectorEntry,
        request: IncomingRequest,
    ) -> InspectorEntry {
        entry.id = self.next.fetch_add(1, Ordering::Relaxed);
        let _ = self.live.send(entry.clone());
        if self.settings.capacity > 0 {
            let mut entries = lock(&self.entries);
            entries.push_back(Stored {
                entry: entry.clone(),
                request,
            });
            self.purge(&mut entries, chrono::Utc::now().timestamp_millis());
        }
        entry
    }

    pub(crate) fn reject(&self, r: RejectedRequest) {
        let mut log = lock(&self.rejected);
        log.push_back(r);
        while log.len() > self.settings.rejected_capacity {
            log.pop_front();
        }
    }

    pub(crate) fn request(&self, id: u64) -> Option<IncomingRequest> {
        lock(&self.entries)
            .iter()
            .find(|s| s.entry.id == id)
            .map(|s| s.request.clone())
    }

    /// Entries inside the window, oldest first.
    pub fn entries(&self) -> Vec<InspectorEntry> {
        let mut entries = lock(&self.entries);
        self.purge(&mut entries, chrono::Utc::now().timestamp_millis());
        entries.iter().map(|s| s.entry.clone()).collect()
    }

    pub fn get(&self, id: u64) -> Option<InspectorEntry> {
        lock(&self.entries)
            .iter()
            .find(|s| s.entry.id == id)
            .map(|s| s.entry.clone())
    }

    /// Each new entry as it is recorded (for a live view).
    pub fn subscribe(&self) -> broadcast::Receiver<InspectorEntry> {
        self.live.subscribe()
    }

    /// Rejected requests, oldest first.
    pub fn rejected(&self) -> Vec<RejectedRequest> {
        lock(&self.rejected).iter().cloned().collect()
    }

    pub fn clear(&self) {
        lock(&self.entries).clear();
        lock(&self.rejected).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(received_ms: i64) -> InspectorEntry {
        InspectorEntry {
            id: 0,
            received_ms,
            remote: "127.0.0.1:1".into(),
            method: "GET".into(),
            route: Route::Health,
            path: "/health".into(),
            query: String::new(),
            content_type: None,
            body: String::new(),
            status: 200,
            reply_content_type: None,
            reply_body: String::new(),
            note: String::new(),
            replay_of: None,
            elapsed_us: 0,
        }
    }

    fn request() -> IncomingRequest {
        IncomingRequest {
            received_ms: 0,
            remote: SocketAddr::from(([127, 0, 0, 1], 1)),
            method: "GET".into(),
            route: Route::Health,
            path: "/health".into(),
            query: String::new(),
            content_type: None,
            body: BodyState::Complete(Bytes::new()),
        }
    }

    #[test]
    fn ring_buffer_keeps_the_newest_inside_the_window() {
        let now = chrono::Utc::now().timestamp_millis();
        let i = Inspector::new(InspectorSettings {
            capacity: 3,
            window_secs: 60,
            rejected_capacity: 1,
        });
        let old = i.record(entry(now - 120_000), request());
        assert!(i.get(old.id).is_none(), "outside the window");
        let ids: Vec<u64> = (0..5).map(|_| i.record(entry(now), request()).id).collect();
        let kept: Vec<u64> = i.entries().iter().map(|e| e.id).collect();
        assert_eq!(kept, ids[2..].to_vec());
        assert!(i.request(ids[4]).is_some());
        assert!(i.request(ids[0]).is_none());
        for n in 0..3 {
            i.reject(RejectedRequest {
                received_ms: n,
                remote: String::new(),
                method: String::new(),
                path: String::new(),
                status: 400,
                reason: String::new(),
                body: String::new(),
            });
        }
        assert_eq!(i.rejected().len(), 1);
        assert_eq!(i.rejected()[0].received_ms, 2);
        i.clear();
        assert!(i.entries().is_empty() && i.rejected().is_empty());
    }
}
