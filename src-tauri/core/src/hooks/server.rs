//! The HTTP side: an axum router served connection by connection through hyper, so that the
//! header-read timeout has a timer (axum::serve sets none), connections are bounded, and
//! shutdown is graceful.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use bytes::BytesMut;
use futures_util::StreamExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;
use ts_rs::TS;

use super::config::ListenerConfig;
use super::decisions::{Decisions, PendingDecision};
use super::error::{DecisionError, ListenerError, ReplayError, RuleError};
use super::handler::{process, redact, Shared};
use super::inspector::{BodyState, IncomingRequest, Inspector, InspectorEntry};
use super::ivr::{Action, IvrSettings};
use super::steps::{self, StepQueue};
use crate::sink::{EventSink, RejectedRequest};

/// Bodies over the limit are read and dropped up to this size so the client sees the `413`.
const DRAIN_LIMIT: usize = 1024 * 1024;
/// How long shutdown waits for requests in flight.
const GRACE: Duration = Duration::from_secs(5);

/// The URLs to paste into the platform's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ListenerUrls {
    /// Seed-004 JSON call webhooks.
    pub calls: String,
    /// Telphin extension events (subscribe with method GET or POST).
    pub telphin: String,
    /// Call Interactive (IVR option "HTTP request").
    pub ivr: String,
    /// Callback-list claims from the other panels of the team (`team.peers` of those panels).
    pub team: String,
    pub health: String,
}

/// The embedded webhook listener.
pub struct Listener;

impl Listener {
    /// Check the configuration, bind, and serve until [`ListenerHandle::shutdown`] (or drop).
    pub async fn start(
        config: ListenerConfig,
        sink: Arc<dyn EventSink>,
    ) -> Result<ListenerHandle, ListenerError> {
        if !config.enabled {
            return Err(ListenerError::Config("the listener is disabled".into()));
        }
        let checked = config.check()?;
        let listener =
            TcpListener::bind(checked.addr)
                .await
                .map_err(|source| ListenerError::Bind {
                    addr: checked.addr.to_string(),
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ListenerError::Bind {
                addr: checked.addr.to_string(),
                source,
            })?;
        let (shutdown, rx) = watch::channel(false);
        let (steps, steps_task) =
            StepQueue::start(sink.clone(), steps::QUEUE_CAPACITY, shutdown.subscribe());
        let shared = Arc::new(Shared {
            token: config.token.clone(),
            tz: checked.tz,
            allow: checked.allow,
            ivr: RwLock::new(Arc::new(config.ivr.clone())),
            inspector: Inspector::new(config.inspector.clone()),
            decisions: Decisions::new(),
            sink,
            steps,
            config,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone(), rx));
        tracing::info!(addr = %local_addr, "webhook listener started");
        Ok(ListenerHandle {
            shared,
            local_addr,
            shutdown,
            task: Some(task),
            steps_task: Some(steps_task),
        })
    }
}

/// A running listener. Dropping it stops accepting at once; [`ListenerHandle::shutdown`] also
/// waits for requests in flight.
pub struct ListenerHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// Stores Call Interactive steps after the reply; drained at shutdown.
    steps_task: Option<JoinHandle<()>>,
}

impl ListenerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The full URLs (token included) for the platform's settings.
    pub fn urls(&self) -> ListenerUrls {
        let base = match &self.shared.config.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.local_addr),
        };
        let t = &self.shared.token;
        ListenerUrls {
            calls: format!("{base}/hooks/{t}/calls"),
            telphin: format!("{base}/hooks/{t}/telphin"),
            ivr: format!("{base}/hooks/{t}/ivr"),
            team: format!("{base}/hooks/{t}/team"),
            health: format!("{base}/health"),
        }
    }

    /// Requests and replies of the recent window, and the rejected log.
    pub fn inspector(&self) -> &Inspector {
        &self.shared.inspector
    }

    /// The rejected requests kept in memory, oldest first.
    pub fn rejected(&self) -> Vec<RejectedRequest> {
        self.shared.inspector.rejected()
    }

    /// Call Interactive requests waiting for the agent; updated on every change.
    pub fn pending_decisions(&self) -> watch::Receiver<Vec<PendingDecision>> {
        self.shared.decisions.subscribe()
    }

    /// Answer a held Call Interactive request with `actions`.
    pub fn decide(&self, id: u64, actions: Vec<Action>) -> Result<(), DecisionError> {
        self.shared.decisions.decide(id, actions)
    }

    /// Re-run a stored request through the same handler (a held IVR rule answers at once with
    /// its actions). Returns the new inspector entry.
    pub async fn replay(&self, id: u64) -> Result<InspectorEntry, ReplayError> {
        self.replay_future(id).await
    }

    /// [`ListenerHandle::replay`] as a future that does not borrow the handle.
    pub fn replay_future(
        &self,
        id: u64,
    ) -> impl std::future::Future<Output = Result<InspectorEntry, ReplayError>> + Send + 'static
    {
        let shared = self.shared.clone();
        let stopped = *self.shutdown.borrow();
        async move {
            if stopped {
                return Err(ReplayError::Stopped);
            }
            let mut req = shared
                .inspector
                .request(id)
                .ok_or(ReplayError::NotFound(id))?;
            req.received_ms = chrono::Utc::now().timestamp_millis();
            Ok(process(&shared, req, Some(id)).await)
        }
    }

    pub fn ivr_settings(&self) -> IvrSettings {
        self.shared.ivr_settings().as_ref().clone()
    }

    /// Replace the IVR rules and replies (checked first); applies to the next request.
    pub fn set_ivr_settings(&self, settings: IvrSettings) -> Result<(), RuleError> {
        settings.validate()?;
        let mut slot = match self.shared.ivr.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *slot = Arc::new(settings);
        Ok(())
    }

    /// Stop accepting, let requests in flight finish (up to a few seconds), then return.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(task) = self.steps_task.take() {
            let _ = task.await;
        }
        tracing::info!(addr = %self.local_addr, "webhook listener stopped");
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// Resolves once shutdown was asked for (or the handle is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", any(handle))
        .route("/hooks/{token}/calls", any(handle))
        .route("/hooks/{token}/telphin", any(handle))
        .route("/hooks/{token}/ivr", any(handle))
        .route("/hooks/{token}/team", any(handle))
        .fallback(handle)
        .with_state(shared)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = router(shared.clone());
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = stopped(&mut shutdown) => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            _ = stopped(&mut shutdown) => break,
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (app, shared, shutdown) = (app.clone(), shared.clone(), shutdown.clone());
        connections.spawn(async move {
            serve_connection(stream, remote, app, shared, shutdown).await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        counter.fetch_add(1, Ordering::Relaxed);
        req.extensions_mut().insert(ConnectInfo(remote));
        app.clone().oneshot(req.map(Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(shared.config.header_timeout_ms))
        .max_headers(32)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut stopping = false;
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            _ = stopped(&mut shutdown), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    };
    let Err(e) = result else { return };
    // A connection that never completed a request head is a rejected request; an idle
    // keep-alive connection timing out is not.
    let reason = if e.is_timeout() && served.load(Ordering::Relaxed) == 0 {
        format!(
            "request headers not received within {} ms",
            shared.config.header_timeout_ms
        )
    } else if e.is_parse() || e.is_parse_too_large() {
        format!("malformed HTTP request: {e}")
    } else {
        tracing::debug!(error = %e, %remote, "connection ended with an error");
        return;
    };
    let status = if e.is_timeout() { 408 } else { 400 };
    let rejected = RejectedRequest {
        received_ms: chrono::Utc::now().timestamp_millis(),
        remote: remote.to_string(),
        method: String::new(),
        path: String::new(),
        status,
        reason,
        body: String::new(),
    };
    tracing::warn!(%remote, reason = %rejected.reason, "webhook connection rejected");
    shared.inspector.reject(rejected.clone());
    shared.sink.reject(rejected).await;
}

/// Every route lands here; the path decides what it is.
async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received_ms = chrono::Utc::now().timestamp_millis();
    let route = shared.classify(uri.path());
    let wants_body = shared.allowed(remote.ip()) && route != super::inspector::Route::Unknown;
    let body = if wants_body {
        read_body(
            body,
            &headers,
            shared.config.body_limit_bytes,
            shared.config.body_timeout_ms,
        )
        .await
    } else {
        BodyState::Complete(bytes::Bytes::new())
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let req = IncomingRequest {
        received_ms,
        remote,
        method: method.as_str().to_string(),
        route,
        path: redact(uri.path()),
        query: uri.query().unwrap_or_default().to_string(),
        content_type,
        body,
    };
    let entry = process(&shared, req, None).await;
    let status = StatusCode::from_u16(entry.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = entry
        .reply_content_type
        .unwrap_or_else(|| "text/plain".into());
    (status, [(header::CONTENT_TYPE, ct)], entry.reply_body).into_response()
}

async fn read_body(body: Body, headers: &HeaderMap, limit: usize, timeout_ms: u64) -> BodyState {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return BodyState::TooLarge;
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = BytesMut::new();
        let mut total = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return BodyState::Failed(super::error::one_line(&e.to_string(), 120)),
            };
            total = total.saturating_add(chunk.len());
            if total > DRAIN_LIMIT {
                return BodyState::TooLarge;
            }
            if total <= limit {
                buf.extend_from_slice(&chunk);
            }
        }
        if total > limit {
            BodyState::TooLarge
        } else {
            BodyState::Complete(buf.freeze())
        }
    };
    match tokio::time::timeout(Duration::from_millis(timeout_ms), read).await {
        Ok(state) => state,
        Err(_) => BodyState::TimedOut,
    }
}
