//! Call Interactive (seed 001): the request, the reply actions and their XML, and the rules
//! that choose a reply.

mod action;
mod request;
mod rules;
mod xml;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use action::{is_xml_char, validate_actions, Action, PlayMode};
pub use request::CallInteractiveRequest;
pub use rules::{evaluate, preview_xml, Condition, IvrRule, TextTest, Weekday};
pub use xml::{parse_response_xml, response_xml, sanitize, validate_xml};

use super::error::RuleError;

/// Most actions the platform accepts in one reply.
pub const MAX_ACTIONS: usize = 10;

/// The Call Interactive part of the listener configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct IvrSettings {
    /// Tried in order; the first enabled rule that matches gives the reply.
    pub rules: Vec<IvrRule>,
    /// Reply when no rule matches. Empty: an empty `<Response/>` (the IVR goes on as set up).
    pub default_actions: Vec<Action>,
    /// Safe reply on any internal failure or a missed deadline. Empty: `<Response/>`.
    pub fallback_actions: Vec<Action>,
}

impl IvrSettings {
    /// Check every rule and both action lists.
    pub fn validate(&self) -> Result<(), RuleError> {
        for r in &self.rules {
            r.validate()?;
        }
        validate_actions(&self.default_actions).map_err(|source| RuleError::ListActions {
            list: "default",
            source,
        })?;
        validate_actions(&self.fallback_actions).map_err(|source| RuleError::ListActions {
            list: "fallback",
            source,
        })
    }
}
