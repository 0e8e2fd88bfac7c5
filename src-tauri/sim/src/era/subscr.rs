//! The `subscr` capability: subscriptions of one WebSocket connection, with real expiry on the
//! simulated clock, event masks (`callevents.*`, `class.type`, `*`) and `objects` filters.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::wire::{EraCode, EraFailure};

/// One subscription of one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    /// Event masks: `class.*`, `class.type` or `*`.
    pub events: Vec<String>,
    /// Objects (extension numbers); empty = everything the connection may see.
    pub objects: BTreeSet<String>,
    /// Expiry, simulated ms since the epoch.
    pub expires_at_ms: i64,
}

impl Subscription {
    /// Does this subscription want `class.kind` about an event touching `objects`?
    pub fn wants(&self, class: &str, kind: &str, objects: &BTreeSet<String>, now_ms: i64) -> bool {
        if now_ms >= self.expires_at_ms {
            return false;
        }
        let mask_ok = self.events.iter().any(|m| mask_matches(m, class, kind));
        let obj_ok = self.objects.is_empty() || self.objects.iter().any(|o| objects.contains(o));
        mask_ok && obj_ok
    }
}

/// `*`, `class.*`, `class` or `class.type`.
pub fn mask_matches(mask: &str, class: &str, kind: &str) -> bool {
    let mask = mask.trim();
    if mask == "*" || mask == class {
        return true;
    }
    match mask.split_once('.') {
        Some((c, "*")) => c == class,
        Some((c, t)) => c == class && t == kind,
        None => false,
    }
}

/// The subscriptions of one connection.
#[derive(Debug, Default, Clone)]
pub struct Subscriptions {
    by_id: BTreeMap<String, Subscription>,
}

/// Limits applied to `expires`.
#[derive(Debug, Clone, Copy)]
pub struct ExpiryLimits {
    pub default_secs: u64,
    pub max_secs: u64,
}

impl Subscriptions {
    /// Apply a `subscribe` request: create, renew, modify or (with `expires: 0`) remove.
    /// Returns the reply payload `{id, expires}`.
    pub fn apply(
        &mut self,
        body: &Map<String, Value>,
        now_ms: i64,
        limits: ExpiryLimits,
    ) -> Result<Value, EraFailure> {
        let id = match body.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(
                    EraFailure::new(EraCode::InvalidParams, "field 'id' is required")
                        .with_field("id"),
                )
            }
        };
        let expires = match body.get("expires") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => Some(f as u64),
                _ => {
                    return Err(EraFailure::new(
                        EraCode::InvalidParams,
                        "field 'expires' must be a non-negative number",
                    )
                    .with_field("expires"))
                }
            },
        };
        if expires == Some(0) {
            self.by_id.remove(&id);
            return Ok(json!({ "id": id, "expires": 0 }));
        }
        let events = match body.get("events") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => {
                let mut out = Vec::with_capacity(a.len());
                for e in a {
                    match e {
                        Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                        _ => {
                            return Err(EraFailure::new(
                                EraCode::InvalidParams,
                                "field 'events' must be a list of event masks",
                            )
                            .with_field("events"))
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                return Err(EraFailure::new(
                    EraCode::InvalidParams,
                    "field 'events' must be a list",
                )
                .with_field("events"))
            }
        };
        let objects = match body.get("objects") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(|o| match o {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect::<BTreeSet<_>>(),
            ),
            Some(_) => {
                return Err(EraFailure::new(
                    EraCode::InvalidParams,
                    "field 'objects' must be a list",
                )
                .with_field("objects"))
            }
        };
        let granted = expires
            .unwrap_or(limits.default_secs)
            .min(limits.max_secs)
            .max(1);
        let expires_at_ms = now_ms.saturating_add((granted as i64).saturating_mul(1000));
        match self.by_id.get_mut(&id) {
            Some(existing) if now_ms < existing.expires_at_ms => {
                existing.expires_at_ms = expires_at_ms;
                if let Some(e) = events {
                    existing.events = e;
                }
                if let Some(o) = objects {
                    existing.objects = o;
                }
            }
            _ => {
                let Some(events) = events.filter(|e| !e.is_empty()) else {
                    return Err(EraFailure::new(
                        EraCode::InvalidParams,
                        "field 'events' is required for a new subscription",
                    )
                    .with_field("events"));
                };
                self.by_id.insert(
                    id.clone(),
                    Subscription {
                        id: id.clone(),
                        events,
                        objects: objects.unwrap_or_default(),
                        expires_at_ms,
                    },
                );
            }
        }
        Ok(json!({ "id": id, "expires": granted }))
    }

    /// Subscriptions (live at `now_ms`) that want this event; one notify is sent per match.
    pub fn matching(
        &self,
        class: &str,
        kind: &str,
        objects: &BTreeSet<String>,
        now_ms: i64,
    ) -> usize {
        self.by_id
            .values()
            .filter(|s| s.wants(class, kind, objects, now_ms))
            .count()
    }

    /// Drop expired subscriptions; returns their ids.
    pub fn purge(&mut self, now_ms: i64) -> Vec<String> {
        let gone: Vec<String> = self
            .by_id
            .values()
            .filter(|s| now_ms >= s.expires_at_ms)
            .map(|s| s.id.clone())
            .collect();
        for id in &gone {
            self.by_id.remove(id);
        }
        gone
    }

    pub fn ids(&self) -> Vec<String> {
        self.by_id.keys().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<&Subscription> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ExpiryLimits = ExpiryLimits {
        default_secs: 300,
        max_secs: 3600,
    };

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn masks() {
        assert!(mask_matches("callevents.*", "callevents", "fork_start"));
        assert!(mask_matches(
            "callevents.fork_start",
            "callevents",
            "fork_start"
        ));
        assert!(!mask_matches(
            "callevents.dlg_start",
            "callevents",
            "fork_start"
        ));
        assert!(mask_matches("*", "ivrevents", "api_start"));
        assert!(!mask_matches("ccsevents.*", "callevents", "fork_start"));
    }

    #[test]
    fn renew_remove_and_expiry() {
        let mut s = Subscriptions::default();
        let objs: BTreeSet<String> = ["101".to_string()].into();
        s.apply(
            &body(json!({"id":"a","events":["callevents.*"],"objects":["101"],"expires":10})),
            0,
            L,
        )
        .unwrap();
        assert_eq!(s.matching("callevents", "x", &objs, 9_999), 1);
        assert_eq!(s.matching("callevents", "x", &objs, 10_000), 0);
        s.apply(&body(json!({"id":"a","expires":20})), 5_000, L)
            .unwrap();
        assert_eq!(s.matching("callevents", "x", &objs, 24_000), 1);
        assert_eq!(
            s.matching("callevents", "x", &["102".to_string()].into(), 1),
            0
        );
        s.apply(&body(json!({"id":"a","expires":0})), 6_000, L)
            .unwrap();
        assert!(s.is_empty());
        assert!(s.apply(&body(json!({"id":"b"})), 0, L).is_err());
        let r = s
            .apply(
                &body(json!({"id":"b","events":["*"],"expires":99999})),
                0,
                L,
            )
            .unwrap();
        assert_eq!(r["expires"], 3600);
    }
}
