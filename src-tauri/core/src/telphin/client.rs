//! The HTTP core of the Telphin client: OAuth client_credentials with a cached token, every
//! request with a timeout, retries only where they are safe.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::config::TelphinConfig;
use super::error::{reply_message, TelphinError};
use super::park_board::{ParkBoard, ParkBoardSnapshot};

/// A Telphin REST client. Cheap to clone; clones share the token and the park board.
#[derive(Clone)]
pub struct TelphinClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub cfg: TelphinConfig,
    api_base: String,
    token_url: String,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<Token>>,
    pub board: Mutex<ParkBoard>,
    pub board_tx: watch::Sender<ParkBoardSnapshot>,
    /// Listener URL of the last `ensure_subscriptions`, so `remove_subscriptions` knows it.
    pub listener_url: Mutex<Option<String>>,
}

struct Token {
    access: String,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Value>,
}

/// Whether a request may be repeated after a failure that may have reached the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Reads and requests whose repetition changes nothing: retried on 5xx, timeouts and
    /// network errors.
    Idempotent,
    /// Requests that change a call: retried only when the connection could not be opened.
    ConnectOnly,
}

/// A 2xx reply.
#[derive(Debug, Clone)]
pub(super) struct Reply {
    pub text: String,
}

impl Reply {
    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> Result<Value, TelphinError> {
        if self.text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&self.text).map_err(|e| {
            TelphinError::Protocol(format!("reply is not JSON ({e}): {}", short(&self.text)))
        })
    }
}

/// A non-2xx reply, before it is mapped to an error that fits the request.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    /// The generic mapping: 404 → `NotFound(what)`, anything else → `Http`.
    pub fn into_error(self, what: &str) -> TelphinError {
        if self.status == 404 {
            TelphinError::NotFound(what.to_string())
        } else {
            TelphinError::Http {
                status: self.status,
                message: self.message,
            }
        }
    }
}

pub(super) fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

impl TelphinClient {
    /// A client for `cfg` (validated). No request is made until the first call.
    pub fn new(cfg: TelphinConfig) -> Result<TelphinClient, TelphinError> {
        cfg.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            .timeout(Duration::from_millis(cfg.request_timeout_ms))
            .build()
            .map_err(|e| TelphinError::Config(format!("HTTP client: {e}")))?;
        let host = cfg.host.trim_end_matches('/');
        let prefix = format!("/{}", cfg.api_prefix.trim_matches('/'));
        let api_base = format!("{host}{}", if prefix == "/" { "" } else { prefix.as_str() });
        let token_url = format!("{host}/{}", cfg.token_path.trim_start_matches('/'));
        let board = ParkBoard::new(Duration::from_secs(cfg.park_timeout_secs));
        let (board_tx, _) = watch::channel(ParkBoardSnapshot::empty(cfg.park_timeout_secs));
        Ok(TelphinClient {
            inner: Arc::new(Inner {
                cfg,
                api_base,
                token_url,
                http,
                token: tokio::sync::Mutex::new(None),
                board: Mutex::new(board),
                board_tx,
                listener_url: Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> &TelphinConfig {
        &self.inner.cfg
    }

    /// The agent's own extension id (the first configured).
    pub fn agent_extension(&self) -> Result<&str, TelphinError> {
        self.inner
            .cfg
            .extension_ids
            .first()
            .map(String::as_str)
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| TelphinError::Config("telphin.extension_ids is empty".into()))
    }

    /// A valid access token, fetched or refreshed when needed.
    pub async fn access_token(&self) -> Result<String, TelphinError> {
        self.bearer(None).await
    }

    /// The cached token unless it is due for refresh or is `stale` (refused with 401).
    async fn bearer(&self, stale: Option<&str>) -> Result<String, TelphinError> {
        let mut guard = self.inner.token.lock().await;
        if let Some(t) = guard.as_ref() {
            if stale != Some(t.access.as_str()) && Instant::now() < t.refresh_at {
                return Ok(t.access.clone());
            }
        }
        let token = self.fetch_token().await?;
        let access = token.access.clone();
        *guard = Some(token);
        Ok(access)
    }

    async fn fetch_token(&self) -> Result<Token, TelphinError> {
        let cfg = &self.inner.cfg;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.as_str()),
        ];
        let mut attempt = 0u32;
        loop {
            let sent = self
                .inner
                .http
                .post(&self.inner.token_url)
                .form(&form)
                .send()
                .await;
            match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let text = match resp.text().await {
                        Ok(t) => t,
                        Err(e) if attempt < cfg.retries => {
                            tracing::debug!(error = %e, "token reply cut; retrying");
                            attempt += 1;
                            self.backoff(attempt).await;
                            continue;
                        }
                        Err(e) => return Err(self.transport_error(e)),
                    };
                    if status.is_success() {
                        return self.token_from(&text);
                    }
                    if status.is_server_error() && attempt < cfg.retries {
                        attempt += 1;
                        self.backoff(attempt).await;
                        continue;
                    }
                    let message = reply_message(&text);
                    return Err(match status {
                        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                            TelphinError::Auth(format!(
                                "the application credentials were refused ({message}); check the client id and secret"
                            ))
                        }
                        _ => TelphinError::Http { status: status.as_u16(), message },
                    });
                }
                Err(e) if attempt < cfg.retries => {
                    tracing::debug!(error = %e, "token request failed; retrying");
                    attempt += 1;
                    self.backoff(attempt).await;
                }
                Err(e) => return Err(self.transport_error(e)),
            }
        }
    }

    fn token_from(&self, text: &str) -> Result<Token, TelphinError> {
        let reply: TokenReply = serde_json::from_str(text)
            .map_err(|e| TelphinError::Protocol(format!("token reply ({e}): {}", short(text))))?;
        if reply.access_token.is_empty() {
            return Err(TelphinError::Protocol(
                "the token reply has an empty access_token".into(),
            ));
        }
        let expires_in = match reply.expires_in {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|s| s.is_finite() && *s > 0.0);
        // Without expires_in the token is used until a 401 says otherwise.
        let lifetime = expires_in.unwrap_or(86_400.0);
        let margin = (self.inner.cfg.token_refresh_margin_secs as f64).min(lifetime / 4.0);
        let refresh_at = Instant::now() + Duration::from_secs_f64((lifetime - margin).max(0.0));
        Ok(Token {
            access: reply.access_token,
            refresh_at,
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> TelphinError {
        if e.is_timeout() {
            TelphinError::Timeout(self.inner.cfg.request_timeout_ms)
        } else {
            TelphinError::Network(e.to_string())
        }
    }

    async fn backoff(&self, attempt: u32) {
        let base = self.inner.cfg.retry_backoff_ms.max(1);
        let exp = base
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(10))
            .min(5_000);
        let jitter = rand::random_range(0..=exp / 2);
        tokio::time::sleep(Duration::from_millis(exp / 2 + jitter)).await;
    }

    /// Send an API request (`path` below the API prefix). 2xx → `Ok(Ok(reply))`; another
    /// status → `Ok(Err(refusal))` for the caller to map; transport failures → `Err`.
    /// A 401 refreshes the token and repeats the request once.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Result<Reply, Refusal>, TelphinError> {
        let url = format!("{}{path}", self.inner.api_base);
        let retries = self.inner.cfg.retries;
        let mut attempt = 0u32;
        let mut stale: Option<String> = None;
        let mut refreshed = false;
        loop {
            let token = self.bearer(stale.as_deref()).await?;
            let mut req = self
                .inner
                .http
                .request(method.clone(), &url)
                .bearer_auth(&token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    resp.text().await.map(|text| (status, text))
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok((status, _)) if status == StatusCode::UNAUTHORIZED && !refreshed => {
                    tracing::debug!(%url, "401: refreshing the Telphin token");
                    refreshed = true;
                    stale = Some(token);
                }
                Ok((status, text)) if status == StatusCode::UNAUTHORIZED => {
                    return Err(TelphinError::Auth(format!(
                        "a fresh access token was refused too ({})",
                        reply_message(&text)
                    )));
                }
                Ok((status, _))
                    if status.is_server_error()
                        && retry == Retry::Idempotent
                        && attempt < retries =>
                {
                    attempt += 1;
                    tracing::debug!(%url, %status, attempt, "Telphin 5xx; retrying");
                    self.backoff(attempt).await;
                }
                Ok((status, text)) if status.is_success() => return Ok(Ok(Reply { text })),
                Ok((status, text)) => {
                    return Ok(Err(Refusal {
                        status: status.as_u16(),
                        message: reply_message(&text),
                    }))
                }
                Err(e) => {
                    let safe = e.is_connect() || retry == Retry::Idempotent;
                    if safe && attempt < retries {
                        attempt += 1;
                        tracing::debug!(%url, error = %e, attempt, "Telphin request failed; retrying");
                        self.backoff(attempt).await;
                    } else {
                        return Err(self.transport_error(e));
                    }
                }
            }
        }
    }

    /// [`TelphinClient::send`] with the generic error mapping; `what` names the object for 404.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
        what: &str,
    ) -> Result<Reply, TelphinError> {
        self.send(method, path, body, retry)
            .await?
            .map_err(|r| r.into_error(what))
    }

    pub(super) fn board(&self) -> MutexGuard<'_, ParkBoard> {
        match self.inner.board.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// Percent-encode one path segment (call ids and extension ids come from outside).
pub(super) fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
