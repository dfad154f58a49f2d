//! Addresses, TCP connections with timeouts, and the choice of implicit TLS or STLS.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv6Addr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::tls::{TlsConfig, TlsStream};

/// The default timeout for connecting, reading and writing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to a server: plain TCP (before STLS) or TLS.
pub enum Stream {
    /// Plain TCP: only ever used to send STLS.
    Plain(TcpStream),
    /// TLS, implicit (POP3S) or after STLS.
    Tls(Box<TlsStream>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// POP3S: TLS from the first byte (port 995), what the book's `POP3_SSL` does.
    Tls,
    /// Plain POP3 (port 110) upgraded with STLS (RFC 2595) before anything else is sent.
    StartTls,
    /// Plain POP3 with no TLS at all (port 110): anyone on the path reads the mail, so
    /// PASS is refused unless [`Connector::allow_password_in_clear`] is set.
    Plaintext,
}

impl Security {
    /// The well-known port.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Tls => 995,
            Security::StartTls | Security::Plaintext => 110,
        }
    }
}

/// A server address as typed: `host`, `host:port`, `[ipv6]`, `[ipv6]:port` or a bare IPv6 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Host name or IP address, without brackets.
    pub host: String,
    /// The port, when given.
    pub port: Option<u16>,
}

impl FromStr for Address {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: &'static str| Error::InvalidAddress {
            text: text.to_string(),
            why,
        };
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            host.parse::<Ipv6Addr>()
                .map_err(|_| bad("not an IPv6 address inside [...]"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| bad("expected ':' after ']'"))?,
                    ),
                ),
            }
        } else if text.matches(':').count() > 1 {
            text.parse::<Ipv6Addr>()
                .map_err(|_| bad("not an IPv6 address (write [address]:port)"))?;
            (text, None)
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host name"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("spaces or control characters in the host name"));
        }
        let port = port
            .map(|p| match p.parse::<u16>() {
                _ if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => {
                    Err(bad("the port is not a number"))
                }
                Ok(0) | Err(_) => Err(bad("the port is out of range (1-65535)")),
                Ok(port) => Ok(port),
            })
            .transpose()?;
        Ok(Address {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracketed = self.host.contains(':');
        match (bracketed, self.port) {
            (true, Some(port)) => write!(f, "[{}]:{port}", self.host),
            (false, Some(port)) => write!(f, "{}:{port}", self.host),
            _ => f.write_str(&self.host),
        }
    }
}

/// Everything needed to open a session: security, trust and timeouts.
#[derive(Clone)]
pub struct Connector {
    /// Implicit TLS or STLS.
    pub security: Security,
    /// Trusted certificates.
    pub tls: TlsConfig,
    /// Timeout for connecting and for each read and write.
    pub timeout: Duration,
    /// Write a protocol trace to stderr.
    pub trace: bool,
    /// With [`Security::Plaintext`], send PASS anyway: the user said they accept that.
    pub allow_password_in_clear: bool,
}

impl Connector {
    /// Implicit TLS, the default timeout, no trace.
    pub fn new(tls: TlsConfig) -> Self {
        Connector {
            security: Security::Tls,
            tls,
            timeout: DEFAULT_TIMEOUT,
            trace: false,
            allow_password_in_clear: false,
        }
    }

    /// Connects, secures the connection and reads the greeting. With STLS, the session
    /// returned is already in TLS.
    pub fn connect(&self, host: &str, port: u16) -> Result<Client<Stream>> {
        let tcp = self.connect_tcp(host, port)?;
        match self.security {
            Security::Tls => {
                let tls = self.tls.handshake(host, tcp)?;
                self.start_session(Stream::Tls(Box::new(tls)))
            }
            Security::StartTls => {
                let client = self.start_session(Stream::Plain(tcp))?;
                client.stls(&self.tls, host).map_err(|e| match e {
                    Error::Server(refusal) => Error::StlsRefused(refusal),
                    // Not a Tls error, which the tools word as "a plain POP3 port? try --stls":
                    // this is STLS. The server said +OK and spoke on in clear.
                    Error::Tls(rustls::Error::InvalidMessage(_)) => Error::Protocol(
                        "the server accepted STLS, then did not answer in TLS".into(),
                    ),
                    other => other,
                })
            }
            Security::Plaintext => {
                let mut client = self.start_session(Stream::Plain(tcp))?;
                if !self.allow_password_in_clear {
                    client.refuse_password_in_clear();
                }
                Ok(client)
            }
        }
    }

    fn connect_tcp(&self, host: &str, port: u16) -> Result<TcpStream> {
        // The resolver takes ASCII names; converting IDNA here would cost more than all of
        // the tools' Unicode tables, so the ASCII (punycode) form is asked for instead.
        if !host.is_ascii() {
            return Err(Error::HostNotAscii(host.to_string()));
        }
        let mut last_error = None;
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(tcp) => {
                    tcp.set_read_timeout(Some(self.timeout))?;
                    tcp.set_write_timeout(Some(self.timeout))?;
                    tcp.set_nodelay(true)?;
                    return Ok(tcp);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error
            .map(Error::from)
            .unwrap_or_else(|| Error::NoAddress(host.to_string())))
    }

    fn start_session(&self, stream: Stream) -> Result<Client<Stream>> {
        if self.trace {
            Client::with_trace(stream, Box::new(io::stderr()))
        } else {
            Client::new(stream)
        }
    }
}

impl Client<Stream> {
    /// STLS on a plain connection, then the TLS handshake, verified against `tls` for `host`.
    pub fn stls(self, tls: &TlsConfig, host: &str) -> Result<Client<Stream>> {
        self.stls_with(|stream| match stream {
            Stream::Plain(tcp) => Ok(Stream::Tls(Box::new(tls.handshake(host, tcp)?))),
            Stream::Tls(_) => Err(Error::AlreadyTls),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> Result<(String, Option<u16>)> {
        text.parse::<Address>().map(|a| (a.host, a.port))
    }

    #[test]
    fn address_forms() {
        assert_eq!(
            address("mail.example.com").unwrap(),
            ("mail.example.com".into(), None)
        );
        assert_eq!(
            address("localhost:1995").unwrap(),
            ("localhost".into(), Some(1995))
        );
        assert_eq!(address("[::1]:995").unwrap(), ("::1".into(), Some(995)));
        assert_eq!(address("[::1]").unwrap(), ("::1".into(), None));
        assert_eq!(address("fe80::1").unwrap(), ("fe80::1".into(), None));
    }

    #[test]
    fn bad_addresses() {
        let cases = [
            ("", "empty host name"),
            (":995", "empty host name"),
            ("mail example.com", "spaces"),
            ("host:", "not a number"),
            ("host:abc", "not a number"),
            ("host:-1", "not a number"),
            ("host:65536", "out of range"),
            ("host:0", "out of range"),
            ("[::1", "missing ']'"),
            ("[nothost]:1", "not an IPv6 address"),
            ("[::1]x", "expected ':'"),
            ("a:b:c", "not an IPv6 address"),
        ];
        for (text, why) in cases {
            let err = address(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn address_display_round_trips() {
        for text in ["[::1]:995", "mail.example.com:110", "localhost"] {
            assert_eq!(text.parse::<Address>().unwrap().to_string(), text);
        }
    }
}
