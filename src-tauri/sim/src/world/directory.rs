//! The directory: extensions (agents, IVRs, queues) and hunt groups, plus the demo directory.

use serde::{Deserialize, Serialize};

use super::{Extension, ExtensionKind, World};

/// SIP domain of the demo directory's extensions (`022*101@siptest.ringme.ru`).
pub const DEMO_DOMAIN: &str = "siptest.ringme.ru";

/// How a hunt group rings its members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HuntMode {
    /// Every member rings at once; the first to answer takes the call.
    #[default]
    Parallel,
    /// Members ring one after another, each for the ring timeout.
    Sequential,
}

/// A hunt group or queue: a dialable number that rings several extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuntGroup {
    /// Dialable number (`200`); usually also a `Queue` extension.
    pub number: String,
    pub name: String,
    pub mode: HuntMode,
    /// Extension numbers, in hunting order.
    pub members: Vec<String>,
    /// How long one member rings before it counts as not answering (simulated ms).
    pub ring_timeout_ms: i64,
}

fn ext(id: &str, number: &str, name: &str, kind: ExtensionKind) -> Extension {
    Extension {
        id: id.to_string(),
        number: number.to_string(),
        sip_name: format!("022*{number}@{DEMO_DOMAIN}"),
        name: name.to_string(),
        kind,
    }
}

/// The demo directory: agents 101–105 (Telphin-style ids 34414–34418, Russian and English
/// names), the IVR 800 and the queues 200 (sales, parallel) and 201 (support, sequential).
pub fn demo_directory() -> Vec<Extension> {
    use ExtensionKind::*;
    vec![
        ext("34414", "101", "Анна Смирнова", Agent),
        ext("34415", "102", "Дмитрий Волков", Agent),
        ext("34416", "103", "Olga Kuznetsova", Agent),
        ext("34417", "104", "Игорь Соколов", Agent),
        ext("34418", "105", "Maria Lebedeva", Agent),
        ext("34450", "800", "Голосовое меню", Ivr),
        ext("34460", "200", "Отдел продаж", Queue),
        ext("34461", "201", "Support", Queue),
    ]
}

/// The demo hunt groups: `200` rings 101–103 in parallel, `201` rings 104, 105, 101 in turn.
pub fn demo_groups() -> Vec<HuntGroup> {
    vec![
        HuntGroup {
            number: "200".into(),
            name: "Отдел продаж".into(),
            mode: HuntMode::Parallel,
            members: vec!["101".into(), "102".into(), "103".into()],
            ring_timeout_ms: 20_000,
        },
        HuntGroup {
            number: "201".into(),
            name: "Support".into(),
            mode: HuntMode::Sequential,
            members: vec!["104".into(), "105".into(), "101".into()],
            ring_timeout_ms: 15_000,
        },
    ]
}

impl World {
    /// Add the [`demo_directory`] and the [`demo_groups`] (replacing entries with the same id
    /// or number).
    pub fn install_demo_directory(&self) {
        for e in demo_directory() {
            self.add_extension(e);
        }
        for g in demo_groups() {
            self.add_group(g);
        }
    }

    /// Add or replace a hunt group (by number).
    pub fn add_group(&self, group: HuntGroup) {
        self.lock().groups.insert(group.number.clone(), group);
    }

    pub fn group(&self, number: &str) -> Option<HuntGroup> {
        self.lock().groups.get(number).cloned()
    }

    pub fn groups(&self) -> Vec<HuntGroup> {
        self.lock().groups.values().cloned().collect()
    }

    /// Extensions of kind `Agent`, ordered by id.
    pub fn agents(&self) -> Vec<Extension> {
        self.lock()
            .extensions
            .values()
            .filter(|e| e.kind == ExtensionKind::Agent)
            .cloned()
            .collect()
    }
}
