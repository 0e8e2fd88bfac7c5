//! The Era platform front-end of the simulator (seeds 002, 003; protocols.md §1).
//!
//! Routes (all on the shared server):
//! - `GET /ws/token/v1/{token}`, `GET /ws/token/v1` + Bearer — Token-API WebSocket;
//! - `GET <user_path>/{token}`, `GET <user_path>` + Bearer — User-API WebSocket
//!   (default `/ws/user/v1`; events limited to the user's extension and `extra_objects`);
//! - `/rest/v1/uc/calls[/{id}]`, `/rest/v1/uc/calls_by_participation[/{id}]` — REST with custom
//!   verbs ([`rest`]);
//! - `GET /files/era/{token}/{name}` — temporary file links ([`files`]).
//!
//! WebSocket protocol: [`ws`] (framing, errors), [`subscr`] (subscriptions), [`render`] (World
//! events as `callevents`/`ccsevents`), [`ivr`] (`ivrapi`), [`ccs`] (call control).
//! Scenario entry points: [`offer_ivr_control`], [`press_dtmf`]; test controls: [`control`].

pub mod ccs;
pub mod config;
pub mod files;
pub mod ivr;
pub mod ops;
pub mod render;
pub mod rest;
pub mod state;
pub mod subscr;
pub mod wire;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{any, get};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

pub use config::{EraSimConfig, EraSimUser, ErrorShape, IvrFallback, DEMO_TOKEN};
pub use ivr::{offer_ivr_control, press_dtmf};
pub use state::EraControl;

use crate::world::WorldEventKind;
use crate::SimContext;
use state::EraState;
use ws::Api;

/// An effect run after a reply was queued (so the reply goes out first).
pub(crate) type Deferred = Box<dyn FnOnce() + Send>;

/// Test and scenario controls of this simulator's Era front-end.
pub fn control(ctx: &SimContext) -> EraControl {
    EraControl(state::state(ctx))
}

type Upgrade = Result<WebSocketUpgrade, WebSocketUpgradeRejection>;

/// The Era routes.
pub fn router(ctx: &SimContext) -> axum::Router {
    let st = state::state(ctx);
    let mut user_path = st.config().user_path_normalized();
    let valid = user_path.starts_with("/ws/")
        && user_path != "/ws/token/v1"
        && !user_path.starts_with("/ws/token/v1/")
        && user_path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c));
    if !valid {
        tracing::warn!(user_path, "era user_path must be under /ws/ and differ from the Token-API path; using /ws/user/v1");
        user_path = "/ws/user/v1".to_string();
    }
    let rest_routes = ["/rest/v1/uc/calls", "/rest/v1/uc/calls_by_participation"];
    let mut r = axum::Router::new()
        .route(
            "/ws/token/v1/{token}",
            get(
                |State(st): State<Arc<EraState>>,
                 Path(t): Path<String>,
                 h: HeaderMap,
                 ws: Upgrade| { ws::upgrade(st, Api::Token, Some(t), h, ws) },
            ),
        )
        .route(
            "/ws/token/v1",
            get(
                |State(st): State<Arc<EraState>>, h: HeaderMap, ws: Upgrade| {
                    ws::upgrade(st, Api::Token, None, h, ws)
                },
            ),
        )
        .route(
            &format!("{user_path}/{{token}}"),
            get(
                |State(st): State<Arc<EraState>>,
                 Path(t): Path<String>,
                 h: HeaderMap,
                 ws: Upgrade| { ws::upgrade(st, Api::User, Some(t), h, ws) },
            ),
        )
        .route(
            &user_path,
            get(
                |State(st): State<Arc<EraState>>, h: HeaderMap, ws: Upgrade| {
                    ws::upgrade(st, Api::User, None, h, ws)
                },
            ),
        )
        .route("/files/era/{token}/{name}", get(files::serve));
    for base in rest_routes {
        r = r
            .route(
                base,
                any(
                    |State(st): State<Arc<EraState>>, m: Method, u: Uri, h: HeaderMap, b: Bytes| {
                        rest::handle(st, m, u, None, h, b)
                    },
                ),
            )
            .route(
                &format!("{base}/{{id}}"),
                any(
                    |State(st): State<Arc<EraState>>,
                     m: Method,
                     u: Uri,
                     Path(id): Path<String>,
                     h: HeaderMap,
                     b: Bytes| { rest::handle(st, m, u, Some(id), h, b) },
                ),
            );
    }
    r.with_state(st)
}

/// The fan-out task: World events → IVR DTMF routing → `notify` frames to subscribers.
pub fn spawn(ctx: &SimContext) -> Vec<JoinHandle<()>> {
    let st = state::state(ctx);
    let mut rx = ctx.world.subscribe();
    let task = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => fan_out(&st, ev),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "era fan-out lagged behind the world")
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
    vec![task]
}

fn fan_out(st: &Arc<EraState>, ev: crate::world::WorldEvent) {
    if let WorldEventKind::Dtmf { digits } = &ev.kind {
        ivr::on_dtmf(st, &ev.call.id, digits);
    }
    let cfg = st.config();
    for r in render::render(&ev, &cfg.domain, cfg.dlg_stop_delay_ms) {
        if r.delay_ms == 0 {
            st.publish(&r);
        } else {
            let st2 = st.clone();
            tokio::spawn(async move {
                st2.ctx
                    .world
                    .clock()
                    .sleep(Duration::from_millis(r.delay_ms))
                    .await;
                st2.publish(&r);
            });
        }
    }
    if let WorldEventKind::CallEnded { .. } = ev.kind {
        ivr::on_call_ended(st, &ev.call.id);
    }
}
