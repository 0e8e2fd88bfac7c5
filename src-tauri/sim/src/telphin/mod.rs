//! Telphin front-end of the simulator (seeds 000 and 001, protocols.md §2).
//!
//! Routes (all on the shared server):
//! - `POST /oauth/token` — client_credentials → bearer token ([`auth`]);
//! - `/api/ver1.0/…` — bearer-protected REST: `user`, extensions, `current_calls` listing and
//!   control, hang-up, click-to-call, valet parking, extension event subscriptions.
//!   `/client/{client_id}/…` accepts `@me` for the client id. Trailing slashes are optional.
//!
//! Background work ([`spawn`]): World changes become extension events delivered to the
//! subscribed URLs; with `call_interactive.auto_start`, calls answered by the IVR extension
//! start a Call Interactive session ([`start_call_interactive`]).
//!
//! Every request and reply is journalled (`TelphinRest`, `TelphinEvent`, `CallInteractive`);
//! the REST faults (`rest_status`, `rest_delay_ms`) apply to every route here, and
//! `webhook_duplicates` repeats event deliveries.

mod auth;
mod calls;
mod config;
mod events;
mod http;
pub mod interactive;
mod state;
mod subscriptions;
mod valet;
mod world_ops;

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put, MethodRouter};
use axum::Router;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub use auth::revoke_tokens;
pub use config::{CiOption, CiSimConfig, ExtType, SimExtension, TelphinSimConfig};
pub use interactive::{
    press_ci_digits, start_call_interactive, CiAction, CiEnd, CiOutcome, CiReply, CiRequest,
};
pub use subscriptions::EVENT_TYPES;
pub use world_ops::answer_leg;

use crate::world::{Extension, WorldEvent, WorldEventKind};
use crate::SimContext;
use http::Api;

/// The API path prefix.
pub const API_PREFIX: &str = "/api/ver1.0";

/// Register `path` with and without its trailing slash.
fn both(router: Router<Api>, path: &str, method: MethodRouter<Api>) -> Router<Api> {
    let alt = match path.strip_suffix('/') {
        Some(p) => p.to_string(),
        None => format!("{path}/"),
    };
    router.route(path, method.clone()).route(&alt, method)
}

/// The Telphin routes.
pub fn router(ctx: &SimContext) -> Router {
    install_extensions(ctx);
    let api = Api {
        ctx: ctx.clone(),
        st: state::state_for(ctx),
    };
    let p = |s: &str| format!("{API_PREFIX}{s}");
    let mut r: Router<Api> = Router::new();
    r = both(r, &p("/user/"), get(auth::user));
    r = both(
        r,
        &p("/client/{client_id}/current_calls/"),
        get(calls::client_calls),
    );
    r = both(
        r,
        &p("/client/{client_id}/extension/"),
        get(calls::extension_list),
    );
    r = both(r, &p("/extension/{ext}/"), get(calls::extension_info));
    r = both(
        r,
        &p("/extension/{ext}/current_calls/"),
        get(calls::extension_calls),
    );
    r = both(
        r,
        &p("/extension/{ext}/current_calls/{call_api_id}"),
        put(calls::control).delete(calls::hangup),
    );
    r = both(
        r,
        &p("/extension/{ext}/valet_park/{call_api_id}"),
        put(valet::valet_park),
    );
    r = both(r, &p("/extension/{ext}/callback/"), post(calls::callback));
    r = both(
        r,
        &p("/extension/{ext}/event/"),
        get(subscriptions::list)
            .post(subscriptions::create)
            .delete(subscriptions::delete_all),
    );
    r = both(
        r,
        &p("/extension/{ext}/event/{id}"),
        get(subscriptions::get_one)
            .put(subscriptions::update)
            .delete(subscriptions::delete_one),
    );
    let protected = r.route_layer(from_fn_with_state(api.clone(), http::require_token));
    let oauth: Router<Api> = Router::new().route("/oauth/token", post(auth::token));
    oauth
        .merge(protected)
        .route_layer(from_fn_with_state(api.clone(), http::journal_and_faults))
        .with_state(api)
}

/// Event delivery and, if configured, Call Interactive auto-start.
pub fn spawn(ctx: &SimContext) -> Vec<JoinHandle<()>> {
    let st = state::state_for(ctx);
    let mut tasks = vec![events::spawn_delivery(ctx, &st, ctx.world.subscribe())];
    let ci = &ctx.config.telphin.call_interactive;
    if ci.auto_start && ci.url.is_some() {
        tasks.push(spawn_ci_auto_start(ctx, ctx.world.subscribe()));
    }
    tasks
}

/// Add the configured extensions; with none configured and an empty World, the demo directory.
fn install_extensions(ctx: &SimContext) {
    let cfg = &ctx.config.telphin;
    if cfg.extensions.is_empty() {
        if ctx.world.extensions().is_empty() {
            ctx.world.install_demo_directory();
        }
        return;
    }
    for e in &cfg.extensions {
        ctx.world.add_extension(Extension {
            id: e.id.clone(),
            number: e.number.clone(),
            sip_name: format!("{}*{}@{}", cfg.prefix, e.number, cfg.domain),
            name: e.name.clone(),
            kind: e.kind.to_world(),
        });
    }
}

/// Start Call Interactive whenever the configured IVR extension answers a call.
fn spawn_ci_auto_start(
    ctx: &SimContext,
    mut rx: broadcast::Receiver<WorldEvent>,
) -> JoinHandle<()> {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let ci = ctx.config.telphin.call_interactive.clone();
        let Some(url) = ci.url.clone() else { return };
        loop {
            let ev = match rx.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if let WorldEventKind::LegAnswered { target, .. } = &ev.kind {
                let is_ivr = ctx
                    .world
                    .extension(&ci.ivr_extension_id)
                    .is_some_and(|e| &e.number == target || &e.id == target);
                if is_ivr {
                    drop(start_call_interactive(
                        &ctx,
                        &ev.call.id,
                        &ci.ivr_extension_id,
                        &url,
                        &ci.method,
                    ));
                }
            }
        }
    })
}
