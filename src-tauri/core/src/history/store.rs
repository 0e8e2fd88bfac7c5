//! Writing a call's derived rows (call columns, legs, parks, IVR sessions, recordings,
//! transfers, parties, search text) from its folded state.

use std::hash::{Hash, Hasher};

use rusqlite::{params, Connection, OptionalExtension};

use super::error::HistoryError;
use super::fold::{CallState, FoldEvent};
use super::names::{self, kind_name};
use crate::model::{CallEventKind, Party};

/// Load a call's events for folding. Events whose payload no longer parses (written by a newer
/// build, or damaged) are skipped with a warning rather than failing the whole call.
pub(crate) fn load_events(conn: &Connection, call_id: i64) -> Result<Vec<FoldEvent>, HistoryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, source, at_ms, dedup_key, payload FROM event WHERE call_id = ?1",
    )?;
    let rows = stmt.query_map([call_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, source, at_ms, dedup_key, payload) = row?;
        let Some(source) = names::parse_source(&source) else {
            tracing::warn!(
                event = id,
                source,
                "history: event with an unknown source skipped"
            );
            continue;
        };
        match serde_json::from_str::<CallEventKind>(&payload) {
            Ok(kind) => out.push(FoldEvent {
                source,
                at_ms,
                dedup_key,
                kind,
            }),
            Err(e) => tracing::warn!(event = id, error = %e, "history: unreadable event skipped"),
        }
    }
    Ok(out)
}

fn party_cols(p: Option<&Party>) -> (Option<&str>, Option<&str>, Option<&str>) {
    match p {
        Some(p) => (
            Some(p.number.as_str()),
            p.name.as_deref(),
            p.extension_id.as_deref(),
        ),
        None => (None, None, None),
    }
}

/// A hash of a value's debug form: the signature of a derived part, to skip rewriting it when a
/// rebuild did not change it. Only compared with signatures this code wrote (a different Rust
/// version hashing differently just causes one rewrite).
fn signature(v: &impl std::fmt::Debug) -> i64 {
    struct Feed<'a>(&'a mut std::collections::hash_map::DefaultHasher);
    impl std::fmt::Write for Feed<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            s.hash(self.0);
            Ok(())
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // Writing into a hasher cannot fail.
    let _ = std::fmt::Write::write_fmt(&mut Feed(&mut h), format_args!("{v:?}"));
    h.finish() as i64
}

/// Signatures of a call's derived parts, as stored in the `sig_*` columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Signatures {
    legs: Option<i64>,
    parks: Option<i64>,
    ivr: Option<i64>,
    media: Option<i64>,
    parties: Option<i64>,
    search: Option<i64>,
}

impl Signatures {
    fn of(
        st: &CallState,
        parties: &std::collections::BTreeSet<String>,
        search: &[String; 4],
    ) -> Self {
        Signatures {
            search: Some(signature(search)),
            legs: Some(signature(&st.legs)),
            parks: Some(signature(&st.parks)),
            ivr: Some(signature(&st.ivr)),
            media: Some(signature(&(&st.recordings, &st.transfers))),
            parties: Some(signature(parties)),
        }
    }

    fn stored(conn: &Connection, call_id: i64) -> Result<Self, HistoryError> {
        let sigs = conn
            .prepare_cached(
                "SELECT sig_legs, sig_parks, sig_ivr, sig_media, sig_parties, sig_search FROM call
                 WHERE id = ?1",
            )?
            .query_row([call_id], |r| {
                Ok(Signatures {
                    legs: r.get(0)?,
                    parks: r.get(1)?,
                    ivr: r.get(2)?,
                    media: r.get(3)?,
                    parties: r.get(4)?,
                    search: r.get(5)?,
                })
            })
            .optional()?;
        Ok(sigs.unwrap_or_default())
    }
}

/// Write `st` as the derived rows of `call_id` (including its search row), rewriting only the
/// parts whose signature changed. `fresh` means the call has no derived rows yet (created in
/// this transaction and never written).
pub(crate) fn persist(
    conn: &Connection,
    call_id: i64,
    st: &CallState,
    fresh: bool,
) -> Result<(), HistoryError> {
    let (remote_number, remote_name, _) = party_cols(st.remote.as_ref());
    let (local_number, local_name, _) = party_cols(st.local.as_ref());
    let (ab_number, ab_name, ab_ext) = party_cols(st.answered_by.as_ref());
    let parties = st.parties();
    let search = [
        st.search_numbers(),
        st.search_names(),
        if fresh {
            String::new()
        } else {
            notes_text(conn, call_id)?
        },
        st.search_digits(),
    ];
    // A new call's parts are all written now; its signatures are computed when a later event
    // rebuilds it (saves the hashing on imports, where most calls are complete at once).
    let new = if fresh {
        Signatures::default()
    } else {
        Signatures::of(st, &parties, &search)
    };
    let old = if fresh {
        Signatures::default()
    } else {
        Signatures::stored(conn, call_id)?
    };
    conn.prepare_cached(
        "UPDATE call SET direction = ?2, remote_number = ?3, remote_key = ?4, remote_name = ?5,
            local_number = ?6, local_name = ?7, did = ?8, via = ?9, created_ms = ?10, started_ms = ?11,
            last_event_ms = ?12, answered_ms = ?13, ended_ms = ?14, talk_secs = ?15, hold_count = ?16,
            hold_secs = ?17, answered_by_number = ?18, answered_by_name = ?19, answered_by_ext_id = ?20,
            result_code = ?21, result_meaning = ?22, result_outcome = ?23, outcome = ?24, missed = ?25,
            sources = ?26, event_count = ?27, sig_legs = ?28, sig_parks = ?29, sig_ivr = ?30,
            sig_media = ?31, sig_parties = ?32, sig_search = ?33
         WHERE id = ?1",
    )?
    .execute(params![
        call_id,
        st.direction.map(|d| d.as_str()),
        remote_number,
        st.remote_key(),
        remote_name,
        local_number,
        local_name,
        st.did,
        st.via,
        st.created_ms,
        st.started_ms,
        st.last_event_ms,
        st.answered_ms,
        st.ended_ms,
        st.talk_secs,
        st.hold_count,
        st.hold_secs,
        ab_number,
        ab_name,
        ab_ext,
        st.result.as_ref().map(|r| r.code.as_str()),
        st.result.as_ref().map(|r| r.meaning.as_str()),
        st.result.as_ref().map(|r| r.outcome.as_str()),
        st.outcome.map(|o| o.as_str()),
        st.missed,
        st.sources,
        st.event_count,
        new.legs,
        new.parks,
        new.ivr,
        new.media,
        new.parties,
        new.search,
    ])?;
    // Rewrite only the parts whose signature changed (a new call has none written yet).
    let changed = |new: Option<i64>, old: Option<i64>| fresh || new.is_none() || new != old;
    let clear = |table: &str| -> Result<(), HistoryError> {
        if !fresh {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE call_id = ?1"))?
                .execute([call_id])?;
        }
        Ok(())
    };

    if changed(new.legs, old.legs) {
        clear("leg")?;
    }
    if changed(new.legs, old.legs) && !st.legs.is_empty() {
        let mut ins = conn.prepare_cached(
            "INSERT INTO leg (call_id, seq, source, leg_key, party_number, party_name, party_extension_id,
                ringing_ms, answered_ms, ended_ms, result_code, result_meaning, result_outcome, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for (seq, l) in st.legs.iter().enumerate() {
            ins.execute(params![
                call_id,
                seq as i64,
                l.source.as_str(),
                l.key,
                l.party.number,
                l.party.name,
                l.party.extension_id,
                l.ringing_ms,
                l.answered_ms,
                l.ended_ms,
                l.result.as_ref().map(|r| r.code.as_str()),
                l.result.as_ref().map(|r| r.meaning.as_str()),
                l.result.as_ref().map(|r| r.outcome.as_str()),
                l.outcome.map(|o| o.as_str()),
            ])?;
        }
    }
    if changed(new.parks, old.parks) {
        clear("park_episode")?;
    }
    if changed(new.parks, old.parks) && !st.parks.is_empty() {
        let mut ins = conn.prepare_cached(
            "INSERT INTO park_episode (call_id, seq, source, slot, parked_by, parked_ms, unparked_ms, how)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (seq, p) in st.parks.iter().enumerate() {
            ins.execute(params![
                call_id,
                seq as i64,
                p.source.as_str(),
                p.slot,
                p.by,
                p.parked_ms,
                p.unparked_ms,
                p.how.map(names::unpark_str),
            ])?;
        }
    }
    if changed(new.ivr, old.ivr) {
        clear("ivr_session")?;
    }
    if changed(new.ivr, old.ivr) && !st.ivr.is_empty() {
        let mut ins = conn.prepare_cached(
            "INSERT INTO ivr_session (call_id, seq, source, ivr_key, started_ms, ended_ms, path, components,
                variables, dtmf, controlled_by, steps)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for (seq, s) in st.ivr.iter().enumerate() {
            ins.execute(params![
                call_id,
                seq as i64,
                s.source.as_str(),
                s.key,
                s.started_ms,
                s.ended_ms,
                to_json(&s.path)?,
                to_json(&s.components)?,
                to_json(&s.variables)?,
                s.dtmf,
                s.controlled_by,
                to_json(&s.steps)?,
            ])?;
        }
    }
    let media = changed(new.media, old.media);
    if media {
        clear("recording")?;
        clear("transfer")?;
    }
    if media && !st.recordings.is_empty() {
        let mut ins = conn.prepare_cached(
            "INSERT INTO recording (call_id, source, at_ms, reference) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for r in &st.recordings {
            ins.execute(params![call_id, r.source.as_str(), r.at_ms, r.reference])?;
        }
    }
    if media && !st.transfers.is_empty() {
        let mut ins = conn.prepare_cached(
            "INSERT INTO transfer (call_id, source, at_ms, to_number, to_name, to_extension_id, attended)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for t in &st.transfers {
            ins.execute(params![
                call_id,
                t.source.as_str(),
                t.at_ms,
                t.to.number,
                t.to.name,
                t.to.extension_id,
                t.attended
            ])?;
        }
    }
    if changed(new.parties, old.parties) {
        clear("call_party")?;
    }
    if changed(new.parties, old.parties) && !parties.is_empty() {
        let mut ins = conn
            .prepare_cached("INSERT OR IGNORE INTO call_party (call_id, party) VALUES (?1, ?2)")?;
        for p in parties {
            ins.execute(params![call_id, p])?;
        }
    }
    if changed(new.search, old.search) {
        if !fresh {
            conn.prepare_cached("DELETE FROM call_fts WHERE rowid = ?1")?
                .execute([call_id])?;
        }
        let [numbers, names, notes, digits] = search;
        conn.prepare_cached(
            "INSERT INTO call_fts (rowid, numbers, names, notes, digits) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![call_id, numbers, names, notes, digits])?;
    }
    Ok(())
}

/// Serialize a value to JSON text for a column.
fn to_json<T: serde::Serialize>(v: &T) -> Result<String, HistoryError> {
    serde_json::to_string(v)
        .map_err(|e| HistoryError::invalid(format!("unserializable value: {e}")))
}

/// The `notes` search text of a call: its notes and its disposition.
fn notes_text(conn: &Connection, call_id: i64) -> Result<String, HistoryError> {
    let disposition: Option<String> = conn
        .prepare_cached("SELECT disposition FROM call WHERE id = ?1")?
        .query_row([call_id], |r| r.get(0))
        .optional()?
        .flatten();
    let mut stmt = conn.prepare_cached("SELECT body FROM note WHERE call_id = ?1 ORDER BY id")?;
    let mut parts: Vec<String> = stmt
        .query_map([call_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    parts.extend(disposition);
    Ok(parts.join("\n"))
}

/// Serialize an event kind for the `event` table.
pub(crate) fn encode_kind(kind: &CallEventKind) -> Result<(&'static str, String), HistoryError> {
    let payload = serde_json::to_string(kind)
        .map_err(|e| HistoryError::invalid(format!("unserializable event: {e}")))?;
    Ok((kind_name(kind), payload))
}
