//! The `ccs` capability over WebSocket: call control requests acting on the World.
//!
//! Connection-wide requests take `idconn` (the `connectionid` of `callevents`); leg requests
//! may give `idcall` (a SIP Call-ID) instead; either names the call. Supported: `bye`,
//! `new_invite {owner, number}`, `refer {number}`, `referreplaces {number}`, `hold`, `talk`
//! (resume, or remote answer of a ringing call), `send_dtmf {dtmf}`, `list_connections`,
//! `get_connection`, `switch_to_conference {number?}`.

use serde_json::{json, Map, Value};

use super::ops;
use super::state::{EraState, Owner};
use super::wire::{opt_text, EraCode, EraFailure};

const NAMES: &[&str] = &[
    "bye",
    "new_invite",
    "refer",
    "referreplaces",
    "hold",
    "talk",
    "send_dtmf",
    "list_connections",
    "get_connection",
    "switch_to_conference",
];

pub(crate) fn handles(name: &str) -> bool {
    NAMES.contains(&name)
}

fn target(body: &Map<String, Value>) -> Result<String, EraFailure> {
    opt_text(body, "idconn")
        .or_else(|| opt_text(body, "idcall"))
        .ok_or_else(|| {
            EraFailure::new(
                EraCode::InvalidParams,
                "field 'idconn' or 'idcall' is required",
            )
            .with_field("idconn")
        })
}

fn number(body: &Map<String, Value>) -> Result<String, EraFailure> {
    opt_text(body, "number")
        .or_else(|| opt_text(body, "to"))
        .ok_or_else(|| {
            EraFailure::new(EraCode::InvalidParams, "field 'number' is required")
                .with_field("number")
        })
}

pub(crate) fn handle(
    st: &EraState,
    owner: &Owner,
    name: &str,
    body: &Map<String, Value>,
) -> Result<Value, EraFailure> {
    match name {
        "list_connections" => Ok(json!({ "connections": ops::list(st, owner) })),
        "new_invite" => {
            let owner_num = opt_text(body, "owner");
            ops::new_call(st, owner, owner_num, &number(body)?)
        }
        _ => {
            let call = ops::find_call(st, owner, &target(body)?)?;
            match name {
                "get_connection" => Ok(json!({ "connection": ops::info(st, &call) })),
                "bye" => ops::hangup(st, &call),
                "refer" => ops::transfer(st, &call, &number(body)?, false),
                "referreplaces" => ops::transfer(st, &call, &number(body)?, true),
                "hold" => ops::hold(st, &call),
                "talk" => ops::talk(st, &call),
                "send_dtmf" => {
                    let d = opt_text(body, "dtmf").unwrap_or_default();
                    ops::send_dtmf(&call, &d)
                }
                "switch_to_conference" => {
                    ops::conference(st, &call, opt_text(body, "number").as_deref())
                }
                _ => Err(EraFailure::new(
                    EraCode::NotImplemented,
                    format!("unknown request '{name}'"),
                )),
            }
        }
    }
}
