//! Writing frames: straight into a byte buffer, with no intermediate JSON value.

use std::io::Write as _;

use serde_json::value::RawValue;

use crate::context::MessageContext;
use crate::error::WireError;
use crate::payload::Payload;

/// Writes `{"type":"request",...}` into `out`.
pub(crate) fn encode_request(
    out: &mut Vec<u8>,
    id: u64,
    name: &str,
    payload: &Payload,
    context: &MessageContext,
) -> Result<(), serde_json::Error> {
    write!(out, r#"{{"type":"request","requestId":"{id}""#).map_err(serde_json::Error::io)?;
    out.extend_from_slice(br#","requestType":"#);
    serde_json::to_writer(&mut *out, name)?;
    out.extend_from_slice(br#","payload":"#);
    payload.write_json(out)?;
    out.extend_from_slice(br#","context":"#);
    serde_json::to_writer(&mut *out, context)?;
    out.push(b'}');
    Ok(())
}

/// Writes `{"type":"cancel","requestId":"…"}` into `out`.
pub(crate) fn encode_cancel(out: &mut Vec<u8>, id: u64) {
    // Writing into a `Vec` cannot fail.
    let _ = write!(out, r#"{{"type":"cancel","requestId":"{id}"}}"#);
}

/// Writes `{"type":"response",...}` into `out`, echoing the request id as it was sent
/// ([`RawValue::NULL`] for an answer to a frame with no valid request id).
pub(crate) fn encode_response(
    out: &mut Vec<u8>,
    id: &RawValue,
    result: &Result<Payload, WireError>,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"type":"response","requestId":"#);
    out.extend_from_slice(id.get().as_bytes());
    match result {
        Ok(payload) => {
            out.extend_from_slice(br#","success":true,"data":"#);
            payload.write_json(out)?;
        }
        Err(error) => {
            out.extend_from_slice(br#","success":false,"error":"#);
            serde_json::to_writer(&mut *out, error)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// Writes `{"type":"event",...}` into `out`.
pub(crate) fn encode_event(
    out: &mut Vec<u8>,
    name: &str,
    payload: &Payload,
    context: &MessageContext,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"type":"event","event":"#);
    serde_json::to_writer(&mut *out, name)?;
    out.extend_from_slice(br#","payload":"#);
    payload.write_json(out)?;
    out.extend_from_slice(br#","context":"#);
    serde_json::to_writer(&mut *out, context)?;
    out.push(b'}');
    Ok(())
}
