//! The supervisor's team view: park slots of every team extension, the team's live calls, and
//! eavesdrop / whisper / conference-in / pickup on them (Telphin current-call actions).
//!
//! The view refreshes on a timer (`team.refresh_secs`) and whenever a park event arrives; the
//! park board itself counts down to each slot's 3-minute return.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{lock, Engine, EngineError, UiEvent};
use crate::config::Role;
use crate::telphin::{CallAction as TelphinAction, CurrentCall, ParkBoardSnapshot};

/// What a supervisor sees of the team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TeamView {
    /// Team extension ids (Telphin).
    pub extensions: Vec<String>,
    /// Occupied park slots of every team extension.
    pub park: ParkBoardSnapshot,
    /// Live calls of the team (client scope, filtered to team extensions when configured).
    pub calls: Vec<CurrentCall>,
    /// Time of the last successful refresh, ms since the epoch.
    #[ts(type = "number | null")]
    pub refreshed_ms: Option<i64>,
    /// Why the last refresh failed, if it did.
    pub error: Option<String>,
}

/// A supervisor action on a team call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TeamAction {
    Eavesdrop,
    Whisper,
    Conference,
    Pickup,
}

impl Engine {
    fn team_extensions(&self) -> Vec<String> {
        let cfg = self.config();
        let mut exts = cfg.team.extensions.clone();
        if exts.is_empty() {
            exts = cfg.telphin.extension_ids.clone();
        }
        exts
    }

    /// Refresh the team view from the platform (slots per extension, client-scope calls).
    pub async fn team_refresh(&self) -> Result<TeamView, EngineError> {
        let client = lock(&self.inner.platforms)
            .telphin
            .as_ref()
            .map(|t| t.client.clone())
            .ok_or_else(|| EngineError::Unavailable("Telphin is not connected".into()))?;
        let exts = self.team_extensions();
        let result: Result<Vec<CurrentCall>, crate::telphin::TelphinError> = async {
            let calls = client.client_calls().await?;
            for ext in &exts {
                // The slots resource hangs off a call; any current call of the extension
                // will do, otherwise "0" (accepted for `slots` queries).
                let via = calls
                    .iter()
                    .find(|c| c.extension_id.as_deref() == Some(ext.as_str()))
                    .map(|c| c.call_api_id.clone())
                    .unwrap_or_else(|| "0".into());
                let free = client.free_slots(ext, &via).await?;
                for slot in (1..=9u8).filter(|n| !free.contains(n)) {
                    client.slot_occupant(ext, &via, slot).await?;
                }
            }
            Ok(calls)
        }
        .await;
        let now = chrono::Utc::now().timestamp_millis();
        let view = match result {
            Ok(calls) => {
                let calls = calls
                    .into_iter()
                    .filter(|c| {
                        exts.is_empty() || c.extension_id.as_ref().is_none_or(|e| exts.contains(e))
                    })
                    .collect();
                TeamView {
                    extensions: exts,
                    park: client.park_board(),
                    calls,
                    refreshed_ms: Some(now),
                    error: None,
                }
            }
            Err(e) => TeamView {
                extensions: exts,
                park: client.park_board(),
                calls: Vec::new(),
                refreshed_ms: None,
                error: Some(e.to_string()),
            },
        };
        *lock(&self.inner.team) = Some(view.clone());
        self.emit(UiEvent::Team(view.clone()));
        Ok(view)
    }

    /// The last team view (refreshed in the background for supervisors).
    pub fn team_view(&self) -> Option<TeamView> {
        lock(&self.inner.team).clone()
    }

    /// Eavesdrop, whisper, conference in or pick up a team call; the supervisor's own
    /// extension number rings (`send_dst`).
    pub async fn team_action(
        &self,
        extension_id: &str,
        call_api_id: &str,
        action: TeamAction,
    ) -> Result<(), EngineError> {
        let (client, me) = {
            let p = lock(&self.inner.platforms);
            let t = p
                .telphin
                .as_ref()
                .ok_or_else(|| EngineError::Unavailable("Telphin is not connected".into()))?;
            (t.client.clone(), p.extension())
        };
        let me = self
            .config()
            .team
            .own_number
            .clone()
            .or(me)
            .ok_or_else(|| {
                EngineError::Invalid("set team.own_number: the number that should ring".into())
            })?;
        let action = match action {
            TeamAction::Eavesdrop => TelphinAction::Eavesdrop,
            TeamAction::Whisper => TelphinAction::Whisper,
            TeamAction::Conference => TelphinAction::Conference,
            TeamAction::Pickup => TelphinAction::Pickup,
        };
        client
            .call_action(extension_id, call_api_id, action, Some(&me))
            .await
            .map_err(|e| EngineError::Provider(e.into()))?;
        Ok(())
    }

    /// Supervisors (and anyone with team extensions configured) keep the team view fresh.
    pub(crate) fn spawn_team_refresh(&self) {
        let engine = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let cfg = engine.config();
                let wanted = cfg.ui.role == Role::Supervisor || !cfg.team.extensions.is_empty();
                let connected = lock(&engine.inner.platforms).telphin.is_some();
                if wanted && connected {
                    if let Err(e) = engine.team_refresh().await {
                        tracing::debug!(error = %e, "team refresh");
                    }
                }
                let secs = u64::from(cfg.team.refresh_secs.max(2));
                tokio::time::sleep(Duration::from_secs(secs)).await;
            }
        });
        lock(&self.inner.tasks).push(task);
    }
}
