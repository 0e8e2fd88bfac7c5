//! The history store as the listener's [`crate::sink::EventSink`] (implemented in `mod.rs`).

use super::error::HistoryError;
use crate::sink::SinkError;

/// Map a store error to what the listener understands.
pub(crate) fn to_sink_error(e: HistoryError) -> SinkError {
    match e {
        HistoryError::Closed => SinkError::Closed,
        other => SinkError::Storage(other.to_string()),
    }
}
