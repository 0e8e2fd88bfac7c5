//! The error codes the UI understands, and the `{ code, message }` form it receives.
//!
//! Each layer has its own `thiserror` enum and implements [`Coded`]; the shell turns any of them
//! into a [`UiError`]. The code list is small and stable: the UI switches on it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Code {
    InvalidInput,
    NotFound,
    Unsupported,
    NotConnected,
    PlatformRefused,
    SlotOccupied,
    SlotEmpty,
    Timeout,
    Network,
    Auth,
    Protocol,
    Config,
    Storage,
    Busy,
    Internal,
}

/// An error that knows its UI code.
pub trait Coded: std::error::Error {
    fn code(&self) -> Code;
}

/// What a Tauri command returns on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UiError {
    pub code: Code,
    pub message: String,
}

impl UiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        UiError {
            code,
            message: message.into(),
        }
    }
}

impl<E: Coded> From<E> for UiError {
    fn from(e: E) -> Self {
        UiError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderError;

    #[test]
    fn ui_error_json_form_is_pinned() {
        let e: UiError = ProviderError::SlotOccupied(6).into();
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"slot_occupied","message":"parking slot 6 is already taken"}"#
        );
    }
}
