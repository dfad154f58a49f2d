//! popconn end to end: the real binary against the playground's servers.

use playground::certs::CertSpec;
use playground::terminal::run_in_terminal;
use playground::testing::{
    assert_matches_file, assert_terminal_session, run_piped, start, start_with, tool,
};
use playground::{expected_output, server_tests, Options, Playground, ServerKind, PASSWORD, USER};
use pop3_core::{Connector, TlsConfig};

const BIN: &str = env!("CARGO_BIN_EXE_popconn");

/// A session that logs in to `p` and holds the mailbox until dropped.
fn hold_mailbox(p: &Playground) -> pop3_core::Client<pop3_core::Stream> {
    let connector = Connector::new(TlsConfig::new(Some(&p.certs.ca)).unwrap());
    let mut holder = connector.connect("localhost", p.pop3s_port).unwrap();
    holder.login(USER, PASSWORD).unwrap();
    holder
}

server_tests! {
    servers: [builtin, dovecot, mailutils];

    fn mailbox_held_by_another_session(server) {
        let p = start(server);
        let _holder = hold_mailbox(&p);
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\n");
        // The server's refusal is the book's line: Dovecot closes after it (about 10 s on),
        // and nothing more is said of that. Not in the book: [IN-USE] is temporary, so
        // stderr says to try again later, and the exit status is EX_TEMPFAIL.
        assert!(out.stdout.starts_with("Login failed: -ERR [IN-USE]"), "{out:?}");
        assert_eq!(
            out.stderr,
            "Warning: Password input may be echoed.\nPassword: \npopconn: another session holds this mailbox; try again later\n"
        );
        assert_eq!(out.code, Some(75));
    }
}

server_tests! {
    servers: [builtin, dovecot, mailutils, courier];

    fn session_in_a_terminal(server) {
        let p = start(server);
        assert_terminal_session(BIN, &p, &[], &expected_output!("session.txt"));
    }

    fn session_upgraded_by_stls(server) {
        let p = start(server);
        let command = tool(BIN, &p, &["--stls", &p.pop3_host(), USER]);
        let screen = run_in_terminal(command, Some(PASSWORD), &[]).unwrap();
        assert_matches_file(&screen.text, &expected_output!("session.txt"));
    }

    fn password_from_a_pipe(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\n");
        assert_eq!(out.stdout, "You have 6 messages totaling 3441 bytes\n");
        assert_eq!(out.stderr, "Warning: Password input may be echoed.\nPassword: \n");
        assert_eq!(out.code, Some(0));
    }

    fn no_pipelining_gives_the_same_output(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &["--no-pipelining", &p.pop3s_host(), USER]), "abc123\n");
        assert_eq!(out.stdout, "You have 6 messages totaling 3441 bytes\n", "{}", out.stderr);
        assert_eq!(out.code, Some(0));
    }

    fn wrong_password_is_the_servers_refusal(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "wrong\n");
        // Each server has its own words; the tool shows them in the book's one line.
        assert!(out.stdout.starts_with("Login failed: -ERR"), "{out:?}");
        assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
        assert_eq!(out.stderr, "Warning: Password input may be echoed.\nPassword: \n");
        assert_eq!(out.code, Some(1));
    }
}

server_tests! {
    fn trace_shows_the_exchange_without_the_password(server) {
        let p = start(server);
        let mut command = tool(BIN, &p, &[&p.pop3s_host(), USER]);
        command.env("POP3_TRACE", "1");
        let out = run_piped(&mut command, "abc123\n");
        assert_eq!(out.stdout, "You have 6 messages totaling 3441 bytes\n");
        // Both servers offer PIPELINING: after CAPA, USER and PASS go out together, then,
        // once the login is accepted, STAT and QUIT.
        let exchange: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("C: ") || l.starts_with("S: +OK")).map(|l| &l[..6]).collect();
        let login = ["C: USE", "C: PAS", "S: +OK", "S: +OK", "C: STA", "C: QUI", "S: +OK", "S: +OK"];
        assert!(exchange.ends_with(&login), "{}", out.stderr);
        let commands: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("C: ")).collect();
        assert_eq!(commands[0], "C: CAPA");
        assert!(out.stderr.contains("S: +OK 6 3441"), "{}", out.stderr);
        assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
    }

    fn no_pipelining_gives_the_books_exchange(server) {
        let p = start(server);
        let mut command = tool(BIN, &p, &["--no-pipelining", "--trace", &p.pop3s_host(), USER]);
        let out = run_piped(&mut command, "abc123\n");
        assert_eq!(out.stdout, "You have 6 messages totaling 3441 bytes\n");
        let exchange: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("C: ") || l.starts_with("S: "))
            .map(|l| &l[..l.len().min(7)])
            .collect();
        // Each command waits for its answer, and no CAPA: the book's exchange.
        assert_eq!(
            exchange,
            ["S: +OK ", "C: USER", "S: +OK", "C: PASS", "S: +OK ", "C: STAT", "S: +OK ", "C: QUIT", "S: +OK "]
        );
    }

    fn wrong_password_with_pipelining(server) {
        let p = start(server);
        let mut command = tool(BIN, &p, &["--trace", &p.pop3s_host(), USER]);
        let out = run_piped(&mut command, "wrong\n");
        assert_eq!(out.stdout, "Login failed: -ERR [AUTH] Authentication failed.\n");
        assert_eq!(out.code, Some(1));
        // Nothing went out with the login; QUIT still ended the session.
        let commands: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("C: ")).collect();
        assert_eq!(commands, ["C: CAPA", "C: USER brandon", "C: PASS ********", "C: QUIT"]);
        assert!(out.stderr.trim_end().lines().last().unwrap().starts_with("S: +OK"), "{}", out.stderr);
    }

    fn wrong_password(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "wrong\n");
        assert_eq!(out.stdout, "Login failed: -ERR [AUTH] Authentication failed.\n");
        assert_eq!(out.code, Some(1));
    }

    fn untrusted_certificate(server) {
        let p = start(server);
        let mut command = tool(BIN, &p, &[&p.pop3s_host(), USER]);
        command.env_remove("POP3_CA_FILE");
        let out = run_piped(&mut command, "abc123\n");
        let line = format!(
            "popconn: {}: TLS: certificate not trusted (unknown issuer); pass the server's CA with --ca-file\n",
            p.pop3s_host()
        );
        assert!(out.stderr.ends_with(&line), "{}", out.stderr);
        assert_eq!((out.stdout.as_str(), out.code), ("", Some(1)));
    }

    fn host_name_mismatch(server) {
        let p = start_with(Options {
            certs: CertSpec { names: vec!["other.example.com".into()], ..CertSpec::default() },
            ..Options::temporary(server)
        });
        let out = run_piped(&mut tool(BIN, &p, &[&p.pop3s_host(), USER]), "abc123\n");
        let line = format!(
            "popconn: {}: TLS: host name mismatch: the server's certificate is for other.example.com, not localhost",
            p.pop3s_host()
        );
        let last = out.stderr.lines().last().unwrap_or_default();
        assert_eq!(last, line, "{}", out.stderr);
        assert_eq!(out.code, Some(1));
    }
}

#[test]
fn wrong_number_of_arguments() {
    for args in [&[][..], &["mail.example.com"], &["a", "b", "c"]] {
        let out = run_piped(std::process::Command::new(BIN).args(args), "");
        assert_eq!(out.stderr, "usage: popconn hostname username\n");
        assert_eq!((out.stdout.as_str(), out.code), ("", Some(2)));
    }
}

#[test]
fn version_and_help() {
    let out = run_piped(std::process::Command::new(BIN).arg("--version"), "");
    assert_eq!(
        out.stdout,
        format!("popconn {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = run_piped(std::process::Command::new(BIN).arg("--help"), "");
    assert!(out
        .stdout
        .contains("usage: popconn [options] hostname username"));
    assert_eq!(out.code, Some(0));
}

#[test]
fn refused_connection_names_the_host() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run_piped(
        std::process::Command::new(BIN).args([&format!("127.0.0.1:{port}"), USER]),
        "x\n",
    );
    let last = out.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!("popconn: 127.0.0.1:{port}: connection refused")
    );
    assert_eq!(out.code, Some(1));
}

#[test]
fn end_of_input_instead_of_a_password() {
    let out = run_piped(
        std::process::Command::new(BIN).args(["localhost:1", USER]),
        "",
    );
    assert!(
        out.stderr
            .ends_with("\npopconn: no password given (end of input)\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(1));
}

#[test]
fn bad_hosts_and_usernames_are_usage_errors() {
    let cases = [
        (["", USER], "empty host name"),
        (["mail example.com", USER], "spaces or control characters"),
        (["localhost:99999", USER], "out of range"),
        (["localhost:pop", USER], "not a number"),
        (["[::1", USER], "missing ']'"),
        (["localhost", ""], "the username is empty"),
        (["localhost", "brandon\r\nDELE 1"], "line break"),
    ];
    for (args, why) in cases {
        let out = run_piped(std::process::Command::new(BIN).args(args), "abc123\n");
        assert!(
            out.stderr.starts_with("popconn: "),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.lines().next().unwrap().contains(why),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.code, Some(2), "{args:?}");
    }
}

#[test]
fn ipv6_address_with_port_is_understood() {
    let port = std::net::TcpListener::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run_piped(
        std::process::Command::new(BIN).args([&format!("[::1]:{port}"), USER]),
        "x\n",
    );
    let last = out.stderr.lines().last().unwrap_or_default();
    assert_eq!(last, format!("popconn: [::1]:{port}: connection refused"));
}

#[test]
fn a_ca_file_replaces_the_system_trust_store() {
    let p = start(ServerKind::Builtin);
    let other = std::env::temp_dir().join(format!("popconn-other-ca-{}", std::process::id()));
    let other_ca = playground::certs::generate(&other, &CertSpec::default())
        .unwrap()
        .ca;
    // A system store (as SSL_CERT_FILE makes it) that trusts the server is used...
    let mut command = tool(BIN, &p, &[&p.pop3s_host(), USER]);
    command
        .env_remove("POP3_CA_FILE")
        .env_remove("SSL_CERT_DIR")
        .env("SSL_CERT_FILE", &p.certs.ca);
    let out = run_piped(&mut command, "abc123\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // ...unless a CA file is named: then only its CA is trusted.
    command.env("POP3_CA_FILE", &other_ca);
    let out = run_piped(&mut command, "abc123\n");
    assert!(
        out.stderr
            .contains("certificate not trusted (unknown issuer)"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(1));
    std::fs::remove_dir_all(other).unwrap();
}

#[test]
fn a_server_that_loses_commands_sent_with_the_login() {
    // The built-in server behaving like Courier: it offers PIPELINING, but what arrives
    // before its login's answer is lost. Nothing goes out before that answer, so all works.
    let p = start_with(Options {
        loses_commands_sent_with_login: true,
        ..Options::temporary(ServerKind::Builtin)
    });
    let mut command = tool(
        BIN,
        &p,
        &["--trace", "--timeout", "5", &p.pop3s_host(), USER],
    );
    let out = run_piped(&mut command, "abc123\n");
    assert_eq!(
        out.stdout, "You have 6 messages totaling 3441 bytes\n",
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("S: PIPELINING"), "{}", out.stderr);
    assert_eq!(out.code, Some(0));
}
