//! The server's side of the HTTP upgrade (RFC 6455 section 4.2), read and answered here
//! rather than by tungstenite so that every request gets an HTTP answer: a plain GET gets
//! 426, a malformed request 400, a refused origin 403, a head too large 431, a head not
//! finished in time 408. The head is read with a bounded buffer and parsed by `httparse`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::origin::Origins;
use super::stream::Conn;

/// The largest request head a server reads: browsers send cookies, but nothing near this.
pub(super) const MAX_HEAD: usize = 16 * 1024;

/// The most header lines a request head may have.
const MAX_HEADERS: usize = 64;

/// How long answering a refused handshake may take (writing the answer, then reading what
/// the peer still sends so that closing does not reset the connection before it reads the
/// answer).
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// The header of the `101` answer that tells the client its id.
pub(super) const CLIENT_ID_HEADER: &str = "Mb-Client-Id";

/// A request that asked for a WebSocket, checked and allowed.
#[derive(Debug)]
pub(super) struct Upgrade {
    /// The `Sec-WebSocket-Accept` value that answers the client's key.
    accept: String,
    /// Bytes the client sent after the head (its first frames), for tungstenite.
    pub(super) leftover: Vec<u8>,
}

impl Upgrade {
    /// The `101 Switching Protocols` answer, with the id the server registered the client
    /// under in `Mb-Client-Id` (other clients ignore the header).
    pub(super) fn response(&self, client_id: Option<&str>) -> String {
        let id = client_id.map(|id| format!("{CLIENT_ID_HEADER}: {id}\r\n")).unwrap_or_default();
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Accept: {}\r\n{id}\r\n",
            self.accept
        )
    }
}

/// A request refused with an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// The status code.
    pub(super) status: u16,
    /// The text body: what was wrong, and what is accepted.
    pub(super) reason: String,
}

impl Refusal {
    fn new(status: u16, reason: impl Into<String>) -> Self {
        Self { status, reason: reason.into() }
    }

    fn response(&self) -> String {
        let (text, extra) = match self.status {
            400 => ("Bad Request", ""),
            403 => ("Forbidden", ""),
            405 => ("Method Not Allowed", "Allow: GET\r\n"),
            408 => ("Request Timeout", ""),
            426 => ("Upgrade Required", "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"),
            431 => ("Request Header Fields Too Large", ""),
            _ => ("Error", ""),
        };
        let body = format!("{}\n", self.reason);
        format!(
            "HTTP/1.1 {} {text}\r\nConnection: close\r\n{extra}Content-Type: text/plain; \
             charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            self.status,
            body.len()
        )
    }

    /// Sends the answer and closes the connection, within [`ANSWER_TIMEOUT`].
    pub(super) async fn answer(&self, conn: &mut Conn) {
        let _ = tokio::time::timeout(ANSWER_TIMEOUT, async {
            if conn.write_all(self.response().as_bytes()).await.is_err() {
                return;
            }
            let _ = conn.shutdown().await;
            // Closing a socket with unread bytes resets it, and the peer may lose the answer
            // before reading it: read what it still sends (bounded) until it closes.
            let mut sink = [0u8; 1024];
            for _ in 0..64 {
                if matches!(conn.read(&mut sink).await, Ok(0) | Err(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Reads a request head into `buf` (which keeps what was read, also when the caller's
/// deadline cuts this short). `Ok(None)` when the peer closed before sending a whole head.
pub(super) async fn read_head(conn: &mut Conn, buf: &mut Vec<u8>) -> Result<Option<()>, Refusal> {
    let mut chunk = [0u8; 2048];
    loop {
        let room = (MAX_HEAD - buf.len()).min(chunk.len());
        let n = match conn.read(&mut chunk[..room]).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(buf) {
            Ok(httparse::Status::Complete(_)) => return Ok(Some(())),
            Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
                let reason = format!("the request head is larger than {MAX_HEAD} bytes");
                return Err(Refusal::new(431, reason));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                let reason = format!("the request has more than {MAX_HEADERS} header lines");
                return Err(Refusal::new(431, reason));
            }
            Err(e) => return Err(Refusal::new(400, format!("malformed http request: {e}"))),
        }
    }
}

/// The answer to a head that did not arrive whole before the deadline.
pub(super) fn too_slow(limit: std::time::Duration) -> Refusal {
    Refusal::new(408, format!("the request head did not arrive within {limit:?}"))
}

/// Checks a complete request head (read by [`read_head`]) as a WebSocket upgrade; `secure`
/// when the server speaks `wss://`.
pub(super) fn check(buf: &[u8], origins: &Origins, secure: bool) -> Result<Upgrade, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Err(Refusal::new(400, "incomplete request head")),
        Err(e) => return Err(Refusal::new(400, format!("malformed http request: {e}"))),
    };
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("upgrade", "websocket") {
        let reason = "this is a websocket endpoint: expected a GET request with `Upgrade: \
                      websocket` and `Connection: Upgrade` (RFC 6455)";
        return Err(Refusal::new(426, reason));
    }
    if request.method != Some("GET") {
        let method = request.method.unwrap_or("");
        return Err(Refusal::new(
            405,
            format!("a websocket handshake is a GET request, found {method}"),
        ));
    }
    if request.version != Some(1) {
        return Err(Refusal::new(400, "a websocket handshake needs HTTP/1.1"));
    }
    if !has_token("connection", "upgrade") {
        return Err(Refusal::new(400, "expected `Connection: Upgrade` in a websocket handshake"));
    }
    if header("sec-websocket-version") != Some("13") {
        let found = header("sec-websocket-version").unwrap_or("none");
        let reason = format!("unsupported websocket version {found}: expected 13");
        return Err(Refusal::new(426, reason));
    }
    let Some(key) = header("sec-websocket-key").filter(|k| !k.is_empty()) else {
        return Err(Refusal::new(400, "expected a `Sec-WebSocket-Key` header"));
    };
    let origin = header("origin");
    if !origins.allows(origin, header("host"), secure) {
        let origin = origin.unwrap_or_default();
        let reason = format!(
            "origin `{origin}` is not allowed: a page may connect from the server's own host \
             and port, or from an origin listed in the server's `allowed_origins`"
        );
        return Err(Refusal::new(403, reason));
    }
    let accept = derive_accept_key(key.as_bytes());
    Ok(Upgrade { accept, leftover: buf[head_len..].to_vec() })
}
