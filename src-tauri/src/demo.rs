//! Headless mode and CLI subcommands that run the core without a window.

use std::path::Path;

use cti_core::engine::{Engine, EngineOptions};

use crate::cli::ExportFormat;

/// Run the core without a window until Ctrl-C; UI events are logged.
pub fn run_headless(options: EngineOptions) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cti-panel: cannot start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        let engine = match Engine::start(options, crate::log_sink()) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("cti-panel: {e}");
                return 1;
            }
        };
        let info = engine.app_info();
        tracing::info!(version = %info.version, demo = info.demo, config = %info.user_config, "running headless; Ctrl-C stops");
        eprintln!("cti-panel {} running headless (demo: {}). Ctrl-C stops.", info.version, info.demo);
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("stopping");
        0
    })
}

/// `cti-panel history export`.
pub fn history_export(_options: &EngineOptions, _format: ExportFormat, _out: Option<&Path>) -> i32 {
    eprintln!("cti-panel: history export is not available yet");
    1
}
