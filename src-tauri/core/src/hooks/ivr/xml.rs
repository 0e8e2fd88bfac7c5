//! Call Interactive `<Response>` XML: written with quick-xml (every value escaped), and read
//! back strictly for hand-written replies.

use std::borrow::Cow;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer, XmlVersion};

use super::action::{is_xml_char, validate_actions, Action, PlayMode};
use super::MAX_ACTIONS;
use crate::hooks::error::{one_line, ReplyXmlError};

/// The reply document for `actions`: `<?xml …?><Response>…</Response>`, indented like the seed.
/// Only the first [`MAX_ACTIONS`] actions are written; characters XML cannot carry (control
/// characters other than tab and line breaks) are dropped.
pub fn response_xml(actions: &[Action]) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 4);
    // Writing into a Vec cannot fail; errors are ignored rather than unwrapped.
    let _ = write_document(&mut w, actions);
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

fn write_document(w: &mut Writer<Vec<u8>>, actions: &[Action]) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    if actions.is_empty() {
        return w.write_event(Event::Empty(BytesStart::new("Response")));
    }
    w.write_event(Event::Start(BytesStart::new("Response")))?;
    for action in actions.iter().take(MAX_ACTIONS) {
        write_action(w, action)?;
    }
    w.write_event(Event::End(BytesEnd::new("Response")))
}

fn write_action(w: &mut Writer<Vec<u8>>, action: &Action) -> std::io::Result<()> {
    let mut el = BytesStart::new(action.element());
    let mut attr = |k: &str, v: &str| el.push_attribute((k, clean(v).as_ref()));
    let text: Option<String> = match action {
        Action::Hangup => None,
        Action::Pause { length } => {
            if let Some(n) = length {
                attr("length", &n.to_string());
            }
            None
        }
        Action::SetVar { name, value } => {
            attr("name", name);
            Some(value.clone())
        }
        Action::Jump { context, option } => {
            attr("context", context);
            attr("option", option);
            None
        }
        Action::SetCaller { name, number } => {
            if let Some(n) = name {
                attr("name", n);
            }
            if let Some(n) = number {
                attr("number", n);
            }
            None
        }
        Action::PlaySound {
            file,
            mode,
            digitvar,
        } => {
            if let Some(m) = mode {
                attr("where", m.as_str());
            }
            if let Some(d) = digitvar {
                attr("digitvar", d);
            }
            Some(file.clone())
        }
        Action::SimpleTransfer {
            numbers,
            is_final,
            timeout,
            early_media,
        } => {
            if let Some(f) = is_final {
                attr("final", if *f { "yes" } else { "no" });
            }
            if let Some(t) = timeout {
                attr("timeout", &t.to_string());
            }
            if let Some(e) = early_media {
                attr("early_media", if *e { "True" } else { "False" });
            }
            Some(numbers.join(","))
        }
    };
    match text {
        None => w.write_event(Event::Empty(el)),
        Some(t) => {
            let end = BytesEnd::new(action.element());
            w.write_event(Event::Start(el))?;
            w.write_event(Event::Text(BytesText::new(&clean(&t))))?;
            w.write_event(Event::End(end))
        }
    }
}

/// `s` without the characters XML cannot carry.
fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

/// The numbers of a `SimpleTransfer` text (`NUM1,NUM2`); empty text: none.
fn split_numbers(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split(',').map(str::to_string).collect()
    }
}

/// What [`response_xml`] does to actions: characters XML cannot carry dropped, at most ten
/// actions, transfer numbers as the comma-joined text reads back. For every `a`,
/// `parse_response_xml(&response_xml(&a)) == Ok(sanitize(&a))`.
pub fn sanitize(actions: &[Action]) -> Vec<Action> {
    let c = |s: &String| clean(s).into_owned();
    let co = |s: &Option<String>| s.as_ref().map(c);
    actions
        .iter()
        .take(MAX_ACTIONS)
        .map(|a| match a {
            Action::Hangup | Action::Pause { .. } => a.clone(),
            Action::SetVar { name, value } => Action::SetVar {
                name: c(name),
                value: c(value),
            },
            Action::Jump { context, option } => Action::Jump {
                context: c(context),
                option: c(option),
            },
            Action::SetCaller { name, number } => Action::SetCaller {
                name: co(name),
                number: co(number),
            },
            Action::PlaySound {
                file,
                mode,
                digitvar,
            } => Action::PlaySound {
                file: c(file),
                mode: *mode,
                digitvar: co(digitvar),
            },
            Action::SimpleTransfer {
                numbers,
                is_final,
                timeout,
                early_media,
            } => Action::SimpleTransfer {
                numbers: split_numbers(&clean(&numbers.join(","))),
                is_final: *is_final,
                timeout: *timeout,
                early_media: *early_media,
            },
        })
        .collect()
}

/// Validate a hand-written reply: well-formed, a `<Response>` root, known actions with known
/// attributes, at most ten, each valid. Returns the actions.
pub fn validate_xml(xml: &str) -> Result<Vec<Action>, ReplyXmlError> {
    let actions = parse_response_xml(xml)?;
    validate_actions(&actions)?;
    Ok(actions)
}

/// Parse a `<Response>` document into actions, checking the syntax only (no limit on the
/// count, no platform rules: see [`validate_xml`]).
pub fn parse_response_xml(xml: &str) -> Result<Vec<Action>, ReplyXmlError> {
    let mut reader = Reader::from_str(xml);
    let mut actions = Vec::new();
    let mut in_response = false;
    let mut done = false;
    loop {
        let ev = reader.read_event().map_err(malformed)?;
        match ev {
            Event::Eof if done => return Ok(actions),
            Event::Eof if in_response => {
                return Err(ReplyXmlError::Malformed("unclosed <Response>".into()))
            }
            Event::Eof => return Err(ReplyXmlError::NoResponse),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(ReplyXmlError::DocType),
            Event::Text(t) if t.chars().all(|c| c.is_ascii_whitespace()) => {}
            Event::Text(t) => return Err(unexpected(&format!("text {:?}", one_line(&t, 40)))),
            Event::GeneralRef(r) => return Err(unexpected(&format!("&{};", one_line(&r, 20)))),
            Event::CData(_) => return Err(unexpected("CDATA")),
            Event::Start(e) | Event::Empty(e) if done => {
                return Err(unexpected(&format!("<{}> after </Response>", name(&e))))
            }
            Event::Start(e) if !in_response => {
                check_root(&e)?;
                in_response = true;
            }
            Event::Empty(e) if !in_response => {
                check_root(&e)?;
                done = true;
            }
            Event::Start(e) => {
                let text = read_text(&mut reader, &name(&e))?;
                actions.push(action_from(&e, Some(text))?);
            }
            Event::Empty(e) => actions.push(action_from(&e, None)?),
            Event::End(_) => {
                in_response = false;
                done = true;
            }
        }
    }
}

fn malformed(e: quick_xml::Error) -> ReplyXmlError {
    ReplyXmlError::Malformed(one_line(&e.to_string(), 160))
}

fn unexpected(what: &str) -> ReplyXmlError {
    ReplyXmlError::Unexpected(what.to_string())
}

fn name(e: &BytesStart<'_>) -> String {
    e.name().as_ref().to_string()
}

fn check_root(e: &BytesStart<'_>) -> Result<(), ReplyXmlError> {
    let n = name(e);
    if n != "Response" {
        return Err(ReplyXmlError::WrongRoot(one_line(&n, 40)));
    }
    if let Some(a) = e.attributes().next() {
        let a = a.map_err(|x| ReplyXmlError::Malformed(x.to_string()))?;
        return Err(ReplyXmlError::UnknownAttribute {
            element: n,
            attribute: a.key.as_ref().to_string(),
        });
    }
    Ok(())
}

/// The text content of an action element up to its end tag; child elements are refused.
fn read_text(reader: &mut Reader<&[u8]>, element: &str) -> Result<String, ReplyXmlError> {
    let mut out = String::new();
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Text(t) => out.push_str(&t.xml10_content()),
            Event::CData(c) => out.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => out.push(resolve_ref(&r)?),
            Event::Comment(_) | Event::PI(_) => {}
            Event::End(_) => return Ok(out),
            Event::Eof => return Err(ReplyXmlError::Malformed(format!("unclosed <{element}>"))),
            Event::Start(_) | Event::Empty(_) | Event::Decl(_) | Event::DocType(_) => {
                return Err(unexpected(&format!("markup inside <{element}>")))
            }
        }
    }
}

fn resolve_ref(r: &quick_xml::events::BytesRef<'_>) -> Result<char, ReplyXmlError> {
    if let Some(c) = r.resolve_char_ref().map_err(malformed)? {
        if !is_xml_char(c) {
            return Err(ReplyXmlError::Malformed(format!(
                "&{}; is not an XML character",
                one_line(r, 20)
            )));
        }
        return Ok(c);
    }
    Ok(match r.as_ref() {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        other => return Err(ReplyXmlError::UnknownEntity(one_line(other, 20))),
    })
}

/// The attributes of an element, checked against the names it may carry.
struct Attrs {
    element: String,
    list: Vec<(String, String)>,
}

impl Attrs {
    fn read(e: &BytesStart<'_>, allowed: &[&str]) -> Result<Attrs, ReplyXmlError> {
        let element = name(e);
        let mut list = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|x| ReplyXmlError::Malformed(one_line(&x.to_string(), 160)))?;
            let key = a.key.as_ref().to_string();
            if !allowed.contains(&key.as_str()) {
                return Err(ReplyXmlError::UnknownAttribute {
                    element,
                    attribute: one_line(&key, 40),
                });
            }
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(malformed)?;
            if let Some(bad) = value.chars().find(|&c| !is_xml_char(c)) {
                return Err(ReplyXmlError::Malformed(format!(
                    "attribute {key} holds U+{:04X}",
                    bad as u32
                )));
            }
            list.push((key, value.into_owned()));
        }
        Ok(Attrs { element, list })
    }

    fn get(&self, key: &str) -> Option<String> {
        self.list
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn required(&self, key: &str) -> Result<String, ReplyXmlError> {
        self.get(key)
            .ok_or_else(|| ReplyXmlError::MissingAttribute {
                element: self.element.clone(),
                attribute: key.to_string(),
            })
    }

    fn invalid(&self, key: &str, reason: &str) -> ReplyXmlError {
        ReplyXmlError::InvalidAttribute {
            element: self.element.clone(),
            attribute: key.to_string(),
            reason: reason.to_string(),
        }
    }

    fn number(&self, key: &str) -> Result<Option<u32>, ReplyXmlError> {
        self.get(key)
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| self.invalid(key, "expected a whole number"))
            })
            .transpose()
    }

    fn flag(&self, key: &str, yes: &[&str], no: &[&str]) -> Result<Option<bool>, ReplyXmlError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let v = v.trim();
        if yes.iter().any(|y| y.eq_ignore_ascii_case(v)) {
            Ok(Some(true))
        } else if no.iter().any(|n| n.eq_ignore_ascii_case(v)) {
            Ok(Some(false))
        } else {
            Err(self.invalid(key, &format!("expected {} or {}", yes[0], no[0])))
        }
    }
}

fn action_from(e: &BytesStart<'_>, text: Option<String>) -> Result<Action, ReplyXmlError> {
    let element = name(e);
    let text_or_empty = text.clone().unwrap_or_default();
    let must_be_empty = |t: &Option<String>| match t {
        Some(t) if !t.chars().all(|c| c.is_ascii_whitespace()) => {
            Err(ReplyXmlError::NotEmpty(element.clone()))
        }
        _ => Ok(()),
    };
    Ok(match element.as_str() {
        "Hangup" => {
            Attrs::read(e, &[])?;
            must_be_empty(&text)?;
            Action::Hangup
        }
        "Pause" => {
            let a = Attrs::read(e, &["length"])?;
            must_be_empty(&text)?;
            Action::Pause {
                length: a.number("length")?,
            }
        }
        "SetVar" => {
            let a = Attrs::read(e, &["name"])?;
            Action::SetVar {
                name: a.required("name")?,
                value: text_or_empty,
            }
        }
        "Jump" => {
            let a = Attrs::read(e, &["context", "option"])?;
            must_be_empty(&text)?;
            Action::Jump {
                context: a.required("context")?,
                option: a.required("option")?,
            }
        }
        "SetCaller" => {
            let a = Attrs::read(e, &["name", "number"])?;
            must_be_empty(&text)?;
            Action::SetCaller {
                name: a.get("name"),
                number: a.get("number"),
            }
        }
        "PlaySound" => {
            let a = Attrs::read(e, &["where", "digitvar"])?;
            let mode = match a.get("where").as_deref().map(str::trim) {
                None => None,
                Some(m) if m.eq_ignore_ascii_case("foreground") => Some(PlayMode::Foreground),
                Some(m) if m.eq_ignore_ascii_case("background") => Some(PlayMode::Background),
                Some(_) => return Err(a.invalid("where", "expected foreground or background")),
            };
            Action::PlaySound {
                file: text_or_empty,
                mode,
                digitvar: a.get("digitvar"),
            }
        }
        "SimpleTransfer" => {
            let a = Attrs::read(e, &["final", "timeout", "early_media"])?;
            let numbers = split_numbers(&text_or_empty);
            Action::SimpleTransfer {
                numbers,
                is_final: a.flag("final", &["yes", "true"], &["no", "false"])?,
                timeout: a.number("timeout")?,
                early_media: a.flag("early_media", &["True"], &["False"])?,
            }
        }
        other => return Err(ReplyXmlError::UnknownAction(one_line(other, 40))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_actions() -> Vec<Action> {
        vec![
            Action::SetVar {
                name: "transferDestination".into(),
                value: "09897987".into(),
            },
            Action::Jump {
                context: "3".into(),
                option: "start".into(),
            },
            Action::SetCaller {
                name: Some("callerName".into()),
                number: Some("92992".into()),
            },
            Action::PlaySound {
                file: "ae3d969ccc49e1a7746e0b1ce36ee4176190040c.wav".into(),
                mode: Some(PlayMode::Background),
                digitvar: Some("transferDestination".into()),
            },
            Action::SimpleTransfer {
                numbers: vec!["NUM1".into(), "NUM2".into()],
                is_final: Some(false),
                timeout: Some(20),
                early_media: Some(true),
            },
            Action::Pause { length: Some(15) },
            Action::Pause { length: None },
            Action::Hangup,
        ]
    }

    #[test]
    fn writes_the_seed_shapes() {
        let xml = response_xml(&all_actions());
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n    <SetVar")
        );
        assert!(xml.contains(r#"<SetVar name="transferDestination">09897987</SetVar>"#));
        assert!(xml.contains(r#"<Jump context="3" option="start"/>"#));
        assert!(
            xml.contains(r#"<PlaySound where="background" digitvar="transferDestination">ae3d"#)
        );
        assert!(xml.contains(r#"<SimpleTransfer final="no" timeout="20" early_media="True">NUM1,NUM2</SimpleTransfer>"#));
        assert!(xml.ends_with("</Response>"));
        assert_eq!(parse_response_xml(&xml).unwrap(), all_actions());
        assert_eq!(
            response_xml(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response/>"
        );
        assert_eq!(parse_response_xml(&response_xml(&[])).unwrap(), vec![]);
    }

    #[test]
    fn values_are_escaped() {
        let a = vec![Action::SetVar {
            name: "v".into(),
            value: "</SetVar><Hangup/>&amp;\"'\r\n\t ".into(),
        }];
        let xml = response_xml(&a);
        assert!(!xml.contains("<Hangup/>"));
        assert_eq!(parse_response_xml(&xml).unwrap(), a);
        let b = vec![Action::SetCaller {
            name: Some("\"><Hangup a=\"\n\t\r".into()),
            number: None,
        }];
        assert_eq!(parse_response_xml(&response_xml(&b)).unwrap(), b);
    }

    #[test]
    fn writer_caps_at_ten_and_drops_control_chars() {
        let xml = response_xml(&vec![Action::Hangup; 12]);
        assert_eq!(parse_response_xml(&xml).unwrap().len(), MAX_ACTIONS);
        let a = vec![Action::SetVar {
            name: "v".into(),
            value: "a\u{0}b\u{1b}c".into(),
        }];
        assert_eq!(parse_response_xml(&response_xml(&a)).unwrap(), sanitize(&a));
        assert_eq!(
            sanitize(&a),
            vec![Action::SetVar {
                name: "v".into(),
                value: "abc".into()
            }]
        );
    }

    #[test]
    fn hand_written_replies_are_checked() {
        let ok = "<?xml version=\"1.0\"?>\n<!-- hi --><Response><SimpleTransfer final='yes'>101,102</SimpleTransfer><Hangup></Hangup></Response>\n";
        assert_eq!(validate_xml(ok).unwrap().len(), 2);
        let cases: [(&str, &str); 14] = [
            ("", "no <Response>"),
            ("<Respons/>", "root element"),
            ("<Response><Hangup/>", "unclosed"),
            ("<Response><Dance/></Response>", "unknown action"),
            ("<Response><Pause length='x'/></Response>", "whole number"),
            ("<Response><Pause len='1'/></Response>", "unknown attribute"),
            ("<Response><Jump context='1'/></Response>", "requires the attribute option"),
            ("<Response><Hangup>now</Hangup></Response>", "must not contain"),
            ("<Response><SetVar name='a'><b/></SetVar></Response>", "markup inside"),
            ("<!DOCTYPE x><Response/>", "DOCTYPE"),
            ("<Response/><Response/>", "after </Response>"),
            ("<Response>text</Response>", "unexpected content"),
            ("<Response><SetVar name='a'>&bogus;</SetVar></Response>", "unknown entity"),
            ("<Response><Hangup/><Hangup/><Hangup/><Hangup/><Hangup/><Hangup/><Hangup/><Hangup/><Hangup/><Hangup/><Hangup/></Response>", "at most 10"),
        ];
        for (xml, want) in cases {
            let e = validate_xml(xml).unwrap_err().to_string();
            assert!(e.contains(want), "{xml}: {e}");
        }
        assert!(validate_xml("<Response><SetVar name='1'>x</SetVar></Response>").is_err());
    }
}
