//! A bounded place to write message data: memory follows a limit, not what a server sends.

use std::io::{self, Write};

/// A writer that keeps the first `limit` bytes written to it and counts the rest: message
/// data streams through it whatever its size, and the session stays in step.
///
/// ```
/// use std::io::Write;
/// let mut headers = pop3_core::Capped::new(8);
/// headers.write_all(b"Subject: a very long subject")?;
/// assert_eq!(headers.kept, b"Subject:");
/// assert_eq!(headers.dropped(), 20);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Capped {
    /// The bytes kept, at most the limit.
    pub kept: Vec<u8>,
    limit: usize,
    written: u64,
}

impl Capped {
    /// Keeps at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Capped {
            kept: Vec::new(),
            limit,
            written: 0,
        }
    }

    /// How many bytes were written beyond the limit, and not kept.
    pub fn dropped(&self) -> u64 {
        self.written - self.kept.len() as u64
    }
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit - self.kept.len();
        self.kept.extend_from_slice(&buf[..buf.len().min(room)]);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
