//! Marks the Dovecot end-to-end tests as ignored, with the reason shown by `cargo test`, on a
//! machine without Dovecot. With POP3_REQUIRE_DOVECOT=1 (as in CI) they always run, and
//! fail when Dovecot is missing: CI never skips them.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(dovecot_missing)");
    println!("cargo::rerun-if-env-changed=POP3_REQUIRE_DOVECOT");
    // The directories, not the files: a package installs files with old times, but the
    // directories holding them change when they come or go.
    println!("cargo::rerun-if-changed=/usr/sbin");
    println!("cargo::rerun-if-changed=/usr/lib/dovecot");
    let installed = ["/usr/sbin/dovecot", "/usr/lib/dovecot/pop3"]
        .iter()
        .all(|path| std::path::Path::new(path).exists());
    let required = std::env::var("POP3_REQUIRE_DOVECOT").is_ok_and(|v| v == "1");
    if !installed && !required {
        println!("cargo::rustc-cfg=dovecot_missing");
    }
}
