//! Negative cases: token, method, body limit, slow clients, source addresses, failing store,
//! configuration errors, shutdown. Every rejection has the right status and lands in the
//! rejected log; none reaches the store.

mod hooks_support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use cti_core::hooks::{Listener, ListenerConfig, ListenerError};
use cti_core::Coded as _;
use hooks_support::{config, http, start, TestSink};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const CREATE: &str = r#"{"SessionID":"s1","HookType":"CreateIncCall","StartTime":"2021-01-28 14:15:22","CityNumber":"1","Caller":"2","Called":"3"}"#;

#[tokio::test]
async fn wrong_token_is_404_like_an_unknown_path_and_never_logged() {
    let cfg = config();
    let token = cfg.token.clone();
    let (listener, sink) = start(cfg).await;
    let base = format!("http://{}", listener.local_addr());
    let client = http();
    let mut near = token.clone().into_bytes();
    near[0] = if near[0] == b'A' { b'B' } else { b'A' };
    let near = String::from_utf8(near).unwrap();
    let mut replies = Vec::new();
    for path in [
        format!("/hooks/{near}/calls"),
        "/hooks/x/calls".to_string(),
        format!("/hooks/{token}x/calls"),
        format!("/hooks/{token}/nothing"),
        "/nowhere".to_string(),
        format!("/hooks/{token}/calls/"),
    ] {
        let resp = client
            .post(format!("{base}{path}"))
            .body(CREATE)
            .send()
            .await
            .unwrap();
        replies.push((path, resp.status().as_u16(), resp.text().await.unwrap()));
    }
    for (path, status, body) in &replies {
        assert_eq!((*status, body.as_str()), (404, "not found"), "{path}");
    }
    assert!(sink.events().is_empty());
    assert_eq!(sink.accepts(), 0);
    let rejected = sink.wait_rejected(replies.len()).await;
    assert!(rejected.iter().all(|r| r.status == 404));
    assert!(rejected.iter().any(|r| r.path == "/hooks/***/calls"));
    // The secret appears nowhere the UI can see.
    let seen = serde_json::to_string(&(
        listener.inspector().entries(),
        listener.rejected(),
        rejected,
    ))
    .unwrap();
    assert!(!seen.contains(&token));
    assert!(!seen.contains(&near));
    // The right token still works.
    let resp = client
        .post(listener.urls().calls)
        .body(CREATE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    listener.shutdown().await;
}

#[tokio::test]
async fn wrong_methods_are_405() {
    let (listener, sink) = start(config()).await;
    let urls = listener.urls();
    let client = http();
    assert_eq!(client.get(&urls.calls).send().await.unwrap().status(), 405);
    assert_eq!(client.delete(&urls.ivr).send().await.unwrap().status(), 405);
    assert_eq!(
        client.put(&urls.telphin).send().await.unwrap().status(),
        405
    );
    assert_eq!(
        client.post(&urls.health).send().await.unwrap().status(),
        405
    );
    let health = client.get(&urls.health).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    assert_eq!(sink.wait_rejected(4).await.len(), 4);
    assert_eq!(sink.accepts(), 0);
    listener.shutdown().await;
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_declared_or_streamed() {
    let (listener, sink) = start(config()).await;
    assert_eq!(ListenerConfig::default().body_limit_bytes, 64 * 1024);
    let url = listener.urls().calls;
    let client = http();
    // Just under the limit: a seed hook padded with an unknown field is accepted.
    let pad = "x".repeat(64 * 1024 - CREATE.len() - 20);
    let padded = CREATE.replacen('{', &format!("{{\"Pad\":\"{pad}\","), 1);
    assert!(padded.len() <= 64 * 1024);
    assert_eq!(
        client
            .post(&url)
            .body(padded)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Over it with a Content-Length.
    let big = format!("{CREATE}{}", " ".repeat(64 * 1024));
    let resp = client.post(&url).body(big.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    assert!(resp.text().await.unwrap().contains("65536"));
    // Over it in chunks without a length.
    let path = url
        .trim_start_matches(&format!("http://{}", listener.local_addr()))
        .to_string();
    let mut s = TcpStream::connect(listener.local_addr()).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in big.as_bytes().chunks(4096) {
        s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(chunk).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
    }
    s.write_all(b"0\r\n\r\n").await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut reply)).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert_eq!(sink.events().len(), 1);
    let rejected = sink.wait_rejected(2).await;
    assert!(rejected
        .iter()
        .all(|r| r.status == 413 && r.body.is_empty()));
    listener.shutdown().await;
}

#[tokio::test]
async fn slow_headers_close_the_connection_and_are_logged() {
    let mut cfg = config();
    cfg.header_timeout_ms = 200;
    let (listener, sink) = start(cfg).await;
    let mut s = TcpStream::connect(listener.local_addr()).await.unwrap();
    s.write_all(b"POST /hooks/x/calls HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the listener must close a connection whose headers never complete"
    );
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    let rejected = sink.wait_rejected(1).await;
    assert_eq!(rejected[0].status, 408);
    assert!(
        rejected[0].reason.contains("headers"),
        "{}",
        rejected[0].reason
    );
    // A well-behaved client on a keep-alive connection is not affected afterwards.
    let resp = http()
        .post(listener.urls().calls)
        .body(CREATE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    listener.shutdown().await;
}

#[tokio::test]
async fn slow_bodies_are_408() {
    let mut cfg = config();
    cfg.body_timeout_ms = 200;
    let token = cfg.token.clone();
    let (listener, sink) = start(cfg).await;
    let mut s = TcpStream::connect(listener.local_addr()).await.unwrap();
    let head = format!(
        "POST /hooks/{token}/calls HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"Sess"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(sink.wait_rejected(1).await[0].status, 408);
    assert!(sink.events().is_empty());
    listener.shutdown().await;
}

#[tokio::test]
async fn malformed_http_is_rejected() {
    let (listener, sink) = start(config()).await;
    let mut s = TcpStream::connect(listener.local_addr()).await.unwrap();
    s.write_all(b"HELLO WORLD\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 400"));
    let rejected = sink.wait_rejected(1).await;
    assert!(
        rejected[0].reason.contains("malformed"),
        "{}",
        rejected[0].reason
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn source_addresses_outside_the_allow_list_get_403() {
    let mut cfg = config();
    cfg.allow_from = vec!["213.170.84.96/27".into(), "10.0.0.0/8".into()];
    let (listener, sink) = start(cfg).await;
    let client = http();
    let resp = client
        .post(listener.urls().calls)
        .body(CREATE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("127.0.0.1"));
    assert_eq!(
        client
            .get(listener.urls().health)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(sink.wait_rejected(2).await.len(), 2);
    assert_eq!(sink.accepts(), 0);
    listener.shutdown().await;

    let mut cfg = config();
    cfg.allow_from = vec!["127.0.0.0/8".into()];
    let (listener, _sink) = start(cfg).await;
    let resp = client
        .post(listener.urls().calls)
        .body(CREATE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    listener.shutdown().await;
}

#[tokio::test]
async fn a_failing_or_stalled_store_is_503_never_200() {
    let mut cfg = config();
    cfg.store_timeout_ms = 500;
    let (listener, sink) = start(cfg).await;
    let url = listener.urls().calls;
    let client = http();
    sink.fail.store(true, Ordering::SeqCst);
    let resp = client.post(&url).body(CREATE).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.text().await.unwrap().contains("disk full"));
    sink.fail.store(false, Ordering::SeqCst);
    sink.delay_ms.store(60_000, Ordering::SeqCst);
    let resp = client.post(&url).body(CREATE).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.text().await.unwrap().contains("did not answer"));
    sink.delay_ms.store(0, Ordering::SeqCst);
    // The platform's retry then succeeds.
    assert_eq!(
        client
            .post(&url)
            .body(CREATE)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        listener
            .rejected()
            .iter()
            .filter(|r| r.status == 503)
            .count(),
        2
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_then_refuses() {
    let (listener, sink) = start(config()).await;
    let addr = listener.local_addr();
    let url = listener.urls().calls;
    sink.delay_ms.store(300, Ordering::SeqCst);
    let in_flight = tokio::spawn(async move {
        http()
            .post(url)
            .body(CREATE)
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    // Stop while the request is inside the store.
    sink.wait_entered(1).await;
    listener.shutdown().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
    assert_eq!(sink.events().len(), 1);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn configuration_errors_are_typed() {
    let sink = Arc::new(TestSink::default());
    let cases = [
        ListenerConfig {
            port: 0,
            ..Default::default()
        },
        ListenerConfig {
            token: "short".into(),
            ..config()
        },
        ListenerConfig {
            token: format!("{}/../", config().token),
            ..config()
        },
        ListenerConfig {
            bind: "192.0.2.1".into(),
            ..config()
        },
        ListenerConfig {
            bind: "0.0.0.0".into(),
            allow_lan: true,
            ..config()
        },
        ListenerConfig {
            time_zone: "Mars/Olympus".into(),
            ..config()
        },
        ListenerConfig {
            allow_from: vec!["10.0.0.0/40".into()],
            ..config()
        },
        ListenerConfig {
            public_url: Some("ftp://x".into()),
            ..config()
        },
        ListenerConfig {
            enabled: false,
            ..config()
        },
    ];
    for cfg in cases {
        let err = Listener::start(cfg.clone(), sink.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("{cfg:?} must fail"));
        assert!(matches!(err, ListenerError::Config(_)), "{err}");
        assert_eq!(err.code(), cti_core::Code::Config);
    }
    // A port in use is a bind error.
    let (first, _s) = start(config()).await;
    let taken = ListenerConfig {
        port: first.local_addr().port(),
        ..config()
    };
    let err = Listener::start(taken, sink.clone()).await.err().unwrap();
    assert!(matches!(err, ListenerError::Bind { .. }), "{err}");
    first.shutdown().await;
}

#[tokio::test]
async fn urls_use_the_public_url() {
    let mut cfg = config();
    cfg.public_url = Some("https://pbx-gw.example:8443/".into());
    let token = cfg.token.clone();
    let (listener, _sink) = start(cfg).await;
    let urls = listener.urls();
    assert_eq!(
        urls.calls,
        format!("https://pbx-gw.example:8443/hooks/{token}/calls")
    );
    assert_eq!(
        urls.ivr,
        format!("https://pbx-gw.example:8443/hooks/{token}/ivr")
    );
    assert_eq!(urls.health, "https://pbx-gw.example:8443/health");
    listener.shutdown().await;
}
