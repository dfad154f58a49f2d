//! Standard input, read line by line by this module alone: the password line from a pipe,
//! then the answers to `[ny]?` questions. Reading it ourselves (not through std's buffered
//! stdin) lets a tool look at answers already typed or piped without waiting for more, and
//! lets the password's bytes be wiped once taken.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard};

use zeroize::{Zeroize, Zeroizing};

/// What was read from standard input and not yet taken.
struct Input {
    /// Room is reserved up front, so that the password line is never moved by a
    /// reallocation; taken lines are wiped.
    pending: Vec<u8>,
    ended: bool,
}

static INPUT: Mutex<Input> = Mutex::new(Input {
    pending: Vec::new(),
    ended: false,
});

fn input() -> MutexGuard<'static, Input> {
    INPUT.lock().unwrap_or_else(|e| e.into_inner())
}

impl Input {
    /// Reads once from standard input, unless it ended. Without `wait`, only when that read
    /// cannot block (a line is typed, or piped data or end of input is there).
    fn read_more(&mut self, wait: bool) -> io::Result<()> {
        if self.ended || (!wait && !stdin_ready()) {
            return Ok(());
        }
        // A duplicate of descriptor 0: reads go past std's own stdin buffer, which stays empty.
        let mut stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
        let mut chunk = Zeroizing::new([0u8; 8192]);
        let read = loop {
            match stdin.read(&mut chunk[..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if read == 0 {
            self.ended = true;
        } else {
            if self.pending.capacity() == 0 {
                self.pending.reserve(64 * 1024);
            }
            self.pending.extend_from_slice(&chunk[..read]);
        }
        Ok(())
    }

    /// The `n`th line from now (0: the next), once complete: ended by a line end, or the
    /// last of an input that ended.
    fn peek_line(&self, n: usize) -> Option<&[u8]> {
        let line = self.pending.split_inclusive(|&b| b == b'\n').nth(n)?;
        (line.ends_with(b"\n") || self.ended).then_some(line)
    }

    /// Takes the next line, line end removed, waiting for it; `None` at end of input. A last
    /// line without a line end counts.
    fn take_line(&mut self) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
        let end = loop {
            if let Some(line) = self.peek_line(0) {
                break line.len();
            }
            if self.ended {
                return Ok(None);
            }
            self.read_more(true)?;
        };
        let mut line = Zeroizing::new(self.pending[..end].to_vec());
        self.pending[..end].zeroize();
        self.pending.drain(..end);
        let text_len = line
            .strip_suffix(b"\n")
            .map_or(line.len(), |l| l.strip_suffix(b"\r").unwrap_or(l).len());
        line.truncate(text_len);
        Ok(Some(line))
    }
}

/// Whether reading standard input now would return at once (data, or end of input).
fn stdin_ready() -> bool {
    let mut poll = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call; a zero timeout never blocks.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    ready > 0 && poll.revents != 0
}

/// Reads one line of standard input (the password, from a pipe), without its line end;
/// `None` at end of input. The copy left behind is wiped.
pub(super) fn read_line() -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    input().take_line()
}

/// Whether an answer line means yes: it starts with `y` or `Y`.
fn is_yes(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'y' | b'Y'))
}

/// Reads an answer to a `[ny]?` question from standard input: yes only when the line starts
/// with `y` or `Y`. End of input, or input that cannot be read, is no: nothing is done
/// that the user did not clearly ask for.
pub fn read_yes() -> bool {
    matches!(input().take_line(), Ok(Some(line)) if is_yes(&line))
}

/// The answer to the question `later` questions from now (0: the next [`read_yes`]), when
/// it is already typed or piped; `None` when it is not there yet. Never waits, and takes
/// nothing: a tool may act ahead on answers the user has already given (and only on those).
pub fn typed_yes(later: usize) -> Option<bool> {
    let mut input = input();
    loop {
        if let Some(line) = input.peek_line(later) {
            return Some(is_yes(line));
        }
        if input.ended {
            return Some(false); // read_yes will find no line: no
        }
        let before = input.pending.len();
        if input.read_more(false).is_err() || (input.pending.len() == before && !input.ended) {
            return None;
        }
    }
}
