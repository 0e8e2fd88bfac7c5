//! One connection's protocol logic, generic over `Sink + Stream` of WebSocket messages so unit
//! tests drive it through channels.
//!
//! After the link opens: `connection_info`, then one subscription per class (`callevents.*`,
//! `ccsevents.*`, `ivrevents.*`) filtered by the configured objects; once all are confirmed the
//! state is `Connected`, every IVR session the panel controlled is re-taken with
//! `ivrapi_reaccept`, and the active calls are reconciled over REST. Subscriptions are renewed
//! (same id, `expires` only) at 80 % of their lifetime; a failed renewal subscribes afresh.
//! When the subscriptions may have lapsed while the link stayed open (a renewal refused, or sent
//! after the granted lifetime ran out: the process was stopped), events may be missing, so the
//! calls are reconciled again once all three are confirmed. When the wall clock moved on much
//! further than the monotonic one (the computer slept), the link is replaced at once rather than
//! trusted.
//! WebSocket pings go out every `ping_interval_ms`; when nothing arrives within
//! `pong_timeout_ms` of a ping the link is declared dead. Requests are matched on
//! `<name>_result` and the echoed `qid` (compared as JSON); each has a deadline.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::error::EraError;
use super::frame::{self, Inbound, PlatformError};
use super::session::{Command, Op, Shared};
use super::types::{AcceptOutcome, EraEvent, FrameDir, IvrEvent};

mod inbound;
mod sleep;
mod subs;

pub(crate) use sleep::SleepWatch;

/// Event classes the session subscribes to, one subscription each.
pub const CLASSES: [&str; 3] = ["callevents.*", "ccsevents.*", "ivrevents.*"];

/// How a connection ended.
#[derive(Debug)]
pub(crate) enum Exit {
    /// The link broke or the platform misbehaved; `was_connected` if it had been subscribed.
    Lost { reason: String, was_connected: bool },
    /// Clean shutdown (subscriptions removed); notify `done`.
    Shutdown(Option<oneshot::Sender<()>>),
    /// Asked to reconnect now.
    Reconnect,
}

struct Pending {
    name: String,
    op: Op,
    reply: Option<oneshot::Sender<Result<Value, EraError>>>,
    deadline: Instant,
}

/// Drive one open connection until it ends.
pub(crate) async fn drive<Tx, Rx, E1, E2>(
    sh: &mut Shared,
    cmds: &mut mpsc::Receiver<Command>,
    tx: Tx,
    mut rx: Rx,
) -> Exit
where
    Tx: Sink<Message, Error = E1> + Unpin,
    Rx: Stream<Item = Result<Message, E2>> + Unpin,
    E1: Display,
    E2: Display,
{
    sh.calls.new_generation();
    let (rec_tx, mut rec_rx) = mpsc::channel::<Result<Vec<Value>, EraError>>(1);
    let mut link = Link::new(sh, tx, rec_tx);
    if let Err(reason) = link
        .request("connection_info", Map::new(), Op::ConnectionInfo, None)
        .await
    {
        return link.lost(reason);
    }
    loop {
        if let Some(reason) = link.slept() {
            return link.lost(reason);
        }
        let deadline = link.next_deadline();
        let step = tokio::select! {
            m = rx.next() => match m {
                None => Err("the platform closed the connection".to_string()),
                Some(Err(e)) => Err(format!("connection error: {e}")),
                Some(Ok(msg)) => link.on_message(msg).await,
            },
            c = cmds.recv() => match c {
                None => return link.shutdown(&mut rx, None).await,
                Some(Command::Shutdown(done)) => return link.shutdown(&mut rx, Some(done)).await,
                Some(Command::Reconnect) => {
                    link.fail_pending();
                    return Exit::Reconnect;
                }
                Some(cmd) => link.on_command(cmd).await,
            },
            Some(r) = rec_rx.recv() => {
                link.on_reconcile(r);
                Ok(())
            }
            _ = tokio::time::sleep_until(deadline) => link.on_timer().await,
        };
        if let Err(reason) = step {
            return link.lost(reason);
        }
    }
}

struct Link<'a, Tx> {
    sh: &'a mut Shared,
    tx: Tx,
    pending: HashMap<String, Pending>,
    subscribed: [bool; 3],
    renew_at: [Option<Instant>; 3],
    /// When each subscription runs out on the platform (its granted lifetime).
    lapse_at: [Option<Instant>; 3],
    /// The subscriptions may have lapsed: reconcile once all three are confirmed again.
    resync: bool,
    sleep: SleepWatch,
    connected: bool,
    ping_due: Instant,
    ping_sent: Option<Instant>,
    rec_tx: mpsc::Sender<Result<Vec<Value>, EraError>>,
    recent: VecDeque<String>,
    recent_set: HashSet<String>,
}

const RECENT: usize = 1024;

impl<'a, Tx, E1> Link<'a, Tx>
where
    Tx: Sink<Message, Error = E1> + Unpin,
    E1: Display,
{
    fn new(sh: &'a mut Shared, tx: Tx, rec_tx: mpsc::Sender<Result<Vec<Value>, EraError>>) -> Self {
        let ping_due = Instant::now() + Duration::from_millis(sh.cfg.ping_interval_ms);
        let sleep = SleepWatch::now(sh.wall_ms);
        Link {
            sh,
            tx,
            pending: HashMap::new(),
            subscribed: [false; 3],
            renew_at: [None; 3],
            lapse_at: [None; 3],
            resync: false,
            sleep,
            connected: false,
            ping_due,
            ping_sent: None,
            rec_tx,
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
        }
    }

    fn lost(&mut self, reason: String) -> Exit {
        tracing::warn!(reason, "era link lost");
        self.fail_pending();
        Exit::Lost {
            reason,
            was_connected: self.connected,
        }
    }

    fn fail_pending(&mut self) {
        for (_, p) in self.pending.drain() {
            if let Op::Apply { key } = &p.op {
                if let Some(t) = self.sh.ivr.get_mut(key) {
                    t.busy = false;
                }
            }
            if let Some(r) = p.reply {
                let _ = r.send(Err(EraError::Disconnected(p.name)));
            }
        }
    }

    async fn send_text(&mut self, text: String) -> Result<(), String> {
        if self.sh.cfg.inspector_frames {
            self.sh.emit(EraEvent::Frame {
                dir: FrameDir::Out,
                text: text.clone(),
            });
        }
        self.tx
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| format!("send failed: {e}"))
    }

    /// Send a request; replies immediately with an error for client-side refusals.
    async fn request(
        &mut self,
        name: &str,
        params: Map<String, Value>,
        op: Op,
        reply: Option<oneshot::Sender<Result<Value, EraError>>>,
    ) -> Result<(), String> {
        if let Err(e) = self.check_ivr(&op) {
            if let Some(r) = reply {
                let _ = r.send(Err(e));
            }
            return Ok(());
        }
        self.sh.qid += 1;
        let qid = json!(self.sh.qid);
        let text = frame::encode(name, &qid, &params);
        let ms = match op {
            Op::Upload => self.sh.cfg.upload_timeout_ms,
            _ => self.sh.cfg.request_timeout_ms,
        };
        let deadline = Instant::now() + Duration::from_millis(ms.max(1));
        self.pending.insert(
            qid.to_string(),
            Pending {
                name: name.to_string(),
                op,
                reply,
                deadline,
            },
        );
        self.send_text(text).await
    }

    /// One component at a time, and only in sessions the panel controls.
    fn check_ivr(&mut self, op: &Op) -> Result<(), EraError> {
        let key = match op {
            Op::Apply { key } | Op::Terminate { key } | Op::Abort { key, .. } => key,
            _ => return Ok(()),
        };
        let t = self
            .sh
            .ivr
            .get_mut(key)
            .ok_or_else(|| EraError::NoSuchIvrSession(key.clone()))?;
        if !t.controlled {
            return Err(EraError::NotControlled(key.clone()));
        }
        if let Op::Apply { .. } = op {
            if t.busy {
                return Err(EraError::ComponentBusy { key: key.clone() });
            }
            t.busy = true;
        }
        Ok(())
    }

    async fn on_command(&mut self, cmd: Command) -> Result<(), String> {
        match cmd {
            Command::Request {
                name,
                params,
                op,
                reply,
            } => self.request(&name, params, op, reply).await,
            other => {
                self.sh.answer_local(other);
                Ok(())
            }
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut d = self.ping_due;
        if let Some(sent) = self.ping_sent {
            d = d.min(sent + Duration::from_millis(self.sh.cfg.pong_timeout_ms));
        }
        for r in self.renew_at.iter().flatten() {
            d = d.min(*r);
        }
        d = d.min(self.sleep.next_check());
        for p in self.pending.values() {
            d = d.min(p.deadline);
        }
        d
    }

    async fn on_timer(&mut self) -> Result<(), String> {
        let now = Instant::now();
        if let Some(sent) = self.ping_sent {
            if now >= sent + Duration::from_millis(self.sh.cfg.pong_timeout_ms) {
                return Err(format!(
                    "no answer to a ping within {} ms",
                    self.sh.cfg.pong_timeout_ms
                ));
            }
        }
        if now >= self.ping_due {
            self.ping_due = now + Duration::from_millis(self.sh.cfg.ping_interval_ms);
            if self.ping_sent.is_none() {
                self.ping_sent = Some(now);
            }
            self.tx
                .send(Message::Ping(Default::default()))
                .await
                .map_err(|e| format!("ping failed: {e}"))?;
        }
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            let Some(p) = self.pending.remove(&k) else {
                continue;
            };
            let ms = match p.op {
                Op::Upload => self.sh.cfg.upload_timeout_ms,
                _ => self.sh.cfg.request_timeout_ms,
            };
            tracing::warn!(request = %p.name, ms, "era request timed out");
            match &p.op {
                Op::ConnectionInfo | Op::Subscribe { .. } | Op::Renew { .. } => {
                    return Err(format!(
                        "the platform did not answer '{}' within {ms} ms",
                        p.name
                    ));
                }
                Op::Apply { key } => {
                    if let Some(t) = self.sh.ivr.get_mut(key) {
                        t.busy = false;
                    }
                }
                _ => {}
            }
            if let Some(r) = p.reply {
                let _ = r.send(Err(EraError::Timeout {
                    request: p.name,
                    ms,
                }));
            }
        }
        self.renew_due(now).await
    }

    /// A wall-clock jump the monotonic clock did not see: the computer slept.
    fn slept(&mut self) -> Option<String> {
        let gap = self.sleep.observe()?;
        Some(format!(
            "the computer was asleep for about {} s; replacing the link",
            gap.as_secs()
        ))
    }

    async fn on_message(&mut self, msg: Message) -> Result<(), String> {
        self.ping_sent = None;
        let text = match msg {
            Message::Text(t) => t.as_str().to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => return Err("the platform closed the connection".into()),
            _ => return Ok(()),
        };
        if text.len() > self.sh.cfg.max_frame_bytes {
            tracing::warn!(
                bytes = text.len(),
                limit = self.sh.cfg.max_frame_bytes,
                "era frame too large, dropped"
            );
            return Ok(());
        }
        if self.sh.cfg.inspector_frames {
            let token = self.sh.cfg.token.as_str();
            let shown = if token.len() >= 4 && text.contains(token) {
                text.replace(token, "***")
            } else {
                text.clone()
            };
            self.sh.emit(EraEvent::Frame {
                dir: FrameDir::In,
                text: shown,
            });
        }
        match frame::decode(&text) {
            Err(e) => {
                tracing::warn!(error = %e, "malformed era frame ignored");
                Ok(())
            }
            Ok(Inbound::Result { name, qid, outcome }) => self.on_result(name, qid, outcome).await,
            Ok(Inbound::Notify {
                class,
                kind,
                eventts,
                data,
            }) => self.on_notify(&class, &kind, eventts, &data).await,
            Ok(Inbound::Push { name, body }) => {
                self.on_push(&name, &body);
                Ok(())
            }
        }
    }

    async fn on_result(
        &mut self,
        name: String,
        qid: Value,
        outcome: Result<Value, PlatformError>,
    ) -> Result<(), String> {
        let key = qid.to_string();
        match self.pending.get(&key) {
            Some(p) if p.name == name => {}
            _ => {
                tracing::warn!(name, qid = %key, "era result without a matching request ignored");
                return Ok(());
            }
        }
        let Some(p) = self.pending.remove(&key) else {
            return Ok(());
        };
        let refused = |e: PlatformError| EraError::Refused {
            request: p.name.clone(),
            code: e.code,
            message: e.message,
            details: e.details,
        };
        let reply = p.reply;
        let answer = |r: Option<oneshot::Sender<Result<Value, EraError>>>,
                      v: Result<Value, EraError>| {
            if let Some(r) = r {
                let _ = r.send(v);
            }
        };
        match p.op {
            Op::Plain | Op::Upload | Op::Terminate { .. } => {
                answer(reply, outcome.map_err(refused))
            }
            Op::ConnectionInfo => match outcome {
                Ok(_) => {
                    for idx in 0..3 {
                        let params = self.subscribe_params(idx, self.sh.cfg.expires_secs);
                        self.request("subscribe", params, Op::Subscribe { idx }, None)
                            .await?;
                    }
                }
                Err(e) => return Err(format!("connection_info refused: {}", e.message)),
            },
            Op::Subscribe { idx } => match outcome {
                Ok(v) => {
                    self.confirmed(idx, &v);
                    if !self.connected && self.subscribed.iter().all(|s| *s) {
                        self.on_subscribed().await?;
                    }
                    self.finish_resync();
                }
                Err(e) => {
                    return Err(format!(
                        "subscribe to {} refused: {}",
                        CLASSES[idx], e.message
                    ))
                }
            },
            Op::Renew { idx } => match outcome {
                Ok(v) => {
                    self.confirmed(idx, &v);
                    self.finish_resync();
                }
                Err(e) => {
                    tracing::warn!(class = CLASSES[idx], error = %e.message, "renewal refused; subscribing afresh");
                    self.subscribed[idx] = false;
                    self.begin_resync(CLASSES[idx], "renewal refused");
                    let params = self.subscribe_params(idx, self.sh.cfg.expires_secs);
                    self.request("subscribe", params, Op::Subscribe { idx }, None)
                        .await?;
                }
            },
            Op::Unsubscribe => {}
            Op::Accept {
                key,
                ivrid,
                re,
                internal,
            } => {
                let result = match outcome {
                    Ok(_) => {
                        let t = self.sh.track(&key, &ivrid);
                        t.controlled = true;
                        // A component's end may have gone to the lost link: the platform decides.
                        t.busy &= !re;
                        self.sh.emit(EraEvent::Ivr {
                            event: IvrEvent::Accepted {
                                key,
                                ivrid,
                                reacquired: re,
                            },
                        });
                        AcceptOutcome::Accepted
                    }
                    Err(e) => {
                        if let Some(t) = self.sh.ivr.get_mut(&key) {
                            t.controlled = false;
                            t.busy = false;
                        }
                        let message = e.message;
                        let event = if re && internal {
                            IvrEvent::ReacquireFailed {
                                key,
                                ivrid,
                                message: message.clone(),
                            }
                        } else {
                            IvrEvent::LostRace {
                                key,
                                ivrid,
                                message: message.clone(),
                            }
                        };
                        self.sh.emit(EraEvent::Ivr { event });
                        AcceptOutcome::Lost { message }
                    }
                };
                answer(
                    reply,
                    Ok(serde_json::to_value(result).unwrap_or(Value::Null)),
                );
            }
            Op::Abort { key, ivrid } => match outcome {
                Ok(v) => {
                    self.sh.ivr.remove(&key);
                    self.sh.emit(EraEvent::Ivr {
                        event: IvrEvent::Released { key, ivrid },
                    });
                    answer(reply, Ok(v));
                }
                Err(e) => answer(reply, Err(refused(e))),
            },
            Op::Apply { key } => match outcome {
                Ok(v) => answer(reply, Ok(v)),
                Err(e) => {
                    if let Some(t) = self.sh.ivr.get_mut(&key) {
                        t.busy = false;
                    }
                    answer(reply, Err(refused(e)));
                }
            },
        }
        Ok(())
    }

    /// Remove the subscriptions (`expires: 0`), wait briefly for the replies, close.
    async fn shutdown<Rx, E2>(&mut self, rx: &mut Rx, done: Option<oneshot::Sender<()>>) -> Exit
    where
        Rx: Stream<Item = Result<Message, E2>> + Unpin,
        E2: Display,
    {
        let mut ok = true;
        for idx in 0..3 {
            if !self.subscribed[idx] {
                continue;
            }
            let mut p = Map::new();
            p.insert("id".into(), json!(self.sh.sub_ids[idx]));
            p.insert("expires".into(), json!(0));
            if self
                .request("subscribe", p, Op::Unsubscribe, None)
                .await
                .is_err()
            {
                ok = false;
                break;
            }
        }
        let limit =
            Instant::now() + Duration::from_millis(self.sh.cfg.request_timeout_ms.min(2_000));
        while ok
            && self
                .pending
                .values()
                .any(|p| matches!(p.op, Op::Unsubscribe))
        {
            match tokio::time::timeout_at(limit, rx.next()).await {
                Ok(Some(Ok(msg))) => {
                    if self.on_message(msg).await.is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        self.fail_pending();
        let _ = self.tx.send(Message::Close(None)).await;
        let _ = self.tx.close().await;
        Exit::Shutdown(done)
    }
}
