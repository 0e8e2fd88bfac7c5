//! IVR rules the admin or agent configures: when a Call Interactive request matches, reply
//! with these actions (optionally asking the agent first).

use chrono::{DateTime, Datelike as _, NaiveTime, Timelike as _};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::action::{validate_actions, Action};
use super::request::CallInteractiveRequest;
use super::xml::response_xml;
use crate::hooks::error::RuleError;

/// A test on a text value. Phone numbers are compared without spaces, dashes, brackets and a
/// leading `+`; names and variables case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
#[ts(export)]
pub enum TextTest {
    Equals(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    OneOf(Vec<String>),
    /// The value is present and not empty.
    Present,
    /// The value is missing or empty.
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    fn of(d: chrono::Weekday) -> Weekday {
        match d {
            chrono::Weekday::Mon => Weekday::Mon,
            chrono::Weekday::Tue => Weekday::Tue,
            chrono::Weekday::Wed => Weekday::Wed,
            chrono::Weekday::Thu => Weekday::Thu,
            chrono::Weekday::Fri => Weekday::Fri,
            chrono::Weekday::Sat => Weekday::Sat,
            chrono::Weekday::Sun => Weekday::Sun,
        }
    }
}

/// One condition of a rule; a rule matches when all of its conditions hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "field", rename_all = "snake_case")]
#[ts(export)]
pub enum Condition {
    /// `CallerIDNum`.
    CallerNumber { test: TextTest },
    /// `CallerIDName`.
    CallerName { test: TextTest },
    /// `CalledDID`: the public number the call came in on.
    Did { test: TextTest },
    /// `CalledNumber`: what the caller dialled.
    CalledNumber { test: TextTest },
    /// An IVR variable or static parameter passed in the URL (`?lang=$lang`).
    Variable { name: String, test: TextTest },
    /// Local time (listener time zone) in `[from, to)`, `HH:MM`; `from > to` wraps midnight.
    TimeOfDay { from: String, to: String },
    /// Local weekday (listener time zone) is one of `days`.
    Weekday { days: Vec<Weekday> },
}

/// A Call Interactive rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct IvrRule {
    /// Stable id (for the editor and the inspector).
    pub id: String,
    /// Human name.
    pub name: String,
    pub enabled: bool,
    /// All must hold; none: always matches.
    pub when: Vec<Condition>,
    /// The reply; also the fallback when the agent does not decide in time.
    pub actions: Vec<Action>,
    /// Hold the request up to this many ms for the agent's decision (bounded by the reply
    /// deadline). `None`: reply at once.
    #[ts(type = "number | null")]
    pub ask_agent_ms: Option<u64>,
}

impl Default for IvrRule {
    fn default() -> Self {
        IvrRule {
            id: String::new(),
            name: String::new(),
            enabled: true,
            when: Vec::new(),
            actions: Vec::new(),
            ask_agent_ms: None,
        }
    }
}

/// The XML reply this rule produces (the editor's preview).
pub fn preview_xml(rule: &IvrRule) -> String {
    response_xml(&rule.actions)
}

impl IvrRule {
    /// Check the rule: valid actions and well-formed conditions.
    pub fn validate(&self) -> Result<(), RuleError> {
        let label = if self.name.is_empty() {
            self.id.clone()
        } else {
            self.name.clone()
        };
        validate_actions(&self.actions).map_err(|source| RuleError::Actions {
            rule: label.clone(),
            source,
        })?;
        for c in &self.when {
            let bad = |reason: String| RuleError::Invalid {
                rule: label.clone(),
                reason,
            };
            match c {
                Condition::TimeOfDay { from, to } => {
                    for t in [from, to] {
                        parse_hhmm(t).ok_or_else(|| bad(format!("time {t:?} is not HH:MM")))?;
                    }
                }
                Condition::Variable { name, .. } if name.trim().is_empty() => {
                    return Err(bad("a variable condition needs a name".into()))
                }
                Condition::Weekday { days } if days.is_empty() => {
                    return Err(bad("a weekday condition needs at least one day".into()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether every condition holds for `req` at local time `now`.
    pub fn matches(&self, req: &CallInteractiveRequest, now: &DateTime<Tz>) -> bool {
        self.enabled && self.when.iter().all(|c| condition_holds(c, req, now))
    }
}

/// The first enabled rule that matches.
pub fn evaluate<'a>(
    rules: &'a [IvrRule],
    req: &CallInteractiveRequest,
    now: &DateTime<Tz>,
) -> Option<&'a IvrRule> {
    rules.iter().find(|r| r.matches(req, now))
}

fn condition_holds(c: &Condition, req: &CallInteractiveRequest, now: &DateTime<Tz>) -> bool {
    match c {
        Condition::CallerNumber { test } => number_test(test, req.caller_id_num.as_deref()),
        Condition::CallerName { test } => text_test(test, req.caller_id_name.as_deref()),
        Condition::Did { test } => number_test(test, req.called_did.as_deref()),
        Condition::CalledNumber { test } => number_test(test, req.called_number.as_deref()),
        Condition::Variable { name, test } => {
            let v = req
                .variables
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name.trim()))
                .map(|(_, v)| v.as_str());
            text_test(test, v)
        }
        Condition::TimeOfDay { from, to } => match (parse_hhmm(from), parse_hhmm(to)) {
            (Some(f), Some(t)) => {
                let m = now.hour() * 60 + now.minute();
                if f <= t {
                    f <= m && m < t
                } else {
                    m >= f || m < t
                }
            }
            _ => false,
        },
        Condition::Weekday { days } => days.contains(&Weekday::of(now.weekday())),
    }
}

/// `HH:MM` as minutes since midnight.
fn parse_hhmm(s: &str) -> Option<u32> {
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()?;
    Some(t.hour() * 60 + t.minute())
}

fn normalize_number(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    s.strip_prefix('+').map(str::to_string).unwrap_or(s)
}

fn number_test(test: &TextTest, value: Option<&str>) -> bool {
    apply(test, value, normalize_number)
}

fn text_test(test: &TextTest, value: Option<&str>) -> bool {
    apply(test, value, |s| s.trim().to_lowercase())
}

fn apply(test: &TextTest, value: Option<&str>, norm: impl Fn(&str) -> String) -> bool {
    let value = value.filter(|v| !v.trim().is_empty()).map(&norm);
    match (test, value) {
        (TextTest::Absent, v) => v.is_none(),
        (_, None) => false,
        (TextTest::Present, Some(_)) => true,
        (TextTest::Equals(p), Some(v)) => v == norm(p),
        (TextTest::Prefix(p), Some(v)) => v.starts_with(&norm(p)),
        (TextTest::Suffix(p), Some(v)) => v.ends_with(&norm(p)),
        (TextTest::Contains(p), Some(v)) => v.contains(&norm(p)),
        (TextTest::OneOf(list), Some(v)) => list.iter().any(|p| v == norm(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::params::Params;
    use chrono::TimeZone as _;

    fn req(q: &str) -> CallInteractiveRequest {
        CallInteractiveRequest::from_params(&Params::parse(q.as_bytes())).unwrap()
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Tz> {
        chrono_tz::Europe::Moscow
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
    }

    fn rule(id: &str, when: Vec<Condition>) -> IvrRule {
        IvrRule {
            id: id.into(),
            when,
            actions: vec![Action::Hangup],
            ..Default::default()
        }
    }

    #[test]
    fn conditions() {
        let r = req("CallID=1&CallerIDNum=%2B7%20(495)%20123-45-67&CallerIDName=Ivan%20Petrov&CalledDID=74951110000&CalledNumber=332&lang=RU");
        // 2024-01-01 was a Monday.
        let mon_noon = at(2024, 1, 1, 12, 0);
        let yes = |c: Condition| rule("r", vec![c]).matches(&r, &mon_noon);
        assert!(yes(Condition::CallerNumber {
            test: TextTest::Prefix("7495".into())
        }));
        assert!(yes(Condition::CallerNumber {
            test: TextTest::Equals("+74951234567".into())
        }));
        assert!(yes(Condition::CallerName {
            test: TextTest::Contains("petrov".into())
        }));
        assert!(yes(Condition::Did {
            test: TextTest::OneOf(vec!["1".into(), "74951110000".into()])
        }));
        assert!(yes(Condition::CalledNumber {
            test: TextTest::Suffix("32".into())
        }));
        assert!(yes(Condition::Variable {
            name: "LANG".into(),
            test: TextTest::Equals("ru".into())
        }));
        assert!(yes(Condition::Variable {
            name: "missing".into(),
            test: TextTest::Absent
        }));
        assert!(!yes(Condition::Variable {
            name: "missing".into(),
            test: TextTest::Present
        }));
        assert!(yes(Condition::TimeOfDay {
            from: "09:00".into(),
            to: "18:00".into()
        }));
        assert!(!yes(Condition::TimeOfDay {
            from: "18:00".into(),
            to: "09:00".into()
        }));
        assert!(yes(Condition::Weekday {
            days: vec![Weekday::Mon, Weekday::Tue]
        }));
        assert!(!yes(Condition::Weekday {
            days: vec![Weekday::Sat, Weekday::Sun]
        }));
        let night = at(2024, 1, 6, 23, 30);
        assert!(rule(
            "n",
            vec![Condition::TimeOfDay {
                from: "18:00".into(),
                to: "09:00".into()
            }]
        )
        .matches(&r, &night));
    }

    #[test]
    fn first_enabled_match_wins() {
        let r = req("CallID=1&CallerIDNum=100");
        let now = at(2024, 1, 1, 12, 0);
        let mut off = rule("off", vec![]);
        off.enabled = false;
        let rules = vec![
            off,
            rule(
                "other",
                vec![Condition::CallerNumber {
                    test: TextTest::Equals("200".into()),
                }],
            ),
            rule(
                "hit",
                vec![Condition::CallerNumber {
                    test: TextTest::Equals("100".into()),
                }],
            ),
            rule("later", vec![]),
        ];
        assert_eq!(
            evaluate(&rules, &r, &now).map(|r| r.id.as_str()),
            Some("hit")
        );
        assert!(evaluate(&rules[..2], &r, &now).is_none());
    }

    #[test]
    fn validation() {
        assert!(rule(
            "a",
            vec![Condition::TimeOfDay {
                from: "9".into(),
                to: "18:00".into()
            }]
        )
        .validate()
        .is_err());
        assert!(rule("a", vec![Condition::Weekday { days: vec![] }])
            .validate()
            .is_err());
        let mut r = rule("a", vec![]);
        r.actions = vec![Action::Hangup; 11];
        assert!(r.validate().is_err());
        assert!(rule("a", vec![]).validate().is_ok());
        assert!(preview_xml(&rule("a", vec![])).contains("<Hangup/>"));
    }

    #[test]
    fn json_form() {
        let c = Condition::CallerNumber {
            test: TextTest::Prefix("7495".into()),
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"field":"caller_number","test":{"op":"prefix","value":"7495"}}"#
        );
        let r: IvrRule =
            serde_json::from_str(r#"{"id":"x","actions":[{"action":"hangup"}]}"#).unwrap();
        assert!(r.enabled);
    }
}
