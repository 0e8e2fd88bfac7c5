//! Delivery: one ordered queue to the configured URL, retries with backoff on non-2xx and on
//! network errors, duplicate copies, and per-call reordering.
//!
//! - Duplicates: each hook is sent `1 + duplicates` times (config plus the
//!   `webhook_duplicates` fault), one copy right after the other.
//! - Reorder (config or the `webhook_reorder` fault): a call's hooks are held back until its
//!   last hook (or `reorder_max_hold_ms`, or the switch going off) and then sent newest first.
//! - Retry: an attempt that fails (non-2xx, refused, timed out) is retried after
//!   `retry_backoff_ms` (simulated), doubling up to `max_backoff_ms`, at most `max_attempts`
//!   attempts in all. Later hooks wait, so order is kept.
//!
//! Every attempt is journalled on `Channel::Webhook`: `Out` with the JSON sent, `In` with the
//! reply status and body (or the error).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use super::render::{render, Hook};
use super::WebhookSimConfig;
use crate::journal::{Channel, Dir};
use crate::world::WorldEvent;
use crate::SimContext;

/// What became of one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    pub attempts: u32,
    /// Status of the last attempt, `None` if it never got a reply.
    pub status: Option<u16>,
    pub delivered: bool,
}

/// POST `json` to `url`, retrying per the config; everything journalled under `label`.
pub async fn post_with_retry(
    ctx: &SimContext,
    http: &reqwest::Client,
    cfg: &WebhookSimConfig,
    url: &str,
    label: &str,
    json: &str,
) -> DeliveryResult {
    let max = cfg.max_attempts.max(1);
    let mut backoff = Duration::from_millis(cfg.retry_backoff_ms);
    let mut status = None;
    for attempt in 1..=max {
        ctx.journal.record(
            Channel::Webhook,
            Dir::Out,
            format!("{label} POST {url} attempt {attempt}"),
            json,
        );
        let sent = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json.to_string())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let s = resp.status().as_u16();
                status = Some(s);
                let text = resp.text().await.unwrap_or_default();
                ctx.journal
                    .record(Channel::Webhook, Dir::In, format!("{s} {label}"), text);
                if (200..300).contains(&s) {
                    return DeliveryResult {
                        attempts: attempt,
                        status,
                        delivered: true,
                    };
                }
            }
            Err(e) => {
                status = None;
                ctx.journal.record(
                    Channel::Webhook,
                    Dir::In,
                    format!("error {label}"),
                    e.to_string(),
                );
            }
        }
        if attempt < max {
            ctx.world.clock().sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(
                cfg.max_backoff_ms.max(cfg.retry_backoff_ms),
            ));
        }
    }
    tracing::warn!(hook = label, %url, attempts = max, "webhook not delivered");
    DeliveryResult {
        attempts: max,
        status,
        delivered: false,
    }
}

/// Calls whose hooks are being held back for reordering.
#[derive(Default)]
struct Batches {
    held: HashMap<String, (Instant, Vec<Hook>)>,
}

impl Batches {
    fn hold(&mut self, hook: Hook) {
        self.held
            .entry(hook.call_id.clone())
            .or_insert_with(|| (Instant::now(), Vec::new()))
            .1
            .push(hook);
    }

    /// The held hooks of `call_id`, newest first.
    fn release(&mut self, call_id: &str) -> Vec<Hook> {
        let mut hooks = self
            .held
            .remove(call_id)
            .map(|(_, h)| h)
            .unwrap_or_default();
        hooks.reverse();
        hooks
    }

    /// Batches held longer than `max` (or all), each newest first.
    fn expired(&mut self, max: Option<Duration>) -> Vec<Hook> {
        let ids: Vec<String> = self
            .held
            .iter()
            .filter(|(_, (since, _))| max.is_none_or(|m| since.elapsed() >= m))
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter().flat_map(|id| self.release(id)).collect()
    }
}

/// Render World events into hooks and feed the sender, applying duplicates and reordering.
pub(crate) async fn dispatch(
    ctx: SimContext,
    cfg: WebhookSimConfig,
    tz: chrono_tz::Tz,
    mut rx: broadcast::Receiver<WorldEvent>,
    tx: mpsc::UnboundedSender<Hook>,
) {
    let mut batches = Batches::default();
    let hold = Duration::from_millis(cfg.reorder_max_hold_ms);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let send = |hooks: Vec<Hook>| {
        let copies = 1 + cfg
            .duplicates
            .saturating_add(ctx.faults.webhook_duplicates());
        for h in hooks {
            for _ in 0..copies {
                let _ = tx.send(h.clone());
            }
        }
    };
    let reordering = || cfg.reorder || ctx.faults.webhook_reorder();
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = tick.tick() => {
                let max = if reordering() { Some(hold) } else { None };
                send(batches.expired(max));
                continue;
            }
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "webhook sender lagged behind the World");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => {
                send(batches.expired(None));
                return;
            }
        };
        let reorder = reordering();
        for hook in render(&ev, &cfg, tz) {
            if reorder {
                let (id, terminal) = (hook.call_id.clone(), hook.terminal);
                batches.hold(hook);
                if terminal {
                    send(batches.release(&id));
                }
            } else {
                // Hooks held while reordering was on go first (newest first), then this one.
                let mut out = batches.release(&hook.call_id);
                out.push(hook);
                send(out);
            }
        }
    }
}

/// Send queued hooks one at a time, in order.
pub(crate) async fn send_queue(
    ctx: SimContext,
    cfg: WebhookSimConfig,
    http: reqwest::Client,
    url: String,
    mut rx: mpsc::UnboundedReceiver<Hook>,
) {
    while let Some(hook) = rx.recv().await {
        post_with_retry(&ctx, &http, &cfg, &url, hook.hook_type(), &hook.json()).await;
    }
}
