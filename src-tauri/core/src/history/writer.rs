//! The single writer: a dedicated thread owns the write connection and is fed by a channel.
//!
//! Group commit: everything queued when the writer wakes up goes into one transaction (each
//! operation inside its own savepoint, so one failing operation does not undo the others), and
//! every waiter is answered only after that transaction committed (`synchronous=FULL`: the
//! commit is on disk). Retention purges run in small chunks between batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::checkpoint::Checkpointer;
use super::error::HistoryError;
use super::ingest::{self, WriteCtx};
use super::types::PurgeReport;

/// Most operations and events one transaction takes before committing.
const MAX_BATCH_OPS: usize = 512;
const MAX_BATCH_WEIGHT: usize = 50_000;
/// Calls deleted per retention transaction.
const PURGE_CHUNK: usize = 500;
/// Pages of search-index merge work per idle step (a few milliseconds).
const SEARCH_MERGE_PAGES: i64 = 64;
/// How often the retention policy runs while the app is up.
const PURGE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// A unit of work run inside the writer's transaction.
pub(crate) trait Job: Send {
    /// How many rows it roughly writes (batch sizing).
    fn weight(&self) -> usize;
    /// Run it; `false` when it failed (its savepoint is then rolled back).
    fn run(&mut self, conn: &Connection, ctx: &WriteCtx) -> bool;
    /// Deliver the result: `committed` is the outcome of the transaction's commit.
    fn finish(self: Box<Self>, committed: Result<(), &HistoryError>);
}

/// A [`Job`] made of a closure and the channel its caller waits on.
pub(crate) struct FnJob<T, F> {
    weight: usize,
    f: Option<F>,
    out: Option<Result<T, HistoryError>>,
    reply: oneshot::Sender<Result<T, HistoryError>>,
}

impl<T, F> FnJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &WriteCtx) -> Result<T, HistoryError> + Send + 'static,
{
    pub(crate) fn boxed(
        weight: usize,
        f: F,
    ) -> (Box<dyn Job>, oneshot::Receiver<Result<T, HistoryError>>) {
        let (reply, rx) = oneshot::channel();
        (
            Box::new(FnJob {
                weight,
                f: Some(f),
                out: None,
                reply,
            }),
            rx,
        )
    }
}

impl<T, F> Job for FnJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &WriteCtx) -> Result<T, HistoryError> + Send + 'static,
{
    fn weight(&self) -> usize {
        self.weight
    }

    fn run(&mut self, conn: &Connection, ctx: &WriteCtx) -> bool {
        let out = match self.f.take() {
            // A panic (a bug) fails this operation only; the writer keeps serving.
            Some(f) => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn, ctx))) {
                    Ok(out) => out,
                    Err(_) => Err(HistoryError::Internal("a write operation panicked".into())),
                }
            }
            None => Err(HistoryError::Closed),
        };
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), &HistoryError>) {
        let out = match (self.out, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (Some(Ok(_)), Err(e)) => Err(commit_error(e)),
            (None, Err(e)) => Err(commit_error(e)),
            (None, Ok(())) => Err(HistoryError::Closed),
        };
        // The caller may have stopped waiting; nothing to do then.
        let _ = self.reply.send(out);
    }
}

fn commit_error(e: &HistoryError) -> HistoryError {
    match e {
        HistoryError::WritesRefused => HistoryError::WritesRefused,
        other => HistoryError::Commit(other.to_string()),
    }
}

/// What the writer thread receives.
pub(crate) enum Op {
    Job(Box<dyn Job>),
    /// Delete calls started before `cutoff_ms`, in chunks.
    Purge {
        cutoff_ms: i64,
        reply: oneshot::Sender<Result<PurgeReport, HistoryError>>,
    },
    /// Checkpoint the WAL and stop.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

pub(crate) struct Writer {
    pub conn: Connection,
    pub rx: Receiver<Op>,
    pub ctx: WriteCtx,
    /// Set when the file was found damaged: every write is refused.
    pub refuse: Arc<AtomicBool>,
    /// Retention in days, if the policy is on.
    pub retention_days: Option<u32>,
    /// Background WAL checkpoints (when running, automatic checkpoints are off).
    pub checkpointer: Option<Checkpointer>,
}

impl Writer {
    /// The writer thread's body. Returns when asked to shut down or when every sender is gone.
    pub(crate) fn run(mut self) {
        if self.checkpointer.is_some() {
            if let Err(e) = self.conn.execute_batch("PRAGMA wal_autocheckpoint = 0") {
                tracing::warn!(error = %e, "history: could not move checkpoints off the commit path");
            }
        }
        let mut backlog: VecDeque<Op> = VecDeque::new();
        let mut next_purge = self.retention_days.map(|_| Instant::now());
        loop {
            if backlog.is_empty() {
                self.idle_maintenance(&mut backlog);
            }
            if backlog.is_empty() {
                let op = match next_purge {
                    Some(at) => match self
                        .rx
                        .recv_timeout(at.saturating_duration_since(Instant::now()))
                    {
                        Ok(op) => op,
                        Err(RecvTimeoutError::Timeout) => {
                            next_purge = Some(Instant::now() + PURGE_EVERY);
                            self.retention_tick(&mut backlog);
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    },
                    None => match self.rx.recv() {
                        Ok(op) => op,
                        Err(_) => break,
                    },
                };
                backlog.push_back(op);
            }
            self.drain(&mut backlog);
            if self.commit_leading_jobs(&mut backlog) {
                continue;
            }
            match backlog.pop_front() {
                Some(Op::Purge { cutoff_ms, reply }) => {
                    let res = self.purge(cutoff_ms, &mut backlog);
                    let _ = reply.send(res);
                }
                Some(Op::Shutdown { reply }) => {
                    self.shutdown();
                    let _ = reply.send(());
                    return;
                }
                Some(Op::Job(_)) | None => {}
            }
        }
        self.shutdown();
    }

    fn drain(&self, backlog: &mut VecDeque<Op>) {
        while backlog.len() < MAX_BATCH_OPS * 4 {
            match self.rx.try_recv() {
                Ok(op) => backlog.push_back(op),
                Err(_) => break,
            }
        }
    }

    /// Run the jobs at the front of the backlog in one transaction. Returns whether any ran.
    fn commit_leading_jobs(&mut self, backlog: &mut VecDeque<Op>) -> bool {
        let mut jobs: Vec<Box<dyn Job>> = Vec::new();
        let mut weight = 0;
        while jobs.len() < MAX_BATCH_OPS && weight < MAX_BATCH_WEIGHT {
            match backlog.pop_front() {
                Some(Op::Job(job)) => {
                    weight += job.weight().max(1);
                    jobs.push(job);
                }
                Some(other) => {
                    backlog.push_front(other);
                    break;
                }
                None => break,
            }
        }
        if jobs.is_empty() {
            return false;
        }
        if self.refuse.load(Ordering::SeqCst) {
            for job in jobs {
                job.finish(Err(&HistoryError::WritesRefused));
            }
            return true;
        }
        self.commit_batch(jobs);
        true
    }

    fn commit_batch(&mut self, mut jobs: Vec<Box<dyn Job>>) {
        let ctx = self.ctx;
        let outcome = (|| -> Result<(), HistoryError> {
            let mut tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            for job in jobs.iter_mut() {
                let sp = tx.savepoint()?;
                if job.run(&sp, &ctx) {
                    sp.commit()?;
                }
                // A failed job's savepoint rolls back on drop; the others stay.
            }
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "history: a write batch did not commit");
            if let HistoryError::Sqlite(se) = e {
                if HistoryError::is_corruption(se) {
                    self.refuse.store(true, Ordering::SeqCst);
                }
            }
        }
        for job in jobs {
            job.finish(outcome.as_ref().map(|_| ()));
        }
    }

    fn purge(
        &mut self,
        cutoff_ms: i64,
        backlog: &mut VecDeque<Op>,
    ) -> Result<PurgeReport, HistoryError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(HistoryError::WritesRefused);
        }
        let mut report = PurgeReport::default();
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = ingest::purge_chunk(&tx, cutoff_ms, PURGE_CHUNK, &mut report)?;
            tx.commit()?;
            if n == 0 {
                break;
            }
            // Let acknowledged writes through between chunks.
            self.drain(backlog);
            while self.commit_leading_jobs(backlog) {}
        }
        if report.calls > 0 {
            tracing::info!(calls = report.calls, "history: retention purge done");
        }
        Ok(report)
    }

    /// While nothing is queued, merge the search index a step at a time (checking for new work
    /// between steps), so commits never carry the merge work.
    fn idle_maintenance(&mut self, backlog: &mut VecDeque<Op>) {
        if self.refuse.load(Ordering::SeqCst) {
            return;
        }
        loop {
            self.drain(backlog);
            if !backlog.is_empty() {
                return;
            }
            match self.search_merge_step() {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "history: search index merge step failed");
                    return;
                }
            }
        }
    }

    /// One bounded FTS5 merge step. Returns whether it did any work (a no-op is rolled back).
    ///
    /// The step commits with `synchronous=NORMAL`: it only reorganises derived data, so it needs
    /// no fsync of its own (WAL stays consistent; the next acknowledged commit syncs it).
    fn search_merge_step(&mut self) -> Result<bool, HistoryError> {
        self.conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        let step = (|| -> Result<bool, HistoryError> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let before = tx.total_changes();
            tx.execute(
                "INSERT INTO call_fts (call_fts, rank) VALUES ('merge', ?1)",
                [SEARCH_MERGE_PAGES],
            )?;
            // FTS5 reports work as two or more changes.
            let worked = tx.total_changes().saturating_sub(before) >= 2;
            if worked {
                tx.commit()?;
            } else {
                tx.rollback()?;
            }
            Ok(worked)
        })();
        // Acknowledged writes never run without FULL: if it cannot be restored, refuse writes.
        if let Err(e) = self.conn.execute_batch("PRAGMA synchronous = FULL") {
            tracing::error!(error = %e, "history: could not restore synchronous=FULL; refusing writes");
            self.refuse.store(true, Ordering::SeqCst);
        }
        step
    }

    fn retention_tick(&mut self, backlog: &mut VecDeque<Op>) {
        let Some(days) = self.retention_days else {
            return;
        };
        let cutoff = super::now_ms() - i64::from(days) * 86_400_000;
        if let Err(e) = self.purge(cutoff, backlog) {
            tracing::warn!(error = %e, "history: retention purge failed");
        }
    }

    fn shutdown(&mut self) {
        if let Some(mut c) = self.checkpointer.take() {
            c.stop();
        }
        if let Err(e) = self
            .conn
            .execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
        {
            tracing::warn!(error = %e, "history: checkpoint on close failed");
        }
    }
}
