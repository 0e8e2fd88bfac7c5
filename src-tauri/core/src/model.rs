//! The normalized domain model every platform source maps into.
//!
//! Era WebSocket events, Telphin extension events and the seed-004 JSON webhooks all become
//! [`CallEvent`]s. The engine feeds them to the call board (live state), the history store
//! (durable record) and the notifier. Types exported to the UI derive `ts_rs::TS`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where an event or a call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Source {
    /// Era platform, WebSocket User-API / Token-API session (seeds 002, 003).
    Era,
    /// Telphin extension events delivered to the listener (seed 000).
    Telphin,
    /// JSON call webhooks, `CreateIncCall` … `EndOutCall` (seed 004).
    Webhook,
    /// Telphin Call Interactive IVR requests (seed 001).
    CallInteractive,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Era => "era",
            Source::Telphin => "telphin",
            Source::Webhook => "webhook",
            Source::CallInteractive => "call_interactive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }
}

/// One side of a call: an external number, an extension, an IVR or a queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Party {
    /// Phone number or extension number as the platform reports it.
    pub number: String,
    /// Display name (CallerIDName and the like), when the platform gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Platform extension id (Telphin `CalledExtensionID`, Era user id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_id: Option<String>,
}

impl Party {
    pub fn number(n: impl Into<String>) -> Self {
        Party {
            number: n.into(),
            name: None,
            extension_id: None,
        }
    }
}

/// How a call or one attempt (leg) ended, normalized across platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Outcome {
    Answered,
    Missed,
    Busy,
    Rejected,
    Cancelled,
    Failed,
    Unavailable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Busy => "busy",
            Outcome::Rejected => "rejected",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
            Outcome::Unavailable => "unavailable",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "answered" => Outcome::Answered,
            "missed" => Outcome::Missed,
            "busy" => Outcome::Busy,
            "rejected" => Outcome::Rejected,
            "cancelled" => Outcome::Cancelled,
            "failed" => Outcome::Failed,
            "unavailable" => Outcome::Unavailable,
            _ => return None,
        })
    }
}

/// A SIP-like result code (seed 004 `ResultCode`, Telphin `CallStatus`, Era SIP codes) with its
/// normalized outcome and a human meaning. The code is kept as a string: the seed declares it an
/// integer but sends `"603-S"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ResultCode {
    pub code: String,
    pub outcome: Outcome,
    pub meaning: String,
}

impl ResultCode {
    /// Map a seed-004 style result code (`200`, `304`, `603`, `603-S`, `486`, …) to its outcome
    /// and meaning. Unknown codes become `Failed` with the code in the meaning; never panics.
    pub fn from_code(code: &str) -> ResultCode {
        let c = code.trim();
        let (outcome, meaning) = match c {
            "200" => (Outcome::Answered, "success"),
            "304" => (Outcome::Missed, "missed (no answer)"),
            "603" => (Outcome::Rejected, "rejected"),
            "603-S" | "603-s" => (Outcome::Cancelled, "cancelled by the caller"),
            "403" => (Outcome::Failed, "forbidden"),
            "404" => (Outcome::Failed, "wrong number"),
            "486" => (Outcome::Busy, "busy"),
            "484" | "503" => (Outcome::Unavailable, "direction unavailable"),
            "480" => (Outcome::Unavailable, "temporarily unavailable"),
            "402" => (Outcome::Failed, "insufficient funds"),
            "423" => (Outcome::Failed, "blocked"),
            "487" => (Outcome::Cancelled, "request terminated"),
            "408" => (Outcome::Missed, "no answer (timeout)"),
            _ => (Outcome::Failed, "unknown result code"),
        };
        ResultCode {
            code: c.to_string(),
            outcome,
            meaning: meaning.to_string(),
        }
    }

    /// Map a Telphin `CallStatus` (`ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`, `CONGESTION`,
    /// `CHANUNAVAIL`, `CALLING`) to a result code.
    pub fn from_telphin_status(status: &str) -> ResultCode {
        let (code, outcome, meaning) = match status.trim().to_ascii_uppercase().as_str() {
            "ANSWER" | "ANSWERED" => ("200", Outcome::Answered, "answered"),
            "BUSY" => ("486", Outcome::Busy, "busy"),
            "NOANSWER" | "NO ANSWER" => ("304", Outcome::Missed, "no answer"),
            "CANCEL" => ("603-S", Outcome::Cancelled, "cancelled by the caller"),
            "CONGESTION" => ("503", Outcome::Unavailable, "congestion"),
            "CHANUNAVAIL" => ("480", Outcome::Unavailable, "channel unavailable"),
            _ => ("0", Outcome::Failed, "unknown call status"),
        };
        ResultCode {
            code: code.to_string(),
            outcome,
            meaning: meaning.to_string(),
        }
    }
}

/// What happened. One call produces a sequence of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum CallEventKind {
    /// A call appeared (incoming ringing, or an outgoing call was created).
    Created {
        direction: Direction,
        from: Party,
        to: Party,
        /// Public number (DID / multi-line number) the call came in on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        did: Option<String>,
        /// Queue, IVR or group the call came through, as a readable path.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<String>,
    },
    /// One attempt to reach a party began ringing (hunting: one per number).
    LegRinging {
        leg_id: String,
        party: Party,
    },
    /// An attempt ended without being the answered leg.
    LegEnded {
        leg_id: String,
        result: ResultCode,
    },
    /// Somebody answered.
    Answered {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leg_id: Option<String>,
        by: Party,
    },
    Held,
    Resumed,
    Transferred {
        to: Party,
        attended: bool,
    },
    /// The call ended.
    Ended {
        result: ResultCode,
        /// Seconds of talk, when the platform reports it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        talk_secs: Option<i64>,
    },
    /// Parked to a valet slot (1–9).
    Parked {
        slot: u8,
        by: String,
    },
    /// Left the slot: bridged by someone, returned after the timeout, or hung up.
    Unparked {
        slot: u8,
        how: UnparkKind,
    },
    RecordingAvailable {
        reference: String,
    },
    /// DTMF pressed by the caller (IVR control or Call Interactive digit collection).
    Dtmf {
        digits: String,
    },
    /// An IVR step: a Call Interactive request/reply or an Era IVR milestone.
    Ivr {
        step: String,
        detail: serde_json::Value,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum UnparkKind {
    Bridged,
    Returned,
    HungUp,
}

/// One normalized event about one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallEvent {
    pub source: Source,
    /// The platform's id for the whole call (seed 004 `SessionID`, Telphin `CallID`, Era call id).
    pub call_id: String,
    /// Handle used for call control where it differs from `call_id` (Telphin `CallAPIID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_id: Option<String>,
    /// Event time, milliseconds since the Unix epoch (UTC).
    #[ts(type = "number")]
    pub at_ms: i64,
    pub kind: CallEventKind,
    /// Stable identity of the platform message behind this event, used to drop duplicates.
    pub dedup_key: String,
}

/// A reference to a live call that a [`crate::provider::Provider`] can act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallRef {
    pub source: Source,
    /// Platform call id (Era call id, Telphin `CallAPIID`).
    pub call_id: String,
    /// Extension that owns the call (Telphin extension id) when the platform needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_id: Option<String>,
}

/// State of one platform connection, for the connections bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum ConnectionState {
    /// Not configured or switched off.
    Disabled,
    Connecting {
        attempt: u32,
    },
    /// Connected (and, for Era, subscribed).
    Connected {
        #[ts(type = "number")]
        since_ms: i64,
    },
    /// Lost; the next attempt is scheduled.
    BackingOff {
        attempt: u32,
        #[ts(type = "number")]
        next_attempt_ms: i64,
        reason: String,
    },
    /// Gave up (bad credentials, bad configuration); a manual retry is needed.
    Failed {
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_follow_the_seed_table() {
        assert_eq!(ResultCode::from_code("200").outcome, Outcome::Answered);
        assert_eq!(ResultCode::from_code("603-S").outcome, Outcome::Cancelled);
        assert_eq!(ResultCode::from_code("486").outcome, Outcome::Busy);
        assert_eq!(ResultCode::from_code("304").outcome, Outcome::Missed);
        assert_eq!(ResultCode::from_code(" 503 ").code, "503");
        assert_eq!(ResultCode::from_code("999").outcome, Outcome::Failed);
    }

    #[test]
    fn call_event_json_is_tagged() {
        let ev = CallEvent {
            source: Source::Webhook,
            call_id: "s1".into(),
            control_id: None,
            at_ms: 1,
            kind: CallEventKind::Held,
            dedup_key: "k".into(),
        };
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["kind"]["type"], "held");
        assert_eq!(v["source"], "webhook");
    }
}
