//! The POP3 client, layered like CPython's poplib, one concern per module:
//!
//! - `wire`: put line, get line, get response, get multi-line response (dot-unstuffing,
//!   the read buffer) and the trace;
//! - `pipeline`: short and long command, and the commands sent without waiting for their
//!   answers (RFC 2449 PIPELINING), in one vocabulary: [`Command`];
//! - `auth`: the logins (USER/PASS, APOP, SASL AUTH);
//! - `count`: the check of LIST against STAT's count;
//! - `commands`: one short method per transaction command.
//!
//! This module holds the session's state, and the rule that a protocol error stops it.

use std::collections::VecDeque;
use std::io::{Read, Write};

use crate::error::{Error, Result};

mod auth;
mod commands;
mod count;
mod pipeline;
mod wire;

pub use commands::Listings;
pub use pipeline::Command;
pub use wire::MAX_LINE;

use count::LiveCount;
use pipeline::{Kept, Sent};

/// Size of the read buffer, the only memory a streamed RETR needs whatever the message size.
const BUFFER_SIZE: usize = 64 * 1024;

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
    /// Commands sent whose answers are still to be read, oldest first: those sent ahead,
    /// and USER and DELE, which do not wait for their answers when pipelining.
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
    /// DELE commands sent in this session since the last RSET (less those refused).
    marked: u32,
    /// The deletions marked when a LIST went ahead: what its answer is checked against.
    list_sent_ahead: Option<u32>,
    /// The server accepted a login: the session is in the TRANSACTION state.
    logged_in: bool,
    /// The protocol error after which the server's answers can no longer be matched to
    /// the commands: nothing more is sent, QUIT included.
    out_of_step: Option<String>,
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
            list_sent_ahead: None,
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

    /// Whether a protocol error put the session out of step with the server: from then on
    /// nothing is sent, QUIT included, so none of the deletions asked for applies.
    pub fn out_of_step(&self) -> bool {
        self.out_of_step.is_some()
    }

    /// Whether QUIT should still be sent after `error` ended a session early: the one
    /// decision behind poplib's `finally: p.quit()`.
    ///
    /// - No when the session is out of step with the server ([`Client::out_of_step`]): the
    ///   client sends nothing more, and QUIT would apply deletions the server may not mean.
    /// - No when the connection is lost ([`Error::connection_lost`]): QUIT would fail, or
    ///   wait for another timeout.
    /// - Yes otherwise: the server refused a command, or the client refused to send one;
    ///   the session is in step, and QUIT ends it properly (applying the deletions asked for).
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n-ERR no such message\r\n+OK bye\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// let error = client.dele(9).unwrap_err();
    /// assert!(client.may_quit_after(&error));
    /// assert_eq!(client.quit()?, "+OK bye");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn may_quit_after(&self, error: &Error) -> bool {
        !self.out_of_step() && !error.connection_lost()
    }

    /// How many DELE commands this session sent since the last RSET: the deletions QUIT
    /// asks the server to apply (fewer, if the server refused some).
    pub fn marked_for_deletion(&self) -> u32 {
        self.marked
    }

    /// Whether the server accepted a login (PASS, APOP or AUTH) in this session: only then
    /// can QUIT apply deletions.
    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// Notes a protocol error: the server no longer answers as this session expects, so
    /// nothing more is sent to it. Without QUIT, nothing marked is deleted (RFC 1939).
    fn lose_step(&mut self, error: Error) -> Error {
        match &error {
            Error::Protocol(what) => {
                self.out_of_step.get_or_insert_with(|| what.clone());
            }
            // A server that failed to prove who it is gets nothing more, QUIT included.
            Error::ServerSignature { .. } => {
                self.out_of_step.get_or_insert_with(|| error.to_string());
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
}
