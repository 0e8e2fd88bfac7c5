//! Valet parking: slots 1–9 per extension, park, bridge back, return after the timeout.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::{end_answered_legs, Call, CallState, Leg, LegState, World, WorldError, WorldEventKind};

impl World {
    /// Free slots (1–9) of an extension's parking lot.
    pub fn free_slots(&self, extension_id: &str) -> Vec<u8> {
        let s = self.lock();
        let lot = s.slots.get(extension_id);
        (1..=9u8)
            .filter(|n| lot.is_none_or(|l| !l.contains_key(n)))
            .collect()
    }

    /// Call id parked in `slot` of an extension's lot.
    pub fn slot(&self, extension_id: &str, slot: u8) -> Option<Call> {
        let s = self.lock();
        let id = s.slots.get(extension_id)?.get(&slot)?;
        s.calls.get(id).cloned()
    }

    /// Park an active call into `slot` (or the first free one) of `extension_id`'s lot.
    /// The parking leg ends; the call waits in the slot. Returns the slot.
    pub fn park(
        &self,
        call_id: &str,
        extension_id: &str,
        slot: Option<u8>,
    ) -> Result<u8, WorldError> {
        let chosen = {
            let s = self.lock();
            let lot = s.slots.get(extension_id);
            match slot {
                Some(n) if !(1..=9).contains(&n) => return Err(WorldError::BadSlot(n)),
                Some(n) if lot.is_some_and(|l| l.contains_key(&n)) => {
                    return Err(WorldError::SlotOccupied(n))
                }
                Some(n) => n,
                None => (1..=9u8)
                    .find(|n| lot.is_none_or(|l| !l.contains_key(n)))
                    .ok_or(WorldError::NoFreeSlot)?,
            }
        };
        let world_id = self.with_call(call_id, |c, now| {
            if !matches!(c.state, CallState::Active | CallState::Held) {
                return Err(WorldError::WrongState(c.state));
            }
            let mut kinds = Vec::new();
            end_answered_legs(c, now, &mut kinds);
            c.state = CallState::Parked;
            c.connected_to = None;
            c.parked_slot = Some(chosen);
            c.parked_by = Some(extension_id.to_string());
            kinds.push(WorldEventKind::Parked {
                slot: chosen,
                by_extension_id: extension_id.into(),
            });
            Ok((c.id.clone(), kinds))
        })?;
        self.lock()
            .slots
            .entry(extension_id.to_string())
            .or_default()
            .insert(chosen, world_id);
        Ok(chosen)
    }

    /// Take the call out of `slot` (or a random occupied one) and connect it to `to`
    /// (an extension number). Returns the bridged call id and the slot.
    pub fn unpark(
        &self,
        extension_id: &str,
        slot: Option<u8>,
        to: &str,
        how: &str,
        pick: impl FnOnce(&[u8]) -> usize,
    ) -> Result<(String, u8), WorldError> {
        let (slot, call_id) = {
            let mut s = self.lock();
            let lot = s.slots.entry(extension_id.to_string()).or_default();
            let slot = match slot {
                Some(n) if !(1..=9).contains(&n) => return Err(WorldError::BadSlot(n)),
                Some(n) => n,
                None => {
                    let taken: Vec<u8> = lot.keys().copied().collect();
                    if taken.is_empty() {
                        return Err(WorldError::NoParkedCall);
                    }
                    taken[pick(&taken).min(taken.len() - 1)]
                }
            };
            let call_id = lot.remove(&slot).ok_or(WorldError::SlotEmpty(slot))?;
            (slot, call_id)
        };
        let leg_id = format!("{}-{}", to, uuid::Uuid::new_v4().simple());
        self.with_call(&call_id, |c, now| {
            c.parked_slot = None;
            c.state = CallState::Active;
            c.connected_to = Some(to.to_string());
            c.legs.push(Leg {
                id: leg_id.clone(),
                target: to.to_string(),
                state: LegState::Answered,
                started_ms: now,
                answered_ms: Some(now),
                ended_ms: None,
                result_code: None,
            });
            let kinds = vec![
                WorldEventKind::Unparked {
                    slot,
                    how: how.into(),
                },
                WorldEventKind::LegAnswered {
                    leg_id: leg_id.clone(),
                    target: to.into(),
                },
            ];
            Ok(((), kinds))
        })?;
        Ok((call_id, slot))
    }

    /// The park timeout ran out: put the parked call back to the extension that parked it
    /// (`Unparked { how: "returned" }`, then its leg is answered there again). Returns the
    /// slot it left, or `None` when the call is no longer parked (bridged or hung up before).
    pub fn return_parked(&self, call_id: &str) -> Result<Option<u8>, WorldError> {
        let call = self
            .call(call_id)
            .ok_or_else(|| WorldError::NoSuchCall(call_id.to_string()))?;
        let (Some(slot), Some(owner)) = (call.parked_slot, call.parked_by.clone()) else {
            return Ok(None);
        };
        if call.state != CallState::Parked {
            return Ok(None);
        }
        let to = self
            .extension(&owner)
            .map(|e| e.number)
            .unwrap_or_else(|| owner.clone());
        self.unpark(&owner, Some(slot), &to, "returned", |_| 0)?;
        Ok(Some(slot))
    }

    /// Return the call to its parker after `after` of simulated time (the platforms use
    /// [`PARK_TIMEOUT`]) unless it left the slot before. Resolves to the slot it left, if any.
    pub fn spawn_park_return(&self, call_id: &str, after: Duration) -> JoinHandle<Option<u8>> {
        let world = self.clone();
        let call_id = call_id.to_string();
        // A parking is identified by its slot and the legs the call had: a call bridged and
        // parked again has more legs, and its own timer.
        fn parking(w: &World, call_id: &str) -> Option<(u8, usize)> {
            w.call(call_id)
                .and_then(|c| Some((c.parked_slot?, c.legs.len())))
        }
        let parked = parking(self, &call_id);
        tokio::spawn(async move {
            world.clock().sleep(after).await;
            if parked.is_none() || parking(&world, &call_id) != parked {
                return None;
            }
            world.return_parked(&call_id).ok().flatten()
        })
    }
}

/// How long a call waits in a valet slot before it returns to whoever parked it (Telphin: 3 min).
pub const PARK_TIMEOUT: Duration = Duration::from_secs(180);
