//! Era notifications → normalized [`CallEvent`]s, plus the call tracker used to reconcile
//! state after a reconnect.
//!
//! `call_id` is the Era `cid` (one id for the whole switching); `control_id` is the
//! `connectionid` (`<cid>.<invitets>`, the id of `ccs` and REST). Mapping:
//!
//! | Era event | CallEvent |
//! |---|---|
//! | first event of an unknown call (incl. `ccsevents.connection_create`) | `Created` |
//! | `callevents.fork_start` | `LegRinging` (leg = `forkcallid`) |
//! | `callevents.fork_stop` | `LegEnded` (`resultcode`, else `sipcode`) |
//! | `callevents.dlg_start` | `Answered` |
//! | `callevents.dlg_stop` | `LegEnded` with `200` |
//! | `callevents.dtmf` | `Dtmf` |
//! | `ccsevents.call_set_state` `hold` / `talk` after `hold` | `Held` / `Resumed` |
//! | `ccsevents.connection_update` `event: transfer` | `Transferred` |
//! | `ccsevents.connection_set_record_info` | `RecordingAvailable` (the `key`) |
//! | `ccsevents.connection_delete` | `Ended` |
//! | `ivrevents.api_start` / `api_stop` | `Ivr` (`step`) |
//!
//! Other events (`call_create`, `call_delete`, `call_dtmf`, …) duplicate these and are not
//! mapped. `dedup_key` is `era:<class>.<type>:<eventid>` (or a hash of the event when it has
//! no `eventid`); synthesized events use `era:<cid>:<what>`.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{json, Value};

use crate::model::{CallEvent, CallEventKind, Direction, Outcome, Party, ResultCode, Source};

fn text(v: &Value, field: &str) -> Option<String> {
    match v.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// FNV-1a of a string (stable across runs, for dedup keys of events without an id).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn dedup_key(class: &str, kind: &str, data: &Value) -> String {
    match text(data, "eventid") {
        Some(id) => format!("era:{class}.{kind}:{id}"),
        None => format!("era:{class}.{kind}:{:016x}", fnv(&data.to_string())),
    }
}

fn direction(data: &Value) -> Direction {
    match data.get("direction").and_then(Value::as_str) {
        Some("out" | "outbound" | "outgoing") => Direction::Outbound,
        Some("local" | "internal") => Direction::Internal,
        _ => Direction::Inbound,
    }
}

fn result_code(data: &Value) -> ResultCode {
    match text(data, "resultcode").or_else(|| text(data, "sipcode")) {
        Some(c) => ResultCode::from_code(&c),
        None => ResultCode::from_code("0"),
    }
}

/// What the tracker knows about one live call.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedCall {
    pub cid: String,
    pub connectionid: Option<String>,
    pub answered: bool,
    pub held: bool,
    /// Connection generation in which an event about the call was last seen.
    pub generation: u64,
    /// Connection generation in which the call was first seen.
    pub born: u64,
}

/// Live calls seen by the session, for `Created` synthesis and reconciliation.
#[derive(Debug, Default)]
pub struct CallTracker {
    active: HashMap<String, TrackedCall>,
    ended: HashSet<String>,
    ended_order: VecDeque<String>,
    generation: u64,
}

const ENDED_MEMORY: usize = 2048;

impl CallTracker {
    /// A new WebSocket connection began: calls not seen in it are candidates for reconciliation.
    pub fn new_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    pub fn active(&self) -> impl Iterator<Item = &TrackedCall> {
        self.active.values()
    }

    /// `connectionid` of a live call by `cid`.
    pub fn connection_id(&self, cid: &str) -> Option<String> {
        self.active.get(cid).and_then(|c| c.connectionid.clone())
    }

    fn mark_ended(&mut self, cid: &str) {
        self.active.remove(cid);
        if self.ended.insert(cid.to_string()) {
            self.ended_order.push_back(cid.to_string());
            if self.ended_order.len() > ENDED_MEMORY {
                if let Some(old) = self.ended_order.pop_front() {
                    self.ended.remove(&old);
                }
            }
        }
    }

    fn event(
        cid: &str,
        conn: Option<String>,
        at_ms: i64,
        kind: CallEventKind,
        dedup_key: String,
    ) -> CallEvent {
        CallEvent {
            source: Source::Era,
            call_id: cid.to_string(),
            control_id: conn,
            at_ms,
            kind,
            dedup_key,
        }
    }

    /// `Created` from a connection summary.
    fn created(data: &Value, cid: &str, conn: Option<String>, at_ms: i64) -> CallEvent {
        let from = Party {
            number: text(data, "callernum").unwrap_or_default(),
            name: text(data, "callername"),
            extension_id: None,
        };
        let kind = CallEventKind::Created {
            direction: direction(data),
            from,
            to: Party::number(text(data, "callednum").unwrap_or_default()),
            did: text(data, "did"),
            via: None,
        };
        Self::event(cid, conn, at_ms, kind, format!("era:{cid}:created"))
    }

    /// Map one `callevents`/`ccsevents` notification.
    pub fn on_notify(
        &mut self,
        class: &str,
        kind: &str,
        eventts: Option<i64>,
        data: &Value,
        now_ms: i64,
    ) -> Vec<CallEvent> {
        let Some(cid) = text(data, "cid") else {
            return Vec::new();
        };
        let at = data
            .get("eventts")
            .and_then(Value::as_i64)
            .or(eventts)
            .unwrap_or(now_ms);
        let conn = text(data, "connectionid").or_else(|| text(data, "idconn"));
        let key = dedup_key(class, kind, data);
        let mut out = Vec::new();
        let was_ended = self.ended.contains(&cid);
        if !was_ended && !self.active.contains_key(&cid) {
            self.active.insert(
                cid.clone(),
                TrackedCall {
                    cid: cid.clone(),
                    connectionid: conn.clone(),
                    answered: false,
                    held: false,
                    generation: self.generation,
                    born: self.generation,
                },
            );
            out.push(Self::created(data, &cid, conn.clone(), at));
        }
        if let Some(t) = self.active.get_mut(&cid) {
            t.generation = self.generation;
            if t.connectionid.is_none() {
                t.connectionid = conn.clone();
            }
        }
        let leg = || text(data, "forkcallid").unwrap_or_default();
        let mapped = match (class, kind) {
            ("callevents", "fork_start") => Some(CallEventKind::LegRinging {
                leg_id: leg(),
                party: Party::number(text(data, "forkcallednum").unwrap_or_default()),
            }),
            ("callevents", "fork_stop") => Some(CallEventKind::LegEnded {
                leg_id: leg(),
                result: result_code(data),
            }),
            ("callevents", "dlg_start") => {
                if let Some(t) = self.active.get_mut(&cid) {
                    t.answered = true;
                }
                Some(CallEventKind::Answered {
                    leg_id: Some(leg()),
                    by: Party::number(text(data, "forkcallednum").unwrap_or_default()),
                })
            }
            ("callevents", "dlg_stop") => Some(CallEventKind::LegEnded {
                leg_id: leg(),
                result: ResultCode::from_code("200"),
            }),
            ("callevents", "dtmf") => {
                text(data, "dtmf").map(|digits| CallEventKind::Dtmf { digits })
            }
            ("ccsevents", "call_set_state") => {
                let state = text(data, "state").unwrap_or_default();
                let prev = text(data, "prevstate").unwrap_or_default();
                let t = self.active.get_mut(&cid);
                match (state.as_str(), prev.as_str()) {
                    ("hold", _) => {
                        if let Some(t) = t {
                            t.held = true;
                        }
                        Some(CallEventKind::Held)
                    }
                    ("talk", "hold") => {
                        if let Some(t) = t {
                            t.held = false;
                        }
                        Some(CallEventKind::Resumed)
                    }
                    _ => None,
                }
            }
            ("ccsevents", "connection_update")
                if data.get("event").and_then(Value::as_str) == Some("transfer") =>
            {
                Some(CallEventKind::Transferred {
                    to: Party::number(text(data, "referto").unwrap_or_default()),
                    attended: data
                        .get("attended")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
            }
            ("ccsevents", "connection_set_record_info") => {
                text(data, "key").map(|reference| CallEventKind::RecordingAvailable { reference })
            }
            ("ccsevents", "connection_delete") => {
                self.mark_ended(&cid);
                Some(CallEventKind::Ended {
                    result: result_code(data),
                    talk_secs: data.get("talksecs").and_then(Value::as_i64),
                })
            }
            _ => None,
        };
        if let Some(k) = mapped {
            out.push(Self::event(&cid, conn, at, k, key));
        }
        out
    }

    /// Compare the platform's list of active calls (REST) with what the tracker believes and
    /// emit what was missed while disconnected: calls that began (`Created`, `Answered`,
    /// `Held`) and calls that ended (`Ended`, outcome from whether it was answered). Calls seen
    /// on the current connection are left alone: their events are newer than the list.
    pub fn reconcile(&mut self, listed: &[Value], now_ms: i64) -> Vec<CallEvent> {
        let mut out = Vec::new();
        let mut present = HashSet::new();
        for c in listed {
            let Some(cid) = text(c, "cid") else { continue };
            present.insert(cid.clone());
            if self.ended.contains(&cid) {
                continue;
            }
            let conn = text(c, "connectionid").or_else(|| text(c, "id"));
            let state = text(c, "state").unwrap_or_default();
            let fresh = !self.active.contains_key(&cid);
            if fresh {
                out.push(Self::created(c, &cid, conn.clone(), now_ms));
                self.active.insert(
                    cid.clone(),
                    TrackedCall {
                        cid: cid.clone(),
                        connectionid: conn.clone(),
                        answered: false,
                        held: false,
                        generation: 0,
                        born: self.generation,
                    },
                );
            }
            let Some(t) = self.active.get_mut(&cid) else {
                continue;
            };
            if t.generation == self.generation && !fresh {
                continue;
            }
            if matches!(state.as_str(), "talk" | "hold") && !t.answered {
                t.answered = true;
                let by = c
                    .get("connected")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| text(&c["b"], "number"));
                let kind = CallEventKind::Answered {
                    leg_id: text(&c["b"], "callid"),
                    by: Party::number(by.unwrap_or_default()),
                };
                out.push(Self::event(
                    &cid,
                    conn.clone(),
                    now_ms,
                    kind,
                    format!("era:{cid}:reconciled-answered"),
                ));
            }
            if state == "hold" && !t.held {
                t.held = true;
                out.push(Self::event(
                    &cid,
                    conn.clone(),
                    now_ms,
                    CallEventKind::Held,
                    format!("era:{cid}:reconciled-held:{now_ms}"),
                ));
            } else if state == "talk" && t.held {
                t.held = false;
                out.push(Self::event(
                    &cid,
                    conn.clone(),
                    now_ms,
                    CallEventKind::Resumed,
                    format!("era:{cid}:reconciled-resumed:{now_ms}"),
                ));
            }
        }
        let gone: Vec<TrackedCall> = self
            .active
            .values()
            // A call known before this connection and absent from the list has ended, even if a
            // trailing event of it (a late `dlg_stop`) arrived on the new link first; only calls
            // first seen on this connection may be newer than the list.
            .filter(|t| t.born < self.generation && !present.contains(&t.cid))
            .cloned()
            .collect();
        for t in gone {
            let outcome = if t.answered {
                Outcome::Answered
            } else {
                Outcome::Missed
            };
            let result = ResultCode {
                code: String::new(),
                outcome,
                meaning: "ended while the panel was offline".into(),
            };
            let kind = CallEventKind::Ended {
                result,
                talk_secs: None,
            };
            out.push(Self::event(
                &t.cid,
                t.connectionid.clone(),
                now_ms,
                kind,
                format!("era:{}:reconciled-ended", t.cid),
            ));
            self.mark_ended(&t.cid);
        }
        out
    }
}

/// The `Ivr` call event of an `ivrevents` notification.
pub fn ivr_call_event(
    kind: &str,
    eventts: Option<i64>,
    data: &Value,
    now_ms: i64,
) -> Option<CallEvent> {
    let cid = text(data, "cid")?;
    let at = eventts.unwrap_or(now_ms);
    let mut detail = json!({ "key": data.get("key"), "ivrid": data.get("ivrid") });
    if let Some(r) = data.get("reason") {
        detail["reason"] = r.clone();
    }
    Some(CallEvent {
        source: Source::Era,
        call_id: cid,
        control_id: text(data, "connectionid"),
        at_ms: at,
        kind: CallEventKind::Ivr {
            step: kind.to_string(),
            detail,
        },
        dedup_key: dedup_key("ivrevents", kind, data),
    })
}

/// The offer of an `ivrevents.api_start`.
pub fn ivr_offer(
    eventts: Option<i64>,
    data: &Value,
    now_ms: i64,
) -> Option<super::types::IvrOffer> {
    let key = text(data, "key")?;
    let ivrid = text(data, "ivrid").unwrap_or_default();
    let params = match data.get("params") {
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(v) => v.clone(),
        None => Value::Null,
    };
    Some(super::types::IvrOffer {
        key,
        ivrid,
        call_id: text(data, "cid"),
        caller: text(data, "callernum"),
        ivr_number: text(data, "ivrnumber"),
        component_name: text(data, "componentname"),
        params,
        at_ms: data
            .get("ivrts")
            .and_then(Value::as_i64)
            .or(eventts)
            .unwrap_or(now_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(extra: Value) -> Value {
        let mut v = json!({"cid": "c1", "connectionid": "c1.5", "callernum": "+7900", "callednum": "800", "direction": "in"});
        for (k, x) in extra.as_object().cloned().unwrap_or_default() {
            v[k] = x;
        }
        v
    }

    #[test]
    fn first_event_synthesizes_created_once() {
        let mut t = CallTracker::default();
        t.new_generation();
        let a = t.on_notify(
            "callevents",
            "fork_start",
            Some(1),
            &d(json!({"eventid": "e1", "forkcallid": "l1", "forkcallednum": "101"})),
            0,
        );
        assert_eq!(a.len(), 2);
        assert!(
            matches!(&a[0].kind, CallEventKind::Created { direction: Direction::Inbound, from, .. } if from.number == "+7900")
        );
        assert_eq!(a[0].dedup_key, "era:c1:created");
        assert_eq!(a[1].dedup_key, "era:callevents.fork_start:e1");
        assert_eq!(a[1].control_id.as_deref(), Some("c1.5"));
        let b = t.on_notify(
            "ccsevents",
            "connection_create",
            Some(1),
            &d(json!({"eventid": "e0"})),
            0,
        );
        assert!(
            b.is_empty(),
            "connection_create after the fact adds nothing"
        );
        let e = t.on_notify(
            "ccsevents",
            "connection_delete",
            Some(9),
            &d(json!({"resultcode": "486", "talksecs": 0})),
            0,
        );
        assert!(
            matches!(&e[0].kind, CallEventKind::Ended { result, .. } if result.outcome == Outcome::Busy)
        );
        // Late dlg_stop of an ended call: mapped, no new Created.
        let late = t.on_notify(
            "callevents",
            "dlg_stop",
            Some(10),
            &d(json!({"forkcallid": "l1"})),
            0,
        );
        assert_eq!(late.len(), 1);
        assert!(matches!(late[0].kind, CallEventKind::LegEnded { .. }));
    }

    #[test]
    fn hold_resume_transfer_record() {
        let mut t = CallTracker::default();
        let hold = t.on_notify(
            "ccsevents",
            "call_set_state",
            None,
            &d(json!({"state": "hold", "prevstate": "talk"})),
            7,
        );
        assert_eq!(hold[1].kind, CallEventKind::Held);
        assert_eq!(hold[1].at_ms, 7);
        let res = t.on_notify(
            "ccsevents",
            "call_set_state",
            None,
            &d(json!({"state": "talk", "prevstate": "hold"})),
            8,
        );
        assert_eq!(res[0].kind, CallEventKind::Resumed);
        assert!(t
            .on_notify(
                "ccsevents",
                "call_set_state",
                None,
                &d(json!({"state": "talk", "prevstate": "ringing"})),
                8
            )
            .is_empty());
        let tr = t.on_notify(
            "ccsevents",
            "connection_update",
            None,
            &d(json!({"event": "transfer", "referto": "102", "attended": true})),
            9,
        );
        assert!(
            matches!(&tr[0].kind, CallEventKind::Transferred { attended: true, to } if to.number == "102")
        );
        let rec = t.on_notify(
            "ccsevents",
            "connection_set_record_info",
            None,
            &d(json!({"key": "fs:1"})),
            9,
        );
        assert!(
            matches!(&rec[0].kind, CallEventKind::RecordingAvailable { reference } if reference == "fs:1")
        );
    }

    #[test]
    fn reconcile_finds_missed_starts_and_ends() {
        let mut t = CallTracker::default();
        t.new_generation();
        t.on_notify(
            "callevents",
            "dlg_start",
            None,
            &d(json!({"forkcallid": "l1", "forkcallednum": "101"})),
            1,
        );
        t.new_generation();
        let listed = vec![
            json!({"cid": "c2", "connectionid": "c2.1", "state": "talk", "callernum": "+7911", "callednum": "101", "connected": "101", "b": {"callid": "l9"}}),
        ];
        let out = t.reconcile(&listed, 100);
        let kinds: Vec<_> = out.iter().map(|e| (e.call_id.as_str(), &e.kind)).collect();
        assert!(matches!(kinds[0], ("c2", CallEventKind::Created { .. })));
        assert!(matches!(kinds[1], ("c2", CallEventKind::Answered { .. })));
        assert!(
            matches!(kinds[2], ("c1", CallEventKind::Ended { result, .. }) if result.outcome == Outcome::Answered)
        );
        assert!(
            t.reconcile(&listed, 200).is_empty(),
            "a second reconcile adds nothing"
        );
    }

    #[test]
    fn offers_decode_string_params() {
        let o = ivr_offer(
            Some(3),
            &json!({"key": "abc", "ivrid": "rDlg-1", "params": "{\"a\":1}", "cid": "c"}),
            0,
        )
        .unwrap();
        assert_eq!(o.params, json!({"a": 1}));
        assert_eq!(o.at_ms, 3);
        assert!(ivr_offer(None, &json!({}), 0).is_none());
    }
}
