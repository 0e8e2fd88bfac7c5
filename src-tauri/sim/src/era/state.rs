//! Shared state of the Era front-end: open WebSocket connections with their subscriptions,
//! IVR sessions and stored files. One [`EraState`] per running simulator, found from the
//! [`SimContext`] through a small registry (the context has no slot for front-end state).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::mpsc;

use super::files::FileStore;
use super::ivr::IvrSession;
use super::render::Rendered;
use super::subscr::{ExpiryLimits, Subscriptions};
use super::wire;
use crate::{SimConfig, SimContext};

/// Who a WebSocket connection (or a REST request) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Token-API: sees everything.
    Token,
    /// User-API: sees calls touching these objects only.
    User {
        extension: String,
        allowed: BTreeSet<String>,
    },
}

impl Owner {
    /// May this owner see an event or call touching `objects`?
    pub fn may_see(&self, objects: &BTreeSet<String>) -> bool {
        match self {
            Owner::Token => true,
            Owner::User { allowed, .. } => allowed.iter().any(|a| objects.contains(a)),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Owner::Token => "token",
            Owner::User { .. } => "user",
        }
    }
}

/// One open WebSocket connection.
pub(crate) struct Conn {
    pub tx: mpsc::UnboundedSender<String>,
    pub owner: Owner,
    pub subs: Subscriptions,
    pub sessionid: String,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub conns: BTreeMap<u64, Conn>,
    pub next_conn: u64,
    pub ivr: BTreeMap<String, IvrSession>,
    pub files: FileStore,
    /// Request names the simulator swallows without replying (request-timeout tests).
    pub swallow: BTreeSet<String>,
}

/// The Era front-end of one simulator.
pub struct EraState {
    pub(crate) ctx: SimContext,
    inner: Mutex<Inner>,
}

type Registry = Mutex<Vec<(Weak<SimConfig>, Weak<EraState>)>>;

static REGISTRY: Registry = Mutex::new(Vec::new());

/// The Era state of this simulator (created on first use).
pub(crate) fn state(ctx: &SimContext) -> Arc<EraState> {
    let mut reg = match REGISTRY.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    reg.retain(|(cfg, st)| cfg.strong_count() > 0 && st.strong_count() > 0);
    let me = Arc::downgrade(&ctx.config);
    // A held `Weak<SimConfig>` keeps the allocation's address from being reused, so pointer
    // equality identifies the simulator exactly.
    if let Some(st) = reg
        .iter()
        .find(|(cfg, _)| Weak::ptr_eq(cfg, &me))
        .and_then(|(_, st)| st.upgrade())
    {
        return st;
    }
    let st = Arc::new(EraState {
        ctx: ctx.clone(),
        inner: Mutex::new(Inner::default()),
    });
    reg.retain(|(cfg, _)| !Weak::ptr_eq(cfg, &me));
    reg.push((me, Arc::downgrade(&st)));
    st
}

impl EraState {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn config(&self) -> &super::EraSimConfig {
        &self.ctx.config.era
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.ctx.world.now_ms()
    }

    pub(crate) fn limits(&self) -> ExpiryLimits {
        let c = self.config();
        ExpiryLimits {
            default_secs: c.default_expires_secs.max(1),
            max_secs: c.max_expires_secs.max(1),
        }
    }

    pub(crate) fn register(&self, tx: mpsc::UnboundedSender<String>, owner: Owner) -> u64 {
        let mut g = self.lock();
        g.next_conn += 1;
        let id = g.next_conn;
        g.conns.insert(
            id,
            Conn {
                tx,
                owner,
                subs: Subscriptions::default(),
                sessionid: uuid::Uuid::new_v4().to_string(),
            },
        );
        id
    }

    pub(crate) fn unregister(&self, id: u64) {
        self.lock().conns.remove(&id);
    }

    /// Queue a frame for one connection; false if it is gone.
    pub(crate) fn send(&self, conn: u64, frame: String) -> bool {
        match self.lock().conns.get(&conn) {
            Some(c) => c.tx.send(frame).is_ok(),
            None => false,
        }
    }

    /// Deliver an event: one `notify` per matching subscription of every connection allowed
    /// to see it. Returns the number of frames queued.
    pub(crate) fn publish(&self, ev: &Rendered) -> usize {
        let now = self.now_ms();
        let text = wire::notify_frame(ev.class, ev.kind, ev.eventts, &ev.data);
        let g = self.lock();
        let mut sent = 0;
        for c in g.conns.values() {
            if !c.owner.may_see(&ev.objects) {
                continue;
            }
            let n = c.subs.matching(ev.class, ev.kind, &ev.objects, now);
            for _ in 0..n {
                if c.tx.send(text.clone()).is_ok() {
                    sent += 1;
                }
            }
        }
        sent
    }
}

/// Test and scenario controls of the Era front-end.
#[derive(Clone)]
pub struct EraControl(pub(crate) Arc<EraState>);

impl EraControl {
    /// Open WebSocket connections.
    pub fn connection_count(&self) -> usize {
        self.0.lock().conns.len()
    }

    /// Live subscriptions per connection: `(connection, subscription id)`.
    pub fn subscriptions(&self) -> Vec<(u64, String)> {
        let now = self.0.now_ms();
        let g = self.0.lock();
        let mut out = Vec::new();
        for (id, c) in &g.conns {
            for s in c.subs.ids() {
                if c.subs.get(&s).is_some_and(|x| now < x.expires_at_ms) {
                    out.push((*id, s));
                }
            }
        }
        out
    }

    /// Send raw text to every open connection (malformed and oversized frame tests).
    pub fn inject_frame(&self, text: &str) -> usize {
        let g = self.0.lock();
        g.conns
            .values()
            .filter(|c| c.tx.send(text.to_string()).is_ok())
            .count()
    }

    /// Swallow (never answer) requests named `name` while `on`.
    pub fn swallow_requests(&self, name: &str, on: bool) {
        let mut g = self.0.lock();
        if on {
            g.swallow.insert(name.to_string());
        } else {
            g.swallow.remove(name);
        }
    }

    /// The connection controlling IVR session `key`, if any, and whether it is still running.
    pub fn ivr_controller(&self, key: &str) -> Option<(Option<u64>, bool)> {
        let g = self.0.lock();
        g.ivr.get(key).map(|s| (s.controller(), s.is_live()))
    }

    /// Store a file in static storage (what `file_upload_static` would do), e.g. for play.
    pub fn put_static_file(&self, path: &str, bytes: Vec<u8>) {
        self.0.lock().files.put_static(path, bytes);
    }
}
