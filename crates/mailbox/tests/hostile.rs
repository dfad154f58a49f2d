//! mailbox against servers whose LIST is broken: one clear error line, never a panic.

use playground::hostile::HostileServer;
use playground::testing::{assert_one_error_line, assert_one_error_line_exiting, run_against};

const BIN: &str = env!("CARGO_BIN_EXE_mailbox");

/// A server that logs in and answers LIST with `listing` (raw bytes, terminator included
/// if the case wants one).
fn listing(listing: &'static str) -> HostileServer {
    HostileServer::tls(move |peer| {
        peer.send("+OK ready\r\n")?;
        peer.accept_login()?;
        peer.command()?;
        peer.send(listing)?;
        peer.answer_rest()
    })
    .unwrap()
}

#[test]
fn malformed_listings() {
    let cases = [
        ("+OK\r\n1 abc\r\n.\r\n", "malformed LIST"),
        ("+OK\r\n-1 100\r\n.\r\n", "malformed LIST"),
        ("+OK\r\n1\r\n.\r\n", "malformed LIST"),
        ("+OK\r\n0 100\r\n.\r\n", "malformed LIST"),
        ("+OK\r\n1 18446744073709551616\r\n.\r\n", "malformed LIST"),
        ("+OK\r\n99999999999 1\r\n.\r\n", "malformed LIST"),
        (
            "+OK\r\n2 100\r\n1 100\r\n.\r\n",
            "out of order or repeated: 1 after 2",
        ),
        (
            "+OK\r\n1 100\r\n1 100\r\n.\r\n",
            "out of order or repeated: 1 after 1",
        ),
        (
            "-ERR [SYS/TEMP] listing unavailable\r\n",
            "-ERR [SYS/TEMP] listing unavailable",
        ),
    ];
    for (answer, cause) in cases {
        let server = listing(answer);
        let out = run_against(BIN, &server, &[]);
        // A [SYS/TEMP] refusal is temporary: exit status 75 (EX_TEMPFAIL).
        let code = if answer.contains("[SYS/TEMP]") { 75 } else { 1 };
        assert_one_error_line_exiting(&out, "mailbox", cause, code);
        // A refusal ends the session politely; after nonsense, nothing more is sent: the
        // session is out of step, and QUIT could apply what it no longer understands.
        let last = if answer.starts_with("-ERR") {
            "QUIT"
        } else {
            "LIST"
        };
        assert_eq!(
            server.received().last().map(String::as_str),
            Some(last),
            "{answer:?}"
        );
    }
}

#[test]
fn listing_cut_short() {
    for cut in [
        "+OK\r\n1 100\r\n",
        "+OK\r\n1 100\r\n2 1",
        "+OK\r\n1 100\r\n.",
    ] {
        let server = HostileServer::tls(move |peer| {
            peer.send("+OK ready\r\n")?;
            peer.accept_login()?;
            peer.command()?;
            peer.send(cut)
        })
        .unwrap();
        let out = run_against(BIN, &server, &[]);
        assert_one_error_line(
            &out,
            "mailbox",
            "the server closed the connection in the middle of",
        );
    }
}

#[test]
fn listing_that_stalls() {
    let server = HostileServer::tls(|peer| {
        peer.send("+OK ready\r\n")?;
        peer.accept_login()?;
        peer.command()?;
        peer.send("+OK\r\n1 100\r\n")?;
        peer.stall()
    })
    .unwrap();
    let out = run_against(BIN, &server, &[]);
    assert_one_error_line(&out, "mailbox", "timed out waiting for the server");
    assert_eq!(out.stdout, "Message 1 has 100 bytes\n");
}

#[test]
fn bare_lf_listing_works() {
    let server = listing("+OK\n1 100\n2 200\n.\n");
    let out = run_against(BIN, &server, &[]);
    assert_eq!(
        out.stdout,
        "Message 1 has 100 bytes\nMessage 2 has 200 bytes\n"
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
