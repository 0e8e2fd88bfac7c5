//! Era identifiers of a World call, and World events rendered as `callevents` / `ccsevents`.
//!
//! A World call is one Era *connection* (dialogue switching): `cid` (uuid), `invitets` (ms),
//! `connectionid = "<cid>.<invitets>"` (the `idconn` of `ccs` and the REST id), `dialogid`
//! (`rDlg-006-…`) and `acallid` (SIP Call-ID of side A). Each World leg is one Era *call*
//! (leg/shoulder) whose SIP Call-ID is `forkcallid = "<leg id>@<domain>"`.
//!
//! Every event's `data` carries the connection summary (`cid`, `connectionid`, `dialogid`,
//! `invitets`, `acallid`, `direction`, `callernum`, `callername`, `callednum`, `did`) so a
//! client that sees a call for the first time mid-way can still show it. Field names beyond
//! the documented ones are the simulator's choice:
//!
//! | World change | Era events |
//! |---|---|
//! | call created | `ccsevents.connection_create`, `ccsevents.call_create` (side A) |
//! | leg ringing | `callevents.fork_start`, `ccsevents.call_create` (side B, `state: ringing`) |
//! | leg answered | `callevents.dlg_start`, `ccsevents.call_set_state` (`talk`, `prevstate`) |
//! | ringing leg ended | `callevents.fork_stop` (`sipcode`, `resultcode`, `reason`, `abonentid`), `ccsevents.call_delete` |
//! | answered leg ended | `callevents.dlg_stop` (sent `dlg_stop_delay_ms` later), `ccsevents.call_delete` |
//! | held / resumed | `ccsevents.call_set_state` (`hold`/`talk`, `prevstate`) |
//! | transferred | `ccsevents.connection_update` (`event: transfer`, `referto`, `attended`) |
//! | conference invite | `ccsevents.connection_update` (`event: conference`, `with`) |
//! | DTMF | `callevents.dtmf`, `ccsevents.call_dtmf` |
//! | recording ready | `ccsevents.connection_set_record_info` (`key` for `callrecord_get_path`) |
//! | call ended | `ccsevents.connection_delete` (`resultcode`, `sipcode`, `talksecs`) |
//!
//! Valet parking is a Telphin feature; parked/unparked changes are not rendered for Era
//! (the legs ending and answering around them are).

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::world::{Call, CallState, Direction, Leg, WorldEvent, WorldEventKind};

/// Era identifiers of one World call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraIds {
    pub cid: String,
    pub invitets: i64,
    pub connectionid: String,
    pub dialogid: String,
    pub acallid: String,
}

impl EraIds {
    pub fn of(call: &Call, domain: &str) -> EraIds {
        let h = &call.id;
        let cid = if h.len() == 32 && h.is_ascii() {
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        } else {
            h.clone()
        };
        let tail: String = h.chars().rev().take(6).collect();
        EraIds {
            connectionid: format!("{cid}.{}", call.created_ms),
            cid,
            invitets: call.created_ms,
            dialogid: format!("rDlg-006-{tail}"),
            acallid: format!("rA-{}@{domain}", h.chars().take(12).collect::<String>()),
        }
    }

    /// Does `id` name this call (connectionid, cid, dialogid, acallid or the World id)?
    pub fn names(&self, call: &Call, id: &str) -> bool {
        id == self.connectionid
            || id == self.cid
            || id == self.dialogid
            || id == self.acallid
            || id == call.id
            || id == call.api_id
    }
}

/// SIP Call-ID of a leg.
pub fn fork_call_id(leg_id: &str, domain: &str) -> String {
    format!("{leg_id}@{domain}")
}

/// `in` / `out` / `local`.
pub fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "in",
        Direction::Outbound => "out",
        Direction::Internal => "local",
    }
}

/// Era-style state name of a call.
pub fn state_str(s: CallState) -> &'static str {
    match s {
        CallState::Ringing => "ringing",
        CallState::Active => "talk",
        CallState::Held => "hold",
        CallState::Parked => "hold",
        CallState::Ended => "ended",
    }
}

/// Everything a call touches: caller, called number, every leg's target, the talker.
pub fn call_objects(call: &Call) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    s.insert(call.from.clone());
    s.insert(call.to.clone());
    for l in &call.legs {
        s.insert(l.target.clone());
    }
    if let Some(c) = &call.connected_to {
        s.insert(c.clone());
    }
    s
}

/// The connection summary every event's `data` starts with.
pub fn connection_summary(call: &Call, domain: &str) -> Map<String, Value> {
    let ids = EraIds::of(call, domain);
    let mut m = Map::new();
    m.insert("cid".into(), json!(ids.cid));
    m.insert("connectionid".into(), json!(ids.connectionid));
    m.insert("idconn".into(), json!(ids.connectionid));
    m.insert("dialogid".into(), json!(ids.dialogid));
    m.insert("invitets".into(), json!(ids.invitets));
    m.insert("invitedt".into(), json!(iso(ids.invitets)));
    m.insert("acallid".into(), json!(ids.acallid));
    m.insert("direction".into(), json!(direction_str(call.direction)));
    m.insert("callernum".into(), json!(call.from));
    m.insert("callername".into(), json!(call.from_name));
    m.insert("callednum".into(), json!(call.to));
    m.insert("did".into(), json!(call.did));
    m.insert(
        "remoteuri".into(),
        json!(format!("sip:{}@{domain}", call.from)),
    );
    m.insert(
        "localuri".into(),
        json!(format!("sip:{}@{domain}", call.to)),
    );
    m
}

/// A call as listed by REST `GET /rest/v1/uc/calls` and `ccs list_connections`.
pub fn connection_listing(call: &Call, domain: &str, now_ms: i64) -> Value {
    let mut m = connection_summary(call, domain);
    let ids = EraIds::of(call, domain);
    m.insert("id".into(), json!(ids.connectionid));
    m.insert("state".into(), json!(state_str(call.state)));
    m.insert("answerts".into(), json!(call.answered_ms));
    m.insert("talksecs".into(), json!(call.talk_secs(now_ms)));
    m.insert(
        "a".into(),
        json!({ "number": call.from, "name": call.from_name, "callid": ids.acallid }),
    );
    let b = call
        .legs
        .iter()
        .rev()
        .find(|l| l.state != crate::world::LegState::Ended)
        .map(|l| json!({ "number": l.target, "callid": fork_call_id(&l.id, domain), "state": leg_state(l) }));
    m.insert("b".into(), b.unwrap_or(Value::Null));
    let legs: Vec<Value> = call
        .legs
        .iter()
        .map(|l| json!({ "number": l.target, "callid": fork_call_id(&l.id, domain), "state": leg_state(l) }))
        .collect();
    m.insert("legs".into(), Value::Array(legs));
    m.insert("connected".into(), json!(call.connected_to));
    Value::Object(m)
}

fn leg_state(l: &Leg) -> &'static str {
    match l.state {
        crate::world::LegState::Ringing => "ringing",
        crate::world::LegState::Answered => "talk",
        crate::world::LegState::Ended => "ended",
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}

/// One rendered event.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub class: &'static str,
    pub kind: &'static str,
    pub eventts: i64,
    pub data: Value,
    pub objects: BTreeSet<String>,
    /// Simulated milliseconds to wait before sending (`dlg_stop`).
    pub delay_ms: u64,
}

/// Render one World event as Era events.
pub fn render(ev: &WorldEvent, domain: &str, dlg_stop_delay_ms: u64) -> Vec<Rendered> {
    let call = &ev.call;
    let objects = call_objects(call);
    let base = connection_summary(call, domain);
    let mk = |class: &'static str, kind: &'static str, extra: Value, delay_ms: u64| {
        let mut data = base.clone();
        data.insert("eventid".into(), json!(uuid::Uuid::new_v4().to_string()));
        data.insert("eventts".into(), json!(ev.at_ms));
        if let Value::Object(x) = extra {
            for (k, v) in x {
                data.insert(k, v);
            }
        }
        Rendered {
            class,
            kind,
            eventts: ev.at_ms,
            data: Value::Object(data),
            objects: objects.clone(),
            delay_ms,
        }
    };
    let ids = EraIds::of(call, domain);
    let leg = |leg_id: &str| call.legs.iter().find(|l| l.id == leg_id);
    let talker = || {
        call.legs
            .iter()
            .rev()
            .find(|l| l.state == crate::world::LegState::Answered)
            .map(|l| fork_call_id(&l.id, domain))
            .unwrap_or_else(|| ids.acallid.clone())
    };
    match &ev.kind {
        WorldEventKind::CallCreated => vec![
            mk(
                "ccsevents",
                "connection_create",
                json!({ "state": "ringing" }),
                0,
            ),
            mk(
                "ccsevents",
                "call_create",
                json!({ "idcall": ids.acallid, "side": "a", "number": call.from, "state": "talk" }),
                0,
            ),
        ],
        WorldEventKind::LegRinging { leg_id, target } => {
            let fc = fork_call_id(leg_id, domain);
            vec![
                mk(
                    "callevents",
                    "fork_start",
                    json!({
                        "forkcallid": fc, "forkcallednum": target, "forkdir": "out",
                        "forkrequesturi": format!("sip:{target}@{domain}"),
                        "forkremoteuri": format!("sip:{target}@{domain}"),
                        "forklocaltag": leg_id,
                    }),
                    0,
                ),
                mk(
                    "ccsevents",
                    "call_create",
                    json!({ "idcall": fc, "side": "b", "number": target, "state": "ringing" }),
                    0,
                ),
            ]
        }
        WorldEventKind::LegAnswered { leg_id, target } => {
            let fc = fork_call_id(leg_id, domain);
            vec![
                mk(
                    "callevents",
                    "dlg_start",
                    json!({ "forkcallid": fc, "forkcallednum": target, "ghost": false }),
                    0,
                ),
                mk(
                    "ccsevents",
                    "call_set_state",
                    json!({ "idcall": fc, "number": target, "state": "talk", "prevstate": "ringing" }),
                    0,
                ),
            ]
        }
        WorldEventKind::LegEnded {
            leg_id,
            target,
            code,
        } => {
            let fc = fork_call_id(leg_id, domain);
            let was_answered = leg(leg_id).is_some_and(|l| l.answered_ms.is_some());
            let sip = sip_code(code);
            let first = if was_answered {
                mk(
                    "callevents",
                    "dlg_stop",
                    json!({
                        "forkcallid": fc, "forkcallednum": target,
                        "aabonentid": format!("{}@{domain}", call.from),
                        "babonentid": format!("{target}@{domain}"),
                        "recorded": call.recording.is_some(), "mediagate": true,
                    }),
                    dlg_stop_delay_ms,
                )
            } else {
                mk(
                    "callevents",
                    "fork_stop",
                    json!({
                        "forkcallid": fc, "forkcallednum": target, "sipcode": sip,
                        "resultcode": code, "reason": reason(code),
                        "abonentid": format!("{target}@{domain}"),
                    }),
                    0,
                )
            };
            vec![
                first,
                mk(
                    "ccsevents",
                    "call_delete",
                    json!({ "idcall": fc, "number": target, "resultcode": code }),
                    0,
                ),
            ]
        }
        WorldEventKind::Held => vec![mk(
            "ccsevents",
            "call_set_state",
            json!({ "idcall": talker(), "state": "hold", "prevstate": "talk" }),
            0,
        )],
        WorldEventKind::Resumed => vec![mk(
            "ccsevents",
            "call_set_state",
            json!({ "idcall": talker(), "state": "talk", "prevstate": "hold" }),
            0,
        )],
        WorldEventKind::Transferred { to, attended } => vec![mk(
            "ccsevents",
            "connection_update",
            json!({ "event": "transfer", "referto": to, "attended": attended }),
            0,
        )],
        WorldEventKind::Dtmf { digits } => vec![
            mk("callevents", "dtmf", json!({ "dtmf": digits }), 0),
            mk(
                "ccsevents",
                "call_dtmf",
                json!({ "idcall": ids.acallid, "dtmf": digits }),
                0,
            ),
        ],
        WorldEventKind::RecordingReady { path } => vec![mk(
            "ccsevents",
            "connection_set_record_info",
            json!({ "key": path, "duration": call.talk_secs(ev.at_ms) }),
            0,
        )],
        WorldEventKind::CallEnded { code } => vec![mk(
            "ccsevents",
            "connection_delete",
            json!({
                "resultcode": code, "sipcode": sip_code(code), "reason": reason(code),
                "talksecs": call.talk_secs(ev.at_ms), "answerts": call.answered_ms,
            }),
            0,
        )],
        WorldEventKind::Parked { .. } | WorldEventKind::Unparked { .. } => Vec::new(),
        // Kinds added to the World later are rendered from their serialized form, so this
        // module keeps compiling while the World grows.
        #[allow(unreachable_patterns)]
        other => {
            let v = serde_json::to_value(other).unwrap_or(Value::Null);
            match v["type"].as_str() {
                Some("conference") => vec![mk(
                    "ccsevents",
                    "connection_update",
                    json!({ "event": "conference", "with": v["with"] }),
                    0,
                )],
                _ => Vec::new(),
            }
        }
    }
}

/// The numeric SIP part of a code like `603-S`.
pub fn sip_code(code: &str) -> u16 {
    code.chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn reason(code: &str) -> &'static str {
    match code {
        "200" => "ok",
        "603-S" | "603-s" | "487" => "cancelled",
        "603" => "declined",
        "486" => "busy",
        "480" | "408" | "304" => "no answer",
        "404" => "not found",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldEventKind;

    fn call() -> Call {
        Call {
            id: "0123456789abcdef0123456789abcdef".into(),
            api_id: "1-x".into(),
            direction: Direction::Inbound,
            from: "+79001234567".into(),
            from_name: None,
            to: "800".into(),
            did: None,
            state: CallState::Ringing,
            legs: vec![],
            created_ms: 1_600_000_000_000,
            answered_ms: None,
            ended_ms: None,
            result_code: None,
            connected_to: None,
            parked_slot: None,
            parked_by: None,
            recording: None,
        }
    }

    #[test]
    fn ids_are_consistent() {
        let ids = EraIds::of(&call(), "d");
        assert_eq!(ids.cid, "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(
            ids.connectionid,
            "01234567-89ab-cdef-0123-456789abcdef.1600000000000"
        );
        assert!(ids.names(&call(), &ids.connectionid));
    }

    #[test]
    fn fork_stop_carries_codes() {
        let mut c = call();
        c.legs.push(Leg {
            id: "101-a".into(),
            target: "101".into(),
            state: crate::world::LegState::Ended,
            started_ms: 0,
            answered_ms: None,
            ended_ms: Some(1),
            result_code: Some("486".into()),
        });
        let ev = WorldEvent {
            at_ms: 5,
            call: c,
            kind: WorldEventKind::LegEnded {
                leg_id: "101-a".into(),
                target: "101".into(),
                code: "486".into(),
            },
        };
        let r = render(&ev, "d", 3000);
        assert_eq!(r[0].kind, "fork_stop");
        assert_eq!(r[0].data["sipcode"], 486);
        assert_eq!(r[0].data["forkcallid"], "101-a@d");
        assert!(r[0].objects.contains("101"));
    }
}
