//! popconn against servers that misbehave: every case ends in one clear error line and a
//! non-zero exit within the timeout, never a panic or a hang.

use std::sync::Arc;

use playground::certs::{CertSpec, Issuer};
use playground::hostile::HostileServer;
use playground::testing::{
    assert_one_error_line, assert_one_error_line_exiting, run_against, run_piped, tool_trusting,
};

const BIN: &str = env!("CARGO_BIN_EXE_popconn");
const GREETING: &str = "+OK hostile server ready\r\n";

fn fails_with(server: HostileServer, cause: &str) -> HostileServer {
    let out = run_against(BIN, &server, &[]);
    assert_one_error_line(&out, "popconn", cause);
    server
}

#[test]
fn no_greeting() {
    fails_with(
        HostileServer::tls(|peer| peer.stall()).unwrap(),
        "timed out waiting for the server",
    );
}

#[test]
fn greeting_that_is_not_ok() {
    let imap = HostileServer::tls(|peer| peer.send("* OK IMAP4rev1 ready\r\n")).unwrap();
    fails_with(
        imap,
        r#"protocol error: expected +OK or -ERR, got "* OK IMAP4rev1 ready""#,
    );
    let busy = HostileServer::tls(|peer| peer.send("-ERR [SYS/TEMP] too busy\r\n")).unwrap();
    let out = run_against(BIN, &busy, &[]);
    assert_one_error_line_exiting(
        &out,
        "popconn",
        "-ERR [SYS/TEMP] too busy (the server reports a temporary failure; try again later)",
        75,
    );
}

#[test]
fn closed_during_the_greeting() {
    let server = HostileServer::tls(|peer| peer.send("+OK hal")).unwrap();
    fails_with(
        server,
        "the server closed the connection in the middle of a line",
    );
}

#[test]
fn closed_during_a_status_line() {
    let server = HostileServer::tls(|peer| {
        peer.send(GREETING)?;
        peer.answer("+OK")?;
        peer.command()?;
        peer.send("+O")
    })
    .unwrap();
    fails_with(
        server,
        "the server closed the connection in the middle of a line",
    );
}

#[test]
fn half_a_line_then_silence() {
    let server = HostileServer::tls(|peer| {
        peer.send("+OK hal")?;
        peer.stall()
    })
    .unwrap();
    fails_with(server, "timed out waiting for the server");
}

#[test]
fn err_to_user_or_pass_is_a_failed_login_and_quit_is_sent() {
    for refused in [0, 1] {
        let server = HostileServer::tls(move |peer| {
            peer.send(GREETING)?;
            peer.answer(if refused == 0 {
                "-ERR no such user"
            } else {
                "+OK"
            })?;
            if refused == 1 {
                peer.answer("-ERR [AUTH] wrong password")?;
            }
            peer.answer_rest()
        })
        .unwrap();
        let out = run_against(BIN, &server, &[]);
        let reply = ["-ERR no such user", "-ERR [AUTH] wrong password"][refused];
        assert_eq!(out.stdout, format!("Login failed: {reply}\n"));
        assert_eq!(out.code, Some(1));
        assert_eq!(server.received().last().map(String::as_str), Some("QUIT"));
    }
}

#[test]
fn err_to_stat_and_to_quit() {
    let server = HostileServer::tls(|peer| {
        peer.send(GREETING)?;
        peer.accept_login()?;
        peer.answer("-ERR [SYS/TEMP] cannot count")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &[]);
    assert_one_error_line_exiting(&out, "popconn", "-ERR [SYS/TEMP] cannot count (", 75);
    assert_eq!(server.received().last().map(String::as_str), Some("QUIT"));

    let server = HostileServer::tls(|peer| {
        peer.send(GREETING)?;
        peer.accept_login()?;
        peer.answer("+OK 1 10")?;
        peer.answer("-ERR [SYS/PERM] could not apply changes")
    })
    .unwrap();
    let out = run_against(BIN, &server, &[]);
    assert_eq!(out.stdout, "You have 1 messages totaling 10 bytes\n");
    assert!(
        out.stderr
            .ends_with(": -ERR [SYS/PERM] could not apply changes\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(1));
}

#[test]
fn status_line_of_a_megabyte() {
    let server =
        HostileServer::tls(|peer| peer.send(format!("+OK {}\r\n", "x".repeat(1 << 20)))).unwrap();
    fails_with(
        server,
        "protocol error: the server sent a line longer than 8192 bytes",
    );
}

#[test]
fn malformed_stat_answers() {
    for answer in [
        "+OK two 320",
        "+OK -1 320",
        "+OK 2 -320",
        "+OK 99999999999999999999 1",
        "+OK 1 99999999999999999999",
        "+OK 2",
        "+OK",
    ] {
        let server = HostileServer::tls(move |peer| {
            peer.send(GREETING)?;
            peer.accept_login()?;
            peer.answer(answer)?;
            peer.answer_rest()
        })
        .unwrap();
        fails_with(server, "protocol error: malformed STAT");
    }
}

#[test]
fn odd_bytes_in_status_lines_are_tolerated() {
    let server = HostileServer::tls(|peer| {
        peer.send(b"+OK \xff\xfe\x00 ready\n")?; // not UTF-8, a NUL, a bare LF
        peer.answer("+OK\rstill the same line")?;
        peer.answer("+OK")?;
        peer.command()?;
        peer.send("+OK 3 300\n")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &[]);
    assert_eq!(out.stdout, "You have 3 messages totaling 300 bytes\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn the_trace_shows_invisible_characters_escaped() {
    // A bidi override, a zero-width space, a line separator and a tag character, in the
    // greeting and in an -ERR line: raw, they would disguise what the trace shows.
    let server = HostileServer::tls(|peer| {
        peer.send("+OK \u{202e}ydaer revres\u{200b}\r\n")?;
        peer.accept_login()?;
        peer.answer("-ERR \u{202e}gpj.exe\u{2028}\u{e0041}")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &["--trace"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let trace: Vec<&str> = out.stderr.lines().collect();
    assert!(
        trace.contains(&"S: +OK \\u{202e}ydaer revres\\u{200b}"),
        "{}",
        out.stderr
    );
    assert!(
        trace.contains(&"S: -ERR \\u{202e}gpj.exe\\u{2028}\\u{e0041}"),
        "{}",
        out.stderr
    );
    let raw = ['\u{202e}', '\u{200b}', '\u{2028}', '\u{e0041}'];
    assert!(!out.stderr.contains(raw), "{}", out.stderr);
}

#[test]
fn expired_certificate() {
    let spec = CertSpec {
        expired: true,
        ..CertSpec::default()
    };
    let server = HostileServer::start(&spec, true, Arc::new(|peer| peer.send(GREETING))).unwrap();
    fails_with(server, "TLS: the server's certificate has expired");
}

/// A server with a certificate made as `spec` says, that reports 3 messages of 300 bytes.
fn reporting_server(spec: CertSpec) -> HostileServer {
    let script = |peer: &mut playground::hostile::Peer| {
        peer.send(GREETING)?;
        peer.accept_login()?;
        peer.answer("+OK 3 300")?;
        peer.answer_rest()
    };
    HostileServer::start(&spec, true, Arc::new(script)).unwrap()
}

#[test]
fn a_certificate_in_the_ca_file_that_is_no_ca_vouches_for_nothing_it_signs() {
    // The CA file holds a certificate for other.example (CA:FALSE) whose key signed the
    // server's certificate for localhost.
    let spec = CertSpec {
        issuer: Issuer::EndEntity("other.example".into()),
        ..CertSpec::default()
    };
    let server = reporting_server(spec);
    let ca_file = server.ca().to_str().unwrap().to_owned();
    let out = run_against(BIN, &server, &["--ca-file", &ca_file]);
    let cause = format!(
        "TLS: certificate not trusted: its issuer in CA file {ca_file} is not a CA \
         (no CA:TRUE), so it vouches only for itself"
    );
    assert_one_error_line(&out, "popconn", &cause);
    assert_eq!(server.received(), Vec::<String>::new());
}

#[test]
fn a_servers_own_certificate_as_the_ca_file_admits_it_for_its_own_names() {
    let spec = CertSpec {
        issuer: Issuer::SelfSigned,
        ..CertSpec::default()
    };
    let out = run_against(BIN, &reporting_server(spec), &[]);
    assert_eq!(out.stdout, "You have 3 messages totaling 300 bytes\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    let elsewhere = CertSpec {
        names: vec!["other.example.com".into()],
        issuer: Issuer::SelfSigned,
        ..CertSpec::default()
    };
    fails_with(
        reporting_server(elsewhere),
        "TLS: host name mismatch: the server's certificate is for other.example.com, not localhost",
    );
}

#[test]
fn tls_client_against_a_plaintext_port() {
    let server = HostileServer::plain(|peer| {
        peer.send(GREETING)?;
        peer.stall()
    })
    .unwrap();
    fails_with(
        server,
        "TLS: the server did not answer in TLS (a plain POP3 port? try --stls)",
    );
}

#[test]
fn plaintext_client_against_a_tls_port() {
    let server = HostileServer::tls(|peer| peer.send(GREETING)).unwrap();
    let out = run_against(BIN, &server, &["--stls"]);
    assert_one_error_line(&out, "popconn", "timed out waiting for the server");
}

#[test]
fn stls_refused() {
    let server = HostileServer::plain(|peer| {
        peer.send(GREETING)?;
        peer.answer("-ERR TLS not configured")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &["--stls"]);
    assert_one_error_line(&out, "popconn", "refused STLS (-ERR TLS not configured)");
    assert!(out.stderr.contains("use POP3S instead"), "{}", out.stderr);
    assert!(!server
        .received()
        .iter()
        .any(|c| c.starts_with("USER") || c.starts_with("PASS")));
}

#[test]
fn plaintext_injected_after_stls_is_discarded() {
    let server = HostileServer::plain(|peer| {
        peer.send(GREETING)?;
        peer.command()?;
        // A man in the middle's answers, sent before TLS: they must not count.
        peer.send("+OK begin TLS\r\n+OK\r\n+OK\r\n+OK 66 6666\r\n")?;
        peer.start_tls()?;
        peer.accept_login()?;
        peer.answer("+OK 2 320")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &["--stls"]);
    assert_eq!(
        out.stdout, "You have 2 messages totaling 320 bytes\n",
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(0));
}

#[test]
fn insecure_plaintext_sends_the_password_when_asked() {
    let server = HostileServer::plain(|peer| {
        peer.send(GREETING)?;
        peer.accept_login()?;
        peer.answer("+OK 0 0")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &["--insecure-plaintext"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(server.received().contains(&"PASS abc123".to_string()));
}

#[test]
fn ctrl_d_at_the_password_prompt_sends_nothing() {
    use playground::terminal::{exit_code, rest_of_screen, spawn_in_terminal, wait_for_echo_off};
    use playground::terminal::{ControlCode, Expect};
    let server = HostileServer::tls(|peer| {
        peer.send(GREETING)?;
        peer.answer_rest()
    })
    .unwrap();
    let command =
        playground::testing::tool_trusting(BIN, server.ca(), &[&server.host(), "brandon"]);
    let mut terminal = spawn_in_terminal(&command).unwrap();
    terminal.expect("Password: ").unwrap();
    wait_for_echo_off(&terminal).unwrap();
    terminal.send(ControlCode::EndOfTransmission).unwrap();
    let text = rest_of_screen(&mut terminal).unwrap();
    assert!(
        text.contains("popconn: no password given (end of input)"),
        "{text:?}"
    );
    assert_eq!(exit_code(&terminal).unwrap(), Some(1));
    assert!(server.received().is_empty(), "{:?}", server.received());
}

#[test]
fn pipelining_server_that_loses_commands() {
    // It offers PIPELINING, then answers USER and PASS and drops the rest: the client must
    // give up with a clear line at the timeout, not wait for ever.
    let server = HostileServer::tls(|peer| {
        peer.offer("USER\r\nPIPELINING");
        peer.send(GREETING)?;
        peer.accept_login()?;
        peer.stall()
    })
    .unwrap();
    fails_with(server, "timed out waiting for the server");
}

#[test]
fn pipelined_answers_out_of_step() {
    // A +OK with listing lines where STAT's one-line answer belongs.
    let server = HostileServer::tls(|peer| {
        peer.offer("USER\r\nPIPELINING");
        peer.send(GREETING)?;
        peer.accept_login()?;
        peer.answer("+OK 2 messages\r\n1 120\r\n2 200\r\n.")?;
        peer.answer_rest()
    })
    .unwrap();
    fails_with(
        server,
        r#"protocol error: malformed STAT size answer: "2 messages""#,
    );
}

#[test]
fn answers_sent_before_their_commands_are_refused_unanswered() {
    // The server answers USER, PASS and STAT before they are sent (then refuses the real
    // PASS): taken in turn, its early answers would say "You have 7 messages totaling 700
    // bytes". Pipelining or not, the first command finds them waiting.
    for capabilities in ["TOP", "TOP\r\nPIPELINING"] {
        let server = HostileServer::tls(move |peer| {
            peer.offer(capabilities);
            peer.send("+OK ready\r\n+OK\r\n+OK\r\n+OK 7 700\r\n")?;
            peer.answer("+OK")?;
            peer.answer("-ERR [AUTH] wrong password")?;
            peer.answer_rest()
        })
        .unwrap();
        let out = run_against(BIN, &server, &[]);
        assert_one_error_line(
            &out,
            "popconn",
            "protocol error: the server sent 21 bytes no command asked for, before CAPA",
        );
        assert_eq!(out.stdout, "");
        assert_eq!(
            server.received(),
            Vec::<String>::new(),
            "nothing is sent to it"
        );
    }
}

#[test]
fn stls_accepted_then_plaintext_is_not_told_to_try_stls() {
    let server = HostileServer::plain(|peer| {
        peer.send(GREETING)?;
        peer.answer("+OK begin TLS")?;
        peer.send("+OK still in clear\r\n")?;
        peer.stall()
    })
    .unwrap();
    let out = run_against(BIN, &server, &["--stls"]);
    assert_one_error_line(
        &out,
        "popconn",
        "the server accepted STLS, then did not answer in TLS",
    );
    assert!(!out.stderr.contains("try --stls"), "{}", out.stderr);
}

#[test]
fn user_names_and_host_names_are_refused_before_anything_is_sent() {
    let server = HostileServer::tls(|peer| {
        peer.send(GREETING)?;
        peer.answer_rest()
    })
    .unwrap();
    let host = server.host();
    for (user, cause) in [
        (
            "bran\u{1b}[2Jdon",
            "refusing to send USER: an argument holds a line break, NUL or other control character",
        ),
        (
            &"u".repeat(120_000)[..],
            "refusing to send USER: the command line would be 120007 octets, over the 255",
        ),
    ] {
        let mut command = tool_trusting(BIN, server.ca(), &["--timeout", "2", &host, user]);
        let out = run_piped(&mut command, "abc123\n");
        assert_one_error_line(&out, "popconn", cause);
    }
    let mut command = tool_trusting(BIN, server.ca(), &["--timeout", "2", &host, "brandon"]);
    let out = run_piped(&mut command, "abc\t123\n");
    assert_one_error_line(&out, "popconn", "the password holds a control character");
    assert!(!server
        .received()
        .iter()
        .any(|c| c.starts_with("USER") || c.starts_with("PASS")));
    let mut command = tool_trusting(BIN, server.ca(), &["bücher.example", "brandon"]);
    let out = run_piped(&mut command, "abc123\n");
    assert_one_error_line(
        &out,
        "popconn",
        "host name \"bücher.example\" is not ASCII: give its ASCII (IDNA, xn--...) form",
    );
}

#[test]
fn a_password_command_that_hangs_is_stopped_at_the_timeout() {
    let server = HostileServer::tls(|peer| {
        peer.send(GREETING)?;
        peer.answer_rest()
    })
    .unwrap();
    let started = std::time::Instant::now();
    let out = run_against(BIN, &server, &["--password-command", "sleep 1717"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{out:?}"
    );
    assert_one_error_line(
        &out,
        "popconn",
        "--password-command did not finish within 2 s (--timeout); it was stopped",
    );
    // No process is left whose command line is `sleep 1717`.
    let left = std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|cmdline| cmdline == b"sleep\x001717\x00")
    });
    assert!(!left, "the command was left running");
    assert_eq!(server.received(), Vec::<String>::new());
}

#[test]
fn a_login_refused_for_now_exits_75_with_a_hint() {
    let prompt = "Warning: Password input may be echoed.\nPassword: \n";
    let cases: [(&str, i32, &str); 5] = [
        (
            "-ERR [LOGIN-DELAY] wait 5 minutes",
            75,
            "popconn: the server allows logins only so often; try again later\n",
        ),
        (
            "-ERR [IN-USE] Mailbox is locked",
            75,
            "popconn: another session holds this mailbox; try again later\n",
        ),
        (
            "-ERR [SYS/TEMP] authentication service down",
            75,
            "popconn: the server reports a temporary failure; try again later\n",
        ),
        ("-ERR [AUTH] Authentication failed.", 1, ""),
        ("-ERR [SYS/PERM] account disabled", 1, ""),
    ];
    for (refusal, code, hint) in cases {
        let server = HostileServer::tls(move |peer| {
            peer.send(GREETING)?;
            peer.answer("+OK")?; // USER
            peer.answer(refusal)?; // PASS
            peer.answer_rest()
        })
        .unwrap();
        let out = run_against(BIN, &server, &[]);
        // The book's line, whatever the code; the hint and the status are not in the book.
        assert_eq!(out.stdout, format!("Login failed: {refusal}\n"));
        assert_eq!(out.stderr, format!("{prompt}{hint}"), "{refusal}");
        assert_eq!(out.code, Some(code), "{refusal}");
    }
}

#[test]
fn without_user_in_capa_pass_waits_for_users_answer() {
    // Dovecot leaves USER out of CAPA where it refuses plaintext logins: USER is refused, and
    // the password must not follow it, pipelining or not.
    let server = HostileServer::tls(|peer| {
        peer.offer("PIPELINING");
        peer.send(GREETING)?;
        peer.answer("-ERR [AUTH] Plaintext authentication disallowed")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &[]);
    assert_eq!(
        out.stdout,
        "Login failed: -ERR [AUTH] Plaintext authentication disallowed\n"
    );
    assert_eq!(out.code, Some(1));
    assert!(
        !server.received().iter().any(|c| c.starts_with("PASS")),
        "{:?}",
        server.received()
    );
}

#[test]
fn a_temporary_stls_refusal_exits_75() {
    let server = HostileServer::plain(|peer| {
        peer.offer("STLS");
        peer.send(GREETING)?;
        peer.answer("-ERR [SYS/TEMP] TLS temporarily unavailable")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_against(BIN, &server, &["--stls"]);
    assert_one_error_line_exiting(
        &out,
        "popconn",
        "the server refused STLS (-ERR [SYS/TEMP] TLS temporarily unavailable)",
        75,
    );
    assert!(out.stderr.contains("try again later"), "{}", out.stderr);
}
