//! Request parameters of the Telphin routes: a query string, a form body, or both.

use std::collections::BTreeMap;

/// Decoded `name=value` pairs in arrival order. Names and values are trimmed: the seed-000
/// example carries stray spaces from line wrapping (`…ringme.ru& CalledExtensionID=34414`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parse a query string or `application/x-www-form-urlencoded` text. Never fails: bad
    /// percent-escapes are kept literally, invalid UTF-8 is replaced.
    pub fn parse(text: &[u8]) -> Params {
        let mut out = Params::default();
        out.extend_from(text);
        out
    }

    /// Add the pairs of another query string or form body after the current ones.
    pub fn extend_from(&mut self, text: &[u8]) {
        for (k, v) in url::form_urlencoded::parse(text) {
            let k = k.trim();
            if !k.is_empty() {
                self.0.push((k.to_string(), v.trim().to_string()));
            }
        }
    }

    /// Add the string, number and boolean members of a JSON object (tolerated instead of a
    /// form body).
    pub fn extend_from_json(&mut self, obj: &serde_json::Map<String, serde_json::Value>) {
        for (k, v) in obj {
            let v = match v {
                serde_json::Value::String(s) => s.trim().to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            self.0.push((k.trim().to_string(), v));
        }
    }

    /// The first non-empty value of `name`: exact name first, then case-insensitive.
    pub fn get(&self, name: &str) -> Option<&str> {
        let exact = self.0.iter().find(|(k, v)| k == name && !v.is_empty());
        exact
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
            })
            .map(|(_, v)| v.as_str())
    }

    pub fn get_owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    /// Pairs whose name is none of `known` (compared case-insensitively); first value wins.
    pub fn others(&self, known: &[&str]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.0 {
            if !known.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        out
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<(String, String)>> for Params {
    fn from(v: Vec<(String, String)>) -> Self {
        Params(
            v.into_iter()
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_spaces_and_case() {
        let p = Params::parse(b"a=1& CalledExtensionID=34414&SubCallID=x%20&callid=c&b=%zz");
        assert_eq!(p.get("CalledExtensionID"), Some("34414"));
        assert_eq!(p.get("SubCallID"), Some("x"));
        assert_eq!(p.get("CallID"), Some("c"));
        assert_eq!(p.get("b"), Some("%zz"));
        assert_eq!(p.get("missing"), None);
        assert_eq!(
            p.others(&["a", "CALLID", "SubCallID", "CalledExtensionID"])
                .len(),
            1
        );
    }

    #[test]
    fn first_non_empty_wins_and_body_then_query() {
        let mut p = Params::parse(b"CallID=&CallID=body");
        p.extend_from(b"CallID=query&var=1");
        assert_eq!(p.get("CallID"), Some("body"));
        assert_eq!(p.get("var"), Some("1"));
    }
}
