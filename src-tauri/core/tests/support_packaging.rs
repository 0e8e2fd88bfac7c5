//! The files admins ship stay true: the documented provisioning example loads, locks what it
//! says and holds no secret; the Linux desktop entry registers every deep-link scheme the app
//! is configured for and passes the link on.

use std::path::PathBuf;

use cti_core::config::{self, ConfigError, Role};
use cti_core::hooks::Action;
use cti_core::support::is_secret_key;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> PathBuf {
    repo().join("packaging/provisioning.example.toml")
}

#[test]
fn the_provisioning_example_loads_and_locks_what_it_says() {
    let d = tempfile::tempdir().unwrap();
    let loaded = config::load_from(&example(), d.path().join("user.toml"), &[]).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(
        loaded.provisioning_file.as_deref(),
        Some(example().as_path())
    );
    let c = &loaded.config;
    assert!(c.era.enabled);
    assert_eq!(c.era.url, "wss://era.example.com");
    assert_eq!(c.telphin.host, "https://apiproxy.telphin.ru");
    assert_eq!(c.listener.bind, "127.0.0.1");
    assert_eq!(c.listener.port, 8787);
    assert_eq!(c.ui.language, "ru");
    assert_eq!(c.ui.role, Role::Agent);
    assert!(c.ui.autostart);
    assert_eq!(c.history.retention_days, Some(365));
    let rules = &c.listener.ivr.rules;
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0].actions.last(), Some(&Action::Hangup));
    c.listener.ivr.validate().unwrap();
    for key in [
        "era.url",
        "listener.port",
        "listener.ivr.rules",
        "ui.language",
        "ui.role",
        "ui.autostart",
    ] {
        assert!(loaded.is_locked(key), "{key} should be locked");
    }
    assert!(
        !loaded.is_locked("era.extension"),
        "each agent sets their own extension"
    );
}

#[test]
fn users_cannot_override_the_locked_keys_of_the_example() {
    let d = tempfile::tempdir().unwrap();
    let user = d.path().join("user.toml");
    std::fs::write(
        &user,
        "[ui]\nlanguage = \"en\"\ntheme = \"dark\"\n[listener]\nport = 9999\n[era]\nextension = \"101\"\n",
    )
    .unwrap();
    let env = vec![("CTI_PANEL_UI__ROLE".to_string(), "supervisor".to_string())];
    let loaded = config::load_from(&example(), user, &env).unwrap();
    assert_eq!(loaded.config.ui.language, "ru");
    assert_eq!(loaded.config.listener.port, 8787);
    assert_eq!(loaded.config.ui.role, Role::Agent);
    assert_eq!(
        loaded.config.ui.theme, "dark",
        "unlocked keys are the user's"
    );
    assert_eq!(loaded.config.era.extension, "101");
    assert_eq!(loaded.warnings.len(), 3, "{:?}", loaded.warnings);
    let refused = config::set_user_value(&loaded, "ui.language", toml::Value::String("en".into()));
    assert!(
        matches!(refused, Err(ConfigError::Locked { .. })),
        "{refused:?}"
    );
}

#[test]
fn the_provisioning_example_holds_no_secret() {
    fn walk(prefix: &str, v: &toml::Value) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let key = format!("{prefix}{k}");
                // `[secrets]` holds the storage settings (backend), not secrets.
                let settings = k == "secrets" && v.is_table();
                assert!(
                    settings || !is_secret_key(k),
                    "{key} is a secret: it must not be provisioned"
                );
                walk(&format!("{key}."), v);
            }
        }
    }
    let text = std::fs::read_to_string(example()).unwrap();
    walk("", &toml::from_str::<toml::Value>(&text).unwrap());
}

#[test]
fn the_desktop_entry_registers_every_deep_link_scheme() {
    let conf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tauri.conf.json")).unwrap())
            .unwrap();
    let template = conf["bundle"]["linux"]["deb"]["desktopTemplate"]
        .as_str()
        .expect("the .deb uses the packaging/ desktop template");
    assert_eq!(
        conf["bundle"]["linux"]["rpm"]["desktopTemplate"].as_str(),
        Some(template),
        "the .rpm uses the same template"
    );
    let entry = std::fs::read_to_string(repo().join(template)).unwrap();
    let mime = entry
        .lines()
        .find_map(|l| l.strip_prefix("MimeType="))
        .expect("a MimeType line");
    let schemes: Vec<&str> = conf["plugins"]["deep-link"]["desktop"]["schemes"]
        .as_array()
        .expect("deep-link schemes")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(
        schemes.contains(&"tel") && schemes.contains(&"callto"),
        "{schemes:?}"
    );
    for s in schemes {
        assert!(
            mime.split(';')
                .any(|m| m == format!("x-scheme-handler/{s}")),
            "{s} missing from MimeType={mime}"
        );
    }
    let exec = entry.lines().find_map(|l| l.strip_prefix("Exec=")).unwrap();
    assert!(
        exec.ends_with(" %u"),
        "the link is passed to the app: Exec={exec}"
    );
}
