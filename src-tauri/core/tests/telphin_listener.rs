//! End to end: the client subscribes the agent's extension to the panel's own listener, the
//! simulator delivers the extension events there, and the listener turns them into call events.

mod telphin_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cti_core::hooks::{generate_token, Listener, ListenerConfig};
use cti_core::model::{CallEvent, CallEventKind, Outcome, Source};
use cti_core::sink::{Accepted, EventSink, RawRecord, RejectedRequest, SinkError};
use cti_core::telphin::EventMethod;
use cti_sim::world::Direction;
use telphin_support::*;
use tokio::sync::Notify;

/// Keeps what the listener accepted and rejected.
#[derive(Default)]
struct Sink {
    events: Mutex<Vec<CallEvent>>,
    rejected: Mutex<Vec<RejectedRequest>>,
    changed: Notify,
}

#[async_trait]
impl EventSink for Sink {
    async fn accept(&self, _raw: RawRecord, events: Vec<CallEvent>) -> Result<Accepted, SinkError> {
        let stored = events.len() as u32;
        self.events.lock().unwrap().extend(events);
        self.changed.notify_waiters();
        Ok(Accepted {
            stored,
            duplicates: 0,
        })
    }

    async fn reject(&self, rejected: RejectedRequest) {
        self.rejected.lock().unwrap().push(rejected);
        self.changed.notify_waiters();
    }
}

impl Sink {
    async fn wait_for(&self, pred: impl Fn(&[CallEvent]) -> bool) -> Vec<CallEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.changed.notified();
            {
                let events = self.events.lock().unwrap();
                if pred(&events) {
                    return events.clone();
                }
            }
            let rejected = self.rejected.lock().unwrap().clone();
            assert!(rejected.is_empty(), "the listener refused: {rejected:#?}");
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "events not seen; so far: {:#?}",
                    self.events.lock().unwrap()
                );
            }
        }
    }
}

async fn call_goes_through(method: EventMethod) {
    let sink = Arc::new(Sink::default());
    let listener = Listener::start(
        ListenerConfig {
            port: 0,
            token: generate_token(),
            ..ListenerConfig::default()
        },
        sink.clone(),
    )
    .await
    .unwrap();
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = client(&sim);
    let report = c
        .ensure_subscriptions(&listener.urls().telphin, method)
        .await
        .unwrap();
    assert_eq!(report.created, 4);

    let w = sim.world();
    let call = w.create_call(
        Direction::Inbound,
        "+79001234567",
        Some("Ivan"),
        AGENT_NUMBER,
        Some("74950000000"),
    );
    let leg = w.ring(&call.id, AGENT_NUMBER).unwrap();
    w.answer(&call.id, &leg).unwrap();
    w.hangup(&call.id, "200").unwrap();

    let ended =
        |e: &CallEvent| e.call_id == call.id && matches!(e.kind, CallEventKind::Ended { .. });
    let events = sink.wait_for(|evs| evs.iter().any(ended)).await;
    let mine: Vec<&CallEvent> = events.iter().filter(|e| e.call_id == call.id).collect();
    assert!(mine.iter().all(|e| e.source == Source::Telphin));
    assert!(mine
        .iter()
        .all(|e| e.control_id.as_deref() == Some(call.api_id.as_str())));
    assert!(
        mine.iter()
            .any(|e| matches!(e.kind, CallEventKind::Answered { .. })),
        "{mine:#?}"
    );
    let end = mine.iter().find(|e| ended(e)).unwrap();
    match &end.kind {
        CallEventKind::Ended { result, .. } => assert_eq!(result.outcome, Outcome::Answered),
        other => panic!("{other:?}"),
    }
    sim.shutdown();
    listener.shutdown().await;
}

#[tokio::test]
async fn extension_events_reach_the_listener_by_get() {
    call_goes_through(EventMethod::Get).await;
}

#[tokio::test]
async fn extension_events_reach_the_listener_by_post() {
    call_goes_through(EventMethod::Post).await;
}
