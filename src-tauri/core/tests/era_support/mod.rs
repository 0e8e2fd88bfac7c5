//! Shared helpers of the Era client tests against the simulator.
#![allow(dead_code)]

use std::time::Duration;

use cti_core::era::{self, EraConfig, EraEvent, EraEvents, EraHandle, IvrEvent};
use cti_core::model::{CallEvent, ConnectionState};
use cti_sim::world::Direction;
use cti_sim::{Sim, SimConfig};

pub const WAIT: Duration = Duration::from_secs(8);

pub async fn sim_at(speed: f64) -> Sim {
    sim_with(speed, |_| {}).await
}

pub async fn sim_with(speed: f64, f: impl FnOnce(&mut SimConfig)) -> Sim {
    let mut cfg = SimConfig {
        speed,
        ..Default::default()
    };
    f(&mut cfg);
    Sim::start(cfg).await.expect("sim starts")
}

/// Client settings for user 101 of the simulator, with quick reconnects.
pub fn client_cfg(sim: &Sim) -> EraConfig {
    EraConfig {
        backoff_base_ms: 100,
        backoff_cap_ms: 400,
        objects: vec!["101".into(), "800".into()],
        ..EraConfig::for_server(sim.base_url(), "101", "era-user-101")
    }
}

pub struct Client {
    pub handle: EraHandle,
    pub events: EraEvents,
    pub seen: Vec<EraEvent>,
}

impl Client {
    pub async fn start(cfg: EraConfig) -> Client {
        let (handle, events) = era::start(cfg).expect("session starts");
        let c = Client {
            handle,
            events,
            seen: Vec::new(),
        };
        c.connected().await;
        c
    }

    pub async fn connected(&self) {
        let mut st = self.handle.state();
        tokio::time::timeout(
            WAIT,
            st.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
        )
        .await
        .expect("connected in time")
        .expect("state channel");
    }

    /// Next event matching `pred` (events before it are kept in `seen`).
    pub async fn wait(&mut self, what: &str, pred: impl Fn(&EraEvent) -> bool) -> EraEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out waiting for {what}; seen: {:#?}", self.calls())
                })
                .expect("event stream open");
            let hit = pred(&ev);
            self.seen.push(ev.clone());
            if hit {
                return ev;
            }
        }
    }

    pub async fn call_event(&mut self, what: &str, pred: impl Fn(&CallEvent) -> bool) -> CallEvent {
        match self
            .wait(
                what,
                |e| matches!(e, EraEvent::Call { event } if pred(event)),
            )
            .await
        {
            EraEvent::Call { event } => event,
            _ => unreachable!(),
        }
    }

    pub async fn ivr_event(&mut self, what: &str, pred: impl Fn(&IvrEvent) -> bool) -> IvrEvent {
        match self
            .wait(
                what,
                |e| matches!(e, EraEvent::Ivr { event } if pred(event)),
            )
            .await
        {
            EraEvent::Ivr { event } => event,
            _ => unreachable!(),
        }
    }

    /// A call event already seen, or the next one matching `pred`.
    pub async fn seen_or_wait(
        &mut self,
        what: &str,
        pred: impl Fn(&CallEvent) -> bool,
    ) -> CallEvent {
        if let Some(e) = self.calls().into_iter().find(|e| pred(e)) {
            return e;
        }
        self.call_event(what, pred).await
    }

    /// Call events seen so far.
    pub fn calls(&self) -> Vec<CallEvent> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                EraEvent::Call { event } => Some(event.clone()),
                _ => None,
            })
            .collect()
    }
}

/// An inbound call from `from` answered by `to`.
pub fn answered_call(sim: &Sim, from: &str, to: &str) -> String {
    let c = sim
        .world()
        .create_call(Direction::Inbound, from, None, to, None);
    let leg = sim.world().ring(&c.id, to).expect("ring");
    sim.world().answer(&c.id, &leg).expect("answer");
    c.id
}

pub fn ringing_call(sim: &Sim, from: &str, to: &str) -> (String, String) {
    let c = sim
        .world()
        .create_call(Direction::Inbound, from, None, to, None);
    let leg = sim.world().ring(&c.id, to).expect("ring");
    (c.id, leg)
}

/// Number of frames named `what` the simulator received.
pub fn received(sim: &Sim, what: &str) -> usize {
    sim.journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, what)
        .iter()
        .filter(|e| e.what == what)
        .count()
}
