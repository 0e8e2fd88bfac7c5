//! What the history store returns to the UI (serde + generated TypeScript types).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{CallEvent, Direction, Outcome, Party, ResultCode, Source, UnparkKind};
use crate::sink::{RawRecord, RejectedRequest};

/// One row of the call list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallSummary {
    /// Local call id (stable; a merged call's old id resolves in `call_details`).
    #[ts(type = "number")]
    pub id: i64,
    /// `None` until a source reported how the call was created.
    pub direction: Option<Direction>,
    /// The external side (caller of an inbound call, callee of an outbound one).
    pub remote: Option<Party>,
    /// Our side as the call was created (called number / extension, or the dialling extension).
    pub local: Option<Party>,
    /// Public number (DID) the call came in on.
    pub did: Option<String>,
    /// Queue / IVR / group path the call came through.
    pub via: Option<String>,
    #[ts(type = "number")]
    pub started_ms: i64,
    #[ts(type = "number | null")]
    pub answered_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub ended_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub talk_secs: Option<i64>,
    /// Who answered first.
    pub answered_by: Option<Party>,
    /// Effective outcome: `answered` if anybody answered, else the reported result; `None`
    /// while the call is in progress.
    pub outcome: Option<Outcome>,
    /// The result code as reported, with its meaning.
    pub result: Option<ResultCode>,
    /// Inbound, ended, and nobody answered.
    pub missed: bool,
    /// Sources that reported this call.
    pub sources: Vec<Source>,
    pub disposition: Option<String>,
    pub note_count: u32,
    pub has_recording: bool,
}

/// One attempt to reach a party, as one source reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Leg {
    pub source: Source,
    /// The platform leg id, or `@<number>` when the platform gave none.
    pub leg_id: String,
    pub party: Party,
    #[ts(type = "number | null")]
    pub ringing_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub answered_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub ended_ms: Option<i64>,
    /// Seconds from ringing to answer (or to the end of an unanswered attempt).
    #[ts(type = "number | null")]
    pub ring_secs: Option<i64>,
    /// Seconds from answer to the end of this leg.
    #[ts(type = "number | null")]
    pub talk_secs: Option<i64>,
    pub result: Option<ResultCode>,
    pub outcome: Option<Outcome>,
}

/// One stay in a valet-parking slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ParkEpisode {
    pub source: Source,
    pub slot: u8,
    pub parked_by: Option<String>,
    #[ts(type = "number | null")]
    pub parked_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub unparked_ms: Option<i64>,
    /// How it left the slot; `None` while still parked (or if never reported).
    pub how: Option<UnparkKind>,
}

/// One IVR step as reported (Era IVR milestone, Call Interactive request/reply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct IvrStep {
    #[ts(type = "number")]
    pub at_ms: i64,
    pub step: String,
    pub detail: serde_json::Value,
}

/// An IVR session of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct IvrSession {
    pub source: Source,
    /// The platform's IVR session id (`detail.ivr_id` / `ivrid`), when reported.
    pub ivr_id: Option<String>,
    #[ts(type = "number")]
    pub started_ms: i64,
    #[ts(type = "number")]
    pub ended_ms: i64,
    /// Step names in order (consecutive repeats collapsed).
    pub path: Vec<String>,
    /// Components run (`detail.component` / `componentname`), in order.
    pub components: Vec<String>,
    /// Variables (`detail.variables`), later values win.
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// Digits the caller pressed, in order.
    pub dtmf: String,
    /// Who controlled the session (`detail.controlled_by` / `controller`), last reported.
    pub controlled_by: Option<String>,
    /// Every step with its full detail (Call Interactive requests and replies included).
    pub steps: Vec<IvrStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Recording {
    pub source: Source,
    #[ts(type = "number")]
    pub at_ms: i64,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Transfer {
    pub source: Source,
    #[ts(type = "number")]
    pub at_ms: i64,
    pub to: Party,
    pub attended: bool,
}

/// An agent's note on a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Note {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub call_id: i64,
    #[ts(type = "number")]
    pub created_ms: i64,
    #[ts(type = "number")]
    pub updated_ms: i64,
    pub author: Option<String>,
    pub body: String,
}

/// The id a source uses for the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SourceCallId {
    pub source: Source,
    pub call_id: String,
    pub control_id: Option<String>,
}

/// An accepted event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StoredEvent {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub received_ms: i64,
    /// The raw request/frame it came in (see [`CallDetails::raw`]); `None` for imports or
    /// after retention removed it.
    #[ts(type = "number | null")]
    pub raw_id: Option<i64>,
    pub event: CallEvent,
}

/// A raw request or frame behind some of the call's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StoredRaw {
    #[ts(type = "number")]
    pub id: i64,
    pub record: RawRecord,
}

/// Everything known about one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallDetails {
    pub call: CallSummary,
    pub source_ids: Vec<SourceCallId>,
    pub legs: Vec<Leg>,
    #[ts(type = "number")]
    pub hold_count: i64,
    #[ts(type = "number")]
    pub hold_secs: i64,
    pub transfers: Vec<Transfer>,
    pub parks: Vec<ParkEpisode>,
    pub ivr_sessions: Vec<IvrSession>,
    pub recordings: Vec<Recording>,
    pub notes: Vec<Note>,
    /// The events behind the record, in event-time order.
    pub events: Vec<StoredEvent>,
    pub raw: Vec<StoredRaw>,
}

/// Which calls to list, search or export. Every field is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct CallFilter {
    /// Calls started at or after this time (ms).
    #[ts(type = "number | null")]
    pub from_ms: Option<i64>,
    /// Calls started before this time (ms).
    #[ts(type = "number | null")]
    pub to_ms: Option<i64>,
    pub direction: Option<Direction>,
    /// Any of these effective outcomes (empty = any). `answered`, `missed`, `busy`, ...
    pub outcomes: Vec<Outcome>,
    /// Only missed calls (inbound, ended, nobody answered — whatever the result code).
    pub missed_only: bool,
    /// Calls that involved this extension (number or platform extension id), exact match.
    pub extension: Option<String>,
    /// Calls reported by this source.
    pub source: Option<Source>,
    /// Calls with this remote number (compared by the last 10 digits).
    pub number: Option<String>,
    /// Full-text search over numbers, names, notes and IVR digits (3+ characters per word).
    /// Search results are ordered by record id, newest record first (for live calls this is
    /// arrival order); other lists are ordered by start time.
    pub text: Option<String>,
}

/// Position after the last call of a page (keyset pagination: newest first). Search pages
/// continue by `id` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PageCursor {
    #[ts(type = "number")]
    pub started_ms: i64,
    #[ts(type = "number")]
    pub id: i64,
}

/// Which page to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct PageRequest {
    /// 1..=500.
    pub limit: u32,
    /// `next` of the previous page; `None` for the first page.
    pub after: Option<PageCursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: 50,
            after: None,
        }
    }
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        PageRequest { limit, after: None }
    }
}

/// A page of calls, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallPage {
    pub calls: Vec<CallSummary>,
    /// Cursor for the next page; `None` on the last page.
    pub next: Option<PageCursor>,
}

/// A stored rejected request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RejectedEntry {
    #[ts(type = "number")]
    pub id: i64,
    pub request: RejectedRequest,
}

/// What a retention purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PurgeReport {
    #[ts(type = "number")]
    pub calls: u64,
    #[ts(type = "number")]
    pub raw_records: u64,
    #[ts(type = "number")]
    pub rejected_requests: u64,
}

/// State of the startup integrity check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum IntegrityStatus {
    /// The check runs in the background (large file).
    Checking,
    Ok,
    /// The background check found damage; a copy was saved and writes are refused.
    Damaged {
        copy: Option<String>,
        detail: String,
    },
    /// The background check could not run (e.g. the file could not be opened a second time).
    Unchecked {
        detail: String,
    },
}

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl std::str::FromStr for ExportFormat {
    type Err = super::HistoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "json" => Ok(ExportFormat::Json),
            other => Err(super::HistoryError::invalid(format!(
                "unknown export format {other:?} (use csv or json)"
            ))),
        }
    }
}
