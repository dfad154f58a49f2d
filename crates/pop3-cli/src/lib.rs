//! Plumbing shared by the four command-line tools, so that each tool's `main.rs` holds only
//! the steps of its book listing: arguments, password prompt, connection, QUIT, exit codes,
//! and text from strangers made safe for the terminal.
//!
//! Command-line code, kept out of the library ([`pop3_core`]): it exits the process, runs
//! `/bin/sh` for `--password-command`, and owns standard input.

#![warn(missing_docs)]

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use zeroize::Zeroizing;

mod input;
pub use input::{read_yes, typed_yes};
mod report;
pub use report::{describe, error_line, exit_status, try_later, EXIT_TEMPFAIL};

use pop3_core::escape::{escape_where, hides_text};
use pop3_core::{
    Address, Capabilities, Client, Connector, Error, Mechanism, PinnedKeys, Result, Security,
    Stream, TlsConfig, DEFAULT_TIMEOUT,
};

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
fn has_line_break(text: &str) -> bool {
    text.contains(['\r', '\n', '\0'])
}

/// A password or token: wiped from memory when dropped.
pub type Secret = Zeroizing<String>;

/// The password: from `--password-command` if given, else asked for as Python's `getpass`
/// does: without echo on a terminal; from a pipe, one line of standard input after a
/// warning on stderr. End of input (Ctrl-D) and a password holding a control character
/// (a line break would inject POP3 commands; PASS refuses any) are errors, found before
/// anything is sent: the tools send USER and PASS one after the other, as the book does.
pub fn read_password(args: &Args) -> io::Result<Secret> {
    // The TLS client certificate logs in: no secret is involved.
    if args.auth == Some(Mechanism::External) {
        return Ok(Secret::default());
    }
    let password = match &args.password_command {
        Some(command) => secret_from_command(command, args.timeout)?,
        None => prompt_for_password()?,
    };
    if has_line_break(&password) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the password holds a line break or NUL, which would inject POP3 commands: refused",
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the password holds a control character, which POP3 commands cannot carry: refused",
        ));
    }
    Ok(password)
}

/// Runs `command` with /bin/sh, as mpop's passwordeval does, and takes what it prints,
/// less its last line break. Its stderr and stdin stay the user's, for its own prompts.
/// It has `timeout` (the session's own) to finish, then it is killed.
fn secret_from_command(command: &str, timeout: Duration) -> io::Result<Zeroizing<String>> {
    let failed = |e: io::Error| io::Error::new(e.kind(), format!("--password-command: {e}"));
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", command])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(failed)?;
    let mut stdout = child.stdout.take().expect("piped above");
    let reader = std::thread::spawn(move || {
        let mut printed = Zeroizing::new(Vec::new());
        stdout.read_to_end(&mut printed).map(|_| printed)
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(failed)? {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            kill_family(child.id());
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "--password-command did not finish within {} s (--timeout); it was stopped",
                    timeout.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The command has ended; what it printed is all there, unless something it started
    // still holds its output open: that is waited for no longer than the rest of the time.
    let printed = loop {
        if reader.is_finished() {
            break reader
                .join()
                .expect("the reader does not panic")
                .map_err(failed)?;
        }
        if std::time::Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "--password-command ended, but something it started kept its output open",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if !status.success() {
        return Err(io::Error::other(format!(
            "--password-command failed ({status})"
        )));
    }
    let text = std::str::from_utf8(&printed).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "--password-command printed text that is not UTF-8",
        )
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "--password-command printed nothing",
        ));
    }
    Ok(Zeroizing::new(text.to_string()))
}

/// Kills `root` and every process it started: a shell's commands outlive the shell, and
/// would hold the tool's stderr open. (Not a process group of its own: the command must
/// stay in the terminal's foreground to prompt there.) Found through /proc's parent ids.
fn kill_family(root: u32) {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut family = vec![root];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    for pid in family {
        // SAFETY: kill has no memory effects; these are the command's processes.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
}

fn prompt_for_password() -> io::Result<Zeroizing<String>> {
    let end_of_input = || {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "no password given (end of input)",
        )
    };
    let password = if io::stdin().is_terminal() {
        match rpassword::prompt_password("Password: ") {
            Ok(password) => Zeroizing::new(password),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                eprintln!();
                return Err(end_of_input());
            }
            Err(e) => return Err(e),
        }
    } else {
        eprintln!("Warning: Password input may be echoed.");
        eprint!("Password: ");
        let line = input::read_line()?;
        // Nothing was echoed: end the prompt's line, so what follows starts on its own.
        eprintln!();
        let line = line.ok_or_else(end_of_input)?;
        let text = std::str::from_utf8(&line).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the password is not valid UTF-8",
            )
        })?;
        Zeroizing::new(text.to_owned())
    };
    Ok(password)
}

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

/// Shows text that strangers wrote (mail, server replies) harmlessly on a terminal: escape
/// sequences and other control characters, which could rewrite the screen, the window title
/// or the clipboard, are shown escaped (`\x1b`); so are the characters that hide or disguise
/// text while looking like nothing (format characters such as zero-width spaces and joiners,
/// bidirectional marks and overrides, tag characters; line and paragraph separators:
/// `\u{202e}`). Tabs and line ends stay; a CR ending a line (CRLF) is shown as the line end.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.contains("\r\n") {
        return escape_where(text, acts_on_a_terminal);
    }
    let lines = text.replace("\r\n", "\n");
    Cow::Owned(escape_where(&lines, acts_on_a_terminal).into_owned())
}

/// Whether `c` could act on a terminal or hide text there: see [`terminal_safe`].
fn acts_on_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || hides_text(c)
}

/// Text that is shown as one line, such as a header value, made sure to be one: its line
/// breaks are shown escaped (`\x0a`), so a decoded header (`=?utf-8?Q?hi=0A...?=`) cannot
/// add lines of its choosing, such as a forged prompt. For every reader, terminal or not:
/// a script reading the output line by line is fooled as well.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape_where(text, is_line_break)
}

/// Whether some reader ends a line at `c`: at LF, CR, NEL (U+0085) and the line and
/// paragraph separators (U+2028, U+2029), which Unicode names as line breaks, with VT and
/// FF; at the information separators FS, GS and RS as well, as Python's `str.splitlines`.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Text for standard output: made [`terminal_safe`] when that is a terminal, passed
/// through unchanged into pipes and files.
pub fn for_screen(text: &str) -> Cow<'_, str> {
    static IS_TERMINAL: OnceLock<bool> = OnceLock::new();
    if *IS_TERMINAL.get_or_init(|| io::stdout().is_terminal()) {
        terminal_safe(text)
    } else {
        Cow::Borrowed(text)
    }
}

/// Not in the book: what comes before the login. CAPA is asked only where it serves: to
/// pipeline (when `pipeline`, the tool has commands to send together after the login), to
/// check that the server offers the `--auth` mechanism (an unknown name in its list is
/// ignored), and to switch to UTF8 (RFC 6856) when the user name or secret is not ASCII. So
/// the book's exchange stays the book's wherever nothing is gained, and always with
/// `--no-pipelining`. USER and PASS then travel together where the server offers
/// PIPELINING; commands for the mailbox go once the login's answer is in (see
/// [`Client::login`]).
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
    p.set_pipelining(may_pipeline && capabilities.as_ref().is_some_and(|c| c.has("PIPELINING")));
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
    use super::*;
    use anyhow::Context;

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
    fn external_asks_for_no_password() {
        let args = run_args(&["--auth", "external", "--cert", "me.pem", "h", "b"]);
        assert_eq!(*read_password(&args).unwrap(), "");
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
    fn secrets_from_a_command() {
        assert_eq!(
            *secret_from_command("echo token123", DEFAULT_TIMEOUT).unwrap(),
            "token123"
        );
        assert_eq!(
            *secret_from_command("printf 'two\\nlines\\r\\n'", DEFAULT_TIMEOUT).unwrap(),
            "two\nlines"
        );
        let failed = secret_from_command("echo partial; exit 3", DEFAULT_TIMEOUT)
            .unwrap_err()
            .to_string();
        assert_eq!(failed, "--password-command failed (exit status: 3)");
        assert_eq!(
            secret_from_command("true", DEFAULT_TIMEOUT)
                .unwrap_err()
                .to_string(),
            "--password-command printed nothing"
        );
    }

    #[test]
    fn terminal_safe_escapes_what_could_act_on_a_terminal() {
        assert!(matches!(terminal_safe("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_safe("a\u{1b}]0;title\u{7}b"),
            "a\\x1b]0;title\\x07b"
        );
        assert_eq!(terminal_safe("line\r\nnext\rover"), "line\nnext\\x0dover");
        assert_eq!(
            terminal_safe("\u{9b}31m \u{202e}txt.exe"),
            "\\x9b31m \\u{202e}txt.exe"
        );
        assert_eq!(terminal_safe("\u{0}\u{7f}\u{85}"), "\\x00\\x7f\\x85");
    }

    #[test]
    fn terminal_safe_escapes_what_hides_text() {
        let cases = [
            ("zero-width space", "pay\u{200b}pal", "pay\\u{200b}pal"),
            ("zero-width non-joiner", "a\u{200c}b", "a\\u{200c}b"),
            ("zero-width joiner", "a\u{200d}b", "a\\u{200d}b"),
            ("BOM", "\u{feff}Subject", "\\u{feff}Subject"),
            ("LRM", "a\u{200e}b", "a\\u{200e}b"),
            ("RLM", "a\u{200f}b", "a\\u{200f}b"),
            ("ALM", "a\u{61c}b", "a\\u{61c}b"),
            ("bidi isolate", "\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            (
                "tag characters",
                "ok\u{e0001}\u{e0041}\u{e007f}",
                "ok\\u{e0001}\\u{e0041}\\u{e007f}",
            ),
            ("line separator", "one\u{2028}two", "one\\u{2028}two"),
            ("paragraph separator", "one\u{2029}two", "one\\u{2029}two"),
            ("soft hyphen", "a\u{ad}b", "a\\xadb"),
        ];
        for (what, text, shown) in cases {
            assert_eq!(terminal_safe(text), shown, "{what}");
        }
        // Neighbours that show as themselves.
        let visible = "caf\u{e9} \u{a0}\u{2027}\u{202f}\u{2070}\u{fe0f}\u{1f600}";
        assert!(matches!(terminal_safe(visible), Cow::Borrowed(_)));
    }

    #[test]
    fn one_line_escapes_every_line_break_and_nothing_else() {
        let forged = "hi\nRead this message [ny]?";
        assert_eq!(one_line(forged), "hi\\x0aRead this message [ny]?");
        assert_eq!(
            one_line("a\r\nb\rc\u{b}d\u{c}e\u{1c}f\u{1d}g\u{1e}h"),
            "a\\x0d\\x0ab\\x0dc\\x0bd\\x0ce\\x1cf\\x1dg\\x1eh"
        );
        assert_eq!(
            one_line("nel\u{85}ls\u{2028}ps\u{2029}"),
            "nel\\x85ls\\u{2028}ps\\u{2029}"
        );
        let kept = "tab\there \u{1b}[31m \u{202e}x \u{200b}";
        assert!(matches!(one_line(kept), Cow::Borrowed(_)));
        // On a terminal the header is then made terminal-safe: the escapes stay as they are.
        assert_eq!(terminal_safe(&one_line(forged)), one_line(forged));
    }

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

    const READY: &str = "+OK ready\r\n";

    #[test]
    fn quit_follows_a_refusal_and_the_tools_own_failure() {
        let stream = Shared::new(&format!("{READY}-ERR no such message\r\n+OK bye\r\n"));
        let mut client = Client::new(stream.clone()).unwrap();
        let refused = client.dele(9).map(|_| ExitCode::SUCCESS);
        let error = quit(client, refused).unwrap_err();
        assert_eq!(format!("{error:#}"), "-ERR no such message");
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
