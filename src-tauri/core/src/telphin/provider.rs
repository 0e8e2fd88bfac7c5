//! [`TelphinProvider`]: call control on Telphin. A [`CallRef`]'s `call_id` is the Telphin
//! `CallAPIID`; its `extension_id` (else the agent's own extension) is the extension the
//! request goes through.

use async_trait::async_trait;

use super::calls::{CallAction, CallbackRequest};
use super::client::TelphinClient;
use super::error::TelphinError;
use crate::model::{CallRef, Source};
use crate::provider::{Capabilities, Provider, ProviderError, ProviderResult, SlotInfo};

/// Telphin call control. There is no remote answer (a SIP phone answers itself) and no DTMF.
#[derive(Clone)]
pub struct TelphinProvider {
    client: TelphinClient,
}

impl TelphinProvider {
    pub fn new(client: TelphinClient) -> TelphinProvider {
        TelphinProvider { client }
    }

    pub fn client(&self) -> &TelphinClient {
        &self.client
    }

    /// What Telphin can do through its REST API.
    pub fn capabilities_set() -> Capabilities {
        Capabilities {
            dial: true,
            answer: false,
            hangup: true,
            hold: true,
            transfer_blind: true,
            transfer_attended: true,
            conference: true,
            dtmf: false,
            park: true,
            ivr_control: false,
            recordings: false,
            eavesdrop: true,
            whisper: true,
            pickup: true,
        }
    }

    /// `(extension, call_api_id)` of a call reference.
    fn target<'a>(&'a self, call: &'a CallRef) -> ProviderResult<(&'a str, &'a str)> {
        if call.source != Source::Telphin {
            return Err(ProviderError::Invalid(format!(
                "{} call given to the Telphin provider",
                call.source.as_str()
            )));
        }
        let id = call.call_id.trim();
        if id.is_empty() {
            return Err(ProviderError::Invalid("empty call id".into()));
        }
        let ext = match call
            .extension_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(e) => e,
            None => self.client.agent_extension()?,
        };
        Ok((ext, id))
    }

    async fn act(
        &self,
        call: &CallRef,
        action: CallAction,
        dst: Option<&str>,
    ) -> ProviderResult<()> {
        let (ext, id) = self.target(call)?;
        if let Some(d) = dst {
            number(d)?;
        }
        self.client.call_action(ext, id, action, dst).await?;
        Ok(())
    }
}

/// A dialable number: digits, `+`, `*`, `#` (Telphin extension names such as `022*101` too).
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
impl Provider for TelphinProvider {
    fn source(&self) -> Source {
        Source::Telphin
    }

    fn capabilities(&self) -> Capabilities {
        TelphinProvider::capabilities_set()
    }

    /// Click-to-call: the agent's phone rings first, then `number`.
    async fn dial(&self, number_to: &str) -> ProviderResult<CallRef> {
        let dst = number(number_to)?;
        let ext = self.client.agent_extension()?.to_string();
        let src = match self.client.config().callback_src.clone() {
            s if !s.is_empty() => s,
            _ => vec![self.client.extension_info(&ext).await?.name],
        };
        let reply = self
            .client
            .callback(
                &ext,
                &CallbackRequest {
                    src_num: src,
                    dst_num: dst.to_string(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(CallRef {
            source: Source::Telphin,
            call_id: reply.call_api_id,
            extension_id: Some(ext),
        })
    }

    async fn hangup(&self, call: &CallRef) -> ProviderResult<()> {
        let (ext, id) = self.target(call)?;
        Ok(self.client.hangup(ext, id).await?)
    }

    async fn hold(&self, call: &CallRef) -> ProviderResult<()> {
        self.act(call, CallAction::Hold, None).await
    }

    async fn resume(&self, call: &CallRef) -> ProviderResult<()> {
        self.act(call, CallAction::OffHold, None).await
    }

    async fn transfer_blind(&self, call: &CallRef, to: &str) -> ProviderResult<()> {
        self.act(call, CallAction::Transfer, Some(to)).await
    }

    async fn transfer_attended(&self, call: &CallRef, to: &str) -> ProviderResult<()> {
        self.act(call, CallAction::AttendedTransfer, Some(to)).await
    }

    async fn conference(&self, call: &CallRef, with: &str) -> ProviderResult<()> {
        self.act(call, CallAction::Conference, Some(with)).await
    }

    async fn park(&self, call: &CallRef, slot: Option<u8>) -> ProviderResult<u8> {
        let (ext, id) = self.target(call)?;
        Ok(self.client.park(ext, id, slot).await?.slot)
    }

    async fn bridge(&self, call: &CallRef, slot: Option<u8>) -> ProviderResult<()> {
        let (ext, id) = self.target(call)?;
        self.client.bridge(ext, id, slot).await?;
        Ok(())
    }

    /// Every slot of the extension's lot. The API is asked through one of the extension's
    /// current calls; with none, the park board's knowledge is returned.
    async fn park_slots(&self, extension_id: &str) -> ProviderResult<Vec<SlotInfo>> {
        let ext = match extension_id.trim() {
            "" => self.client.agent_extension()?.to_string(),
            e => e.to_string(),
        };
        let calls = self.client.extension_calls(&ext).await?;
        let Some(via) = calls.first().map(|c| c.call_api_id.clone()) else {
            let board = self.client.park_board();
            return Ok((1..=9u8)
                .map(|slot| SlotInfo {
                    slot,
                    call_uuid: board
                        .slot(&ext, slot)
                        .map(|p| p.call_uuid.clone().unwrap_or_default()),
                })
                .collect());
        };
        let free = self.client.free_slots(&ext, &via).await?;
        let mut out = Vec::with_capacity(9);
        for slot in 1..=9u8 {
            let call_uuid = if free.contains(&slot) {
                None
            } else {
                match self.client.slot_occupant(&ext, &via, slot).await {
                    Ok(u) => Some(u.unwrap_or_default()),
                    Err(TelphinError::NotFound(_)) => Some(String::new()),
                    Err(e) => return Err(e.into()),
                }
            };
            out.push(SlotInfo { slot, call_uuid });
        }
        Ok(out)
    }

    async fn eavesdrop(&self, call: &CallRef, from: &str) -> ProviderResult<()> {
        self.act(call, CallAction::Eavesdrop, Some(from)).await
    }

    async fn whisper(&self, call: &CallRef, from: &str) -> ProviderResult<()> {
        self.act(call, CallAction::Whisper, Some(from)).await
    }

    async fn pickup(&self, call: &CallRef, to: &str) -> ProviderResult<()> {
        self.act(call, CallAction::Pickup, Some(to)).await
    }
}
