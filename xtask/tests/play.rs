//! `cargo xtask play h1`: the chapter's commands typed as printed, on host h1 of the book's
//! network, print the chapter's lines; as root and as an ordinary user (user namespaces).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

/// The chapter's session, as printed.
const POPCONN: &str = "You have 6 messages totaling 3441 bytes\n";
const MAILBOX: &str = "Message 1 has 354 bytes
Message 2 has 442 bytes
Message 3 has 1175 bytes
Message 4 has 491 bytes
Message 5 has 490 bytes
Message 6 has 489 bytes
";
const APOPCONN: &str = "Login failed: -ERR APOP not supported by server\n";

/// A temporary folder of the test's own (so no running playground is joined by accident),
/// open to every user.
fn private_tmp(name: &str) -> PathBuf {
    let tmp = std::env::temp_dir().join(format!("xtask-play-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    tmp
}

/// `printf STDIN | cargo xtask play h1 -- WORDS...`, as `command` runs xtask.
fn play(mut command: Command, tmp: &Path, stdin: &str, words: &[&str]) -> Output {
    command
        .args(["play", "h1", "--"])
        .args(words)
        .env("TMPDIR", tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The three commands of the chapter and what they print there.
fn chapter_session(xtask: impl Fn() -> Command, tmp: &Path) {
    for (tool, printed, code) in [
        ("popconn", POPCONN, 0),
        ("mailbox", MAILBOX, 0),
        ("apopconn", APOPCONN, 1),
    ] {
        let out = play(
            xtask(),
            tmp,
            "abc123\n",
            &[tool, "mail.example.com", "brandon"],
        );
        assert_eq!(stdout(&out), printed, "{tool}: {out:?}");
        assert_eq!(out.status.code(), Some(code), "{tool}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("play: no playground is running: a fresh"),
            "{stderr}"
        );
    }
}

#[test]
fn the_chapters_commands_print_the_chapters_lines() {
    let tmp = private_tmp("self");
    chapter_session(|| Command::new(XTASK), &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// As root, the same through an ordinary user (`nobody`): `play` then makes a user
/// namespace. The tools are built first by this process; the ordinary user only runs them
/// (CARGO=true: it has no toolchain of its own).
#[test]
fn the_chapters_commands_work_for_an_ordinary_user() {
    let tmp = private_tmp("user");
    if unsafe { libc::geteuid() } != 0 {
        chapter_session(|| Command::new(XTASK), &tmp);
        return;
    }
    let cargo = std::env::var("CARGO").unwrap();
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet"]);
    for tool in ["popconn", "apopconn", "mailbox", "download_and_delete"] {
        build.args(["-p", tool]);
    }
    assert!(build.status().unwrap().success());
    let group = Command::new("id").args(["-g", "nobody"]).output().unwrap();
    let group = String::from_utf8(group.stdout).unwrap();
    let as_nobody = || {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=nobody", &format!("--regid={}", group.trim())])
            .args(["--clear-groups", XTASK])
            .env("CARGO", "true");
        command
    };
    // Make sure the user namespace is really in use: the user is not root.
    let out = play(
        as_nobody(),
        &tmp,
        "",
        &["sh", "-c", "cat /proc/self/uid_map"],
    );
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["0", "65534", "1"],
        "{out:?}"
    );
    chapter_session(as_nobody, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn h1_names_mail_example_com_and_passes_stdin_stdout_and_the_exit_status() {
    let tmp = private_tmp("status");
    let script = r#"read word; echo "$word on $(hostname)"; getent hosts mail.example.com; echo "$SSL_CERT_FILE"; exit 7"#;
    let out = play(Command::new(XTASK), &tmp, "hello\n", &["sh", "-c", script]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        ["hello on h1", "127.0.0.2       mail.example.com mail"],
        "{out:?}"
    );
    assert!(lines[2].ends_with("/tls/ca.pem"), "{out:?}");
    assert_eq!(out.status.code(), Some(7));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_running_playground_is_joined_and_deletions_persist() {
    let tmp = private_tmp("join");
    let port = || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let mut playground = Stopped(
        Command::new(XTASK)
            .args(["playground", "--server", "builtin", "--no-apop"])
            .args(["--pop3-port", &port(), "--pop3s-port", &port()])
            .env("TMPDIR", &tmp)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(playground.0.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap() == "Press Ctrl-C to stop."));

    // Keep message 1 unread, delete message 2, keep the rest.
    let answers = "abc123\nn\nn\nn\ny\n".to_string() + &"n\nn\n".repeat(4);
    let out = play(
        Command::new(XTASK),
        &tmp,
        &answers,
        &["download_and_delete", "mail.example.com", "brandon"],
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("play:"),
        "play joins a running playground quietly: {stderr}"
    );
    let out = play(
        Command::new(XTASK),
        &tmp,
        "abc123\n",
        &["popconn", "mail.example.com", "brandon"],
    );
    assert_eq!(
        stdout(&out),
        "You have 5 messages totaling 2999 bytes\n",
        "{out:?}"
    );

    drop(playground);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A playground stopped (SIGTERM, as Ctrl-C) when dropped, even by a failed assertion.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// Where the namespaces cannot be made (here: root without CAP_SYS_ADMIN, as in a
/// container), one line says why and what to run instead.
#[test]
fn without_namespaces_one_line_says_why() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can run play without CAP_SYS_ADMIN here");
        return;
    }
    let tmp = private_tmp("refused");
    let mut command = Command::new("setpriv");
    command
        .args(["--bounding-set=-sys_admin", XTASK])
        .env("CARGO", "true");
    let out = play(command, &tmp, "", &["true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "xtask: cannot make the book's network: unshare was refused (Operation not permitted"
        ) && last.ends_with(
            "run `cargo xtask playground` instead and use the localhost ports it prints"
        ),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn help_after_the_dashes_is_the_commands_and_a_missing_command_exits_127() {
    let tmp = private_tmp("words");
    let out = play(Command::new(XTASK), &tmp, "", &["popconn", "--help"]);
    assert!(
        stdout(&out).contains("\nusage: popconn [options] hostname username\n"),
        "{out:?}"
    );
    let out = play(Command::new(XTASK), &tmp, "", &["no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("xtask: cannot run no-such-command: No such file"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// h1's /etc/hosts and host name stay h1's, even where mounts propagate (systemd makes /
/// shared; a scratch mount namespace with / made shared stands in for such a host).
#[test]
fn the_hosts_own_mounts_and_name_are_left_alone() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can make a scratch mount namespace with / shared");
        return;
    }
    let tmp = private_tmp("mounts");
    let script = format!(
        "mount --make-rshared / && before=$(findmnt -n /etc/hosts; hostname) && \
         CARGO=true TMPDIR={tmp} {XTASK} play h1 -- true && \
         [ \"$(findmnt -n /etc/hosts; hostname)\" = \"$before\" ] && echo unchanged",
        tmp = tmp.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "unchanged", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "unchanged\n", "{out:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}
