//! Tauri commands: one-line delegations into the core engine.

use std::sync::Arc;

use cti_core::engine::{AppInfo, Engine, SettingsView};
use cti_core::UiError;
use tauri::State;
use tracing::instrument;

pub type EngineState<'a> = State<'a, Arc<Engine>>;

#[tauri::command]
#[instrument(skip(engine))]
pub fn app_info(engine: EngineState<'_>) -> AppInfo {
    engine.app_info()
}

#[tauri::command]
#[instrument(skip(engine))]
pub fn get_settings(engine: EngineState<'_>) -> SettingsView {
    engine.settings()
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub fn set_setting(engine: EngineState<'_>, key: String, value: serde_json::Value) -> Result<SettingsView, UiError> {
    engine.set_setting(&key, value).map_err(UiError::from)
}
