//! Short and long command, as in poplib, and the commands that travel without waiting for
//! the answers before them (RFC 2449 PIPELINING). One vocabulary serves both paths: a
//! [`Command`] sent ahead is found again by the method that sends the same [`Command`].
//!
//! With pipelining on, two kinds of command do not wait:
//! - a [`Command`] sent ahead with [`Client::send_ahead`]: its answer is kept for its
//!   method, which reads (or finds) it in its turn;
//! - USER and DELE, whose answers say only yes or no: each is read with the next answer
//!   asked for, which reports a refusal.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use super::Client;
use crate::capped::Capped;
use crate::error::{Error, Result};

/// A command whose answer a method reads: sent by that method, or earlier with
/// [`Client::send_ahead`], and then found by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// STAT, for [`Client::stat`].
    Stat,
    /// LIST, for [`Client::list`] and [`Client::list_iter`].
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

impl Command {
    /// The command line.
    fn line(self) -> String {
        match self {
            Command::Stat => "STAT".into(),
            Command::List => "LIST".into(),
            Command::Top { number, lines } => format!("TOP {number} {lines}"),
            Command::Retr(number) => format!("RETR {number}"),
            Command::Quit => "QUIT".into(),
        }
    }

    /// What follows the status line of a `+OK` answer.
    fn answer(self) -> Answer {
        match self {
            Command::Stat | Command::Quit => Answer::Status,
            Command::List => Answer::Listing,
            Command::Top { .. } | Command::Retr(_) => Answer::MessageData,
        }
    }
}

/// What an answer holds after its status line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Nothing: one line.
    Status,
    /// Listing lines, up to the terminating `.`.
    Listing,
    /// Message data (TOP, RETR), up to the terminating `.`: bounded by
    /// [`Client::set_kept_limit`] when kept.
    MessageData,
}

/// What a command method asks [`Client::exchange`] to send: a [`Command`], which may have
/// gone ahead, or another line (USER, NOOP, CAPA...), shown in the trace as `traced`.
#[derive(Clone, Copy)]
pub(super) enum Request<'a> {
    Command(Command),
    Line { line: &'a str, traced: &'a str },
}

impl<'a> Request<'a> {
    /// A line with no secret in it: the trace shows it as it is.
    pub(super) fn plain(line: &'a str) -> Self {
        Request::Line { line, traced: line }
    }
}

/// A command sent whose answer is still to be read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Sent {
    /// Sent ahead: its answer is kept for its method.
    Ahead(Command),
    /// USER or DELE (with its message), sent without waiting: its answer is only checked,
    /// a refusal being reported with the next answer asked for.
    Unanswered { dele: Option<u32> },
}

/// An answer read before it was asked for: status line and, when multi-line, the data.
pub(super) struct Kept {
    command: Command,
    answer: Result<(String, Vec<u8>)>,
    /// Octets of message data that arrived beyond the kept limit: counted, not kept.
    dropped: u64,
}

/// Where a command's answer is: its status line read and any data still on the stream, or
/// read earlier and kept (with the octets dropped beyond the kept limit).
pub(super) enum Reply {
    Live(String),
    Kept(String, Vec<u8>, u64),
}

impl<S: Read + Write> Client<S> {
    /// Lets commands travel without waiting for the answers before them
    /// ([`Client::send_ahead`]; USER and DELE, see [`Client::dele`]). Turn it on only when
    /// CAPA lists `PIPELINING` (RFC 2449): a server without it may drop commands that arrive
    /// early.
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
    /// other things; the method of the same command reads it later, in its turn. Without
    /// pipelining, nothing is sent: that method sends it then.
    ///
    /// ```
    /// # use pop3_core::{Client, Command, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+OK\r\nSubject: one\r\n\r\n.\r\n+OK\r\nSubject: two\r\n\r\n.\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.set_pipelining(true);
    /// client.send_ahead(Command::Top { number: 1, lines: 0 })?;
    /// client.send_ahead(Command::Top { number: 2, lines: 0 })?;
    /// assert_eq!(client.top(2, 0)?, b"Subject: two\r\n\r\n"); // TOP 1's answer is kept
    /// assert_eq!(client.top(1, 0)?, b"Subject: one\r\n\r\n");
    /// assert_eq!(client.get_ref().written_text(), "TOP 1 0\r\nTOP 2 0\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn send_ahead(&mut self, command: Command) -> Result<()> {
        if self.pipelining {
            let line = command.line();
            self.put_line(&line, &line)?;
            self.pending.push_back(Sent::Ahead(command));
            if command == Command::List {
                self.list_sent_ahead = Some(self.marked);
            }
        }
        Ok(())
    }

    /// Whether a LIST went ahead and its answer is still to be taken.
    pub(super) fn list_went_ahead(&self) -> bool {
        self.pending.contains(&Sent::Ahead(Command::List))
            || self.kept.iter().any(|kept| kept.command == Command::List)
    }

    /// A command whose answer says only yes or no (USER, DELE of message `dele`): with
    /// pipelining, sent without waiting for it; otherwise exchanged as any other.
    pub(super) fn yes_or_no_cmd(&mut self, line: &str, dele: Option<u32>) -> Result<()> {
        if !self.pipelining {
            return self
                .short_cmd(line)
                .map(drop)
                .map_err(|e| named_refusal(dele, e));
        }
        self.put_line(line, line)?;
        self.pending.push_back(Sent::Unanswered { dele });
        Ok(())
    }

    /// A command with a one-line answer.
    pub(super) fn short_cmd(&mut self, line: &str) -> Result<String> {
        self.short_cmd_traced(line, line)
    }

    /// A command with a one-line answer, shown in the trace as `traced` (secrets masked).
    pub(super) fn short_cmd_traced(&mut self, line: &str, traced: &str) -> Result<String> {
        match self.exchange(Request::Line { line, traced }, Answer::Status)? {
            Reply::Live(status) | Reply::Kept(status, ..) => Ok(status),
        }
    }

    /// A [`Command`] with a one-line answer (STAT, QUIT).
    pub(super) fn short_command(&mut self, command: Command) -> Result<String> {
        match self.exchange(Request::Command(command), command.answer())? {
            Reply::Live(status) | Reply::Kept(status, ..) => Ok(status),
        }
    }

    /// A [`Command`] with a multi-line data answer (RETR, TOP), written into `out`; returns
    /// the octets the server sent (more than were written when a kept answer was cut).
    pub(super) fn data_command(&mut self, command: Command, out: &mut dyn Write) -> Result<u64> {
        match self.exchange(Request::Command(command), command.answer())? {
            Reply::Live(_) => self.copy_data(out),
            Reply::Kept(_, data, dropped) => {
                out.write_all(&data)?;
                Ok(data.len() as u64 + dropped)
            }
        }
    }

    /// A command with a multi-line listing answer (LIST, UIDL, CAPA): its lines, to read
    /// with [`ListingLines`].
    pub(super) fn listing_cmd(&mut self, request: Request) -> Result<ListingLines<'_, S>> {
        let reply = self.exchange(request, Answer::Listing)?;
        let kept = match reply {
            Reply::Live(_) => None,
            Reply::Kept(_, data, _) => Some(data),
        };
        Ok(ListingLines {
            client: self,
            kept,
            at: 0,
            ended: false,
        })
    }

    /// Sends the command unless it went ahead, reads the answers to the commands sent before
    /// it, then its status line; an answer read earlier and kept is taken instead. A refusal of an earlier command
    /// (USER, DELE) is reported here, once this answer has been read to its end so that the
    /// session stays in step.
    fn exchange(&mut self, request: Request, answer: Answer) -> Result<Reply> {
        if let Request::Command(command) = request {
            if let Some(i) = self.kept.iter().position(|kept| kept.command == command) {
                let kept = self.kept.remove(i).expect("found above");
                let dropped = kept.dropped;
                return kept
                    .answer
                    .map(|(status, data)| Reply::Kept(status, data, dropped));
            }
        }
        let sent_ahead = match request {
            Request::Command(command) => self
                .pending
                .iter()
                .position(|sent| *sent == Sent::Ahead(command)),
            Request::Line { .. } => None,
        };
        let earlier = match sent_ahead {
            Some(i) => i,
            None => {
                match request {
                    Request::Command(command) => {
                        let line = command.line();
                        self.put_line(&line, &line)?;
                    }
                    Request::Line { line, traced } => self.put_line(line, traced)?,
                }
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
                if answer != Answer::Status && status.is_ok() {
                    self.copy_data(&mut io::sink())?;
                }
                Err(refusal)
            }
        }
    }

    /// Reads the answers to the `count` oldest commands sent without waiting: those sent
    /// ahead are kept for their methods, and the first refusal among the others returned.
    pub(super) fn settle(&mut self, count: usize) -> Result<Option<Error>> {
        let mut refused = None;
        for sent in self.pending.drain(..count).collect::<VecDeque<_>>() {
            let mut dropped = 0;
            let answer = match (self.get_response(), &sent) {
                (Ok(status), Sent::Ahead(command)) if command.answer() != Answer::Status => {
                    let room = match command.answer() {
                        Answer::MessageData => self.kept_limit.saturating_sub(self.kept_octets()),
                        _ => usize::MAX,
                    };
                    let mut data = Capped::new(room);
                    self.copy_data(&mut data)?;
                    dropped = data.dropped();
                    Ok((status, data.kept))
                }
                (Ok(status), _) => Ok((status, Vec::new())),
                (Err(Error::Server(e)), _) => Err(Error::Server(e)),
                (Err(fatal), _) => return Err(fatal),
            };
            match (sent, answer) {
                (Sent::Ahead(command), answer) => self.kept.push_back(Kept {
                    command,
                    answer,
                    dropped,
                }),
                (Sent::Unanswered { dele }, Err(refusal)) => {
                    if dele.is_some() {
                        // Counted as marked when sent: it is not.
                        self.marked = self.marked.saturating_sub(1);
                    }
                    refused.get_or_insert(named_refusal(dele, refusal));
                }
                (Sent::Unanswered { .. }, Ok(_)) => {}
            }
        }
        Ok(refused)
    }

    /// Octets of data held in kept answers.
    fn kept_octets(&self) -> usize {
        let data = |kept: &Kept| kept.answer.as_ref().map_or(0, |(_, data)| data.len());
        self.kept.iter().map(data).sum()
    }
}

/// The refusal of a yes-or-no command, named: a DELE's (of message `dele`) says which
/// message, whether it came at once or with a later command's answer; USER's stays the
/// server's own line, as the book prints it (`Login failed: -ERR ...`).
fn named_refusal(dele: Option<u32>, error: Error) -> Error {
    match (dele, error) {
        (Some(number), Error::Server(refusal)) => Error::DeleRefused { number, refusal },
        (_, error) => error,
    }
}

/// The lines of a listing answer (LIST, UIDL, CAPA), dot-unstuffed, read from the stream as
/// they are asked for, or from the answer kept when it was read ahead.
pub(super) struct ListingLines<'a, S> {
    pub(super) client: &'a mut Client<S>,
    kept: Option<Vec<u8>>,
    /// Where the next kept line starts.
    at: usize,
    ended: bool,
}

impl<S: Read + Write> ListingLines<'_, S> {
    /// The next line; `None` after the last.
    pub(super) fn next_line(&mut self) -> Result<Option<String>> {
        if self.ended {
            return Ok(None);
        }
        let line = match &self.kept {
            None => self.client.get_listing_line(),
            // Kept data is already dot-unstuffed, each line ending as sent.
            Some(data) => Ok(data[self.at..]
                .split_inclusive(|&b| b == b'\n')
                .next()
                .map(|line| {
                    self.at += line.len();
                    let line = line.strip_suffix(b"\n").unwrap_or(line);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    String::from_utf8_lossy(line).into_owned()
                })),
        };
        self.ended = !matches!(line, Ok(Some(_)));
        line
    }

    /// Hands each line to `each`; the first error it returns ends the walk as [`fail`]
    /// does.
    ///
    /// [`fail`]: ListingLines::fail
    pub(super) fn each(mut self, mut each: impl FnMut(&str) -> Result<()>) -> Result<()> {
        while let Some(line) = self.next_line()? {
            each(&line).map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// Reads the lines left after a bad one (so that no more is sent into the middle of
    /// the answer), and puts the session out of step: `error` says what was wrong.
    pub(super) fn fail(&mut self, error: Error) -> Error {
        while let Ok(Some(_)) = self.next_line() {}
        self.client.lose_step(error)
    }
}
