//! The client side of a WebSocket connection: the handshake, then the shared engine
//! ([`crate::transport::engine`]) drives it.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::TransportError;
use crate::transport::engine::{self, ConnectionOptions};
use crate::transport::ClientLink;

/// Performs the WebSocket handshake on `stream` (opened by `stream::dial`) and starts the
/// task that drives the connection.
pub(super) async fn connect(
    address: &str,
    stream: super::stream::Conn,
    config: WebSocketConfig,
    options: ConnectionOptions,
) -> Result<ClientLink, TransportError> {
    let refused = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionRefused;
    let failed = |e: &dyn std::fmt::Display| {
        TransportError::Io(format!("cannot connect to `{address}`: {e}"))
    };
    let (ws, answer) =
        tokio_tungstenite::client_async_with_config(address, super::buffered(stream), Some(config))
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Io(io) if refused(&io) => {
                    TransportError::NotFound(address.to_owned())
                }
                other => failed(&other),
            })?;
    let client_id = answer
        .headers()
        .get(super::handshake::CLIENT_ID_HEADER)
        .and_then(|id| id.to_str().ok())
        .map(str::to_owned);
    let mut link = engine::start_client(ws, options);
    link.client_id = client_id;
    Ok(link)
}
