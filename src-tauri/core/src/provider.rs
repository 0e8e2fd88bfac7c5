//! The call-control trait every platform implements, with its capability set.
//!
//! The UI shows only the actions the connected platform supports ([`Capabilities`]); an
//! operation a platform cannot do returns [`ProviderError::Unsupported`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Code, Coded};
use crate::model::{CallRef, Source};

/// What a platform can do. Sent to the UI so it hides what is not possible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Capabilities {
    pub dial: bool,
    pub answer: bool,
    pub hangup: bool,
    pub hold: bool,
    pub transfer_blind: bool,
    pub transfer_attended: bool,
    pub conference: bool,
    pub dtmf: bool,
    pub park: bool,
    pub ivr_control: bool,
    pub recordings: bool,
    pub eavesdrop: bool,
    pub whisper: bool,
    pub pickup: bool,
}

/// A valet-parking slot as a provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SlotInfo {
    pub slot: u8,
    /// `UUID` of the parked call (matches the uuid part of its `CallAPIID`); `None` if free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<String>,
}

/// Errors of call-control operations, shared by all providers.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{platform} cannot {operation}")]
    Unsupported {
        platform: &'static str,
        operation: &'static str,
    },
    #[error("not connected to {0}")]
    NotConnected(&'static str),
    #[error("the platform refused: {message}")]
    Refused {
        status: Option<u16>,
        platform_code: Option<String>,
        message: String,
    },
    #[error("parking slot {0} is already taken")]
    SlotOccupied(u8),
    #[error("parking slot {0} is empty")]
    SlotEmpty(u8),
    #[error("no such call: {0}")]
    NoSuchCall(String),
    #[error("the platform did not answer within {0} ms")]
    Timeout(u64),
    #[error("network error: {0}")]
    Network(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("unexpected reply from the platform: {0}")]
    Protocol(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl Coded for ProviderError {
    fn code(&self) -> Code {
        match self {
            ProviderError::Unsupported { .. } => Code::Unsupported,
            ProviderError::NotConnected(_) => Code::NotConnected,
            ProviderError::Refused { .. } => Code::PlatformRefused,
            ProviderError::SlotOccupied(_) => Code::SlotOccupied,
            ProviderError::SlotEmpty(_) => Code::SlotEmpty,
            ProviderError::NoSuchCall(_) => Code::NotFound,
            ProviderError::Timeout(_) => Code::Timeout,
            ProviderError::Network(_) => Code::Network,
            ProviderError::Auth(_) => Code::Auth,
            ProviderError::Protocol(_) => Code::Protocol,
            ProviderError::Invalid(_) => Code::InvalidInput,
        }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// Call control on one platform. Every method has a default that reports `Unsupported`, so a
/// provider implements exactly what its platform can do and says so in [`Provider::capabilities`].
#[async_trait]
pub trait Provider: Send + Sync {
    fn source(&self) -> Source;
    fn capabilities(&self) -> Capabilities;

    fn platform_name(&self) -> &'static str {
        self.source().as_str()
    }

    async fn dial(&self, _number: &str) -> ProviderResult<CallRef> {
        Err(self.unsupported("dial"))
    }
    async fn answer(&self, _call: &CallRef) -> ProviderResult<()> {
        Err(self.unsupported("answer"))
    }
    async fn hangup(&self, _call: &CallRef) -> ProviderResult<()> {
        Err(self.unsupported("hang up"))
    }
    async fn hold(&self, _call: &CallRef) -> ProviderResult<()> {
        Err(self.unsupported("hold"))
    }
    async fn resume(&self, _call: &CallRef) -> ProviderResult<()> {
        Err(self.unsupported("resume"))
    }
    async fn transfer_blind(&self, _call: &CallRef, _to: &str) -> ProviderResult<()> {
        Err(self.unsupported("transfer"))
    }
    async fn transfer_attended(&self, _call: &CallRef, _to: &str) -> ProviderResult<()> {
        Err(self.unsupported("attended transfer"))
    }
    async fn conference(&self, _call: &CallRef, _with: &str) -> ProviderResult<()> {
        Err(self.unsupported("conference"))
    }
    async fn send_dtmf(&self, _call: &CallRef, _digits: &str) -> ProviderResult<()> {
        Err(self.unsupported("send DTMF"))
    }
    /// Park to `slot` (1–9) or the first free slot; returns the slot used.
    async fn park(&self, _call: &CallRef, _slot: Option<u8>) -> ProviderResult<u8> {
        Err(self.unsupported("park"))
    }
    /// Bridge `call` with the call parked in `slot`, or a random occupied slot.
    async fn bridge(&self, _call: &CallRef, _slot: Option<u8>) -> ProviderResult<()> {
        Err(self.unsupported("bridge"))
    }
    async fn park_slots(&self, _extension_id: &str) -> ProviderResult<Vec<SlotInfo>> {
        Err(self.unsupported("list parking slots"))
    }
    async fn eavesdrop(&self, _call: &CallRef, _from: &str) -> ProviderResult<()> {
        Err(self.unsupported("eavesdrop"))
    }
    async fn whisper(&self, _call: &CallRef, _from: &str) -> ProviderResult<()> {
        Err(self.unsupported("whisper"))
    }
    async fn pickup(&self, _call: &CallRef, _to: &str) -> ProviderResult<()> {
        Err(self.unsupported("pick up"))
    }

    fn unsupported(&self, operation: &'static str) -> ProviderError {
        ProviderError::Unsupported {
            platform: self.platform_name(),
            operation,
        }
    }
}
