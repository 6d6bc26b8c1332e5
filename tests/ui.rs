//! Compile-time checks: every misuse of the macros is a compile error at the user's token.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/error_code/*.rs");
    cases.compile_fail("ui/event/*.rs");
    cases.compile_fail("ui/request/*.rs");
    cases.compile_fail("ui/contract/*.rs");
    cases.compile_fail("ui/schema/*.rs");
    cases.pass("ui/pass/*.rs");
}
