//! Current calls: listing, control actions, hang-up, click-to-call; the token owner and
//! extension resources.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use ts_rs::TS;

use super::client::{seg, Retry, TelphinClient};
use super::error::TelphinError;
use super::valet::slot_value;

/// A call action of `PUT /extension/{id}/current_calls/{call_api_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallAction {
    /// Blind transfer to `send_dst`.
    Transfer,
    /// Attended transfer to `send_dst`.
    AttendedTransfer,
    Hold,
    OffHold,
    /// Park into the first free slot.
    Park,
    /// `send_dst` rings; on answer it takes the call over.
    Pickup,
    /// `send_dst` rings; on answer it listens.
    Eavesdrop,
    /// `send_dst` rings; on answer it speaks to the agent only.
    Whisper,
    /// `send_dst` rings; on answer it joins both parties.
    Conference,
}

impl CallAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CallAction::Transfer => "transfer",
            CallAction::AttendedTransfer => "attended_transfer",
            CallAction::Hold => "hold",
            CallAction::OffHold => "offhold",
            CallAction::Park => "park",
            CallAction::Pickup => "pickup",
            CallAction::Eavesdrop => "eavesdrop",
            CallAction::Whisper => "whisper",
            CallAction::Conference => "conference",
        }
    }

    /// Whether the action rings a destination (`send_dst`).
    pub fn needs_destination(self) -> bool {
        !matches!(
            self,
            CallAction::Hold | CallAction::OffHold | CallAction::Park
        )
    }
}

/// An extension as `current_calls` items name it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, rename = "TelphinExtensionRef")]
pub struct ExtensionRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Telphin name, `prefix*number@domain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One item of a `current_calls` listing. Ids may come as numbers or strings; every field
/// but `call_api_id` may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, rename = "TelphinCurrentCall")]
pub struct CurrentCall {
    /// Call-control handle.
    pub call_api_id: String,
    pub call_id: Option<String>,
    /// Set when the call was made by the callback (click-to-call) resource.
    pub callback_id: Option<String>,
    pub extension_id: Option<String>,
    /// `in` or `out`.
    pub call_flow: Option<String>,
    pub called_number: Option<String>,
    pub called_did: Option<String>,
    pub caller_id_number: Option<String>,
    pub caller_id_name: Option<String>,
    pub caller_extension: Option<ExtensionRef>,
    pub called_extension: Option<ExtensionRef>,
    /// `YYYY-MM-DD HH:MM:SS`, GMT.
    pub init_time_gmt: Option<String>,
    pub answer_time_gmt: Option<String>,
    /// False when the call is attached to the extension without a dialogue (forwarded away).
    pub real_call: Option<bool>,
    pub record_uuid: Option<String>,
}

/// A string, or a number/bool as text; null and empty strings are `None`.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn ext_ref(v: Option<&Value>) -> Option<ExtensionRef> {
    match v? {
        Value::Object(m) => Some(ExtensionRef {
            id: text(m.get("id")),
            name: text(m.get("name")),
        }),
        Value::String(s) if !s.is_empty() => Some(ExtensionRef {
            id: None,
            name: Some(s.clone()),
        }),
        Value::Number(n) => Some(ExtensionRef {
            id: Some(n.to_string()),
            name: None,
        }),
        _ => None,
    }
}

impl CurrentCall {
    /// Read one listing item; `None` without a `call_api_id`.
    pub fn from_json(v: &Value) -> Option<CurrentCall> {
        let m: &Map<String, Value> = v.as_object()?;
        Some(CurrentCall {
            call_api_id: text(m.get("call_api_id"))?,
            call_id: text(m.get("call_id")),
            callback_id: text(m.get("callback_id")),
            extension_id: text(m.get("extension_id")),
            call_flow: text(m.get("call_flow")),
            called_number: text(m.get("called_number")),
            called_did: text(m.get("called_did")),
            caller_id_number: text(m.get("caller_id_number")),
            caller_id_name: text(m.get("caller_id_name")),
            caller_extension: ext_ref(m.get("caller_extension")),
            called_extension: ext_ref(m.get("called_extension")),
            init_time_gmt: text(m.get("init_time_gmt")),
            answer_time_gmt: text(m.get("answer_time_gmt")),
            real_call: m.get("real_call").and_then(|b| match b {
                Value::Bool(b) => Some(*b),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }),
            record_uuid: text(m.get("record_uuid")),
        })
    }
}

/// Click-to-call parameters (`POST /extension/{id}/callback/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallbackRequest {
    /// Numbers rung first; the first to answer is connected to `dst_num`.
    pub src_num: Vec<String>,
    pub dst_num: String,
    /// Caller id the destination sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id_number: Option<String>,
    /// Caller id the source phone sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_caller_id_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_caller_id_number: Option<String>,
}

/// What click-to-call created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackReply {
    pub call_api_id: String,
    pub call_id: Option<String>,
}

/// An extension (`GET /extension/{id}/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionInfo {
    pub id: String,
    /// Telphin name (`022*101`).
    pub name: String,
    pub label: Option<String>,
    /// `phone`, `ivr`, `queue`, `fax`, …
    pub kind: Option<String>,
}

/// The owner of the access token (`GET /user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub login: Option<String>,
    pub client_id: Option<String>,
    pub extension_id: Option<String>,
}

impl TelphinClient {
    /// Current calls across the PBX.
    pub async fn client_calls(&self) -> Result<Vec<CurrentCall>, TelphinError> {
        let path = format!(
            "/client/{}/current_calls/",
            client_seg(&self.config().pbx_client_id)
        );
        self.listing(&path).await
    }

    /// Current calls of one extension.
    pub async fn extension_calls(
        &self,
        extension_id: &str,
    ) -> Result<Vec<CurrentCall>, TelphinError> {
        self.listing(&format!("/extension/{}/current_calls/", seg(extension_id)))
            .await
    }

    async fn listing(&self, path: &str) -> Result<Vec<CurrentCall>, TelphinError> {
        let v = self
            .call(Method::GET, path, None, Retry::Idempotent, "this resource")
            .await?
            .json()?;
        let items = match &v {
            Value::Array(a) => a.as_slice(),
            Value::Object(m) => m
                .get("data")
                .and_then(|d| d.as_array())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            Value::Null => &[],
            other => {
                return Err(TelphinError::Protocol(format!(
                    "current calls: expected a list, got {other}"
                )))
            }
        };
        Ok(items.iter().filter_map(CurrentCall::from_json).collect())
    }

    /// Run `action` on a current call of `extension_id`. Returns the slot for `Park`.
    pub async fn call_action(
        &self,
        extension_id: &str,
        call_api_id: &str,
        action: CallAction,
        send_dst: Option<&str>,
    ) -> Result<Option<u8>, TelphinError> {
        let dst = send_dst.map(str::trim).unwrap_or("");
        if action.needs_destination() && dst.is_empty() {
            return Err(TelphinError::Invalid(format!(
                "{} needs a destination number",
                action.as_str()
            )));
        }
        if call_api_id.trim().is_empty() {
            return Err(TelphinError::Invalid("no call given".into()));
        }
        let path = format!(
            "/extension/{}/current_calls/{}",
            seg(extension_id),
            seg(call_api_id)
        );
        let body = json!({ "action": action.as_str(), "send_dst": dst });
        let what = format!("call {call_api_id}");
        let reply = self
            .call(Method::PUT, &path, Some(&body), Retry::ConnectOnly, &what)
            .await?;
        let slot = reply
            .json()
            .ok()
            .and_then(|v| v.get("slot").and_then(slot_value));
        if let (CallAction::Park, Some(n)) = (action, slot) {
            let now = chrono::Utc::now().timestamp_millis();
            self.board()
                .parked(extension_id, n, Some(call_api_id), Some(extension_id), now);
            self.publish_board();
            self.schedule_board_expiry();
        }
        Ok(slot)
    }

    /// Hang a current call up (`DELETE /extension/{id}/current_calls/{call_api_id}`; the docs'
    /// text for this is cut, the verb is inferred).
    pub async fn hangup(&self, extension_id: &str, call_api_id: &str) -> Result<(), TelphinError> {
        let path = format!(
            "/extension/{}/current_calls/{}",
            seg(extension_id),
            seg(call_api_id)
        );
        self.call(
            Method::DELETE,
            &path,
            None,
            Retry::ConnectOnly,
            &format!("call {call_api_id}"),
        )
        .await?;
        Ok(())
    }

    /// Click-to-call from `extension_id`.
    pub async fn callback(
        &self,
        extension_id: &str,
        req: &CallbackRequest,
    ) -> Result<CallbackReply, TelphinError> {
        if req.dst_num.trim().is_empty() || req.src_num.iter().all(|s| s.trim().is_empty()) {
            return Err(TelphinError::Invalid(
                "click-to-call needs a source and a destination".into(),
            ));
        }
        let body = serde_json::to_value(req).map_err(|e| TelphinError::Invalid(e.to_string()))?;
        let path = format!("/extension/{}/callback/", seg(extension_id));
        let what = format!("extension {extension_id}");
        let v = self
            .call(Method::POST, &path, Some(&body), Retry::ConnectOnly, &what)
            .await?
            .json()?;
        let call_api_id = text(v.get("call_api_id")).ok_or_else(|| {
            TelphinError::Protocol(format!("callback reply without call_api_id: {v}"))
        })?;
        Ok(CallbackReply {
            call_api_id,
            call_id: text(v.get("call_id")),
        })
    }

    /// One extension.
    pub async fn extension_info(&self, extension_id: &str) -> Result<ExtensionInfo, TelphinError> {
        let path = format!("/extension/{}/", seg(extension_id));
        let what = format!("extension {extension_id}");
        let v = self
            .call(Method::GET, &path, None, Retry::Idempotent, &what)
            .await?
            .json()?;
        Ok(ExtensionInfo {
            id: text(v.get("id")).unwrap_or_else(|| extension_id.to_string()),
            name: text(v.get("name"))
                .ok_or_else(|| TelphinError::Protocol(format!("extension without a name: {v}")))?,
            label: text(v.get("label")),
            kind: text(v.get("type")),
        })
    }

    /// Who the token belongs to; a cheap "are the credentials right" check.
    pub async fn whoami(&self) -> Result<TokenOwner, TelphinError> {
        let v = self
            .call(
                Method::GET,
                "/user/",
                None,
                Retry::Idempotent,
                "the token owner",
            )
            .await?
            .json()?;
        Ok(TokenOwner {
            login: text(v.get("login")),
            client_id: text(v.get("client_id")),
            extension_id: text(v.get("extension_id")),
        })
    }
}

/// `@me` stays literal; anything else is one encoded path segment.
fn client_seg(id: &str) -> String {
    if id == "@me" {
        id.to_string()
    } else {
        seg(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_items_are_read_leniently() {
        let v = json!({
            "call_api_id": "3232-x", "extension_id": 34414, "call_flow": "in",
            "caller_extension": {"id": 1, "name": "022*101"}, "called_extension": "022*102",
            "real_call": "true", "answer_time_gmt": null, "called_did": ""
        });
        let c = CurrentCall::from_json(&v).unwrap();
        assert_eq!(c.extension_id.as_deref(), Some("34414"));
        assert_eq!(c.caller_extension.unwrap().id.as_deref(), Some("1"));
        assert_eq!(c.called_extension.unwrap().name.as_deref(), Some("022*102"));
        assert_eq!(
            (c.real_call, c.answer_time_gmt, c.called_did),
            (Some(true), None, None)
        );
        assert!(CurrentCall::from_json(&json!({"extension_id": 1})).is_none());
        assert!(
            CallAction::Transfer.needs_destination() && !CallAction::OffHold.needs_destination()
        );
    }
}
