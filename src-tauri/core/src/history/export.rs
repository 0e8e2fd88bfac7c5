//! Export of calls to CSV or JSON, with the same filters as the list.
//!
//! CSV: one row per call with the columns of [`CSV_HEADER`]; times are RFC 3339 UTC, notes are
//! joined with ` | `. JSON: one array of [`ExportedCall`] objects (the call list row plus its
//! notes). Both stream page by page, so memory stays flat however many calls match.

use std::io::Write;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::HistoryError;
use super::query::{list_calls, notes_of};
use super::types::{CallFilter, CallSummary, ExportFormat, PageRequest};

/// Column names of the CSV export, in order.
pub const CSV_HEADER: [&str; 21] = [
    "id",
    "started_at",
    "answered_at",
    "ended_at",
    "direction",
    "remote_number",
    "remote_name",
    "local_number",
    "did",
    "via",
    "answered_by",
    "answered_by_name",
    "outcome",
    "missed",
    "result_code",
    "result_meaning",
    "talk_secs",
    "sources",
    "disposition",
    "has_recording",
    "notes",
];

/// One call in the JSON export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ExportedCall {
    #[serde(flatten)]
    pub call: CallSummary,
    pub notes: Vec<String>,
}

const EXPORT_PAGE: u32 = 500;

fn rfc3339(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn io_err(e: impl std::fmt::Display) -> HistoryError {
    HistoryError::Export(e.to_string())
}

fn csv_row(c: &CallSummary, notes: &[String]) -> Vec<String> {
    let opt = |s: Option<&str>| s.unwrap_or_default().to_string();
    vec![
        c.id.to_string(),
        rfc3339(Some(c.started_ms)),
        rfc3339(c.answered_ms),
        rfc3339(c.ended_ms),
        opt(c.direction.map(|d| d.as_str())),
        opt(c.remote.as_ref().map(|p| p.number.as_str())),
        opt(c.remote.as_ref().and_then(|p| p.name.as_deref())),
        opt(c.local.as_ref().map(|p| p.number.as_str())),
        opt(c.did.as_deref()),
        opt(c.via.as_deref()),
        opt(c.answered_by.as_ref().map(|p| p.number.as_str())),
        opt(c.answered_by.as_ref().and_then(|p| p.name.as_deref())),
        opt(c.outcome.map(|o| o.as_str())),
        c.missed.to_string(),
        opt(c.result.as_ref().map(|r| r.code.as_str())),
        opt(c.result.as_ref().map(|r| r.meaning.as_str())),
        c.talk_secs.map(|t| t.to_string()).unwrap_or_default(),
        c.sources
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        opt(c.disposition.as_deref()),
        c.has_recording.to_string(),
        notes.join(" | "),
    ]
}

/// Visit every call matching `filter`, newest first, with its notes.
fn for_each_call(
    conn: &Connection,
    filter: &CallFilter,
    mut f: impl FnMut(CallSummary, Vec<String>) -> Result<(), HistoryError>,
) -> Result<u64, HistoryError> {
    let mut page = PageRequest::first(EXPORT_PAGE);
    let mut count = 0;
    loop {
        let got = list_calls(conn, filter, &page)?;
        for call in got.calls {
            let notes = if call.note_count > 0 {
                notes_of(conn, call.id)?
                    .into_iter()
                    .map(|n| n.body)
                    .collect()
            } else {
                Vec::new()
            };
            f(call, notes)?;
            count += 1;
        }
        match got.next {
            Some(next) => page.after = Some(next),
            None => return Ok(count),
        }
    }
}

/// Write the calls matching `filter` to `out`. Returns how many calls were written.
pub(crate) fn export(
    conn: &Connection,
    filter: &CallFilter,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, HistoryError> {
    match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_HEADER).map_err(io_err)?;
            let n = for_each_call(conn, filter, |call, notes| {
                w.write_record(csv_row(&call, &notes)).map_err(io_err)
            })?;
            w.flush().map_err(io_err)?;
            Ok(n)
        }
        ExportFormat::Json => {
            out.write_all(b"[").map_err(io_err)?;
            let mut first = true;
            let n = for_each_call(conn, filter, |call, notes| {
                if !first {
                    out.write_all(b",\n").map_err(io_err)?;
                }
                first = false;
                serde_json::to_writer(&mut *out, &ExportedCall { call, notes }).map_err(io_err)
            })?;
            out.write_all(b"]\n").map_err(io_err)?;
            out.flush().map_err(io_err)?;
            Ok(n)
        }
    }
}
