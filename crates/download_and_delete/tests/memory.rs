//! Memory follows the tool's limits, not what a server sends: peak RSS stays under 64 MiB
//! for each kind of flood an independent review sent (its numbers before the limits are in
//! each case's comment). Plain TCP (`--insecure-plaintext`), so the test spends its time on
//! the flood, not on TLS. The peak is the tool's own, as wait4 reports it to a small
//! launcher (python3, about 10 MiB itself, which the figure may include).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use playground::hostile::{HostileServer, Peer};

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

/// Runs the tool and reports its peak RSS (in KiB) to the file named first: a small
/// process between this test and the tool, because Linux counts, in a process's peak RSS,
/// the memory of the process that forked it (here, a test process holding the floods).
const LAUNCHER: &str = "import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], 'w').write('%d %d' % (code, peak))
";

/// Runs the tool against `server` with `answers`: its exit code, stderr and peak RSS.
fn run_measured(server: &HostileServer, answers: &str) -> (Option<i32>, String, u64) {
    static RUN: AtomicU32 = AtomicU32::new(0);
    let report = std::env::temp_dir().join(format!(
        "dnd-memory-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let host = server.host();
    let mut command = Command::new("python3");
    command
        .args(["-c", LAUNCHER])
        .arg(&report)
        .args([
            BIN,
            "--insecure-plaintext",
            "--timeout",
            "60",
            &host,
            "brandon",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let input = format!("abc123\n{answers}");
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
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
    assert!(
        child.wait().unwrap().success(),
        "the launcher failed: {stderr}"
    );
    let measured = std::fs::read_to_string(&report).unwrap();
    let _ = std::fs::remove_file(&report);
    let (code, peak_kib) = measured.split_once(' ').unwrap();
    let peak: u64 = peak_kib.parse().unwrap();
    (Some(code.parse().unwrap()), stderr, peak * 1024)
}

fn assert_bounded(case: &str, run: (Option<i32>, String, u64), said: &str) {
    assert_bounded_ending(case, run, said, 0);
}

fn assert_bounded_ending(
    case: &str,
    (code, stderr, peak): (Option<i32>, String, u64),
    said: &str,
    exit_code: i32,
) {
    println!("{case}: peak RSS {:.1} MiB", peak as f64 / MIB as f64);
    assert!(peak > 0, "{case}: no measure");
    assert_eq!(code, Some(exit_code), "{case}: {stderr}");
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
    assert_bounded("nested 200,000 deep", run, "message 1: more than 1000");
}

/// Sends `lines` lines made by `line(i)`, in chunks, then the terminating dot.
fn flood_lines(peer: &mut Peer, lines: u64, line: impl Fn(u64) -> String) -> std::io::Result<()> {
    let mut chunk = String::new();
    for i in 1..=lines {
        chunk += &line(i);
        if chunk.len() > 60_000 {
            peer.send(&chunk)?;
            chunk.clear();
        }
    }
    peer.send(chunk + ".\r\n")
}

#[test]
fn a_message_nested_200000_attached_messages_deep() {
    // message/rfc822 needs no delimiter lines; the review's 6.6 MB of them overflowed the
    // stack (an abort) at 290 MB.
    let server = server("TOP", "+OK\r\n1 6600000\r\n.", |command, peer| {
        peer.send("+OK\r\nSubject: deep\r\n")?;
        if command.starts_with("TOP") {
            return peer.send("\r\n.\r\n");
        }
        peer.send("Content-Type: message/rfc822\r\n\r\n".repeat(200_000))?;
        peer.send("Subject: inside\r\n\r\ndeep\r\n.\r\n")
    });
    let run = run_measured(&server, "y\nn\n");
    assert_bounded(
        "message/rfc822 200,000 deep",
        run,
        "more than 1000 Content-Type lines",
    );
}

#[test]
fn a_message_of_8_mb_of_tiny_header_fields() {
    // Was 257 MB: each field costs the parser far more than its four bytes.
    let server = server("TOP", "+OK\r\n1 8388608\r\n.", |command, peer| {
        peer.send("+OK\r\nSubject: fields\r\n")?;
        match command.starts_with("TOP") {
            true => peer.send("\r\n.\r\n"),
            false => flood(peer, "A:\r\n", 8 * MIB),
        }
    });
    let run = run_measured(&server, "y\nn\n");
    assert_bounded("8 MB of header fields", run, "more than 100000 lines");
}

#[test]
fn a_subject_of_7_mb_of_encoded_words() {
    // Was 67 MB.
    let server = server("TOP", "+OK\r\n1 7340032\r\n.", |command, peer| {
        peer.send("+OK\r\nSubject: ")?;
        let words = "=?utf-8?q?a?= ".repeat(7 * MIB as usize / 14);
        match command.starts_with("TOP") {
            true => peer.send("short\r\n\r\n.\r\n"),
            false => peer.send(words + "\r\n\r\nbody\r\n.\r\n"),
        }
    });
    let run = run_measured(&server, "y\nn\n");
    assert_bounded("7 MB of encoded words", run, "message 1: it ran to");
}

#[test]
fn a_capa_answer_of_64_mb() {
    // Was 1.2 GB. The tool stops there: a server that floods CAPA is out of step.
    let server = HostileServer::plain(|peer| {
        let flood = "x\r\n".repeat(64 * MIB as usize / 3);
        peer.offer(flood.trim_end());
        peer.send("+OK ready\r\n")?;
        peer.answer_rest()
    })
    .unwrap();
    let run = run_measured(&server, "");
    assert_bounded_ending(
        "CAPA 64 MB",
        run,
        "CAPA lists more than 256 capabilities",
        1,
    );
}

#[test]
fn a_list_answer_of_64_mb() {
    // Was 100 MB, growing with what is sent.
    let server = HostileServer::plain(|peer| {
        peer.offer("TOP");
        peer.send("+OK ready\r\n")?;
        peer.accept_login()?;
        peer.command()?;
        peer.send("+OK\r\n")?;
        flood_lines(peer, 5_000_000, |i| format!("{i} 1000000\r\n"))?;
        peer.command()?; // TOP 1 0: no answer, the connection ends
        Ok(())
    })
    .unwrap();
    let run = run_measured(&server, "");
    assert_bounded_ending(
        "LIST 64 MB",
        run,
        "LIST gave 5000000 messages; only the first 1000000 are shown",
        1,
    );
}
