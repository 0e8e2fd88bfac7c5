//! Configuration of the Era front-end of the simulator.
//!
//! Every field has a demo default, so `EraSimConfig::default()` gives a working platform with
//! fixed, documented tokens: Token-API token [`DEMO_TOKEN`], User-API tokens `era-user-<ext>`
//! for extensions 101–103.

use serde::{Deserialize, Serialize};

/// Token-API token of the demo configuration.
pub const DEMO_TOKEN: &str = "era-demo-token";

/// How a failed WebSocket request is answered (the real shape was not found in the vendor
/// documents, so both candidates are available).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorShape {
    /// `[name_result, {qid, result:"error", error_code, error_message}]` (the default).
    #[default]
    ResultError,
    /// `[name_result, {qid, error_code, error_message, error_details}]`, like REST errors.
    Rest,
}

/// What an IVR script does when its external-control component is not taken (nobody sent
/// `ivrapi_accept` in time) or is given back (`ivrapi_abort`): the script goes on by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "to")]
pub enum IvrFallback {
    /// Transfer the call to this extension number (ring it when the call is not answered).
    Transfer(String),
    /// Hang the call up.
    #[default]
    Hangup,
    /// Do nothing: the call stays where it is.
    Stay,
}

/// One User-API account: an extension and the token its panel presents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraSimUser {
    /// Extension number (`101`); the user sees events of calls involving it.
    pub extension: String,
    /// Token accepted on the User-API path (in the path or as `Authorization: Bearer`).
    pub token: String,
    /// Further objects (IVR or queue numbers) this user may see, e.g. the IVR that offers
    /// external control to agents.
    #[serde(default)]
    pub extra_objects: Vec<String>,
}

/// The Era simulator's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EraSimConfig {
    /// Token-API token (`token_local` of the integration point).
    pub token: String,
    /// User-API accounts.
    pub users: Vec<EraSimUser>,
    /// User-API WebSocket path (the token follows as one more segment, or comes as Bearer).
    pub user_path: String,
    /// Shape of WebSocket error results.
    pub error_shape: ErrorShape,
    /// `expires` used when a new subscription gives none, seconds.
    pub default_expires_secs: u64,
    /// Longest subscription lifetime granted, seconds (longer requests are clamped).
    pub max_expires_secs: u64,
    /// Domain reported in `connection_info` and in `number@domain` ids.
    pub domain: String,
    /// Site reported in `connection_info`.
    pub site: String,
    /// Simulated seconds an IVR waits for `ivrapi_accept` before its script goes on.
    pub ivr_accept_timeout_secs: u64,
    /// What the script does when control is not taken or is given back.
    pub ivr_fallback: IvrFallback,
    /// Simulated seconds a play component (204) runs when not interrupted.
    pub play_secs: u64,
    /// Simulated seconds a record component (208) runs when it gives no `recTimeSec`.
    pub record_default_secs: u64,
    /// Lifetime of file links (`ivrapi_file_get_path`, `callrecord_get_path`), simulated seconds.
    pub file_link_secs: u64,
    /// Delay of `callevents.dlg_stop` after the dialogue ended, simulated milliseconds
    /// (the platform sends it with a 3-second delay).
    pub dlg_stop_delay_ms: u64,
    /// Real-time limit for downloading a file given to an `*upload*` request, milliseconds.
    pub upload_timeout_ms: u64,
    /// Largest file an `*upload*` request may download, bytes.
    pub upload_max_bytes: usize,
}

impl Default for EraSimConfig {
    fn default() -> Self {
        let user = |ext: &str| EraSimUser {
            extension: ext.to_string(),
            token: format!("era-user-{ext}"),
            extra_objects: vec!["800".to_string()],
        };
        EraSimConfig {
            token: DEMO_TOKEN.to_string(),
            users: vec![user("101"), user("102"), user("103")],
            user_path: "/ws/user/v1".to_string(),
            error_shape: ErrorShape::ResultError,
            default_expires_secs: 300,
            max_expires_secs: 3600,
            domain: "sim.era.local".to_string(),
            site: "main_site".to_string(),
            ivr_accept_timeout_secs: 30,
            ivr_fallback: IvrFallback::Transfer("101".to_string()),
            play_secs: 5,
            record_default_secs: 10,
            file_link_secs: 300,
            dlg_stop_delay_ms: 3000,
            upload_timeout_ms: 10_000,
            upload_max_bytes: 16 * 1024 * 1024,
        }
    }
}

impl EraSimConfig {
    /// The user owning `token`, if it is a User-API token.
    pub fn user_by_token(&self, token: &str) -> Option<&EraSimUser> {
        self.users
            .iter()
            .find(|u| !u.token.is_empty() && u.token == token)
    }

    /// User-API path without a trailing slash, always starting with `/`.
    pub fn user_path_normalized(&self) -> String {
        let p = self.user_path.trim().trim_end_matches('/');
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/{p}")
        }
    }
}
