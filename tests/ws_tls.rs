//! `wss://`: the same requests, responses and events as over `ws://`, with a certificate
//! made at test time (rcgen) and read from PEM files; and clear errors for PEM files that
//! are missing or hold the wrong thing, and for a certificate the client does not trust.

#[path = "support/certificate.rs"]
pub mod certificate;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::transport::ws::{Tls, WsTransport};
use messaging_runtime::TransportError;
use messaging_tests::echo::{
    Echo, EchoServiceClient, EchoServiceEvents, EchoServiceServer, Echoer, Said,
};
use messaging_tests::wait::until;

use certificate::Certificate;

const WAIT: Duration = Duration::from_secs(10);

type Heard = Arc<Mutex<Vec<String>>>;

async fn echo_server(
    transport: WsTransport,
    address: &str,
) -> (messaging_runtime::RunningServer, Heard) {
    let heard: Heard = Arc::default();
    let sink = Arc::clone(&heard);
    let server = Server::bind_with(transport, address)
        .await
        .expect("binds")
        .serve(EchoServiceServer::new(Echoer::default()))
        .on_event(move |said: Said, _cx: Context| {
            let sink = Arc::clone(&sink);
            async move { sink.lock().expect("not poisoned").push(said.text) }
        })
        .start()
        .await
        .expect("starts");
    (server, heard)
}

/// Requests and responses, an event each way, and a broadcast right after connecting.
async fn exercise(server: &messaging_runtime::RunningServer, heard: &Heard, client: &WsTransport) {
    let connect = || async {
        let built = Client::builder().transport(client.clone()).connect(server.address()).await;
        EchoServiceClient::from_client(built.expect("connects"))
    };
    let alice = connect().await;
    let calls = (0..50).map(|value| {
        let alice = alice.clone();
        async move { alice.echo(Echo::now(value)).await }
    });
    let answers = tokio::time::timeout(WAIT, futures_util::future::join_all(calls)).await;
    let answers: Vec<u32> = answers.expect("in time").into_iter().map(|a| a.expect("ok")).collect();
    assert_eq!(answers, (0..50).collect::<Vec<_>>());
    alice.emit(Said { text: "hello".into() }).expect("emitted");
    until("the server heard the event", || !heard.lock().expect("not poisoned").is_empty()).await;
    assert_eq!(*heard.lock().expect("not poisoned"), ["hello"]);
    let events = EchoServiceEvents::new(server.broadcaster());
    for round in 0..5 {
        let bob = connect().await;
        let mut said = bob.said();
        assert!(events.said(Said { text: format!("round {round}") }) >= 2, "registered on connect");
        let got = tokio::time::timeout(WAIT, said.recv()).await.expect("in time").expect("open");
        assert_eq!(got.0.text, format!("round {round}"));
    }
}

#[tokio::test]
async fn wss_serves_what_ws_serves() {
    let (server, heard) = echo_server(WsTransport::new(), "ws://127.0.0.1:0/echo").await;
    exercise(&server, &heard, &WsTransport::new()).await;
    server.stop().await;

    let cert = Certificate::new("serves");
    let tls = Tls::new().identity_from_pem(cert.cert(), cert.key()).expect("reads the pem files");
    let (server, heard) = echo_server(WsTransport::new().tls(tls), "wss://127.0.0.1:0/echo").await;
    assert!(server.address().starts_with("wss://127.0.0.1:"), "{}", server.address());
    let trusting = Tls::new().roots_from_pem(cert.cert()).expect("reads the roots");
    exercise(&server, &heard, &WsTransport::new().tls(trusting.clone())).await;
    // By name as well as by address.
    let by_name = server.address().replace("127.0.0.1", "localhost");
    let built = Client::builder().transport(WsTransport::new().tls(trusting)).connect(&by_name);
    let client = EchoServiceClient::from_client(built.await.expect("connects to localhost"));
    assert_eq!(client.echo(Echo::now(7)).await.expect("answered"), 7);
    server.stop().await;
}

#[tokio::test]
async fn an_untrusted_certificate_and_a_plain_client_are_refused() {
    let cert = Certificate::new("untrusted");
    let tls = Tls::new().identity_from_pem(cert.cert(), cert.key()).expect("reads the pem files");
    let (server, _) = echo_server(WsTransport::new().tls(tls), "wss://127.0.0.1:0/echo").await;
    // The built-in `wss://` transport trusts the Mozilla roots, not this certificate.
    let err = EchoServiceClient::connect(server.address()).await.expect_err("not trusted");
    let text = err.to_string();
    let expected = format!("transport i/o error: cannot connect to `{}`: tls handshake failed: invalid peer certificate", server.address());
    assert!(text.starts_with(&expected), "{text}");
    // A `ws://` client speaking plain HTTP to the TLS port gets no WebSocket.
    let plain = server.address().replacen("wss://", "ws://", 1);
    assert!(EchoServiceClient::connect(&plain).await.is_err());
    // Serving `wss://` needs a certificate.
    let err = Server::bind("wss://127.0.0.1:0/echo").await.expect_err("no certificate");
    let TransportError::InvalidAddress { reason, .. } = err else { panic!("{err:?}") };
    assert!(reason.starts_with("serving `wss://` needs a certificate"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn pem_files_that_are_missing_or_wrong_are_named_in_the_error() {
    let cert = Certificate::new("wrong");
    let missing = cert.dir.join("missing.pem");
    let err = Tls::new().identity_from_pem(&missing, cert.key()).expect_err("missing");
    let shown = missing.display();
    assert!(
        err.to_string().starts_with(&format!("cannot read the certificate chain `{shown}`: ")),
        "{err}"
    );
    let err = Tls::new().roots_from_pem(cert.key()).expect_err("a key is not a certificate");
    assert_eq!(
        err.to_string(),
        format!(
            "no PEM block found for the trust roots in `{}`: expected one or more `CERTIFICATE` blocks",
            cert.key().display()
        )
    );
    let err = Tls::new().identity_from_pem(cert.cert(), cert.cert()).expect_err("not a key");
    assert!(
        err.to_string().starts_with(&format!(
            "no PEM block found for the private key in `{}`",
            cert.cert().display()
        )),
        "{err}"
    );
    let other = Certificate::new("other");
    let err = Tls::new().identity_from_pem(cert.cert(), other.key()).expect_err("mismatch");
    assert!(err.to_string().starts_with("cannot use the key `"), "{err}");
}
