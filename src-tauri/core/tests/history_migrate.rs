//! Schema upgrades: a file built at every earlier schema version, with data, opens with the
//! current build and keeps its data.
//!
//! Adding migration N+1 means adding a [`Case`] for version N (its `seed` writes rows with the
//! SQL of that version, frozen; its `check` reads them back through the current API).

use cti_core::history::migrations::{current_version, migrate_to, LATEST_VERSION, MIGRATIONS};
use cti_core::history::{CallFilter, History, HistoryConfig, HistoryError, PageRequest, Reader};
use cti_core::model::{Direction, Outcome, Source};
use rusqlite::{params, Connection};

struct Case {
    version: u32,
    seed: fn(&Connection),
    check: fn(&Reader),
}

const CASES: &[Case] = &[
    Case {
        version: 1,
        seed: seed_v1,
        check: check_v1,
    },
    // v2 only added nullable signature columns (a rebuild cache): v1's rows are valid v2 rows.
    Case {
        version: 2,
        seed: seed_v1,
        check: check_v1,
    },
];

const T: i64 = 1_704_067_200_000;

/// Rows as schema v1 stores them (SQL frozen at v1).
fn seed_v1(c: &Connection) {
    c.execute(
        "INSERT INTO raw_record (id, source, received_ms, what, body) VALUES (1, 'webhook', ?1, 'POST /hooks/t/calls', '{}')",
        [T],
    )
    .unwrap();
    c.execute(
        "INSERT INTO call (id, direction, remote_number, remote_key, local_number, created_ms, started_ms,
            last_event_ms, answered_ms, ended_ms, talk_secs, answered_by_number, result_code, result_meaning,
            result_outcome, outcome, missed, sources, event_count, disposition)
         VALUES (7, 'inbound', '9582412128', '9582412128', '101', ?1, ?1, ?2, ?3, ?2, 60, '101', '200',
            'success', 'answered', 'answered', 0, 4, 2, 'sale')",
        params![T, T + 65_000, T + 5_000],
    )
    .unwrap();
    c.execute(
        "INSERT INTO call_source (source, source_call_id, call_id, control_id, first_ms) VALUES ('webhook', 'w-1', 7, NULL, ?1)",
        [T],
    )
    .unwrap();
    let created = r#"{"type":"created","direction":"inbound","from":{"number":"9582412128"},"to":{"number":"101"}}"#;
    let ended = r#"{"type":"ended","result":{"code":"200","outcome":"answered","meaning":"success"},"talk_secs":60}"#;
    for (id, at, kind, payload) in [(1, T, "created", created), (2, T + 65_000, "ended", ended)] {
        c.execute(
            "INSERT INTO event (id, call_id, source, source_call_id, control_id, at_ms, kind, payload, dedup_key, raw_id, received_ms)
             VALUES (?1, 7, 'webhook', 'w-1', NULL, ?2, ?3, ?4, ?5, 1, ?2)",
            params![id, at, kind, payload, format!("w-1:{id}")],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO call_party (call_id, party) VALUES (7, '101')",
        [],
    )
    .unwrap();
    c.execute(
        "INSERT INTO note (id, call_id, created_ms, updated_ms, author, body) VALUES (1, 7, ?1, ?1, 'anna', 'callback tomorrow')",
        [T],
    )
    .unwrap();
    c.execute(
        "INSERT INTO call_fts (rowid, numbers, names, notes, digits) VALUES (7, '9582412128 101', '', 'callback tomorrow', '')",
        [],
    )
    .unwrap();
    c.execute(
        "INSERT INTO rejected_request (received_ms, remote, method, path, status, reason, body)
         VALUES (?1, '10.0.0.5', 'POST', '/hooks/…/calls', 401, 'bad token', '')",
        [T],
    )
    .unwrap();
}

fn check_v1(r: &Reader) {
    let d = r.call_details(7).unwrap();
    assert_eq!(d.call.direction, Some(Direction::Inbound));
    assert_eq!(d.call.outcome, Some(Outcome::Answered));
    assert_eq!(d.call.sources, vec![Source::Webhook]);
    assert_eq!(d.call.disposition.as_deref(), Some("sale"));
    assert_eq!(d.notes[0].body, "callback tomorrow");
    assert_eq!(d.events.len(), 2);
    assert_eq!(d.raw.len(), 1);
    let found = r
        .list_calls(
            &CallFilter {
                text: Some("callback".into()),
                ..CallFilter::default()
            },
            &PageRequest::first(5),
        )
        .unwrap();
    assert_eq!(found.calls.len(), 1);
    let by_ext = r
        .list_calls(
            &CallFilter {
                extension: Some("101".into()),
                ..CallFilter::default()
            },
            &PageRequest::first(5),
        )
        .unwrap();
    assert_eq!(by_ext.calls.len(), 1);
    assert_eq!(
        r.rejected_requests(5, None).unwrap()[0].request.reason,
        "bad token"
    );
}

#[tokio::test]
async fn every_earlier_schema_version_upgrades_with_its_data() {
    let versions: Vec<u32> = CASES.iter().map(|c| c.version).collect();
    let expected: Vec<u32> = (1..=LATEST_VERSION).collect();
    assert_eq!(
        versions, expected,
        "every schema version needs an upgrade case"
    );
    assert_eq!(MIGRATIONS.len() as u32, LATEST_VERSION);

    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
            migrate_to(&mut conn, case.version).unwrap();
            assert_eq!(current_version(&conn).unwrap(), case.version);
            (case.seed)(&conn);
        }
        let h = History::open(&path, &HistoryConfig::default()).unwrap();
        (case.check)(&h.reader().unwrap());
        assert_eq!(
            current_version(h.reader().unwrap().connection().unwrap()).unwrap(),
            LATEST_VERSION
        );

        // The upgraded file keeps working: a new event of the old call joins it.
        let ev = cti_core::model::CallEvent {
            source: Source::Webhook,
            call_id: "w-1".into(),
            control_id: None,
            at_ms: T + 70_000,
            kind: cti_core::model::CallEventKind::RecordingAvailable {
                reference: "rec-1".into(),
            },
            dedup_key: "w-1:rec".into(),
        };
        h.store(None, vec![ev]).await.unwrap();
        let d = h.call_details(7).await.unwrap();
        assert!(d.call.has_recording);
        assert_eq!(d.notes.len(), 1);
        assert_eq!(
            h.list_calls(CallFilter::default(), PageRequest::first(5))
                .await
                .unwrap()
                .calls
                .len(),
            1
        );
        h.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_file_from_a_newer_app_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, LATEST_VERSION).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, 'future', 0)",
            [LATEST_VERSION + 1],
        )
        .unwrap();
    }
    let e = History::open(&path, &HistoryConfig::default()).unwrap_err();
    assert!(
        matches!(e, HistoryError::SchemaTooNew { found, .. } if found == LATEST_VERSION + 1),
        "{e:?}"
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!(current_version(&conn).unwrap(), LATEST_VERSION + 1);
    assert!(migrate_to(
        &mut Connection::open_in_memory().unwrap(),
        LATEST_VERSION + 1
    )
    .is_err());
}
