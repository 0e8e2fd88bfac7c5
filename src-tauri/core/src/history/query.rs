//! Read queries: call list with filters and search, call details, rejected requests.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::error::HistoryError;
use super::ingest::resolve_call;
use super::names::{self, number_key, source_bit};
use super::types::{
    CallDetails, CallFilter, CallPage, CallSummary, IvrSession, Leg, Note, PageCursor, PageRequest,
    ParkEpisode, Recording, RejectedEntry, SourceCallId, StoredEvent, StoredRaw, Transfer,
};
use crate::model::{CallEvent, CallEventKind, Outcome, Party, ResultCode};
use crate::sink::{RawRecord, RejectedRequest};

/// Largest page the list returns.
pub const MAX_PAGE: u32 = 500;
/// Shortest search word (the trigram index cannot match less).
pub const MIN_SEARCH_CHARS: usize = 3;

const SUMMARY_COLS: &str =
    "c.id, c.direction, c.remote_number, c.remote_name, c.local_number, c.local_name,
    c.did, c.via, c.started_ms, c.answered_ms, c.ended_ms, c.talk_secs, c.answered_by_number,
    c.answered_by_name, c.answered_by_ext_id, c.outcome, c.result_code, c.result_meaning,
    c.result_outcome, c.missed, c.sources, c.disposition,
    (SELECT count(*) FROM note n WHERE n.call_id = c.id),
    EXISTS (SELECT 1 FROM recording r WHERE r.call_id = c.id)";

fn party(number: Option<String>, name: Option<String>, ext: Option<String>) -> Option<Party> {
    number.map(|number| Party {
        number,
        name,
        extension_id: ext,
    })
}

fn result_code(
    code: Option<String>,
    meaning: Option<String>,
    outcome: Option<String>,
) -> Option<ResultCode> {
    code.map(|code| ResultCode {
        code,
        outcome: outcome
            .as_deref()
            .and_then(Outcome::parse)
            .unwrap_or(Outcome::Failed),
        meaning: meaning.unwrap_or_default(),
    })
}

fn summary(r: &Row) -> rusqlite::Result<CallSummary> {
    Ok(CallSummary {
        id: r.get(0)?,
        direction: r
            .get::<_, Option<String>>(1)?
            .as_deref()
            .and_then(names::parse_direction),
        remote: party(r.get(2)?, r.get(3)?, None),
        local: party(r.get(4)?, r.get(5)?, None),
        did: r.get(6)?,
        via: r.get(7)?,
        started_ms: r.get(8)?,
        answered_ms: r.get(9)?,
        ended_ms: r.get(10)?,
        talk_secs: r.get(11)?,
        answered_by: party(r.get(12)?, r.get(13)?, r.get(14)?),
        outcome: r
            .get::<_, Option<String>>(15)?
            .as_deref()
            .and_then(Outcome::parse),
        result: result_code(r.get(16)?, r.get(17)?, r.get(18)?),
        missed: r.get(19)?,
        sources: names::sources_from_bits(r.get(20)?),
        disposition: r.get(21)?,
        note_count: r.get::<_, i64>(22)?.clamp(0, i64::from(u32::MAX)) as u32,
        has_recording: r.get(23)?,
    })
}

/// Turn what the user typed into an FTS5 query: every word must occur (as a substring).
/// Input made only of digits and phone punctuation (`+7 (958) 241-21-28`) is one number,
/// searched by its last 10 digits (as [`number_key`] compares numbers).
pub fn search_expression(text: &str) -> Result<String, HistoryError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(HistoryError::invalid("the search text is empty"));
    }
    let phone_like = t
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let words: Vec<String> = if phone_like {
        vec![number_key(t).unwrap_or_default()]
    } else {
        t.split_whitespace().map(str::to_string).collect()
    };
    let mut parts = Vec::with_capacity(words.len());
    for w in words {
        if w.chars().count() < MIN_SEARCH_CHARS {
            return Err(HistoryError::invalid(format!(
                "search words need at least {MIN_SEARCH_CHARS} characters ({w:?} is too short)"
            )));
        }
        parts.push(format!("\"{}\"", w.replace('"', "\"\"")));
    }
    Ok(parts.join(" "))
}

/// The FROM/WHERE part shared by the list and the export, with its parameters.
fn filter_sql(filter: &CallFilter, params: &mut Vec<Value>) -> Result<String, HistoryError> {
    let mut sql = match &filter.text {
        Some(text) => {
            params.push(Value::Text(search_expression(text)?));
            String::from(
                " FROM call_fts JOIN call c ON c.id = call_fts.rowid WHERE call_fts MATCH ?",
            )
        }
        None => String::from(" FROM call c WHERE 1"),
    };
    if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms) {
        if from > to {
            return Err(HistoryError::invalid(
                "the date range ends before it starts",
            ));
        }
    }
    if let Some(from) = filter.from_ms {
        sql.push_str(" AND c.started_ms >= ?");
        params.push(Value::Integer(from));
    }
    if let Some(to) = filter.to_ms {
        sql.push_str(" AND c.started_ms < ?");
        params.push(Value::Integer(to));
    }
    if let Some(d) = filter.direction {
        sql.push_str(" AND c.direction = ?");
        params.push(Value::Text(d.as_str().into()));
    }
    if !filter.outcomes.is_empty() {
        let marks = vec!["?"; filter.outcomes.len()].join(", ");
        sql.push_str(&format!(" AND c.outcome IN ({marks})"));
        params.extend(
            filter
                .outcomes
                .iter()
                .map(|o| Value::Text(o.as_str().into())),
        );
    }
    if filter.missed_only {
        sql.push_str(" AND c.missed = 1");
    }
    if let Some(ext) = &filter.extension {
        let ext = ext.trim();
        if ext.is_empty() {
            return Err(HistoryError::invalid("the extension filter is empty"));
        }
        sql.push_str(" AND c.id IN (SELECT p.call_id FROM call_party p WHERE p.party = ?)");
        params.push(Value::Text(ext.into()));
    }
    if let Some(s) = filter.source {
        sql.push_str(" AND (c.sources & ?) != 0");
        params.push(Value::Integer(source_bit(s)));
    }
    if let Some(n) = &filter.number {
        let key = number_key(n)
            .ok_or_else(|| HistoryError::invalid(format!("{n:?} is not a phone number")))?;
        sql.push_str(" AND c.remote_key = ?");
        params.push(Value::Text(key));
    }
    Ok(sql)
}

/// Calls matching `filter`, one page: newest first by start time; with a search text, newest
/// record first (record ids grow as calls arrive).
pub(crate) fn list_calls(
    conn: &Connection,
    filter: &CallFilter,
    page: &PageRequest,
) -> Result<CallPage, HistoryError> {
    if page.limit == 0 || page.limit > MAX_PAGE {
        return Err(HistoryError::invalid(format!(
            "page size must be 1..={MAX_PAGE}"
        )));
    }
    let mut params = Vec::new();
    let mut sql = format!("SELECT {SUMMARY_COLS}{}", filter_sql(filter, &mut params)?);
    if filter.text.is_some() {
        // Search results come in record order (newest record first): the trigram index walks
        // its matches backwards and stops after one page, however common the fragment.
        if let Some(after) = page.after {
            sql.push_str(" AND call_fts.rowid < ?");
            params.push(Value::Integer(after.id));
        }
        sql.push_str(" ORDER BY call_fts.rowid DESC LIMIT ?");
    } else {
        if let Some(after) = page.after {
            sql.push_str(" AND (c.started_ms < ? OR (c.started_ms = ? AND c.id < ?))");
            params.extend([
                Value::Integer(after.started_ms),
                Value::Integer(after.started_ms),
                Value::Integer(after.id),
            ]);
        }
        sql.push_str(" ORDER BY c.started_ms DESC, c.id DESC LIMIT ?");
    }
    params.push(Value::Integer(i64::from(page.limit) + 1));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut calls: Vec<CallSummary> = stmt
        .query_map(params_from_iter(params), summary)?
        .collect::<Result<_, _>>()?;
    let next = if calls.len() > page.limit as usize {
        calls.truncate(page.limit as usize);
        calls.last().map(|c| PageCursor {
            started_ms: c.started_ms,
            id: c.id,
        })
    } else {
        None
    };
    Ok(CallPage { calls, next })
}

/// How many calls match `filter`.
pub(crate) fn count_calls(conn: &Connection, filter: &CallFilter) -> Result<u64, HistoryError> {
    let mut params = Vec::new();
    let sql = format!("SELECT count(*){}", filter_sql(filter, &mut params)?);
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(params), |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

fn source_col(r: &Row, i: usize) -> rusqlite::Result<crate::model::Source> {
    let s: String = r.get(i)?;
    names::parse_source(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown source {s:?}").into(),
        )
    })
}

fn json_col<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Everything about one call (a merged call's old id resolves to the surviving record).
pub(crate) fn call_details(conn: &Connection, call_id: i64) -> Result<CallDetails, HistoryError> {
    let id = resolve_call(conn, call_id)?;
    let call = conn
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLS} FROM call c WHERE c.id = ?1"
        ))?
        .query_row([id], summary)
        .optional()?
        .ok_or(HistoryError::NotFound {
            what: "call",
            id: call_id,
        })?;
    let (hold_count, hold_secs) = conn
        .prepare_cached("SELECT hold_count, hold_secs FROM call WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;

    let source_ids = conn
        .prepare_cached("SELECT source, source_call_id, control_id FROM call_source WHERE call_id = ?1 ORDER BY first_ms, source")?
        .query_map([id], |r| Ok(SourceCallId { source: source_col(r, 0)?, call_id: r.get(1)?, control_id: r.get(2)? }))?
        .collect::<Result<Vec<_>, _>>()?;

    let legs = conn
        .prepare_cached(
            "SELECT source, leg_key, party_number, party_name, party_extension_id, ringing_ms, answered_ms,
                ended_ms, result_code, result_meaning, result_outcome, outcome
             FROM leg WHERE call_id = ?1 ORDER BY seq",
        )?
        .query_map([id], |r| {
            let ringing: Option<i64> = r.get(5)?;
            let answered: Option<i64> = r.get(6)?;
            let ended: Option<i64> = r.get(7)?;
            let outcome: Option<Outcome> = r.get::<_, Option<String>>(11)?.as_deref().and_then(Outcome::parse);
            Ok(Leg {
                source: source_col(r, 0)?,
                leg_id: r.get(1)?,
                party: Party {
                    number: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    name: r.get(3)?,
                    extension_id: r.get(4)?,
                },
                ringing_ms: ringing,
                answered_ms: answered,
                ended_ms: ended,
                ring_secs: ringing.and_then(|s| answered.or(ended).map(|e| (e - s).max(0) / 1000)),
                talk_secs: answered.and_then(|a| ended.map(|e| (e - a).max(0) / 1000)),
                result: result_code(r.get(8)?, r.get(9)?, r.get(10)?),
                outcome,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let transfers = conn
        .prepare_cached(
            "SELECT source, at_ms, to_number, to_name, to_extension_id, attended FROM transfer WHERE call_id = ?1 ORDER BY at_ms, id",
        )?
        .query_map([id], |r| {
            Ok(Transfer {
                source: source_col(r, 0)?,
                at_ms: r.get(1)?,
                to: Party { number: r.get(2)?, name: r.get(3)?, extension_id: r.get(4)? },
                attended: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let parks = conn
        .prepare_cached(
            "SELECT source, slot, parked_by, parked_ms, unparked_ms, how FROM park_episode WHERE call_id = ?1 ORDER BY seq",
        )?
        .query_map([id], |r| {
            Ok(ParkEpisode {
                source: source_col(r, 0)?,
                slot: r.get(1)?,
                parked_by: r.get(2)?,
                parked_ms: r.get(3)?,
                unparked_ms: r.get(4)?,
                how: r.get::<_, Option<String>>(5)?.as_deref().and_then(names::parse_unpark),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let ivr_sessions = conn
        .prepare_cached(
            "SELECT source, ivr_key, started_ms, ended_ms, path, components, variables, dtmf, controlled_by, steps
             FROM ivr_session WHERE call_id = ?1 ORDER BY seq",
        )?
        .query_map([id], |r| {
            Ok(IvrSession {
                source: source_col(r, 0)?,
                ivr_id: r.get(1)?,
                started_ms: r.get(2)?,
                ended_ms: r.get(3)?,
                path: json_col(r, 4)?,
                components: json_col(r, 5)?,
                variables: json_col(r, 6)?,
                dtmf: r.get(7)?,
                controlled_by: r.get(8)?,
                steps: json_col(r, 9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let recordings = conn
        .prepare_cached(
            "SELECT source, at_ms, reference FROM recording WHERE call_id = ?1 ORDER BY at_ms, id",
        )?
        .query_map([id], |r| {
            Ok(Recording {
                source: source_col(r, 0)?,
                at_ms: r.get(1)?,
                reference: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let notes = notes_of(conn, id)?;

    let events = conn
        .prepare_cached(
            "SELECT id, source, source_call_id, control_id, at_ms, payload, dedup_key, raw_id, received_ms
             FROM event WHERE call_id = ?1 ORDER BY at_ms, id",
        )?
        .query_map([id], |r| {
            Ok(StoredEvent {
                id: r.get(0)?,
                event: CallEvent {
                    source: source_col(r, 1)?,
                    call_id: r.get(2)?,
                    control_id: r.get(3)?,
                    at_ms: r.get(4)?,
                    kind: json_col::<CallEventKind>(r, 5)?,
                    dedup_key: r.get(6)?,
                },
                raw_id: r.get(7)?,
                received_ms: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut raw_ids: Vec<i64> = events.iter().filter_map(|e| e.raw_id).collect();
    raw_ids.sort_unstable();
    raw_ids.dedup();
    let mut raw = Vec::with_capacity(raw_ids.len());
    let mut stmt = conn
        .prepare_cached("SELECT source, received_ms, what, body FROM raw_record WHERE id = ?1")?;
    for rid in raw_ids {
        let rec = stmt
            .query_row([rid], |r| {
                Ok(RawRecord {
                    source: source_col(r, 0)?,
                    received_ms: r.get(1)?,
                    what: r.get(2)?,
                    body: r.get(3)?,
                })
            })
            .optional()?;
        if let Some(record) = rec {
            raw.push(StoredRaw { id: rid, record });
        }
    }

    Ok(CallDetails {
        call,
        source_ids,
        legs,
        hold_count,
        hold_secs,
        transfers,
        parks,
        ivr_sessions,
        recordings,
        notes,
        events,
        raw,
    })
}

pub(crate) fn notes_of(conn: &Connection, call_id: i64) -> Result<Vec<Note>, HistoryError> {
    Ok(conn
        .prepare_cached("SELECT id, call_id, created_ms, updated_ms, author, body FROM note WHERE call_id = ?1 ORDER BY id")?
        .query_map([call_id], |r| {
            Ok(Note {
                id: r.get(0)?,
                call_id: r.get(1)?,
                created_ms: r.get(2)?,
                updated_ms: r.get(3)?,
                author: r.get(4)?,
                body: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Rejected requests, newest first; `before_id` continues after the last one of a page.
pub(crate) fn rejected_requests(
    conn: &Connection,
    limit: u32,
    before_id: Option<i64>,
) -> Result<Vec<RejectedEntry>, HistoryError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(HistoryError::invalid(format!(
            "page size must be 1..={MAX_PAGE}"
        )));
    }
    Ok(conn
        .prepare_cached(
            "SELECT id, received_ms, remote, method, path, status, reason, body FROM rejected_request
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![before_id.unwrap_or(i64::MAX), limit], |r| {
            Ok(RejectedEntry {
                id: r.get(0)?,
                request: RejectedRequest {
                    received_ms: r.get(1)?,
                    remote: r.get(2)?,
                    method: r.get(3)?,
                    path: r.get(4)?,
                    status: r.get::<_, i64>(5)?.clamp(0, i64::from(u16::MAX)) as u16,
                    reason: r.get(6)?,
                    body: r.get(7)?,
                },
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_expression_quotes_words_and_joins_numbers() {
        assert_eq!(
            search_expression("+7 (958) 241-21-28").unwrap(),
            "\"9582412128\""
        );
        assert_eq!(
            search_expression("Ivan  notes").unwrap(),
            "\"Ivan\" \"notes\""
        );
        assert_eq!(search_expression("say\"hi").unwrap(), "\"say\"\"hi\"");
        assert!(search_expression("ab").is_err());
        assert!(search_expression("   ").is_err());
        assert!(search_expression("Ivan x").is_err());
    }
}
