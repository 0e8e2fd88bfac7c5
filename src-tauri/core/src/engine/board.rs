//! The call board: the single in-memory truth about live calls. Every normalized [`CallEvent`]
//! is applied here; the UI renders [`CallView`] snapshots and deltas.
//!
//! One real call may be reported by several sources (Era, Telphin events, JSON webhooks), each
//! with its own id. The board merges them into one card: an event whose `(source, call_id)` is
//! unknown but which creates a call with the same remote number and direction as a live card
//! created within [`MERGE_WINDOW_MS`] joins that card. A card therefore never pops up twice.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{
    CallEvent, CallEventKind, CallRef, Direction, Outcome, Party, ResultCode, Source, UnparkKind,
};

/// Reports of one call from different sources within this window are one card.
pub const MERGE_WINDOW_MS: i64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CallPhase {
    Ringing,
    Active,
    Held,
    Parked,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LegView {
    pub leg_id: String,
    pub party: Party,
    /// `ringing`, `answered` or `ended`.
    pub state: String,
    pub result: Option<ResultCode>,
}

/// One call as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallView {
    /// Stable board key (the first `source:call_id` that reported the call).
    pub key: String,
    /// Handles for call control, one per source that reported the call.
    pub refs: Vec<CallRef>,
    pub direction: Direction,
    pub from: Party,
    pub to: Party,
    pub did: Option<String>,
    pub via: Option<String>,
    pub phase: CallPhase,
    #[ts(type = "number")]
    pub created_ms: i64,
    #[ts(type = "number | null")]
    pub answered_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub ended_ms: Option<i64>,
    pub answered_by: Option<Party>,
    pub result: Option<ResultCode>,
    pub parked_slot: Option<u8>,
    pub parked_by: Option<String>,
    #[ts(type = "number | null")]
    pub parked_ms: Option<i64>,
    /// The call came back from a parking slot after the timeout.
    pub returned_from_park: bool,
    /// Digits the caller pressed, in order.
    pub dtmf: String,
    pub legs: Vec<LegView>,
    pub recording: Option<String>,
}

impl CallView {
    fn new(key: String, ev: &CallEvent) -> CallView {
        CallView {
            key,
            refs: Vec::new(),
            direction: Direction::Inbound,
            from: Party::default(),
            to: Party::default(),
            did: None,
            via: None,
            phase: CallPhase::Ringing,
            created_ms: ev.at_ms,
            answered_ms: None,
            ended_ms: None,
            answered_by: None,
            result: None,
            parked_slot: None,
            parked_by: None,
            parked_ms: None,
            returned_from_park: false,
            dtmf: String::new(),
            legs: Vec::new(),
            recording: None,
        }
    }

    /// The remote party's number: the caller for inbound calls, the callee otherwise.
    pub fn remote_number(&self) -> &str {
        match self.direction {
            Direction::Inbound => &self.from.number,
            _ => &self.to.number,
        }
    }

    pub fn is_live(&self) -> bool {
        self.phase != CallPhase::Ended
    }

    /// The control handle for `source`, if that source reported the call.
    pub fn ref_for(&self, source: Source) -> Option<&CallRef> {
        self.refs.iter().find(|r| r.source == source)
    }
}

/// What applying an event changed, for the engine to notify about.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new card appeared (notify once).
    Appeared(CallView),
    Updated(CallView),
    /// Nothing visible changed (duplicate or unknown call).
    None,
}

#[derive(Debug, Default)]
pub struct Board {
    calls: HashMap<String, CallView>,
    /// `source:call_id` → board key.
    aliases: HashMap<String, String>,
    /// Cards already counted in the missed-calls badge.
    counted_missed: HashSet<String>,
}

fn alias(source: Source, call_id: &str) -> String {
    format!("{}:{}", source.as_str(), call_id)
}

fn digits(n: &str) -> String {
    let d: String = n.chars().filter(|c| c.is_ascii_digit()).collect();
    // Compare Russian numbers regardless of the 8 / +7 / 7 prefix.
    if d.len() == 11 && (d.starts_with('8') || d.starts_with('7')) {
        d[1..].to_string()
    } else {
        d
    }
}

impl Board {
    pub fn calls(&self) -> Vec<CallView> {
        let mut v: Vec<CallView> = self.calls.values().cloned().collect();
        v.sort_by_key(|c| c.created_ms);
        v
    }

    pub fn get(&self, key: &str) -> Option<&CallView> {
        self.calls.get(key)
    }

    /// Find the card of `source:call_id` (or a card key given directly).
    pub fn find(&self, key_or_alias: &str) -> Option<&CallView> {
        self.calls.get(key_or_alias).or_else(|| {
            self.aliases
                .get(key_or_alias)
                .and_then(|k| self.calls.get(k))
        })
    }

    /// The platform accepted a park of card `key` into `slot`: show it parked.
    pub fn mark_parked(&mut self, key: &str, slot: u8, by: &str, at_ms: i64) -> Option<CallView> {
        let c = self.calls.get_mut(key)?;
        c.phase = CallPhase::Parked;
        c.parked_slot = Some(slot);
        c.parked_by = Some(by.to_string());
        c.parked_ms = Some(at_ms);
        Some(c.clone())
    }

    /// Parked cards whose slot is no longer occupied (per `occupied(slot)`): returned to the
    /// parker when the park timeout has passed, otherwise bridged by someone. Returns the changes.
    pub fn unpark_vanished(
        &mut self,
        now_ms: i64,
        timeout_ms: i64,
        occupied: impl Fn(u8) -> bool,
    ) -> Vec<CallView> {
        let mut out = Vec::new();
        for c in self.calls.values_mut() {
            let (Some(slot), Some(at)) = (c.parked_slot, c.parked_ms) else {
                continue;
            };
            if c.phase != CallPhase::Parked || occupied(slot) || now_ms - at < 3_000 {
                continue;
            }
            c.parked_slot = None;
            if now_ms - at >= timeout_ms - 5_000 {
                c.returned_from_park = true;
                c.phase = CallPhase::Ringing;
            } else {
                c.phase = CallPhase::Active;
            }
            out.push(c.clone());
        }
        out
    }

    /// True the first time a card is counted as missed.
    pub fn mark_counted_missed(&mut self, key: &str) -> bool {
        self.counted_missed.insert(key.to_string())
    }

    /// Remove ended calls that ended before `before_ms`; returns their keys.
    pub fn sweep_ended(&mut self, before_ms: i64) -> Vec<String> {
        let gone: Vec<String> = self
            .calls
            .values()
            .filter(|c| c.ended_ms.is_some_and(|e| e < before_ms))
            .map(|c| c.key.clone())
            .collect();
        for k in &gone {
            self.calls.remove(k);
        }
        self.aliases.retain(|_, k| !gone.contains(k));
        for k in &gone {
            self.counted_missed.remove(k);
        }
        gone
    }

    /// Replace live calls of `source` with a reconciled set: calls not in `live_ids` end.
    pub fn reconcile(&mut self, source: Source, live_ids: &[String], now_ms: i64) -> Vec<CallView> {
        let mut changed = Vec::new();
        for c in self.calls.values_mut() {
            let from_source = c.refs.iter().any(|r| r.source == source);
            let only_source = c.refs.iter().all(|r| r.source == source);
            if from_source
                && only_source
                && c.is_live()
                && !c.refs.iter().any(|r| live_ids.contains(&r.call_id))
            {
                c.phase = CallPhase::Ended;
                c.ended_ms = Some(now_ms);
                changed.push(c.clone());
            }
        }
        changed
    }

    fn key_for(&mut self, ev: &CallEvent) -> Option<(String, bool)> {
        let a = alias(ev.source, &ev.call_id);
        if let Some(k) = self.aliases.get(&a) {
            return Some((k.clone(), false));
        }
        let CallEventKind::Created {
            direction,
            from,
            to,
            ..
        } = &ev.kind
        else {
            // An event about a call we never saw created: start a card anyway (out-of-order
            // delivery), except for pure leg noise that carries no parties.
            return match &ev.kind {
                CallEventKind::LegRinging { .. }
                | CallEventKind::Answered { .. }
                | CallEventKind::Parked { .. }
                | CallEventKind::Ended { .. } => {
                    self.aliases.insert(a.clone(), a.clone());
                    Some((a, true))
                }
                _ => None,
            };
        };
        let remote = digits(if *direction == Direction::Inbound {
            &from.number
        } else {
            &to.number
        });
        if !remote.is_empty() {
            let hit = self.calls.values().find(|c| {
                c.direction == *direction
                    && digits(c.remote_number()) == remote
                    && (c.created_ms - ev.at_ms).abs() <= MERGE_WINDOW_MS
                    && !c.refs.iter().any(|r| r.source == ev.source)
                    && (c.is_live() || c.ended_ms.is_some_and(|e| ev.at_ms <= e))
            });
            if let Some(c) = hit {
                let k = c.key.clone();
                self.aliases.insert(a, k.clone());
                return Some((k, false));
            }
        }
        self.aliases.insert(a.clone(), a.clone());
        Some((a, true))
    }

    /// Apply one event.
    pub fn apply(&mut self, ev: &CallEvent) -> Change {
        let Some((key, new)) = self.key_for(ev) else {
            return Change::None;
        };
        let call = self
            .calls
            .entry(key.clone())
            .or_insert_with(|| CallView::new(key.clone(), ev));
        let before = call.clone();
        if !call.refs.iter().any(|r| r.source == ev.source) {
            call.refs.push(CallRef {
                source: ev.source,
                call_id: ev.control_id.clone().unwrap_or_else(|| ev.call_id.clone()),
                extension_id: None,
            });
        } else if let Some(cid) = &ev.control_id {
            if let Some(r) = call.refs.iter_mut().find(|r| r.source == ev.source) {
                r.call_id = cid.clone();
            }
        }
        apply_kind(call, ev);
        let after = call.clone();
        if new {
            Change::Appeared(after)
        } else if after != before {
            Change::Updated(after)
        } else {
            Change::None
        }
    }
}

fn fill_party(slot: &mut Party, p: &Party) {
    if slot.number.is_empty() {
        slot.number = p.number.clone();
    }
    if slot.name.is_none() {
        slot.name = p.name.clone();
    }
    if slot.extension_id.is_none() {
        slot.extension_id = p.extension_id.clone();
    }
}

fn apply_kind(c: &mut CallView, ev: &CallEvent) {
    let ended = c.phase == CallPhase::Ended;
    match &ev.kind {
        CallEventKind::Created {
            direction,
            from,
            to,
            did,
            via,
        } => {
            c.direction = *direction;
            fill_party(&mut c.from, from);
            fill_party(&mut c.to, to);
            if c.did.is_none() {
                c.did = did.clone();
            }
            if c.via.is_none() {
                c.via = via.clone();
            }
            c.created_ms = c.created_ms.min(ev.at_ms);
        }
        CallEventKind::LegRinging { leg_id, party }
            if !c.legs.iter().any(|l| &l.leg_id == leg_id) =>
        {
            c.legs.push(LegView {
                leg_id: leg_id.clone(),
                party: party.clone(),
                state: "ringing".into(),
                result: None,
            });
        }
        CallEventKind::LegEnded { leg_id, result } => {
            if let Some(l) = c.legs.iter_mut().find(|l| &l.leg_id == leg_id) {
                l.state = "ended".into();
                l.result = Some(result.clone());
            }
        }
        CallEventKind::Answered { leg_id, by } => {
            if let Some(l) = leg_id
                .as_ref()
                .and_then(|id| c.legs.iter_mut().find(|l| &l.leg_id == id))
            {
                l.state = "answered".into();
            }
            if !ended {
                c.phase = CallPhase::Active;
            }
            c.answered_ms.get_or_insert(ev.at_ms);
            c.answered_by = Some(by.clone());
            if c.parked_slot.take().is_some() {
                c.parked_by = None;
                c.parked_ms = None;
            }
        }
        CallEventKind::Held if !ended => c.phase = CallPhase::Held,
        CallEventKind::Resumed if !ended => c.phase = CallPhase::Active,
        CallEventKind::Transferred { to, .. } => {
            if !ended {
                c.phase = CallPhase::Ringing;
            }
            c.legs.push(LegView {
                leg_id: format!("transfer-{}", c.legs.len()),
                party: to.clone(),
                state: "ringing".into(),
                result: None,
            });
        }
        // The parking leg's own end (reported within seconds of the park) does not end a
        // parked call: it waits in its slot.
        CallEventKind::Ended { .. }
            if c.phase == CallPhase::Parked
                && c.parked_ms.is_some_and(|p| ev.at_ms - p < 10_000) => {}
        CallEventKind::Ended { result, .. } => {
            c.phase = CallPhase::Ended;
            c.ended_ms = Some(c.ended_ms.map_or(ev.at_ms, |e| e.max(ev.at_ms)));
            // Prefer the most telling result: an answered outcome is never overwritten by a
            // later "cancelled" from a second source.
            let keep = c
                .result
                .as_ref()
                .is_some_and(|r| r.outcome == Outcome::Answered);
            if !keep {
                c.result = Some(result.clone());
            }
            c.parked_slot = None;
        }
        CallEventKind::Parked { slot, by } if !ended => {
            c.phase = CallPhase::Parked;
            c.parked_slot = Some(*slot);
            c.parked_by = Some(by.clone());
            c.parked_ms = Some(ev.at_ms);
        }
        CallEventKind::Unparked { how, .. } if !ended => {
            c.parked_slot = None;
            c.parked_ms = None;
            match how {
                UnparkKind::Returned => {
                    c.returned_from_park = true;
                    c.phase = CallPhase::Ringing;
                }
                UnparkKind::Bridged => c.phase = CallPhase::Active,
                UnparkKind::HungUp => {}
            }
        }
        CallEventKind::RecordingAvailable { reference } => c.recording = Some(reference.clone()),
        CallEventKind::Dtmf { digits } => c.dtmf.push_str(digits),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(source: Source, id: &str, at: i64, kind: CallEventKind) -> CallEvent {
        CallEvent {
            source,
            call_id: id.into(),
            control_id: None,
            at_ms: at,
            kind,
            dedup_key: format!("{id}{at}"),
        }
    }

    fn created(source: Source, id: &str, at: i64, from: &str) -> CallEvent {
        ev(
            source,
            id,
            at,
            CallEventKind::Created {
                direction: Direction::Inbound,
                from: Party::number(from),
                to: Party::number("101"),
                did: Some("74951234567".into()),
                via: None,
            },
        )
    }

    #[test]
    fn one_call_from_three_sources_is_one_card() {
        let mut b = Board::default();
        assert!(matches!(
            b.apply(&created(Source::Webhook, "s1", 1000, "+7 (916) 000-11-22")),
            Change::Appeared(_)
        ));
        assert!(!matches!(
            b.apply(&created(Source::Telphin, "t1", 1500, "89160001122")),
            Change::Appeared(_)
        ));
        assert!(!matches!(
            b.apply(&created(Source::Era, "e1", 1200, "79160001122")),
            Change::Appeared(_)
        ));
        assert_eq!(b.calls().len(), 1);
        let c = &b.calls()[0];
        assert_eq!(c.refs.len(), 3);
        assert_eq!(c.created_ms, 1000);
        // A different caller is a different card.
        assert!(matches!(
            b.apply(&created(Source::Telphin, "t2", 1600, "89160009999")),
            Change::Appeared(_)
        ));
        assert_eq!(b.calls().len(), 2);
    }

    #[test]
    fn duplicates_change_nothing_and_answered_result_sticks() {
        let mut b = Board::default();
        b.apply(&created(Source::Webhook, "s1", 1000, "100"));
        let ans = ev(
            Source::Webhook,
            "s1",
            2000,
            CallEventKind::Answered {
                leg_id: None,
                by: Party::number("101"),
            },
        );
        assert!(matches!(b.apply(&ans), Change::Updated(_)));
        assert_eq!(b.apply(&ans), Change::None);
        let end = |code: &str, at| {
            ev(
                Source::Webhook,
                "s1",
                at,
                CallEventKind::Ended {
                    result: ResultCode::from_code(code),
                    talk_secs: Some(5),
                },
            )
        };
        b.apply(&end("200", 7000));
        b.apply(&end("603-S", 7100));
        let c = b.find("webhook:s1").unwrap();
        assert_eq!(c.phase, CallPhase::Ended);
        assert_eq!(c.result.as_ref().unwrap().outcome, Outcome::Answered);
        assert_eq!(b.sweep_ended(8000).len(), 1);
        assert!(b.calls().is_empty());
    }

    #[test]
    fn parking_and_return_are_tracked() {
        let mut b = Board::default();
        b.apply(&created(Source::Telphin, "t1", 0, "100"));
        b.apply(&ev(
            Source::Telphin,
            "t1",
            10,
            CallEventKind::Answered {
                leg_id: None,
                by: Party::number("101"),
            },
        ));
        b.apply(&ev(
            Source::Telphin,
            "t1",
            20,
            CallEventKind::Parked {
                slot: 6,
                by: "34414".into(),
            },
        ));
        let c = b.find("telphin:t1").unwrap();
        assert_eq!((c.phase, c.parked_slot), (CallPhase::Parked, Some(6)));
        b.apply(&ev(
            Source::Telphin,
            "t1",
            30,
            CallEventKind::Unparked {
                slot: 6,
                how: UnparkKind::Returned,
            },
        ));
        let c = b.find("telphin:t1").unwrap();
        assert!(c.returned_from_park);
        assert_eq!(c.parked_slot, None);
    }

    #[test]
    fn a_parked_card_survives_its_leg_end_and_is_marked_when_it_returns() {
        let mut b = Board::default();
        b.apply(&created(Source::Telphin, "t1", 0, "100"));
        let key = b.find("telphin:t1").unwrap().key.clone();
        b.mark_parked(&key, 6, "34414", 1_000).unwrap();
        let end = CallEventKind::Ended {
            result: ResultCode::from_code("200"),
            talk_secs: None,
        };
        b.apply(&ev(Source::Era, "t1", 2_000, end));
        assert_eq!(b.get(&key).unwrap().phase, CallPhase::Parked);
        // Still in the slot: nothing changes.
        assert!(b.unpark_vanished(60_000, 180_000, |s| s == 6).is_empty());
        // Gone from the slot at the return time: back from parking, ringing.
        let changed = b.unpark_vanished(181_000, 180_000, |_| false);
        assert_eq!(changed.len(), 1);
        assert!(changed[0].returned_from_park);
        assert_eq!(changed[0].phase, CallPhase::Ringing);
        // Gone early means someone bridged it.
        b.mark_parked(&key, 3, "34414", 200_000).unwrap();
        let changed = b.unpark_vanished(210_000, 180_000, |_| false);
        assert_eq!(changed[0].phase, CallPhase::Active);
    }

    #[test]
    fn out_of_order_end_before_create_keeps_the_end() {
        let mut b = Board::default();
        b.apply(&ev(
            Source::Webhook,
            "s9",
            5000,
            CallEventKind::Ended {
                result: ResultCode::from_code("304"),
                talk_secs: None,
            },
        ));
        b.apply(&created(Source::Webhook, "s9", 1000, "555"));
        let c = b.find("webhook:s9").unwrap();
        assert_eq!(c.phase, CallPhase::Ended);
        assert_eq!(c.from.number, "555");
        assert_eq!(c.created_ms, 1000);
    }
}
