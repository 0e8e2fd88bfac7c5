//! Scenarios: scripted and generated calls, IVR paths, parking and faults, run against the
//! simulator's World in simulated time. The file format is TOML, documented in
//! `assets/scenarios/README.md`; `assets/scenarios/demo.toml` is the endless demo.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cti_sim::{scenario, Sim, SimConfig};
//! let sim = Sim::start(SimConfig::default()).await?;
//! let handle = scenario::run(sim.ctx.clone(), scenario::Scenario::builtin_demo()?);
//! # handle.abort();
//! # Ok(()) }
//! ```
//!
//! Everything random (numbers, names, durations, who answers) comes from one ChaCha8 generator
//! seeded with the scenario's `seed` (else the simulator's), consumed in agenda order, so the
//! same seed gives the same sequence of World events. [`ScenarioRunner`] steps a scenario
//! without waiting, for tests; [`run`] runs it on the World's clock.

mod exec;
mod load;
mod program;
mod runner;
pub mod span;
pub mod spec;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use load::{run_load, LoadProfile};
pub use runner::{run, Fired, FiredFault, ScenarioReport, ScenarioRunner};
pub use span::Span;
pub use spec::{
    CallSpec, Contact, ExtensionSpec, FaultKind, FaultSpec, GeneratorSpec, GroupSpec, IvrSpec,
    Outcome, StepSpec,
};

use crate::SimConfig;

/// The built-in demo scenario's text.
pub const DEMO_TOML: &str = include_str!("../../../../assets/scenarios/demo.toml");

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("scenario: {0}")]
    Invalid(String),
    #[error("scenario [sim] table does not fit the simulator configuration: {0}")]
    Sim(String),
}

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Seed of every random choice (default: the simulator's `seed`).
    pub seed: Option<u64>,
    /// Overrides of the simulator configuration ([`SimConfig`] keys: `speed`, `bind`,
    /// `[sim.era]`, `[sim.telphin]`, `[sim.webhooks]`, …).
    pub sim: Option<toml::Table>,
    /// Install the demo directory (agents 101–105, IVR 800, queues 200 and 201) first.
    pub demo_directory: bool,
    pub extensions: Vec<ExtensionSpec>,
    pub groups: Vec<GroupSpec>,
    /// How long a parked call waits before it returns to the parker (default 3 min).
    pub park_timeout: Span,
    /// Pool of `@caller`.
    pub callers: Vec<Contact>,
    /// Pool of `@did`.
    pub dids: Vec<String>,
    /// Pool of `@external`.
    pub externals: Vec<Contact>,
    pub calls: Vec<CallSpec>,
    pub faults: Vec<FaultSpec>,
    pub generator: Option<GeneratorSpec>,
    /// Start the scripted calls and faults over every this long.
    pub repeat: Option<Span>,
    /// Nothing new (call, fault, repetition) starts after this.
    pub until: Option<Span>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: String::new(),
            description: String::new(),
            seed: None,
            sim: None,
            demo_directory: true,
            extensions: Vec::new(),
            groups: Vec::new(),
            park_timeout: Span::secs(180),
            callers: Vec::new(),
            dids: Vec::new(),
            externals: Vec::new(),
            calls: Vec::new(),
            faults: Vec::new(),
            generator: None,
            repeat: None,
            until: None,
        }
    }
}

impl Scenario {
    /// Parse and check a scenario.
    pub fn from_toml_str(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text)?;
        s.check()?;
        Ok(s)
    }

    /// Read, parse and check a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml_str(&text)
    }

    /// The demo scenario embedded in the binary (`assets/scenarios/demo.toml`).
    pub fn builtin_demo() -> Result<Scenario, ScenarioError> {
        Scenario::from_toml_str(DEMO_TOML)
    }

    /// Check every call, template, fault and group.
    pub fn check(&self) -> Result<(), ScenarioError> {
        let bad = |at: String, e: String| ScenarioError::Invalid(format!("{at}: {e}"));
        for (i, c) in self.calls.iter().enumerate() {
            c.check().map_err(|e| bad(format!("calls[{i}]"), e))?;
        }
        for (i, f) in self.faults.iter().enumerate() {
            f.check().map_err(|e| bad(format!("faults[{i}]"), e))?;
        }
        if let Some(g) = &self.generator {
            g.check().map_err(|e| bad("generator".into(), e))?;
        }
        for (i, g) in self.groups.iter().enumerate() {
            if g.number.trim().is_empty() || g.members.is_empty() {
                return Err(bad(
                    format!("groups[{i}]"),
                    "a group needs a number and members".into(),
                ));
            }
        }
        for (i, e) in self.extensions.iter().enumerate() {
            if e.id.trim().is_empty() || e.number.trim().is_empty() {
                return Err(bad(
                    format!("extensions[{i}]"),
                    "an extension needs an id and a number".into(),
                ));
            }
        }
        if let Some(r) = self.repeat {
            if r.min_ms <= 0 {
                return Err(ScenarioError::Invalid("repeat must be above 0".into()));
            }
        }
        if self.sim.is_some() {
            self.sim_config(&SimConfig::default())?;
        }
        Ok(())
    }

    /// `base` with this scenario's `[sim]` table applied on top.
    pub fn sim_config(&self, base: &SimConfig) -> Result<SimConfig, ScenarioError> {
        let Some(over) = &self.sim else {
            return Ok(base.clone());
        };
        let mut value =
            toml::Value::try_from(base).map_err(|e| ScenarioError::Sim(e.to_string()))?;
        merge(&mut value, &toml::Value::Table(over.clone()));
        value
            .try_into()
            .map_err(|e: toml::de::Error| ScenarioError::Sim(e.to_string()))
    }
}

/// Merge `over` into `base`: tables key by key, anything else replaced.
fn merge(base: &mut toml::Value, over: &toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}
