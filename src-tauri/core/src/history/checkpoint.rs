//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the threshold, which puts
//! a checkpoint (page copies + fsync of the database file) on an acknowledged write now and
//! then. The writer therefore turns it off and this thread checkpoints (`PASSIVE`: it never
//! blocks the writer or readers) on its own connection every [`INTERVAL`].

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::open;

/// How often the WAL is checkpointed.
pub(crate) const INTERVAL: Duration = Duration::from_millis(1000);

/// The running checkpointer; dropping [`Checkpointer::stop`]'s sender ends it.
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Start checkpointing `path`. `None` (with a warning) if it cannot run; the caller then
    /// keeps SQLite's automatic checkpoints.
    pub(crate) fn start(path: PathBuf) -> Option<Checkpointer> {
        let conn = match open::open_checkpointer(&path) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "history: no background checkpointer; checkpoints stay in commits");
                return None;
            }
        };
        let (stop, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("history-checkpoint".into())
            .spawn(move || run(conn, rx));
        match thread {
            Ok(t) => Some(Checkpointer {
                stop: Some(stop),
                thread: Some(t),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "history: could not start the checkpointer thread");
                None
            }
        }
    }

    /// Stop and wait for the thread.
    pub(crate) fn stop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<()>) {
    loop {
        match rx.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "history: passive checkpoint skipped");
                }
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
