//! REST call control: `/rest/v1/uc/calls` and `/rest/v1/uc/calls_by_participation` with the
//! platform's custom HTTP verbs (`INVITE`, `LOOKUP`, `REFER`, `REFERREPLACES`, `SWITCHCONF`,
//! `REFERCONF`, `NOTIFY`, `SEND_DTMF`, …). Every request has a time limit; error replies
//! `{error_code, error_message, error_details}` become [`EraError::Http`] with the platform's
//! message. Authentication: `Authorization: Bearer <token>`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::config::EraConfig;
use super::error::EraError;

/// REST client of one Era platform.
#[derive(Debug, Clone)]
pub struct EraRest {
    http: reqwest::Client,
    base: url::Url,
    token: String,
    collection: &'static str,
    timeout: Duration,
}

impl EraRest {
    pub fn new(cfg: &EraConfig) -> Result<EraRest, EraError> {
        let base = cfg.rest_base()?;
        let timeout = Duration::from_millis(cfg.rest_timeout_ms.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms.max(1)))
            .build()
            .map_err(|e| EraError::Config(format!("HTTP client: {e}")))?;
        let collection = if cfg.rest_participation {
            "calls_by_participation"
        } else {
            "calls"
        };
        Ok(EraRest {
            http,
            base,
            token: cfg.token.clone(),
            collection,
            timeout,
        })
    }

    /// Absolute URL of a path the platform returned (e.g. a file link), or the URL itself.
    pub fn absolute(&self, path: &str) -> Result<String, EraError> {
        self.base
            .join(path)
            .map(|u| u.to_string())
            .map_err(|e| EraError::Protocol(format!("bad link '{path}': {e}")))
    }

    fn url(&self, id: Option<&str>) -> Result<url::Url, EraError> {
        let mut u = self.base.clone();
        {
            let mut seg = u
                .path_segments_mut()
                .map_err(|_| EraError::Config("era REST url cannot be a base".into()))?;
            seg.pop_if_empty()
                .extend(["rest", "v1", "uc", self.collection]);
            if let Some(id) = id {
                seg.push(id);
            }
        }
        Ok(u)
    }

    /// Send `verb` to the collection (`id` = None) or to one call; returns the JSON reply.
    pub async fn call(
        &self,
        verb: &str,
        id: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, EraError> {
        let method = Method::from_bytes(verb.as_bytes())
            .map_err(|_| EraError::Invalid(format!("bad HTTP verb '{verb}'")))?;
        let mut req = self
            .http
            .request(method, self.url(id)?)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| self.transport(verb, e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| self.transport(verb, e))?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if (200..300).contains(&status) {
            return match json {
                Some(v) => Ok(v),
                None if bytes.is_empty() => Ok(Value::Null),
                None => Err(EraError::Protocol(format!("{verb}: the reply is not JSON"))),
            };
        }
        let code = json
            .as_ref()
            .and_then(|v| v.get("error_code"))
            .and_then(Value::as_i64);
        let message = json
            .as_ref()
            .and_then(|v| v.get("error_message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status == 401 || status == 403 && code == Some(1407) {
            return Err(EraError::Auth(message));
        }
        Err(EraError::Http {
            status,
            code,
            message,
        })
    }

    fn transport(&self, verb: &str, e: reqwest::Error) -> EraError {
        if e.is_timeout() {
            EraError::Timeout {
                request: format!("REST {verb}"),
                ms: self.timeout.as_millis() as u64,
            }
        } else {
            EraError::Network(e.without_url().to_string())
        }
    }

    /// Active calls (`GET`).
    pub async fn list_calls(&self) -> Result<Vec<Value>, EraError> {
        match self.call("GET", None, None).await? {
            Value::Array(a) => Ok(a),
            Value::Object(m) => match m.get("calls").or_else(|| m.get("data")) {
                Some(Value::Array(a)) => Ok(a.clone()),
                _ => Err(EraError::Protocol("the call list is not an array".into())),
            },
            _ => Err(EraError::Protocol("the call list is not an array".into())),
        }
    }

    /// One call (`GET /<id>`).
    pub async fn call_info(&self, id: &str) -> Result<Value, EraError> {
        self.call("GET", Some(id), None).await
    }

    /// Start a call from `from` (the agent's extension; empty lets the platform use the token's
    /// user) to `to` (`INVITE`).
    pub async fn invite(&self, from: &str, to: &str) -> Result<Value, EraError> {
        let mut body = json!({ "to": to, "number": to });
        if !from.is_empty() {
            body["from"] = json!(from);
        }
        self.call("INVITE", None, Some(body)).await
    }

    /// Find a call by number (`LOOKUP`).
    pub async fn lookup(&self, number: &str) -> Result<Value, EraError> {
        self.call("LOOKUP", None, Some(json!({ "number": number })))
            .await
    }

    /// Blind (`REFER`) or attended (`REFERREPLACES`) transfer.
    pub async fn transfer(
        &self,
        id: &str,
        number: &str,
        attended: bool,
    ) -> Result<Value, EraError> {
        let verb = if attended { "REFERREPLACES" } else { "REFER" };
        self.call(verb, Some(id), Some(json!({ "number": number })))
            .await
    }

    /// Make the call a conference, inviting `number` (`SWITCHCONF`).
    pub async fn switch_conf(&self, id: &str, number: Option<&str>) -> Result<Value, EraError> {
        let body = number
            .map(|n| json!({ "number": n }))
            .unwrap_or_else(|| json!({}));
        self.call("SWITCHCONF", Some(id), Some(body)).await
    }

    /// Transfer into a conference (`REFERCONF`).
    pub async fn refer_conf(&self, id: &str, number: &str) -> Result<Value, EraError> {
        self.call("REFERCONF", Some(id), Some(json!({ "number": number })))
            .await
    }

    /// Device control event: `hold`, `talk` (resume) or `answer` (`NOTIFY`).
    pub async fn notify(&self, id: &str, event: &str) -> Result<Value, EraError> {
        self.call("NOTIFY", Some(id), Some(json!({ "event": event })))
            .await
    }

    /// Send DTMF into the call (`SEND_DTMF`).
    pub async fn send_dtmf(&self, id: &str, digits: &str) -> Result<Value, EraError> {
        self.call("SEND_DTMF", Some(id), Some(json!({ "dtmf": digits })))
            .await
    }

    /// End the call (`DELETE`).
    pub async fn hangup(&self, id: &str) -> Result<Value, EraError> {
        self.call("DELETE", Some(id), None).await
    }
}
