//! Seed-004 JSON call webhooks: the simulator POSTs `CreateIncCall`, `AttemptIncCallBegin`
//! (one per hunted number, parallel or sequential), `ChangeIncCall`, `AttemptIncCallEnd`,
//! `EndIncCall`, `MissedIncCall`, `CreateOutCall` and `EndOutCall` for the World's calls to the
//! configured URL ([`render`] tells which World change gives which hook; [`deliver`] how they
//! travel: order, retries, duplicates, reordering).
//!
//! Control routes (on the shared server):
//! - `POST /sim/webhooks/send`: POST the request body, as is, to the configured URL with the
//!   same retry policy and journalling, e.g. to replay the seed's examples (the truncated one
//!   included); replies
//!   `{"attempts":…,"status":…,"delivered":…}`.
//! - `GET /sim/webhooks/config`: the webhook configuration in force.

pub mod deliver;
pub mod render;

use std::str::FromStr;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use deliver::{post_with_retry, DeliveryResult};
pub use render::{format_time, render, session_id, Hook, HookBody};

use crate::journal::{Channel, Dir};
use crate::SimContext;

/// How the simulator sends JSON call webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSimConfig {
    /// Send hooks at all (also needs `url`).
    pub enabled: bool,
    /// Where hooks are POSTed (the panel's `/hooks/{token}/calls`). `None`: nothing is sent.
    pub url: Option<String>,
    /// IANA zone of the `YYYY-MM-DD HH:MM:SS` timestamps.
    pub time_zone: String,
    /// `CityNumber` of calls without a DID (outgoing calls, internal routing).
    pub city_number: String,
    /// Attempts per hook, the first included (1: no retry). Non-2xx replies and network
    /// errors are retried.
    pub max_attempts: u32,
    /// Wait before the first retry, simulated ms; doubles on every further retry.
    pub retry_backoff_ms: u64,
    /// Longest wait between retries, simulated ms.
    pub max_backoff_ms: u64,
    /// Timeout of one attempt, real ms.
    pub timeout_ms: u64,
    /// Extra copies of every hook (the `webhook_duplicates` fault adds to this).
    pub duplicates: u32,
    /// Send each call's hooks newest first once the call ended (also the `webhook_reorder`
    /// fault).
    pub reorder: bool,
    /// While reordering, release a call's hooks after this long even if it has not ended, real ms.
    pub reorder_max_hold_ms: u64,
    /// `ResultCode` as a JSON number when it is numeric (the schema's `integer`); by default a
    /// string, as in the seed's examples (`"200"`, `"603-S"`).
    pub result_code_as_number: bool,
    /// Leave `StartTime` out of `AttemptIncCallEnd`, `EndIncCall` and `MissedIncCall`, like the
    /// seed's examples (the schema lists it).
    pub omit_start_time_in_end_hooks: bool,
    /// Add the leg's `ResultCode` to `AttemptIncCallEnd` (not in the seed).
    pub include_attempt_result_code: bool,
}

impl Default for WebhookSimConfig {
    fn default() -> Self {
        WebhookSimConfig {
            enabled: true,
            url: None,
            time_zone: "Europe/Moscow".into(),
            city_number: "4950665310".into(),
            max_attempts: 3,
            retry_backoff_ms: 1_000,
            max_backoff_ms: 30_000,
            timeout_ms: 5_000,
            duplicates: 0,
            reorder: false,
            reorder_max_hold_ms: 10_000,
            result_code_as_number: false,
            omit_start_time_in_end_hooks: false,
            include_attempt_result_code: false,
        }
    }
}

impl WebhookSimConfig {
    /// The configured zone; Moscow when the name is unknown (logged).
    pub fn tz(&self) -> chrono_tz::Tz {
        chrono_tz::Tz::from_str(self.time_zone.trim()).unwrap_or_else(|_| {
            tracing::warn!(zone = %self.time_zone, "unknown webhook time zone, using Europe/Moscow");
            chrono_tz::Europe::Moscow
        })
    }

    fn client(&self) -> Option<reqwest::Client> {
        match reqwest::Client::builder()
            .timeout(Duration::from_millis(self.timeout_ms.max(1)))
            .build()
        {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "webhooks disabled: no HTTP client");
                None
            }
        }
    }
}

/// The control routes.
pub fn router(ctx: &SimContext) -> Router {
    Router::new()
        .route("/sim/webhooks/send", post(send))
        .route("/sim/webhooks/config", get(config))
        .with_state(ctx.clone())
}

/// Start rendering World changes and delivering hooks (nothing when disabled or without URL).
pub fn spawn(ctx: &SimContext) -> Vec<JoinHandle<()>> {
    let cfg = ctx.config.webhooks.clone();
    let Some(url) = cfg
        .url
        .clone()
        .filter(|u| cfg.enabled && !u.trim().is_empty())
    else {
        return Vec::new();
    };
    let Some(http) = cfg.client() else {
        return Vec::new();
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let dispatcher = deliver::dispatch(
        ctx.clone(),
        cfg.clone(),
        cfg.tz(),
        ctx.world.subscribe(),
        tx,
    );
    let sender = deliver::send_queue(ctx.clone(), cfg, http, url, rx);
    vec![tokio::spawn(dispatcher), tokio::spawn(sender)]
}

async fn config(State(ctx): State<SimContext>) -> Json<WebhookSimConfig> {
    Json(ctx.config.webhooks.clone())
}

async fn send(State(ctx): State<SimContext>, body: axum::body::Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    ctx.journal.record(
        Channel::Webhook,
        Dir::In,
        "POST /sim/webhooks/send",
        text.clone(),
    );
    let cfg = &ctx.config.webhooks;
    let Some(url) = cfg.url.clone().filter(|u| !u.trim().is_empty()) else {
        return (StatusCode::CONFLICT, "no webhook url configured").into_response();
    };
    let Some(http) = cfg.client() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no HTTP client").into_response();
    };
    let r = post_with_retry(&ctx, &http, cfg, &url, "manual", &text).await;
    Json(
        serde_json::json!({ "attempts": r.attempts, "status": r.status, "delivered": r.delivered }),
    )
    .into_response()
}
