//! The README's traced session is what the tool really does.

#[test]
fn readme_trace_is_current() {
    let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    playground::testing::assert_readme_trace(&readme, env!("CARGO_BIN_EXE_mailbox"));
}
