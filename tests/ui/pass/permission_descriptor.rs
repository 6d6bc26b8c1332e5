//! `#[permission("...")]` on a contract method reaches the request's descriptor; methods
//! without one have none, and the trait is implemented with plain `async fn`s as usual.

use messaging_runtime::prelude::*;

/// Reads a document.
#[request("readDoc", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadDoc {
    /// The document.
    pub id: String,
}

/// Deletes a document.
#[request("deleteDoc", response = bool)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteDoc {
    /// The document.
    pub id: String,
}

/// Pings.
#[request("ping", response = ())]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ping {}

/// What documents can fail with.
#[error_code]
#[derive(Debug)]
pub enum DocError {
    /// No such document.
    #[error(status = 404, message = "document {id} not found")]
    NotFound { id: String },
}

/// Documents.
#[contract(name = "docs", error = DocError)]
pub trait Docs {
    /// Reads one.
    #[permission("docs:read")]
    async fn read_doc(&self, req: ReadDoc, cx: Context) -> Result<String, DocError>;
    /// Deletes one.
    #[messaging_runtime::permission("docs:*")]
    async fn delete_doc(&self, req: DeleteDoc) -> Result<bool, DocError>;
    /// Anyone may ping.
    async fn ping(&self, req: Ping) -> Result<(), DocError>;
}

struct Library;

impl Docs for Library {
    async fn read_doc(&self, req: ReadDoc, _cx: Context) -> Result<String, DocError> {
        Ok(req.id)
    }
    async fn delete_doc(&self, _req: DeleteDoc) -> Result<bool, DocError> {
        Ok(true)
    }
    async fn ping(&self, _req: Ping) -> Result<(), DocError> {
        Ok(())
    }
}

fn main() {
    let descriptor = <DocsContract as Contract>::DESCRIPTOR;
    let permission = |name: &str| descriptor.request(name).map(|r| r.permission);
    assert_eq!(permission("readDoc"), Some(Some("docs:read")));
    assert_eq!(permission("deleteDoc"), Some(Some("docs:*")));
    assert_eq!(permission("ping"), Some(None));
    for required in descriptor.requests.iter().filter_map(|r| r.permission) {
        assert!(messaging_runtime::Permission::parse(required).is_ok(), "{required}");
    }
    let _server = DocsServer::new(Library);
}
