//! The Tauri shell of the CTI panel: window, commands, events, tray, notifications, deep links.
//! Everything else lives in `cti-core`.

mod admin;
pub mod cli;
mod commands;
pub mod commands_list;
mod demo;
mod desktop;
mod logging;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use cti_core::engine::{Engine, EngineOptions, LogNotifier, LogSink, Notifier, UiSink};
use cti_core::{Code, UiError};
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::watch;

pub use demo::{start_engine, DemoControl, Running};
pub use desktop::LateSink;

/// Name of the Tauri event carrying engine `UiEvent`s.
pub const UI_EVENT: &str = "cti://event";

/// Environment variable that turns on the paint acknowledgement (`1`): the UI reports each
/// incoming call's first painted card and the shell prints `PAINTED …` lines on stdout. For
/// `cti-bench screen`; off by default.
pub const BENCH_PAINT_ENV: &str = "CTI_PANEL_BENCH_PAINT";

/// How long a command waits for the engine that is still starting before it answers an error.
pub const ENGINE_WAIT: Duration = Duration::from_secs(30);

/// The started engine and the demo controls, as commands see them.
#[derive(Clone)]
pub struct Core {
    pub engine: Engine,
    pub demo: DemoControl,
}

#[derive(Clone)]
enum CoreState {
    Starting,
    Ready(Core),
    Failed(String),
}

/// The engine behind the window. The window is created first and the engine starts in the
/// background; commands wait (up to [`ENGINE_WAIT`]) until it is ready, and answer a
/// `{ code, message }` error if it failed to start.
#[derive(Clone)]
pub struct CoreSlot {
    state: Arc<watch::Sender<CoreState>>,
    /// The engine, simulator and scenario task, kept alive until exit.
    running: Arc<Mutex<Option<Running>>>,
    paint_ack: bool,
}

impl CoreSlot {
    /// An empty slot. `paint_ack` enables the `report_painted` command (see [`BENCH_PAINT_ENV`]).
    pub fn new(paint_ack: bool) -> CoreSlot {
        CoreSlot {
            state: Arc::new(watch::Sender::new(CoreState::Starting)),
            running: Arc::new(Mutex::new(None)),
            paint_ack,
        }
    }

    /// Whether the paint acknowledgement is on.
    pub fn paint_ack(&self) -> bool {
        self.paint_ack
    }

    /// The engine if it has started (never waits).
    pub fn try_get(&self) -> Option<Core> {
        match &*self.state.borrow() {
            CoreState::Ready(core) => Some(core.clone()),
            _ => None,
        }
    }

    /// The engine, waiting up to `limit` while it starts.
    pub async fn wait(&self, limit: Duration) -> Result<Core, UiError> {
        let mut rx = self.state.subscribe();
        let waited =
            tokio::time::timeout(limit, rx.wait_for(|s| !matches!(s, CoreState::Starting))).await;
        let state = match waited {
            Ok(Ok(s)) => s.clone(),
            Ok(Err(_)) => CoreState::Failed("the engine is gone".into()),
            Err(_) => {
                return Err(UiError::new(
                    Code::Timeout,
                    format!("the engine is still starting after {} s", limit.as_secs()),
                ))
            }
        };
        match state {
            CoreState::Ready(core) => Ok(core),
            CoreState::Failed(m) => Err(UiError::new(
                Code::Internal,
                format!("the engine did not start: {m}"),
            )),
            CoreState::Starting => Err(UiError::new(Code::Internal, "the engine is starting")),
        }
    }

    /// The engine for a command: [`CoreSlot::wait`] with [`ENGINE_WAIT`].
    pub async fn engine(&self) -> Result<Engine, UiError> {
        self.wait(ENGINE_WAIT).await.map(|c| c.engine)
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        match self.running.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Stop the engine (if it started) and the demo simulator; waits for a start in progress.
    pub async fn shutdown(&self) {
        if let Ok(core) = self.wait(Duration::from_secs(10)).await {
            core.engine.shutdown().await;
        }
        let running = self.lock_running().take();
        if let Some(r) = running {
            if let Some(task) = r.scenario {
                task.abort();
            }
            if let Some(sim) = r.sim {
                sim.shutdown();
            }
        }
    }
}

/// The engine's start finished: on success make it the app's managed [`Engine`] (for links,
/// shortcuts and the tray), apply the desktop settings (shortcuts, autostart), route the
/// start-up links, then let waiting commands through; on failure commands answer the error.
pub fn engine_started<R: Runtime>(
    app: &AppHandle<R>,
    slot: &CoreSlot,
    result: Result<Running, String>,
    links: &[String],
) {
    match result {
        Ok(running) => {
            let core = Core {
                engine: running.engine.clone(),
                demo: DemoControl::new(&running),
            };
            *slot.lock_running() = Some(running);
            app.manage(core.engine.clone());
            desktop::apply_desktop_settings(app, &core.engine.config().ui);
            // Before the slot opens: a `tel:` link is pending when the UI's first
            // `take_pending_dial` can run.
            desktop::open_links(app, links);
            slot.state.send_replace(CoreState::Ready(core));
            tracing::info!("engine started");
        }
        Err(e) => {
            eprintln!("cti-panel: {e}");
            tracing::error!(error = %e, "the engine did not start");
            slot.state.send_replace(CoreState::Failed(e));
        }
    }
}

/// Route links (second instance, deep link) now, or once the engine has started.
fn route_links<R: Runtime>(app: &AppHandle<R>, slot: &CoreSlot, links: Vec<String>) {
    if slot.try_get().is_some() {
        desktop::open_links(app, &links);
        return;
    }
    let (app, slot) = (app.clone(), slot.clone());
    tauri::async_runtime::spawn(async move {
        if slot.wait(ENGINE_WAIT).await.is_ok() {
            desktop::open_links(&app, &links);
        }
    });
}

/// Register commands, plugins and setup on a builder; the engine arrives later through `slot`
/// ([`engine_started`]). Generic over the runtime so tests can use Tauri's mock runtime.
pub fn run_app<R: Runtime>(
    builder: tauri::Builder<R>,
    slot: CoreSlot,
    sink: Arc<desktop::LateSink<R>>,
) -> tauri::Builder<R> {
    builder
        .manage(slot)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::get_settings,
            commands::set_setting,
            commands::snapshot,
            commands::call_action,
            commands::dial,
            commands::bridge_slot,
            commands::ivr_command,
            commands::decide_ivr,
            commands::history_list,
            commands::history_details,
            commands::history_add_note,
            commands::history_set_disposition,
            commands::history_export,
            commands::missed_seen,
            commands::inspector,
            commands::inspector_replay,
            commands::retry_connection,
            commands::ivr_rules,
            commands::set_ivr_rules,
            commands::preview_rule_xml,
            commands::validate_reply_xml,
            commands::open_link,
            commands::demo_call,
            commands::team_refresh,
            commands::team_action,
            commands::callbacks,
            commands::claim_callback,
            commands::release_callback,
            commands::callback_outcome,
            commands::self_test,
            commands::support_bundle,
            commands::take_pending_dial,
            commands::regenerate_listener_token,
            commands::paint_ack_enabled,
            commands::report_painted,
        ])
        .setup(move |app| {
            sink.attach(app.handle().clone());
            if let Err(e) = desktop::build_tray(app) {
                tracing::warn!(error = %e, "no tray icon");
            }
            Ok(())
        })
}

/// A late-bound UI sink for `run_app`.
pub fn late_sink<R: Runtime>() -> Arc<desktop::LateSink<R>> {
    desktop::LateSink::new()
}

/// The app's context (config, assets, ACL) generated from `tauri.conf.json` at build time.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

fn has_display() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// The process entry: parse the command line and run. Returns the exit code.
pub fn main_entry() -> i32 {
    let cli = cli::Cli::parse();
    let _guard = logging::init(&cti_core::config::default_log_dir());
    let options = EngineOptions {
        config_file: cli.config.clone(),
        demo: cli.demo,
        overrides: Vec::new(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cti-panel: cannot start the async runtime: {e}");
            return 1;
        }
    };

    match &cli.command {
        Some(cli::Command::SelfTest) => {
            return runtime.block_on(admin::self_test(cli.config.as_deref()));
        }
        Some(cli::Command::SupportBundle { out }) => {
            return runtime.block_on(admin::support_bundle(cli.config.as_deref(), out.as_deref()));
        }
        _ => {}
    }
    if let Some(cli::Command::History { command }) = cli.command {
        return match command {
            cli::HistoryCommand::Export { format, out } => {
                runtime.block_on(demo::history_export(options, format, out.as_deref()))
            }
        };
    }
    if cli.headless {
        return runtime.block_on(demo::run_headless(options));
    }
    if !has_display() {
        eprintln!(
            "cti-panel: no graphical display found (DISPLAY and WAYLAND_DISPLAY are not set).\n\
             Run it in a desktop session, or use `cti-panel --headless` to run the core without a window."
        );
        return 2;
    }
    tauri::async_runtime::set(runtime.handle().clone());
    // Only the start-up window flag is read here (a small TOML read); a broken configuration
    // is reported by the engine's start, in the window.
    let start_minimised = cti_core::config::load(options.config_file.as_deref())
        .map(|l| l.config.ui.start_minimised)
        .unwrap_or(false);
    let sink = late_sink::<tauri::Wry>();
    let notifier: Arc<dyn Notifier> = Arc::new(desktop::DesktopNotifier);
    let paint_ack = std::env::var(BENCH_PAINT_ENV).is_ok_and(|v| v == "1");
    let slot = CoreSlot::new(paint_ack);
    let links: Vec<String> = cli.url.into_iter().collect();
    let instance_slot = slot.clone();
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(
            move |app, argv, _cwd| {
                route_links(app, &instance_slot, argv);
                desktop::show_main(app);
            },
        ))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_global_shortcut::Builder::new().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ));
    let app = match run_app(builder, slot.clone(), sink.clone()).build(context()) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            return 1;
        }
    };
    // The setup hook runs once the event loop starts; the engine's first events (connection
    // states for the tray) may come before that.
    sink.attach(app.handle().clone());
    {
        use tauri_plugin_deep_link::DeepLinkExt;
        let handle = app.handle().clone();
        let link_slot = slot.clone();
        app.deep_link().on_open_url(move |event| {
            let urls: Vec<String> = event.urls().iter().map(|u| u.to_string()).collect();
            route_links(&handle, &link_slot, urls);
        });
        // Registering the handlers writes a desktop entry and runs `xdg-mime` on Linux: off the
        // window's path.
        #[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
        {
            let handle = app.handle().clone();
            runtime.spawn_blocking(move || {
                if let Err(e) = handle.deep_link().register_all() {
                    tracing::debug!(error = %e, "tel:/callto: handlers not registered");
                }
            });
        }
    }
    if start_minimised {
        if let Some(w) = app.get_webview_window("main") {
            let _ = w.hide();
        }
    }
    // The window exists (created by `build`, shown once the event loop runs); the engine starts
    // beside it in the background.
    let start = runtime.spawn(start_engine(options, sink, notifier));
    {
        let (handle, slot) = (app.handle().clone(), slot.clone());
        runtime.spawn(async move {
            let result = match start.await {
                Ok(r) => r,
                Err(e) => Err(format!("the engine's start-up task failed: {e}")),
            };
            engine_started(&handle, &slot, result, &links);
        });
    }
    app.run(move |_app, event| {
        if let tauri::RunEvent::Exit = event {
            let slot = slot.clone();
            tauri::async_runtime::block_on(async move { slot.shutdown().await });
        }
    });
    0
}

/// Sinks for headless mode.
pub(crate) fn headless_sinks() -> (Arc<dyn UiSink>, Arc<dyn Notifier>) {
    (Arc::new(LogSink), Arc::new(LogNotifier))
}
