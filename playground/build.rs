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
    for server in TESTED {
        println!("cargo::rustc-check-cfg=cfg({server}_missing)");
        // The folders, not the files: a package installs files with old times, but the
        // folders holding them change when they come or go.
        let (_, files, _) = REQUIREMENTS.iter().find(|(n, _, _)| *n == server).unwrap();
        for file in files.iter() {
            if let Some(folder) = workspace.join(file).parent() {
                if folder.exists() {
                    println!("cargo::rerun-if-changed={}", folder.display());
                } else if let Some(above) = folder.ancestors().find(|a| a.exists()) {
                    println!("cargo::rerun-if-changed={}", above.display());
                }
            }
        }
        if !required && missing_requirement(server, workspace).is_some() {
            println!("cargo::rustc-cfg={server}_missing");
        }
    }
}
