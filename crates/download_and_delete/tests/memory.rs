//! Memory follows the tool's limits, not what a server sends: peak RSS stays under 64 MiB
//! for each kind of flood an independent review sent (its numbers before the limits are in
//! each case's comment). Plain TCP (`--insecure-plaintext`), so the test spends its time on
//! the flood, not on TLS.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use playground::hostile::{HostileServer, Peer};
use playground::testing::tool_trusting;

const BIN: &str = env!("CARGO_BIN_EXE_download_and_delete");
const MIB: u64 = 1 << 20;

/// Sends `size` bytes of `line` repeated (cut to fit), then the terminating dot.
fn flood(peer: &mut Peer, line: &str, size: u64) -> std::io::Result<()> {
    let chunk = line.repeat((64 << 10) / line.len());
    let mut sent = 0;
    while sent + chunk.len() as u64 <= size {
        peer.send(&chunk)?;
        sent += chunk.len() as u64;
    }
    peer.send(".\r\n")
}

/// A server that lists `listing`, answers TOP and RETR with `answer(command, peer)`, and
/// everything else with +OK.
fn server(
    capabilities: &'static str,
    listing: &'static str,
    answer: impl Fn(&str, &mut Peer) -> std::io::Result<()> + Send + Sync + 'static,
) -> HostileServer {
    HostileServer::plain(move |peer| {
        peer.offer(capabilities);
        peer.send("+OK ready\r\n")?;
        peer.accept_login()?;
        peer.answer(listing)?;
        while let Some(command) = peer.command()? {
            if command.starts_with("TOP") || command.starts_with("RETR") {
                answer(&command, peer)?;
            } else {
                peer.send("+OK\r\n")?;
            }
        }
        Ok(())
    })
    .unwrap()
}

/// Runs the tool against `server` with `answers`: its exit code, stderr and peak RSS.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its peak RSS
fn run_measured(server: &HostileServer, answers: &str) -> (Option<i32>, String, u64) {
    let host = server.host();
    let args = ["--insecure-plaintext", "--timeout", "60", &host, "brandon"];
    let mut command: Command = tool_trusting(BIN, server.ca(), &args);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let input = format!("abc123\n{answers}");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let drain = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    drain.join().unwrap().unwrap();
    let mut status = 0;
    // SAFETY: wait4 on our own child, with a zeroed rusage it fills in.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        usage
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, stderr, usage.ru_maxrss as u64 * 1024)
}

fn assert_bounded(case: &str, (code, stderr, peak): (Option<i32>, String, u64), said: &str) {
    println!("{case}: peak RSS {:.1} MiB", peak as f64 / MIB as f64);
    assert_eq!(code, Some(0), "{case}: {stderr}");
    assert!(stderr.contains(said), "{case}: {stderr}");
    assert!(peak < 64 * MIB, "{case}: peak RSS {} MiB", peak / MIB);
}

#[test]
fn a_500_mb_top_answer_after_list_said_17_bytes() {
    // Was 505 MB.
    let server = server("TOP", "+OK\r\n1 17\r\n.", |_, peer| {
        peer.send("+OK\r\n")?;
        flood(
            peer,
            "X-Flood: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
            500 * MIB,
        )
    });
    let run = run_measured(&server, "n\nn\n");
    assert_bounded("TOP 500 MB", run, "message 1: its headers ran to");
}

#[test]
fn a_500_mb_top_answer_read_ahead() {
    // Pipelining: RETR 1 (its answer typed ahead) waits behind TOP 2, whose flood is read
    // and kept for later; the kept data is bounded by what arrives, not by LIST's 17.
    let server = server(
        "TOP\r\nPIPELINING",
        "+OK\r\n1 17\r\n2 17\r\n.",
        |command, peer| {
            if command == "TOP 2 0" {
                peer.send("+OK\r\n")?;
                return flood(
                    peer,
                    "X-Flood: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
                    500 * MIB,
                );
            }
            peer.send("+OK\r\nSubject: one\r\n\r\n.\r\n")
        },
    );
    let run = run_measured(&server, "y\nn\nn\nn\n");
    assert_bounded("TOP 500 MB ahead", run, "message 2: its headers ran to");
}

#[test]
fn a_500_mb_retr_answer() {
    // Was 1 GB.
    let server = server("TOP", "+OK\r\n1 524288000\r\n.", |command, peer| {
        peer.send("+OK\r\nSubject: big\r\n\r\n")?;
        match command.starts_with("TOP") {
            true => peer.send(".\r\n"),
            false => flood(peer, &format!("{}\r\n", "y".repeat(998)), 500 * MIB),
        }
    });
    let run = run_measured(&server, "y\nn\n");
    assert_bounded("RETR 500 MB", run, "message 1: it ran to");
}

#[test]
fn a_message_of_100_mb_of_headers() {
    // Was 117 MB.
    let server = server("TOP", "+OK\r\n1 104857600\r\n.", |_, peer| {
        peer.send("+OK\r\nSubject: headers\r\n")?;
        flood(
            peer,
            "X-Flood: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
            100 * MIB,
        )
    });
    let run = run_measured(&server, "y\nn\n");
    assert_bounded("100 MB of headers", run, "message 1: it ran to");
}

#[test]
fn a_15_mb_message_nested_200000_multiparts_deep() {
    // Was 243 MB.
    let server = server("TOP", "+OK\r\n1 15000000\r\n.", |command, peer| {
        peer.send("+OK\r\nSubject: deep\r\n")?;
        if command.starts_with("TOP") {
            return peer.send("\r\n.\r\n");
        }
        let mut nested = String::new();
        for depth in 0..200_000 {
            nested += &format!(
                "Content-Type: multipart/mixed; boundary=\"b{depth}\"\r\n\r\n--b{depth}\r\n"
            );
        }
        peer.send(nested)?;
        peer.send("Content-Type: text/plain\r\n\r\ndeep\r\n.\r\n")
    });
    let run = run_measured(&server, "y\nn\n");
    assert_bounded(
        "nested 200,000 deep",
        run,
        "message 1: more than 1000 MIME parts",
    );
}
