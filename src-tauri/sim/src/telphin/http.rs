//! Shared plumbing of the Telphin REST routes: the handler state, the error reply
//! (`{"message": …}`, as the platform answers), the journal + fault middleware, bearer-token
//! checks and small helpers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::state::TelphinState;
use crate::journal::{Channel, Dir};
use crate::world::{Extension, WorldError};
use crate::SimContext;

/// Largest request body the simulator reads.
const BODY_LIMIT: usize = 256 * 1024;

/// State of every Telphin handler.
#[derive(Clone)]
pub(crate) struct Api {
    pub ctx: SimContext,
    pub st: Arc<TelphinState>,
}

/// An error reply: HTTP status and the `message` of the `{"message": …}` body.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not found")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "message": self.message }))).into_response()
    }
}

/// The seed's exact error text for an occupied valet-park slot.
pub(crate) const SLOT_FULL: &str = "slot already have parked member, slot is full";

impl From<WorldError> for ApiError {
    fn from(e: WorldError) -> ApiError {
        match e {
            WorldError::NoSuchCall(_) | WorldError::Ended(_) | WorldError::NoSuchLeg(_) => {
                ApiError::not_found()
            }
            WorldError::NoSuchExtension(_) => ApiError::not_found(),
            WorldError::SlotOccupied(_) => ApiError::bad_request(SLOT_FULL),
            WorldError::SlotEmpty(n) => {
                ApiError::new(StatusCode::NOT_FOUND, format!("slot {n} is empty"))
            }
            WorldError::NoParkedCall => ApiError::new(StatusCode::NOT_FOUND, "no parked calls"),
            WorldError::NoFreeSlot => ApiError::bad_request("no free slot"),
            WorldError::BadSlot(n) => {
                ApiError::bad_request(format!("slot {n} is out of range 1-9"))
            }
            other => ApiError::bad_request(other.to_string()),
        }
    }
}

pub(crate) type ApiResult = Result<Json<Value>, ApiError>;

impl Api {
    /// The extension with this id (or number), or 404.
    pub fn extension(&self, id: &str) -> Result<Extension, ApiError> {
        self.ctx.world.extension(id).ok_or_else(ApiError::not_found)
    }

    /// `client_id` of a `/client/{client_id}/` path must be `@me` or the simulated PBX's id.
    pub fn check_client(&self, client_id: &str) -> Result<(), ApiError> {
        if client_id == "@me" || client_id == self.ctx.config.telphin.pbx_client_id {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, "Access denied"))
        }
    }
}

/// A numeric id as a JSON number, anything else as a string.
pub(crate) fn id_json(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id))
}

/// `YYYY-MM-DD HH:MM:SS` in GMT, the format of Telphin's `*_time_gmt` fields.
pub(crate) fn gmt(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Parse a request body given as a JSON object or as a form; an empty body is an empty object.
pub(crate) fn body_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("Body is not UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return match v {
            Value::Object(m) => Ok(m),
            _ => Err(ApiError::bad_request("Body must be a JSON object")),
        };
    }
    match serde_urlencoded::from_str::<Vec<(String, String)>>(text) {
        Ok(pairs) if !pairs.is_empty() && text.contains('=') => Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()),
        _ => Err(ApiError::bad_request("Body is neither JSON nor a form")),
    }
}

/// A string field of a body object (strings as they are, numbers as text).
pub(crate) fn field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Journal every request and reply, then apply the REST faults (delay, forced status).
pub(crate) async fn journal_and_faults(
    State(api): State<Api>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let what = format!(
        "{} {}",
        parts.method,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            api.ctx.journal.record(
                Channel::TelphinRest,
                Dir::In,
                what.clone(),
                "<body too large>",
            );
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                .into_response();
        }
    };
    api.ctx.journal.record(
        Channel::TelphinRest,
        Dir::In,
        what.clone(),
        String::from_utf8_lossy(&bytes),
    );
    let delay = api.ctx.faults.rest_delay_ms();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let response = match api.ctx.faults.rest_status() {
        Some(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            ApiError::new(status, "Simulated failure").into_response()
        }
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    let (parts, body) = response.into_parts();
    let out = to_bytes(body, BODY_LIMIT * 4).await.unwrap_or_default();
    api.ctx.journal.record(
        Channel::TelphinRest,
        Dir::Out,
        format!("{} {}", parts.status.as_u16(), what),
        String::from_utf8_lossy(&out),
    );
    Response::from_parts(parts, Body::from(out))
}

/// Reject API requests without a valid, unexpired bearer token (401).
pub(crate) async fn require_token(State(api): State<Api>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        Some(token) if token_valid(&api, &token) => next.run(req).await,
        Some(_) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "Token is invalid or expired").into_response()
        }
        None => ApiError::new(StatusCode::UNAUTHORIZED, "Authorization required").into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn token_valid(api: &Api, token: &str) -> bool {
    let now = api.ctx.world.now_ms();
    let mut inner = api.st.lock();
    inner.tokens.retain(|_, exp| *exp > now);
    inner.tokens.contains_key(token)
}
