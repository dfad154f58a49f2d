//! download_and_delete end to end: the real binary against the playground's servers, and
//! what is left in the server's Maildir afterwards.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use playground::mailbox::SAMPLE_MESSAGES;
use playground::terminal::run_in_terminal;
use playground::testing::{
    assert_matches_file, assert_one_error_line, assert_terminal_session, run_piped, start,
    start_with, tool,
};
use playground::testing::{Fault, FaultyLink};
use playground::{expected_output, server_tests, Options, Playground, PASSWORD, USER};
use pop3_core::{Connector, TlsConfig};

const BIN: &str = env!("CARGO_BIN_EXE_download_and_delete");

/// Read and delete message 1; skip 2; read 3 and keep it; delete 4 and 6 unread.
const ANSWERS: [&str; 12] = ["y", "y", "n", "n", "y", "n", "n", "y", "n", "n", "n", "y"];

/// The sample messages numbered (from 1) in `numbers`, as the Maildir should hold them.
fn samples(numbers: &[usize]) -> Vec<Vec<u8>> {
    numbers
        .iter()
        .map(|n| SAMPLE_MESSAGES[n - 1].to_vec())
        .collect()
}

fn stored(p: &Playground) -> Vec<Vec<u8>> {
    p.stored_messages().expect("reading the Maildir")
}

/// The Subject of each message a fresh session finds on the server: what is left, told
/// the same way on every server (mailutils keeps an mbox, and adds headers to it when a
/// session ends). The session ends without QUIT, so it changes nothing.
fn remaining_subjects(p: &Playground) -> Vec<String> {
    let connector = Connector::new(TlsConfig::new(Some(&p.certs.ca)).unwrap());
    let mut client = connector.connect("localhost", p.pop3s_port).unwrap();
    client.login(USER, PASSWORD).unwrap();
    let listings = client.list().unwrap();
    listings
        .iter()
        .map(|listing| {
            let headers = client.top(listing.number, 0).unwrap();
            let headers = String::from_utf8_lossy(&headers).into_owned();
            let subject = headers.lines().find_map(|l| l.strip_prefix("Subject: "));
            subject.unwrap_or_default().to_string()
        })
        .collect()
}

/// The Subjects of the sample messages numbered (from 1) in `numbers`.
fn sample_subjects(numbers: &[usize]) -> Vec<String> {
    numbers
        .iter()
        .map(|n| {
            let text = String::from_utf8_lossy(SAMPLE_MESSAGES[n - 1]).into_owned();
            let subject = text.lines().find_map(|l| l.strip_prefix("Subject: "));
            subject.unwrap_or_default().to_string()
        })
        .collect()
}

server_tests! {
    servers: [builtin, dovecot, mailutils, courier];

    fn session_in_a_terminal(server) {
        let p = start(server);
        assert_terminal_session(BIN, &p, &ANSWERS, &expected_output!("session.txt"));
        assert_eq!(remaining_subjects(&p), sample_subjects(&[2, 3, 5]));
        if server.serves_maildir() {
            assert_eq!(stored(&p), samples(&[2, 3, 5]));
        }
    }

    fn yes_to_everything_from_a_pipe(server) {
        let p = start(server);
        let answers = format!("abc123\n{}", "y\n".repeat(12));
        let out = run_piped(&mut tool(BIN, &p, &["--stls", &p.pop3_host(), USER]), &answers);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout.matches("Deleted.\n").count(), 6);
        assert!(remaining_subjects(&p).is_empty());
        if server.serves_maildir() {
            assert!(stored(&p).is_empty());
        }
    }

    fn no_pipelining_gives_the_same_session(server) {
        let p = start(server);
        let command = tool(BIN, &p, &["--no-pipelining", &p.pop3s_host(), USER]);
        let screen = run_in_terminal(command, Some(PASSWORD), &ANSWERS).unwrap();
        assert_matches_file(&screen.text, &expected_output!("session.txt"));
        assert_eq!(screen.exit_code, Some(0));
        assert_eq!(remaining_subjects(&p), sample_subjects(&[2, 3, 5]));
    }
}

server_tests! {
    fn no_to_everything_deletes_nothing(server) {
        let p = start(server);
        let answers = format!("abc123\n{}", "n\n".repeat(12));
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), &answers);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(!out.stdout.contains("Deleted."));
        assert_eq!(stored(&p), samples(&[1, 2, 3, 4, 5, 6]));
    }

    fn retr_goes_ahead_only_for_messages_answered_yes(server) {
        let p = start(server);
        // Read messages 2 and 4, delete none: all answers piped, so all known at once.
        let answers = "abc123\nn\nn\ny\nn\nn\nn\ny\nn\nn\nn\nn\nn\n";
        let out = run_piped(&mut tool(BIN, &p, &["--trace", &p.pop3s_host(), USER]), answers);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let trace: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("C: ") || l.starts_with("S: ")).collect();
        let first_top = trace.iter().position(|l| *l == "C: TOP 1 0").expect(&out.stderr);
        let sent_together: Vec<&str> =
            trace[first_top..].iter().take_while(|l| l.starts_with("C: ")).copied().collect();
        assert_eq!(
            sent_together,
            ["C: TOP 1 0", "C: TOP 2 0", "C: RETR 2", "C: TOP 3 0", "C: TOP 4 0", "C: RETR 4", "C: TOP 5 0", "C: TOP 6 0"]
        );
        assert_eq!(trace.iter().filter(|l| l.starts_with("C: RETR")).count(), 2);
        assert_eq!(out.stdout.matches("Read this message [ny]?\n-----").count(), 2, "{}", out.stdout);
        assert_eq!(stored(&p).len(), 6);
    }

    fn end_of_input_is_no(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\nn\ny\n");
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout.matches("Deleted.\n").count(), 1);
        assert_eq!(stored(&p), samples(&[2, 3, 4, 5, 6]));
    }

    fn session_cut_before_quit_deletes_nothing(server) {
        let p = start(server);
        let mut child = tool(BIN, &p, &[&p.pop3s_host(), USER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"abc123\nn\ny\n").unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(lines.any(|line| line.unwrap() == "Deleted."), "message 1 was never deleted");
        child.kill().unwrap(); // SIGKILL: no QUIT is sent.
        child.wait().unwrap();
        drop(stdin);
        // A new session sees all six: the server dropped the marks with the connection.
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\n");
        assert_eq!(out.stdout.matches("Read this message [ny]?").count(), 6, "{}", out.stdout);
        assert_eq!(stored(&p), samples(&[1, 2, 3, 4, 5, 6]));
    }

    fn escape_sequences_and_invisible_characters_are_neutralised_on_a_terminal(server) {
        // Invisible: a zero-width space in From, a BOM, a bidi override, a line separator and
        // tag characters in the body.
        let hostile = "From: =?utf-8?Q?pay=E2=80=8Bpal?= <m@example.com>\nSubject: \u{1b}]0;owned\u{7}Invoice\n\n\
            \u{1b}[2J\u{1b}[31mPay now\ttoday\nback\rspace\n\
            \u{feff}\u{202e}gpj.exe\u{2028}\u{e0001}\u{e0041}\n";
        let options = Options { messages: vec![hostile.as_bytes().to_vec()], ..Options::temporary(server) };
        let p = start_with(options);
        let command = tool(BIN, &p, &[&p.pop3s_host(), USER]);
        let screen = run_in_terminal(command, Some(PASSWORD), &["y", "n"]).unwrap();
        assert!(!screen.text.contains('\u{1b}'), "{}", screen.text);
        assert!(screen.text.contains("Subject: \\x1b]0;owned\\x07Invoice\n"), "{}", screen.text);
        assert!(screen.text.contains("\\x1b[2J\\x1b[31mPay now\ttoday\nback\\x0dspace\n"), "{}", screen.text);
        assert!(screen.text.contains("From: pay\\u{200b}pal <m@example.com>\n"), "{}", screen.text);
        assert!(screen.text.contains("\\u{feff}\\u{202e}gpj.exe\\u{2028}\\u{e0001}\\u{e0041}\n"), "{}", screen.text);
        assert!(!screen.text.contains(['\u{200b}', '\u{feff}', '\u{202e}', '\u{2028}', '\u{e0041}']), "{}", screen.text);
        // Into a pipe the text is passed on as it is.
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\ny\nn\n");
        assert!(out.stdout.contains("Subject: \u{1b}]0;owned\u{7}Invoice\n"), "{}", out.stdout);
        assert!(out.stdout.contains("\u{202e}gpj.exe\u{2028}"), "{}", out.stdout);
    }

    fn a_line_break_in_a_header_cannot_forge_a_prompt(server) {
        use playground::terminal::{exit_code, rest_of_screen, spawn_in_terminal, wait_for_echo_off};
        use playground::terminal::Expect;
        // Decoded, the Subject holds a line break and then a prompt of the mail's choosing.
        let hostile = "From: m@example.com\nSubject: =?utf-8?Q?hi=0ARead_this_message_[ny]=3F?=\n\nbody\n";
        let options = Options { messages: vec![hostile.as_bytes().to_vec()], ..Options::temporary(server) };
        let p = start_with(options);
        let one_line = "\nSubject: hi\\x0aRead this message [ny]?\n";
        // Into a pipe too: a script reading the output line by line is not fooled.
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\nn\nn\n");
        assert!(out.stdout.contains(one_line), "{}", out.stdout);
        assert_eq!(out.stdout.lines().filter(|&line| line == "Read this message [ny]?").count(), 1, "{}", out.stdout);
        // On a terminal the first prompt at the start of a line is the tool's.
        let mut terminal = spawn_in_terminal(&tool(BIN, &p, &[&p.pop3s_host(), USER])).unwrap();
        terminal.expect("Password: ").unwrap();
        wait_for_echo_off(&terminal).unwrap();
        terminal.send_line(PASSWORD).unwrap();
        let before = terminal.expect("\r\nRead this message [ny]?").unwrap();
        let before = String::from_utf8_lossy(before.before()).replace("\r\n", "\n");
        assert!(before.contains(one_line), "{before}");
        terminal.send_line("n").unwrap();
        terminal.expect("Delete this message [ny]?").unwrap();
        terminal.send_line("n").unwrap();
        rest_of_screen(&mut terminal).unwrap();
        assert_eq!(exit_code(&terminal).unwrap(), Some(0));
    }

    fn wrong_password(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "wrong\ny\n");
        assert_eq!(out.stdout, "Login failed: -ERR [AUTH] Authentication failed.\n");
        assert_eq!(out.code, Some(1));
        assert_eq!(stored(&p).len(), 6);
    }
}

#[test]
fn wrong_number_of_arguments() {
    let out = run_piped(std::process::Command::new(BIN).args(["a", "b", "c"]), "");
    assert_eq!(out.stderr, "usage: download_and_delete hostname username\n");
    assert_eq!(out.code, Some(2));
}

/// Reads and deletes every message: if any deletion took effect, the Maildir shows it.
const DELETE_ALL: &str = "y\ny\ny\ny\ny\ny\ny\ny\ny\ny\ny\ny\n";

server_tests! {
    fn ctrl_c_applies_no_deletion(server) {
        use playground::terminal::{exit_code, rest_of_screen, spawn_in_terminal, wait_for_echo_off};
        use playground::terminal::{ControlCode, Expect};
        let p = start(server);
        let mut terminal = spawn_in_terminal(&tool(BIN, &p, &[&p.pop3s_host(), USER])).unwrap();
        terminal.expect("Password: ").unwrap();
        wait_for_echo_off(&terminal).unwrap();
        terminal.send_line(PASSWORD).unwrap();
        for answer in ["n", "y"] {
            terminal.expect("[ny]?").unwrap();
            terminal.send_line(answer).unwrap();
        }
        terminal.expect("Deleted.").unwrap();
        terminal.expect("Read this message [ny]?").unwrap();
        terminal.send(ControlCode::EndOfText).unwrap();
        rest_of_screen(&mut terminal).unwrap();
        assert_eq!(exit_code(&terminal).unwrap(), None, "Ctrl-C must end the process");
        assert_eq!(stored(&p), samples(&[1, 2, 3, 4, 5, 6]));
    }

    fn network_cut_mid_session_loses_nothing(server) {
        // Points well before the last message's data (pipelined, a session here is 6-7 KB
        // from the server), so before QUIT: a cut in QUIT's answer, after the server applied
        // the deletions, is the one case POP3 leaves the client unable to tell.
        for cut in [2000, 3500, 5000] {
            let p = start(server);
            let link = FaultyLink::start(p.pop3s_port, Fault::CutAfter(cut)).unwrap();
            let mut command = tool(BIN, &p, &["--timeout", "5", &link.host(), USER]);
            let out = run_piped(&mut command, &format!("abc123\n{DELETE_ALL}"));
            assert_one_error_line(&out, "download_and_delete", "");
            assert_eq!(stored(&p), samples(&[1, 2, 3, 4, 5, 6]), "cut after {cut} bytes");
        }
    }

    fn network_stall_mid_session_loses_nothing(server) {
        let p = start(server);
        let link = FaultyLink::start(p.pop3s_port, Fault::StallAfter(4500)).unwrap();
        let mut command = tool(BIN, &p, &["--timeout", "2", &link.host(), USER]);
        let out = run_piped(&mut command, &format!("abc123\n{DELETE_ALL}"));
        assert_one_error_line(&out, "download_and_delete", "timed out waiting for the server");
        assert_eq!(stored(&p), samples(&[1, 2, 3, 4, 5, 6]));
    }
}
