//! Public types of the Era client: what the session emits ([`EraEvent`], [`IvrEvent`]) and
//! the IVR components the panel can start ([`Component`]). Types the UI renders derive
//! `ts_rs::TS`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use ts_rs::TS;

use super::error::EraError;
use crate::model::CallEvent;

/// Direction of a frame, for the protocol inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename = "EraFrameDir")]
pub enum FrameDir {
    /// Received from the platform.
    In,
    /// Sent to the platform.
    Out,
}

/// Everything an Era session emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum EraEvent {
    /// A normalized call event (from `callevents`/`ccsevents`, or reconciliation after a reconnect).
    Call { event: CallEvent },
    /// Something about an IVR session offered to external control.
    Ivr { event: IvrEvent },
    /// A frame as sent or received (when `inspector_frames` is on).
    Frame { dir: FrameDir, text: String },
}

/// An IVR session reached an external-control component (`ivrevents.api_start`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, rename = "EraIvrOffer")]
pub struct IvrOffer {
    /// Session key for every `ivrapi_*` request.
    pub key: String,
    /// IVR dialogue id.
    pub ivrid: String,
    /// `cid` of the call (the `call_id` of its [`CallEvent`]s), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// Caller number, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// IVR number, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ivr_number: Option<String>,
    /// Name of the external-control component in the script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_name: Option<String>,
    /// Script parameters (`params`, decoded when it is a JSON string).
    pub params: Value,
    /// When the offer was made, ms since the epoch.
    #[ts(type = "number")]
    pub at_ms: i64,
}

/// `ivrapi_dtmf` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename = "EraDtmfMode")]
pub enum DtmfMode {
    /// Pressed while no component ran.
    Idle,
    /// Pressed during a component the panel started.
    Component,
}

/// What happened to an IVR session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export, rename = "EraIvrEvent")]
pub enum IvrEvent {
    /// Offered to external control.
    Offered { offer: IvrOffer },
    /// The panel controls the session (`reacquired`: taken back after a reconnect).
    Accepted {
        key: String,
        ivrid: String,
        reacquired: bool,
    },
    /// Another application took control first; this is normal, not a failure.
    LostRace {
        key: String,
        ivrid: String,
        message: String,
    },
    /// Control could not be taken back after a reconnect.
    ReacquireFailed {
        key: String,
        ivrid: String,
        message: String,
    },
    /// The panel gave control back (`ivrapi_abort`); the script goes on.
    Released { key: String, ivrid: String },
    /// The session ended (`ivrevents.api_stop`).
    Stopped {
        key: String,
        ivrid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A component the panel started has ended.
    ComponentStopped {
        key: String,
        ivrid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(type = "number | null")]
        oid: Option<u64>,
        /// Exit branch (`transfer`, `terminate`, …).
        transfer_key: String,
        /// Values the component returns (`dtmfBuffer`, `recordFile`, …).
        results: Value,
    },
    /// The caller pressed a key in a controlled session.
    Dtmf {
        key: String,
        ivrid: String,
        mode: DtmfMode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(type = "number | null")]
        oid: Option<u64>,
        digit: String,
    },
}

/// Result of `ivrapi_accept` / `ivrapi_reaccept`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export, rename = "EraAcceptOutcome")]
pub enum AcceptOutcome {
    /// The panel now controls the session.
    Accepted,
    /// Another application was first (or the session is gone); the platform's message.
    Lost { message: String },
}

/// An IVR session the session knows about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, rename = "EraIvrSessionInfo")]
pub struct IvrSessionInfo {
    pub offer: IvrOffer,
    /// The panel controls it.
    pub controlled: bool,
    /// A component started by the panel is running.
    pub component_running: bool,
}

/// A link to a file the platform serves for a while (recordings, IVR files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, rename = "EraFileLink")]
pub struct FileLink {
    /// As the platform returned it (often a path relative to its HTTP host).
    pub path: String,
    /// Absolute URL to download from.
    pub url: String,
}

/// A component to start in a controlled IVR session (`ivrapi_component_apply`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export, rename = "EraComponent")]
pub enum Component {
    /// Play a file (`oType` 204), e.g. `:GS_PUB/x/y/14.mp3` or a `:TEMP/…` upload.
    Play { file: String },
    /// Record the caller (`oType` 208) for up to `seconds`, collecting up to `max_symbols` keys;
    /// a key from `interrupt_symbols` ends it.
    Record {
        seconds: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_symbols: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_symbols: Option<String>,
        #[serde(default)]
        abort_on_silence: bool,
    },
    /// Transfer the call to `number` (`oType` 203).
    Transfer {
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reinvite_mode: Option<u8>,
    },
    /// Hang up (`oType` 201).
    Hangup,
    /// Any component, as the platform's JSON (must be an object with `oType`).
    Raw { data: Value },
}

impl Component {
    /// The `data` object of `ivrapi_component_apply`.
    pub fn to_data(&self) -> Result<Value, EraError> {
        Ok(match self {
            Component::Play { file } => {
                if file.trim().is_empty() {
                    return Err(EraError::Invalid("play needs a file".into()));
                }
                json!({ "oType": 204, "mode": 0, "file": file })
            }
            Component::Record {
                seconds,
                max_symbols,
                interrupt_symbols,
                abort_on_silence,
            } => {
                if *seconds == 0 {
                    return Err(EraError::Invalid("record needs at least 1 second".into()));
                }
                let mut m = Map::new();
                m.insert("oType".into(), json!(208));
                m.insert("recTimeSec".into(), json!(seconds.to_string()));
                if let Some(n) = max_symbols {
                    m.insert("maxSymbolCount".into(), json!(n.to_string()));
                }
                if let Some(s) = interrupt_symbols {
                    m.insert("interruptSymbols".into(), json!(s));
                }
                m.insert("abortOnSilence".into(), json!(u8::from(*abort_on_silence)));
                Value::Object(m)
            }
            Component::Transfer {
                number,
                reinvite_mode,
            } => {
                if number.trim().is_empty() {
                    return Err(EraError::Invalid("transfer needs a number".into()));
                }
                let mut v = json!({ "oType": 203, "number": number.trim() });
                if let Some(m) = reinvite_mode {
                    v["reinviteMode"] = json!(m);
                }
                v
            }
            Component::Hangup => json!({ "oType": 201 }),
            Component::Raw { data } => match data {
                Value::Object(m) if m.contains_key("oType") => data.clone(),
                _ => {
                    return Err(EraError::Invalid(
                        "a raw component must be an object with oType".into(),
                    ))
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_follow_the_seed() {
        assert_eq!(
            Component::Play {
                file: ":GS_PUB/x/y/14.mp3".into()
            }
            .to_data()
            .unwrap(),
            json!({"oType": 204, "mode": 0, "file": ":GS_PUB/x/y/14.mp3"})
        );
        let rec = Component::Record {
            seconds: 10,
            max_symbols: Some(3),
            interrupt_symbols: Some("4, 5, 6".into()),
            abort_on_silence: false,
        };
        assert_eq!(
            rec.to_data().unwrap(),
            json!({"oType": 208, "recTimeSec": "10", "maxSymbolCount": "3", "interruptSymbols": "4, 5, 6", "abortOnSilence": 0})
        );
        assert_eq!(
            Component::Transfer {
                number: "13".into(),
                reinvite_mode: Some(2)
            }
            .to_data()
            .unwrap(),
            json!({"oType": 203, "number": "13", "reinviteMode": 2})
        );
        assert_eq!(Component::Hangup.to_data().unwrap(), json!({"oType": 201}));
        assert!(Component::Raw {
            data: json!({"x": 1})
        }
        .to_data()
        .is_err());
        assert!(Component::Play { file: " ".into() }.to_data().is_err());
    }
}
