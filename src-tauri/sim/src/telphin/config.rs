//! Configuration of the Telphin front-end: OAuth credentials, extensions, park timing, event
//! delivery and Call Interactive.

use serde::{Deserialize, Serialize};

use crate::world::ExtensionKind;

/// Telphin simulator settings. Every field has a working demo default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TelphinSimConfig {
    /// OAuth application id accepted by `POST /oauth/token`.
    pub client_id: String,
    /// OAuth application secret accepted by `POST /oauth/token`.
    pub client_secret: String,
    /// PBX client id used in `/client/{client_id}/…` paths (`@me` is accepted as well).
    pub pbx_client_id: String,
    /// Token lifetime in simulated seconds. `expires_in` is reported in real seconds
    /// (lifetime ÷ speed, rounded down, at least 1), so a client using its own clock refreshes in time.
    pub token_lifetime_secs: u64,
    /// SIP domain of the extensions (`022*341@siptest.ringme.ru`).
    pub domain: String,
    /// Client prefix of extension names (`022` in `022*341`).
    pub prefix: String,
    /// Extensions added to the World at start (replacing any with the same id). When empty and
    /// the World has no extensions yet, the World's demo directory is installed.
    pub extensions: Vec<SimExtension>,
    /// How long a parked call waits before it returns to the extension that parked it
    /// (simulated seconds; seed 000: 3 minutes).
    pub park_timeout_secs: u64,
    /// How long the returned call rings the parking extension before it is given up (`480`),
    /// simulated seconds. `0` = ring until somebody acts.
    pub park_return_ring_secs: u64,
    /// Legs the Telphin API creates (transfer targets, click-to-call sources and destinations,
    /// pickup/eavesdrop/whisper/conference parties, Call Interactive transfers) answer by
    /// themselves after this many simulated seconds. `None` = they ring until answered through
    /// [`crate::telphin::answer_leg`] or the World.
    pub auto_answer_secs: Option<f64>,
    /// At most this many event subscriptions per extension (the `/limit/` resource).
    pub event_limit: usize,
    /// Timeout of one event delivery to a subscriber, real milliseconds.
    pub event_timeout_ms: u64,
    /// Call Interactive settings.
    pub call_interactive: CiSimConfig,
}

impl Default for TelphinSimConfig {
    fn default() -> Self {
        TelphinSimConfig {
            client_id: "demo-client".into(),
            client_secret: "demo-secret".into(),
            pbx_client_id: "3232".into(),
            token_lifetime_secs: 3600,
            domain: "siptest.ringme.ru".into(),
            prefix: "022".into(),
            extensions: Vec::new(),
            park_timeout_secs: 180,
            park_return_ring_secs: 60,
            auto_answer_secs: Some(3.0),
            event_limit: 32,
            event_timeout_ms: 5000,
            call_interactive: CiSimConfig::default(),
        }
    }
}

/// One extension of the simulated PBX.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimExtension {
    /// Numeric Telphin extension id (`34414`).
    pub id: String,
    /// Short number (`341`).
    pub number: String,
    /// Label shown in listings.
    pub name: String,
    /// Telphin extension type.
    pub kind: ExtType,
}

/// Telphin extension types (`GET /client/{id}/extension/?type=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtType {
    /// A phone (an agent's extension).
    Phone,
    Ivr,
    Queue,
}

impl ExtType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtType::Phone => "phone",
            ExtType::Ivr => "ivr",
            ExtType::Queue => "queue",
        }
    }

    pub fn from_world(kind: ExtensionKind) -> ExtType {
        match kind {
            ExtensionKind::Agent => ExtType::Phone,
            ExtensionKind::Ivr => ExtType::Ivr,
            ExtensionKind::Queue => ExtType::Queue,
        }
    }

    pub fn to_world(self) -> ExtensionKind {
        match self {
            ExtType::Phone => ExtensionKind::Agent,
            ExtType::Ivr => ExtensionKind::Ivr,
            ExtType::Queue => ExtensionKind::Queue,
        }
    }
}

/// Call Interactive (seed 001) settings of the IVR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CiSimConfig {
    /// URL the IVR calls when a call reaches [`CiSimConfig::ivr_extension_id`] and
    /// [`CiSimConfig::auto_start`] is on. May contain `$var` parameters.
    pub url: Option<String>,
    /// `GET` or `POST`.
    pub method: String,
    /// Extra URL parameters appended to every request URL (values may use `$var`).
    pub params: Vec<(String, String)>,
    /// A reply slower than this (real milliseconds) counts as no reply.
    pub timeout_ms: u64,
    /// The IVR extension whose answered calls start Call Interactive by themselves.
    pub ivr_extension_id: String,
    /// Start a session whenever the IVR extension answers a call (needs `url`).
    pub auto_start: bool,
    /// IVR context options a `<Jump>` can reach; an unlisted option repeats the entry request.
    pub options: Vec<CiOption>,
    /// Length of a played sound, simulated seconds.
    pub sound_secs: f64,
    /// Digit collection ends this long after the sound (or the last digit), simulated seconds.
    pub digit_timeout_secs: f64,
    /// Digits "pressed" when nobody presses any during a `PlaySound digitvar` (demo script).
    pub default_digits: Option<String>,
    /// Ring time of a `SimpleTransfer` without a valid `timeout`, simulated seconds.
    pub system_transfer_timeout_secs: u64,
    /// A session stops after this many requests (guards `Jump` loops).
    pub max_requests: usize,
}

impl Default for CiSimConfig {
    fn default() -> Self {
        CiSimConfig {
            url: None,
            method: "GET".into(),
            params: Vec::new(),
            timeout_ms: 3000,
            ivr_extension_id: "34450".into(),
            auto_start: false,
            options: Vec::new(),
            sound_secs: 5.0,
            digit_timeout_secs: 3.0,
            default_digits: None,
            system_transfer_timeout_secs: 30,
            max_requests: 20,
        }
    }
}

/// An IVR context option that performs a Call Interactive request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiOption {
    /// Context id (`Jump context="3"`).
    pub context: String,
    /// Option name (`Jump option="start"`).
    pub option: String,
    /// URL requested when the IVR reaches this option (may contain `$var`).
    pub url: String,
    /// `GET` or `POST`.
    #[serde(default = "default_method")]
    pub method: String,
}

fn default_method() -> String {
    "GET".into()
}
