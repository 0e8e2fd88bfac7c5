//! What the UI receives: typed views and events (TypeScript bindings generated with ts-rs).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::config::{Loaded, UiConfig};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AppInfo {
    pub version: String,
    pub demo: bool,
    pub user_config: String,
    pub provisioning_config: Option<String>,
}

/// The settings the UI edits, with the keys the administrator locked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SettingsView {
    pub ui: UiConfig,
    /// Locked keys (`ui.language`, `listener`…); the UI shows them read-only.
    pub locked: Vec<String>,
    /// Where the lock comes from, for the "locked by" hint.
    pub locked_by: Option<String>,
}

impl SettingsView {
    pub fn from_loaded(l: &Loaded) -> SettingsView {
        SettingsView {
            ui: l.config.ui.clone(),
            locked: l.locked.iter().cloned().collect(),
            locked_by: l.provisioning_file.as_ref().map(|p| p.display().to_string()),
        }
    }
}

/// Events pushed to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[ts(export)]
pub enum UiEvent {
    Settings(SettingsView),
}

/// Convert a JSON value from the UI into a TOML value; `None` for null.
pub(crate) fn json_to_toml(v: serde_json::Value) -> Option<toml::Value> {
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => toml::Value::Boolean(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        serde_json::Value::String(s) => toml::Value::String(s),
        serde_json::Value::Array(a) => toml::Value::Array(a.into_iter().filter_map(json_to_toml).collect()),
        serde_json::Value::Object(o) => {
            toml::Value::Table(o.into_iter().filter_map(|(k, v)| json_to_toml(v).map(|v| (k, v))).collect())
        }
    })
}
