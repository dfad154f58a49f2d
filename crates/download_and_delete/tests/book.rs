//! The tool beside the book's own script (`bench/download_and_delete.py`, Python's poplib
//! and email package) on the same server and mailbox: standard output must be the same,
//! byte for byte. The mailbox (`tests/mail/`) holds single-part mail with and without a
//! final line break, multipart/alternative, nested multiparts, attachments, mail without
//! From, To, Subject or Date, an empty body and dot-stuffed lines. (The tool's deliberate
//! differences, decoding what the book printed raw, are left out of these messages.)

use std::path::Path;

use playground::testing::{run_piped, start_with, tool, Output};
use playground::{server_tests, Options, Playground, USER};

const BIN: &str = env!("CARGO_BIN_EXE_download_and_delete");

/// The messages of `tests/mail/`, in the order of their names.
fn mailbox() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// The password, then "read it, keep it" for each of `count` messages.
fn read_all(count: usize) -> String {
    format!("abc123\n{}", "y\nn\n".repeat(count))
}

fn the_books(p: &Playground, input: &str) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/download_and_delete.py");
    let mut command = std::process::Command::new("python3");
    command
        .arg(script)
        .args([&p.pop3s_host(), USER])
        .env("POP3_CA_FILE", &p.certs.ca);
    run_piped(&mut command, input)
}

fn ours(p: &Playground, input: &str) -> Output {
    run_piped(&mut tool(BIN, p, &[&p.pop3s_host(), USER]), input)
}

server_tests! {
    fn prints_what_the_books_script_prints(server) {
        let messages = mailbox();
        let p = start_with(Options { messages: messages.clone(), ..Options::temporary(server) });
        let input = read_all(messages.len());
        let book = the_books(&p, &input);
        assert_eq!(book.code, Some(0), "the book's script: {}", book.stderr);
        let ours = ours(&p, &input);
        assert_eq!(ours.code, Some(0), "{}", ours.stderr);
        assert_eq!(ours.stdout, book.stdout);
    }

    fn reads_a_line_the_books_script_cannot(server) {
        // poplib refuses lines over 2048 bytes ("line too long"); the tool streams any.
        let long = format!("From: A <a@example.com>\nSubject: long line\n\n{}\nend\n", "x".repeat(100_000));
        let p = start_with(Options { messages: vec![long.into_bytes()], ..Options::temporary(server) });
        let input = read_all(1);
        let book = the_books(&p, &input);
        assert!(book.stderr.trim_end().ends_with("poplib.error_proto: line too long"), "{}", book.stderr);
        let ours = ours(&p, &input);
        assert_eq!(ours.code, Some(0), "{}", ours.stderr);
        // Up to where the book's script stopped, the same; then the whole line.
        assert!(ours.stdout.starts_with(&book.stdout), "{}", ours.stdout);
        assert!(ours.stdout.contains(&format!("{}\nend\n", "x".repeat(100_000))));
    }
}
