//! The simulated PBX: extensions, calls and their legs, valet-park slots.
//!
//! It is platform-neutral. Every state change is published as a [`WorldEvent`] on a broadcast
//! channel; the Era, Telphin and webhook front-ends subscribe and render those changes in their
//! own protocol, and their control requests call the operations here. Operations enforce the
//! rules (a ringing call cannot be held, a slot holds one call, …) and return [`WorldError`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::clock::Clock;

mod calls;
mod directory;
mod hunt;
mod parking;

pub use directory::{demo_directory, demo_groups, HuntGroup, HuntMode, DEMO_DOMAIN};
pub use hunt::{Hunt, HuntOutcome, HuntPlan, HuntPoll, MemberResponse, DEFAULT_RING_TIMEOUT_MS};
pub use parking::PARK_TIMEOUT;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionKind {
    Agent,
    Ivr,
    Queue,
}

#[derive(Debug, Clone, Serialize)]
pub struct Extension {
    /// Numeric platform id (Telphin `extension_id`, Era user id).
    pub id: String,
    /// Short dialable number (`101`) — Era `objects` filter and webhook `Called`.
    pub number: String,
    /// Telphin-style full name `prefix*number@domain`.
    pub sip_name: String,
    pub name: String,
    pub kind: ExtensionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    Active,
    Held,
    Parked,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegState {
    Ringing,
    Answered,
    Ended,
}

#[derive(Debug, Clone, Serialize)]
pub struct Leg {
    pub id: String,
    /// Extension number or external number this leg rings.
    pub target: String,
    pub state: LegState,
    pub started_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    /// SIP-like code the leg ended with (`200`, `486`, `603-S`, …).
    pub result_code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// World call id (uuid, hex without dashes) — Telphin `CallID`, webhook `SessionID`.
    pub id: String,
    /// Call-control handle `<digits>-<uuid>` — Telphin `CallAPIID`.
    pub api_id: String,
    pub direction: Direction,
    /// Caller number.
    pub from: String,
    pub from_name: Option<String>,
    /// Dialled number (extension, queue, IVR or external number).
    pub to: String,
    /// Public number the call came in on.
    pub did: Option<String>,
    pub state: CallState,
    pub legs: Vec<Leg>,
    pub created_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub result_code: Option<String>,
    /// Extension number currently talking on this call.
    pub connected_to: Option<String>,
    pub parked_slot: Option<u8>,
    /// Extension id that parked the call.
    pub parked_by: Option<String>,
    pub recording: Option<String>,
}

impl Call {
    pub fn talk_secs(&self, now_ms: i64) -> i64 {
        match self.answered_ms {
            Some(a) => (self.ended_ms.unwrap_or(now_ms) - a).max(0) / 1000,
            None => 0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorldEventKind {
    CallCreated,
    LegRinging {
        leg_id: String,
        target: String,
    },
    LegAnswered {
        leg_id: String,
        target: String,
    },
    LegEnded {
        leg_id: String,
        target: String,
        code: String,
    },
    Held,
    Resumed,
    Transferred {
        to: String,
        attended: bool,
    },
    /// `with` is invited into the call (three-way conference); its leg rings next.
    Conference {
        with: String,
    },
    Parked {
        slot: u8,
        by_extension_id: String,
    },
    /// `how`: `bridged`, `returned`, `hung_up`.
    Unparked {
        slot: u8,
        how: String,
    },
    Dtmf {
        digits: String,
    },
    RecordingReady {
        path: String,
    },
    CallEnded {
        code: String,
    },
}

/// A state change; carries a snapshot of the call after the change.
#[derive(Debug, Clone, Serialize)]
pub struct WorldEvent {
    pub at_ms: i64,
    pub call: Call,
    pub kind: WorldEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("no such call {0}")]
    NoSuchCall(String),
    #[error("no such leg {0}")]
    NoSuchLeg(String),
    #[error("no such extension {0}")]
    NoSuchExtension(String),
    #[error("call {0} has ended")]
    Ended(String),
    #[error("call is {0:?}, operation not allowed")]
    WrongState(CallState),
    #[error("slot {0} is out of range 1-9")]
    BadSlot(u8),
    #[error("slot {0} is occupied")]
    SlotOccupied(u8),
    #[error("slot {0} is empty")]
    SlotEmpty(u8),
    #[error("no free slot")]
    NoFreeSlot,
    #[error("no occupied slot")]
    NoParkedCall,
    #[error("no such hunt group {0}")]
    NoSuchGroup(String),
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) extensions: BTreeMap<String, Extension>,
    pub(crate) calls: BTreeMap<String, Call>,
    /// Parking lots per extension id: slot → call id.
    pub(crate) slots: BTreeMap<String, BTreeMap<u8, String>>,
    pub(crate) counter: u64,
    /// Hunt groups and queues by their dialable number.
    pub(crate) groups: BTreeMap<String, HuntGroup>,
}

/// Shared handle to the simulated PBX.
#[derive(Clone)]
pub struct World {
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<WorldEvent>,
    clock: Clock,
}

impl World {
    pub fn new(clock: Clock) -> World {
        let (events, _) = broadcast::channel(4096);
        World {
            state: Arc::default(),
            events,
            clock,
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<WorldEvent> {
        self.events.subscribe()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn emit(&self, call: &Call, kind: WorldEventKind) {
        let _ = self.events.send(WorldEvent {
            at_ms: self.now_ms(),
            call: call.clone(),
            kind,
        });
    }

    pub fn add_extension(&self, ext: Extension) {
        self.lock().extensions.insert(ext.id.clone(), ext);
    }

    pub fn extensions(&self) -> Vec<Extension> {
        self.lock().extensions.values().cloned().collect()
    }

    /// Find an extension by id or short number.
    pub fn extension(&self, id_or_number: &str) -> Option<Extension> {
        let s = self.lock();
        s.extensions
            .get(id_or_number)
            .or_else(|| s.extensions.values().find(|e| e.number == id_or_number))
            .cloned()
    }

    pub fn call(&self, id: &str) -> Option<Call> {
        let s = self.lock();
        s.calls
            .get(id)
            .or_else(|| s.calls.values().find(|c| c.api_id == id))
            .cloned()
    }

    /// Calls not yet ended.
    pub fn active_calls(&self) -> Vec<Call> {
        self.lock()
            .calls
            .values()
            .filter(|c| c.state != CallState::Ended)
            .cloned()
            .collect()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.lock().calls.values().cloned().collect()
    }

    /// Forget ended calls beyond the `keep` most recently ended (long demo runs).
    pub fn forget_ended_calls(&self, keep: usize) {
        let mut s = self.lock();
        let mut ended: Vec<(i64, String)> = s
            .calls
            .values()
            .filter(|c| c.state == CallState::Ended)
            .map(|c| (c.ended_ms.unwrap_or(c.created_ms), c.id.clone()))
            .collect();
        if ended.len() <= keep {
            return;
        }
        ended.sort();
        let drop = ended.len() - keep;
        for (_, id) in ended.into_iter().take(drop) {
            s.calls.remove(&id);
        }
    }

    /// Create a call. It starts `Ringing`; add legs with [`World::ring`].
    pub fn create_call(
        &self,
        direction: Direction,
        from: &str,
        from_name: Option<&str>,
        to: &str,
        did: Option<&str>,
    ) -> Call {
        let now = self.now_ms();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut s = self.lock();
        s.counter += 1;
        let api_id = format!("{}-{}", 3_232_240_000u64 + s.counter, uuid::Uuid::new_v4());
        let call = Call {
            id: id.clone(),
            api_id,
            direction,
            from: from.to_string(),
            from_name: from_name.map(str::to_string),
            to: to.to_string(),
            did: did.map(str::to_string),
            state: CallState::Ringing,
            legs: Vec::new(),
            created_ms: now,
            answered_ms: None,
            ended_ms: None,
            result_code: None,
            connected_to: None,
            parked_slot: None,
            parked_by: None,
            recording: None,
        };
        s.calls.insert(id, call.clone());
        drop(s);
        self.emit(&call, WorldEventKind::CallCreated);
        call
    }

    pub(crate) fn with_call<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Call, i64) -> Result<(T, Vec<WorldEventKind>), WorldError>,
    ) -> Result<T, WorldError> {
        let now = self.now_ms();
        let mut s = self.lock();
        let key = if s.calls.contains_key(id) {
            id.to_string()
        } else {
            s.calls
                .values()
                .find(|c| c.api_id == id)
                .map(|c| c.id.clone())
                .ok_or_else(|| WorldError::NoSuchCall(id.to_string()))?
        };
        let call = s
            .calls
            .get_mut(&key)
            .ok_or_else(|| WorldError::NoSuchCall(id.to_string()))?;
        let (out, kinds) = f(call, now)?;
        let snapshot = call.clone();
        drop(s);
        for k in kinds {
            self.emit(&snapshot, k);
        }
        Ok(out)
    }

    /// Start ringing `target` on the call; returns the new leg id.
    pub fn ring(&self, call_id: &str, target: &str) -> Result<String, WorldError> {
        let leg_id = format!("{}-{}", target, uuid::Uuid::new_v4().simple());
        self.with_call(call_id, |c, now| {
            if c.state != CallState::Ringing && c.state != CallState::Active {
                return Err(WorldError::WrongState(c.state));
            }
            c.legs.push(Leg {
                id: leg_id.clone(),
                target: target.to_string(),
                state: LegState::Ringing,
                started_ms: now,
                answered_ms: None,
                ended_ms: None,
                result_code: None,
            });
            let k = WorldEventKind::LegRinging {
                leg_id: leg_id.clone(),
                target: target.into(),
            };
            Ok((leg_id.clone(), vec![k]))
        })
    }

    /// End one ringing leg with `code` (486 busy, 480 no answer, 603 rejected …).
    pub fn end_leg(&self, call_id: &str, leg_id: &str, code: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, now| {
            let leg = c
                .legs
                .iter_mut()
                .find(|l| l.id == leg_id)
                .ok_or_else(|| WorldError::NoSuchLeg(leg_id.to_string()))?;
            if leg.state == LegState::Ended {
                return Ok(((), vec![]));
            }
            leg.state = LegState::Ended;
            leg.ended_ms = Some(now);
            leg.result_code = Some(code.to_string());
            let k = WorldEventKind::LegEnded {
                leg_id: leg_id.into(),
                target: leg.target.clone(),
                code: code.into(),
            };
            Ok(((), vec![k]))
        })
    }

    /// Answer the call on `leg_id`: that leg becomes the connected party. Every other ringing
    /// leg ends with `603-S` (answered elsewhere); a leg that was answered before (the agent
    /// completing an attended transfer) ends with `200`.
    pub fn answer(&self, call_id: &str, leg_id: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, now| {
            if c.state == CallState::Ended {
                return Err(WorldError::Ended(c.id.clone()));
            }
            let idx = c
                .legs
                .iter()
                .position(|l| l.id == leg_id)
                .ok_or_else(|| WorldError::NoSuchLeg(leg_id.to_string()))?;
            if c.legs[idx].state != LegState::Ringing {
                return Err(WorldError::WrongState(c.state));
            }
            let mut kinds = Vec::new();
            for (i, l) in c.legs.iter_mut().enumerate() {
                if i == idx || l.state == LegState::Ended {
                    continue;
                }
                let code = if l.state == LegState::Answered {
                    "200"
                } else {
                    "603-S"
                };
                l.state = LegState::Ended;
                l.ended_ms = Some(now);
                l.result_code = Some(code.into());
                kinds.push(WorldEventKind::LegEnded {
                    leg_id: l.id.clone(),
                    target: l.target.clone(),
                    code: code.into(),
                });
            }
            let leg = &mut c.legs[idx];
            leg.state = LegState::Answered;
            leg.answered_ms = Some(now);
            let target = leg.target.clone();
            kinds.insert(
                0,
                WorldEventKind::LegAnswered {
                    leg_id: leg_id.into(),
                    target: target.clone(),
                },
            );
            c.state = CallState::Active;
            c.answered_ms.get_or_insert(now);
            c.connected_to = Some(target);
            Ok(((), kinds))
        })
    }

    /// Hang the call up with `code` (`200` after talk, `304` missed, `603-S` caller gave up …).
    pub fn hangup(&self, call_id: &str, code: &str) -> Result<(), WorldError> {
        let slot_owner = self.with_call(call_id, |c, now| {
            if c.state == CallState::Ended {
                return Err(WorldError::Ended(c.id.clone()));
            }
            let mut kinds = Vec::new();
            for l in c.legs.iter_mut().filter(|l| l.state != LegState::Ended) {
                let leg_code = if l.state == LegState::Answered {
                    "200"
                } else {
                    code
                };
                l.state = LegState::Ended;
                l.ended_ms = Some(now);
                l.result_code = Some(leg_code.to_string());
                kinds.push(WorldEventKind::LegEnded {
                    leg_id: l.id.clone(),
                    target: l.target.clone(),
                    code: leg_code.into(),
                });
            }
            let parked = c
                .parked_slot
                .take()
                .map(|s| (s, c.parked_by.clone().unwrap_or_default()));
            if let Some((slot, _)) = &parked {
                kinds.push(WorldEventKind::Unparked {
                    slot: *slot,
                    how: "hung_up".into(),
                });
            }
            c.state = CallState::Ended;
            c.ended_ms = Some(now);
            c.result_code = Some(code.to_string());
            kinds.push(WorldEventKind::CallEnded { code: code.into() });
            Ok((parked, kinds))
        })?;
        if let Some((slot, owner)) = slot_owner {
            if let Some(lot) = self.lock().slots.get_mut(&owner) {
                lot.remove(&slot);
            }
        }
        Ok(())
    }

    pub fn hold(&self, call_id: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, _| match c.state {
            CallState::Active => {
                c.state = CallState::Held;
                Ok(((), vec![WorldEventKind::Held]))
            }
            s => Err(WorldError::WrongState(s)),
        })
    }

    pub fn resume(&self, call_id: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, _| match c.state {
            CallState::Held => {
                c.state = CallState::Active;
                Ok(((), vec![WorldEventKind::Resumed]))
            }
            s => Err(WorldError::WrongState(s)),
        })
    }

    /// The caller pressed keys.
    pub fn dtmf(&self, call_id: &str, digits: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, _| {
            if c.state == CallState::Ended {
                return Err(WorldError::Ended(c.id.clone()));
            }
            Ok((
                (),
                vec![WorldEventKind::Dtmf {
                    digits: digits.into(),
                }],
            ))
        })
    }

    pub fn set_recording(&self, call_id: &str, path: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, _| {
            c.recording = Some(path.to_string());
            Ok((
                (),
                vec![WorldEventKind::RecordingReady { path: path.into() }],
            ))
        })
    }
}

/// End every answered leg of `c` with `200`, recording the events.
fn end_answered_legs(c: &mut Call, now: i64, kinds: &mut Vec<WorldEventKind>) {
    for l in c.legs.iter_mut().filter(|l| l.state == LegState::Answered) {
        l.state = LegState::Ended;
        l.ended_ms = Some(now);
        l.result_code = Some("200".into());
        kinds.push(WorldEventKind::LegEnded {
            leg_id: l.id.clone(),
            target: l.target.clone(),
            code: "200".into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(Clock::new(1000.0))
    }

    #[test]
    fn answer_ends_other_ringing_legs() {
        let w = world();
        let c = w.create_call(
            Direction::Inbound,
            "+79001234567",
            None,
            "800",
            Some("74950000000"),
        );
        let a = w.ring(&c.id, "101").unwrap();
        let b = w.ring(&c.id, "102").unwrap();
        w.answer(&c.id, &b).unwrap();
        let c = w.call(&c.id).unwrap();
        assert_eq!(c.state, CallState::Active);
        let la = c.legs.iter().find(|l| l.id == a).unwrap();
        assert_eq!(la.state, LegState::Ended);
        assert_eq!(c.connected_to.as_deref(), Some("102"));
    }

    #[test]
    fn slots_hold_one_call_each() {
        let w = world();
        let mk = || {
            let c = w.create_call(Direction::Inbound, "1", None, "101", None);
            let l = w.ring(&c.id, "101").unwrap();
            w.answer(&c.id, &l).unwrap();
            c.id
        };
        let c1 = mk();
        let c2 = mk();
        assert_eq!(w.park(&c1, "34414", Some(6)).unwrap(), 6);
        assert_eq!(
            w.park(&c2, "34414", Some(6)),
            Err(WorldError::SlotOccupied(6))
        );
        assert_eq!(w.park(&c2, "34414", None).unwrap(), 1);
        assert!(!w.free_slots("34414").contains(&6));
        let (id, slot) = w.unpark("34414", Some(6), "102", "bridged", |_| 0).unwrap();
        assert_eq!((id.as_str(), slot), (c1.as_str(), 6));
        assert!(w.free_slots("34414").contains(&6));
        assert_eq!(
            w.unpark("34414", Some(6), "102", "bridged", |_| 0),
            Err(WorldError::SlotEmpty(6))
        );
    }
}
