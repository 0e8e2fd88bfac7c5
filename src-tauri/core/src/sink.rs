//! The boundary between event producers (listener, Era session) and the durable store.
//!
//! The listener acknowledges a request with 2xx only after [`EventSink::accept`] returned `Ok`,
//! which means the events are durably committed. The history store implements this trait; the
//! engine wraps it to also update live state and notify.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Code, Coded};
use crate::model::{CallEvent, Source};

/// The raw request or frame behind a batch of events, kept for the inspector and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RawRecord {
    pub source: Source,
    /// Receive time, ms since the epoch.
    #[ts(type = "number")]
    pub received_ms: i64,
    /// Route or frame name, e.g. `POST /hooks/…/calls` (token redacted).
    pub what: String,
    /// Body or query string as received (UTF-8, lossy), truncated to the size limit.
    pub body: String,
}

/// A request the listener refused, with the one-line reason it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RejectedRequest {
    #[ts(type = "number")]
    pub received_ms: i64,
    pub remote: String,
    pub method: String,
    /// Path with the secret token redacted.
    pub path: String,
    pub status: u16,
    pub reason: String,
    /// Raw body (lossy UTF-8), truncated to the body limit.
    pub body: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Accepted {
    /// Events stored for the first time.
    pub stored: u32,
    /// Events recognised as duplicates (same `dedup_key`) and ignored.
    pub duplicates: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("storage failed: {0}")]
    Storage(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("{0}")]
    Unsupported(String),
    #[error("invalid message: {0}")]
    Invalid(String),
}

impl Coded for SinkError {
    fn code(&self) -> Code {
        match self {
            SinkError::Storage(_) | SinkError::Closed => Code::Storage,
            SinkError::Unsupported(_) => Code::Unsupported,
            SinkError::Invalid(_) => Code::InvalidInput,
        }
    }
}

#[async_trait]
pub trait EventSink: Send + Sync {
    /// Durably store `events` (and `raw`); returns after the commit is on disk.
    /// Duplicates by `dedup_key` are counted, not stored twice.
    async fn accept(&self, raw: RawRecord, events: Vec<CallEvent>) -> Result<Accepted, SinkError>;

    /// Keep a rejected request for the inspector. Best effort; never fails the caller.
    async fn reject(&self, rejected: RejectedRequest);

    /// A message from another panel of the team (callback-list claims). Sinks that do not
    /// share a callback list refuse it.
    async fn team_message(&self, _message: serde_json::Value) -> Result<(), SinkError> {
        Err(SinkError::Unsupported(
            "this panel does not share a callback list".into(),
        ))
    }
}
