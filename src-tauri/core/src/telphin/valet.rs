//! Valet parking: `PUT /extension/{extension_id}/valet_park/{call_api_id}` with
//! `{"action": "park"|"bridge"|"slots", "slot": "N"}` (seed 000).
//!
//! The slot is sent as a string, like the seed's example; replies are read with the slot as a
//! string or a number, as JSON or as the Python-style text the seed shows.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::client::{seg, short, Refusal, Retry, TelphinClient};
use super::error::TelphinError;
use super::park_board::{call_uuid, ParkBoardSnapshot};
use crate::model::CallEvent;

/// A call parked into `slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub slot: u8,
    /// `UUID` of the parked call.
    pub call_uuid: String,
}

/// What a bridge connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridged {
    /// The slot bridged, when the platform says (or it was asked for).
    pub slot: Option<u8>,
    /// `UUID` of the call that left the slot, when the platform says.
    pub call_uuid: Option<String>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn check_slot(slot: Option<u8>) -> Result<(), TelphinError> {
    match slot {
        Some(n) if !(1..=9).contains(&n) => Err(TelphinError::Invalid(format!(
            "parking slot {n} does not exist (1-9)"
        ))),
        _ => Ok(()),
    }
}

fn body(action: &str, slot: Option<u8>) -> Value {
    match slot {
        Some(n) => json!({ "action": action, "slot": n.to_string() }),
        None => json!({ "action": action }),
    }
}

impl TelphinClient {
    async fn valet(
        &self,
        extension_id: &str,
        call_api_id: &str,
        action: &str,
        slot: Option<u8>,
        retry: Retry,
    ) -> Result<String, TelphinError> {
        check_slot(slot)?;
        if call_api_id.trim().is_empty() || extension_id.trim().is_empty() {
            return Err(TelphinError::Invalid(
                "a call and an extension are needed for parking".into(),
            ));
        }
        let path = format!(
            "/extension/{}/valet_park/{}",
            seg(extension_id),
            seg(call_api_id)
        );
        match self
            .send(Method::PUT, &path, Some(&body(action, slot)), retry)
            .await?
        {
            Ok(reply) => Ok(reply.text),
            Err(refusal) => Err(valet_error(refusal, slot, call_api_id)),
        }
    }

    /// Park the call into `slot` (1–9) or the first free slot. The other party hears the slot
    /// and the agent's leg ends; the park board starts the return countdown.
    pub async fn park(
        &self,
        extension_id: &str,
        call_api_id: &str,
        slot: Option<u8>,
    ) -> Result<Parked, TelphinError> {
        let text = self
            .valet(extension_id, call_api_id, "park", slot, Retry::ConnectOnly)
            .await?;
        let (replied, uuid) = parse_slot_reply(&text);
        let slot = replied.or(slot).ok_or_else(|| {
            TelphinError::Protocol(format!(
                "the park reply does not say which slot: {}",
                short(&text)
            ))
        })?;
        let call_uuid = uuid.unwrap_or_else(|| call_uuid(call_api_id));
        let now = now_ms();
        self.board().parked(
            extension_id,
            slot,
            Some(call_api_id),
            Some(extension_id),
            now,
        );
        self.publish_board();
        self.schedule_board_expiry();
        Ok(Parked { slot, call_uuid })
    }

    /// Connect the current call with the call parked in `slot`, or in a random occupied slot.
    pub async fn bridge(
        &self,
        extension_id: &str,
        call_api_id: &str,
        slot: Option<u8>,
    ) -> Result<Bridged, TelphinError> {
        let text = self
            .valet(
                extension_id,
                call_api_id,
                "bridge",
                slot,
                Retry::ConnectOnly,
            )
            .await?;
        let (replied, uuid) = parse_slot_reply(&text);
        let slot = replied.or(slot);
        {
            let mut board = self.board();
            match (slot, &uuid) {
                (Some(n), _) => {
                    board.freed(extension_id, n);
                }
                (None, Some(u)) => board.freed_uuid(extension_id, u),
                (None, None) => {}
            }
        }
        self.publish_board();
        Ok(Bridged {
            slot,
            call_uuid: uuid,
        })
    }

    /// `UUID` of the call waiting in `slot`, or `None` when the slot is free. `call_api_id` is
    /// any current call of the extension (the API addresses the query through a call).
    pub async fn slot_occupant(
        &self,
        extension_id: &str,
        call_api_id: &str,
        slot: u8,
    ) -> Result<Option<String>, TelphinError> {
        let text = self
            .valet(
                extension_id,
                call_api_id,
                "slots",
                Some(slot),
                Retry::Idempotent,
            )
            .await?;
        let (_, uuid) = parse_slot_reply(&text);
        self.board().occupant(extension_id, slot, uuid.as_deref());
        self.publish_board();
        Ok(uuid)
    }

    /// The free slots of the extension's lot.
    pub async fn free_slots(
        &self,
        extension_id: &str,
        call_api_id: &str,
    ) -> Result<Vec<u8>, TelphinError> {
        let text = self
            .valet(extension_id, call_api_id, "slots", None, Retry::Idempotent)
            .await?;
        let free = parse_free_slots(&text)?;
        self.board().free_slots(extension_id, &free);
        self.publish_board();
        Ok(free)
    }

    /// The park board now (slots whose return time passed are gone).
    pub fn park_board(&self) -> ParkBoardSnapshot {
        self.board().snapshot(now_ms())
    }

    /// Follow the park board: a new snapshot after every change and every return.
    pub fn watch_park_board(&self) -> watch::Receiver<ParkBoardSnapshot> {
        self.inner.board_tx.subscribe()
    }

    /// Feed a `Parked`/`Unparked` event (e.g. decoded by the listener) to the park board.
    pub fn apply_park_event(&self, ev: &CallEvent) {
        self.board().apply_event(ev);
        self.publish_board();
        self.schedule_board_expiry();
    }

    pub(super) fn publish_board(&self) {
        let snapshot = self.board().snapshot(now_ms());
        self.inner.board_tx.send_replace(snapshot);
    }

    /// Publish a snapshot once every parked call's return time has passed (the board drops
    /// it then), so watchers see the return without asking.
    pub(super) fn schedule_board_expiry(&self) {
        let dues: Vec<i64> = self.board().return_times();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for due in dues {
            let weak = Arc::downgrade(&self.inner);
            handle.spawn(async move {
                loop {
                    let left = due - now_ms();
                    if left < 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(u64::try_from(left).unwrap_or(0) + 1))
                        .await;
                }
                if let Some(inner) = weak.upgrade() {
                    TelphinClient { inner }.publish_board();
                }
            });
        }
    }
}

/// Map a refused valet-park request to what the agent needs to know.
fn valet_error(r: Refusal, slot: Option<u8>, call_api_id: &str) -> TelphinError {
    let m = r.message.to_ascii_lowercase();
    if m.contains("slot is full") || m.contains("already have parked") {
        return slot
            .map(TelphinError::SlotOccupied)
            .unwrap_or(TelphinError::NoFreeSlot);
    }
    if m.contains("no free slot") {
        return TelphinError::NoFreeSlot;
    }
    if m.contains("is empty") || m.contains("empty slot") {
        let n = slot.or_else(|| {
            m.split(|c: char| !c.is_ascii_digit())
                .find_map(|d| d.parse::<u8>().ok())
        });
        return n
            .map(TelphinError::SlotEmpty)
            .unwrap_or(TelphinError::NoParkedCall);
    }
    if m.contains("no parked") {
        return TelphinError::NoParkedCall;
    }
    if r.status == 404 {
        return TelphinError::NotFound(format!("call {call_api_id}"));
    }
    TelphinError::Http {
        status: r.status,
        message: r.message,
    }
}

/// A slot given as a number or a numeric string.
pub(crate) fn slot_value(v: &Value) -> Option<u8> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| (1..=9).contains(n))
}

/// Parse JSON, or the Python-repr text of the seed (`{u'slot': u'6', u'UUID': u'…'}`).
fn lenient_json(text: &str) -> Option<Value> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(v) = serde_json::from_str(t) {
        return Some(v);
    }
    let fixed = t
        .replace("u'", "'")
        .replace('\'', "\"")
        .replace("None", "null");
    serde_json::from_str(&fixed).ok()
}

/// `(slot, UUID)` of a park/bridge/slots reply; an empty or null `UUID` is `None`.
pub(crate) fn parse_slot_reply(text: &str) -> (Option<u8>, Option<String>) {
    let Some(Value::Object(m)) = lenient_json(text) else {
        return (None, None);
    };
    let slot = m.get("slot").and_then(slot_value);
    let uuid = m
        .get("UUID")
        .or_else(|| m.get("uuid"))
        .and_then(|u| u.as_str())
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    (slot, uuid)
}

/// Free slots from a `slots` reply: an array, or an object holding one.
pub(crate) fn parse_free_slots(text: &str) -> Result<Vec<u8>, TelphinError> {
    let v = lenient_json(text)
        .ok_or_else(|| TelphinError::Protocol(format!("free slots reply: {}", short(text))))?;
    let list = match &v {
        Value::Array(a) => a,
        Value::Object(m) => ["slots", "free_slots", "free", "data"]
            .iter()
            .find_map(|k| m.get(*k).and_then(|x| x.as_array()))
            .ok_or_else(|| TelphinError::Protocol(format!("free slots reply: {}", short(text))))?,
        _ => {
            return Err(TelphinError::Protocol(format!(
                "free slots reply: {}",
                short(text)
            )))
        }
    };
    let mut free: Vec<u8> = list.iter().filter_map(slot_value).collect();
    free.sort_unstable();
    free.dedup();
    Ok(free)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_in_every_shape() {
        let seed = "{u'slot': u'6', u'UUID': u'37b98fb2-a66c-11ea-ae69-6fd86d94a0e0'}";
        assert_eq!(
            parse_slot_reply(seed),
            (Some(6), Some("37b98fb2-a66c-11ea-ae69-6fd86d94a0e0".into()))
        );
        assert_eq!(
            parse_slot_reply(r#"{"slot": 6, "UUID": "x"}"#),
            (Some(6), Some("x".into()))
        );
        assert_eq!(
            parse_slot_reply(r#"{"slot": "3", "UUID": null}"#),
            (Some(3), None)
        );
        assert_eq!(
            parse_slot_reply(r#"{"slot": "3", "UUID": ""}"#),
            (Some(3), None)
        );
        assert_eq!(parse_slot_reply(r#"{"slot": "12"}"#), (None, None));
        assert_eq!(parse_slot_reply("ok"), (None, None));
        assert_eq!(
            parse_free_slots(r#"{"slots": ["1", "2", 9]}"#).unwrap(),
            vec![1, 2, 9]
        );
        assert_eq!(parse_free_slots("[u'4', u'5']").unwrap(), vec![4, 5]);
        assert_eq!(parse_free_slots("[]").unwrap(), Vec::<u8>::new());
        assert!(parse_free_slots("nope").is_err());
    }

    #[test]
    fn refusals_become_agent_errors() {
        let r = |status, m: &str| Refusal {
            status,
            message: m.into(),
        };
        let full = "slot already have parked member, slot is full";
        assert!(matches!(
            valet_error(r(400, full), Some(6), "c"),
            TelphinError::SlotOccupied(6)
        ));
        assert!(matches!(
            valet_error(r(400, full), None, "c"),
            TelphinError::NoFreeSlot
        ));
        assert!(matches!(
            valet_error(r(404, "slot 4 is empty"), None, "c"),
            TelphinError::SlotEmpty(4)
        ));
        assert!(matches!(
            valet_error(r(404, "no parked calls"), None, "c"),
            TelphinError::NoParkedCall
        ));
        assert!(matches!(
            valet_error(r(404, "Not found"), Some(1), "c"),
            TelphinError::NotFound(_)
        ));
        assert!(matches!(
            valet_error(r(500, "boom"), Some(1), "c"),
            TelphinError::Http { status: 500, .. }
        ));
        assert_eq!(
            TelphinError::SlotOccupied(6).to_string(),
            "parking slot 6 is already taken by another call; choose another slot"
        );
    }
}
