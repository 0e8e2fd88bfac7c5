//! The Tauri shell of the CTI panel: window, commands, events, tray, notifications, deep links.
//! Everything else lives in `cti-core`.

mod admin;
pub mod cli;
mod commands;
pub mod commands_list;
mod demo;
mod desktop;
mod logging;

use std::sync::Arc;

use clap::Parser;
use cti_core::engine::{Engine, EngineOptions, LogNotifier, LogSink, Notifier, UiSink};
use tauri::Runtime;

pub use demo::{start_engine, DemoControl, Running};

/// Name of the Tauri event carrying engine `UiEvent`s.
pub const UI_EVENT: &str = "cti://event";

/// Register commands, plugins and setup on a builder around a started engine. Generic over the
/// runtime so tests can use Tauri's mock runtime.
pub fn run_app<R: Runtime>(
    builder: tauri::Builder<R>,
    engine: Engine,
    sink: Arc<desktop::LateSink<R>>,
    demo: DemoControl,
    links: Vec<String>,
) -> tauri::Builder<R> {
    builder
        .manage(engine)
        .manage(demo)
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
        ])
        .setup(move |app| {
            sink.attach(app.handle().clone());
            if let Err(e) = desktop::build_tray(app) {
                tracing::warn!(error = %e, "no tray icon");
            }
            desktop::open_links(app.handle(), &links);
            if let Some(engine) = tauri::Manager::try_state::<Engine>(app) {
                desktop::apply_desktop_settings(app.handle(), &engine.config().ui);
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
    let sink = late_sink::<tauri::Wry>();
    let notifier: Arc<dyn Notifier> = Arc::new(desktop::DesktopNotifier);
    let running = match runtime.block_on(start_engine(options, sink.clone(), notifier)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            return 1;
        }
    };
    let links: Vec<String> = cli.url.into_iter().collect();
    let engine = running.engine.clone();
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            desktop::open_links(app, &argv);
            desktop::show_main(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_global_shortcut::Builder::new().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ));
    let demo = DemoControl::new(&running);
    let app = match run_app(builder, engine.clone(), sink, demo, links).build(context()) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            return 1;
        }
    };
    {
        use tauri_plugin_deep_link::DeepLinkExt;
        let handle = app.handle().clone();
        app.deep_link().on_open_url(move |event| {
            let urls: Vec<String> = event.urls().iter().map(|u| u.to_string()).collect();
            desktop::open_links(&handle, &urls);
        });
        #[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
        if let Err(e) = app.deep_link().register_all() {
            tracing::debug!(error = %e, "tel:/callto: handlers not registered");
        }
    }
    if engine.config().ui.start_minimised {
        use tauri::Manager;
        if let Some(w) = app.get_webview_window("main") {
            let _ = w.hide();
        }
    }
    app.run(move |_app, event| {
        if let tauri::RunEvent::Exit = event {
            let e = engine.clone();
            tauri::async_runtime::block_on(async move { e.shutdown().await });
        }
    });
    drop(running);
    0
}

/// Sinks for headless mode.
pub(crate) fn headless_sinks() -> (Arc<dyn UiSink>, Arc<dyn Notifier>) {
    (Arc::new(LogSink), Arc::new(LogNotifier))
}
