//! Call operations shared by the `ccs` WebSocket requests and the REST `/rest/v1/uc/calls`
//! verbs. They act on the World; a User-API owner may act only on calls it can see.

use serde_json::{json, Value};

use super::render::{call_objects, connection_listing, EraIds};
use super::state::{EraState, Owner};
use super::wire::{EraCode, EraFailure};
use crate::world::{Call, CallState, Direction, LegState, WorldError};

/// Map a World refusal to a platform error.
pub fn world_failure(e: WorldError) -> EraFailure {
    match e {
        WorldError::NoSuchCall(_) | WorldError::NoSuchLeg(_) | WorldError::NoSuchExtension(_) => {
            EraFailure::new(EraCode::NotFound, e.to_string())
        }
        _ => EraFailure::new(EraCode::InvalidOperation, e.to_string()),
    }
}

/// Find a live or ended call by any of its Era ids, visible to `owner`.
pub fn find_call(st: &EraState, owner: &Owner, id: &str) -> Result<Call, EraFailure> {
    let domain = &st.config().domain;
    let id = id.trim();
    if id.is_empty() {
        return Err(
            EraFailure::new(EraCode::InvalidParams, "a call id is required").with_field("idconn"),
        );
    }
    let found = st.ctx.world.all_calls().into_iter().find(|c| {
        EraIds::of(c, domain).names(c, id)
            || c.legs
                .iter()
                .any(|l| super::render::fork_call_id(&l.id, domain) == id)
    });
    match found {
        Some(c) if owner.may_see(&call_objects(&c)) => Ok(c),
        _ => Err(EraFailure::new(
            EraCode::NotFound,
            format!("call '{id}' not found"),
        )),
    }
}

fn live(c: &Call) -> Result<(), EraFailure> {
    if c.state == CallState::Ended {
        Err(EraFailure::new(
            EraCode::InvalidOperation,
            "the call has ended",
        ))
    } else {
        Ok(())
    }
}

/// Active calls visible to `owner`, as listed by REST and `list_connections`.
pub fn list(st: &EraState, owner: &Owner) -> Vec<Value> {
    let now = st.now_ms();
    let domain = &st.config().domain;
    st.ctx
        .world
        .active_calls()
        .iter()
        .filter(|c| owner.may_see(&call_objects(c)))
        .map(|c| connection_listing(c, domain, now))
        .collect()
}

pub fn info(st: &EraState, c: &Call) -> Value {
    connection_listing(c, &st.config().domain, st.now_ms())
}

/// End the call: answered → `200`, still ringing → `603` (declined by the API).
pub fn hangup(st: &EraState, c: &Call) -> Result<Value, EraFailure> {
    live(c)?;
    let code = if c.answered_ms.is_some() {
        "200"
    } else {
        "603"
    };
    st.ctx.world.hangup(&c.id, code).map_err(world_failure)?;
    Ok(json!({}))
}

/// Start a call from `from` (the owner's device) to `to`; it rings `to`.
pub fn new_call(
    st: &EraState,
    owner: &Owner,
    from: Option<String>,
    to: &str,
) -> Result<Value, EraFailure> {
    let to = to.trim();
    if to.is_empty()
        || !to
            .chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '*' || c == '#')
    {
        return Err(
            EraFailure::new(EraCode::InvalidParams, format!("bad number '{to}'"))
                .with_field("number"),
        );
    }
    let from = match (from, owner) {
        (Some(f), Owner::User { extension, .. }) if &f != extension => {
            return Err(EraFailure::new(
                EraCode::AccessDenied,
                "a user may only call from its own extension",
            ))
        }
        (Some(f), _) => f,
        (None, Owner::User { extension, .. }) => extension.clone(),
        (None, Owner::Token) => {
            return Err(
                EraFailure::new(EraCode::InvalidParams, "field 'owner' is required")
                    .with_field("owner"),
            )
        }
    };
    let w = &st.ctx.world;
    let dir = if w.extension(to).is_some() {
        Direction::Internal
    } else {
        Direction::Outbound
    };
    let call = w.create_call(dir, &from, None, to, None);
    w.ring(&call.id, to).map_err(world_failure)?;
    let c = w.call(&call.id).unwrap_or(call);
    let ids = EraIds::of(&c, &st.config().domain);
    Ok(json!({ "id": ids.connectionid, "idconn": ids.connectionid, "cid": ids.cid }))
}

/// Blind (`attended = false`) or attended transfer to `number`.
pub fn transfer(
    st: &EraState,
    c: &Call,
    number: &str,
    attended: bool,
) -> Result<Value, EraFailure> {
    live(c)?;
    if number.trim().is_empty() {
        return Err(
            EraFailure::new(EraCode::InvalidParams, "field 'number' is required")
                .with_field("number"),
        );
    }
    st.ctx
        .world
        .transfer(&c.id, number.trim(), attended)
        .map_err(world_failure)?;
    Ok(json!({}))
}

pub fn hold(st: &EraState, c: &Call) -> Result<Value, EraFailure> {
    live(c)?;
    st.ctx.world.hold(&c.id).map_err(world_failure)?;
    Ok(json!({}))
}

/// `talk`: resume a held call, or answer a ringing one on its first ringing leg (remote answer).
pub fn talk(st: &EraState, c: &Call) -> Result<Value, EraFailure> {
    live(c)?;
    match c.state {
        CallState::Held => st.ctx.world.resume(&c.id).map_err(world_failure)?,
        CallState::Ringing => {
            let leg = c
                .legs
                .iter()
                .find(|l| l.state == LegState::Ringing)
                .ok_or_else(|| EraFailure::new(EraCode::InvalidOperation, "nothing is ringing"))?;
            st.ctx.world.answer(&c.id, &leg.id).map_err(world_failure)?
        }
        s => {
            return Err(EraFailure::new(
                EraCode::InvalidOperation,
                format!("the call is {s:?}, not held or ringing"),
            ))
        }
    }
    Ok(json!({}))
}

/// Send DTMF into the call (checked; tones are not simulated further).
pub fn send_dtmf(c: &Call, digits: &str) -> Result<Value, EraFailure> {
    live(c)?;
    if digits.is_empty()
        || !digits
            .chars()
            .all(|d| d.is_ascii_digit() || "*#ABCDabcd".contains(d))
    {
        return Err(
            EraFailure::new(EraCode::InvalidParams, format!("bad DTMF '{digits}'"))
                .with_field("dtmf"),
        );
    }
    if c.state != CallState::Active {
        return Err(EraFailure::new(
            EraCode::InvalidOperation,
            "DTMF needs an active call",
        ));
    }
    Ok(json!({ "dtmf": digits }))
}

/// Make the call a conference; with `number`, ring that number into it.
pub fn conference(st: &EraState, c: &Call, number: Option<&str>) -> Result<Value, EraFailure> {
    live(c)?;
    if !matches!(c.state, CallState::Active | CallState::Held) {
        return Err(EraFailure::new(
            EraCode::InvalidOperation,
            "only a connected call can become a conference",
        ));
    }
    let ids = EraIds::of(c, &st.config().domain);
    let mut out = json!({ "conference_id": format!("conf-{}", ids.cid) });
    if let Some(n) = number.map(str::trim).filter(|n| !n.is_empty()) {
        let leg = st.ctx.world.conference(&c.id, n).map_err(world_failure)?;
        out["callid"] = json!(super::render::fork_call_id(&leg, &st.config().domain));
    }
    Ok(out)
}
