// What each real server needs on this machine. Shared, by `include!`, between the library
// (which says why a server cannot start) and build.rs (which marks the tests of a missing
// server as ignored, with that reason), so both judge alike.

/// The folder, under the workspace, where `cargo xtask install-servers` unpacks the server
/// packages that conflict with Dovecot in apt.
pub const UNPACKED_DIR: &str = "target/servers";

/// Each real server: its name, the files it needs (those starting with `target/` are under
/// the workspace) and whether it must run as root (to set up its private namespace or to
/// switch users).
const REQUIREMENTS: [(&str, &[&str], bool); 5] = [
    (
        "dovecot",
        &["/usr/sbin/dovecot", "/usr/lib/dovecot/pop3"],
        false,
    ),
    (
        "mailutils",
        &["/usr/sbin/pop3d", "/usr/bin/popauth", "/usr/bin/openssl", "/usr/bin/unshare"],
        true,
    ),
    (
        "courier",
        &[
            "/usr/sbin/couriertcpd",
            "/usr/bin/couriertls",
            "/usr/sbin/makeuserdb",
            "/usr/lib/courier/courier-authlib/authdaemond",
            "/usr/bin/openssl",
            "/usr/bin/unshare",
            "target/servers/courier-pop/usr/lib/courier/courier/courierpop3login",
        ],
        true,
    ),
    (
        "cyrus",
        &[
            "/usr/lib/cyrus/bin/master",
            "/usr/sbin/saslpasswd2",
            "/usr/sbin/runuser",
            "target/servers/cyrus-pop3d/usr/lib/cyrus/bin/pop3d",
        ],
        true,
    ),
    (
        "popa3d",
        &[
            "/usr/bin/socat",
            "/usr/bin/stunnel4",
            "/usr/bin/openssl",
            "/usr/bin/unshare",
            "target/servers/popa3d/usr/sbin/popa3d",
        ],
        true,
    ),
];

/// Why the server `name` cannot run here, or `None` when it can. `workspace` is the
/// workspace's top folder.
fn missing_requirement(name: &str, workspace: &std::path::Path) -> Option<String> {
    let (_, files, needs_root) = REQUIREMENTS.iter().find(|(n, _, _)| *n == name)?;
    let absent: Vec<&str> = files
        .iter()
        .copied()
        .filter(|file| !workspace.join(file).exists())
        .collect();
    if !absent.is_empty() {
        return Some(format!(
            "{} missing (cargo xtask install-servers installs it)",
            absent.join(", ")
        ));
    }
    let root = std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|status| status.lines().any(|l| l.starts_with("Uid:\t0\t")));
    (*needs_root && !root).then(|| "it needs root".to_string())
}
