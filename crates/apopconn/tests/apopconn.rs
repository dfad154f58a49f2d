//! apopconn end to end: the real binary against the playground's servers.

use playground::testing::{assert_terminal_session, run_piped, start, start_with, tool};
use playground::{expected_output, server_tests, Options, USER};

const BIN: &str = env!("CARGO_BIN_EXE_apopconn");

server_tests! {
    servers: [builtin, dovecot, mailutils];

    fn session_in_a_terminal(server) {
        let p = start(server);
        assert_terminal_session(BIN, &p, &[], &expected_output!("session.txt"));
    }

    fn password_from_a_pipe(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &["--stls", &p.pop3_host(), USER]), "abc123\n");
        assert_eq!(out.stdout, "You have 6 messages totaling 3441 bytes\n");
        assert_eq!(out.code, Some(0));
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

// Courier never offers APOP: its greeting has no timestamp. (GNU mailutils always puts one
// in its greeting.)
server_tests! {
    servers: [builtin, dovecot, courier];

    fn server_without_apop(server) {
        let p = start_with(Options { apop: false, ..Options::temporary(server) });
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\n");
        assert_eq!(out.stdout, "Login failed: -ERR APOP not supported by server\n");
        assert_eq!(out.code, Some(1));
    }
}

#[test]
fn wrong_number_of_arguments() {
    let out = run_piped(std::process::Command::new(BIN).arg("host"), "");
    assert_eq!(out.stderr, "usage: apopconn hostname username\n");
    assert_eq!(out.code, Some(2));
}
