//! UI commands that act on calls and IVR sessions, delegated to the right provider.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{lock, Engine, EngineError, UiEvent};
use crate::era::Component;
use crate::hooks::Action;
use crate::model::{CallRef, Source};

/// An action on a call card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum CallAction {
    Answer,
    Hangup,
    Hold,
    Resume,
    Transfer {
        to: String,
        attended: bool,
    },
    Conference {
        with: String,
    },
    Dtmf {
        digits: String,
    },
    /// Park to `slot` (1–9) or the first free slot.
    Park {
        slot: Option<u8>,
    },
    /// Bridge this call with the call parked in `slot`, or a random occupied slot.
    Bridge {
        slot: Option<u8>,
    },
    Eavesdrop,
    Whisper,
    Pickup,
}

/// A command on an Era IVR session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum IvrCommand {
    Take,
    Release,
    Apply {
        component: Component,
    },
    Terminate,
    /// Fetch a temporary link to a recorded file of this session.
    FileLink {
        file: String,
    },
}

fn valid_number(n: &str) -> Result<String, EngineError> {
    let t: String = n
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')'))
        .collect();
    let ok = !t.is_empty()
        && t.len() <= 32
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'));
    if ok {
        Ok(t)
    } else {
        Err(EngineError::Invalid(format!("not a phone number: {n:?}")))
    }
}

impl Engine {
    /// Act on the call shown as card `key`.
    pub async fn call_action(&self, key: &str, action: CallAction) -> Result<(), EngineError> {
        let call = lock(&self.inner.board)
            .find(key)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchCall(key.into()))?;
        let sources: Vec<Source> = call.refs.iter().map(|r| r.source).collect();
        let prefer_telphin = matches!(
            action,
            CallAction::Park { .. }
                | CallAction::Bridge { .. }
                | CallAction::Eavesdrop
                | CallAction::Whisper
                | CallAction::Pickup
        );
        let (source, provider) = lock(&self.inner.platforms)
            .provider_for(&sources, prefer_telphin)
            .ok_or_else(|| {
                EngineError::Unavailable("no connected platform can control this call".into())
            })?;
        let mut call_ref: CallRef = call
            .ref_for(source)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchCall(key.into()))?;
        if call_ref.extension_id.is_none() {
            call_ref.extension_id = lock(&self.inner.platforms).extension();
            if source == Source::Telphin {
                call_ref.extension_id = lock(&self.inner.platforms)
                    .telphin
                    .as_ref()
                    .and_then(|t| t.client.config().extension_ids.first().cloned());
            }
        }
        let me = lock(&self.inner.platforms).extension().unwrap_or_default();
        tracing::info!(key, ?action, source = source.as_str(), "call action");
        match action {
            CallAction::Answer => provider.answer(&call_ref).await?,
            CallAction::Hangup => provider.hangup(&call_ref).await?,
            CallAction::Hold => provider.hold(&call_ref).await?,
            CallAction::Resume => provider.resume(&call_ref).await?,
            CallAction::Transfer { to, attended } => {
                let to = valid_number(&to)?;
                if attended {
                    provider.transfer_attended(&call_ref, &to).await?
                } else {
                    provider.transfer_blind(&call_ref, &to).await?
                }
            }
            CallAction::Conference { with } => {
                provider
                    .conference(&call_ref, &valid_number(&with)?)
                    .await?
            }
            CallAction::Dtmf { digits } => {
                provider
                    .send_dtmf(&call_ref, &valid_number(&digits)?)
                    .await?
            }
            CallAction::Park { slot } => {
                if let Some(s) = slot.filter(|s| !(1..=9).contains(s)) {
                    return Err(EngineError::Invalid(format!("slot {s} is not 1-9")));
                }
                let used = provider.park(&call_ref, slot).await?;
                let now = chrono::Utc::now().timestamp_millis();
                let by = call_ref.extension_id.clone().unwrap_or_else(|| me.clone());
                let changed = lock(&self.inner.board).mark_parked(&call.key, used, &by, now);
                if let Some(c) = changed {
                    self.emit(UiEvent::Call(c));
                }
            }
            CallAction::Bridge { slot } => provider.bridge(&call_ref, slot).await?,
            CallAction::Eavesdrop => provider.eavesdrop(&call_ref, &me).await?,
            CallAction::Whisper => provider.whisper(&call_ref, &me).await?,
            CallAction::Pickup => provider.pickup(&call_ref, &me).await?,
        }
        Ok(())
    }

    /// Pick up the call parked in `slot` of `extension_id`'s lot (from the slot grid): the
    /// platform bridges it to the agent's current call, or rings the agent.
    pub async fn bridge_slot(&self, extension_id: &str, slot: u8) -> Result<(), EngineError> {
        let client = lock(&self.inner.platforms)
            .telphin
            .as_ref()
            .map(|t| t.client.clone())
            .ok_or_else(|| EngineError::Unavailable("Telphin is not connected".into()))?;
        // The platform bridges a slot with a live call of the agent; use the newest live one.
        let live = lock(&self.inner.board).calls().into_iter().rev().find(|c| {
            c.is_live() && c.parked_slot.is_none() && c.ref_for(Source::Telphin).is_some()
        });
        let call = live.ok_or_else(|| {
            EngineError::Invalid(
                "bridging needs a live call of yours: dial or answer one first".into(),
            )
        })?;
        let cref = call
            .ref_for(Source::Telphin)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchCall(call.key.clone()))?;
        client
            .bridge(extension_id, &cref.call_id, Some(slot))
            .await
            .map_err(|e| EngineError::Provider(e.into()))?;
        Ok(())
    }

    /// Dial a number (click-to-call) with the first platform that can.
    pub async fn dial(&self, number: &str) -> Result<(), EngineError> {
        let number = valid_number(number)?;
        let provider = {
            let p = lock(&self.inner.platforms);
            p.provider_for(&[Source::Era, Source::Telphin], false)
        };
        let (_, provider) =
            provider.ok_or_else(|| EngineError::Unavailable("no platform is connected".into()))?;
        provider.dial(&number).await?;
        Ok(())
    }

    /// A command on an Era IVR session.
    pub async fn ivr_command(&self, key: &str, cmd: IvrCommand) -> Result<(), EngineError> {
        let session = lock(&self.inner.ivr)
            .get(key)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchIvr(key.into()))?;
        let era = lock(&self.inner.platforms)
            .era
            .as_ref()
            .map(|e| e.handle.clone())
            .ok_or_else(|| EngineError::Unavailable("Era is not connected".into()))?;
        let ivrid = session.offer.ivrid.clone();
        let unavailable = |e: crate::era::EraError| EngineError::Provider(e.into());
        match cmd {
            IvrCommand::Take => {
                let outcome = era.ivr_accept(key, &ivrid).await.map_err(unavailable)?;
                let lost = !matches!(outcome, crate::era::AcceptOutcome::Accepted);
                let changed = lock(&self.inner.ivr).update(key, |s| {
                    if lost {
                        s.state = "lost".into();
                        s.message = Some("another application took control first".into());
                    } else {
                        s.state = "controlled".into();
                    }
                });
                if let Some(s) = changed {
                    self.emit(UiEvent::Ivr(s));
                }
            }
            IvrCommand::Release => {
                era.ivr_abort(key, &ivrid).await.map_err(unavailable)?;
                if let Some(s) = lock(&self.inner.ivr).update(key, |s| {
                    s.state = "released".into();
                    s.running = None;
                }) {
                    self.emit(UiEvent::Ivr(s));
                }
            }
            IvrCommand::Apply { component } => {
                if session.state != "controlled" {
                    return Err(EngineError::Invalid(
                        "take control of the IVR session first".into(),
                    ));
                }
                era.ivr_apply(key, &ivrid, &component)
                    .await
                    .map_err(unavailable)?;
                if let Some(s) =
                    lock(&self.inner.ivr).update(key, |s| s.running = Some(component.clone()))
                {
                    self.emit(UiEvent::Ivr(s));
                }
            }
            IvrCommand::Terminate => era.ivr_terminate(key, &ivrid).await.map_err(unavailable)?,
            IvrCommand::FileLink { file } => {
                let link = era
                    .ivr_file_get_path(key, &ivrid, &file)
                    .await
                    .map_err(unavailable)?;
                if let Some(s) = lock(&self.inner.ivr).update(key, |s| {
                    if let Some(r) = s.results.iter_mut().rev().find(|r| r.file_link.is_none()) {
                        r.file_link = Some(link.url.clone());
                    }
                }) {
                    self.emit(UiEvent::Ivr(s));
                }
            }
        }
        Ok(())
    }

    /// The agent's live decision on a held Call Interactive request.
    pub fn decide_ivr(&self, id: u64, actions: Vec<Action>) -> Result<(), EngineError> {
        let l = lock(&self.inner.listener);
        let l = l
            .as_ref()
            .ok_or_else(|| EngineError::Unavailable("the listener is not running".into()))?;
        l.decide(id, actions)
            .map_err(|e| EngineError::Invalid(e.to_string()))
    }
}

/// What a global shortcut asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Answer the newest ringing incoming call.
    Answer,
    /// Hang up the newest active (or held, or ringing) call.
    Hangup,
    /// Focus the dial box.
    Dial,
}

impl Engine {
    /// Handle a global shortcut. Returns the board key acted on, if any.
    pub async fn shortcut(&self, which: Shortcut) -> Result<Option<String>, EngineError> {
        use super::board::CallPhase;
        let calls = lock(&self.inner.board).calls();
        let controllable = |c: &&super::board::CallView| {
            c.refs
                .iter()
                .any(|r| matches!(r.source, Source::Era | Source::Telphin))
        };
        let target = match which {
            Shortcut::Dial => {
                self.emit(UiEvent::Dial(String::new()));
                return Ok(None);
            }
            Shortcut::Answer => calls.iter().rev().filter(controllable).find(|c| {
                c.phase == CallPhase::Ringing && c.direction == crate::model::Direction::Inbound
            }),
            Shortcut::Hangup => calls
                .iter()
                .rev()
                .filter(controllable)
                .find(|c| matches!(c.phase, CallPhase::Active | CallPhase::Held))
                .or_else(|| {
                    calls
                        .iter()
                        .rev()
                        .filter(controllable)
                        .find(|c| c.phase == CallPhase::Ringing)
                }),
        };
        let Some(call) = target else { return Ok(None) };
        let action = if which == Shortcut::Answer {
            CallAction::Answer
        } else {
            CallAction::Hangup
        };
        self.call_action(&call.key, action).await?;
        Ok(Some(call.key.clone()))
    }
}
