//! Errors of the Era client.

use serde_json::Value;

use crate::error::{Code, Coded};
use crate::provider::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum EraError {
    #[error("Era settings: {0}")]
    Config(String),
    #[error("not connected to Era")]
    NotConnected,
    #[error("the Era session has stopped")]
    Closed,
    #[error("the link to Era dropped before '{0}' was answered")]
    Disconnected(String),
    #[error("Era did not answer '{request}' within {ms} ms")]
    Timeout { request: String, ms: u64 },
    /// An error result of a WebSocket request (either error shape).
    #[error("Era refused '{request}': {message}")]
    Refused {
        request: String,
        code: Option<i64>,
        message: String,
        details: Option<Value>,
    },
    /// An error reply of a REST request.
    #[error("Era REST {status}: {message}")]
    Http {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    #[error("Era authentication failed: {0}")]
    Auth(String),
    #[error("network error talking to Era: {0}")]
    Network(String),
    #[error("unexpected reply from Era: {0}")]
    Protocol(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("no IVR session '{0}' is known")]
    NoSuchIvrSession(String),
    #[error("the panel does not control IVR session '{0}'")]
    NotControlled(String),
    #[error(
        "a component is still running in IVR session '{key}'; wait until it stops or terminate it"
    )]
    ComponentBusy { key: String },
}

impl Coded for EraError {
    fn code(&self) -> Code {
        match self {
            EraError::Config(_) => Code::Config,
            EraError::NotConnected | EraError::Closed | EraError::Disconnected(_) => {
                Code::NotConnected
            }
            EraError::Timeout { .. } => Code::Timeout,
            EraError::Refused { .. } => Code::PlatformRefused,
            EraError::Http { status: 404, .. } => Code::NotFound,
            EraError::Http { .. } => Code::PlatformRefused,
            EraError::Auth(_) => Code::Auth,
            EraError::Network(_) => Code::Network,
            EraError::Protocol(_) => Code::Protocol,
            EraError::Invalid(_) => Code::InvalidInput,
            EraError::NoSuchIvrSession(_) => Code::NotFound,
            EraError::NotControlled(_) => Code::InvalidInput,
            EraError::ComponentBusy { .. } => Code::Busy,
        }
    }
}

impl From<EraError> for ProviderError {
    fn from(e: EraError) -> Self {
        match e {
            EraError::NotConnected | EraError::Closed | EraError::Disconnected(_) => {
                ProviderError::NotConnected("era")
            }
            EraError::Timeout { ms, .. } => ProviderError::Timeout(ms),
            EraError::Http {
                status: 404,
                message,
                ..
            } => ProviderError::NoSuchCall(message),
            EraError::Http {
                status,
                code,
                message,
            } => ProviderError::Refused {
                status: Some(status),
                platform_code: code.map(|c| c.to_string()),
                message,
            },
            EraError::Refused { code, message, .. } => ProviderError::Refused {
                status: None,
                platform_code: code.map(|c| c.to_string()),
                message,
            },
            EraError::Auth(m) => ProviderError::Auth(m),
            EraError::Network(m) => ProviderError::Network(m),
            EraError::Protocol(m) => ProviderError::Protocol(m),
            other @ (EraError::Config(_)
            | EraError::Invalid(_)
            | EraError::NoSuchIvrSession(_)
            | EraError::NotControlled(_)
            | EraError::ComponentBusy { .. }) => ProviderError::Invalid(other.to_string()),
        }
    }
}
