//! Every command, response form and error of the protocol layer, against scripted streams.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use pop3_core::scripted::ScriptedStream;
use pop3_core::{Client, Command, Error, Mechanism, ScanListing, Stat};

const GREETING: &str = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n";

/// Runs `session` against a server sending `replies` after the greeting, once whole and
/// once one byte per read, and returns what the client wrote.
fn run<T: PartialEq + std::fmt::Debug>(
    replies: &str,
    session: impl Fn(&mut Client<ScriptedStream>) -> pop3_core::Result<T>,
) -> (T, String) {
    let script = format!("{GREETING}{replies}");
    let mut outcomes = Vec::new();
    for chunk in [usize::MAX, 1] {
        let mut client = Client::new(ScriptedStream::new(&script).in_chunks_of(chunk)).unwrap();
        let value = session(&mut client).unwrap();
        outcomes.push((value, client.get_ref().written_text()));
    }
    let second = outcomes.pop().unwrap();
    let first = outcomes.pop().unwrap();
    assert_eq!(
        first, second,
        "byte-by-byte reads must give the same result"
    );
    first
}

fn failing(
    replies: &str,
    session: impl Fn(&mut Client<ScriptedStream>) -> pop3_core::Result<()>,
) -> Error {
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{replies}"))).unwrap();
    session(&mut client).expect_err("the session must fail")
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn greeting_is_kept() {
    let client = Client::new(ScriptedStream::new(GREETING)).unwrap();
    assert_eq!(client.greeting(), GREETING.trim_end());
}

#[test]
fn bad_greetings() {
    let err = Client::new(ScriptedStream::new("-ERR [SYS/TEMP] busy\r\n"))
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::Server(e) if e.code() == Some("SYS/TEMP")),
        "{err}"
    );
    let err = Client::new(ScriptedStream::new("* OK IMAP4rev1\r\n"))
        .err()
        .unwrap();
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    let err = Client::new(ScriptedStream::new("")).err().unwrap();
    assert_eq!(
        err.to_string(),
        "the server closed the connection before answering"
    );
    let err = Client::new(ScriptedStream::new("+OK hal")).err().unwrap();
    assert!(matches!(err, Error::Io(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "the server closed the connection in the middle of a line"
    );
}

#[test]
fn user_and_pass() {
    let (reply, written) = run("+OK\r\n+OK maildrop locked\r\n", |c| {
        c.login("brandon", "abc123")
    });
    assert_eq!(reply, "+OK maildrop locked");
    assert_eq!(written, "USER brandon\r\nPASS abc123\r\n");
}

#[test]
fn login_failure_carries_the_response_code() {
    let err = failing("+OK\r\n-ERR [AUTH] Authentication failed.\r\n", |c| {
        c.login("brandon", "wrong").map(drop)
    });
    let Error::Server(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(e.code(), Some("AUTH"));
    assert_eq!(err.to_string(), "-ERR [AUTH] Authentication failed.");
}

#[test]
fn apop_sends_the_rfc_1939_digest() {
    let (_, written) = run("+OK\r\n", |c| c.apop("mrose", "tanstaaf"));
    assert_eq!(written, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
}

#[test]
fn apop_without_timestamp_is_refused_unsent() {
    let mut client = Client::new(ScriptedStream::new("+OK ready\r\n")).unwrap();
    let err = client.apop("brandon", "abc123").unwrap_err();
    assert!(matches!(err, Error::ApopNotSupported));
    assert_eq!(err.to_string(), "-ERR APOP not supported by server");
    assert!(client.get_ref().written.is_empty());
}

#[test]
fn apop_with_malformed_timestamp_is_refused_unsent() {
    let mut client = Client::new(ScriptedStream::new("+OK ready <no-at-sign>\r\n")).unwrap();
    let err = client.apop("brandon", "abc123").unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    assert!(client.get_ref().written.is_empty());
}

#[test]
fn stat() {
    let (stat, written) = run("+OK 2 320\r\n", |c| c.stat());
    assert_eq!(
        stat,
        Stat {
            count: 2,
            size: 320
        }
    );
    assert_eq!(written, "STAT\r\n");
    let err = failing("+OK two 320\r\n", |c| c.stat().map(drop));
    assert!(matches!(err, Error::Protocol(_)), "{err}");
}

#[test]
fn list_all_and_one() {
    let (listings, written) = run(
        "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
        |c| c.list(),
    );
    let expected = [
        ScanListing {
            number: 1,
            size: 120,
        },
        ScanListing {
            number: 2,
            size: 200,
        },
    ];
    assert_eq!(listings, expected);
    assert_eq!(written, "LIST\r\n");
    let (one, written) = run("+OK 2 200\r\n", |c| c.list_one(2));
    assert_eq!(
        one,
        ScanListing {
            number: 2,
            size: 200
        }
    );
    assert_eq!(written, "LIST 2\r\n");
    let (empty, _) = run("+OK\r\n.\r\n", |c| c.list());
    assert!(empty.is_empty());
}

#[test]
fn list_refuses_disorder_and_then_sends_nothing_more() {
    let mut client = Client::new(ScriptedStream::new(format!(
        "{GREETING}+OK\r\n1 10\r\n1 10\r\n2 x\r\n.\r\n+OK 1 10\r\n"
    )))
    .unwrap();
    let err = client.list().unwrap_err();
    assert!(
        err.to_string().contains("out of order or repeated"),
        "{err}"
    );
    // A server that lists nonsense may mean anything by its next answers: the session is
    // out of step, and neither STAT nor QUIT (which would apply deletions) goes out.
    assert!(client.out_of_step());
    let err = client.stat().unwrap_err();
    assert!(
        err.to_string()
            .contains("STAT not sent: the session is out of step"),
        "{err}"
    );
    assert_eq!(client.get_ref().written_text(), "LIST\r\n");
    assert!(client.quit().is_err());
}

#[test]
fn answers_that_came_before_their_commands_are_a_protocol_error() {
    // A server that answered ahead (here STAT's answer with the greeting): taken in turn, it
    // would pass for the answer of whatever command goes next.
    let stream = ScriptedStream::new(format!("{GREETING}+OK 7 700\r\n")).all_at_once();
    let mut client = Client::new(stream).unwrap();
    let err = client.user("brandon").unwrap_err();
    assert_eq!(
        err.to_string(),
        "protocol error: the server sent 11 bytes no command asked for, before USER"
    );
    assert!(client.out_of_step());
    assert_eq!(client.get_ref().written_text(), "");
}

#[test]
fn a_pipelined_answer_out_of_step_stops_the_session_before_quit() {
    // DELE 1 went ahead; the server then answers TOP 2 with a second copy of a message's
    // data, which is no status line: out of step, so QUIT is never sent.
    let stream = ScriptedStream::new(format!("{GREETING}+OK marked\r\nSubject: one\r\n\r\n.\r\n"));
    let mut client = Client::new(stream).unwrap();
    client.set_pipelining(true);
    client.dele(1).unwrap();
    client
        .send_ahead(Command::Top {
            number: 2,
            lines: 0,
        })
        .unwrap();
    let err = client.top(2, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected +OK or -ERR, got \"Subject: one\""),
        "{err}"
    );
    assert_eq!(client.marked_for_deletion(), 1);
    let written = client.get_ref().written_text();
    let err = client.quit().unwrap_err();
    assert!(err.to_string().contains("QUIT not sent"), "{err}");
    assert_eq!(written, "DELE 1\r\nTOP 2 0\r\n");
}

#[test]
fn retr_unstuffs_dots_and_keeps_line_ends() {
    let replies = "+OK 120 octets\r\nSubject: x\r\n\r\n..dot\r\n\r\n...\r\nend\r\n.\r\n";
    let (message, written) = run(replies, |c| c.retr(1));
    assert_eq!(message, b"Subject: x\r\n\r\n.dot\r\n\r\n..\r\nend\r\n");
    assert_eq!(written, "RETR 1\r\n");
}

#[test]
fn retr_to_streams_and_counts_octets() {
    let (octets, _) = run("+OK\r\nabc\r\n.\r\n", |c| {
        let mut out = Vec::new();
        let n = c.retr_to(3, &mut out)?;
        assert_eq!(out, b"abc\r\n");
        Ok(n)
    });
    assert_eq!(octets, 5);
}

#[test]
fn retr_accepts_bare_lf_and_lone_cr() {
    let (message, _) = run("+OK\r\nline one\nhalf\rway\n..x\n.\n", |c| c.retr(1));
    assert_eq!(message, b"line one\nhalf\rway\n.x\n");
}

#[test]
fn retr_passes_a_one_megabyte_line_and_binary_bytes() {
    let long = "x".repeat(1 << 20);
    let replies = format!("+OK\r\n{long}\r\n\u{0}\u{ff}\r\n.\r\n");
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{replies}"))).unwrap();
    let message = client.retr(1).unwrap();
    assert_eq!(message.len(), long.len() + 2 + "\u{0}\u{ff}\r\n".len());
}

#[test]
fn retr_cut_before_the_final_dot_is_an_error() {
    for cut in ["+OK\r\nabc\r\n", "+OK\r\nabc", "+OK\r\n.", "+OK\r\n.\r"] {
        let err = failing(cut, |c| c.retr(1).map(drop));
        assert_eq!(
            err.to_string(),
            "the server closed the connection in the middle of a multi-line response",
            "{cut:?}"
        );
    }
}

#[test]
fn status_line_over_the_limit_is_an_error() {
    let huge = format!("+OK {}\r\n", "x".repeat(1 << 20));
    let err = failing(&huge, |c| c.noop().map(drop));
    assert!(err.to_string().contains("longer than 8192 bytes"), "{err}");
}

#[test]
fn top() {
    let (headers, written) = run("+OK\r\nFrom: a@example.com\r\n\r\n.\r\n", |c| c.top(1, 0));
    assert_eq!(headers, b"From: a@example.com\r\n\r\n");
    assert_eq!(written, "TOP 1 0\r\n");
}

#[test]
fn dele_noop_rset() {
    let (replies, written) = run("+OK marked\r\n+OK\r\n+OK reset\r\n", |c| {
        Ok((c.dele(1)?, c.noop()?, c.rset()?))
    });
    assert_eq!(replies, ((), "+OK".into(), "+OK reset".into()));
    assert_eq!(written, "DELE 1\r\nNOOP\r\nRSET\r\n");
    let err = failing("-ERR Message is deleted.\r\n", |c| c.retr(1).map(drop));
    assert!(matches!(err, Error::Server(_)), "{err}");
}

#[test]
fn uidl_all_and_one() {
    let (ids, written) = run(
        "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
        |c| c.uidl(),
    );
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1].uid, "QhdPYR:00WBw1Ph7x7");
    assert_eq!(written, "UIDL\r\n");
    let (one, written) = run("+OK 2 QhdPYR:00WBw1Ph7x7\r\n", |c| c.uidl_one(2));
    assert_eq!((one.number, one.uid.as_str()), (2, "QhdPYR:00WBw1Ph7x7"));
    assert_eq!(written, "UIDL 2\r\n");
}

#[test]
fn capa() {
    let (caps, written) = run(
        "+OK\r\nTOP\r\nUIDL\r\nSTLS\r\nSASL PLAIN LOGIN\r\n.\r\n",
        |c| c.capa(),
    );
    assert!(caps.has("STLS") && caps.has("uidl"));
    assert_eq!(caps.arguments("SASL"), ["PLAIN", "LOGIN"]);
    assert_eq!(written, "CAPA\r\n");
}

#[test]
fn quit() {
    let client = Client::new(ScriptedStream::new(format!("{GREETING}+OK bye\r\n"))).unwrap();
    assert_eq!(client.quit().unwrap(), "+OK bye");
    let client = Client::new(ScriptedStream::new(GREETING)).unwrap();
    assert!(matches!(client.quit().unwrap_err(), Error::Io(_)));
}

#[test]
fn stls_discards_bytes_sent_before_the_handshake() {
    let client = Client::new(ScriptedStream::new(format!(
        "{GREETING}+OK Begin TLS\r\n+OK 66 6666\r\n"
    )))
    .unwrap();
    let mut upgraded = client
        .stls_with(|plain| {
            assert_eq!(plain.written_text(), "STLS\r\n");
            Ok(ScriptedStream::new("+OK 1 10\r\n"))
        })
        .unwrap();
    assert_eq!(upgraded.stat().unwrap(), Stat { count: 1, size: 10 });
}

#[test]
fn stls_refused() {
    let client = Client::new(ScriptedStream::new(format!(
        "{GREETING}-ERR no TLS here\r\n"
    )))
    .unwrap();
    let err = client.stls_with(Ok).err().unwrap();
    assert_eq!(err.to_string(), "-ERR no TLS here");
}

#[test]
fn line_breaks_in_arguments_are_refused_before_sending() {
    let mut client = Client::new(ScriptedStream::new(GREETING)).unwrap();
    let err = client.user("brandon\r\nDELE 1").unwrap_err();
    assert!(matches!(err, Error::ControlCharacter { .. }), "{err}");
    let err = client.pass("abc\n123").unwrap_err();
    assert!(
        !err.to_string().contains("abc"),
        "the password leaked: {err}"
    );
    assert!(client.get_ref().written.is_empty());
}

#[test]
fn trace_masks_secrets_and_escapes_control_characters() {
    let trace = SharedBuf::default();
    let script = format!("{GREETING}+OK\r\n+OK \u{1b}]0;owned\u{7} \u{202e}gpj.exe\u{200b}\r\n+OK\r\n+OK\r\nabc\r\n.\r\n");
    let mut client =
        Client::with_trace(ScriptedStream::new(script), Box::new(trace.clone())).unwrap();
    client.login("brandon", "abc123").unwrap();
    client.apop("brandon", "abc123").unwrap();
    client.retr(1).unwrap();
    let text = trace.text();
    assert!(!text.contains("abc123"), "{text}");
    assert!(!text.contains(['\u{1b}', '\u{202e}']), "{text}");
    let expected = [
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
        "C: USER brandon",
        "S: +OK",
        "C: PASS ********",
        "S: +OK \\x1b]0;owned\\x07 \\u{202e}gpj.exe\\u{200b}",
        "C: APOP brandon ********",
        "S: +OK",
        "C: RETR 1",
        "S: +OK",
        "S: [5 octets of message data]",
        "S: .",
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn list_longer_than_stat_said_is_an_error() {
    let replies = "+OK 2 300\r\n+OK\r\n1 100\r\n2 100\r\n3 100\r\n.\r\n";
    let err = failing(replies, |c| {
        c.stat()?;
        c.list().map(drop)
    });
    assert_eq!(
        err.to_string(),
        "protocol error: LIST lists more messages than the 2 STAT counted"
    );
    // After DELE, one fewer is expected; after RSET the count is unknown and not checked.
    let replies = "+OK 2 300\r\n+OK\r\n+OK\r\n1 100\r\n2 100\r\n.\r\n";
    let err = failing(replies, |c| {
        c.stat()?;
        c.dele(1)?;
        c.list().map(drop)
    });
    assert!(err.to_string().contains("than the 1 STAT counted"), "{err}");
    let replies = "+OK 2 300\r\n+OK\r\n+OK\r\n+OK\r\n1 100\r\n2 100\r\n3 1\r\n.\r\n";
    let (listings, _) = run(replies, |c| {
        c.stat()?;
        c.dele(1)?;
        c.rset()?;
        c.list()
    });
    assert_eq!(listings.len(), 3);
}

#[test]
fn auth_plain_with_an_initial_response() {
    let (reply, written) = run("+OK welcome\r\n", |c| {
        c.authenticate(Mechanism::Plain, "tim", "tanstaaftanstaaf")
    });
    assert_eq!(reply, "+OK welcome");
    // RFC 4616's example message, in base64 on the AUTH line (RFC 5034).
    assert_eq!(written, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
}

#[test]
fn auth_xoauth2_two_steps_for_a_long_token() {
    let token = "x".repeat(1200);
    let (_, written) = run("+ \r\n+OK\r\n", |c| {
        c.authenticate(Mechanism::XOAuth2, "u@example.com", &token)
    });
    let (first, second) = written.split_once("\r\n").unwrap();
    assert_eq!(first, "AUTH XOAUTH2");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(second.trim_end())
        .unwrap();
    assert_eq!(
        decoded,
        format!("user=u@example.com\x01auth=Bearer {token}\x01\x01").as_bytes()
    );
}

/// Google's documented XOAUTH2 error challenge: `{"status":"401","schemes":"bearer mac",
/// "scope":"https://mail.google.com/"}` in base64.
const GOOGLE_ERROR: &str = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K";

#[test]
fn auth_error_challenges_are_finished_and_reported() {
    for (mechanism, closing) in [
        (Mechanism::XOAuth2, "\r\n"),
        (Mechanism::OAuthBearer, "AQ==\r\n"),
    ] {
        let replies = format!("+ {GOOGLE_ERROR}\r\n-ERR [AUTH] Invalid credentials\r\n");
        let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{replies}"))).unwrap();
        let err = client
            .authenticate(mechanism, "u@example.com", "expired-token")
            .unwrap_err();
        let Error::Server(refusal) = &err else {
            panic!("{err}")
        };
        assert_eq!(refusal.code(), Some("AUTH"));
        let details = refusal.details().unwrap();
        assert!(
            details.starts_with(r#"{"status":"401","schemes":"bearer mac""#),
            "{details}"
        );
        assert!(
            err.to_string()
                .starts_with("-ERR [AUTH] Invalid credentials (the server explained: {"),
            "{err}"
        );
        let written = client.get_ref().written_text();
        assert!(
            written.ends_with(&format!("\r\n{closing}")),
            "{mechanism}: {written:?}"
        );
        assert_eq!(written.matches("\r\n").count(), 2);
    }
}

#[test]
fn auth_is_masked_in_the_trace_and_refused_in_clear() {
    let trace = SharedBuf::default();
    let script = format!("{GREETING}+ \r\n+OK\r\n");
    let mut client =
        Client::with_trace(ScriptedStream::new(script), Box::new(trace.clone())).unwrap();
    client
        .authenticate(Mechanism::XOAuth2, "u", &"secret".repeat(50))
        .unwrap();
    assert_eq!(
        trace.text().lines().skip(1).collect::<Vec<_>>(),
        ["C: AUTH XOAUTH2", "S: + ", "C: ********", "S: +OK"]
    );
    let mut client = Client::new(ScriptedStream::new(GREETING)).unwrap();
    client.refuse_password_in_clear();
    assert!(matches!(
        client.authenticate(Mechanism::Plain, "u", "p"),
        Err(Error::SecretInClear)
    ));
    assert!(client.get_ref().written.is_empty());
}

#[test]
fn auth_login_and_cram_md5_answer_the_challenges_masked() {
    // LOGIN: the user name at the first prompt, the password (masked) at the second.
    let trace = SharedBuf::default();
    let script = format!("{GREETING}+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+OK\r\n");
    let mut client =
        Client::with_trace(ScriptedStream::new(script), Box::new(trace.clone())).unwrap();
    client
        .authenticate(Mechanism::Login, "brandon", "abc123")
        .unwrap();
    assert_eq!(
        client.get_ref().written_text(),
        "AUTH LOGIN\r\nYnJhbmRvbg==\r\nYWJjMTIz\r\n"
    );
    assert_eq!(
        trace.text().lines().skip(1).collect::<Vec<_>>(),
        [
            "C: AUTH LOGIN",
            "S: + VXNlcm5hbWU6",
            "C: YnJhbmRvbg==",
            "S: + UGFzc3dvcmQ6",
            "C: ********",
            "S: +OK"
        ]
    );
    // CRAM-MD5, RFC 2195's example: the digest masked as APOP's is.
    let trace = SharedBuf::default();
    let challenge = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
    let script = format!("{GREETING}+ {challenge}\r\n+OK\r\n");
    let mut client =
        Client::with_trace(ScriptedStream::new(script), Box::new(trace.clone())).unwrap();
    client
        .authenticate(Mechanism::CramMd5, "tim", "tanstaaftanstaaf")
        .unwrap();
    assert!(client.logged_in());
    assert_eq!(
        trace.text().lines().skip(1).collect::<Vec<_>>(),
        [
            "C: AUTH CRAM-MD5",
            &format!("S: + {challenge}"),
            "C: ********",
            "S: +OK"
        ]
    );
}

#[test]
fn auth_scram_without_the_servers_signature_sends_nothing_more() {
    let script = format!("{GREETING}+OK come in, whoever you are\r\n");
    let mut client = Client::new(ScriptedStream::new(script)).unwrap();
    let err = client
        .authenticate(Mechanism::ScramSha256, "brandon", "abc123")
        .unwrap_err();
    assert!(
        matches!(err, Error::ServerSignature { missing: true }),
        "{err}"
    );
    assert!(client.out_of_step() && !client.logged_in());
    let written = client.get_ref().written_text();
    // client-first only: "n,,n=brandon,r=NONCE".
    assert!(
        written.starts_with("AUTH SCRAM-SHA-256 biwsbj1icmFuZG9uLHI9"),
        "{written}"
    );
    assert_eq!(written.matches("\r\n").count(), 1, "{written}");
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}+OK\r\n"))).unwrap();
    let _ = client.authenticate(Mechanism::ScramSha1, "brandon", "abc123");
    assert!(client.quit().is_err(), "no QUIT to an impostor");
}

#[test]
fn auth_scram_server_errors_are_refusals() {
    // e=unknown-user, before any proof: the exchange is cancelled with `*`.
    let err = failing(
        "+ ZT11bmtub3duLXVzZXI=\r\n-ERR [AUTH] Authentication failed.\r\n",
        |c| {
            c.authenticate(Mechanism::ScramSha256, "nobody", "abc123")
                .map(drop)
        },
    );
    let Error::Server(refusal) = &err else {
        panic!("{err}")
    };
    assert_eq!(refusal.details(), Some("e=unknown-user"));
    // A server-first that does not extend the client's nonce: the session is out of step.
    let mut client = Client::new(ScriptedStream::new(format!(
        "{GREETING}+ cj1mb3JlaWduLHM9YzJGc2RBPT0saT00MDk2\r\n"
    )))
    .unwrap();
    let err = client
        .authenticate(Mechanism::ScramSha256, "brandon", "abc123")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not extend the client's nonce"),
        "{err}"
    );
    assert!(client.out_of_step());
    assert_eq!(client.get_ref().written_text().matches("\r\n").count(), 1);
}

#[test]
fn auth_with_a_digest_or_a_proof_may_run_in_clear() {
    // As APOP: CRAM-MD5 and SCRAM send no password, so an unencrypted connection takes them.
    let script =
        format!("{GREETING}+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n+OK\r\n");
    let mut client = Client::new(ScriptedStream::new(script)).unwrap();
    client.refuse_password_in_clear();
    client
        .authenticate(Mechanism::CramMd5, "tim", "tanstaaftanstaaf")
        .unwrap();
    let mut client = Client::new(ScriptedStream::new(GREETING)).unwrap();
    client.refuse_password_in_clear();
    assert!(matches!(
        client.authenticate(Mechanism::Login, "u", "p"),
        Err(Error::SecretInClear)
    ));
    assert!(client.get_ref().written.is_empty());
}

#[test]
fn utf8() {
    let (_, written) = run("+OK UTF8 enabled\r\n+OK\r\n", |c| {
        c.utf8()?;
        c.user("brandön")
    });
    assert_eq!(written, "UTF8\r\nUSER brandön\r\n");
}

#[test]
fn pipelined_login_sends_both_then_reads_both() {
    let mut client = Client::new(ScriptedStream::new(format!(
        "{GREETING}-ERR no such user\r\n-ERR no\r\n+OK 0 0\r\n"
    )))
    .unwrap();
    client.set_pipelining(true);
    let err = client.login("nobody", "pw").unwrap_err();
    assert_eq!(err.to_string(), "-ERR no such user");
    // Both answers were read: the session is in step.
    assert_eq!(client.stat().unwrap(), Stat { count: 0, size: 0 });
    assert_eq!(
        client.get_ref().written_text(),
        "USER nobody\r\nPASS pw\r\nSTAT\r\n"
    );
}

/// A scripted server that gives one byte per read and notes, for each write, how much of
/// its script the client had read by then.
struct Paced {
    script: ScriptedStream,
    read: usize,
    writes: Vec<(usize, String)>,
}

impl Read for Paced {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.script.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

impl Write for Paced {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writes
            .push((self.read, String::from_utf8_lossy(buf).into_owned()));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn nothing_goes_out_with_the_login_before_its_answer() {
    // A server that, like Courier, starts another process at the login's answer and loses
    // what it had read before: commands for the mailbox go out only once it has answered.
    let script = format!("{GREETING}+OK\r\n+OK logged in\r\n+OK 2 320\r\n+OK bye\r\n");
    let logged_in = script.find("+OK 2 320").unwrap();
    let paced = Paced {
        script: ScriptedStream::new(&script).in_chunks_of(1),
        read: 0,
        writes: Vec::new(),
    };
    let mut client = Client::new(paced).unwrap();
    client.set_pipelining(true);
    client.login("brandon", "pw").unwrap();
    client.send_ahead(Command::Stat).unwrap();
    client.send_ahead(Command::Quit).unwrap();
    assert_eq!(
        client.stat().unwrap(),
        Stat {
            count: 2,
            size: 320
        }
    );
    let writes = &client.get_ref().writes;
    let at = |line: &str| writes.iter().find(|(_, w)| w == line).unwrap().0;
    // USER and PASS went out together, right after the greeting...
    assert_eq!(at("USER brandon\r\n"), GREETING.len());
    assert_eq!(at("PASS pw\r\n"), GREETING.len());
    // ...and STAT and QUIT together, once PASS's answer had been read whole.
    assert_eq!(at("STAT\r\n"), logged_in);
    assert_eq!(at("QUIT\r\n"), logged_in);
    assert_eq!(client.quit().unwrap(), "+OK bye");
}

#[test]
fn a_pipelined_login_reads_the_answers_already_on_their_way_first() {
    let replies = "+OK Capability list follows\r\nUSER\r\n.\r\n+OK\r\n+OK logged in\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{replies}"))).unwrap();
    client.set_pipelining(true);
    client.send_ahead(Command::List).unwrap(); // a listing in flight before the login
    assert_eq!(client.login("brandon", "pw").unwrap(), "+OK logged in");
    assert!(client.logged_in());
}

#[test]
fn a_refused_pipelined_login_leaves_nothing_in_flight() {
    let replies = "-ERR no such user\r\n-ERR no\r\n+OK bye\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{replies}"))).unwrap();
    client.set_pipelining(true);
    let err = client.login("nobody", "pw").unwrap_err();
    assert_eq!(err.to_string(), "-ERR no such user");
    assert_eq!(
        client.get_ref().written_text(),
        "USER nobody\r\nPASS pw\r\n"
    );
    assert_eq!(client.quit().unwrap(), "+OK bye");
}

#[test]
fn nothing_is_sent_after_a_quit_sent_ahead() {
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}+OK bye\r\n"))).unwrap();
    client.set_pipelining(true);
    client.send_ahead(Command::Quit).unwrap();
    assert!(matches!(client.noop(), Err(Error::QuitAhead)));
    assert_eq!(client.get_ref().written_text(), "QUIT\r\n");
    assert_eq!(client.quit().unwrap(), "+OK bye"); // the answer to the QUIT sent ahead
}

#[test]
fn send_ahead_keeps_answers_read_out_of_turn() {
    // The answers, in the order the commands below go out.
    let replies = "+OK\r\n1 10\r\n2 20\r\n.\r\n\
                   +OK\r\nSubject: 1\r\n\r\n.\r\n\
                   +OK\r\nbody of 1\r\n.\r\n\
                   +OK\r\nSubject: 2\r\n\r\n.\r\n\
                   +OK 2 30\r\n";
    let (stat, written) = run(replies, |c| {
        c.set_pipelining(true);
        c.send_ahead(Command::List)?;
        c.send_ahead(Command::Top {
            number: 1,
            lines: 0,
        })?;
        c.send_ahead(Command::Retr(1))?;
        c.send_ahead(Command::Top {
            number: 2,
            lines: 0,
        })?;
        // STAT is asked first: every answer before it is read and kept.
        let stat = c.stat()?;
        let sizes: Vec<u64> = c.list()?.iter().map(|l| l.size).collect();
        assert_eq!(sizes, [10, 20]);
        assert_eq!(c.top(2, 0)?, b"Subject: 2\r\n\r\n");
        assert_eq!(c.retr(1)?, b"body of 1\r\n");
        assert_eq!(c.top(1, 0)?, b"Subject: 1\r\n\r\n");
        Ok(stat)
    });
    assert_eq!(stat, Stat { count: 2, size: 30 });
    assert_eq!(written, "LIST\r\nTOP 1 0\r\nRETR 1\r\nTOP 2 0\r\nSTAT\r\n");
}

#[test]
fn a_kept_empty_listing_has_no_lines() {
    let (sizes, _) = run("+OK\r\n.\r\n+OK\r\n", |c| {
        c.set_pipelining(true);
        c.send_ahead(Command::List)?;
        c.noop()?;
        c.list()
    });
    assert!(sizes.is_empty());
}

#[test]
fn top_ahead_and_dele_travel_without_waiting() {
    // The answers, in the order the commands below go out.
    let replies = "+OK\r\nSubject: 1\r\n\r\n.\r\n\
                   +OK\r\nSubject: 2\r\n\r\n.\r\n\
                   +OK marked\r\n\
                   +OK\r\nbody of 1\r\n.\r\n\
                   +OK 1 10\r\n";
    let (stat, written) = run(replies, |c| {
        c.set_pipelining(true);
        assert_eq!(c.top(1, 0)?, b"Subject: 1\r\n\r\n");
        c.send_ahead(Command::Top {
            number: 2,
            lines: 0,
        })?;
        c.dele(1)?;
        // RETR reads TOP 2 and DELE 1 first, then its own answer.
        assert_eq!(c.retr(1)?, b"body of 1\r\n");
        assert_eq!(c.top(2, 0)?, b"Subject: 2\r\n\r\n");
        c.stat()
    });
    assert_eq!(stat, Stat { count: 1, size: 10 });
    assert_eq!(
        written,
        "TOP 1 0\r\nTOP 2 0\r\nDELE 1\r\nRETR 1\r\nSTAT\r\n"
    );
}

#[test]
fn a_refused_deferred_dele_before_a_message_leaves_the_session_in_step() {
    let replies = "-ERR no such message\r\n+OK\r\nbody\r\n.\r\n+OK 1 10\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{replies}"))).unwrap();
    client.set_pipelining(true);
    client.dele(9).unwrap();
    let err = client.retr(1).unwrap_err();
    assert_eq!(err.to_string(), "DELE 9 was refused: -ERR no such message");
    // RETR's message was read to its end and set aside: STAT gets its own answer.
    assert_eq!(client.stat().unwrap(), Stat { count: 1, size: 10 });
}

#[test]
fn a_refused_deferred_dele_is_reported_at_the_next_command() {
    let replies = "-ERR Message is deleted.\r\n+OK 5 50\r\n+OK 5 50\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{replies}"))).unwrap();
    client.set_pipelining(true);
    client.dele(3).unwrap();
    let err = client.stat().unwrap_err();
    assert_eq!(
        err.to_string(),
        "DELE 3 was refused: -ERR Message is deleted."
    );
    assert_eq!(client.stat().unwrap(), Stat { count: 5, size: 50 });
}

#[test]
fn without_pipelining_the_later_methods_wait() {
    let (_, written) = run("+OK marked\r\n+OK\r\nSubject: x\r\n\r\n.\r\n", |c| {
        c.send_ahead(Command::Top {
            number: 1,
            lines: 0,
        })?; // nothing sent
        c.dele(1)?; // sent and answered at once
        c.top(1, 0)
    });
    assert_eq!(written, "DELE 1\r\nTOP 1 0\r\n");
}

#[test]
fn answers_read_ahead_keep_message_data_up_to_the_kept_limit() {
    // TOP 2 is wanted first, so TOP 1's answer is read and kept: at most 10 bytes of it.
    let stream = ScriptedStream::new(format!(
        "{GREETING}+OK\r\nSubject: one, and a long one\r\n\r\n.\r\n+OK\r\nSubject: two\r\n\r\n.\r\n"
    ));
    let mut client = Client::new(stream).unwrap();
    client.set_pipelining(true);
    client.set_kept_limit(10);
    client
        .send_ahead(Command::Top {
            number: 1,
            lines: 0,
        })
        .unwrap();
    client
        .send_ahead(Command::Top {
            number: 2,
            lines: 0,
        })
        .unwrap();
    assert_eq!(client.top(2, 0).unwrap(), b"Subject: two\r\n\r\n");
    let mut kept = Vec::new();
    let octets = client.top_to(1, 0, &mut kept).unwrap();
    assert_eq!(kept, b"Subject: o");
    assert_eq!(octets, 32, "the octets the server sent, beyond those kept");
}

#[test]
fn control_characters_and_overlong_lines_are_refused_before_anything_is_sent() {
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}+OK\r\n"))).unwrap();
    let err = client.user("bran\u{1b}[2Jdon").unwrap_err();
    assert!(
        err.to_string().contains(
            "refusing to send USER: an argument holds a line break, NUL or other control character"
        ),
        "{err}"
    );
    let err = client.user(&"a".repeat(120_000)).unwrap_err();
    assert!(
        err.to_string()
            .contains("the command line would be 120007 octets, over the 255 POP3 allows"),
        "{err}"
    );
    // Pipelined, USER is not sent ahead of a PASS that cannot go.
    client.set_pipelining(true);
    let err = client.login("brandon", &"p".repeat(300)).unwrap_err();
    assert!(err.to_string().contains("refusing to send PASS"), "{err}");
    assert!(
        !err.to_string().contains("ppp"),
        "the password is not shown: {err}"
    );
    assert_eq!(client.get_ref().written_text(), "");
}

#[test]
fn a_sasl_response_may_be_longer_than_a_command_line() {
    // RFC 5034: the 255 octets bound AUTH's command line, not the responses after it.
    let token = "t".repeat(400);
    let (_, written) = run("+ \r\n+OK\r\n", |c| {
        c.authenticate(Mechanism::XOAuth2, "brandon", &token)
    });
    assert!(written.starts_with("AUTH XOAUTH2\r\n"), "{written}");
    assert!(written.lines().nth(1).unwrap().len() > 255, "{written}");
}

#[test]
fn a_listing_walked_in_part_is_read_to_its_end() {
    let (stat, written) = run("+OK\r\n1 10\r\n2 20\r\n3 30\r\n.\r\n+OK 3 60\r\n", |c| {
        let first = c.list_iter()?.next().expect("a first listing")?;
        assert_eq!((first.number, first.size), (1, 10));
        // The iterator is dropped here: the rest of LIST's answer is read, not taken as STAT's.
        c.stat()
    });
    assert_eq!(stat, Stat { count: 3, size: 60 });
    assert_eq!(written, "LIST\r\nSTAT\r\n");
}

#[test]
fn a_bad_listing_is_the_walks_last_item_and_stops_the_session() {
    let mut client = Client::new(ScriptedStream::new(format!(
        "{GREETING}+OK\r\n1 10\r\nnonsense\r\n3 30\r\n.\r\n+OK 3 60\r\n"
    )))
    .unwrap();
    let items: Vec<_> = client.list_iter().unwrap().collect();
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items[0].is_ok());
    assert!(matches!(items[1], Err(Error::Protocol(_))), "{items:?}");
    assert!(client.out_of_step());
    assert_eq!(client.get_ref().written_text(), "LIST\r\n");
}

#[test]
fn a_listing_sent_ahead_is_walked_from_what_was_kept() {
    let (sizes, written) = run("+OK\r\n1 10\r\n2 20\r\n.\r\n+OK\r\n", |c| {
        c.set_pipelining(true);
        c.send_ahead(Command::List)?;
        c.noop()?; // LIST's answer is read and kept on the way
        c.list_iter()?
            .map(|listing| listing.map(|l| l.size))
            .collect::<pop3_core::Result<Vec<u64>>>()
    });
    assert_eq!(sizes, [10, 20]);
    assert_eq!(written, "LIST\r\nNOOP\r\n");
}

#[test]
fn quit_goes_after_a_refusal_not_out_of_step_nor_with_the_connection_lost() {
    let server = "+OK ready\r\n-ERR no such message\r\n";
    let mut client = Client::new(ScriptedStream::new(server)).unwrap();
    let refused = client.dele(9).unwrap_err();
    assert!(client.may_quit_after(&refused));
    assert!(!client.may_quit_after(&Error::Timeout));
    let lost = Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    assert!(!client.may_quit_after(&lost));
    let garbled = "+OK ready\r\nHELLO\r\n";
    let mut client = Client::new(ScriptedStream::new(garbled)).unwrap();
    let error = client.noop().unwrap_err();
    assert!(client.out_of_step(), "{error}");
    assert!(!client.may_quit_after(&error));
    assert!(!client.may_quit_after(&refused));
}

#[test]
fn a_refused_pipelined_dele_is_named_and_not_counted_as_marked() {
    let server = "+OK 3 30\r\n-ERR no such message\r\n+OK\r\n+OK\r\n1 10\r\n2 10\r\n3 10\r\n.\r\n+OK bye\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{server}"))).unwrap();
    client.set_pipelining(true);
    assert_eq!(client.stat().unwrap().count, 3);
    client.dele(9).unwrap(); // sent, refused later
    let refused = client.noop().unwrap_err();
    assert_eq!(
        refused.to_string(),
        "DELE 9 was refused: -ERR no such message"
    );
    assert!(client.may_quit_after(&refused));
    assert_eq!(client.marked_for_deletion(), 0);
    // STAT's 3 messages, none marked: a LIST of 3 is no lie.
    assert_eq!(client.list().unwrap().len(), 3);
    assert_eq!(client.quit().unwrap(), "+OK bye");
}

#[test]
fn rset_takes_effect_though_it_reports_an_earlier_refused_dele() {
    let server = "+OK 3 30\r\n+OK\r\n-ERR no such message\r\n+OK reset\r\n+OK\r\n1 10\r\n2 10\r\n3 10\r\n.\r\n+OK bye\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{server}"))).unwrap();
    client.set_pipelining(true);
    client.stat().unwrap();
    client.dele(1).unwrap();
    client.dele(9).unwrap();
    let refused = client.rset().unwrap_err();
    assert!(
        matches!(refused, Error::DeleRefused { number: 9, .. }),
        "{refused}"
    );
    assert_eq!(client.marked_for_deletion(), 0);
    assert_eq!(client.list().unwrap().len(), 3);
    assert_eq!(client.quit().unwrap(), "+OK bye");
}

#[test]
fn a_list_sent_ahead_is_checked_against_the_marks_made_before_it() {
    let server = "+OK 3 30\r\n+OK\r\n1 10\r\n2 10\r\n3 10\r\n.\r\n+OK marked\r\n+OK bye\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{server}"))).unwrap();
    client.set_pipelining(true);
    client.stat().unwrap();
    client.send_ahead(Command::List).unwrap();
    client.dele(1).unwrap(); // after LIST went: its answer still lists message 1
    assert_eq!(client.list().unwrap().len(), 3);
    assert_eq!(client.quit().unwrap(), "+OK bye");
}

#[test]
fn a_dele_refused_after_stat_counted_leaves_the_count_sound() {
    // Found by the session fuzz target: STAT's answer is taken with DELE 3 counted as
    // marked; DELE's refusal, read later, takes the mark back.
    let server = "+OK 3 30\r\n-ERR no such message\r\n+OK\r\n1 10\r\n.\r\n+OK\r\n1 10\r\n2 10\r\n3 10\r\n.\r\n";
    let mut client = Client::new(ScriptedStream::new(format!("{GREETING}{server}"))).unwrap();
    client.set_pipelining(true);
    client.send_ahead(Command::Stat).unwrap();
    client.dele(3).unwrap();
    assert_eq!(client.stat().unwrap().count, 3);
    assert!(matches!(
        client.list(),
        Err(Error::DeleRefused { number: 3, .. })
    ));
    assert_eq!(client.list().unwrap().len(), 3);
}
