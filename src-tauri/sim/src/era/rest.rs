//! REST `/rest/v1/uc/calls` and `/rest/v1/uc/calls_by_participation` with the platform's
//! custom HTTP verbs, acting on the World.
//!
//! Authentication: `Authorization: Bearer <token>` with the Token-API token (every call) or a
//! User-API token (calls touching that user only; `calls_by_participation` is the natural
//! endpoint for it). Errors: `{error_code, error_message, error_details}`.
//!
//! | verb | path | body | reply |
//! |---|---|---|---|
//! | `GET` | collection | — | JSON array of calls |
//! | `POST`, `INVITE` | collection | `{from?\|owner?, to\|number}` | `{id, idconn, cid}` |
//! | `INVITEBYIVR` | collection | `{ivr, number}` | `{id, idconn, cid}` |
//! | `LOOKUP` | collection | `{callid}` or `{number}` | the call |
//! | `GET` | `/<id>` | — | the call |
//! | `REFER` / `REFERREPLACES` | `/<id>` | `{number}` | `{result:"ok"}` |
//! | `SWITCHCONF` / `REFERCONF` | `/<id>` | `{number?}` | `{result:"ok", conference_id}` |
//! | `NOTIFY` | `/<id>` | `{event: hold\|talk\|unhold\|answer}` | `{result:"ok"}` |
//! | `SEND_DTMF` | `/<id>` | `{dtmf}` | `{result:"ok"}` |
//! | `DELETE` | `/<id>` | — | `{result:"ok"}` |
//!
//! `<id>` is the `connectionid` (or `cid`, `dialogid`, a SIP Call-ID of the call).
//! Faults honoured: `rest_status` (reply that status) and `rest_delay_ms`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::ops;
use super::state::{EraState, Owner};
use super::wire::{opt_text, EraCode, EraFailure};
use super::ws::bearer;
use crate::journal::{Channel, Dir};

fn owner_of(st: &EraState, headers: &HeaderMap) -> Result<Owner, EraFailure> {
    let token = bearer(headers).ok_or_else(|| {
        EraFailure::new(
            EraCode::Unauthorized,
            "Authorization: Bearer <token> is required",
        )
    })?;
    let cfg = st.config();
    if !cfg.token.is_empty() && token == cfg.token {
        return Ok(Owner::Token);
    }
    match cfg.user_by_token(&token) {
        Some(u) => {
            let mut allowed: std::collections::BTreeSet<String> =
                u.extra_objects.iter().cloned().collect();
            allowed.insert(u.extension.clone());
            Ok(Owner::User {
                extension: u.extension.clone(),
                allowed,
            })
        }
        None => Err(EraFailure::new(EraCode::Unauthorized, "invalid token")),
    }
}

/// One REST request; `id` is the path segment after the collection, if any.
pub(crate) async fn handle(
    st: Arc<EraState>,
    method: Method,
    uri: Uri,
    id: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let what = format!("{method} {}", uri.path());
    st.ctx.journal.record(
        Channel::EraRest,
        Dir::In,
        what.clone(),
        String::from_utf8_lossy(&body).into_owned(),
    );
    let delay = st.ctx.faults.rest_delay_ms();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let (status, reply) = match st.ctx.faults.rest_status() {
        Some(code) => {
            let s = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                s,
                EraFailure::new(EraCode::InternalError, format!("simulated failure {code}"))
                    .rest_body(),
            )
        }
        None => match serve(&st, &method, id.as_deref(), &headers, &body) {
            Ok(v) => (StatusCode::OK, v),
            Err(f) => (
                StatusCode::from_u16(f.code.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                f.rest_body(),
            ),
        },
    };
    st.ctx.journal.record(
        Channel::EraRest,
        Dir::Out,
        format!("{} {what}", status.as_u16()),
        reply.to_string(),
    );
    (status, axum::Json(reply)).into_response()
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, EraFailure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(EraFailure::new(
            EraCode::InvalidRequest,
            "the body must be a JSON object",
        )),
        Err(e) => Err(EraFailure::new(
            EraCode::InvalidRequest,
            format!("the body is not JSON: {e}"),
        )),
    }
}

fn ok() -> Value {
    json!({ "result": "ok" })
}

fn merged(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
    base
}

fn serve(
    st: &EraState,
    method: &Method,
    id: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, EraFailure> {
    let owner = owner_of(st, headers)?;
    let b = parse_body(body)?;
    let verb = method.as_str().to_ascii_uppercase();
    let number = || {
        opt_text(&b, "number")
            .or_else(|| opt_text(&b, "to"))
            .ok_or_else(|| {
                EraFailure::new(EraCode::InvalidParams, "field 'number' is required")
                    .with_field("number")
            })
    };
    match id {
        None => match verb.as_str() {
            "GET" => Ok(Value::Array(ops::list(st, &owner))),
            "POST" | "INVITE" => {
                let from = opt_text(&b, "from").or_else(|| opt_text(&b, "owner"));
                ops::new_call(st, &owner, from, &number()?)
            }
            "INVITEBYIVR" => {
                let ivr = opt_text(&b, "ivr").ok_or_else(|| {
                    EraFailure::new(EraCode::InvalidParams, "field 'ivr' is required")
                        .with_field("ivr")
                })?;
                ops::new_call(st, &Owner::Token, Some(ivr), &number()?)
            }
            "LOOKUP" => {
                if let Some(cid) = opt_text(&b, "callid").or_else(|| opt_text(&b, "id")) {
                    let c = ops::find_call(st, &owner, &cid)?;
                    return Ok(ops::info(st, &c));
                }
                let n = number()?;
                let found = ops::list(st, &owner).into_iter().find(|c| {
                    c["callernum"] == json!(n)
                        || c["callednum"] == json!(n)
                        || c["legs"]
                            .as_array()
                            .is_some_and(|l| l.iter().any(|x| x["number"] == json!(n)))
                });
                found.ok_or_else(|| {
                    EraFailure::new(EraCode::NotFound, format!("no active call with {n}"))
                })
            }
            other => Err(EraFailure::new(
                EraCode::NotImplemented,
                format!("{other} is not supported on the collection"),
            )),
        },
        Some(id) => {
            let call = ops::find_call(st, &owner, id)?;
            match verb.as_str() {
                "GET" => Ok(ops::info(st, &call)),
                "REFER" => ops::transfer(st, &call, &number()?, false).map(|_| ok()),
                "REFERREPLACES" => ops::transfer(st, &call, &number()?, true).map(|_| ok()),
                "SWITCHCONF" => ops::conference(st, &call, opt_text(&b, "number").as_deref())
                    .map(|v| merged(ok(), v)),
                "REFERCONF" => {
                    ops::conference(st, &call, Some(number()?.as_str())).map(|v| merged(ok(), v))
                }
                "NOTIFY" => {
                    let ev = opt_text(&b, "event")
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    match ev.as_str() {
                        "hold" => ops::hold(st, &call),
                        "talk" | "unhold" | "answer" => ops::talk(st, &call),
                        _ => Err(EraFailure::new(
                            EraCode::InvalidParams,
                            format!("unknown event '{ev}'"),
                        )
                        .with_field("event")),
                    }
                    .map(|_| ok())
                }
                "SEND_DTMF" => {
                    let d = opt_text(&b, "dtmf").unwrap_or_default();
                    ops::send_dtmf(&call, &d).map(|v| merged(ok(), v))
                }
                "DELETE" => ops::hangup(st, &call).map(|_| ok()),
                other => Err(EraFailure::new(
                    EraCode::NotImplemented,
                    format!("{other} is not supported on a call"),
                )),
            }
        }
    }
}
