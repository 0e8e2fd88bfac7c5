//! Starting the engine (with the built-in simulator in demo mode), headless mode and the
//! CLI subcommands that run the core without a window.

use std::path::Path;
use std::sync::Arc;

use cti_core::engine::{Engine, EngineOptions, Notifier, UiSink};
use cti_core::era::EraConfig;
use cti_core::history::{CallFilter, ExportFormat};
use cti_sim::scenario::Scenario;
use cti_sim::{Sim, SimConfig};

use crate::cli;

/// The engine and, in demo mode, the simulator it talks to (kept alive together).
pub struct Running {
    pub engine: Engine,
    pub sim: Option<Sim>,
    /// The demo scenario's task (demo mode).
    pub scenario: Option<tokio::task::JoinHandle<cti_sim::scenario::ScenarioReport>>,
}

/// The demo agent: extension 101 (Telphin id 34414), as in the simulator's demo directory.
const DEMO_EXTENSION: &str = "101";
const DEMO_EXTENSION_ID: &str = "34414";

/// Start the engine; in demo mode first start the simulator and point every client at it.
pub async fn start_engine(
    mut options: EngineOptions,
    ui: Arc<dyn UiSink>,
    notifier: Arc<dyn Notifier>,
) -> Result<Running, String> {
    if !options.demo {
        let engine = Engine::start(options, ui, notifier)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Running {
            engine,
            sim: None,
            scenario: None,
        });
    }
    // Demo: its own history file, a loopback listener on a free port.
    let demo_dir = cti_core::config::default_data_dir().join("demo");
    options.overrides.extend([
        (
            "storage.data_dir".to_string(),
            toml::Value::String(demo_dir.display().to_string()),
        ),
        ("listener.enabled".to_string(), toml::Value::Boolean(true)),
        (
            "listener.bind".to_string(),
            toml::Value::String("127.0.0.1".into()),
        ),
        ("listener.port".to_string(), toml::Value::Integer(0)),
    ]);
    let engine = Engine::start(options, ui, notifier)
        .await
        .map_err(|e| e.to_string())?;
    let urls = engine
        .snapshot()
        .listener_urls
        .ok_or("demo mode needs the webhook listener; it did not start")?;

    let scenario = Scenario::builtin_demo().map_err(|e| format!("demo scenario: {e}"))?;
    let mut sim_config = scenario
        .sim_config(&SimConfig::default())
        .map_err(|e| format!("demo scenario: {e}"))?;
    sim_config.webhooks.url = Some(urls.calls.clone());
    sim_config.telphin.call_interactive.url = Some(urls.ivr.clone());
    let sim = Sim::start(sim_config.clone())
        .await
        .map_err(|e| format!("simulator: {e}"))?;
    let base = sim.base_url().to_string();
    tracing::info!(simulator = %base, "demo: simulator started");

    let user_token = sim_config
        .era
        .users
        .iter()
        .find(|u| u.extension == DEMO_EXTENSION)
        .map(|u| u.token.clone())
        .unwrap_or_else(|| format!("era-user-{DEMO_EXTENSION}"));
    let mut era = EraConfig::for_server(&base, DEMO_EXTENSION, &user_token);
    era.rest_url = base.clone();
    // The agent also watches the demo IVR, which offers external control to agents.
    era.objects = vec![DEMO_EXTENSION.to_string(), "800".to_string()];
    era.inspector_frames = true;
    let mut telphin = engine.config().telphin;
    telphin.enabled = true;
    telphin.host = base.clone();
    telphin.client_id = sim_config.telphin.client_id.clone();
    telphin.client_secret = sim_config.telphin.client_secret.clone();
    telphin.extension_ids = vec![DEMO_EXTENSION_ID.to_string()];
    telphin.events_url = urls.telphin.clone();
    engine.connect_platforms(era, telphin).await;
    let task = cti_sim::scenario::run(sim.ctx.clone(), scenario);
    Ok(Running {
        engine,
        sim: Some(sim),
        scenario: Some(task),
    })
}

/// Run the core without a window until Ctrl-C; UI events are logged.
pub async fn run_headless(options: EngineOptions) -> i32 {
    let (ui, notifier) = crate::headless_sinks();
    let running = match start_engine(options, ui, notifier).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            return 1;
        }
    };
    let info = running.engine.app_info();
    let snap = running.engine.snapshot();
    tracing::info!(version = %info.version, demo = info.demo, config = %info.user_config, "running headless");
    eprintln!(
        "cti-panel {} running headless (demo: {}). Ctrl-C stops.",
        info.version, info.demo
    );
    if let Some(urls) = &snap.listener_urls {
        eprintln!("webhook listener: {}", urls.health);
    }
    wait_for_stop().await;
    tracing::info!("stopping");
    running.engine.shutdown().await;
    if let Some(task) = running.scenario {
        task.abort();
    }
    if let Some(sim) = running.sim {
        sim.shutdown();
    }
    0
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `cti-panel history export`: read the history file directly (no listener, no platforms).
pub async fn history_export(
    options: EngineOptions,
    format: cli::ExportFormat,
    out: Option<&Path>,
) -> i32 {
    let loaded = match cti_core::config::load(options.config_file.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            return 1;
        }
    };
    let dir = loaded
        .config
        .storage
        .data_dir
        .clone()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(cti_core::config::default_data_dir);
    let path = dir.join(cti_core::history::DEFAULT_FILE_NAME);
    if !path.exists() {
        eprintln!("cti-panel: no call history at {}", path.display());
        return 1;
    }
    let history = match cti_core::history::History::open(&path, &loaded.config.history) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            return 1;
        }
    };
    let format = match format {
        cli::ExportFormat::Csv => ExportFormat::Csv,
        cli::ExportFormat::Json => ExportFormat::Json,
    };
    let filter = CallFilter::default();
    let result = match out {
        Some(p) => std::fs::File::create(p)
            .map_err(|e| format!("{}: {e}", p.display()))
            .and_then(|mut f| {
                history
                    .export(&filter, format, &mut f)
                    .map_err(|e| e.to_string())
            }),
        None => {
            let mut stdout = std::io::stdout().lock();
            history
                .export(&filter, format, &mut stdout)
                .map_err(|e| e.to_string())
        }
    };
    let _ = history.close().await;
    match result {
        Ok(n) => {
            eprintln!("exported {n} calls");
            0
        }
        Err(e) => {
            eprintln!("cti-panel: {e}");
            1
        }
    }
}

/// Demo-only control of the simulator: make a call happen now (tests, demonstrations).
#[derive(Clone)]
pub struct DemoControl {
    ctx: Option<cti_sim::SimContext>,
}

impl DemoControl {
    pub fn new(running: &Running) -> DemoControl {
        DemoControl {
            ctx: running.sim.as_ref().map(|s| s.ctx.clone()),
        }
    }

    /// `kind`: `incoming` (rings the agent until answered, the caller gives up after 60 s),
    /// `missed` (rings 6 s, then the caller hangs up), `answered` (the agent's phone picks up
    /// after 1.5 s; the caller hangs up after 5 minutes), `ivr` (reaches IVR 800, which offers
    /// external control). Returns the simulator's call id.
    pub fn call(&self, kind: &str, from: Option<&str>) -> Result<String, String> {
        use cti_sim::world::{Direction, HuntMode, HuntPlan, MemberResponse};
        let ctx = self
            .ctx
            .as_ref()
            .ok_or("only available in demo mode (--demo)")?;
        let world = &ctx.world;
        let number = match from {
            Some(n) if !n.trim().is_empty() => n.trim().to_string(),
            _ => format!("+7916{:07}", rand::random::<u32>() % 10_000_000),
        };
        let did = Some("74951234567");
        let call = match kind {
            "ivr" => {
                let c = world.create_call(
                    Direction::Inbound,
                    &number,
                    Some("Demo IVR caller"),
                    "800",
                    did,
                );
                cti_sim::era::offer_ivr_control(
                    ctx,
                    &c.id,
                    "800",
                    serde_json::json!({"lang": "ru"}),
                );
                return Ok(c.id);
            }
            "incoming" | "missed" | "answered" => world.create_call(
                Direction::Inbound,
                &number,
                Some("Demo caller"),
                DEMO_EXTENSION,
                did,
            ),
            other => {
                return Err(format!(
                    "unknown demo call kind {other:?}: incoming, missed, answered or ivr"
                ))
            }
        };
        let (response, ring_ms, give_up_ms) = match kind {
            "missed" => (MemberResponse::NoAnswer, 6_000, 6_000),
            "answered" => (MemberResponse::Answer { after_ms: 1_500 }, 30_000, 60_000),
            _ => (MemberResponse::NoAnswer, 60_000, 60_000),
        };
        let plan = HuntPlan::new(HuntMode::Parallel, [(DEMO_EXTENSION, response)], ring_ms)
            .caller_gives_up_after(give_up_ms);
        let hunt = world.hunt(&call.id, plan);
        if kind == "answered" {
            let world = world.clone();
            let id = call.id.clone();
            tokio::spawn(async move {
                let _ = hunt.await;
                world
                    .clock()
                    .sleep(std::time::Duration::from_secs(300))
                    .await;
                let _ = world.hangup(&id, "200");
            });
        }
        Ok(call.id)
    }
}
