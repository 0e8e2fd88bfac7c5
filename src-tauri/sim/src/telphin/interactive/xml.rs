//! Parser of the Call Interactive reply (seed 001): an XML `<Response>` with up to 10 actions.
//!
//! Anything that is not a well-formed document with a `<Response>` root is "no reply" (the IVR
//! goes on). Unknown elements are skipped and noted. Only the first [`MAX_ACTIONS`] actions
//! run; the rest are counted as ignored.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use quick_xml::XmlVersion;
use serde::Serialize;

/// The documented limit of actions in one reply.
pub const MAX_ACTIONS: usize = 10;

/// Default `Pause` length, seconds (seed 001).
pub const DEFAULT_PAUSE_SECS: u64 = 10;

/// One action of a reply. Fields filled while executing (`collected`, `answered_by`) are `None`
/// straight out of the parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CiAction {
    Hangup,
    /// Pause for `length` seconds.
    Pause {
        length: u64,
    },
    SetVar {
        name: String,
        value: String,
    },
    Jump {
        context: String,
        option: String,
    },
    /// `SetCaller` (the seed's heading calls it SetCallerId; both tags are accepted).
    SetCaller {
        name: Option<String>,
        number: Option<String>,
    },
    PlaySound {
        file: String,
        background: bool,
        digitvar: Option<String>,
        /// Digits collected into `digitvar` during playback.
        collected: Option<String>,
    },
    SimpleTransfer {
        numbers: Vec<String>,
        /// `final` — true unless `final="no"`.
        is_final: bool,
        /// Ring time in seconds; `None` = the system timeout.
        timeout: Option<u64>,
        /// `early_media="True"` (exactly).
        early_media: bool,
        /// Number that answered.
        answered_by: Option<String>,
    },
}

/// A parsed `<Response>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedReply {
    /// At most [`MAX_ACTIONS`] actions, in document order.
    pub actions: Vec<CiAction>,
    /// Actions after the tenth, not executed.
    pub ignored: usize,
    /// Unknown elements and invalid values that were skipped.
    pub problems: Vec<String>,
}

/// Parse a reply body; `None` when it is not a `<Response>` XML document.
pub fn parse_reply(body: &str) -> Option<ParsedReply> {
    let mut reader = Reader::from_str(body);
    let mut reply = ParsedReply::default();
    let mut seen_root = false;
    loop {
        match reader.read_event().ok()? {
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Text(t) if t.trim().is_empty() => {}
            Event::Empty(e) if !seen_root && e.local_name().as_ref() == "Response" => {
                return Some(reply);
            }
            Event::Start(e) if !seen_root && e.local_name().as_ref() == "Response" => {
                seen_root = true;
            }
            Event::End(e) if seen_root && e.local_name().as_ref() == "Response" => {
                return finish(&mut reader, reply);
            }
            Event::Empty(e) if seen_root => push(&mut reply, &e, String::new()).ok()?,
            Event::Start(e) if seen_root => {
                let text = read_text(&mut reader)?;
                push(&mut reply, &e, text).ok()?;
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if seen_root => {}
            _ => return None,
        }
    }
}

/// After `</Response>` only comments and whitespace may follow.
fn finish(reader: &mut Reader<&[u8]>, reply: ParsedReply) -> Option<ParsedReply> {
    loop {
        match reader.read_event().ok()? {
            Event::Eof => return Some(reply),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Text(t) if t.trim().is_empty() => {}
            _ => return None,
        }
    }
}

/// Text content up to the end of the current element (nested elements are skipped).
fn read_text(reader: &mut Reader<&[u8]>) -> Option<String> {
    let mut text = String::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event().ok()? {
            Event::Text(t) if depth == 0 => text.push_str(&t.xml10_content()),
            Event::CData(c) if depth == 0 => text.push_str(&c),
            Event::GeneralRef(r) if depth == 0 => {
                if let Some(ch) = r.resolve_char_ref().ok()? {
                    text.push(ch);
                } else {
                    text.push_str(resolve_predefined_entity(&r)?);
                }
            }
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Some(text.trim().to_string()),
            Event::End(_) => depth -= 1,
            Event::Eof => return None,
            _ => {}
        }
    }
}

struct Attrs(Vec<(String, String)>);

impl Attrs {
    fn of(e: &BytesStart<'_>) -> Result<Attrs, ()> {
        let mut v = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|_| ())?;
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|_| ())?;
            v.push((
                a.key.local_name().as_ref().to_string(),
                value.trim().to_string(),
            ));
        }
        Ok(Attrs(v))
    }
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn push(reply: &mut ParsedReply, e: &BytesStart<'_>, text: String) -> Result<(), ()> {
    let attrs = Attrs::of(e)?;
    let tag = e.local_name().as_ref().to_string();
    let action = match tag.as_str() {
        "Hangup" => CiAction::Hangup,
        "Pause" => {
            let length = match attrs.get("length") {
                None => DEFAULT_PAUSE_SECS,
                Some(l) => match l.parse::<u64>() {
                    Ok(n) => n.min(3600),
                    Err(_) => {
                        reply
                            .problems
                            .push(format!("Pause length {l:?} is not a number; using 10"));
                        DEFAULT_PAUSE_SECS
                    }
                },
            };
            CiAction::Pause { length }
        }
        "SetVar" => match attrs.get("name").filter(|n| !n.is_empty()) {
            Some(name) => CiAction::SetVar { name, value: text },
            None => {
                reply.problems.push("SetVar without a name skipped".into());
                return Ok(());
            }
        },
        "Jump" => CiAction::Jump {
            context: attrs.get("context").unwrap_or_default(),
            option: attrs.get("option").unwrap_or_default(),
        },
        "SetCaller" | "SetCallerId" => CiAction::SetCaller {
            name: attrs.get("name").filter(|s| !s.is_empty()),
            number: attrs.get("number").filter(|s| !s.is_empty()),
        },
        "PlaySound" => CiAction::PlaySound {
            file: text,
            background: attrs
                .get("where")
                .is_some_and(|w| w.eq_ignore_ascii_case("background")),
            digitvar: attrs.get("digitvar").filter(|s| !s.is_empty()),
            collected: None,
        },
        "SimpleTransfer" => {
            if text.chars().any(char::is_whitespace) {
                reply
                    .problems
                    .push("SimpleTransfer numbers contain spaces".into());
            }
            let numbers: Vec<String> = text
                .split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect();
            if numbers.is_empty() {
                reply
                    .problems
                    .push("SimpleTransfer without numbers skipped".into());
                return Ok(());
            }
            CiAction::SimpleTransfer {
                numbers,
                is_final: attrs.get("final").is_none_or(|f| f != "no"),
                timeout: attrs
                    .get("timeout")
                    .and_then(|t| t.parse::<u64>().ok())
                    .filter(|t| *t > 0),
                early_media: attrs.get("early_media").is_some_and(|v| v == "True"),
                answered_by: None,
            }
        }
        other => {
            reply
                .problems
                .push(format!("unknown action <{other}> skipped"));
            return Ok(());
        }
    };
    if reply.actions.len() < MAX_ACTIONS {
        reply.actions.push(action);
    } else {
        reply.ignored += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_examples_parse() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response>
    <SetVar name="transferDestination">09897987</SetVar>
    <Pause length="15" />
    <Pause/>
    <Jump context="3" option="start"/>
    <SetCaller name="callerName" number="92992"/>
    <PlaySound where="background" digitvar="transferDestination">ae3d.wav</PlaySound>
    <SimpleTransfer final="no" timeout="20">NUM1,NUM2</SimpleTransfer>
    <SimpleTransfer early_media="True">100</SimpleTransfer>
    <Hangup/>
</Response>"#;
        let r = parse_reply(xml).unwrap();
        assert_eq!(r.ignored, 0);
        assert_eq!(
            r.actions,
            vec![
                CiAction::SetVar {
                    name: "transferDestination".into(),
                    value: "09897987".into()
                },
                CiAction::Pause { length: 15 },
                CiAction::Pause { length: 10 },
                CiAction::Jump {
                    context: "3".into(),
                    option: "start".into()
                },
                CiAction::SetCaller {
                    name: Some("callerName".into()),
                    number: Some("92992".into())
                },
                CiAction::PlaySound {
                    file: "ae3d.wav".into(),
                    background: true,
                    digitvar: Some("transferDestination".into()),
                    collected: None
                },
                CiAction::SimpleTransfer {
                    numbers: vec!["NUM1".into(), "NUM2".into()],
                    is_final: false,
                    timeout: Some(20),
                    early_media: false,
                    answered_by: None
                },
                CiAction::SimpleTransfer {
                    numbers: vec!["100".into()],
                    is_final: true,
                    timeout: None,
                    early_media: true,
                    answered_by: None
                },
                CiAction::Hangup,
            ]
        );
    }

    #[test]
    fn more_than_ten_actions_keeps_the_first_ten() {
        let body: String = (0..13)
            .map(|i| format!("<SetVar name=\"v{i}\">{i}</SetVar>"))
            .collect();
        let r = parse_reply(&format!("<Response>{body}</Response>")).unwrap();
        assert_eq!(r.actions.len(), 10);
        assert_eq!(r.ignored, 3);
        assert_eq!(
            r.actions[9],
            CiAction::SetVar {
                name: "v9".into(),
                value: "9".into()
            }
        );
    }

    #[test]
    fn non_xml_and_foreign_roots_are_no_reply() {
        assert_eq!(parse_reply(""), None);
        assert_eq!(parse_reply("OK"), None);
        assert_eq!(parse_reply("{\"a\":1}"), None);
        assert_eq!(parse_reply("<html><body>502</body></html>"), None);
        assert_eq!(parse_reply("<Response><Hangup/>"), None);
        assert_eq!(
            parse_reply("<Response><Hangup/></Response><Response/>"),
            None
        );
        assert_eq!(parse_reply("<Response/>").map(|r| r.actions.len()), Some(0));
    }

    #[test]
    fn entities_unknown_tags_and_bad_values() {
        let r = parse_reply(
            "<Response><SetVar name=\"a&amp;b\">x &lt; y &#49;</SetVar><Dance/><Pause length=\"x\"/></Response>",
        )
        .unwrap();
        assert_eq!(
            r.actions[0],
            CiAction::SetVar {
                name: "a&b".into(),
                value: "x < y 1".into()
            }
        );
        assert_eq!(r.actions[1], CiAction::Pause { length: 10 });
        assert_eq!(r.problems.len(), 2);
    }
}
