//! Desktop integration: the UI event sink, notifications (notify-rust, never taking focus),
//! the tray icon and `tel:`/`callto:` links.

use std::sync::{Arc, Mutex, OnceLock};

use cti_core::engine::{DesktopNotice, Engine, Notifier, UiEvent, UiSink};
use cti_core::model::ConnectionState;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::UI_EVENT;

/// Emits engine events to the window once the app exists (attached in the setup hook, before
/// the engine starts).
pub struct LateSink<R: Runtime> {
    app: OnceLock<AppHandle<R>>,
    tray: Mutex<TrayState>,
}

#[derive(Default)]
struct TrayState {
    missed: u32,
    connections: Vec<(String, bool)>,
}

impl<R: Runtime> LateSink<R> {
    pub fn new() -> Arc<Self> {
        Arc::new(LateSink {
            app: OnceLock::new(),
            tray: Mutex::new(TrayState::default()),
        })
    }

    pub fn attach(&self, app: AppHandle<R>) {
        let _ = self.app.set(app);
    }

    fn update_tray(&self, event: &UiEvent) {
        let Some(app) = self.app.get() else { return };
        let mut t = match self.tray.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        match event {
            UiEvent::Missed(n) => t.missed = *n,
            UiEvent::Connection(c) => {
                let name = format!("{:?}", c.platform);
                let ok = matches!(
                    c.state,
                    ConnectionState::Connected { .. } | ConnectionState::Disabled
                );
                match t.connections.iter_mut().find(|(n, _)| *n == name) {
                    Some(entry) => entry.1 = ok,
                    None => t.connections.push((name, ok)),
                }
            }
            _ => return,
        }
        let down: Vec<&str> = t
            .connections
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.as_str())
            .collect();
        let mut tip = String::from("CTI Panel");
        if down.is_empty() {
            tip.push_str(" — connected");
        } else {
            tip.push_str(&format!(" — not connected: {}", down.join(", ")));
        }
        if t.missed > 0 {
            tip.push_str(&format!(" — {} missed", t.missed));
        }
        if let Some(tray) = app.tray_by_id("main") {
            let _ = tray.set_tooltip(Some(&tip));
            #[cfg(target_os = "macos")]
            let _ = tray.set_title(if t.missed > 0 {
                Some(t.missed.to_string())
            } else {
                None
            });
        }
    }
}

impl<R: Runtime> UiSink for LateSink<R> {
    fn emit(&self, event: &UiEvent) {
        self.update_tray(event);
        if let (UiEvent::Settings(s), Some(app)) = (event, self.app.get()) {
            apply_desktop_settings(app, &s.ui);
        }
        match self.app.get() {
            Some(app) => {
                if let Err(e) = app.emit(UI_EVENT, event) {
                    tracing::warn!(error = %e, "cannot emit UI event");
                }
            }
            None => tracing::debug!("UI event before the window exists"),
        }
    }
}

/// Desktop notifications through the OS notification service. They never take keyboard focus;
/// failures (no notification daemon) are logged, never fatal.
pub struct DesktopNotifier;

impl Notifier for DesktopNotifier {
    fn notify(&self, n: &DesktopNotice) {
        let (title, body) = (n.title.clone(), n.body.clone());
        std::thread::spawn(move || {
            let r = notify_rust::Notification::new()
                .appname("CTI Panel")
                .summary(&title)
                .body(&body)
                .timeout(notify_rust::Timeout::Milliseconds(8000))
                .show();
            if let Err(e) = r {
                tracing::debug!(error = %e, "notification not shown");
            }
        });
    }
}

/// The tray icon: Show and Quit; tooltip with connection state and missed calls.
pub fn build_tray<R: Runtime>(app: &tauri::App<R>) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show / Показать", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit / Выход", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &quit])?;
    let mut builder = TrayIconBuilder::with_id("main")
        .tooltip("CTI Panel")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_main(app),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Route `tel:`/`callto:` links (command line, second instance, deep link) to the dial action.
pub fn open_links<R: Runtime>(app: &AppHandle<R>, args: &[String]) {
    let Some(engine) = app.try_state::<Engine>() else {
        return;
    };
    for a in args {
        let lower = a.to_ascii_lowercase();
        if lower.starts_with("tel:") || lower.starts_with("callto:") {
            match engine.dial_request(a) {
                Ok(n) => {
                    tracing::info!(number = %n, "dial link opened");
                    show_main(app);
                }
                Err(e) => tracing::warn!(error = %e, "ignored link"),
            }
        }
    }
}

/// Register the global shortcuts and sync autostart with the settings. Safe to call again after
/// a settings change; failures (a shortcut taken by another app, no autostart support) are
/// logged, never fatal.
pub fn apply_desktop_settings<R: Runtime>(app: &AppHandle<R>, ui: &cti_core::config::UiConfig) {
    use tauri_plugin_autostart::ManagerExt as _;
    use tauri_plugin_global_shortcut::{GlobalShortcutExt, ShortcutState};

    if let Some(gs) = app.try_state::<tauri_plugin_global_shortcut::GlobalShortcut<R>>() {
        let _ = gs.unregister_all();
        let bindings = [
            (
                ui.shortcut_answer.clone(),
                cti_core::engine::Shortcut::Answer,
            ),
            (
                ui.shortcut_hangup.clone(),
                cti_core::engine::Shortcut::Hangup,
            ),
            (ui.shortcut_dial.clone(), cti_core::engine::Shortcut::Dial),
        ];
        for (keys, which) in bindings {
            if keys.trim().is_empty() {
                continue;
            }
            let r = app
                .global_shortcut()
                .on_shortcut(keys.as_str(), move |app, _s, event| {
                    if event.state != ShortcutState::Pressed {
                        return;
                    }
                    if which == cti_core::engine::Shortcut::Dial {
                        show_main(app);
                    }
                    if let Some(engine) = app.try_state::<Engine>() {
                        let engine = engine.inner().clone();
                        tauri::async_runtime::spawn(async move {
                            if let Err(e) = engine.shortcut(which).await {
                                tracing::warn!(error = %e, ?which, "shortcut action failed");
                            }
                        });
                    }
                });
            if let Err(e) = r {
                tracing::warn!(error = %e, keys = %keys, "global shortcut not registered");
            }
        }
    }
    if app
        .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_some()
    {
        let al = app.autolaunch();
        let on = al.is_enabled().unwrap_or(false);
        let r = match (ui.autostart, on) {
            (true, false) => al.enable(),
            (false, true) => al.disable(),
            _ => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "autostart not changed");
        }
    }
}
