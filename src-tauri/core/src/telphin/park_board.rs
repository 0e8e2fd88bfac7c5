//! The park board: which valet-park slots hold a call, who parked it and when it returns.
//!
//! Telphin returns a parked call to the extension that parked it after 3 minutes; the
//! platform reports nothing when that happens, so the board counts down itself and drops
//! the slot when the time is up. It is updated by the client's park, bridge and slot
//! queries and by `Parked`/`Unparked` events. Times are milliseconds since the epoch and
//! every method takes `now_ms`, so the logic is testable without waiting.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{CallEvent, CallEventKind};

/// One occupied slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ParkedCall {
    /// Extension whose lot holds the slot (Telphin lots are per extension).
    pub extension_id: String,
    /// Slot 1–9.
    pub slot: u8,
    /// `CallAPIID` of the parked call, when the panel parked it or saw it parked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_api_id: Option<String>,
    /// `UUID` of the parked call (the uuid part of its `CallAPIID`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<String>,
    /// Extension that parked it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_by: Option<String>,
    /// When it was parked, ms since the epoch; `None` when found occupied by a slot query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "number")]
    pub parked_at_ms: Option<i64>,
    /// When it returns to the parker, ms since the epoch; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "number")]
    pub returns_at_ms: Option<i64>,
    /// Whole seconds left until the return, at the snapshot's time; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_in_secs: Option<u32>,
}

/// The board as the UI renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ParkBoardSnapshot {
    /// Occupied slots, by extension then slot.
    pub slots: Vec<ParkedCall>,
    /// Time of the snapshot, ms since the epoch.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// The platform's park timeout, seconds.
    pub timeout_secs: u64,
}

impl ParkBoardSnapshot {
    pub fn empty(timeout_secs: u64) -> ParkBoardSnapshot {
        ParkBoardSnapshot {
            slots: Vec::new(),
            at_ms: 0,
            timeout_secs,
        }
    }

    /// The entry of `slot` in `extension_id`'s lot.
    pub fn slot(&self, extension_id: &str, slot: u8) -> Option<&ParkedCall> {
        self.slots
            .iter()
            .find(|p| p.extension_id == extension_id && p.slot == slot)
    }
}

/// Occupied slots with their return countdown.
#[derive(Debug, Clone)]
pub struct ParkBoard {
    timeout_ms: i64,
    slots: BTreeMap<(String, u8), ParkedCall>,
    /// Return times already handed out by [`ParkBoard::return_times`].
    scheduled: BTreeSet<i64>,
}

/// The uuid part of a `CallAPIID` (`3232240860-37b98fb2-…` → `37b98fb2-…`).
pub fn call_uuid(call_api_id: &str) -> String {
    call_api_id
        .split_once(['-', ':'])
        .map(|(_, u)| u)
        .unwrap_or(call_api_id)
        .to_string()
}

impl ParkBoard {
    pub fn new(timeout: Duration) -> ParkBoard {
        ParkBoard {
            timeout_ms: i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX),
            slots: BTreeMap::new(),
            scheduled: BTreeSet::new(),
        }
    }

    /// A call was parked into `slot` of `extension_id`'s lot at `now_ms`.
    pub fn parked(
        &mut self,
        extension_id: &str,
        slot: u8,
        call_api_id: Option<&str>,
        parked_by: Option<&str>,
        now_ms: i64,
    ) {
        let entry = ParkedCall {
            extension_id: extension_id.to_string(),
            slot,
            call_api_id: call_api_id.map(str::to_string),
            call_uuid: call_api_id.map(call_uuid),
            parked_by: parked_by.map(str::to_string),
            parked_at_ms: Some(now_ms),
            returns_at_ms: Some(now_ms.saturating_add(self.timeout_ms)),
            returns_in_secs: None,
        };
        self.slots.insert((extension_id.to_string(), slot), entry);
    }

    /// The slot left the lot (bridged, returned, hung up).
    pub fn freed(&mut self, extension_id: &str, slot: u8) -> Option<ParkedCall> {
        self.slots.remove(&(extension_id.to_string(), slot))
    }

    /// A bridge took the call with `uuid` (when the slot is not known).
    pub fn freed_uuid(&mut self, extension_id: &str, uuid: &str) {
        self.slots
            .retain(|(e, _), p| !(e == extension_id && p.call_uuid.as_deref() == Some(uuid)));
    }

    /// A `slots` query for one slot answered `uuid` (or nothing: the slot is free).
    pub fn occupant(&mut self, extension_id: &str, slot: u8, uuid: Option<&str>) {
        let key = (extension_id.to_string(), slot);
        match uuid {
            None => {
                self.slots.remove(&key);
            }
            Some(u) => {
                let known = self
                    .slots
                    .get(&key)
                    .is_some_and(|p| p.call_uuid.as_deref() == Some(u));
                if !known {
                    self.slots.insert(key, unknown(extension_id, slot, Some(u)));
                }
            }
        }
    }

    /// A `slots` query without a slot answered the free slots: the rest are occupied.
    pub fn free_slots(&mut self, extension_id: &str, free: &[u8]) {
        for slot in 1..=9u8 {
            let key = (extension_id.to_string(), slot);
            if free.contains(&slot) {
                self.slots.remove(&key);
            } else {
                self.slots
                    .entry(key)
                    .or_insert_with(|| unknown(extension_id, slot, None));
            }
        }
    }

    /// Apply a `Parked`/`Unparked` event (e.g. from the listener). The lot is the event's
    /// `by` extension for `Parked`; `Unparked` frees the slot in every lot that holds the call.
    pub fn apply_event(&mut self, ev: &CallEvent) {
        match &ev.kind {
            CallEventKind::Parked { slot, by } => {
                self.parked(by, *slot, ev.control_id.as_deref(), Some(by), ev.at_ms);
            }
            CallEventKind::Unparked { slot, .. } => {
                let id = ev.control_id.as_deref();
                self.slots.retain(|(_, s), p| {
                    !(*s == *slot && (id.is_none() || p.call_api_id.as_deref() == id))
                });
            }
            _ => {}
        }
    }

    /// Drop the calls whose return time has come; returns them.
    pub fn expire(&mut self, now_ms: i64) -> Vec<ParkedCall> {
        let due: Vec<(String, u8)> = self
            .slots
            .iter()
            .filter(|(_, p)| p.returns_at_ms.is_some_and(|r| r <= now_ms))
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|k| self.slots.remove(&k))
            .collect()
    }

    /// The earliest pending return.
    pub fn next_return_ms(&self) -> Option<i64> {
        self.slots.values().filter_map(|p| p.returns_at_ms).min()
    }

    /// Pending return times not handed out before (so each gets one timer).
    pub fn return_times(&mut self) -> Vec<i64> {
        let live: BTreeSet<i64> = self
            .slots
            .values()
            .filter_map(|p| p.returns_at_ms)
            .collect();
        self.scheduled.retain(|r| live.contains(r));
        let pending: Vec<i64> = live.difference(&self.scheduled).copied().collect();
        self.scheduled.extend(pending.iter().copied());
        pending
    }

    /// Expire what is due, then describe the board at `now_ms`.
    pub fn snapshot(&mut self, now_ms: i64) -> ParkBoardSnapshot {
        self.expire(now_ms);
        let slots = self
            .slots
            .values()
            .cloned()
            .map(|mut p| {
                p.returns_in_secs = p
                    .returns_at_ms
                    .map(|r| u32::try_from(((r - now_ms).max(0) + 999) / 1000).unwrap_or(u32::MAX));
                p
            })
            .collect();
        ParkBoardSnapshot {
            slots,
            at_ms: now_ms,
            timeout_secs: u64::try_from(self.timeout_ms / 1000).unwrap_or(0),
        }
    }
}

fn unknown(extension_id: &str, slot: u8, uuid: Option<&str>) -> ParkedCall {
    ParkedCall {
        extension_id: extension_id.to_string(),
        slot,
        call_api_id: None,
        call_uuid: uuid.map(str::to_string),
        parked_by: None,
        parked_at_ms: None,
        returns_at_ms: None,
        returns_in_secs: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Source, UnparkKind};

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn a_parked_call_counts_down_and_returns_after_the_timeout() {
        let mut b = ParkBoard::new(Duration::from_secs(180));
        b.parked(
            "34414",
            6,
            Some("3232240860-37b98fb2-a66c"),
            Some("34414"),
            T0,
        );
        let s = b.snapshot(T0 + 60_000);
        let p = s.slot("34414", 6).unwrap();
        assert_eq!(
            (p.returns_in_secs, p.call_uuid.as_deref()),
            (Some(120), Some("37b98fb2-a66c"))
        );
        assert_eq!(b.next_return_ms(), Some(T0 + 180_000));
        assert_eq!(b.snapshot(T0 + 179_999).slots.len(), 1);
        assert_eq!(b.return_times(), vec![T0 + 180_000]);
        assert!(b.return_times().is_empty(), "handed out once");
        assert!(
            b.snapshot(T0 + 180_000).slots.is_empty(),
            "returned to the parker"
        );
        assert_eq!(b.next_return_ms(), None);
    }

    #[test]
    fn slot_queries_reconcile_the_board() {
        let mut b = ParkBoard::new(Duration::from_secs(180));
        b.parked("34414", 1, Some("1-aaa"), None, T0);
        b.occupant("34414", 1, Some("aaa"));
        assert_eq!(
            b.snapshot(T0).slot("34414", 1).unwrap().parked_at_ms,
            Some(T0),
            "known call kept"
        );
        b.occupant("34414", 2, Some("bbb"));
        assert_eq!(
            b.snapshot(T0).slot("34414", 2).unwrap().returns_at_ms,
            None,
            "found by a query"
        );
        b.occupant("34414", 1, None);
        assert!(b.snapshot(T0).slot("34414", 1).is_none());
        b.free_slots("34414", &[1, 2, 3, 4, 5, 6, 7, 8]);
        let s = b.snapshot(T0);
        assert_eq!(s.slots.iter().map(|p| p.slot).collect::<Vec<_>>(), vec![9]);
        b.freed_uuid("34414", "zzz");
        b.freed("34414", 9);
        assert!(b.snapshot(T0).slots.is_empty());
    }

    #[test]
    fn events_park_and_unpark() {
        let mut b = ParkBoard::new(Duration::from_secs(180));
        let ev = |kind| CallEvent {
            source: Source::Telphin,
            call_id: "c".into(),
            control_id: Some("1-uuid".into()),
            at_ms: T0,
            kind,
            dedup_key: "k".into(),
        };
        b.apply_event(&ev(CallEventKind::Parked {
            slot: 3,
            by: "34414".into(),
        }));
        assert_eq!(
            b.snapshot(T0)
                .slot("34414", 3)
                .unwrap()
                .call_api_id
                .as_deref(),
            Some("1-uuid")
        );
        b.apply_event(&ev(CallEventKind::Unparked {
            slot: 3,
            how: UnparkKind::Bridged,
        }));
        assert!(b.snapshot(T0).slots.is_empty());
    }
}
