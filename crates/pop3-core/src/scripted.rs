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
            written: Vec::new(),
        }
    }

    /// Returns at most `chunk` bytes per read (at least 1).
    pub fn in_chunks_of(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
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
        let n = rest.len().min(buf.len()).min(self.chunk);
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
