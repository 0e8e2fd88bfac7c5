//! Errors of the history store.

use std::path::PathBuf;

use crate::error::{Code, Coded};

/// What can go wrong in the history store.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file failed the integrity check (or is not a database at all). A copy of it was
    /// saved next to it; nothing was changed. [`super::History::recover_fresh`] starts over.
    #[error(
        "the history database {} is damaged ({detail}); a copy was saved as {}",
        path.display(),
        copy.display()
    )]
    Damaged {
        path: PathBuf,
        copy: PathBuf,
        detail: String,
    },

    /// The file is damaged and even the safety copy could not be written.
    #[error("the history database {} is damaged ({detail}) and could not be copied aside: {source}", path.display())]
    DamagedNoCopy {
        path: PathBuf,
        detail: String,
        #[source]
        source: std::io::Error,
    },

    /// The file was written by a newer version of the app.
    #[error("the history database has schema version {found}; this version of the app supports up to {supported}")]
    SchemaTooNew { found: u32, supported: u32 },

    #[error("history schema migration {version} failed: {source}")]
    Migration {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },

    #[error("history storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("history file error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A query or an event the store cannot accept.
    #[error("{0}")]
    InvalidInput(String),

    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: i64 },

    /// The transaction holding the operation did not commit; nothing of it was stored.
    #[error("the history transaction did not commit: {0}")]
    Commit(String),

    /// A bug in the store (a write operation or read task panicked); nothing of it was stored.
    #[error("internal history error: {0}")]
    Internal(String),

    /// Writing an export failed (the output, not the database).
    #[error("history export failed: {0}")]
    Export(String),

    /// The store was closed, or its writer stopped.
    #[error("the history store is closed")]
    Closed,

    /// Writes are refused because the background integrity check found the file damaged.
    #[error("the history database is damaged; writes are refused until it is recovered")]
    WritesRefused,
}

impl HistoryError {
    /// Whether a SQLite error says the file is damaged or not a database.
    pub(crate) fn is_corruption(e: &rusqlite::Error) -> bool {
        matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase)
        )
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        HistoryError::InvalidInput(msg.into())
    }
}

impl Coded for HistoryError {
    fn code(&self) -> Code {
        match self {
            HistoryError::InvalidInput(_) => Code::InvalidInput,
            HistoryError::NotFound { .. } => Code::NotFound,
            _ => Code::Storage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_ui_list() {
        assert_eq!(HistoryError::invalid("x").code(), Code::InvalidInput);
        assert_eq!(
            HistoryError::NotFound {
                what: "call",
                id: 3
            }
            .code(),
            Code::NotFound
        );
        assert_eq!(HistoryError::Closed.code(), Code::Storage);
        assert_eq!(
            HistoryError::NotFound {
                what: "call",
                id: 3
            }
            .to_string(),
            "call 3 not found"
        );
    }
}
