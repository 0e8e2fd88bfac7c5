//! Era IVR sessions offered to the panel and the ones it controls.

use std::collections::BTreeMap;

use super::view::{ComponentResultView, IvrSessionView};
use crate::era::{IvrEvent, IvrOffer};

#[derive(Debug, Default)]
pub struct IvrBoard {
    sessions: BTreeMap<String, IvrSessionView>,
}

impl IvrBoard {
    pub fn sessions(&self) -> Vec<IvrSessionView> {
        let mut v: Vec<IvrSessionView> = self.sessions.values().cloned().collect();
        v.sort_by_key(|s| s.offer.at_ms);
        v
    }

    pub fn get(&self, key: &str) -> Option<&IvrSessionView> {
        self.sessions.get(key)
    }

    /// Apply an Era IVR event; returns the changed session (or `None` if unknown).
    pub fn apply(&mut self, ev: &IvrEvent) -> Option<IvrSessionView> {
        match ev {
            IvrEvent::Offered { offer } => {
                let s = self
                    .sessions
                    .entry(offer.key.clone())
                    .or_insert_with(|| new_session(offer));
                Some(s.clone())
            }
            IvrEvent::Accepted { key, .. } => self.update(key, |s| {
                s.state = "controlled".into();
                s.message = None;
            }),
            IvrEvent::LostRace { key, message, .. } => self.update(key, |s| {
                s.state = "lost".into();
                s.message = Some(message.clone());
            }),
            IvrEvent::ReacquireFailed { key, message, .. } => self.update(key, |s| {
                s.state = "lost".into();
                s.message = Some(message.clone());
            }),
            IvrEvent::Released { key, .. } => self.update(key, |s| {
                s.state = "released".into();
                s.running = None;
            }),
            IvrEvent::Stopped { key, reason, .. } => self.update(key, |s| {
                s.state = "stopped".into();
                s.running = None;
                s.message = reason.clone();
            }),
            IvrEvent::ComponentStopped {
                key,
                transfer_key,
                results,
                ..
            } => self.update(key, |s| {
                s.running = None;
                s.results.push(ComponentResultView {
                    transfer_key: transfer_key.clone(),
                    results: results.clone(),
                    file_link: None,
                });
            }),
            IvrEvent::Dtmf { key, digit, .. } => self.update(key, |s| s.dtmf.push_str(digit)),
        }
    }

    pub fn update(
        &mut self,
        key: &str,
        f: impl FnOnce(&mut IvrSessionView),
    ) -> Option<IvrSessionView> {
        let s = self.sessions.get_mut(key)?;
        f(s);
        Some(s.clone())
    }

    /// Sessions that ended (stopped, released, lost) more than `keep` sessions ago are dropped.
    pub fn prune(&mut self, keep: usize) -> Vec<String> {
        let mut done: Vec<(i64, String)> = self
            .sessions
            .values()
            .filter(|s| matches!(s.state.as_str(), "stopped" | "released" | "lost"))
            .map(|s| (s.offer.at_ms, s.key.clone()))
            .collect();
        done.sort();
        let excess = done.len().saturating_sub(keep);
        let gone: Vec<String> = done.into_iter().take(excess).map(|(_, k)| k).collect();
        for k in &gone {
            self.sessions.remove(k);
        }
        gone
    }
}

fn new_session(offer: &IvrOffer) -> IvrSessionView {
    IvrSessionView {
        key: offer.key.clone(),
        offer: offer.clone(),
        state: "offered".into(),
        dtmf: String::new(),
        running: None,
        results: Vec::new(),
        message: None,
    }
}
