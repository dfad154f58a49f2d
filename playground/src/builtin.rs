//! The built-in POP3 server, for machines without Dovecot: RFC 1939 with CAPA, STLS, APOP,
//! UIDL, TOP, PIPELINING and SASL (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256), over
//! real TLS, on a Maildir; deletions applied only at QUIT.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use md5::{Digest, Md5};
use rustls::ServerConfig;

use crate::certs::CertFiles;
use crate::conn::{start_tls, tls, tls_config, Conn};
use crate::mailbox::{message_files, wire_size};
use crate::sasl::{self, Outcome, ScramHash};
use crate::{PASSWORD, USER};

/// How long a client may stay silent before the server hangs up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest command line accepted (RFC 2449 allows 255 octets; some slack).
const MAX_COMMAND: usize = 1024;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A running built-in server; stopped when dropped.
pub struct BuiltinServer {
    addresses: Vec<SocketAddr>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// What the built-in server does where servers differ.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Offer APOP (a timestamp in the greeting).
    pub apop: bool,
    /// Like Courier: commands read before the login's answer are lost (Courier's login
    /// process reads them, then starts the mailbox process, which never sees them).
    pub loses_commands_sent_with_login: bool,
}

struct Shared {
    behaviour: Behaviour,
    maildir: PathBuf,
    tls: Arc<ServerConfig>,
    in_use: Mutex<bool>,
    sessions: AtomicU64,
}

impl BuiltinServer {
    /// Serves `maildir` on `pop3` (plain, with STLS) and `pop3s` (implicit TLS).
    pub fn start(
        pop3: TcpListener,
        pop3s: TcpListener,
        maildir: &Path,
        certs: &CertFiles,
        behaviour: Behaviour,
    ) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            behaviour,
            maildir: maildir.to_owned(),
            tls: tls_config(certs)?,
            in_use: Mutex::new(false),
            sessions: AtomicU64::new(0),
        });
        let stopping = Arc::new(AtomicBool::new(false));
        let mut addresses = Vec::new();
        let mut threads = Vec::new();
        for (listener, implicit_tls) in [(pop3, false), (pop3s, true)] {
            addresses.push(listener.local_addr()?);
            let (shared, stopping) = (shared.clone(), stopping.clone());
            threads.push(std::thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = tcp else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        // A session's failure concerns that client only.
                        let _ = serve(tcp, implicit_tls, &shared);
                    });
                }
            }));
        }
        Ok(BuiltinServer {
            addresses,
            stopping,
            threads,
        })
    }
}

impl Drop for BuiltinServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        for address in &self.addresses {
            // Wakes the accepting thread so it sees the flag.
            let _ = TcpStream::connect(address);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One message of an open maildrop.
struct Entry {
    path: PathBuf,
    size: u64,
    uid: String,
    deleted: bool,
}

/// Held while a session has the mailbox open: a second login gets `[IN-USE]`.
struct MailboxLock<'a>(&'a Mutex<bool>);

impl Drop for MailboxLock<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = false;
    }
}

enum State<'a> {
    Authorization {
        user: Option<String>,
    },
    Transaction {
        messages: Vec<Entry>,
        _lock: MailboxLock<'a>,
    },
}

struct Session<'a> {
    shared: &'a Shared,
    reader: BufReader<Conn>,
    out: Vec<u8>,
    timestamp: String,
    state: State<'a>,
}

fn serve(tcp: TcpStream, implicit_tls: bool, shared: &Shared) -> io::Result<()> {
    tcp.set_read_timeout(Some(IDLE_TIMEOUT))?;
    tcp.set_write_timeout(Some(IDLE_TIMEOUT))?;
    tcp.set_nodelay(true)?;
    let conn = if implicit_tls {
        tls(tcp, &shared.tls)?
    } else {
        Conn::Plain(tcp)
    };
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let timestamp = format!(
        "<{}.{}.{}@playground>",
        std::process::id(),
        shared.sessions.fetch_add(1, Ordering::Relaxed),
        since_epoch.as_secs()
    );
    let mut session = Session {
        shared,
        reader: BufReader::new(conn),
        out: Vec::new(),
        timestamp,
        state: State::Authorization { user: None },
    };
    let greeting = match shared.behaviour.apop {
        true => format!("+OK POP3 playground ready. {}", session.timestamp),
        false => "+OK POP3 playground ready.".to_string(),
    };
    session.reply(&greeting);
    session.run()
}

impl Session<'_> {
    fn run(&mut self) -> io::Result<()> {
        let mut line = Vec::new();
        loop {
            // Pipelined commands are answered together: flush only when no command waits.
            if self.reader.buffer().is_empty() {
                self.flush()?;
            }
            line.clear();
            let read = (&mut self.reader)
                .take(MAX_COMMAND as u64)
                .read_until(b'\n', &mut line)?;
            if read == 0 {
                return Ok(()); // Dropped without QUIT: nothing is deleted.
            }
            if !line.ends_with(b"\n") {
                self.reply("-ERR Command line too long.");
                return self.flush();
            }
            let text = String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            let mut words = text.split(' ');
            let command = words.next().unwrap_or_default().to_ascii_uppercase();
            let args: Vec<&str> = words.collect();
            match self.command(&command, &args)? {
                Next::Continue => {}
                Next::Close => {
                    self.flush()?;
                    // A clean TLS ending, so clients can tell it from a cut connection.
                    if let Conn::Tls(tls) = self.reader.get_mut() {
                        tls.conn.send_close_notify();
                        tls.flush()?;
                    }
                    return Ok(());
                }
                Next::StartTls => {
                    self.flush()?;
                    start_tls(&mut self.reader, &self.shared.tls)?;
                }
            }
        }
    }

    fn command(&mut self, command: &str, args: &[&str]) -> io::Result<Next> {
        let in_transaction = matches!(self.state, State::Transaction { .. });
        match (command, args.len(), in_transaction) {
            ("CAPA", 0, _) => self.capa(),
            ("NOOP", 0, true) => self.reply("+OK"),
            ("QUIT", 0, _) => return self.quit().map(|()| Next::Close),
            ("STLS", 0, false) if matches!(self.reader.get_ref(), Conn::Plain(_)) => {
                self.reply("+OK Begin TLS negotiation now.");
                return Ok(Next::StartTls);
            }
            ("USER", 1, false) => {
                self.state = State::Authorization {
                    user: Some(args[0].to_string()),
                };
                self.reply("+OK");
            }
            ("PASS", _, false) => {
                let password = args.join(" ");
                let user = match &self.state {
                    State::Authorization { user } => user.clone(),
                    State::Transaction { .. } => None,
                };
                match user {
                    Some(user) => self.log_in(user == USER && password == PASSWORD),
                    None => self.reply("-ERR No username given."),
                }
            }
            ("AUTH", 1 | 2, false) => {
                let initial = args
                    .get(1)
                    .map(|text| BASE64.decode(text).unwrap_or_default());
                let outcome = match args[0].to_ascii_uppercase().as_str() {
                    "PLAIN" => self.plain(initial)?,
                    "LOGIN" => sasl::login(self, USER, PASSWORD)?,
                    // The APOP timestamp is a fine CRAM-MD5 challenge: unique, `<...@host>`.
                    "CRAM-MD5" => {
                        let timestamp = self.timestamp.clone();
                        sasl::cram_md5(self, &timestamp, USER, PASSWORD)?
                    }
                    "SCRAM-SHA-1" => sasl::scram(self, ScramHash::Sha1, initial, USER, PASSWORD)?,
                    "SCRAM-SHA-256" => {
                        sasl::scram(self, ScramHash::Sha256, initial, USER, PASSWORD)?
                    }
                    _ => {
                        self.reply("-ERR Unsupported authentication mechanism.");
                        return Ok(Next::Continue);
                    }
                };
                match outcome {
                    Outcome::Valid => self.log_in(true),
                    Outcome::Invalid => self.log_in(false),
                    Outcome::Aborted => self.reply("-ERR Authentication aborted by client."),
                }
            }
            ("APOP", 2, false) if self.shared.behaviour.apop => {
                let expected = Md5::new()
                    .chain_update(self.timestamp.as_bytes())
                    .chain_update(PASSWORD.as_bytes())
                    .finalize();
                let expected: String = expected.iter().map(|b| format!("{b:02x}")).collect();
                self.log_in(args[0] == USER && args[1].eq_ignore_ascii_case(&expected));
            }
            ("STAT", 0, true) => {
                let (count, size) = self.live().fold((0, 0), |(count, size), (_, entry)| {
                    (count + 1, size + entry.size)
                });
                self.reply(&format!("+OK {count} {size}"));
            }
            ("LIST", 0, true) => {
                let lines: Vec<String> = self
                    .live()
                    .map(|(n, e)| format!("{n} {}", e.size))
                    .collect();
                self.listing("+OK", &lines);
            }
            ("LIST", 1, true) => {
                if let Some((n, size)) = self.message(args[0]).map(|(n, e)| (n, e.size)) {
                    self.reply(&format!("+OK {n} {size}"));
                }
            }
            ("UIDL", 0, true) => {
                let lines: Vec<String> =
                    self.live().map(|(n, e)| format!("{n} {}", e.uid)).collect();
                self.listing("+OK", &lines);
            }
            ("UIDL", 1, true) => {
                if let Some(line) = self
                    .message(args[0])
                    .map(|(n, e)| format!("+OK {n} {}", e.uid))
                {
                    self.reply(&line);
                }
            }
            ("RETR", 1, true) => {
                if let Some(path) = self.message(args[0]).map(|(_, e)| e.path.clone()) {
                    self.send_message(&path, None)?;
                }
            }
            ("TOP", 2, true) => match args[1].parse::<u64>() {
                Ok(lines) => {
                    if let Some(path) = self.message(args[0]).map(|(_, e)| e.path.clone()) {
                        self.send_message(&path, Some(lines))?;
                    }
                }
                Err(_) => self.reply("-ERR Invalid number of lines."),
            },
            ("DELE", 1, true) => {
                if let Some((_, entry)) = self.message_mut(args[0]) {
                    entry.deleted = true;
                    self.reply("+OK Marked to be deleted.");
                }
            }
            ("RSET", 0, true) => {
                if let State::Transaction { messages, .. } = &mut self.state {
                    messages.iter_mut().for_each(|m| m.deleted = false);
                }
                self.reply("+OK");
            }
            _ => self.reply("-ERR Unknown command or wrong arguments in this state."),
        }
        Ok(Next::Continue)
    }

    /// PLAIN (RFC 4616): authzid NUL authcid NUL password, with AUTH or after `+ `.
    fn plain(&mut self, initial: Option<Vec<u8>>) -> io::Result<Outcome> {
        let response = match initial {
            Some(initial) => initial,
            None => match sasl::Challenger::challenge(self, b"")? {
                Some(response) => response,
                None => return Ok(Outcome::Aborted),
            },
        };
        let fields: Vec<&[u8]> = response.split(|&b| b == 0).collect();
        let valid = matches!(fields.as_slice(), [b"" | b"brandon", user, password]
            if *user == USER.as_bytes() && *password == PASSWORD.as_bytes());
        Ok(valid.into())
    }

    fn capa(&mut self) {
        let sasl_line = format!("SASL {}", sasl::MECHANISMS);
        let mut lines = vec![
            "TOP",
            "UIDL",
            "RESP-CODES",
            "PIPELINING",
            "USER",
            &sasl_line,
        ];
        if matches!(self.reader.get_ref(), Conn::Plain(_))
            && matches!(self.state, State::Authorization { .. })
        {
            lines.push("STLS");
        }
        lines.push("IMPLEMENTATION pop3-toolkit-playground");
        let lines: Vec<String> = lines.into_iter().map(String::from).collect();
        self.listing("+OK Capability list follows", &lines);
    }

    fn log_in(&mut self, credentials_ok: bool) {
        if !credentials_ok {
            self.state = State::Authorization { user: None };
            return self.reply("-ERR [AUTH] Authentication failed.");
        }
        let mut in_use = self.shared.in_use.lock().unwrap_or_else(|e| e.into_inner());
        if *in_use {
            return self.reply("-ERR [IN-USE] Mailbox is locked by another session.");
        }
        let messages = match load(&self.shared.maildir) {
            Ok(messages) => messages,
            Err(_) => return self.reply("-ERR [SYS/TEMP] Cannot open the mailbox."),
        };
        *in_use = true;
        drop(in_use);
        self.state = State::Transaction {
            messages,
            _lock: MailboxLock(&self.shared.in_use),
        };
        if self.shared.behaviour.loses_commands_sent_with_login {
            let early = self.reader.buffer().len();
            self.reader.consume(early);
        }
        self.reply("+OK Logged in.");
    }

    fn quit(&mut self) -> io::Result<()> {
        let State::Transaction { messages, .. } = &self.state else {
            self.reply("+OK Logging out.");
            return Ok(());
        };
        let mut deleted = false;
        for entry in messages.iter().filter(|e| e.deleted) {
            fs::remove_file(&entry.path)?;
            deleted = true;
        }
        self.reply(if deleted {
            "+OK Logging out, messages deleted."
        } else {
            "+OK Logging out."
        });
        self.state = State::Authorization { user: None };
        Ok(())
    }

    /// Numbered messages not marked as deleted.
    fn live(&self) -> impl Iterator<Item = (usize, &Entry)> {
        let messages = match &self.state {
            State::Transaction { messages, .. } => messages.as_slice(),
            State::Authorization { .. } => &[],
        };
        messages
            .iter()
            .enumerate()
            .map(|(i, e)| (i + 1, e))
            .filter(|(_, e)| !e.deleted)
    }

    /// The message an argument names, or an error reply.
    fn message(&mut self, arg: &str) -> Option<(usize, &Entry)> {
        self.message_mut(arg).map(|(n, e)| (n, &*e))
    }

    fn message_mut(&mut self, arg: &str) -> Option<(usize, &mut Entry)> {
        let State::Transaction { messages, .. } = &mut self.state else {
            return None;
        };
        let found = match arg.parse::<usize>() {
            Ok(n) if n >= 1 && n <= messages.len() => Ok(n),
            Ok(_) => Err(format!("-ERR There's no message {arg}.")),
            Err(_) => Err("-ERR Invalid message number.".to_string()),
        };
        match found {
            Ok(n) if messages[n - 1].deleted => {
                self.out.extend_from_slice(b"-ERR Message is deleted.\r\n");
                None
            }
            Ok(n) => match &mut self.state {
                State::Transaction { messages, .. } => Some((n, &mut messages[n - 1])),
                State::Authorization { .. } => None,
            },
            Err(reply) => {
                self.reply(&reply);
                None
            }
        }
    }

    /// RETR (all) or TOP (headers and `body_lines`), dot-stuffed with CRLF line ends.
    fn send_message(&mut self, path: &Path, body_lines: Option<u64>) -> io::Result<()> {
        let mut file = BufReader::new(fs::File::open(path)?);
        self.reply("+OK");
        let mut line = Vec::new();
        let mut in_body = false;
        let mut body_sent = 0;
        loop {
            line.clear();
            if file.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let content = line.strip_suffix(b"\n").unwrap_or(&line);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            if in_body && body_lines.is_some_and(|max| body_sent >= max) {
                break;
            }
            if content.starts_with(b".") {
                self.out.push(b'.');
            }
            self.out.extend_from_slice(content);
            self.out.extend_from_slice(b"\r\n");
            if in_body {
                body_sent += 1;
            }
            in_body |= content.is_empty();
            if self.out.len() > 64 * 1024 {
                self.flush()?;
            }
        }
        self.out.extend_from_slice(b".\r\n");
        Ok(())
    }

    fn listing(&mut self, status: &str, lines: &[String]) {
        self.reply(status);
        for line in lines {
            self.reply(line);
        }
        self.reply(".");
    }

    fn reply(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn flush(&mut self) -> io::Result<()> {
        let conn = self.reader.get_mut();
        conn.write_all(&self.out)?;
        conn.flush()?;
        self.out.clear();
        Ok(())
    }
}

impl sasl::Challenger for Session<'_> {
    fn challenge(&mut self, challenge: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.reply(&format!("+ {}", BASE64.encode(challenge)));
        self.flush()?;
        let mut line = String::new();
        (&mut self.reader)
            .take(MAX_COMMAND as u64)
            .read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']);
        // `*` cancels (RFC 5034); what is not base64 is taken as a cancel too.
        Ok(BASE64.decode(line).ok().filter(|_| line != "*"))
    }
}

enum Next {
    Continue,
    Close,
    StartTls,
}

/// Opens the maildrop: every message file with its wire size and a UID from its name.
fn load(maildir: &Path) -> io::Result<Vec<Entry>> {
    message_files(maildir)?
        .into_iter()
        .map(|path| {
            let size = wire_size(&fs::read(&path)?);
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let uid = name.split(':').next().unwrap_or_default().to_string();
            Ok(Entry {
                path,
                size,
                uid,
                deleted: false,
            })
        })
        .collect()
}
