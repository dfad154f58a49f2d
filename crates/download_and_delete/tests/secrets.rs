//! The password is wiped once the login's answer is in: at the first `[ny]` question, the
//! tool's memory holds no copy of it (an independent review found one there in a core dump).

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use playground::hostile::HostileServer;
use playground::terminal::{spawn_in_terminal, wait_for_echo_off, ControlCode, Expect};
use playground::testing::tool_trusting;

const BIN: &str = env!("CARGO_BIN_EXE_download_and_delete");
/// A password no other byte sequence in the process is likely to hold.
const PASSWORD: &str = "Wipe-Me-7f3k-Qx9";

/// Whether the memory of process `pid` holds `needle` in any readable mapping.
fn memory_holds(pid: u32, needle: &[u8]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut memory = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    maps.lines().any(|line| {
        let mut fields = line.split_whitespace();
        let (range, perms) = (fields.next().unwrap(), fields.next().unwrap());
        if !perms.starts_with('r') || line.ends_with("[vvar]") {
            return false;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut bytes = vec![0; (end - start) as usize];
        memory.seek(SeekFrom::Start(start)).is_ok()
            && memory.read_exact(&mut bytes).is_ok()
            && memchr_find(&bytes, needle)
    })
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A server that takes any login and lists one message, and the tool's arguments for it.
fn server() -> HostileServer {
    HostileServer::tls(|peer| {
        peer.send("+OK ready\r\n")?;
        peer.accept_login()?;
        peer.answer("+OK\r\n1 20\r\n.")?;
        peer.answer("+OK\r\nSubject: x\r\n\r\n.")?;
        peer.answer_rest()
    })
    .unwrap()
}

fn assert_wiped(server: &HostileServer, pid: u32, how: &str) {
    let held = memory_holds(pid, PASSWORD.as_bytes());
    // The scan does read the tool's memory: the user name, in its arguments, is found.
    let reads = memory_holds(pid, b"brandon");
    // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    let received = server.received();
    assert!(
        received.contains(&format!("PASS {PASSWORD}")),
        "{how}: {received:?}"
    );
    assert!(reads, "{how}: the scan found nothing it should");
    assert!(
        !held,
        "{how}: the tool's memory still holds the password at the first question"
    );
}

#[test]
fn a_typed_password_is_gone_by_the_first_question() {
    let server = server();
    let command = tool_trusting(BIN, server.ca(), &[&server.host(), "brandon"]);
    let mut terminal = spawn_in_terminal(&command).unwrap();
    terminal.expect("Password: ").unwrap();
    wait_for_echo_off(&terminal).unwrap();
    terminal.send_line(PASSWORD).unwrap();
    terminal.expect("Read this message [ny]?").unwrap();
    assert_wiped(
        &server,
        terminal.get_process().pid().as_raw() as u32,
        "typed",
    );
}

#[test]
fn a_piped_password_is_gone_by_the_first_question() {
    let server = server();
    let mut command = tool_trusting(BIN, server.ca(), &[&server.host(), "brandon"]);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{PASSWORD}").unwrap(); // and no answer yet: it waits at the question
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("Read this message [ny]?") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no question came");
    }
    assert_wiped(&server, child.id(), "piped");
    let _ = child.wait();
}

#[test]
fn a_password_from_a_command_is_gone_by_the_first_question() {
    let server = server();
    // From a file: a command line holding the password would keep it in the tool's argv.
    let file = std::env::temp_dir().join(format!("secrets-test-{}", std::process::id()));
    std::fs::write(&file, PASSWORD).unwrap();
    let printing = format!("cat {}", file.display());
    let args = ["--password-command", &printing, &server.host(), "brandon"];
    let command = tool_trusting(BIN, server.ca(), &args);
    let mut terminal = spawn_in_terminal(&command).unwrap();
    terminal.expect("Read this message [ny]?").unwrap();
    assert_wiped(
        &server,
        terminal.get_process().pid().as_raw() as u32,
        "--password-command",
    );
    let _ = terminal.send(ControlCode::EndOfText);
}
