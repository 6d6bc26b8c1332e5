//! Collects every mistake in one pass, so the user sees them all in one compile.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// An error accumulator: push spanned errors, then check once at the end with
/// [`Errors::finish`]. Dropping one unchecked is a bug in this crate (errors would be lost
/// silently), so it panics, as serde_derive's `Ctxt` does: the panic surfaces as a compile
/// error at the macro call rather than as a macro that quietly accepts a mistake.
#[derive(Default)]
pub(crate) struct Errors {
    first: Option<syn::Error>,
    finished: bool,
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            panic!("messaging-macros bug: an error accumulator was dropped without `finish()`");
        }
    }
}

impl Errors {
    /// Records an error spanned on `tokens`.
    pub(crate) fn at<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    /// Records the error of a fallible step and returns its value, if any.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// `Ok` when nothing was recorded.
    pub(crate) fn finish(mut self) -> syn::Result<()> {
        self.finished = true;
        self.first.take().map_or(Ok(()), Err)
    }
}

/// The output on failure: the errors, followed by the item as the user wrote it (minus our
/// helper attributes), so one mistake does not cascade into "cannot find type" errors.
pub(crate) fn with_original(error: &syn::Error, original: TokenStream) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(original);
    out
}
