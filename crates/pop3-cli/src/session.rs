//! The session's frame, as the book's scripts have it: connect, what comes before the
//! login (not in the book), a refused login, and `finally: p.quit()`.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use pop3_core::{
    Capabilities, Client, Connector, Error, Mechanism, Result, Security, Stream, TlsConfig,
};

use crate::args::{Args, Tool};
use crate::report::{describe, try_later, EXIT_TEMPFAIL};
use crate::screen::for_screen;

/// Opens the session the arguments describe: verified TLS, implicit or by STLS, with the
/// client certificate and the pinned keys asked for (their files and pins are checked
/// before anything is sent).
pub fn connect(args: &Args) -> Result<Client<Stream>> {
    let mut tls = TlsConfig::new(args.ca_file.as_deref())?;
    if let Some(cert) = &args.client_cert {
        tls = tls.with_client_cert(cert, args.client_key.as_deref())?;
    }
    if let Some(pins) = &args.pinned_keys {
        tls = tls.with_pinned_public_keys(pins.clone());
    }
    let connector = Connector {
        security: args.security,
        tls,
        timeout: args.timeout,
        trace: args.trace,
        // Plaintext is only reachable through --insecure-plaintext, which says it all.
        allow_password_in_clear: args.security == Security::Plaintext,
    };
    connector.connect(&args.address.host, args.port())
}

/// Not in the book: what comes before the login. CAPA is asked only where it serves: to
/// pipeline (when `pipeline`, the tool has commands to send together after the login), to
/// check that the server offers the `--auth` mechanism (an unknown name in its list is
/// ignored), and to switch to UTF8 (RFC 6856) when the user name or secret is not ASCII. So
/// the book's exchange stays the book's wherever nothing is gained, and always with
/// `--no-pipelining`. USER and PASS then travel together where the server offers
/// PIPELINING and lists USER; commands for the mailbox go once the login's answer is in
/// (see [`Client::login`]).
pub fn prepare_login(
    p: &mut Client<Stream>,
    args: &Args,
    secret: &str,
    pipeline: bool,
) -> Result<()> {
    let needs_utf8 = !args.username.is_ascii() || !secret.is_ascii();
    let may_pipeline = args.pipelining && pipeline;
    let capabilities = match args.auth.is_some() || needs_utf8 || may_pipeline {
        // A server without CAPA refuses it (-ERR); anything else wrong is the session's end.
        true => match p.capa() {
            Ok(capabilities) => Some(capabilities),
            Err(Error::Server(_)) => None,
            Err(other) => return Err(other),
        },
        false => None,
    };
    // USER and PASS travel together only where CAPA lists USER: a server that leaves it out
    // (Dovecot on a connection it deems insecure) refuses USER, and PASS must not follow.
    let offered = |name| capabilities.as_ref().is_some_and(|c| c.has(name));
    p.set_pipelining(
        may_pipeline && offered("PIPELINING") && (args.auth.is_some() || offered("USER")),
    );
    if needs_utf8 && capabilities.as_ref().is_some_and(|c| c.has("UTF8")) {
        p.utf8()?;
    }
    match args.auth {
        Some(mechanism) => check_offered(capabilities.as_ref(), mechanism),
        None => Ok(()),
    }
}

/// Refuses a SASL mechanism the server's CAPA does not list (a server without CAPA gets
/// the benefit of the doubt).
fn check_offered(capabilities: Option<&Capabilities>, mechanism: Mechanism) -> Result<()> {
    let Some(capabilities) = capabilities else {
        return Ok(());
    };
    let offered = capabilities.arguments("SASL");
    if offered
        .iter()
        .any(|name| name.eq_ignore_ascii_case(mechanism.name()))
    {
        return Ok(());
    }
    Err(Error::MechanismNotOffered {
        mechanism,
        offered: offered.iter().map(|name| name.to_string()).collect(),
    })
}

/// Handles a failed login as the book does: a refusal by the server prints
/// `Login failed: ...` on stdout and gives exit code 1; other errors go on, as the
/// session's error type (the library's, or one a tool's session returns). Not in the book:
/// a refusal the server says is temporary (`[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/TEMP]`) adds
/// a line on stderr saying so, and exit code 75 ([`EXIT_TEMPFAIL`]).
pub fn login_failed<E: From<Error>>(tool: &Tool, error: Error) -> std::result::Result<ExitCode, E> {
    match error {
        Error::Server(_) | Error::ApopNotSupported => {
            println!("Login failed: {}", for_screen(&error.to_string()));
            if let Error::Server(refusal) = &error {
                if let Some(hint) = try_later(refusal) {
                    let _ = io::stdout().flush();
                    eprintln!("{}: {hint}", tool.name);
                    return Ok(ExitCode::from(EXIT_TEMPFAIL));
                }
            }
            Ok(ExitCode::from(1))
        }
        other => Err(other.into()),
    }
}

/// The book's `finally: p.quit()`: sends QUIT whenever the connection is still alive.
/// After a successful session a failed QUIT is an error, as deletions happen only then;
/// lost with the connection, QUIT's answer cannot tell whether they did, and the error
/// says so. Before any login was accepted (a refused one), a server that has closed
/// (Dovecot after `[IN-USE]`, popa3d after a wrong password) has said its last word: QUIT
/// could change nothing, and the `Login failed:` line stays the only one. After a session
/// the library failed, whether QUIT still goes is [`Client::may_quit_after`]'s decision:
/// not when the connection is lost, nor when a protocol error put the session out of step
/// with the server (the error then says the deletions asked for were not applied). A
/// session that failed on its own, not in the library (a tool's failed write to standard
/// output), is in step with the server: QUIT is sent, and the tool's error is returned.
/// Errors come back as the session's own type.
pub fn quit<S: Read + Write, E: SessionError>(
    client: Client<S>,
    outcome: std::result::Result<ExitCode, E>,
) -> std::result::Result<ExitCode, E> {
    match outcome {
        Ok(code) => Ok(quit_after_success(client, code)?),
        Err(e) => match e.into_library() {
            Ok(e) => Err(quit_after_failure(client, e).into()),
            Err(own) => {
                let _ = client.quit();
                Err(own)
            }
        },
    }
}

/// The error type of a tool's session: the library's [`Error`], or [`anyhow::Error`] for a
/// session that can also fail on its own (mailbox's write to standard output). [`quit`]
/// asks it whether the library failed.
pub trait SessionError: From<Error> {
    /// The library's error, when that is what this is; otherwise this error, given back.
    fn into_library(self) -> std::result::Result<Error, Self>;
}

impl SessionError for Error {
    fn into_library(self) -> std::result::Result<Error, Self> {
        Ok(self)
    }
}

impl SessionError for anyhow::Error {
    fn into_library(self) -> std::result::Result<Error, Self> {
        self.downcast()
    }
}

/// QUIT after a session that went well: see [`quit`].
fn quit_after_success<S: Read + Write>(client: Client<S>, code: ExitCode) -> Result<ExitCode> {
    let marked = client.marked_for_deletion();
    let logged_in = client.logged_in();
    match client.quit() {
        Ok(_) => Ok(code),
        Err(lost) if marked > 0 && lost.connection_lost() => Err(Error::Io(io::Error::other(
            format!("{} (QUIT unanswered: whether the {marked} deletion(s) asked for took effect is unknown)", describe(&lost)),
        ))),
        Err(Error::Io(_) | Error::Tls(_)) if !logged_in => Ok(code),
        Err(other) => Err(other),
    }
}

/// QUIT, if it may still go, after the library failed the session: see [`quit`].
fn quit_after_failure<S: Read + Write>(client: Client<S>, e: Error) -> Error {
    if client.may_quit_after(&e) {
        let _ = client.quit();
        return e;
    }
    let marked = client.marked_for_deletion();
    match e {
        // Out of step, the client sent nothing more, QUIT included: nothing marked is deleted.
        Error::Protocol(what) if client.out_of_step() && marked > 0 => Error::Protocol(format!(
            "{what}; QUIT not sent, so the {marked} deletion(s) asked for were not applied"
        )),
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use anyhow::Context;

    const READY: &str = "+OK ready\r\n";

    /// A scripted server whose record of what the client wrote outlives the client.
    #[derive(Clone)]
    struct Shared(std::rc::Rc<std::cell::RefCell<pop3_core::scripted::ScriptedStream>>);

    impl Shared {
        fn new(server: &str) -> Self {
            Shared(std::rc::Rc::new(std::cell::RefCell::new(
                pop3_core::scripted::ScriptedStream::new(server),
            )))
        }

        fn written(&self) -> String {
            self.0.borrow().written_text()
        }
    }

    impl Read for Shared {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.borrow_mut().read(buf)
        }
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn quit_follows_a_refusal_and_the_tools_own_failure() {
        let stream = Shared::new(&format!("{READY}-ERR no such message\r\n+OK bye\r\n"));
        let mut client = Client::new(stream.clone()).unwrap();
        let refused = client.dele(9).map(|_| ExitCode::SUCCESS);
        let error = quit(client, refused).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "DELE 9 was refused: -ERR no such message"
        );
        assert_eq!(stream.written(), "DELE 9\r\nQUIT\r\n");

        let stream = Shared::new(&format!("{READY}+OK bye\r\n"));
        let client = Client::new(stream.clone()).unwrap();
        let own: anyhow::Result<ExitCode> =
            Err(io::Error::other("disk full")).context("writing the output");
        let error = quit(client, own).unwrap_err();
        assert_eq!(format!("{error:#}"), "writing the output: disk full");
        assert_eq!(stream.written(), "QUIT\r\n");
    }

    #[test]
    fn no_quit_when_the_connection_is_lost_or_the_session_out_of_step() {
        let stream = Shared::new(READY);
        let client = Client::new(stream.clone()).unwrap();
        let error = quit(client, Err::<ExitCode, _>(Error::Timeout)).unwrap_err();
        assert_eq!(error.to_string(), "timed out waiting for the server");
        assert_eq!(stream.written(), "");

        let stream = Shared::new(&format!("{READY}+OK marked\r\nHELLO\r\n"));
        let mut client = Client::new(stream.clone()).unwrap();
        client.dele(1).unwrap();
        let garbled = client.noop().map(|_| ExitCode::SUCCESS);
        let error = quit(client, garbled).unwrap_err().to_string();
        assert!(
            error.ends_with("; QUIT not sent, so the 1 deletion(s) asked for were not applied"),
            "{error}"
        );
        assert_eq!(stream.written(), "DELE 1\r\nNOOP\r\n");
    }
}
