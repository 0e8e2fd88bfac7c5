//! CSV and JSON export: parse back, same rows as the list, filters applied.

mod history_support;

use cti_core::history::{
    CallFilter, ExportFormat, ExportedCall, History, HistoryError, PageRequest, CSV_HEADER,
};
use cti_core::model::{Direction, Source};
use history_support::*;

async fn seed(h: &History) {
    let mut events = Vec::new();
    for i in 0..1_203i64 {
        let dir = if i % 3 == 0 {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let code = if i % 4 == 0 { "304" } else { "200" };
        events.extend(
            simple_call(
                Source::Webhook,
                &format!("x{i}"),
                T0 + i * 1_000,
                dir,
                &format!("916{i:07}"),
                "101",
                code,
            )
            .events,
        );
    }
    h.import(events).await.unwrap();
    let tricky = CallScript::new(Source::Era, "tricky")
        .created(
            T0 + 10_000_000,
            Direction::Inbound,
            named("9031234567", "Doe, \"Johnny\"\nJr."),
            party("102"),
        )
        .ended(T0 + 10_060_000, "603-S", None);
    h.store(None, tricky.events).await.unwrap();
    let id = h
        .list_calls(CallFilter::default(), PageRequest::first(1))
        .await
        .unwrap()
        .calls[0]
        .id;
    h.add_note(id, Some("anna".into()), "first, with comma".into())
        .await
        .unwrap();
    h.add_note(id, None, "second \"quoted\"".into())
        .await
        .unwrap();
}

async fn all_calls(h: &History, filter: &CallFilter) -> Vec<cti_core::history::CallSummary> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let got = h.list_calls(filter.clone(), page).await.unwrap();
        out.extend(got.calls);
        match got.next {
            Some(n) => page.after = Some(n),
            None => return out,
        }
    }
}

#[tokio::test]
async fn csv_export_parses_back_to_the_listed_calls() {
    let (_dir, h) = open_temp();
    seed(&h).await;
    let filter = CallFilter::default();
    let mut buf = Vec::new();
    let n = h.export(&filter, ExportFormat::Csv, &mut buf).unwrap();
    let listed = all_calls(&h, &filter).await;
    assert_eq!(n as usize, listed.len());
    assert_eq!(listed.len(), 1_204);

    let mut rd = csv::Reader::from_reader(buf.as_slice());
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        CSV_HEADER.to_vec()
    );
    let rows: Vec<csv::StringRecord> = rd.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), listed.len());
    let col = |name: &str| CSV_HEADER.iter().position(|h| *h == name).unwrap();
    for (row, call) in rows.iter().zip(&listed) {
        assert_eq!(row[col("id")].parse::<i64>().unwrap(), call.id);
        assert_eq!(row[col("direction")], *call.direction.unwrap().as_str());
        assert_eq!(
            row[col("remote_number")],
            *call.remote.as_ref().unwrap().number
        );
        assert_eq!(row[col("outcome")], *call.outcome.unwrap().as_str());
        let started = chrono::DateTime::parse_from_rfc3339(&row[col("started_at")]).unwrap();
        assert_eq!(started.timestamp_millis(), call.started_ms);
    }
    let tricky = &rows[0];
    assert_eq!(&tricky[col("remote_name")], "Doe, \"Johnny\"\nJr.");
    assert_eq!(
        &tricky[col("notes")],
        "first, with comma | second \"quoted\""
    );
    assert_eq!(&tricky[col("missed")], "true");
    assert_eq!(&tricky[col("result_meaning")], "cancelled by the caller");
}

#[tokio::test]
async fn json_export_is_valid_and_applies_filters() {
    let (_dir, h) = open_temp();
    seed(&h).await;
    let filter = CallFilter {
        direction: Some(Direction::Outbound),
        ..CallFilter::default()
    };
    let mut buf = Vec::new();
    let n = h.export(&filter, ExportFormat::Json, &mut buf).unwrap();
    let parsed: Vec<ExportedCall> = serde_json::from_slice(&buf).unwrap();
    let listed = all_calls(&h, &filter).await;
    assert_eq!(n as usize, parsed.len());
    assert_eq!(parsed.len(), 401);
    assert!(parsed
        .iter()
        .all(|c| c.call.direction == Some(Direction::Outbound)));
    assert_eq!(
        parsed.iter().map(|c| c.call.clone()).collect::<Vec<_>>(),
        listed
    );

    let with_notes = CallFilter {
        text: Some("quoted".into()),
        ..CallFilter::default()
    };
    let mut buf = Vec::new();
    h.export(&with_notes, ExportFormat::Json, &mut buf).unwrap();
    let parsed: Vec<ExportedCall> = serde_json::from_slice(&buf).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(
        parsed[0].notes,
        vec![
            "first, with comma".to_string(),
            "second \"quoted\"".to_string()
        ]
    );

    // Nothing matches: still valid output.
    let none = CallFilter {
        number: Some("1111111".into()),
        ..CallFilter::default()
    };
    let mut buf = Vec::new();
    assert_eq!(h.export(&none, ExportFormat::Json, &mut buf).unwrap(), 0);
    assert!(serde_json::from_slice::<Vec<ExportedCall>>(&buf)
        .unwrap()
        .is_empty());
    let mut buf = Vec::new();
    h.export(&none, ExportFormat::Csv, &mut buf).unwrap();
    assert_eq!(String::from_utf8(buf).unwrap().lines().count(), 1);

    assert_eq!("CSV".parse::<ExportFormat>().unwrap(), ExportFormat::Csv);
    assert!("xml".parse::<ExportFormat>().is_err());
}

struct Broken;

impl std::io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "pipe closed",
        ))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_output_is_a_typed_error() {
    let (_dir, h) = open_temp();
    seed(&h).await;
    for format in [ExportFormat::Csv, ExportFormat::Json] {
        let e = h
            .export(&CallFilter::default(), format, &mut Broken)
            .unwrap_err();
        assert!(matches!(e, HistoryError::Export(_)), "{e:?}");
    }
}
