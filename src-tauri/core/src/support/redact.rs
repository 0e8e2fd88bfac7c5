//! Removing secrets from everything that goes into a support bundle.
//!
//! Three layers, because any one of them alone misses something:
//! 1. known secret values (the Era token, the Telphin client secret, the listener token and
//!    whatever the caller adds) are cut out of every text, also URL- and JSON-escaped;
//! 2. in structured data (TOML, JSON) every value under a key that mentions a token, secret,
//!    password or authorization is replaced;
//! 3. in free text (logs, frame and request bodies) the value after such a key (`token=…`,
//!    `"client_secret":"…"`, `password: …`), after `Bearer `, and the path segment after
//!    `/hooks/`, `/ws/user/v1/` and `/ws/token/v1/` is replaced.

use std::cell::Cell;

use crate::config::Config;

/// What a removed secret is replaced with.
pub const REDACTED: &str = "***";

/// Key fragments that mark a value as secret (matched case-insensitively, anywhere in the key).
const SECRET_WORDS: [&str; 7] = [
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "api_key",
    "apikey",
];

/// The configuration section that holds secret-storage *settings* (`[secrets] backend`), not
/// secrets: a table under this key is searched, not replaced.
const SECRETS_SECTION: &str = "secrets";

/// Path prefixes whose next segment is a secret token.
const TOKEN_PATHS: [&str; 3] = ["/hooks/", "/ws/user/v1/", "/ws/token/v1/"];

/// Whether a configuration or JSON key names a secret value (`token`, `client_secret`,
/// `access_token`, `password`, `Authorization`…).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| k.contains(w))
}

/// Removes secrets from text, JSON and TOML; counts what it replaced.
///
/// Its `Debug` output shows how many secret values it knows, never the values.
#[derive(Default)]
pub struct Redactor {
    /// Secret values and their escaped forms, longest first.
    needles: Vec<String>,
    secrets: usize,
    replaced: Cell<usize>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets)
            .field("replaced", &self.replaced.get())
            .finish()
    }
}

impl Redactor {
    /// A redactor that knows `secrets` (empty values are ignored).
    pub fn new<I, S>(secrets: I) -> Redactor
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s.as_ref());
        }
        r
    }

    /// A redactor that knows every secret field of `config`.
    pub fn from_config(config: &Config) -> Redactor {
        Redactor::new([
            config.era.token.as_str(),
            config.telphin.client_secret.as_str(),
            config.listener.token.as_str(),
        ])
    }

    /// Learn one more secret value (and its URL- and JSON-escaped forms).
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() || self.needles.iter().any(|n| n == secret) {
            return;
        }
        self.secrets += 1;
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let path = form.replace('+', "%20");
        let json = serde_json::to_string(secret)
            .ok()
            .and_then(|q| q.get(1..q.len().saturating_sub(1)).map(str::to_string));
        for n in [Some(secret.to_string()), Some(form), Some(path), json]
            .into_iter()
            .flatten()
        {
            if !n.is_empty() && !self.needles.contains(&n) {
                self.needles.push(n);
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// How many distinct secret values it knows.
    pub fn known_secrets(&self) -> usize {
        self.secrets
    }

    /// How many replacements it has made so far.
    pub fn replaced(&self) -> usize {
        self.replaced.get()
    }

    fn bump(&self, n: usize) {
        self.replaced.set(self.replaced.get() + n);
    }

    /// `text` with every known secret and every secret-looking value replaced by [`REDACTED`].
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            let hits = out.matches(n.as_str()).count();
            if hits > 0 {
                out = out.replace(n.as_str(), REDACTED);
                self.bump(hits);
            }
        }
        let out = self.scrub_token_paths(&out);
        let out = self.scrub_after(&out, "bearer");
        self.scrub_assignments(&out)
    }

    /// Redact a JSON value in place: values under secret keys are replaced, strings are
    /// passed through [`Redactor::text`].
    pub fn json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    let empty = matches!(v, Value::Null) || v.as_str().is_some_and(str::is_empty);
                    let settings = k == SECRETS_SECTION && v.is_object();
                    if is_secret_key(k) && !empty && !settings {
                        *v = Value::String(REDACTED.into());
                        self.bump(1);
                    } else {
                        self.json(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            Value::String(s) => *s = self.text(s),
            _ => {}
        }
    }

    /// Redact a TOML value in place, like [`Redactor::json`].
    pub fn toml(&self, value: &mut toml::Value) {
        use toml::Value;
        match value {
            Value::Table(table) => {
                for (k, v) in table.iter_mut() {
                    let empty = v.as_str().is_some_and(str::is_empty)
                        || v.as_array().is_some_and(Vec::is_empty);
                    let settings = k == SECRETS_SECTION && v.is_table();
                    if is_secret_key(k) && !empty && !settings {
                        *v = Value::String(REDACTED.into());
                        self.bump(1);
                    } else {
                        self.toml(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.toml(v)),
            Value::String(s) => *s = self.text(s),
            _ => {}
        }
    }

    /// Replace `value` (`text[start..end]`) unless it is empty or already redacted.
    fn splice(&self, out: &mut String, text: &str, copied: &mut usize, start: usize, end: usize) {
        let value = &text[start..end];
        if value.is_empty() || value == REDACTED {
            return;
        }
        out.push_str(&text[*copied..start]);
        out.push_str(REDACTED);
        *copied = end;
        self.bump(1);
    }

    /// The segment after each of [`TOKEN_PATHS`].
    fn scrub_token_paths(&self, text: &str) -> String {
        let mut out = text.to_string();
        for prefix in TOKEN_PATHS {
            let b = out.as_bytes();
            let mut next = String::with_capacity(out.len());
            let mut copied = 0;
            let mut from = 0;
            while let Some(pos) = out[from..].find(prefix) {
                let start = from + pos + prefix.len();
                let mut end = start;
                while end < b.len() && !is_path_end(b[end]) {
                    end += 1;
                }
                self.splice(&mut next, &out, &mut copied, start, end);
                from = end.max(start);
            }
            next.push_str(&out[copied..]);
            out = next;
        }
        out
    }

    /// The word after `keyword` and at least one space (`Bearer abc…`).
    fn scrub_after(&self, text: &str, keyword: &str) -> String {
        let lower = text.to_ascii_lowercase();
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut from = 0;
        while let Some(pos) = lower[from..].find(keyword) {
            let mut j = from + pos + keyword.len();
            let spaces = j;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            let start = j;
            while j < b.len() && !is_value_end(b[j], None) {
                j += 1;
            }
            if start > spaces {
                self.splice(&mut out, text, &mut copied, start, j);
            }
            from = j.max(from + pos + keyword.len());
        }
        out.push_str(&text[copied..]);
        out
    }

    /// `key=value`, `key: value`, `"key":"value"`, `key = 'value'` where the key mentions a
    /// secret word.
    fn scrub_assignments(&self, text: &str) -> String {
        let lower = text.to_ascii_lowercase();
        let b = text.as_bytes();
        let n = b.len();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while i < n {
            let Some((at, len)) = SECRET_WORDS
                .iter()
                .filter_map(|w| lower[i..].find(w).map(|p| (i + p, w.len())))
                .min()
            else {
                break;
            };
            let mut j = at + len;
            while j < n && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'-' | b'.')) {
                j += 1;
            }
            // A closing quote of the key, maybe escaped (JSON inside a log line).
            if j + 1 < n && b[j] == b'\\' && b[j + 1] == b'"' {
                j += 2;
            } else if j < n && matches!(b[j], b'"' | b'\'') {
                j += 1;
            }
            while j < n && b[j] == b' ' {
                j += 1;
            }
            if j >= n || !matches!(b[j], b'=' | b':') {
                i = at + len;
                continue;
            }
            j += 1;
            while j < n && b[j] == b' ' {
                j += 1;
            }
            let quote = if j + 1 < n && b[j] == b'\\' && b[j + 1] == b'"' {
                j += 2;
                Some(b'"')
            } else if j < n && matches!(b[j], b'"' | b'\'') {
                j += 1;
                Some(b[j - 1])
            } else {
                None
            };
            let start = j;
            while j < n && !is_value_end(b[j], quote) {
                j += 1;
            }
            self.splice(&mut out, text, &mut copied, start, j);
            i = j.max(at + len);
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// Where a secret path segment ends.
fn is_path_end(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'/' | b'?'
                | b'#'
                | b'"'
                | b'\''
                | b'&'
                | b')'
                | b']'
                | b'}'
                | b','
                | b';'
                | b'<'
                | b'>'
                | b'\\'
        )
}

/// Where a secret value ends: at its closing quote (or an escape, or the line end) when it
/// was quoted, else at the first delimiter.
fn is_value_end(b: u8, quote: Option<u8>) -> bool {
    match quote {
        Some(q) => b == q || b == b'\\' || b == b'\n' || b == b'\r',
        None => {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'&' | b',' | b';' | b'"' | b'\'' | b'}' | b']' | b')' | b'<' | b'>' | b'\\'
                )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_recognised() {
        for k in [
            "token",
            "client_secret",
            "access_token",
            "Password",
            "Authorization",
            "x-api-key-apikey",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["url", "extension", "key", "client_id", "port"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn known_values_go_in_every_escaping() {
        let r = Redactor::new(["a b&c\"d", ""]);
        assert_eq!(r.known_secrets(), 1);
        let text = "raw a b&c\"d form a+b%26c%22d path a%20b%26c%22d json a b&c\\\"d end";
        let out = r.text(text);
        assert!(!out.contains("b&c") && !out.contains("b%26c"), "{out}");
        assert!(
            out.starts_with("raw *** form *** path *** json *** end"),
            "{out}"
        );
        assert!(r.replaced() >= 4);
        assert!(!format!("{r:?}").contains("b&c"));
    }

    #[test]
    fn assignments_bearer_and_token_paths_are_scrubbed() {
        let r = Redactor::default();
        let cases = [
            (
                "grant_type=client_credentials&client_id=app&client_secret=s3cr3t&x=1",
                "client_secret=***&x=1",
            ),
            (
                r#"{"access_token":"abc.def","expires_in":3600}"#,
                r#"{"access_token":"***","expires_in":3600}"#,
            ),
            ("password: hunter2 next", "password: *** next"),
            ("token = 'xyz'", "token = '***'"),
            (r#"msg="{\"token\":\"q1\"}""#, r#"{\"token\":\"***\"}"#),
            (
                "Authorization: Bearer eyJhbGci.x-y",
                "Authorization: *** ***",
            ),
            (
                "GET /hooks/AbCdEfGhIjKlMnOpQrStUv/calls HTTP/1.1",
                "/hooks/***/calls",
            ),
            (
                "connect ws://h:1/ws/user/v1/era-user-101?x",
                "/ws/user/v1/***?x",
            ),
            ("wss://h/ws/token/v1/T0K3N\n", "/ws/token/v1/***\n"),
        ];
        for (input, want) in cases {
            let out = r.text(input);
            assert!(out.contains(want), "{input:?} → {out:?}, wanted {want:?}");
        }
        // Prose that only mentions a token is left alone, and so is non-ASCII text.
        let calm = "the platform refused the token (HTTP 401) — звонок от Анны";
        assert_eq!(r.text(calm), calm);
        assert_eq!(r.text("token=***"), "token=***");
    }

    #[test]
    fn structured_values_under_secret_keys_are_replaced() {
        let r = Redactor::new(["TOP"]);
        let mut v = json!({
            "url": "wss://e", "token": "x", "nested": {"client_secret": 5, "note": "has TOP inside"},
            "list": [{"password": "p"}], "empty_token": ""
        });
        r.json(&mut v);
        assert_eq!(v["token"], "***");
        assert_eq!(v["nested"]["client_secret"], "***");
        assert_eq!(v["nested"]["note"], "has *** inside");
        assert_eq!(v["list"][0]["password"], "***");
        assert_eq!(
            v["empty_token"], "",
            "an empty value says 'not set' and stays"
        );
        assert_eq!(v["url"], "wss://e");

        let mut t: toml::Value = toml::from_str(
            "[telphin]\nhost = \"https://h\"\ntoken_path = \"/oauth/token\"\n[secrets]\nbackend = \"file\"\n",
        )
        .unwrap();
        r.toml(&mut t);
        assert_eq!(t["telphin"]["token_path"].as_str(), Some("***"));
        assert_eq!(t["telphin"]["host"].as_str(), Some("https://h"));
        assert_eq!(
            t["secrets"]["backend"].as_str(),
            Some("file"),
            "the storage settings section is searched, not replaced"
        );
        let mut v =
            json!({"secrets": {"backend": "auto", "password": "p"}, "client_secrets": {"a": "b"}});
        r.json(&mut v);
        assert_eq!(v["secrets"], json!({"backend": "auto", "password": "***"}));
        assert_eq!(v["client_secrets"], "***");
    }
}
