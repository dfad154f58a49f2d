//! Today's providers: SASL AUTH (PLAIN, LOGIN, CRAM-MD5 and SCRAM against the real servers
//! that offer them; XOAUTH2 and OAUTHBEARER against scripted servers that follow Google's and
//! Microsoft's documented exchanges, as do SCRAM servers that fail to prove themselves), UTF8,
//! and secrets from a command.

use playground::hostile::{sasl_text, HostileServer, Peer};
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
    servers: [builtin, dovecot];

    fn sasl_scram_sha_256(server) {
        logs_in_with(server, "scram-sha-256");
    }

    fn sasl_scram_sha_1(server) {
        logs_in_with(server, "scram-sha-1");
    }

    fn sasl_cram_md5(server) {
        logs_in_with(server, "cram-md5");
    }

    fn sasl_challenges_wrong_password(server) {
        refused_with(server, &["scram-sha-256", "scram-sha-1", "cram-md5"]);
    }
}

server_tests! {
    servers: [builtin, dovecot, courier];

    fn sasl_login(server) {
        logs_in_with(server, "login");
    }

    fn sasl_login_wrong_password(server) {
        refused_with(server, &["login"]);
    }
}

/// Logs in with `mechanism`, traced: the trace shows the exchange, but neither the password
/// nor what proves it (SCRAM's proof, CRAM-MD5's digest): that line is `********`. Nor does it
/// show SCRAM's server signature, which with the salt would let a reader test guesses.
fn logs_in_with(server: playground::ServerKind, mechanism: &str) {
    let p = start(server);
    let mut command = tool(
        BIN,
        &p,
        &["--auth", mechanism, "--trace", &p.pop3s_host(), USER],
    );
    let out = run_piped(&mut command, "abc123\n");
    assert_eq!(
        out.stdout, "You have 6 messages totaling 3441 bytes\n",
        "{}",
        out.stderr
    );
    let name = mechanism.to_uppercase();
    assert!(
        out.stderr.contains(&format!("C: AUTH {name}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("\nC: ********\n"), "{}", out.stderr);
    for sent in out
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("C: "))
    {
        let text = sasl_text(sent.rsplit(' ').next().unwrap_or_default());
        for secret in [PASSWORD, ",p=", "brandon "] {
            assert!(
                !text.contains(secret),
                "{name}: {secret:?} in the trace: {}",
                out.stderr
            );
        }
    }
    for challenge in out
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("S: + "))
    {
        let text = sasl_text(challenge);
        assert!(
            !text.starts_with("v="),
            "{name}: the server signature in the trace: {}",
            out.stderr
        );
    }
    if name.starts_with("SCRAM") {
        assert!(out.stderr.contains("\nS: + ********\n"), "{}", out.stderr);
    }
}

/// Each of `mechanisms` with a wrong password: the server's refusal, as the book prints it.
fn refused_with(server: playground::ServerKind, mechanisms: &[&str]) {
    let p = start(server);
    for mechanism in mechanisms {
        let out = run_piped(
            &mut tool(BIN, &p, &["--auth", mechanism, &p.pop3s_host(), USER]),
            "wrong\n",
        );
        assert!(
            out.stdout.starts_with("Login failed: -ERR"),
            "{mechanism}: {out:?}"
        );
        assert_eq!(out.code, Some(1), "{mechanism}");
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

/// A SCRAM server that does not know the password: it takes any proof and must make up its
/// signature, or skip it. The tool says so in one line and sends nothing more: no empty
/// answer, no QUIT.
#[test]
fn a_scram_server_that_fails_to_prove_itself_gets_nothing_more() {
    for (signs, says) in [
        (true, "the server's SCRAM signature does not match: it does not know the password, or someone is in the middle"),
        (false, "the server accepted the SCRAM login without its signature"),
    ] {
        let server = HostileServer::tls(move |peer| {
            peer.offer("SASL SCRAM-SHA-256");
            peer.send("+OK ready\r\n")?;
            let auth = peer.command()?.unwrap_or_default();
            let first = sasl_text(auth.rsplit(' ').next().unwrap_or_default());
            let nonce = first.rsplit("r=").next().unwrap_or_default().to_string();
            let _final = peer.challenge(&format!("r={nonce}impostor,s=c2FsdA==,i=4096"))?;
            if signs {
                // 32 zero bytes: the length of a SHA-256 signature, not its value.
                peer.challenge("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")?;
            } else {
                peer.send("+OK take any proof\r\n")?;
            }
            peer.answer_rest()
        })
        .unwrap();
        let out = run_against(BIN, &server, &["--auth", "scram-sha-256"]);
        assert_one_error_line(&out, "popconn", says);
        assert_eq!(out.stdout, "");
        let received = server.received();
        assert_eq!(received.len(), 3, "CAPA, AUTH, client-final and nothing more: {received:?}");
        assert!(received[1].starts_with("AUTH SCRAM-SHA-256 "), "{received:?}");
        assert!(sasl_text(&received[2]).contains(",p="), "{received:?}");
    }
}

/// A SCRAM server's own error (`e=`) is its refusal: the exchange is cancelled, the
/// refusal printed with the report, and the session ends with QUIT.
#[test]
fn a_scram_server_error_is_a_refusal() {
    let server = HostileServer::tls(|peer| {
        peer.offer("SASL SCRAM-SHA-1");
        peer.send("+OK ready\r\n")?;
        peer.command()?;
        let cancel = peer.challenge("e=unknown-user")?;
        assert_eq!(cancel.as_deref(), Some("*"));
        peer.send("-ERR [AUTH] Authentication failed.\r\n")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &["--auth", "scram-sha-1"]);
    assert_eq!(
        out.stdout,
        "Login failed: -ERR [AUTH] Authentication failed. (the server explained: e=unknown-user)\n"
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(server.received().last().map(String::as_str), Some("QUIT"));
}
