//! One call record per real call: merging sources, out-of-order events, duplicates, park
//! episodes, IVR sessions, notes, rejected requests. Real SQLite files in temp dirs.

mod history_support;

use cti_core::history::{
    CallDetails, CallFilter, History, HistoryConfig, HistoryError, PageRequest,
};
use cti_core::model::{CallEvent, Direction, Outcome, Source, UnparkKind};
use cti_core::sink::{EventSink, RejectedRequest};
use cti_core::{Code, Coded};
use history_support::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;

/// The same inbound call (caller +7 958 241-21-28 to the DID, hunting 101 and 102, 101 answers)
/// as Era, Telphin, Call Interactive and the JSON webhooks report it.
fn one_call_all_sources() -> Vec<CallEvent> {
    let era = CallScript::new(Source::Era, "rB2-002-SuDtIE-01@192.168.0.149")
        .created(
            T0,
            Direction::Inbound,
            named("+79582412128", "Ivan Petrov"),
            party("4950665310"),
        )
        .ringing(T0 + 2_000, "era-leg-101", named("101", "Anna"))
        .ringing(T0 + 2_000, "era-leg-102", party("102"))
        .answered(T0 + 7_000, Some("era-leg-101"), named("101", "Anna"))
        .leg_ended(T0 + 7_000, "era-leg-102", "487")
        .recording(T0 + 70_000, "/temp/7czoefb0aaefl4mnxvkltaanfzg.mp3")
        .ended(T0 + 67_000, "200", Some(60));
    let telphin = CallScript::new(Source::Telphin, "c69226e0a64e11eaa0086fd86d94a0e0")
        .control("3232240860-37b98fb2-a66c-11ea-ae69-6fd86d94a0e0")
        .created(
            T0 + 400,
            Direction::Inbound,
            party("89582412128"),
            party("022*101"),
        )
        .answered(T0 + 7_100, None, party("101"))
        .ended(T0 + 67_200, "200", None);
    let interactive = CallScript::new(Source::CallInteractive, "c69226e0a64e11eaa0086fd86d94a0e0")
        .ivr(
            T0 + 500,
            "request",
            json!({"component": "greeting", "request": {"CallerIDNum": "89582412128"}}),
        )
        .dtmf(T0 + 1_500, "42");
    let webhook = CallScript::new(Source::Webhook, "ec22aab1-02f8-487d-9b40-1173f33ba242")
        .created_via(
            T0 + 1_000,
            Direction::Inbound,
            party("9582412128"),
            party("4950665310"),
            "4950665310",
            "sales",
        )
        .ringing(T0 + 2_000, "80052002651", party("80052002651"))
        .ringing(T0 + 2_000, "80052002652", party("80052002652"))
        .answered(T0 + 7_000, Some("80052002651"), party("80052002651"))
        .leg_ended(T0 + 7_000, "80052002652", "603")
        .ended(T0 + 67_000, "200", Some(60));
    let mut all = Vec::new();
    // Interleave the sources as they would arrive live.
    let sources = [
        era.events,
        telphin.events,
        interactive.events,
        webhook.events,
    ];
    let longest = sources.iter().map(Vec::len).max().unwrap();
    for i in 0..longest {
        for s in &sources {
            if let Some(e) = s.get(i) {
                all.push(e.clone());
            }
        }
    }
    all
}

async fn only_call(h: &History) -> CallDetails {
    let page = h
        .list_calls(CallFilter::default(), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        page.calls.len(),
        1,
        "expected exactly one call record, got {:#?}",
        page.calls
    );
    h.call_details(page.calls[0].id).await.unwrap()
}

#[tokio::test]
async fn one_call_reported_by_all_sources_is_one_record_with_all_legs() {
    let (_dir, h) = open_temp();
    feed_one_by_one(&h, &one_call_all_sources()).await;
    let d = only_call(&h).await;

    assert_eq!(
        d.call.sources,
        vec![
            Source::Era,
            Source::Telphin,
            Source::Webhook,
            Source::CallInteractive
        ]
    );
    assert_eq!(d.source_ids.len(), 4);
    assert_eq!(d.call.direction, Some(Direction::Inbound));
    // The earliest Created (Era) names the parties.
    assert_eq!(d.call.remote.as_ref().unwrap().number, "+79582412128");
    assert_eq!(
        d.call.remote.as_ref().unwrap().name.as_deref(),
        Some("Ivan Petrov")
    );
    assert_eq!(d.call.did.as_deref(), Some("4950665310"));
    assert_eq!(d.call.via.as_deref(), Some("sales"));
    assert_eq!(d.call.outcome, Some(Outcome::Answered));
    assert!(!d.call.missed);
    assert_eq!(d.call.answered_ms, Some(T0 + 7_000));
    assert_eq!(d.call.answered_by.as_ref().unwrap().number, "101");
    assert_eq!(d.call.talk_secs, Some(60));
    assert!(d.call.has_recording);

    // Legs: Era 2, Telphin 1 (answer without a leg id), webhook 2.
    assert_eq!(d.legs.len(), 5, "{:#?}", d.legs);
    let era_101 = d.legs.iter().find(|l| l.leg_id == "era-leg-101").unwrap();
    assert_eq!(era_101.outcome, Some(Outcome::Answered));
    assert_eq!(era_101.ring_secs, Some(5));
    assert_eq!(era_101.talk_secs, Some(60));
    let era_102 = d.legs.iter().find(|l| l.leg_id == "era-leg-102").unwrap();
    assert_eq!(era_102.outcome, Some(Outcome::Cancelled));
    assert_eq!(era_102.result.as_ref().unwrap().code, "487");
    let tel = d.legs.iter().find(|l| l.source == Source::Telphin).unwrap();
    assert_eq!(tel.leg_id, "@101");
    let wh_rejected = d.legs.iter().find(|l| l.leg_id == "80052002652").unwrap();
    assert_eq!(wh_rejected.outcome, Some(Outcome::Rejected));
    assert_eq!(wh_rejected.result.as_ref().unwrap().meaning, "rejected");

    // Call Interactive shares Telphin's CallID and joined through it.
    assert_eq!(d.ivr_sessions.len(), 1);
    assert_eq!(d.ivr_sessions[0].dtmf, "42");
    assert_eq!(d.events.len(), one_call_all_sources().len());
    assert_eq!(d.raw.len(), d.events.len());
}

#[tokio::test]
async fn arrival_order_does_not_change_the_record() {
    let events = one_call_all_sources();
    let (_d0, reference) = open_temp();
    feed_one_by_one(&reference, &events).await;
    let expected = normalize(only_call(&reference).await);

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut orders: Vec<Vec<CallEvent>> = vec![events.iter().rev().cloned().collect()];
    for _ in 0..4 {
        let mut e = events.clone();
        e.shuffle(&mut rng);
        orders.push(e);
    }
    for (i, order) in orders.into_iter().enumerate() {
        let (_dir, h) = open_temp();
        if i == 1 {
            // Everything in one request as well.
            h.store(Some(raw_for(Source::Webhook, "batch")), order)
                .await
                .unwrap();
        } else {
            feed_one_by_one(&h, &order).await;
        }
        assert_eq!(
            normalize(only_call(&h).await),
            expected,
            "arrival order #{i} gave another record"
        );
    }
}

/// Drop what legitimately depends on arrival (local ids, receive times).
fn normalize(mut d: CallDetails) -> CallDetails {
    d.call.id = 0;
    d.raw.clear();
    for e in &mut d.events {
        e.id = 0;
        e.received_ms = 0;
        e.raw_id = None;
    }
    d.events
        .sort_by(|a, b| a.event.dedup_key.cmp(&b.event.dedup_key));
    d
}

#[tokio::test]
async fn ended_before_created_and_answered_after_ended() {
    let (_dir, h) = open_temp();
    let s = simple_call(
        Source::Webhook,
        "s1",
        T0,
        Direction::Inbound,
        "9582412128",
        "101",
        "200",
    );
    let created = s.events[0].clone();
    let answered = s.events[2].clone();
    let ended = s.events[3].clone();
    feed_one_by_one(&h, std::slice::from_ref(&ended)).await;
    let d = only_call(&h).await;
    assert_eq!(d.call.direction, None);
    assert_eq!(d.call.outcome, Some(Outcome::Answered));

    feed_one_by_one(&h, &[created, answered]).await;
    let d = only_call(&h).await;
    assert_eq!(d.call.direction, Some(Direction::Inbound));
    assert_eq!(d.call.started_ms, T0);
    assert_eq!(d.call.answered_ms, Some(T0 + 5_000));
    assert_eq!(d.call.ended_ms, Some(T0 + 65_000));
    assert_eq!(d.call.outcome, Some(Outcome::Answered));
    assert!(!d.call.missed);
}

#[tokio::test]
async fn duplicates_are_counted_and_have_no_second_effect() {
    let (_dir, h) = open_temp();
    let s = simple_call(
        Source::Era,
        "e1",
        T0,
        Direction::Inbound,
        "9582412128",
        "101",
        "200",
    );
    let first = h
        .store(Some(raw_for(Source::Era, "frame")), s.events.clone())
        .await
        .unwrap();
    assert_eq!((first.stored, first.duplicates), (4, 0));
    let before = only_call(&h).await;

    let again = h
        .store(Some(raw_for(Source::Era, "frame again")), s.events.clone())
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 4));
    // A duplicate inside one request counts too.
    let mixed = h
        .store(None, vec![s.events[0].clone(), s.events[0].clone()])
        .await
        .unwrap();
    assert_eq!((mixed.stored, mixed.duplicates), (0, 2));
    let after = only_call(&h).await;
    assert_eq!(after, before);
    assert_eq!(
        after.raw.len(),
        1,
        "a request of duplicates leaves no raw record"
    );
}

#[tokio::test]
async fn separate_calls_stay_separate() {
    let (_dir, h) = open_temp();
    // Same number, same source, 10 s apart: two real calls (one source never reuses a call).
    let a = simple_call(
        Source::Webhook,
        "w1",
        T0,
        Direction::Inbound,
        "9582412128",
        "101",
        "304",
    );
    let b = simple_call(
        Source::Webhook,
        "w2",
        T0 + 10_000,
        Direction::Inbound,
        "9582412128",
        "101",
        "200",
    );
    // Another source, same number, but outside the 30 s window.
    let c = simple_call(
        Source::Era,
        "e1",
        T0 + 100_000,
        Direction::Inbound,
        "+79582412128",
        "101",
        "200",
    );
    // Another source, inside the window, other direction.
    let d = simple_call(
        Source::Era,
        "e2",
        T0 + 5_000,
        Direction::Outbound,
        "9582412128",
        "101",
        "200",
    );
    for s in [a, b, c, d] {
        h.store(None, s.events).await.unwrap();
    }
    let page = h
        .list_calls(CallFilter::default(), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(page.calls.len(), 4);
    for call in &page.calls {
        assert_eq!(call.sources.len(), 1);
    }
}

/// One number calling in a burst (the merge looks at a bounded number of neighbours): each
/// other-source report still joins the call that started nearest to it, and the calls without
/// a partner stay separate.
#[tokio::test]
async fn burst_from_one_number_merges_each_report_with_its_nearest_call() {
    let (_dir, h) = open_temp();
    // 300 Era calls from one number, 20 ms apart: all inside one 30 s merge window.
    let mut era = Vec::new();
    for i in 0..300i64 {
        era.extend(
            simple_call(
                Source::Era,
                &format!("e{i}"),
                T0 + i * 20,
                Direction::Inbound,
                "+79582412128",
                "101",
                "200",
            )
            .events,
        );
    }
    h.store(None, era).await.unwrap();
    // The webhook reports three of them, 3 ms after their Era start.
    for i in [0i64, 150, 299] {
        let w = simple_call(
            Source::Webhook,
            &format!("w{i}"),
            T0 + i * 20 + 3,
            Direction::Inbound,
            "9582412128",
            "101",
            "200",
        );
        h.store(None, w.events).await.unwrap();
    }
    let page = h
        .list_calls(CallFilter::default(), PageRequest::first(500))
        .await
        .unwrap();
    assert_eq!(page.calls.len(), 300, "three reports merged, none lost");
    let merged: Vec<i64> = page
        .calls
        .iter()
        .filter(|c| c.sources.len() == 2)
        .map(|c| c.started_ms - T0)
        .collect();
    let mut merged = merged;
    merged.sort_unstable();
    assert_eq!(merged, vec![0, 3000, 5980]);
}

#[tokio::test]
async fn merge_window_is_configurable_and_old_ids_resolve() {
    let cfg = HistoryConfig {
        merge_window_secs: 120,
        ..HistoryConfig::default()
    };
    let (_dir, h) = open_temp_with(&cfg);
    let a = simple_call(
        Source::Webhook,
        "w1",
        T0 + 90_000,
        Direction::Inbound,
        "9582412128",
        "101",
        "200",
    );
    let b = simple_call(
        Source::Era,
        "e1",
        T0,
        Direction::Inbound,
        "+79582412128",
        "101",
        "200",
    );
    h.store(None, a.events).await.unwrap();
    let first_id = h
        .list_calls(CallFilter::default(), PageRequest::first(5))
        .await
        .unwrap()
        .calls[0]
        .id;
    h.store(None, b.events).await.unwrap();
    let d = only_call(&h).await;
    assert_eq!(d.call.sources, vec![Source::Era, Source::Webhook]);
    assert_eq!(d.call.started_ms, T0);
    let via_old = h.call_details(first_id).await.unwrap();
    assert_eq!(via_old.call.id, d.call.id);
}

#[tokio::test]
async fn park_episodes_record_slot_who_and_how_it_ended() {
    let (_dir, h) = open_temp();
    let s = CallScript::new(Source::Telphin, "t1")
        .created(T0, Direction::Inbound, party("9582412128"), party("341"))
        .answered(T0 + 3_000, None, party("341"))
        .parked(T0 + 10_000, 6, "341")
        .unparked(T0 + 40_000, 6, UnparkKind::Bridged)
        .parked(T0 + 60_000, 2, "200")
        .unparked(T0 + 240_000, 2, UnparkKind::Returned)
        .unparked(T0 + 300_000, 3, UnparkKind::HungUp)
        .parked(T0 + 280_000, 3, "341")
        .ended(T0 + 300_000, "200", None);
    let mut events = s.events;
    events.reverse();
    feed_one_by_one(&h, &events).await;
    let d = only_call(&h).await;
    let got: Vec<_> = d
        .parks
        .iter()
        .map(|p| {
            (
                p.slot,
                p.parked_by.clone(),
                p.parked_ms,
                p.unparked_ms,
                p.how,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                6,
                Some("341".into()),
                Some(T0 + 10_000),
                Some(T0 + 40_000),
                Some(UnparkKind::Bridged)
            ),
            (
                2,
                Some("200".into()),
                Some(T0 + 60_000),
                Some(T0 + 240_000),
                Some(UnparkKind::Returned)
            ),
            (
                3,
                Some("341".into()),
                Some(T0 + 280_000),
                Some(T0 + 300_000),
                Some(UnparkKind::HungUp)
            ),
        ]
    );
    // Who parked counts as an extension involved in the call.
    let f = CallFilter {
        extension: Some("200".into()),
        ..CallFilter::default()
    };
    assert_eq!(
        h.list_calls(f, PageRequest::first(5))
            .await
            .unwrap()
            .calls
            .len(),
        1
    );
}

#[tokio::test]
async fn ivr_session_keeps_path_variables_dtmf_components_and_controller() {
    let (_dir, h) = open_temp();
    let s = CallScript::new(Source::Era, "e1")
        .created(T0, Direction::Inbound, party("9582412128"), party("4950665310"))
        .ivr(T0 + 100, "api_start", json!({"ivr_id": "rDlg-006", "component": "Внешнее управление 3"}))
        .ivr(T0 + 200, "accepted", json!({"ivr_id": "rDlg-006", "controlled_by": "panel:anna"}))
        .ivr(T0 + 300, "component_stopped", json!({"ivr_id": "rDlg-006", "component": "play", "variables": {"lang": "ru"}}))
        .dtmf(T0 + 400, "1")
        .dtmf(T0 + 500, "2")
        .ivr(T0 + 600, "component_stopped", json!({"ivr_id": "rDlg-006", "component": "collect", "variables": {"lang": "en", "account": "12345"}}))
        .ended(T0 + 900, "304", None);
    feed_one_by_one(&h, &s.events).await;
    let d = only_call(&h).await;
    assert_eq!(d.ivr_sessions.len(), 1);
    let ivr = &d.ivr_sessions[0];
    assert_eq!(ivr.ivr_id.as_deref(), Some("rDlg-006"));
    assert_eq!(ivr.path, vec!["api_start", "accepted", "component_stopped"]);
    assert_eq!(
        ivr.components,
        vec!["Внешнее управление 3", "play", "collect"]
    );
    assert_eq!(ivr.dtmf, "12");
    assert_eq!(ivr.controlled_by.as_deref(), Some("panel:anna"));
    assert_eq!(ivr.variables.get("lang"), Some(&json!("en")));
    assert_eq!(ivr.variables.get("account"), Some(&json!("12345")));
    assert_eq!(ivr.steps.len(), 4);
    assert_eq!((ivr.started_ms, ivr.ended_ms), (T0 + 100, T0 + 600));
    assert!(d.call.missed);
}

#[tokio::test]
async fn notes_and_dispositions_can_be_added_and_updated() {
    let (_dir, h) = open_temp();
    h.store(
        None,
        simple_call(
            Source::Era,
            "e1",
            T0,
            Direction::Inbound,
            "9582412128",
            "101",
            "200",
        )
        .events,
    )
    .await
    .unwrap();
    let id = only_call(&h).await.call.id;
    let note = h
        .add_note(
            id,
            Some("anna".into()),
            "  Wants a callback tomorrow ".into(),
        )
        .await
        .unwrap();
    assert_eq!(note.body, "Wants a callback tomorrow");
    assert_eq!(note.author.as_deref(), Some("anna"));
    let updated = h
        .update_note(note.id, "Callback on Friday".into())
        .await
        .unwrap();
    assert_eq!(updated.body, "Callback on Friday");
    assert!(updated.updated_ms >= note.updated_ms);
    h.add_note(id, None, "second".into()).await.unwrap();
    h.set_disposition(id, Some("sale".into())).await.unwrap();

    let d = only_call(&h).await;
    assert_eq!(d.notes.len(), 2);
    assert_eq!(d.notes[0].body, "Callback on Friday");
    assert_eq!(d.call.note_count, 2);
    assert_eq!(d.call.disposition.as_deref(), Some("sale"));
    h.set_disposition(id, None).await.unwrap();
    assert_eq!(only_call(&h).await.call.disposition, None);

    let e = h.add_note(id + 1000, None, "x".into()).await.unwrap_err();
    assert!(matches!(e, HistoryError::NotFound { what: "call", .. }));
    assert_eq!(e.code(), Code::NotFound);
    let e = h.update_note(9999, "x".into()).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = h.add_note(id, None, "   ".into()).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput);
    // A failed operation does not disturb the store.
    assert_eq!(only_call(&h).await.notes.len(), 2);
}

#[tokio::test]
async fn event_sink_accepts_durably_and_keeps_rejected_requests() {
    let (dir, h) = open_temp();
    let sink: &dyn EventSink = &h;
    let s = simple_call(
        Source::Webhook,
        "w1",
        T0,
        Direction::Inbound,
        "9582412128",
        "101",
        "200",
    );
    let got = sink
        .accept(
            raw_for(Source::Webhook, "POST /hooks/…/calls"),
            s.events.clone(),
        )
        .await
        .unwrap();
    assert_eq!((got.stored, got.duplicates), (4, 0));
    let got = sink
        .accept(raw_for(Source::Webhook, "POST /hooks/…/calls"), s.events)
        .await
        .unwrap();
    assert_eq!((got.stored, got.duplicates), (0, 4));
    for i in 0..3 {
        sink.reject(RejectedRequest {
            received_ms: T0 + i,
            remote: "10.0.0.5:5060".into(),
            method: "POST".into(),
            path: "/hooks/…/calls".into(),
            status: 400,
            reason: format!("bad json #{i}"),
            body: "{".into(),
        })
        .await;
    }
    let first = h.rejected_requests(2, None).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|r| r.request.reason.as_str())
            .collect::<Vec<_>>(),
        ["bad json #2", "bad json #1"]
    );
    let rest = h.rejected_requests(2, Some(first[1].id)).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].request.status, 400);

    // Invalid events are refused as a whole with a typed error.
    let mut bad = simple_call(Source::Era, "", T0, Direction::Inbound, "1", "2", "200").events;
    bad.truncate(1);
    let e = sink
        .accept(raw_for(Source::Era, "frame"), bad)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("without a call id"), "{e}");

    // Everything acknowledged is in the file after a restart.
    h.close().await.unwrap();
    let again = History::open(dir.path().join("history.db"), &HistoryConfig::default()).unwrap();
    assert_eq!(
        again
            .list_calls(CallFilter::default(), PageRequest::first(5))
            .await
            .unwrap()
            .calls
            .len(),
        1
    );
    assert_eq!(again.rejected_requests(10, None).await.unwrap().len(), 3);
    // The closed handle refuses further writes.
    assert!(matches!(
        h.record_rejected(first[0].request.clone()).await,
        Err(HistoryError::Closed)
    ));
}
