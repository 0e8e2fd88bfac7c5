//! Shared helpers for the history tests: event builders and a store in a temp dir.
#![allow(dead_code)]

use cti_core::history::{History, HistoryConfig};
use cti_core::model::{CallEvent, CallEventKind, Direction, Party, ResultCode, Source, UnparkKind};
use cti_core::sink::RawRecord;
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub const T0: i64 = 1_704_067_200_000;

pub fn open_temp() -> (TempDir, History) {
    open_temp_with(&HistoryConfig::default())
}

pub fn open_temp_with(config: &HistoryConfig) -> (TempDir, History) {
    let dir = tempfile::tempdir().unwrap();
    let h = History::open(dir.path().join("history.db"), config).unwrap();
    (dir, h)
}

pub fn party(number: &str) -> Party {
    Party::number(number)
}

pub fn named(number: &str, name: &str) -> Party {
    Party {
        number: number.into(),
        name: Some(name.into()),
        extension_id: None,
    }
}

/// Builds the events of one call as one source reports them.
#[derive(Clone)]
pub struct CallScript {
    pub source: Source,
    pub call_id: String,
    pub control_id: Option<String>,
    pub events: Vec<CallEvent>,
}

impl CallScript {
    pub fn new(source: Source, call_id: &str) -> Self {
        CallScript {
            source,
            call_id: call_id.into(),
            control_id: None,
            events: Vec::new(),
        }
    }

    pub fn control(mut self, control_id: &str) -> Self {
        self.control_id = Some(control_id.into());
        self
    }

    pub fn at(mut self, at_ms: i64, kind: CallEventKind) -> Self {
        let n = self.events.len();
        self.events.push(CallEvent {
            source: self.source,
            call_id: self.call_id.clone(),
            control_id: self.control_id.clone(),
            at_ms,
            kind,
            dedup_key: format!("{}:{}:{}", self.source.as_str(), self.call_id, n),
        });
        self
    }

    pub fn created(self, at_ms: i64, direction: Direction, from: Party, to: Party) -> Self {
        self.at(
            at_ms,
            CallEventKind::Created {
                direction,
                from,
                to,
                did: None,
                via: None,
            },
        )
    }

    pub fn created_via(
        self,
        at_ms: i64,
        direction: Direction,
        from: Party,
        to: Party,
        did: &str,
        via: &str,
    ) -> Self {
        self.at(
            at_ms,
            CallEventKind::Created {
                direction,
                from,
                to,
                did: Some(did.into()),
                via: Some(via.into()),
            },
        )
    }

    pub fn ringing(self, at_ms: i64, leg: &str, who: Party) -> Self {
        self.at(
            at_ms,
            CallEventKind::LegRinging {
                leg_id: leg.into(),
                party: who,
            },
        )
    }

    pub fn leg_ended(self, at_ms: i64, leg: &str, code: &str) -> Self {
        self.at(
            at_ms,
            CallEventKind::LegEnded {
                leg_id: leg.into(),
                result: ResultCode::from_code(code),
            },
        )
    }

    pub fn answered(self, at_ms: i64, leg: Option<&str>, by: Party) -> Self {
        self.at(
            at_ms,
            CallEventKind::Answered {
                leg_id: leg.map(str::to_string),
                by,
            },
        )
    }

    pub fn ended(self, at_ms: i64, code: &str, talk: Option<i64>) -> Self {
        self.at(
            at_ms,
            CallEventKind::Ended {
                result: ResultCode::from_code(code),
                talk_secs: talk,
            },
        )
    }

    pub fn parked(self, at_ms: i64, slot: u8, by: &str) -> Self {
        self.at(
            at_ms,
            CallEventKind::Parked {
                slot,
                by: by.into(),
            },
        )
    }

    pub fn unparked(self, at_ms: i64, slot: u8, how: UnparkKind) -> Self {
        self.at(at_ms, CallEventKind::Unparked { slot, how })
    }

    pub fn dtmf(self, at_ms: i64, digits: &str) -> Self {
        self.at(
            at_ms,
            CallEventKind::Dtmf {
                digits: digits.into(),
            },
        )
    }

    pub fn ivr(self, at_ms: i64, step: &str, detail: serde_json::Value) -> Self {
        self.at(
            at_ms,
            CallEventKind::Ivr {
                step: step.into(),
                detail,
            },
        )
    }

    pub fn recording(self, at_ms: i64, reference: &str) -> Self {
        self.at(
            at_ms,
            CallEventKind::RecordingAvailable {
                reference: reference.into(),
            },
        )
    }
}

pub fn raw_for(source: Source, what: &str) -> RawRecord {
    RawRecord {
        source,
        received_ms: T0,
        what: what.into(),
        body: format!("{{\"what\":\"{what}\"}}"),
    }
}

/// Store every event as its own acknowledged request.
pub async fn feed_one_by_one(h: &History, events: &[CallEvent]) {
    for ev in events {
        h.store(Some(raw_for(ev.source, &ev.dedup_key)), vec![ev.clone()])
            .await
            .unwrap();
    }
}

/// A simple complete call from one source.
pub fn simple_call(
    source: Source,
    id: &str,
    at: i64,
    direction: Direction,
    remote: &str,
    ext: &str,
    code: &str,
) -> CallScript {
    let (from, to) = match direction {
        Direction::Outbound => (party(ext), party(remote)),
        _ => (party(remote), party(ext)),
    };
    let s = CallScript::new(source, id)
        .created(at, direction, from, to)
        .ringing(at + 1_000, &format!("{id}-l1"), party(ext));
    if code == "200" {
        s.answered(at + 5_000, Some(&format!("{id}-l1")), party(ext))
            .ended(at + 65_000, "200", Some(60))
    } else {
        s.leg_ended(at + 20_000, &format!("{id}-l1"), code)
            .ended(at + 20_000, code, Some(0))
    }
}
