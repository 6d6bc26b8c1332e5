//! Which browser pages may open a WebSocket to a server: the `Origin` check that stops
//! cross-site WebSocket hijacking.
//!
//! Browsers send `Origin` with every WebSocket handshake and let any page open one to any
//! server, with the user's cookies; non-browser clients usually send no `Origin`. So a
//! handshake without `Origin` is allowed, one whose origin is the server's own (same host and
//! port as the request's `Host`) is allowed, one whose origin is listed is allowed, and every
//! other is refused with 403.

/// The origins a server allows besides its own, normalised (`scheme://host:port`, lower
/// case, the default port spelled out).
#[derive(Debug, Clone, Default)]
pub(super) struct Origins {
    listed: Vec<String>,
    any: bool,
}

impl Origins {
    /// Reads the configured list; `Err` names the first entry that is not an origin.
    pub(super) fn parse(entries: &[String]) -> Result<Self, String> {
        let mut origins = Self::default();
        for entry in entries {
            if entry == "*" {
                origins.any = true;
                continue;
            }
            match normalise(entry) {
                Some(origin) => origins.listed.push(origin),
                None => {
                    return Err(format!(
                        "`{entry}` is not an origin: expected `scheme://host` or \
                         `scheme://host:port` with no path (for example \
                         `https://app.example.com`), or `*` for any origin"
                    ))
                }
            }
        }
        Ok(origins)
    }

    /// Whether a handshake that came with `origin` (if any) to a server reached as `host`
    /// (the `Host` header) is allowed; `secure` when the server speaks `wss://`.
    pub(super) fn allows(&self, origin: Option<&str>, host: Option<&str>, secure: bool) -> bool {
        let Some(origin) = origin else { return true };
        if self.any {
            return true;
        }
        let Some(origin) = normalise(origin) else { return false };
        if self.listed.contains(&origin) {
            return true;
        }
        // The server's own page: same host and port as the one the browser connected to.
        let own_port = if secure { 443 } else { 80 };
        match (host.and_then(|h| authority(h, own_port)), origin.split_once("://")) {
            (Some(host), Some((_, origin_authority))) => host == origin_authority,
            _ => false,
        }
    }
}

/// `scheme://host[:port]` as `scheme://host:port` in lower case; `None` when it is not an
/// origin (no scheme, a path, user info, an empty host).
fn normalise(origin: &str) -> Option<String> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let valid_scheme = !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let default_port = match scheme {
        "https" | "wss" => 443,
        _ => 80,
    };
    Some(format!("{scheme}://{}", authority(rest, default_port)?))
}

/// `host[:port]` as `host:port` in lower case, with `default_port` when none is given.
fn authority(text: &str, default_port: u16) -> Option<String> {
    let text = text.trim().to_ascii_lowercase();
    // An IPv6 literal is bracketed: its colons are not the port's.
    let (host, port) = match text.rfind(':') {
        Some(i) if !text[i..].contains(']') => (&text[..i], Some(&text[i + 1..])),
        _ => (text.as_str(), None),
    };
    let port = match port {
        Some(port) => port.parse::<u16>().ok()?,
        None => default_port,
    };
    (!host.is_empty()).then(|| format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Origins {
        let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        Origins::parse(&list).expect("valid")
    }

    #[test]
    fn the_servers_own_page_and_listed_origins_are_allowed() {
        let none = origins(&[]);
        assert!(none.allows(None, Some("127.0.0.1:9000"), false), "no origin: not a browser");
        assert!(none.allows(Some("http://127.0.0.1:9000"), Some("127.0.0.1:9000"), false));
        assert!(none.allows(Some("https://app.example"), Some("APP.example"), true));
        assert!(!none.allows(Some("http://127.0.0.1:8080"), Some("127.0.0.1:9000"), false));
        assert!(!none.allows(Some("https://evil.example"), Some("127.0.0.1:9000"), false));
        assert!(!none.allows(Some("null"), Some("127.0.0.1:9000"), false));
        let listed = origins(&["http://127.0.0.1:8080", "https://app.example"]);
        assert!(listed.allows(Some("http://127.0.0.1:8080"), Some("127.0.0.1:9000"), false));
        assert!(listed.allows(Some("https://app.example:443"), Some("x:1"), false));
        assert!(!listed.allows(Some("http://app.example"), Some("x:1"), false));
        assert!(origins(&["*"]).allows(Some("https://evil.example"), None, false));
    }

    #[test]
    fn entries_that_are_not_origins_are_refused_with_a_reason() {
        for bad in ["app.example", "https://app.example/", "https://", "https://a:b", "://x"] {
            let err = Origins::parse(&[bad.to_owned()]).expect_err(bad);
            assert!(err.starts_with(&format!("`{bad}` is not an origin")), "{err}");
        }
    }
}
