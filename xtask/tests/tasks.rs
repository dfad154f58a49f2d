//! The xtask command line: each task's --help, and one playground at a time.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

#[test]
fn every_task_has_its_usage_for_help() {
    for task in [
        "playground",
        "play",
        "demo",
        "interop",
        "install-servers",
        "bench",
        "dist",
        "bench-spawn",
        "bench-floor",
    ] {
        let out = Command::new(XTASK).args([task, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("usage: cargo xtask {task}")),
            "{text}"
        );
        assert!(out.status.success(), "{task}: {out:?}");
    }
}

#[test]
fn an_unknown_task_is_named() {
    let out = Command::new(XTASK).arg("nosuch").output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.starts_with("xtask: unknown task \"nosuch\"\nusage:"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_is_given_wherever_it_stands_before_the_dashes() {
    for words in [
        &["bench", "--bogus", "--help"][..],
        &["bench", "--rounds", "-h"],
        &["play", "h1", "--help", "--", "popconn"],
    ] {
        let out = Command::new(XTASK).args(words).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("usage: cargo xtask {}", words[0])),
            "{words:?}: {text}"
        );
        assert!(out.status.success(), "{words:?}: {out:?}");
    }
}

#[test]
fn a_word_a_task_does_not_take_points_to_its_help() {
    for (words, said) in [
        (
            &["bench", "--bogus"][..],
            "invalid option '--bogus' (see cargo xtask bench --help)",
        ),
        (
            &["playground", "--server"],
            "missing argument for option '--server' (see cargo xtask playground --help)",
        ),
        (
            &["interop", "extra"],
            "unexpected argument \"extra\" (see cargo xtask interop --help)",
        ),
    ] {
        let out = Command::new(XTASK).args(words).output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(text, format!("xtask: {said}\n"), "{words:?}");
        assert_eq!(out.status.code(), Some(1), "{words:?}");
    }
}

fn free_port() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

fn playground(tmp: &std::path::Path) -> Command {
    let mut command = Command::new(XTASK);
    command
        .args(["playground", "--server", "builtin", "--pop3-port"])
        .arg(free_port())
        .arg("--pop3s-port")
        .arg(free_port())
        .env("TMPDIR", tmp);
    command
}

#[test]
fn a_second_playground_leaves_the_first_alone() {
    let tmp = std::env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut first = playground(&tmp).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap() == "Press Ctrl-C to stop."));
    let ca = tmp.join("pop3-playground/tls/ca.pem");
    let before = std::fs::read(&ca).unwrap();

    let second = playground(&tmp).output().unwrap();
    let text = String::from_utf8_lossy(&second.stderr);
    assert!(
        text.contains("xtask: a playground is already running: builtin on POP3S port"),
        "{text}"
    );
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(
        std::fs::read(&ca).unwrap(),
        before,
        "the first one's certificate was rewritten"
    );

    // SIGTERM stops a playground as Ctrl-C does.
    // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
    unsafe { libc::kill(first.id() as libc::pid_t, libc::SIGTERM) };
    assert!(first.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn no_apop_leaves_the_timestamp_out_of_the_greeting() {
    let tmp = std::env::temp_dir().join(format!("xtask-test-apop-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let pop3 = free_port();
    let mut command = Command::new(XTASK);
    command
        .args([
            "playground",
            "--server",
            "builtin",
            "--no-apop",
            "--pop3-port",
            &pop3,
        ])
        .args(["--pop3s-port", &free_port()])
        .env("TMPDIR", &tmp);
    let mut running = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(running.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("this server has no APOP")));
    let tcp = std::net::TcpStream::connect(("127.0.0.1", pop3.parse::<u16>().unwrap())).unwrap();
    let mut greeting = String::new();
    BufReader::new(tcp).read_line(&mut greeting).unwrap();
    assert_eq!(greeting, "+OK POP3 playground ready.\r\n");
    // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
    unsafe { libc::kill(running.id() as libc::pid_t, libc::SIGTERM) };
    assert!(running.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&tmp);
}
