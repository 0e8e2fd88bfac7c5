//! Damaged files: a clear error, a copy aside, never a silent fresh start; explicit recovery.

mod history_support;

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cti_core::history::{
    CallFilter, History, HistoryConfig, HistoryError, IntegrityStatus, PageRequest,
};
use cti_core::model::{Direction, Source};
use cti_core::{Code, Coded};
use history_support::*;

/// A closed history file with `calls` calls, everything checkpointed into the main file.
async fn filled_file(dir: &Path, calls: i64) -> PathBuf {
    let path = dir.join("history.db");
    let h = History::open(&path, &HistoryConfig::default()).unwrap();
    let mut events = Vec::new();
    for i in 0..calls {
        let s = simple_call(
            Source::Webhook,
            &format!("w{i}"),
            T0 + i * 1_000,
            Direction::Inbound,
            &format!("916{i:07}"),
            "101",
            "200",
        );
        events.extend(s.events);
    }
    h.import(events).await.unwrap();
    h.close().await.unwrap();
    drop(h);
    path
}

fn overwrite(path: &Path, at: u64, len: usize) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8 | 0x80).collect();
    f.write_all(&garbage).unwrap();
    f.sync_all().unwrap();
}

fn damaged_copy(e: HistoryError, path: &Path) -> PathBuf {
    assert_eq!(e.code(), Code::Storage);
    match e {
        HistoryError::Damaged {
            path: p,
            copy,
            detail,
        } => {
            assert_eq!(p, path);
            assert!(!detail.is_empty());
            let name = copy.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with("history.db.damaged-"), "{name}");
            copy
        }
        other => panic!("expected Damaged, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_header_is_reported_copied_aside_and_recoverable() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled_file(dir.path(), 20).await;
    overwrite(&path, 0, 100);
    let before = std::fs::read(&path).unwrap();

    let e = History::open(&path, &HistoryConfig::default()).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    let copy = damaged_copy(e, &path);
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "the copy holds the damaged bytes"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the damaged file is left as it was"
    );
    // Opening again does not silently start empty either.
    assert!(matches!(
        History::open(&path, &HistoryConfig::default()),
        Err(HistoryError::Damaged { .. })
    ));

    let (h, moved) = History::recover_fresh(&path, &HistoryConfig::default()).unwrap();
    let moved = moved.unwrap();
    assert_eq!(std::fs::read(&moved).unwrap(), before);
    assert!(h
        .list_calls(CallFilter::default(), PageRequest::first(5))
        .await
        .unwrap()
        .calls
        .is_empty());
    h.store(
        None,
        simple_call(
            Source::Era,
            "e1",
            T0,
            Direction::Inbound,
            "9582412128",
            "101",
            "200",
        )
        .events,
    )
    .await
    .unwrap();
    assert_eq!(
        h.list_calls(CallFilter::default(), PageRequest::first(5))
            .await
            .unwrap()
            .calls
            .len(),
        1
    );
    assert_eq!(h.integrity(), IntegrityStatus::Ok);
}

#[tokio::test]
async fn damaged_pages_are_found_by_the_startup_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled_file(dir.path(), 1_500).await;
    let len = std::fs::metadata(&path).unwrap().len();
    overwrite(&path, len / 4, (len / 2) as usize);

    let e = History::open(&path, &HistoryConfig::default()).unwrap_err();
    let copy = damaged_copy(e, &path);
    assert!(copy.exists());
    assert!(path.exists());
}

#[tokio::test]
async fn large_files_are_checked_in_the_background_and_damage_stops_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled_file(dir.path(), 1_500).await;
    let len = std::fs::metadata(&path).unwrap().len();
    overwrite(&path, len / 4, (len / 2) as usize);

    let cfg = HistoryConfig {
        background_check_above_bytes: 0,
        ..HistoryConfig::default()
    };
    let h = History::open(&path, &cfg).unwrap();
    match h.integrity_checked().await {
        IntegrityStatus::Damaged {
            copy: Some(copy),
            detail,
        } => {
            assert!(Path::new(&copy).exists());
            assert!(!detail.is_empty());
        }
        other => panic!("expected Damaged with a copy, got {other:?}"),
    }
    let e = h
        .store(
            None,
            simple_call(
                Source::Era,
                "e1",
                T0,
                Direction::Inbound,
                "9582412128",
                "101",
                "200",
            )
            .events,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, HistoryError::WritesRefused), "{e:?}");
    h.close().await.unwrap();
    drop(h);
    let (fresh, moved) = History::recover_fresh(&path, &HistoryConfig::default()).unwrap();
    assert!(moved.is_some());
    assert!(fresh
        .list_calls(CallFilter::default(), PageRequest::first(5))
        .await
        .unwrap()
        .calls
        .is_empty());
}

#[tokio::test]
async fn a_sound_file_passes_both_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled_file(dir.path(), 50).await;
    let bg = HistoryConfig {
        background_check_above_bytes: 0,
        ..HistoryConfig::default()
    };
    let h = History::open(&path, &bg).unwrap();
    assert_eq!(h.integrity_checked().await, IntegrityStatus::Ok);
    assert_eq!(
        h.list_calls(CallFilter::default(), PageRequest::first(100))
            .await
            .unwrap()
            .calls
            .len(),
        50
    );
    h.close().await.unwrap();
    let h = History::open(&path, &HistoryConfig::default()).unwrap();
    assert_eq!(h.integrity(), IntegrityStatus::Ok);
    assert!(h.reader().unwrap().integrity_check().unwrap().is_empty());
    // No copies were made of a sound file.
    let copies = std::fs::read_dir(dir.path()).unwrap().filter(|e| {
        e.as_ref()
            .map(|e| e.file_name().to_string_lossy().contains("damaged"))
            .unwrap_or(false)
    });
    assert_eq!(copies.count(), 0);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    std::fs::write(
        &path,
        b"these are somebody's notes, not a database\n".repeat(100),
    )
    .unwrap();
    let e = History::open(&path, &HistoryConfig::default()).unwrap_err();
    damaged_copy(e, &path);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("these are somebody's notes"));
}
