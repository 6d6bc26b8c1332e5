//! The generated code is lint-clean: this file denies `missing_docs`, `unreachable_pub` and
//! clippy's pedantic group, and CI runs clippy on every target with `-D warnings`.
#![deny(missing_docs, unreachable_pub, clippy::pedantic)]

use messaging_runtime::prelude::*;

/// The contract under test, in a public module so `missing_docs` applies to it.
pub mod audited {
    use messaging_runtime::prelude::*;

    /// Something was audited.
    #[event("audited")]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Audited {
        /// The audited record.
        pub record_id: String,
    }

    /// Asks for an audit.
    #[request("audit", response = AuditReport)]
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Audit {
        /// The record to audit.
        pub record_id: String,
    }

    /// The outcome of an audit.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct AuditReport {
        /// Whether the record is clean.
        pub clean: bool,
    }

    /// What an audit can fail with.
    #[error_code]
    #[derive(Debug, Clone, PartialEq)]
    pub enum AuditError {
        /// The record does not exist.
        #[error(status = 404, message = "record {recordId} not found")]
        RecordNotFound {
            /// The missing record.
            record_id: String,
        },
        /// The auditor is busy.
        #[error(status = 503, message = "the auditor is busy")]
        Busy,
    }

    /// Audits records.
    #[contract(name = "auditor", version = "2.1.0", error = AuditError, events(Audited))]
    pub trait Auditor {
        /// Audits one record.
        async fn audit(&self, req: Audit, cx: Context) -> Result<AuditReport, AuditError>;
    }
}

use audited::{Audit, AuditError, Audited, Auditor, AuditorContract};

#[test]
fn descriptor_lists_everything_the_contract_declares() {
    let descriptor = <AuditorContract as Contract>::DESCRIPTOR;
    assert_eq!((descriptor.name, descriptor.version), ("auditor", "2.1.0"));
    assert_eq!(descriptor.events[0].name, "audited");
    let request = descriptor.request("audit").expect("the audit request is described");
    assert_eq!((request.method, request.response_type), ("audit", "AuditReport"));
    let error = descriptor.error("RECORD_NOT_FOUND").expect("the error is in the catalog");
    assert_eq!((error.status, error.template), (404, "record {recordId} not found"));
    assert_eq!(descriptor.errors.len(), 2);
    assert_eq!(AuditError::record_not_found("r-1").to_string(), "record r-1 not found");
    assert_eq!(Audited { record_id: "r-1".into() }.record_id, "r-1");
    let _server = audited::AuditorServer::new(Never::new());
}

/// An implementation that is never called; it only has to type-check against the trait.
struct Never;

impl Never {
    fn new() -> Self {
        Self
    }
}

impl Auditor for Never {
    async fn audit(&self, _req: Audit, _cx: Context) -> Result<audited::AuditReport, AuditError> {
        Err(AuditError::Busy)
    }
}
