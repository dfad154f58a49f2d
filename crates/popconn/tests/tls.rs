//! TLS beyond the book: a client certificate that logs in by SASL EXTERNAL (against Dovecot,
//! which the playground configures to ask for one), and public-key pinning as curl's
//! `--pinned-pubkey` (against the built-in server and Dovecot, and a scripted server that
//! shows what it received).

use std::path::Path;

use playground::hostile::HostileServer;
use playground::testing::{assert_one_error_line, run_against, run_piped, start, tool};
use playground::{server_tests, Playground, ServerKind, PASSWORD, USER};

const BIN: &str = env!("CARGO_BIN_EXE_popconn");

/// The book's line for the playground's mailbox.
const BOOK_LINE: &str = "You have 6 messages totaling 3441 bytes\n";

/// A pin that is no key's: the SHA-256 of nothing.
const OTHER_PIN: &str = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

fn text(path: &Path) -> &str {
    path.to_str().expect("the playground's paths are UTF-8")
}

/// Runs popconn against `p` with `options`, then its POP3S host and the user; the password
/// goes on a pipe, whether asked for or not.
fn popconn(p: &Playground, options: &[&str]) -> playground::testing::Output {
    let host = p.pop3s_host();
    let mut args = options.to_vec();
    args.extend_from_slice(&[&host, USER]);
    run_piped(&mut tool(BIN, p, &args), &format!("{PASSWORD}\n"))
}

server_tests! {
    servers: [dovecot];

    fn external_logs_in_by_the_client_certificate(server) {
        let p = start(server);
        let (cert, key) = (text(&p.certs.client_cert), text(&p.certs.client_key));
        let args = ["--auth", "external", "--cert", cert, "--key", key, "--trace"];
        let out = run_piped(&mut tool(BIN, &p, &[&args[..], &[&p.pop3s_host(), USER]].concat()), "");
        assert_eq!(out.stdout, BOOK_LINE, "{}", out.stderr);
        assert!(!out.stderr.contains("Password"), "no password is asked for: {}", out.stderr);
        assert!(out.stderr.contains("C: AUTH EXTERNAL ********"), "{}", out.stderr);
        // Over STLS too.
        let stls = run_piped(
            &mut tool(BIN, &p, &["--stls", "--auth", "external", "--cert", cert, "--key", key, &p.pop3_host(), USER]),
            "",
        );
        assert_eq!(stls.stdout, BOOK_LINE, "{}", stls.stderr);
    }

    fn one_file_may_hold_the_certificate_and_its_key(server) {
        let p = start(server);
        let both = p.certs.client_cert.with_file_name("client-both.pem");
        let key = std::fs::read_to_string(&p.certs.client_key).unwrap();
        let cert = std::fs::read_to_string(&p.certs.client_cert).unwrap();
        std::fs::write(&both, format!("{key}{cert}")).unwrap();
        let out = popconn(&p, &["--auth", "external", "--cert", text(&both)]);
        assert_eq!(out.stdout, BOOK_LINE, "{}", out.stderr);
        assert_eq!(out.code, Some(0));
    }

    fn external_without_a_certificate_is_a_refused_login(server) {
        let p = start(server);
        let out = popconn(&p, &["--auth", "external"]);
        assert_eq!(out.stdout, "Login failed: -ERR [AUTH] Authentication failed.\n", "{}", out.stderr);
        assert_eq!(out.code, Some(1));
    }

    fn a_certificate_opens_only_its_own_mailbox(server) {
        let p = start(server);
        let (cert, key) = (text(&p.certs.client_cert), text(&p.certs.client_key));
        let host = p.pop3s_host();
        let args = ["--auth", "external", "--cert", cert, "--key", key, &host, "other"];
        let out = run_piped(&mut tool(BIN, &p, &args), "");
        assert_eq!(out.stdout, "Login failed: -ERR [AUTH] Authentication failed.\n", "{}", out.stderr);
        assert_eq!(out.code, Some(1));
    }

    fn a_client_certificate_changes_nothing_for_a_password_login(server) {
        let p = start(server);
        let (cert, key) = (text(&p.certs.client_cert), text(&p.certs.client_key));
        let out = popconn(&p, &["--cert", cert, "--key", key]);
        assert_eq!(out.stdout, BOOK_LINE, "{}", out.stderr);
    }
}

server_tests! {
    fn a_pinned_key_that_matches_changes_nothing(server) {
        let p = start(server);
        let pin = p.certs.server_pin().unwrap();
        for pins in [pin.clone(), format!("{OTHER_PIN};{pin}")] {
            let out = popconn(&p, &["--pinned-pubkey", &pins]);
            assert_eq!(out.stdout, BOOK_LINE, "{pins}: {}", out.stderr);
            assert_eq!(out.code, Some(0));
        }
        // The key of the certificate after STLS is checked the same way.
        let host = p.pop3_host();
        let args = ["--stls", "--pinned-pubkey", &pin, &host, USER];
        let out = run_piped(&mut tool(BIN, &p, &args), "abc123\n");
        assert_eq!(out.stdout, BOOK_LINE, "{}", out.stderr);
    }

    fn a_key_not_pinned_is_one_line_naming_its_own_pin(server) {
        let p = start(server);
        let pin = p.certs.server_pin().unwrap();
        let wrong = format!("{OTHER_PIN};sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        let out = popconn(&p, &["--pinned-pubkey", &wrong]);
        let refusal = format!("TLS: the server's public key {pin} matches no pinned key");
        assert_one_error_line(&out, "popconn", &refusal);
        assert_eq!(out.stdout, "");
    }
}

#[test]
fn a_server_whose_key_is_not_pinned_receives_nothing() {
    let server = HostileServer::tls(|peer| {
        peer.send("+OK ready\r\n")?;
        peer.accept_login()?;
        peer.answer("+OK 2 320")?;
        peer.answer_rest()
    })
    .unwrap();
    let pin = server.certs.server_pin().unwrap();
    let out = run_against(BIN, &server, &["--pinned-pubkey", OTHER_PIN]);
    assert_one_error_line(&out, "popconn", &format!("public key {pin} matches no"));
    // The handshake failed: not a command, not even QUIT.
    assert_eq!(server.received(), Vec::<String>::new());

    // With its key pinned, the same server gets the whole session.
    let out = run_against(BIN, &server, &["--pinned-pubkey", &pin]);
    assert_eq!(
        out.stdout, "You have 2 messages totaling 320 bytes\n",
        "{}",
        out.stderr
    );
    assert_eq!(server.received().last().map(String::as_str), Some("QUIT"));
}

#[test]
fn a_pin_not_in_curls_form_is_a_usage_error() {
    for pins in [
        "sha256//nope",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "",
    ] {
        let out = run_piped(
            std::process::Command::new(BIN).args(["--pinned-pubkey", pins, "localhost:1", USER]),
            "",
        );
        assert_eq!(out.code, Some(2), "{pins:?}: {out:?}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{}", out.stderr);
        assert!(
            lines[0].starts_with("popconn: --pinned-pubkey: invalid public key pin "),
            "{}",
            lines[0]
        );
        assert!(lines[1].starts_with("usage: popconn"), "{}", lines[1]);
    }
}

#[test]
fn a_key_that_is_not_the_certificates_is_one_line_and_nothing_is_sent() {
    let server = HostileServer::tls(|peer| {
        peer.send("+OK ready\r\n")?;
        peer.answer_rest()
    })
    .unwrap();
    let (cert, wrong_key) = (&server.certs.client_cert, &server.certs.key);
    let out = run_against(
        BIN,
        &server,
        &["--cert", text(cert), "--key", text(wrong_key)],
    );
    let refusal = format!(
        "client key file {}: not the key of the certificate in {}",
        wrong_key.display(),
        cert.display()
    );
    assert_one_error_line(&out, "popconn", &refusal);
    assert_eq!(server.received(), Vec::<String>::new());
}

#[test]
fn unusable_certificate_files_are_one_line_each() {
    let server = HostileServer::tls(|peer| peer.answer_rest()).unwrap();
    let missing = server.certs.client_cert.with_file_name("missing.pem");
    let (cert, key) = (&server.certs.client_cert, &server.certs.client_key);
    let cases = [
        (
            vec!["--cert", text(&missing)],
            format!("client certificate file {}: ", missing.display()),
        ),
        (
            vec!["--cert", text(key)],
            format!(
                "client certificate file {}: no PEM certificate in it",
                key.display()
            ),
        ),
        (
            vec!["--cert", text(cert)],
            format!(
                "client key file {}: no PEM private key in it",
                cert.display()
            ),
        ),
    ];
    for (options, refusal) in cases {
        let out = run_against(BIN, &server, &options);
        assert_one_error_line(&out, "popconn", &refusal);
    }
    assert_eq!(server.received(), Vec::<String>::new());
}

#[test]
fn a_server_without_external_is_one_clear_line() {
    let p = start(ServerKind::Builtin);
    let (cert, key) = (text(&p.certs.client_cert), text(&p.certs.client_key));
    let out = popconn(&p, &["--auth", "external", "--cert", cert, "--key", key]);
    assert_one_error_line(
        &out,
        "popconn",
        "the server does not offer SASL EXTERNAL (it offers: ",
    );
}
