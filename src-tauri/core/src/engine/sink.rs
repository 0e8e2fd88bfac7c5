//! The engine's [`EventSink`]: durably store first (the listener acknowledges only after this
//! returns), then update the live board, notify and push deltas to the UI.

use async_trait::async_trait;

use super::board::{CallPhase, Change};
use super::{lock, DesktopNotice, Engine, UiEvent};
use crate::model::{CallEvent, Direction, Outcome};
use crate::sink::{Accepted, EventSink, RawRecord, RejectedRequest, SinkError};

/// Wraps the engine for the listener.
pub struct EngineSink(pub Engine);

#[async_trait]
impl EventSink for EngineSink {
    async fn accept(&self, raw: RawRecord, events: Vec<CallEvent>) -> Result<Accepted, SinkError> {
        let accepted = self.0.inner.history.accept(raw, events.clone()).await?;
        self.0.apply_events(&events);
        if accepted.stored > 0 {
            self.0.emit(UiEvent::HistoryChanged);
            let engine = self.0.clone();
            tokio::spawn(async move { engine.callbacks_changed(&events).await });
        }
        Ok(accepted)
    }

    async fn team_message(&self, message: serde_json::Value) -> Result<(), SinkError> {
        self.0
            .team_message(message)
            .await
            .map_err(|e| SinkError::Invalid(e.to_string()))
    }

    async fn reject(&self, rejected: RejectedRequest) {
        self.0.inner.history.reject(rejected).await;
    }
}

impl Engine {
    /// Apply stored events to the live board: UI deltas, one notification per new incoming
    /// call, the missed-calls badge.
    pub(crate) fn apply_events(&self, events: &[CallEvent]) {
        let mut out = Vec::new();
        {
            let mut board = lock(&self.inner.board);
            for ev in events {
                if let Some(p) = lock(&self.inner.platforms).telphin.as_ref() {
                    p.client.apply_park_event(ev);
                }
                match board.apply(ev) {
                    Change::Appeared(c) => out.push((true, c)),
                    Change::Updated(c) => out.push((false, c)),
                    Change::None => {}
                }
            }
        }
        let notify = self.config().ui.notifications;
        for (appeared, call) in out {
            let was_live_ringing = appeared
                && call.phase == CallPhase::Ringing
                && call.direction == Direction::Inbound;
            if was_live_ringing && notify {
                let who = call
                    .from
                    .name
                    .clone()
                    .unwrap_or_else(|| call.from.number.clone());
                let mut body = call.from.number.clone();
                if let Some(did) = &call.did {
                    body.push_str(&format!(" → {did}"));
                }
                self.inner.notifier.notify(&DesktopNotice {
                    title: format!("Incoming call: {who}"),
                    body,
                    about: Some(call.key.clone()),
                });
            }
            if call.phase == CallPhase::Ended
                && call.direction == Direction::Inbound
                && call
                    .result
                    .as_ref()
                    .is_some_and(|r| r.outcome == Outcome::Missed)
                && call.answered_ms.is_none()
                && lock(&self.inner.board).mark_counted_missed(&call.key)
            {
                let n = {
                    let mut m = lock(&self.inner.missed);
                    *m += 1;
                    *m
                };
                self.emit(UiEvent::Missed(n));
            }
            self.emit(UiEvent::Call(call));
        }
    }
}
