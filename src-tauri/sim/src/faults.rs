//! Fault switches the scenarios and tests flip at run time.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct FaultState {
    /// New TCP connections are accepted and immediately closed.
    pub refuse_connections: AtomicBool,
    /// Open WebSockets are closed abruptly (no close frame) once; set again to drop again.
    pub drop_websockets: AtomicBool,
    /// WebSockets stop sending and stop reading (no data, no close).
    pub stall_websockets: AtomicBool,
    /// REST replies become 5xx with this status while non-zero.
    pub rest_status: AtomicU32,
    /// Extra delay before every REST reply, milliseconds (real time).
    pub rest_delay_ms: AtomicU64,
    /// Each webhook is delivered this many extra times.
    pub webhook_duplicates: AtomicU32,
    /// Deliver each call's webhooks in reverse order within a batch.
    pub webhook_reorder: AtomicBool,
    /// Bumped every time the WebSockets are told to drop, so each connection sees it once.
    pub ws_generation: AtomicU64,
}

/// Shared, cheaply cloneable fault switches.
#[derive(Debug, Clone, Default)]
pub struct Faults(pub Arc<FaultState>);

impl Faults {
    pub fn set_refuse(&self, on: bool) {
        self.0.refuse_connections.store(on, Ordering::SeqCst)
    }
    pub fn refusing(&self) -> bool {
        self.0.refuse_connections.load(Ordering::SeqCst)
    }
    /// Drop every open WebSocket now.
    pub fn drop_websockets(&self) {
        self.0.ws_generation.fetch_add(1, Ordering::SeqCst);
    }
    pub fn ws_generation(&self) -> u64 {
        self.0.ws_generation.load(Ordering::SeqCst)
    }
    pub fn set_stall(&self, on: bool) {
        self.0.stall_websockets.store(on, Ordering::SeqCst)
    }
    pub fn stalled(&self) -> bool {
        self.0.stall_websockets.load(Ordering::SeqCst)
    }
    pub fn set_rest_status(&self, status: u32) {
        self.0.rest_status.store(status, Ordering::SeqCst)
    }
    pub fn rest_status(&self) -> Option<u16> {
        match self.0.rest_status.load(Ordering::SeqCst) {
            0 => None,
            s => u16::try_from(s).ok(),
        }
    }
    pub fn set_rest_delay_ms(&self, ms: u64) {
        self.0.rest_delay_ms.store(ms, Ordering::SeqCst)
    }
    pub fn rest_delay_ms(&self) -> u64 {
        self.0.rest_delay_ms.load(Ordering::SeqCst)
    }
    pub fn set_webhook_duplicates(&self, n: u32) {
        self.0.webhook_duplicates.store(n, Ordering::SeqCst)
    }
    pub fn webhook_duplicates(&self) -> u32 {
        self.0.webhook_duplicates.load(Ordering::SeqCst)
    }
    pub fn set_webhook_reorder(&self, on: bool) {
        self.0.webhook_reorder.store(on, Ordering::SeqCst)
    }
    pub fn webhook_reorder(&self) -> bool {
        self.0.webhook_reorder.load(Ordering::SeqCst)
    }
}
