//! Call list filters, full-text search, pagination and retention on a real SQLite file.

mod history_support;

use cti_core::history::{CallFilter, History, HistoryConfig, HistoryError, PageRequest};
use cti_core::model::{Direction, Outcome, Source};
use cti_core::{Code, Coded};
use history_support::*;

const HOUR: i64 = 3_600_000;

/// Seven calls with known attributes; returns their ids in creation order (c1..c7).
async fn seed(h: &History) -> Vec<i64> {
    let scripts = vec![
        simple_call(
            Source::Webhook,
            "c1",
            T0,
            Direction::Inbound,
            "9582412128",
            "101",
            "200",
        ),
        simple_call(
            Source::Webhook,
            "c2",
            T0 + HOUR,
            Direction::Inbound,
            "9161112233",
            "102",
            "304",
        ),
        simple_call(
            Source::Era,
            "c3",
            T0 + 2 * HOUR,
            Direction::Outbound,
            "4957778899",
            "101",
            "486",
        ),
        CallScript::new(Source::Telphin, "c4")
            .created(
                T0 + 3 * HOUR,
                Direction::Inbound,
                named("+79031234567", "Мария Иванова"),
                party("103"),
            )
            .ended(T0 + 3 * HOUR + 9_000, "603-S", Some(0)),
        simple_call(
            Source::Era,
            "c5",
            T0 + 4 * HOUR,
            Direction::Internal,
            "101",
            "102",
            "200",
        ),
        simple_call(
            Source::Era,
            "c6",
            T0 + 5 * HOUR,
            Direction::Inbound,
            "+7 958 241-21-28",
            "102",
            "200",
        )
        .dtmf(T0 + 5 * HOUR + 500, "*305#"),
        CallScript::new(Source::Webhook, "c7").created(
            T0 + 6 * HOUR,
            Direction::Inbound,
            party("9990001122"),
            party("104"),
        ),
    ];
    let mut ids = Vec::new();
    for s in scripts {
        h.store(Some(raw_for(s.source, "seed")), s.events)
            .await
            .unwrap();
        let page = h
            .list_calls(CallFilter::default(), PageRequest::first(1))
            .await
            .unwrap();
        ids.push(page.calls[0].id);
    }
    h.add_note(
        ids[5],
        Some("anna".into()),
        "VIP customer, asks for the invoice".into(),
    )
    .await
    .unwrap();
    ids
}

async fn ids_of(h: &History, filter: CallFilter) -> Vec<i64> {
    let mut ids: Vec<i64> = h
        .list_calls(filter, PageRequest::first(100))
        .await
        .unwrap()
        .calls
        .iter()
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids
}

fn pick(ids: &[i64], which: &[usize]) -> Vec<i64> {
    let mut v: Vec<i64> = which.iter().map(|i| ids[i - 1]).collect();
    v.sort_unstable();
    v
}

#[tokio::test]
async fn every_filter_selects_the_right_calls() {
    let (_dir, h) = open_temp();
    let c = seed(&h).await;
    let f = CallFilter::default;

    assert_eq!(ids_of(&h, f()).await, pick(&c, &[1, 2, 3, 4, 5, 6, 7]));
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                direction: Some(Direction::Inbound),
                ..f()
            }
        )
        .await,
        pick(&c, &[1, 2, 4, 6, 7])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                direction: Some(Direction::Outbound),
                ..f()
            }
        )
        .await,
        pick(&c, &[3])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                direction: Some(Direction::Internal),
                ..f()
            }
        )
        .await,
        pick(&c, &[5])
    );

    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                outcomes: vec![Outcome::Answered],
                ..f()
            }
        )
        .await,
        pick(&c, &[1, 5, 6])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                outcomes: vec![Outcome::Busy],
                ..f()
            }
        )
        .await,
        pick(&c, &[3])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                outcomes: vec![Outcome::Missed],
                ..f()
            }
        )
        .await,
        pick(&c, &[2])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                outcomes: vec![Outcome::Missed, Outcome::Cancelled],
                ..f()
            }
        )
        .await,
        pick(&c, &[2, 4])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                missed_only: true,
                ..f()
            }
        )
        .await,
        pick(&c, &[2, 4])
    );
    let missed = h.missed_calls(PageRequest::first(10)).await.unwrap();
    assert_eq!(
        missed.calls.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c[3], c[1]]
    );
    assert!(missed.calls.iter().all(|c| c.missed));

    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                extension: Some("101".into()),
                ..f()
            }
        )
        .await,
        pick(&c, &[1, 3, 5])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                extension: Some(" 102 ".into()),
                ..f()
            }
        )
        .await,
        pick(&c, &[2, 5, 6])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                extension: Some("999".into()),
                ..f()
            }
        )
        .await,
        Vec::<i64>::new()
    );

    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                source: Some(Source::Era),
                ..f()
            }
        )
        .await,
        pick(&c, &[3, 5, 6])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                source: Some(Source::Telphin),
                ..f()
            }
        )
        .await,
        pick(&c, &[4])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                source: Some(Source::Webhook),
                ..f()
            }
        )
        .await,
        pick(&c, &[1, 2, 7])
    );

    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                number: Some("+7 958 241 21 28".into()),
                ..f()
            }
        )
        .await,
        pick(&c, &[1, 6])
    );
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                number: Some("89031234567".into()),
                ..f()
            }
        )
        .await,
        pick(&c, &[4])
    );

    let range = CallFilter {
        from_ms: Some(T0 + HOUR),
        to_ms: Some(T0 + 3 * HOUR),
        ..f()
    };
    assert_eq!(ids_of(&h, range).await, pick(&c, &[2, 3]));
    assert_eq!(
        ids_of(
            &h,
            CallFilter {
                from_ms: Some(T0 + 5 * HOUR),
                ..f()
            }
        )
        .await,
        pick(&c, &[6, 7])
    );

    let combined = CallFilter {
        direction: Some(Direction::Inbound),
        source: Some(Source::Webhook),
        missed_only: true,
        ..f()
    };
    assert_eq!(ids_of(&h, combined).await, pick(&c, &[2]));

    // The in-progress call has no outcome yet.
    let details = h.call_details(c[6]).await.unwrap();
    assert_eq!(details.call.outcome, None);
    assert!(!details.call.missed);

    let count = h
        .read(|r| {
            r.count_calls(&CallFilter {
                direction: Some(Direction::Inbound),
                ..CallFilter::default()
            })
        })
        .await;
    assert_eq!(count.unwrap(), 5);
}

#[tokio::test]
async fn full_text_search_covers_numbers_names_notes_and_ivr_digits() {
    let (_dir, h) = open_temp();
    let c = seed(&h).await;
    let text = |t: &str| CallFilter {
        text: Some(t.into()),
        ..CallFilter::default()
    };

    // Part of a number, in any formatting.
    assert_eq!(ids_of(&h, text("2412")).await, pick(&c, &[1, 6]));
    assert_eq!(ids_of(&h, text("+7 (903) 123-45-67")).await, pick(&c, &[4]));
    assert_eq!(ids_of(&h, text("777889")).await, pick(&c, &[3]));
    // Names, case-insensitive, Cyrillic included.
    assert_eq!(ids_of(&h, text("мария")).await, pick(&c, &[4]));
    assert_eq!(ids_of(&h, text("ИВАНОВ")).await, pick(&c, &[4]));
    // Notes, several words (all must occur).
    assert_eq!(ids_of(&h, text("invoice VIP")).await, pick(&c, &[6]));
    assert_eq!(ids_of(&h, text("invoice nobody")).await, Vec::<i64>::new());
    // IVR digits.
    assert_eq!(ids_of(&h, text("305#")).await, pick(&c, &[6]));
    // Search combines with filters.
    let with_source = CallFilter {
        text: Some("2412".into()),
        source: Some(Source::Era),
        ..CallFilter::default()
    };
    assert_eq!(ids_of(&h, with_source).await, pick(&c, &[6]));
    // Quotes and FTS syntax in the input are plain text.
    assert_eq!(
        ids_of(&h, text("customer, (asks)")).await,
        Vec::<i64>::new()
    );
    assert_eq!(ids_of(&h, text("customer, asks")).await, pick(&c, &[6]));
    assert_eq!(ids_of(&h, text("invoice*")).await, Vec::<i64>::new());

    // Editing a note updates the index.
    let note_id = h.call_details(c[5]).await.unwrap().notes[0].id;
    h.update_note(note_id, "refund requested".into())
        .await
        .unwrap();
    assert_eq!(ids_of(&h, text("invoice")).await, Vec::<i64>::new());
    assert_eq!(ids_of(&h, text("refund")).await, pick(&c, &[6]));
    h.set_disposition(c[0], Some("callback".into()))
        .await
        .unwrap();
    assert_eq!(ids_of(&h, text("callback")).await, pick(&c, &[1]));

    let e = h
        .list_calls(text("12"), PageRequest::first(10))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput);
    assert!(e.to_string().contains("at least 3"), "{e}");
}

#[tokio::test]
async fn keyset_pagination_walks_every_call_once_newest_first() {
    let (_dir, h) = open_temp();
    let mut events = Vec::new();
    for i in 0..23i64 {
        // Pairs of calls share a start time to exercise the (started, id) tie-break.
        let at = T0 + (i / 2) * 60_000;
        let number = format!("90000000{i:02}");
        events.extend(
            simple_call(
                Source::Webhook,
                &format!("p{i}"),
                at,
                Direction::Inbound,
                &number,
                "101",
                "200",
            )
            .events,
        );
    }
    h.import(events).await.unwrap();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(5);
    let mut pages = 0;
    loop {
        let got = h.list_calls(CallFilter::default(), page).await.unwrap();
        pages += 1;
        assert!(got.calls.len() <= 5);
        seen.extend(got.calls.iter().map(|c| (c.started_ms, c.id)));
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        seen, sorted,
        "pages must be newest first without gaps or repeats"
    );
    sorted.dedup();
    assert_eq!(sorted.len(), 23);

    // Search results page by record id, newest record first.
    let search = CallFilter {
        text: Some("900000".into()),
        ..CallFilter::default()
    };
    let mut ids = Vec::new();
    let mut page = PageRequest::first(4);
    loop {
        let got = h.list_calls(search.clone(), page).await.unwrap();
        ids.extend(got.calls.iter().map(|c| c.id));
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<i64> = seen.iter().map(|(_, id)| *id).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, expected);

    for bad in [0, 501] {
        let e = h
            .list_calls(CallFilter::default(), PageRequest::first(bad))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidInput);
    }
    let e = h
        .list_calls(
            CallFilter {
                from_ms: Some(T0 + 10),
                to_ms: Some(T0),
                ..CallFilter::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput);
    let e = h.call_details(123_456).await.unwrap_err();
    assert!(matches!(
        e,
        HistoryError::NotFound {
            what: "call",
            id: 123_456
        }
    ));
}

#[tokio::test]
async fn retention_purges_only_calls_older_than_the_limit() {
    let (dir, h) = open_temp();
    let path = dir.path().join("history.db");
    let now = chrono::Utc::now().timestamp_millis();
    let day = 24 * HOUR;
    let old = simple_call(
        Source::Webhook,
        "old",
        now - 40 * day,
        Direction::Inbound,
        "9161112233",
        "101",
        "200",
    );
    let recent = simple_call(
        Source::Webhook,
        "new",
        now - 10 * day,
        Direction::Inbound,
        "9161112233",
        "101",
        "304",
    );
    h.store(Some(raw_for(Source::Webhook, "old")), old.events)
        .await
        .unwrap();
    h.store(Some(raw_for(Source::Webhook, "new")), recent.events)
        .await
        .unwrap();
    let all = h
        .list_calls(CallFilter::default(), PageRequest::first(10))
        .await
        .unwrap()
        .calls;
    assert_eq!(all.len(), 2);
    let (new_id, old_id) = (all[0].id, all[1].id);
    h.add_note(old_id, None, "to be purged with its call".into())
        .await
        .unwrap();

    // Off by default.
    assert_eq!(h.apply_retention().await.unwrap().calls, 0);

    let report = h.purge_older_than(now - 30 * day).await.unwrap();
    assert_eq!(report.calls, 1);
    let left = h
        .list_calls(CallFilter::default(), PageRequest::first(10))
        .await
        .unwrap()
        .calls;
    assert_eq!(left.iter().map(|c| c.id).collect::<Vec<_>>(), vec![new_id]);
    assert!(h.call_details(old_id).await.is_err());
    let search = CallFilter {
        text: Some("purged".into()),
        ..CallFilter::default()
    };
    assert!(h
        .list_calls(search, PageRequest::first(10))
        .await
        .unwrap()
        .calls
        .is_empty());
    assert_eq!(h.purge_older_than(now - 30 * day).await.unwrap().calls, 0);
    let problems = h.reader().unwrap().integrity_check().unwrap();
    assert!(problems.is_empty(), "{problems:?}");

    // With the policy on, a call that aged past it goes at startup or on the next run.
    h.store(
        None,
        simple_call(
            Source::Era,
            "aged",
            now - 8 * day,
            Direction::Outbound,
            "9161112233",
            "101",
            "200",
        )
        .events,
    )
    .await
    .unwrap();
    h.close().await.unwrap();
    let cfg = HistoryConfig {
        retention_days: Some(9),
        ..HistoryConfig::default()
    };
    let on = History::open(&path, &cfg).unwrap();
    on.apply_retention().await.unwrap();
    let left = on
        .list_calls(CallFilter::default(), PageRequest::first(10))
        .await
        .unwrap()
        .calls;
    assert_eq!(
        left.iter().map(|c| c.direction).collect::<Vec<_>>(),
        vec![Some(Direction::Outbound)]
    );
    assert!(History::open(
        dir.path().join("x.db"),
        &HistoryConfig {
            retention_days: Some(0),
            ..cfg
        }
    )
    .is_err());
}

/// The writer merges the search index while idle; searches on pooled read connections must
/// stay exact while segments are merged and deleted underneath them.
#[tokio::test]
async fn search_stays_exact_while_the_index_is_merged() {
    let (_dir, h) = open_temp();
    for i in 0..200i64 {
        let s = simple_call(
            Source::Webhook,
            &format!("m{i}"),
            T0 + i * 60_000,
            Direction::Inbound,
            &format!("55501{i:05}"),
            "101",
            "200",
        );
        h.store(None, s.events).await.unwrap();
    }
    let ids: Vec<i64> = h
        .list_calls(CallFilter::default(), PageRequest::first(500))
        .await
        .unwrap()
        .calls
        .iter()
        .map(|c| c.id)
        .collect();
    let mut noted = Vec::new();
    for round in 0..60usize {
        let id = ids[(round * 37) % ids.len()];
        let word = format!("zq{round:03}x");
        if round % 3 == 2 {
            let (old_id, note_id, _): (i64, i64, String) = noted.remove(0);
            h.update_note(note_id, format!("changed {word}"))
                .await
                .unwrap();
            noted.push((old_id, note_id, word.clone()));
        } else {
            let note = h.add_note(id, None, format!("note {word}")).await.unwrap();
            noted.push((id, note.id, word.clone()));
        }
        for (call, _, w) in &noted {
            let f = CallFilter {
                text: Some(w.clone()),
                ..CallFilter::default()
            };
            let got: Vec<i64> = h
                .list_calls(f, PageRequest::first(10))
                .await
                .unwrap()
                .calls
                .iter()
                .map(|c| c.id)
                .collect();
            assert_eq!(got, vec![*call], "round {round}: search for {w}");
        }
        let f = CallFilter {
            text: Some(format!("55501{:05}", round * 3)),
            ..CallFilter::default()
        };
        assert_eq!(
            h.list_calls(f, PageRequest::first(10))
                .await
                .unwrap()
                .calls
                .len(),
            1,
            "round {round}: number search"
        );
    }
    let problems = h.reader().unwrap().integrity_check().unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}
