//! The page: `index.html`, `app.js` (the page's logic), `messaging.js` (the wire protocol
//! client) and `style.css` from `examples/dashboard/`, embedded in the binary, and
//! `config.js`, which tells the script where the dashboard's WebSocket server listens.
//! Nothing is cached, because the ports change from run to run.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const INDEX_HTML: &str = include_str!("../../dashboard/index.html");
const APP_JS: &str = include_str!("../../dashboard/app.js");
const MESSAGING_JS: &str = include_str!("../../dashboard/messaging.js");
const STYLE_CSS: &str = include_str!("../../dashboard/style.css");

/// What the page needs to know about the WebSocket server.
#[derive(Debug, Clone)]
pub(crate) struct PageConfig {
    /// The dashboard's WebSocket address, e.g. `ws://127.0.0.1:40123/dashboard`.
    pub(crate) ws_address: String,
}

impl PageConfig {
    /// `config.js`: the port and path of the WebSocket server (the script connects to the
    /// host the page was loaded from, so `localhost` and `127.0.0.1` both work), and the
    /// full address for display.
    fn script(&self) -> String {
        let rest = self.ws_address.strip_prefix("ws://").unwrap_or(&self.ws_address);
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        let port = authority.rsplit_once(':').map_or("", |(_, port)| port);
        let config = serde_json::json!({
            "wsAddress": self.ws_address,
            "wsPort": port,
            "wsPath": path,
        });
        format!("window.DASHBOARD_CONFIG = {config};\n")
    }
}

/// The page's routes.
pub(crate) fn router(config: &PageConfig) -> Router {
    let config_js = config.script();
    Router::new()
        .route("/", get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/index.html", get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/app.js", get(|| async { page("text/javascript; charset=utf-8", APP_JS) }))
        .route(
            "/messaging.js",
            get(|| async { page("text/javascript; charset=utf-8", MESSAGING_JS) }),
        )
        .route("/style.css", get(|| async { page("text/css; charset=utf-8", STYLE_CSS) }))
        .route(
            "/config.js",
            get(move || async move { page("text/javascript; charset=utf-8", config_js) }),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

fn page(content_type: &'static str, body: impl Into<String>) -> Response {
    let mut response = body.into().into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_port_path_and_address() {
        let config = PageConfig { ws_address: "ws://127.0.0.1:40123/dashboard".into() };
        let script = config.script();
        let json = script
            .strip_prefix("window.DASHBOARD_CONFIG = ")
            .and_then(|rest| rest.strip_suffix(";\n"))
            .expect("config.js assigns one object");
        let value: serde_json::Value = serde_json::from_str(json).expect("config.js holds JSON");
        assert_eq!(
            value,
            serde_json::json!({
                "wsAddress": "ws://127.0.0.1:40123/dashboard",
                "wsPort": "40123",
                "wsPath": "/dashboard",
            })
        );
    }
}
