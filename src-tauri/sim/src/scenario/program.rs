//! A scripted call turned into a program: timed operations on the World, run one by one by the
//! [`super::ScenarioRunner`]. Numbers, durations and who answers are drawn from the scenario's
//! seeded generator when the call starts (who answers: when the hunt starts).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::span::Span;
use super::spec::{CallSpec, Contact, Outcome, ParkThen, Step};
use crate::world::{
    Direction, ExtensionKind, HuntMode, HuntPlan, MemberResponse, World, DEFAULT_RING_TIMEOUT_MS,
};
use crate::SimContext;

/// Where a call is routed and how the hunt there goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub to: String,
    pub members: Vec<String>,
    pub mode: HuntMode,
    pub ring_timeout_ms: i64,
    pub outcome: Outcome,
    pub answered_by: Option<String>,
    pub ring_ms: i64,
}

impl Route {
    /// The hunt plan, choosing a free member to answer when none is named.
    pub fn plan(&self, world: &World, rng: &mut ChaCha8Rng) -> HuntPlan {
        let ring = self.ring_ms.clamp(0, (self.ring_timeout_ms - 500).max(0));
        let answerer = match self.outcome {
            Outcome::Answered => self.answered_by.clone().or_else(|| {
                let free: Vec<&String> =
                    self.members.iter().filter(|m| !world.is_busy(m)).collect();
                let pool: Vec<&String> = if free.is_empty() {
                    self.members.iter().collect()
                } else {
                    free
                };
                pick(rng, &pool).map(|m| (*m).clone())
            }),
            _ => None,
        };
        let respond = |m: &str| match self.outcome {
            Outcome::Answered if answerer.as_deref() == Some(m) => {
                MemberResponse::Answer { after_ms: ring }
            }
            Outcome::Busy => MemberResponse::Busy,
            Outcome::Rejected => MemberResponse::Reject { after_ms: ring },
            _ => MemberResponse::NoAnswer,
        };
        let members = self.members.iter().map(|m| (m.clone(), respond(m)));
        let plan = HuntPlan::new(self.mode, members, self.ring_timeout_ms);
        match self.outcome {
            Outcome::Cancelled => plan.caller_gives_up_after(self.ring_ms),
            _ => plan,
        }
    }

    /// A plan for legs somebody else already rings (first one answers, if any does).
    /// An agent already talking elsewhere is busy (`486`).
    pub fn adopted_plan(&self, world: &World, targets: &[String]) -> HuntPlan {
        let ring = self.ring_ms.clamp(0, (self.ring_timeout_ms - 500).max(0));
        let respond = |i: usize| match self.outcome {
            _ if targets.get(i).is_some_and(|t| world.is_busy(t)) => MemberResponse::Busy,
            Outcome::Answered if i == 0 => MemberResponse::Answer { after_ms: ring },
            Outcome::Busy => MemberResponse::Busy,
            Outcome::Rejected => MemberResponse::Reject { after_ms: ring },
            _ => MemberResponse::NoAnswer,
        };
        let members = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), respond(i)));
        let plan = HuntPlan::new(HuntMode::Parallel, members, self.ring_timeout_ms);
        match self.outcome {
            Outcome::Cancelled => plan.caller_gives_up_after(self.ring_ms),
            _ => plan,
        }
    }
}

/// One timed operation of a call program.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Create {
        direction: Direction,
        from: String,
        from_name: Option<String>,
        to: String,
        did: Option<String>,
    },
    RingIvr {
        number: String,
    },
    AnswerIvr,
    OfferEra {
        number: String,
        params: serde_json::Value,
    },
    StartCi {
        extension_id: String,
        url: String,
        method: String,
    },
    IvrDtmf {
        digits: String,
        era: bool,
    },
    /// Wait for a takeover session to end, then follow the call where it went (or route it).
    LeaveIvr {
        ivr: String,
        route: Option<Route>,
        max_ms: i64,
    },
    Hunt(Route),
    Hold,
    Resume,
    Transfer {
        to: String,
        attended: bool,
    },
    TransferAnswer,
    TransferUnanswered {
        attended: bool,
    },
    Conference {
        with: String,
    },
    ConferenceJoin,
    ConferenceUnanswered,
    Park {
        slot: Option<u8>,
        by: Option<String>,
    },
    Bridge {
        to: Option<String>,
    },
    ParkReturn,
    Dtmf(String),
    Hangup(String),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::RingIvr { .. } => "ring_ivr",
            Op::AnswerIvr => "answer_ivr",
            Op::OfferEra { .. } => "offer_era_ivr_control",
            Op::StartCi { .. } => "start_call_interactive",
            Op::IvrDtmf { .. } => "ivr_dtmf",
            Op::LeaveIvr { .. } => "leave_ivr",
            Op::Hunt(_) => "hunt",
            Op::Hold => "hold",
            Op::Resume => "resume",
            Op::Transfer { .. } => "transfer",
            Op::TransferAnswer => "transfer_answer",
            Op::TransferUnanswered { .. } => "transfer_unanswered",
            Op::Conference { .. } => "conference",
            Op::ConferenceJoin => "conference_join",
            Op::ConferenceUnanswered => "conference_unanswered",
            Op::Park { .. } => "park",
            Op::Bridge { .. } => "bridge",
            Op::ParkReturn => "park_return",
            Op::Dtmf(_) => "dtmf",
            Op::Hangup(_) => "hangup",
        }
    }
}

/// What a call program is built from besides its spec.
pub(crate) struct Env<'a> {
    pub ctx: &'a SimContext,
    pub callers: &'a [Contact],
    pub dids: &'a [String],
    pub externals: &'a [Contact],
    /// Agent numbers `@agent` picks from.
    pub agents: &'a [String],
    pub park_timeout: Span,
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.random_range(0..items.len()))
    }
}

fn random_mobile(rng: &mut ChaCha8Rng) -> String {
    format!("+79{:09}", rng.random_range(0..1_000_000_000u64))
}

impl Env<'_> {
    /// Replace a placeholder by a number (and a name, for contacts).
    fn resolve(
        &self,
        value: &str,
        rng: &mut ChaCha8Rng,
    ) -> Result<(String, Option<String>), String> {
        self.resolve_except(value, None, rng)
    }

    /// Like `resolve`, but `@agent` does not pick `except` (nobody calls themselves).
    fn resolve_except(
        &self,
        value: &str,
        except: Option<&str>,
        rng: &mut ChaCha8Rng,
    ) -> Result<(String, Option<String>), String> {
        let world = &self.ctx.world;
        Ok(match value {
            "@caller" => match pick(rng, self.callers) {
                Some(c) => (c.number().to_string(), c.name().map(str::to_string)),
                None => (random_mobile(rng), None),
            },
            "@external" => match pick(rng, self.externals) {
                Some(c) => (c.number().to_string(), c.name().map(str::to_string)),
                None => (random_mobile(rng), None),
            },
            "@did" => match pick(rng, self.dids) {
                Some(d) => (d.clone(), None),
                None => (
                    format!("7495{:07}", rng.random_range(0..10_000_000u32)),
                    None,
                ),
            },
            "@agent" => {
                let others: Vec<&String> = self
                    .agents
                    .iter()
                    .filter(|a| Some(a.as_str()) != except)
                    .collect();
                let free: Vec<&String> = others
                    .iter()
                    .copied()
                    .filter(|a| !world.is_busy(a))
                    .collect();
                let pool = if free.is_empty() { others } else { free };
                let a = pick(rng, &pool).ok_or("@agent: the directory has no agents")?;
                ((*a).clone(), world.extension(a).map(|e| e.name))
            }
            "@group" => {
                let groups = world.groups();
                let g = pick(rng, &groups).ok_or("@group: there are no hunt groups")?;
                (g.number.clone(), None)
            }
            other => (other.trim().to_string(), None),
        })
    }
}

/// Build the program of one call.
pub(crate) fn compile(
    spec: &CallSpec,
    steps: &[(Span, Step)],
    env: &Env<'_>,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<(i64, Op)>, String> {
    let world = &env.ctx.world;
    let (from, contact_name) = env.resolve(&spec.from, rng)?;
    let (to, _) = env.resolve_except(&spec.to, Some(&from), rng)?;
    let did = match &spec.did {
        Some(d) => Some(env.resolve(d, rng)?.0),
        None => None,
    };
    let answered_by = match &spec.answered_by {
        Some(a) => Some(env.resolve(a, rng)?.0),
        None => None,
    };
    let from_ext = world
        .extension(&from)
        .filter(|e| e.kind == ExtensionKind::Agent);
    let to_internal = world.extension(&to).is_some() || world.group(&to).is_some();
    let direction = spec.direction.unwrap_or(match (&from_ext, to_internal) {
        (Some(_), true) => Direction::Internal,
        (Some(_), false) => Direction::Outbound,
        (None, _) => Direction::Inbound,
    });
    let from_name = spec
        .from_name
        .clone()
        .or(contact_name)
        .or_else(|| from_ext.as_ref().map(|e| e.name.clone()));

    let group = world.group(&to);
    let members = if !spec.members.is_empty() {
        spec.members.clone()
    } else if let Some(g) = &group {
        g.members.clone()
    } else if to.is_empty() {
        Vec::new()
    } else {
        vec![to.clone()]
    };
    let route = Route {
        to: to.clone(),
        members,
        mode: spec
            .mode
            .or(group.as_ref().map(|g| g.mode))
            .unwrap_or_default(),
        ring_timeout_ms: spec
            .ring_timeout
            .map(|s| s.pick(rng))
            .or(group.as_ref().map(|g| g.ring_timeout_ms))
            .unwrap_or(DEFAULT_RING_TIMEOUT_MS),
        outcome: spec.outcome,
        answered_by,
        ring_ms: spec.ring.unwrap_or(Span::range(2000, 8000)).pick(rng),
    };

    let mut ops = Vec::new();
    match &spec.ivr {
        None => {
            ops.push((
                0,
                Op::Create {
                    direction,
                    from,
                    from_name,
                    to,
                    did,
                },
            ));
            ops.push((0, Op::Hunt(route)));
        }
        Some(ivr) => {
            let number = match &ivr.number {
                Some(n) => n.clone(),
                None => world
                    .extensions()
                    .into_iter()
                    .find(|e| e.kind == ExtensionKind::Ivr)
                    .map(|e| e.number)
                    .ok_or("ivr: the directory has no IVR; give `number`")?,
            };
            ops.push((
                0,
                Op::Create {
                    direction,
                    from,
                    from_name,
                    to: number.clone(),
                    did,
                },
            ));
            ops.push((
                0,
                Op::RingIvr {
                    number: number.clone(),
                },
            ));
            ops.push((ivr.answer.unwrap_or(Span::secs(1)).pick(rng), Op::AnswerIvr));
            let era = match &ivr.era {
                None | Some(toml::Value::Boolean(false)) => None,
                Some(toml::Value::Boolean(true)) => Some(serde_json::Value::Null),
                Some(v) => {
                    Some(serde_json::to_value(v).map_err(|e| format!("ivr.era params: {e}"))?)
                }
            };
            if let Some(params) = era.clone() {
                ops.push((
                    0,
                    Op::OfferEra {
                        number: number.clone(),
                        params,
                    },
                ));
            }
            if let Some(ci) = &ivr.call_interactive {
                let cfg = &env.ctx.config.telphin.call_interactive;
                let url = ci.url.clone().or(cfg.url.clone()).ok_or(
                    "ivr.call_interactive needs `url` (or [sim.telphin.call_interactive] url)",
                )?;
                let method = ci.method.clone().unwrap_or_else(|| cfg.method.clone());
                let extension_id = world
                    .extension(&number)
                    .map(|e| e.id)
                    .unwrap_or_else(|| number.clone());
                // With auto-start the Telphin front-end starts the session by itself.
                let auto =
                    cfg.auto_start && cfg.url.is_some() && cfg.ivr_extension_id == extension_id;
                if !auto {
                    ops.push((
                        0,
                        Op::StartCi {
                            extension_id,
                            url,
                            method,
                        },
                    ));
                }
            }
            let wait = ivr.wait.unwrap_or(Span::secs(6)).pick(rng);
            let route = (!route.members.is_empty() && route.to != number).then_some(route);
            let max_ms = ivr.max.unwrap_or(Span::secs(300)).pick(rng);
            match &ivr.dtmf {
                Some(d) => {
                    ops.push((
                        wait,
                        Op::IvrDtmf {
                            digits: d.clone(),
                            era: era.is_some(),
                        },
                    ));
                    ops.push((
                        1000,
                        Op::LeaveIvr {
                            ivr: number,
                            route,
                            max_ms,
                        },
                    ));
                }
                None => ops.push((
                    wait,
                    Op::LeaveIvr {
                        ivr: number,
                        route,
                        max_ms,
                    },
                )),
            }
        }
    }

    let mut pending = 0i64;
    let mut ended = false;
    for (after, step) in steps {
        let mut at = |ops: &mut Vec<(i64, Op)>, delay: i64, op: Op| {
            ops.push((pending + delay, op));
            pending = 0;
        };
        let after = after.pick(rng);
        match step {
            Step::Talk(d) => pending += after + d.pick(rng),
            Step::Hold(d) => {
                at(&mut ops, after, Op::Hold);
                ops.push((d.pick(rng), Op::Resume));
            }
            Step::Transfer {
                to,
                attended,
                ring,
                answered,
            } => {
                at(
                    &mut ops,
                    after,
                    Op::Transfer {
                        to: to.clone(),
                        attended: *attended,
                    },
                );
                let op = if *answered {
                    Op::TransferAnswer
                } else {
                    Op::TransferUnanswered {
                        attended: *attended,
                    }
                };
                ops.push((ring.pick(rng), op));
            }
            Step::Conference {
                with,
                ring,
                answered,
            } => {
                at(&mut ops, after, Op::Conference { with: with.clone() });
                let op = if *answered {
                    Op::ConferenceJoin
                } else {
                    Op::ConferenceUnanswered
                };
                ops.push((ring.pick(rng), op));
            }
            Step::Park { slot, by, then } => {
                at(
                    &mut ops,
                    after,
                    Op::Park {
                        slot: *slot,
                        by: by.clone(),
                    },
                );
                match then {
                    ParkThen::Return => ops.push((env.park_timeout.pick(rng), Op::ParkReturn)),
                    ParkThen::Bridge { wait, to } => {
                        ops.push((wait.pick(rng), Op::Bridge { to: to.clone() }))
                    }
                    ParkThen::Hangup { wait } => {
                        ops.push((wait.pick(rng), Op::Hangup("200".into())));
                        ended = true;
                    }
                }
            }
            Step::Dtmf(d) => at(&mut ops, after, Op::Dtmf(d.clone())),
            Step::Hangup(code) => {
                at(&mut ops, after, Op::Hangup(code.clone()));
                ended = true;
            }
        }
    }
    if !ended {
        let talk = spec.talk.unwrap_or(Span::range(20_000, 90_000)).pick(rng);
        ops.push((pending + talk, Op::Hangup("200".into())));
    }
    Ok(ops)
}
