//! Opening the file: connection settings, the startup integrity check, copying a damaged file
//! aside, and starting over after damage.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::error::HistoryError;

/// `<path>-wal`, `<path>-shm`.
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn io(path: &Path, source: std::io::Error) -> HistoryError {
    HistoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Bytes of the database and its WAL.
pub(crate) fn file_size(path: &Path) -> u64 {
    let len = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    len(path) + len(&sidecar(path, "-wal"))
}

/// Page cache of the write connection, KiB (`PRAGMA cache_size = -N`). SQLite fills its cache
/// up to this as pages are read and keeps it for the connection's life, so this is memory the
/// panel holds all day once the history is larger than the cache; the OS page cache keeps the
/// rest of a warm file a `pread` away.
pub(crate) const WRITER_CACHE_KIB: i64 = 8 * 1024;
/// Page cache of each pooled read connection, KiB: list, search and details read a few pages
/// each (`LIMIT 50`, indexed).
pub(crate) const READER_CACHE_KIB: i64 = 2 * 1024;
/// Page cache of the checkpointer's connection, KiB (it reads no tables).
pub(crate) const CHECKPOINTER_CACHE_KIB: i64 = 512;

/// The write connection: WAL, `synchronous=FULL` (a commit is on disk when it returns),
/// foreign keys on.
pub(crate) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "history: the file system refused WAL mode");
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{WRITER_CACHE_KIB};
         PRAGMA wal_autocheckpoint = 1000;"
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The checkpointer's connection.
pub(crate) fn open_checkpointer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_millis(100))?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = FULL; PRAGMA cache_size = -{CHECKPOINTER_CACHE_KIB};"
    ))?;
    Ok(conn)
}

/// A read connection (`query_only`).
pub(crate) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(&format!(
        "PRAGMA query_only = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{READER_CACHE_KIB};"
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Run `PRAGMA quick_check`. `Ok(None)` when the file is fine, `Ok(Some(detail))` when damaged.
pub(crate) fn quick_check(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare("PRAGMA quick_check(20)")?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(None)
    } else {
        Ok(Some(lines.join("; ")))
    }
}

/// `<file name>.damaged-<UTC timestamp>` next to `path`, not yet taken.
pub(crate) fn aside_name(path: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history".into());
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut candidate = dir.join(format!("{name}.damaged-{stamp}"));
    let mut n = 1;
    while candidate.exists() || sidecar(&candidate, "-wal").exists() {
        n += 1;
        candidate = dir.join(format!("{name}.damaged-{stamp}-{n}"));
    }
    candidate
}

fn copy_synced(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::copy(from, to)?;
    fs::File::open(to)?.sync_all()
}

/// Copy a damaged file (and its WAL) aside, leaving the original untouched.
pub(crate) fn copy_aside(path: &Path) -> std::io::Result<PathBuf> {
    let copy = aside_name(path);
    copy_synced(path, &copy)?;
    let wal = sidecar(path, "-wal");
    match copy_synced(&wal, &sidecar(&copy, "-wal")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    Ok(copy)
}

/// The error for a damaged file, after copying it aside.
pub(crate) fn damaged(path: &Path, detail: String) -> HistoryError {
    tracing::error!(path = %path.display(), detail, "history: the database file is damaged");
    match copy_aside(path) {
        Ok(copy) => HistoryError::Damaged {
            path: path.to_path_buf(),
            copy,
            detail,
        },
        Err(source) => HistoryError::DamagedNoCopy {
            path: path.to_path_buf(),
            detail,
            source,
        },
    }
}

/// Move the file (and its WAL; the shared-memory index is dropped) aside so a fresh one can be
/// created. Returns where it went, or `None` when there was no file.
pub(crate) fn move_aside(path: &Path) -> Result<Option<PathBuf>, HistoryError> {
    if !path.exists() {
        return Ok(None);
    }
    let aside = aside_name(path);
    fs::rename(path, &aside).map_err(|e| io(path, e))?;
    // A connection still closing elsewhere (the background check, the checkpointer) may
    // checkpoint its WAL into the moved file and delete the WAL and the index under us: a
    // sidecar that is gone by the time we get to it is fine.
    let wal = sidecar(path, "-wal");
    match fs::rename(&wal, sidecar(&aside, "-wal")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&wal, e)),
        _ => {}
    }
    let shm = sidecar(path, "-shm");
    match fs::remove_file(&shm) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&shm, e)),
        _ => {}
    }
    tracing::warn!(path = %path.display(), aside = %aside.display(), "history: damaged file moved aside");
    Ok(Some(aside))
}

/// Make sure the directory of `path` exists.
pub(crate) fn ensure_dir(path: &Path) -> Result<(), HistoryError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fs::create_dir_all(dir).map_err(|e| io(dir, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_kib(conn: &Connection) -> i64 {
        -conn
            .query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0))
            .unwrap()
    }

    #[test]
    fn every_connection_has_a_capped_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let w = open_writer(&path).unwrap();
        assert_eq!(cache_kib(&w), WRITER_CACHE_KIB);
        assert_eq!(cache_kib(&open_reader(&path).unwrap()), READER_CACHE_KIB);
        assert_eq!(
            cache_kib(&open_checkpointer(&path).unwrap()),
            CHECKPOINTER_CACHE_KIB
        );
        let query_only: i64 = open_reader(&path)
            .unwrap()
            .query_row("PRAGMA query_only", [], |r| r.get(0))
            .unwrap();
        assert_eq!(query_only, 1);
    }
}
