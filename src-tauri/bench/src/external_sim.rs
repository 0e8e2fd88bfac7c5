//! The simulator in the benchmark's own process, and the panel's configuration pointing at it:
//! the panel then runs in its normal (non-demo) configuration and its process holds the panel
//! alone.

use std::fmt::Write as _;
use std::path::Path;

/// The listener token the panel gets in the external-simulator runs (22+ URL-safe characters).
const BENCH_LISTENER_TOKEN: &str = "ctiBenchListenerToken0001";

/// The simulator running the built-in demo scenario in *this* process, for a panel started in
/// its normal (non-demo) configuration: the panel's process tree then holds the panel alone.
pub struct ExternalSim {
    rt: tokio::runtime::Runtime,
    sim: Option<cti_sim::Sim>,
    scenario: Option<tokio::task::JoinHandle<cti_sim::scenario::ScenarioReport>>,
    /// The panel's user configuration (`config.toml`) pointing Era, Telphin and the listener
    /// at this simulator.
    pub config_toml: String,
    /// The panel's secret file (`secrets.toml`, file backend): Era token, Telphin client
    /// secret, listener token.
    pub secrets_toml: String,
}

impl ExternalSim {
    /// Start the simulator on a free loopback port; its webhooks and Call Interactive requests
    /// go to the panel's listener on another free port.
    pub fn start() -> Result<ExternalSim, String> {
        let scenario = cti_sim::scenario::Scenario::builtin_demo()
            .map_err(|e| format!("demo scenario: {e}"))?;
        ExternalSim::start_scenario(scenario)
    }

    /// The same with another scenario (its `[sim]` overrides on the defaults; the Era user 101
    /// must exist, as in the demo directory).
    pub fn start_scenario(scenario: cti_sim::scenario::Scenario) -> Result<ExternalSim, String> {
        let listener_port = free_port()?;
        let hooks = format!("http://127.0.0.1:{listener_port}/hooks/{BENCH_LISTENER_TOKEN}");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("simulator runtime: {e}"))?;
        let mut config = scenario
            .sim_config(&cti_sim::SimConfig::default())
            .map_err(|e| format!("demo scenario: {e}"))?;
        config.webhooks.url = Some(format!("{hooks}/calls"));
        config.telphin.call_interactive.url = Some(format!("{hooks}/ivr"));
        let sim = rt
            .block_on(cti_sim::Sim::start(config.clone()))
            .map_err(|e| format!("simulator: {e}"))?;
        let base = sim.base_url().to_string();
        let task = {
            let _guard = rt.enter();
            cti_sim::scenario::run(sim.ctx.clone(), scenario)
        };
        let user = config
            .era
            .users
            .iter()
            .find(|u| u.extension == "101")
            .ok_or("the demo scenario has no Era user 101")?;
        let config_toml =
            panel_config_toml(&base, listener_port, &hooks, &config.telphin.client_id);
        let secrets_toml = format!(
            "\"era.token\" = {}\n\"telphin.client_secret\" = {}\n\"listener.token\" = {}\n",
            toml_str(&user.token),
            toml_str(&config.telphin.client_secret),
            toml_str(BENCH_LISTENER_TOKEN)
        );
        Ok(ExternalSim {
            rt,
            sim: Some(sim),
            scenario: Some(task),
            config_toml,
            secrets_toml,
        })
    }

    /// Write the panel's configuration and secrets into the throw-away `home`.
    pub fn configure(&self, home: &Path) -> Result<(), String> {
        let dir = home.join(".config/cti-panel");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, text) in [
            ("config.toml", &self.config_toml),
            ("secrets.toml", &self.secrets_toml),
        ] {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(())
    }
}

impl Drop for ExternalSim {
    fn drop(&mut self) {
        if let Some(t) = self.scenario.take() {
            t.abort();
        }
        if let Some(sim) = self.sim.take() {
            let _guard = self.rt.enter();
            sim.shutdown();
        }
    }
}

/// `s` as a TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The panel's `config.toml` for a simulator at `base` (`http://127.0.0.1:P`): the demo
/// agent (extension 101, Telphin id 34414), the listener on `listener_port`.
fn panel_config_toml(base: &str, listener_port: u16, hooks: &str, client_id: &str) -> String {
    let ws = base.replacen("http://", "ws://", 1);
    format!(
        r#"[era]
enabled = true
url = {ws}
rest_url = {base}
extension = "101"
objects = ["101", "800"]

[telphin]
enabled = true
host = {base}
client_id = {client_id}
extension_ids = ["34414"]
events_url = {events}

[listener]
enabled = true
bind = "127.0.0.1"
port = {listener_port}
"#,
        ws = toml_str(&ws),
        base = toml_str(base),
        events = toml_str(&format!("{hooks}/telphin")),
        client_id = toml_str(client_id),
    )
}

/// A loopback TCP port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}
