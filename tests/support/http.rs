//! A small HTTP/1.1 client for the tests (hyper-util's client, plain HTTP, no TLS): one
//! request, its status, headers and JSON body, every wait bounded.

#![allow(
    dead_code,
    reason = "each test target that includes this module uses a different part of it"
)]

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Bounds one request, from sending it to the end of the answer's body.
const WAIT: Duration = Duration::from_secs(20);

/// An answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status code.
    pub(crate) status: u16,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body as text.
    pub(crate) text: String,
}

impl Answer {
    /// The body as JSON; fails the test when it is not.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {:?}", self.text))
    }

    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error` of an error body, after checking its shape:
    /// `{"error": {"code", "message", "details"}}` and nothing else.
    pub(crate) fn error(&self) -> Value {
        let body = self.json();
        let object = body.as_object().expect("the body is an object");
        assert_eq!(object.keys().collect::<Vec<_>>(), ["error"], "{body}");
        let error = &body["error"];
        let mut keys = error.as_object().expect("`error` is an object").keys().collect::<Vec<_>>();
        keys.sort();
        assert_eq!(keys, ["code", "details", "message"], "{body}");
        assert!(error["code"].is_string() && error["message"].is_string(), "{body}");
        error.clone()
    }
}

/// A client for one base URL (`http://HOST:PORT`).
pub(crate) struct Http {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    /// A client for `base`.
    pub(crate) fn new(base: &str) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self { base: base.trim_end_matches('/').to_owned(), client }
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], None).await
    }

    /// `method path` with a JSON body (`Content-Type: application/json`).
    pub(crate) async fn json(&self, method: Method, path: &str, body: &Value) -> Answer {
        let text = body.to_string();
        self.send(method, path, &[("content-type", "application/json")], Some(&text)).await
    }

    /// `method path` with these headers and this body as is.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut request =
            Request::builder().method(method.clone()).uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        let request = request.body(body).expect("a valid request");
        let exchange = async {
            let response = self.client.request(request).await.expect("the gateway answers");
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await.expect("the body arrives").to_bytes();
            Answer {
                status: parts.status.as_u16(),
                headers: parts.headers,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }
        };
        tokio::time::timeout(WAIT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {WAIT:?}"))
    }
}
