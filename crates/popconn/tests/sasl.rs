//! Today's providers: SASL AUTH (PLAIN against the real servers that offer it; XOAUTH2 and OAUTHBEARER against
//! scripted servers that follow Google's and Microsoft's documented exchanges), UTF8, and
//! secrets from a command.

use playground::hostile::{HostileServer, Peer};
use playground::testing::{
    assert_one_error_line, run_against, run_piped, start, tool, tool_trusting,
};
use playground::{server_tests, PASSWORD, USER};

const BIN: &str = env!("CARGO_BIN_EXE_popconn");

server_tests! {
    servers: [builtin, dovecot, courier];

    fn sasl_plain(server) {
        let p = start(server);
        let mut command = tool(BIN, &p, &["--auth", "plain", "--trace", &p.pop3s_host(), USER]);
        let out = run_piped(&mut command, "abc123\n");
        assert_eq!(out.stdout, "You have 6 messages totaling 3441 bytes\n", "{}", out.stderr);
        assert!(out.stderr.contains("C: AUTH PLAIN ********"), "{}", out.stderr);
        assert!(!out.stderr.contains("AGJyYW5kb24AYWJjMTIz"), "the PLAIN response leaked");
    }

    fn sasl_plain_wrong_password(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &["--auth", "plain", &p.pop3s_host(), USER]), "wrong\n");
        assert!(out.stdout.starts_with("Login failed: -ERR"), "{}", out.stdout);
        assert_eq!(out.code, Some(1));
    }

}

server_tests! {
    fn password_from_a_command(server) {
        let p = start(server);
        let args = ["--password-command", "printf '%s\\n' abc123", "--trace", &p.pop3s_host(), USER];
        let out = run_piped(&mut tool(BIN, &p, &args), "");
        assert_eq!(out.stdout, "You have 6 messages totaling 3441 bytes\n", "{}", out.stderr);
        assert!(!out.stderr.contains("Password"), "no prompt expected: {}", out.stderr);
        assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
    }
}

server_tests! {
    servers: [mailutils];

    fn a_server_without_sasl_is_one_clear_line(server) {
        let p = start(server);
        let out = run_piped(&mut tool(BIN, &p, &["--auth", "plain", &p.pop3s_host(), USER]), "abc123\n");
        assert_one_error_line(&out, "popconn", "the server does not offer SASL PLAIN (it offers: none)");
    }
}

#[test]
fn failing_password_command_is_a_clear_error() {
    let out = run_piped(
        std::process::Command::new(BIN).args(["--password-command", "exit 7", "localhost:1", USER]),
        "",
    );
    assert_eq!(
        out.stderr,
        "popconn: --password-command failed (exit status: 7)\n"
    );
    assert_eq!(out.code, Some(1));
}

/// A server that advertises `sasl` in CAPA, then runs `exchange` on the AUTH command.
fn oauth_server(
    sasl: &'static str,
    exchange: impl Fn(&mut Peer, &str) -> std::io::Result<()> + Send + Sync + 'static,
) -> HostileServer {
    HostileServer::tls(move |peer| {
        peer.offer(&format!("USER\r\nSASL {sasl}"));
        peer.send("+OK ready\r\n")?;
        let auth = peer.command()?.unwrap_or_default();
        exchange(peer, &auth)?;
        peer.answer_rest()
    })
    .unwrap()
}

const TOKEN: &str = "ya29.A0ARrdaM-long-access-token-from-an-oauth-helper";

/// Google's error challenge: {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}
const GOOGLE_ERROR: &str =
    "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";

#[test]
fn xoauth2_as_gmail_does_it() {
    let server = oauth_server("PLAIN XOAUTH2 OAUTHBEARER X-GOOGLE-FUTURE", |peer, auth| {
        assert_eq!(
            auth.split(' ').take(2).collect::<Vec<_>>(),
            ["AUTH", "XOAUTH2"]
        );
        peer.send("+OK Welcome.\r\n")?;
        peer.answer("+OK 2 320")
    });
    let out = run_against(
        BIN,
        &server,
        &[
            "--auth",
            "xoauth2",
            "--password-command",
            &format!("echo {TOKEN}"),
        ],
    );
    assert_eq!(
        out.stdout, "You have 2 messages totaling 320 bytes\n",
        "{}",
        out.stderr
    );
    let received = server.received();
    assert_eq!(received[0], "CAPA");
    // "user=brandon\x01auth=Bearer TOKEN\x01\x01", on the AUTH line as it fits in 255 octets.
    assert_eq!(received[1], "AUTH XOAUTH2 dXNlcj1icmFuZG9uAWF1dGg9QmVhcmVyIHlhMjkuQTBBUnJkYU0tbG9uZy1hY2Nlc3MtdG9rZW4tZnJvbS1hbi1vYXV0aC1oZWxwZXIBAQ==");
}

#[test]
fn xoauth2_in_two_steps_as_microsoft_does_it() {
    let long_token = format!("EwBwA8l6BAAU{}", "x".repeat(1500));
    let server = oauth_server("XOAUTH2", |peer, auth| {
        assert_eq!(auth, "AUTH XOAUTH2");
        peer.send("+ \r\n")?;
        let response = peer.command()?.unwrap_or_default();
        assert!(response.len() > 1500);
        peer.send("+OK User successfully authenticated.\r\n")?;
        peer.answer("+OK 0 0")
    });
    let out = run_against(
        BIN,
        &server,
        &[
            "--auth",
            "xoauth2",
            "--password-command",
            &format!("echo {long_token}"),
        ],
    );
    assert_eq!(
        out.stdout, "You have 0 messages totaling 0 bytes\n",
        "{}",
        out.stderr
    );
}

#[test]
fn oauth_errors_are_finished_and_explained() {
    for (mechanism, closing) in [("xoauth2", ""), ("oauthbearer", "AQ==")] {
        let server = oauth_server("XOAUTH2 OAUTHBEARER", move |peer, _| {
            peer.send(format!("+ {GOOGLE_ERROR}\r\n"))?;
            let reply = peer.command()?.unwrap_or_default();
            assert_eq!(reply, closing, "{mechanism} must end the exchange this way");
            peer.send("-ERR [AUTH] Invalid credentials\r\n")
        });
        let out = run_against(
            BIN,
            &server,
            &["--auth", mechanism, "--password-command", "echo expired"],
        );
        assert_eq!(
            out.stdout,
            "Login failed: -ERR [AUTH] Invalid credentials (the server explained: \
             {\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"})\n"
        );
        assert_eq!(out.code, Some(1));
        assert_eq!(server.received().last().map(String::as_str), Some("QUIT"));
    }
}

#[test]
fn mechanism_not_offered() {
    let server = oauth_server("PLAIN LOGIN", |_, _| Ok(()));
    let out = run_against(BIN, &server, &["--auth", "oauthbearer"]);
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("the server does not offer SASL OAUTHBEARER (it offers: PLAIN LOGIN)"),
        "{last}"
    );
    assert!(!server.received().iter().any(|c| c.starts_with("AUTH")));
}

#[test]
fn utf8_user_names_when_the_server_advertises_it() {
    let server = HostileServer::tls(|peer| {
        peer.offer("USER\r\nUTF8 USER");
        peer.send("+OK ready\r\n")?;
        peer.answer("+OK UTF8 enabled")?;
        peer.accept_login()?;
        peer.answer("+OK 1 10")?;
        peer.answer_rest()
    })
    .unwrap();
    let host = server.host();
    let out = run_piped(
        &mut tool_trusting(BIN, server.ca(), &[&host, "brandön"]),
        "pässwörd\n",
    );
    assert_eq!(
        out.stdout, "You have 1 messages totaling 10 bytes\n",
        "{}",
        out.stderr
    );
    assert_eq!(
        server.received()[..4],
        ["CAPA", "UTF8", "USER brandön", "PASS pässwörd"]
    );
}
