//! Telphin-only state the World does not model: tokens, event subscriptions, what each leg the
//! API created is for, click-to-call ids and the seeded random source.
//!
//! `router`, `spawn` and the public helpers all receive only a [`SimContext`]; they find the
//! one `TelphinState` of that simulator through a small registry keyed by the identity of the
//! context's configuration `Arc` (weak references only, so a stopped simulator leaves nothing
//! alive behind).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::{SimConfig, SimContext};

/// What a leg created through the Telphin API is for; decides what answering it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LegRole {
    /// Blind or attended transfer target.
    Transfer { attended: bool },
    /// Rings `send_dst`; on answer it takes the call over.
    Pickup,
    /// Listens to both parties.
    Eavesdrop,
    /// Speaks to the agent only.
    Whisper,
    /// Joins both parties.
    Conference,
    /// Click-to-call source phone; on answer `dst` is dialled.
    CallbackSource { dst: String },
    /// Click-to-call destination.
    CallbackDestination,
    /// A parked call ringing the extension that parked it again.
    ParkReturn,
    /// A `SimpleTransfer` number of Call Interactive.
    CiTransfer,
}

/// One extension event subscription (`/extension/{id}/event/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Subscription {
    pub id: u64,
    #[serde(skip)]
    pub extension_id: String,
    pub url: String,
    pub method: String,
    pub event_type: String,
}

#[derive(Default)]
pub(crate) struct Inner {
    /// Access token → expiry (simulated ms since the epoch).
    pub tokens: HashMap<String, i64>,
    pub subscriptions: BTreeMap<u64, Subscription>,
    pub next_subscription: u64,
    pub leg_roles: HashMap<String, LegRole>,
    /// World call id → click-to-call id (`CallBackID`).
    pub callbacks: HashMap<String, String>,
    /// World call id → generation of its latest park, so a stale return timer does nothing.
    pub park_generation: HashMap<String, u64>,
    /// (call id, event type) already sent to the calling extension (`dial-out`, `answer`).
    pub caller_events: HashSet<(String, &'static str)>,
}

/// The Telphin front-end's own state for one simulator.
pub(crate) struct TelphinState {
    inner: Mutex<Inner>,
    rng: Mutex<ChaCha8Rng>,
}

impl TelphinState {
    fn new(seed: u64) -> TelphinState {
        TelphinState {
            inner: Mutex::new(Inner {
                next_subscription: 1,
                ..Inner::default()
            }),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x7e1f_1a00)),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A reproducible index in `0..len` (`len` > 0).
    pub fn pick(&self, len: usize) -> usize {
        if len <= 1 {
            return 0;
        }
        let mut rng = match self.rng.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        rng.random_range(0..len)
    }

    pub fn role(&self, leg_id: &str) -> Option<LegRole> {
        self.lock().leg_roles.get(leg_id).cloned()
    }

    pub fn set_role(&self, leg_id: &str, role: LegRole) {
        self.lock().leg_roles.insert(leg_id.to_string(), role);
    }
}

type Registry = Vec<(Weak<SimConfig>, Weak<TelphinState>)>;

static REGISTRY: Mutex<Registry> = Mutex::new(Vec::new());

/// The Telphin state of the simulator `ctx` belongs to (created on first use).
pub(crate) fn state_for(ctx: &SimContext) -> Arc<TelphinState> {
    let mut reg = match REGISTRY.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    reg.retain(|(cfg, st)| cfg.strong_count() > 0 && st.strong_count() > 0);
    let key = Arc::downgrade(&ctx.config);
    if let Some(st) = reg
        .iter()
        .find(|(cfg, _)| cfg.ptr_eq(&key))
        .and_then(|(_, st)| st.upgrade())
    {
        return st;
    }
    let st = Arc::new(TelphinState::new(ctx.config.seed));
    reg.push((key, Arc::downgrade(&st)));
    st
}
