//! `cti-core`: everything of the CTI panel that is not the window.
//!
//! Domain model ([`model`]), the call-control trait ([`provider`]), configuration ([`config`]),
//! platform clients ([`era`], [`telphin`]), the webhook listener ([`hooks`]), the history store
//! ([`history`]) and the engine that wires them. No tauri dependency: `cargo tree -p cti-core`
//! must not contain tauri, wry or webkit.

pub mod config;
pub mod engine;
pub mod era;
pub mod error;
pub mod history;
pub mod hooks;
pub mod model;
pub mod provider;
pub mod secrets;
pub mod sink;
pub mod support;
pub mod telphin;

pub use error::{Code, Coded, UiError};
pub use model::{CallEvent, CallEventKind, CallRef, Direction, Outcome, Party, ResultCode, Source};
