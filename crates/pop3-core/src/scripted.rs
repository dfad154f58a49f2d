//! An in-memory stream that plays a server's side from a script, for tests and examples.

use std::io::{self, Read, Write};

/// A fake connection: reads come from the scripted server bytes, writes are recorded.
///
/// `chunk` limits how many bytes one `read` returns, so tests can check that
/// responses split at any point are reassembled correctly.
#[derive(Debug, Default)]
pub struct ScriptedStream {
    input: Vec<u8>,
    read_pos: usize,
    chunk: usize,
    /// Reads stop at line ends, as a server's answer lines come when they are due.
    by_line: bool,
    /// Everything the client wrote, in order.
    pub written: Vec<u8>,
}

impl ScriptedStream {
    /// A stream whose server side sends `server` and then closes.
    pub fn new(server: impl AsRef<[u8]>) -> Self {
        ScriptedStream {
            input: server.as_ref().to_vec(),
            read_pos: 0,
            chunk: usize::MAX,
            by_line: true,
            written: Vec::new(),
        }
    }

    /// Returns at most `chunk` bytes per read (at least 1).
    pub fn in_chunks_of(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Lets a read run past line ends: a server that sends answers before the commands that
    /// ask for them (the client must notice), or answers split anywhere.
    pub fn all_at_once(mut self) -> Self {
        self.by_line = false;
        self
    }

    /// What the client wrote, as text.
    pub fn written_text(&self) -> String {
        String::from_utf8_lossy(&self.written).into_owned()
    }
}

impl Read for ScriptedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.read_pos..];
        let line_end = match self.by_line {
            true => memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1),
            false => rest.len(),
        };
        let n = line_end.min(buf.len()).min(self.chunk);
        buf[..n].copy_from_slice(&rest[..n]);
        self.read_pos += n;
        Ok(n)
    }
}

impl Write for ScriptedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
