//! Helpers for the tools' end-to-end tests: one test per server, expected-output files.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::hostile::HostileServer;
use crate::{Options, Playground, ServerKind, USER};

/// Defines, for each `fn name(server) { ... }`, a module `name` with one test per server:
/// `builtin` and `dovecot`, or those listed first as `servers: [builtin, dovecot,
/// mailutils, courier];`. The test of a real server that cannot run here is reported as
/// ignored with the reason (unless POP3_REQUIRE_SERVERS=1 at build time, as in CI).
#[macro_export]
macro_rules! server_tests {
    (servers: $kinds:tt; $(fn $name:ident($server:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($server: $crate::ServerKind) $body

            $crate::server_test!($kinds);
        }
    )*};
    ($(fn $name:ident($server:ident) $body:block)*) => {
        $crate::server_tests! { servers: [builtin, dovecot]; $(fn $name($server) $body)* }
    };
}

/// One test of a [`server_tests!`] module, named after its server, calling the module's
/// `run`.
#[doc(hidden)]
#[macro_export]
macro_rules! server_test {
    ([$($kind:ident),*]) => {
        $($crate::server_test!($kind);)*
    };
    (builtin) => {
        #[test]
        fn builtin() {
            run($crate::ServerKind::Builtin)
        }
    };
    (dovecot) => {
        $crate::dovecot_test!();
    };
    (mailutils) => {
        $crate::mailutils_test!();
    };
    (courier) => {
        $crate::courier_test!();
    };
}

/// The test of a [`server_tests!`] module for Dovecot; ignored with the reason where it
/// cannot run.
#[cfg(dovecot_missing)]
#[doc(hidden)]
#[macro_export]
macro_rules! dovecot_test {
    () => {
        #[test]
        #[ignore = "skipped: Dovecot is not installed (cargo xtask install-servers)"]
        fn dovecot() {
            run($crate::ServerKind::Dovecot)
        }
    };
}

/// The test of a [`server_tests!`] module for Dovecot.
#[cfg(not(dovecot_missing))]
#[doc(hidden)]
#[macro_export]
macro_rules! dovecot_test {
    () => {
        #[test]
        fn dovecot() {
            run($crate::ServerKind::Dovecot)
        }
    };
}

/// The test of a [`server_tests!`] module for Mailutils; ignored with the reason where it
/// cannot run.
#[cfg(mailutils_missing)]
#[doc(hidden)]
#[macro_export]
macro_rules! mailutils_test {
    () => {
        #[test]
        #[ignore = "skipped: GNU mailutils pop3d cannot run here (cargo xtask install-servers, as root)"]
        fn mailutils() {
            run($crate::ServerKind::Mailutils)
        }
    };
}

/// The test of a [`server_tests!`] module for Mailutils.
#[cfg(not(mailutils_missing))]
#[doc(hidden)]
#[macro_export]
macro_rules! mailutils_test {
    () => {
        #[test]
        fn mailutils() {
            run($crate::ServerKind::Mailutils)
        }
    };
}

/// The test of a [`server_tests!`] module for Courier; ignored with the reason where it
/// cannot run.
#[cfg(courier_missing)]
#[doc(hidden)]
#[macro_export]
macro_rules! courier_test {
    () => {
        #[test]
        #[ignore = "skipped: Courier cannot run here (cargo xtask install-servers, as root)"]
        fn courier() {
            run($crate::ServerKind::Courier)
        }
    };
}

/// The test of a [`server_tests!`] module for Courier.
#[cfg(not(courier_missing))]
#[doc(hidden)]
#[macro_export]
macro_rules! courier_test {
    () => {
        #[test]
        fn courier() {
            run($crate::ServerKind::Courier)
        }
    };
}

/// Compares `actual` with the expected-output file at `path`. With `BLESS=1` in the
/// environment, writes the file instead (to record a deliberate change; review the diff).
pub fn assert_matches_file(actual: &str, path: &Path) {
    if std::env::var("BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(path, actual).expect("writing the expected-output file");
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (BLESS=1 writes it)", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// What a tool printed through pipes, and its exit code.
#[derive(Debug)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit code, `None` if a signal ended it.
    pub code: Option<i32>,
}

/// A command running `binary` with `args`, trusting `playground`'s CA through POP3_CA_FILE
/// and with no trace, whatever the caller's environment says.
pub fn tool(binary: &str, playground: &Playground, args: &[&str]) -> Command {
    tool_trusting(binary, &playground.certs.ca, args)
}

/// A command running `binary` with `args`, trusting the CA in `ca`, with no trace.
pub fn tool_trusting(binary: &str, ca: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env("POP3_CA_FILE", ca)
        .env_remove("POP3_TRACE");
    command
}

/// Runs `binary` against a scripted server (`extra` options, then its host and the user),
/// the password on a pipe, with a 2-second timeout; checks it ended within 10 seconds.
pub fn run_against(binary: &str, server: &HostileServer, extra: &[&str]) -> Output {
    let host = server.host();
    let mut args = vec!["--timeout", "2"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[host.as_str(), USER]);
    let started = Instant::now();
    let out = run_piped(&mut tool_trusting(binary, server.ca(), &args), "abc123\n");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}: {out:?}");
    out
}

/// Checks that a tool failed as promised: exit code 1 and on stderr, after the password
/// prompt, exactly one line `TOOL: HOST:PORT: ...` that contains `cause`. (Standard output
/// may hold what was printed before the failure.)
pub fn assert_one_error_line(out: &Output, tool: &str, cause: &str) {
    assert_one_error_line_exiting(out, tool, cause, 1);
}

/// Like [`assert_one_error_line`], with exit status `code` (75 for a temporary refusal).
pub fn assert_one_error_line_exiting(out: &Output, tool: &str, cause: &str, code: i32) {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("Warning: Password input") && !l.starts_with("Password: "))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one error line, got: {}",
        out.stderr
    );
    let line = lines[0];
    assert!(line.starts_with(&format!("{tool}: ")), "{line}");
    assert!(line.contains(cause), "{line:?} does not say {cause:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.code, Some(code), "{out:?}");
}

/// Runs `command` with `input` on a pipe as its standard input (no terminal).
pub fn run_piped(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the tool");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // The tool may exit without reading everything: a broken pipe here is no error.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let output = child.wait_with_output().expect("waiting for the tool");
    Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

/// Starts a playground with the sample mailbox on `server`, in a temporary directory.
pub fn start(server: ServerKind) -> Playground {
    start_with(Options::temporary(server))
}

/// Starts a playground as `options` say, failing the test with the reason if it cannot.
pub fn start_with(options: Options) -> Playground {
    let server = options.server;
    Playground::start(options)
        .unwrap_or_else(|e| panic!("cannot start the {server} playground: {e}"))
}

/// What goes wrong on a [`FaultyLink`], counted in bytes from the server to the client.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// The connection is cut (both ways) once this many bytes have passed.
    CutAfter(u64),
    /// The server's bytes stop passing once this many have: the client hears nothing more.
    StallAfter(u64),
}

/// A TCP relay to a server on 127.0.0.1 that fails on cue: a network that breaks in the
/// middle of a real server's session.
pub struct FaultyLink {
    /// The port clients connect to.
    pub port: u16,
}

impl FaultyLink {
    /// Relays each connection to `target_port`, failing it as `fault` says.
    pub fn start(target_port: u16, fault: Fault) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                std::thread::spawn(move || relay(client, target_port, fault));
            }
        });
        Ok(FaultyLink { port })
    }

    /// `localhost:PORT`.
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }
}

fn relay(client: TcpStream, target_port: u16, fault: Fault) -> std::io::Result<()> {
    let server = TcpStream::connect(("127.0.0.1", target_port))?;
    let (mut client_in, mut server_out) = (client.try_clone()?, server.try_clone()?);
    let upstream = std::thread::spawn(move || std::io::copy(&mut client_in, &mut server_out));
    let (mut from_server, mut to_client) = (server, client);
    let limit = match fault {
        Fault::CutAfter(n) | Fault::StallAfter(n) => n,
    };
    let mut passed = 0u64;
    let mut buf = [0u8; 1024];
    while passed < limit {
        let want = buf.len().min((limit - passed) as usize);
        let n = from_server.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        to_client.write_all(&buf[..n])?;
        passed += n as u64;
    }
    match fault {
        Fault::CutAfter(_) => {
            let _ = to_client.shutdown(Shutdown::Both);
            let _ = from_server.shutdown(Shutdown::Both);
        }
        // Hold both ends open, silent, until the client gives up and closes.
        Fault::StallAfter(_) => {
            let _ = upstream.join();
        }
    }
    Ok(())
}

/// Checks the traced session that a tool's README shows (the ```text block whose first line
/// is `$ ... TOOL ... 2>&1`): runs that command against a fresh built-in playground and
/// compares, with greeting timestamps and the port set aside. A `...` line in the README
/// stands for lines left out.
pub fn assert_readme_trace(readme: &Path, binary: &str) {
    let text = std::fs::read_to_string(readme).expect("reading the README");
    let block = text
        .split("```text\n$ ")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the README shows a traced session");
    let (command_line, expected) = block.split_once('\n').unwrap_or((block, ""));
    let (input, command_line) = command_line
        .split_once(" | ")
        .expect("`INPUT | TOOL ARGS 2>&1`");
    let input = match input.split_once(' ') {
        Some(("echo", word)) => format!("{word}\n"),
        Some(("printf", format)) => format.trim_matches('\'').replace("\\n", "\n"),
        _ => panic!("unknown input {input:?}"),
    };
    let p = start(ServerKind::Builtin);
    let host = p.pop3s_host();
    let args: Vec<&str> = command_line
        .split_whitespace()
        .skip(1)
        .filter(|word| *word != "2>&1")
        .map(|word| {
            if word == "localhost" {
                host.as_str()
            } else {
                word
            }
        })
        .collect();
    let actual = run_combined(&mut tool(binary, &p, &args), &input);
    let (actual, expected) = (without_timestamps(&actual), without_timestamps(expected));
    match expected.split_once("\n...\n") {
        Some((head, tail)) => {
            assert!(
                actual.starts_with(head),
                "README's trace begins:\n{head}\nthe tool's:\n{actual}"
            );
            assert!(
                actual.trim_end().ends_with(tail.trim_end()),
                "README's trace ends:\n{tail}\nthe tool's:\n{actual}"
            );
        }
        None => assert_eq!(
            actual.trim_end(),
            expected.trim_end(),
            "README's trace is out of date"
        ),
    }
}

/// Runs `command` with `input` on standard input and both its outputs on one pipe, in the
/// order they were written, as a terminal would show them.
pub fn run_combined(command: &mut Command, input: &str) -> String {
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(writer.try_clone().expect("a pipe"))
        .stderr(writer)
        .spawn()
        .expect("starting the tool");
    let _ = child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes());
    // The command still holds the pipe's writing ends: drop them, or reading never ends.
    drop(std::mem::replace(command, Command::new("true")));
    let mut output = String::new();
    reader
        .read_to_string(&mut output)
        .expect("reading the output");
    child.wait().expect("waiting for the tool");
    output
}

/// Replaces APOP timestamps (`<...@...>` in greetings) by `<TIMESTAMP>`.
fn without_timestamps(text: &str) -> String {
    text.lines()
        .map(
            |line| match (line.starts_with("S: +OK"), line.find('<'), line.rfind('>')) {
                (true, Some(open), Some(close)) if open < close => {
                    format!("{}<TIMESTAMP>{}", &line[..open], &line[close + 1..])
                }
                _ => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// The path of the calling crate's expected-output file `tests/expected/NAME`.
#[macro_export]
macro_rules! expected_output {
    ($name:expr) => {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/expected")
            .join($name)
    };
}

/// Runs `binary HOST brandon` in a terminal against `playground` (POP3S), typing the
/// password and then `answers`, and checks the whole screen against `expected` and a clean
/// exit.
pub fn assert_terminal_session(
    binary: &str,
    playground: &Playground,
    answers: &[&str],
    expected: &Path,
) {
    let command = tool(binary, playground, &[&playground.pop3s_host(), USER]);
    let screen = crate::terminal::run_in_terminal(command, Some(crate::PASSWORD), answers)
        .expect("running the tool in a terminal");
    assert_matches_file(&screen.text, expected);
    assert_eq!(screen.exit_code, Some(0));
}
