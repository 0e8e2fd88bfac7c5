//! Errors of the Telphin client, worded for the agent who sees them.

use crate::error::{Code, Coded};
use crate::provider::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum TelphinError {
    #[error("Telphin settings: {0}")]
    Config(String),
    #[error("Telphin authentication failed: {0}")]
    Auth(String),
    #[error("parking slot {0} is already taken by another call; choose another slot")]
    SlotOccupied(u8),
    #[error("parking slot {0} is empty: the caller hung up or has already returned")]
    SlotEmpty(u8),
    #[error("nobody is waiting in the parking slots")]
    NoParkedCall,
    #[error("all parking slots are taken")]
    NoFreeSlot,
    /// 404: the call (or extension, subscription) is unknown or no longer current.
    #[error("Telphin does not know {0} (the call may have ended)")]
    NotFound(String),
    /// Any other refusal, with the platform's message.
    #[error("Telphin refused ({status}): {message}")]
    Http { status: u16, message: String },
    #[error("Telphin did not answer within {0} ms")]
    Timeout(u64),
    #[error("network error talking to Telphin: {0}")]
    Network(String),
    #[error("unexpected reply from Telphin: {0}")]
    Protocol(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl Coded for TelphinError {
    fn code(&self) -> Code {
        match self {
            TelphinError::Config(_) => Code::Config,
            TelphinError::Auth(_) => Code::Auth,
            TelphinError::SlotOccupied(_) | TelphinError::NoFreeSlot => Code::SlotOccupied,
            TelphinError::SlotEmpty(_) | TelphinError::NoParkedCall => Code::SlotEmpty,
            TelphinError::NotFound(_) => Code::NotFound,
            TelphinError::Http { .. } => Code::PlatformRefused,
            TelphinError::Timeout(_) => Code::Timeout,
            TelphinError::Network(_) => Code::Network,
            TelphinError::Protocol(_) => Code::Protocol,
            TelphinError::Invalid(_) => Code::InvalidInput,
        }
    }
}

impl From<TelphinError> for ProviderError {
    fn from(e: TelphinError) -> Self {
        match e {
            TelphinError::SlotOccupied(n) => ProviderError::SlotOccupied(n),
            TelphinError::SlotEmpty(n) => ProviderError::SlotEmpty(n),
            TelphinError::NotFound(what) => ProviderError::NoSuchCall(what),
            TelphinError::Http { status, message } => ProviderError::Refused {
                status: Some(status),
                platform_code: None,
                message,
            },
            TelphinError::Timeout(ms) => ProviderError::Timeout(ms),
            TelphinError::Network(m) => ProviderError::Network(m),
            TelphinError::Auth(m) => ProviderError::Auth(m),
            TelphinError::Protocol(m) => ProviderError::Protocol(m),
            TelphinError::Invalid(m) => ProviderError::Invalid(m),
            other @ (TelphinError::NoParkedCall | TelphinError::NoFreeSlot) => {
                ProviderError::Refused {
                    status: None,
                    platform_code: None,
                    message: other.to_string(),
                }
            }
            TelphinError::Config(m) => ProviderError::Invalid(format!("Telphin settings: {m}")),
        }
    }
}

/// The readable message of an error reply: `{"message": …}`, an OAuth
/// `{"error", "error_description"}`, a JSON string, or the text itself (shortened).
pub(crate) fn reply_message(body: &str) -> String {
    let trimmed = body.trim();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed) {
        if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
            return m.to_string();
        }
        if let Some(e) = v.get("error").and_then(|m| m.as_str()) {
            return match v.get("error_description").and_then(|d| d.as_str()) {
                Some(d) => format!("{e}: {d}"),
                None => e.to_string(),
            };
        }
        if let Some(s) = v.as_str() {
            return s.to_string();
        }
    }
    let text: String = trimmed
        .trim_matches(|c| c == '\'' || c == '"')
        .chars()
        .take(300)
        .collect();
    if text.is_empty() {
        "no details".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_out_of_every_reply_shape() {
        assert_eq!(reply_message(r#"{"message":"Not found"}"#), "Not found");
        assert_eq!(
            reply_message(r#"{"error":"invalid_client","error_description":"bad"}"#),
            "invalid_client: bad"
        );
        assert_eq!(reply_message(r#""slot is full""#), "slot is full");
        assert_eq!(
            reply_message("'slot already have parked member, slot is full'"),
            "slot already have parked member, slot is full"
        );
        assert_eq!(reply_message(""), "no details");
    }

    #[test]
    fn provider_errors_keep_the_ui_code() {
        let p: ProviderError = TelphinError::SlotOccupied(6).into();
        assert_eq!(p.code(), Code::SlotOccupied);
        let p: ProviderError = TelphinError::NotFound("call x".into()).into();
        assert_eq!(p.code(), Code::NotFound);
        assert_eq!(TelphinError::NoParkedCall.code(), Code::SlotEmpty);
    }
}
