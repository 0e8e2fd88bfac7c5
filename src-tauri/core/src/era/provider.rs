//! [`EraProvider`]: call control on the Era platform through REST custom verbs.
//!
//! A [`CallRef`]'s `call_id` is the Era `cid`; the provider turns it into the `connectionid`
//! the REST API addresses when the session knows it, and otherwise sends the id as given.

use async_trait::async_trait;
use serde_json::Value;

use super::error::EraError;
use super::rest::EraRest;
use super::session::EraHandle;
use crate::model::{CallRef, Source};
use crate::provider::{Capabilities, Provider, ProviderError, ProviderResult};

/// Era call control. Answering uses `NOTIFY {event: answer}` (remote answer by the device;
/// works where the phone supports it).
#[derive(Clone)]
pub struct EraProvider {
    rest: EraRest,
    session: Option<EraHandle>,
    extension: String,
}

impl EraProvider {
    /// A provider over the session's REST client.
    pub fn new(session: &EraHandle) -> Result<EraProvider, EraError> {
        let rest = session
            .rest()
            .cloned()
            .ok_or_else(|| EraError::Config("era REST url is not valid".into()))?;
        Ok(EraProvider {
            rest,
            session: Some(session.clone()),
            extension: session.config().extension.clone(),
        })
    }

    /// A provider with REST only (no WebSocket session to resolve ids).
    pub fn rest_only(rest: EraRest, extension: &str) -> EraProvider {
        EraProvider {
            rest,
            session: None,
            extension: extension.to_string(),
        }
    }

    pub fn rest(&self) -> &EraRest {
        &self.rest
    }

    async fn id(&self, call: &CallRef) -> ProviderResult<String> {
        if call.source != Source::Era {
            return Err(ProviderError::Invalid(format!(
                "{} call given to the Era provider",
                call.source.as_str()
            )));
        }
        if call.call_id.trim().is_empty() {
            return Err(ProviderError::Invalid("empty call id".into()));
        }
        if let Some(s) = &self.session {
            if let Ok(Some(conn)) = s.control_id(&call.call_id).await {
                return Ok(conn);
            }
        }
        Ok(call.call_id.clone())
    }
}

fn number(n: &str) -> ProviderResult<&str> {
    let n = n.trim();
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit() || "+*#".contains(c)) {
        return Err(ProviderError::Invalid(format!(
            "'{n}' is not a phone number"
        )));
    }
    Ok(n)
}

#[async_trait]
impl Provider for EraProvider {
    fn source(&self) -> Source {
        Source::Era
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dial: true,
            answer: true,
            hangup: true,
            hold: true,
            transfer_blind: true,
            transfer_attended: true,
            conference: true,
            dtmf: true,
            park: false,
            ivr_control: self.session.is_some(),
            recordings: self.session.is_some(),
            eavesdrop: false,
            whisper: false,
            pickup: false,
        }
    }

    async fn dial(&self, to: &str) -> ProviderResult<CallRef> {
        let v = self.rest.invite(&self.extension, number(to)?).await?;
        let id = ["cid", "id", "idconn"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .ok_or_else(|| ProviderError::Protocol("the platform returned no call id".into()))?;
        Ok(CallRef {
            source: Source::Era,
            call_id: id.to_string(),
            extension_id: None,
        })
    }

    async fn answer(&self, call: &CallRef) -> ProviderResult<()> {
        self.rest.notify(&self.id(call).await?, "answer").await?;
        Ok(())
    }

    async fn hangup(&self, call: &CallRef) -> ProviderResult<()> {
        self.rest.hangup(&self.id(call).await?).await?;
        Ok(())
    }

    async fn hold(&self, call: &CallRef) -> ProviderResult<()> {
        self.rest.notify(&self.id(call).await?, "hold").await?;
        Ok(())
    }

    async fn resume(&self, call: &CallRef) -> ProviderResult<()> {
        self.rest.notify(&self.id(call).await?, "talk").await?;
        Ok(())
    }

    async fn transfer_blind(&self, call: &CallRef, to: &str) -> ProviderResult<()> {
        self.rest
            .transfer(&self.id(call).await?, number(to)?, false)
            .await?;
        Ok(())
    }

    async fn transfer_attended(&self, call: &CallRef, to: &str) -> ProviderResult<()> {
        self.rest
            .transfer(&self.id(call).await?, number(to)?, true)
            .await?;
        Ok(())
    }

    async fn conference(&self, call: &CallRef, with: &str) -> ProviderResult<()> {
        self.rest
            .switch_conf(&self.id(call).await?, Some(number(with)?))
            .await?;
        Ok(())
    }

    async fn send_dtmf(&self, call: &CallRef, digits: &str) -> ProviderResult<()> {
        if digits.is_empty()
            || !digits
                .chars()
                .all(|d| d.is_ascii_digit() || "*#ABCD".contains(d))
        {
            return Err(ProviderError::Invalid(format!("'{digits}' is not DTMF")));
        }
        self.rest.send_dtmf(&self.id(call).await?, digits).await?;
        Ok(())
    }
}
