//! Executing one operation of a call program against the World (and, for IVR takeovers, the
//! Era and Telphin front-ends).

use futures_util::FutureExt;
use rand_chacha::ChaCha8Rng;
use tokio::task::JoinHandle;

use super::program::Op;
use crate::telphin::CiOutcome;
use crate::world::{CallState, Hunt, LegState, WorldError};
use crate::SimContext;

/// A running call program.
pub(crate) struct CallRun {
    pub ops: Vec<(i64, Op)>,
    pub pc: usize,
    /// The delay before `ops[pc]` has been served.
    pub waited: bool,
    pub call_id: Option<String>,
    /// A hunt in progress and the scenario time it began.
    pub hunt: Option<(i64, Hunt)>,
    /// The agent (extension number) talking on the call.
    pub agent: Option<String>,
    /// The leg a transfer or conference rings.
    pub leg: Option<String>,
    /// Extension id that parked the call.
    pub parker: Option<String>,
    /// Era IVR session key.
    pub era_key: Option<String>,
    pub ci: Option<JoinHandle<CiOutcome>>,
    /// Scenario time the IVR answered.
    pub ivr_since: i64,
}

impl CallRun {
    pub fn new(ops: Vec<(i64, Op)>) -> CallRun {
        CallRun {
            ops,
            pc: 0,
            waited: false,
            call_id: None,
            hunt: None,
            agent: None,
            leg: None,
            parker: None,
            era_key: None,
            ci: None,
            ivr_since: 0,
        }
    }
}

/// Why a call program stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// It reached its planned end (an IVR-only call, an unanswered transfer).
    Completed,
    /// The call ended without the program (a client hung up).
    EndedElsewhere,
    CallerGaveUp,
    /// The World refused an operation; the call was hung up.
    Problem(String),
}

pub(crate) enum Flow {
    Next,
    /// Run the same operation again after this many ms.
    Poll(i64),
    Hunt(Box<Hunt>),
    Stop(End),
}

/// How often an IVR takeover is checked for its end (simulated ms).
const IVR_POLL_MS: i64 = 1000;

pub(crate) fn exec(
    ctx: &SimContext,
    run: &mut CallRun,
    op: &Op,
    now: i64,
    rng: &mut ChaCha8Rng,
) -> Flow {
    let world = &ctx.world;
    if let Op::Create {
        direction,
        from,
        from_name,
        to,
        did,
    } = op
    {
        let call = world.create_call(*direction, from, from_name.as_deref(), to, did.as_deref());
        tracing::info!(call = %call.id, ?direction, from = %from, to = %to, "scenario call");
        run.call_id = Some(call.id);
        if *direction != crate::world::Direction::Inbound {
            run.agent = Some(from.clone());
        }
        return Flow::Next;
    }
    let Some(id) = run.call_id.clone() else {
        return Flow::Stop(End::Problem("no call".into()));
    };
    // A call somebody else ended is over for the program too.
    match world.call(&id).map(|c| c.state) {
        None => return Flow::Stop(End::Problem(format!("call {id} vanished"))),
        Some(CallState::Ended) => return Flow::Stop(End::EndedElsewhere),
        Some(_) => {}
    }
    let result: Result<Flow, WorldError> = (|| {
        Ok(match op {
            Op::Create { .. } => Flow::Next,
            Op::RingIvr { number } => {
                run.leg = Some(world.ring(&id, number)?);
                Flow::Next
            }
            Op::AnswerIvr => {
                if let Some(leg) = run.leg.take() {
                    world.answer(&id, &leg)?;
                }
                run.ivr_since = now;
                Flow::Next
            }
            Op::OfferEra { number, params } => {
                let key = crate::era::offer_ivr_control(ctx, &id, number, params.clone());
                run.era_key = (!key.is_empty()).then_some(key);
                Flow::Next
            }
            Op::StartCi {
                extension_id,
                url,
                method,
            } => {
                run.ci = Some(crate::telphin::start_call_interactive(
                    ctx,
                    &id,
                    extension_id,
                    url,
                    method,
                ));
                Flow::Next
            }
            Op::IvrDtmf { digits, era } => {
                if *era {
                    crate::era::press_dtmf(ctx, &id, digits);
                } else {
                    world.dtmf(&id, digits)?;
                }
                Flow::Next
            }
            Op::LeaveIvr { ivr, route, max_ms } => {
                leave_ivr(ctx, run, &id, ivr, route.as_ref(), *max_ms, now, rng)?
            }
            Op::Hunt(route) => Flow::Hunt(Box::new(Hunt::new(&id, route.plan(world, rng)))),
            Op::Hold => {
                world.hold(&id)?;
                Flow::Next
            }
            Op::Resume => {
                if world.call(&id).is_some_and(|c| c.state == CallState::Held) {
                    world.resume(&id)?;
                }
                Flow::Next
            }
            Op::Transfer { to, attended } => {
                run.leg = Some(world.transfer(&id, to, *attended)?);
                Flow::Next
            }
            Op::TransferAnswer => {
                if let Some(leg) = run.leg.take() {
                    let target = leg_target(ctx, &id, &leg);
                    world.answer(&id, &leg)?;
                    run.agent = target;
                }
                Flow::Next
            }
            Op::TransferUnanswered { attended } => {
                if let Some(leg) = run.leg.take() {
                    world.end_leg(&id, &leg, "408")?;
                }
                if *attended {
                    if world.call(&id).is_some_and(|c| c.state == CallState::Held) {
                        world.resume(&id)?;
                    }
                    Flow::Next
                } else {
                    world.hangup(&id, "480")?;
                    Flow::Stop(End::Completed)
                }
            }
            Op::Conference { with } => {
                run.leg = Some(world.conference(&id, with)?);
                Flow::Next
            }
            Op::ConferenceJoin => {
                if let Some(leg) = run.leg.take() {
                    world.join_conference(&id, &leg)?;
                }
                Flow::Next
            }
            Op::ConferenceUnanswered => {
                if let Some(leg) = run.leg.take() {
                    world.end_leg(&id, &leg, "408")?;
                }
                Flow::Next
            }
            Op::Park { slot, by } => {
                let by = by
                    .clone()
                    .or_else(|| run.agent.clone())
                    .or_else(|| world.call(&id).and_then(|c| c.connected_to));
                let by = by.ok_or(WorldError::WrongState(CallState::Ringing))?;
                let ext_id = world.extension(&by).map(|e| e.id).unwrap_or(by);
                world.park(&id, &ext_id, *slot)?;
                run.parker = Some(ext_id);
                Flow::Next
            }
            Op::Bridge { to } => {
                let call = world
                    .call(&id)
                    .ok_or_else(|| WorldError::NoSuchCall(id.clone()))?;
                match (call.state, call.parked_slot, call.parked_by.clone()) {
                    (CallState::Parked, Some(slot), Some(owner)) => {
                        let to = to.clone().unwrap_or_else(|| number_of(ctx, &owner));
                        world.unpark(&owner, Some(slot), &to, "bridged", |_| 0)?;
                        run.agent = Some(to);
                    }
                    // Somebody took it out of the slot already.
                    _ => answer_ringing(ctx, run, &id)?,
                }
                Flow::Next
            }
            Op::ParkReturn => {
                if world.return_parked(&id)?.is_some() {
                    run.agent = run.parker.as_deref().map(|p| number_of(ctx, p));
                } else {
                    // The platform returned it already (ringing the parker) or someone bridged it.
                    answer_ringing(ctx, run, &id)?;
                }
                Flow::Next
            }
            Op::Dtmf(d) => {
                world.dtmf(&id, d)?;
                Flow::Next
            }
            Op::Hangup(code) => {
                world.hangup(&id, code)?;
                Flow::Next
            }
        })
    })();
    match result {
        Ok(flow) => flow,
        Err(e) => match world.call(&id).map(|c| c.state) {
            Some(CallState::Ended) | None => Flow::Stop(End::EndedElsewhere),
            Some(_) => {
                // Leave no call behind that nobody drives any more.
                let _ = world.hangup(&id, "200");
                Flow::Stop(End::Problem(format!("{}: {e}", op.name())))
            }
        },
    }
}

fn number_of(ctx: &SimContext, extension_id: &str) -> String {
    ctx.world
        .extension(extension_id)
        .map(|e| e.number)
        .unwrap_or_else(|| extension_id.to_string())
}

fn leg_target(ctx: &SimContext, call_id: &str, leg_id: &str) -> Option<String> {
    let call = ctx.world.call(call_id)?;
    call.legs
        .iter()
        .find(|l| l.id == leg_id)
        .map(|l| l.target.clone())
}

/// If the call rings somebody (a returned park, a platform transfer), that party picks up.
fn answer_ringing(ctx: &SimContext, run: &mut CallRun, id: &str) -> Result<(), WorldError> {
    let Some(call) = ctx.world.call(id) else {
        return Ok(());
    };
    if call.state != CallState::Ringing {
        return Ok(());
    }
    if let Some(leg) = call.legs.iter().find(|l| l.state == LegState::Ringing) {
        ctx.world.answer(id, &leg.id)?;
        run.agent = Some(leg.target.clone());
    }
    Ok(())
}

/// The caller's time in the IVR is over: wait while a takeover session still runs, then follow
/// the call wherever it went, or route it on.
#[allow(clippy::too_many_arguments)]
fn leave_ivr(
    ctx: &SimContext,
    run: &mut CallRun,
    id: &str,
    ivr: &str,
    route: Option<&super::program::Route>,
    max_ms: i64,
    now: i64,
    rng: &mut ChaCha8Rng,
) -> Result<Flow, WorldError> {
    let world = &ctx.world;
    let era_live = run
        .era_key
        .as_deref()
        .and_then(|k| crate::era::control(ctx).ivr_controller(k))
        .is_some_and(|(_, live)| live);
    let ci_live = run.ci.as_ref().is_some_and(|h| !h.is_finished());
    if era_live || ci_live {
        if now - run.ivr_since < max_ms {
            return Ok(Flow::Poll(IVR_POLL_MS));
        }
        world.hangup(id, "603-S")?;
        return Ok(Flow::Stop(End::CallerGaveUp));
    }
    if let Some(mut h) = run.ci.take() {
        if let Some(Ok(outcome)) = (&mut h).now_or_never() {
            tracing::debug!(call = id, end = ?outcome.end, "call interactive finished");
        }
    }
    let call = world
        .call(id)
        .ok_or_else(|| WorldError::NoSuchCall(id.to_string()))?;
    let at_ivr = call.connected_to.as_deref() == Some(ivr);
    Ok(match call.state {
        CallState::Ended => Flow::Stop(End::EndedElsewhere),
        CallState::Active | CallState::Held if at_ivr => match route {
            Some(route) => {
                world.redirect(id, &route.to)?;
                Flow::Hunt(Box::new(Hunt::new(id, route.plan(world, rng))))
            }
            None => {
                world.hangup(id, "200")?;
                Flow::Stop(End::Completed)
            }
        },
        // Somebody took the call (a controlling client's transfer, a Call Interactive one).
        CallState::Active | CallState::Held | CallState::Parked => {
            run.agent = call.connected_to.clone();
            Flow::Next
        }
        CallState::Ringing => {
            let ringing: Vec<_> = call
                .legs
                .iter()
                .filter(|l| l.state == LegState::Ringing)
                .collect();
            match route {
                Some(route) if ringing.is_empty() => {
                    Flow::Hunt(Box::new(Hunt::new(id, route.plan(world, rng))))
                }
                _ if ringing.is_empty() => {
                    world.hangup(id, "480")?;
                    Flow::Stop(End::Completed)
                }
                _ => {
                    let targets: Vec<String> = ringing.iter().map(|l| l.target.clone()).collect();
                    let legs = ringing.iter().map(|l| l.id.clone()).collect();
                    let fallback = super::program::Route {
                        to: targets.first().cloned().unwrap_or_default(),
                        members: targets.clone(),
                        mode: crate::world::HuntMode::Parallel,
                        ring_timeout_ms: crate::world::DEFAULT_RING_TIMEOUT_MS,
                        outcome: super::spec::Outcome::Answered,
                        answered_by: None,
                        ring_ms: 3000,
                    };
                    let route = route.unwrap_or(&fallback);
                    Flow::Hunt(Box::new(Hunt::adopt(
                        id,
                        route.adopted_plan(world, &targets),
                        legs,
                    )))
                }
            }
        }
    })
}
