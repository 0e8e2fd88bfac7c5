//! Notifications and pushed messages of one connection: IVR offers and stops, call events,
//! component results and DTMF.

use std::fmt::Display;

use futures_util::Sink;
use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{Link, RECENT};
use crate::era::normalize;
use crate::era::session::Op;
use crate::era::types::{EraEvent, IvrEvent};

impl<Tx, E1> Link<'_, Tx>
where
    Tx: Sink<Message, Error = E1> + Unpin,
    E1: Display,
{
    pub(super) fn seen_before(&mut self, key: String) -> bool {
        if !self.recent_set.insert(key.clone()) {
            return true;
        }
        self.recent.push_back(key);
        if self.recent.len() > RECENT {
            if let Some(old) = self.recent.pop_front() {
                self.recent_set.remove(&old);
            }
        }
        false
    }

    pub(super) async fn on_notify(
        &mut self,
        class: &str,
        kind: &str,
        eventts: Option<i64>,
        data: &Value,
    ) -> Result<(), String> {
        if let Some(id) = data.get("eventid").and_then(Value::as_str) {
            if self.seen_before(format!("{class}.{kind}:{id}")) {
                return Ok(());
            }
        }
        let now = chrono::Utc::now().timestamp_millis();
        match class {
            "ivrevents" => {
                if let Some(ev) = normalize::ivr_call_event(kind, eventts, data, now) {
                    self.sh.emit(EraEvent::Call { event: ev });
                }
                match kind {
                    "api_start" => {
                        let Some(offer) = normalize::ivr_offer(eventts, data, now) else {
                            tracing::warn!("api_start without a key ignored");
                            return Ok(());
                        };
                        let (key, ivrid) = (offer.key.clone(), offer.ivrid.clone());
                        self.sh.ivr.entry(key.clone()).or_insert_with(|| {
                            crate::era::session::IvrTrack {
                                offer: offer.clone(),
                                controlled: false,
                                busy: false,
                            }
                        });
                        self.sh.emit(EraEvent::Ivr {
                            event: IvrEvent::Offered { offer },
                        });
                        if self.sh.cfg.ivr_auto_accept {
                            let mut p = Map::new();
                            p.insert("key".into(), json!(key));
                            p.insert("ivrid".into(), json!(ivrid));
                            self.request(
                                "ivrapi_accept",
                                p,
                                Op::Accept {
                                    key,
                                    ivrid,
                                    re: false,
                                    internal: true,
                                },
                                None,
                            )
                            .await?;
                        }
                    }
                    "api_stop" => {
                        let key = data
                            .get("key")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        let ivrid = data
                            .get("ivrid")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        self.sh.ivr.remove(&key);
                        let reason = data
                            .get("reason")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        self.sh.emit(EraEvent::Ivr {
                            event: IvrEvent::Stopped { key, ivrid, reason },
                        });
                    }
                    _ => {}
                }
            }
            "callevents" | "ccsevents" => {
                for event in self.sh.calls.on_notify(class, kind, eventts, data, now) {
                    self.sh.emit(EraEvent::Call { event });
                }
            }
            other => tracing::debug!(
                class = other,
                kind,
                "era notify of an unknown class ignored"
            ),
        }
        Ok(())
    }

    pub(super) fn on_push(&mut self, name: &str, body: &Value) {
        let s = |f: &str| body.get(f).and_then(Value::as_str).map(str::to_string);
        match name {
            "ivrapi_component_stopped" => {
                let key = s("key").or_else(|| {
                    let busy: Vec<&String> = self
                        .sh
                        .ivr
                        .iter()
                        .filter(|(_, t)| t.busy)
                        .map(|(k, _)| k)
                        .collect();
                    (busy.len() == 1).then(|| busy[0].clone())
                });
                let Some(key) = key else {
                    tracing::warn!("ivrapi_component_stopped for an unknown session ignored");
                    return;
                };
                let ivrid = s("ivrid")
                    .or_else(|| self.sh.ivr.get(&key).map(|t| t.offer.ivrid.clone()))
                    .unwrap_or_default();
                if let Some(t) = self.sh.ivr.get_mut(&key) {
                    t.busy = false;
                }
                let event = IvrEvent::ComponentStopped {
                    key,
                    ivrid,
                    oid: body.get("oId").and_then(Value::as_u64),
                    transfer_key: s("transferKey").unwrap_or_default(),
                    results: body.get("results").cloned().unwrap_or(Value::Null),
                };
                self.sh.emit(EraEvent::Ivr { event });
            }
            "ivrapi_dtmf" => {
                let mode = match body.get("mode").and_then(Value::as_str) {
                    Some("component") => crate::era::types::DtmfMode::Component,
                    _ => crate::era::types::DtmfMode::Idle,
                };
                let event = IvrEvent::Dtmf {
                    key: s("key").unwrap_or_default(),
                    ivrid: s("ivrid").unwrap_or_default(),
                    mode,
                    oid: body.get("oId").and_then(Value::as_u64),
                    digit: s("dtmf").unwrap_or_default(),
                };
                self.sh.emit(EraEvent::Ivr { event });
            }
            "error" => {
                tracing::warn!(message = ?body.get("error_message"), "the platform reported an error")
            }
            other => tracing::debug!(name = other, "unknown era message ignored"),
        }
    }
}
