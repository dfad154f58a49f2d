//! Errors worded for the command line: the library's messages, with hints at the tools'
//! options, and a whole error chain on one line.

use std::fmt::Write as _;

use pop3_core::Error;
use rustls::CertificateError;

/// A library error as the tools word it: its message, and a hint at the option that helps,
/// where there is one: `--ca-file` for a certificate from an unknown CA, `--stls` for a
/// server that does not speak TLS on the port.
pub fn describe(error: &Error) -> String {
    let hint = match error {
        Error::Tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        )) => "; pass the server's CA with --ca-file",
        Error::Tls(rustls::Error::InvalidMessage(_)) => " (a plain POP3 port? try --stls)",
        _ => "",
    };
    format!("{error}{hint}")
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
