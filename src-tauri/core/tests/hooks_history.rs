//! The listener in front of the real history store (SQLite file in a temp dir): what the
//! platform was told is stored, is stored durably, duplicates have no second effect, and
//! rejected requests are kept.

mod hooks_support;

use std::sync::Arc;
use std::time::Duration;

use cti_core::history::{CallFilter, CallPage, History, HistoryConfig, PageRequest};
use cti_core::model::{Direction as CoreDirection, Outcome};
use cti_sim::webhooks::WebhookSimConfig;
use cti_sim::world::{Direction, HuntMode, HuntPlan, MemberResponse};
use cti_sim::{Sim, SimConfig};
use hooks_support::{config, fixture, http, start_with, SEED_004};

async fn calls(h: &History, number: &str) -> CallPage {
    let filter = CallFilter {
        number: Some(number.into()),
        ..Default::default()
    };
    h.list_calls(filter, PageRequest::default()).await.unwrap()
}

#[tokio::test]
async fn acknowledged_hooks_are_durable_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let history = History::open(&path, &HistoryConfig::default()).unwrap();
    let listener = start_with(config(), Arc::new(history.clone())).await;
    let url = listener.urls().calls;
    let client = http();
    for name in SEED_004 {
        let status = client
            .post(&url)
            .body(fixture(name))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let expected = if name == "seed004_attempt_inc_call_end.json" {
            400
        } else {
            200
        };
        assert_eq!(status, expected, "{name}");
    }
    // A retry of an acknowledged hook changes nothing.
    let again = client
        .post(&url)
        .body(fixture("seed004_end_inc_call.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let note = listener.inspector().entries().pop().unwrap().note;
    assert!(note.contains("stored 0, duplicates 1"), "{note}");
    listener.shutdown().await;

    // Reopen the file: everything acknowledged is there.
    history.close().await.unwrap();
    drop(history);
    let history = History::open(&path, &HistoryConfig::default()).unwrap();
    let page = history
        .list_calls(CallFilter::default(), PageRequest::default())
        .await
        .unwrap();
    // The examples are four different calls (SessionIDs), each partly reported.
    assert_eq!(page.calls.len(), 4, "{page:#?}");
    let created = calls(&history, "9582412128").await;
    assert_eq!(created.calls.len(), 1);
    assert_eq!(created.calls[0].started_ms, 1_611_832_522_000);
    assert!(page
        .calls
        .iter()
        .any(|c| c.talk_secs == Some(26) && c.result.as_ref().is_some_and(|r| r.code == "200")));
    assert!(page
        .calls
        .iter()
        .any(|c| c.result.as_ref().is_some_and(|r| r.code == "603-S")));
    let rejected = history.rejected_requests(10, None).await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].request.status, 400);
    assert_eq!(rejected[0].request.path, "/hooks/***/calls");
    assert!(rejected[0].request.body.contains("4045859e"));
    history.close().await.unwrap();
}

#[tokio::test]
async fn simulated_calls_reach_the_history_once_despite_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("h.db"), &HistoryConfig::default()).unwrap();
    let listener = start_with(config(), Arc::new(history.clone())).await;
    let sim = Sim::start(SimConfig {
        speed: 60.0,
        webhooks: WebhookSimConfig {
            url: Some(listener.urls().calls),
            retry_backoff_ms: 100,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    sim.faults().set_webhook_duplicates(1);
    let w = sim.world();
    let answered = w.create_call(
        Direction::Inbound,
        "79001112233",
        Some("Ivan"),
        "200",
        Some("74950000000"),
    );
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("101", MemberResponse::Answer { after_ms: 2_000 }),
            ("102", MemberResponse::NoAnswer),
        ],
        20_000,
    );
    w.hunt(&answered.id, plan).await.unwrap();
    w.clock().sleep(Duration::from_secs(60)).await;
    w.hangup(&answered.id, "200").unwrap();
    let missed = w.create_call(
        Direction::Inbound,
        "79004445566",
        None,
        "200",
        Some("74950000000"),
    );
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [("101", MemberResponse::NoAnswer)],
        5_000,
    );
    w.hunt(&missed.id, plan).await.unwrap();

    // Wait until both calls ended in the history.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (a, m) = loop {
        let a = calls(&history, "79001112233").await;
        let m = calls(&history, "79004445566").await;
        let done = |p: &CallPage| p.calls.first().is_some_and(|c| c.ended_ms.is_some());
        if done(&a) && done(&m) {
            break (a, m);
        }
        assert!(tokio::time::Instant::now() < deadline, "{a:#?} {m:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(a.calls.len(), 1, "one call despite duplicated hooks");
    let c = &a.calls[0];
    assert_eq!(c.direction, Some(CoreDirection::Inbound));
    assert_eq!(c.outcome, Some(Outcome::Answered));
    assert_eq!(
        c.answered_by.as_ref().map(|p| p.number.as_str()),
        Some("101")
    );
    assert!(
        c.talk_secs.is_some_and(|t| (59..=61).contains(&t)),
        "{:?}",
        c.talk_secs
    );
    assert_eq!(m.calls.len(), 1);
    assert!(m.calls[0].missed);
    let missed_page = history.missed_calls(PageRequest::default()).await.unwrap();
    assert!(missed_page.calls.iter().any(|c| c.id == m.calls[0].id));
    assert!(listener.rejected().is_empty());
    sim.shutdown();
    listener.shutdown().await;
    history.close().await.unwrap();
}
