//! Telphin extension event subscriptions managed by the client, against the simulator.

mod telphin_support;

use cti_core::telphin::{
    EventMethod, EventSubscription, SubscriptionReport, TelphinClient, TelphinConfig,
};
use telphin_support::*;

const LISTENER: &str = "http://127.0.0.1:8787/hooks/NEWTOKEN/telphin";

fn sorted(mut subs: Vec<EventSubscription>) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = subs
        .drain(..)
        .map(|s| (s.event_type, s.url, s.method))
        .collect();
    v.sort();
    v
}

fn expected(url: &str, method: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = ["answer", "dial-in", "dial-out", "hangup"]
        .iter()
        .map(|t| (t.to_string(), url.to_string(), method.to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn ensure_twice_gives_the_same_four_subscriptions() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = client(&sim);
    let first = c
        .ensure_subscriptions(LISTENER, EventMethod::Post)
        .await
        .unwrap();
    assert_eq!(
        first,
        SubscriptionReport {
            created: 4,
            ..Default::default()
        }
    );
    let subs = c.list_subscriptions(AGENT).await.unwrap();
    let ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
    assert_eq!(sorted(subs), expected(LISTENER, "POST"));

    let again = c
        .ensure_subscriptions(LISTENER, EventMethod::Post)
        .await
        .unwrap();
    assert_eq!(
        again,
        SubscriptionReport {
            kept: 4,
            ..Default::default()
        }
    );
    let subs = c.list_subscriptions(AGENT).await.unwrap();
    assert_eq!(
        subs.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        ids,
        "nothing was recreated"
    );
    assert_eq!(received(&sim, "POST /api/ver1.0/extension/34414/event/"), 4);
}

#[tokio::test]
async fn stale_and_duplicate_subscriptions_are_fixed_and_foreign_ones_left_alone() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = client(&sim);
    let old = "http://127.0.0.1:8787/hooks/OLDTOKEN/telphin";
    let crm = "https://crm.example.com/telphin";
    c.create_subscription(AGENT, old, EventMethod::Get, "dial-in")
        .await
        .unwrap();
    c.create_subscription(AGENT, LISTENER, EventMethod::Get, "answer")
        .await
        .unwrap();
    c.create_subscription(AGENT, LISTENER, EventMethod::Post, "hangup")
        .await
        .unwrap();
    c.create_subscription(AGENT, LISTENER, EventMethod::Post, "hangup")
        .await
        .unwrap();
    c.create_subscription(AGENT, crm, EventMethod::Post, "hangup")
        .await
        .unwrap();

    let report = c
        .ensure_subscriptions(LISTENER, EventMethod::Post)
        .await
        .unwrap();
    assert_eq!(
        report,
        SubscriptionReport {
            created: 1,
            kept: 1,
            updated: 2,
            removed: 1
        }
    );
    let subs = c.list_subscriptions(AGENT).await.unwrap();
    let mut want = expected(LISTENER, "POST");
    want.push(("hangup".into(), crm.into(), "POST".into()));
    want.sort();
    assert_eq!(sorted(subs), want);

    // A different method is a correction too; the second run is quiet again.
    let report = c
        .ensure_subscriptions(LISTENER, EventMethod::Get)
        .await
        .unwrap();
    assert_eq!(
        report,
        SubscriptionReport {
            updated: 4,
            ..Default::default()
        }
    );
    let report = c
        .ensure_subscriptions(LISTENER, EventMethod::Get)
        .await
        .unwrap();
    assert_eq!(
        report,
        SubscriptionReport {
            kept: 4,
            ..Default::default()
        }
    );

    // Removing takes only the panel's own.
    assert_eq!(c.remove_subscriptions().await.unwrap(), 4);
    let left = c.list_subscriptions(AGENT).await.unwrap();
    assert_eq!(
        sorted(left),
        vec![("hangup".to_string(), crm.to_string(), "POST".to_string())]
    );
}

#[tokio::test]
async fn every_configured_extension_is_subscribed_and_bad_input_is_refused() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let cfg = TelphinConfig {
        extension_ids: vec![AGENT.into(), "34415".into()],
        events_url: LISTENER.into(),
        ..config(&sim)
    };
    let c = TelphinClient::new(cfg).unwrap();
    let report = c
        .ensure_subscriptions(LISTENER, EventMethod::Get)
        .await
        .unwrap();
    assert_eq!(report.created, 8);
    assert_eq!(
        sorted(c.list_subscriptions("34415").await.unwrap()),
        expected(LISTENER, "GET")
    );
    assert!(c
        .ensure_subscriptions("not a url", EventMethod::Get)
        .await
        .is_err());
    assert!(c
        .ensure_subscriptions("ftp://x/hooks/t/telphin", EventMethod::Get)
        .await
        .is_err());

    // A fresh client (e.g. after a restart) removes by the configured events_url.
    let fresh = TelphinClient::new(TelphinConfig {
        extension_ids: vec![AGENT.into(), "34415".into()],
        events_url: LISTENER.into(),
        ..config(&sim)
    })
    .unwrap();
    assert_eq!(fresh.remove_subscriptions().await.unwrap(), 8);
    assert!(c.list_subscriptions(AGENT).await.unwrap().is_empty());
}
