//! The team's shared callback list: missed incoming calls, one item per number, that an agent
//! or supervisor claims, calls back and closes with an outcome.
//!
//! - The list is derived from the call history (missed inbound calls), so nothing is lost when a
//!   panel restarts; an item closes by itself when a later call with that number was answered.
//! - Claims and outcomes are kept in `team.db` beside the history and shared with the other
//!   panels of the team: each change is POSTed to every `team.peers` URL (their listener's
//!   `/hooks/<token>/team` route) and applied there, so everyone sees who claimed what.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{lock, Engine, EngineError, UiEvent};
use crate::history::{number_key, CallFilter, PageRequest};
use crate::model::{Direction, Outcome};

/// One number to call back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CallbackItem {
    /// The number as the caller presented it (latest missed call).
    pub number: String,
    /// Normalized key (digits) that identifies the item across panels.
    pub key: String,
    pub name: Option<String>,
    #[ts(type = "number")]
    pub last_missed_ms: i64,
    pub missed_count: u32,
    /// History id of the latest missed call (for details).
    #[ts(type = "number")]
    pub last_call_id: i64,
    pub claimed_by: Option<String>,
    #[ts(type = "number | null")]
    pub claimed_ms: Option<i64>,
    pub outcome: Option<String>,
    /// `got_through` (a later call was answered) or `done` (an outcome was recorded).
    pub closed: Option<String>,
}

/// A change shared between panels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum TeamMessage {
    Claim {
        key: String,
        by: String,
        #[ts(type = "number")]
        at_ms: i64,
    },
    Release {
        key: String,
        by: String,
        #[ts(type = "number")]
        at_ms: i64,
    },
    Outcome {
        key: String,
        by: String,
        outcome: String,
        #[ts(type = "number")]
        at_ms: i64,
    },
}

impl TeamMessage {
    fn key(&self) -> &str {
        match self {
            TeamMessage::Claim { key, .. }
            | TeamMessage::Release { key, .. }
            | TeamMessage::Outcome { key, .. } => key,
        }
    }
}

/// Claims and outcomes, in `team.db`.
pub struct ClaimStore {
    conn: Mutex<Connection>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Claim {
    claimed_by: Option<String>,
    claimed_ms: Option<i64>,
    outcome: Option<String>,
    outcome_ms: Option<i64>,
}

impl ClaimStore {
    pub fn open(path: &Path) -> Result<ClaimStore, EngineError> {
        let err = |e: rusqlite::Error| EngineError::Startup(format!("{}: {e}", path.display()));
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS claims (
                 key TEXT PRIMARY KEY,
                 claimed_by TEXT, claimed_ms INTEGER,
                 outcome TEXT, outcome_ms INTEGER,
                 updated_ms INTEGER NOT NULL
             );",
        )
        .map_err(err)?;
        Ok(ClaimStore {
            conn: Mutex::new(conn),
        })
    }

    fn get(&self, key: &str) -> Result<Claim, rusqlite::Error> {
        let c = lock(&self.conn);
        let row = c
            .query_row(
                "SELECT claimed_by, claimed_ms, outcome, outcome_ms FROM claims WHERE key = ?1",
                params![key],
                |r| {
                    Ok(Claim {
                        claimed_by: r.get(0)?,
                        claimed_ms: r.get(1)?,
                        outcome: r.get(2)?,
                        outcome_ms: r.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    fn all(&self) -> Result<BTreeMap<String, Claim>, rusqlite::Error> {
        let c = lock(&self.conn);
        let mut st =
            c.prepare("SELECT key, claimed_by, claimed_ms, outcome, outcome_ms FROM claims")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Claim {
                    claimed_by: r.get(1)?,
                    claimed_ms: r.get(2)?,
                    outcome: r.get(3)?,
                    outcome_ms: r.get(4)?,
                },
            ))
        })?;
        rows.collect()
    }

    /// Apply a message; the newest change wins (by its time), so replays and reordering between
    /// panels converge. Returns whether anything changed.
    fn apply(&self, m: &TeamMessage) -> Result<bool, rusqlite::Error> {
        let cur = self.get(m.key())?;
        let next = match m {
            TeamMessage::Claim { by, at_ms, .. } => {
                if cur.claimed_ms.is_some_and(|t| t > *at_ms)
                    || cur.claimed_by.as_deref() == Some(by.as_str())
                {
                    return Ok(false);
                }
                Claim {
                    claimed_by: Some(by.clone()),
                    claimed_ms: Some(*at_ms),
                    ..cur.clone()
                }
            }
            TeamMessage::Release { by, at_ms, .. } => {
                if cur.claimed_by.as_deref() != Some(by.as_str())
                    || cur.claimed_ms.is_some_and(|t| t > *at_ms)
                {
                    return Ok(false);
                }
                Claim {
                    claimed_by: None,
                    claimed_ms: Some(*at_ms),
                    ..cur.clone()
                }
            }
            TeamMessage::Outcome {
                by, outcome, at_ms, ..
            } => {
                if cur.outcome_ms.is_some_and(|t| t >= *at_ms) {
                    return Ok(false);
                }
                Claim {
                    claimed_by: cur.claimed_by.clone().or_else(|| Some(by.clone())),
                    claimed_ms: cur.claimed_ms.or(Some(*at_ms)),
                    outcome: Some(outcome.clone()),
                    outcome_ms: Some(*at_ms),
                }
            }
        };
        if next == cur {
            return Ok(false);
        }
        let c = lock(&self.conn);
        c.execute(
            "INSERT INTO claims (key, claimed_by, claimed_ms, outcome, outcome_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(key) DO UPDATE SET claimed_by = ?2, claimed_ms = ?3, outcome = ?4,
                 outcome_ms = ?5, updated_ms = ?6",
            params![
                m.key(),
                next.claimed_by,
                next.claimed_ms,
                next.outcome,
                next.outcome_ms,
                now_ms()
            ],
        )?;
        Ok(true)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn storage(e: rusqlite::Error) -> EngineError {
    EngineError::Startup(format!("team.db: {e}"))
}

impl Engine {
    fn me(&self) -> String {
        lock(&self.inner.platforms)
            .extension()
            .unwrap_or_else(|| "panel".into())
    }

    /// The callback list: open items first (newest missed first), then closed ones.
    pub async fn callbacks(&self) -> Result<Vec<CallbackItem>, EngineError> {
        let page = self
            .inner
            .history
            .missed_calls(PageRequest {
                limit: 200,
                ..PageRequest::default()
            })
            .await?;
        let mut items: BTreeMap<String, CallbackItem> = BTreeMap::new();
        for c in page.calls {
            let Some(remote) = c.remote.clone() else {
                continue;
            };
            let Some(key) = number_key(&remote.number) else {
                continue;
            };
            let item = items.entry(key.clone()).or_insert_with(|| CallbackItem {
                number: remote.number.clone(),
                key: key.clone(),
                name: remote.name.clone(),
                last_missed_ms: c.started_ms,
                missed_count: 0,
                last_call_id: c.id,
                claimed_by: None,
                claimed_ms: None,
                outcome: None,
                closed: None,
            });
            item.missed_count += 1;
            if c.started_ms > item.last_missed_ms {
                item.last_missed_ms = c.started_ms;
                item.last_call_id = c.id;
                item.number = remote.number.clone();
            }
        }
        let claims = self.inner.claims.all().map_err(storage)?;
        // Closed when a later call with this number was answered (either direction): one
        // indexed lookup per number, all on one pooled connection in one blocking task.
        let checks: Vec<(String, String, i64)> = items
            .values()
            .map(|i| (i.key.clone(), i.number.clone(), i.last_missed_ms + 1))
            .collect();
        let got_through = self
            .inner
            .history
            .read(move |r| {
                let mut keys = HashSet::new();
                for (key, number, from_ms) in checks {
                    let filter = CallFilter {
                        number: Some(number),
                        from_ms: Some(from_ms),
                        outcomes: vec![Outcome::Answered],
                        ..CallFilter::default()
                    };
                    let page = PageRequest {
                        limit: 1,
                        ..PageRequest::default()
                    };
                    if !r.list_calls(&filter, &page)?.calls.is_empty() {
                        keys.insert(key);
                    }
                }
                Ok(keys)
            })
            .await?;
        for item in items.values_mut() {
            if got_through.contains(&item.key) {
                item.closed = Some("got_through".into());
            }
            if let Some(claim) = claims.get(&item.key) {
                item.claimed_by = claim.claimed_by.clone();
                item.claimed_ms = claim.claimed_ms;
                if claim.outcome_ms.is_some_and(|t| t >= item.last_missed_ms) {
                    item.outcome = claim.outcome.clone();
                    item.closed.get_or_insert_with(|| "done".into());
                }
            }
        }
        let mut list: Vec<CallbackItem> = items.into_values().collect();
        list.sort_by_key(|i| (i.closed.is_some(), -i.last_missed_ms));
        Ok(list)
    }

    async fn publish_callbacks(&self) {
        match self.callbacks().await {
            Ok(list) => self.emit(UiEvent::Callbacks(list)),
            Err(e) => tracing::warn!(error = %e, "callback list"),
        }
    }

    /// Apply a change made here, then share it with the team's other panels.
    async fn change_callback(&self, m: TeamMessage) -> Result<(), EngineError> {
        self.inner.claims.apply(&m).map_err(storage)?;
        self.publish_callbacks().await;
        let peers = self.config().team.peers;
        if !peers.is_empty() {
            let body = serde_json::to_value(&m).map_err(|e| EngineError::Invalid(e.to_string()))?;
            tokio::spawn(send_to_peers(peers, body));
        }
        Ok(())
    }

    pub async fn claim_callback(&self, key: &str) -> Result<(), EngineError> {
        let cur = self.inner.claims.get(key).map_err(storage)?;
        let me = self.me();
        if let Some(other) = cur.claimed_by.filter(|b| *b != me) {
            return Err(EngineError::Invalid(format!("already claimed by {other}")));
        }
        self.change_callback(TeamMessage::Claim {
            key: key.into(),
            by: me,
            at_ms: now_ms(),
        })
        .await
    }

    pub async fn release_callback(&self, key: &str) -> Result<(), EngineError> {
        self.change_callback(TeamMessage::Release {
            key: key.into(),
            by: self.me(),
            at_ms: now_ms(),
        })
        .await
    }

    /// Record how the callback went; closes the item.
    pub async fn callback_outcome(&self, key: &str, outcome: &str) -> Result<(), EngineError> {
        let outcome = outcome.trim();
        if outcome.is_empty() {
            return Err(EngineError::Invalid("describe the outcome".into()));
        }
        let m = TeamMessage::Outcome {
            key: key.into(),
            by: self.me(),
            outcome: outcome.into(),
            at_ms: now_ms(),
        };
        self.change_callback(m).await
    }

    /// A change from another panel (listener `team` route).
    pub async fn team_message(&self, value: serde_json::Value) -> Result<(), EngineError> {
        let m: TeamMessage =
            serde_json::from_value(value).map_err(|e| EngineError::Invalid(e.to_string()))?;
        if m.key().is_empty() || m.key().len() > 32 || !m.key().chars().all(|c| c.is_ascii_digit())
        {
            return Err(EngineError::Invalid("the key is a number's digits".into()));
        }
        if self.inner.claims.apply(&m).map_err(storage)? {
            self.publish_callbacks().await;
        }
        Ok(())
    }

    /// Refresh the list when the history changes (a missed call, a call that got through).
    /// Refreshes are coalesced: the first relevant change schedules one after
    /// [`CALLBACKS_COALESCE`], and changes stored meanwhile ride on it (the list is read after
    /// the flag is cleared, so nothing stored is left out).
    pub(crate) async fn callbacks_changed(&self, events: &[crate::model::CallEvent]) {
        use crate::model::CallEventKind;
        let relevant = events.iter().any(|e| {
            matches!(&e.kind, CallEventKind::Ended { .. })
                || matches!(
                    &e.kind,
                    CallEventKind::Created {
                        direction: Direction::Inbound,
                        ..
                    }
                )
        });
        if relevant && !self.inner.callbacks_pending.swap(true, Ordering::SeqCst) {
            tokio::time::sleep(CALLBACKS_COALESCE).await;
            self.inner.callbacks_pending.store(false, Ordering::SeqCst);
            self.publish_callbacks().await;
        }
    }
}

/// How long a history-driven callback-list refresh waits for more changes to ride on it.
pub(crate) const CALLBACKS_COALESCE: Duration = Duration::from_millis(300);

async fn send_to_peers(peers: Vec<String>, body: serde_json::Value) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no HTTP client for team peers");
            return;
        }
    };
    for url in peers {
        let mut delay = Duration::from_millis(300);
        for attempt in 1..=3 {
            match client.post(&url).json(&body).send().await {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => tracing::warn!(status = %r.status(), attempt, "team peer refused a claim"),
                Err(e) => tracing::warn!(error = %e, attempt, "team peer unreachable"),
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
}
