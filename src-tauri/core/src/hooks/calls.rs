//! Seed-004 JSON call webhooks (`CreateIncCall` … `EndOutCall`) → [`CallEvent`]s.
//!
//! Tolerant where the seed contradicts itself: `ResultCode` may be a string or a number
//! (`"603-S"`), `StartTime` may be missing (the examples omit it) or replaced by
//! `StartDuration` (ChangeIncCall), `Called` is optional, number fields may arrive as strings
//! and strings as numbers, unknown fields are kept, and zone-less timestamps are read in the
//! configured zone. Strict where it matters: `SessionID` and `HookType` are required and a
//! timestamp that is present must parse.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::DecodeError;
use super::time::{parse_timestamp, DecodeOptions};
use crate::model::{CallEvent, CallEventKind, Direction, Outcome, Party, ResultCode, Source};

/// Most hooks accepted in one JSON array.
pub const MAX_HOOKS_PER_REQUEST: usize = 100;

/// The seed-004 hook types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum HookType {
    CreateIncCall,
    AttemptIncCallBegin,
    ChangeIncCall,
    AttemptIncCallEnd,
    EndIncCall,
    MissedIncCall,
    CreateOutCall,
    EndOutCall,
}

impl HookType {
    pub const ALL: [HookType; 8] = [
        HookType::CreateIncCall,
        HookType::AttemptIncCallBegin,
        HookType::ChangeIncCall,
        HookType::AttemptIncCallEnd,
        HookType::EndIncCall,
        HookType::MissedIncCall,
        HookType::CreateOutCall,
        HookType::EndOutCall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookType::CreateIncCall => "CreateIncCall",
            HookType::AttemptIncCallBegin => "AttemptIncCallBegin",
            HookType::ChangeIncCall => "ChangeIncCall",
            HookType::AttemptIncCallEnd => "AttemptIncCallEnd",
            HookType::EndIncCall => "EndIncCall",
            HookType::MissedIncCall => "MissedIncCall",
            HookType::CreateOutCall => "CreateOutCall",
            HookType::EndOutCall => "EndOutCall",
        }
    }

    /// Case-insensitive.
    pub fn parse(s: &str) -> Option<HookType> {
        let s = s.trim();
        HookType::ALL
            .into_iter()
            .find(|h| h.as_str().eq_ignore_ascii_case(s))
    }
}

/// One seed-004 hook as received (field names as in the seed, types made lenient).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallHook {
    pub session_id: String,
    pub hook_type: HookType,
    pub start_time: Option<String>,
    /// ChangeIncCall: when the talk started.
    pub start_duration: Option<String>,
    pub end_time: Option<String>,
    /// Seconds of talk.
    pub duration: Option<i64>,
    pub result_code: Option<String>,
    /// The multi-line (public) number.
    pub city_number: Option<String>,
    pub caller: Option<String>,
    pub called: Option<String>,
    pub redirecting: Option<String>,
    /// Fields the seed does not define, kept as received.
    pub extra: BTreeMap<String, Value>,
}

/// Decode a request body (one hook object, or an array of them) into events.
pub fn decode_call_hooks(body: &[u8], opts: &DecodeOptions) -> Result<Vec<CallEvent>, DecodeError> {
    let hooks = parse_call_hooks(body)?;
    let mut events = Vec::with_capacity(hooks.len());
    for hook in &hooks {
        events.extend(hook.to_events(opts)?);
    }
    Ok(events)
}

/// Parse a request body (one hook object, or an array of them).
pub fn parse_call_hooks(body: &[u8]) -> Result<Vec<CallHook>, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string()))?;
    match value {
        Value::Object(map) => Ok(vec![CallHook::from_map(map)?]),
        Value::Array(items) if items.is_empty() => Err(DecodeError::Empty),
        Value::Array(items) if items.len() > MAX_HOOKS_PER_REQUEST => {
            Err(DecodeError::TooMany(items.len()))
        }
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(map) => CallHook::from_map(map),
                _ => Err(DecodeError::NotAnObject),
            })
            .collect(),
        _ => Err(DecodeError::NotAnObject),
    }
}

impl CallHook {
    /// Build from a JSON object; keys match exactly, or else case-insensitively.
    pub fn from_map(mut map: Map<String, Value>) -> Result<CallHook, DecodeError> {
        let mut take = |name: &'static str| -> Option<Value> {
            if let Some(v) = map.remove(name) {
                return Some(v);
            }
            let key = map
                .keys()
                .find(|k| k.trim().eq_ignore_ascii_case(name))?
                .clone();
            map.remove(&key)
        };
        let session_id =
            text(take("SessionID"), "SessionID")?.ok_or(DecodeError::Missing("SessionID"))?;
        let raw_type =
            text(take("HookType"), "HookType")?.ok_or(DecodeError::Missing("HookType"))?;
        let hook_type = HookType::parse(&raw_type)
            .ok_or_else(|| DecodeError::UnknownHookType(super::error::one_line(&raw_type, 64)))?;
        let hook = CallHook {
            session_id,
            hook_type,
            start_time: text(take("StartTime"), "StartTime")?,
            start_duration: text(take("StartDuration"), "StartDuration")?,
            end_time: text(take("EndTime"), "EndTime")?,
            duration: seconds(take("Duration"), "Duration")?,
            result_code: text(take("ResultCode"), "ResultCode")?,
            city_number: text(take("CityNumber"), "CityNumber")?,
            caller: text(take("Caller"), "Caller")?,
            called: text(take("Called"), "Called")?,
            redirecting: text(take("Redirecting"), "Redirecting")?,
            extra: BTreeMap::new(),
        };
        Ok(CallHook {
            extra: map.into_iter().collect(),
            ..hook
        })
    }

    /// The timestamp this hook is about, raw: StartTime for the begin hooks, StartDuration for
    /// ChangeIncCall, EndTime for the end hooks (each falling back to the others).
    fn primary_time(&self) -> Option<&str> {
        let (a, b, c) = (&self.start_time, &self.start_duration, &self.end_time);
        let order = match self.hook_type {
            HookType::CreateIncCall | HookType::AttemptIncCallBegin | HookType::CreateOutCall => {
                [a, b, c]
            }
            HookType::ChangeIncCall => [b, a, c],
            _ => [c, b, a],
        };
        order.into_iter().flatten().next().map(String::as_str)
    }

    /// The stable identity of this platform message.
    pub fn dedup_key(&self) -> String {
        format!(
            "webhook:{}:{}:{}:{}",
            self.session_id,
            self.hook_type.as_str(),
            self.called.as_deref().unwrap_or(""),
            self.primary_time().unwrap_or("")
        )
    }

    /// The normalized events of this hook.
    pub fn to_events(&self, opts: &DecodeOptions) -> Result<Vec<CallEvent>, DecodeError> {
        // Every timestamp that is present must parse, not only the one used.
        for (field, v) in [
            ("StartTime", &self.start_time),
            ("StartDuration", &self.start_duration),
            ("EndTime", &self.end_time),
        ] {
            if let Some(v) = v {
                if parse_timestamp(v, opts.tz).is_none() {
                    return Err(DecodeError::invalid(
                        field,
                        format!("{v:?} is not a time like 2021-01-28 14:15:22"),
                    ));
                }
            }
        }
        let at_ms = self
            .primary_time()
            .and_then(|t| parse_timestamp(t, opts.tz))
            .unwrap_or(opts.received_ms);
        let called = || self.called.clone().unwrap_or_default();
        let result =
            |default: &str| ResultCode::from_code(self.result_code.as_deref().unwrap_or(default));
        let kind = match self.hook_type {
            HookType::CreateIncCall | HookType::CreateOutCall => {
                let inbound = self.hook_type == HookType::CreateIncCall;
                let caller = self.caller.clone().ok_or(DecodeError::Missing("Caller"))?;
                let to = self
                    .called
                    .clone()
                    .or_else(|| self.city_number.clone())
                    .unwrap_or_default();
                CallEventKind::Created {
                    direction: if inbound {
                        Direction::Inbound
                    } else {
                        Direction::Outbound
                    },
                    from: Party::number(caller),
                    to: Party::number(to),
                    did: self.city_number.clone(),
                    via: self.redirecting.clone(),
                }
            }
            HookType::AttemptIncCallBegin => CallEventKind::LegRinging {
                leg_id: called(),
                party: Party::number(called()),
            },
            HookType::ChangeIncCall => CallEventKind::Answered {
                leg_id: Some(called()),
                by: Party::number(called()),
            },
            HookType::AttemptIncCallEnd => CallEventKind::LegEnded {
                leg_id: called(),
                result: result("304"),
            },
            HookType::EndIncCall | HookType::EndOutCall => {
                let default = if self.duration.unwrap_or(0) > 0 {
                    "200"
                } else {
                    "304"
                };
                CallEventKind::Ended {
                    result: result(default),
                    talk_secs: self.duration,
                }
            }
            HookType::MissedIncCall => {
                // The platform says the call was missed, whatever the code's own outcome.
                let code = result("304");
                let meaning = if code.outcome == Outcome::Missed {
                    code.meaning
                } else {
                    format!("missed: {}", code.meaning)
                };
                let result = ResultCode {
                    code: code.code,
                    outcome: Outcome::Missed,
                    meaning,
                };
                CallEventKind::Ended {
                    result,
                    talk_secs: self.duration,
                }
            }
        };
        Ok(vec![CallEvent {
            source: Source::Webhook,
            call_id: self.session_id.clone(),
            control_id: None,
            at_ms,
            kind,
            dedup_key: self.dedup_key(),
        }])
    }
}

/// A string field: strings are trimmed (empty = absent), numbers and booleans become their
/// text, `null` is absent; arrays and objects are invalid.
fn text(v: Option<Value>, field: &'static str) -> Result<Option<String>, DecodeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            Ok((!t.is_empty()).then(|| t.to_string()))
        }
        Some(Value::Number(n)) => Ok(Some(match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.to_string(),
        })),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(DecodeError::invalid(field, "expected a string")),
    }
}

/// A whole number of seconds: a number (fractions rounded) or a numeric string; not negative.
fn seconds(v: Option<Value>, field: &'static str) -> Result<Option<i64>, DecodeError> {
    let n = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Some(i),
            (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => Some(f.round() as i64),
            _ => None,
        },
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n >= 0 => Ok(Some(n)),
        Some(_) => Err(DecodeError::invalid(field, "must not be negative")),
        None => Err(DecodeError::invalid(
            field,
            "expected a whole number of seconds",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> DecodeOptions {
        DecodeOptions {
            tz: chrono_tz::Europe::Moscow,
            received_ms: 42,
        }
    }

    fn one(body: &str) -> CallEvent {
        let mut v = decode_call_hooks(body.as_bytes(), &opts()).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    #[test]
    fn create_inc_call_as_in_the_seed() {
        let ev = one(
            r#"{"SessionID":"ec22","HookType":"CreateIncCall","StartTime":"2021-01-28 14:15:22",
            "CityNumber":"4950665310","Caller":"9582412128","Called":"4950665310","Redirecting":"84950665310"}"#,
        );
        assert_eq!(ev.call_id, "ec22");
        assert_eq!(ev.at_ms, 1_611_832_522_000);
        assert_eq!(ev.source, Source::Webhook);
        match ev.kind {
            CallEventKind::Created {
                direction,
                from,
                to,
                did,
                via,
            } => {
                assert_eq!(direction, Direction::Inbound);
                assert_eq!(from.number, "9582412128");
                assert_eq!(to.number, "4950665310");
                assert_eq!(did.as_deref(), Some("4950665310"));
                assert_eq!(via.as_deref(), Some("84950665310"));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(
            ev.dedup_key,
            "webhook:ec22:CreateIncCall:4950665310:2021-01-28 14:15:22"
        );
    }

    #[test]
    fn result_code_string_or_number() {
        let s = one(
            r#"{"SessionID":"a","HookType":"EndIncCall","EndTime":"2021-01-28 18:27:19","Duration":26,"ResultCode":"200"}"#,
        );
        let n = one(
            r#"{"SessionID":"a","HookType":"EndIncCall","EndTime":"2021-01-28 18:27:19","Duration":"26","ResultCode":200}"#,
        );
        assert_eq!(s.kind, n.kind);
        assert_eq!(s.dedup_key, n.dedup_key);
        match s.kind {
            CallEventKind::Ended { result, talk_secs } => {
                assert_eq!(result.outcome, Outcome::Answered);
                assert_eq!(talk_secs, Some(26));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn missed_is_missed_whatever_the_code() {
        let ev = one(
            r#"{"SessionID":"a","HookType":"MissedIncCall","EndTime":"2021-01-28 18:34:51","Duration":0,"ResultCode":"603-S"}"#,
        );
        match ev.kind {
            CallEventKind::Ended { result, .. } => {
                assert_eq!(result.code, "603-S");
                assert_eq!(result.outcome, Outcome::Missed);
                assert!(result.meaning.contains("cancelled"));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn change_inc_call_uses_start_duration() {
        let ev = one(
            r#"{"SessionID":"s","HookType":"ChangeIncCall","StartDuration":"2021-01-28 12:31:01","Called":"800774994086005"}"#,
        );
        assert_eq!(
            ev.at_ms,
            parse_timestamp("2021-01-28 12:31:01", chrono_tz::Europe::Moscow).unwrap()
        );
        assert!(
            matches!(ev.kind, CallEventKind::Answered { leg_id: Some(ref l), .. } if l == "800774994086005")
        );
    }

    #[test]
    fn missing_time_uses_receive_time_and_unknown_fields_are_kept() {
        let hooks = parse_call_hooks(
            br#"{"SessionID":"s","HookType":"AttemptIncCallEnd","Called":"1","Vendor":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(
            hooks[0].extra.get("Vendor"),
            Some(&serde_json::json!({"x":1}))
        );
        let ev = hooks[0].to_events(&opts()).unwrap();
        assert_eq!(ev[0].at_ms, 42);
    }

    #[test]
    fn arrays_and_case_insensitive_keys() {
        let ev = decode_call_hooks(
            br#"[{"sessionid":"s","hooktype":"createoutcall","Caller":101,"Called":"74951234567"},
                 {"SessionID":"s","HookType":"EndOutCall","Duration":3.6,"ResultCode":486}]"#,
            &opts(),
        )
        .unwrap();
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[0].kind, CallEventKind::Created { direction: Direction::Outbound, from, .. } if from.number == "101")
        );
        assert!(
            matches!(&ev[1].kind, CallEventKind::Ended { result, talk_secs: Some(4) } if result.outcome == Outcome::Busy)
        );
    }

    #[test]
    fn bad_input_has_a_reason() {
        let cases: [(&str, &str); 9] = [
            ("", "body is empty"),
            ("   ", "body is empty"),
            ("[]", "body is empty"),
            ("{", "not valid JSON"),
            ("42", "JSON object"),
            (r#"{"HookType":"EndIncCall"}"#, "missing field SessionID"),
            (r#"{"SessionID":"s","HookType":"Nope"}"#, "unknown HookType"),
            (
                r#"{"SessionID":"s","HookType":"EndIncCall","EndTime":"soon"}"#,
                "EndTime",
            ),
            (
                r#"{"SessionID":"s","HookType":"EndIncCall","Duration":-1}"#,
                "negative",
            ),
        ];
        for (body, want) in cases {
            let e = decode_call_hooks(body.as_bytes(), &opts())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{body:?}: {e}");
            assert!(!e.contains('\n'));
        }
        let e = decode_call_hooks(br#"{"SessionID":"s","HookType":"CreateIncCall"}"#, &opts())
            .unwrap_err();
        assert_eq!(e, DecodeError::Missing("Caller"));
    }
}
