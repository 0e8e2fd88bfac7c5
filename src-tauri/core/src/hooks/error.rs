//! Errors of the listener layer. Every one of them knows its UI [`Code`].

use crate::error::{Code, Coded};

/// Why a platform request could not be decoded. The listener answers `400` with this
/// one-line reason and keeps the request in the rejected log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("body is empty")]
    Empty,
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("expected a JSON object or an array of objects")]
    NotAnObject,
    #[error("missing field {0}")]
    Missing(&'static str),
    #[error("field {field} is invalid: {reason}")]
    Invalid { field: String, reason: String },
    #[error("unknown HookType {0:?}")]
    UnknownHookType(String),
    #[error("unknown EventType {0:?}")]
    UnknownEventType(String),
    #[error("too many hooks in one request ({0}, at most {max})", max = super::calls::MAX_HOOKS_PER_REQUEST)]
    TooMany(usize),
}

impl DecodeError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DecodeError::Invalid {
            field: field.into(),
            reason: one_line(&reason.into(), 120),
        }
    }
}

impl Coded for DecodeError {
    fn code(&self) -> Code {
        Code::InvalidInput
    }
}

/// A Call Interactive action (or list of actions) that breaks the platform's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("at most {max} actions are allowed in one reply, found {0}", max = super::ivr::MAX_ACTIONS)]
    TooMany(usize),
    #[error("action {index} ({action}): {reason}")]
    Invalid {
        index: usize,
        action: &'static str,
        reason: String,
    },
}

impl Coded for ActionError {
    fn code(&self) -> Code {
        Code::InvalidInput
    }
}

/// Why a hand-written Call Interactive reply is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyXmlError {
    #[error("XML is not well-formed: {0}")]
    Malformed(String),
    #[error("a DOCTYPE is not allowed")]
    DocType,
    #[error("the root element must be <Response>, found <{0}>")]
    WrongRoot(String),
    #[error("no <Response> element")]
    NoResponse,
    #[error("unexpected content {0}")]
    Unexpected(String),
    #[error("unknown action <{0}>")]
    UnknownAction(String),
    #[error("<{element}> has an unknown attribute {attribute:?}")]
    UnknownAttribute { element: String, attribute: String },
    #[error("<{element}> attribute {attribute}: {reason}")]
    InvalidAttribute {
        element: String,
        attribute: String,
        reason: String,
    },
    #[error("<{element}> requires the attribute {attribute}")]
    MissingAttribute { element: String, attribute: String },
    #[error("<{0}> must not contain text or elements")]
    NotEmpty(String),
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    #[error(transparent)]
    Action(#[from] ActionError),
}

impl Coded for ReplyXmlError {
    fn code(&self) -> Code {
        Code::InvalidInput
    }
}

/// A rule set the listener cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rule {rule:?}: {reason}")]
    Invalid { rule: String, reason: String },
    #[error("rule {rule:?}: {source}")]
    Actions { rule: String, source: ActionError },
    #[error("{list} actions: {source}")]
    ListActions {
        list: &'static str,
        source: ActionError,
    },
}

impl Coded for RuleError {
    fn code(&self) -> Code {
        Code::InvalidInput
    }
}

/// Starting or configuring the listener failed.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("listener configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

impl Coded for ListenerError {
    fn code(&self) -> Code {
        match self {
            ListenerError::Config(_) | ListenerError::Rules(_) => Code::Config,
            ListenerError::Bind { .. } => Code::Network,
        }
    }
}

/// The agent's answer to a held Call Interactive request was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("no pending IVR decision {0} (already answered or expired)")]
    NotFound(u64),
    #[error(transparent)]
    Invalid(#[from] ActionError),
}

impl Coded for DecisionError {
    fn code(&self) -> Code {
        match self {
            DecisionError::NotFound(_) => Code::NotFound,
            DecisionError::Invalid(_) => Code::InvalidInput,
        }
    }
}

/// A stored request could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("no inspector entry {0} (expired or never recorded)")]
    NotFound(u64),
    #[error("the listener is shutting down")]
    Stopped,
}

impl Coded for ReplayError {
    fn code(&self) -> Code {
        match self {
            ReplayError::NotFound(_) => Code::NotFound,
            ReplayError::Stopped => Code::NotConnected,
        }
    }
}

/// `s` on one line (control characters become spaces), at most `max` characters.
pub(crate) fn one_line(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_stay_on_one_line() {
        let e = DecodeError::invalid("Caller", "bad\nvalue\r\there");
        assert_eq!(e.to_string(), "field Caller is invalid: bad value  here");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
