//! What the UI receives: typed views and events (TypeScript bindings generated with ts-rs).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::board::CallView;
use crate::config::{Loaded, UiConfig};
use crate::era::{Component, IvrOffer};
use crate::hooks::{ListenerUrls, PendingDecision};
use crate::model::ConnectionState;
use crate::provider::Capabilities;
use crate::telphin::ParkBoardSnapshot;

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
            locked_by: l
                .provisioning_file
                .as_ref()
                .map(|p| p.display().to_string()),
        }
    }
}

/// Which connection a state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Platform {
    Era,
    Telphin,
    Listener,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ConnectionView {
    pub platform: Platform,
    pub state: ConnectionState,
    /// What the panel is connected to (URL without secrets) or listening on.
    pub detail: String,
}

/// An Era IVR session offered to (or held by) the panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct IvrSessionView {
    pub key: String,
    pub offer: IvrOffer,
    /// `offered`, `controlled`, `lost`, `released` or `stopped`.
    pub state: String,
    /// Digits the caller pressed while the panel held control.
    pub dtmf: String,
    /// The component the panel is running, if any.
    pub running: Option<Component>,
    /// Results of finished components, newest last.
    pub results: Vec<ComponentResultView>,
    /// Why control was lost or could not be taken, when it was.
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ComponentResultView {
    pub transfer_key: String,
    pub results: serde_json::Value,
    /// A playable link for a recorded file (the platform's temporary link), when there is one.
    pub file_link: Option<String>,
}

/// A one-line message for the status area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Notice {
    /// `info`, `warning` or `error`.
    pub level: String,
    pub message: String,
}

/// Everything the UI needs to render from scratch (after start or a reload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Snapshot {
    pub info: AppInfo,
    pub settings: SettingsView,
    pub connections: Vec<ConnectionView>,
    pub calls: Vec<CallView>,
    pub park: ParkBoardSnapshot,
    pub ivr: Vec<IvrSessionView>,
    pub decisions: Vec<PendingDecision>,
    pub capabilities: Capabilities,
    pub listener_urls: Option<ListenerUrls>,
    /// Missed calls not yet looked at.
    pub missed: u32,
    /// The agent's own extension number (for "parked by me").
    pub extension: Option<String>,
    /// The supervisor's team view, once refreshed.
    pub team: Option<super::team::TeamView>,
}

/// Events pushed to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[ts(export)]
pub enum UiEvent {
    Settings(SettingsView),
    Call(CallView),
    CallRemoved(String),
    Connection(ConnectionView),
    Park(ParkBoardSnapshot),
    Ivr(IvrSessionView),
    IvrRemoved(String),
    Decisions(Vec<PendingDecision>),
    Notice(Notice),
    /// A `tel:`/`callto:` link asked to dial this number.
    Dial(String),
    HistoryChanged,
    Missed(u32),
    Team(super::team::TeamView),
    Callbacks(Vec<super::callbacks::CallbackItem>),
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
        serde_json::Value::Array(a) => {
            toml::Value::Array(a.into_iter().filter_map(json_to_toml).collect())
        }
        serde_json::Value::Object(o) => toml::Value::Table(
            o.into_iter()
                .filter_map(|(k, v)| json_to_toml(v).map(|v| (k, v)))
                .collect(),
        ),
    })
}
