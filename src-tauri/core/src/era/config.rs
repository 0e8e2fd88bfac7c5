//! `[era]` section of the configuration.

use serde::{Deserialize, Serialize};

use super::error::EraError;

/// How the panel authenticates its WebSocket (and REST) session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EraAuth {
    /// User-API, token as the last path segment: `<url>/ws/user/v1/<token>`.
    #[default]
    UserPath,
    /// User-API, token in `Authorization: Bearer <token>`.
    UserBearer,
    /// Token-API (integration point token) in the path: `<url>/ws/token/v1/<token>`.
    TokenPath,
    /// Token-API with `Authorization: Bearer <token>` on `<url>/ws/token/v1`.
    TokenBearer,
}

impl EraAuth {
    /// Default WebSocket path of this mode.
    pub fn default_path(self) -> &'static str {
        match self {
            EraAuth::UserPath | EraAuth::UserBearer => "/ws/user/v1",
            EraAuth::TokenPath | EraAuth::TokenBearer => "/ws/token/v1",
        }
    }

    /// Whether the token goes in the path (otherwise as a Bearer header).
    pub fn token_in_path(self) -> bool {
        matches!(self, EraAuth::UserPath | EraAuth::TokenPath)
    }
}

/// Era platform connection settings (README: "Era").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EraConfig {
    /// Connect to the Era platform at start-up.
    pub enabled: bool,
    /// WebSocket base URL of the platform without a path, e.g. `wss://era.example.com`.
    pub url: String,
    /// How the token is presented: `user_path` (default), `user_bearer`, `token_path`, `token_bearer`.
    pub auth: EraAuth,
    /// WebSocket path; empty means the default of `auth` (`/ws/user/v1` or `/ws/token/v1`).
    pub path: String,
    /// Access token. Never written to a file: the configuration layer fills it from the OS keyring.
    #[serde(default, skip_serializing)]
    pub token: String,
    /// The agent's own extension number: the caller side of calls dialled from the panel.
    pub extension: String,
    /// Objects (extension numbers) whose events to subscribe to; empty means the agent's
    /// `extension` if set, otherwise everything the token may see.
    pub objects: Vec<String>,
    /// Subscription lifetime in seconds; subscriptions are renewed at 80 % of it.
    pub expires_secs: u64,
    /// Time limit of one WebSocket request, milliseconds.
    pub request_timeout_ms: u64,
    /// Time limit of the `*upload*` requests (the platform downloads the file first), milliseconds.
    pub upload_timeout_ms: u64,
    /// WebSocket ping interval, milliseconds.
    pub ping_interval_ms: u64,
    /// The link is declared dead when nothing arrives this long after a ping, milliseconds.
    pub pong_timeout_ms: u64,
    /// Time limit of opening the WebSocket (TCP, TLS, upgrade), milliseconds.
    pub connect_timeout_ms: u64,
    /// First reconnect delay bound, milliseconds (full-jitter exponential backoff from here).
    pub backoff_base_ms: u64,
    /// Longest reconnect delay, milliseconds.
    pub backoff_cap_ms: u64,
    /// REST base URL (`https://era.example.com`); empty means derived from `url`.
    pub rest_url: String,
    /// Use `/rest/v1/uc/calls_by_participation` (the agent's own calls) instead of `/rest/v1/uc/calls`.
    pub rest_participation: bool,
    /// Time limit of one REST request, milliseconds.
    pub rest_timeout_ms: u64,
    /// Largest incoming frame handled, bytes; larger frames are logged and dropped.
    pub max_frame_bytes: usize,
    /// Take control of every offered IVR session (`ivrapi_accept`) without asking the agent.
    pub ivr_auto_accept: bool,
    /// Emit every frame sent and received for the protocol inspector.
    pub inspector_frames: bool,
    /// After each (re)connect, fetch the active calls over REST and emit what was missed.
    pub reconcile_on_connect: bool,
}

impl Default for EraConfig {
    fn default() -> Self {
        EraConfig {
            enabled: false,
            url: String::new(),
            auth: EraAuth::UserPath,
            path: String::new(),
            token: String::new(),
            extension: String::new(),
            objects: Vec::new(),
            expires_secs: 300,
            request_timeout_ms: 10_000,
            upload_timeout_ms: 60_000,
            ping_interval_ms: 15_000,
            pong_timeout_ms: 10_000,
            connect_timeout_ms: 10_000,
            backoff_base_ms: 1_000,
            backoff_cap_ms: 30_000,
            rest_url: String::new(),
            rest_participation: true,
            rest_timeout_ms: 10_000,
            max_frame_bytes: 1024 * 1024,
            ivr_auto_accept: false,
            inspector_frames: true,
            reconcile_on_connect: true,
        }
    }
}

impl EraConfig {
    /// Settings for a simulator (or platform) at `http://host:port` with a User-API token.
    pub fn for_server(base_url: &str, extension: &str, token: &str) -> EraConfig {
        let ws = base_url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        EraConfig {
            enabled: true,
            url: ws.trim_end_matches('/').to_string(),
            extension: extension.to_string(),
            token: token.to_string(),
            ..EraConfig::default()
        }
    }

    /// Check the settings a session needs.
    pub fn validate(&self) -> Result<(), EraError> {
        let u = url::Url::parse(&self.url)
            .map_err(|e| EraError::Config(format!("era.url '{}': {e}", self.url)))?;
        if !matches!(u.scheme(), "ws" | "wss") {
            return Err(EraError::Config(format!(
                "era.url must start with ws:// or wss://, got '{}'",
                self.url
            )));
        }
        if self.token.trim().is_empty() {
            return Err(EraError::Config("the Era token is not set".into()));
        }
        if self.expires_secs == 0 {
            return Err(EraError::Config(
                "era.expires_secs must be at least 1".into(),
            ));
        }
        if self.ping_interval_ms == 0 || self.pong_timeout_ms == 0 || self.request_timeout_ms == 0 {
            return Err(EraError::Config(
                "era timeouts and intervals must be positive".into(),
            ));
        }
        self.rest_base()?;
        Ok(())
    }

    /// WebSocket path in use.
    pub fn ws_path(&self) -> String {
        let p = self.path.trim().trim_end_matches('/');
        if p.is_empty() {
            self.auth.default_path().to_string()
        } else if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/{p}")
        }
    }

    /// REST base URL: `rest_url`, or `url` with `ws`→`http`, `wss`→`https`.
    pub fn rest_base(&self) -> Result<url::Url, EraError> {
        let raw = if self.rest_url.trim().is_empty() {
            self.url
                .trim()
                .replacen("wss://", "https://", 1)
                .replacen("ws://", "http://", 1)
        } else {
            self.rest_url.trim().to_string()
        };
        let u = url::Url::parse(&raw)
            .map_err(|e| EraError::Config(format!("era REST url '{raw}': {e}")))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(EraError::Config(format!(
                "era.rest_url must be http(s), got '{raw}'"
            )));
        }
        Ok(u)
    }

    /// Objects to subscribe to.
    pub fn subscription_objects(&self) -> Vec<String> {
        if !self.objects.is_empty() {
            self.objects.clone()
        } else if !self.extension.trim().is_empty() {
            vec![self.extension.trim().to_string()]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_derived_urls() {
        let c = EraConfig::for_server("http://127.0.0.1:9/", "101", "t");
        assert_eq!(c.url, "ws://127.0.0.1:9");
        assert_eq!(c.ws_path(), "/ws/user/v1");
        assert_eq!(c.rest_base().unwrap().as_str(), "http://127.0.0.1:9/");
        assert_eq!(c.subscription_objects(), vec!["101".to_string()]);
        c.validate().unwrap();
        let mut bad = c.clone();
        bad.token.clear();
        assert!(bad.validate().is_err());
        bad.token = "x".into();
        bad.url = "http://x".into();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn token_is_never_serialized() {
        let c = EraConfig {
            token: "secret".into(),
            ..EraConfig::default()
        };
        let t = toml::to_string(&c).unwrap();
        assert!(!t.contains("secret"));
        let back: EraConfig = toml::from_str("url = \"wss://e\"\nauth = \"token_bearer\"").unwrap();
        assert_eq!(back.auth, EraAuth::TokenBearer);
        assert_eq!(back.expires_secs, 300);
        assert!(toml::from_str::<EraConfig>("nope = 1").is_err());
    }
}
