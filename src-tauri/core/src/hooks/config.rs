//! Listener configuration, the secret path token and the source-IP allow-list.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::ListenerError;
use super::ivr::IvrSettings;
use super::steps::IvrStore;

/// Default body limit: 64 KiB (platform requests are tiny).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// Minimum token length accepted: 22 URL-safe base64 characters carry 128 bits.
pub const MIN_TOKEN_LEN: usize = 22;

/// How the embedded webhook listener runs. Every route except `/health` sits behind the secret
/// path token: `POST /hooks/{token}/calls`, `GET|POST /hooks/{token}/telphin`,
/// `GET|POST /hooks/{token}/ivr`.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct ListenerConfig {
    /// Run the listener at all.
    pub enabled: bool,
    /// IP address to bind. `127.0.0.1` by default; any non-loopback address needs
    /// `allow_lan = true`, and an unspecified one (`0.0.0.0`, `::`) also needs `allow_from`.
    pub bind: String,
    /// TCP port; `0` picks a free one.
    pub port: u16,
    /// Explicit opt-in to listen on a LAN interface (the platform must reach this machine).
    pub allow_lan: bool,
    /// Secret path token (≥ 128 bits, URL-safe). Never written to config files: the config
    /// layer fills it from the OS keyring; [`generate_token`] makes a new one.
    #[serde(default, skip_serializing)]
    #[ts(skip)]
    pub token: String,
    /// Base URL the platform reaches us at (e.g. `https://pbx-gw.example:8443`), used by
    /// [`super::ListenerHandle::urls`]. `None`: `http://{bound address}`.
    pub public_url: Option<String>,
    /// Source addresses allowed to call the listener, as IPs or CIDR ranges
    /// (`213.170.84.96/27`, `::1`). Empty: everyone who can connect.
    pub allow_from: Vec<String>,
    /// IANA time zone for zone-less timestamps (`YYYY-MM-DD HH:MM:SS`) and for the time-of-day
    /// conditions of IVR rules.
    pub time_zone: String,
    /// Largest request body accepted, bytes (larger: `413`).
    pub body_limit_bytes: usize,
    /// Time allowed to receive the request line and headers, ms (then the connection closes).
    #[ts(type = "number")]
    pub header_timeout_ms: u64,
    /// Time allowed to receive the body once the headers are in, ms (then `408`).
    #[ts(type = "number")]
    pub body_timeout_ms: u64,
    /// Time allowed for the event store to commit before answering `503`, ms.
    #[ts(type = "number")]
    pub store_timeout_ms: u64,
    /// Hard deadline for a Call Interactive reply, ms, counted from the full request. Never
    /// exceeded: on expiry the reply is `ivr.fallback_actions`.
    #[ts(type = "number")]
    pub ivr_deadline_ms: u64,
    /// When a Call Interactive step is stored: `after_reply` (default: answer from memory, store
    /// in the background, nothing dropped) or `before_reply` (durable first; a failed or slow
    /// store gives the fallback reply).
    pub ivr_store: IvrStore,
    /// Concurrent connections served; further ones wait to be accepted.
    pub max_connections: usize,
    /// Call Interactive rules and the default and fallback replies.
    pub ivr: IvrSettings,
    /// How long the inspector keeps requests and replies.
    pub inspector: InspectorSettings,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            enabled: true,
            bind: "127.0.0.1".into(),
            port: 8787,
            allow_lan: false,
            token: String::new(),
            public_url: None,
            allow_from: Vec::new(),
            time_zone: "Europe/Moscow".into(),
            body_limit_bytes: DEFAULT_BODY_LIMIT,
            header_timeout_ms: 5_000,
            body_timeout_ms: 5_000,
            store_timeout_ms: 10_000,
            ivr_deadline_ms: 2_000,
            ivr_store: IvrStore::AfterReply,
            max_connections: 64,
            ivr: IvrSettings::default(),
            inspector: InspectorSettings::default(),
        }
    }
}

/// Every field but the token, which shows only whether it is set (configs get logged).
impl std::fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("enabled", &self.enabled)
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("allow_lan", &self.allow_lan)
            .field(
                "token",
                &if self.token.is_empty() {
                    "<unset>"
                } else {
                    "<redacted>"
                },
            )
            .field("public_url", &self.public_url)
            .field("allow_from", &self.allow_from)
            .field("time_zone", &self.time_zone)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("header_timeout_ms", &self.header_timeout_ms)
            .field("body_timeout_ms", &self.body_timeout_ms)
            .field("store_timeout_ms", &self.store_timeout_ms)
            .field("ivr_deadline_ms", &self.ivr_deadline_ms)
            .field("ivr_store", &self.ivr_store)
            .field("max_connections", &self.max_connections)
            .field("ivr", &self.ivr)
            .field("inspector", &self.inspector)
            .finish()
    }
}

/// The request inspector's retention window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct InspectorSettings {
    /// Most requests kept (oldest dropped first).
    pub capacity: usize,
    /// Requests older than this many seconds are dropped.
    #[ts(type = "number")]
    pub window_secs: u64,
    /// Most rejected requests kept in the rejected log.
    pub rejected_capacity: usize,
}

impl Default for InspectorSettings {
    fn default() -> Self {
        InspectorSettings {
            capacity: 500,
            window_secs: 3_600,
            rejected_capacity: 200,
        }
    }
}

/// A fresh secret path token: 256 random bits, URL-safe base64 without padding (43 chars).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The parts of a [`ListenerConfig`] checked and parsed once at start.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub addr: SocketAddr,
    pub tz: chrono_tz::Tz,
    pub allow: Vec<IpRange>,
}

impl ListenerConfig {
    /// Check everything [`super::Listener::start`] needs; returns the parsed parts.
    pub(crate) fn check(&self) -> Result<Checked, ListenerError> {
        let cfg = |m: String| ListenerError::Config(m);
        if self.token.len() < MIN_TOKEN_LEN {
            return Err(cfg(format!(
                "the path token must be at least {MIN_TOKEN_LEN} characters (use generate_token)"
            )));
        }
        if !self
            .token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(cfg("the path token may only contain A-Z a-z 0-9 - _".into()));
        }
        let ip = IpAddr::from_str(self.bind.trim())
            .map_err(|_| cfg(format!("bind {:?} is not an IP address", self.bind)))?;
        let allow = self
            .allow_from
            .iter()
            .map(|s| IpRange::from_str(s).map_err(cfg))
            .collect::<Result<Vec<_>, _>>()?;
        if !ip.is_loopback() && !self.allow_lan {
            return Err(cfg(format!(
                "binding to {ip} (not loopback) needs allow_lan = true"
            )));
        }
        if ip.is_unspecified() && allow.is_empty() {
            return Err(cfg(format!(
                "binding to every interface ({ip}) needs an allow_from list"
            )));
        }
        let tz = chrono_tz::Tz::from_str(self.time_zone.trim())
            .map_err(|_| cfg(format!("unknown time zone {:?}", self.time_zone)))?;
        if self.body_limit_bytes == 0 || self.max_connections == 0 {
            return Err(cfg(
                "body_limit_bytes and max_connections must be positive".into()
            ));
        }
        if self.ivr_deadline_ms == 0 || self.header_timeout_ms == 0 || self.body_timeout_ms == 0 {
            return Err(cfg("timeouts must be positive".into()));
        }
        if let Some(u) = &self.public_url {
            let parsed = url::Url::parse(u).map_err(|e| cfg(format!("public_url {u:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(cfg(format!("public_url {u:?} must be http or https")));
            }
        }
        self.ivr.validate()?;
        Ok(Checked {
            addr: SocketAddr::new(ip, self.port),
            tz,
            allow,
        })
    }
}

/// An IP address range (`10.0.0.0/8`, `::1/128`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Whether `ip` is inside the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr.to_canonical(), ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("allow_from entry {s:?} is not an IP address or CIDR range");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(IpRange { addr, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_token() -> ListenerConfig {
        ListenerConfig {
            token: generate_token(),
            ..Default::default()
        }
    }

    #[test]
    fn tokens_are_long_url_safe_and_distinct() {
        let a = generate_token();
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(a, generate_token());
    }

    #[test]
    fn defaults_are_loopback_and_need_a_token() {
        let c = ListenerConfig::default();
        assert_eq!(c.bind, "127.0.0.1");
        assert_eq!(c.body_limit_bytes, 64 * 1024);
        assert!(matches!(c.check(), Err(ListenerError::Config(_))));
        assert!(with_token().check().is_ok());
    }

    #[test]
    fn lan_binding_is_explicit() {
        let c = ListenerConfig {
            bind: "192.168.1.5".into(),
            ..with_token()
        };
        assert!(c.check().is_err());
        let c = ListenerConfig {
            allow_lan: true,
            ..c
        };
        assert!(c.check().is_ok());
        let c = ListenerConfig {
            bind: "0.0.0.0".into(),
            allow_lan: true,
            ..with_token()
        };
        assert!(c.check().is_err());
        let c = ListenerConfig {
            allow_from: vec!["10.0.0.0/8".into()],
            ..c
        };
        assert!(c.check().is_ok());
    }

    #[test]
    fn token_never_serialized_nor_debug_printed() {
        let c = with_token();
        let text = toml::to_string(&c).unwrap();
        assert!(!text.contains(&c.token));
        assert!(!text.contains("token"));
        let debug = format!("{c:?}");
        assert!(!debug.contains(&c.token));
        assert!(debug.contains("<redacted>"));
        // Read back from a file that has one, it is taken.
        let read: ListenerConfig = toml::from_str(&format!("token = \"{}\"", c.token)).unwrap();
        assert_eq!(read.token, c.token);
    }

    #[test]
    fn ranges_match() {
        let r: IpRange = "213.170.84.96/27".parse().unwrap();
        assert!(r.contains("213.170.84.100".parse().unwrap()));
        assert!(!r.contains("213.170.84.128".parse().unwrap()));
        assert!(r.contains("::ffff:213.170.84.97".parse().unwrap()));
        let one: IpRange = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        let all: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpRange>().is_err());
        assert!("nonsense".parse::<IpRange>().is_err());
    }
}
