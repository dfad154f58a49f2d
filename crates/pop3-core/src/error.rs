//! The one error type of the library.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::pin::KeyNotPinned;
use crate::sasl::Mechanism;
use crate::tls::IssuerNotACa;

/// Everything that can go wrong talking to a POP3 server.
///
/// Each message is complete on its own: where an error wraps another (an I/O or TLS error,
/// an unreadable CA file, the server's refusal of STLS), its message already says what the
/// wrapped one says, in plainer words. [`source`](std::error::Error::source) gives the
/// wrapped error to programs that inspect it; a printer of whole error chains should stop
/// at this error, or it says the cause twice.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The network or the operating system failed (connection refused, reset, closed...).
    Io(io::Error),
    /// The TLS layer failed: handshake, certificate not trusted, name mismatch.
    Tls(rustls::Error),
    /// The server answered `-ERR`.
    Server(ServerError),
    /// The server broke the protocol: a malformed, unexpected or oversized answer.
    Protocol(String),
    /// The server did not answer (or accept data) within the configured timeout.
    Timeout,
    /// APOP was asked for, but the greeting carries no timestamp: the server does not offer it.
    ApopNotSupported,
    /// A server address that cannot be parsed (`text` as given; `why`, what is wrong with it).
    InvalidAddress {
        /// The address as given.
        text: String,
        /// What is wrong with it, e.g. `the port is out of range (1-65535)`.
        why: &'static str,
    },
    /// A host name that is not ASCII: the resolver wants its IDNA (`xn--...`) form.
    HostNotAscii(String),
    /// A host that cannot be a TLS server name (what the certificate is checked against).
    InvalidServerName(String),
    /// The host name resolved to no address at all.
    NoAddress(String),
    /// The system's store of trusted CA certificates is empty, and no CA file was named.
    NoTrustedRoots,
    /// The CA file cannot be used: unreadable, not PEM, no certificate, a certificate that
    /// is not valid X.509.
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
        /// The I/O error, when the file could not be read.
        io: Option<io::Error>,
    },
    /// The client certificate or its key cannot be used: unreadable, no certificate or no
    /// private key in it, a key of a kind not supported, a key that is not the certificate's.
    ClientCert {
        /// The file.
        path: PathBuf,
        /// Whether it is the key's file (else the certificate's).
        key: bool,
        /// What is wrong with it.
        why: String,
        /// The I/O error, when the file could not be read.
        io: Option<io::Error>,
    },
    /// A public key pin that is not curl's `sha256//BASE64` (`text`, the pin as given).
    InvalidPin {
        /// The pin as given.
        text: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The server refused STLS: the session cannot be protected. Its answer is kept.
    StlsRefused(ServerError),
    /// STLS was asked for on a connection that is already TLS.
    AlreadyTls,
    /// A SASL mechanism name this library does not know.
    UnknownMechanism(String),
    /// The server's CAPA does not list the SASL mechanism asked for.
    MechanismNotOffered {
        /// The mechanism asked for.
        mechanism: Mechanism,
        /// The mechanisms the server lists (its `SASL` capability), maybe none.
        offered: Vec<String>,
    },
    /// A password or token was not sent: the connection is marked unencrypted
    /// ([`crate::Client::refuse_password_in_clear`]).
    SecretInClear,
    /// A command was not sent: an argument holds a line break, NUL or other control
    /// character, which could inject commands or reach the server's logs and terminals.
    ControlCharacter {
        /// The command's verb, e.g. `USER`.
        command: String,
    },
    /// A command was not sent: its line would be longer than POP3 allows (RFC 2449).
    LineTooLong {
        /// The command's verb, e.g. `USER`.
        command: String,
        /// The octets the line would take, CRLF included.
        octets: usize,
        /// The most allowed, CRLF included.
        limit: usize,
    },
    /// A command was asked for after QUIT went ahead (pipelined): the server ends the session
    /// at QUIT, so nothing more is sent.
    QuitAhead,
    /// DELE was refused. Sent without waiting (pipelining), its answer came in ahead of a
    /// later command's, which was read to its end and set aside. The message stays unmarked.
    DeleRefused {
        /// The message.
        number: u32,
        /// The server's answer.
        refusal: ServerError,
    },
    /// SCRAM: the server did not prove that it knows the password, so it may be an impostor
    /// or someone in the middle; nothing more is sent to it.
    ServerSignature {
        /// `true`: it accepted the login without sending its signature; `false`: the
        /// signature it sent is wrong.
        missing: bool,
    },
}

/// A `-ERR` answer: the whole status line and its RFC 2449 response code, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    line: String,
    details: Option<String>,
}

impl ServerError {
    /// Wraps a status line that starts with `-ERR`.
    pub(crate) fn new(line: String) -> Self {
        ServerError {
            line,
            details: None,
        }
    }

    /// Adds what the server explained before refusing (an OAuth error's JSON, decoded).
    pub(crate) fn with_details(mut self, details: Option<String>) -> Self {
        self.details = details;
        self
    }

    /// What the server explained before refusing, if anything: for XOAUTH2 and OAUTHBEARER,
    /// the decoded error challenge, e.g. `{"status":"401","schemes":"bearer"}`.
    pub fn details(&self) -> Option<&str> {
        self.details.as_deref()
    }

    /// The status line as the server sent it, e.g. `-ERR [AUTH] Authentication failed.`
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The response code of RFC 2449 (`AUTH`, `IN-USE`, `SYS/TEMP`, ...), without brackets.
    pub fn code(&self) -> Option<&str> {
        let rest = self.line.strip_prefix("-ERR ")?.strip_prefix('[')?;
        let end = rest.find(']')?;
        Some(&rest[..end])
    }

    /// The human-readable text after `-ERR` and the response code.
    pub fn text(&self) -> &str {
        let rest = self
            .line
            .strip_prefix("-ERR")
            .unwrap_or(&self.line)
            .trim_start();
        match (rest.starts_with('['), rest.find(']')) {
            (true, Some(end)) => rest[end + 1..].trim_start(),
            _ => rest,
        }
    }
}

impl fmt::Display for ServerError {
    /// The status line, and what the server explained before refusing, if anything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.details() {
            Some(details) => write!(f, "{} (the server explained: {details})", self.line()),
            None => f.write_str(self.line()),
        }
    }
}

impl std::error::Error for ServerError {}

impl Error {
    /// Whether the connection is gone or unusable (network, TLS or timeout failure), so that
    /// sending QUIT would be pointless or would wait for another timeout.
    pub fn connection_lost(&self) -> bool {
        matches!(self, Error::Io(_) | Error::Tls(_) | Error::Timeout)
    }

    /// The server's `-ERR` answer behind this error, if it is a refusal: of the command
    /// asked for, of STLS, or of a DELE sent earlier without waiting.
    pub fn server_refusal(&self) -> Option<&ServerError> {
        match self {
            Error::Server(refusal)
            | Error::StlsRefused(refusal)
            | Error::DeleRefused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => io_message(e, f),
            Error::Tls(e) => tls_message(e, f),
            Error::Server(e) => e.fmt(f),
            Error::Protocol(what) => write!(f, "protocol error: {what}"),
            Error::Timeout => f.write_str("timed out waiting for the server"),
            // Worded as poplib words it, so the tools print the book's line.
            Error::ApopNotSupported => f.write_str("-ERR APOP not supported by server"),
            Error::InvalidAddress { text, why } => write!(f, "invalid host {text:?}: {why}"),
            Error::HostNotAscii(host) => write!(
                f,
                "host name {host:?} is not ASCII: give its ASCII (IDNA, xn--...) form, as `idn2` prints it"
            ),
            Error::InvalidServerName(host) => {
                write!(f, "{host:?} is not a valid TLS server name")
            }
            Error::NoAddress(host) => write!(f, "{host} has no address"),
            Error::NoTrustedRoots => f.write_str(
                "no trusted CA certificates: the system store is empty; name a CA file",
            ),
            Error::CaFile { path, why, .. } => write!(f, "CA file {}: {why}", path.display()),
            Error::ClientCert { path, key, why, .. } => {
                let what = if *key { "key" } else { "certificate" };
                write!(f, "client {what} file {}: {why}", path.display())
            }
            Error::InvalidPin { text, why } => write!(f, "invalid public key pin {text:?}: {why}"),
            Error::StlsRefused(refusal) => write!(
                f,
                "the server refused STLS ({}), so the session cannot be protected; use POP3S instead",
                refusal.line()
            ),
            Error::AlreadyTls => f.write_str("STLS on a connection that is already TLS"),
            Error::UnknownMechanism(name) => write!(
                f,
                "unknown SASL mechanism {name:?}: expected scram-sha-256, scram-sha-1, cram-md5, \
                 login, plain, xoauth2, oauthbearer or external"
            ),
            Error::MechanismNotOffered { mechanism, offered } => {
                let offered = match offered.is_empty() {
                    true => "none".to_string(),
                    false => offered.join(" "),
                };
                write!(
                    f,
                    "the server does not offer SASL {mechanism} (it offers: {offered})"
                )
            }
            Error::SecretInClear => f.write_str(
                "refusing to send the password over an unencrypted connection: use POP3S (the default) or STLS",
            ),
            Error::ControlCharacter { command } => write!(
                f,
                "refusing to send {command}: an argument holds a line break, NUL or other control character"
            ),
            Error::LineTooLong {
                command,
                octets,
                limit,
            } => write!(
                f,
                "refusing to send {command}: the command line would be {octets} octets, over the {limit} POP3 allows (RFC 2449)"
            ),
            Error::QuitAhead => {
                f.write_str("QUIT went ahead: the server ends the session after it")
            }
            Error::DeleRefused { number, refusal } => {
                write!(f, "DELE {number} was refused: {refusal}")
            }
            Error::ServerSignature { missing: false } => f.write_str(
                "the server's SCRAM signature does not match: it does not know the password, or someone is in the middle",
            ),
            Error::ServerSignature { missing: true } => f.write_str(
                "the server accepted the SCRAM login without its signature: it may not know the password, or someone is in the middle",
            ),
        }
    }
}

fn io_message(e: &io::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if e.get_ref().is_some() {
        return write!(f, "{e}");
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => f.write_str("the server closed the connection"),
        io::ErrorKind::ConnectionRefused => f.write_str("connection refused"),
        io::ErrorKind::ConnectionReset => f.write_str("connection reset by the server"),
        _ => write!(f, "{e}"),
    }
}

fn tls_message(e: &rustls::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            f.write_str("TLS: certificate not trusted (unknown issuer)")
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            f.write_str("TLS: the server's certificate has expired")
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            f.write_str("TLS: the server's certificate is not valid yet")
        }
        rustls::Error::InvalidCertificate(C::NotValidForNameContext {
            expected,
            presented,
        }) => {
            // rustls lists names as `DnsName("host")`: show the bare names.
            let names: Vec<&str> = presented
                .iter()
                .map(|name| name.split('"').nth(1).unwrap_or(name))
                .collect();
            write!(
                f,
                "TLS: host name mismatch: the server's certificate is for {}, not {}",
                names.join(", "),
                expected.to_str()
            )
        }
        rustls::Error::InvalidCertificate(C::Other(other))
            if other.0.is::<IssuerNotACa>() || other.0.is::<KeyNotPinned>() =>
        {
            write!(f, "TLS: {other}")
        }
        rustls::Error::InvalidCertificate(C::NotValidForName) => {
            f.write_str("TLS: host name mismatch: the server's certificate is for another name")
        }
        rustls::Error::InvalidMessage(_) => f.write_str("TLS: the server did not answer in TLS"),
        _ => write!(f, "TLS: {e}"),
    }
}

/// `source()` is the wrapped error, whose text the message already includes (see [`Error`]).
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Tls(e) => Some(e),
            Error::CaFile { io: Some(e), .. } | Error::ClientCert { io: Some(e), .. } => Some(e),
            Error::StlsRefused(refusal) | Error::DeleRefused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    /// Sorts I/O errors: timeouts and TLS failures travel inside `io::Error`
    /// (rustls' `StreamOwned` wraps its own errors that way).
    fn from(e: io::Error) -> Self {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return Error::Timeout;
        }
        if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            let inner = e.into_inner().expect("checked above");
            return Error::Tls(*inner.downcast::<rustls::Error>().expect("checked above"));
        }
        Error::Io(e)
    }
}

impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Error::Tls(e)
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_with_code() {
        let e = ServerError::new("-ERR [AUTH] Authentication failed.".into());
        assert_eq!(e.code(), Some("AUTH"));
        assert_eq!(e.text(), "Authentication failed.");
        assert_eq!(
            Error::Server(e).to_string(),
            "-ERR [AUTH] Authentication failed."
        );
    }

    #[test]
    fn server_error_with_hierarchical_code() {
        let e = ServerError::new("-ERR [SYS/TEMP] try later".into());
        assert_eq!(e.code(), Some("SYS/TEMP"));
        assert_eq!(e.text(), "try later");
    }

    #[test]
    fn server_error_without_code() {
        let e = ServerError::new("-ERR no such message".into());
        assert_eq!(e.code(), None);
        assert_eq!(e.text(), "no such message");
        let bare = ServerError::new("-ERR".into());
        assert_eq!(bare.code(), None);
        assert_eq!(bare.text(), "");
    }

    #[test]
    fn a_wrapped_error_is_the_source_and_the_message_says_it_once() {
        use std::error::Error as _;
        let refused = Error::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.to_string(), "connection refused");
        let source = refused.source().unwrap().downcast_ref::<io::Error>();
        assert_eq!(source.unwrap().kind(), io::ErrorKind::ConnectionRefused);
        let tls = Error::from(rustls::Error::DecryptError);
        assert!(tls.source().unwrap().is::<rustls::Error>());
        let stls = Error::StlsRefused(ServerError::new("-ERR not now".into()));
        assert!(stls.to_string().contains("(-ERR not now)"), "{stls}");
        assert_eq!(stls.source().unwrap().to_string(), "-ERR not now");
        let unreadable = Error::CaFile {
            path: "ca.pem".into(),
            why: "gone".into(),
            io: Some(io::Error::from(io::ErrorKind::NotFound)),
        };
        assert!(unreadable.source().unwrap().is::<io::Error>());
        assert!(Error::Timeout.source().is_none());
        assert!(Error::Server(ServerError::new("-ERR no".into()))
            .source()
            .is_none());
    }

    #[test]
    fn no_command_line_words_in_the_library() {
        use rustls::CertificateError as C;
        let unknown = Error::Tls(rustls::Error::InvalidCertificate(C::UnknownIssuer));
        assert_eq!(
            unknown.to_string(),
            "TLS: certificate not trusted (unknown issuer)"
        );
        let plain = Error::Tls(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert_eq!(plain.to_string(), "TLS: the server did not answer in TLS");
    }

    #[test]
    fn timeouts_and_tls_errors_are_sorted_out_of_io() {
        let timeout = io::Error::new(io::ErrorKind::WouldBlock, "x");
        assert!(matches!(Error::from(timeout), Error::Timeout));
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert!(matches!(Error::from(tls), Error::Tls(_)));
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(
            Error::from(eof).to_string(),
            "the server closed the connection"
        );
    }
}
