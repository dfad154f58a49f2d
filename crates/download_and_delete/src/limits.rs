//! Not in the book: bounds on what is read for display, so that memory follows these
//! limits and not what a server sends (the sizes LIST gives are only its claim). Past a
//! bound, what fits is shown and stderr says what was left out.

use pop3_core::{Capped, Client, Result, Stream};

/// The most of a message's headers (`TOP n 0`) read for display.
pub const HEADERS: usize = 256 << 10;
/// The most of a message (`RETR n`) read for display.
pub const MESSAGE: usize = 8 << 20;
/// The most message data held for answers read ahead (pipelining), counted as it arrives.
pub const KEPT: usize = 8 << 20;
/// The most MIME delimiter lines (lines that start with `--`) in what is parsed: each part
/// starts at one, so this bounds the number of parts and how deep they nest.
pub const DELIMITER_LINES: usize = 1000;

/// `TOP number 0`, at most [`HEADERS`] of it.
pub fn top(p: &mut Client<Stream>, number: u32) -> Result<Vec<u8>> {
    let mut headers = Capped::new(HEADERS);
    let octets = p.top_to(number, 0, &mut headers)?;
    tell_cut(number, "its headers", octets, headers.kept.len());
    Ok(headers.kept)
}

/// `RETR number`, at most [`MESSAGE`] of it.
pub fn retr(p: &mut Client<Stream>, number: u32) -> Result<Vec<u8>> {
    let mut message = Capped::new(MESSAGE);
    let octets = p.retr_to(number, &mut message)?;
    tell_cut(number, "it", octets, message.kept.len());
    Ok(message.kept)
}

/// `document` up to its [`DELIMITER_LINES`]-th line that starts with `--` (exclusive).
pub fn parts(document: &[u8], number: u32) -> &[u8] {
    let mut next = 0;
    let lines = document.split(|&b| b == b'\n').map(|line| {
        let start = next;
        next += line.len() + 1;
        (start, line)
    });
    let mut delimiters = lines.filter(|(_, line)| line.starts_with(b"--"));
    let Some((cut, _)) = delimiters.nth(DELIMITER_LINES) else {
        return document;
    };
    eprintln!(
        "download_and_delete: message {number}: more than {DELIMITER_LINES} MIME parts; \
         the text after the {DELIMITER_LINES}th delimiter is left out"
    );
    &document[..cut]
}

/// Says on stderr what was left out, if anything was.
fn tell_cut(number: u32, what: &str, octets: u64, kept: usize) {
    if octets > kept as u64 {
        eprintln!(
            "download_and_delete: message {number}: {what} ran to {octets} bytes; \
             only the first {kept} are shown"
        );
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_stop_before_the_delimiter_past_the_limit() {
        let many = "--b\r\nx\r\n".repeat(DELIMITER_LINES + 5);
        let kept = parts(many.as_bytes(), 1);
        assert_eq!(kept.len(), DELIMITER_LINES * "--b\r\nx\r\n".len());
        let few = "--b\r\nx\r\n".repeat(DELIMITER_LINES);
        assert_eq!(parts(few.as_bytes(), 1), few.as_bytes());
    }
}
