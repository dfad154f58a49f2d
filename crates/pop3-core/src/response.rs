//! Parsing of response lines: STAT, scan listings, unique-id listings, CAPA and the
//! APOP timestamp of the greeting. Pure functions, so they can be fuzzed and tested alone.

use crate::error::{Error, Result};

/// The answer to STAT: how many messages the maildrop holds and their total size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Number of messages, not counting those marked as deleted.
    pub count: u32,
    /// Total size in octets, as the server counts them (CRLF line ends).
    pub size: u64,
}

/// One line of LIST: a message number and its size in octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanListing {
    /// The message number, valid for this session only.
    pub number: u32,
    /// The size in octets.
    pub size: u64,
}

/// One line of UIDL: a message number and its unique id, stable across sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueId {
    /// The message number, valid for this session only.
    pub number: u32,
    /// The unique id (1 to 70 printable characters).
    pub uid: String,
}

/// The capabilities a server lists in answer to CAPA (RFC 2449).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    lines: Vec<String>,
}

impl Capabilities {
    /// Builds the set from CAPA's listing lines.
    pub fn from_lines(lines: Vec<String>) -> Self {
        Capabilities { lines }
    }

    /// Whether a capability is listed (case-insensitive), e.g. `has("STLS")`.
    pub fn has(&self, name: &str) -> bool {
        self.lines.iter().any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
        })
    }

    /// The arguments of a capability, e.g. `arguments("SASL")` gives `["PLAIN", "LOGIN"]`.
    pub fn arguments(&self, name: &str) -> Vec<&str> {
        self.lines
            .iter()
            .map(|line| line.split_whitespace())
            .find_map(|mut words| {
                words
                    .next()
                    .filter(|w| w.eq_ignore_ascii_case(name))
                    .map(|_| words.collect())
            })
            .unwrap_or_default()
    }

    /// The listing lines as the server sent them.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}

/// The text after `+OK` in a positive status line.
pub fn ok_text(line: &str) -> &str {
    line.strip_prefix("+OK").unwrap_or(line).trim_start()
}

/// Parses the text of STAT's answer: `2 320` (anything after the two numbers is ignored,
/// as RFC 1939 allows).
pub fn parse_stat(text: &str) -> Result<Stat> {
    let mut words = text.split_ascii_whitespace();
    let count = number(words.next(), "STAT message count", text)?;
    let size = number(words.next(), "STAT size", text)?;
    Ok(Stat { count, size })
}

/// Parses a scan listing: `1 120` (from LIST's lines or LIST n's status text).
pub fn parse_scan_listing(text: &str) -> Result<ScanListing> {
    let mut words = text.split_ascii_whitespace();
    let msg = message_number(words.next(), "LIST", text)?;
    let size = number(words.next(), "LIST size", text)?;
    Ok(ScanListing { number: msg, size })
}

/// Parses a unique-id listing: `1 whqtswO00WBw418f9t5JxYwZ`.
pub fn parse_unique_id(text: &str) -> Result<UniqueId> {
    let mut words = text.split_ascii_whitespace();
    let number = message_number(words.next(), "UIDL", text)?;
    let uid = words
        .next()
        .filter(|uid| uid.len() <= 70 && uid.bytes().all(|b| (0x21..=0x7e).contains(&b)))
        .ok_or_else(|| malformed("UIDL", text))?;
    Ok(UniqueId {
        number,
        uid: uid.to_owned(),
    })
}

/// Finds the APOP timestamp in a greeting, checking that it is a proper msg-id
/// (`<...@...>`, printable ASCII, no spaces): since the 2007 attack on APOP's MD5,
/// clients refuse timestamps a server did not make as RFC 1939 says. Runs in linear
/// time whatever the greeting holds.
///
/// `Ok(None)`: the greeting has no timestamp at all. `Err`: it has one, but it is malformed.
pub fn apop_timestamp(greeting: &str) -> Result<Option<&str>> {
    let Some(open) = greeting.find('<') else {
        return Ok(None);
    };
    let bad = || {
        Error::Protocol(
            "the greeting's APOP timestamp is not a valid <...@...> msg-id; refusing APOP".into(),
        )
    };
    let close = open + greeting[open..].find('>').ok_or_else(bad)?;
    let inner = &greeting[open + 1..close];
    let printable = inner
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b'<');
    let at = inner.find('@').ok_or_else(bad)?;
    if !printable || at == 0 || at == inner.len() - 1 {
        return Err(bad());
    }
    Ok(Some(&greeting[open..=close]))
}

fn message_number(word: Option<&str>, what: &str, text: &str) -> Result<u32> {
    match number(word, what, text)? {
        0 => Err(malformed(what, text)),
        n => Ok(n),
    }
}

/// A field of decimal digits only: `str::parse` alone would take `+5`.
fn number<T: std::str::FromStr>(word: Option<&str>, what: &str, text: &str) -> Result<T> {
    word.filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| malformed(what, text))
}

fn malformed(what: &str, text: &str) -> Error {
    Error::Protocol(format!("malformed {what} answer: {:?}", shorten(text)))
}

/// Cuts server text to a length fit for one error line.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat() {
        assert_eq!(
            parse_stat("2 320").unwrap(),
            Stat {
                count: 2,
                size: 320
            }
        );
        assert_eq!(
            parse_stat("0 0 extra words").unwrap(),
            Stat { count: 0, size: 0 }
        );
        for bad in [
            "",
            "2",
            "two 320",
            "-1 320",
            "+2 320",
            "2 -320",
            "2 99999999999999999999",
            "4294967296 1",
        ] {
            let err = parse_stat(bad).unwrap_err();
            assert!(matches!(err, Error::Protocol(_)), "{bad:?} gave {err}");
        }
    }

    #[test]
    fn scan_listing() {
        assert_eq!(
            parse_scan_listing("1 120").unwrap(),
            ScanListing {
                number: 1,
                size: 120
            }
        );
        assert_eq!(
            parse_scan_listing("7 5  more").unwrap(),
            ScanListing { number: 7, size: 5 }
        );
        for bad in ["", "1", "0 120", "x 1", "1 y", "1 18446744073709551616"] {
            assert!(parse_scan_listing(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unique_id() {
        let id = parse_unique_id("1 whqtswO00WBw418f9t5JxYwZ").unwrap();
        assert_eq!(
            (id.number, id.uid.as_str()),
            (1, "whqtswO00WBw418f9t5JxYwZ")
        );
        let long = format!("1 {}", "x".repeat(71));
        for bad in ["1", "0 abc", "a abc", long.as_str()] {
            assert!(parse_unique_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn capabilities() {
        let caps = Capabilities::from_lines(vec![
            "TOP".into(),
            "SASL PLAIN LOGIN".into(),
            "pipelining".into(),
        ]);
        assert!(caps.has("top") && caps.has("PIPELINING") && !caps.has("STLS"));
        assert_eq!(caps.arguments("SASL"), ["PLAIN", "LOGIN"]);
        assert!(caps.arguments("UIDL").is_empty());
    }

    #[test]
    fn apop_timestamp_accepts_proper_msg_ids() {
        let rfc = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>";
        assert_eq!(
            apop_timestamp(rfc).unwrap(),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        let dovecot = "+OK Dovecot ready. <2273.2.6b07b610.JdRrt/9TNK3EzF8e82J5wQ==@vm>";
        assert_eq!(
            apop_timestamp(dovecot).unwrap(),
            Some("<2273.2.6b07b610.JdRrt/9TNK3EzF8e82J5wQ==@vm>")
        );
        assert_eq!(apop_timestamp("+OK ready").unwrap(), None);
    }

    #[test]
    fn apop_timestamp_refuses_malformed_ones() {
        let flood = format!("+OK {}", "<".repeat(10_000));
        let cases = [
            "+OK <1896.697170952>",
            "+OK <@host>",
            "+OK <id@>",
            "+OK <1896 x@host>",
            "+OK <id@h\u{e9}st>",
            "+OK <id\u{1b}[2J@host>",
            "+OK <<<<id@host>",
            "+OK <id@host",
            flood.as_str(),
        ];
        for greeting in cases {
            assert!(apop_timestamp(greeting).is_err(), "{greeting:?}");
        }
    }

    #[test]
    fn shorten_cuts_long_text_on_a_char_boundary() {
        assert_eq!(shorten("short"), "short");
        let long = "\u{e9}".repeat(100);
        assert_eq!(shorten(&long).chars().count(), 83);
    }
}
