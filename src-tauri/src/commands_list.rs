//! The names of the app's own Tauri commands. `build.rs` turns each into an `allow-<name>`
//! permission, and `capabilities/main.json` grants exactly these to the main window.

pub const COMMANDS: &[&str] = &[
    "app_info",
    "get_settings",
    "set_setting",
    "snapshot",
    "call_action",
    "dial",
    "bridge_slot",
    "ivr_command",
    "decide_ivr",
    "history_list",
    "history_details",
    "history_add_note",
    "history_set_disposition",
    "history_export",
    "missed_seen",
    "inspector",
    "inspector_replay",
    "retry_connection",
    "ivr_rules",
    "set_ivr_rules",
    "preview_rule_xml",
    "validate_reply_xml",
    "open_link",
    "demo_call",
];
