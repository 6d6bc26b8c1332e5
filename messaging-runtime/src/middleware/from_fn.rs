//! Middleware written as a closure in the guide's `(request, next)` shape.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::util::{BoxCloneService, ServiceExt};
use tower::{Layer, Service};

use super::BoxError;
use crate::payload::Payload;

/// The rest of the pipeline, handed to a [`from_fn`] middleware.
pub struct Next<Req, Res = Payload> {
    inner: BoxCloneService<Req, Res, BoxError>,
}

impl<Req, Res> std::fmt::Debug for Next<Req, Res> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Next(..)")
    }
}

impl<Req: Send + 'static, Res: Send + 'static> Next<Req, Res> {
    /// Passes the request on and waits for the answer.
    ///
    /// # Errors
    /// Whatever a later layer or the handler failed with.
    pub async fn run(self, request: Req) -> Result<Res, BoxError> {
        self.inner.oneshot(request).await
    }
}

/// Makes a layer from an async closure: `from_fn(|req, next| async move { next.run(req).await })`.
///
/// The closure may change the request before passing it on, answer without calling
/// `next`, or look at the answer on its way back.
///
/// # Examples
///
/// ```
/// # use messaging_runtime::prelude::*;
/// # #[request("echo", response = String)]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echo { pub text: String }
/// # #[event]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echoed { pub text: String }
/// # #[error_code]
/// # #[derive(Debug, Clone, PartialEq)]
/// # pub enum EchoError {
/// #     #[error(status = 400, message = "nothing to echo")]
/// #     Empty,
/// # }
/// # #[contract(name = "echo", version = "1.0.0", error = EchoError, events(Echoed))]
/// # pub trait Echoer {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError>;
/// # }
/// # struct Parrot;
/// # impl Echoer for Parrot {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError> {
/// #         if req.text.is_empty() {
/// #             return Err(EchoError::empty());
/// #         }
/// #         cx.events::<EchoerEvents>().echoed(Echoed { text: req.text.clone() });
/// #         Ok(req.text)
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use messaging_runtime::middleware::{from_fn, Next};
/// use messaging_runtime::ServerRequest;
///
/// let running = Server::bind("memory://doc-from-fn")
///     .await?
///     .serve(EchoerServer::new(Parrot))
///     .layer(from_fn(|request: ServerRequest, next: Next<ServerRequest>| async move {
///         let name = request.name.clone();
///         let answer = next.run(request).await;
///         println!("{name}: {}", if answer.is_ok() { "ok" } else { "failed" });
///         answer
///     }))
///     .start()
///     .await?;
/// let client = EchoerClient::connect(running.address()).await?;
/// assert_eq!(client.echo(Echo { text: "logged".into() }).await?, "logged");
/// # Ok(()) }
/// ```
pub fn from_fn<F>(f: F) -> FromFnLayer<F> {
    FromFnLayer { f }
}

/// The layer made by [`from_fn`].
#[derive(Clone, Debug)]
pub struct FromFnLayer<F> {
    f: F,
}

impl<F: Clone, S> Layer<S> for FromFnLayer<F> {
    type Service = FromFn<F, S>;

    fn layer(&self, inner: S) -> Self::Service {
        FromFn { f: self.f.clone(), inner }
    }
}

/// The service made by [`FromFnLayer`].
#[derive(Clone, Debug)]
pub struct FromFn<F, S> {
    f: F,
    inner: S,
}

impl<F, S, Req, Res, Fut> Service<Req> for FromFn<F, S>
where
    F: Fn(Req, Next<Req, Res>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Res, BoxError>> + Send + 'static,
    S: Service<Req, Response = Res, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    Req: Send + 'static,
    Res: Send + 'static,
{
    type Response = Res;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Res, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness of the rest of the pipeline is awaited by `Next::run`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let next = Next { inner: BoxCloneService::new(self.inner.clone()) };
        Box::pin((self.f)(request, next))
    }
}
