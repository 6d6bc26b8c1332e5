//! A self-signed certificate made at test time (rcgen), as PEM files.

use std::path::PathBuf;

/// A fresh folder with a self-signed certificate for `localhost` and 127.0.0.1, as PEM
/// files; removed when dropped.
pub struct Certificate {
    /// The folder.
    pub dir: PathBuf,
}

impl Certificate {
    /// Makes one in a folder named after `name` and this process.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("messaging-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creates the folder");
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let made = rcgen::generate_simple_self_signed(names).expect("makes a certificate");
        std::fs::write(dir.join("cert.pem"), made.cert.pem()).expect("writes");
        std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).expect("writes");
        Self { dir }
    }

    /// The certificate, PEM.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// Its private key, PEM.
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
