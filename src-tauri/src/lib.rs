//! The Tauri shell of the CTI panel: window, commands, events, tray, notifications, deep links.
//! Everything else lives in `cti-core`.

pub mod cli;
mod commands;
pub mod commands_list;
mod demo;
mod logging;

use std::sync::Arc;

use clap::Parser;
use cti_core::engine::{Engine, EngineOptions, LogSink, UiEvent, UiSink};
use tauri::{Emitter, Runtime};

/// Name of the Tauri event carrying [`UiEvent`]s.
pub const UI_EVENT: &str = "cti://event";

/// Emits engine events to the window.
struct TauriSink<R: Runtime>(tauri::AppHandle<R>);

impl<R: Runtime> UiSink for TauriSink<R> {
    fn emit(&self, event: &UiEvent) {
        if let Err(e) = self.0.emit(UI_EVENT, event) {
            tracing::warn!(error = %e, "cannot emit UI event");
        }
    }
}

/// Register commands, plugins and setup on a builder. Generic over the runtime so tests can use
/// Tauri's mock runtime.
pub fn run_app<R: Runtime>(builder: tauri::Builder<R>, options: EngineOptions) -> tauri::Builder<R> {
    builder
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::get_settings,
            commands::set_setting
        ])
        .setup(move |app| {
            let sink: Arc<dyn UiSink> = Arc::new(TauriSink(app.handle().clone()));
            let engine = Engine::start(options.clone(), sink)?;
            tauri::Manager::manage(app, engine);
            Ok(())
        })
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
    let options = EngineOptions { config_file: cli.config.clone(), demo: cli.demo, overrides: Vec::new() };

    if let Some(cli::Command::History { command }) = cli.command {
        return match command {
            cli::HistoryCommand::Export { format, out } => demo::history_export(&options, format, out.as_deref()),
        };
    }
    if cli.headless {
        return demo::run_headless(options);
    }
    if !has_display() {
        eprintln!(
            "cti-panel: no graphical display found (DISPLAY and WAYLAND_DISPLAY are not set).\n\
             Run it in a desktop session, or use `cti-panel --headless` to run the core without a window."
        );
        return 2;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cti-panel: cannot start the async runtime: {e}");
            return 1;
        }
    };
    tauri::async_runtime::set(runtime.handle().clone());
    let result = run_app(tauri::Builder::default(), options).run(tauri::generate_context!());
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            1
        }
    }
}

/// Keep `LogSink` reachable for headless mode.
pub fn log_sink() -> Arc<dyn UiSink> {
    Arc::new(LogSink)
}
