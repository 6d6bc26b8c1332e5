//! The version handshake (`$handshake`, this library's protocol extension): a generated
//! client says which contract, version and hash it was built with; a client built for a
//! version the server does not serve compatibly fails `connect` with an error naming both
//! versions, over `memory://` and `ws://` alike. Clients that send no handshake (the untyped
//! client, the TypeScript ones) are served as before.

use futures_util::{SinkExt, StreamExt};
use messaging_runtime::prelude::*;
use messaging_runtime::TransportError;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Declares module `$module` with contract `greeter` at `$version`: one request, `greet`.
macro_rules! greeter {
    ($module:ident, $name:tt, $version:tt) => {
        #[allow(
            dead_code,
            reason = "each version uses a different part of what its contract generates"
        )]
        mod $module {
            use messaging_runtime::prelude::*;

            /// Asks for a greeting.
            #[request("greet", response = String)]
            #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
            pub(crate) struct Greet {
                /// Who.
                pub(crate) name: String,
            }

            /// Never returned.
            #[error_code]
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub(crate) enum GreetError {
                /// Unused.
                #[error(status = 500, message = "unused")]
                Unused,
            }

            /// Greets.
            #[contract(name = $name, version = $version, error = GreetError)]
            pub(crate) trait Greeter {
                /// Greets `name`.
                async fn greet(&self, req: Greet) -> Result<String, GreetError>;
            }

            /// Says hello.
            pub(crate) struct Hello;

            impl Greeter for Hello {
                async fn greet(&self, req: Greet) -> Result<String, GreetError> {
                    Ok(format!("hello, {}", req.name))
                }
            }

            /// A server of this version at `address`.
            pub(crate) async fn serve(address: &str) -> messaging_runtime::RunningServer {
                let server = Server::bind(address).await.expect("binds");
                server.serve(GreeterServer::new(Hello)).start().await.expect("starts")
            }
        }
    };
}

greeter!(v1_0, "greeter", "1.0.0");
greeter!(v1_3, "greeter", "1.3.0");
greeter!(v2_0, "greeter", "2.0.0");
greeter!(other, "farewell", "1.0.0");

#[tokio::test]
async fn a_client_of_the_served_version_connects_and_calls() {
    let server = v1_0::serve("memory://handshake-same").await;
    let client = v1_0::GreeterClient::connect(server.address()).await.expect("compatible");
    let answer = client.greet(v1_0::Greet { name: "ada".into() }).await.expect("served");
    assert_eq!(answer, "hello, ada");
    server.stop().await;
}

#[tokio::test]
async fn a_client_of_an_older_minor_version_is_served_by_a_newer_server() {
    // Over ws://: in process, memory:// hands over typed values, and the two versions are
    // different Rust types.
    let server = v1_3::serve("ws://127.0.0.1:0/greeter-newer").await;
    let client =
        v1_0::GreeterClient::connect(server.address()).await.expect("1.0 is served by 1.3");
    assert_eq!(client.greet(v1_0::Greet { name: "bo".into() }).await.expect("served"), "hello, bo");
    server.stop().await;
}

/// Asserts that `outcome` is the incompatibility error naming both versions.
fn assert_incompatible<T>(
    outcome: Result<T, TransportError>,
    client: &str,
    server: &str,
) -> String {
    let Err(error) = outcome else {
        panic!("a client built for {client} connected to a {server} server")
    };
    let TransportError::IncompatibleContract { contract, client_version, server_version, .. } =
        &error
    else {
        panic!("expected IncompatibleContract, got {error:?}");
    };
    assert_eq!((contract.as_str(), client_version.as_str()), ("greeter", client));
    assert_eq!(server_version.as_deref(), Some(server));
    error.to_string()
}

#[tokio::test]
async fn a_client_of_an_older_major_version_fails_to_connect_naming_both_versions() {
    let server = v2_0::serve("memory://handshake-major").await;
    let message =
        assert_incompatible(v1_0::GreeterClient::connect(server.address()).await, "1.0.0", "2.0.0");
    assert_eq!(
        message,
        "incompatible contract `greeter`: this client was built for version 1.0.0, the server \
         serves version 2.0.0: a client built for 1.0.0 needs a server of 1.x with at least \
         that version"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_newer_than_the_server_fails_to_connect_over_ws() {
    let server = v1_0::serve("ws://127.0.0.1:0/greeter").await;
    let message =
        assert_incompatible(v1_3::GreeterClient::connect(server.address()).await, "1.3.0", "1.0.0");
    assert!(
        message.contains("built for version 1.3.0, the server serves version 1.0.0"),
        "{message}"
    );
    // The server is unharmed: a compatible client connects and is served.
    let client = v1_0::GreeterClient::connect(server.address()).await.expect("compatible");
    assert_eq!(client.greet(v1_0::Greet { name: "cy".into() }).await.expect("served"), "hello, cy");
    server.stop().await;
}

#[tokio::test]
async fn a_client_of_a_contract_the_server_does_not_serve_fails_to_connect() {
    let server = v1_0::serve("memory://handshake-other").await;
    let error = other::GreeterClient::connect(server.address()).await.expect_err("not served");
    assert_eq!(
        error.to_string(),
        "incompatible contract `farewell`: this client was built for version 1.0.0: this \
         server does not serve contract `farewell`; it serves `greeter`"
    );
    server.stop().await;
}

#[tokio::test]
async fn clients_that_send_no_handshake_are_served() {
    let server = v2_0::serve("ws://127.0.0.1:0/greeter-plain").await;
    // The untyped client and `from_client` send none.
    let plain = Client::connect(server.address()).await.expect("connects");
    let typed = v1_0::GreeterClient::from_client(plain);
    assert_eq!(typed.greet(v1_0::Greet { name: "di".into() }).await.expect("served"), "hello, di");
    // Neither does a TypeScript client: raw frames, the first one a request.
    let (mut socket, _) = tokio_tungstenite::connect_async(server.address()).await.expect("opens");
    let request = json!({ "type": "request", "requestId": "r1", "requestType": "greet", "payload": { "name": "ed" }, "context": {} });
    socket.send(Message::text(request.to_string())).await.expect("sends");
    assert_eq!(next_frame(&mut socket).await["data"], "hello, ed");
    server.stop().await;
}

#[tokio::test]
async fn the_handshake_is_a_request_on_the_wire() {
    let server = v1_3::serve("ws://127.0.0.1:0/greeter-wire").await;
    let (mut socket, _) = tokio_tungstenite::connect_async(server.address()).await.expect("opens");
    let hello = |id: &str, version: &str| json!({ "type": "request", "requestId": id, "requestType": "$handshake", "payload": { "contract": "greeter", "version": version, "hash": "blake2s256:00" } });
    socket.send(Message::text(hello("h1", "1.2.0").to_string())).await.expect("sends");
    let answer = next_frame(&mut socket).await;
    assert_eq!((&answer["requestId"], &answer["success"]), (&json!("h1"), &json!(true)));
    let data = &answer["data"];
    assert_eq!(
        (&data["compatible"], &data["contract"], &data["version"]),
        (&json!(true), &json!("greeter"), &json!("1.3.0"))
    );
    assert_eq!(
        data["hash"],
        json!(messaging_runtime::contract::snapshot::descriptor_hash(
            v1_3::GreeterContract::DESCRIPTOR
        ))
    );
    socket.send(Message::text(hello("h2", "2.0.0").to_string())).await.expect("sends");
    let refused = next_frame(&mut socket).await;
    assert_eq!(refused["data"]["compatible"], false);
    socket.send(Message::text(json!({ "type": "request", "requestId": "h3", "requestType": "$handshake", "payload": 7 }).to_string())).await.expect("sends");
    assert_eq!(next_frame(&mut socket).await["error"]["code"], "INVALID_PAYLOAD");
    server.stop().await;
}

/// The next text frame, as JSON, within five seconds.
async fn next_frame<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .expect("a frame within 5 s")
        .expect("the socket is open")
        .expect("a frame");
    serde_json::from_str(frame.to_text().expect("text")).expect("JSON")
}
