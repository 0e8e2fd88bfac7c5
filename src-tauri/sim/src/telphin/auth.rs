//! OAuth for trusted applications (`POST /oauth/token`, client_credentials) and the token
//! owner resource (`GET /api/ver1.0/user`).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::http::{id_json, Api, ApiResult};
use crate::SimContext;

/// `POST /oauth/token`. Parameters come from the form body (preferred) or the query string
/// (some SDKs send them that way).
pub(crate) async fn token(
    State(api): State<Api>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Some(q) = query {
        params.extend(serde_urlencoded::from_str::<Vec<(String, String)>>(&q).unwrap_or_default());
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (id, secret) = (get("client_id"), get("client_secret"));
    match get("grant_type").as_deref() {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
    }
    let cfg = &api.ctx.config.telphin;
    if id.as_deref() != Some(cfg.client_id.as_str())
        || secret.as_deref() != Some(cfg.client_secret.as_str())
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let access_token = uuid::Uuid::new_v4().simple().to_string();
    let lifetime_ms = (cfg.token_lifetime_secs as i64).saturating_mul(1000);
    let expires_at = api.ctx.world.now_ms().saturating_add(lifetime_ms);
    api.st
        .lock()
        .tokens
        .insert(access_token.clone(), expires_at);
    let real_secs = (cfg.token_lifetime_secs as f64 / api.ctx.world.clock().speed()).floor();
    let expires_in = (real_secs as u64).max(1);
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "all",
    }))
    .into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    let description = match error {
        "invalid_client" => "Client authentication failed",
        "unsupported_grant_type" => "Only client_credentials is supported",
        _ => "grant_type is required",
    };
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `GET /api/ver1.0/user`: the owner of the token (a trusted application acts as the PBX admin).
pub(crate) async fn user(State(api): State<Api>) -> ApiResult {
    let cfg = &api.ctx.config.telphin;
    Ok(Json(json!({
        "id": 1,
        "login": cfg.client_id,
        "client_id": id_json(&cfg.pbx_client_id),
        "extension_id": null,
        "extension_group_id": null,
        "dealer_id": null,
        "admin": true,
        "access": "full",
        "timezone": "Europe/Moscow",
    })))
}

/// Invalidate every issued token: the next API call gets 401 (tests of the client's retry).
pub fn revoke_tokens(ctx: &SimContext) {
    super::state::state_for(ctx).lock().tokens.clear();
}
