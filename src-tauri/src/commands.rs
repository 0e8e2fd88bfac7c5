//! Tauri commands: one-line delegations into the core engine.

use cti_core::engine::{
    AppInfo, CallAction, CallbackItem, Engine, IvrCommand, Platform, SettingsView, Snapshot,
    TeamAction, TeamView,
};
use cti_core::history::{CallDetails, CallFilter, CallPage, ExportFormat, Note, PageRequest};
use cti_core::hooks::{Action, IvrRule, IvrSettings};
use cti_core::UiError;
use tauri::State;
use tracing::instrument;

pub type EngineState<'a> = State<'a, Engine>;

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
pub fn set_setting(
    engine: EngineState<'_>,
    key: String,
    value: serde_json::Value,
) -> Result<SettingsView, UiError> {
    engine.set_setting(&key, value).map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine))]
pub fn snapshot(engine: EngineState<'_>) -> Snapshot {
    engine.snapshot()
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn call_action(
    engine: EngineState<'_>,
    key: String,
    action: CallAction,
) -> Result<(), UiError> {
    engine
        .call_action(&key, action)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn dial(engine: EngineState<'_>, number: String) -> Result<(), UiError> {
    engine.dial(&number).await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn bridge_slot(
    engine: EngineState<'_>,
    extension_id: String,
    slot: u8,
) -> Result<(), UiError> {
    engine
        .bridge_slot(&extension_id, slot)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn ivr_command(
    engine: EngineState<'_>,
    key: String,
    command: IvrCommand,
) -> Result<(), UiError> {
    engine
        .ivr_command(&key, command)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub fn decide_ivr(engine: EngineState<'_>, id: u64, actions: Vec<Action>) -> Result<(), UiError> {
    engine.decide_ivr(id, actions).map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn history_list(
    engine: EngineState<'_>,
    filter: CallFilter,
    page: PageRequest,
) -> Result<CallPage, UiError> {
    engine
        .history_list(filter, page)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn history_details(
    engine: EngineState<'_>,
    call_id: i64,
) -> Result<CallDetails, UiError> {
    engine.history_details(call_id).await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine, body), err)]
pub async fn history_add_note(
    engine: EngineState<'_>,
    call_id: i64,
    body: String,
) -> Result<Note, UiError> {
    engine
        .history_add_note(call_id, body)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn history_set_disposition(
    engine: EngineState<'_>,
    call_id: i64,
    disposition: Option<String>,
) -> Result<(), UiError> {
    engine
        .history_set_disposition(call_id, disposition)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub fn history_export(
    engine: EngineState<'_>,
    filter: CallFilter,
    format: ExportFormat,
) -> Result<String, UiError> {
    engine
        .history_export_default(&filter, format)
        .map(|p| p.display().to_string())
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine))]
pub fn missed_seen(engine: EngineState<'_>) {
    engine.missed_seen()
}

#[tauri::command]
#[instrument(skip(engine))]
pub fn inspector(engine: EngineState<'_>) -> serde_json::Value {
    engine.inspector()
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn inspector_replay(
    engine: EngineState<'_>,
    id: u64,
) -> Result<serde_json::Value, UiError> {
    engine.inspector_replay(id).await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn retry_connection(engine: EngineState<'_>, platform: Platform) -> Result<(), UiError> {
    engine.retry(platform).await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub fn ivr_rules(engine: EngineState<'_>) -> Result<IvrSettings, UiError> {
    engine.ivr_rules().map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub fn set_ivr_rules(
    engine: EngineState<'_>,
    settings: IvrSettings,
) -> Result<IvrSettings, UiError> {
    engine.set_ivr_rules(settings).map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine))]
pub fn preview_rule_xml(engine: EngineState<'_>, rule: IvrRule) -> String {
    engine.preview_rule_xml(&rule)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub fn validate_reply_xml(engine: EngineState<'_>, xml: String) -> Result<Vec<Action>, UiError> {
    engine.validate_reply_xml(&xml).map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub fn open_link(engine: EngineState<'_>, link: String) -> Result<String, UiError> {
    engine.dial_request(&link).map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(demo), err)]
pub async fn demo_call(
    demo: State<'_, crate::demo::DemoControl>,
    kind: String,
    from: Option<String>,
) -> Result<String, UiError> {
    demo.call(&kind, from.as_deref())
        .map_err(|m| UiError::new(cti_core::Code::Unsupported, m))
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn team_refresh(engine: EngineState<'_>) -> Result<TeamView, UiError> {
    engine.team_refresh().await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn team_action(
    engine: EngineState<'_>,
    extension_id: String,
    call_api_id: String,
    action: TeamAction,
) -> Result<(), UiError> {
    engine
        .team_action(&extension_id, &call_api_id, action)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn callbacks(engine: EngineState<'_>) -> Result<Vec<CallbackItem>, UiError> {
    engine.callbacks().await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn claim_callback(engine: EngineState<'_>, key: String) -> Result<(), UiError> {
    engine.claim_callback(&key).await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn release_callback(engine: EngineState<'_>, key: String) -> Result<(), UiError> {
    engine.release_callback(&key).await.map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn callback_outcome(
    engine: EngineState<'_>,
    key: String,
    outcome: String,
) -> Result<(), UiError> {
    engine
        .callback_outcome(&key, &outcome)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine))]
pub async fn self_test(
    engine: EngineState<'_>,
) -> Result<cti_core::support::SelfTestReport, UiError> {
    let extra = vec![crate::admin::notifications_item(&engine.config())];
    Ok(engine.self_test(extra).await)
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn support_bundle(engine: EngineState<'_>) -> Result<String, UiError> {
    let extra = vec![crate::admin::notifications_item(&engine.config())];
    engine
        .support_bundle(None, extra)
        .await
        .map(|p| p.display().to_string())
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(engine))]
pub fn take_pending_dial(engine: EngineState<'_>) -> Option<String> {
    engine.take_pending_dial()
}

#[tauri::command]
#[instrument(skip(engine), err)]
pub async fn regenerate_listener_token(
    engine: EngineState<'_>,
) -> Result<cti_core::hooks::ListenerUrls, UiError> {
    engine
        .regenerate_listener_token()
        .await
        .map_err(UiError::from)
}
