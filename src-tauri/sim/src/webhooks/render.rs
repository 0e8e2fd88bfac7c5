//! World changes rendered as seed-004 hooks.
//!
//! | World event (inbound call)            | hook                                  |
//! |---------------------------------------|---------------------------------------|
//! | call created                          | `CreateIncCall`                       |
//! | a leg starts ringing (one per number) | `AttemptIncCallBegin`                 |
//! | a leg answers                         | `ChangeIncCall`                       |
//! | a leg ends without having answered    | `AttemptIncCallEnd`                   |
//! | call ends, somebody had answered      | `EndIncCall`                          |
//! | call ends, nobody answered            | `MissedIncCall`                       |
//!
//! Outbound calls give `CreateOutCall` and `EndOutCall`; internal calls give nothing.
//! Times are `YYYY-MM-DD HH:MM:SS` in the configured zone; `SessionID` is the call's uuid in
//! its hyphenated form; `ResultCode` is the World's SIP-like code, a string as in the examples.

use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

use super::WebhookSimConfig;
use crate::world::{Call, Direction, WorldEvent, WorldEventKind};

/// The JSON body of one hook, fields in the seed's order and with the seed's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookBody {
    #[serde(rename = "SessionID")]
    pub session_id: String,
    #[serde(rename = "HookType")]
    pub hook_type: String,
    #[serde(rename = "StartTime", skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(rename = "StartDuration", skip_serializing_if = "Option::is_none")]
    pub start_duration: Option<String>,
    #[serde(rename = "EndTime", skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(rename = "Duration", skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(rename = "ResultCode", skip_serializing_if = "Option::is_none")]
    pub result_code: Option<Value>,
    #[serde(rename = "CityNumber")]
    pub city_number: String,
    #[serde(rename = "Caller")]
    pub caller: String,
    #[serde(rename = "Called", skip_serializing_if = "Option::is_none")]
    pub called: Option<String>,
    #[serde(rename = "Redirecting", skip_serializing_if = "Option::is_none")]
    pub redirecting: Option<String>,
}

/// One hook to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// World call id (the reorder batches are per call).
    pub call_id: String,
    /// Whether this hook ends the call's sequence (`EndIncCall`, `MissedIncCall`, `EndOutCall`).
    pub terminal: bool,
    pub body: HookBody,
}

impl Hook {
    pub fn hook_type(&self) -> &str {
        &self.body.hook_type
    }

    pub fn json(&self) -> String {
        serde_json::to_string(&self.body).unwrap_or_default()
    }
}

/// The `SessionID` of a World call: its uuid hyphenated (`ec22aab1-02f8-…`), as in the seed.
pub fn session_id(call_id: &str) -> String {
    match uuid::Uuid::parse_str(call_id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(_) => call_id.to_string(),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in `tz`.
pub fn format_time(ms: i64, tz: Tz) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => String::new(),
    }
}

/// Render one World event into the hooks it causes (usually zero or one).
pub fn render(ev: &WorldEvent, cfg: &WebhookSimConfig, tz: Tz) -> Vec<Hook> {
    let call = &ev.call;
    let t = |ms: i64| Some(format_time(ms, tz));
    let base = |hook_type: &str| HookBody {
        session_id: session_id(&call.id),
        hook_type: hook_type.to_string(),
        start_time: None,
        start_duration: None,
        end_time: None,
        duration: None,
        result_code: None,
        city_number: call.did.clone().unwrap_or_else(|| cfg.city_number.clone()),
        caller: call.from.clone(),
        called: Some(call.to.clone()),
        redirecting: None,
    };
    let leg = |id: &str| call.legs.iter().find(|l| l.id == id);
    let inbound = call.direction == Direction::Inbound;
    let outbound = call.direction == Direction::Outbound;
    let body = match &ev.kind {
        WorldEventKind::CallCreated if inbound => HookBody {
            start_time: t(call.created_ms),
            ..base("CreateIncCall")
        },
        WorldEventKind::CallCreated if outbound => HookBody {
            start_time: t(call.created_ms),
            ..base("CreateOutCall")
        },
        WorldEventKind::LegRinging { leg_id, target } if inbound => HookBody {
            start_time: t(leg(leg_id).map_or(ev.at_ms, |l| l.started_ms)),
            called: Some(target.clone()),
            ..base("AttemptIncCallBegin")
        },
        WorldEventKind::LegAnswered { leg_id, target } if inbound => HookBody {
            start_duration: t(leg(leg_id).and_then(|l| l.answered_ms).unwrap_or(ev.at_ms)),
            called: Some(target.clone()),
            ..base("ChangeIncCall")
        },
        WorldEventKind::LegEnded {
            leg_id,
            target,
            code,
        } if inbound => {
            let l = leg(leg_id);
            if l.is_some_and(|l| l.answered_ms.is_some()) {
                return Vec::new();
            }
            HookBody {
                start_time: (!cfg.omit_start_time_in_end_hooks)
                    .then(|| format_time(l.map_or(ev.at_ms, |l| l.started_ms), tz)),
                end_time: t(l.and_then(|l| l.ended_ms).unwrap_or(ev.at_ms)),
                called: Some(target.clone()),
                result_code: cfg
                    .include_attempt_result_code
                    .then(|| result_code(code, cfg)),
                ..base("AttemptIncCallEnd")
            }
        }
        WorldEventKind::CallEnded { code } if inbound || outbound => {
            let hook_type = match (inbound, call.answered_ms.is_some()) {
                (false, _) => "EndOutCall",
                (true, true) => "EndIncCall",
                (true, false) => "MissedIncCall",
            };
            let omit_start = cfg.omit_start_time_in_end_hooks && inbound;
            HookBody {
                start_time: (!omit_start).then(|| format_time(call.created_ms, tz)),
                end_time: t(call.ended_ms.unwrap_or(ev.at_ms)),
                duration: Some(call.talk_secs(ev.at_ms)),
                result_code: Some(result_code(code, cfg)),
                called: Some(if call.answered_ms.is_some() && inbound {
                    answered_by(call)
                } else {
                    call.to.clone()
                }),
                ..base(hook_type)
            }
        }
        _ => return Vec::new(),
    };
    let terminal = matches!(
        body.hook_type.as_str(),
        "EndIncCall" | "MissedIncCall" | "EndOutCall"
    );
    vec![Hook {
        call_id: call.id.clone(),
        terminal,
        body,
    }]
}

/// Who talked last on an answered call.
fn answered_by(call: &Call) -> String {
    call.connected_to
        .clone()
        .or_else(|| {
            call.legs
                .iter()
                .rev()
                .find(|l| l.answered_ms.is_some())
                .map(|l| l.target.clone())
        })
        .unwrap_or_else(|| call.to.clone())
}

fn result_code(code: &str, cfg: &WebhookSimConfig) -> Value {
    match code.parse::<i64>() {
        Ok(n) if cfg.result_code_as_number => Value::from(n),
        _ => Value::from(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::world::World;

    const MSK: Tz = chrono_tz::Europe::Moscow;

    fn collect(
        rx: &mut tokio::sync::broadcast::Receiver<WorldEvent>,
        cfg: &WebhookSimConfig,
    ) -> Vec<Hook> {
        let mut out = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            out.extend(render(&ev, cfg, MSK));
        }
        out
    }

    #[test]
    fn answered_inbound_call() {
        let w = World::new(Clock::new(1000.0));
        let mut rx = w.subscribe();
        let cfg = WebhookSimConfig::default();
        let c = w.create_call(
            Direction::Inbound,
            "9582412128",
            None,
            "200",
            Some("4950665310"),
        );
        let a = w.ring(&c.id, "101").unwrap();
        let _b = w.ring(&c.id, "102").unwrap();
        w.answer(&c.id, &a).unwrap();
        w.hangup(&c.id, "200").unwrap();
        let hooks = collect(&mut rx, &cfg);
        let types: Vec<&str> = hooks.iter().map(Hook::hook_type).collect();
        assert_eq!(
            types,
            [
                "CreateIncCall",
                "AttemptIncCallBegin",
                "AttemptIncCallBegin",
                "ChangeIncCall",
                "AttemptIncCallEnd",
                "EndIncCall"
            ]
        );
        let end = &hooks[5].body;
        assert_eq!(end.called.as_deref(), Some("101"));
        assert_eq!(end.result_code, Some(Value::from("200")));
        assert_eq!(end.city_number, "4950665310");
        assert_eq!(hooks[4].body.called.as_deref(), Some("102"));
        assert!(hooks[5].terminal && !hooks[4].terminal);
        let json: Value = serde_json::from_str(&hooks[0].json()).unwrap();
        assert_eq!(json["SessionID"], session_id(&c.id));
        assert_eq!(json["SessionID"].as_str().map(str::len), Some(36));
        assert!(json.get("Duration").is_none());
    }

    #[test]
    fn missed_and_outgoing() {
        let w = World::new(Clock::new(1000.0));
        let mut rx = w.subscribe();
        let cfg = WebhookSimConfig {
            result_code_as_number: true,
            omit_start_time_in_end_hooks: true,
            ..Default::default()
        };
        let c = w.create_call(Direction::Inbound, "1", None, "101", None);
        w.ring(&c.id, "101").unwrap();
        w.hangup(&c.id, "603-S").unwrap();
        let o = w.create_call(Direction::Outbound, "101", None, "74951234567", None);
        let l = w.ring(&o.id, "74951234567").unwrap();
        w.answer(&o.id, &l).unwrap();
        w.hangup(&o.id, "200").unwrap();
        let i = w.create_call(Direction::Internal, "101", None, "102", None);
        w.hangup(&i.id, "200").unwrap();
        let hooks = collect(&mut rx, &cfg);
        let types: Vec<&str> = hooks.iter().map(Hook::hook_type).collect();
        assert_eq!(
            types,
            [
                "CreateIncCall",
                "AttemptIncCallBegin",
                "AttemptIncCallEnd",
                "MissedIncCall",
                "CreateOutCall",
                "EndOutCall"
            ]
        );
        let missed = &hooks[3].body;
        assert_eq!(
            missed.result_code,
            Some(Value::from("603-S")),
            "not a number"
        );
        assert_eq!(missed.start_time, None);
        assert_eq!(missed.duration, Some(0));
        assert_eq!(missed.city_number, cfg.city_number);
        let end_out = &hooks[5].body;
        assert_eq!(end_out.result_code, Some(Value::from(200)));
        assert!(end_out.start_time.is_some());
        assert_eq!(end_out.caller, "101");
    }

    #[test]
    fn times_are_moscow_wall_clock() {
        // 2021-01-28 11:15:22 UTC.
        assert_eq!(format_time(1_611_832_522_000, MSK), "2021-01-28 14:15:22");
        assert_eq!(
            session_id("ec22aab102f8487d9b401173f33ba242"),
            "ec22aab1-02f8-487d-9b40-1173f33ba242"
        );
        assert_eq!(session_id("not-a-uuid"), "not-a-uuid");
    }
}
