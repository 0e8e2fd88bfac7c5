//! Telphin extension events (seed 000, protocols §2.4) → [`CallEvent`]s.
//!
//! The platform calls our URL for `dial-in`, `dial-out`, `answer` and `hangup` on a subscribed
//! extension, with the fields in the query string (GET) or a form body (POST). `CallID` is the
//! call id, `CallAPIID` the call-control handle, `SubCallID` one leg, `EventTime` microseconds.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{one_line, DecodeError};
use super::params::Params;
use super::time::{parse_timestamp, DecodeOptions};
use crate::model::{CallEvent, CallEventKind, Direction, Party, ResultCode, Source};

/// Telphin extension event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TelphinEventType {
    DialIn,
    DialOut,
    Answer,
    Hangup,
    MessageIn,
    MessageOut,
    Voicemail,
    /// PBX-wide `extension-call-status` subscription (`event_type = call-status-change`).
    CallStatusChange,
    /// A Call Interactive request sent to the events URL.
    CallInteractive,
}

impl TelphinEventType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "dial-in" => Self::DialIn,
                "dial-out" => Self::DialOut,
                "answer" => Self::Answer,
                "hangup" => Self::Hangup,
                "message-in" => Self::MessageIn,
                "message-out" => Self::MessageOut,
                "voicemail" => Self::Voicemail,
                "call-status-change" | "extension-call-status" => Self::CallStatusChange,
                "call-interactive" => Self::CallInteractive,
                _ => return None,
            },
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DialIn => "dial-in",
            Self::DialOut => "dial-out",
            Self::Answer => "answer",
            Self::Hangup => "hangup",
            Self::MessageIn => "message-in",
            Self::MessageOut => "message-out",
            Self::Voicemail => "voicemail",
            Self::CallStatusChange => "call-status-change",
            Self::CallInteractive => "call_interactive",
        }
    }

    /// Whether the event is about a call (the others are stored raw, without call events).
    pub fn is_call(self) -> bool {
        matches!(
            self,
            Self::DialIn | Self::DialOut | Self::Answer | Self::Hangup
        )
    }
}

/// One Telphin extension event, every documented field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelphinEvent {
    pub event_type: TelphinEventType,
    pub call_id: Option<String>,
    pub sub_call_id: Option<String>,
    pub call_api_id: Option<String>,
    pub caller_id_num: Option<String>,
    pub caller_id_name: Option<String>,
    pub called_did: Option<String>,
    pub called_extension: Option<String>,
    pub called_extension_id: Option<String>,
    pub caller_extension: Option<String>,
    pub caller_extension_id: Option<String>,
    pub called_number: Option<String>,
    pub call_status: Option<String>,
    pub call_flow: Option<String>,
    /// Microseconds since the epoch, raw.
    pub event_time: Option<String>,
    /// `hangup` of IVR/queue extensions: whether anyone answered.
    pub bridged: Option<String>,
    /// `yes` for outgoing calls made as transfers (sic).
    pub transfered: Option<String>,
    pub remote_number: Option<String>,
    pub call_back_id: Option<String>,
    /// Seconds, per `SubCallID`.
    pub duration: Option<i64>,
    pub rec_id: Option<String>,
    /// Parameters not listed above ("not all parameters are listed", say the docs).
    pub extra: BTreeMap<String, String>,
}

const KNOWN: [&str; 21] = [
    "EventType",
    "CallID",
    "SubCallID",
    "CallAPIID",
    "CallerIDNum",
    "CallerIDName",
    "CalledDID",
    "CalledExtension",
    "CalledExtensionID",
    "CallerExtension",
    "CallerExtensionID",
    "CalledNumber",
    "CallStatus",
    "CallFlow",
    "EventTime",
    "Bridged",
    "Transfered",
    "RemoteNumber",
    "CallBackID",
    "Duration",
    "RecID",
];

/// Decode the parameters of one extension event into events (none for SMS and status events).
pub fn decode_telphin_event(
    params: &Params,
    opts: &DecodeOptions,
) -> Result<Vec<CallEvent>, DecodeError> {
    TelphinEvent::from_params(params)?.to_events(opts)
}

impl TelphinEvent {
    pub fn from_params(p: &Params) -> Result<TelphinEvent, DecodeError> {
        let raw_type = p
            .get("EventType")
            .ok_or(DecodeError::Missing("EventType"))?;
        let event_type = TelphinEventType::parse(raw_type)
            .ok_or_else(|| DecodeError::UnknownEventType(one_line(raw_type, 64)))?;
        let duration = match p.get("Duration") {
            None => None,
            Some(d) => match d.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    return Err(DecodeError::invalid(
                        "Duration",
                        "expected a whole number of seconds",
                    ))
                }
            },
        };
        let ev = TelphinEvent {
            event_type,
            call_id: p.get_owned("CallID"),
            sub_call_id: p.get_owned("SubCallID"),
            call_api_id: p.get_owned("CallAPIID"),
            caller_id_num: p.get_owned("CallerIDNum"),
            caller_id_name: p.get_owned("CallerIDName"),
            called_did: p.get_owned("CalledDID"),
            called_extension: p.get_owned("CalledExtension"),
            called_extension_id: p.get_owned("CalledExtensionID"),
            caller_extension: p.get_owned("CallerExtension"),
            caller_extension_id: p.get_owned("CallerExtensionID"),
            called_number: p.get_owned("CalledNumber"),
            call_status: p.get_owned("CallStatus"),
            call_flow: p.get_owned("CallFlow"),
            event_time: p.get_owned("EventTime"),
            bridged: p.get_owned("Bridged"),
            transfered: p.get_owned("Transfered"),
            remote_number: p.get_owned("RemoteNumber"),
            call_back_id: p.get_owned("CallBackID"),
            duration,
            rec_id: p.get_owned("RecID"),
            extra: p.others(&KNOWN),
        };
        if ev.event_type.is_call() && ev.call_id.is_none() {
            return Err(DecodeError::Missing("CallID"));
        }
        Ok(ev)
    }

    fn direction(&self) -> Direction {
        match self
            .call_flow
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("out") => Direction::Outbound,
            Some("in") => Direction::Inbound,
            _ if self.event_type == TelphinEventType::DialOut => Direction::Outbound,
            _ => Direction::Inbound,
        }
    }

    /// The calling side: caller id (number and name) and the calling extension id.
    pub fn caller(&self) -> Party {
        Party {
            number: self
                .caller_id_num
                .clone()
                .or_else(|| self.caller_extension.clone())
                .unwrap_or_default(),
            name: self.caller_id_name.clone(),
            extension_id: self.caller_extension_id.clone(),
        }
    }

    /// The called side: the dialled number (or extension name) and the called extension id.
    pub fn called(&self) -> Party {
        Party {
            number: self
                .called_number
                .clone()
                .or_else(|| self.called_extension.clone())
                .unwrap_or_default(),
            name: None,
            extension_id: self.called_extension_id.clone(),
        }
    }

    fn leg_id(&self) -> String {
        self.sub_call_id
            .clone()
            .or_else(|| self.called_extension_id.clone())
            .or_else(|| self.call_id.clone())
            .unwrap_or_default()
    }

    /// `CallStatus` of a hangup as a result code; without one, `Bridged` tells answered or not.
    fn result(&self) -> ResultCode {
        match (&self.call_status, self.bridged.as_deref()) {
            (Some(s), _) => ResultCode::from_telphin_status(s),
            (None, Some(b)) if b.eq_ignore_ascii_case("yes") => {
                ResultCode::from_telphin_status("ANSWER")
            }
            (None, _) => ResultCode::from_telphin_status("NOANSWER"),
        }
    }

    pub fn to_events(&self, opts: &DecodeOptions) -> Result<Vec<CallEvent>, DecodeError> {
        let at_ms = match &self.event_time {
            None => opts.received_ms,
            Some(t) => parse_timestamp(t, opts.tz).ok_or_else(|| {
                DecodeError::invalid("EventTime", "expected microseconds since the epoch")
            })?,
        };
        let Some(call_id) = self.call_id.clone().filter(|_| self.event_type.is_call()) else {
            return Ok(Vec::new());
        };
        let base = format!(
            "telphin:{call_id}:{}:{}:{}",
            self.sub_call_id.as_deref().unwrap_or(""),
            self.event_type.as_str(),
            self.event_time.as_deref().unwrap_or("")
        );
        let mut kinds: Vec<(&str, CallEventKind)> = Vec::new();
        match self.event_type {
            TelphinEventType::DialIn | TelphinEventType::DialOut => {
                kinds.push((
                    "created",
                    CallEventKind::Created {
                        direction: self.direction(),
                        from: self.caller(),
                        to: self.called(),
                        did: self.called_did.clone(),
                        via: None,
                    },
                ));
                kinds.push((
                    "ringing",
                    CallEventKind::LegRinging {
                        leg_id: self.leg_id(),
                        party: self.called(),
                    },
                ));
            }
            TelphinEventType::Answer => {
                kinds.push((
                    "answered",
                    CallEventKind::Answered {
                        leg_id: Some(self.leg_id()),
                        by: self.called(),
                    },
                ));
            }
            TelphinEventType::Hangup => {
                let result = self.result();
                if self.sub_call_id.is_some() {
                    kinds.push((
                        "leg_ended",
                        CallEventKind::LegEnded {
                            leg_id: self.leg_id(),
                            result: result.clone(),
                        },
                    ));
                }
                kinds.push((
                    "ended",
                    CallEventKind::Ended {
                        result,
                        talk_secs: self.duration,
                    },
                ));
                if let Some(rec) = &self.rec_id {
                    kinds.push((
                        "recording",
                        CallEventKind::RecordingAvailable {
                            reference: rec.clone(),
                        },
                    ));
                }
            }
            _ => {}
        }
        Ok(kinds
            .into_iter()
            .map(|(suffix, kind)| CallEvent {
                source: Source::Telphin,
                call_id: call_id.clone(),
                control_id: self.call_api_id.clone(),
                at_ms,
                kind,
                dedup_key: format!("{base}:{suffix}"),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    fn opts() -> DecodeOptions {
        DecodeOptions {
            tz: chrono_tz::Europe::Moscow,
            received_ms: 7,
        }
    }

    const SEED_ANSWER: &str = "CalledExtension=022*341@siptest.ringme.ru& CalledExtensionID=34414&CallerExtension=022*200@siptest.ringme.ru&CallerExtensionID=32494&EventType=answer& CallID=c69226e0a64e11eaa0086fd86d94a0e0&CallerIDNum=000117443&CallerIDName=via200t&CalledDID=78123093582& CallStatus=ANSWER&CallFlow=in&CalledNumber=022*341&SubCallID=34414-c8874b88a64e11eaa0406fd86d94a0e0 &CallAPIID=3232240860-37b98fb2-a66c-11ea-ae69-6fd86d94a0e0&EventTime=1591266790576760";

    #[test]
    fn seed_answer_event() {
        let ev = decode_telphin_event(&Params::parse(SEED_ANSWER.as_bytes()), &opts()).unwrap();
        assert_eq!(ev.len(), 1);
        let e = &ev[0];
        assert_eq!(e.source, Source::Telphin);
        assert_eq!(e.call_id, "c69226e0a64e11eaa0086fd86d94a0e0");
        assert_eq!(
            e.control_id.as_deref(),
            Some("3232240860-37b98fb2-a66c-11ea-ae69-6fd86d94a0e0")
        );
        assert_eq!(e.at_ms, 1_591_266_790_576);
        match &e.kind {
            CallEventKind::Answered { leg_id, by } => {
                assert_eq!(
                    leg_id.as_deref(),
                    Some("34414-c8874b88a64e11eaa0406fd86d94a0e0")
                );
                assert_eq!(by.number, "022*341");
                assert_eq!(by.extension_id.as_deref(), Some("34414"));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn dial_in_hangup_and_recording() {
        let dial = Params::parse(b"EventType=dial-in&CallID=c1&SubCallID=1-a&CallerIDNum=79001&CallerIDName=Ivan&CalledDID=7495&CalledNumber=101&CalledExtensionID=1&CallFlow=in&CallStatus=CALLING&EventTime=1591266790000000");
        let ev = decode_telphin_event(&dial, &opts()).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[0].kind, CallEventKind::Created { direction: Direction::Inbound, from, did: Some(d), .. }
            if from.number == "79001" && from.name.as_deref() == Some("Ivan") && d == "7495")
        );
        assert!(matches!(&ev[1].kind, CallEventKind::LegRinging { leg_id, .. } if leg_id == "1-a"));
        assert_ne!(ev[0].dedup_key, ev[1].dedup_key);

        let hang = Params::parse(b"EventType=hangup&CallID=c1&SubCallID=1-a&CallStatus=BUSY&Duration=0&RecID=r9&EventTime=1591266800000000&Custom=1");
        let e = TelphinEvent::from_params(&hang).unwrap();
        assert_eq!(e.extra.get("Custom").map(String::as_str), Some("1"));
        let ev = e.to_events(&opts()).unwrap();
        assert_eq!(ev.len(), 3);
        assert!(
            matches!(&ev[1].kind, CallEventKind::Ended { result, talk_secs: Some(0) } if result.outcome == Outcome::Busy)
        );
        assert!(
            matches!(&ev[2].kind, CallEventKind::RecordingAvailable { reference } if reference == "r9")
        );
    }

    #[test]
    fn sms_is_accepted_without_call_events() {
        let p = Params::parse(b"EventType=message-in&From=1&Text=hi");
        assert!(decode_telphin_event(&p, &opts()).unwrap().is_empty());
    }

    #[test]
    fn bad_events_have_reasons() {
        for (q, want) in [
            ("CallID=1", "missing field EventType"),
            ("EventType=teleport&CallID=1", "unknown EventType"),
            ("EventType=answer", "missing field CallID"),
            ("EventType=answer&CallID=1&EventTime=noon", "EventTime"),
            ("EventType=hangup&CallID=1&Duration=-3", "Duration"),
        ] {
            let e = decode_telphin_event(&Params::parse(q.as_bytes()), &opts())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{q}: {e}");
        }
    }
}
