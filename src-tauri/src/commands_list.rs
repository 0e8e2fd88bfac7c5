//! The names of the app's own Tauri commands. `build.rs` turns each into an `allow-<name>`
//! permission, and `capabilities/main.json` grants exactly these to the main window.

pub const COMMANDS: &[&str] = &["app_info", "get_settings", "set_setting"];
