//! Errors worded for the command line: the library's messages, with hints at the tools'
//! options, and a whole error chain on one line.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::process::ExitCode;

use pop3_core::{Error, ServerError};
use rustls::CertificateError;

use crate::args::Tool;
use crate::screen::terminal_safe;

/// The exit status when the server says its refusal is temporary: sysexits.h's
/// EX_TEMPFAIL, which schedulers and mail fetchers take as "retry later".
pub const EXIT_TEMPFAIL: u8 = 75;

/// What to tell the user when the server's response code says its refusal is temporary:
/// `[IN-USE]` and `[LOGIN-DELAY]` (RFC 2449), `[SYS/TEMP]` (RFC 3206). `None` for any other
/// refusal (`[AUTH]`, `[SYS/PERM]`, none): trying again would change nothing.
pub fn try_later(refusal: &ServerError) -> Option<&'static str> {
    let code = refusal.code()?;
    // Codes are hierarchical (RFC 2449): SYS/TEMP/anything is still SYS/TEMP.
    let is = |name: &str| {
        code.get(..name.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(name))
            && matches!(code.as_bytes().get(name.len()), None | Some(b'/'))
    };
    if is("IN-USE") {
        Some("another session holds this mailbox; try again later")
    } else if is("LOGIN-DELAY") {
        Some("the server allows logins only so often; try again later")
    } else if is("SYS/TEMP") {
        Some("the server reports a temporary failure; try again later")
    } else {
        None
    }
}

/// The exit status of a failed session: [`EXIT_TEMPFAIL`] when the server said to try
/// again later ([`try_later`]), 1 otherwise.
pub fn exit_status(error: &anyhow::Error) -> u8 {
    let temporary = error.chain().any(|cause| {
        cause
            .downcast_ref::<Error>()
            .and_then(Error::server_refusal)
            .is_some_and(|refusal| try_later(refusal).is_some())
    });
    if temporary {
        EXIT_TEMPFAIL
    } else {
        1
    }
}

/// A library error as the tools word it: its message, and a hint at the option that helps,
/// where there is one: `--ca-file` for a certificate from an unknown CA, `--stls` for a
/// server that does not speak TLS on the port; or at what to do about a temporary refusal.
pub fn describe(error: &Error) -> String {
    match error {
        Error::Tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        )) => format!("{error}; pass the server's CA with --ca-file"),
        Error::Tls(rustls::Error::InvalidMessage(_)) => {
            format!("{error} (a plain POP3 port? try --stls)")
        }
        _ => match error.server_refusal().and_then(try_later) {
            Some(hint) => format!("{error} ({hint})"),
            None => error.to_string(),
        },
    }
}

/// An error and its causes on one line, joined by `: ` as anyhow's `{:#}` joins them, a
/// library error worded by [`describe`]. A library error ends the line: its message already
/// includes its cause, which its `source()` gives only to programs that inspect it (see
/// [`pop3_core::Error`]).
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        if !line.is_empty() {
            line.push_str(": ");
        }
        if let Some(error) = cause.downcast_ref::<Error>() {
            line.push_str(&describe(error));
            break;
        }
        let _ = write!(line, "{cause}");
    }
    line
}

/// Ends the process: prints an error as one line on stderr ([`error_line`]), naming the tool.
pub fn finish(tool: &Tool, outcome: anyhow::Result<ExitCode>) -> ExitCode {
    let _ = io::stdout().flush();
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}: {}", tool.name, terminal_safe(&error_line(&e)));
            ExitCode::from(exit_status(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use anyhow::Context;
    use pop3_core::scripted::ScriptedStream;
    use pop3_core::Client;

    use super::*;

    #[test]
    fn hints_at_the_options_that_help() {
        let unknown = Error::Tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        assert_eq!(
            describe(&unknown),
            "TLS: certificate not trusted (unknown issuer); pass the server's CA with --ca-file"
        );
        let plain = Error::Tls(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert_eq!(
            describe(&plain),
            "TLS: the server did not answer in TLS (a plain POP3 port? try --stls)"
        );
        assert_eq!(
            describe(&Error::Timeout),
            "timed out waiting for the server"
        );
    }

    #[test]
    fn temporary_refusals_are_told_apart_by_their_response_code() {
        let refusal = |line: &str| {
            let server = ScriptedStream::new(format!("+OK ready\r\n{line}\r\n"));
            match Client::new(server).unwrap().noop() {
                Err(Error::Server(refusal)) => refusal,
                other => panic!("{other:?}"),
            }
        };
        let temporary = [
            "-ERR [IN-USE] Mailbox is locked by another POP3 session.",
            "-ERR [in-use] lower case",
            "-ERR [LOGIN-DELAY] wait 300 s",
            "-ERR [SYS/TEMP] too busy",
            "-ERR [SYS/TEMP/DISK] quota service down",
        ];
        for line in temporary {
            assert!(try_later(&refusal(line)).is_some(), "{line}");
            let error = anyhow::Error::new(Error::Server(refusal(line))).context("h:995");
            assert_eq!(exit_status(&error), EXIT_TEMPFAIL, "{line}");
            assert!(error_line(&error).ends_with("try again later)"), "{line}");
        }
        let not_temporary = [
            "-ERR [AUTH] Authentication failed.",
            "-ERR [SYS/PERM] could not apply changes",
            "-ERR [SYS/TEMPORARY] not the code",
            "-ERR [IN-USEFUL] not the code",
            "-ERR no code",
        ];
        for line in not_temporary {
            assert_eq!(try_later(&refusal(line)), None, "{line}");
            let error = anyhow::Error::new(Error::Server(refusal(line)));
            assert_eq!(exit_status(&error), 1, "{line}");
            assert_eq!(error_line(&error), line);
        }
        assert_eq!(exit_status(&anyhow::Error::new(Error::Timeout)), 1);
    }

    #[test]
    fn a_chain_is_one_line_and_says_each_cause_once() {
        let refused: pop3_core::Result<()> = Err(Error::from(io::Error::from(
            io::ErrorKind::ConnectionRefused,
        )));
        let refused = refused.context("mail.example.com:995").unwrap_err();
        assert_eq!(
            error_line(&refused),
            "mail.example.com:995: connection refused"
        );

        // The refusal is the error's source, and said once.
        let server = ScriptedStream::new("+OK ready\r\n-ERR TLS not configured\r\n");
        let Some(Error::Server(refusal)) = Client::new(server).unwrap().stls_with(Ok).err() else {
            panic!("STLS was not refused")
        };
        let stls: pop3_core::Result<()> = Err(Error::StlsRefused(refusal));
        let stls = stls.context("h:110").unwrap_err();
        assert_eq!(
            error_line(&stls),
            "h:110: the server refused STLS (-ERR TLS not configured), so the session cannot be protected; use POP3S instead"
        );

        let unknown: pop3_core::Result<()> = Err(Error::Tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        )));
        let unknown = unknown.context("h:995").unwrap_err();
        assert!(
            error_line(&unknown).ends_with("(unknown issuer); pass the server's CA with --ca-file")
        );

        let own = Err::<(), _>(io::Error::other("disk full"))
            .context("writing the output")
            .context("h:995")
            .unwrap_err();
        assert_eq!(error_line(&own), "h:995: writing the output: disk full");
        assert_eq!(error_line(&own), format!("{own:#}"));
    }
}
