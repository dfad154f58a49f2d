//! What download_and_delete prints from a message: summary headers, each kept on one line,
//! and text parts, made terminal-safe. No escape character may survive, nor a line break
//! in a header.
#![no_main]

use download_and_delete::message::{plain_texts, summary};
use libfuzzer_sys::fuzz_target;
use pop3_cli::{one_line, terminal_safe};

fuzz_target!(|data: &[u8]| {
    for (_, value) in summary(data) {
        let line = one_line(&value);
        assert!(!line.contains(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}']));
        let shown = terminal_safe(&line);
        assert!(!shown.contains(|c: char| c.is_control() && c != '\t'));
    }
    for part in plain_texts(data) {
        let shown = terminal_safe(&part.text);
        assert!(!shown.contains(|c: char| c.is_control() && c != '\n' && c != '\t'));
    }
});
