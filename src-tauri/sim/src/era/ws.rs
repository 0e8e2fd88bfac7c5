//! The Era WebSocket endpoints: Token-API (`/ws/token/v1/<token>`, or `/ws/token/v1` with
//! `Authorization: Bearer <token>`) and User-API (configurable path, token in the path or as
//! Bearer). A wrong or missing token is refused before the upgrade (401 missing, 403 wrong).
//!
//! Each connection runs one task that reads requests, answers `<name>_result` with the `qid`
//! echoed exactly, and writes frames queued for it (replies, notifications, IVR pushes) in
//! order. An unparseable frame is answered with `["error", {result:"error", error_code:1405,
//! error_message}]`, an unknown request with a `1403` error result; neither closes the socket.
//! Faults: `drop_websockets` closes abruptly (no close frame), `stall_websockets` stops
//! reading and writing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::state::{EraState, Owner};
use super::wire::{self, req_str, EraCode, EraFailure, Request};
use super::{ccs, files, ivr, Deferred};
use crate::journal::{Channel, Dir};

/// Largest frame the simulator reads.
const MAX_FRAME: usize = 4 * 1024 * 1024;

/// `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn refuse(st: &EraState, what: &str, status: StatusCode, msg: &str) -> Response {
    st.ctx.journal.record(
        Channel::EraWs,
        Dir::Out,
        format!("{} {what}", status.as_u16()),
        msg,
    );
    let code = if status == StatusCode::UNAUTHORIZED {
        1407
    } else {
        1401
    };
    (
        status,
        axum::Json(json!({ "error_code": code, "error_message": msg })),
    )
        .into_response()
}

/// Which API a WebSocket route serves.
#[derive(Clone, Copy)]
pub(crate) enum Api {
    Token,
    User,
}

pub(crate) async fn upgrade(
    st: Arc<EraState>,
    api: Api,
    path_token: Option<String>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let what = match api {
        Api::Token => "GET /ws/token/v1".to_string(),
        Api::User => format!("GET {}", st.config().user_path_normalized()),
    };
    st.ctx.journal.record(
        Channel::EraWs,
        Dir::In,
        what.clone(),
        if path_token.is_some() {
            "token in path"
        } else {
            ""
        },
    );
    let Some(token) = path_token.or_else(|| bearer(&headers)) else {
        return refuse(&st, &what, StatusCode::UNAUTHORIZED, "token required");
    };
    let owner = match api {
        Api::Token if !st.config().token.is_empty() && token == st.config().token => Owner::Token,
        Api::User => match st.config().user_by_token(&token) {
            Some(u) => {
                let mut allowed: BTreeSet<String> = u.extra_objects.iter().cloned().collect();
                allowed.insert(u.extension.clone());
                Owner::User {
                    extension: u.extension.clone(),
                    allowed,
                }
            }
            None => return refuse(&st, &what, StatusCode::FORBIDDEN, "invalid token"),
        },
        Api::Token => return refuse(&st, &what, StatusCode::FORBIDDEN, "invalid token"),
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return refuse(&st, &what, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| run(st, socket, owner))
}

async fn run(st: Arc<EraState>, socket: WebSocket, owner: Owner) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let conn = st.register(tx, owner.clone());
    let faults = st.ctx.faults.clone();
    let generation = faults.ws_generation();
    let (mut sink, mut stream) = socket.split();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if faults.ws_generation() != generation {
            tracing::debug!(conn, "era ws dropped by fault");
            break;
        }
        if faults.stalled() {
            tick.tick().await;
            continue;
        }
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => handle_text(&st, conn, &owner, t.as_str()),
                Some(Ok(Message::Binary(b))) => {
                    handle_text(&st, conn, &owner, &String::from_utf8_lossy(&b))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    tracing::debug!(conn, error = %e, "era ws read error");
                    break;
                }
            },
            out = rx.recv() => {
                let Some(text) = out else { break };
                st.ctx.journal.record(Channel::EraWs, Dir::Out, wire::frame_name(&text), text.clone());
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            _ = tick.tick() => {}
        }
    }
    st.unregister(conn);
}

fn handle_text(st: &Arc<EraState>, conn: u64, owner: &Owner, text: &str) {
    let req = match wire::parse_request(text) {
        Ok(r) => r,
        Err(e) => {
            st.ctx.journal.record(Channel::EraWs, Dir::In, "?", text);
            let body =
                json!({ "result": "error", "error_code": 1405, "error_message": e.to_string() });
            st.send(conn, wire::frame("error", body));
            return;
        }
    };
    st.ctx
        .journal
        .record(Channel::EraWs, Dir::In, req.name.clone(), text);
    if st.lock().swallow.contains(&req.name) {
        return;
    }
    let mut after: Vec<Deferred> = Vec::new();
    let result = match req.name.as_str() {
        "file_upload_static" | "ivrapi_file_upload_temp" | "ivrapi_file_upload_static" => {
            spawn_upload(st.clone(), conn, req);
            return;
        }
        _ => dispatch(st, conn, owner, &req, &mut after),
    };
    let reply = match result {
        Ok(payload) => wire::ok_frame(&req.name, &req.qid, payload),
        Err(f) => wire::error_frame(st.config().error_shape, &req.name, &req.qid, &f),
    };
    st.send(conn, reply);
    for f in after {
        f();
    }
}

fn dispatch(
    st: &Arc<EraState>,
    conn: u64,
    owner: &Owner,
    req: &Request,
    after: &mut Vec<Deferred>,
) -> Result<Value, EraFailure> {
    let name = req.name.as_str();
    match name {
        "connection_info" => Ok(connection_info(st, conn, owner)),
        "test" => Ok(json!({ "echo": Value::Object(req.body.clone()) })),
        "subscribe" => {
            let now = st.now_ms();
            let limits = st.limits();
            let mut g = st.lock();
            let c = g
                .conns
                .get_mut(&conn)
                .ok_or_else(|| EraFailure::new(EraCode::InternalError, "connection is gone"))?;
            c.subs.purge(now);
            c.subs.apply(&req.body, now, limits)
        }
        "callrecord_get_path" => callrecord_get_path(st, owner, &req.body),
        n if n.starts_with("ivrapi_") => ivr::handle(st, conn, n, &req.body, after),
        n if ccs::handles(n) => ccs::handle(st, owner, n, &req.body),
        _ => Err(EraFailure::new(
            EraCode::NotImplemented,
            format!("unknown request '{name}'"),
        )),
    }
}

fn connection_info(st: &EraState, conn: u64, owner: &Owner) -> Value {
    let cfg = st.config();
    let now = st.now_ms();
    let sessionid = st
        .lock()
        .conns
        .get(&conn)
        .map(|c| c.sessionid.clone())
        .unwrap_or_default();
    let mut v = json!({
        "site": cfg.site,
        "ownertype": owner.kind(),
        "domain": cfg.domain,
        "sessionid": sessionid,
        "connectionid": format!("conn-{conn}"),
        "capabilities": ["test", "callrecord", "ccs", "ivrapi", "rest", "subscr"],
        "datetime": chrono::DateTime::from_timestamp_millis(now).map(|d| d.to_rfc3339()).unwrap_or_default(),
        "timestamp": now,
        "integration_point_id": "c75f0231-0000-4000-8000-000000000001",
        "integration_point_type": "public",
        "roles": ["admin"],
    });
    if let Owner::User { extension, .. } = owner {
        v["user"] = json!(extension);
        v["roles"] = json!(["user"]);
    } else {
        v["token"] = json!(cfg.token);
    }
    v
}

fn callrecord_get_path(
    st: &EraState,
    owner: &Owner,
    body: &Map<String, Value>,
) -> Result<Value, EraFailure> {
    let key = req_str(body, "key")?;
    let call = st
        .ctx
        .world
        .all_calls()
        .into_iter()
        .find(|c| {
            c.recording.as_deref() == Some(key) && owner.may_see(&super::render::call_objects(c))
        })
        .ok_or_else(|| EraFailure::new(EraCode::NotFound, format!("record '{key}' not found")))?;
    let now = st.now_ms();
    let secs = u32::try_from(call.talk_secs(now)).unwrap_or(30);
    let exp = now + (st.config().file_link_secs as i64) * 1000;
    let bytes = Arc::new(files::wav_silence(secs));
    let name = if key.contains('.') {
        key.to_string()
    } else {
        format!("{key}.wav")
    };
    Ok(Value::String(st.lock().files.link(bytes, &name, now, exp)))
}

/// The three upload requests download first, then answer.
fn spawn_upload(st: Arc<EraState>, conn: u64, req: Request) {
    tokio::spawn(async move {
        let result = upload(&st, conn, &req).await;
        let reply = match result {
            Ok(v) => wire::ok_frame(&req.name, &req.qid, v),
            Err(f) => wire::error_frame(st.config().error_shape, &req.name, &req.qid, &f),
        };
        st.send(conn, reply);
    });
}

async fn upload(st: &EraState, conn: u64, req: &Request) -> Result<Value, EraFailure> {
    let session_key = if req.name.starts_with("ivrapi_") {
        let key = req_str(&req.body, "key")?.to_string();
        let g = st.lock();
        let s = g.ivr.get(&key).ok_or_else(|| {
            EraFailure::new(EraCode::NotFound, format!("IVR session '{key}' not found"))
        })?;
        if s.controller() != Some(conn) {
            return Err(EraFailure::new(
                EraCode::AccessDenied,
                "this connection does not control the IVR session",
            ));
        }
        Some(key)
    } else {
        None
    };
    let url = req_str(&req.body, "url")?.to_string();
    // `:SYNC_DOMAIN_DATA` is the documented default storage.
    let dest =
        wire::opt_text(&req.body, "destpath").unwrap_or_else(|| ":SYNC_DOMAIN_DATA".to_string());
    files::static_path(&dest, "check")?;
    let (bytes, name) = files::download(st, &url).await?;
    let mut g = st.lock();
    match (req.name.as_str(), session_key) {
        ("ivrapi_file_upload_temp", Some(key)) => {
            let path = format!(":TEMP/{name}");
            g.files.put_temp(&key, &path, bytes);
            Ok(Value::String(path))
        }
        _ => {
            let path = files::static_path(&dest, &name)?;
            g.files.put_static(&path, bytes);
            Ok(Value::String(path))
        }
    }
}
