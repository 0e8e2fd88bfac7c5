//! What the listener does with one request, independent of HTTP plumbing, so that a stored
//! request can be replayed through exactly the same code.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use subtle::ConstantTimeEq as _;

use super::calls::decode_call_hooks;
use super::config::{IpRange, ListenerConfig};
use super::decisions::{Decisions, PendingDecision};
use super::error::one_line;
use super::inspector::{BodyState, IncomingRequest, Inspector, InspectorEntry, Route};
use super::ivr::{evaluate, response_xml, Action, CallInteractiveRequest, IvrSettings};
use super::params::Params;
use super::steps::{IvrStore, StepQueue};
use super::telphin::decode_telphin_event;
use super::time::DecodeOptions;
use crate::model::{CallEvent, Source};
use crate::sink::{EventSink, RawRecord, RejectedRequest};

pub(crate) const XML: &str = "application/xml";
const TEXT: &str = "text/plain; charset=utf-8";

/// Everything the handlers share.
pub(crate) struct Shared {
    pub token: String,
    pub tz: Tz,
    pub allow: Vec<IpRange>,
    pub config: ListenerConfig,
    pub ivr: RwLock<Arc<IvrSettings>>,
    pub sink: Arc<dyn EventSink>,
    pub inspector: Inspector,
    pub decisions: Decisions,
    /// Call Interactive steps stored after the reply.
    pub steps: StepQueue,
}

impl Shared {
    pub fn ivr_settings(&self) -> Arc<IvrSettings> {
        match self.ivr.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Which route a path is, checking the token in constant time. A wrong token is
    /// [`Route::Unknown`], exactly like a path that does not exist.
    pub fn classify(&self, path: &str) -> Route {
        if path == "/health" {
            return Route::Health;
        }
        let mut parts = path
            .strip_prefix("/hooks/")
            .unwrap_or_default()
            .splitn(2, '/');
        let (Some(token), Some(kind)) = (parts.next(), parts.next()) else {
            return Route::Unknown;
        };
        let token_ok: bool = token.as_bytes().ct_eq(self.token.as_bytes()).into();
        match (token_ok, kind) {
            (true, "calls") => Route::Calls,
            (true, "telphin") => Route::Telphin,
            (true, "ivr") => Route::Ivr,
            (true, "team") => Route::Team,
            _ => Route::Unknown,
        }
    }

    pub fn allowed(&self, ip: std::net::IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|r| r.contains(ip))
    }
}

/// `path` with the secret segment of `/hooks/{token}/…` replaced by `***`.
pub(crate) fn redact(path: &str) -> String {
    match path.strip_prefix("/hooks/") {
        Some(rest) => match rest.split_once('/') {
            Some((_, tail)) => format!("/hooks/***/{}", one_line(tail, 200)),
            None => "/hooks/***".into(),
        },
        None => one_line(path, 200),
    }
}

/// The reply to send.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// For the inspector; for a rejection, the one-line reason.
    pub note: String,
}

impl Reply {
    fn ok(note: String) -> Reply {
        Reply {
            status: 200,
            content_type: TEXT,
            body: String::new(),
            note,
        }
    }

    fn error(status: u16, reason: impl Into<String>) -> Reply {
        let reason = one_line(&reason.into(), 300);
        Reply {
            status,
            content_type: TEXT,
            body: reason.clone(),
            note: reason,
        }
    }

    fn not_found() -> Reply {
        Reply::error(404, "not found")
    }

    fn xml(actions: &[Action], note: String) -> Reply {
        Reply {
            status: 200,
            content_type: XML,
            body: response_xml(actions),
            note,
        }
    }
}

/// Handle one request: decide the reply, then log it (inspector, rejected log, sink).
pub(crate) async fn process(
    shared: &Arc<Shared>,
    req: IncomingRequest,
    replay_of: Option<u64>,
) -> InspectorEntry {
    let started = Instant::now();
    let reply = reply_for(shared, &req, replay_of.is_some()).await;
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if reply.status >= 400 {
        tracing::warn!(status = reply.status, path = %req.path, remote = %req.remote, reason = %reply.note, "webhook request rejected");
        let rejected = RejectedRequest {
            received_ms: req.received_ms,
            remote: req.remote.to_string(),
            method: req.method.clone(),
            path: req.path.clone(),
            status: reply.status,
            reason: reply.note.clone(),
            body: req.body_text(),
        };
        shared.inspector.reject(rejected.clone());
        let sink = shared.sink.clone();
        tokio::spawn(async move { sink.reject(rejected).await });
    } else {
        tracing::debug!(status = reply.status, path = %req.path, note = %reply.note, "webhook request served");
    }
    let entry = InspectorEntry {
        id: 0,
        received_ms: req.received_ms,
        remote: req.remote.to_string(),
        method: req.method.clone(),
        route: req.route,
        path: req.path.clone(),
        query: req.query.clone(),
        content_type: req.content_type.clone(),
        body: req.body_text(),
        status: reply.status,
        reply_content_type: Some(reply.content_type.to_string()),
        reply_body: reply.body.clone(),
        note: reply.note.clone(),
        replay_of,
        elapsed_us,
    };
    shared.inspector.record(entry, req)
}

async fn reply_for(shared: &Arc<Shared>, req: &IncomingRequest, replay: bool) -> Reply {
    if !shared.allowed(req.remote.ip()) {
        return Reply::error(
            403,
            format!("source address {} is not allowed", req.remote.ip()),
        );
    }
    let method_ok = match req.route {
        Route::Unknown => return Reply::not_found(),
        Route::Health => req.method == "GET",
        Route::Calls | Route::Team => req.method == "POST",
        Route::Telphin | Route::Ivr => req.method == "GET" || req.method == "POST",
    };
    if !method_ok {
        return Reply::error(
            405,
            format!("method {} not allowed here", one_line(&req.method, 16)),
        );
    }
    match &req.body {
        BodyState::Complete(_) => {}
        BodyState::TooLarge => {
            return Reply::error(
                413,
                format!("body larger than {} bytes", shared.config.body_limit_bytes),
            )
        }
        BodyState::TimedOut => {
            return Reply::error(
                408,
                format!(
                    "body not received within {} ms",
                    shared.config.body_timeout_ms
                ),
            )
        }
        BodyState::Failed(e) => return Reply::error(400, format!("body could not be read: {e}")),
    }
    let opts = DecodeOptions {
        tz: shared.tz,
        received_ms: req.received_ms,
    };
    match req.route {
        Route::Health => Reply {
            status: 200,
            content_type: TEXT,
            body: "ok".into(),
            note: "health".into(),
        },
        Route::Calls => match decode_call_hooks(req.body_bytes(), &opts) {
            Ok(events) => store(shared, req, Source::Webhook, events).await,
            Err(e) => Reply::error(400, e.to_string()),
        },
        Route::Telphin => match decode_telphin_event(&params_of(req), &opts) {
            Ok(events) => store(shared, req, Source::Telphin, events).await,
            Err(e) => Reply::error(400, e.to_string()),
        },
        Route::Ivr => match CallInteractiveRequest::from_params(&params_of(req)) {
            Ok(request) => call_interactive(shared, req, request, replay).await,
            Err(e) => Reply::error(400, e.to_string()),
        },
        Route::Team => match serde_json::from_slice::<serde_json::Value>(req.body_bytes()) {
            Ok(v) if v.is_object() => match shared.sink.team_message(v).await {
                Ok(()) => Reply::ok("team message applied".to_string()),
                Err(e) => Reply::error(400, e.to_string()),
            },
            Ok(_) => Reply::error(400, "a team message is a JSON object".to_string()),
            Err(e) => Reply::error(400, format!("invalid JSON: {e}")),
        },
        Route::Unknown => Reply::not_found(),
    }
}

/// Parameters of a Telphin request: the form (or JSON) body of a POST, then the query string.
fn params_of(req: &IncomingRequest) -> Params {
    let mut p = Params::default();
    if req.method == "POST" {
        let json = req
            .content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
        match serde_json::from_slice::<serde_json::Value>(req.body_bytes()) {
            Ok(serde_json::Value::Object(obj)) if json => p.extend_from_json(&obj),
            _ => p.extend_from(req.body_bytes()),
        }
    }
    p.extend_from(req.query.as_bytes());
    p
}

fn raw_record(req: &IncomingRequest, source: Source) -> RawRecord {
    let body = req.body_text();
    let body = match (req.query.is_empty(), body.is_empty()) {
        (_, true) => req.query.clone(),
        (true, false) => body,
        (false, false) => format!("{}&{}", req.query, body),
    };
    RawRecord {
        source,
        received_ms: req.received_ms,
        what: format!("{} {}", req.method, req.path),
        body,
    }
}

/// Give the events to the sink; `200` only once it has committed them.
async fn store(
    shared: &Arc<Shared>,
    req: &IncomingRequest,
    source: Source,
    events: Vec<CallEvent>,
) -> Reply {
    let n = events.len();
    let wait = Duration::from_millis(shared.config.store_timeout_ms);
    match tokio::time::timeout(wait, shared.sink.accept(raw_record(req, source), events)).await {
        Ok(Ok(a)) => Reply::ok(format!(
            "{n} events: stored {}, duplicates {}",
            a.stored, a.duplicates
        )),
        Ok(Err(e)) => Reply::error(503, e.to_string()),
        Err(_) => Reply::error(
            503,
            format!(
                "the event store did not answer within {} ms",
                wait.as_millis()
            ),
        ),
    }
}

/// Closes a held decision however the waiting ends (answer, timeout, abort).
struct DecisionGuard<'a>(&'a Decisions, u64);

impl Drop for DecisionGuard<'_> {
    fn drop(&mut self) {
        self.0.close(self.1);
    }
}

/// Call Interactive: choose the actions, store the step, reply XML — within the hard deadline,
/// and with the fallback actions on any failure.
async fn call_interactive(
    shared: &Arc<Shared>,
    req: &IncomingRequest,
    request: CallInteractiveRequest,
    replay: bool,
) -> Reply {
    let deadline = Duration::from_millis(shared.config.ivr_deadline_ms);
    let deadline_at = Instant::now() + deadline;
    let settings = shared.ivr_settings();
    let fallback = |why: &str| Reply::xml(&settings.fallback_actions, format!("fallback: {why}"));
    let task = {
        let (shared, req) = (shared.clone(), req.clone());
        tokio::spawn(
            async move { decide_and_store(&shared, &req, request, replay, deadline_at).await },
        )
    };
    let abort = task.abort_handle();
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "Call Interactive handler failed");
            fallback("internal error")
        }
        Err(_) => {
            abort.abort();
            fallback("reply deadline reached")
        }
    }
}

async fn decide_and_store(
    shared: &Arc<Shared>,
    req: &IncomingRequest,
    request: CallInteractiveRequest,
    replay: bool,
    deadline_at: Instant,
) -> Reply {
    let settings = shared.ivr_settings();
    let now = chrono::Utc::now().with_timezone(&shared.tz);
    let total = Duration::from_millis(shared.config.ivr_deadline_ms);
    // Time kept for the store after a held decision.
    let reserve = (total / 4).min(Duration::from_millis(500));
    let (actions, decided_by, rule_id) = match evaluate(&settings.rules, &request, &now) {
        None => (
            settings.default_actions.clone(),
            "default".to_string(),
            None,
        ),
        Some(rule) => match rule.ask_agent_ms {
            Some(ask) if !replay => {
                let budget = deadline_at
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(reserve);
                let wait = Duration::from_millis(ask).min(budget);
                let now_ms = chrono::Utc::now().timestamp_millis();
                let pending = PendingDecision {
                    id: 0,
                    received_ms: req.received_ms,
                    deadline_ms: now_ms + i64::try_from(wait.as_millis()).unwrap_or(0),
                    rule_id: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    request: request.clone(),
                    fallback: rule.actions.clone(),
                };
                let (id, rx) = shared.decisions.open(pending);
                let _guard = DecisionGuard(&shared.decisions, id);
                match tokio::time::timeout(wait, rx).await {
                    Ok(Ok(actions)) => (actions, "agent".to_string(), Some(rule.id.clone())),
                    _ => (
                        rule.actions.clone(),
                        "rule (the agent did not decide)".to_string(),
                        Some(rule.id.clone()),
                    ),
                }
            }
            _ => (
                rule.actions.clone(),
                "rule".to_string(),
                Some(rule.id.clone()),
            ),
        },
    };
    let events = request.to_events(req.received_ms, &actions, &decided_by, rule_id.as_deref());
    let rule_note = rule_id.map(|r| format!(" {r:?}")).unwrap_or_default();
    let raw = raw_record(req, Source::CallInteractive);
    // A replay is the inspector asking "what would we answer now": it waits for its store.
    let (raw, events) = if shared.config.ivr_store == IvrStore::AfterReply && !replay {
        match shared.steps.offer(raw, events) {
            Ok(()) => {
                return Reply::xml(
                    &actions,
                    format!("decided by {decided_by}{rule_note}; stored after the reply"),
                )
            }
            // The queue is full (or closing): store this one before replying.
            Err(step) => step,
        }
    } else {
        (raw, events)
    };
    // Leave a little of the budget so this timeout, not the outer one, reports a slow store.
    let remaining = deadline_at
        .saturating_duration_since(Instant::now())
        .saturating_sub(Duration::from_millis(20));
    let fallback = |why: String| Reply::xml(&settings.fallback_actions, format!("fallback: {why}"));
    match tokio::time::timeout(remaining, shared.sink.accept(raw, events)).await {
        Ok(Ok(a)) => Reply::xml(
            &actions,
            format!(
                "decided by {decided_by}{rule_note}; stored {}, duplicates {}",
                a.stored, a.duplicates
            ),
        ),
        Ok(Err(e)) => fallback(format!("event store failed: {e}")),
        Err(_) => fallback("the event store did not answer in time".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_token() {
        assert_eq!(redact("/hooks/s3cr3t/calls"), "/hooks/***/calls");
        assert_eq!(redact("/hooks/s3cr3t"), "/hooks/***");
        assert_eq!(redact("/health"), "/health");
    }
}
