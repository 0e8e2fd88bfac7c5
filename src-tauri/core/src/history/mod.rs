//! Call history in SQLite.
//!
//! One file (bundled SQLite, WAL, `synchronous=FULL`), numbered migrations ([`migrations`]),
//! one **writer thread** fed by a channel with group commit, and a small pool of **read
//! connections** so queries never wait on writes.
//!
//! - Input: [`CallEvent`]s from every source, through [`EventSink`] (`accept` returns after
//!   the durable commit) or [`History::store`] / [`History::import`]. Every event is kept; a
//!   duplicate `(source, dedup_key)` has no second effect.
//! - One **call** record per real call, even when Era, Telphin and the JSON webhooks all report
//!   it: events are routed by the ids the sources use, and calls from different sources are
//!   merged by remote number + direction + start time (see *Merge rule* below).
//! - Out-of-order arrival gives the right record: the call's legs, park episodes, IVR
//!   sessions, recordings and transfers are rebuilt from all its events sorted by event time.
//! - Queries ([`Reader`]): call list with filters and full-text search (FTS5 trigram),
//!   keyset pagination, missed calls, call details, rejected requests, CSV/JSON export.
//! - Integrity: `PRAGMA quick_check` at startup (in the background above
//!   `background_check_above_bytes`); a damaged file is copied aside and reported, never
//!   silently replaced ([`HistoryError::Damaged`], [`History::recover_fresh`]).
//!
//! ## Merge rule
//!
//! An event belongs to:
//! 1. the call already known under the event's `(source, call_id)`;
//! 2. else a call for which another source recorded the event's `call_id` or `control_id` as its
//!    own call id or control id (Telphin events and Call Interactive requests share Telphin's
//!    `CallID`), provided the event lies within 24 hours of that call's span (short numeric ids
//!    may repeat over days; one call's reports never lie that far apart);
//! 3. else a new call.
//!
//! After storing, the touched calls are rebuilt from their events, and a call that knows its
//! direction and remote number is merged with another call when **all** of these hold: the
//! same direction; the same remote number compared by its last 10 digits ([`number_key`]:
//! `+7 958 241-21-28`, `89582412128` and `9582412128` agree); start times at most
//! `merge_window_secs` apart (default 30 s); and no source in common (one source never reports
//! one call under two ids, so two calls of one source are two real calls). The nearest in time
//! wins; the older record (smaller id) survives and the other id keeps resolving to it in
//! [`Reader::call_details`]. Each source's legs are kept as that source reported them (tagged
//! with the source); park episodes and transfers reported by two sources within the window
//! count once.
//!
//! A call whose only reports lack a `Created` event (no direction or remote number) cannot be
//! merged by number; it joins other reports only through shared ids.

mod checkpoint;
mod error;
mod export;
mod fold;
mod ingest;
pub mod migrations;
mod names;
mod open;
mod query;
mod reader;
mod sink;
mod store;
mod types;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};

pub use error::HistoryError;
pub use export::{ExportedCall, CSV_HEADER};
pub use names::number_key;
pub use query::{search_expression, MAX_PAGE, MIN_SEARCH_CHARS};
pub use reader::Reader;
pub use types::{
    CallDetails, CallFilter, CallPage, CallSummary, ExportFormat, IntegrityStatus, IvrSession,
    IvrStep, Leg, Note, PageCursor, PageRequest, ParkEpisode, PurgeReport, Recording,
    RejectedEntry, SourceCallId, StoredEvent, StoredRaw, Transfer,
};

use crate::model::CallEvent;
use crate::sink::{Accepted, EventSink, RawRecord, RejectedRequest};
use ingest::WriteCtx;
use writer::{FnJob, Op, Writer};

/// File name the app uses inside its data directory.
pub const DEFAULT_FILE_NAME: &str = "history.db";

/// History settings (`[history]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryConfig {
    /// Purge calls older than this many days; `None` (the default) keeps everything.
    pub retention_days: Option<u32>,
    /// Reports of one call from different sources are merged when their start times are at most
    /// this far apart (same remote number and direction). Default 30 s.
    pub merge_window_secs: u32,
    /// Files larger than this are integrity-checked in the background after opening instead of
    /// before. Default 64 MiB.
    pub background_check_above_bytes: u64,
    /// Idle read connections kept open. Default 2.
    pub reader_connections: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            retention_days: None,
            merge_window_secs: 30,
            background_check_above_bytes: 64 * 1024 * 1024,
            reader_connections: 2,
        }
    }
}

impl HistoryConfig {
    fn validate(&self) -> Result<(), HistoryError> {
        if self.retention_days == Some(0) {
            return Err(HistoryError::invalid(
                "history.retention_days must be at least 1 (omit it to keep everything)",
            ));
        }
        if self.merge_window_secs > 3600 {
            return Err(HistoryError::invalid(
                "history.merge_window_secs must be at most 3600",
            ));
        }
        Ok(())
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

struct Inner {
    path: PathBuf,
    config: HistoryConfig,
    tx: mpsc::Sender<Op>,
    readers: Arc<reader::ReaderPool>,
    integrity: watch::Receiver<IntegrityStatus>,
}

/// Handle to the history store. Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct History {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl History {
    /// Open (or create) the history file at `path` and start its writer.
    ///
    /// A damaged file is copied aside and reported as [`HistoryError::Damaged`] (it is left in
    /// place, untouched); the caller may then call [`History::recover_fresh`]. A file larger than
    /// `background_check_above_bytes` opens at once and is checked in the background
    /// ([`History::integrity`]).
    pub fn open(path: impl AsRef<Path>, config: &HistoryConfig) -> Result<History, HistoryError> {
        config.validate()?;
        let path = path.as_ref().to_path_buf();
        open::ensure_dir(&path)?;
        let existed = std::fs::metadata(&path)
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        let background = existed && open::file_size(&path) > config.background_check_above_bytes;
        let on_err = |e: rusqlite::Error| -> HistoryError {
            if existed && HistoryError::is_corruption(&e) {
                open::damaged(&path, e.to_string())
            } else {
                HistoryError::Sqlite(e)
            }
        };
        let mut conn = open::open_writer(&path).map_err(on_err)?;
        if existed && !background {
            if let Some(detail) = open::quick_check(&conn).map_err(on_err)? {
                drop(conn);
                return Err(open::damaged(&path, detail));
            }
        }
        match migrations::migrate(&mut conn) {
            Ok(_) => {}
            Err(HistoryError::Sqlite(e)) => return Err(on_err(e)),
            Err(e) => return Err(e),
        }

        let refuse = Arc::new(AtomicBool::new(false));
        let initial = if background {
            IntegrityStatus::Checking
        } else {
            IntegrityStatus::Ok
        };
        let (status_tx, status_rx) = watch::channel(initial);
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            conn,
            rx,
            ctx: WriteCtx {
                merge_window_ms: i64::from(config.merge_window_secs) * 1000,
            },
            refuse: Arc::clone(&refuse),
            retention_days: config.retention_days,
            checkpointer: checkpoint::Checkpointer::start(path.clone()),
        };
        std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || writer.run())
            .map_err(|source| HistoryError::Io {
                path: path.clone(),
                source,
            })?;
        if background {
            spawn_background_check(path.clone(), refuse, status_tx)?;
        }
        let readers = Arc::new(reader::ReaderPool::new(
            path.clone(),
            config.reader_connections.max(1),
        ));
        Ok(History {
            inner: Arc::new(Inner {
                path,
                config: config.clone(),
                tx,
                readers,
                integrity: status_rx,
            }),
        })
    }

    /// Move the file at `path` aside (`<name>.damaged-<timestamp>`, with its WAL) and open a
    /// fresh, empty history there. Returns the new store and where the old file went (`None`
    /// when there was no file). Close every handle on the old file first.
    pub fn recover_fresh(
        path: impl AsRef<Path>,
        config: &HistoryConfig,
    ) -> Result<(History, Option<PathBuf>), HistoryError> {
        let path = path.as_ref();
        let moved = open::move_aside(path)?;
        Ok((History::open(path, config)?, moved))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The settings it was opened with.
    pub fn config(&self) -> &HistoryConfig {
        &self.inner.config
    }

    /// The startup integrity check's state.
    pub fn integrity(&self) -> IntegrityStatus {
        self.inner.integrity.borrow().clone()
    }

    /// Wait until the startup integrity check finished and return its result.
    pub async fn integrity_checked(&self) -> IntegrityStatus {
        let mut rx = self.inner.integrity.clone();
        let done = rx
            .wait_for(|s| *s != IntegrityStatus::Checking)
            .await
            .map(|s| s.clone());
        done.unwrap_or_else(|_| self.integrity())
    }

    async fn submit<T, F>(&self, weight: usize, f: F) -> Result<T, HistoryError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection, &WriteCtx) -> Result<T, HistoryError> + Send + 'static,
    {
        let (job, rx) = FnJob::boxed(weight, f);
        self.inner
            .tx
            .send(Op::Job(job))
            .map_err(|_| HistoryError::Closed)?;
        rx.await.map_err(|_| HistoryError::Closed)?
    }

    /// Durably store events and the raw request behind them; returns after the commit.
    pub async fn store(
        &self,
        raw: Option<RawRecord>,
        events: Vec<CallEvent>,
    ) -> Result<Accepted, HistoryError> {
        self.submit(events.len(), move |conn, ctx| {
            ingest::store_events(conn, ctx, raw.as_ref(), &events)
        })
        .await
    }

    /// Bulk import (no raw record): the same as [`History::store`] for many events at once.
    pub async fn import(&self, events: Vec<CallEvent>) -> Result<Accepted, HistoryError> {
        self.store(None, events).await
    }

    /// Keep a request the listener refused. Returns its id.
    pub async fn record_rejected(&self, request: RejectedRequest) -> Result<i64, HistoryError> {
        self.submit(1, move |conn, _| ingest::store_rejected(conn, &request))
            .await
    }

    /// Add an agent's note to a call.
    pub async fn add_note(
        &self,
        call_id: i64,
        author: Option<String>,
        body: String,
    ) -> Result<Note, HistoryError> {
        self.submit(1, move |conn, ctx| {
            ingest::add_note(conn, ctx, call_id, author.as_deref(), &body)
        })
        .await
    }

    /// Replace the text of a note.
    pub async fn update_note(&self, note_id: i64, body: String) -> Result<Note, HistoryError> {
        self.submit(1, move |conn, ctx| {
            ingest::update_note(conn, ctx, note_id, &body)
        })
        .await
    }

    /// Set (or clear, with `None`) the call's disposition.
    pub async fn set_disposition(
        &self,
        call_id: i64,
        disposition: Option<String>,
    ) -> Result<(), HistoryError> {
        self.submit(1, move |conn, ctx| {
            ingest::set_disposition(conn, ctx, call_id, disposition.as_deref())
        })
        .await
    }

    /// Delete calls started before `cutoff_ms` (and raw records and rejected requests received
    /// before it), in small transactions.
    pub async fn purge_older_than(&self, cutoff_ms: i64) -> Result<PurgeReport, HistoryError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Op::Purge { cutoff_ms, reply })
            .map_err(|_| HistoryError::Closed)?;
        rx.await.map_err(|_| HistoryError::Closed)?
    }

    /// Apply the retention policy now (it also runs at startup and every 6 hours). Does nothing
    /// when `retention_days` is not set.
    pub async fn apply_retention(&self) -> Result<PurgeReport, HistoryError> {
        match self.inner.config.retention_days {
            Some(days) => {
                self.purge_older_than(now_ms() - i64::from(days) * 86_400_000)
                    .await
            }
            None => Ok(PurgeReport::default()),
        }
    }

    /// Borrow a read connection (blocking queries; see [`Reader`]).
    pub fn reader(&self) -> Result<Reader, HistoryError> {
        self.inner.readers.get()
    }

    /// Run a read on a pooled connection off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, HistoryError>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> Result<T, HistoryError> + Send + 'static,
    {
        let pool = Arc::clone(&self.inner.readers);
        let work = move || f(&pool.get()?);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => rt
                .spawn_blocking(work)
                .await
                .map_err(|e| HistoryError::Internal(format!("read task failed: {e}")))?,
            Err(_) => work(),
        }
    }

    /// Calls matching `filter`, newest first.
    pub async fn list_calls(
        &self,
        filter: CallFilter,
        page: PageRequest,
    ) -> Result<CallPage, HistoryError> {
        self.read(move |r| r.list_calls(&filter, &page)).await
    }

    /// Inbound calls nobody answered, newest first.
    pub async fn missed_calls(&self, page: PageRequest) -> Result<CallPage, HistoryError> {
        self.read(move |r| r.missed_calls(&page)).await
    }

    /// Everything about one call.
    pub async fn call_details(&self, call_id: i64) -> Result<CallDetails, HistoryError> {
        self.read(move |r| r.call_details(call_id)).await
    }

    /// Rejected listener requests, newest first.
    pub async fn rejected_requests(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> Result<Vec<RejectedEntry>, HistoryError> {
        self.read(move |r| r.rejected_requests(limit, before_id))
            .await
    }

    /// Export calls matching `filter` to `out` (blocking; see [`Reader::export`]).
    pub fn export(
        &self,
        filter: &CallFilter,
        format: ExportFormat,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, HistoryError> {
        self.reader()?.export(filter, format, out)
    }

    /// Checkpoint the WAL and stop the writer. Later writes fail with [`HistoryError::Closed`].
    pub async fn close(&self) -> Result<(), HistoryError> {
        let (reply, rx) = oneshot::channel();
        if self.inner.tx.send(Op::Shutdown { reply }).is_err() {
            return Ok(());
        }
        let _ = rx.await;
        Ok(())
    }
}

fn spawn_background_check(
    path: PathBuf,
    refuse: Arc<AtomicBool>,
    status: watch::Sender<IntegrityStatus>,
) -> Result<(), HistoryError> {
    let thread_path = path.clone();
    std::thread::Builder::new()
        .name("history-check".into())
        .spawn(move || {
            let path = thread_path;
            let result = open::open_reader(&path).and_then(|c| open::quick_check(&c));
            let new = match result {
                Ok(None) => IntegrityStatus::Ok,
                Ok(Some(detail)) => damaged_in_background(&path, &refuse, detail),
                Err(e) if HistoryError::is_corruption(&e) => damaged_in_background(&path, &refuse, e.to_string()),
                Err(e) => {
                    tracing::warn!(error = %e, "history: the background integrity check could not run");
                    IntegrityStatus::Unchecked { detail: e.to_string() }
                }
            };
            status.send_replace(new);
        })
        .map(|_| ())
        .map_err(|source| HistoryError::Io { path, source })
}

fn damaged_in_background(path: &Path, refuse: &AtomicBool, detail: String) -> IntegrityStatus {
    refuse.store(true, Ordering::SeqCst);
    let copy = match open::copy_aside(path) {
        Ok(c) => Some(c.display().to_string()),
        Err(e) => {
            tracing::error!(error = %e, "history: could not copy the damaged file aside");
            None
        }
    };
    tracing::error!(path = %path.display(), detail, "history: the background integrity check found damage");
    IntegrityStatus::Damaged { copy, detail }
}

#[async_trait::async_trait]
impl EventSink for History {
    async fn accept(
        &self,
        raw: RawRecord,
        events: Vec<CallEvent>,
    ) -> Result<Accepted, crate::sink::SinkError> {
        self.store(Some(raw), events)
            .await
            .map_err(sink::to_sink_error)
    }

    async fn reject(&self, rejected: RejectedRequest) {
        if let Err(e) = self.record_rejected(rejected).await {
            tracing::warn!(error = %e, "history: could not keep a rejected request");
        }
    }
}
