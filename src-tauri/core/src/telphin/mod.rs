//! Telphin client (seed 000, protocols.md §2): OAuth REST for valet parking, current-call
//! control, click-to-call and extension event subscriptions.
//!
//! - [`TelphinClient`] — the REST client. OAuth client_credentials (`POST {host}/oauth/token`,
//!   form body); the token is cached, refreshed before `expires_in` runs out and once more on
//!   a 401. Every request has a timeout; 5xx replies, timeouts and network errors are retried
//!   only for idempotent requests (reads, slot queries, subscription updates and deletes);
//!   requests that change a call are repeated only when the connection could not be opened.
//! - [`ParkBoard`] — the valet-park slots with their 3-minute return countdown, kept by the
//!   client ([`TelphinClient::park_board`], [`TelphinClient::watch_park_board`]).
//! - [`TelphinProvider`] — the [`crate::provider::Provider`] for Telphin (no remote answer,
//!   no DTMF).
//!
//! Extension events themselves arrive at the panel's listener (`crate::hooks`); this module
//! only manages the subscriptions ([`TelphinClient::ensure_subscriptions`]).

mod calls;
mod client;
mod config;
mod error;
mod park_board;
mod provider;
mod subscriptions;
mod valet;

pub use calls::{
    CallAction, CallbackReply, CallbackRequest, CurrentCall, ExtensionInfo, ExtensionRef,
    TokenOwner,
};
pub use client::TelphinClient;
pub use config::{EventMethod, TelphinConfig};
pub use error::TelphinError;
pub use park_board::{call_uuid, ParkBoard, ParkBoardSnapshot, ParkedCall};
pub use provider::TelphinProvider;
pub use subscriptions::{EventSubscription, SubscriptionReport, AGENT_EVENT_TYPES};
pub use valet::{Bridged, Parked};
