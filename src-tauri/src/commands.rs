//! Tauri commands: one-line delegations into the core engine.
//!
//! The window exists before the engine has started (it starts in the background), so every
//! command that needs the engine first waits for it through the managed [`CoreSlot`]
//! (at most [`crate::ENGINE_WAIT`]); a failed start or a start still running after that answers a
//! `{ code, message }` error like any other failure.

use cti_core::engine::{
    AppInfo, CallAction, CallbackItem, IvrCommand, Platform, SettingsView, Snapshot, TeamAction,
    TeamView,
};
use cti_core::history::{CallDetails, CallFilter, CallPage, ExportFormat, Note, PageRequest};
use cti_core::hooks::{Action, IvrRule, IvrSettings};
use cti_core::{Code, UiError};
use tauri::State;
use tracing::instrument;

use crate::CoreSlot;

pub type Slot<'a> = State<'a, CoreSlot>;

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn app_info(core: Slot<'_>) -> Result<AppInfo, UiError> {
    Ok(core.engine().await?.app_info())
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn get_settings(core: Slot<'_>) -> Result<SettingsView, UiError> {
    Ok(core.engine().await?.settings())
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn set_setting(
    core: Slot<'_>,
    key: String,
    value: serde_json::Value,
) -> Result<SettingsView, UiError> {
    core.engine()
        .await?
        .set_setting(&key, value)
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn snapshot(core: Slot<'_>) -> Result<Snapshot, UiError> {
    Ok(core.engine().await?.snapshot())
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn call_action(core: Slot<'_>, key: String, action: CallAction) -> Result<(), UiError> {
    core.engine()
        .await?
        .call_action(&key, action)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn dial(core: Slot<'_>, number: String) -> Result<(), UiError> {
    core.engine()
        .await?
        .dial(&number)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn bridge_slot(core: Slot<'_>, extension_id: String, slot: u8) -> Result<(), UiError> {
    core.engine()
        .await?
        .bridge_slot(&extension_id, slot)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn ivr_command(core: Slot<'_>, key: String, command: IvrCommand) -> Result<(), UiError> {
    core.engine()
        .await?
        .ivr_command(&key, command)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn decide_ivr(core: Slot<'_>, id: u64, actions: Vec<Action>) -> Result<(), UiError> {
    core.engine()
        .await?
        .decide_ivr(id, actions)
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn history_list(
    core: Slot<'_>,
    filter: CallFilter,
    page: PageRequest,
) -> Result<CallPage, UiError> {
    core.engine()
        .await?
        .history_list(filter, page)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn history_details(core: Slot<'_>, call_id: i64) -> Result<CallDetails, UiError> {
    core.engine()
        .await?
        .history_details(call_id)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core, body), err)]
pub async fn history_add_note(core: Slot<'_>, call_id: i64, body: String) -> Result<Note, UiError> {
    core.engine()
        .await?
        .history_add_note(call_id, body)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn history_set_disposition(
    core: Slot<'_>,
    call_id: i64,
    disposition: Option<String>,
) -> Result<(), UiError> {
    core.engine()
        .await?
        .history_set_disposition(call_id, disposition)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn history_export(
    core: Slot<'_>,
    filter: CallFilter,
    format: ExportFormat,
) -> Result<String, UiError> {
    core.engine()
        .await?
        .history_export_default(&filter, format)
        .map(|p| p.display().to_string())
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn missed_seen(core: Slot<'_>) -> Result<(), UiError> {
    core.engine().await?.missed_seen();
    Ok(())
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn inspector(core: Slot<'_>) -> Result<serde_json::Value, UiError> {
    Ok(core.engine().await?.inspector())
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn inspector_replay(core: Slot<'_>, id: u64) -> Result<serde_json::Value, UiError> {
    core.engine()
        .await?
        .inspector_replay(id)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn retry_connection(core: Slot<'_>, platform: Platform) -> Result<(), UiError> {
    core.engine()
        .await?
        .retry(platform)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn ivr_rules(core: Slot<'_>) -> Result<IvrSettings, UiError> {
    core.engine().await?.ivr_rules().map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn set_ivr_rules(core: Slot<'_>, settings: IvrSettings) -> Result<IvrSettings, UiError> {
    core.engine()
        .await?
        .set_ivr_rules(settings)
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn preview_rule_xml(core: Slot<'_>, rule: IvrRule) -> Result<String, UiError> {
    Ok(core.engine().await?.preview_rule_xml(&rule))
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn validate_reply_xml(core: Slot<'_>, xml: String) -> Result<Vec<Action>, UiError> {
    core.engine()
        .await?
        .validate_reply_xml(&xml)
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn open_link(core: Slot<'_>, link: String) -> Result<String, UiError> {
    core.engine()
        .await?
        .dial_request(&link)
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn demo_call(
    core: Slot<'_>,
    kind: String,
    from: Option<String>,
) -> Result<String, UiError> {
    core.wait(crate::ENGINE_WAIT)
        .await?
        .demo
        .call(&kind, from.as_deref())
        .map_err(|m| UiError::new(Code::Unsupported, m))
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn team_refresh(core: Slot<'_>) -> Result<TeamView, UiError> {
    core.engine()
        .await?
        .team_refresh()
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn team_action(
    core: Slot<'_>,
    extension_id: String,
    call_api_id: String,
    action: TeamAction,
) -> Result<(), UiError> {
    core.engine()
        .await?
        .team_action(&extension_id, &call_api_id, action)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn callbacks(core: Slot<'_>) -> Result<Vec<CallbackItem>, UiError> {
    core.engine()
        .await?
        .callbacks()
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn claim_callback(core: Slot<'_>, key: String) -> Result<(), UiError> {
    core.engine()
        .await?
        .claim_callback(&key)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn release_callback(core: Slot<'_>, key: String) -> Result<(), UiError> {
    core.engine()
        .await?
        .release_callback(&key)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn callback_outcome(core: Slot<'_>, key: String, outcome: String) -> Result<(), UiError> {
    core.engine()
        .await?
        .callback_outcome(&key, &outcome)
        .await
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn self_test(core: Slot<'_>) -> Result<cti_core::support::SelfTestReport, UiError> {
    let engine = core.engine().await?;
    let extra = vec![crate::admin::notifications_item(&engine.config())];
    Ok(engine.self_test(extra).await)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn support_bundle(core: Slot<'_>) -> Result<String, UiError> {
    let engine = core.engine().await?;
    let extra = vec![crate::admin::notifications_item(&engine.config())];
    engine
        .support_bundle(None, extra)
        .await
        .map(|p| p.display().to_string())
        .map_err(UiError::from)
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn take_pending_dial(core: Slot<'_>) -> Result<Option<String>, UiError> {
    Ok(core.engine().await?.take_pending_dial())
}

#[tauri::command]
#[instrument(skip(core), err)]
pub async fn regenerate_listener_token(
    core: Slot<'_>,
) -> Result<cti_core::hooks::ListenerUrls, UiError> {
    core.engine()
        .await?
        .regenerate_listener_token()
        .await
        .map_err(UiError::from)
}

/// Whether the UI should acknowledge painted incoming-call cards (`CTI_PANEL_BENCH_PAINT=1`).
/// Answers at once, before the engine has started.
#[tauri::command]
pub fn paint_ack_enabled(core: Slot<'_>) -> bool {
    core.paint_ack()
}

/// The UI painted the first card of an incoming call (benchmarks only, see
/// [`crate::BENCH_PAINT_ENV`]). The wall clock is stamped when the command arrives here, so the
/// time includes the IPC back from the web view; one line goes to stdout:
/// `PAINTED <card key> <unix µs> <remote number> <source:call id,…> <mounted> <sent>`
/// (the web view's clock, unix µs at millisecond resolution, when the card entered the DOM and
/// when the report left after the paint; `-` if not given).
#[tauri::command]
pub fn report_painted(
    core: Slot<'_>,
    key: String,
    number: String,
    refs: Vec<String>,
    mounted_ms: Option<f64>,
    sent_ms: Option<f64>,
) -> Result<(), UiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    if !core.paint_ack() {
        return Err(UiError::new(
            Code::Unsupported,
            format!(
                "paint acknowledgements are off ({}=1 turns them on)",
                crate::BENCH_PAINT_ENV
            ),
        ));
    }
    let refs: Vec<String> = refs.iter().take(8).map(|r| painted_field(r)).collect();
    let js_us = |ms: Option<f64>| {
        ms.filter(|m| m.is_finite() && *m > 0.0 && *m < 1e15)
            .map(|m| (m * 1000.0) as u128)
    };
    let line = painted_line(
        &key,
        now,
        &number,
        &refs,
        [js_us(mounted_ms), js_us(sent_ms)],
    );
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    Ok(())
}

/// One `PAINTED` line (fields made single words).
pub fn painted_line(
    key: &str,
    unix_us: u128,
    number: &str,
    refs: &[String],
    web_us: [Option<u128>; 2],
) -> String {
    let refs = if refs.is_empty() {
        "-".to_string()
    } else {
        refs.join(",")
    };
    let [mounted, sent] = web_us.map(|m| m.map_or_else(|| "-".to_string(), |m| m.to_string()));
    format!(
        "PAINTED {} {unix_us} {} {refs} {mounted} {sent}",
        painted_field(key),
        painted_field(number)
    )
}

/// A field of the `PAINTED` line: at most 200 characters, no whitespace or commas, never empty.
fn painted_field(s: &str) -> String {
    let f: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control() && *c != ',')
        .take(200)
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}
