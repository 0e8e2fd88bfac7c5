//! The Call Interactive reply actions of seed 001 and their rules.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::MAX_ACTIONS;
use crate::hooks::error::ActionError;

/// How `PlaySound` plays: `background` lets the caller type digits into `digitvar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PlayMode {
    Foreground,
    Background,
}

impl PlayMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PlayMode::Foreground => "foreground",
            PlayMode::Background => "background",
        }
    }
}

/// One action of a Call Interactive `<Response>` (seed 001). At most ten per reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
#[ts(export)]
pub enum Action {
    /// `<Hangup/>`: end the call now.
    Hangup,
    /// `<Pause length="15"/>`: wait `length` seconds (the platform's default is 10).
    Pause {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        length: Option<u32>,
    },
    /// `<SetVar name="n">value</SetVar>`: set an IVR variable.
    SetVar { name: String, value: String },
    /// `<Jump context="3" option="start"/>`: go to an option of an IVR context.
    Jump { context: String, option: String },
    /// `<SetCaller name="…" number="…"/>`: change the caller id inside the IVR.
    SetCaller {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<String>,
    },
    /// `<PlaySound where="background" digitvar="v">file.wav</PlaySound>`.
    PlaySound {
        file: String,
        #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
        mode: Option<PlayMode>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digitvar: Option<String>,
    },
    /// `<SimpleTransfer final="no" timeout="20" early_media="True">N1,N2</SimpleTransfer>`.
    SimpleTransfer {
        numbers: Vec<String>,
        /// `final`: the platform's default is yes.
        #[serde(rename = "final", default, skip_serializing_if = "Option::is_none")]
        is_final: Option<bool>,
        /// Seconds to wait for an answer; absent: the system timeout.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        early_media: Option<bool>,
    },
}

impl Action {
    /// The XML element name.
    pub fn element(&self) -> &'static str {
        match self {
            Action::Hangup => "Hangup",
            Action::Pause { .. } => "Pause",
            Action::SetVar { .. } => "SetVar",
            Action::Jump { .. } => "Jump",
            Action::SetCaller { .. } => "SetCaller",
            Action::PlaySound { .. } => "PlaySound",
            Action::SimpleTransfer { .. } => "SimpleTransfer",
        }
    }

    /// Check this action against the platform's rules.
    pub fn validate(&self) -> Result<(), String> {
        let strings: Vec<&str> = match self {
            Action::Hangup | Action::Pause { .. } => vec![],
            Action::SetVar { name, value } => {
                check_var_name(name)?;
                vec![value]
            }
            Action::Jump { context, option } => {
                if context.trim().is_empty() || option.trim().is_empty() {
                    return Err("context and option are required".into());
                }
                vec![context, option]
            }
            Action::SetCaller { name, number } => {
                if name.is_none() && number.is_none() {
                    return Err("set a name, a number or both".into());
                }
                name.iter()
                    .chain(number.iter())
                    .map(String::as_str)
                    .collect()
            }
            Action::PlaySound {
                file,
                mode,
                digitvar,
            } => {
                if file.trim().is_empty() {
                    return Err("the sound file name is required".into());
                }
                if let Some(v) = digitvar {
                    check_var_name(v)?;
                    if *mode == Some(PlayMode::Foreground) {
                        return Err("digitvar needs where=\"background\"".into());
                    }
                }
                vec![file]
            }
            Action::SimpleTransfer { numbers, .. } => {
                if numbers.is_empty() {
                    return Err("at least one number is required".into());
                }
                for n in numbers {
                    if n.is_empty() || n.contains(',') || n.chars().any(char::is_whitespace) {
                        return Err(format!(
                            "number {n:?} must be non-empty, without commas or spaces"
                        ));
                    }
                }
                numbers.iter().map(String::as_str).collect()
            }
        };
        if strings.iter().any(|s| s.chars().any(|c| !is_xml_char(c))) {
            return Err("contains a control character XML cannot carry".into());
        }
        Ok(())
    }
}

fn check_var_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "variable name {name:?} must be letters, digits and _ (not starting with a digit)"
        ))
    }
}

/// Check a reply: at most [`MAX_ACTIONS`] actions, each valid.
pub fn validate_actions(actions: &[Action]) -> Result<(), ActionError> {
    if actions.len() > MAX_ACTIONS {
        return Err(ActionError::TooMany(actions.len()));
    }
    for (index, a) in actions.iter().enumerate() {
        a.validate().map_err(|reason| ActionError::Invalid {
            index,
            action: a.element(),
            reason,
        })?;
    }
    Ok(())
}

/// Whether XML 1.0 can carry `c` at all (the `Char` production).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_is_pinned() {
        let a = Action::PlaySound {
            file: "a.wav".into(),
            mode: Some(PlayMode::Background),
            digitvar: Some("d".into()),
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"action":"play_sound","file":"a.wav","where":"background","digitvar":"d"}"#
        );
        let t: Action = serde_json::from_str(
            r#"{"action":"simple_transfer","numbers":["1","2"],"final":false}"#,
        )
        .unwrap();
        assert_eq!(
            t,
            Action::SimpleTransfer {
                numbers: vec!["1".into(), "2".into()],
                is_final: Some(false),
                timeout: None,
                early_media: None
            }
        );
        assert_eq!(
            serde_json::to_string(&Action::Hangup).unwrap(),
            r#"{"action":"hangup"}"#
        );
    }

    #[test]
    fn rules_of_the_platform() {
        let ok = [
            Action::Hangup,
            Action::SetVar {
                name: "transferDestination".into(),
                value: "09897987".into(),
            },
            Action::SimpleTransfer {
                numbers: vec!["101".into()],
                is_final: None,
                timeout: Some(20),
                early_media: Some(true),
            },
        ];
        assert!(validate_actions(&ok).is_ok());
        let bad = [
            Action::SetVar {
                name: "1x".into(),
                value: String::new(),
            },
            Action::Jump {
                context: "3".into(),
                option: " ".into(),
            },
            Action::SetCaller {
                name: None,
                number: None,
            },
            Action::PlaySound {
                file: "f".into(),
                mode: Some(PlayMode::Foreground),
                digitvar: Some("d".into()),
            },
            Action::SimpleTransfer {
                numbers: vec!["1, 2".into()],
                is_final: None,
                timeout: None,
                early_media: None,
            },
            Action::SimpleTransfer {
                numbers: vec![],
                is_final: None,
                timeout: None,
                early_media: None,
            },
            Action::SetVar {
                name: "v".into(),
                value: "bell\u{7}".into(),
            },
        ];
        for b in bad {
            assert!(validate_actions(std::slice::from_ref(&b)).is_err(), "{b:?}");
        }
        let eleven = vec![Action::Hangup; 11];
        assert_eq!(validate_actions(&eleven), Err(ActionError::TooMany(11)));
    }
}
