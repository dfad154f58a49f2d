//! What the book's script does with the `email` package, done with mail-parser: the summary
//! headers of a message and its text/plain parts, decoded (RFC 2047 words, base64,
//! quoted-printable, charsets) where the book printed them raw.

use mail_parser::{HeaderName, Message, MessageParser, MimeHeaders, PartType};

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

/// The decoded text of every text/plain part, attachments included, in the order of the
/// book's `message.walk()`, with LF line ends. The book joins the message's lines with
/// `'\n'`, so a body that runs to the end of the message (one that is not multipart) loses
/// its last line end there, and `print` gives it back: the same is done here.
pub fn plain_texts(document: &[u8]) -> Vec<String> {
    let mut texts = Vec::new();
    if let Some(message) = parser().parse(document) {
        collect_plain_texts(&message, &mut texts);
        if message.parts.len() == 1 {
            if let Some(text) = texts.first_mut() {
                if text.ends_with('\n') {
                    text.pop();
                }
            }
        }
    }
    texts
}

fn collect_plain_texts(message: &Message<'_>, texts: &mut Vec<String>) {
    for part in &message.parts {
        match &part.body {
            PartType::Message(nested) => collect_plain_texts(nested, texts),
            // Lines end in LF on screen, as in the book's output, not in the wire's CRLF.
            PartType::Text(text) if is_plain(part.content_type()) => {
                texts.push(text.replace("\r\n", "\n"))
            }
            _ => {}
        }
    }
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

/// Whether RETR brought only the headers TOP showed though LIST announced more: the sign of
/// a server that lost the body (GNU mailutils 3.15 does, for RETR of the last message
/// after `TOP n 0` of it). A message whose body is really empty is listed at its headers'
/// size.
pub fn body_lost(headers: &[u8], document: &[u8], listed_size: u64) -> bool {
    document.len() <= headers.len() && listed_size > document.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_lost_only_when_retr_brings_no_more_than_top_and_list_said_more() {
        let headers = b"Subject: hi\r\n\r\n";
        let whole = b"Subject: hi\r\n\r\nHello.\r\n";
        assert!(body_lost(headers, headers, whole.len() as u64));
        assert!(!body_lost(headers, whole, whole.len() as u64));
        // An empty body, listed as such.
        assert!(!body_lost(headers, headers, headers.len() as u64));
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
}
