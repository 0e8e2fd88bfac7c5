//! Era WebSocket framing: `[name, {qid, ...}]` requests, `<name>_result` replies, error shapes,
//! and the platform's error codes (shared with REST).

use serde_json::{json, Map, Value};

use super::config::ErrorShape;

/// Platform error codes (vendor `errorcodes` page) used by the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraCode {
    AccessDenied = 1401,
    NotImplemented = 1403,
    NotFound = 1404,
    InvalidRequest = 1405,
    InvalidOperation = 1406,
    Unauthorized = 1407,
    OperationFailed = 1409,
    InvalidParams = 1413,
    InternalError = 1501,
}

impl EraCode {
    pub fn code(self) -> u32 {
        self as u32
    }

    /// HTTP status used when this error is a REST reply.
    pub fn http_status(self) -> u16 {
        match self {
            EraCode::AccessDenied => 403,
            EraCode::NotImplemented => 405,
            EraCode::NotFound => 404,
            EraCode::InvalidRequest | EraCode::InvalidParams => 400,
            EraCode::InvalidOperation => 409,
            EraCode::Unauthorized => 401,
            EraCode::OperationFailed => 502,
            EraCode::InternalError => 500,
        }
    }
}

/// A failed request: code and message (and optional details for the REST shape).
#[derive(Debug, Clone, PartialEq)]
pub struct EraFailure {
    pub code: EraCode,
    pub message: String,
    pub details: Option<Value>,
}

impl EraFailure {
    pub fn new(code: EraCode, message: impl Into<String>) -> Self {
        EraFailure {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.details = Some(json!({ "field": field }));
        self
    }

    /// The REST error body `{error_code, error_message, error_details}`.
    pub fn rest_body(&self) -> Value {
        let mut m = Map::new();
        m.insert("error_code".into(), json!(self.code.code()));
        m.insert("error_message".into(), json!(self.message));
        if let Some(d) = &self.details {
            m.insert("error_details".into(), d.clone());
        }
        Value::Object(m)
    }
}

pub type EraResult = Result<Value, EraFailure>;

/// A parsed request frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub name: String,
    /// The `qid` exactly as sent (any JSON type), `Null` when missing.
    pub qid: Value,
    pub body: Map<String, Value>,
}

/// Why a text frame is not a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    NotJson(String),
    NotAnArray,
    BadName,
    BadBody,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::NotJson(e) => write!(f, "frame is not JSON: {e}"),
            FrameError::NotAnArray => f.write_str("frame must be a 2-element array [name, object]"),
            FrameError::BadName => f.write_str("frame name must be a string"),
            FrameError::BadBody => f.write_str("frame body must be an object"),
        }
    }
}

/// Parse `[name, {qid, ...}]`.
pub fn parse_request(text: &str) -> Result<Request, FrameError> {
    let v: Value = serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
    let Value::Array(mut items) = v else {
        return Err(FrameError::NotAnArray);
    };
    if items.len() != 2 {
        return Err(FrameError::NotAnArray);
    }
    let body = items.pop().unwrap_or(Value::Null);
    let name = items.pop().unwrap_or(Value::Null);
    let Value::String(name) = name else {
        return Err(FrameError::BadName);
    };
    let Value::Object(body) = body else {
        return Err(FrameError::BadBody);
    };
    let qid = body.get("qid").cloned().unwrap_or(Value::Null);
    Ok(Request { name, qid, body })
}

/// The name a frame starts with, if it looks like `["name", ...]` (for journal labels).
pub fn frame_name(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => match a.first() {
            Some(Value::String(s)) => s.clone(),
            _ => "?".into(),
        },
        _ => "?".into(),
    }
}

/// `[<name>_result, {qid, result:"ok", ...fields}]`; `payload` fields are merged in. A
/// non-object payload becomes the `result` value itself.
pub fn ok_frame(name: &str, qid: &Value, payload: Value) -> String {
    let mut m = Map::new();
    m.insert("qid".into(), qid.clone());
    match payload {
        Value::Object(p) => {
            m.insert("result".into(), json!("ok"));
            for (k, v) in p {
                m.insert(k, v);
            }
        }
        Value::Null => {
            m.insert("result".into(), json!("ok"));
        }
        other => {
            m.insert("result".into(), other);
        }
    }
    frame(&format!("{name}_result"), Value::Object(m))
}

/// The error result in the configured shape.
pub fn error_frame(shape: ErrorShape, name: &str, qid: &Value, f: &EraFailure) -> String {
    let mut m = Map::new();
    m.insert("qid".into(), qid.clone());
    match shape {
        ErrorShape::ResultError => {
            m.insert("result".into(), json!("error"));
            m.insert("error_code".into(), json!(f.code.code()));
            m.insert("error_message".into(), json!(f.message));
        }
        ErrorShape::Rest => {
            m.insert("error_code".into(), json!(f.code.code()));
            m.insert("error_message".into(), json!(f.message));
            m.insert(
                "error_details".into(),
                f.details.clone().unwrap_or_else(|| json!({})),
            );
        }
    }
    frame(&format!("{name}_result"), Value::Object(m))
}

/// `[name, body]` as text.
pub fn frame(name: &str, body: Value) -> String {
    Value::Array(vec![Value::String(name.to_string()), body]).to_string()
}

/// `["notify", {class, type, eventts, data}]`.
pub fn notify_frame(class: &str, kind: &str, eventts: i64, data: &Value) -> String {
    frame(
        "notify",
        json!({ "class": class, "type": kind, "eventts": eventts, "data": data }),
    )
}

/// A required string field.
pub fn req_str<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, EraFailure> {
    match body.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(EraFailure::new(
            EraCode::InvalidParams,
            format!("field '{field}' is required"),
        )
        .with_field(field)),
    }
}

/// A string or number field as text (numbers are common for extension numbers).
pub fn opt_text(body: &Map<String, Value>, field: &str) -> Option<String> {
    match body.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qid_is_echoed_as_sent() {
        let r = parse_request(r#"["connection_info",{"qid":0.1234}]"#).unwrap();
        let f = ok_frame(&r.name, &r.qid, Value::Null);
        assert_eq!(
            f,
            r#"["connection_info_result",{"qid":0.1234,"result":"ok"}]"#
        );
        let r = parse_request(r#"["x",{"qid":"abc"}]"#).unwrap();
        assert_eq!(r.qid, json!("abc"));
    }

    #[test]
    fn bad_frames_are_typed() {
        assert!(matches!(parse_request("nope"), Err(FrameError::NotJson(_))));
        assert_eq!(parse_request("[1,{}]"), Err(FrameError::BadName));
        assert_eq!(parse_request(r#"["a",1]"#), Err(FrameError::BadBody));
        assert_eq!(parse_request(r#"["a"]"#), Err(FrameError::NotAnArray));
    }

    #[test]
    fn both_error_shapes() {
        let f = EraFailure::new(EraCode::NotFound, "gone");
        let a: Value =
            serde_json::from_str(&error_frame(ErrorShape::ResultError, "x", &json!(1), &f))
                .unwrap();
        assert_eq!(a[1]["result"], "error");
        assert_eq!(a[1]["error_code"], 1404);
        let b: Value =
            serde_json::from_str(&error_frame(ErrorShape::Rest, "x", &json!(1), &f)).unwrap();
        assert!(b[1].get("result").is_none());
        assert_eq!(b[1]["error_message"], "gone");
    }
}
