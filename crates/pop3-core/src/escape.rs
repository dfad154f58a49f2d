//! Escaping text that strangers wrote (mail, server replies) before it is shown, in one
//! notation everywhere: `\x1b` for a character below U+0100, `\u{202e}` above. What to
//! escape depends on where the text goes: the protocol trace here; a program's output is the
//! program's choice, made with [`escape_where`] and [`hides_text`] (the pop3-cli crate's
//! `terminal_safe` and `one_line` are built on them).
//!
//! ```
//! use pop3_core::escape::{escape_where, hides_text};
//!
//! let shown = escape_where("Subject: \u{1b}[2Jpay\u{200b}pal", |c| c.is_control() || hides_text(c));
//! assert_eq!(shown, "Subject: \\x1b[2Jpay\\u{200b}pal");
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

/// The format characters (Unicode general category Cf), as inclusive ranges, from
/// DerivedGeneralCategory.txt of Unicode 16.0.0
/// (<https://www.unicode.org/Public/16.0.0/ucd/extracted/DerivedGeneralCategory.txt>).
/// Invisible, they can hide or disguise text: zero-width spaces and joiners, the BOM,
/// bidirectional marks, embeddings, overrides and isolates, tag characters.
const FORMAT: [(char, char); 21] = [
    ('\u{ad}', '\u{ad}'),
    ('\u{600}', '\u{605}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{6dd}', '\u{6dd}'),
    ('\u{70f}', '\u{70f}'),
    ('\u{890}', '\u{891}'),
    ('\u{8e2}', '\u{8e2}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{fff9}', '\u{fffb}'),
    ('\u{110bd}', '\u{110bd}'),
    ('\u{110cd}', '\u{110cd}'),
    ('\u{13430}', '\u{1343f}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0001}', '\u{e0001}'),
    ('\u{e0020}', '\u{e007f}'),
];

/// Whether `c` is a format character (Cf).
fn is_format(c: char) -> bool {
    FORMAT
        .binary_search_by(|&(first, last)| {
            if last < c {
                std::cmp::Ordering::Less
            } else if first > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether `c` hides or disguises text while looking like nothing: a format character, or
/// the line or paragraph separator (U+2028, U+2029), which a terminal may show as nothing
/// and other readers as a line break.
pub fn hides_text(c: char) -> bool {
    is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `text` with each character that `escaped` picks written as an escape (`\x1b` below
/// U+0100, `\u{202e}` above); borrowed when there is none.
pub fn escape_where(text: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.contains(&escaped) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match escaped(c) {
            true => push_escape(&mut shown, c),
            false => shown.push(c),
        }
    }
    Cow::Owned(shown)
}

/// Writes `c` in the escape notation: `\x1b` below U+0100, `\u{202e}` above.
fn push_escape(shown: &mut String, c: char) {
    let code = u32::from(c);
    let _ = match code < 0x100 {
        true => write!(shown, "\\x{code:02x}"),
        false => write!(shown, "\\u{{{code:x}}}"),
    };
}

/// A line of the protocol trace as shown: every control character (tabs and line breaks
/// too) and everything that hides text escaped. Server text may hold escape sequences or
/// disguise itself; the trace, written to a terminal or a file, shows it as it is, one
/// line per line of the exchange.
pub(crate) fn trace_line(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c.is_control() || hides_text(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_table_is_sorted_and_its_ranges_apart() {
        assert!(FORMAT.iter().all(|(first, last)| first <= last));
        assert!(FORMAT.windows(2).all(|pair| pair[0].1 < pair[1].0));
    }

    #[test]
    fn format_characters_are_told_from_their_neighbours() {
        for &(first, last) in &FORMAT {
            assert!(is_format(first) && is_format(last), "{first:?}..{last:?}");
            let before = char::from_u32(u32::from(first) - 1).unwrap();
            let after = char::from_u32(u32::from(last) + 1).unwrap();
            assert!(
                !is_format(before) && !is_format(after),
                "{first:?}..{last:?}"
            );
        }
        assert!(!is_format('a') && !is_format('\u{1b}') && !is_format('é'));
    }

    #[test]
    fn what_hides_text() {
        let hiding = [
            '\u{200b}',
            '\u{200c}',
            '\u{200d}', // zero-width space, non-joiner, joiner
            '\u{feff}', // BOM (zero-width no-break space)
            '\u{200e}',
            '\u{200f}',
            '\u{61c}', // LRM, RLM, ALM
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}', // bidi embeddings, overrides, isolates
            '\u{e0001}',
            '\u{e0020}',
            '\u{e007f}', // tag characters
            '\u{2028}',
            '\u{2029}', // line and paragraph separators
            '\u{ad}',
            '\u{2060}', // soft hyphen, word joiner
        ];
        for c in hiding {
            assert!(hides_text(c), "{c:?}");
        }
        for c in [
            'a',
            ' ',
            '\u{a0}',
            '\u{2027}',
            '\u{202f}',
            '\u{fe0f}',
            '\u{e0080}',
        ] {
            assert!(!hides_text(c), "{c:?}");
        }
    }

    #[test]
    fn the_notation() {
        assert_eq!(escape_where("plain", |_| true), "\\x70\\x6c\\x61\\x69\\x6e");
        assert!(matches!(escape_where("plain", |_| false), Cow::Borrowed(_)));
        assert_eq!(
            escape_where("a\u{0}\u{85}\u{ff}\u{100}\u{e007f}", |c| c != 'a'),
            "a\\x00\\x85\\xff\\u{100}\\u{e007f}"
        );
    }

    #[test]
    fn a_trace_line_stays_one_visible_line() {
        assert!(matches!(trace_line("+OK ready <1@host>"), Cow::Borrowed(_)));
        assert_eq!(
            trace_line("+OK \u{1b}]0;x\u{7}\tr\rn\nv\u{b}f\u{c}nel\u{85}"),
            "+OK \\x1b]0;x\\x07\\x09r\\x0dn\\x0av\\x0bf\\x0cnel\\x85"
        );
        assert_eq!(
            trace_line("-ERR \u{202e}gpj.exe\u{200b}\u{feff}\u{200e}\u{2028}\u{2029}\u{e0041}"),
            "-ERR \\u{202e}gpj.exe\\u{200b}\\u{feff}\\u{200e}\\u{2028}\\u{2029}\\u{e0041}"
        );
    }
}
