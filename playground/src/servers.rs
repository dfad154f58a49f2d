//! The real servers other than Dovecot: GNU mailutils, Courier, Cyrus and popa3d, each
//! started privately on loopback by its own script in `playground/servers/`. What it takes
//! to run each one without touching the system (a private namespace, a private user list,
//! a package unpacked rather than installed) reads best as the shell it is; the scripts
//! say what each server needs and how it behaves.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ServerKind;

include!("requirements.rs");

/// The server packages `cargo xtask install-servers` unpacks under [`UNPACKED_DIR`], as
/// they conflict with Dovecot in apt.
pub const UNPACKED: [&str; 3] = ["courier-pop", "cyrus-pop3d", "popa3d"];

/// The workspace's top folder, where [`UNPACKED_DIR`] and the scripts are.
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the playground lives in the workspace")
}

/// Why `server` cannot run here, or `None` when it can (the built-in server, which needs
/// nothing, always can).
pub fn missing(server: ServerKind) -> Option<String> {
    missing_requirement(&server.to_string(), workspace())
}

/// A server started by its script; stopped by the same script when dropped.
pub struct ScriptedServer {
    script: PathBuf,
    dir: PathBuf,
}

impl ScriptedServer {
    /// Runs `SCRIPT start DIR POP3_PORT POP3S_PORT` for `server`, with what the playground
    /// wrote in `dir` (`tls/`, and `home/Maildir` or `messages/`) and `APOP=1` to offer
    /// APOP where the server can; returns once it greets.
    pub fn start(
        server: ServerKind,
        dir: &Path,
        pop3: u16,
        pop3s: u16,
        apop: bool,
    ) -> io::Result<Self> {
        if let Some(reason) = missing(server) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{server} cannot run here: {reason}"),
            ));
        }
        // Something already there would answer for the server: the greeting awaited below
        // cannot tell.
        for port in [pop3, pop3s] {
            std::net::TcpListener::bind(("127.0.0.1", port))?;
        }
        let script = workspace()
            .join("playground/servers")
            .join(format!("{server}.sh"));
        let running = ScriptedServer {
            script,
            dir: dir.to_owned(),
        };
        let output = Command::new("bash")
            .arg(&running.script)
            .arg("start")
            .arg(dir)
            .args([pop3.to_string(), pop3s.to_string()])
            .env("UNPACKED", workspace().join(UNPACKED_DIR))
            .env("APOP", if apop { "1" } else { "0" })
            .stdin(Stdio::null())
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "{} failed: {}{}",
                running.script.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        // POP3S greets only through TLS: that port is ready when it listens.
        let ready = crate::wait_for_greeting(pop3, || Ok(()))
            .and_then(|()| crate::wait_for_listener(pop3s, || Ok(())));
        match ready {
            Ok(()) => Ok(running),
            Err(e) => Err(io::Error::other(format!(
                "{e}; its logs:\n{}",
                logs(&dir.join("log"))
            ))),
        }
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
    }
}

/// The tails of the log files in `dir`, for an error that says why a start failed.
fn logs(dir: &Path) -> String {
    let Ok(entries) = fs::read_dir(dir) else {
        return String::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            format!("{}:\n{}\n", entry.path().display(), tail.join("\n"))
        })
        .collect()
}
