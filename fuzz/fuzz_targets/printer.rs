//! What download_and_delete prints from a message: summary headers and text parts, made
//! terminal-safe. No escape character may survive.
#![no_main]

use download_and_delete::message::{plain_texts, summary};
use libfuzzer_sys::fuzz_target;
use pop3_core::cli::terminal_safe;

fuzz_target!(|data: &[u8]| {
    for (_, value) in summary(data) {
        assert!(!terminal_safe(&value).contains('\u{1b}'));
    }
    for part in plain_texts(data) {
        let shown = terminal_safe(&part.text);
        assert!(!shown.contains(|c: char| c.is_control() && c != '\n' && c != '\t'));
    }
});
