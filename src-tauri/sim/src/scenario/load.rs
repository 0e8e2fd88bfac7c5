//! Load mode: many agents, a steady rate of calls, for benchmarks.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::runner::{run, ScenarioReport};
use super::span::Span;
use super::spec::{CallSpec, ExtensionSpec, GeneratorSpec, Outcome};
use super::Scenario;
use crate::world::ExtensionKind;
use crate::SimContext;

/// A benchmark load: `agents` agents receive `calls_per_sec` calls per simulated second for
/// `duration` (simulated); `answer_ratio` of them are answered, the rest ring out.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadProfile {
    pub agents: u32,
    pub calls_per_sec: f64,
    pub duration: Duration,
    /// 0.0–1.0.
    pub answer_ratio: f64,
}

impl Default for LoadProfile {
    fn default() -> Self {
        LoadProfile {
            agents: 20,
            calls_per_sec: 5.0,
            duration: Duration::from_secs(60),
            answer_ratio: 0.8,
        }
    }
}

/// Extension number of load agent `i` (0-based): `1001`, `1002`, …
pub fn load_agent_number(i: u32) -> String {
    (1001 + u64::from(i)).to_string()
}

impl LoadProfile {
    /// The scenario this profile runs: agents `1001…` (ids `90001…`), calls from random mobile
    /// numbers to a free agent at evenly spaced times, ringing 0.5–3 s, talking 3–20 s.
    pub fn scenario(&self) -> Scenario {
        let agents = self.agents.max(1);
        let extensions = (0..agents)
            .map(|i| ExtensionSpec {
                id: (90_001 + u64::from(i)).to_string(),
                number: load_agent_number(i),
                name: format!("Load agent {}", i + 1),
                kind: ExtensionKind::Agent,
                sip_name: None,
            })
            .collect();
        let ratio = if self.answer_ratio.is_finite() {
            self.answer_ratio.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let answered_weight = (ratio * 1000.0).round() as u32;
        let template = |outcome: Outcome, weight: u32| CallSpec {
            weight,
            from: "@caller".into(),
            did: Some("74950000000".into()),
            to: "@agent".into(),
            outcome,
            ring: Some(Span::range(500, 3000)),
            ring_timeout: Some(Span::secs(5)),
            talk: Some(Span::range(3000, 20_000)),
            ..CallSpec::default()
        };
        let rate = if self.calls_per_sec.is_finite() && self.calls_per_sec > 0.0 {
            self.calls_per_sec
        } else {
            1.0
        };
        let duration_ms = i64::try_from(self.duration.as_millis()).unwrap_or(i64::MAX);
        Scenario {
            name: "load".into(),
            description: format!(
                "{agents} agents, {rate} calls/s for {duration_ms} ms, answer ratio {ratio}"
            ),
            demo_directory: false,
            extensions,
            generator: Some(GeneratorSpec {
                start: Span::ms(0),
                rate: Some(rate),
                // Calls start at k / rate for k = 0, 1, … strictly before the end.
                until: Some(Span::ms((duration_ms - 1).max(0))),
                templates: vec![
                    template(Outcome::Answered, answered_weight),
                    template(Outcome::Missed, 1000 - answered_weight),
                ],
                ..GeneratorSpec::default()
            }),
            ..Scenario::default()
        }
    }
}

/// Run a load profile in simulated time; the report comes when every call has ended.
pub fn run_load(ctx: SimContext, profile: LoadProfile) -> JoinHandle<ScenarioReport> {
    run(ctx, profile.scenario())
}
