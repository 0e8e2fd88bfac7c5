//! Operations on answered calls: transfers (blind and attended), IVR redirect, conferences.

use super::{end_answered_legs, CallState, Leg, LegState, World, WorldError, WorldEventKind};

impl World {
    /// Transfer an answered call to `to`; returns the new leg id, which rings. Whoever drives
    /// the call (scenario or front-end) answers it with [`World::answer`].
    ///
    /// Blind (`attended == false`): the current leg ends with `200` at once and the call rings
    /// again. Attended: the agent consults first, so the caller is put on hold and the agent's
    /// leg stays up until the new leg is answered (then it ends with `200`); if the target does
    /// not answer, end its leg with [`World::end_leg`] and [`World::resume`] the call.
    pub fn transfer(&self, call_id: &str, to: &str, attended: bool) -> Result<String, WorldError> {
        let leg_id = format!("{}-{}", to, uuid::Uuid::new_v4().simple());
        self.with_call(call_id, |c, now| {
            if !matches!(c.state, CallState::Active | CallState::Held) {
                return Err(WorldError::WrongState(c.state));
            }
            let mut kinds = vec![WorldEventKind::Transferred {
                to: to.into(),
                attended,
            }];
            if attended {
                if c.state == CallState::Active {
                    c.state = CallState::Held;
                    kinds.push(WorldEventKind::Held);
                }
            } else {
                end_answered_legs(c, now, &mut kinds);
                c.state = CallState::Ringing;
                c.connected_to = None;
            }
            c.legs.push(Leg {
                id: leg_id.clone(),
                target: to.to_string(),
                state: LegState::Ringing,
                started_ms: now,
                answered_ms: None,
                ended_ms: None,
                result_code: None,
            });
            kinds.push(WorldEventKind::LegRinging {
                leg_id: leg_id.clone(),
                target: to.into(),
            });
            Ok((leg_id.clone(), kinds))
        })
    }

    /// Send an answered call (typically sitting in an IVR) on to `to` — a queue or hunt group —
    /// without ringing anyone yet: the current leg ends with `200` and the call is `Ringing`
    /// again with no live leg. Ring the members with [`World::ring`] or [`World::hunt`].
    pub fn redirect(&self, call_id: &str, to: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, now| {
            if !matches!(c.state, CallState::Active | CallState::Held) {
                return Err(WorldError::WrongState(c.state));
            }
            let mut kinds = vec![WorldEventKind::Transferred {
                to: to.into(),
                attended: false,
            }];
            end_answered_legs(c, now, &mut kinds);
            c.state = CallState::Ringing;
            c.connected_to = None;
            Ok(((), kinds))
        })
    }

    /// Invite `with` into an answered call (three-way conference). Returns the new leg id,
    /// which rings; [`World::join_conference`] connects it without dropping anyone.
    ///
    /// Events: `Conference { with }`, `LegRinging`, later `LegAnswered`; the other answered
    /// leg(s) stay up.
    pub fn conference(&self, call_id: &str, with: &str) -> Result<String, WorldError> {
        let leg_id = format!("{}-{}", with, uuid::Uuid::new_v4().simple());
        self.with_call(call_id, |c, now| {
            if !matches!(c.state, CallState::Active | CallState::Held) {
                return Err(WorldError::WrongState(c.state));
            }
            c.legs.push(Leg {
                id: leg_id.clone(),
                target: with.to_string(),
                state: LegState::Ringing,
                started_ms: now,
                answered_ms: None,
                ended_ms: None,
                result_code: None,
            });
            let kinds = vec![
                WorldEventKind::Conference { with: with.into() },
                WorldEventKind::LegRinging {
                    leg_id: leg_id.clone(),
                    target: with.into(),
                },
            ];
            Ok((leg_id.clone(), kinds))
        })
    }

    /// The invited party answered: its leg joins the parties already talking.
    pub fn join_conference(&self, call_id: &str, leg_id: &str) -> Result<(), WorldError> {
        self.with_call(call_id, |c, now| {
            if !matches!(c.state, CallState::Active | CallState::Held) {
                return Err(WorldError::WrongState(c.state));
            }
            let leg = c
                .legs
                .iter_mut()
                .find(|l| l.id == leg_id)
                .ok_or_else(|| WorldError::NoSuchLeg(leg_id.to_string()))?;
            if leg.state != LegState::Ringing {
                return Err(WorldError::WrongState(c.state));
            }
            leg.state = LegState::Answered;
            leg.answered_ms = Some(now);
            let k = WorldEventKind::LegAnswered {
                leg_id: leg_id.into(),
                target: leg.target.clone(),
            };
            c.state = CallState::Active;
            Ok(((), vec![k]))
        })
    }

    /// One party leaves a conference (its answered leg ends with `200`). When nobody is left
    /// on the agent side the call ends with `200`; otherwise the call goes on with the others.
    pub fn leave_conference(&self, call_id: &str, leg_id: &str) -> Result<(), WorldError> {
        let last = self.with_call(call_id, |c, now| {
            if c.state == CallState::Ended {
                return Err(WorldError::Ended(c.id.clone()));
            }
            let leg = c
                .legs
                .iter_mut()
                .find(|l| l.id == leg_id)
                .ok_or_else(|| WorldError::NoSuchLeg(leg_id.to_string()))?;
            if leg.state != LegState::Answered {
                return Err(WorldError::WrongState(c.state));
            }
            leg.state = LegState::Ended;
            leg.ended_ms = Some(now);
            leg.result_code = Some("200".into());
            let left = leg.target.clone();
            let kinds = vec![WorldEventKind::LegEnded {
                leg_id: leg_id.into(),
                target: left.clone(),
                code: "200".into(),
            }];
            let remaining = c
                .legs
                .iter()
                .find(|l| l.state == LegState::Answered)
                .map(|l| l.target.clone());
            if c.connected_to.as_deref() == Some(left.as_str()) {
                c.connected_to = remaining.clone();
            }
            Ok((remaining.is_none(), kinds))
        })?;
        if last {
            self.hangup(call_id, "200")?;
        }
        Ok(())
    }

    /// Whether the agent with extension number `number` is talking (has an answered leg on a
    /// call that has not ended). Ringing does not make an agent busy.
    pub fn is_busy(&self, number: &str) -> bool {
        self.lock().calls.values().any(|c| {
            c.state != CallState::Ended
                && c.legs
                    .iter()
                    .any(|l| l.state == LegState::Answered && l.target == number)
        })
    }
}
