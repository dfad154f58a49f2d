//! Not in the book: bounds on what is read for display, so that memory follows these
//! limits and not what a server sends (the sizes LIST gives are only its claim). Past a
//! bound, what fits is shown and stderr says what was left out.

use pop3_core::{Capped, Client, Result, ScanListing, Stream};

/// The most of a message's headers (`TOP n 0`) read for display.
pub const HEADERS: usize = 256 << 10;
/// The most of a message (`RETR n`) read for display.
pub const MESSAGE: usize = 4 << 20;
/// The most message data held for answers read ahead (pipelining), counted as it arrives.
pub const KEPT: usize = 8 << 20;
/// The most MIME delimiter lines (lines that start with `--`) in what is parsed: each part
/// starts at one, so this bounds the number of parts and how deep they nest.
pub const DELIMITER_LINES: usize = 1000;
/// The most `Content-Type` lines in what is parsed: bounds how deep attached messages
/// (`message/rfc822`, which need no delimiter) nest.
pub const CONTENT_TYPES: usize = 1000;
/// The most lines parsed: bounds the number of header fields (each costs the parser far
/// more than its bytes).
pub const LINES: usize = 100_000;
/// The most messages taken from LIST.
pub const MESSAGES: usize = 1_000_000;

/// `LIST`, at most [`MESSAGES`] of it (the rest is read, not kept).
pub fn list(p: &mut Client<Stream>) -> Result<Vec<ScanListing>> {
    let mut listings = Vec::new();
    let mut listed = 0u64;
    for listing in p.list_iter()? {
        let listing = listing?;
        listed += 1;
        if listings.len() < MESSAGES {
            listings.push(listing);
        }
    }
    if listed > MESSAGES as u64 {
        eprintln!(
            "download_and_delete: LIST gave {listed} messages; only the first {MESSAGES} are shown"
        );
    }
    Ok(listings)
}

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

/// `document` up to where the parser's work stays bounded: before its
/// [`DELIMITER_LINES`]-th delimiter line (`--...`), its [`CONTENT_TYPES`]-th `Content-Type`
/// line, or its [`LINES`]-th line, whichever comes first.
pub fn parts(document: &[u8], number: u32) -> &[u8] {
    let (mut delimiters, mut content_types, mut start) = (0, 0, 0);
    for (i, line) in document.split(|&b| b == b'\n').enumerate() {
        delimiters += usize::from(line.starts_with(b"--"));
        let content_type = line
            .get(..13)
            .is_some_and(|name| name.eq_ignore_ascii_case(b"content-type:"));
        content_types += usize::from(content_type);
        let what = if delimiters > DELIMITER_LINES {
            format!("{DELIMITER_LINES} MIME parts")
        } else if content_types > CONTENT_TYPES {
            format!("{CONTENT_TYPES} Content-Type lines")
        } else if i >= LINES {
            format!("{LINES} lines")
        } else {
            start += line.len() + 1;
            continue;
        };
        eprintln!("download_and_delete: message {number}: more than {what}; the rest is left out");
        return &document[..start];
    }
    document
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

    #[test]
    fn parts_stop_before_too_many_content_types_or_lines() {
        let nested = "Content-type: message/rfc822\r\n\r\n".repeat(CONTENT_TYPES + 1);
        let kept = parts(nested.as_bytes(), 1);
        assert_eq!(
            kept.len(),
            CONTENT_TYPES * "Content-type: message/rfc822\r\n\r\n".len()
        );
        let fields = "A:\r\n".repeat(LINES + 1);
        assert_eq!(parts(fields.as_bytes(), 1).len(), LINES * "A:\r\n".len());
        let enough = "A:\r\n".repeat(LINES - 1);
        assert_eq!(parts(enough.as_bytes(), 1), enough.as_bytes());
    }
}
