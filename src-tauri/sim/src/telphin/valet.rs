//! Valet parking (seed 000): `PUT /api/ver1.0/extension/{extension_id}/valet_park/{call_api_id}`
//! with `{"action": "park"|"bridge"|"slots", "slot": N}`.
//!
//! Simulator choices where the documents are silent (marked [I] in protocols.md §2.6):
//! - each extension has its own lot of slots 1–9 (the World's model);
//! - `park` replies `{"slot": "6", "UUID": "<uuid>"}`; an occupied slot is `400` with the seed's
//!   text `slot already have parked member, slot is full`;
//! - `bridge` moves the *other* party of the current call into the slot, where it is connected
//!   with the parked call (FreeSWITCH valet semantics); the current call ends for the extension.
//!   An empty slot is `404` `slot N is empty`; no parked call at all is `404` `no parked calls`;
//! - `slots` with a slot replies `{"slot": "6", "UUID": "<uuid>"|null}`, without one
//!   `{"slots": ["1", "2", …]}` (the free slots). The call in the path is not checked for `slots`;
//! - slots are sent back as strings, like the seed; requests may give them as strings or numbers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};

use super::http::{body_object, field, Api, ApiError, ApiResult};
use super::state::{LegRole, TelphinState};
use crate::journal::{Channel, Dir};
use crate::world::{Call, CallState, Direction, Extension, LegState};
use crate::SimContext;

pub(crate) async fn valet_park(
    State(api): State<Api>,
    Path((ext, call_api_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let ext = api.extension(&ext)?;
    let obj = body_object(&body)?;
    let slot = slot_field(&obj)?;
    match field(&obj, "action").as_deref() {
        Some("park") => {
            let call = live_call_on(&api, &call_api_id, &ext)?;
            let slot = park(&api.ctx, &api.st, &call, &ext, slot)?;
            Ok(Json(
                json!({ "slot": slot.to_string(), "UUID": call_uuid(&call.api_id) }),
            ))
        }
        Some("bridge") => {
            let current = live_call_on(&api, &call_api_id, &ext)?;
            let other = other_party(&current, &ext);
            let st = api.st.clone();
            let (parked_id, slot) =
                api.ctx
                    .world
                    .unpark(&ext.id, slot, &other, "bridged", |taken| {
                        st.pick(taken.len())
                    })?;
            if let Err(e) = api.ctx.world.hangup(&current.id, "200") {
                tracing::debug!(error = %e, "current call already gone after bridge");
            }
            let uuid = api.ctx.world.call(&parked_id).map(|c| call_uuid(&c.api_id));
            Ok(Json(json!({ "slot": slot.to_string(), "UUID": uuid })))
        }
        Some("slots") => match slot {
            Some(n) => {
                if !(1..=9).contains(&n) {
                    return Err(ApiError::bad_request(format!(
                        "slot {n} is out of range 1-9"
                    )));
                }
                let uuid = api.ctx.world.slot(&ext.id, n).map(|c| call_uuid(&c.api_id));
                Ok(Json(json!({ "slot": n.to_string(), "UUID": uuid })))
            }
            None => {
                let free: Vec<String> = api
                    .ctx
                    .world
                    .free_slots(&ext.id)
                    .iter()
                    .map(u8::to_string)
                    .collect();
                Ok(Json(json!({ "slots": free })))
            }
        },
        Some(other) => Err(ApiError::bad_request(format!("Unknown action {other}"))),
        None => Err(ApiError::bad_request("action is required")),
    }
}

/// Park `call` into `slot` (or the first free one) of `ext`'s lot, announce the slot on the
/// extension, and schedule the return after the park timeout.
pub(crate) fn park(
    ctx: &SimContext,
    st: &Arc<TelphinState>,
    call: &Call,
    ext: &Extension,
    slot: Option<u8>,
) -> Result<u8, ApiError> {
    let slot = ctx.world.park(&call.id, &ext.id, slot)?;
    ctx.journal.record(
        Channel::TelphinRest,
        Dir::Out,
        format!("announce slot {slot} on extension {}", ext.id),
        format!(
            "call {} parked in slot {slot}; the parking leg ends",
            call.api_id
        ),
    );
    schedule_return(ctx, st, &call.id, slot, ext);
    Ok(slot)
}

/// After the park timeout, ring the extension that parked the call again (if the call is still
/// in the slot from this parking); give up with `480` if nobody answers the return.
fn schedule_return(
    ctx: &SimContext,
    st: &Arc<TelphinState>,
    call_id: &str,
    slot: u8,
    ext: &Extension,
) {
    let generation = {
        let mut inner = st.lock();
        let g = inner
            .park_generation
            .entry(call_id.to_string())
            .or_insert(0);
        *g += 1;
        *g
    };
    let (ctx, st) = (ctx.clone(), st.clone());
    let (call_id, number) = (call_id.to_string(), ext.number.clone());
    tokio::spawn(async move {
        let cfg = &ctx.config.telphin;
        ctx.world
            .clock()
            .sleep(Duration::from_secs(cfg.park_timeout_secs))
            .await;
        if st.lock().park_generation.get(&call_id) != Some(&generation) {
            return;
        }
        let leg = match ctx.world.ring_back_parked(&call_id, slot, &number) {
            Ok(Some(leg)) => leg,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "park return skipped");
                return;
            }
        };
        st.set_role(&leg, LegRole::ParkReturn);
        if cfg.park_return_ring_secs == 0 {
            return;
        }
        ctx.world
            .clock()
            .sleep(Duration::from_secs(cfg.park_return_ring_secs))
            .await;
        if super::world_ops::leg_rings(&ctx.world, &call_id, &leg) {
            if let Err(e) = ctx.world.hangup(&call_id, "480") {
                tracing::debug!(error = %e, "returned call already gone");
            }
        }
    });
}

/// `slot` given as a number or a numeric string; absent, null or empty means "none".
fn slot_field(obj: &Map<String, Value>) -> Result<Option<u8>, ApiError> {
    let text = match obj.get("slot") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(ApiError::bad_request("slot must be a number from 1 to 9")),
    };
    text.parse::<u8>()
        .map(Some)
        .map_err(|_| ApiError::bad_request("slot must be a number from 1 to 9"))
}

/// The uuid part of a `CallAPIID` (`3232240860-37b98fb2-…` → `37b98fb2-…`).
pub(crate) fn call_uuid(api_id: &str) -> String {
    api_id
        .split_once(['-', ':'])
        .map(|(_, u)| u)
        .unwrap_or(api_id)
        .to_string()
}

/// A call that has not ended and is on `ext` now, or 404.
pub(crate) fn live_call_on(
    api: &Api,
    call_api_id: &str,
    ext: &Extension,
) -> Result<Call, ApiError> {
    let call = api
        .ctx
        .world
        .call(call_api_id)
        .ok_or_else(ApiError::not_found)?;
    if call.state == CallState::Ended || !on_extension_now(&call, ext) {
        return Err(ApiError::not_found());
    }
    Ok(call)
}

/// Whether the call is on `ext` now: the extension placed it, or has a leg that has not ended.
pub(crate) fn on_extension_now(call: &Call, ext: &Extension) -> bool {
    let is_ext = |s: &str| s == ext.number || s == ext.id;
    (call.direction != Direction::Inbound && is_ext(&call.from))
        || call
            .legs
            .iter()
            .any(|l| l.state != LegState::Ended && is_ext(&l.target))
}

/// The party of the call on the other side from `ext`.
pub(crate) fn other_party(call: &Call, ext: &Extension) -> String {
    if call.from == ext.number || call.from == ext.id {
        call.connected_to.clone().unwrap_or_else(|| call.to.clone())
    } else {
        call.from.clone()
    }
}
