//! apopconn against greetings whose APOP timestamp is missing or malformed: refused before
//! anything is sent, in linear time whatever the greeting holds.

use playground::hostile::HostileServer;
use playground::testing::{assert_one_error_line, run_against};

const BIN: &str = env!("CARGO_BIN_EXE_apopconn");

fn greeting(text: String) -> HostileServer {
    HostileServer::tls(move |peer| {
        peer.send(format!("{text}\r\n"))?;
        peer.answer_rest()
    })
    .unwrap()
}

#[test]
fn greeting_without_a_timestamp() {
    for text in ["+OK ready", "+OK 1896.697170952@dbc.mtview.ca.us"] {
        let server = greeting(text.to_string());
        let out = run_against(BIN, &server, &[]);
        assert_eq!(
            out.stdout,
            "Login failed: -ERR APOP not supported by server\n"
        );
        assert_eq!(out.code, Some(1));
        assert_eq!(server.received(), ["QUIT"]);
    }
}

#[test]
fn malformed_timestamps_are_refused() {
    let flood = format!("+OK {}", "<".repeat(10_000));
    let cases = [
        "+OK <1896.697170952>".to_string(),
        "+OK <1896.697170952@dbc.mtview.ca.us".to_string(),
        "+OK <1896.\u{e9}t\u{e9}@host>".to_string(),
        "+OK <1896.\u{1b}[2J@host>".to_string(),
        "+OK <1896 697@host>".to_string(),
        flood,
    ];
    for text in cases {
        let server = greeting(text.clone());
        let out = run_against(BIN, &server, &[]);
        assert_one_error_line(
            &out,
            "apopconn",
            "not a valid <...@...> msg-id; refusing APOP",
        );
        assert_eq!(server.received(), ["QUIT"], "{text:?}");
    }
}

#[test]
fn the_digest_is_never_shown() {
    let server = greeting("+OK <1.2@host>".to_string());
    let mut out = run_against(BIN, &server, &["--trace"]);
    out.stderr.retain(|c| c != '\r');
    let digest = server
        .received()
        .iter()
        .find_map(|c| c.strip_prefix("APOP brandon ").map(String::from));
    let digest = digest.expect("APOP was sent");
    assert!(
        out.stderr.contains("C: APOP brandon ********"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&digest), "{}", out.stderr);
}
