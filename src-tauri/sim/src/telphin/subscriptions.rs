//! Extension event subscriptions: `/api/ver1.0/extension/{extension_id}/event/` (list, create,
//! delete all) and `/event/{id}` (get, update, delete).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use super::http::{body_object, field, Api, ApiError, ApiResult};
use super::state::Subscription;

/// Event types an extension subscription accepts.
pub const EVENT_TYPES: [&str; 7] = [
    "dial-in",
    "dial-out",
    "answer",
    "hangup",
    "message-in",
    "message-out",
    "voicemail",
];

pub(crate) async fn list(State(api): State<Api>, Path(ext): Path<String>) -> ApiResult {
    let ext = api.extension(&ext)?;
    let subs: Vec<Subscription> = api
        .st
        .lock()
        .subscriptions
        .values()
        .filter(|s| s.extension_id == ext.id)
        .cloned()
        .collect();
    Ok(Json(
        serde_json::to_value(subs).unwrap_or(Value::Array(Vec::new())),
    ))
}

pub(crate) async fn create(
    State(api): State<Api>,
    Path(ext): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ext = api.extension(&ext)?;
    let obj = body_object(&body)?;
    let url = valid_url(field(&obj, "url"))?;
    let event_type = valid_type(field(&obj, "event_type"))?;
    let method = valid_method(field(&obj, "method").unwrap_or_else(|| "POST".into()))?;
    let limit = api.ctx.config.telphin.event_limit;
    let mut inner = api.st.lock();
    let count = inner
        .subscriptions
        .values()
        .filter(|s| s.extension_id == ext.id)
        .count();
    if count >= limit {
        return Err(ApiError::bad_request(format!(
            "Events limit exceeded ({limit})"
        )));
    }
    let id = inner.next_subscription;
    inner.next_subscription += 1;
    let sub = Subscription {
        id,
        extension_id: ext.id,
        url,
        method,
        event_type,
    };
    inner.subscriptions.insert(id, sub.clone());
    Ok((StatusCode::CREATED, Json(sub)).into_response())
}

pub(crate) async fn delete_all(
    State(api): State<Api>,
    Path(ext): Path<String>,
) -> Result<Response, ApiError> {
    let ext = api.extension(&ext)?;
    api.st
        .lock()
        .subscriptions
        .retain(|_, s| s.extension_id != ext.id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn get_one(
    State(api): State<Api>,
    Path((ext, id)): Path<(String, String)>,
) -> ApiResult {
    let sub = find(&api, &ext, &id)?;
    Ok(Json(serde_json::to_value(sub).unwrap_or(Value::Null)))
}

pub(crate) async fn update(
    State(api): State<Api>,
    Path((ext, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let sub = find(&api, &ext, &id)?;
    let obj: Map<String, Value> = body_object(&body)?;
    let url = match field(&obj, "url") {
        Some(u) => valid_url(Some(u))?,
        None => sub.url.clone(),
    };
    let event_type = match field(&obj, "event_type") {
        Some(t) => valid_type(Some(t))?,
        None => sub.event_type.clone(),
    };
    let method = match field(&obj, "method") {
        Some(m) => valid_method(m)?,
        None => sub.method.clone(),
    };
    let updated = Subscription {
        url,
        method,
        event_type,
        ..sub
    };
    api.st
        .lock()
        .subscriptions
        .insert(updated.id, updated.clone());
    Ok(Json(serde_json::to_value(updated).unwrap_or(Value::Null)))
}

pub(crate) async fn delete_one(
    State(api): State<Api>,
    Path((ext, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let sub = find(&api, &ext, &id)?;
    api.st.lock().subscriptions.remove(&sub.id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn find(api: &Api, ext: &str, id: &str) -> Result<Subscription, ApiError> {
    let ext = api.extension(ext)?;
    let id: u64 = id
        .trim_end_matches('/')
        .parse()
        .map_err(|_| ApiError::not_found())?;
    api.st
        .lock()
        .subscriptions
        .get(&id)
        .filter(|s| s.extension_id == ext.id)
        .cloned()
        .ok_or_else(ApiError::not_found)
}

fn valid_url(url: Option<String>) -> Result<String, ApiError> {
    let url = url.ok_or_else(|| ApiError::bad_request("url is required"))?;
    match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url),
        _ => Err(ApiError::bad_request("url must be an http(s) URL")),
    }
}

fn valid_type(t: Option<String>) -> Result<String, ApiError> {
    let t = t.ok_or_else(|| ApiError::bad_request("event_type is required"))?;
    if EVENT_TYPES.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(ApiError::bad_request(format!("Unknown event_type {t}")))
    }
}

fn valid_method(m: String) -> Result<String, ApiError> {
    let m = m.to_ascii_uppercase();
    if m == "GET" || m == "POST" {
        Ok(m)
    } else {
        Err(ApiError::bad_request("method must be GET or POST"))
    }
}
