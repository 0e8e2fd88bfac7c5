//! Write operations run by the writer thread inside its transaction: storing events (dedup,
//! routing to a call, cross-source merge), notes, dispositions, rejected requests, retention.
//! The routing and merge rule is documented on the `history` module.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{params, Connection, OptionalExtension};

use super::error::HistoryError;
use super::fold::{self, FoldEvent};
use super::now_ms;
use super::store;
use super::types::{Note, PurgeReport};
use crate::model::{CallEvent, Source};
use crate::sink::{Accepted, RawRecord, RejectedRequest};

/// How far from a call's span an event may lie and still join it by a shared id.
const ID_MATCH_HORIZON_MS: i64 = 24 * 3600 * 1000;

/// Limits on what one note may hold.
const MAX_NOTE_CHARS: usize = 10_000;
const MAX_DISPOSITION_CHARS: usize = 200;

/// What the writer passes to every operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteCtx {
    pub merge_window_ms: i64,
}

fn validate(ev: &CallEvent) -> Result<(), HistoryError> {
    if ev.call_id.trim().is_empty() {
        return Err(HistoryError::invalid(format!(
            "{} event without a call id",
            ev.source.as_str()
        )));
    }
    if ev.dedup_key.is_empty() {
        return Err(HistoryError::invalid(format!(
            "{} event for call {} without a dedup key",
            ev.source.as_str(),
            ev.call_id
        )));
    }
    Ok(())
}

/// Store events (and the raw record behind them, once, if any event is new). Duplicates by
/// `(source, dedup_key)` are counted and have no effect.
pub(crate) fn store_events(
    conn: &Connection,
    ctx: &WriteCtx,
    raw: Option<&RawRecord>,
    events: &[CallEvent],
) -> Result<Accepted, HistoryError> {
    events.iter().try_for_each(validate)?;
    let received_ms = now_ms();
    let mut accepted = Accepted::default();
    let mut raw_id: Option<i64> = None;
    let mut dirty = BTreeSet::new();
    // Calls created by this operation, with their events (no need to read them back).
    let mut fresh: Fresh = HashMap::new();
    // Ids already routed by this operation.
    let mut routed: HashMap<(Source, &str), Route> = HashMap::new();
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO event (call_id, source, source_call_id, control_id, at_ms, kind, payload, dedup_key,
            raw_id, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for ev in events {
        let route = match routed.get_mut(&(ev.source, ev.call_id.as_str())) {
            Some(r) => {
                r.note(conn, ev)?;
                *r
            }
            None => {
                let r = route(conn, ev)?;
                routed.insert((ev.source, ev.call_id.as_str()), r);
                r
            }
        };
        let call_id = route.call_id;
        if route.new {
            fresh.entry(call_id).or_default();
        }
        if let (None, Some(raw)) = (raw_id, raw) {
            conn.prepare_cached(
                "INSERT INTO raw_record (source, received_ms, what, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                raw.source.as_str(),
                raw.received_ms,
                raw.what,
                raw.body
            ])?;
            raw_id = Some(conn.last_insert_rowid());
        }
        let (kind, payload) = store::encode_kind(&ev.kind)?;
        let inserted = insert.execute(params![
            call_id,
            ev.source.as_str(),
            ev.call_id,
            ev.control_id,
            ev.at_ms,
            kind,
            payload,
            ev.dedup_key,
            raw_id,
            received_ms
        ])?;
        if inserted == 0 {
            // Same (source, dedup_key) already stored: a duplicate, no effect.
            accepted.duplicates += 1;
            continue;
        }
        if let Some(evs) = fresh.get_mut(&call_id) {
            evs.push(FoldEvent {
                source: ev.source,
                at_ms: ev.at_ms,
                dedup_key: ev.dedup_key.clone(),
                kind: ev.kind.clone(),
            });
        }
        dirty.insert(call_id);
        accepted.stored += 1;
    }
    if let (Some(id), 0) = (raw_id, accepted.stored) {
        // Nothing new came with this request: keep no raw record for it.
        conn.prepare_cached("DELETE FROM raw_record WHERE id = ?1")?
            .execute([id])?;
    }
    // A call created for an event that turned out to be a duplicate (a platform reusing a
    // dedup key under another call id) is removed again.
    let empty: Vec<i64> = fresh
        .iter()
        .filter(|(_, evs)| evs.is_empty())
        .map(|(id, _)| *id)
        .collect();
    for id in empty {
        fresh.remove(&id);
        conn.prepare_cached("DELETE FROM call WHERE id = ?1")?
            .execute([id])?;
    }
    rebuild(conn, ctx, dirty, &mut fresh)?;
    Ok(accepted)
}

/// Where an event's `(source, call_id)` leads, as known to this operation.
#[derive(Debug, Clone, Copy)]
struct Route {
    call_id: i64,
    /// The call was created by this operation.
    new: bool,
    first_ms: i64,
    has_control: bool,
}

impl Route {
    /// Keep `call_source` up to date for another event of an already routed id: the earliest
    /// event time and the control id once known.
    fn note(&mut self, conn: &Connection, ev: &CallEvent) -> Result<(), HistoryError> {
        if (!self.has_control && ev.control_id.is_some()) || ev.at_ms < self.first_ms {
            conn.prepare_cached(
                "UPDATE call_source SET control_id = coalesce(control_id, ?3), first_ms = min(first_ms, ?4)
                 WHERE source = ?1 AND source_call_id = ?2",
            )?
            .execute(params![ev.source.as_str(), ev.call_id, ev.control_id, ev.at_ms])?;
            self.first_ms = self.first_ms.min(ev.at_ms);
            self.has_control |= ev.control_id.is_some();
        }
        Ok(())
    }
}

/// Calls created by the current operation, with their events.
type Fresh = HashMap<i64, Vec<FoldEvent>>;

/// Find (or create) the call an event belongs to (see the module docs for the rule).
fn route(conn: &Connection, ev: &CallEvent) -> Result<Route, HistoryError> {
    let source = ev.source.as_str();
    let control = ev.control_id.as_deref().unwrap_or(ev.call_id.as_str());
    // Every call that any source recorded under one of this event's ids.
    let mut stmt = conn.prepare_cached(
        "SELECT cs.call_id, cs.source, cs.source_call_id, cs.control_id, cs.first_ms, c.started_ms,
                c.last_event_ms
         FROM call_source cs JOIN call c ON c.id = cs.call_id
         WHERE cs.source_call_id IN (?1, ?2) OR cs.control_id IN (?1, ?2)",
    )?;
    let mut rows = stmt.query(params![ev.call_id, control])?;
    let mut by_id: Option<(i64, i64)> = None;
    while let Some(r) = rows.next()? {
        let call_id: i64 = r.get(0)?;
        let row_source: String = r.get(1)?;
        let row_call_id: String = r.get(2)?;
        if row_source == source && row_call_id == ev.call_id {
            let has_control = r.get::<_, Option<String>>(3)?.is_some();
            let mut route = Route {
                call_id,
                new: false,
                first_ms: r.get(4)?,
                has_control,
            };
            drop(rows);
            route.note(conn, ev)?;
            return Ok(route);
        }
        let (started, last): (i64, i64) = (r.get(5)?, r.get(6)?);
        let in_span =
            ev.at_ms >= started - ID_MATCH_HORIZON_MS && ev.at_ms <= last + ID_MATCH_HORIZON_MS;
        if row_source != source && in_span {
            let distance = (started - ev.at_ms).abs();
            if by_id.is_none_or(|(d, id)| (distance, call_id) < (d, id)) {
                by_id = Some((distance, call_id));
            }
        }
    }
    drop(rows);
    let (call_id, new) = match by_id {
        Some((_, id)) => (id, false),
        None => {
            conn.prepare_cached("INSERT INTO call (started_ms, last_event_ms) VALUES (?1, ?1)")?
                .execute([ev.at_ms])?;
            (conn.last_insert_rowid(), true)
        }
    };
    conn.prepare_cached(
        "INSERT INTO call_source (source, source_call_id, call_id, control_id, first_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![source, ev.call_id, call_id, ev.control_id, ev.at_ms])?;
    Ok(Route {
        call_id,
        new,
        first_ms: ev.at_ms,
        has_control: ev.control_id.is_some(),
    })
}

/// Rebuild the derived rows of `dirty` calls from their events, merging calls across sources
/// (see the module docs) and rebuilding the survivors.
pub(crate) fn rebuild(
    conn: &Connection,
    ctx: &WriteCtx,
    dirty: BTreeSet<i64>,
    fresh: &mut Fresh,
) -> Result<(), HistoryError> {
    let mut queue: Vec<i64> = dirty.into_iter().rev().collect();
    while let Some(call_id) = queue.pop() {
        let (events, is_fresh) = match fresh.remove(&call_id) {
            Some(events) => (events, true),
            None => (store::load_events(conn, call_id)?, false),
        };
        let Some(state) = fold::fold(events, ctx.merge_window_ms) else {
            // Merged away earlier in this loop (its events moved), or left without events.
            continue;
        };
        store::persist(conn, call_id, &state, is_fresh)?;
        if let Some(other) = merge_candidate(conn, ctx, call_id, &state)? {
            let (keep, gone) = (call_id.min(other), call_id.max(other));
            merge_calls(conn, keep, gone)?;
            fresh.remove(&keep);
            queue.retain(|id| *id != gone);
            queue.push(keep);
            continue;
        }
    }
    Ok(())
}

fn merge_candidate(
    conn: &Connection,
    ctx: &WriteCtx,
    call_id: i64,
    st: &fold::CallState,
) -> Result<Option<i64>, HistoryError> {
    let (Some(direction), Some(key)) = (st.direction, st.remote_key()) else {
        return Ok(None);
    };
    let found = conn
        .prepare_cached(
            "SELECT id FROM call
             WHERE remote_key = ?1 AND started_ms BETWEEN ?2 - ?3 AND ?2 + ?3 AND id <> ?4
               AND direction = ?5 AND (sources & ?6) = 0
             ORDER BY abs(started_ms - ?2), id LIMIT 1",
        )?
        .query_row(
            params![
                key,
                st.started_ms,
                ctx.merge_window_ms,
                call_id,
                direction.as_str(),
                st.sources
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(found)
}

/// Move everything of call `gone` to call `keep` and delete `gone` (its derived rows go with it;
/// the caller rebuilds `keep`).
fn merge_calls(conn: &Connection, keep: i64, gone: i64) -> Result<(), HistoryError> {
    tracing::debug!(
        keep,
        gone,
        "history: merging call records reported by different sources"
    );
    for sql in [
        "UPDATE call_source SET call_id = ?1 WHERE call_id = ?2",
        "UPDATE event SET call_id = ?1 WHERE call_id = ?2",
        "UPDATE note SET call_id = ?1 WHERE call_id = ?2",
        "UPDATE call SET (disposition, disposition_ms) =
            (SELECT g.disposition, g.disposition_ms FROM call g WHERE g.id = ?2)
         WHERE id = ?1 AND disposition IS NULL",
        "UPDATE call_merged SET into_id = ?1 WHERE into_id = ?2",
    ] {
        conn.prepare_cached(sql)?.execute(params![keep, gone])?;
    }
    conn.prepare_cached("DELETE FROM call_fts WHERE rowid = ?1")?
        .execute([gone])?;
    conn.prepare_cached("DELETE FROM call WHERE id = ?1")?
        .execute([gone])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO call_merged (gone_id, into_id, merged_ms) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![gone, keep, now_ms()])?;
    Ok(())
}

/// The current id of a call (following merges). `NotFound` when there is no such call.
pub(crate) fn resolve_call(conn: &Connection, call_id: i64) -> Result<i64, HistoryError> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM call WHERE id = ?1")?
        .exists([call_id])?;
    if exists {
        return Ok(call_id);
    }
    let into: Option<i64> = conn
        .prepare_cached("SELECT into_id FROM call_merged WHERE gone_id = ?1")?
        .query_row([call_id], |r| r.get(0))
        .optional()?;
    match into {
        Some(id)
            if conn
                .prepare_cached("SELECT 1 FROM call WHERE id = ?1")?
                .exists([id])? =>
        {
            Ok(id)
        }
        _ => Err(HistoryError::NotFound {
            what: "call",
            id: call_id,
        }),
    }
}

fn refresh_one(conn: &Connection, ctx: &WriteCtx, call_id: i64) -> Result<(), HistoryError> {
    rebuild(conn, ctx, BTreeSet::from([call_id]), &mut HashMap::new())
}

fn clean_text(text: &str, max: usize, what: &str) -> Result<String, HistoryError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(HistoryError::invalid(format!("the {what} is empty")));
    }
    if t.chars().count() > max {
        return Err(HistoryError::invalid(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    Ok(t.to_string())
}

pub(crate) fn read_note(conn: &Connection, note_id: i64) -> Result<Note, HistoryError> {
    conn.prepare_cached(
        "SELECT id, call_id, created_ms, updated_ms, author, body FROM note WHERE id = ?1",
    )?
    .query_row([note_id], |r| {
        Ok(Note {
            id: r.get(0)?,
            call_id: r.get(1)?,
            created_ms: r.get(2)?,
            updated_ms: r.get(3)?,
            author: r.get(4)?,
            body: r.get(5)?,
        })
    })
    .optional()?
    .ok_or(HistoryError::NotFound {
        what: "note",
        id: note_id,
    })
}

pub(crate) fn add_note(
    conn: &Connection,
    ctx: &WriteCtx,
    call_id: i64,
    author: Option<&str>,
    body: &str,
) -> Result<Note, HistoryError> {
    let body = clean_text(body, MAX_NOTE_CHARS, "note")?;
    let call_id = resolve_call(conn, call_id)?;
    let now = now_ms();
    let author = author.map(str::trim).filter(|a| !a.is_empty());
    conn.prepare_cached(
        "INSERT INTO note (call_id, created_ms, updated_ms, author, body) VALUES (?1, ?2, ?2, ?3, ?4)",
    )?
    .execute(params![call_id, now, author, body])?;
    let id = conn.last_insert_rowid();
    refresh_one(conn, ctx, call_id)?;
    read_note(conn, id)
}

pub(crate) fn update_note(
    conn: &Connection,
    ctx: &WriteCtx,
    note_id: i64,
    body: &str,
) -> Result<Note, HistoryError> {
    let body = clean_text(body, MAX_NOTE_CHARS, "note")?;
    let note = read_note(conn, note_id)?;
    conn.prepare_cached("UPDATE note SET body = ?2, updated_ms = ?3 WHERE id = ?1")?
        .execute(params![note_id, body, now_ms().max(note.updated_ms)])?;
    refresh_one(conn, ctx, note.call_id)?;
    read_note(conn, note_id)
}

pub(crate) fn set_disposition(
    conn: &Connection,
    ctx: &WriteCtx,
    call_id: i64,
    disposition: Option<&str>,
) -> Result<(), HistoryError> {
    let disposition = match disposition.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(clean_text(d, MAX_DISPOSITION_CHARS, "disposition")?),
        None => None,
    };
    let call_id = resolve_call(conn, call_id)?;
    conn.prepare_cached("UPDATE call SET disposition = ?2, disposition_ms = ?3 WHERE id = ?1")?
        .execute(params![
            call_id,
            disposition,
            disposition.as_ref().map(|_| now_ms())
        ])?;
    refresh_one(conn, ctx, call_id)
}

pub(crate) fn store_rejected(conn: &Connection, r: &RejectedRequest) -> Result<i64, HistoryError> {
    conn.prepare_cached(
        "INSERT INTO rejected_request (received_ms, remote, method, path, status, reason, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.received_ms,
        r.remote,
        r.method,
        r.path,
        r.status,
        r.reason,
        r.body
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Delete up to `chunk` calls started before `cutoff_ms` (with everything attached to them).
/// Returns how many calls were deleted; 0 means done, then raw records and rejected requests
/// older than the cutoff are deleted too.
pub(crate) fn purge_chunk(
    conn: &Connection,
    cutoff_ms: i64,
    chunk: usize,
    report: &mut PurgeReport,
) -> Result<usize, HistoryError> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM call WHERE started_ms < ?1 ORDER BY started_ms LIMIT ?2")?
        .query_map(params![cutoff_ms, chunk as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        conn.prepare_cached("DELETE FROM call_fts WHERE rowid = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM call WHERE id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM call_merged WHERE into_id = ?1")?
            .execute([id])?;
    }
    report.calls += ids.len() as u64;
    if ids.is_empty() {
        report.raw_records += conn
            .prepare_cached("DELETE FROM raw_record WHERE received_ms < ?1")?
            .execute([cutoff_ms])? as u64;
        report.rejected_requests += conn
            .prepare_cached("DELETE FROM rejected_request WHERE received_ms < ?1")?
            .execute([cutoff_ms])? as u64;
    }
    Ok(ids.len())
}
