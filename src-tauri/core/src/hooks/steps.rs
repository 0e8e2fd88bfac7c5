//! Storing Call Interactive steps after the reply (`listener.ivr_store`).
//!
//! A Call Interactive reply is the platform waiting on us mid-call: it is not an acknowledgement
//! of stored data and the platform does not retry it. So by default ([`IvrStore::AfterReply`])
//! the listener answers from memory and hands the step to this queue, which stores it in the
//! background — the durable commit (an fsync per group) no longer sits on the caller's wait.
//! The JSON and Telphin webhooks, which the platform does retry, keep "2xx only after the
//! commit".
//!
//! Nothing accepted is dropped: the queue is bounded, and when it is full (or already closed by
//! shutdown) the step is stored before the reply, as in [`IvrStore::BeforeReply`]. Shutdown
//! closes the queue and waits for what it holds to be stored. A step whose store fails after the
//! reply is retried a few times, then logged with its call id.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use ts_rs::TS;

use crate::model::CallEvent;
use crate::sink::{EventSink, RawRecord};

/// When a Call Interactive step is stored relative to the reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum IvrStore {
    /// Reply first, store in the background (bounded queue; full queue → store first).
    #[default]
    AfterReply,
    /// Store durably, then reply; a failed or slow store gives the fallback reply.
    BeforeReply,
}

/// Steps waiting to be stored; beyond this a request stores before replying.
pub(crate) const QUEUE_CAPACITY: usize = 4096;
/// Steps taken from the queue at once and stored concurrently (one group commit).
const BATCH: usize = 256;
/// Attempts for a step whose store fails after the reply.
const ATTEMPTS: u32 = 3;

type Step = (RawRecord, Vec<CallEvent>);

/// The sending half kept by the listener.
pub(crate) struct StepQueue {
    tx: mpsc::Sender<Step>,
}

impl StepQueue {
    /// Start the background writer; it stops (after storing what it holds) once `stop` is true.
    pub fn start(
        sink: Arc<dyn EventSink>,
        capacity: usize,
        stop: watch::Receiver<bool>,
    ) -> (StepQueue, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let task = tokio::spawn(drain(sink, rx, stop));
        (StepQueue { tx }, task)
    }

    /// Queue a step. `Err` gives it back when the queue is full or closed: store it yourself.
    pub fn offer(&self, raw: RawRecord, events: Vec<CallEvent>) -> Result<(), Step> {
        self.tx.try_send((raw, events)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(step) | mpsc::error::TrySendError::Closed(step) => step,
        })
    }
}

async fn drain(
    sink: Arc<dyn EventSink>,
    mut rx: mpsc::Receiver<Step>,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            biased;
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                store_batch(&sink, &mut batch).await;
            }
            _ = async { stop.wait_for(|s| *s).await.is_ok() } => {
                // No new steps from now on; store everything already queued.
                rx.close();
                while rx.recv_many(&mut batch, BATCH).await > 0 {
                    store_batch(&sink, &mut batch).await;
                }
                break;
            }
        }
    }
}

/// Store a batch concurrently so the history writer commits it as one group; the futures are
/// first polled in queue order, so the writer receives the steps in the order they came.
async fn store_batch(sink: &Arc<dyn EventSink>, batch: &mut Vec<Step>) {
    let stores = batch
        .drain(..)
        .map(|(raw, events)| store_one(sink, raw, events));
    futures_util::future::join_all(stores).await;
}

async fn store_one(sink: &Arc<dyn EventSink>, raw: RawRecord, events: Vec<CallEvent>) {
    let call = events
        .first()
        .map(|e| e.call_id.clone())
        .unwrap_or_default();
    for attempt in 1..=ATTEMPTS {
        match sink.accept(raw.clone(), events.clone()).await {
            Ok(_) => return,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(call = %call, attempt, error = %e, "storing a Call Interactive step failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(call = %call, error = %e, "a Call Interactive step was answered but could not be stored");
            }
        }
    }
}
