//! Call Interactive requests held for the agent's live decision.
//!
//! A rule with `ask_agent_ms` parks the request here; the UI watches the list and calls
//! `decide`. The request is answered with the agent's actions, or with the rule's own actions
//! when the deadline passes first.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};
use ts_rs::TS;

use super::error::DecisionError;
use super::ivr::{validate_actions, Action, CallInteractiveRequest};

/// A held request, as the panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PendingDecision {
    #[ts(type = "number")]
    pub id: u64,
    #[ts(type = "number")]
    pub received_ms: i64,
    /// After this instant the rule's actions are sent.
    #[ts(type = "number")]
    pub deadline_ms: i64,
    pub rule_id: String,
    pub rule_name: String,
    pub request: CallInteractiveRequest,
    /// The rule's actions: what is sent if the agent does not decide.
    pub fallback: Vec<Action>,
}

/// Held requests by id, with the channel to their waiting handler.
type Open = BTreeMap<u64, (PendingDecision, oneshot::Sender<Vec<Action>>)>;

/// The registry of held requests.
pub(crate) struct Decisions {
    next: AtomicU64,
    open: Mutex<Open>,
    list: watch::Sender<Vec<PendingDecision>>,
}

impl Decisions {
    pub(crate) fn new() -> Decisions {
        Decisions {
            next: AtomicU64::new(1),
            open: Mutex::new(BTreeMap::new()),
            list: watch::channel(Vec::new()).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        match self.open.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn publish(&self, open: &Open) {
        self.list
            .send_replace(open.values().map(|(p, _)| p.clone()).collect());
    }

    /// Hold a request; `pending.id` is assigned here. Returns the id and the receiver of the
    /// agent's actions.
    pub(crate) fn open(
        &self,
        mut pending: PendingDecision,
    ) -> (u64, oneshot::Receiver<Vec<Action>>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        pending.id = id;
        let (tx, rx) = oneshot::channel();
        let mut open = self.lock();
        open.insert(id, (pending, tx));
        self.publish(&open);
        (id, rx)
    }

    /// Forget a held request (answered or expired).
    pub(crate) fn close(&self, id: u64) {
        let mut open = self.lock();
        if open.remove(&id).is_some() {
            self.publish(&open);
        }
    }

    /// The agent's decision for request `id`.
    pub(crate) fn decide(&self, id: u64, actions: Vec<Action>) -> Result<(), DecisionError> {
        validate_actions(&actions)?;
        let mut open = self.lock();
        let (_, tx) = open.remove(&id).ok_or(DecisionError::NotFound(id))?;
        self.publish(&open);
        drop(open);
        tx.send(actions).map_err(|_| DecisionError::NotFound(id))
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Vec<PendingDecision>> {
        self.list.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingDecision {
        PendingDecision {
            id: 0,
            received_ms: 1,
            deadline_ms: 2,
            rule_id: "r".into(),
            rule_name: "R".into(),
            request: CallInteractiveRequest::default(),
            fallback: vec![Action::Hangup],
        }
    }

    #[tokio::test]
    async fn decide_reaches_the_waiting_request_once() {
        let d = Decisions::new();
        let mut watch = d.subscribe();
        let (id, rx) = d.open(pending());
        assert_eq!(watch.borrow_and_update().len(), 1);
        assert_eq!(watch.borrow().first().map(|p| p.id), Some(id));
        let bad = vec![Action::Hangup; 11];
        assert!(matches!(d.decide(id, bad), Err(DecisionError::Invalid(_))));
        d.decide(id, vec![Action::Pause { length: Some(1) }])
            .unwrap();
        assert_eq!(rx.await.unwrap(), vec![Action::Pause { length: Some(1) }]);
        assert!(watch.borrow_and_update().is_empty());
        assert_eq!(d.decide(id, vec![]), Err(DecisionError::NotFound(id)));
    }

    #[test]
    fn expired_requests_are_not_found() {
        let d = Decisions::new();
        let (id, rx) = d.open(pending());
        drop(rx);
        assert_eq!(d.decide(id, vec![]), Err(DecisionError::NotFound(id)));
        let (id2, _rx2) = d.open(pending());
        d.close(id2);
        assert_eq!(d.decide(id2, vec![]), Err(DecisionError::NotFound(id2)));
    }
}
