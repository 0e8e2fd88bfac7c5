//! The scenario engine: a time-ordered agenda of call starts, call-program steps, hunt wake-ups,
//! fault switches and generator ticks, run one at a time in simulated time.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::task::JoinHandle;

use super::exec::{exec, CallRun, Flow};
use super::program::{compile, Env};
use super::span::Span;
use super::spec::{CallSpec, FaultAction, Step};
use super::Scenario;
use crate::world::{HuntOutcome, HuntPoll};
use crate::SimContext;

/// What the scenario did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScenarioReport {
    /// Calls created (scripted and generated).
    pub calls_started: u64,
    /// Calls somebody answered (in a hunt, or elsewhere while it rang).
    pub answered: u64,
    /// Calls nobody answered (`304`, `480`).
    pub missed: u64,
    /// Calls every member was busy for (`486`).
    pub busy: u64,
    /// Calls every member declined (`603`).
    pub rejected: u64,
    /// Calls the caller gave up on (`603-S`).
    pub cancelled: u64,
    /// Calls ended by somebody else (a client's hang-up, an IVR) before their script finished.
    pub ended_elsewhere: u64,
    /// Call programs that ran to their end.
    pub completed: u64,
    /// Agenda entries executed.
    pub steps: u64,
    /// Fault switches flipped, in order.
    pub faults: Vec<FiredFault>,
    /// Operations the World refused and calls that could not be built (first 200).
    pub problems: Vec<String>,
    /// Scenario time of the last executed entry (simulated ms from the start).
    pub last_ms: i64,
}

/// A fault switched on or off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiredFault {
    pub at_ms: i64,
    pub fault: String,
    pub on: bool,
}

/// One executed agenda entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// Scenario time (simulated ms from the start).
    pub at_ms: i64,
    /// What ran: `call 3 hunt`, `fault refuse_connections on`, `generate`, …
    pub what: String,
}

#[derive(Debug)]
enum Job {
    /// Start scripted call `index`.
    Script {
        index: usize,
    },
    /// Continue call program `run`.
    Wake {
        run: u64,
    },
    Fault {
        index: usize,
        on: bool,
    },
    Generate,
    /// Schedule the scripted calls and faults again (cycle number).
    Repeat {
        cycle: u64,
    },
}

#[derive(Debug)]
struct Item {
    at: i64,
    seq: u64,
    job: Job,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    /// Reversed, so the `BinaryHeap` pops the earliest (then the first scheduled) entry.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// Runs a [`Scenario`] step by step against a simulator's World. Time is the scenario's own
/// simulated time in ms from the start: [`ScenarioRunner::step`] jumps straight to the next
/// entry, [`super::run`] waits for it on the World's clock.
pub struct ScenarioRunner {
    ctx: SimContext,
    scenario: Scenario,
    calls_checked: Vec<Result<Vec<(Span, Step)>, String>>,
    templates_checked: Vec<Result<Vec<(Span, Step)>, String>>,
    faults_checked: Vec<Option<FaultAction>>,
    rng: ChaCha8Rng,
    agenda: BinaryHeap<Item>,
    seq: u64,
    now_ms: i64,
    runs: BTreeMap<u64, CallRun>,
    next_run: u64,
    generated: u64,
    /// When the generator's first call started.
    generator_start: i64,
    report: ScenarioReport,
}

const MAX_PROBLEMS: usize = 200;
/// Ended calls the World keeps while a generator runs (older ones are forgotten).
const KEEP_ENDED_CALLS: usize = 5000;

impl ScenarioRunner {
    /// Install the scenario's directory and groups in the World and schedule its start.
    /// The seed is the scenario's, else the simulator's.
    pub fn new(ctx: SimContext, scenario: Scenario) -> ScenarioRunner {
        let world = &ctx.world;
        if scenario.demo_directory {
            world.install_demo_directory();
        }
        for e in &scenario.extensions {
            world.add_extension(e.to_extension());
        }
        for g in &scenario.groups {
            world.add_group(g.to_group());
        }
        let seed = scenario.seed.unwrap_or(ctx.config.seed);
        let calls_checked = scenario.calls.iter().map(CallSpec::check).collect();
        let templates_checked = match &scenario.generator {
            Some(g) => g.templates.iter().map(CallSpec::check).collect(),
            None => Vec::new(),
        };
        let faults_checked = scenario.faults.iter().map(|f| f.check().ok()).collect();
        let mut runner = ScenarioRunner {
            ctx,
            scenario,
            calls_checked,
            templates_checked,
            faults_checked,
            rng: ChaCha8Rng::seed_from_u64(seed),
            agenda: BinaryHeap::new(),
            seq: 0,
            now_ms: 0,
            runs: BTreeMap::new(),
            next_run: 0,
            generated: 0,
            generator_start: 0,
            report: ScenarioReport::default(),
        };
        runner.schedule_cycle(0, 0);
        if let Some(g) = &runner.scenario.generator {
            let start = g.start.pick(&mut runner.rng);
            runner.generator_start = start;
            runner.push(start, Job::Generate);
        }
        runner
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn context(&self) -> &SimContext {
        &self.ctx
    }

    /// Scenario time of the last executed entry.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// When the next entry is due, or `None` when the scenario is over.
    pub fn next_at_ms(&self) -> Option<i64> {
        self.agenda.peek().map(|i| i.at)
    }

    pub fn is_finished(&self) -> bool {
        self.agenda.is_empty()
    }

    pub fn report(&self) -> &ScenarioReport {
        &self.report
    }

    pub fn into_report(self) -> ScenarioReport {
        self.report
    }

    /// World call ids of the calls whose programs are still running.
    pub fn running_calls(&self) -> Vec<String> {
        self.runs
            .values()
            .filter_map(|r| r.call_id.clone())
            .collect()
    }

    /// Run the next entry; `None` when nothing is left.
    pub fn step(&mut self) -> Option<Fired> {
        let item = self.agenda.pop()?;
        self.now_ms = self.now_ms.max(item.at);
        self.report.steps += 1;
        self.report.last_ms = self.now_ms;
        let what = match item.job {
            Job::Script { index } => self.start_script(index),
            Job::Wake { run } => self.advance(run),
            Job::Fault { index, on } => self.fault(index, on),
            Job::Generate => self.generate(),
            Job::Repeat { cycle } => {
                self.schedule_cycle(cycle, self.now_ms);
                format!("repeat cycle {cycle}")
            }
        };
        Some(Fired {
            at_ms: self.now_ms,
            what,
        })
    }

    /// Run every entry due at or before `ms` (scenario time); returns how many ran.
    pub fn run_until(&mut self, ms: i64) -> usize {
        let mut n = 0;
        while self.next_at_ms().is_some_and(|at| at <= ms) {
            self.step();
            n += 1;
        }
        self.now_ms = self.now_ms.max(ms);
        n
    }

    fn push(&mut self, at: i64, job: Job) {
        self.seq += 1;
        self.agenda.push(Item {
            at,
            seq: self.seq,
            job,
        });
    }

    fn within_until(&self, at: i64) -> bool {
        self.scenario.until.is_none_or(|u| at <= u.max_ms)
    }

    fn note(&mut self, problem: String) {
        tracing::debug!(problem, "scenario");
        if self.report.problems.len() < MAX_PROBLEMS {
            self.report.problems.push(problem);
        }
    }

    /// Schedule the scripted calls and faults of one cycle starting at `base`.
    fn schedule_cycle(&mut self, cycle: u64, base: i64) {
        for index in 0..self.scenario.calls.len() {
            let at = base + self.scenario.calls[index].at.pick(&mut self.rng);
            if self.within_until(at) {
                self.push(at, Job::Script { index });
            }
        }
        for index in 0..self.scenario.faults.len() {
            let f = &self.scenario.faults[index];
            let (at_span, duration) = (f.at, f.duration);
            let at = base + at_span.pick(&mut self.rng);
            if !self.within_until(at) {
                continue;
            }
            self.push(at, Job::Fault { index, on: true });
            if let Some(d) = duration {
                let off = at + d.pick(&mut self.rng);
                self.push(off, Job::Fault { index, on: false });
            }
        }
        if let Some(period) = self.scenario.repeat {
            let next = base + period.pick(&mut self.rng).max(1);
            if self.within_until(next) {
                self.push(next, Job::Repeat { cycle: cycle + 1 });
            }
        }
    }

    fn fault(&mut self, index: usize, on: bool) -> String {
        let Some(Some(action)) = self.faults_checked.get(index).copied() else {
            self.note(format!("faults[{index}] is invalid and was skipped"));
            return format!("fault {index} skipped");
        };
        action.apply(&self.ctx.faults, on);
        let label = action.label();
        tracing::info!(fault = %label, on, at_ms = self.now_ms, "scenario fault");
        self.report.faults.push(FiredFault {
            at_ms: self.now_ms,
            fault: label.clone(),
            on,
        });
        format!("fault {label} {}", if on { "on" } else { "off" })
    }

    fn generate(&mut self) -> String {
        let Some(g) = self.scenario.generator.clone() else {
            return "generate".into();
        };
        let total: u64 = g.templates.iter().map(|t| u64::from(t.weight)).sum();
        let mut what = String::from("generate");
        if total > 0 {
            let mut x = self.rng.random_range(0..total);
            let index = g
                .templates
                .iter()
                .position(|t| {
                    let w = u64::from(t.weight);
                    if x < w {
                        true
                    } else {
                        x -= w;
                        false
                    }
                })
                .unwrap_or(0);
            what = self.start_call(CallSource::Template(index));
        }
        self.generated += 1;
        if self.generated.is_multiple_of(100) {
            self.ctx.world.forget_ended_calls(KEEP_ENDED_CALLS);
        }
        let next = match g.rate {
            Some(rate) => {
                self.generator_start + (self.generated as f64 * 1000.0 / rate).round() as i64
            }
            None => self.now_ms + g.interval.pick(&mut self.rng).max(1),
        };
        let more = g.count.is_none_or(|c| self.generated < c)
            && g.until.is_none_or(|u| next <= u.max_ms)
            && self.within_until(next);
        if more {
            self.push(next.max(self.now_ms), Job::Generate);
        }
        what
    }

    fn start_script(&mut self, index: usize) -> String {
        self.start_call(CallSource::Script(index))
    }

    fn start_call(&mut self, source: CallSource) -> String {
        let (spec, checked, label) = match source {
            CallSource::Script(i) => (
                self.scenario.calls.get(i),
                self.calls_checked.get(i),
                format!("calls[{i}]"),
            ),
            CallSource::Template(i) => (
                self.scenario
                    .generator
                    .as_ref()
                    .and_then(|g| g.templates.get(i)),
                self.templates_checked.get(i),
                format!("generator.templates[{i}]"),
            ),
        };
        let (Some(spec), Some(checked)) = (spec, checked) else {
            return format!("{label} missing");
        };
        let steps = match checked {
            Ok(s) => s.clone(),
            Err(e) => {
                let e = format!("{label}: {e}");
                self.note(e.clone());
                return e;
            }
        };
        let spec = spec.clone();
        let own: Vec<String> = self
            .scenario
            .extensions
            .iter()
            .filter(|e| e.kind == crate::world::ExtensionKind::Agent)
            .map(|e| e.number.clone())
            .collect();
        let agents = if own.is_empty() {
            self.ctx
                .world
                .agents()
                .into_iter()
                .map(|e| e.number)
                .collect()
        } else {
            own
        };
        let env = Env {
            agents: &agents,
            ctx: &self.ctx,
            callers: &self.scenario.callers,
            dids: &self.scenario.dids,
            externals: &self.scenario.externals,
            park_timeout: self.scenario.park_timeout,
        };
        let ops = match compile(&spec, &steps, &env, &mut self.rng) {
            Ok(ops) => ops,
            Err(e) => {
                let e = format!("{label}: {e}");
                self.note(e.clone());
                return e;
            }
        };
        let id = self.next_run;
        self.next_run += 1;
        self.runs.insert(id, CallRun::new(ops));
        self.report.calls_started += 1;
        let mut what = format!("call {id} from {label}");
        let advanced = self.advance(id);
        what.push_str(": ");
        what.push_str(&advanced);
        what
    }

    /// Run call program `id` as far as it goes now; schedule its next wake-up.
    fn advance(&mut self, id: u64) -> String {
        let mut done: Vec<&'static str> = Vec::new();
        loop {
            let now = self.now_ms;
            let Some(run) = self.runs.get_mut(&id) else {
                return format!("call {id} gone");
            };
            if let Some((start, hunt)) = run.hunt.as_mut() {
                let start = *start;
                match hunt.advance(&self.ctx.world, now - start) {
                    HuntPoll::WakeAt(t) => {
                        self.push(start + t, Job::Wake { run: id });
                        done.push("hunting");
                        break;
                    }
                    HuntPoll::Done(outcome) => {
                        run.hunt = None;
                        let go_on = self.tally(id, &outcome);
                        done.push("hunt done");
                        if !go_on {
                            self.runs.remove(&id);
                            break;
                        }
                        continue;
                    }
                }
            }
            let Some(run) = self.runs.get_mut(&id) else {
                break;
            };
            let Some((delay, op)) = run.ops.get(run.pc).cloned() else {
                self.runs.remove(&id);
                self.report.completed += 1;
                done.push("done");
                break;
            };
            if delay > 0 && !run.waited {
                run.waited = true;
                self.push(now + delay, Job::Wake { run: id });
                break;
            }
            run.waited = false;
            done.push(op.name());
            let flow = exec(&self.ctx, run, &op, now, &mut self.rng);
            match flow {
                Flow::Next => run.pc += 1,
                Flow::Poll(ms) => {
                    run.waited = true;
                    self.push(now + ms.max(1), Job::Wake { run: id });
                    // Re-run the same op on waking (no delay is served twice).
                    break;
                }
                Flow::Hunt(hunt) => {
                    run.pc += 1;
                    run.hunt = Some((now, *hunt));
                }
                Flow::Stop(end) => {
                    let run = self.runs.remove(&id);
                    match end {
                        super::exec::End::Completed => self.report.completed += 1,
                        super::exec::End::EndedElsewhere => self.report.ended_elsewhere += 1,
                        super::exec::End::CallerGaveUp => self.report.cancelled += 1,
                        super::exec::End::Problem(p) => {
                            let call = run.and_then(|r| r.call_id).unwrap_or_default();
                            self.note(format!("call {id} ({call}): {p}"));
                        }
                    }
                    break;
                }
            }
        }
        format!("call {id} {}", done.join(", "))
    }

    /// Count a hunt outcome; whether the call program goes on.
    fn tally(&mut self, id: u64, outcome: &HuntOutcome) -> bool {
        let r = &mut self.report;
        match outcome {
            HuntOutcome::Answered { target, .. }
            | HuntOutcome::AnsweredElsewhere {
                target: Some(target),
            } => {
                r.answered += 1;
                if let Some(run) = self.runs.get_mut(&id) {
                    run.agent = Some(target.clone());
                }
                true
            }
            HuntOutcome::AnsweredElsewhere { target: None } => {
                r.answered += 1;
                true
            }
            HuntOutcome::Unanswered { code } => {
                match code.as_str() {
                    "486" => r.busy += 1,
                    "603" => r.rejected += 1,
                    _ => r.missed += 1,
                }
                false
            }
            HuntOutcome::CallerGaveUp => {
                r.cancelled += 1;
                false
            }
            HuntOutcome::CallEnded => {
                r.ended_elsewhere += 1;
                false
            }
            HuntOutcome::Failed(e) => {
                let e = format!("call {id}: hunt failed: {e}");
                self.note(e);
                false
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum CallSource {
    Script(usize),
    Template(usize),
}

/// Run `scenario` in simulated time on the simulator's clock until it is over (an endless
/// generator never is: abort the handle to stop it).
pub fn run(ctx: SimContext, scenario: Scenario) -> JoinHandle<ScenarioReport> {
    tokio::spawn(async move {
        let clock = ctx.world.clock().clone();
        let mut runner = ScenarioRunner::new(ctx, scenario);
        let start = clock.now_ms();
        while let Some(at) = runner.next_at_ms() {
            let elapsed = clock.now_ms() - start;
            if at > elapsed {
                let wait = u64::try_from(at - elapsed).unwrap_or(0);
                clock.sleep(std::time::Duration::from_millis(wait)).await;
            }
            runner.step();
        }
        runner.into_report()
    })
}
