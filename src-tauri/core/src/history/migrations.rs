//! Numbered schema migrations (`migrations/NNNN_name.sql`, embedded), each applied in its own
//! transaction and recorded in the `schema_migrations` table.
//!
//! To change the schema, add `migrations/0002_what.sql` and a [`Migration`] entry below, and add
//! a case to `tests/history_migrate.rs` that builds a v1 file with data and opens it.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::HistoryError;
use super::now_ms;

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// All migrations, in order; versions are 1, 2, 3, ... without gaps.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "derived_signatures",
        sql: include_str!("../../migrations/0002_derived_signatures.sql"),
    },
];

/// The schema version this build writes.
pub const LATEST_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_ms INTEGER NOT NULL
)";

/// The schema version of an open database (0 for a new, empty file).
pub fn current_version(conn: &Connection) -> Result<u32, HistoryError> {
    let has_table: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    let v: Option<i64> = conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    Ok(v.and_then(|v| u32::try_from(v).ok()).unwrap_or(0))
}

/// Apply the migrations after the current version up to `target` (inclusive). Returns how many
/// were applied. A database newer than this build is refused with
/// [`HistoryError::SchemaTooNew`] and left untouched.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, HistoryError> {
    if target > LATEST_VERSION {
        return Err(HistoryError::invalid(format!(
            "schema version {target} does not exist (latest is {LATEST_VERSION})"
        )));
    }
    let current = current_version(conn)?;
    if current > LATEST_VERSION {
        return Err(HistoryError::SchemaTooNew {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    let mut applied = 0;
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        let step = |conn: &mut Connection| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(VERSION_TABLE)?;
            tx.execute_batch(m.sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, ?2, ?3)",
                rusqlite::params![m.version, m.name, now_ms()],
            )?;
            tx.commit()
        };
        step(conn).map_err(|source| {
            if HistoryError::is_corruption(&source) {
                HistoryError::Sqlite(source)
            } else {
                HistoryError::Migration {
                    version: m.version,
                    source,
                }
            }
        })?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "history schema migrated"
        );
        applied += 1;
    }
    Ok(applied)
}

/// Bring a database to [`LATEST_VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<u32, HistoryError> {
    migrate_to(conn, LATEST_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_contiguous_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version as usize,
                i + 1,
                "migration {} out of order",
                m.name
            );
            assert!(!m.sql.trim().is_empty());
        }
    }

    #[test]
    fn migrating_twice_is_a_no_op_and_too_new_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(current_version(&conn).unwrap(), 0);
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() as u32);
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(current_version(&conn).unwrap(), LATEST_VERSION);
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, 'future', 0)",
            [LATEST_VERSION + 1],
        )
        .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(HistoryError::SchemaTooNew { .. })
        ));
    }
}
