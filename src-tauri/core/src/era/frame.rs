//! Era WebSocket framing: `[name, {qid, ...}]`.
//!
//! A reply is `[<name>_result, {qid, ...}]` with `qid` echoed. An error reply comes in one of
//! two shapes (the platform's is not documented): `{qid, result:"error", error_code,
//! error_message}` or REST-like `{qid, error_code, error_message, error_details}`; both are
//! recognised. Events are `["notify", {class, type, eventts, data}]`; some `ivrapi` messages
//! are pushed under their own names (`ivrapi_component_stopped`, `ivrapi_dtmf`).

use serde_json::{Map, Value};

/// The platform's error in a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformError {
    pub code: Option<i64>,
    pub message: String,
    pub details: Option<Value>,
}

/// One decoded incoming frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// `<name>_result`; `name` is without the suffix.
    Result {
        name: String,
        qid: Value,
        outcome: Result<Value, PlatformError>,
    },
    /// `notify`.
    Notify {
        class: String,
        kind: String,
        eventts: Option<i64>,
        data: Value,
    },
    /// Any other named message (`ivrapi_dtmf`, `ivrapi_component_stopped`, `error`, unknown).
    Push { name: String, body: Value },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a [name, object] array")]
    NotAnArray,
    #[error("notify without class/type")]
    BadNotify,
}

/// Encode a request; `params` must not contain `qid` (it is set here).
pub fn encode(name: &str, qid: &Value, params: &Map<String, Value>) -> String {
    let mut body = Map::with_capacity(params.len() + 1);
    body.insert("qid".into(), qid.clone());
    for (k, v) in params {
        if k != "qid" {
            body.insert(k.clone(), v.clone());
        }
    }
    Value::Array(vec![Value::String(name.to_string()), Value::Object(body)]).to_string()
}

/// Decode one text frame.
pub fn decode(text: &str) -> Result<Inbound, FrameError> {
    let v: Value = serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
    let Value::Array(mut items) = v else {
        return Err(FrameError::NotAnArray);
    };
    if items.len() != 2 {
        return Err(FrameError::NotAnArray);
    }
    let body = items.pop().unwrap_or(Value::Null);
    let Some(Value::String(name)) = items.pop() else {
        return Err(FrameError::NotAnArray);
    };
    if name == "notify" {
        let class = body
            .get("class")
            .and_then(Value::as_str)
            .ok_or(FrameError::BadNotify)?
            .to_string();
        let kind = body
            .get("type")
            .and_then(Value::as_str)
            .ok_or(FrameError::BadNotify)?
            .to_string();
        let eventts = body.get("eventts").and_then(Value::as_i64);
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        return Ok(Inbound::Notify {
            class,
            kind,
            eventts,
            data,
        });
    }
    if let Some(base) = name.strip_suffix("_result") {
        if let Value::Object(m) = &body {
            let qid = m.get("qid").cloned().unwrap_or(Value::Null);
            return Ok(Inbound::Result {
                name: base.to_string(),
                qid,
                outcome: outcome(m),
            });
        }
    }
    Ok(Inbound::Push { name, body })
}

/// Success payload, or the platform error in either shape.
fn outcome(m: &Map<String, Value>) -> Result<Value, PlatformError> {
    let is_error =
        m.get("result").and_then(Value::as_str) == Some("error") || m.contains_key("error_code");
    if !is_error {
        return Ok(Value::Object(m.clone()));
    }
    let code = m.get("error_code").and_then(|c| {
        c.as_i64()
            .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
    });
    let message = m
        .get("error_message")
        .and_then(Value::as_str)
        .or_else(|| m.get("message").and_then(Value::as_str))
        .unwrap_or("error without a message")
        .to_string();
    let details = m.get("error_details").cloned();
    Err(PlatformError {
        code,
        message,
        details,
    })
}

/// The `result` value of a success payload as text (paths are returned this way).
pub fn result_text(payload: &Value) -> Option<String> {
    payload
        .get("result")
        .and_then(Value::as_str)
        .filter(|s| *s != "ok")
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_error_shapes_are_errors() {
        let a = decode(
            r#"["x_result",{"qid":1,"result":"error","error_code":1406,"error_message":"taken"}]"#,
        )
        .unwrap();
        let b = decode(r#"["x_result",{"qid":1,"error_code":1404,"error_message":"gone","error_details":{"field":"key"}}]"#)
            .unwrap();
        match (a, b) {
            (
                Inbound::Result {
                    outcome: Err(ea), ..
                },
                Inbound::Result {
                    outcome: Err(eb),
                    name,
                    ..
                },
            ) => {
                assert_eq!((ea.code, ea.message.as_str()), (Some(1406), "taken"));
                assert_eq!(eb.details, Some(json!({"field":"key"})));
                assert_eq!(name, "x");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ok_results_notifies_and_pushes() {
        match decode(r#"["file_upload_static_result",{"qid":0.5,"result":":GS_PUB/a.wav"}]"#)
            .unwrap()
        {
            Inbound::Result {
                qid,
                outcome: Ok(p),
                ..
            } => {
                assert_eq!(qid, json!(0.5));
                assert_eq!(result_text(&p).as_deref(), Some(":GS_PUB/a.wav"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode(r#"["notify",{"class":"ivrevents","type":"api_start","eventts":5,"data":{}}]"#)
                .unwrap(),
            Inbound::Notify {
                eventts: Some(5),
                ..
            }
        ));
        assert!(matches!(
            decode(r#"["ivrapi_dtmf",{"dtmf":"5"}]"#).unwrap(),
            Inbound::Push { .. }
        ));
        assert_eq!(decode("[1,2,3]"), Err(FrameError::NotAnArray));
        assert_eq!(decode(r#"["notify",{}]"#), Err(FrameError::BadNotify));
        assert!(matches!(decode("{"), Err(FrameError::NotJson(_))));
    }

    #[test]
    fn encode_sets_the_qid() {
        let mut p = Map::new();
        p.insert("key".into(), json!("abc"));
        p.insert("qid".into(), json!("ignored"));
        let v: Value = serde_json::from_str(&encode("ivrapi_accept", &json!(7), &p)).unwrap();
        assert_eq!(v, json!(["ivrapi_accept", {"qid": 7, "key": "abc"}]));
    }
}
