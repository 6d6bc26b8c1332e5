//! The byte stream under a WebSocket connection: plain TCP (`ws://`) or TLS over TCP
//! (`wss://`), and opening one as a client.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsStream;

use super::tls::Tls;
use crate::error::TransportError;

/// One connection's socket, with or without TLS.
#[derive(Debug)]
pub(crate) enum Conn {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`; boxed, as it is much larger than a plain socket.
    Tls(Box<TlsStream<TcpStream>>),
}

/// The socket under tungstenite: reads are buffered while data flows, and an idle
/// connection holds no buffer (`buffered.rs`).
pub(crate) type Buffered = super::buffered::Buffered<Conn>;

pub(super) fn buffered(stream: Conn) -> Buffered {
    super::buffered::Buffered::new(stream)
}

/// Opens a client's socket to `authority` (`host:port`), with TLS when `tls` is given;
/// errors name `address`.
pub(super) async fn dial(
    address: &str,
    authority: &str,
    tls: Option<&Tls>,
) -> Result<Conn, TransportError> {
    let failed = |e: &dyn std::fmt::Display| {
        TransportError::Io(format!("cannot connect to `{address}`: {e}"))
    };
    let stream = TcpStream::connect(authority).await.map_err(|e| {
        if e.kind() == io::ErrorKind::ConnectionRefused {
            TransportError::NotFound(address.to_owned())
        } else {
            failed(&e)
        }
    })?;
    // Small frames should leave at once, not wait for Nagle's algorithm.
    stream.set_nodelay(true).map_err(|e| failed(&e))?;
    let Some(tls) = tls else { return Ok(Conn::Plain(stream)) };
    let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name =
        ServerName::try_from(host.to_owned()).map_err(|e| TransportError::InvalidAddress {
            address: address.to_owned(),
            reason: format!("`{host}` is not a valid tls server name: {e}"),
        })?;
    let config = tls.client_config().map_err(|e| failed(&e))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = connector
        .connect(name, stream)
        .await
        .map_err(|e| failed(&format!("tls handshake failed: {e}")))?;
    Ok(Conn::Tls(Box::new(TlsStream::Client(stream))))
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
