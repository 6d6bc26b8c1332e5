//! stub
use proc_macro::TokenStream;
/// stub
#[proc_macro_attribute]
pub fn contract(_a: TokenStream, i: TokenStream) -> TokenStream { i }
/// stub
#[proc_macro_attribute]
pub fn event(_a: TokenStream, i: TokenStream) -> TokenStream { i }
/// stub
#[proc_macro_attribute]
pub fn request(_a: TokenStream, i: TokenStream) -> TokenStream { i }
/// stub
#[proc_macro_attribute]
pub fn error_code(_a: TokenStream, i: TokenStream) -> TokenStream { i }
