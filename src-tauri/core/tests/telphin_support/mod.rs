//! Helpers shared by the Telphin client tests: a simulator with a known PBX and a client for it.
#![allow(dead_code)]

use std::time::Duration;

use cti_core::telphin::{TelphinClient, TelphinConfig};
use cti_sim::journal::{Channel, Dir};
use cti_sim::telphin::{ExtType, SimExtension, TelphinSimConfig};
use cti_sim::world::{Call, Direction};
use cti_sim::{Sim, SimConfig};

pub const AGENT: &str = "34414";
pub const AGENT_NUMBER: &str = "101";
pub const AGENT2_NUMBER: &str = "102";
pub const SUPERVISOR_NUMBER: &str = "103";

fn extensions() -> Vec<SimExtension> {
    let e = |id: &str, number: &str, kind| SimExtension {
        id: id.into(),
        number: number.into(),
        name: format!("Ext {number}"),
        kind,
    };
    vec![
        e(AGENT, AGENT_NUMBER, ExtType::Phone),
        e("34415", AGENT2_NUMBER, ExtType::Phone),
        e("34416", SUPERVISOR_NUMBER, ExtType::Phone),
        e("34450", "500", ExtType::Ivr),
    ]
}

/// A simulator at `speed` (no auto-answer) with Telphin settings changed by `tweak`.
pub async fn sim_with(speed: f64, seed: u64, tweak: impl FnOnce(&mut TelphinSimConfig)) -> Sim {
    let mut telphin = TelphinSimConfig {
        auto_answer_secs: None,
        extensions: extensions(),
        ..Default::default()
    };
    tweak(&mut telphin);
    Sim::start(SimConfig {
        speed,
        seed,
        telphin,
        ..Default::default()
    })
    .await
    .expect("simulator starts")
}

/// Client settings for the simulator, for the agent's extension.
pub fn config(sim: &Sim) -> TelphinConfig {
    TelphinConfig::for_server(sim.base_url(), "demo-client", "demo-secret", AGENT)
}

pub fn client(sim: &Sim) -> TelphinClient {
    TelphinClient::new(config(sim)).expect("valid config")
}

/// An incoming call from `from` answered by the extension with number `agent`.
pub fn answered_call(sim: &Sim, from: &str, agent: &str) -> Call {
    let w = sim.world();
    let c = w.create_call(Direction::Inbound, from, Some("Caller"), agent, None);
    let leg = w.ring(&c.id, agent).expect("ring");
    w.answer(&c.id, &leg).expect("answer");
    w.call(&c.id).expect("call")
}

/// Requests the simulator received whose label contains `what`.
pub fn received(sim: &Sim, what: &str) -> usize {
    sim.journal()
        .find(Channel::TelphinRest, Dir::In, what)
        .len()
}

/// Replies the simulator sent whose label (`STATUS METHOD PATH`) contains `what`.
pub fn replied(sim: &Sim, what: &str) -> usize {
    sim.journal()
        .find(Channel::TelphinRest, Dir::Out, what)
        .len()
}

/// Poll `f` every 10 ms until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
