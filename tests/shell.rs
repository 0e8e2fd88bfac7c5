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

fn app(dir: &tempfile::TempDir, rt: &tokio::runtime::Runtime) -> (App, Window) {
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
    let options = EngineOptions {
        config_file: Some(config),
        demo: false,
        overrides: Vec::new(),
    };
    tauri::async_runtime::set(rt.handle().clone());
    let sink = cti_panel::late_sink::<tauri::test::MockRuntime>();
    let running = rt
        .block_on(cti_panel::start_engine(
            options,
            sink.clone(),
            Arc::new(LogNotifier),
        ))
        .expect("engine starts");
    let demo = cti_panel::DemoControl::new(&running);
    let app = cti_panel::run_app(
        mock_builder(),
        running.engine.clone(),
        sink,
        demo,
        Vec::new(),
    )
    .build(cti_panel::context())
    .expect("app builds");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("main window");
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
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_app, w) = app(&dir, &rt);

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
