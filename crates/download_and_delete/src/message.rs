//! What the book's script does with the `email` package, done with mail-parser: the summary
//! headers of a message and its text/plain parts, decoded (RFC 2047 words, base64,
//! quoted-printable, charsets) where the book printed them raw.

use mail_parser::{Encoding, HeaderName, Message, MessageParser, MimeHeaders, PartType};

/// The headers the book shows, in its order.
const SUMMARY_HEADERS: [&str; 4] = ["From", "To", "Subject", "Date"];

fn parser() -> MessageParser {
    SUMMARY_HEADERS
        .iter()
        .fold(MessageParser::new().with_mime_headers(), |parser, name| {
            parser.header_text(HeaderName::parse(*name).expect("a known header name"))
        })
}

/// `(name, value)` for each of From, To, Subject and Date that the message has.
pub fn summary(document: &[u8]) -> Vec<(&'static str, String)> {
    let Some(message) = parser().parse_headers(document) else {
        return Vec::new();
    };
    SUMMARY_HEADERS
        .iter()
        .filter_map(|&name| {
            let value = message.header(name)?.as_text()?.to_owned();
            Some((name, value))
        })
        .collect()
}

/// A text/plain part as printed.
#[derive(Debug, PartialEq)]
pub struct PlainText {
    /// Its text, LF line ends.
    pub text: String,
    /// The charset it declares when mail-parser cannot decode it (the multi-byte ones of
    /// its `full_encoding` feature, left out for size, or unknown ones): then `text` is the
    /// part as sent, as the book printed it, not mojibake.
    pub undecoded_charset: Option<String>,
}

/// Every text/plain part, attachments included, in the order of the book's
/// `message.walk()`, decoded where the charset allows.
pub fn plain_texts(document: &[u8]) -> Vec<PlainText> {
    let mut texts = Vec::new();
    if let Some(message) = parser().parse(document) {
        collect_plain_texts(&message, true, &mut texts);
    }
    texts
}

/// `runs_to_end`: whether `message` ends where the whole document does. The book joins the
/// document's lines with `'\n'`, so the part that runs to its end (a body that is not
/// multipart, or the last part of one left unclosed) loses its last line end there, and
/// `print` gives it back: the same is done here. Not for base64, whose decoded text keeps
/// the line ends it encodes.
fn collect_plain_texts(message: &Message<'_>, runs_to_end: bool, texts: &mut Vec<PlainText>) {
    let end = message.raw_message.len();
    for part in &message.parts {
        let at_end = runs_to_end && part.raw_end_offset() as usize >= end;
        match &part.body {
            PartType::Message(nested) => collect_plain_texts(nested, at_end, texts),
            PartType::Text(text) if is_plain(part.content_type()) => {
                let undecoded_charset = part
                    .content_type()
                    .and_then(|ct| ct.attribute("charset"))
                    .filter(|charset| !decodable(charset));
                let (mut text, decoded) = match undecoded_charset {
                    None => (text.replace("\r\n", "\n"), part.encoding),
                    Some(_) => {
                        let sent = &message.raw_message
                            [part.raw_body_offset() as usize..part.raw_end_offset() as usize];
                        let sent = String::from_utf8_lossy(sent).replace("\r\n", "\n");
                        (sent, Encoding::None)
                    }
                };
                if at_end && decoded != Encoding::Base64 && text.ends_with('\n') {
                    text.pop();
                }
                texts.push(PlainText {
                    text,
                    undecoded_charset: undecoded_charset.map(str::to_string),
                })
            }
            _ => {}
        }
    }
}

/// Whether mail-parser turns text in `charset` into Unicode. UTF-8 and ASCII need no
/// decoder. Built without its `full_encoding` feature (left out for size), mail-parser keeps
/// stand-ins for its multi-byte decoders that read UTF-8: they make two replacement
/// characters of bytes B0 A1, which every real decoder of its charsets reads as text.
fn decodable(charset: &str) -> bool {
    let unicode = ["utf-8", "utf8", "us-ascii", "ascii"];
    unicode
        .iter()
        .any(|name| charset.eq_ignore_ascii_case(name))
        || mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes())
            .is_some_and(|decode| decode(b"\xB0\xA1") != "\u{FFFD}\u{FFFD}")
}

/// text/plain, which is also what a part without Content-Type is.
fn is_plain(content_type: Option<&mail_parser::ContentType<'_>>) -> bool {
    content_type.is_none_or(|ct| {
        ct.c_type.eq_ignore_ascii_case("text")
            && ct
                .c_subtype
                .as_deref()
                .is_none_or(|sub| sub.eq_ignore_ascii_case("plain"))
    })
}

/// Whether RETR brought exactly the headers TOP showed, though LIST announced more than a
/// line or so beyond them: the sign of a server that lost the body (reported of GNU
/// mailutils 3.15, for RETR of the last message after `TOP n 0` of it). A message whose
/// body is really empty is listed at its headers' size (some mbox servers count a line
/// more). A server that counts LIST sizes in LF line ends may lose a short body unseen.
pub fn body_lost(headers: &[u8], document: &[u8], listed_size: u64) -> bool {
    document == headers && listed_size > document.len() as u64 + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of `super::plain_texts`, all of them decoded.
    fn plain_texts(document: &[u8]) -> Vec<String> {
        let parts = super::plain_texts(document);
        parts
            .into_iter()
            .map(|part| {
                assert_eq!(part.undecoded_charset, None);
                part.text
            })
            .collect()
    }

    #[test]
    fn text_in_a_charset_it_cannot_decode_is_shown_as_sent() {
        let mail = "Subject: x\r\nContent-Type: text/plain; charset=shift_jis\r\n\
                    Content-Transfer-Encoding: base64\r\n\r\ngrGC8YLJgr+CzQo=\r\n";
        let parts = super::plain_texts(mail.as_bytes());
        let expected = PlainText {
            text: "grGC8YLJgr+CzQo=".into(),
            undecoded_charset: Some("shift_jis".into()),
        };
        assert_eq!(parts, [expected]);
        // KOI8-R it decodes.
        let koi8 = mail
            .replace("shift_jis", "koi8-r")
            .replace("grGC8YLJgr+CzQo=", "8NLJ18XUIQo=");
        assert_eq!(plain_texts(koi8.as_bytes()), ["Привет!\n"]);
    }

    #[test]
    fn the_charsets_it_decodes_are_told_from_those_it_cannot() {
        for charset in [
            "UTF-8",
            "us-ascii",
            "ISO-8859-1",
            "iso-8859-8",
            "windows-1252",
            "koi8-r",
            "utf-16le",
        ] {
            assert!(decodable(charset), "{charset}");
        }
        for charset in [
            "Shift_JIS",
            "big5",
            "gb2312",
            "euc-kr",
            "iso-2022-jp",
            "x-unknown",
        ] {
            assert!(!decodable(charset), "{charset}");
        }
    }

    #[test]
    fn body_lost_only_when_retr_brings_the_headers_alone_and_list_said_more() {
        let headers = b"Subject: hi\r\n\r\n";
        let whole = b"Subject: hi\r\n\r\nHello.\r\n";
        assert!(body_lost(headers, headers, whole.len() as u64));
        assert!(!body_lost(headers, whole, whole.len() as u64));
        // An empty body, listed as such, or with one line more (an mbox separator).
        assert!(!body_lost(headers, headers, headers.len() as u64));
        assert!(!body_lost(headers, headers, headers.len() as u64 + 2));
    }

    const MULTIPART: &str = "From: =?utf-8?q?Ren=C3=A9e?= <renee@example.com>\r\n\
        To: brandon@example.com\r\n\
        Subject: =?iso-8859-1?q?caf=E9?= notes\r\n\
        Date: Tue, 4 Nov 2026 10:00:00 +0000\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
        \r\n\
        --outer\r\n\
        Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
        \r\n\
        --inner\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        Caf=C3=A9 at noon.\r\n\
        --inner\r\n\
        Content-Type: text/html\r\n\
        \r\n\
        <p>Caf&eacute; at noon.</p>\r\n\
        --inner--\r\n\
        --outer\r\n\
        Content-Type: text/plain; name=\"menu.txt\"\r\n\
        Content-Disposition: attachment; filename=\"menu.txt\"\r\n\
        Content-Transfer-Encoding: base64\r\n\
        \r\n\
        U291cCwgYnJlYWQu\r\n\
        --outer--\r\n";

    #[test]
    fn summary_decodes_encoded_words_and_keeps_the_books_order() {
        let headers = summary(MULTIPART.as_bytes());
        let names: Vec<_> = headers.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, SUMMARY_HEADERS);
        assert_eq!(headers[0].1, "Renée <renee@example.com>");
        assert_eq!(headers[2].1, "café notes");
        assert_eq!(headers[3].1, "Tue, 4 Nov 2026 10:00:00 +0000");
    }

    #[test]
    fn summary_skips_missing_headers() {
        let headers = summary(b"Subject: hi\r\n\r\n");
        assert_eq!(headers, [("Subject", "hi".to_string())]);
        assert!(summary(b"").is_empty());
    }

    #[test]
    fn plain_texts_walks_nested_parts_and_decodes_them() {
        let texts = plain_texts(MULTIPART.as_bytes());
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert_eq!(texts[0].trim_end(), "Café at noon.");
        assert_eq!(texts[1], "Soup, bread.");
    }

    #[test]
    fn a_message_without_content_type_is_plain_text() {
        // Its body runs to the end: its last line end goes, as in the book's '\n'.join.
        assert_eq!(plain_texts(b"Subject: x\r\n\r\nHello.\r\n"), ["Hello."]);
        assert_eq!(
            plain_texts(b"Subject: x\r\n\r\nHello.\r\n\r\n"),
            ["Hello.\n"]
        );
        assert_eq!(plain_texts(b"Subject: x\r\n\r\nHello."), ["Hello."]);
    }

    /// What Python's email package gives for each part's payload of these documents joined
    /// with '\n' (as the book's script does), checked with Python 3.11.
    #[test]
    fn only_the_part_that_runs_to_the_end_loses_its_last_line_end() {
        let mixed = |closed: &str| {
            format!(
                "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nOne.\r\n--b\r\n\r\nTwo.\r\n{closed}"
            )
        };
        // Closed: the line end before each boundary belongs to the boundary.
        assert_eq!(plain_texts(mixed("--b--\r\n").as_bytes()), ["One.", "Two."]);
        // Left unclosed: the last part runs to the end.
        assert_eq!(plain_texts(mixed("").as_bytes()), ["One.", "Two."]);
        let blank_before_boundary = mixed("").replace("One.\r\n--b", "One.\r\n\r\n--b");
        assert_eq!(
            plain_texts(blank_before_boundary.as_bytes()),
            ["One.\n", "Two."]
        );
        // A message/rfc822 whose body is multipart.
        let wrapped = format!("Content-Type: message/rfc822\r\n\r\n{}", mixed("--b--\r\n"));
        assert_eq!(plain_texts(wrapped.as_bytes()), ["One.", "Two."]);
        // base64: the decoded text keeps the line end it encodes.
        let base64 = b"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8uCg==\r\n";
        assert_eq!(plain_texts(base64), ["Hello.\n"]);
    }
}
