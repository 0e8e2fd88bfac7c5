//! A Call Interactive request (seed 001): the call's details plus the URL's own parameters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::action::Action;
use crate::hooks::error::DecodeError;
use crate::hooks::params::Params;
use crate::hooks::time::fnv1a64;
use crate::model::{CallEvent, CallEventKind, Direction, Party, Source};

/// The parameters of one Call Interactive request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallInteractiveRequest {
    /// Always `call_interactive`.
    pub event_type: Option<String>,
    pub call_id: String,
    pub call_api_id: Option<String>,
    pub caller_id_num: Option<String>,
    pub caller_id_name: Option<String>,
    /// The public number dialled, when known.
    pub called_did: Option<String>,
    /// The IVR in `yyyy*zzz` form.
    pub called_extension: Option<String>,
    pub called_extension_id: Option<String>,
    /// Always `ANSWER`.
    pub call_status: Option<String>,
    /// Always `IN`.
    pub call_flow: Option<String>,
    /// Internal calls only.
    pub caller_extension: Option<String>,
    pub caller_extension_id: Option<String>,
    pub called_number: Option<String>,
    /// Every other parameter: static URL parameters and IVR variables (`?lang=$lang`).
    pub variables: BTreeMap<String, String>,
}

const KNOWN: [&str; 13] = [
    "EventType",
    "CallID",
    "CallAPIID",
    "CallerIDNum",
    "CallerIDName",
    "CalledDID",
    "CalledExtension",
    "CalledExtensionID",
    "CallStatus",
    "CallFlow",
    "CallerExtension",
    "CallerExtensionID",
    "CalledNumber",
];

impl CallInteractiveRequest {
    /// Read the request from its parameters; `CallID` (or at least `CallAPIID`) is required.
    pub fn from_params(p: &Params) -> Result<CallInteractiveRequest, DecodeError> {
        let call_api_id = p.get_owned("CallAPIID");
        let call_id = p
            .get_owned("CallID")
            .or_else(|| call_api_id.clone())
            .ok_or(DecodeError::Missing("CallID"))?;
        Ok(CallInteractiveRequest {
            event_type: p.get_owned("EventType"),
            call_id,
            call_api_id,
            caller_id_num: p.get_owned("CallerIDNum"),
            caller_id_name: p.get_owned("CallerIDName"),
            called_did: p.get_owned("CalledDID"),
            called_extension: p.get_owned("CalledExtension"),
            called_extension_id: p.get_owned("CalledExtensionID"),
            call_status: p.get_owned("CallStatus"),
            call_flow: p.get_owned("CallFlow"),
            caller_extension: p.get_owned("CallerExtension"),
            caller_extension_id: p.get_owned("CallerExtensionID"),
            called_number: p.get_owned("CalledNumber"),
            variables: p.others(&KNOWN),
        })
    }

    /// Stable identity of this request: the call plus every parameter.
    pub fn step_key(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("ci:{}:{:016x}", self.call_id, fnv1a64(&[&json]))
    }

    /// The events of this request and of the reply given: the call as seen entering the IVR
    /// (one per call), and the IVR step with the actions replied.
    pub fn to_events(
        &self,
        received_ms: i64,
        actions: &[Action],
        decided_by: &str,
        rule: Option<&str>,
    ) -> Vec<CallEvent> {
        let direction = if self.caller_extension.is_some() {
            Direction::Internal
        } else {
            Direction::Inbound
        };
        let created = CallEventKind::Created {
            direction,
            from: Party {
                number: self
                    .caller_id_num
                    .clone()
                    .or_else(|| self.caller_extension.clone())
                    .unwrap_or_default(),
                name: self.caller_id_name.clone(),
                extension_id: self.caller_extension_id.clone(),
            },
            to: Party {
                number: self
                    .called_number
                    .clone()
                    .or_else(|| self.called_extension.clone())
                    .unwrap_or_default(),
                name: None,
                extension_id: self.called_extension_id.clone(),
            },
            did: self.called_did.clone(),
            via: Some(format!(
                "IVR {}",
                self.called_extension.as_deref().unwrap_or("?")
            )),
        };
        let step = CallEventKind::Ivr {
            step: "call_interactive".into(),
            detail: serde_json::json!({
                "request": self,
                "reply": actions,
                "decided_by": decided_by,
                "rule": rule,
            }),
        };
        let event = |kind, dedup_key| CallEvent {
            source: Source::CallInteractive,
            call_id: self.call_id.clone(),
            control_id: self.call_api_id.clone(),
            at_ms: received_ms,
            kind,
            dedup_key,
        };
        vec![
            event(created, format!("ci:{}:created", self.call_id)),
            event(step, self.step_key()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "CalledExtensionID=145&CalledNumber=332&CallID=5205dc5cc5a411e5ab9eb3691b90ea15&CallerIDNum=000%2A306&CallerExtensionID=134&CallerExtension=000%2A306&CallFlow=IN&CalledExtension=000%2A332&CallAPIID=3584705175%3A5205dc5cc5a411e5ab9eb3691b90ea15&CallerIDName=000%2A306&CallStatus=ANSWER";

    #[test]
    fn seed_request() {
        let r = CallInteractiveRequest::from_params(&Params::parse(
            format!("{SEED}&lang=ru").as_bytes(),
        ))
        .unwrap();
        assert_eq!(r.call_id, "5205dc5cc5a411e5ab9eb3691b90ea15");
        assert_eq!(
            r.call_api_id.as_deref(),
            Some("3584705175:5205dc5cc5a411e5ab9eb3691b90ea15")
        );
        assert_eq!(r.caller_id_num.as_deref(), Some("000*306"));
        assert_eq!(r.called_extension.as_deref(), Some("000*332"));
        assert_eq!(r.variables.get("lang").map(String::as_str), Some("ru"));
        assert_eq!(r.variables.len(), 1);
        let ev = r.to_events(5, &[Action::Hangup], "rule", Some("r1"));
        assert_eq!(ev.len(), 2);
        assert!(matches!(
            &ev[0].kind,
            CallEventKind::Created {
                direction: Direction::Internal,
                ..
            }
        ));
        assert!(
            matches!(&ev[1].kind, CallEventKind::Ivr { detail, .. } if detail["reply"][0]["action"] == "hangup")
        );
        assert_eq!(ev[1].control_id.as_deref(), r.call_api_id.as_deref());
        assert_eq!(r.step_key(), r.clone().step_key());
    }

    #[test]
    fn call_id_required() {
        assert_eq!(
            CallInteractiveRequest::from_params(&Params::parse(b"CallerIDNum=1")),
            Err(DecodeError::Missing("CallID"))
        );
    }
}
