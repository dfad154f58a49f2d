//! mailbox end to end: the real binary against the playground's servers.

use playground::testing::{assert_terminal_session, run_piped, start, start_with, tool, Output};
use playground::{expected_output, server_tests, Options, USER};

const BIN: &str = env!("CARGO_BIN_EXE_mailbox");

/// Checks that `out` is the book's listing (the session's expected output, less the prompt).
fn assert_the_books_listing(out: &Output) {
    let session = std::fs::read_to_string(expected_output!("session.txt")).unwrap();
    assert_eq!(
        out.stdout,
        session.trim_start_matches("Password: \n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(0));
}

server_tests! {
    servers: [builtin, dovecot, mailutils, courier];

    fn session_in_a_terminal(server) {
        let p = start(server);
        assert_terminal_session(BIN, &p, &[], &expected_output!("session.txt"));
    }

    fn password_from_a_pipe(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &["--stls", &p.pop3_host(), USER]), "abc123\n");
        assert_the_books_listing(&out);
    }

    fn empty_mailbox(server) {
        let p = start_with(Options { messages: Vec::new(), ..Options::temporary(server) });
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\n");
        assert_eq!(out.stdout, "No messages\n");
        assert_eq!(out.code, Some(0));
    }

    fn no_pipelining_gives_the_same_output(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &["--no-pipelining", &p.pop3s_host(), USER]), "abc123\n");
        assert_the_books_listing(&out);
    }
}

server_tests! {
    fn wrong_password(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "wrong\n");
        assert_eq!(out.stdout, "Login failed: -ERR [AUTH] Authentication failed.\n");
        assert_eq!(out.code, Some(1));
    }
}

#[test]
fn wrong_number_of_arguments() {
    let out = run_piped(&mut std::process::Command::new(BIN), "");
    assert_eq!(out.stderr, "usage: mailbox hostname username\n");
    assert_eq!(out.code, Some(2));
}
