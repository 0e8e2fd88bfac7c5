//! The `ivrapi` capability (seed 002): IVR sessions offered to external control.
//!
//! Life of a session: [`offer_ivr_control`] publishes `ivrevents.api_start`; the first
//! `ivrapi_accept` wins (others get `1406`); `ivrapi_reaccept` takes control over (after a
//! reconnect); `ivrapi_abort` gives it back and the script goes on (`ivr_fallback`); when
//! nobody accepts within `ivr_accept_timeout_secs` (simulated) the script goes on the same way.
//! The session ends with `ivrevents.api_stop` (`reason`: `abort`, `timeout`, `transfer`,
//! `hangup`). While controlled, one component at a time runs (`ivrapi_component_apply`; a
//! second one is refused with `1406`) and ends with `ivrapi_component_stopped`
//! `{key, ivrid, oId, transferKey, results}` sent to the controller; `transferKey` is
//! `transfer` when it ran to its end and `terminate` after `ivrapi_component_terminate`.
//! DTMF of the caller reaches the controller as `ivrapi_dtmf` (`idle` or `component` mode),
//! before the `callevents.dtmf` notification.
//!
//! Components: play `204` (`file`; runs `play_secs`, a digit from `interruptSymbols` ends
//! it), record `208` (`recTimeSec`, `maxSymbolCount`, `interruptSymbols`; results
//! `recordFile`, `dtmfBuffer`, `recordDurationSec`), transfer `203` (`number`) and hangup `201`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::config::IvrFallback;
use super::files::wav_silence;
use super::render::{call_objects, EraIds, Rendered};
use super::state::{state, EraState};
use super::wire::{frame, opt_text, req_str, EraCode, EraFailure};
use super::Deferred;
use crate::world::CallState;
use crate::SimContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Offered,
    Controlled(u64),
    Stopped,
}

#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub oid: u64,
    pub otype: u64,
    pub generation: u64,
    pub started_ms: i64,
    pub dtmf: String,
    pub interrupt: BTreeSet<char>,
    pub max_symbols: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct IvrSession {
    pub key: String,
    pub ivrid: String,
    pub call_id: String,
    pub phase: Phase,
    pub component: Option<Running>,
    pub next_oid: u64,
    pub generation: u64,
    pub objects: BTreeSet<String>,
    pub base: Map<String, Value>,
    pub records: u64,
}

impl IvrSession {
    pub fn controller(&self) -> Option<u64> {
        match self.phase {
            Phase::Controlled(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_live(&self) -> bool {
        self.phase != Phase::Stopped
    }
}

/// The call `call_id` (World id or any Era id) reaches an IVR external-control component:
/// `ivrevents.api_start` goes to matching subscribers and the IVR session key is returned.
/// Without an accept within `ivr_accept_timeout_secs` (simulated) the script goes on by itself
/// (`ivr_fallback`: transfer to an extension by default). An unknown call yields an empty key
/// and a warning.
pub fn offer_ivr_control(
    ctx: &SimContext,
    call_id: &str,
    ivr_number: &str,
    params: Value,
) -> String {
    let st = state(ctx);
    let Some(call) = ctx.world.call(call_id) else {
        tracing::warn!(call_id, "offer_ivr_control: no such call");
        return String::new();
    };
    let domain = st.config().domain.clone();
    let ids = EraIds::of(&call, &domain);
    let key = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
    let tail: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(6)
        .collect();
    let ivrid = format!("rDlg-006-{tail}");
    let now = st.now_ms();
    let params_text = match params {
        Value::String(s) => s,
        Value::Null => "{}".to_string(),
        other => other.to_string(),
    };
    let mut objects = call_objects(&call);
    objects.insert(ivr_number.to_string());
    let mut base = Map::new();
    base.insert("key".into(), json!(key));
    base.insert("ivrid".into(), json!(ivrid));
    base.insert("callid".into(), json!(ids.acallid));
    base.insert("cid".into(), json!(ids.cid));
    base.insert("connectionid".into(), json!(ids.connectionid));
    base.insert("ivrnumber".into(), json!(ivr_number));
    base.insert("callernum".into(), json!(call.from));
    base.insert("ivrts".into(), json!(now));
    let mut data = base.clone();
    data.insert("componentid".into(), json!(14));
    data.insert("componentname".into(), json!("External control"));
    data.insert("params".into(), json!(params_text));
    data.insert("sm_id".into(), json!(uuid::Uuid::new_v4().to_string()));
    st.lock().ivr.insert(
        key.clone(),
        IvrSession {
            key: key.clone(),
            ivrid,
            call_id: call.id.clone(),
            phase: Phase::Offered,
            component: None,
            next_oid: 0,
            generation: 0,
            objects: objects.clone(),
            base,
            records: 0,
        },
    );
    st.publish(&Rendered {
        class: "ivrevents",
        kind: "api_start",
        eventts: now,
        data: Value::Object(data),
        objects,
        delay_ms: 0,
    });
    let wait = Duration::from_secs(st.config().ivr_accept_timeout_secs);
    let (st2, k2) = (st.clone(), key.clone());
    tokio::spawn(async move {
        st2.ctx.world.clock().sleep(wait).await;
        let offered = st2
            .lock()
            .ivr
            .get(&k2)
            .is_some_and(|s| s.phase == Phase::Offered);
        if offered {
            continue_script(&st2, &k2, "timeout");
        }
    });
    key
}

/// The caller presses `digits` on `call_id` (World id or any Era id). A controlled IVR
/// session of that call gets `ivrapi_dtmf` first; subscribers then get `callevents.dtmf`.
pub fn press_dtmf(ctx: &SimContext, call_id: &str, digits: &str) {
    let id = ctx.world.call(call_id).map(|c| c.id).unwrap_or_else(|| {
        let st = state(ctx);
        super::ops::find_call(&st, &super::state::Owner::Token, call_id)
            .map(|c| c.id)
            .unwrap_or_default()
    });
    if let Err(e) = ctx.world.dtmf(&id, digits) {
        tracing::warn!(call_id, error = %e, "press_dtmf refused");
    }
}

/// End a session with `api_stop` and forget its temp files.
pub(crate) fn stop_session(st: &EraState, key: &str, reason: &str) {
    let ev = {
        let mut g = st.lock();
        let Some(s) = g.ivr.get_mut(key) else { return };
        if s.phase == Phase::Stopped {
            return;
        }
        s.phase = Phase::Stopped;
        s.component = None;
        s.generation += 1;
        let mut data = s.base.clone();
        data.insert("reason".into(), json!(reason));
        let objects = s.objects.clone();
        g.files.drop_session(key);
        Rendered {
            class: "ivrevents",
            kind: "api_stop",
            eventts: 0,
            data: Value::Object(data),
            objects,
            delay_ms: 0,
        }
    };
    let now = st.now_ms();
    st.publish(&Rendered { eventts: now, ..ev });
}

/// Control was not taken or was given back: the session stops and the script goes on.
pub(crate) fn continue_script(st: &EraState, key: &str, reason: &str) {
    let call_id = st.lock().ivr.get(key).map(|s| s.call_id.clone());
    stop_session(st, key, reason);
    let Some(call_id) = call_id else { return };
    let w = &st.ctx.world;
    let Some(call) = w.call(&call_id) else { return };
    let result = match &st.config().ivr_fallback {
        IvrFallback::Stay => Ok(()),
        IvrFallback::Hangup if call.state != CallState::Ended => w.hangup(&call_id, "200"),
        IvrFallback::Transfer(ext) => match call.state {
            CallState::Active | CallState::Held => w.transfer(&call_id, ext, false).map(|_| ()),
            CallState::Ringing => w.ring(&call_id, ext).map(|_| ()),
            _ => Ok(()),
        },
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(key, error = %e, "IVR fallback failed");
    }
}

/// The call ended: its sessions stop.
pub(crate) fn on_call_ended(st: &EraState, world_call_id: &str) {
    let keys: Vec<String> = st
        .lock()
        .ivr
        .values()
        .filter(|s| s.call_id == world_call_id && s.is_live())
        .map(|s| s.key.clone())
        .collect();
    for k in keys {
        stop_session(st, &k, "hangup");
    }
}

/// The caller pressed keys: `ivrapi_dtmf` to controllers (one frame per digit), components fed.
pub(crate) fn on_dtmf(st: &Arc<EraState>, world_call_id: &str, digits: &str) {
    let keys: Vec<String> = st
        .lock()
        .ivr
        .values()
        .filter(|s| s.call_id == world_call_id && s.controller().is_some())
        .map(|s| s.key.clone())
        .collect();
    for key in keys {
        for d in digits.chars() {
            let (conn, frame_text, stop) = {
                let mut g = st.lock();
                let Some(s) = g.ivr.get_mut(&key) else {
                    continue;
                };
                let Some(conn) = s.controller() else { continue };
                let mut body = json!({ "key": s.key, "ivrid": s.ivrid, "dtmf": d.to_string() });
                let mut stop = None;
                match s.component.as_mut() {
                    Some(r) => {
                        body["mode"] = json!("component");
                        body["oId"] = json!(r.oid);
                        r.dtmf.push(d);
                        let full = r.max_symbols > 0 && r.dtmf.chars().count() >= r.max_symbols;
                        if r.interrupt.contains(&d) || full {
                            stop = Some(r.generation);
                        }
                    }
                    None => body["mode"] = json!("idle"),
                }
                (conn, frame("ivrapi_dtmf", body), stop)
            };
            st.send(conn, frame_text);
            if let Some(gen) = stop {
                finish_component(st, &key, gen, "transfer");
            }
        }
    }
}

/// End the running component of generation `gen` (if still running) and tell the controller.
fn finish_component(st: &EraState, key: &str, gen: u64, transfer_key: &str) -> bool {
    let now = st.now_ms();
    let out = {
        let mut g = st.lock();
        let Some(s) = g.ivr.get_mut(key) else {
            return false;
        };
        let Some(r) = s.component.take_if(|r| r.generation == gen) else {
            return false;
        };
        let mut results = Map::new();
        results.insert("dtmfBuffer".into(), json!(r.dtmf));
        let mut file = None;
        if r.otype == 208 {
            s.records += 1;
            let secs = ((now - r.started_ms).max(0) / 1000).max(1);
            let path = format!(":TEMP/ivr_records/ivr_{:06}_{now}.wav", s.records);
            results.insert("recordFile".into(), json!(path));
            results.insert("recordDurationSec".into(), json!(secs));
            file = Some((path, u32::try_from(secs).unwrap_or(30)));
        }
        let body = json!({
            "key": s.key, "ivrid": s.ivrid, "oId": r.oid,
            "transferKey": transfer_key, "results": Value::Object(results),
        });
        let conn = s.controller();
        if let Some((path, secs)) = file {
            g.files.put_temp(key, &path, wav_silence(secs));
        }
        (conn, frame("ivrapi_component_stopped", body))
    };
    if let (Some(conn), text) = out {
        st.send(conn, text);
    }
    true
}

/// Common checks: the session exists, `ivrid` (when given) matches, and (for `need_control`)
/// this connection controls it.
fn session_for(
    st: &EraState,
    conn: u64,
    body: &Map<String, Value>,
    need_control: bool,
) -> Result<IvrSession, EraFailure> {
    let key = req_str(body, "key")?;
    let g = st.lock();
    let s = g.ivr.get(key).ok_or_else(|| {
        EraFailure::new(EraCode::NotFound, format!("IVR session '{key}' not found"))
    })?;
    if let Some(ivrid) = opt_text(body, "ivrid") {
        if ivrid != s.ivrid {
            return Err(EraFailure::new(
                EraCode::NotFound,
                format!("IVR session '{key}' has no ivrid '{ivrid}'"),
            ));
        }
    }
    if need_control {
        match s.phase {
            Phase::Controlled(c) if c == conn => {}
            Phase::Stopped => {
                return Err(EraFailure::new(
                    EraCode::InvalidOperation,
                    "the IVR session has ended",
                ))
            }
            _ => {
                return Err(EraFailure::new(
                    EraCode::AccessDenied,
                    "this connection does not control the IVR session",
                ))
            }
        }
    }
    Ok(s.clone())
}

/// Handle one `ivrapi_*` request of connection `conn`.
pub(crate) fn handle(
    st: &Arc<EraState>,
    conn: u64,
    name: &str,
    body: &Map<String, Value>,
    after: &mut Vec<Deferred>,
) -> Result<Value, EraFailure> {
    match name {
        "ivrapi_accept" | "ivrapi_reaccept" => {
            let s = session_for(st, conn, body, false)?;
            let mut g = st.lock();
            let Some(live) = g.ivr.get_mut(&s.key) else {
                return Err(EraFailure::new(EraCode::NotFound, "IVR session not found"));
            };
            match (name, live.phase) {
                (_, Phase::Stopped) => Err(EraFailure::new(
                    EraCode::InvalidOperation,
                    "the IVR session has ended",
                )),
                ("ivrapi_accept", Phase::Controlled(c)) if c != conn => Err(EraFailure::new(
                    EraCode::InvalidOperation,
                    "control of this IVR session was already taken by another connection",
                )),
                _ => {
                    live.phase = Phase::Controlled(conn);
                    Ok(json!({ "key": live.key, "ivrid": live.ivrid }))
                }
            }
        }
        "ivrapi_abort" => {
            let s = session_for(st, conn, body, true)?;
            let st2 = st.clone();
            after.push(Box::new(move || continue_script(&st2, &s.key, "abort")));
            Ok(Value::Null)
        }
        "ivrapi_component_apply" => apply(st, conn, body, after),
        "ivrapi_component_terminate" => {
            let s = session_for(st, conn, body, true)?;
            let Some(r) = s.component else {
                return Err(EraFailure::new(
                    EraCode::InvalidOperation,
                    "no component is running",
                ));
            };
            finish_component(st, &s.key, r.generation, "terminate");
            Ok(json!({ "oId": r.oid }))
        }
        "ivrapi_file_get_path" => {
            let s = session_for(st, conn, body, false)?;
            let path = req_str(body, "path")?;
            let now = st.now_ms();
            let exp = now + (st.config().file_link_secs as i64) * 1000;
            let mut g = st.lock();
            let bytes = g.files.get(Some(&s.key), path).ok_or_else(|| {
                EraFailure::new(EraCode::NotFound, format!("file '{path}' not found"))
            })?;
            Ok(Value::String(g.files.link(bytes, path, now, exp)))
        }
        _ => Err(EraFailure::new(
            EraCode::NotImplemented,
            format!("unknown request '{name}'"),
        )),
    }
}

fn number_field(data: &Map<String, Value>, field: &str) -> Option<u64> {
    match data.get(field) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

fn apply(
    st: &Arc<EraState>,
    conn: u64,
    body: &Map<String, Value>,
    after: &mut Vec<Deferred>,
) -> Result<Value, EraFailure> {
    let s = session_for(st, conn, body, true)?;
    let Some(Value::Object(data)) = body.get("data") else {
        return Err(
            EraFailure::new(EraCode::InvalidParams, "field 'data' must be an object")
                .with_field("data"),
        );
    };
    let otype = number_field(data, "oType").ok_or_else(|| {
        EraFailure::new(EraCode::InvalidParams, "data.oType is required").with_field("oType")
    })?;
    if let Some(r) = &s.component {
        return Err(EraFailure::new(
            EraCode::InvalidOperation,
            format!(
                "component {} is still running; wait for ivrapi_component_stopped",
                r.oid
            ),
        ));
    }
    let cfg = st.config();
    let mut interrupt = BTreeSet::new();
    if let Some(Value::String(syms)) = data.get("interruptSymbols") {
        interrupt = syms
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '*' || *c == '#')
            .collect();
    }
    let (secs, max_symbols) = match otype {
        204 => {
            let file = data
                .get("file")
                .and_then(Value::as_str)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| {
                    EraFailure::new(EraCode::InvalidParams, "data.file is required")
                        .with_field("file")
                })?;
            if file.starts_with(":TEMP/") && st.lock().files.get(Some(&s.key), file).is_none() {
                return Err(EraFailure::new(
                    EraCode::NotFound,
                    format!("file '{file}' not found"),
                ));
            }
            (cfg.play_secs, 0)
        }
        208 => (
            number_field(data, "recTimeSec")
                .unwrap_or(cfg.record_default_secs)
                .max(1),
            number_field(data, "maxSymbolCount").unwrap_or(0) as usize,
        ),
        203 => {
            opt_text(data, "number").ok_or_else(|| {
                EraFailure::new(EraCode::InvalidParams, "data.number is required")
                    .with_field("number")
            })?;
            (0, 0)
        }
        201 => (0, 0),
        other => {
            return Err(EraFailure::new(
                EraCode::InvalidParams,
                format!("component type {other} is not simulated"),
            )
            .with_field("oType"))
        }
    };
    let now = st.now_ms();
    let (oid, gen) = {
        let mut g = st.lock();
        let Some(live) = g.ivr.get_mut(&s.key) else {
            return Err(EraFailure::new(EraCode::NotFound, "IVR session not found"));
        };
        let oid = number_field(data, "oId").unwrap_or(live.next_oid);
        live.next_oid = live.next_oid.max(oid) + 1;
        live.generation += 1;
        let gen = live.generation;
        live.component = Some(Running {
            oid,
            otype,
            generation: gen,
            started_ms: now,
            dtmf: String::new(),
            interrupt,
            max_symbols,
        });
        (oid, gen)
    };
    let st2 = st.clone();
    let key = s.key.clone();
    match otype {
        203 | 201 => {
            let number = opt_text(data, "number").unwrap_or_default();
            after.push(Box::new(move || {
                finish_component(&st2, &key, gen, "transfer");
                let w = &st2.ctx.world;
                let call = w.call(&s.call_id);
                let r = match (otype, call.map(|c| c.state)) {
                    (201, Some(st)) if st != CallState::Ended => w.hangup(&s.call_id, "200"),
                    (203, Some(CallState::Active | CallState::Held)) => {
                        w.transfer(&s.call_id, &number, false).map(|_| ())
                    }
                    (203, Some(CallState::Ringing)) => w.ring(&s.call_id, &number).map(|_| ()),
                    _ => Ok(()),
                };
                if let Err(e) = r {
                    tracing::warn!(key, error = %e, "IVR component action failed");
                }
                stop_session(&st2, &key, if otype == 201 { "hangup" } else { "transfer" });
            }));
        }
        _ => {
            tokio::spawn(async move {
                st2.ctx.world.clock().sleep(Duration::from_secs(secs)).await;
                finish_component(&st2, &key, gen, "transfer");
            });
        }
    }
    Ok(json!({ "oId": oid }))
}
