//! The scenario file format (TOML): what each table and key means. `assets/scenarios/README.md`
//! documents it for people; this module parses and checks it.

use serde::Deserialize;

use super::span::Span;
use crate::faults::Faults;
use crate::world::{Direction, Extension, ExtensionKind, HuntGroup, HuntMode, DEMO_DOMAIN};

/// How a scripted call ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A member answers after `ring` (the `answered_by` one, or a free one picked at random).
    #[default]
    Answered,
    /// Nobody answers; every leg ends at its ring timeout (`408`), the call with `304`.
    Missed,
    /// Every member is busy (`486`).
    Busy,
    /// Every member declines after `ring` (`603`).
    Rejected,
    /// The caller hangs up after `ring` (`603-S`; ringing legs `487`).
    Cancelled,
}

/// A phone number with an optional display name: `"+79161234567"` or
/// `{ number = "+79161234567", name = "Иван Петров" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Contact {
    Number(String),
    Full {
        number: String,
        #[serde(default)]
        name: Option<String>,
    },
}

impl Contact {
    pub fn number(&self) -> &str {
        match self {
            Contact::Number(n) | Contact::Full { number: n, .. } => n,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Contact::Number(_) => None,
            Contact::Full { name, .. } => name.as_deref(),
        }
    }
}

/// An extension added to the directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionSpec {
    pub id: String,
    pub number: String,
    pub name: String,
    #[serde(default = "agent")]
    pub kind: ExtensionKind,
    /// Default `022*<number>@siptest.ringme.ru`.
    #[serde(default)]
    pub sip_name: Option<String>,
}

fn agent() -> ExtensionKind {
    ExtensionKind::Agent
}

impl ExtensionSpec {
    pub fn to_extension(&self) -> Extension {
        Extension {
            id: self.id.clone(),
            number: self.number.clone(),
            sip_name: self
                .sip_name
                .clone()
                .unwrap_or_else(|| format!("022*{}@{DEMO_DOMAIN}", self.number)),
            name: self.name.clone(),
            kind: self.kind,
        }
    }
}

/// A hunt group or queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub number: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mode: HuntMode,
    pub members: Vec<String>,
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout: Span,
}

fn default_ring_timeout() -> Span {
    Span::secs(20)
}

impl GroupSpec {
    pub fn to_group(&self) -> HuntGroup {
        HuntGroup {
            number: self.number.clone(),
            name: self.name.clone(),
            mode: self.mode,
            members: self.members.clone(),
            ring_timeout_ms: self.ring_timeout.min_ms,
        }
    }
}

/// Call Interactive takeover (Telphin, seed 001).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CiSpec {
    /// URL the IVR requests; default: the Telphin front-end's `call_interactive.url`.
    pub url: Option<String>,
    /// `GET` or `POST` (default: the front-end's configured method).
    pub method: Option<String>,
}

/// The IVR a call goes through before it is routed.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrSpec {
    /// IVR extension number (default: the first IVR of the directory).
    pub number: Option<String>,
    /// The IVR picks up after ringing this long (default 1 s).
    pub answer: Option<Span>,
    /// Time in the menu before the caller presses `dtmf` / the call is routed on (default 6 s).
    pub wait: Option<Span>,
    /// Keys the caller presses.
    pub dtmf: Option<String>,
    /// Offer the Era IVR external control (seed 002) with these `params` (`era = {}` or a
    /// table; `era = true` offers with no params).
    pub era: Option<toml::Value>,
    /// Start a Telphin Call Interactive session (seed 001).
    pub call_interactive: Option<CiSpec>,
    /// Longest the caller waits while the takeover session runs before hanging up (default 5 m).
    pub max: Option<Span>,
}

/// A slot to park into: `park = 3` or `park = "any"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SlotSpec {
    Slot(i64),
    Word(String),
}

/// What happens to a parked call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkThenSpec {
    /// After `wait`, `to` (default: the parker) bridges it out of the slot.
    Bridge,
    /// Nobody takes it: it returns to the parker after the park timeout.
    Return,
    /// The caller hangs up in the slot after `wait`.
    Hangup,
}

/// One thing that happens on an answered call, `after` the previous one. Exactly one action
/// key (`talk`, `hold`, `transfer`, `conference`, `park`, `dtmf`, `hangup`) per step.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepSpec {
    pub after: Option<Span>,
    pub talk: Option<Span>,
    pub hold: Option<Span>,
    pub transfer: Option<String>,
    pub conference: Option<String>,
    pub park: Option<SlotSpec>,
    pub dtmf: Option<String>,
    pub hangup: Option<String>,
    /// transfer: consult first (attended) instead of blind.
    pub attended: Option<bool>,
    /// transfer/conference: how long the target rings (default 3 s).
    pub ring: Option<Span>,
    /// transfer/conference: whether the target answers (default true).
    pub answer: Option<bool>,
    /// park: extension number that parks (default: the agent on the call).
    pub by: Option<String>,
    /// park: what happens next (default `return`).
    pub then: Option<ParkThenSpec>,
    /// park: time in the slot before `bridge` or `hangup` (default 20 s).
    pub wait: Option<Span>,
    /// park bridge: who takes the call out of the slot (default: the parker).
    pub to: Option<String>,
}

/// A checked step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Talk(Span),
    Hold(Span),
    Transfer {
        to: String,
        attended: bool,
        ring: Span,
        answered: bool,
    },
    Conference {
        with: String,
        ring: Span,
        answered: bool,
    },
    Park {
        slot: Option<u8>,
        by: Option<String>,
        then: ParkThen,
    },
    Dtmf(String),
    Hangup(String),
}

/// What happens to a parked call (checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkThen {
    Return,
    Bridge { wait: Span, to: Option<String> },
    Hangup { wait: Span },
}

impl StepSpec {
    /// Check the step: one action, and only the modifiers that action takes.
    pub fn check(&self) -> Result<(Span, Step), String> {
        let actions = [
            self.talk.is_some(),
            self.hold.is_some(),
            self.transfer.is_some(),
            self.conference.is_some(),
            self.park.is_some(),
            self.dtmf.is_some(),
            self.hangup.is_some(),
        ];
        match actions.iter().filter(|a| **a).count() {
            1 => {}
            0 => return Err(
                "a step needs one action: talk, hold, transfer, conference, park, dtmf or hangup"
                    .into(),
            ),
            _ => return Err("a step has more than one action; split it into several steps".into()),
        }
        let ringing = self.transfer.is_some() || self.conference.is_some();
        let parking = self.park.is_some();
        let misplaced = [
            (
                "attended",
                self.attended.is_some() && self.transfer.is_none(),
            ),
            ("ring", self.ring.is_some() && !ringing),
            ("answer", self.answer.is_some() && !ringing),
            ("by", self.by.is_some() && !parking),
            ("then", self.then.is_some() && !parking),
            ("wait", self.wait.is_some() && !parking),
            ("to", self.to.is_some() && !parking),
        ];
        if let Some((key, _)) = misplaced.iter().find(|(_, bad)| *bad) {
            return Err(format!("`{key}` does not belong to this step's action"));
        }
        let after = self.after.unwrap_or_default();
        let ring = self.ring.unwrap_or(Span::secs(3));
        let answered = self.answer.unwrap_or(true);
        let step = if let Some(t) = self.talk {
            Step::Talk(t)
        } else if let Some(h) = self.hold {
            Step::Hold(h)
        } else if let Some(to) = &self.transfer {
            Step::Transfer {
                to: non_empty(to, "transfer")?,
                attended: self.attended.unwrap_or(false),
                ring,
                answered,
            }
        } else if let Some(with) = &self.conference {
            Step::Conference {
                with: non_empty(with, "conference")?,
                ring,
                answered,
            }
        } else if let Some(slot) = &self.park {
            let slot = match slot {
                SlotSpec::Slot(n) if (1..=9).contains(n) => Some(*n as u8),
                SlotSpec::Slot(n) => return Err(format!("park slot {n} is out of range 1-9")),
                SlotSpec::Word(w) if w == "any" => None,
                SlotSpec::Word(w) => {
                    return Err(format!("park = {w:?}: use a slot 1-9 or \"any\""))
                }
            };
            let wait = self.wait.unwrap_or(Span::secs(20));
            let then =
                match self.then.unwrap_or(ParkThenSpec::Return) {
                    ParkThenSpec::Return if self.wait.is_some() || self.to.is_some() => return Err(
                        "a parked call that returns waits for the park timeout: drop `wait`/`to`"
                            .into(),
                    ),
                    ParkThenSpec::Return => ParkThen::Return,
                    ParkThenSpec::Bridge => ParkThen::Bridge {
                        wait,
                        to: self.to.clone(),
                    },
                    ParkThenSpec::Hangup if self.to.is_some() => {
                        return Err("`to` is for then = \"bridge\"".into())
                    }
                    ParkThenSpec::Hangup => ParkThen::Hangup { wait },
                };
            Step::Park {
                slot,
                by: self.by.clone(),
                then,
            }
        } else if let Some(d) = &self.dtmf {
            if d.is_empty()
                || !d
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
            {
                return Err(format!("dtmf {d:?}: use digits 0-9, *, # and A-D"));
            }
            Step::Dtmf(d.clone())
        } else if let Some(code) = &self.hangup {
            Step::Hangup(if code.trim().is_empty() {
                "200".into()
            } else {
                code.trim().to_string()
            })
        } else {
            return Err("a step needs one action".into());
        };
        Ok((after, step))
    }
}

fn non_empty(s: &str, what: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        Err(format!("{what} needs a number"))
    } else {
        Ok(t.to_string())
    }
}

/// One scripted call, or (in `[[generator.templates]]`) a template for generated calls.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallSpec {
    /// When the call starts (scripted calls), from the scenario start.
    pub at: Span,
    /// Relative weight of a generator template (ignored for scripted calls).
    pub weight: u32,
    /// `inbound`, `outbound` or `internal`; default: from the numbers (an agent calling an
    /// outside number is outbound, an agent calling an agent internal, otherwise inbound).
    pub direction: Option<Direction>,
    /// Caller number, or `@caller` / `@agent` / `@external`.
    pub from: String,
    /// Caller name; default: the `@caller` contact's name or the calling agent's name.
    pub from_name: Option<String>,
    /// Public number the call came in on, or `@did`.
    pub did: Option<String>,
    /// Who is called: an extension, a queue / hunt group number, or an outside number; or
    /// `@agent` / `@group` / `@external`. After an `ivr`, where the IVR routes the call.
    pub to: String,
    /// Ring these numbers instead of what `to` resolves to.
    pub members: Vec<String>,
    /// Hunting mode for several members (default: the group's, else parallel).
    pub mode: Option<HuntMode>,
    /// Ring timeout of each member (default: the group's, else 20 s).
    pub ring_timeout: Option<Span>,
    pub outcome: Outcome,
    /// Who answers (`answered` outcome); default a free member picked at random.
    pub answered_by: Option<String>,
    /// Ring time before the answer, the rejection or the caller giving up (default 2–8 s).
    pub ring: Option<Span>,
    /// Talk after the last step before the call ends with `200` (default 20–90 s).
    pub talk: Option<Span>,
    pub ivr: Option<IvrSpec>,
    /// What happens once the call is answered.
    pub steps: Vec<StepSpec>,
}

impl Default for CallSpec {
    fn default() -> Self {
        CallSpec {
            at: Span::default(),
            weight: 1,
            direction: None,
            from: String::new(),
            from_name: None,
            did: None,
            to: String::new(),
            members: Vec::new(),
            mode: None,
            ring_timeout: None,
            outcome: Outcome::Answered,
            answered_by: None,
            ring: None,
            talk: None,
            ivr: None,
            steps: Vec::new(),
        }
    }
}

/// Placeholders a call may use instead of a number.
pub const PLACEHOLDERS: [&str; 5] = ["@caller", "@did", "@agent", "@external", "@group"];

impl CallSpec {
    /// Check what can be checked before the call runs; returns the checked steps.
    pub fn check(&self) -> Result<Vec<(Span, Step)>, String> {
        if self.from.trim().is_empty() {
            return Err("`from` is required".into());
        }
        if self.to.trim().is_empty() && self.ivr.is_none() && self.members.is_empty() {
            return Err("`to` is required (or `members`, or an `ivr`)".into());
        }
        for v in [
            Some(&self.from),
            Some(&self.to),
            self.did.as_ref(),
            self.answered_by.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if v.starts_with('@') && !PLACEHOLDERS.contains(&v.as_str()) {
                return Err(format!(
                    "unknown placeholder {v:?} (known: {})",
                    PLACEHOLDERS.join(", ")
                ));
            }
        }
        if self.answered_by.is_some() && self.outcome != Outcome::Answered {
            return Err("`answered_by` needs outcome = \"answered\"".into());
        }
        if !self.steps.is_empty() && self.outcome != Outcome::Answered {
            return Err("`steps` run on answered calls only".into());
        }
        if let Some(by) = &self.answered_by {
            if !self.members.is_empty() && !by.starts_with('@') && !self.members.contains(by) {
                return Err(format!("answered_by {by:?} is not one of `members`"));
            }
        }
        if let Some(ivr) = &self.ivr {
            if let Some(d) = &ivr.dtmf {
                if d.is_empty()
                    || !d
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#'))
                {
                    return Err(format!("ivr dtmf {d:?}: use digits 0-9, * and #"));
                }
            }
            if let Some(v) = &ivr.era {
                if !matches!(
                    v,
                    toml::Value::Table(_) | toml::Value::Boolean(_) | toml::Value::String(_)
                ) {
                    return Err("ivr.era is a table of params (or true)".into());
                }
            }
        }
        let mut out = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let checked = s.check().map_err(|e| format!("steps[{i}]: {e}"))?;
            let ends = matches!(
                checked.1,
                Step::Hangup(_)
                    | Step::Park {
                        then: ParkThen::Hangup { .. },
                        ..
                    }
            );
            out.push(checked);
            if ends && i + 1 < self.steps.len() {
                return Err(format!("steps[{i}] ends the call, but more steps follow"));
            }
        }
        Ok(out)
    }
}

/// A fault switch flipped at a time (`faults` in `crate::faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Close every open WebSocket abruptly (once).
    DropWebsockets,
    /// WebSockets stop sending and reading (for `for`, or until the end).
    StallWebsockets,
    /// New TCP connections are closed at once.
    RefuseConnections,
    /// REST replies get HTTP `status` (default 503).
    RestStatus,
    /// REST replies are delayed by `delay` (real time).
    RestDelay,
    /// Each webhook is delivered `count` extra times (default 1).
    WebhookDuplicates,
    /// Each call's webhooks are delivered in reverse order within a batch.
    WebhookReorder,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default)]
    pub at: Span,
    pub fault: FaultKind,
    /// How long the fault stays on (default: until the scenario ends; ignored for
    /// `drop_websockets`, which happens once).
    #[serde(default, rename = "for")]
    pub duration: Option<Span>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub delay: Option<Span>,
    #[serde(default)]
    pub count: Option<u32>,
}

/// A checked fault switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    DropWebsockets,
    StallWebsockets,
    RefuseConnections,
    RestStatus(u16),
    RestDelayMs(u64),
    WebhookDuplicates(u32),
    WebhookReorder,
}

impl FaultSpec {
    pub fn check(&self) -> Result<FaultAction, String> {
        let misplaced = [
            (
                "status",
                self.status.is_some() && self.fault != FaultKind::RestStatus,
            ),
            (
                "delay",
                self.delay.is_some() && self.fault != FaultKind::RestDelay,
            ),
            (
                "count",
                self.count.is_some() && self.fault != FaultKind::WebhookDuplicates,
            ),
            (
                "for",
                self.duration.is_some() && self.fault == FaultKind::DropWebsockets,
            ),
        ];
        if let Some((key, _)) = misplaced.iter().find(|(_, bad)| *bad) {
            return Err(format!("`{key}` does not belong to fault {:?}", self.fault));
        }
        Ok(match self.fault {
            FaultKind::DropWebsockets => FaultAction::DropWebsockets,
            FaultKind::StallWebsockets => FaultAction::StallWebsockets,
            FaultKind::RefuseConnections => FaultAction::RefuseConnections,
            FaultKind::RestStatus => {
                let s = self.status.unwrap_or(503);
                if !(400..=599).contains(&s) {
                    return Err(format!(
                        "rest_status {s} is not an HTTP error status (400-599)"
                    ));
                }
                FaultAction::RestStatus(s)
            }
            FaultKind::RestDelay => {
                let d = self.delay.ok_or("rest_delay needs `delay`")?;
                FaultAction::RestDelayMs(u64::try_from(d.max_ms).unwrap_or(0))
            }
            FaultKind::WebhookDuplicates => {
                FaultAction::WebhookDuplicates(self.count.unwrap_or(1).max(1))
            }
            FaultKind::WebhookReorder => FaultAction::WebhookReorder,
        })
    }
}

impl FaultAction {
    /// Switch the fault on (`on`) or back off in `faults`.
    pub fn apply(&self, faults: &Faults, on: bool) {
        match *self {
            FaultAction::DropWebsockets => {
                if on {
                    faults.drop_websockets()
                }
            }
            FaultAction::StallWebsockets => faults.set_stall(on),
            FaultAction::RefuseConnections => faults.set_refuse(on),
            FaultAction::RestStatus(s) => faults.set_rest_status(if on { u32::from(s) } else { 0 }),
            FaultAction::RestDelayMs(ms) => faults.set_rest_delay_ms(if on { ms } else { 0 }),
            FaultAction::WebhookDuplicates(n) => {
                faults.set_webhook_duplicates(if on { n } else { 0 })
            }
            FaultAction::WebhookReorder => faults.set_webhook_reorder(on),
        }
    }

    /// Short name for reports: `refuse_connections`, `rest_status 503`, …
    pub fn label(&self) -> String {
        match self {
            FaultAction::DropWebsockets => "drop_websockets".into(),
            FaultAction::StallWebsockets => "stall_websockets".into(),
            FaultAction::RefuseConnections => "refuse_connections".into(),
            FaultAction::RestStatus(s) => format!("rest_status {s}"),
            FaultAction::RestDelayMs(ms) => format!("rest_delay {ms}ms"),
            FaultAction::WebhookDuplicates(n) => format!("webhook_duplicates {n}"),
            FaultAction::WebhookReorder => "webhook_reorder".into(),
        }
    }
}

/// An endless (or bounded) stream of generated calls.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorSpec {
    /// First generated call (default 2 s).
    pub start: Span,
    /// Gap between generated calls (default 5–20 s).
    pub interval: Span,
    /// Calls per simulated second, evenly spaced (instead of `interval`).
    pub rate: Option<f64>,
    /// No generated call starts later than this.
    pub until: Option<Span>,
    /// At most this many generated calls.
    pub count: Option<u64>,
    /// Call templates, picked by `weight`.
    pub templates: Vec<CallSpec>,
}

impl Default for GeneratorSpec {
    fn default() -> Self {
        GeneratorSpec {
            start: Span::secs(2),
            interval: Span::range(5000, 20_000),
            rate: None,
            until: None,
            count: None,
            templates: Vec::new(),
        }
    }
}

impl GeneratorSpec {
    pub fn check(&self) -> Result<(), String> {
        if self.templates.is_empty() {
            return Err("the generator needs at least one [[generator.templates]]".into());
        }
        if self.templates.iter().all(|t| t.weight == 0) {
            return Err("every generator template has weight 0".into());
        }
        if let Some(r) = self.rate {
            if !(r.is_finite() && r > 0.0 && r <= 100_000.0) {
                return Err(format!(
                    "rate {r} must be above 0 and at most 100000 calls/s"
                ));
            }
        } else if self.interval.max_ms <= 0 {
            return Err("interval must be above 0".into());
        }
        for (i, t) in self.templates.iter().enumerate() {
            t.check().map_err(|e| format!("templates[{i}]: {e}"))?;
        }
        Ok(())
    }
}
