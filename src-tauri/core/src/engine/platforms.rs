//! Starting the listener and the platform clients, and pumping their events into the engine.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::board::CallPhase;
use super::view::{ConnectionView, IvrSessionView};
use super::{lock, DesktopNotice, Engine, EngineSink, Platform, UiEvent};
use crate::era::{EraConfig, EraEvent, EraHandle, EraProvider, IvrEvent};
use crate::error::Coded;
use crate::hooks::Listener;
use crate::model::{ConnectionState, Source};
use crate::provider::{Capabilities, Provider};
use crate::sink::{EventSink, RawRecord};
use crate::telphin::{ParkBoardSnapshot, TelphinClient, TelphinConfig, TelphinProvider};

/// How many Era frames the inspector keeps.
const FRAME_RING: usize = 300;

pub(crate) struct EraPlatform {
    pub handle: EraHandle,
    pub provider: Arc<EraProvider>,
    pub pump: tokio::task::JoinHandle<()>,
    pub state_pump: tokio::task::JoinHandle<()>,
}

pub(crate) struct TelphinPlatform {
    pub client: TelphinClient,
    pub provider: Arc<TelphinProvider>,
    pub pump: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
pub(crate) struct Platforms {
    pub era: Option<EraPlatform>,
    pub telphin: Option<TelphinPlatform>,
    /// The last Era frames, for the inspector (token masked by the client).
    pub frames: VecDeque<serde_json::Value>,
}

impl Platforms {
    pub fn park_snapshot(&self) -> ParkBoardSnapshot {
        match &self.telphin {
            Some(t) => t.client.park_board(),
            None => ParkBoardSnapshot::empty(180),
        }
    }

    /// Union of the connected platforms' capabilities.
    pub fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        for p in [
            self.era.as_ref().map(|e| e.provider.capabilities()),
            self.telphin.as_ref().map(|t| t.provider.capabilities()),
        ]
        .into_iter()
        .flatten()
        {
            c.dial |= p.dial;
            c.answer |= p.answer;
            c.hangup |= p.hangup;
            c.hold |= p.hold;
            c.transfer_blind |= p.transfer_blind;
            c.transfer_attended |= p.transfer_attended;
            c.conference |= p.conference;
            c.dtmf |= p.dtmf;
            c.park |= p.park;
            c.ivr_control |= p.ivr_control;
            c.recordings |= p.recordings;
            c.eavesdrop |= p.eavesdrop;
            c.whisper |= p.whisper;
            c.pickup |= p.pickup;
        }
        c
    }

    /// The agent's Telphin extension id (its parking lot), when Telphin is connected.
    pub fn extension_id(&self) -> Option<String> {
        self.telphin
            .as_ref()
            .and_then(|t| t.client.config().extension_ids.first().cloned())
    }

    pub fn extension(&self) -> Option<String> {
        self.era
            .as_ref()
            .map(|e| e.handle.config().extension.clone())
            .filter(|e| !e.is_empty())
            .or_else(|| {
                self.telphin
                    .as_ref()
                    .and_then(|t| t.client.config().extension_ids.first().cloned())
            })
    }

    /// The provider that should act on a call reported by `sources`, for an operation.
    pub fn provider_for(
        &self,
        sources: &[Source],
        prefer_telphin: bool,
    ) -> Option<(Source, Arc<dyn Provider>)> {
        let era = self
            .era
            .as_ref()
            .filter(|_| sources.contains(&Source::Era))
            .map(|e| (Source::Era, e.provider.clone() as Arc<dyn Provider>));
        let telphin = self
            .telphin
            .as_ref()
            .filter(|_| sources.contains(&Source::Telphin))
            .map(|t| (Source::Telphin, t.provider.clone() as Arc<dyn Provider>));
        if prefer_telphin {
            telphin.or(era)
        } else {
            era.or(telphin)
        }
    }
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            u.set_query(None);
            let path: Vec<String> = u
                .path_segments()
                .map(|s| {
                    s.map(|p| {
                        if p.len() >= 16 {
                            "***".to_string()
                        } else {
                            p.to_string()
                        }
                    })
                    .collect()
                })
                .unwrap_or_default();
            u.set_path(&path.join("/"));
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

impl Engine {
    pub(crate) async fn start_listener(&self) {
        let cfg = self.config().listener;
        if !cfg.enabled {
            self.set_connection(Platform::Listener, ConnectionState::Disabled, String::new());
            return;
        }
        let sink: Arc<dyn EventSink> = Arc::new(EngineSink(self.clone()));
        match Listener::start(cfg, sink).await {
            Ok(handle) => {
                let addr = handle.local_addr();
                tracing::info!(%addr, "webhook listener started");
                let mut decisions = handle.pending_decisions();
                *lock(&self.inner.listener) = Some(handle);
                self.set_connection(
                    Platform::Listener,
                    ConnectionState::Connected {
                        since_ms: chrono::Utc::now().timestamp_millis(),
                    },
                    format!("http://{addr}"),
                );
                let engine = self.clone();
                let task = tokio::spawn(async move {
                    while decisions.changed().await.is_ok() {
                        let list = decisions.borrow_and_update().clone();
                        if !list.is_empty() && engine.config().ui.notifications {
                            engine.inner.notifier.notify(&DesktopNotice {
                                title: "IVR request waiting for a decision".into(),
                                body: list
                                    .iter()
                                    .map(|d| d.request.caller_id_num.clone().unwrap_or_default())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                about: None,
                            });
                        }
                        engine.emit(UiEvent::Decisions(list));
                    }
                });
                lock(&self.inner.tasks).push(task);
            }
            Err(e) => {
                tracing::error!(error = %e, "webhook listener did not start");
                self.set_connection(
                    Platform::Listener,
                    ConnectionState::Failed {
                        reason: e.to_string(),
                    },
                    String::new(),
                );
            }
        }
    }

    /// (Re)start the platform clients with these configurations (disabled ones are stopped).
    pub async fn connect_platforms(&self, era: EraConfig, telphin: TelphinConfig) {
        let (old_era, old_telphin) = {
            let mut p = lock(&self.inner.platforms);
            (p.era.take(), p.telphin.take())
        };
        if let Some(e) = old_era {
            e.pump.abort();
            e.state_pump.abort();
            let _ = e.handle.shutdown().await;
        }
        if let Some(t) = old_telphin {
            t.pump.abort();
        }
        match self.inner.loaded.write() {
            Ok(mut l) => {
                l.config.era = era.clone();
                l.config.telphin = telphin.clone();
            }
            Err(p) => {
                let mut l = p.into_inner();
                l.config.era = era.clone();
                l.config.telphin = telphin.clone();
            }
        }
        self.start_era(era);
        self.start_telphin(telphin).await;
    }

    fn start_era(&self, cfg: EraConfig) {
        if !cfg.enabled {
            self.set_connection(Platform::Era, ConnectionState::Disabled, String::new());
            return;
        }
        let detail = redact(&cfg.url);
        let (handle, mut events) = match crate::era::start(cfg) {
            Ok(x) => x,
            Err(e) => {
                self.set_connection(
                    Platform::Era,
                    ConnectionState::Failed {
                        reason: e.to_string(),
                    },
                    detail,
                );
                return;
            }
        };
        let provider = match EraProvider::new(&handle) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                self.set_connection(
                    Platform::Era,
                    ConnectionState::Failed {
                        reason: e.to_string(),
                    },
                    detail,
                );
                return;
            }
        };
        let engine = self.clone();
        let mut state = handle.state();
        let d = detail.clone();
        let state_pump = tokio::spawn(async move {
            loop {
                let s = state.borrow_and_update().clone();
                engine.set_connection(Platform::Era, s, d.clone());
                if state.changed().await.is_err() {
                    break;
                }
            }
        });
        let engine = self.clone();
        let pump = tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                engine.on_era_event(ev).await;
            }
        });
        lock(&self.inner.platforms).era = Some(EraPlatform {
            handle,
            provider,
            pump,
            state_pump,
        });
    }

    async fn on_era_event(&self, ev: EraEvent) {
        match ev {
            EraEvent::Call { event } => {
                let raw = RawRecord {
                    source: Source::Era,
                    received_ms: chrono::Utc::now().timestamp_millis(),
                    what: "notify".into(),
                    body: serde_json::to_string(&event.kind).unwrap_or_default(),
                };
                match self.inner.history.accept(raw, vec![event.clone()]).await {
                    Ok(a) if a.stored > 0 => self.emit(UiEvent::HistoryChanged),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "Era event not stored"),
                }
                self.apply_events(&[event]);
            }
            EraEvent::Ivr { event } => self.on_ivr_event(event),
            EraEvent::Frame { dir, text } => {
                let mut p = lock(&self.inner.platforms);
                if p.frames.len() >= FRAME_RING {
                    p.frames.pop_front();
                }
                p.frames.push_back(serde_json::json!({
                    "at_ms": chrono::Utc::now().timestamp_millis(),
                    "dir": dir,
                    "text": text,
                }));
            }
        }
    }

    fn on_ivr_event(&self, ev: IvrEvent) {
        let offered = matches!(ev, IvrEvent::Offered { .. });
        let changed: Option<IvrSessionView> = lock(&self.inner.ivr).apply(&ev);
        if let Some(s) = changed {
            if offered && self.config().ui.notifications {
                self.inner.notifier.notify(&DesktopNotice {
                    title: "IVR session offers control".into(),
                    body: s.offer.caller.clone().unwrap_or_default(),
                    about: Some(s.key.clone()),
                });
            }
            self.emit(UiEvent::Ivr(s));
        }
        for gone in lock(&self.inner.ivr).prune(20) {
            self.emit(UiEvent::IvrRemoved(gone));
        }
    }

    async fn start_telphin(&self, mut cfg: TelphinConfig) {
        if !cfg.enabled {
            self.set_connection(Platform::Telphin, ConnectionState::Disabled, String::new());
            return;
        }
        let detail = redact(&cfg.host);
        if cfg.events_url.is_empty() {
            if let Some(urls) = lock(&self.inner.listener).as_ref().map(|l| l.urls()) {
                cfg.events_url = urls.telphin;
            }
        }
        let client = match TelphinClient::new(cfg.clone()) {
            Ok(c) => c,
            Err(e) => {
                self.set_connection(
                    Platform::Telphin,
                    ConnectionState::Failed {
                        reason: e.to_string(),
                    },
                    detail,
                );
                return;
            }
        };
        self.set_connection(
            Platform::Telphin,
            ConnectionState::Connecting { attempt: 1 },
            detail.clone(),
        );
        let provider = Arc::new(TelphinProvider::new(client.clone()));
        let engine = self.clone();
        let c2 = client.clone();
        let pump = tokio::spawn(async move {
            // Authenticate and make sure our event subscriptions exist; retry with backoff.
            let mut attempt = 1u32;
            loop {
                let r = match c2.access_token().await {
                    Ok(_) if !cfg.events_url.is_empty() => c2
                        .ensure_subscriptions(&cfg.events_url, cfg.events_method)
                        .await
                        .map(|_| ()),
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                };
                match r {
                    Ok(()) => {
                        engine.set_connection(
                            Platform::Telphin,
                            ConnectionState::Connected {
                                since_ms: chrono::Utc::now().timestamp_millis(),
                            },
                            detail.clone(),
                        );
                        break;
                    }
                    Err(e) => {
                        let delay = crate::era::backoff_delay(attempt, 1000, 30_000);
                        let reason = e.to_string();
                        let auth = matches!(e.code(), crate::error::Code::Auth);
                        if auth {
                            engine.set_connection(
                                Platform::Telphin,
                                ConnectionState::Failed { reason },
                                detail.clone(),
                            );
                            return;
                        }
                        engine.set_connection(
                            Platform::Telphin,
                            ConnectionState::BackingOff {
                                attempt,
                                next_attempt_ms: chrono::Utc::now().timestamp_millis()
                                    + delay.as_millis() as i64,
                                reason,
                            },
                            detail.clone(),
                        );
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                }
            }
            // Push park-board changes to the UI.
            let mut board = c2.watch_park_board();
            loop {
                let snap = board.borrow_and_update().clone();
                engine.emit(UiEvent::Park(snap));
                if board.changed().await.is_err() {
                    break;
                }
            }
        });
        lock(&self.inner.platforms).telphin = Some(TelphinPlatform {
            client,
            provider,
            pump,
        });
    }

    /// Periodic work: drop ended calls from the board, park-return warnings, history retention.
    pub(crate) fn spawn_housekeeping(&self) {
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut warned: std::collections::HashSet<(String, u8, i64)> = Default::default();
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                n += 1;
                let now = chrono::Utc::now().timestamp_millis();
                let gone = lock(&engine.inner.board).sweep_ended(now - 15_000);
                for k in gone {
                    engine.emit(UiEvent::CallRemoved(k));
                }
                let warn_secs = i64::from(engine.config().ui.park_warning_secs);
                let park = lock(&engine.inner.platforms).park_snapshot();
                let own = lock(&engine.inner.platforms).extension_id();
                let timeout_ms = park.timeout_secs as i64 * 1000;
                let changed = lock(&engine.inner.board).unpark_vanished(now, timeout_ms, |slot| {
                    park.slots.iter().any(|p| {
                        p.slot == slot && own.as_deref().is_none_or(|o| p.extension_id == o)
                    })
                });
                for c in changed {
                    engine.emit(UiEvent::Call(c));
                }
                for s in &park.slots {
                    if let Some(at) = s.returns_at_ms {
                        let key = (s.extension_id.clone(), s.slot, at);
                        if at - now <= warn_secs * 1000 && at > now && warned.insert(key) {
                            engine.emit(UiEvent::Park(park.clone()));
                            if engine.config().ui.notifications {
                                engine.inner.notifier.notify(&DesktopNotice {
                                    title: format!("Parked call in slot {} returns soon", s.slot),
                                    body: format!("{} s left", (at - now) / 1000),
                                    about: None,
                                });
                            }
                        }
                    }
                }
                if n % 3600 == 1 {
                    if let Err(e) = engine.inner.history.apply_retention().await {
                        tracing::warn!(error = %e, "history retention");
                    }
                }
                let live_parked = lock(&engine.inner.board)
                    .calls()
                    .iter()
                    .filter(|c| c.phase == CallPhase::Parked)
                    .count();
                tracing::trace!(live_parked, "housekeeping");
            }
        });
        lock(&self.inner.tasks).push(task);
    }

    /// Inspector data: listener exchanges, rejected requests and the last Era frames.
    pub fn inspector(&self) -> serde_json::Value {
        let (entries, rejected) = match lock(&self.inner.listener).as_ref() {
            Some(l) => (l.inspector().entries(), l.rejected()),
            None => (Vec::new(), Vec::new()),
        };
        let frames: Vec<serde_json::Value> =
            lock(&self.inner.platforms).frames.iter().cloned().collect();
        serde_json::json!({ "requests": entries, "rejected": rejected, "frames": frames })
    }

    /// Connections as last seen.
    pub fn connections(&self) -> Vec<ConnectionView> {
        lock(&self.inner.connections).clone()
    }

    /// Manual retry of a platform connection.
    pub async fn retry(&self, platform: Platform) -> Result<(), super::EngineError> {
        match platform {
            Platform::Era => {
                let handle = lock(&self.inner.platforms)
                    .era
                    .as_ref()
                    .map(|e| e.handle.clone());
                match handle {
                    Some(h) => h
                        .reconnect()
                        .await
                        .map_err(|e| super::EngineError::Unavailable(e.to_string())),
                    None => {
                        let cfg = self.config();
                        self.start_era(cfg.era);
                        Ok(())
                    }
                }
            }
            Platform::Telphin => {
                let cfg = self.config().telphin;
                let old = lock(&self.inner.platforms).telphin.take();
                if let Some(t) = old {
                    t.pump.abort();
                }
                self.start_telphin(cfg).await;
                Ok(())
            }
            Platform::Listener => Err(super::EngineError::Invalid(
                "the listener restarts with the app".into(),
            )),
        }
    }
}
