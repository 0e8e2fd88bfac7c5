//! World operations only Telphin needs, and answering the legs the Telphin API creates.

use std::sync::Arc;
use std::time::Duration;

use super::state::{state_for, LegRole, TelphinState};
use crate::world::{CallState, Leg, LegState, World, WorldError, WorldEventKind};
use crate::SimContext;

impl World {
    /// Valet-park timeout: ring the extension that parked the call again. The call leaves
    /// `slot` (`Unparked { how: "returned" }`), becomes `Ringing` and gets a new ringing leg to
    /// `ring_number`. Returns the leg id, or `None` if the call is no longer parked in `slot`.
    pub fn ring_back_parked(
        &self,
        call_id: &str,
        slot: u8,
        ring_number: &str,
    ) -> Result<Option<String>, WorldError> {
        let leg_id = format!("{}-{}", ring_number, uuid::Uuid::new_v4().simple());
        let owner = self.with_call(call_id, |c, now| {
            if c.state != CallState::Parked || c.parked_slot != Some(slot) {
                return Ok((None, Vec::new()));
            }
            c.parked_slot = None;
            c.state = CallState::Ringing;
            c.connected_to = None;
            c.legs.push(Leg {
                id: leg_id.clone(),
                target: ring_number.to_string(),
                state: LegState::Ringing,
                started_ms: now,
                answered_ms: None,
                ended_ms: None,
                result_code: None,
            });
            let kinds = vec![
                WorldEventKind::Unparked {
                    slot,
                    how: "returned".into(),
                },
                WorldEventKind::LegRinging {
                    leg_id: leg_id.clone(),
                    target: ring_number.into(),
                },
            ];
            Ok((
                Some((c.id.clone(), c.parked_by.clone().unwrap_or_default())),
                kinds,
            ))
        })?;
        let Some((world_id, owner)) = owner else {
            return Ok(None);
        };
        let mut s = self.lock();
        if let Some(lot) = s.slots.get_mut(&owner) {
            if lot.get(&slot) == Some(&world_id) {
                lot.remove(&slot);
            }
        }
        Ok(Some(leg_id))
    }

    /// Change the caller id of a call (Call Interactive `SetCaller`). No event: the new caller
    /// id shows in the events that follow.
    pub fn set_caller_id(
        &self,
        call_id: &str,
        number: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), WorldError> {
        self.with_call(call_id, |c, _| {
            if c.state == CallState::Ended {
                return Err(WorldError::Ended(c.id.clone()));
            }
            if let Some(n) = number.filter(|n| !n.is_empty()) {
                c.from = n.to_string();
            }
            if let Some(n) = name.filter(|n| !n.is_empty()) {
                c.from_name = Some(n.to_string());
            }
            Ok(((), Vec::new()))
        })
    }
}

/// Answer a ringing leg the way its purpose requires: eavesdrop, whisper, conference and
/// click-to-call destination legs join the call; a click-to-call source leg, once answered,
/// dials the destination; every other leg (transfer, pickup, returned park, Call Interactive
/// transfer, or one the World created) takes the call with [`World::answer`].
pub fn answer_leg(ctx: &SimContext, call_id: &str, leg_id: &str) -> Result<(), WorldError> {
    let st = state_for(ctx);
    answer_with_role(ctx, &st, call_id, leg_id)
}

pub(crate) fn answer_with_role(
    ctx: &SimContext,
    st: &Arc<TelphinState>,
    call_id: &str,
    leg_id: &str,
) -> Result<(), WorldError> {
    let world = &ctx.world;
    match st.role(leg_id) {
        Some(
            LegRole::Eavesdrop
            | LegRole::Whisper
            | LegRole::Conference
            | LegRole::CallbackDestination,
        ) => world.join_conference(call_id, leg_id),
        Some(LegRole::CallbackSource { dst }) => {
            world.answer(call_id, leg_id)?;
            let dst_leg = world.ring(call_id, &dst)?;
            st.set_role(&dst_leg, LegRole::CallbackDestination);
            schedule_auto_answer(ctx, st, call_id, &dst_leg);
            Ok(())
        }
        _ => world.answer(call_id, leg_id),
    }
}

/// If configured, answer `leg_id` after `auto_answer_secs` of simulated time (when it still rings).
pub(crate) fn schedule_auto_answer(
    ctx: &SimContext,
    st: &Arc<TelphinState>,
    call_id: &str,
    leg_id: &str,
) {
    let Some(secs) = ctx.config.telphin.auto_answer_secs else {
        return;
    };
    if !secs.is_finite() || secs < 0.0 {
        return;
    }
    let (ctx, st) = (ctx.clone(), st.clone());
    let (call_id, leg_id) = (call_id.to_string(), leg_id.to_string());
    tokio::spawn(async move {
        ctx.world.clock().sleep(Duration::from_secs_f64(secs)).await;
        if leg_rings(&ctx.world, &call_id, &leg_id) {
            if let Err(e) = answer_with_role(&ctx, &st, &call_id, &leg_id) {
                tracing::debug!(error = %e, leg = %leg_id, "auto-answer skipped");
            }
        }
    });
}

/// Whether the leg is still ringing.
pub(crate) fn leg_rings(world: &World, call_id: &str, leg_id: &str) -> bool {
    world
        .call(call_id)
        .and_then(|c| c.legs.into_iter().find(|l| l.id == leg_id))
        .is_some_and(|l| l.state == LegState::Ringing)
}
