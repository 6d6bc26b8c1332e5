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
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(address, super::buffered(stream), Some(config))
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Io(io) if refused(&io) => {
                    TransportError::NotFound(address.to_owned())
                }
                other => failed(&other),
            })?;
    Ok(engine::start_client(ws, options))
}
