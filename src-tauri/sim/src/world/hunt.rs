//! Hunting: ringing several parties for one call, in parallel or one after another, with ring
//! timeouts in simulated time, ending every unanswered leg with its SIP-like code.
//!
//! [`Hunt`] is a state machine driven by the time elapsed since the hunt began, so the
//! scenario engine can step it deterministically; [`World::hunt`] drives it on the [`Clock`]
//! (crate::clock::Clock) in a task and also notices when somebody else answers or ends the call.
//!
//! Codes: a leg nobody picks up ends with `408` at the ring timeout, a busy party with `486`
//! (also when the agent is already talking, see [`World::is_busy`]), a declined one with `603`;
//! ringing legs end with `603-S` when another leg answers and with `487` when the caller hangs
//! up (the call then ends with `603-S`). An unanswered call ends with `304` (missed), or `486` /
//! `603` when every party was busy / declined, or `480` when there was nobody to ring.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::{CallState, HuntGroup, HuntMode, LegState, World, WorldError};

/// Ring timeout when none is configured (simulated ms).
pub const DEFAULT_RING_TIMEOUT_MS: i64 = 20_000;

/// What one hunted party does when its leg rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberResponse {
    /// Picks up after ringing this long (simulated ms); counts as no answer unless shorter
    /// than the ring timeout.
    Answer { after_ms: i64 },
    /// Declines after ringing this long: the leg ends with `603`.
    Reject { after_ms: i64 },
    /// Busy at once: the leg ends with `486`.
    Busy,
    /// Lets it ring: the leg ends with `408` at the ring timeout.
    NoAnswer,
}

/// Who is rung, how, and what each party does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntPlan {
    pub mode: HuntMode,
    /// Targets (extension or external numbers) in hunting order, with their response.
    pub members: Vec<(String, MemberResponse)>,
    /// How long each leg rings before it counts as not answered (simulated ms).
    pub ring_timeout_ms: i64,
    /// The caller hangs up after this long (simulated ms since the hunt began).
    pub caller_gives_up_ms: Option<i64>,
    /// Hang the call up when nobody answered (otherwise leave it for the caller to route on).
    pub hang_up_unanswered: bool,
}

impl HuntPlan {
    /// A plan that hangs up unanswered calls and has a patient caller.
    pub fn new<S: Into<String>>(
        mode: HuntMode,
        members: impl IntoIterator<Item = (S, MemberResponse)>,
        ring_timeout_ms: i64,
    ) -> HuntPlan {
        HuntPlan {
            mode,
            members: members.into_iter().map(|(n, r)| (n.into(), r)).collect(),
            ring_timeout_ms,
            caller_gives_up_ms: None,
            hang_up_unanswered: true,
        }
    }

    /// A plan ringing a group's members with its mode and timeout; `respond` says what each does.
    pub fn for_group(
        group: &HuntGroup,
        mut respond: impl FnMut(&str) -> MemberResponse,
    ) -> HuntPlan {
        let members = group.members.iter().map(|m| (m.clone(), respond(m)));
        HuntPlan::new(group.mode, members, group.ring_timeout_ms)
    }

    pub fn caller_gives_up_after(mut self, ms: i64) -> HuntPlan {
        self.caller_gives_up_ms = Some(ms);
        self
    }
}

/// How a hunt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HuntOutcome {
    /// `target` answered on `leg_id`; the call is `Active`.
    Answered { target: String, leg_id: String },
    /// Somebody else (a control request, a transfer) answered or took the call meanwhile.
    AnsweredElsewhere { target: Option<String> },
    /// Nobody answered; `code` is the call's result code.
    Unanswered { code: String },
    /// The caller hung up while it rang (`603-S`).
    CallerGaveUp,
    /// The call was ended by somebody else while it rang.
    CallEnded,
    /// A world operation failed (the call vanished, …).
    Failed(WorldError),
}

/// What [`Hunt::advance`] wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HuntPoll {
    /// Call again when the hunt's clock reaches this many ms.
    WakeAt(i64),
    Done(HuntOutcome),
}

#[derive(Debug, Clone)]
struct HuntLeg {
    leg_id: String,
    target: String,
    started_ms: i64,
    response: MemberResponse,
    live: bool,
}

enum Due {
    Answer(usize),
    End(usize, &'static str),
    CallerGivesUp,
}

/// A hunt in progress. Time is the simulated ms since the hunt began, supplied by the driver.
#[derive(Debug, Clone)]
pub struct Hunt {
    call_id: String,
    plan: HuntPlan,
    legs: Vec<HuntLeg>,
    next_member: usize,
    /// When the next sequential member starts ringing.
    next_start_ms: i64,
    codes: Vec<String>,
    outcome: Option<HuntOutcome>,
}

impl Hunt {
    pub fn new(call_id: &str, plan: HuntPlan) -> Hunt {
        Hunt {
            call_id: call_id.to_string(),
            plan,
            legs: Vec::new(),
            next_member: 0,
            next_start_ms: 0,
            codes: Vec::new(),
            outcome: None,
        }
    }

    /// Take over legs that are already ringing (rung by somebody else, e.g. an IVR transfer):
    /// `plan.members` gives their targets and responses, in the order of `leg_ids`; their ring
    /// time counts from the hunt's start.
    pub fn adopt(call_id: &str, plan: HuntPlan, leg_ids: Vec<String>) -> Hunt {
        let legs = leg_ids
            .into_iter()
            .zip(plan.members.iter())
            .map(|(leg_id, (target, response))| HuntLeg {
                leg_id,
                target: target.clone(),
                started_ms: 0,
                response: *response,
                live: true,
            })
            .collect();
        let next_member = plan.members.len();
        Hunt {
            next_member,
            legs,
            ..Hunt::new(call_id, plan)
        }
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Leg ids this hunt rang, in order, with their targets.
    pub fn legs(&self) -> Vec<(String, String)> {
        self.legs
            .iter()
            .map(|l| (l.leg_id.clone(), l.target.clone()))
            .collect()
    }

    pub fn outcome(&self) -> Option<&HuntOutcome> {
        self.outcome.as_ref()
    }

    fn finish(&mut self, o: HuntOutcome) -> HuntPoll {
        self.outcome = Some(o.clone());
        HuntPoll::Done(o)
    }

    /// Carry out everything due up to `now_ms` (in time order) and say when to call again.
    pub fn advance(&mut self, world: &World, now_ms: i64) -> HuntPoll {
        if let Some(o) = &self.outcome {
            return HuntPoll::Done(o.clone());
        }
        loop {
            if let Some(done) = self.sync(world, now_ms) {
                return done;
            }
            if let Err(e) = self.start_due(world, now_ms) {
                return self.finish(HuntOutcome::Failed(e));
            }
            let pending_start = self.pending_start();
            let (at, due) = match self.next_due() {
                Some(x) => x,
                None => match pending_start {
                    Some(at) if at > now_ms => return HuntPoll::WakeAt(at),
                    Some(_) => continue,
                    None => return self.unanswered(world),
                },
            };
            if let Some(start) = pending_start {
                if start < at {
                    if start > now_ms {
                        return HuntPoll::WakeAt(start);
                    }
                    continue;
                }
            }
            if at > now_ms {
                return HuntPoll::WakeAt(at);
            }
            match due {
                Due::Answer(i) => {
                    let leg_id = self.legs[i].leg_id.clone();
                    match world.answer(&self.call_id, &leg_id) {
                        Ok(()) => {
                            self.legs[i].live = false;
                            let target = self.legs[i].target.clone();
                            return self.finish(HuntOutcome::Answered { target, leg_id });
                        }
                        // The state check at the top of the loop tells what happened.
                        Err(_) => self.legs[i].live = false,
                    }
                }
                Due::End(i, code) => {
                    let leg_id = self.legs[i].leg_id.clone();
                    self.legs[i].live = false;
                    self.codes.push(code.to_string());
                    self.next_start_ms = at;
                    if let Err(e) = world.end_leg(&self.call_id, &leg_id, code) {
                        return self.check_gone(world, e);
                    }
                }
                Due::CallerGivesUp => {
                    for l in self.legs.iter_mut().filter(|l| l.live) {
                        l.live = false;
                        let _ = world.end_leg(&self.call_id, &l.leg_id, "487");
                    }
                    return match world.hangup(&self.call_id, "603-S") {
                        Ok(()) => self.finish(HuntOutcome::CallerGaveUp),
                        Err(e) => self.check_gone(world, e),
                    };
                }
            }
        }
    }

    /// Notice changes made by others: the call ended, was answered elsewhere, a leg ended.
    fn sync(&mut self, world: &World, now_ms: i64) -> Option<HuntPoll> {
        let Some(call) = world.call(&self.call_id) else {
            return Some(self.finish(HuntOutcome::Failed(WorldError::NoSuchCall(
                self.call_id.clone(),
            ))));
        };
        match call.state {
            CallState::Ended => return Some(self.finish(HuntOutcome::CallEnded)),
            CallState::Ringing => {}
            _ => {
                let target = call.connected_to.clone();
                return Some(self.finish(HuntOutcome::AnsweredElsewhere { target }));
            }
        }
        for l in self.legs.iter_mut().filter(|l| l.live) {
            let ended = call
                .legs
                .iter()
                .find(|w| w.id == l.leg_id)
                .filter(|w| w.state == LegState::Ended);
            if let Some(w) = ended {
                l.live = false;
                self.codes
                    .push(w.result_code.clone().unwrap_or_else(|| "480".into()));
                self.next_start_ms = self.next_start_ms.max(now_ms);
            }
        }
        None
    }

    /// Ring members whose turn has come.
    fn start_due(&mut self, world: &World, now_ms: i64) -> Result<(), WorldError> {
        match self.plan.mode {
            HuntMode::Parallel => {
                while self.next_member < self.plan.members.len() {
                    self.ring_next(world, 0)?;
                }
            }
            HuntMode::Sequential => {
                if let Some(at) = self.pending_start().filter(|at| *at <= now_ms) {
                    self.ring_next(world, at)?;
                }
            }
        }
        Ok(())
    }

    fn ring_next(&mut self, world: &World, at: i64) -> Result<(), WorldError> {
        let (target, planned) = self.plan.members[self.next_member].clone();
        self.next_member += 1;
        let response = if world.is_busy(&target) {
            MemberResponse::Busy
        } else {
            planned
        };
        let leg_id = world.ring(&self.call_id, &target)?;
        self.legs.push(HuntLeg {
            leg_id,
            target,
            started_ms: at,
            response,
            live: true,
        });
        Ok(())
    }

    /// When the next sequential member will ring, if one is waiting for its turn.
    fn pending_start(&self) -> Option<i64> {
        let waiting = self.plan.mode == HuntMode::Sequential
            && self.next_member < self.plan.members.len()
            && !self.legs.iter().any(|l| l.live);
        waiting.then_some(self.next_start_ms)
    }

    /// The earliest thing due among the live legs and the caller's patience.
    fn next_due(&self) -> Option<(i64, Due)> {
        let timeout = self.plan.ring_timeout_ms.max(0);
        let mut best: Option<(i64, Due)> = None;
        for (i, l) in self.legs.iter().enumerate().filter(|(_, l)| l.live) {
            let (at, due) = match l.response {
                MemberResponse::Busy => (l.started_ms, Due::End(i, "486")),
                MemberResponse::Answer { after_ms } if after_ms < timeout => {
                    (l.started_ms + after_ms.max(0), Due::Answer(i))
                }
                MemberResponse::Reject { after_ms } if after_ms < timeout => {
                    (l.started_ms + after_ms.max(0), Due::End(i, "603"))
                }
                _ => (l.started_ms + timeout, Due::End(i, "408")),
            };
            if best.as_ref().is_none_or(|(b, _)| at < *b) {
                best = Some((at, due));
            }
        }
        let anyone_left = best.is_some() || self.next_member < self.plan.members.len();
        if let Some(p) = self.plan.caller_gives_up_ms.filter(|_| anyone_left) {
            if best.as_ref().is_none_or(|(b, _)| p < *b) {
                best = Some((p, Due::CallerGivesUp));
            }
        }
        best
    }

    fn unanswered(&mut self, world: &World) -> HuntPoll {
        let code = if self.codes.is_empty() {
            "480"
        } else if self.codes.iter().all(|c| c == "486") {
            "486"
        } else if self.codes.iter().all(|c| c == "603") {
            "603"
        } else {
            "304"
        };
        if self.plan.hang_up_unanswered {
            if let Err(e) = world.hangup(&self.call_id, code) {
                return self.check_gone(world, e);
            }
        }
        self.finish(HuntOutcome::Unanswered {
            code: code.to_string(),
        })
    }

    /// An operation failed: report what the call became, or the error.
    fn check_gone(&mut self, world: &World, e: WorldError) -> HuntPoll {
        match world.call(&self.call_id).map(|c| c.state) {
            Some(CallState::Ended) => self.finish(HuntOutcome::CallEnded),
            Some(CallState::Ringing) | None => self.finish(HuntOutcome::Failed(e)),
            Some(_) => {
                let target = world.call(&self.call_id).and_then(|c| c.connected_to);
                self.finish(HuntOutcome::AnsweredElsewhere { target })
            }
        }
    }
}

impl World {
    /// Run a hunt for `call_id` in simulated time (the world's clock and speed factor). It
    /// also reacts at once when a front-end answers or ends the call meanwhile.
    pub fn hunt(&self, call_id: &str, plan: HuntPlan) -> JoinHandle<HuntOutcome> {
        let world = self.clone();
        let mut hunt = Hunt::new(call_id, plan);
        let mut events = self.subscribe();
        let start = self.now_ms();
        tokio::spawn(async move {
            let mut listening = true;
            loop {
                let now = world.now_ms() - start;
                let at = match hunt.advance(&world, now) {
                    HuntPoll::Done(o) => return o,
                    HuntPoll::WakeAt(at) => at,
                };
                // One extra simulated ms so the clock has surely reached `at` on waking.
                let wait = Duration::from_millis(u64::try_from(at - now + 1).unwrap_or(1));
                if !listening {
                    world.clock().sleep(wait).await;
                    continue;
                }
                tokio::select! {
                    _ = world.clock().sleep(wait) => {}
                    ev = events.recv() => match ev {
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => listening = false,
                    },
                }
            }
        })
    }
}
