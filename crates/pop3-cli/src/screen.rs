//! Text that strangers wrote (mail, server replies), made safe to show: no escape
//! sequences, invisible characters or forged lines.

use std::borrow::Cow;
use std::io::{self, IsTerminal};
use std::sync::OnceLock;

use pop3_core::escape::{escape_where, hides_text};

/// Shows text that strangers wrote (mail, server replies) harmlessly on a terminal: escape
/// sequences and other control characters, which could rewrite the screen, the window title
/// or the clipboard, are shown escaped (`\x1b`); so are the characters that hide or disguise
/// text while looking like nothing (format characters such as zero-width spaces and joiners,
/// bidirectional marks and overrides, tag characters; line and paragraph separators:
/// `\u{202e}`). Tabs and line ends stay; a CR ending a line (CRLF) is shown as the line end.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.contains("\r\n") {
        return escape_where(text, acts_on_a_terminal);
    }
    let lines = text.replace("\r\n", "\n");
    Cow::Owned(escape_where(&lines, acts_on_a_terminal).into_owned())
}

/// Whether `c` could act on a terminal or hide text there: see [`terminal_safe`].
fn acts_on_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || hides_text(c)
}

/// Text that is shown as one line, such as a header value, made sure to be one: its line
/// breaks are shown escaped (`\x0a`), so a decoded header (`=?utf-8?Q?hi=0A...?=`) cannot
/// add lines of its choosing, such as a forged prompt. For every reader, terminal or not:
/// a script reading the output line by line is fooled as well.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape_where(text, is_line_break)
}

/// Whether some reader ends a line at `c`: at LF, CR, NEL (U+0085) and the line and
/// paragraph separators (U+2028, U+2029), which Unicode names as line breaks, with VT and
/// FF; at the information separators FS, GS and RS as well, as Python's `str.splitlines`.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Text for standard output: made [`terminal_safe`] when that is a terminal, passed
/// through unchanged into pipes and files.
pub fn for_screen(text: &str) -> Cow<'_, str> {
    static IS_TERMINAL: OnceLock<bool> = OnceLock::new();
    if *IS_TERMINAL.get_or_init(|| io::stdout().is_terminal()) {
        terminal_safe(text)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_escapes_what_could_act_on_a_terminal() {
        assert!(matches!(terminal_safe("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_safe("a\u{1b}]0;title\u{7}b"),
            "a\\x1b]0;title\\x07b"
        );
        assert_eq!(terminal_safe("line\r\nnext\rover"), "line\nnext\\x0dover");
        assert_eq!(
            terminal_safe("\u{9b}31m \u{202e}txt.exe"),
            "\\x9b31m \\u{202e}txt.exe"
        );
        assert_eq!(terminal_safe("\u{0}\u{7f}\u{85}"), "\\x00\\x7f\\x85");
    }

    #[test]
    fn terminal_safe_escapes_what_hides_text() {
        let cases = [
            ("zero-width space", "pay\u{200b}pal", "pay\\u{200b}pal"),
            ("zero-width non-joiner", "a\u{200c}b", "a\\u{200c}b"),
            ("zero-width joiner", "a\u{200d}b", "a\\u{200d}b"),
            ("BOM", "\u{feff}Subject", "\\u{feff}Subject"),
            ("LRM", "a\u{200e}b", "a\\u{200e}b"),
            ("RLM", "a\u{200f}b", "a\\u{200f}b"),
            ("ALM", "a\u{61c}b", "a\\u{61c}b"),
            ("bidi isolate", "\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            (
                "tag characters",
                "ok\u{e0001}\u{e0041}\u{e007f}",
                "ok\\u{e0001}\\u{e0041}\\u{e007f}",
            ),
            ("line separator", "one\u{2028}two", "one\\u{2028}two"),
            ("paragraph separator", "one\u{2029}two", "one\\u{2029}two"),
            ("soft hyphen", "a\u{ad}b", "a\\xadb"),
        ];
        for (what, text, shown) in cases {
            assert_eq!(terminal_safe(text), shown, "{what}");
        }
        // Neighbours that show as themselves.
        let visible = "caf\u{e9} \u{a0}\u{2027}\u{202f}\u{2070}\u{fe0f}\u{1f600}";
        assert!(matches!(terminal_safe(visible), Cow::Borrowed(_)));
    }

    #[test]
    fn one_line_escapes_every_line_break_and_nothing_else() {
        let forged = "hi\nRead this message [ny]?";
        assert_eq!(one_line(forged), "hi\\x0aRead this message [ny]?");
        assert_eq!(
            one_line("a\r\nb\rc\u{b}d\u{c}e\u{1c}f\u{1d}g\u{1e}h"),
            "a\\x0d\\x0ab\\x0dc\\x0bd\\x0ce\\x1cf\\x1dg\\x1eh"
        );
        assert_eq!(
            one_line("nel\u{85}ls\u{2028}ps\u{2029}"),
            "nel\\x85ls\\u{2028}ps\\u{2029}"
        );
        let kept = "tab\there \u{1b}[31m \u{202e}x \u{200b}";
        assert!(matches!(one_line(kept), Cow::Borrowed(_)));
        // On a terminal the header is then made terminal-safe: the escapes stay as they are.
        assert_eq!(terminal_safe(&one_line(forged)), one_line(forged));
    }
}
