//! Read connections: a small pool, so list, search and details never wait on the writer.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::error::HistoryError;
use super::types::{CallDetails, CallFilter, CallPage, ExportFormat, PageRequest, RejectedEntry};
use super::{export, open, query};

pub(crate) struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf, max_idle: usize) -> Self {
        ReaderPool {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    pub(crate) fn get(self: &Arc<Self>) -> Result<Reader, HistoryError> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open::open_reader(&self.path)?,
        };
        Ok(Reader {
            conn: Some(conn),
            pool: Arc::clone(self),
        })
    }
}

/// A read connection borrowed from the pool (returned on drop). Every method is blocking; from
/// async code use [`super::History::read`].
pub struct Reader {
    conn: Option<Connection>,
    pool: Arc<ReaderPool>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < self.pool.max_idle {
                idle.push(conn);
            }
        }
    }
}

impl Reader {
    /// The read-only (`query_only`) connection, for diagnostics and tools.
    pub fn connection(&self) -> Result<&Connection, HistoryError> {
        self.conn.as_ref().ok_or(HistoryError::Closed)
    }

    /// Calls matching `filter` (including full-text search), newest first.
    pub fn list_calls(
        &self,
        filter: &CallFilter,
        page: &PageRequest,
    ) -> Result<CallPage, HistoryError> {
        query::list_calls(self.connection()?, filter, page)
    }

    /// How many calls match `filter`.
    pub fn count_calls(&self, filter: &CallFilter) -> Result<u64, HistoryError> {
        query::count_calls(self.connection()?, filter)
    }

    /// Inbound calls nobody answered, newest first.
    pub fn missed_calls(&self, page: &PageRequest) -> Result<CallPage, HistoryError> {
        let filter = CallFilter {
            missed_only: true,
            ..CallFilter::default()
        };
        self.list_calls(&filter, page)
    }

    /// Everything about one call, read in one snapshot.
    pub fn call_details(&self, call_id: i64) -> Result<CallDetails, HistoryError> {
        let conn = self.connection()?;
        let tx = conn.unchecked_transaction()?;
        let details = query::call_details(&tx, call_id)?;
        tx.finish()?;
        Ok(details)
    }

    /// Rejected listener requests, newest first.
    pub fn rejected_requests(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> Result<Vec<RejectedEntry>, HistoryError> {
        query::rejected_requests(self.connection()?, limit, before_id)
    }

    /// Write the calls matching `filter` as CSV or JSON (one snapshot). Returns the call count.
    pub fn export(
        &self,
        filter: &CallFilter,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64, HistoryError> {
        let conn = self.connection()?;
        let tx = conn.unchecked_transaction()?;
        let n = export::export(&tx, filter, format, out)?;
        tx.finish()?;
        Ok(n)
    }

    /// Full `PRAGMA integrity_check`; an empty list means the file is sound.
    ///
    /// Runs on a fresh connection: on a long-lived connection SQLite's FTS5 integrity check can
    /// report "malformed inverted index" after another connection ran an FTS5 `merge` (searches
    /// on that connection stay correct; a fresh connection reports the file sound).
    pub fn integrity_check(&self) -> Result<Vec<String>, HistoryError> {
        let conn = open::open_reader(&self.pool.path)?;
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(lines.into_iter().filter(|l| l != "ok").collect())
    }
}
