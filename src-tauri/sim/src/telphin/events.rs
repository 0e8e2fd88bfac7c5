//! Extension events (seed 000, protocols.md §2.4): World changes rendered as `dial-in`,
//! `dial-out`, `answer` and `hangup` and delivered to the subscribed URLs by GET (query string)
//! or POST (form body).
//!
//! Rendering rules:
//! - a leg ringing/answered/ended on an extension → `dial-in`/`answer`/`hangup` for it, flow `in`;
//! - an extension that places a call (outbound or internal, or click-to-call) gets `dial-out`
//!   when the far side first rings, `answer` when it is first answered and `hangup` when the
//!   call ends, flow `out`;
//! - click-to-call source legs (the agent's own phone ringing first) are not reported;
//! - `hangup` of an IVR or queue extension carries `Bridged=yes|no`; an IVR/queue the call was
//!   dialled to without a leg of its own gets its `hangup` when the call ends;
//! - `EventTime` is microseconds since the epoch; `SubCallID` is `<extension id>-<hex>`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use super::state::{LegRole, TelphinState};
use crate::journal::{Channel, Dir};
use crate::world::{Call, Direction, Extension, ExtensionKind, WorldEvent, WorldEventKind};
use crate::SimContext;

/// One event for one extension, as the form fields Telphin sends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    pub extension_id: String,
    pub event_type: &'static str,
    pub fields: Vec<(String, String)>,
}

/// Telphin `CallStatus` for a SIP-like result code.
pub(crate) fn call_status(code: &str) -> &'static str {
    match code {
        "200" => "ANSWER",
        "486" | "603" => "BUSY",
        "480" | "408" | "304" => "NOANSWER",
        "603-S" | "487" => "CANCEL",
        "503" | "484" => "CONGESTION",
        _ => "CHANUNAVAIL",
    }
}

struct Ctx<'a> {
    ctx: &'a SimContext,
    st: &'a TelphinState,
    ev: &'a WorldEvent,
    caller: Option<Extension>,
}

/// Render one World event into the extension events it causes.
pub(crate) fn render(ctx: &SimContext, st: &TelphinState, ev: &WorldEvent) -> Vec<Rendered> {
    let call = &ev.call;
    let caller = (call.direction != Direction::Inbound)
        .then(|| ctx.world.extension(&call.from))
        .flatten();
    let r = Ctx {
        ctx,
        st,
        ev,
        caller,
    };
    let mut out = Vec::new();
    match &ev.kind {
        WorldEventKind::LegRinging { leg_id, target } => {
            let role = st.role(leg_id);
            if matches!(role, Some(LegRole::CallbackSource { .. })) {
                return out;
            }
            if let Some(t) = ctx.world.extension(target) {
                let mut f = r.base("dial-in", "CALLING", "in", Some(&t), leg_id);
                if matches!(role, Some(LegRole::Transfer { .. })) {
                    f.push(("RemoteNumber".into(), call.from.clone()));
                }
                out.push(Rendered {
                    extension_id: t.id,
                    event_type: "dial-in",
                    fields: f,
                });
            }
            r.caller_once("dial-out", "CALLING", &mut out);
        }
        WorldEventKind::LegAnswered { leg_id, target } => {
            if matches!(st.role(leg_id), Some(LegRole::CallbackSource { .. })) {
                return out;
            }
            if let Some(t) = ctx.world.extension(target) {
                let f = r.base("answer", "ANSWER", "in", Some(&t), leg_id);
                out.push(Rendered {
                    extension_id: t.id,
                    event_type: "answer",
                    fields: f,
                });
            }
            if r.caller.as_ref().is_some_and(|c| c.number != *target) {
                r.caller_once("answer", "ANSWER", &mut out);
            }
        }
        WorldEventKind::LegEnded {
            leg_id,
            target,
            code,
        } => {
            if matches!(st.role(leg_id), Some(LegRole::CallbackSource { .. })) {
                return out;
            }
            if let Some(t) = ctx.world.extension(target) {
                let leg = call.legs.iter().find(|l| &l.id == leg_id);
                let answered = leg.and_then(|l| l.answered_ms);
                let status = if answered.is_some() {
                    "ANSWER"
                } else {
                    call_status(code)
                };
                let mut f = r.base("hangup", status, "in", Some(&t), leg_id);
                let duration = answered
                    .map(|a| (leg.and_then(|l| l.ended_ms).unwrap_or(ev.at_ms) - a).max(0) / 1000)
                    .unwrap_or(0);
                f.push(("Duration".into(), duration.to_string()));
                if matches!(t.kind, ExtensionKind::Ivr | ExtensionKind::Queue) {
                    let bridged = call
                        .legs
                        .iter()
                        .any(|l| &l.id != leg_id && l.answered_ms.is_some());
                    f.push(("Bridged".into(), yes_no(bridged).into()));
                }
                out.push(Rendered {
                    extension_id: t.id,
                    event_type: "hangup",
                    fields: f,
                });
            }
        }
        WorldEventKind::CallEnded { code } => {
            if let Some(c) = &r.caller {
                let sent = st
                    .lock()
                    .caller_events
                    .contains(&(call.id.clone(), "dial-out"));
                if sent {
                    let status = if call.answered_ms.is_some() {
                        "ANSWER"
                    } else {
                        call_status(code)
                    };
                    let mut f = r.caller_fields("hangup", status, c);
                    f.push(("Duration".into(), call.talk_secs(ev.at_ms).to_string()));
                    out.push(Rendered {
                        extension_id: c.id.clone(),
                        event_type: "hangup",
                        fields: f,
                    });
                }
            }
            if let Some(q) = ctx.world.extension(&call.to) {
                let had_leg = call
                    .legs
                    .iter()
                    .any(|l| l.target == q.number || l.target == q.id);
                if matches!(q.kind, ExtensionKind::Ivr | ExtensionKind::Queue) && !had_leg {
                    let status = if call.answered_ms.is_some() {
                        "ANSWER"
                    } else {
                        call_status(code)
                    };
                    let sub = format!("{}-{}", q.id, call.id);
                    let mut f = r.fields("hangup", status, "in", Some(&q), sub);
                    f.push(("Bridged".into(), yes_no(call.answered_ms.is_some()).into()));
                    out.push(Rendered {
                        extension_id: q.id,
                        event_type: "hangup",
                        fields: f,
                    });
                }
            }
            forget_call(st, call);
        }
        _ => {}
    }
    out
}

/// Drop what the Telphin state kept about an ended call (its events are rendered by now).
fn forget_call(st: &TelphinState, call: &Call) {
    let mut inner = st.lock();
    inner.caller_events.retain(|(id, _)| id != &call.id);
    inner.callbacks.remove(&call.id);
    inner.park_generation.remove(&call.id);
    for leg in &call.legs {
        inner.leg_roles.remove(&leg.id);
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

impl Ctx<'_> {
    /// Fields of an event about a leg of extension `t`.
    fn base(
        &self,
        ty: &str,
        status: &str,
        flow: &str,
        t: Option<&Extension>,
        leg_id: &str,
    ) -> Vec<(String, String)> {
        let hex = leg_id.rsplit('-').next().unwrap_or(leg_id);
        let sub = format!("{}-{}", t.map(|e| e.id.as_str()).unwrap_or(""), hex);
        self.fields(ty, status, flow, t, sub)
    }

    /// Fields of an event for the calling extension `c` (flow `out`).
    fn caller_fields(&self, ty: &str, status: &str, c: &Extension) -> Vec<(String, String)> {
        let called = self.ctx.world.extension(&self.ev.call.to);
        let sub = format!("{}-{}", c.id, self.ev.call.id);
        self.fields(ty, status, "out", called.as_ref(), sub)
    }

    /// Emit `ty` for the calling extension once per call.
    fn caller_once(&self, ty: &'static str, status: &str, out: &mut Vec<Rendered>) {
        let Some(c) = &self.caller else { return };
        let key = (self.ev.call.id.clone(), ty);
        if !self.st.lock().caller_events.insert(key) {
            return;
        }
        let f = self.caller_fields(ty, status, c);
        out.push(Rendered {
            extension_id: c.id.clone(),
            event_type: ty,
            fields: f,
        });
    }

    fn fields(
        &self,
        ty: &str,
        status: &str,
        flow: &str,
        called: Option<&Extension>,
        sub: String,
    ) -> Vec<(String, String)> {
        let call: &Call = &self.ev.call;
        let mut f: Vec<(String, String)> = Vec::with_capacity(20);
        let mut put = |k: &str, v: String| f.push((k.to_string(), v));
        if let Some(e) = called {
            put("CalledExtension", e.sip_name.clone());
            put("CalledExtensionID", e.id.clone());
        }
        if let Some(c) = &self.caller {
            put("CallerExtension", c.sip_name.clone());
            put("CallerExtensionID", c.id.clone());
        }
        put("EventType", ty.to_string());
        put("CallID", call.id.clone());
        put("CallerIDNum", call.from.clone());
        put(
            "CallerIDName",
            call.from_name.clone().unwrap_or_else(|| call.from.clone()),
        );
        if let Some(did) = &call.did {
            put("CalledDID", did.clone());
        }
        put("CallStatus", status.to_string());
        put("CallFlow", flow.to_string());
        let called_number = match called {
            Some(e) if e.number == call.to => {
                e.sip_name.split('@').next().unwrap_or(&call.to).to_string()
            }
            _ => call.to.clone(),
        };
        put("CalledNumber", called_number);
        put("SubCallID", sub);
        put("CallAPIID", call.api_id.clone());
        put(
            "EventTime",
            (self.ev.at_ms.saturating_mul(1000)).to_string(),
        );
        if let Some(cb) = self.st.lock().callbacks.get(&call.id) {
            put("CallBackID", cb.clone());
        }
        if let Some(rec) = &call.recording {
            put("RecID", rec.clone());
        }
        f
    }
}

/// One delivery to one subscriber.
struct Delivery {
    url: String,
    method: String,
    event_type: &'static str,
    fields: Vec<(String, String)>,
}

/// Render World events and deliver them to the subscribers; one queue per destination URL
/// keeps each listener's events in order without a slow one holding up the others.
pub(crate) fn spawn_delivery(
    ctx: &SimContext,
    st: &Arc<TelphinState>,
    mut rx: broadcast::Receiver<WorldEvent>,
) -> tokio::task::JoinHandle<()> {
    let (ctx, st) = (ctx.clone(), st.clone());
    tokio::spawn(async move {
        let timeout = Duration::from_millis(ctx.config.telphin.event_timeout_ms.max(1));
        let http = match reqwest::Client::builder().timeout(timeout).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "telphin event delivery disabled: no HTTP client");
                return;
            }
        };
        let mut queues: HashMap<String, mpsc::UnboundedSender<Delivery>> = HashMap::new();
        loop {
            let ev = match rx.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "telphin events lagged behind the World");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            for r in render(&ctx, &st, &ev) {
                let subs: Vec<_> = st
                    .lock()
                    .subscriptions
                    .values()
                    .filter(|s| s.extension_id == r.extension_id && s.event_type == r.event_type)
                    .cloned()
                    .collect();
                for s in subs {
                    let copies = 1 + ctx.faults.webhook_duplicates() as usize;
                    for _ in 0..copies {
                        let d = Delivery {
                            url: s.url.clone(),
                            method: s.method.clone(),
                            event_type: r.event_type,
                            fields: r.fields.clone(),
                        };
                        let tx = queues
                            .entry(s.url.clone())
                            .or_insert_with(|| spawn_queue(ctx.clone(), http.clone()));
                        let _ = tx.send(d);
                    }
                }
            }
        }
    })
}

fn spawn_queue(ctx: SimContext, http: reqwest::Client) -> mpsc::UnboundedSender<Delivery> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Delivery>();
    tokio::spawn(async move {
        while let Some(d) = rx.recv().await {
            deliver(&ctx, &http, d).await;
        }
    });
    tx
}

async fn deliver(ctx: &SimContext, http: &reqwest::Client, d: Delivery) {
    let body = serde_urlencoded::to_string(&d.fields).unwrap_or_default();
    let request = if d.method == "GET" {
        match url::Url::parse(&d.url) {
            Ok(mut u) => {
                u.query_pairs_mut().extend_pairs(d.fields.iter());
                http.get(u)
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %d.url, "bad subscriber URL");
                return;
            }
        }
    } else {
        http.post(&d.url).form(&d.fields)
    };
    ctx.journal.record(
        Channel::TelphinEvent,
        Dir::Out,
        format!("{} {} {}", d.event_type, d.method, d.url),
        body,
    );
    match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            ctx.journal.record(
                Channel::TelphinEvent,
                Dir::In,
                format!("{status} {} {}", d.event_type, d.url),
                text,
            );
        }
        Err(e) => {
            ctx.journal.record(
                Channel::TelphinEvent,
                Dir::In,
                format!("error {} {}", d.event_type, d.url),
                e.to_string(),
            );
        }
    }
}
