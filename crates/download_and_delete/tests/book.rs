//! The tool beside the book's own script (`bench/download_and_delete.py`, Python's poplib
//! and email package) on the same server and mailbox: standard output must be the same,
//! byte for byte. The mailbox (`tests/mail/`) holds single-part mail with and without a
//! final line break, multipart/alternative, nested multiparts, attachments, mail without
//! From, To, Subject or Date, an empty body and dot-stuffed lines. The tool's deliberate
//! differences, decoding what the book printed raw, are tested apart (`tests/mail-decoded/`):
//! there each difference is spelled out, and nothing else may differ.

use std::path::Path;

use playground::testing::{run_piped, start_with, tool, Output};
use playground::{server_tests, Options, Playground, ServerKind, USER};

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

/// The book's script, then the tool, each reading and keeping every one of `messages` on a
/// fresh `server`; both must succeed.
fn both_reading_all(server: ServerKind, messages: Vec<Vec<u8>>) -> (Output, Output) {
    let input = read_all(messages.len());
    let p = start_with(Options {
        messages,
        ..Options::temporary(server)
    });
    let book = the_books(&p, &input);
    assert_eq!(book.code, Some(0), "the book's script: {}", book.stderr);
    let ours = ours(&p, &input);
    assert_eq!(ours.code, Some(0), "{}", ours.stderr);
    (book, ours)
}

server_tests! {
    fn prints_what_the_books_script_prints(server) {
        let (book, ours) = both_reading_all(server, mailbox());
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

/// The tool's deliberate differences from the book's script: where the book printed mail's
/// encoded form, the tool prints it decoded. For each message of `tests/mail-decoded/`, the
/// text the book's script prints and the tool's text in its place; nothing else may differ.
/// (The README's "Where this port differs" lists the same.)
const DECODED: [(&str, &[(&str, &str)]); 5] = [
    (
        "01-encoded-words.eml",
        &[
            (
                "From: =?ISO-8859-1?Q?Andr=E9_Dupont?= <andre@example.org>",
                "From: André Dupont <andre@example.org>",
            ),
            (
                "To: =?UTF-8?B?QnLDpG5kb24=?= <brandon@example.com>",
                "To: Brändon <brandon@example.com>",
            ),
            (
                "Subject: =?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?= on Friday",
                "Subject: Café crème on Friday",
            ),
        ],
    ),
    (
        "02-folded.eml",
        &[
            (
                "From: Carol Jones\n <carol@example.net>",
                "From: Carol Jones <carol@example.net>",
            ),
            (
                "Subject: A subject long enough that the sender's program\n folded it",
                "Subject: A subject long enough that the sender's program folded it",
            ),
            (
                "Date: Tue, 10 Nov 2026\n 11:00:00",
                "Date: Tue, 10 Nov 2026 11:00:00",
            ),
        ],
    ),
    (
        "03-quoted-printable.eml",
        &[
            ("encoder, =\nwhich marks", "encoder, which marks"),
            (
                "Caf=C3=A9, na=C3=AFve, 3 =3D three.",
                "Café, naïve, 3 = three.",
            ),
        ],
    ),
    (
        "04-base64.eml",
        &[(
            "SGVsbG8gQnJhbmRvbiwKClRoaXMgdGV4dCB3YXMgc2VudCBpbiBiYXNlNjQuCg==\n",
            "Hello Brandon,\n\nThis text was sent in base64.\n",
        )],
    ),
    (
        // ISO-8859-1 and KOI8-R are decoded; Shift_JIS, which this build cannot decode, is
        // shown as sent, as the book shows it (with a word on stderr).
        "05-charsets.eml",
        &[
            ("Gr=FC=DFe aus K=F6ln.", "Grüße aus Köln."),
            ("8NLJ18XUIQo=\n", "Привет!\n"),
        ],
    ),
];

server_tests! {
    fn differs_from_the_books_script_only_where_it_decodes(server) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail-decoded");
        let messages = DECODED.iter().map(|(name, _)| std::fs::read(dir.join(name)).unwrap()).collect();
        let (book, ours) = both_reading_all(server, messages);
        let mut expected = book.stdout.clone();
        for (name, differences) in DECODED {
            for (printed, decoded) in differences {
                assert_eq!(expected.matches(printed).count(), 1, "{name}: the book's script printed {printed:?} once\n{}", book.stdout);
                expected = expected.replacen(printed, decoded, 1);
            }
        }
        assert_eq!(ours.stdout, expected, "the book's script printed:\n{}", book.stdout);
        assert!(ours.stderr.contains("message 5: a text part in charset shift_jis is shown as sent"), "{}", ours.stderr);
    }
}
