//! Extension event subscriptions (`/extension/{id}/event/`): the agent's extensions send
//! `dial-in`, `dial-out`, `answer` and `hangup` to the panel's listener.
//!
//! [`TelphinClient::ensure_subscriptions`] is idempotent: it creates what is missing, keeps
//! what is right, repoints the panel's own stale subscriptions and removes duplicates. A
//! subscription is "the panel's own" when it points at the same listener (scheme, host, port)
//! on a `/hooks/{token}/telphin` path — e.g. from before the token was rotated. Subscriptions
//! to other URLs (a CRM, another machine) are never touched.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{seg, Retry, TelphinClient};
use super::config::EventMethod;
use super::error::TelphinError;

/// The event types the panel subscribes an agent's phone to.
pub const AGENT_EVENT_TYPES: [&str; 4] = ["dial-in", "dial-out", "answer", "hangup"];

/// One subscription as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSubscription {
    pub id: String,
    pub url: String,
    /// `GET` or `POST`.
    pub method: String,
    pub event_type: String,
}

impl EventSubscription {
    fn from_json(v: &Value) -> Option<EventSubscription> {
        let s = |k: &str| match v.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        Some(EventSubscription {
            id: s("id")?,
            url: s("url")?,
            method: s("method")
                .unwrap_or_else(|| "POST".into())
                .to_ascii_uppercase(),
            event_type: s("event_type")?,
        })
    }
}

/// What [`TelphinClient::ensure_subscriptions`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SubscriptionReport {
    pub created: u32,
    /// Already right; left alone.
    pub kept: u32,
    /// The panel's own, repointed at the listener.
    pub updated: u32,
    /// The panel's own duplicates or leftovers, deleted.
    pub removed: u32,
}

/// Same scheme, host and port.
fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A `/hooks/{token}/telphin` path.
fn listener_path(u: &url::Url) -> bool {
    let parts: Vec<&str> = u.path().trim_matches('/').split('/').collect();
    parts.len() >= 3 && parts[parts.len() - 3] == "hooks" && parts[parts.len() - 1] == "telphin"
}

/// Whether `sub_url` is the panel's own subscription for `listener` (or, with no listener
/// known, any listener-shaped URL).
pub(crate) fn is_ours(sub_url: &str, listener: Option<&str>) -> bool {
    let Ok(sub) = url::Url::parse(sub_url) else {
        return false;
    };
    match listener.and_then(|l| url::Url::parse(l).ok()) {
        Some(l) => same_origin(&sub, &l) && (sub.path() == l.path() || listener_path(&sub)),
        None => listener_path(&sub),
    }
}

fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl TelphinClient {
    /// Subscriptions of one extension.
    pub async fn list_subscriptions(
        &self,
        extension_id: &str,
    ) -> Result<Vec<EventSubscription>, TelphinError> {
        let path = format!("/extension/{}/event/", seg(extension_id));
        let what = format!("extension {extension_id}");
        let v = self
            .call(Method::GET, &path, None, Retry::Idempotent, &what)
            .await?
            .json()?;
        let items = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
        Ok(items
            .iter()
            .filter_map(EventSubscription::from_json)
            .collect())
    }

    /// Subscribe `extension_id` to `event_type`, delivered to `url` by `method`.
    pub async fn create_subscription(
        &self,
        extension_id: &str,
        url: &str,
        method: EventMethod,
        event_type: &str,
    ) -> Result<EventSubscription, TelphinError> {
        let path = format!("/extension/{}/event/", seg(extension_id));
        let body = json!({ "url": url, "method": method.as_str(), "event_type": event_type });
        let what = format!("extension {extension_id}");
        let v = self
            .call(Method::POST, &path, Some(&body), Retry::ConnectOnly, &what)
            .await?
            .json()?;
        EventSubscription::from_json(&v)
            .ok_or_else(|| TelphinError::Protocol(format!("subscription reply: {v}")))
    }

    /// Point subscription `id` at `url`/`method`.
    pub async fn update_subscription(
        &self,
        extension_id: &str,
        id: &str,
        url: &str,
        method: EventMethod,
        event_type: &str,
    ) -> Result<EventSubscription, TelphinError> {
        let path = format!("/extension/{}/event/{}", seg(extension_id), seg(id));
        let body = json!({ "url": url, "method": method.as_str(), "event_type": event_type });
        let what = format!("subscription {id}");
        let v = self
            .call(Method::PUT, &path, Some(&body), Retry::Idempotent, &what)
            .await?
            .json()?;
        EventSubscription::from_json(&v)
            .ok_or_else(|| TelphinError::Protocol(format!("subscription reply: {v}")))
    }

    /// Delete subscription `id`; one already gone counts as deleted.
    pub async fn delete_subscription(
        &self,
        extension_id: &str,
        id: &str,
    ) -> Result<(), TelphinError> {
        let path = format!("/extension/{}/event/{}", seg(extension_id), seg(id));
        match self
            .send(Method::DELETE, &path, None, Retry::Idempotent)
            .await?
        {
            Ok(_) => Ok(()),
            Err(r) if r.status == 404 => Ok(()),
            Err(r) => Err(r.into_error(&format!("subscription {id}"))),
        }
    }

    /// Make every configured extension send `dial-in`, `dial-out`, `answer` and `hangup` to
    /// `listener_url` by `method`, exactly once each. Running it again changes nothing.
    pub async fn ensure_subscriptions(
        &self,
        listener_url: &str,
        method: EventMethod,
    ) -> Result<SubscriptionReport, TelphinError> {
        let parsed = url::Url::parse(listener_url)
            .map_err(|e| TelphinError::Invalid(format!("listener URL '{listener_url}': {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TelphinError::Invalid(format!(
                "listener URL '{listener_url}' is not http(s)"
            )));
        }
        if self.config().extension_ids.is_empty() {
            return Err(TelphinError::Config(
                "telphin.extension_ids is empty".into(),
            ));
        }
        set_listener(self, listener_url);
        let mut report = SubscriptionReport::default();
        for ext in self.config().extension_ids.clone() {
            let subs = self.list_subscriptions(&ext).await?;
            for event_type in AGENT_EVENT_TYPES {
                let of_type: Vec<&EventSubscription> =
                    subs.iter().filter(|s| s.event_type == event_type).collect();
                let (right, wrong): (Vec<&EventSubscription>, Vec<&EventSubscription>) = of_type
                    .into_iter()
                    .filter(|s| {
                        same_url(&s.url, listener_url) || is_ours(&s.url, Some(listener_url))
                    })
                    .partition(|s| {
                        same_url(&s.url, listener_url)
                            && s.method.eq_ignore_ascii_case(method.as_str())
                    });
                let mut extra: Vec<&EventSubscription> = Vec::new();
                if let Some((first, rest)) = right.split_first() {
                    tracing::trace!(id = %first.id, event_type, "telphin subscription is right");
                    report.kept += 1;
                    extra.extend(rest);
                    extra.extend(wrong);
                } else if let Some((first, rest)) = wrong.split_first() {
                    self.update_subscription(&ext, &first.id, listener_url, method, event_type)
                        .await?;
                    report.updated += 1;
                    extra.extend(rest);
                } else {
                    self.create_subscription(&ext, listener_url, method, event_type)
                        .await?;
                    report.created += 1;
                }
                for s in extra {
                    self.delete_subscription(&ext, &s.id).await?;
                    report.removed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Remove the panel's own subscriptions from every configured extension (other
    /// subscriptions stay). Returns how many were removed.
    pub async fn remove_subscriptions(&self) -> Result<u32, TelphinError> {
        let listener = listener(self);
        let mut removed = 0;
        for ext in self.config().extension_ids.clone() {
            for s in self.list_subscriptions(&ext).await? {
                if is_ours(&s.url, listener.as_deref()) {
                    self.delete_subscription(&ext, &s.id).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn set_listener(c: &TelphinClient, url: &str) {
    let mut g = match c.inner.listener_url.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    *g = Some(url.to_string());
}

/// The listener of the last `ensure_subscriptions`, else the configured `events_url`.
fn listener(c: &TelphinClient) -> Option<String> {
    let last = match c.inner.listener_url.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    };
    last.or_else(|| Some(c.config().events_url.clone()).filter(|u| !u.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_subscriptions_are_recognised() {
        let l = "https://pc1.lan:8787/hooks/NEWTOKEN/telphin";
        assert!(is_ours(l, Some(l)));
        assert!(
            is_ours("https://pc1.lan:8787/hooks/OLDTOKEN/telphin", Some(l)),
            "rotated token"
        );
        assert!(is_ours(
            "https://pc1.lan:8787/hooks/NEWTOKEN/telphin?x=1",
            Some(l)
        ));
        assert!(
            !is_ours("https://pc2.lan:8787/hooks/T/telphin", Some(l)),
            "another machine"
        );
        assert!(
            !is_ours("https://pc1.lan:8787/crm/telphin", Some(l)),
            "another service"
        );
        assert!(!is_ours("https://crm.example.com/webhook", Some(l)));
        assert!(is_ours("http://x/hooks/t/telphin", None));
        assert!(!is_ours("http://x/other", None));
        assert!(!is_ours("not a url", Some(l)));
    }
}
