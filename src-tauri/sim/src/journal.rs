//! The simulator's log of everything it received and sent, so tests can assert what a client did.

use std::sync::{Arc, Mutex};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    EraWs,
    EraRest,
    TelphinRest,
    TelphinEvent,
    CallInteractive,
    Webhook,
    Files,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// The simulator received it from a client.
    In,
    /// The simulator sent it (reply, event or outgoing request).
    Out,
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub at_ms: i64,
    /// Wall clock (unix µs) when the entry was recorded; for an outgoing frame, just before it
    /// is written to the socket (`cti-bench screen` times the panel from it).
    pub at_us: i64,
    pub channel: Channel,
    pub dir: Dir,
    /// Short label: request line, frame name, hook type.
    pub what: String,
    /// The body or frame as text.
    pub body: String,
}

#[derive(Debug, Clone, Default)]
pub struct Journal {
    inner: Arc<Mutex<Vec<Entry>>>,
}

impl Journal {
    pub fn record(
        &self,
        channel: Channel,
        dir: Dir,
        what: impl Into<String>,
        body: impl Into<String>,
    ) {
        let at_us = chrono::Utc::now().timestamp_micros();
        let at_ms = at_us.div_euclid(1000);
        let mut v = match self.inner.lock() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        };
        let seq = v.len() as u64;
        v.push(Entry {
            seq,
            at_ms,
            at_us,
            channel,
            dir,
            what: what.into(),
            body: body.into(),
        });
    }

    pub fn entries(&self) -> Vec<Entry> {
        match self.inner.lock() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Entries of one channel and direction whose label contains `what`.
    pub fn find(&self, channel: Channel, dir: Dir, what: &str) -> Vec<Entry> {
        self.entries()
            .into_iter()
            .filter(|e| e.channel == channel && e.dir == dir && e.what.contains(what))
            .collect()
    }

    pub fn clear(&self) {
        if let Ok(mut v) = self.inner.lock() {
            v.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_carry_the_wall_clock_in_ms_and_us() {
        let j = Journal::default();
        let before = chrono::Utc::now().timestamp_micros();
        j.record(Channel::EraWs, Dir::Out, "notify", "[\"notify\",{}]");
        let after = chrono::Utc::now().timestamp_micros();
        let e = &j.find(Channel::EraWs, Dir::Out, "notify")[0];
        assert!(
            before <= e.at_us && e.at_us <= after,
            "{before} {} {after}",
            e.at_us
        );
        assert_eq!(e.at_ms, e.at_us / 1000);
        assert!(j.find(Channel::EraWs, Dir::In, "notify").is_empty());
    }
}
