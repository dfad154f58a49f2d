//! download_and_delete against servers that break multi-line answers or send odd mail.

use playground::hostile::{HostileServer, Peer};
use playground::testing::{
    assert_one_error_line, assert_one_error_line_exiting, run_against, run_piped, tool_trusting,
};

const BIN: &str = env!("CARGO_BIN_EXE_download_and_delete");

/// Greets, logs in and lists one message of `size` bytes.
fn up_to_list(peer: &mut Peer, size: usize) -> std::io::Result<()> {
    peer.offer("TOP"); // no PIPELINING, so each command waits
    peer.send("+OK ready\r\n")?;
    peer.accept_login()?;
    peer.answer(&format!("+OK\r\n1 {size}\r\n."))
}

/// Runs the tool answering `answers` (after the password) against `server`.
fn run_answering(server: &HostileServer, answers: &str) -> playground::testing::Output {
    let host = server.host();
    let mut command = tool_trusting(BIN, server.ca(), &["--timeout", "2", &host, "brandon"]);
    run_piped(&mut command, &format!("abc123\n{answers}"))
}

#[test]
fn top_cut_before_the_final_dot() {
    let server = HostileServer::tls(|peer| {
        up_to_list(peer, 100)?;
        peer.command()?;
        peer.send("+OK\r\nSubject: cut\r\n")
    })
    .unwrap();
    let out = run_against(BIN, &server, &[]);
    assert_one_error_line(
        &out,
        "download_and_delete",
        "closed the connection in the middle of a multi-line response",
    );
}

#[test]
fn retr_cut_in_the_middle() {
    let server = HostileServer::tls(|peer| {
        up_to_list(peer, 100)?;
        peer.answer("+OK\r\nSubject: x\r\n\r\n.")?;
        peer.command()?;
        peer.send("+OK\r\nSubject: x\r\n\r\nhalf a bo")
    })
    .unwrap();
    let out = run_answering(&server, "y\ny\n");
    assert_one_error_line(
        &out,
        "download_and_delete",
        "in the middle of a multi-line response",
    );
    assert!(!server.received().iter().any(|c| c.starts_with("DELE")));
}

#[test]
fn err_to_top_retr_and_dele() {
    for failing in ["TOP", "RETR", "DELE"] {
        let server = HostileServer::tls(move |peer| {
            up_to_list(peer, 20)?; // the size of the message below
            while let Some(command) = peer.command()? {
                if command.starts_with(failing) {
                    peer.send(format!("-ERR [SYS/TEMP] {failing} failed\r\n"))?;
                } else if command.starts_with("TOP") || command.starts_with("RETR") {
                    peer.send("+OK\r\nSubject: x\r\n\r\nbody\r\n.\r\n")?;
                } else {
                    peer.send("+OK\r\n")?;
                }
            }
            Ok(())
        })
        .unwrap();
        let out = run_answering(&server, "y\ny\n");
        assert_one_error_line_exiting(
            &out,
            "download_and_delete",
            &format!("-ERR [SYS/TEMP] {failing} failed (the server reports a temporary failure; try again later)"),
            75,
        );
        assert_eq!(
            server.received().last().map(String::as_str),
            Some("QUIT"),
            "{failing}"
        );
    }
}

#[test]
fn retr_with_only_the_headers_is_warned_about() {
    // As reported of GNU mailutils 3.15, for RETR of the last message after TOP n 0 of it:
    // the headers again, though LIST announced the whole message.
    let server = HostileServer::tls(|peer| {
        up_to_list(peer, 100)?;
        peer.answer("+OK\r\nSubject: x\r\n\r\n.")?;
        peer.answer("+OK\r\nSubject: x\r\n\r\n.")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_answering(&server, "y\nn\n");
    assert_eq!(out.code, Some(0), "{out:?}");
    let warning = "download_and_delete: warning: message 1: the server sent only its headers (14 of the 100 bytes LIST announced)\n";
    assert!(out.stderr.ends_with(warning), "{}", out.stderr);
    assert!(out.stdout.contains("Subject: x\n"), "{}", out.stdout);
}

#[test]
fn a_one_megabyte_body_line_works() {
    let server = HostileServer::tls(|peer| {
        up_to_list(peer, 1 << 20)?;
        peer.answer("+OK\r\nSubject: long\r\n\r\n.")?;
        peer.command()?;
        peer.send(format!(
            "+OK\r\nSubject: long\r\n\r\n{}\r\n.\r\n",
            "x".repeat(1 << 20)
        ))?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_answering(&server, "y\nn\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains(&format!("\n{}\n", "x".repeat(1 << 20))));
}

#[test]
fn odd_bytes_in_mail_are_shown_not_fatal() {
    let server = HostileServer::tls(|peer| {
        up_to_list(peer, 100)?;
        peer.command()?;
        peer.send(b"+OK\r\nSubject: caf\xe9\x00 \xff\r\n\r\n.\r\n")?;
        peer.command()?;
        // Not UTF-8, a NUL, bare LF line ends, a CR without LF.
        peer.send(b"+OK\r\nSubject: x\n\nline one\nhalf\rway \xff\x00 end\n.\n")?;
        peer.answer_rest()
    })
    .unwrap();
    let out = run_answering(&server, "y\nn\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("line one\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Subject: caf"), "{}", out.stdout);
}

#[test]
fn quit_unanswered_after_deletions_says_their_fate_is_unknown() {
    let server = HostileServer::tls(|peer| {
        up_to_list(peer, 30)?;
        peer.answer("+OK\r\nSubject: x\r\n\r\n.")?; // TOP
        peer.answer("+OK marked")?; // DELE
        peer.command()?; // QUIT: the connection drops before the answer
        Ok(())
    })
    .unwrap();
    let out = run_answering(&server, "n\ny\n");
    assert!(out.stdout.contains("Deleted."), "{}", out.stdout);
    assert_one_error_line(
        &out,
        "download_and_delete",
        "whether the 1 deletion(s) asked for took effect is unknown",
    );
}

/// What `server` received, once it has stopped receiving (the tool may have ended before the
/// server read its last commands).
fn received_in_the_end(server: &HostileServer) -> Vec<String> {
    let mut received = server.received();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = server.received();
        if now == received {
            break;
        }
        received = now;
    }
    received
}

/// CAPA's answer for a server with or without pipelining.
fn capabilities(pipelining: bool) -> &'static str {
    if pipelining {
        "TOP\r\nPIPELINING"
    } else {
        "TOP"
    }
}

#[test]
fn an_answer_no_command_asked_for_ends_the_session_unquit() {
    // One TOP-shaped answer more after LIST's: taken in turn, every answer would shift by
    // one, and message 2 would show message 1's headers before the user deletes "it".
    for pipelining in [false, true] {
        let server = HostileServer::tls(move |peer| {
            peer.offer(capabilities(pipelining));
            peer.send("+OK ready\r\n")?;
            peer.accept_login()?;
            peer.answer("+OK\r\n1 20\r\n2 20\r\n.\r\n+OK\r\nSubject: one\r\n\r\n.")?;
            peer.answer_rest()
        })
        .unwrap();
        let out = run_answering(&server, "n\ny\nn\ny\n");
        assert_one_error_line(
            &out,
            "download_and_delete",
            "bytes no command asked for, before TOP",
        );
        let received = received_in_the_end(&server);
        assert!(
            !received
                .iter()
                .any(|c| c.starts_with("TOP") || c.starts_with("DELE") || c == "QUIT"),
            "{received:?}"
        );
    }
}

#[test]
fn a_server_out_of_step_after_a_deletion_gets_no_quit() {
    // Message 1 is marked for deletion; then TOP 2's answer has no status line. From here
    // the server's answers cannot be trusted to mean what the session expects, so QUIT,
    // which would apply the deletion, is not sent, and the error says so.
    for pipelining in [false, true] {
        let server = HostileServer::tls(move |peer| {
            peer.offer(capabilities(pipelining));
            peer.send("+OK ready\r\n")?;
            peer.accept_login()?;
            peer.answer("+OK\r\n1 20\r\n2 20\r\n.")?;
            while let Some(command) = peer.command()? {
                match command.as_str() {
                    "TOP 1 0" => peer.send("+OK\r\nSubject: one\r\n\r\n.\r\n")?,
                    "TOP 2 0" => peer.send("Subject: two\r\n\r\n.\r\n")?,
                    _ => peer.send("+OK\r\n")?,
                }
            }
            Ok(())
        })
        .unwrap();
        let out = run_answering(&server, "n\ny\nn\ny\n");
        assert_one_error_line(
            &out,
            "download_and_delete",
            "expected +OK or -ERR, got \"Subject: two\"; QUIT not sent, so the 1 deletion(s) asked for were not applied",
        );
        let received = received_in_the_end(&server);
        assert!(received.contains(&"DELE 1".to_string()), "{received:?}");
        assert!(
            !received.contains(&"QUIT".to_string()),
            "pipelining {pipelining}: {received:?}"
        );
    }
}

#[test]
fn a_duplicated_answer_is_caught_before_quit_applies_a_deletion() {
    // TOP 1 answered twice: pipelined, every later answer shifts by one, and message 2 shows
    // message 1's headers. The user deletes "it": DELE 2 goes out, but QUIT must not, as
    // the shift shows (at the latest) when the answers before QUIT are read.
    for pipelining in [false, true] {
        let server = HostileServer::tls(move |peer| {
            peer.offer(capabilities(pipelining));
            peer.send("+OK ready\r\n")?;
            peer.accept_login()?;
            peer.answer("+OK\r\n1 100\r\n2 100\r\n3 100\r\n.")?;
            while let Some(command) = peer.command()? {
                if let Some(number) = command
                    .strip_prefix("TOP ")
                    .and_then(|c| c.split(' ').next())
                {
                    peer.send(format!("+OK\r\nSubject: message {number}\r\n\r\n.\r\n"))?;
                    if number == "1" {
                        peer.send("+OK\r\nSubject: message 1 (a duplicate)\r\n\r\n.\r\n")?;
                    }
                } else {
                    peer.send("+OK\r\n")?;
                }
            }
            Ok(())
        })
        .unwrap();
        let out = run_answering(&server, "n\nn\nn\ny\nn\nn\n");
        let received = received_in_the_end(&server);
        assert!(
            !received.contains(&"QUIT".to_string()),
            "pipelining {pipelining}: {received:?}"
        );
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(out.stderr.contains("protocol error"), "{}", out.stderr);
    }
}

#[test]
fn a_refused_dele_is_named_whenever_its_answer_comes() {
    // With PIPELINING, DELE does not wait for its answer: the refusal comes in behind the
    // answers already on their way (TOP for the next messages), and is reported then, naming
    // the message. Without it, at once. Either way QUIT ends the session, applying only the
    // deletions the server accepted.
    for pipelining in [true, false] {
        let server = HostileServer::tls(move |peer| {
            peer.offer(if pipelining {
                "TOP\r\nUSER\r\nPIPELINING"
            } else {
                "TOP"
            });
            peer.send("+OK ready\r\n")?;
            peer.accept_login()?;
            let list: String = (1..=20).map(|i| format!("{i} 20\r\n")).collect();
            peer.answer(&format!("+OK\r\n{list}."))?;
            while let Some(command) = peer.command()? {
                if command == "DELE 1" {
                    peer.send("-ERR no such message\r\n")?;
                } else if command.starts_with("TOP") {
                    peer.send(format!("+OK\r\nSubject: {command}\r\n\r\n.\r\n"))?;
                } else {
                    peer.send("+OK\r\n")?;
                }
            }
            Ok(())
        })
        .unwrap();
        let out = run_answering(&server, &"n\ny\n".repeat(20));
        assert_one_error_line(
            &out,
            "download_and_delete",
            "DELE 1 was refused: -ERR no such message",
        );
        assert_eq!(
            server.received().last().map(String::as_str),
            Some("QUIT"),
            "pipelining {pipelining}"
        );
    }
}
