//! The POP3 client, layered like CPython's poplib: put line, get line, get response,
//! get multi-line response, then one short method per command.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::capped::Capped;
use crate::error::{Error, Result, ServerError};
use crate::response::{self, Capabilities, ScanListing, Stat, UniqueId};
use crate::sasl::Mechanism;

/// The longest status or listing line accepted, terminator included. Message data lines
/// have no limit: they are streamed.
pub const MAX_LINE: usize = 8 * 1024;
/// The longest command line a client may send, CRLF included (RFC 2449).
const MAX_COMMAND_LINE: usize = 255;

/// Size of the read buffer, the only memory a streamed RETR needs whatever the message size.
const BUFFER_SIZE: usize = 64 * 1024;

/// What the trace shows instead of a secret.
const MASK: &str = "********";

/// A POP3 session over any byte stream: a TCP or TLS connection, or a scripted stream in tests.
///
/// Created by reading the server's greeting. Each command is one method named after it.
///
/// ```
/// use pop3_core::{Client, scripted::ScriptedStream};
///
/// let server = "+OK ready\r\n+OK\r\n+OK logged in\r\n+OK 2 320\r\n+OK bye\r\n";
/// let mut client = Client::new(ScriptedStream::new(server))?;
/// client.user("brandon")?;
/// client.pass("abc123")?;
/// let stat = client.stat()?;
/// assert_eq!((stat.count, stat.size), (2, 320));
/// client.quit()?;
/// # Ok::<(), pop3_core::Error>(())
/// ```
pub struct Client<S> {
    stream: S,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    greeting: String,
    trace: Option<Box<dyn Write + Send>>,
    /// Set on connections known to be unencrypted: PASS is then refused.
    refuse_password: bool,
    /// Send commands whose answers can wait without waiting (RFC 2449 PIPELINING).
    pipelining: bool,
    /// Commands sent whose answers are still to be read, oldest first.
    pending: VecDeque<Sent>,
    /// Answers to commands sent ahead, read before they were asked for (because a later
    /// command's answer was wanted first), oldest first.
    kept: VecDeque<Kept>,
    /// The most message data (TOP, RETR) kept in memory at a time for answers read ahead
    /// of their methods; what arrives beyond is counted, not kept.
    kept_limit: usize,
    /// Messages not marked as deleted, as last counted by STAT and kept up by DELE and
    /// RSET: a LIST longer than that is a broken or lying server.
    live_messages: Option<LiveCount>,
    /// DELE commands sent in this session since the last RSET.
    marked: u32,
    /// The server accepted a login: the session is in the TRANSACTION state.
    logged_in: bool,
    /// The protocol error after which the server's answers can no longer be matched to
    /// the commands: nothing more is sent, QUIT included.
    out_of_step: Option<String>,
}

/// A command that can travel before its answer is wanted, with [`Client::send_ahead`]: the
/// method of the same name later reads (or finds) its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ahead {
    /// STAT, for [`Client::stat`].
    Stat,
    /// LIST, for [`Client::list`] and [`Client::list_each`].
    List,
    /// TOP, for [`Client::top`] and [`Client::top_to`] with the same arguments.
    Top {
        /// The message.
        number: u32,
        /// How many lines of the body.
        lines: u32,
    },
    /// RETR, for [`Client::retr`] and [`Client::retr_to`].
    Retr(u32),
    /// QUIT, for [`Client::quit`]: the last command sent, as the server closes after it.
    Quit,
}

impl Ahead {
    /// The command line, the same whether sent ahead or by its method: an answer sent
    /// ahead is found by it.
    fn line(self) -> String {
        match self {
            Ahead::Stat => "STAT".into(),
            Ahead::List => "LIST".into(),
            Ahead::Top { number, lines } => format!("TOP {number} {lines}"),
            Ahead::Retr(number) => format!("RETR {number}"),
            Ahead::Quit => "QUIT".into(),
        }
    }

    fn multi_line(self) -> bool {
        matches!(self, Ahead::List | Ahead::Top { .. } | Ahead::Retr(_))
    }
}

/// A command sent whose answer is still to be read.
struct Sent {
    line: String,
    multi_line: bool,
    /// Message data (TOP, RETR), which [`Client::set_kept_limit`] bounds when kept.
    message_data: bool,
    /// Kept for the method that will ask for it (sent ahead); otherwise only checked (DELE),
    /// a refusal being reported with the next answer asked for.
    keep: bool,
}

/// An answer read before it was asked for: status line and, when multi-line, the data.
struct Kept {
    line: String,
    answer: Result<(String, Vec<u8>)>,
    /// Octets of message data that arrived beyond the kept limit: counted, not kept.
    dropped: u64,
}

/// Where a command's answer is: its status line read and any data still on the stream, or
/// read earlier and kept (with the octets dropped beyond the kept limit).
enum Reply {
    Live(String),
    Kept(String, Vec<u8>, u64),
}

/// STAT's count, and how many deletions were marked when it was taken.
#[derive(Clone, Copy)]
struct LiveCount {
    counted: u32,
    marked_then: u32,
}

impl<S: Read + Write> Client<S> {
    /// Starts a session on `stream`: reads the greeting, which must be `+OK`.
    pub fn new(stream: S) -> Result<Self> {
        Self::start(stream, None)
    }

    /// Like [`Client::new`], and writes every line exchanged (`C: ...` / `S: ...`) to `trace`,
    /// with passwords and APOP digests masked.
    pub fn with_trace(stream: S, trace: Box<dyn Write + Send>) -> Result<Self> {
        Self::start(stream, Some(trace))
    }

    fn start(stream: S, trace: Option<Box<dyn Write + Send>>) -> Result<Self> {
        let buffer = vec![0; BUFFER_SIZE].into_boxed_slice();
        let mut client = Self::fresh(stream, buffer, String::new(), trace);
        client.greeting = client.get_response()?;
        Ok(client)
    }

    /// A session with nothing read, sent or decided yet on `stream` (at the start, and after
    /// STLS, which forgets all that came before it).
    fn fresh(
        stream: S,
        buffer: Box<[u8]>,
        greeting: String,
        trace: Option<Box<dyn Write + Send>>,
    ) -> Self {
        Client {
            stream,
            buffer,
            start: 0,
            end: 0,
            greeting,
            trace,
            refuse_password: false,
            pipelining: false,
            pending: VecDeque::new(),
            kept: VecDeque::new(),
            kept_limit: usize::MAX,
            live_messages: None,
            marked: 0,
            logged_in: false,
            out_of_step: None,
        }
    }

    /// The server's greeting line, e.g. `+OK Dovecot ready.`
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Marks the connection as unencrypted: from now on [`Client::pass`] refuses to send the
    /// password (APOP, which sends only a digest, still works). [`crate::Connector`] does
    /// this for plaintext connections unless told the user accepts the risk.
    pub fn refuse_password_in_clear(&mut self) {
        self.refuse_password = true;
    }

    // ---- The line layer ----

    /// Sends one command line. `traced` is what the trace shows (secrets masked).
    /// A line break inside would let an argument inject commands, so it is refused.
    fn put_line(&mut self, line: &str, traced: &str) -> Result<()> {
        self.put(line, traced, Some(MAX_COMMAND_LINE))
    }

    /// Sends a line of a SASL exchange after AUTH (RFC 5034): not a command, so no
    /// 255-octet bound (an OAuth token is often longer).
    fn put_sasl_line(&mut self, line: &str, traced: &str) -> Result<()> {
        self.put(line, traced, None)
    }

    fn put(&mut self, line: &str, traced: &str, longest: Option<usize>) -> Result<()> {
        let verb = traced.split(' ').next().unwrap_or_default();
        if let Some(why) = &self.out_of_step {
            return Err(Error::Protocol(format!(
                "{verb} not sent: the session is out of step with the server ({why})"
            )));
        }
        // With nothing in flight, whatever has arrived was asked for by no command: the
        // server is ahead of the session, and the next answer would be taken for this
        // command's.
        if self.pending.is_empty() && self.start < self.end {
            let unasked = self.end - self.start;
            return Err(self.lose_step(Error::Protocol(format!(
                "the server sent {unasked} bytes no command asked for, before {verb}"
            ))));
        }
        check_line(line, verb, longest)?;
        if self.pending.iter().any(|sent| sent.line == "QUIT") {
            return Err(Error::QuitAhead);
        }
        self.trace("C", traced);
        // One write, so the command goes out in one packet (one TLS record); wiped after, as
        // it may hold a password.
        let mut bytes = Zeroizing::new(Vec::with_capacity(line.len() + 2));
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.stream.write_all(&bytes)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Reads more bytes into the buffer. `false` at end of stream.
    fn fill(&mut self) -> Result<bool> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buffer.len() {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        debug_assert!(
            self.end < self.buffer.len(),
            "buffer full: no line may be that long"
        );
        loop {
            match self.stream.read(&mut self.buffer[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A TLS peer that closes without close_notify: the end of the stream, and
                // callers say where it ended. A cut response is never taken as complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
                // Where the answer stopped is unknown now: nothing more may be sent.
                Err(e) => return Err(self.lose_step(e.into())),
            }
        }
    }

    /// Makes at least `count` bytes available. `false` if the stream ended first.
    fn fill_to(&mut self, count: usize) -> Result<bool> {
        while self.end - self.start < count {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads one line of at most [`MAX_LINE`] bytes, without its CRLF (or bare LF).
    /// `during` says what was being read, for the error should the server close first.
    fn get_line(&mut self, during: &str) -> Result<Vec<u8>> {
        let mut searched = 0;
        loop {
            let pending = &self.buffer[self.start..self.end];
            if let Some(i) = memchr::memchr(b'\n', &pending[searched..]) {
                let newline = searched + i;
                let line = pending[..newline]
                    .strip_suffix(b"\r")
                    .unwrap_or(&pending[..newline]);
                let line = line.to_vec();
                self.start += newline + 1;
                return Ok(line);
            }
            searched = pending.len();
            if searched >= MAX_LINE {
                return Err(self.lose_step(Error::Protocol(format!(
                    "the server sent a line longer than {MAX_LINE} bytes"
                ))));
            }
            if !self.fill()? {
                return Err(closed(if searched == 0 {
                    during
                } else {
                    "in the middle of a line"
                }));
            }
        }
    }

    /// Reads one status line, as text.
    fn get_status_line(&mut self) -> Result<String> {
        let line = String::from_utf8_lossy(&self.get_line("before answering")?).into_owned();
        self.trace("S", &line);
        Ok(line)
    }

    /// Reads a status line: `+OK ...` is returned whole, `-ERR ...` becomes [`Error::Server`].
    fn get_response(&mut self) -> Result<String> {
        let line = self.get_status_line()?;
        if line.starts_with("+OK") {
            Ok(line)
        } else if line.starts_with("-ERR") {
            Err(Error::Server(ServerError::new(line)))
        } else {
            Err(self.lose_step(Error::Protocol(format!(
                "expected +OK or -ERR, got {:?}",
                response::shorten(&line)
            ))))
        }
    }

    /// Notes a protocol error: the server no longer answers as this session expects, so
    /// nothing more is sent to it. Without QUIT, nothing marked is deleted (RFC 1939).
    fn lose_step(&mut self, error: Error) -> Error {
        match &error {
            Error::Protocol(what) => {
                self.out_of_step.get_or_insert_with(|| what.clone());
            }
            Error::Io(_) | Error::Tls(_) | Error::Timeout => {
                self.out_of_step
                    .get_or_insert_with(|| format!("the connection failed: {error}"));
            }
            _ => {}
        }
        error
    }

    /// `result`, a protocol error in it noted by [`Client::lose_step`].
    fn in_step<T>(&mut self, result: Result<T>) -> Result<T> {
        result.map_err(|e| self.lose_step(e))
    }

    /// Reads one line of a multi-line listing (LIST, UIDL, CAPA), dot-unstuffed;
    /// `None` at the terminating `.`.
    fn get_listing_line(&mut self) -> Result<Option<String>> {
        let line = self.get_line("in the middle of a multi-line response")?;
        if line == b"." {
            self.trace("S", ".");
            return Ok(None);
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        let line = String::from_utf8_lossy(line).into_owned();
        self.trace("S", &line);
        Ok(Some(line))
    }

    /// Streams multi-line message data into `out`, dot-unstuffed, line ends kept as sent,
    /// until the terminating `.`. Lines of any length pass; memory stays one buffer.
    /// Returns the number of octets written.
    fn copy_data(&mut self, out: &mut dyn Write) -> Result<u64> {
        let truncated = || closed("in the middle of a multi-line response");
        let mut copied = 0u64;
        let mut at_line_start = true;
        loop {
            if at_line_start {
                // Up to three bytes tell the terminator (".\r\n" or ".\n") from a stuffed dot.
                if !self.fill_to(1)? {
                    return Err(truncated());
                }
                if self.buffer[self.start] == b'.' {
                    if !self.fill_to(2)? {
                        return Err(truncated());
                    }
                    let second = self.buffer[self.start + 1];
                    let terminator_len = match second {
                        b'\n' => Some(2),
                        b'\r' if self.fill_to(3)? && self.buffer[self.start + 2] == b'\n' => {
                            Some(3)
                        }
                        _ => None,
                    };
                    if let Some(len) = terminator_len {
                        self.start += len;
                        self.trace("S", &format!("[{copied} octets of message data]"));
                        self.trace("S", ".");
                        return Ok(copied);
                    }
                    self.start += 1;
                }
            }
            if self.start == self.end && !self.fill()? {
                return Err(truncated());
            }
            // Everything up to a line that starts with a dot (or whose start is not here yet)
            // goes out in one write: only those line starts need a look.
            let pending = &self.buffer[self.start..self.end];
            // A newline at the very end is a cut too, so without one the line goes on.
            let cut = memchr::memmem::find(pending, b"\n.")
                .or_else(|| pending.ends_with(b"\n").then(|| pending.len() - 1))
                .map(|newline| newline + 1);
            let (len, ends_line) = match cut {
                Some(len) => (len, true),
                None => (pending.len(), false),
            };
            out.write_all(&pending[..len])?;
            copied += len as u64;
            self.start += len;
            at_line_start = ends_line;
        }
    }

    /// Sends `line` unless it went ahead, reads the answers to the commands sent before it,
    /// then its status line; an answer read earlier and kept is taken instead. A refusal of
    /// an earlier command (DELE) is reported here, once this answer has been read to its end
    /// so that the session stays in step.
    fn exchange(&mut self, line: &str, multi_line: bool) -> Result<Reply> {
        if let Some(i) = self.kept.iter().position(|kept| kept.line == line) {
            let kept = self.kept.remove(i).expect("found above");
            let dropped = kept.dropped;
            return kept
                .answer
                .map(|(status, data)| Reply::Kept(status, data, dropped));
        }
        let sent_ahead = self.pending.iter().position(|sent| sent.line == line);
        let earlier = match sent_ahead {
            Some(i) => i,
            None => {
                self.put_line(line, line)?;
                self.pending.len()
            }
        };
        let refusal = self.settle(earlier)?;
        if sent_ahead.is_some() {
            self.pending.pop_front();
        }
        let status = self.get_response();
        match refusal {
            None => status.map(Reply::Live),
            Some(refusal) => {
                if multi_line && status.is_ok() {
                    self.copy_data(&mut io::sink())?;
                }
                Err(refusal)
            }
        }
    }

    /// Reads the answers to the `count` oldest commands sent without waiting: those sent
    /// ahead are kept for their methods, and the first refusal among the others returned.
    fn settle(&mut self, count: usize) -> Result<Option<Error>> {
        let mut refused = None;
        for sent in self.pending.drain(..count).collect::<Vec<_>>() {
            let mut dropped = 0;
            let answer = match self.get_response() {
                Ok(status) if sent.multi_line => {
                    let room = match sent.message_data {
                        true => self.kept_limit.saturating_sub(self.kept_octets()),
                        false => usize::MAX,
                    };
                    let mut data = Capped::new(room);
                    self.copy_data(&mut data)?;
                    dropped = data.dropped();
                    Ok((status, data.kept))
                }
                Ok(status) => Ok((status, Vec::new())),
                Err(Error::Server(e)) => Err(Error::Server(e)),
                Err(fatal) => return Err(fatal),
            };
            match (sent.keep, answer) {
                (true, answer) => self.kept.push_back(Kept {
                    line: sent.line,
                    answer,
                    dropped,
                }),
                (false, Err(refusal)) => {
                    refused.get_or_insert(refusal);
                }
                (false, Ok(_)) => {}
            }
        }
        Ok(refused)
    }

    /// Octets of data held in kept answers.
    fn kept_octets(&self) -> usize {
        let data = |kept: &Kept| kept.answer.as_ref().map_or(0, |(_, data)| data.len());
        self.kept.iter().map(data).sum()
    }

    /// A command with a one-line answer.
    fn short_cmd(&mut self, line: &str) -> Result<String> {
        match self.exchange(line, false)? {
            Reply::Live(status) | Reply::Kept(status, ..) => Ok(status),
        }
    }

    /// A command with a multi-line data answer (RETR, TOP), written into `out`; returns the
    /// octets the server sent (more than were written when a kept answer was cut).
    fn data_cmd(&mut self, line: &str, out: &mut dyn Write) -> Result<u64> {
        match self.exchange(line, true)? {
            Reply::Live(_) => self.copy_data(out),
            Reply::Kept(_, data, dropped) => {
                out.write_all(&data)?;
                Ok(data.len() as u64 + dropped)
            }
        }
    }

    /// A command with a multi-line listing answer; `each` gets every line.
    fn listing_cmd(
        &mut self,
        line: &str,
        mut each: impl FnMut(&str) -> Result<()>,
    ) -> Result<String> {
        let mut first_error = None;
        // Read on to the end after a bad line, so the session stays in step.
        let mut take = |line: &str| {
            if let Err(e) = each(line) {
                first_error.get_or_insert(e);
            }
        };
        let status = match self.exchange(line, true)? {
            Reply::Live(status) => {
                while let Some(line) = self.get_listing_line()? {
                    take(&line);
                }
                status
            }
            Reply::Kept(status, data, _) => {
                // Kept data is already dot-unstuffed, each line ending as sent.
                for line in data.split_inclusive(|&b| b == b'\n') {
                    let line = line.strip_suffix(b"\n").unwrap_or(line);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    take(&String::from_utf8_lossy(line));
                }
                status
            }
        };
        match first_error {
            Some(e) => Err(self.lose_step(e)),
            None => Ok(status),
        }
    }

    fn trace(&mut self, side: &str, text: &str) {
        if let Some(trace) = &mut self.trace {
            // Server text may hold escape sequences or characters that disguise it: show
            // them, never let them act.
            let _ = writeln!(trace, "{side}: {}", crate::escape::trace_line(text));
        }
    }

    // ---- Commands (RFC 1939, RFC 2449, RFC 2595) ----

    /// USER: names the mailbox.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n"))?;
    /// client.user("brandon")?;
    /// assert_eq!(client.get_ref().written_text(), "USER brandon\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn user(&mut self, name: &str) -> Result<String> {
        self.short_cmd(&format!("USER {name}"))
    }

    /// PASS: the password, masked in the trace. Refused on a connection marked unencrypted.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n+OK logged in\r\n"))?;
    /// client.user("brandon")?;
    /// assert_eq!(client.pass("abc123")?, "+OK logged in");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn pass(&mut self, password: &str) -> Result<String> {
        self.put_pass(password)?;
        let answer = self.get_response();
        self.note_login(answer)
    }

    /// Notes a login's answer: accepted, the session is in the TRANSACTION state.
    fn note_login(&mut self, answer: Result<String>) -> Result<String> {
        self.logged_in |= answer.is_ok();
        answer
    }

    /// Whether the server accepted a login (PASS, APOP or AUTH) in this session: only then
    /// can QUIT apply deletions.
    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// Sends PASS, masked in the trace and wiped after; refused on a connection marked
    /// unencrypted.
    fn put_pass(&mut self, password: &str) -> Result<()> {
        self.check_secret_may_travel()?;
        let line = Zeroizing::new(format!("PASS {password}"));
        self.put_line(&line, &format!("PASS {MASK}"))
    }

    /// Secrets (passwords, tokens) do not travel on a connection marked unencrypted.
    fn check_secret_may_travel(&self) -> Result<()> {
        if self.refuse_password {
            return Err(Error::SecretInClear);
        }
        Ok(())
    }

    /// AUTH (RFC 5034): logs in with a SASL mechanism; `secret` is the password (PLAIN) or
    /// the OAuth 2 access token (XOAUTH2, OAUTHBEARER). The response goes on the AUTH line
    /// when that stays within 255 octets, otherwise after the server's `+` (the two-step
    /// form Microsoft requires for its long tokens). When the server answers the response
    /// with an error challenge (a base64 JSON report, for the OAuth mechanisms), the exchange
    /// is finished as the mechanism says and the decoded report is kept in the error's
    /// [`ServerError::details`]. Secrets are masked in the trace.
    ///
    /// ```
    /// # use pop3_core::{Client, Mechanism, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+ \r\n+OK welcome\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.authenticate(Mechanism::XOAuth2, "someuser@example.com", &"t".repeat(300))?;
    /// assert!(client.get_ref().written_text().starts_with("AUTH XOAUTH2\r\ndXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQF"));
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn authenticate(
        &mut self,
        mechanism: Mechanism,
        user: &str,
        secret: &str,
    ) -> Result<String> {
        use base64::Engine as _;
        const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
        self.check_secret_may_travel()?;
        let name = mechanism.name();
        let response = Zeroizing::new(BASE64.encode(mechanism.response(user, secret).as_bytes()));
        let inline = Zeroizing::new(format!("AUTH {name} {}", *response));
        // RFC 5034: a command line of at most 255 octets, CRLF included.
        let mut sent = inline.len() + 2 <= MAX_COMMAND_LINE;
        if sent {
            self.put_line(&inline, &format!("AUTH {name} {MASK}"))?;
        } else {
            let command = format!("AUTH {name}");
            self.put_line(&command, &command)?;
        }
        let mut explained = None;
        for _ in 0..4 {
            let line = self.get_status_line()?;
            if line.starts_with("+OK") {
                self.logged_in = true;
                return Ok(line);
            }
            if line.starts_with("-ERR") {
                return Err(Error::Server(
                    ServerError::new(line).with_details(explained),
                ));
            }
            let Some(challenge) = line.strip_prefix('+') else {
                return Err(self.lose_step(Error::Protocol(format!(
                    "expected +OK, -ERR or a + challenge to AUTH, got {:?}",
                    response::shorten(&line)
                ))));
            };
            if sent {
                // A challenge after the response is the server explaining its refusal.
                let report = BASE64.decode(challenge.trim()).unwrap_or_default();
                explained = Some(String::from_utf8_lossy(&report).into_owned());
                self.put_sasl_line(mechanism.after_error(), "")?;
            } else {
                self.put_sasl_line(&response, MASK)?;
                sent = true;
            }
        }
        Err(self.lose_step(Error::Protocol(
            "AUTH: the server kept sending challenges".into(),
        )))
    }

    /// UTF8 (RFC 6856): from now on user names, passwords and mail may be UTF-8. Send it
    /// only when CAPA lists `UTF8`.
    pub fn utf8(&mut self) -> Result<String> {
        self.short_cmd("UTF8")
    }

    /// USER then PASS; with pipelining, both are sent before either answer is read.
    ///
    /// Nothing else goes out with them, whatever is pipelined: a server may change process
    /// or state at the login's answer (Courier starts the mailbox process then, and loses
    /// what it had already read), so commands for the mailbox are sent once it has come,
    /// with [`Client::send_ahead`] where they can still travel together.
    ///
    /// ```
    /// # use pop3_core::{Ahead, Client, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+OK\r\n+OK logged in\r\n+OK 2 320\r\n+OK bye\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.set_pipelining(true); // the server listed PIPELINING in CAPA
    /// client.login("brandon", "abc123")?; // USER and PASS in one round trip
    /// client.send_ahead(Ahead::Stat)?; // then STAT and QUIT in another
    /// client.send_ahead(Ahead::Quit)?;
    /// assert_eq!(
    ///     client.get_ref().written_text(),
    ///     "USER brandon\r\nPASS abc123\r\nSTAT\r\nQUIT\r\n"
    /// );
    /// assert_eq!(client.stat()?.count, 2); // STAT's answer, nothing sent
    /// client.quit()?; // QUIT's answer, nothing sent
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn login(&mut self, name: &str, password: &str) -> Result<String> {
        let user = format!("USER {name}");
        // Both checked before either goes out: a PASS refused after USER was sent would
        // leave a half login behind.
        check_line(&user, "USER", Some(MAX_COMMAND_LINE))?;
        let pass = Zeroizing::new(format!("PASS {password}"));
        check_line(&pass, "PASS", Some(MAX_COMMAND_LINE))?;
        if !self.pipelining {
            self.user(name)?;
            return self.pass(password);
        }
        self.check_secret_may_travel()?;
        // Answers to commands already on their way come first, as in every exchange.
        if let Some(refusal) = self.settle(self.pending.len())? {
            return Err(refusal);
        }
        self.put_line(&user, &user)?;
        self.put_pass(password)?;
        // Both answers are read, so that a refused USER leaves the session in step.
        let user_answer = self.get_response();
        let pass_answer = self.get_response();
        user_answer?;
        self.note_login(pass_answer)
    }

    /// APOP: logs in with the MD5 digest of the greeting's timestamp and the password, so the
    /// password itself never travels. Refused when the greeting has no proper timestamp.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// let greeting = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n";
    /// let mut client = Client::new(ScriptedStream::new(format!("{greeting}+OK\r\n")))?;
    /// client.apop("mrose", "tanstaaf")?;
    /// // RFC 1939's example: the digest of the timestamp and the password.
    /// assert_eq!(client.get_ref().written_text(), "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn apop(&mut self, name: &str, password: &str) -> Result<String> {
        let timestamp = response::apop_timestamp(&self.greeting)?.ok_or(Error::ApopNotSupported)?;
        let digest = Md5::new()
            .chain_update(timestamp.as_bytes())
            .chain_update(password.as_bytes())
            .finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.put_line(
            &format!("APOP {name} {hex}"),
            &format!("APOP {name} {MASK}"),
        )?;
        let answer = self.get_response();
        self.note_login(answer)
    }

    /// STAT: number of messages and total size.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK 2 320\r\n"))?;
    /// let stat = client.stat()?;
    /// assert_eq!((stat.count, stat.size), (2, 320));
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn stat(&mut self) -> Result<Stat> {
        let line = self.short_cmd(&Ahead::Stat.line())?;
        let stat = self.in_step(response::parse_stat(response::ok_text(&line)))?;
        self.live_messages = Some(LiveCount {
            counted: stat.count,
            marked_then: self.marked,
        });
        Ok(stat)
    }

    /// LIST: every message's number and size, in ascending order.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n1 120\r\n2 200\r\n.\r\n"))?;
    /// let sizes: Vec<u64> = client.list()?.iter().map(|l| l.size).collect();
    /// assert_eq!(sizes, [120, 200]);
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn list(&mut self) -> Result<Vec<ScanListing>> {
        let mut listings = Vec::new();
        self.list_each(|listing| listings.push(listing))?;
        Ok(listings)
    }

    /// LIST, handing each listing to `each` as it arrives, so memory does not grow with the
    /// mailbox. Numbers out of order or repeated, or more messages than STAT counted, are a
    /// protocol error.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n1 120\r\n2 200\r\n.\r\n"))?;
    /// let mut total = 0;
    /// client.list_each(|listing| total += listing.size)?;
    /// assert_eq!(total, 320);
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn list_each(&mut self, mut each: impl FnMut(ScanListing)) -> Result<()> {
        let mut previous = 0;
        let mut listed = 0u32;
        let most = self
            .live_messages
            .map(|live| live.counted.saturating_sub(self.marked - live.marked_then));
        self.listing_cmd(&Ahead::List.line(), |line| {
            let listing = response::parse_scan_listing(line)?;
            if listing.number <= previous {
                return Err(Error::Protocol(format!(
                    "LIST numbers out of order or repeated: {} after {previous}",
                    listing.number
                )));
            }
            previous = listing.number;
            listed += 1;
            if let Some(most) = most.filter(|&most| listed > most) {
                return Err(Error::Protocol(format!(
                    "LIST lists more messages than the {most} STAT counted"
                )));
            }
            each(listing);
            Ok(())
        })?;
        Ok(())
    }

    /// LIST n: one message's size.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK 2 200\r\n"))?;
    /// assert_eq!(client.list_one(2)?.size, 200);
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn list_one(&mut self, number: u32) -> Result<ScanListing> {
        let line = self.short_cmd(&format!("LIST {number}"))?;
        self.in_step(response::parse_scan_listing(response::ok_text(&line)))
    }

    /// RETR: the whole message, line ends as sent (CRLF).
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\nSubject: hi\r\n\r\n..dot-stuffed line\r\n.\r\n"))?;
    /// let message = client.retr(1)?;
    /// assert_eq!(message, b"Subject: hi\r\n\r\n.dot-stuffed line\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn retr(&mut self, number: u32) -> Result<Vec<u8>> {
        let mut message = Vec::new();
        self.retr_to(number, &mut message)?;
        Ok(message)
    }

    /// RETR, writing the message into `out` as it arrives; returns its size in octets (see
    /// [`Client::set_kept_limit`] for an answer read ahead and cut).
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\nSubject: hi\r\n\r\nbody\r\n.\r\n"))?;
    /// let mut file = Vec::new(); // or a std::fs::File
    /// let octets = client.retr_to(1, &mut file)?;
    /// assert_eq!(octets, 21);
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn retr_to(&mut self, number: u32, out: &mut dyn Write) -> Result<u64> {
        self.data_cmd(&Ahead::Retr(number).line(), out)
    }

    /// TOP: the headers, a blank line and the first `lines` lines of the body.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\nSubject: hi\r\n\r\n.\r\n"))?;
    /// let headers = client.top(1, 0)?;
    /// assert_eq!(headers, b"Subject: hi\r\n\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn top(&mut self, number: u32, lines: u32) -> Result<Vec<u8>> {
        let mut message = Vec::new();
        self.top_to(number, lines, &mut message)?;
        Ok(message)
    }

    /// TOP, writing into `out` as it arrives; returns the octets the server sent (see
    /// [`Client::set_kept_limit`] for an answer read ahead and cut).
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\nSubject: hi\r\n\r\n.\r\n"))?;
    /// let mut headers = Vec::new();
    /// client.top_to(1, 0, &mut headers)?;
    /// assert!(headers.starts_with(b"Subject"));
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn top_to(&mut self, number: u32, lines: u32, out: &mut dyn Write) -> Result<u64> {
        self.data_cmd(&Ahead::Top { number, lines }.line(), out)
    }

    /// DELE: marks a message as deleted; the server removes it only at QUIT.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK marked\r\n"))?;
    /// client.dele(1)?;
    /// assert_eq!(client.get_ref().written_text(), "DELE 1\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn dele(&mut self, number: u32) -> Result<String> {
        let reply = self.short_cmd(&format!("DELE {number}"))?;
        self.marked += 1;
        Ok(reply)
    }

    /// Lets commands travel without waiting for the answers before them
    /// ([`Client::login`], [`Client::send_ahead`], [`Client::dele_later`]). Turn it on
    /// only when CAPA lists `PIPELINING` (RFC 2449): a server without it may drop commands
    /// that arrive early.
    pub fn set_pipelining(&mut self, on: bool) {
        self.pipelining = on;
    }

    /// Bounds the message data (TOP, RETR answers) held in memory for answers read ahead of
    /// their methods, counting what arrives, not what LIST claimed: past `octets` in all,
    /// data is read and counted but not kept, and [`Client::retr_to`] and
    /// [`Client::top_to`] then return more octets than they wrote. Unbounded by default.
    pub fn set_kept_limit(&mut self, octets: usize) {
        self.kept_limit = octets;
    }

    /// Whether pipelining is on.
    pub fn pipelining(&self) -> bool {
        self.pipelining
    }

    /// Sends `command` now, when pipelining, so that its answer travels while the caller does
    /// other things; the method of the same name reads it later, in its turn. Without
    /// pipelining, nothing is sent: that method sends it then.
    ///
    /// ```
    /// # use pop3_core::{Ahead, Client, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+OK\r\nSubject: one\r\n\r\n.\r\n+OK\r\nSubject: two\r\n\r\n.\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.set_pipelining(true);
    /// client.send_ahead(Ahead::Top { number: 1, lines: 0 })?;
    /// client.send_ahead(Ahead::Top { number: 2, lines: 0 })?;
    /// assert_eq!(client.top(2, 0)?, b"Subject: two\r\n\r\n"); // TOP 1's answer is kept
    /// assert_eq!(client.top(1, 0)?, b"Subject: one\r\n\r\n");
    /// assert_eq!(client.get_ref().written_text(), "TOP 1 0\r\nTOP 2 0\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn send_ahead(&mut self, command: Ahead) -> Result<()> {
        if self.pipelining {
            let line = command.line();
            self.put_line(&line, &line)?;
            self.pending.push_back(Sent {
                line,
                multi_line: command.multi_line(),
                message_data: matches!(command, Ahead::Top { .. } | Ahead::Retr(_)),
                keep: true,
            });
        }
        Ok(())
    }

    /// DELE without waiting for the answer when pipelining: it is read with the next
    /// command's, and a refusal is reported then. Without
    /// pipelining, the same as [`Client::dele`].
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+OK marked\r\n+OK 1 10\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.set_pipelining(true);
    /// client.dele_later(2)?; // sent, not waited for
    /// client.stat()?; // reads DELE's answer, then STAT's
    /// assert_eq!(client.get_ref().written_text(), "DELE 2\r\nSTAT\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn dele_later(&mut self, number: u32) -> Result<()> {
        if !self.pipelining {
            return self.dele(number).map(drop);
        }
        let line = format!("DELE {number}");
        self.put_line(&line, &line)?;
        self.marked += 1;
        self.pending.push_back(Sent {
            line,
            multi_line: false,
            message_data: false,
            keep: false,
        });
        Ok(())
    }

    /// NOOP: keeps the connection alive.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n"))?;
    /// client.noop()?;
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn noop(&mut self) -> Result<String> {
        self.short_cmd("NOOP")
    }

    /// RSET: unmarks every message marked as deleted.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n+OK\r\n"))?;
    /// client.dele(1)?;
    /// client.rset()?; // message 1 is no longer marked
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn rset(&mut self) -> Result<String> {
        let reply = self.short_cmd("RSET")?;
        // Deletions from before the last STAT come back too: the count is unknown again.
        self.live_messages = None;
        self.marked = 0;
        Ok(reply)
    }

    /// Whether a protocol error put the session out of step with the server: from then on
    /// nothing is sent, QUIT included, so none of the deletions asked for applies.
    pub fn out_of_step(&self) -> bool {
        self.out_of_step.is_some()
    }

    /// How many DELE commands this session sent since the last RSET: the deletions QUIT
    /// asks the server to apply (fewer, if the server refused some).
    pub fn marked_for_deletion(&self) -> u32 {
        self.marked
    }

    /// UIDL: every message's unique id.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n"))?;
    /// let ids = client.uidl()?;
    /// assert_eq!(ids[0].uid, "whqtswO00WBw418f9t5JxYwZ");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn uidl(&mut self) -> Result<Vec<UniqueId>> {
        let mut ids = Vec::new();
        self.listing_cmd("UIDL", |line| {
            ids.push(response::parse_unique_id(line)?);
            Ok(())
        })?;
        Ok(ids)
    }

    /// UIDL n: one message's unique id.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK 1 whqtswO00WBw418f9t5JxYwZ\r\n"))?;
    /// assert_eq!(client.uidl_one(1)?.uid, "whqtswO00WBw418f9t5JxYwZ");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn uidl_one(&mut self, number: u32) -> Result<UniqueId> {
        let line = self.short_cmd(&format!("UIDL {number}"))?;
        self.in_step(response::parse_unique_id(response::ok_text(&line)))
    }

    /// CAPA (RFC 2449): what the server supports.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\nTOP\r\nSASL PLAIN\r\n.\r\n"))?;
    /// let caps = client.capa()?;
    /// assert!(caps.has("TOP") && !caps.has("STLS"));
    /// assert_eq!(caps.arguments("SASL"), ["PLAIN"]);
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn capa(&mut self) -> Result<Capabilities> {
        // Servers list a dozen; more than this is a flood, read to its end but not kept.
        const MOST: usize = 256;
        let mut lines = Vec::new();
        self.listing_cmd("CAPA", |line| {
            if lines.len() == MOST {
                return Err(Error::Protocol(format!(
                    "CAPA lists more than {MOST} capabilities"
                )));
            }
            lines.push(line.to_owned());
            Ok(())
        })?;
        Ok(Capabilities::from_lines(lines))
    }

    /// QUIT: ends the session; in the transaction state the server now removes the
    /// messages marked as deleted.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// let client = Client::new(ScriptedStream::new("+OK ready\r\n+OK bye\r\n"))?;
    /// assert_eq!(client.quit()?, "+OK bye");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn quit(mut self) -> Result<String> {
        // Every answer still on its way (DELE's, pipelined) is read before QUIT goes: a server
        // found out of step there gets no QUIT, which would apply deletions it may not mean.
        // QUIT itself, if it went ahead, is among them.
        let refusal = self.settle(self.pending.len())?;
        let bye = self.short_cmd(&Ahead::Quit.line())?;
        refusal.map_or(Ok(bye), Err)
    }

    /// STLS (RFC 2595): asks to start TLS, then hands the raw stream to `upgrade`, which
    /// performs the handshake. Bytes the server sent before the handshake are discarded:
    /// nothing outside TLS may be trusted (curl's CVE-2021-22947 was keeping them).
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// let client = Client::new(ScriptedStream::new("+OK ready\r\n+OK begin TLS\r\n"))?;
    /// // A real upgrade wraps the stream in TLS; see `Client<Stream>::stls`.
    /// let tls = client.stls_with(|plain| Ok(ScriptedStream::new("+OK 1 10\r\n")))?;
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn stls_with<T: Read + Write>(
        mut self,
        upgrade: impl FnOnce(S) -> Result<T>,
    ) -> Result<Client<T>> {
        self.short_cmd("STLS")?;
        let injected = self.end - self.start;
        if injected > 0 {
            self.trace(
                "S",
                &format!("[{injected} bytes sent before the TLS handshake, discarded]"),
            );
        }
        let stream = upgrade(self.stream)?;
        Ok(Client::fresh(
            stream,
            self.buffer,
            self.greeting,
            self.trace,
        ))
    }
}

/// A command line fit to send: no control character in it (a line break would let an
/// argument inject commands; an escape would reach the server's logs and terminals), and
/// at most 255 octets with its CRLF (RFC 2449). Checked before anything goes out.
fn check_line(line: &str, verb: &str, longest: Option<usize>) -> Result<()> {
    // C0, DEL and the C1 controls (U+0080-U+009F, CSI among them).
    if line.chars().any(char::is_control) {
        return Err(Error::ControlCharacter {
            command: verb.to_string(),
        });
    }
    if let Some(longest) = longest.filter(|&longest| line.len() + 2 > longest) {
        return Err(Error::LineTooLong {
            command: verb.to_string(),
            octets: line.len() + 2,
            limit: longest,
        });
    }
    Ok(())
}

fn closed(when: &str) -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the server closed the connection {when}"),
    ))
}
