//! The Era session: one task owns the WebSocket (connect, drive, reconnect with full-jitter
//! exponential backoff); a cloneable [`EraHandle`] sends requests to it; events come out on
//! an unbounded channel ([`EraEvents`]); the connection state is a `watch`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;

use super::config::EraConfig;
use super::error::EraError;
use super::frame;
use super::link::{drive, Exit};
use super::normalize::CallTracker;
use super::rest::EraRest;
use super::types::{AcceptOutcome, Component, EraEvent, FileLink, IvrOffer, IvrSessionInfo};
use crate::model::ConnectionState;

/// The event stream of a session.
pub type EraEvents = mpsc::UnboundedReceiver<EraEvent>;

/// What a request is, for the bookkeeping its reply triggers.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Plain,
    Upload,
    ConnectionInfo,
    Subscribe {
        idx: usize,
    },
    Renew {
        idx: usize,
    },
    Unsubscribe,
    Accept {
        key: String,
        ivrid: String,
        re: bool,
        internal: bool,
    },
    Abort {
        key: String,
        ivrid: String,
    },
    Apply {
        key: String,
    },
    Terminate {
        key: String,
    },
}

pub(crate) enum Command {
    Request {
        name: String,
        params: Map<String, Value>,
        op: Op,
        reply: Option<oneshot::Sender<Result<Value, EraError>>>,
    },
    IvrSessions(oneshot::Sender<Vec<IvrSessionInfo>>),
    ControlId(String, oneshot::Sender<Option<String>>),
    Reconnect,
    Shutdown(oneshot::Sender<()>),
}

/// An IVR session the session tracks.
pub(crate) struct IvrTrack {
    pub offer: IvrOffer,
    pub controlled: bool,
    pub busy: bool,
}

/// State that outlives one connection; owned by the session task.
pub(crate) struct Shared {
    pub cfg: Arc<EraConfig>,
    pub events: mpsc::UnboundedSender<EraEvent>,
    pub state: watch::Sender<ConnectionState>,
    pub ivr: BTreeMap<String, IvrTrack>,
    pub calls: CallTracker,
    pub sub_ids: [String; 3],
    pub rest: Option<EraRest>,
    pub qid: u64,
    /// The wall clock, ms since the epoch (a test may move it to play a system sleep).
    pub wall_ms: fn() -> i64,
}

impl Shared {
    pub(crate) fn new(
        cfg: EraConfig,
        events: mpsc::UnboundedSender<EraEvent>,
        state: watch::Sender<ConnectionState>,
    ) -> Shared {
        let rest = EraRest::new(&cfg).ok();
        let id = || uuid::Uuid::new_v4().to_string();
        Shared {
            cfg: Arc::new(cfg),
            events,
            state,
            ivr: BTreeMap::new(),
            calls: CallTracker::default(),
            sub_ids: [id(), id(), id()],
            rest,
            qid: 0,
            wall_ms: || chrono::Utc::now().timestamp_millis(),
        }
    }

    pub(crate) fn emit(&self, ev: EraEvent) {
        let _ = self.events.send(ev);
    }

    /// The tracked session `key`, created from what is known if the offer was never seen.
    pub(crate) fn track(&mut self, key: &str, ivrid: &str) -> &mut IvrTrack {
        self.ivr.entry(key.to_string()).or_insert_with(|| IvrTrack {
            offer: IvrOffer {
                key: key.to_string(),
                ivrid: ivrid.to_string(),
                call_id: None,
                caller: None,
                ivr_number: None,
                component_name: None,
                params: Value::Null,
                at_ms: chrono::Utc::now().timestamp_millis(),
            },
            controlled: false,
            busy: false,
        })
    }

    /// Commands answered without the network (also while disconnected).
    pub(crate) fn answer_local(&mut self, cmd: Command) {
        match cmd {
            Command::Request { reply, .. } => {
                if let Some(r) = reply {
                    let _ = r.send(Err(EraError::NotConnected));
                }
            }
            Command::IvrSessions(r) => {
                let list = self
                    .ivr
                    .values()
                    .map(|t| IvrSessionInfo {
                        offer: t.offer.clone(),
                        controlled: t.controlled,
                        component_running: t.busy,
                    })
                    .collect();
                let _ = r.send(list);
            }
            Command::ControlId(cid, r) => {
                let _ = r.send(self.calls.connection_id(&cid));
            }
            Command::Reconnect | Command::Shutdown(_) => {}
        }
    }
}

/// Full-jitter exponential backoff: uniform in `[0, min(cap, base·2^attempt)]`.
pub fn backoff_delay(attempt: u32, base_ms: u64, cap_ms: u64) -> Duration {
    let ceiling = base_ms
        .saturating_mul(1u64 << attempt.min(20))
        .min(cap_ms)
        .max(1);
    Duration::from_millis(rand::rng().random_range(0..=ceiling))
}

enum ConnectError {
    Auth(String),
    Other(String),
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(cfg: &EraConfig) -> Result<Socket, ConnectError> {
    let mut url = format!("{}{}", cfg.url.trim_end_matches('/'), cfg.ws_path());
    if cfg.auth.token_in_path() {
        url.push('/');
        url.push_str(
            &url::form_urlencoded::byte_serialize(cfg.token.as_bytes()).collect::<String>(),
        );
    }
    let mut req = url
        .into_client_request()
        .map_err(|e| ConnectError::Other(format!("bad Era URL: {e}")))?;
    if !cfg.auth.token_in_path() {
        let v = HeaderValue::from_str(&format!("Bearer {}", cfg.token)).map_err(|_| {
            ConnectError::Auth("the token has characters a header cannot carry".into())
        })?;
        req.headers_mut().insert("Authorization", v);
    }
    let hard = cfg.max_frame_bytes.saturating_mul(4).max(4 * 1024 * 1024);
    let ws_cfg = WebSocketConfig::default()
        .max_message_size(Some(hard))
        .max_frame_size(Some(hard));
    let fut = tokio_tungstenite::connect_async_with_config(req, Some(ws_cfg), true);
    match tokio::time::timeout(Duration::from_millis(cfg.connect_timeout_ms.max(1)), fut).await {
        Err(_) => Err(ConnectError::Other(format!(
            "connect timed out after {} ms",
            cfg.connect_timeout_ms
        ))),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(resp))) if matches!(resp.status().as_u16(), 401 | 403) => {
            Err(ConnectError::Auth(format!(
                "the platform refused the token (HTTP {})",
                resp.status().as_u16()
            )))
        }
        Ok(Err(WsError::Http(resp))) => Err(ConnectError::Other(format!(
            "upgrade refused: HTTP {}",
            resp.status().as_u16()
        ))),
        Ok(Err(e)) => Err(ConnectError::Other(format!("connect failed: {e}"))),
    }
}

enum Idle {
    Elapsed,
    Reconnect,
    Shutdown(Option<oneshot::Sender<()>>),
}

/// Serve commands without a connection until `until` (or forever) elapses.
async fn idle(
    sh: &mut Shared,
    cmds: &mut mpsc::Receiver<Command>,
    until: Option<Duration>,
) -> Idle {
    let sleep = tokio::time::sleep(until.unwrap_or(Duration::from_secs(86_400 * 365)));
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep, if until.is_some() => return Idle::Elapsed,
            c = cmds.recv() => match c {
                None => return Idle::Shutdown(None),
                Some(Command::Shutdown(done)) => return Idle::Shutdown(Some(done)),
                Some(Command::Reconnect) => return Idle::Reconnect,
                Some(other) => sh.answer_local(other),
            },
        }
    }
}

async fn supervise(mut sh: Shared, mut cmds: mpsc::Receiver<Command>) {
    let mut attempt: u32 = 0;
    loop {
        sh.state.send_replace(ConnectionState::Connecting {
            attempt: attempt + 1,
        });
        let reason = match connect(&sh.cfg).await {
            Ok(ws) => {
                let (tx, rx) = futures_util::StreamExt::split(ws);
                match drive(&mut sh, &mut cmds, tx, rx).await {
                    Exit::Shutdown(done) => {
                        finish(&sh, done);
                        return;
                    }
                    Exit::Reconnect => {
                        attempt = 0;
                        continue;
                    }
                    Exit::Lost {
                        reason,
                        was_connected,
                    } => {
                        if was_connected {
                            attempt = 0;
                        }
                        reason
                    }
                }
            }
            Err(ConnectError::Auth(reason)) => {
                tracing::error!(
                    reason,
                    "era authentication failed; waiting for a manual retry"
                );
                sh.state.send_replace(ConnectionState::Failed { reason });
                match idle(&mut sh, &mut cmds, None).await {
                    Idle::Shutdown(done) => {
                        finish(&sh, done);
                        return;
                    }
                    _ => {
                        attempt = 0;
                        continue;
                    }
                }
            }
            Err(ConnectError::Other(reason)) => reason,
        };
        let delay = backoff_delay(attempt, sh.cfg.backoff_base_ms, sh.cfg.backoff_cap_ms);
        attempt = attempt.saturating_add(1);
        let next_attempt_ms = chrono::Utc::now().timestamp_millis() + delay.as_millis() as i64;
        tracing::info!(
            attempt,
            delay_ms = delay.as_millis() as u64,
            reason,
            "era reconnect scheduled"
        );
        sh.state.send_replace(ConnectionState::BackingOff {
            attempt,
            next_attempt_ms,
            reason,
        });
        match idle(&mut sh, &mut cmds, Some(delay)).await {
            Idle::Shutdown(done) => {
                finish(&sh, done);
                return;
            }
            Idle::Reconnect => attempt = 0,
            Idle::Elapsed => {}
        }
    }
}

fn finish(sh: &Shared, done: Option<oneshot::Sender<()>>) {
    sh.state.send_replace(ConnectionState::Disabled);
    if let Some(d) = done {
        let _ = d.send(());
    }
}

/// Start a session (needs a Tokio runtime). Returns the handle and the event stream.
pub fn start(cfg: EraConfig) -> Result<(EraHandle, EraEvents), EraError> {
    cfg.validate()?;
    let (cmd_tx, cmd_rx) = mpsc::channel(256);
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (st_tx, st_rx) = watch::channel(ConnectionState::Connecting { attempt: 1 });
    let sh = Shared::new(cfg.clone(), ev_tx, st_tx);
    let rest = sh.rest.clone();
    tokio::spawn(supervise(sh, cmd_rx));
    Ok((
        EraHandle {
            cmd: cmd_tx,
            state: st_rx,
            rest,
            cfg: Arc::new(cfg),
        },
        ev_rx,
    ))
}

/// Cloneable handle to a running session.
#[derive(Clone)]
pub struct EraHandle {
    cmd: mpsc::Sender<Command>,
    state: watch::Receiver<ConnectionState>,
    rest: Option<EraRest>,
    cfg: Arc<EraConfig>,
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl EraHandle {
    /// The connection state (watch it for changes).
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// The settings the session runs with.
    pub fn config(&self) -> &EraConfig {
        &self.cfg
    }

    /// The REST client of the same platform, when its URL is valid.
    pub fn rest(&self) -> Option<&EraRest> {
        self.rest.as_ref()
    }

    async fn send(
        &self,
        name: &str,
        params: Map<String, Value>,
        op: Op,
    ) -> Result<Value, EraError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Request {
                name: name.to_string(),
                params,
                op,
                reply: Some(tx),
            })
            .await
            .map_err(|_| EraError::Closed)?;
        rx.await.map_err(|_| EraError::Closed)?
    }

    /// Any request (`ccs`, `test`, …): `params` must be a JSON object; returns the result payload.
    pub async fn request(&self, name: &str, params: Value) -> Result<Value, EraError> {
        if name.trim().is_empty() {
            return Err(EraError::Invalid("a request needs a name".into()));
        }
        match params {
            Value::Object(m) => self.send(name, m, Op::Plain).await,
            Value::Null => self.send(name, Map::new(), Op::Plain).await,
            _ => Err(EraError::Invalid(
                "request parameters must be a JSON object".into(),
            )),
        }
    }

    pub async fn connection_info(&self) -> Result<Value, EraError> {
        self.send("connection_info", Map::new(), Op::Plain).await
    }

    async fn accept_like(
        &self,
        name: &str,
        key: &str,
        ivrid: &str,
        re: bool,
    ) -> Result<AcceptOutcome, EraError> {
        let op = Op::Accept {
            key: key.into(),
            ivrid: ivrid.into(),
            re,
            internal: false,
        };
        let v = self
            .send(name, obj(json!({ "key": key, "ivrid": ivrid })), op)
            .await?;
        serde_json::from_value(v).map_err(|e| EraError::Protocol(e.to_string()))
    }

    /// Take control of an offered IVR session; losing the race is [`AcceptOutcome::Lost`].
    pub async fn ivr_accept(&self, key: &str, ivrid: &str) -> Result<AcceptOutcome, EraError> {
        self.accept_like("ivrapi_accept", key, ivrid, false).await
    }

    /// Take control over again (after a reconnect the session does this by itself).
    pub async fn ivr_reaccept(&self, key: &str, ivrid: &str) -> Result<AcceptOutcome, EraError> {
        self.accept_like("ivrapi_reaccept", key, ivrid, true).await
    }

    /// Give control back; the script goes on.
    pub async fn ivr_abort(&self, key: &str, ivrid: &str) -> Result<(), EraError> {
        let op = Op::Abort {
            key: key.into(),
            ivrid: ivrid.into(),
        };
        self.send(
            "ivrapi_abort",
            obj(json!({ "key": key, "ivrid": ivrid })),
            op,
        )
        .await
        .map(|_| ())
    }

    /// Start a component; returns its `oId` when the platform reports one. Refused with
    /// [`EraError::ComponentBusy`] while another one runs.
    pub async fn ivr_apply(
        &self,
        key: &str,
        ivrid: &str,
        component: &Component,
    ) -> Result<Option<u64>, EraError> {
        let data = component.to_data()?;
        let op = Op::Apply { key: key.into() };
        let v = self
            .send(
                "ivrapi_component_apply",
                obj(json!({ "key": key, "ivrid": ivrid, "data": data })),
                op,
            )
            .await?;
        Ok(v.get("oId").and_then(Value::as_u64))
    }

    /// Stop the running component.
    pub async fn ivr_terminate(&self, key: &str, ivrid: &str) -> Result<(), EraError> {
        let op = Op::Terminate { key: key.into() };
        self.send(
            "ivrapi_component_terminate",
            obj(json!({ "key": key, "ivrid": ivrid })),
            op,
        )
        .await
        .map(|_| ())
    }

    fn link(&self, payload: &Value) -> Result<FileLink, EraError> {
        let path = frame::result_text(payload)
            .ok_or_else(|| EraError::Protocol("the reply has no path".into()))?;
        let url = match &self.rest {
            Some(r) => r.absolute(&path)?,
            None => path.clone(),
        };
        Ok(FileLink { path, url })
    }

    /// A temporary (5-minute) download link for a file the IVR produced.
    pub async fn ivr_file_get_path(
        &self,
        key: &str,
        ivrid: &str,
        path: &str,
    ) -> Result<FileLink, EraError> {
        let v = self
            .send(
                "ivrapi_file_get_path",
                obj(json!({ "key": key, "ivrid": ivrid, "path": path })),
                Op::Plain,
            )
            .await?;
        self.link(&v)
    }

    async fn upload(&self, name: &str, params: Value) -> Result<String, EraError> {
        let v = self.send(name, obj(params), Op::Upload).await?;
        frame::result_text(&v).ok_or_else(|| EraError::Protocol("the reply has no path".into()))
    }

    /// Have the platform fetch `url` into the session's temporary folder; returns the path.
    pub async fn ivr_file_upload_temp(
        &self,
        key: &str,
        ivrid: &str,
        url: &str,
    ) -> Result<String, EraError> {
        self.upload(
            "ivrapi_file_upload_temp",
            json!({ "key": key, "ivrid": ivrid, "url": url }),
        )
        .await
    }

    /// Have the platform fetch `url` into static storage under `destpath`; returns the path.
    pub async fn ivr_file_upload_static(
        &self,
        key: &str,
        ivrid: &str,
        url: &str,
        destpath: &str,
    ) -> Result<String, EraError> {
        self.upload(
            "ivrapi_file_upload_static",
            json!({ "key": key, "ivrid": ivrid, "url": url, "destpath": destpath }),
        )
        .await
    }

    /// Upload to static storage without an IVR session.
    pub async fn file_upload_static(&self, url: &str, destpath: &str) -> Result<String, EraError> {
        self.upload(
            "file_upload_static",
            json!({ "url": url, "destpath": destpath }),
        )
        .await
    }

    /// A temporary download link for a call recording (`key` of `connection_set_record_info`).
    pub async fn callrecord_get_path(&self, key: &str) -> Result<FileLink, EraError> {
        let v = self
            .send("callrecord_get_path", obj(json!({ "key": key })), Op::Plain)
            .await?;
        self.link(&v)
    }

    /// IVR sessions known to the session.
    pub async fn ivr_sessions(&self) -> Result<Vec<IvrSessionInfo>, EraError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::IvrSessions(tx))
            .await
            .map_err(|_| EraError::Closed)?;
        rx.await.map_err(|_| EraError::Closed)
    }

    /// `connectionid` (control id) of a live call by its `cid`.
    pub async fn control_id(&self, cid: &str) -> Result<Option<String>, EraError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::ControlId(cid.to_string(), tx))
            .await
            .map_err(|_| EraError::Closed)?;
        rx.await.map_err(|_| EraError::Closed)
    }

    /// Drop the link and connect again now (also the manual retry after an auth failure).
    pub async fn reconnect(&self) -> Result<(), EraError> {
        self.cmd
            .send(Command::Reconnect)
            .await
            .map_err(|_| EraError::Closed)
    }

    /// Remove the subscriptions, close the socket and stop the session.
    pub async fn shutdown(&self) -> Result<(), EraError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Shutdown(tx))
            .await
            .map_err(|_| EraError::Closed)?;
        rx.await.map_err(|_| EraError::Closed)
    }
}

/// Session state for driving [`drive`] over channels (unit tests).
#[cfg(test)]
pub(crate) fn shared_for_tests(
    cfg: EraConfig,
) -> (Shared, EraEvents, watch::Receiver<ConnectionState>) {
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (st_tx, st_rx) = watch::channel(ConnectionState::Connecting { attempt: 1 });
    (Shared::new(cfg, ev_tx, st_tx), ev_rx, st_rx)
}
