//! `cargo xtask install-servers`: the real POP3 servers the tests and the interop matrix run,
//! from Debian's packages. Dovecot and GNU mailutils install as usual; Courier, Cyrus and
//! popa3d conflict with Dovecot in apt (they all provide pop3-server), so their server
//! packages are only unpacked, under `target/servers/`, and run from there. Their
//! dependencies install as usual. Nothing is removed.

use std::process::Command;

use anyhow::{ensure, Context};
use playground::servers::{UNPACKED, UNPACKED_DIR};

/// Installed by apt: the servers that sit beside Dovecot, the unpacked servers'
/// dependencies, and stunnel4 and socat for popa3d (plain POP3 only, one process per
/// connection).
const INSTALLED: [&str; 12] = [
    "dovecot-core",
    "dovecot-pop3d",
    "mailutils-pop3d",
    "courier-base",
    "courier-authdaemon",
    "courier-authlib-userdb",
    "cyrus-common",
    "sasl2-bin",
    "libwrap0",
    "stunnel4",
    "socat",
    "openssl",
];

pub fn run(mut args: lexopt::Parser) -> anyhow::Result<()> {
    ensure!(args.next()?.is_none(), "install-servers takes no arguments");
    ensure!(
        playground::running_as_root(),
        "installing packages needs root (apt-get install {}; then this task again)",
        INSTALLED.join(" ")
    );
    let missing: Vec<&str> = INSTALLED
        .into_iter()
        .filter(|package| !package_installed(package))
        .collect();
    if !missing.is_empty() {
        apt(&["update", "-qq"])?;
        let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
        install.extend(&missing);
        apt(&install)?;
    }
    let dir = crate::workspace_root().join(UNPACKED_DIR);
    let debs = dir.join("debs");
    std::fs::create_dir_all(&debs)?;
    // apt-get download runs as the unprivileged _apt user, who must be able to write there.
    std::fs::set_permissions(&debs, std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
    let mut unpacked_any = false;
    for package in UNPACKED {
        let root = dir.join(package);
        if root.exists() {
            continue;
        }
        let found = |debs: &std::path::Path| -> anyhow::Result<Option<std::path::PathBuf>> {
            Ok(std::fs::read_dir(debs)?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .find(|path| {
                    path.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| name.starts_with(&format!("{package}_")))
                }))
        };
        let deb = match found(&debs)? {
            Some(deb) => deb,
            None => {
                let status = Command::new("apt-get")
                    .args(["download", "-qq", package])
                    .current_dir(&debs)
                    .status()
                    .context("running apt-get download")?;
                ensure!(status.success(), "apt-get download {package} failed");
                found(&debs)?.context("apt-get download left no .deb")?
            }
        };
        // Unpacked aside, then renamed: a half-unpacked folder is never taken as done.
        let partial = dir.join(format!("{package}.partial"));
        let _ = std::fs::remove_dir_all(&partial);
        let status = Command::new("dpkg")
            .arg("-x")
            .arg(&deb)
            .arg(&partial)
            .status()
            .context("running dpkg -x")?;
        ensure!(status.success(), "dpkg -x {} failed", deb.display());
        std::fs::rename(&partial, &root)?;
        println!("unpacked {package} into {}", root.display());
        unpacked_any = true;
    }
    // The playground's build script judges which servers can run: it must look again.
    if unpacked_any || !missing.is_empty() {
        let status = crate::cargo(["clean", "--quiet", "-p", "playground"]).status()?;
        ensure!(status.success(), "cargo clean -p playground failed");
    }
    for server in playground::ServerKind::REAL {
        let state = match server.missing() {
            None => "ready".to_string(),
            Some(reason) => format!("not ready: {reason}"),
        };
        println!("{server}: {state}");
    }
    Ok(())
}

fn package_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|out| out.stdout == b"install ok installed")
}

fn apt(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    ensure!(status.success(), "apt-get {} failed", args.join(" "));
    Ok(())
}
