//! The framing of `tcp://`: each frame is a 4-byte big-endian length, then that many bytes:
//! one byte for the kind, then its body.
//!
//! | kind | body |
//! |---|---|
//! | `T` | a text frame: one JSON envelope (the shapes of `envelope`) |
//! | `B` | a binary frame (refused by the server like any binary frame) |
//! | `P` / `Q` | ping / pong, no body; the server's first frame to a client is a pong: it is registered |
//! | `C` | close: nothing, or a 2-byte big-endian code and a UTF-8 reason |
//!
//! A length over the maximum message size (plus the kind byte) is a capacity error: the
//! engine closes the connection with 1009, as over `ws://`.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::codec::{Decoder, Encoder};

/// Reads and writes `tcp://` frames as the engine's messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameCodec {
    max_message_size: usize,
}

impl FrameCodec {
    pub(super) fn new(max_message_size: usize) -> Self {
        Self { max_message_size }
    }
}

impl Decoder for FrameCodec {
    type Item = Message;
    type Error = WsError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, WsError> {
        let Some(header) = src.get(..4) else { return Ok(None) };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len == 0 || len > self.max_message_size.saturating_add(1) {
            let error =
                CapacityError::MessageTooLong { size: len, max_size: self.max_message_size };
            return Err(WsError::Capacity(error));
        }
        if src.len() < 4 + len {
            src.reserve(4 + len - src.len());
            return Ok(None);
        }
        src.advance(4);
        let mut frame = src.split_to(len);
        let kind = frame.get_u8();
        decode_kind(kind, frame.freeze()).map(Some)
    }
}

/// One frame's body as the message its kind says.
fn decode_kind(kind: u8, body: Bytes) -> Result<Message, WsError> {
    let protocol = |what: &str| WsError::Io(std::io::Error::other(what.to_owned()));
    match kind {
        b'T' => {
            let text = String::from_utf8(body.to_vec())
                .map_err(|_| protocol("a text frame that is not UTF-8"))?;
            Ok(Message::Text(text.into()))
        }
        b'B' => Ok(Message::Binary(body)),
        b'P' => Ok(Message::Ping(body)),
        b'Q' => Ok(Message::Pong(body)),
        b'C' if body.is_empty() => Ok(Message::Close(None)),
        b'C' if body.len() >= 2 => {
            let code = CloseCode::from(u16::from_be_bytes([body[0], body[1]]));
            let reason = String::from_utf8_lossy(&body[2..]).into_owned();
            Ok(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
        }
        other => Err(protocol(&format!("unknown frame kind `{}`", other.escape_ascii()))),
    }
}

impl Encoder<Message> for FrameCodec {
    type Error = WsError;

    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), WsError> {
        let (kind, body): (u8, Bytes) = match message {
            Message::Text(text) => (b'T', Bytes::from(text.as_str().to_owned())),
            Message::Binary(bytes) => (b'B', bytes),
            Message::Ping(bytes) => (b'P', bytes),
            Message::Pong(bytes) => (b'Q', bytes),
            Message::Close(None) => (b'C', Bytes::new()),
            Message::Close(Some(frame)) => {
                let mut body = BytesMut::with_capacity(2 + frame.reason.len());
                body.put_u16(frame.code.into());
                body.put_slice(frame.reason.as_bytes());
                (b'C', body.freeze())
            }
            Message::Frame(_) => return Ok(()),
        };
        encode_raw(kind, &body, dst);
        Ok(())
    }
}

/// Writes one frame of `kind` with `body`.
fn encode_raw(kind: u8, body: &[u8], dst: &mut BytesMut) {
    dst.reserve(5 + body.len());
    // Bodies are bounded by the message size limit, far below 4 GiB.
    dst.put_u32(u32::try_from(body.len() + 1).unwrap_or(u32::MAX));
    dst.put_u8(kind);
    dst.put_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_oversized_ones_are_refused() {
        let mut codec = FrameCodec::new(64);
        let mut buf = BytesMut::new();
        let close = CloseFrame { code: CloseCode::Policy, reason: "slow".into() };
        for message in [
            Message::Text("{\"type\":\"event\"}".into()),
            Message::Ping(Bytes::new()),
            Message::Close(Some(close)),
        ] {
            codec.encode(message.clone(), &mut buf).expect("encodes");
            assert_eq!(codec.decode(&mut buf).expect("decodes"), Some(message));
        }
        // Half a frame is not a frame yet.
        encode_raw(b'T', b"{}", &mut buf);
        let mut half = buf.split_to(4);
        assert_eq!(codec.decode(&mut half).expect("waits"), None);
        let mut oversized = BytesMut::new();
        oversized.put_u32(1000);
        assert!(matches!(codec.decode(&mut oversized), Err(WsError::Capacity(_))));
    }
}
