//! Call Interactive (seed 001): an IVR extension calls a URL by GET or POST with the call's
//! parameters, parses the XML `<Response>` and executes its actions against the World.
//!
//! - Request parameters are exactly the seed's set (`EventType=call_interactive`, `CallID`, …,
//!   `CallAPIID`), appended to the URL's own parameters for GET or sent as a form for POST.
//!   URL parameter values may use `$var` (IVR variables); an unknown variable is empty.
//! - A reply that is empty, not XML, not 2xx or slower than the timeout is "no reply": the IVR
//!   goes on with its own flow (`CiEnd::Continued`).
//! - At most 10 actions of a reply run; the rest are counted in `CiOutcome::ignored_actions`.
//! - `Jump` requests the configured option's URL ([`super::CiOption`]); an unlisted option
//!   requests the entry URL again (with the current variables). `max_requests` stops loops.
//! - `PlaySound where="background" digitvar="v"` collects the digits pressed (through
//!   [`press_ci_digits`] or `World::dtmf`, type-ahead included) until the sound and the digit
//!   timeout end or `#` is pressed.
//! - `SimpleTransfer` rings all numbers at once; the first to answer takes the call. Unanswered
//!   within `timeout` (or the system timeout): a final transfer hangs the call up (`480`), a
//!   non-final one goes on with the next action.

mod exec;
pub mod xml;

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::task::JoinHandle;

pub use xml::{parse_reply, CiAction, ParsedReply, MAX_ACTIONS};

use crate::world::WorldError;
use crate::SimContext;

/// How one Call Interactive request went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CiReply {
    /// A `<Response>` with this many actions (before the 10-action limit).
    Actions { count: usize },
    /// 2xx with an empty body.
    Empty,
    /// 2xx, but not a `<Response>` XML document.
    NotXml,
    /// No reply within the timeout.
    TimedOut,
    /// A non-2xx status.
    Status { status: u16 },
    /// The request could not be made (connection refused, bad URL, …).
    Failed { error: String },
}

/// One request the IVR sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiRequest {
    pub method: String,
    /// Final URL (for GET including the call parameters).
    pub url: String,
    /// The seed-001 call parameters sent with it.
    pub params: Vec<(String, String)>,
    pub reply: CiReply,
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CiEnd {
    /// `<Hangup/>` ended the call.
    HungUp,
    /// A `SimpleTransfer` number answered.
    Transferred { to: String },
    /// A final `SimpleTransfer` got no answer; the call was hung up.
    TransferUnanswered,
    /// No (usable) reply, or the actions ran out: the IVR goes on with its own flow.
    Continued,
    /// The call ended while the session ran.
    CallEnded,
    /// `max_requests` reached (a `Jump` loop).
    RequestLimit,
    /// The session could not run (unknown call or IVR extension, World refused).
    Failed { error: String },
}

/// What a Call Interactive session did, for tests and the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiOutcome {
    pub call_id: String,
    pub requests: Vec<CiRequest>,
    /// Actions executed, in order, with what execution filled in.
    pub actions: Vec<CiAction>,
    /// IVR variables at the end.
    pub variables: BTreeMap<String, String>,
    /// Actions beyond the 10-per-reply limit, not executed.
    pub ignored_actions: usize,
    /// Skipped elements and invalid values.
    pub problems: Vec<String>,
    pub end: CiEnd,
}

/// Start a Call Interactive session: IVR extension `ivr_extension_id` requests `url` by
/// `method` (`GET`/`POST`) for call `call_id` (World id or `CallAPIID`) and executes the reply.
/// The World is watched from this moment, so digits pressed right after the call count.
pub fn start_call_interactive(
    ctx: &SimContext,
    call_id: &str,
    ivr_extension_id: &str,
    url: &str,
    method: &str,
) -> JoinHandle<CiOutcome> {
    let rx = ctx.world.subscribe();
    let session = exec::Session::new(ctx, call_id, ivr_extension_id, url, method, rx);
    tokio::spawn(session.run())
}

/// The caller presses `digits` on call `call_id` (seen by Call Interactive digit collection
/// and by every other front-end as a DTMF event).
pub fn press_ci_digits(ctx: &SimContext, call_id: &str, digits: &str) -> Result<(), WorldError> {
    ctx.world.dtmf(call_id, digits)
}

/// Replace `$name` (letters, digits, `_`) with the variable's value; unknown names become empty.
pub fn substitute_vars(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let len = after
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map(|(i, _)| i)
            .unwrap_or(after.len());
        if len == 0 {
            out.push('$');
        } else {
            out.push_str(vars.get(&after[..len]).map(String::as_str).unwrap_or(""));
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_substitute_by_name() {
        let vars: BTreeMap<String, String> = [
            ("var".to_string(), "1".to_string()),
            ("var2".to_string(), "x y".to_string()),
        ]
        .into();
        assert_eq!(substitute_vars("$var-$var2-$nope-$-$", &vars), "1-x y--$-$");
        assert_eq!(substitute_vars("plain", &vars), "plain");
    }
}
