//! Marks the end-to-end tests of a real server that cannot run here (not installed, or not
//! root where it must be) as ignored, with the reason shown by `cargo test`. With
//! POP3_REQUIRE_SERVERS=1 (as in CI) they always run, and fail when their server is
//! missing: CI never skips them.

use std::path::Path;

include!("src/requirements.rs");

/// The servers the tools' end-to-end tests run against, beside the built-in one.
const TESTED: [&str; 3] = ["dovecot", "mailutils", "courier"];

fn main() {
    println!("cargo::rerun-if-env-changed=POP3_REQUIRE_SERVERS");
    println!("cargo::rerun-if-changed=src/requirements.rs");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the playground lives in the workspace");
    let required = std::env::var("POP3_REQUIRE_SERVERS").is_ok_and(|v| v == "1");
    // apt installs and removes through dpkg, which rewrites its status file each time; the
    // unpacked servers are watched where they are (`cargo xtask install-servers` cleans this
    // crate's build once it has unpacked them, so that this script runs again). Never a
    // folder that changes with every build, such as target/: this script would then run,
    // and everything built on the playground be rebuilt, every time.
    let dpkg_status = Path::new("/var/lib/dpkg/status");
    if dpkg_status.exists() {
        println!("cargo::rerun-if-changed={}", dpkg_status.display());
    }
    let unpacked = workspace.join(UNPACKED_DIR);
    if unpacked.exists() {
        println!("cargo::rerun-if-changed={}", unpacked.display());
    }
    for server in TESTED {
        println!("cargo::rustc-check-cfg=cfg({server}_missing)");
        if !required && missing_requirement(server, workspace).is_some() {
            println!("cargo::rustc-cfg={server}_missing");
        }
    }
}
