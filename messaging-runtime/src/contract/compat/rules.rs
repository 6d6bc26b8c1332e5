//! The rules a change between two snapshots can fall under.

use serde::Serialize;

use super::Severity;

/// A compatibility rule: what kind of change it is, in which direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A request type is gone: clients still send it.
    RequestRemoved,
    /// A new request type.
    RequestAdded,
    /// A request now requires a permission, or another one.
    PermissionChanged,
    /// A request no longer requires a permission.
    PermissionRemoved,
    /// An event is gone: clients still wait for it.
    EventRemoved,
    /// A new event.
    EventAdded,
    /// An error code is gone: clients still handle it.
    ErrorRemoved,
    /// A new error code.
    ErrorAdded,
    /// An error code answers with another status.
    ErrorStatusChanged,
    /// An error's message template changed.
    ErrorTemplateChanged,
    /// A value changed type.
    TypeChanged,
    /// A sent object gained a required field: old clients do not send it.
    RequiredFieldAdded,
    /// A sent object gained an optional field.
    OptionalFieldAdded,
    /// A sent field became required: old clients may leave it out.
    SentFieldBecameRequired,
    /// A sent field became optional.
    SentFieldBecameOptional,
    /// A sent field is gone: servers ignore it when old clients send it.
    SentFieldRemoved,
    /// A sent field is gone and the object rejects unknown fields.
    SentFieldRejected,
    /// A received field is gone: old clients rely on it.
    ReceivedFieldRemoved,
    /// A received field became optional (or nullable): old clients rely on it.
    ReceivedFieldBecameOptional,
    /// A received field became required.
    ReceivedFieldBecameRequired,
    /// A received object gained a field (clients ignore fields they do not know).
    ReceivedFieldAdded,
    /// A sent value can no longer be `null`.
    SentNullRemoved,
    /// A sent value may now be `null`.
    SentNullAdded,
    /// A received enum gained a variant: old clients reject it.
    ReceivedVariantAdded,
    /// A received enum lost a variant.
    ReceivedVariantRemoved,
    /// A sent enum gained a variant.
    SentVariantAdded,
    /// A sent enum lost a variant: old clients still send it.
    SentVariantRemoved,
    /// A sent value's constraint became stricter: values old clients send may be refused.
    SentConstraintTightened,
    /// A sent value's constraint became looser.
    SentConstraintLoosened,
    /// A received value's constraint became looser: old clients may reject what arrives.
    ReceivedConstraintLoosened,
    /// A received value's constraint became stricter.
    ReceivedConstraintTightened,
    /// A description changed.
    DocumentationChanged,
}

impl Rule {
    /// The severity of a change under this rule.
    pub fn severity(self) -> Severity {
        use Rule::*;
        match self {
            RequestRemoved
            | PermissionChanged
            | EventRemoved
            | ErrorRemoved
            | ErrorStatusChanged
            | TypeChanged
            | RequiredFieldAdded
            | SentFieldBecameRequired
            | SentFieldRejected
            | ReceivedFieldRemoved
            | ReceivedFieldBecameOptional
            | SentNullRemoved
            | ReceivedVariantAdded
            | SentVariantRemoved
            | SentConstraintTightened
            | ReceivedConstraintLoosened => Severity::Breaking,
            RequestAdded
            | PermissionRemoved
            | EventAdded
            | ErrorAdded
            | OptionalFieldAdded
            | SentFieldBecameOptional
            | SentFieldRemoved
            | ReceivedFieldBecameRequired
            | ReceivedFieldAdded
            | SentNullAdded
            | ReceivedVariantRemoved
            | SentVariantAdded
            | SentConstraintLoosened
            | ReceivedConstraintTightened => Severity::Compatible,
            ErrorTemplateChanged | DocumentationChanged => Severity::Patch,
        }
    }

    /// The rule in words, as the change list shows it.
    pub fn text(self) -> &'static str {
        use Rule::*;
        match self {
            RequestRemoved => "removing a request breaks the clients that send it",
            RequestAdded => "adding a request is compatible",
            PermissionChanged => "requiring a new permission refuses clients that lack it",
            PermissionRemoved => "dropping a permission requirement is compatible",
            EventRemoved => "removing an event breaks the clients that wait for it",
            EventAdded => "adding an event is compatible",
            ErrorRemoved => "removing an error code breaks the clients that handle it",
            ErrorAdded => "adding an error code is compatible: clients see unknown codes as untyped errors",
            ErrorStatusChanged => "changing an error's status breaks clients that look at it",
            ErrorTemplateChanged => "an error's message text is not part of the contract's shape",
            TypeChanged => "a value may not change type",
            RequiredFieldAdded => "a request may gain optional fields, not required ones",
            OptionalFieldAdded => "a request may gain optional fields",
            SentFieldBecameRequired => "a field clients send may not become required",
            SentFieldBecameOptional => "a field clients send may become optional",
            SentFieldRemoved => "a field clients send may go: servers ignore unknown fields",
            SentFieldRejected => "a field clients send may not go when unknown fields are refused",
            ReceivedFieldRemoved => "a field clients receive may not disappear",
            ReceivedFieldBecameOptional => "a field clients receive may not become optional",
            ReceivedFieldBecameRequired => "a field clients receive may become always present",
            ReceivedFieldAdded => "a field clients receive may be added: clients ignore unknown fields",
            SentNullRemoved => "a value clients send may not stop accepting null",
            SentNullAdded => "a value clients send may start accepting null",
            ReceivedVariantAdded => "adding a variant clients receive breaks them: generated clients reject unknown variants",
            ReceivedVariantRemoved => "a variant clients receive may go",
            SentVariantAdded => "a variant clients send may be added",
            SentVariantRemoved => "a variant clients send may not go",
            SentConstraintTightened => "a constraint on what clients send may not get stricter",
            SentConstraintLoosened => "a constraint on what clients send may get looser",
            ReceivedConstraintLoosened => "a constraint on what clients receive may not get looser: their validators reject the rest",
            ReceivedConstraintTightened => "a constraint on what clients receive may get stricter",
            DocumentationChanged => "descriptions are documentation",
        }
    }
}
