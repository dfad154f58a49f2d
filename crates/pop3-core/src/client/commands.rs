//! One short method per command of the transaction state (RFC 1939), with CAPA
//! (RFC 2449), UTF8 (RFC 6856) and STLS (RFC 2595): each sends its line, reads its answer
//! through the layers below, and parses what it means.

use std::io::{Read, Write};

use super::count::{ListCheck, LiveCount};
use super::pipeline::{Command, ListingLines, Request};
use super::Client;
use crate::error::{Error, Result};
use crate::response::{self, Capabilities, ScanListing, Stat, UniqueId};

impl<S: Read + Write> Client<S> {
    /// UTF8 (RFC 6856): from now on user names, passwords and mail may be UTF-8. Send it
    /// only when CAPA lists `UTF8`.
    pub fn utf8(&mut self) -> Result<String> {
        self.short_cmd("UTF8")
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
        let line = self.short_command(Command::Stat)?;
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
        self.list_iter()?.collect()
    }

    /// LIST, read listing by listing as the iterator is walked, so that memory does not
    /// grow with the mailbox. Numbers out of order or repeated, or more messages than STAT
    /// counted, are a protocol error, the iterator's last item. Dropped before its end, it
    /// reads the rest of the answer, keeping the session in step.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n1 120\r\n2 200\r\n.\r\n"))?;
    /// let mut total = 0;
    /// for listing in client.list_iter()? {
    ///     total += listing?.size;
    /// }
    /// assert_eq!(total, 320);
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn list_iter(&mut self) -> Result<Listings<'_, S>> {
        // A LIST sent ahead is answered as things stood when it went, not as they are now.
        let marked = match self.list_sent_ahead.take() {
            Some(marked) if self.list_went_ahead() => marked,
            _ => self.marked,
        };
        let check = ListCheck::new(self.live_messages, marked);
        let lines = self.listing_cmd(Request::Command(Command::List))?;
        Ok(Listings { lines, check })
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
        self.data_command(Command::Retr(number), out)
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
        self.data_command(Command::Top { number, lines }, out)
    }

    /// DELE: marks a message as deleted; the server removes it only at QUIT. With
    /// pipelining on, its answer is not waited for: it is read with the next command's,
    /// which reports a refusal.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+OK marked\r\n+OK 1 10\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.set_pipelining(true);
    /// client.dele(2)?; // sent, not waited for
    /// client.stat()?; // reads DELE's answer, then STAT's
    /// assert_eq!(client.get_ref().written_text(), "DELE 2\r\nSTAT\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn dele(&mut self, number: u32) -> Result<()> {
        self.yes_or_no_cmd(&format!("DELE {number}"), Some(number))?;
        self.marked += 1;
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
        // A refusal among the answers still on their way (a DELE's) does not undo RSET's
        // own effect: it is reported once RSET's answer is in and taken into account.
        let refusal = self.settle(self.pending.len())?;
        let reply = self.short_cmd("RSET")?;
        // Deletions from before the last STAT come back too: the count is unknown again.
        self.live_messages = None;
        self.marked = 0;
        refusal.map_or(Ok(reply), Err)
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
        self.listing_cmd(Request::plain("UIDL"))?.each(|line| {
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
        self.listing_cmd(Request::plain("CAPA"))?.each(|line| {
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
        let bye = self.short_command(Command::Quit)?;
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

/// The listings of a LIST answer, read as they are walked: see [`Client::list_iter`].
pub struct Listings<'a, S: Read + Write> {
    lines: ListingLines<'a, S>,
    check: ListCheck,
}

impl<S: Read + Write> Iterator for Listings<'_, S> {
    type Item = Result<ScanListing>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match self.lines.next_line() {
            Ok(line) => line?,
            Err(e) => return Some(Err(e)),
        };
        let listing = response::parse_scan_listing(&line).and_then(|l| self.check.check(l));
        Some(listing.map_err(|e| self.lines.fail(e)))
    }
}

impl<S: Read + Write> Drop for Listings<'_, S> {
    /// Reads what is left of the answer: the next command's answer comes after it.
    fn drop(&mut self) {
        while let Ok(Some(_)) = self.lines.next_line() {}
    }
}
