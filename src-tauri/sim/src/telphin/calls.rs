//! Current calls (list, control, hang-up), click-to-call and the extension resources.
//!
//! - `GET /client/{client_id}/current_calls/`, `GET /extension/{id}/current_calls/`;
//! - `PUT /extension/{id}/current_calls/{call_api_id}` with `{"action", "send_dst"}`;
//! - `DELETE /extension/{id}/current_calls/{call_api_id}` hangs up (inferred, protocols.md §2.5);
//! - `POST /extension/{id}/callback/` (click-to-call);
//! - `GET /extension/{id}/`, `GET /client/{client_id}/extension/?type=`.
//!
//! Replies the documents do not show are the simulator's choice: control actions answer
//! `{"call_api_id", "action"}` plus `sub_call_id` (the new leg) or `slot` (park); hang-up
//! answers `204`. Listing items carry the documented fields plus `call_id` and `call_state`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::http::{body_object, field, gmt, id_json, Api, ApiError, ApiResult};
use super::state::LegRole;
use super::valet::{live_call_on, on_extension_now, park};
use super::world_ops::schedule_auto_answer;
use crate::world::{Call, CallState, Direction, Extension, LegState, World};

pub(crate) async fn client_calls(State(api): State<Api>, Path(client): Path<String>) -> ApiResult {
    api.check_client(&client)?;
    let items: Vec<Value> = api
        .ctx
        .world
        .active_calls()
        .iter()
        .map(|c| {
            let ext = owner_extension(&api.ctx.world, c);
            item(&api, c, ext.as_ref())
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

pub(crate) async fn extension_calls(State(api): State<Api>, Path(ext): Path<String>) -> ApiResult {
    let ext = api.extension(&ext)?;
    let items: Vec<Value> = api
        .ctx
        .world
        .active_calls()
        .iter()
        .filter(|c| c.state != CallState::Parked && on_extension_now(c, &ext))
        .map(|c| item(&api, c, Some(&ext)))
        .collect();
    Ok(Json(Value::Array(items)))
}

/// The extension a call is listed under at client scope: the calling extension, else the one
/// talking, else the first one ringing.
fn owner_extension(world: &World, call: &Call) -> Option<Extension> {
    if call.direction != Direction::Inbound {
        if let Some(e) = world.extension(&call.from) {
            return Some(e);
        }
    }
    if let Some(e) = call
        .connected_to
        .as_deref()
        .and_then(|n| world.extension(n))
    {
        return Some(e);
    }
    call.legs
        .iter()
        .filter(|l| l.state != LegState::Ended)
        .find_map(|l| world.extension(&l.target))
        .or_else(|| call.parked_by.as_deref().and_then(|p| world.extension(p)))
}

fn ext_object(e: &Extension) -> Value {
    json!({ "id": id_json(&e.id), "name": e.sip_name })
}

fn item(api: &Api, call: &Call, ext: Option<&Extension>) -> Value {
    let world = &api.ctx.world;
    let caller_ext = (call.direction != Direction::Inbound)
        .then(|| world.extension(&call.from))
        .flatten();
    let called_ext = world.extension(&call.to);
    let flow = match ext {
        Some(e) if caller_ext.as_ref().is_some_and(|c| c.id == e.id) => "out",
        Some(_) => "in",
        None if call.direction == Direction::Inbound => "in",
        None => "out",
    };
    let callback_id = api.st.lock().callbacks.get(&call.id).cloned();
    let state = match call.state {
        CallState::Ringing => "ringing",
        CallState::Active => "active",
        CallState::Held => "held",
        CallState::Parked => "parked",
        CallState::Ended => "ended",
    };
    json!({
        "call_api_id": call.api_id,
        "call_id": call.id,
        "callback_id": callback_id,
        "extension_id": ext.map(|e| id_json(&e.id)),
        "call_flow": flow,
        "called_number": call.to,
        "called_did": call.did,
        "caller_id_number": call.from,
        "caller_id_name": call.from_name.clone().unwrap_or_else(|| call.from.clone()),
        "caller_extension": caller_ext.as_ref().map(ext_object),
        "called_extension": called_ext.as_ref().map(ext_object),
        "init_time_gmt": gmt(call.created_ms),
        "answer_time_gmt": call.answered_ms.map(gmt),
        "real_call": call.state != CallState::Parked,
        "record_uuid": call.recording,
        "call_state": state,
    })
}

/// `PUT /extension/{id}/current_calls/{call_api_id}`.
pub(crate) async fn control(
    State(api): State<Api>,
    Path((ext, call_api_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let ext = api.extension(&ext)?;
    let obj = body_object(&body)?;
    let action =
        field(&obj, "action").ok_or_else(|| ApiError::bad_request("action is required"))?;
    let call = live_call_on(&api, &call_api_id, &ext)?;
    let dst = || -> Result<String, ApiError> {
        match field(&obj, "send_dst").map(|d| d.trim().to_string()) {
            Some(d) if !d.is_empty() => Ok(resolve_number(&api.ctx.world, &d)),
            _ => Err(ApiError::bad_request(format!(
                "send_dst is required for {action}"
            ))),
        }
    };
    let world = &api.ctx.world;
    let mut reply = json!({ "call_api_id": call.api_id, "action": action });
    let new_leg = match action.as_str() {
        "transfer" => Some((
            world.transfer(&call.id, &dst()?, false)?,
            LegRole::Transfer { attended: false },
        )),
        "attended_transfer" => Some((
            world.transfer(&call.id, &dst()?, true)?,
            LegRole::Transfer { attended: true },
        )),
        "hold" => {
            world.hold(&call.id)?;
            None
        }
        "offhold" => {
            world.resume(&call.id)?;
            None
        }
        "park" => {
            let slot = park(&api.ctx, &api.st, &call, &ext, None)?;
            reply["slot"] = Value::from(slot.to_string());
            None
        }
        "pickup" => Some((world.ring(&call.id, &dst()?)?, LegRole::Pickup)),
        "eavesdrop" => Some((joinable_ring(world, &call, &dst()?)?, LegRole::Eavesdrop)),
        "whisper" => Some((joinable_ring(world, &call, &dst()?)?, LegRole::Whisper)),
        "conference" => Some((world.conference(&call.id, &dst()?)?, LegRole::Conference)),
        other => return Err(ApiError::bad_request(format!("Unknown action {other}"))),
    };
    if let Some((leg, role)) = new_leg {
        api.st.set_role(&leg, role);
        schedule_auto_answer(&api.ctx, &api.st, &call.id, &leg);
        reply["sub_call_id"] = Value::from(leg);
    }
    Ok(Json(reply))
}

/// Ring a listener/whisperer: only a call in conversation can be joined.
fn joinable_ring(world: &World, call: &Call, dst: &str) -> Result<String, ApiError> {
    if !matches!(call.state, CallState::Active | CallState::Held) {
        return Err(crate::world::WorldError::WrongState(call.state).into());
    }
    Ok(world.ring(&call.id, dst)?)
}

/// `DELETE /extension/{id}/current_calls/{call_api_id}`: hang the call up.
pub(crate) async fn hangup(
    State(api): State<Api>,
    Path((ext, call_api_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ext = api.extension(&ext)?;
    let call = live_call_on(&api, &call_api_id, &ext)?;
    let code = if call.answered_ms.is_some() {
        "200"
    } else {
        "603"
    };
    api.ctx.world.hangup(&call.id, code)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /extension/{id}/callback/`: ring `src_num` (the agent's phones) first; the first to
/// answer is connected to `dst_num`.
pub(crate) async fn callback(
    State(api): State<Api>,
    Path(ext): Path<String>,
    body: Bytes,
) -> ApiResult {
    let ext = api.extension(&ext)?;
    let obj = body_object(&body)?;
    let world = &api.ctx.world;
    let dst = field(&obj, "dst_num")
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::bad_request("dst_num is required"))?;
    let dst = resolve_number(world, &dst);
    let mut sources = src_numbers(&obj);
    if sources.is_empty() {
        sources.push(ext.number.clone());
    }
    let direction = if world.extension(&dst).is_some() {
        Direction::Internal
    } else {
        Direction::Outbound
    };
    let name = field(&obj, "src_caller_id_name").unwrap_or_else(|| ext.name.clone());
    let call = world.create_call(direction, &ext.number, Some(&name), &dst, None);
    let callback_id = uuid::Uuid::new_v4().simple().to_string();
    api.st.lock().callbacks.insert(call.id.clone(), callback_id);
    for src in sources {
        let src = resolve_number(world, &src);
        let leg = world.ring(&call.id, &src)?;
        api.st
            .set_role(&leg, LegRole::CallbackSource { dst: dst.clone() });
        schedule_auto_answer(&api.ctx, &api.st, &call.id, &leg);
    }
    Ok(Json(
        json!({ "call_api_id": call.api_id, "call_id": call.id }),
    ))
}

fn src_numbers(obj: &Map<String, Value>) -> Vec<String> {
    match obj.get("src_num") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// An extension given by id, number or Telphin name (`022*101@domain`) becomes its short
/// number (what World legs ring); anything else is an external number, kept as it is.
pub(crate) fn resolve_number(world: &World, s: &str) -> String {
    if let Some(e) = world.extension(s) {
        return e.number;
    }
    let local = s.split('@').next().unwrap_or(s);
    let short = local.rsplit('*').next().unwrap_or(local);
    if local.contains('*') {
        if let Some(e) = world.extension(short) {
            return e.number;
        }
    }
    s.to_string()
}

fn ext_json(e: &Extension) -> Value {
    json!({
        "id": id_json(&e.id),
        "name": e.sip_name.split('@').next().unwrap_or(&e.sip_name),
        "label": e.name,
        "type": super::config::ExtType::from_world(e.kind).as_str(),
        "domain": e.sip_name.split_once('@').map(|(_, d)| d),
        "status": "active",
    })
}

/// `GET /extension/{id}/`.
pub(crate) async fn extension_info(State(api): State<Api>, Path(ext): Path<String>) -> ApiResult {
    Ok(Json(ext_json(&api.extension(&ext)?)))
}

#[derive(Deserialize)]
pub(crate) struct ExtensionFilter {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /client/{client_id}/extension/?type=phone|ivr|queue`.
pub(crate) async fn extension_list(
    State(api): State<Api>,
    Path(client): Path<String>,
    Query(filter): Query<ExtensionFilter>,
) -> ApiResult {
    api.check_client(&client)?;
    let items: Vec<Value> = api
        .ctx
        .world
        .extensions()
        .iter()
        .filter(|e| {
            filter
                .kind
                .as_deref()
                .is_none_or(|k| super::config::ExtType::from_world(e.kind).as_str() == k)
        })
        .map(ext_json)
        .collect();
    Ok(Json(Value::Array(items)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::telphin::valet::on_extension_now;
    use crate::world::ExtensionKind;

    #[test]
    fn numbers_resolve_from_ids_names_and_sip_names() {
        let w = World::new(Clock::new(1.0));
        w.add_extension(Extension {
            id: "34414".into(),
            number: "101".into(),
            sip_name: "022*101@siptest.ringme.ru".into(),
            name: "A".into(),
            kind: ExtensionKind::Agent,
        });
        assert_eq!(resolve_number(&w, "34414"), "101");
        assert_eq!(resolve_number(&w, "022*101@siptest.ringme.ru"), "101");
        assert_eq!(resolve_number(&w, "022*101"), "101");
        assert_eq!(resolve_number(&w, "+79001234567"), "+79001234567");
        let c = w.create_call(Direction::Inbound, "+7900", None, "101", None);
        let ext = w.extension("101").unwrap();
        assert!(!on_extension_now(&c, &ext), "not rung yet");
        w.ring(&c.id, "101").unwrap();
        assert!(on_extension_now(&w.call(&c.id).unwrap(), &ext));
    }
}
