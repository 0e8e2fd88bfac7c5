//! Subscriptions of one connection and keeping the calls right around them: lifetimes granted
//! and renewed, lapses noticed (a renewal late or refused), IVR control re-taken and the calls
//! reconciled over REST after a (re)connect or a lapse.

use std::fmt::Display;
use std::time::Duration;

use futures_util::Sink;
use serde_json::{json, Map, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{Link, CLASSES};
use crate::era::error::EraError;
use crate::era::session::Op;
use crate::era::types::EraEvent;
use crate::model::ConnectionState;

impl<Tx, E1> Link<'_, Tx>
where
    Tx: Sink<Message, Error = E1> + Unpin,
    E1: Display,
{
    /// Renew the subscriptions whose time has come (same id, `expires` only). A renewal due
    /// after the subscription already ran out means the process did not run: events may be lost.
    pub(super) async fn renew_due(&mut self, now: Instant) -> Result<(), String> {
        for (idx, class) in CLASSES.iter().enumerate() {
            if self.renew_at[idx].is_some_and(|t| t <= now) {
                self.renew_at[idx] = None;
                if self.lapse_at[idx].is_some_and(|t| t <= now) {
                    self.begin_resync(class, "renewal due after the subscription ran out");
                }
                let mut params = Map::new();
                params.insert("id".into(), json!(self.sh.sub_ids[idx]));
                params.insert("expires".into(), json!(self.sh.cfg.expires_secs));
                self.request("subscribe", params, Op::Renew { idx }, None)
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) fn subscribe_params(&self, idx: usize, expires: u64) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("id".into(), json!(self.sh.sub_ids[idx]));
        p.insert("events".into(), json!([CLASSES[idx]]));
        p.insert("objects".into(), json!(self.sh.cfg.subscription_objects()));
        p.insert("expires".into(), json!(expires));
        p
    }

    /// The lifetime the platform granted (the `expires` of the result, which may be shorter
    /// than asked), or the configured one if it says nothing.
    fn granted(&self, result: &Value) -> Duration {
        let asked = self.sh.cfg.expires_secs;
        let granted = result
            .get("expires")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .filter(|g| *g > 0)
            .map_or(asked, |g| g.min(asked));
        Duration::from_secs(granted)
    }

    /// A subscription was confirmed: renew it at 80 % of its granted lifetime.
    pub(super) fn confirmed(&mut self, idx: usize, result: &Value) {
        let now = Instant::now();
        let lifetime = self.granted(result);
        self.subscribed[idx] = true;
        self.renew_at[idx] = Some(now + (lifetime * 4 / 5).max(Duration::from_millis(1)));
        self.lapse_at[idx] = Some(now + lifetime);
    }

    /// Events may have been missed while the subscriptions were not in force: remember to
    /// reconcile the calls once all three are confirmed again. Calls seen from now on are newer
    /// than that call list.
    pub(super) fn begin_resync(&mut self, class: &str, why: &str) {
        if !self.resync {
            tracing::warn!(
                class,
                why,
                "era subscriptions may have lapsed; the calls will be reconciled"
            );
            self.resync = true;
            self.sh.calls.new_generation();
        }
    }

    /// After a lapse, once every subscription is confirmed again and none is being
    /// re-requested: fetch the call list.
    pub(super) fn finish_resync(&mut self) {
        let busy = self
            .pending
            .values()
            .any(|p| matches!(p.op, Op::Subscribe { .. } | Op::Renew { .. }));
        if self.resync && self.connected && !busy && self.subscribed.iter().all(|s| *s) {
            self.resync = false;
            tracing::info!("era subscriptions in force again; reconciling the calls");
            self.spawn_reconcile();
        }
    }

    /// All subscriptions confirmed: connected; re-take IVR control; reconcile calls.
    pub(super) async fn on_subscribed(&mut self) -> Result<(), String> {
        self.connected = true;
        let since_ms = chrono::Utc::now().timestamp_millis();
        self.sh
            .state
            .send_replace(ConnectionState::Connected { since_ms });
        let controlled: Vec<(String, String)> = self
            .sh
            .ivr
            .values()
            .filter(|t| t.controlled)
            .map(|t| (t.offer.key.clone(), t.offer.ivrid.clone()))
            .collect();
        for (key, ivrid) in controlled {
            let mut p = Map::new();
            p.insert("key".into(), json!(key));
            p.insert("ivrid".into(), json!(ivrid));
            self.request(
                "ivrapi_reaccept",
                p,
                Op::Accept {
                    key,
                    ivrid,
                    re: true,
                    internal: true,
                },
                None,
            )
            .await?;
        }
        self.spawn_reconcile();
        Ok(())
    }

    /// Fetch the active calls over REST (retried with backoff); the answer comes back through
    /// `rec_tx` to [`Self::on_reconcile`].
    fn spawn_reconcile(&self) {
        if self.sh.cfg.reconcile_on_connect {
            if let Some(rest) = self.sh.rest.clone() {
                let tx = self.rec_tx.clone();
                tokio::spawn(async move {
                    // Retry a failed reconciliation (REST 5xx, a dead pooled connection after a
                    // network stall) with backoff; calls must not stay wrong until the next drop.
                    let mut delay = std::time::Duration::from_millis(500);
                    let mut result = rest.list_calls().await;
                    for _ in 0..6 {
                        if result.is_ok() || tx.is_closed() {
                            break;
                        }
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(std::time::Duration::from_secs(10));
                        result = rest.list_calls().await;
                    }
                    let _ = tx.send(result).await;
                });
            }
        }
    }

    pub(super) fn on_reconcile(&mut self, r: Result<Vec<Value>, EraError>) {
        match r {
            Ok(list) => {
                let now = chrono::Utc::now().timestamp_millis();
                for event in self.sh.calls.reconcile(&list, now) {
                    self.sh.emit(EraEvent::Call { event });
                }
            }
            Err(e) => tracing::warn!(error = %e, "era call reconciliation failed"),
        }
    }
}
