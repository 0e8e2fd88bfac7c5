//! The embedded webhook listener: the platforms call the panel here.
//!
//! ```text
//! POST     /hooks/{token}/calls    seed-004 JSON call webhooks   → calls::decode_call_hooks
//! GET|POST /hooks/{token}/telphin  Telphin extension events      → telphin::decode_telphin_event
//! GET|POST /hooks/{token}/ivr      Telphin Call Interactive      → ivr rules → XML <Response>
//! GET      /health
//! ```
//!
//! Every accepted request becomes [`crate::model::CallEvent`]s handed to the
//! [`crate::sink::EventSink`]; the reply is `200` only after the sink committed them.
//! Duplicates are acknowledged and counted by the sink. Bad input gets `400` with a one-line
//! reason, a wrong token `404` like any unknown path; every rejected request goes to the sink's
//! `reject` and to the in-memory rejected log. Call Interactive always answers XML within the
//! hard deadline (the configured fallback on any failure), optionally after the agent decided.
//! Every request and reply is kept by the [`Inspector`] for a window and can be replayed.
//!
//! Security: loopback by default, a LAN address only with `allow_lan`, a ≥ 128-bit path token
//! compared in constant time, an optional source-IP allow-list, a 64 KiB body limit, header
//! and body read timeouts, bounded connections, graceful shutdown.

pub mod calls;
mod config;
mod decisions;
mod error;
mod handler;
mod inspector;
pub mod ivr;
mod params;
mod server;
mod steps;
pub mod telphin;
mod time;

pub use calls::{decode_call_hooks, parse_call_hooks, CallHook, HookType};
pub use config::{
    generate_token, InspectorSettings, IpRange, ListenerConfig, DEFAULT_BODY_LIMIT, MIN_TOKEN_LEN,
};
pub use decisions::PendingDecision;
pub use error::{
    ActionError, DecisionError, DecodeError, ListenerError, ReplayError, ReplyXmlError, RuleError,
};
pub use inspector::{Inspector, InspectorEntry, Route};
pub use ivr::{
    evaluate, preview_xml, response_xml, validate_xml, Action, CallInteractiveRequest, Condition,
    IvrRule, IvrSettings, PlayMode, TextTest, Weekday,
};
pub use params::Params;
pub use server::{Listener, ListenerHandle, ListenerUrls};
pub use steps::IvrStore;
pub use telphin::{decode_telphin_event, TelphinEvent, TelphinEventType};
pub use time::{format_local, parse_timestamp, DecodeOptions};
