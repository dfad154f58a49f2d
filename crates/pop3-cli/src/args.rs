//! The command line every tool shares: `TOOL [options] hostname username`, its `--help`
//! and `--version`, and the book's `usage:` line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use pop3_core::{Address, Error, Mechanism, PinnedKeys, Security, DEFAULT_TIMEOUT};

/// What a tool says about itself in `--help` and `--version`.
pub struct Tool {
    /// The binary's name.
    pub name: &'static str,
    /// The version, from Cargo.
    pub version: &'static str,
    /// One line on what the tool does.
    pub about: &'static str,
    /// Extra paragraphs for `--help` (may be empty).
    pub notes: &'static str,
}

/// The command line of every tool: `TOOL [options] hostname username`.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// Where the server is.
    pub address: Address,
    /// The mailbox to log in to.
    pub username: String,
    /// Implicit TLS (default) or STLS.
    pub security: Security,
    /// An extra CA certificate file to trust.
    pub ca_file: Option<PathBuf>,
    /// The TLS client certificate to present (PEM), which may hold its key too.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM), when not in `client_cert`'s file.
    pub client_key: Option<PathBuf>,
    /// The server's public key must also be one of these (curl's `--pinned-pubkey`).
    pub pinned_keys: Option<PinnedKeys>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// Trace the protocol on stderr.
    pub trace: bool,
    /// Log in with this SASL mechanism instead of the book's way.
    pub auth: Option<Mechanism>,
    /// A shell command whose output is the password or token, instead of the prompt.
    pub password_command: Option<String>,
    /// Pipeline commands where the server offers it (RFC 2449); off with `--no-pipelining`.
    pub pipelining: bool,
}

impl Args {
    /// The port to connect to: the one given, or the one the security mode implies.
    pub fn port(&self) -> u16 {
        self.address.port.unwrap_or(self.security.default_port())
    }

    /// `host:port` for messages.
    pub fn server(&self) -> String {
        Address {
            port: Some(self.port()),
            ..self.address.clone()
        }
        .to_string()
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Run the tool.
    Run(Args),
    /// Print the help.
    Help,
    /// Print the version.
    Version,
}

/// Parses the process's arguments; prints help, version or a usage error and exits as
/// needed (exit 2 on a usage error, like the book's scripts).
pub fn parse_args(tool: &Tool) -> Args {
    match parse(std::env::args_os().skip(1), |name| std::env::var_os(name)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{}", help(tool));
            std::process::exit(0)
        }
        Ok(Parsed::Version) => {
            println!("{} {}", tool.name, tool.version);
            std::process::exit(0)
        }
        Err(UsageError::WrongCount) => {
            eprintln!("usage: {} hostname username", tool.name);
            std::process::exit(2)
        }
        Err(UsageError::Invalid(why)) => {
            eprintln!("{}: {why}", tool.name);
            eprintln!(
                "usage: {} [options] hostname username (see --help)",
                tool.name
            );
            std::process::exit(2)
        }
    }
}

/// Why a command line was refused.
#[derive(Debug, PartialEq)]
pub enum UsageError {
    /// Not exactly two operands: the book's `usage:` line.
    WrongCount,
    /// A bad option or value.
    Invalid(String),
}

/// Parses `arguments` (without the program name), reading defaults from `env`.
pub fn parse(
    arguments: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> std::result::Result<Parsed, UsageError> {
    use lexopt::prelude::*;
    let invalid = |e: lexopt::Error| UsageError::Invalid(e.to_string());
    let mut parser = lexopt::Parser::from_args(arguments);
    let mut operands = Vec::new();
    let mut security = Security::Tls;
    let mut ca_file = env("POP3_CA_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let mut timeout = DEFAULT_TIMEOUT;
    let mut trace = env("POP3_TRACE").is_some_and(|v| v == "1");
    let mut client_cert = None;
    let mut client_key = None;
    let mut pinned_keys = None;
    let mut auth = None;
    let mut password_command = None;
    let mut pipelining = true;
    while let Some(arg) = parser.next().map_err(invalid)? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Long("stls") => security = Security::StartTls,
            Long("insecure-plaintext") => security = Security::Plaintext,
            Long("ca-file") => ca_file = Some(parser.value().map_err(invalid)?.into()),
            Long("cert") => client_cert = Some(parser.value().map_err(invalid)?.into()),
            Long("key") => client_key = Some(parser.value().map_err(invalid)?.into()),
            Long("pinned-pubkey") => {
                let pins = parser.value().map_err(invalid)?;
                let pins = pins.to_str().unwrap_or_default();
                pinned_keys =
                    Some(pins.parse().map_err(|e: Error| {
                        UsageError::Invalid(format!("--pinned-pubkey: {e}"))
                    })?);
            }
            Long("timeout") => {
                let value = parser.value().map_err(invalid)?;
                let seconds = value
                    .to_str()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|&s| s > 0)
                    .ok_or_else(|| {
                        UsageError::Invalid(format!(
                            "--timeout needs a whole number of seconds, got {value:?}"
                        ))
                    })?;
                timeout = Duration::from_secs(seconds);
            }
            Long("trace") => trace = true,
            Long("no-pipelining") => pipelining = false,
            Long("auth") => {
                let name = parser.value().map_err(invalid)?;
                let name = name.to_str().unwrap_or_default();
                auth = Some(
                    name.parse()
                        .map_err(|e: Error| UsageError::Invalid(e.to_string()))?,
                );
            }
            Long("password-command") => {
                let command = parser.value().map_err(invalid)?;
                let command = command.into_string().map_err(|_| {
                    UsageError::Invalid("--password-command is not valid UTF-8".into())
                })?;
                password_command = Some(command);
            }
            Value(value) => operands.push(value),
            _ => return Err(invalid(arg.unexpected())),
        }
    }
    if client_key.is_some() && client_cert.is_none() {
        return Err(UsageError::Invalid(
            "--key needs --cert, the certificate the key belongs to".into(),
        ));
    }
    let [hostname, username]: [OsString; 2] =
        operands.try_into().map_err(|_| UsageError::WrongCount)?;
    let text = |value: OsString, what: &str| {
        value
            .into_string()
            .map_err(|v| UsageError::Invalid(format!("the {what} {v:?} is not valid UTF-8")))
    };
    let address = text(hostname, "hostname")?
        .parse::<Address>()
        .map_err(|e| UsageError::Invalid(e.to_string()))?;
    let username = text(username, "username")?;
    if username.is_empty() {
        return Err(UsageError::Invalid("the username is empty".into()));
    }
    if has_line_break(&username) {
        return Err(UsageError::Invalid(
            "the username holds a line break or NUL, which would inject POP3 commands".into(),
        ));
    }
    Ok(Parsed::Run(Args {
        address,
        username,
        security,
        ca_file,
        client_cert,
        client_key,
        pinned_keys,
        timeout,
        trace,
        auth,
        password_command,
        pipelining,
    }))
}

/// The `--help` text.
pub fn help(tool: &Tool) -> String {
    let Tool {
        name,
        version,
        about,
        notes,
    } = tool;
    let seconds = DEFAULT_TIMEOUT.as_secs();
    format!(
        "{name} {version}
{about}

usage: {name} [options] hostname username

  hostname                      the POP3 server: host, host:port, [ipv6] or [ipv6]:port
  username                      the mailbox to log in to; the password is asked for

Options:
      --stls                    plain POP3 (port 110) upgraded with STLS; default: POP3S (995)
      --insecure-plaintext      no TLS at all (port 110), password in clear: test servers only
      --ca-file FILE            trust the CA certificates in FILE (PEM), not the system's
      --pinned-pubkey PINS      the server's key must also match: sha256//BASE64[;sha256//...]
      --cert FILE               the TLS client certificate to present (PEM; may hold its key)
      --key FILE                its private key (PEM), when not in the --cert file
      --timeout SECS            connect, read and write timeout (default: {seconds})
      --auth MECHANISM          log in by SASL AUTH instead: scram-sha-256, scram-sha-1,
                                cram-md5, login, plain, xoauth2, oauthbearer or external
      --password-command CMD    the password (or OAuth token) is what CMD prints, not typed
      --no-pipelining           send one command at a time, exactly as the book's scripts
      --trace                   show the protocol exchange on stderr, secrets masked
  -h, --help                    show this help
  -V, --version                 show the version

Environment:
  POP3_CA_FILE                  like --ca-file
  POP3_TRACE                    like --trace, when set to 1
  SSL_CERT_FILE                 replaces the system's trusted certificates (a PEM file)
  SSL_CERT_DIR                  replaces the system's trusted certificates (a directory)

Exit status:
  0                             success
  1                             the login was refused, or the session failed
  2                             wrong arguments
  75                            the server refused for now: the mailbox is in use by
                                another session ([IN-USE]), logins come too often
                                ([LOGIN-DELAY]) or it has a temporary failure
                                ([SYS/TEMP]); try again later

The password is read without echo from the terminal, or as one line from
standard input when that is not a terminal, or from --password-command (run by
/bin/sh; its output's last line break is dropped). TLS certificates are always
verified; --pinned-pubkey adds a check, as curl's does. --auth external logs in
by the --cert certificate, and no password is asked for. Where the server lists
PIPELINING in CAPA (RFC 2449), commands that can travel together are sent
together, saving round trips.
{notes}"
    )
}

/// Whether text holds what would end a POP3 command line early.
pub(crate) fn has_line_break(text: &str) -> bool {
    text.contains(['\r', '\n', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> std::result::Result<Parsed, UsageError> {
        parse(words.iter().map(OsString::from), |_| None)
    }

    fn run_args(words: &[&str]) -> Args {
        match parse_words(words) {
            Ok(Parsed::Run(args)) => args,
            other => panic!("{words:?} gave {other:?}"),
        }
    }

    #[test]
    fn the_books_invocation() {
        let args = run_args(&["mail.example.com", "brandon"]);
        assert_eq!(args.address.host, "mail.example.com");
        assert_eq!(args.username, "brandon");
        assert_eq!(
            (args.security, args.port(), args.trace),
            (Security::Tls, 995, false)
        );
        assert_eq!(args.server(), "mail.example.com:995");
        assert_eq!(args.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn options() {
        let args = run_args(&[
            "--stls",
            "--trace",
            "--timeout",
            "5",
            "--ca-file",
            "ca.pem",
            "[::1]:1110",
            "brandon",
        ]);
        assert_eq!(args.security, Security::StartTls);
        assert_eq!(args.server(), "[::1]:1110");
        assert_eq!(args.ca_file, Some(PathBuf::from("ca.pem")));
        assert_eq!(args.timeout, Duration::from_secs(5));
        assert!(args.trace);
        assert_eq!((args.auth, args.password_command), (None, None));
        assert_eq!(run_args(&["--stls", "localhost", "b"]).port(), 110);
        let sasl = run_args(&[
            "--auth",
            "XOAuth2",
            "--password-command",
            "oauth2-token --user b",
            "h",
            "b",
        ]);
        assert_eq!(sasl.auth, Some(Mechanism::XOAuth2));
        assert_eq!(
            sasl.password_command.as_deref(),
            Some("oauth2-token --user b")
        );
        let scram = run_args(&["--auth", "SCRAM-SHA-256", "h", "b"]);
        assert_eq!(scram.auth, Some(Mechanism::ScramSha256));
        let plain = run_args(&["--insecure-plaintext", "localhost", "b"]);
        assert_eq!((plain.security, plain.port()), (Security::Plaintext, 110));
        let pin = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let pins = format!("{pin};{pin}");
        let tls = run_args(&[
            "--cert",
            "me.pem",
            "--key",
            "me-key.pem",
            "--pinned-pubkey",
            &pins,
            "--auth",
            "EXTERNAL",
            "h",
            "b",
        ]);
        assert_eq!(tls.client_cert, Some(PathBuf::from("me.pem")));
        assert_eq!(tls.client_key, Some(PathBuf::from("me-key.pem")));
        assert_eq!(tls.pinned_keys.map(|p| p.to_string()), Some(pins));
        assert_eq!(tls.auth, Some(Mechanism::External));
        let combined = run_args(&["--cert", "both.pem", "h", "b"]);
        assert_eq!(
            (combined.client_cert, combined.client_key),
            (Some(PathBuf::from("both.pem")), None)
        );
    }

    #[test]
    fn environment_defaults() {
        let env = |name: &str| match name {
            "POP3_CA_FILE" => Some(OsString::from("/tmp/ca.pem")),
            "POP3_TRACE" => Some(OsString::from("1")),
            _ => None,
        };
        let Ok(Parsed::Run(args)) = parse(["h", "u"].map(OsString::from), env) else {
            panic!()
        };
        assert_eq!(args.ca_file, Some(PathBuf::from("/tmp/ca.pem")));
        assert!(args.trace);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_words(&["--help"]), Ok(Parsed::Help));
        assert_eq!(parse_words(&["h", "-V"]), Ok(Parsed::Version));
        let tool = Tool {
            name: "popconn",
            version: "1.2.3",
            about: "About.",
            notes: "",
        };
        let text = help(&tool);
        assert!(text
            .starts_with("popconn 1.2.3\nAbout.\n\nusage: popconn [options] hostname username\n"));
        assert!(text.contains("(default: 60)") && text.contains("POP3_CA_FILE"));
    }

    #[test]
    fn usage_errors() {
        assert_eq!(parse_words(&[]), Err(UsageError::WrongCount));
        assert_eq!(parse_words(&["host"]), Err(UsageError::WrongCount));
        assert_eq!(parse_words(&["a", "b", "c"]), Err(UsageError::WrongCount));
        let invalid = |words: &[&str], needle: &str| match parse_words(words) {
            Err(UsageError::Invalid(why)) => assert!(why.contains(needle), "{words:?}: {why}"),
            other => panic!("{words:?} gave {other:?}"),
        };
        invalid(&["--bogus", "h", "u"], "--bogus");
        invalid(&["--timeout", "0", "h", "u"], "whole number");
        invalid(&["--timeout", "soon", "h", "u"], "whole number");
        invalid(&["h", "u", "--ca-file"], "missing argument");
        invalid(&["", "u"], "empty host name");
        invalid(&["h", ""], "username is empty");
        invalid(&["mail example.com", "u"], "spaces");
        invalid(&["host:99999", "u"], "out of range");
        invalid(&["host", "brandon\r\nDELE 1"], "line break");
        invalid(&["--auth", "gssapi", "h", "u"], "unknown SASL mechanism");
        invalid(&["--key", "k.pem", "h", "u"], "--key needs --cert");
        invalid(
            &["--pinned-pubkey", "sha1//AAAA", "h", "u"],
            "--pinned-pubkey: invalid public key pin \"sha1//AAAA\": expected sha256//",
        );
        invalid(
            &["--pinned-pubkey", "sha256//AAAA", "h", "u"],
            "not a SHA-256 hash",
        );
        invalid(&["h", "u", "--pinned-pubkey"], "missing argument");
    }
}
