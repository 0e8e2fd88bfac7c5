//! Helpers shared by the Telphin simulator tests.
#![allow(dead_code)]

use std::time::Duration;

use cti_sim::telphin::{ExtType, SimExtension, TelphinSimConfig};
use cti_sim::world::{Call, Direction};
use cti_sim::{Sim, SimConfig};
use serde_json::Value;

pub const AGENT: &str = "34414";
pub const AGENT_NUMBER: &str = "101";
pub const AGENT2_NUMBER: &str = "102";
pub const SUPERVISOR_NUMBER: &str = "103";
pub const IVR: &str = "34450";

/// The extensions of the test PBX (independent of the World's demo directory).
pub fn extensions() -> Vec<SimExtension> {
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
        e(IVR, "500", ExtType::Ivr),
        e("34460", "200", ExtType::Queue),
    ]
}

/// A simulator at `speed` with Telphin defaults changed by `tweak` (no auto-answer unless set).
pub async fn sim_with(speed: f64, tweak: impl FnOnce(&mut TelphinSimConfig)) -> Sim {
    let mut telphin = TelphinSimConfig {
        auto_answer_secs: None,
        extensions: extensions(),
        ..Default::default()
    };
    tweak(&mut telphin);
    Sim::start(SimConfig {
        speed,
        telphin,
        ..Default::default()
    })
    .await
    .expect("sim starts")
}

pub async fn token(sim: &Sim) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("token json");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// An authorised API client for one simulator.
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn new(sim: &Sim) -> Api {
        Api {
            base: format!("{}/api/ver1.0", sim.base_url()),
            token: token(sim).await,
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// An incoming call from `from` answered by the extension with number `agent`.
pub fn answered_call(sim: &Sim, from: &str, agent: &str) -> Call {
    let w = sim.world();
    let c = w.create_call(
        Direction::Inbound,
        from,
        Some("Caller"),
        agent,
        Some("74951234567"),
    );
    let leg = w.ring(&c.id, agent).expect("ring");
    w.answer(&c.id, &leg).expect("answer");
    w.call(&c.id).expect("call")
}

/// Poll `f` every 10 ms until it returns `Some`, for at most `secs` seconds of real time.
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

/// The uuid part of a `CallAPIID`.
pub fn uuid_of(api_id: &str) -> String {
    api_id
        .split_once('-')
        .map(|(_, u)| u.to_string())
        .unwrap_or_default()
}
