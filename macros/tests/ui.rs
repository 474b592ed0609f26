//! `dfl::pipeline!` as a user's crate sees it: queries that build and run (`ui/pass`),
//! and queries that must not build, with the compiler's messages (`ui/fail/*.stderr`;
//! `TRYBUILD=overwrite cargo test -p dfl-macros` rewrites them after a deliberate change).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
