//! `[telphin]` section of the configuration.

use serde::{Deserialize, Serialize};

use super::error::TelphinError;

/// How Telphin delivers extension events to the panel's listener.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventMethod {
    /// Fields in the query string.
    Get,
    /// Fields as a form body.
    #[default]
    Post,
}

impl EventMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            EventMethod::Get => "GET",
            EventMethod::Post => "POST",
        }
    }

    /// `GET`/`POST` in any case.
    pub fn parse(s: &str) -> Option<EventMethod> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GET" => Some(EventMethod::Get),
            "POST" => Some(EventMethod::Post),
            _ => None,
        }
    }
}

/// Telphin connection settings (README: "Telphin").
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelphinConfig {
    /// Use Telphin at start-up.
    pub enabled: bool,
    /// API host with scheme, e.g. `https://apiproxy.telphin.ru` or `https://altapi.telphin.ru`
    /// (the dealer's host where it differs). The OAuth token is requested from the same host.
    pub host: String,
    /// API path prefix on the host.
    pub api_prefix: String,
    /// OAuth token path on the host.
    pub token_path: String,
    /// Trusted application id ("App ID").
    pub client_id: String,
    /// Trusted application secret. Never written to a file: the configuration layer fills it
    /// from the OS keyring.
    #[serde(default, skip_serializing)]
    pub client_secret: String,
    /// PBX client id in `/client/{id}/…` resources; `@me` means the token owner's PBX.
    pub pbx_client_id: String,
    /// The agent's extension ids (numeric Telphin ids such as `34414`); the first one is the
    /// agent's own phone, used when a call does not name its extension.
    pub extension_ids: Vec<String>,
    /// Numbers rung first on click-to-call (the agent's phone, e.g. `022*101`); empty means the
    /// extension's own name as the API reports it.
    pub callback_src: Vec<String>,
    /// Public URL of the panel's listener route for Telphin events
    /// (`https://host/hooks/{token}/telphin`); empty means subscriptions are not managed.
    pub events_url: String,
    /// How Telphin calls `events_url`: `GET` (query string) or `POST` (form body).
    pub events_method: EventMethod,
    /// Time limit of one API request, milliseconds.
    pub request_timeout_ms: u64,
    /// Time limit of opening a connection (TCP + TLS), milliseconds.
    pub connect_timeout_ms: u64,
    /// Extra attempts for idempotent requests after a 5xx reply, a timeout or a network error
    /// (requests that change calls are retried only when the connection could not be opened).
    pub retries: u32,
    /// Delay before the first retry, milliseconds (doubles each time, with jitter).
    pub retry_backoff_ms: u64,
    /// Refresh the access token this many seconds before `expires_in` runs out (at most a
    /// quarter of the lifetime); a 401 reply forces a refresh once.
    pub token_refresh_margin_secs: u64,
    /// How long a parked call waits before it returns to the extension that parked it,
    /// seconds (Telphin: 3 minutes); drives the park board's countdown.
    pub park_timeout_secs: u64,
}

impl Default for TelphinConfig {
    fn default() -> Self {
        TelphinConfig {
            enabled: false,
            host: "https://apiproxy.telphin.ru".into(),
            api_prefix: "/api/ver1.0".into(),
            token_path: "/oauth/token".into(),
            client_id: String::new(),
            client_secret: String::new(),
            pbx_client_id: "@me".into(),
            extension_ids: Vec::new(),
            callback_src: Vec::new(),
            events_url: String::new(),
            events_method: EventMethod::Post,
            request_timeout_ms: 5_000,
            connect_timeout_ms: 3_000,
            retries: 2,
            retry_backoff_ms: 200,
            token_refresh_margin_secs: 60,
            park_timeout_secs: 180,
        }
    }
}

impl std::fmt::Debug for TelphinConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelphinConfig")
            .field("enabled", &self.enabled)
            .field("host", &self.host)
            .field("api_prefix", &self.api_prefix)
            .field("token_path", &self.token_path)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &if self.client_secret.is_empty() {
                    ""
                } else {
                    "<set>"
                },
            )
            .field("pbx_client_id", &self.pbx_client_id)
            .field("extension_ids", &self.extension_ids)
            .field("callback_src", &self.callback_src)
            .field("events_url", &self.events_url)
            .field("events_method", &self.events_method)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("retries", &self.retries)
            .field("retry_backoff_ms", &self.retry_backoff_ms)
            .field("token_refresh_margin_secs", &self.token_refresh_margin_secs)
            .field("park_timeout_secs", &self.park_timeout_secs)
            .finish()
    }
}

impl TelphinConfig {
    /// Settings for a simulator (or platform) at `base_url` (`http://127.0.0.1:PORT`).
    pub fn for_server(
        base_url: &str,
        client_id: &str,
        client_secret: &str,
        extension_id: &str,
    ) -> TelphinConfig {
        TelphinConfig {
            enabled: true,
            host: base_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            extension_ids: vec![extension_id.to_string()],
            ..TelphinConfig::default()
        }
    }

    /// Check what a client needs.
    pub fn validate(&self) -> Result<(), TelphinError> {
        let u = url::Url::parse(&self.host)
            .map_err(|e| TelphinError::Config(format!("telphin.host '{}': {e}", self.host)))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(TelphinError::Config(format!(
                "telphin.host must start with http:// or https://, got '{}'",
                self.host
            )));
        }
        if self.client_id.trim().is_empty() {
            return Err(TelphinError::Config("telphin.client_id is not set".into()));
        }
        if self.client_secret.is_empty() {
            return Err(TelphinError::Config(
                "the Telphin client secret is not set".into(),
            ));
        }
        if self.request_timeout_ms == 0 || self.connect_timeout_ms == 0 {
            return Err(TelphinError::Config(
                "Telphin timeouts must be above zero".into(),
            ));
        }
        if !self.events_url.is_empty() {
            let e = url::Url::parse(&self.events_url).map_err(|e| {
                TelphinError::Config(format!("telphin.events_url '{}': {e}", self.events_url))
            })?;
            if !matches!(e.scheme(), "http" | "https") {
                return Err(TelphinError::Config(
                    "telphin.events_url must be an http(s) URL".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_never_serialized_or_printed() {
        let c = TelphinConfig {
            client_secret: "s3cr3t".into(),
            client_id: "app".into(),
            ..Default::default()
        };
        let toml = toml::to_string(&c).unwrap();
        assert!(!toml.contains("s3cr3t") && !toml.contains("client_secret"));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let back: TelphinConfig = toml::from_str(&toml).unwrap();
        assert_eq!(
            back,
            TelphinConfig {
                client_secret: String::new(),
                ..c
            }
        );
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let ok = TelphinConfig::for_server("http://127.0.0.1:1", "app", "secret", "34414");
        assert!(ok.validate().is_ok());
        let e = TelphinConfig {
            host: "ftp://x".into(),
            ..ok.clone()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("telphin.host"));
        let e = TelphinConfig {
            client_secret: String::new(),
            ..ok.clone()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("secret"));
        let e = TelphinConfig {
            events_url: "nope".into(),
            ..ok
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("events_url"));
        assert_eq!(EventMethod::parse("get"), Some(EventMethod::Get));
        assert_eq!(
            toml::from_str::<TelphinConfig>("events_method = \"GET\"")
                .unwrap()
                .events_method,
            EventMethod::Get
        );
    }
}
