//! `#[error_code]` output is lint-clean and names nothing through the prelude.
#![no_implicit_prelude]
#![deny(warnings, missing_docs, unreachable_pub, rust_2018_idioms, missing_debug_implementations)]

/// A contract error that does not derive `Debug`: the macro implements it.
#[::messaging_runtime::error_code]
#[derive(Clone, PartialEq)]
pub enum OrderError {
    /// No such order.
    #[error(status = 404, message = "Order {orderId} not found")]
    OrderNotFound {
        /// The order's id.
        order_id: ::std::string::String,
    },
    /// Two values.
    #[error(status = 400, message = "bad {0} and {1:?}")]
    Bad(u32, ::std::vec::Vec<u8>),
    /// No fields.
    #[error(status = 503, message = "unavailable\n")]
    Unavailable,
    /// A variant whose constructor is a keyword.
    #[error(status = 500, message = "type")]
    Type,
}

/// A generic contract error: the enum states the bounds its impls need.
#[::messaging_runtime::error_code]
#[derive(Debug)]
pub enum Conflict<T>
where
    T: ::core::fmt::Display
        + ::core::fmt::Debug
        + ::messaging_runtime::__private::serde::Serialize
        + ::messaging_runtime::__private::serde::de::DeserializeOwned
        + ::core::marker::Send
        + ::core::marker::Sync
        + 'static,
{
    /// The value is taken.
    #[error(status = 409, message = "{value} is taken")]
    Taken {
        /// The value.
        value: T,
    },
}

/// A private error whose constructors are never called.
#[::messaging_runtime::error_code]
enum Private {
    #[error(status = 500, message = "only")]
    Only,
}

fn main() {
    use ::messaging_runtime::ErrorCode;
    let error = OrderError::order_not_found("7");
    ::std::assert_eq!(::std::string::ToString::to_string(&error), "Order 7 not found");
    ::std::assert_eq!(
        ::std::format!("{:?}", OrderError::bad(1u32, ::std::vec![2u8])),
        "Bad(1, [2])"
    );
    ::std::assert_eq!(::std::format!("{:?}", OrderError::r#type()), "Type");
    ::std::assert_eq!(OrderError::from_wire(&error.to_wire()), ::std::option::Option::Some(error));
    let taken: Conflict<u32> = Conflict::taken(5u32);
    ::std::assert_eq!(::std::string::ToString::to_string(&taken), "5 is taken");
    ::std::assert_eq!(taken.code(), "TAKEN");
    ::std::assert_eq!(::core::mem::size_of::<Private>(), 0);
}
