//! The Tauri shell under Tauri's mock runtime: commands answer through the real IPC path and the
//! main window's capability (the real, generated ACL) allows only the app's own commands.

use std::sync::Arc;

use cti_core::engine::{EngineOptions, LogNotifier};
use serde_json::json;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;

type App = tauri::App<tauri::test::MockRuntime>;
type Window = tauri::WebviewWindow<tauri::test::MockRuntime>;

fn options(dir: &tempfile::TempDir) -> EngineOptions {
    // SAFETY: tests in this binary run the same setup; the variable only points at a missing file.
    unsafe {
        std::env::set_var(
            "CTI_PANEL_PROVISIONING",
            dir.path().join("no-provisioning.toml"),
        )
    };
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n[secrets]\nbackend = \"file\"\n[listener]\nport = 0\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .expect("config");
    EngineOptions {
        config_file: Some(config),
        demo: false,
        overrides: Vec::new(),
    }
}

/// The app and its main window, built before the engine has started (as `main_entry` does).
fn window_first(
    paint_ack: bool,
) -> (
    App,
    Window,
    cti_panel::CoreSlot,
    Arc<cti_panel::LateSink<tauri::test::MockRuntime>>,
) {
    let sink = cti_panel::late_sink::<tauri::test::MockRuntime>();
    let slot = cti_panel::CoreSlot::new(paint_ack);
    let app = cti_panel::run_app(mock_builder(), slot.clone(), sink.clone())
        .build(cti_panel::context())
        .expect("app builds");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("main window");
    (app, window, slot, sink)
}

/// One runtime for the whole test binary (Tauri's async runtime can be set only once).
fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        tauri::async_runtime::set(rt.handle().clone());
        rt
    })
}

fn app(dir: &tempfile::TempDir) -> (App, Window) {
    let options = options(dir);
    let rt = rt();
    let (app, window, slot, sink) = window_first(false);
    // A command sent before the engine has started waits for it.
    let early = {
        let w = window.clone();
        std::thread::spawn(move || invoke(&w, "app_info", json!({})))
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        !early.is_finished(),
        "app_info answered before the engine started"
    );
    let running = rt.block_on(cti_panel::start_engine(
        options,
        sink,
        Arc::new(LogNotifier),
    ));
    cti_panel::engine_started(app.handle(), &slot, running, &[]);
    let info = early
        .join()
        .expect("thread")
        .expect("app_info after the start");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    (app, window)
}

fn invoke(
    w: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<serde_json::Value>().expect("json"))
}

#[test]
fn commands_answer_and_acl_refuses_everything_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, w) = app(&dir);

    let info = invoke(&w, "app_info", json!({})).expect("app_info");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["demo"], false);

    let settings = invoke(
        &w,
        "set_setting",
        json!({"key": "ui.theme", "value": "dark"}),
    )
    .expect("set_setting");
    assert_eq!(settings["ui"]["theme"], "dark");
    let text = std::fs::read_to_string(dir.path().join("config.toml")).expect("user file written");
    assert!(text.contains("theme = \"dark\""), "{text}");
    // The generated listener token went to the 0600 secret file, not into the config file.
    let secrets = std::fs::read_to_string(dir.path().join("secrets.toml")).expect("secret file");
    let token = secrets.split('"').nth(3).unwrap_or_default().to_string();
    assert!(token.len() >= 22, "{secrets}");
    assert!(!text.contains(&token));

    let snap = invoke(&w, "snapshot", json!({})).expect("snapshot");
    assert_eq!(snap["calls"], json!([]));
    let listener = snap["connections"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["platform"] == "listener"))
        .cloned();
    assert_eq!(
        listener.expect("listener state")["state"]["state"],
        "connected"
    );
    assert!(snap["listener_urls"]["calls"]
        .as_str()
        .unwrap_or_default()
        .contains(&token));

    // A tel: link becomes a dial request; a bad call key is a typed not-found error.
    assert_eq!(
        invoke(&w, "open_link", json!({"link": "tel:+7 495 123-45-67"})).expect("link"),
        "+74951234567"
    );
    let err = invoke(
        &w,
        "call_action",
        json!({"key": "nope", "action": {"type": "hangup"}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "not_found");
    // A new listener token: the old URLs answer 404, the new ones work, the config file stays clean.
    let old_urls = snap["listener_urls"].clone();
    let urls = invoke(&w, "regenerate_listener_token", json!({})).expect("regenerate");
    assert_ne!(urls["calls"], old_urls["calls"]);
    let text = std::fs::read_to_string(dir.path().join("config.toml")).expect("user file");
    let new_token = urls["calls"]
        .as_str()
        .unwrap_or_default()
        .split('/')
        .rev()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        new_token.len() >= 22 && !text.contains(&new_token),
        "{text}"
    );
    let secrets = std::fs::read_to_string(dir.path().join("secrets.toml")).expect("secret file");
    assert!(secrets.contains(&new_token));

    // Demo controls refuse outside demo mode.
    let err = invoke(&w, "demo_call", json!({"kind": "incoming"})).unwrap_err();
    assert_eq!(err["code"], "unsupported");

    // A bad value is refused with the pinned { code, message } form, naming the key.
    let err = invoke(
        &w,
        "set_setting",
        json!({"key": "ui.notifications", "value": "loud"}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "config");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ui.notifications"),
        "{err}"
    );

    // The paint acknowledgement is off unless the benchmark turns it on.
    assert_eq!(
        invoke(&w, "paint_ack_enabled", json!({})).expect("ack"),
        false
    );
    let err = invoke(
        &w,
        "report_painted",
        json!({"key": "era:1", "number": "+7", "refs": []}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "unsupported");

    // Core window APIs and unknown plugins are not granted to the main window.
    assert!(invoke(&w, "plugin:window|close", json!({"label": "main"})).is_err());
    assert!(invoke(
        &w,
        "plugin:shell|open",
        json!({"path": "https://example.com"})
    )
    .is_err());
    assert!(invoke(&w, "no_such_command", json!({})).is_err());
}

#[test]
fn a_failed_engine_start_is_a_coded_error_and_paint_acks_answer_without_it() {
    let _ = rt();
    let (app, w, slot, _sink) = window_first(true);
    // Before the engine exists: the paint acknowledgement needs no engine.
    assert_eq!(
        invoke(&w, "paint_ack_enabled", json!({})).expect("ack"),
        true
    );
    assert_eq!(
        invoke(
            &w,
            "report_painted",
            json!({"key": "era:abc", "number": "+7 916 000", "refs": ["era:abc", "webhook:x"], "mountedMs": 1795303458600.5, "sentMs": 1795303458650.0}),
        )
        .expect("painted"),
        serde_json::Value::Null
    );
    cti_panel::engine_started(
        app.handle(),
        &slot,
        Err("history: disk full".into()),
        &["tel:+74951234567".to_string()],
    );
    for cmd in ["snapshot", "app_info", "take_pending_dial"] {
        let err = invoke(&w, cmd, json!({})).unwrap_err();
        assert_eq!(err["code"], "internal", "{cmd}: {err}");
        assert!(
            err["message"]
                .as_str()
                .unwrap_or_default()
                .contains("disk full"),
            "{cmd}: {err}"
        );
    }
}
