//! Folding a call's events into its record.
//!
//! The writer keeps every event and rebuilds the call's derived rows from all of them, sorted by
//! event time (ties broken by kind, source and dedup key). So the final record depends only on
//! the set of events, never on the order they arrived in: `Ended` before `Created`, or
//! `Answered` after `Ended`, give the same record as the natural order.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::names::{number_key, source_bit};
use super::types::{IvrStep, Recording, Transfer};
use crate::model::{CallEventKind, Direction, Outcome, Party, ResultCode, Source, UnparkKind};

/// A stored event, as the fold needs it.
#[derive(Debug, Clone)]
pub(crate) struct FoldEvent {
    pub source: Source,
    pub at_ms: i64,
    pub dedup_key: String,
    pub kind: CallEventKind,
}

/// Order of kinds at the same instant: a call is created before its legs ring, answered
/// before it ends, parked before it leaves the slot.
fn kind_rank(k: &CallEventKind) -> u8 {
    match k {
        CallEventKind::Created { .. } => 0,
        CallEventKind::Ivr { .. } => 1,
        CallEventKind::Dtmf { .. } => 2,
        CallEventKind::LegRinging { .. } => 3,
        CallEventKind::Answered { .. } => 4,
        CallEventKind::Held => 5,
        CallEventKind::Resumed => 6,
        CallEventKind::Parked { .. } => 7,
        CallEventKind::Unparked { .. } => 8,
        CallEventKind::Transferred { .. } => 9,
        CallEventKind::LegEnded { .. } => 10,
        CallEventKind::RecordingAvailable { .. } => 11,
        CallEventKind::Ended { .. } => 12,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegState {
    pub source: Source,
    pub key: String,
    pub synthetic: bool,
    pub party: Party,
    pub ringing_ms: Option<i64>,
    pub answered_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub result: Option<ResultCode>,
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParkState {
    pub source: Source,
    pub slot: u8,
    pub by: Option<String>,
    pub parked_ms: Option<i64>,
    pub unparked_ms: Option<i64>,
    pub how: Option<UnparkKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IvrState {
    pub source: Source,
    pub key: Option<String>,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub path: Vec<String>,
    pub components: Vec<String>,
    pub variables: Map<String, Value>,
    pub dtmf: String,
    pub controlled_by: Option<String>,
    pub steps: Vec<IvrStep>,
}

/// Everything derived from a call's events.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CallState {
    pub direction: Option<Direction>,
    pub remote: Option<Party>,
    pub local: Option<Party>,
    pub did: Option<String>,
    pub via: Option<String>,
    pub created_ms: Option<i64>,
    pub started_ms: i64,
    pub last_event_ms: i64,
    pub answered_ms: Option<i64>,
    pub answered_by: Option<Party>,
    pub ended_ms: Option<i64>,
    pub talk_secs: Option<i64>,
    pub hold_count: i64,
    pub hold_secs: i64,
    pub result: Option<ResultCode>,
    pub outcome: Option<Outcome>,
    pub missed: bool,
    pub sources: i64,
    pub event_count: i64,
    pub legs: Vec<LegState>,
    pub parks: Vec<ParkState>,
    pub ivr: Vec<IvrState>,
    pub recordings: Vec<Recording>,
    pub transfers: Vec<Transfer>,
}

fn non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

fn detail_str(detail: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match detail.get(*k) {
        Some(Value::String(s)) => non_empty(s).map(str::to_string),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl CallState {
    /// Normalized remote number (see [`number_key`]).
    pub fn remote_key(&self) -> Option<String> {
        self.remote.as_ref().and_then(|p| number_key(&p.number))
    }

    /// Our-side numbers and extension ids involved (the extension filter).
    pub fn parties(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add_party = |p: &Party| {
            if let Some(n) = non_empty(&p.number) {
                out.insert(n.to_string());
            }
            if let Some(e) = p.extension_id.as_deref().and_then(non_empty) {
                out.insert(e.to_string());
            }
        };
        if let Some(p) = &self.local {
            add_party(p);
        }
        if self.direction == Some(Direction::Internal) {
            if let Some(p) = &self.remote {
                add_party(p);
            }
        }
        self.legs.iter().for_each(|l| add_party(&l.party));
        if let Some(p) = &self.answered_by {
            add_party(p);
        }
        self.transfers.iter().for_each(|t| add_party(&t.to));
        for park in &self.parks {
            if let Some(by) = park.by.as_deref().and_then(non_empty) {
                out.insert(by.to_string());
            }
        }
        out
    }

    /// Text of the `numbers` search column.
    pub fn search_numbers(&self) -> String {
        let mut set = BTreeSet::new();
        let mut add = |n: &str| {
            if let Some(n) = non_empty(n) {
                set.insert(n.to_string());
                let digits: String = n.chars().filter(char::is_ascii_digit).collect();
                if !digits.is_empty() {
                    set.insert(digits);
                }
            }
        };
        for p in [&self.remote, &self.local, &self.answered_by]
            .into_iter()
            .flatten()
        {
            add(&p.number);
        }
        if let Some(d) = &self.did {
            add(d);
        }
        self.legs.iter().for_each(|l| add(&l.party.number));
        self.transfers.iter().for_each(|t| add(&t.to.number));
        set.into_iter().collect::<Vec<_>>().join(" ")
    }

    /// Text of the `names` search column.
    pub fn search_names(&self) -> String {
        let mut set = BTreeSet::new();
        let parties = [&self.remote, &self.local, &self.answered_by];
        for name in parties
            .into_iter()
            .flatten()
            .filter_map(|p| p.name.as_deref())
        {
            set.insert(name.to_string());
        }
        for l in &self.legs {
            if let Some(n) = &l.party.name {
                set.insert(n.clone());
            }
        }
        if let Some(v) = &self.via {
            set.insert(v.clone());
        }
        for s in &self.ivr {
            set.extend(s.components.iter().cloned());
        }
        set.into_iter().collect::<Vec<_>>().join(" | ")
    }

    /// Text of the `digits` search column.
    pub fn search_digits(&self) -> String {
        self.ivr
            .iter()
            .map(|s| s.dtmf.as_str())
            .filter(|d| !d.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Fold a call's events into its state. `window_ms` is the cross-source tolerance used to
/// recognise the same park episode or transfer reported by two sources.
pub(crate) fn fold(mut events: Vec<FoldEvent>, window_ms: i64) -> Option<CallState> {
    events.sort_by(|a, b| {
        (a.at_ms, kind_rank(&a.kind), a.source.as_str(), &a.dedup_key).cmp(&(
            b.at_ms,
            kind_rank(&b.kind),
            b.source.as_str(),
            &b.dedup_key,
        ))
    });
    let first = events.first()?;
    let mut st = CallState {
        started_ms: first.at_ms,
        ..CallState::default()
    };
    let mut endings: Vec<(ResultCode, Option<i64>)> = Vec::new();
    let mut hold_since: Option<i64> = None;
    for ev in &events {
        st.last_event_ms = st.last_event_ms.max(ev.at_ms);
        st.sources |= source_bit(ev.source);
        st.event_count += 1;
        apply(&mut st, ev, window_ms, &mut endings, &mut hold_since);
    }
    finish(&mut st, endings, hold_since);
    Some(st)
}

fn apply(
    st: &mut CallState,
    ev: &FoldEvent,
    window_ms: i64,
    endings: &mut Vec<(ResultCode, Option<i64>)>,
    hold_since: &mut Option<i64>,
) {
    let at = ev.at_ms;
    match &ev.kind {
        CallEventKind::Created {
            direction,
            from,
            to,
            did,
            via,
        } => {
            if st.created_ms.is_none() {
                st.created_ms = Some(at);
                st.direction = Some(*direction);
                let (remote, local) = match direction {
                    Direction::Outbound => (to, from),
                    Direction::Inbound | Direction::Internal => (from, to),
                };
                st.remote = Some(remote.clone());
                st.local = Some(local.clone());
            }
            if st.did.is_none() {
                st.did = did.as_deref().and_then(non_empty).map(str::to_string);
            }
            if st.via.is_none() {
                st.via = via.as_deref().and_then(non_empty).map(str::to_string);
            }
        }
        CallEventKind::LegRinging { leg_id, party } => {
            let i = leg_for_ringing(st, ev.source, leg_id, party);
            let leg = &mut st.legs[i];
            if leg.party.number.is_empty() || leg.synthetic {
                merge_party(&mut leg.party, party);
            }
            leg.synthetic = false;
            leg.ringing_ms = Some(leg.ringing_ms.map_or(at, |r| r.min(at)));
        }
        CallEventKind::LegEnded { leg_id, result } => {
            let i = leg_by_key(st, ev.source, leg_id);
            let leg = &mut st.legs[i];
            if leg.ended_ms.is_none() {
                leg.ended_ms = Some(at);
            }
            leg.result = Some(result.clone());
            if leg.answered_ms.is_none() {
                leg.outcome = Some(result.outcome);
            }
        }
        CallEventKind::Answered { leg_id, by } => {
            if st.answered_ms.is_none() {
                st.answered_ms = Some(at);
                st.answered_by = Some(by.clone());
            }
            let i = match leg_id {
                Some(id) => leg_by_key(st, ev.source, id),
                None => leg_by_party(st, ev.source, by),
            };
            let leg = &mut st.legs[i];
            merge_party(&mut leg.party, by);
            if leg.answered_ms.is_none() {
                leg.answered_ms = Some(at);
            }
            leg.outcome = Some(Outcome::Answered);
        }
        CallEventKind::Held => {
            st.hold_count += 1;
            if hold_since.is_none() {
                *hold_since = Some(at);
            }
        }
        CallEventKind::Resumed => {
            if let Some(since) = hold_since.take() {
                st.hold_secs += (at - since).max(0) / 1000;
            }
        }
        CallEventKind::Transferred { to, attended } => {
            let dup = st.transfers.iter().any(|t| {
                t.source != ev.source
                    && t.to.number == to.number
                    && (t.at_ms - at).abs() <= window_ms
            });
            if !dup {
                st.transfers.push(Transfer {
                    source: ev.source,
                    at_ms: at,
                    to: to.clone(),
                    attended: *attended,
                });
            }
        }
        CallEventKind::Ended { result, talk_secs } => {
            st.ended_ms = Some(st.ended_ms.map_or(at, |e| e.max(at)));
            endings.push((result.clone(), *talk_secs));
        }
        CallEventKind::Parked { slot, by } => {
            let same = st.parks.iter().any(|p| {
                p.slot == *slot
                    && p.unparked_ms.is_none()
                    && p.parked_ms.is_some_and(|t| (t - at).abs() <= window_ms)
            });
            if !same {
                st.parks.push(ParkState {
                    source: ev.source,
                    slot: *slot,
                    by: non_empty(by).map(str::to_string),
                    parked_ms: Some(at),
                    unparked_ms: None,
                    how: None,
                });
            }
        }
        CallEventKind::Unparked { slot, how } => {
            if let Some(p) = st
                .parks
                .iter_mut()
                .rev()
                .find(|p| p.slot == *slot && p.unparked_ms.is_none())
            {
                p.unparked_ms = Some(at);
                p.how = Some(*how);
            } else if !st.parks.iter().any(|p| {
                p.slot == *slot && p.unparked_ms.is_some_and(|t| (t - at).abs() <= window_ms)
            }) {
                st.parks.push(ParkState {
                    source: ev.source,
                    slot: *slot,
                    by: None,
                    parked_ms: None,
                    unparked_ms: Some(at),
                    how: Some(*how),
                });
            }
        }
        CallEventKind::RecordingAvailable { reference } => {
            if !st.recordings.iter().any(|r| &r.reference == reference) {
                st.recordings.push(Recording {
                    source: ev.source,
                    at_ms: at,
                    reference: reference.clone(),
                });
            }
        }
        CallEventKind::Dtmf { digits } => {
            let i = ivr_session(st, ev.source, None, at);
            st.ivr[i].dtmf.push_str(digits.trim());
        }
        CallEventKind::Ivr { step, detail } => {
            let key = detail_str(detail, &["ivr_id", "ivrid", "session_id"]);
            let i = ivr_session(st, ev.source, key, at);
            let s = &mut st.ivr[i];
            if s.path.last() != Some(step) {
                s.path.push(step.clone());
            }
            if let Some(c) = detail_str(detail, &["component", "componentname"]) {
                s.components.push(c);
            }
            if let Some(Value::Object(vars)) = detail.get("variables") {
                for (k, v) in vars {
                    s.variables.insert(k.clone(), v.clone());
                }
            }
            if let Some(c) = detail_str(detail, &["controlled_by", "controller"]) {
                s.controlled_by = Some(c);
            }
            if let Some(d) = detail_str(detail, &["digits", "dtmf"]) {
                s.dtmf.push_str(&d);
            }
            s.steps.push(IvrStep {
                at_ms: at,
                step: step.clone(),
                detail: detail.clone(),
            });
        }
    }
}

fn finish(st: &mut CallState, endings: Vec<(ResultCode, Option<i64>)>, hold_since: Option<i64>) {
    let answered =
        st.answered_ms.is_some() || endings.iter().any(|(r, _)| r.outcome == Outcome::Answered);
    // The latest report wins; when the call was answered, the latest report that says so.
    st.result = if answered {
        endings
            .iter()
            .rev()
            .find(|(r, _)| r.outcome == Outcome::Answered)
            .or(endings.last())
    } else {
        endings.last()
    }
    .map(|(r, _)| r.clone());
    st.outcome = if answered {
        Some(Outcome::Answered)
    } else {
        st.result.as_ref().map(|r| r.outcome)
    };
    st.talk_secs = endings.iter().filter_map(|(_, t)| *t).max().or_else(|| {
        match (st.answered_ms, st.ended_ms) {
            (Some(a), Some(e)) if e >= a => Some((e - a) / 1000),
            _ => None,
        }
    });
    if let (Some(since), Some(end)) = (hold_since, st.ended_ms) {
        st.hold_secs += (end - since).max(0) / 1000;
    }
    st.missed = st.direction == Some(Direction::Inbound) && st.ended_ms.is_some() && !answered;
    if let Some(end) = st.ended_ms {
        for leg in st
            .legs
            .iter_mut()
            .filter(|l| l.answered_ms.is_some() && l.ended_ms.is_none())
        {
            leg.ended_ms = Some(end);
        }
    }
}

fn merge_party(into: &mut Party, from: &Party) {
    if into.number.trim().is_empty() {
        into.number = from.number.clone();
    }
    if into.name.is_none() {
        into.name = from.name.clone();
    }
    if into.extension_id.is_none() {
        into.extension_id = from.extension_id.clone();
    }
}

fn new_leg(st: &mut CallState, source: Source, key: String, synthetic: bool) -> usize {
    st.legs.push(LegState {
        source,
        key,
        synthetic,
        party: Party::default(),
        ringing_ms: None,
        answered_ms: None,
        ended_ms: None,
        result: None,
        outcome: None,
    });
    st.legs.len() - 1
}

fn leg_by_key(st: &mut CallState, source: Source, key: &str) -> usize {
    match st
        .legs
        .iter()
        .position(|l| l.source == source && l.key == key)
    {
        Some(i) => i,
        None => new_leg(st, source, key.to_string(), false),
    }
}

/// A ringing leg: its own id, else a leg the same source created for the same number without an
/// id (an `Answered` that came with an earlier timestamp), else a new leg.
fn leg_for_ringing(st: &mut CallState, source: Source, key: &str, party: &Party) -> usize {
    if let Some(i) = st
        .legs
        .iter()
        .position(|l| l.source == source && l.key == key)
    {
        return i;
    }
    if let Some(i) = st
        .legs
        .iter()
        .position(|l| l.source == source && l.synthetic && l.party.number == party.number)
    {
        st.legs[i].key = key.to_string();
        return i;
    }
    new_leg(st, source, key.to_string(), false)
}

/// The leg an `Answered` without a leg id belongs to: the latest leg of the same source for that
/// number, else a new leg keyed `@<number>`.
fn leg_by_party(st: &mut CallState, source: Source, by: &Party) -> usize {
    let number = by.number.trim();
    if let Some(i) = st
        .legs
        .iter()
        .rposition(|l| l.source == source && l.party.number.trim() == number)
    {
        return i;
    }
    let i = new_leg(st, source, format!("@{number}"), true);
    st.legs[i].party = by.clone();
    i
}

fn ivr_session(st: &mut CallState, source: Source, key: Option<String>, at: i64) -> usize {
    let found = match &key {
        Some(k) => st
            .ivr
            .iter()
            .position(|s| s.source == source && s.key.as_ref() == Some(k))
            .or_else(|| {
                st.ivr
                    .iter()
                    .rposition(|s| s.source == source && s.key.is_none())
            }),
        None => st.ivr.iter().rposition(|s| s.source == source),
    };
    let i = match found {
        Some(i) => i,
        None => {
            st.ivr.push(IvrState {
                source,
                key: None,
                started_ms: at,
                ended_ms: at,
                path: Vec::new(),
                components: Vec::new(),
                variables: Map::new(),
                dtmf: String::new(),
                controlled_by: None,
                steps: Vec::new(),
            });
            st.ivr.len() - 1
        }
    };
    let s = &mut st.ivr[i];
    if s.key.is_none() {
        s.key = key;
    }
    s.started_ms = s.started_ms.min(at);
    s.ended_ms = s.ended_ms.max(at);
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at: i64, key: &str, kind: CallEventKind) -> FoldEvent {
        FoldEvent {
            source: Source::Webhook,
            at_ms: at,
            dedup_key: key.into(),
            kind,
        }
    }

    #[test]
    fn answered_after_ended_still_counts_and_order_does_not_matter() {
        let created = ev(
            1_000,
            "c",
            CallEventKind::Created {
                direction: Direction::Inbound,
                from: Party::number("9582412128"),
                to: Party::number("4950665310"),
                did: None,
                via: None,
            },
        );
        let answered = ev(
            2_000,
            "a",
            CallEventKind::Answered {
                leg_id: None,
                by: Party::number("101"),
            },
        );
        let ended = ev(
            9_000,
            "e",
            CallEventKind::Ended {
                result: ResultCode::from_code("200"),
                talk_secs: None,
            },
        );
        let a = fold(
            vec![created.clone(), answered.clone(), ended.clone()],
            30_000,
        )
        .unwrap();
        let b = fold(vec![ended, answered, created], 30_000).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.outcome, Some(Outcome::Answered));
        assert_eq!(a.talk_secs, Some(7));
        assert!(!a.missed);
        assert_eq!(a.legs.len(), 1);
        assert_eq!(a.legs[0].ended_ms, Some(9_000));
    }

    #[test]
    fn unanswered_inbound_is_missed() {
        let st = fold(
            vec![
                ev(
                    0,
                    "c",
                    CallEventKind::Created {
                        direction: Direction::Inbound,
                        from: Party::number("1"),
                        to: Party::number("2"),
                        did: None,
                        via: None,
                    },
                ),
                ev(
                    5,
                    "e",
                    CallEventKind::Ended {
                        result: ResultCode::from_code("603-S"),
                        talk_secs: Some(0),
                    },
                ),
            ],
            1,
        )
        .unwrap();
        assert!(st.missed);
        assert_eq!(st.outcome, Some(Outcome::Cancelled));
    }
}
