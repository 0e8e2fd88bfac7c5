//! The Call Interactive session: request, parse, execute, repeat on `Jump`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::xml::{parse_reply, CiAction, ParsedReply};
use super::{substitute_vars, CiEnd, CiOutcome, CiReply, CiRequest};
use crate::journal::{Channel, Dir};
use crate::telphin::calls::resolve_number;
use crate::telphin::state::{state_for, LegRole, TelphinState};
use crate::telphin::world_ops::schedule_auto_answer;
use crate::world::{CallState, Direction, LegState, WorldEvent, WorldEventKind};
use crate::SimContext;

/// Largest reply body read; anything longer counts as not XML.
const REPLY_LIMIT: usize = 64 * 1024;

/// What the session saw happen on its call.
struct Watch {
    rx: broadcast::Receiver<WorldEvent>,
    call_id: String,
    digits: String,
    ended: bool,
    answered: Vec<(String, String)>,
    ended_legs: Vec<String>,
}

impl Watch {
    fn absorb(&mut self, ev: WorldEvent) {
        if ev.call.id != self.call_id {
            return;
        }
        match ev.kind {
            WorldEventKind::Dtmf { digits } => self.digits.push_str(&digits),
            WorldEventKind::CallEnded { .. } => self.ended = true,
            WorldEventKind::LegAnswered { leg_id, target } => self.answered.push((leg_id, target)),
            WorldEventKind::LegEnded { leg_id, .. } => self.ended_legs.push(leg_id),
            _ => {}
        }
    }

    /// Wait until `deadline` (real time), `stop` holds, or the call ends.
    async fn wait(&mut self, deadline: Instant, stop: impl Fn(&Watch) -> bool) {
        while !self.ended && !stop(self) {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                r = self.rx.recv() => match r {
                    Ok(ev) => self.absorb(ev),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(deadline).await;
                        return;
                    }
                },
            }
        }
    }
}

enum Step {
    /// Request this URL next.
    Request {
        url: String,
        method: String,
    },
    End(CiEnd),
}

pub(super) struct Session {
    ctx: SimContext,
    st: Arc<TelphinState>,
    ivr_extension_id: String,
    entry: (String, String),
    watch: Watch,
    out: CiOutcome,
}

impl Session {
    pub(super) fn new(
        ctx: &SimContext,
        call_id: &str,
        ivr_extension_id: &str,
        url: &str,
        method: &str,
        rx: broadcast::Receiver<WorldEvent>,
    ) -> Session {
        let world_id = ctx
            .world
            .call(call_id)
            .map(|c| c.id)
            .unwrap_or_else(|| call_id.to_string());
        Session {
            ctx: ctx.clone(),
            st: state_for(ctx),
            ivr_extension_id: ivr_extension_id.to_string(),
            entry: (url.to_string(), method.to_ascii_uppercase()),
            watch: Watch {
                rx,
                call_id: world_id.clone(),
                digits: String::new(),
                ended: false,
                answered: Vec::new(),
                ended_legs: Vec::new(),
            },
            out: CiOutcome {
                call_id: world_id,
                requests: Vec::new(),
                actions: Vec::new(),
                variables: BTreeMap::new(),
                ignored_actions: 0,
                problems: Vec::new(),
                end: CiEnd::Continued,
            },
        }
    }

    pub(super) async fn run(mut self) -> CiOutcome {
        let timeout =
            Duration::from_millis(self.ctx.config.telphin.call_interactive.timeout_ms.max(1));
        let http = match reqwest::Client::builder().timeout(timeout).build() {
            Ok(c) => c,
            Err(e) => {
                return self.end(CiEnd::Failed {
                    error: format!("no HTTP client: {e}"),
                })
            }
        };
        let (mut url, mut method) = self.entry.clone();
        loop {
            if self.out.requests.len() >= self.ctx.config.telphin.call_interactive.max_requests {
                return self.end(CiEnd::RequestLimit);
            }
            if self.call_over() {
                return self.end(CiEnd::CallEnded);
            }
            let reply = match self.request(&http, &url, &method).await {
                Ok(Some(r)) => r,
                Ok(None) => return self.end(CiEnd::Continued),
                Err(end) => return self.end(end),
            };
            self.out.ignored_actions += reply.ignored;
            self.out.problems.extend(reply.problems);
            match self.execute(reply.actions).await {
                Step::Request { url: u, method: m } => (url, method) = (u, m),
                Step::End(end) => return self.end(end),
            }
        }
    }

    fn end(mut self, end: CiEnd) -> CiOutcome {
        self.ctx.journal.record(
            Channel::CallInteractive,
            Dir::Out,
            format!("session end {}", self.out.call_id),
            serde_json::to_string(&end).unwrap_or_default(),
        );
        self.out.end = end;
        self.out
    }

    fn call_over(&mut self) -> bool {
        while let Ok(ev) = self.watch.rx.try_recv() {
            self.watch.absorb(ev);
        }
        self.watch.ended
            || self
                .ctx
                .world
                .call(&self.watch.call_id)
                .is_none_or(|c| c.state == CallState::Ended)
    }

    /// The seed-001 parameter set for this call.
    fn call_params(&self) -> Result<Vec<(String, String)>, CiEnd> {
        let world = &self.ctx.world;
        let call = world
            .call(&self.watch.call_id)
            .ok_or_else(|| CiEnd::Failed {
                error: format!("no such call {}", self.watch.call_id),
            })?;
        let ivr = world
            .extension(&self.ivr_extension_id)
            .ok_or_else(|| CiEnd::Failed {
                error: format!("no such IVR extension {}", self.ivr_extension_id),
            })?;
        let caller_ext = (call.direction != Direction::Inbound)
            .then(|| world.extension(&call.from))
            .flatten();
        let short = |sip: &str| sip.split('@').next().unwrap_or(sip).to_string();
        let mut p: Vec<(String, String)> = vec![
            ("EventType".into(), "call_interactive".into()),
            ("CallID".into(), call.id.clone()),
            ("CallerIDNum".into(), call.from.clone()),
            (
                "CallerIDName".into(),
                call.from_name.clone().unwrap_or_else(|| call.from.clone()),
            ),
        ];
        if let Some(did) = &call.did {
            p.push(("CalledDID".into(), did.clone()));
        }
        p.push(("CalledExtension".into(), short(&ivr.sip_name)));
        p.push(("CalledExtensionID".into(), ivr.id.clone()));
        p.push(("CallStatus".into(), "ANSWER".into()));
        p.push(("CallFlow".into(), "IN".into()));
        if let Some(c) = caller_ext {
            p.push(("CallerExtension".into(), short(&c.sip_name)));
            p.push(("CallerExtensionID".into(), c.id.clone()));
        }
        p.push(("CalledNumber".into(), call.to.clone()));
        p.push(("CallAPIID".into(), call.api_id.clone()));
        Ok(p)
    }

    /// Send one request; `Ok(None)` = no usable reply (the IVR continues).
    async fn request(
        &mut self,
        http: &reqwest::Client,
        template: &str,
        method: &str,
    ) -> Result<Option<ParsedReply>, CiEnd> {
        let params = self.call_params()?;
        let vars = &self.out.variables;
        let mut url = match url::Url::parse(template) {
            Ok(u) => u,
            Err(e) => {
                self.record(
                    method,
                    template,
                    params,
                    CiReply::Failed {
                        error: format!("bad URL: {e}"),
                    },
                );
                return Ok(None);
            }
        };
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), substitute_vars(&v, vars)))
            .collect();
        for (k, v) in &self.ctx.config.telphin.call_interactive.params {
            query.push((k.clone(), substitute_vars(v, vars)));
        }
        let is_get = method != "POST";
        if is_get {
            query.extend(params.iter().cloned());
        }
        if query.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(query.iter());
        }
        let form = serde_urlencoded::to_string(&params).unwrap_or_default();
        self.ctx.journal.record(
            Channel::CallInteractive,
            Dir::Out,
            format!("{} {}", if is_get { "GET" } else { "POST" }, url),
            if is_get { String::new() } else { form.clone() },
        );
        let req = if is_get {
            http.get(url.clone())
        } else {
            http.post(url.clone()).form(&params)
        };
        let (reply, parsed, body) = match req.send().await {
            Err(e) if e.is_timeout() => (CiReply::TimedOut, None, String::new()),
            Err(e) => (
                CiReply::Failed {
                    error: e.to_string(),
                },
                None,
                String::new(),
            ),
            Ok(resp) => {
                let status = resp.status();
                match read_limited(resp).await {
                    Err(e) if e.is_timeout() => (CiReply::TimedOut, None, String::new()),
                    Err(e) => (
                        CiReply::Failed {
                            error: e.to_string(),
                        },
                        None,
                        String::new(),
                    ),
                    Ok(body) if !status.is_success() => (
                        CiReply::Status {
                            status: status.as_u16(),
                        },
                        None,
                        body,
                    ),
                    Ok(body) if body.trim().is_empty() => (CiReply::Empty, None, body),
                    Ok(body) => match parse_reply(&body) {
                        Some(p) => (
                            CiReply::Actions {
                                count: p.actions.len() + p.ignored,
                            },
                            Some(p),
                            body,
                        ),
                        None => (CiReply::NotXml, None, body),
                    },
                }
            }
        };
        self.ctx.journal.record(
            Channel::CallInteractive,
            Dir::In,
            format!(
                "reply {} {url}",
                serde_json::to_string(&reply).unwrap_or_default()
            ),
            body,
        );
        self.record(method, url.as_str(), params, reply);
        Ok(parsed)
    }

    fn record(&mut self, method: &str, url: &str, params: Vec<(String, String)>, reply: CiReply) {
        self.out.requests.push(CiRequest {
            method: if method == "POST" {
                "POST".into()
            } else {
                "GET".into()
            },
            url: url.to_string(),
            params,
            reply,
        });
    }

    async fn execute(&mut self, actions: Vec<CiAction>) -> Step {
        for action in actions {
            if self.call_over() {
                return Step::End(CiEnd::CallEnded);
            }
            let (done, step) = self.run_action(action).await;
            self.out.actions.push(done);
            if let Some(step) = step {
                return step;
            }
        }
        Step::End(if self.call_over() {
            CiEnd::CallEnded
        } else {
            CiEnd::Continued
        })
    }

    async fn run_action(&mut self, action: CiAction) -> (CiAction, Option<Step>) {
        let call_id = self.watch.call_id.clone();
        let world = self.ctx.world.clone();
        let ci = self.ctx.config.telphin.call_interactive.clone();
        match action {
            CiAction::Hangup => {
                let step = match world.hangup(&call_id, "200") {
                    Ok(()) => CiEnd::HungUp,
                    Err(_) => CiEnd::CallEnded,
                };
                (CiAction::Hangup, Some(Step::End(step)))
            }
            CiAction::Pause { length } => {
                self.sleep_simulated(length as f64).await;
                (CiAction::Pause { length }, None)
            }
            CiAction::SetVar { name, value } => {
                self.out.variables.insert(name.clone(), value.clone());
                (CiAction::SetVar { name, value }, None)
            }
            CiAction::Jump { context, option } => {
                let target = ci
                    .options
                    .iter()
                    .find(|o| o.context == context && o.option == option)
                    .map(|o| (o.url.clone(), o.method.to_ascii_uppercase()))
                    .unwrap_or_else(|| self.entry.clone());
                let step = Step::Request {
                    url: target.0,
                    method: target.1,
                };
                (CiAction::Jump { context, option }, Some(step))
            }
            CiAction::SetCaller { name, number } => {
                if let Err(e) = world.set_caller_id(&call_id, number.as_deref(), name.as_deref()) {
                    self.out.problems.push(format!("SetCaller: {e}"));
                }
                (CiAction::SetCaller { name, number }, None)
            }
            CiAction::PlaySound {
                file,
                background,
                digitvar,
                ..
            } => {
                let collected = match (&digitvar, background) {
                    (Some(var), true) => {
                        let digits = self
                            .collect_digits(ci.sound_secs, ci.digit_timeout_secs)
                            .await;
                        let digits = match (digits.is_empty(), &ci.default_digits) {
                            (true, Some(d)) => d.clone(),
                            _ => digits,
                        };
                        if !digits.is_empty() {
                            self.out.variables.insert(var.clone(), digits.clone());
                        }
                        Some(digits)
                    }
                    _ => {
                        self.sleep_simulated(ci.sound_secs).await;
                        None
                    }
                };
                (
                    CiAction::PlaySound {
                        file,
                        background,
                        digitvar,
                        collected,
                    },
                    None,
                )
            }
            CiAction::SimpleTransfer {
                numbers,
                is_final,
                timeout,
                early_media,
                ..
            } => {
                let secs = timeout.unwrap_or(ci.system_transfer_timeout_secs);
                let answered_by = self.simple_transfer(&numbers, secs).await;
                let step = match (&answered_by, is_final) {
                    (Some(to), _) => Some(Step::End(CiEnd::Transferred { to: to.clone() })),
                    (None, _) if self.call_over() => Some(Step::End(CiEnd::CallEnded)),
                    (None, true) => {
                        let _ = world.hangup(&call_id, "480");
                        Some(Step::End(CiEnd::TransferUnanswered))
                    }
                    (None, false) => None,
                };
                let done = CiAction::SimpleTransfer {
                    numbers,
                    is_final,
                    timeout,
                    early_media,
                    answered_by,
                };
                (done, step)
            }
        }
    }

    fn real(&self, simulated_secs: f64) -> Duration {
        let secs = if simulated_secs.is_finite() && simulated_secs > 0.0 {
            simulated_secs
        } else {
            0.0
        };
        self.ctx
            .world
            .clock()
            .real(Duration::from_secs_f64(secs.min(86_400.0)))
    }

    async fn sleep_simulated(&mut self, secs: f64) {
        let deadline = Instant::now() + self.real(secs);
        self.watch.wait(deadline, |_| false).await;
    }

    /// Digits pressed from now (plus type-ahead) until the sound and the digit timeout end,
    /// or `#`. The `#` is not part of the result.
    async fn collect_digits(&mut self, sound_secs: f64, digit_timeout_secs: f64) -> String {
        let sound_end = Instant::now() + self.real(sound_secs);
        self.watch.wait(sound_end, |w| w.digits.contains('#')).await;
        loop {
            if self.watch.digits.contains('#') || self.watch.ended {
                break;
            }
            let seen = self.watch.digits.len();
            let deadline = Instant::now() + self.real(digit_timeout_secs);
            self.watch
                .wait(deadline, move |w| w.digits.len() > seen)
                .await;
            if self.watch.digits.len() == seen {
                break;
            }
        }
        let all = std::mem::take(&mut self.watch.digits);
        let (digits, rest) = all.split_once('#').unwrap_or((all.as_str(), ""));
        let digits = digits.to_string();
        self.watch.digits = rest.to_string();
        digits
    }

    /// Ring every number; the number whose leg answers within `secs`, if any.
    async fn simple_transfer(&mut self, numbers: &[String], secs: u64) -> Option<String> {
        let world = self.ctx.world.clone();
        let call_id = self.watch.call_id.clone();
        let mut legs: Vec<(String, String)> = Vec::new();
        for n in numbers {
            let target = resolve_number(&world, n);
            match world.ring(&call_id, &target) {
                Ok(leg) => {
                    self.st.set_role(&leg, LegRole::CiTransfer);
                    schedule_auto_answer(&self.ctx, &self.st, &call_id, &leg);
                    legs.push((leg, n.clone()));
                }
                Err(e) => self
                    .out
                    .problems
                    .push(format!("SimpleTransfer to {n}: {e}")),
            }
        }
        if legs.is_empty() {
            return None;
        }
        let deadline = Instant::now() + self.real(secs as f64);
        let ids: Vec<String> = legs.iter().map(|(l, _)| l.clone()).collect();
        let ids2 = ids.clone();
        self.watch
            .wait(deadline, move |w| {
                w.answered.iter().any(|(l, _)| ids.contains(l))
                    || ids.iter().all(|l| w.ended_legs.contains(l))
            })
            .await;
        let answered = self
            .watch
            .answered
            .iter()
            .find(|(l, _)| ids2.contains(l))
            .map(|(l, _)| l.clone());
        if let Some(leg) = answered {
            return legs.into_iter().find(|(l, _)| *l == leg).map(|(_, n)| n);
        }
        for (leg, _) in &legs {
            let still = world
                .call(&call_id)
                .and_then(|c| c.legs.into_iter().find(|l| &l.id == leg))
                .is_some_and(|l| l.state == LegState::Ringing);
            if still {
                let _ = world.end_leg(&call_id, leg, "480");
            }
        }
        None
    }
}

/// Read at most [`REPLY_LIMIT`] bytes of a reply as text; a longer reply is cut there, so it
/// fails to parse and counts as not XML.
async fn read_limited(mut resp: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        buf.extend_from_slice(&chunk);
        if buf.len() > REPLY_LIMIT {
            buf.truncate(REPLY_LIMIT);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
