//! TLS for `wss://`: rustls (with the `ring` provider) through tokio-rustls. A server's
//! certificate chain and key, and a client's trust roots, are read from PEM files.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// TLS settings for `wss://`: the server's certificate ([`Tls::identity_from_pem`]) and the
/// roots a client trusts ([`Tls::roots_from_pem`]; by default the Mozilla roots of the
/// `webpki-roots` crate). Give it to [`super::WsTransport::tls`].
#[derive(Clone)]
pub struct Tls {
    pub(super) server: Option<Arc<ServerConfig>>,
    roots: Arc<RootCertStore>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("serves", &self.server.is_some()).finish_non_exhaustive()
    }
}

impl Default for Tls {
    fn default() -> Self {
        let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        Self { server: None, roots: Arc::new(roots) }
    }
}

/// Reading a certificate, a key or trust roots for `wss://` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    message: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsError {}

impl Tls {
    /// Settings that serve nothing yet, and trust the Mozilla roots as a client.
    pub fn new() -> Self {
        Self::default()
    }

    /// The certificate a server presents: `cert_chain` is a PEM file of one or more
    /// `CERTIFICATE` blocks (the server's own first, then any intermediates), `key` a PEM
    /// file with its private key (PKCS #8, PKCS #1 or SEC1).
    ///
    /// # Errors
    /// A file that cannot be read or holds no such block, or a key that does not fit.
    pub fn identity_from_pem(
        mut self,
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let (cert_path, key_path) = (cert_chain.as_ref(), key.as_ref());
        let chain = certificates(cert_path, "the certificate chain")?;
        let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
            pem_error(
                key_path,
                "the private key",
                "a `PRIVATE KEY` block (PKCS #8, PKCS #1 or SEC1)",
                e,
            )
        })?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| error(format!("cannot set up tls: {}", lower(&e.to_string()))))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                error(format!(
                    "cannot use the key `{}` with the certificate chain `{}`: {}",
                    key_path.display(),
                    cert_path.display(),
                    lower(&e.to_string())
                ))
            })?;
        self.server = Some(Arc::new(config));
        Ok(self)
    }

    /// The roots a client trusts instead of the Mozilla roots: a PEM file of one or more
    /// `CERTIFICATE` blocks (for example a private CA, or a self-signed server certificate).
    ///
    /// # Errors
    /// A file that cannot be read, holds no certificate, or holds one that is not a valid
    /// trust anchor.
    pub fn roots_from_pem(mut self, roots: impl AsRef<Path>) -> Result<Self, TlsError> {
        let path = roots.as_ref();
        let mut store = RootCertStore::empty();
        for cert in certificates(path, "the trust roots")? {
            store.add(cert).map_err(|e| {
                let reason = lower(&e.to_string());
                error(format!("cannot trust a certificate in `{}`: {reason}", path.display()))
            })?;
        }
        self.roots = Arc::new(store);
        Ok(self)
    }

    /// The client's settings, with the trust roots.
    pub(super) fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| error(format!("cannot set up tls: {}", lower(&e.to_string()))))?
            .with_root_certificates(Arc::clone(&self.roots))
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// Only `ring`: the process-wide default provider is left alone, so this crate works next to
/// any other rustls user.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every `CERTIFICATE` block in the PEM file at `path`; `what` names it in errors.
fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let expected = "one or more `CERTIFICATE` blocks";
    let all = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, what, expected, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, what, expected, e))?;
    if all.is_empty() {
        return Err(pem_error(path, what, expected, rustls::pki_types::pem::Error::NoItemsFound));
    }
    Ok(all)
}

fn pem_error(
    path: &Path,
    what: &str,
    expected: &str,
    e: rustls::pki_types::pem::Error,
) -> TlsError {
    use rustls::pki_types::pem::Error;
    let path = path.display();
    match e {
        Error::Io(io) => error(format!("cannot read {what} `{path}`: {}", lower(&io.to_string()))),
        Error::NoItemsFound => {
            error(format!("no PEM block found for {what} in `{path}`: expected {expected}"))
        }
        other => error(format!(
            "{what} `{path}` is not valid PEM: {}; expected {expected}",
            lower(&other.to_string())
        )),
    }
}

fn error(message: String) -> TlsError {
    TlsError { message }
}

/// The OS and rustls start their messages with a capital; ours read like rustc's.
fn lower(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
