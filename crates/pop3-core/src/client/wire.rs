//! The line layer, as in poplib: put line, get line, get response, get multi-line
//! response. It owns the read buffer, dot-unstuffing and the trace; what a line means is
//! for the layers above.

use std::io::{self, Read, Write};

use zeroize::Zeroizing;

use super::auth::MASK;
use super::pipeline::{Command, Sent};
use super::Client;
use crate::error::{Error, Result, ServerError};
use crate::response;

/// The longest status or listing line accepted, terminator included. Message data lines
/// have no limit: they are streamed.
pub const MAX_LINE: usize = 8 * 1024;
/// The longest command line a client may send, CRLF included (RFC 2449).
pub(super) const MAX_COMMAND_LINE: usize = 255;

impl<S: Read + Write> Client<S> {
    /// Sends one command line. `traced` is what the trace shows (secrets masked).
    /// A line break inside would let an argument inject commands, so it is refused.
    pub(super) fn put_line(&mut self, line: &str, traced: &str) -> Result<()> {
        self.put(line, traced, Some(MAX_COMMAND_LINE))
    }

    /// Sends a line of a SASL exchange after AUTH (RFC 5034): not a command, so no
    /// 255-octet bound (an OAuth token is often longer).
    pub(super) fn put_sasl_line(&mut self, line: &str, traced: &str) -> Result<()> {
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
        if self.pending.contains(&Sent::Ahead(Command::Quit)) {
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

    /// Reads one status line, as text, untraced.
    fn read_status_line(&mut self) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.get_line("before answering")?).into_owned())
    }

    /// Reads one status line, as text.
    pub(super) fn get_status_line(&mut self) -> Result<String> {
        let line = self.read_status_line()?;
        self.trace("S", &line);
        Ok(line)
    }

    /// Reads one status line, as text; a SASL challenge in it (`+ ...`) is shown masked in
    /// the trace.
    pub(super) fn get_secret_challenge(&mut self) -> Result<String> {
        let line = self.read_status_line()?;
        match line.starts_with('+') && !line.starts_with("+OK") {
            true => self.trace("S", &format!("+ {MASK}")),
            false => self.trace("S", &line),
        }
        Ok(line)
    }

    /// Reads a status line: `+OK ...` is returned whole, `-ERR ...` becomes [`Error::Server`].
    pub(super) fn get_response(&mut self) -> Result<String> {
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
    /// `None` at the terminating `.`.
    pub(super) fn get_listing_line(&mut self) -> Result<Option<String>> {
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
    pub(super) fn copy_data(&mut self, out: &mut dyn Write) -> Result<u64> {
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

    /// Writes one line to the trace, if there is one: `side` is `C` or `S`.
    pub(super) fn trace(&mut self, side: &str, text: &str) {
        if let Some(trace) = &mut self.trace {
            // Server text may hold escape sequences or characters that disguise it: show
            // them, never let them act.
            let _ = writeln!(trace, "{side}: {}", crate::escape::trace_line(text));
        }
    }
}

/// A command line fit to send: no control character in it (a line break would let an
/// argument inject commands; an escape would reach the server's logs and terminals), and
/// at most 255 octets with its CRLF (RFC 2449). Checked before anything goes out.
pub(super) fn check_line(line: &str, verb: &str, longest: Option<usize>) -> Result<()> {
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

pub(super) fn closed(when: &str) -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the server closed the connection {when}"),
    ))
}
