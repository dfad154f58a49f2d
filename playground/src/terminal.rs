//! Runs a tool in a real pseudo-terminal, as a person would: the password typed at the
//! `Password: ` prompt once echo is off, each answer typed at a `[ny]?` question.

use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
pub use expectrl::session::OsSession;
use expectrl::{Any, Eof, Needle, Session};
pub use expectrl::{ControlCode, Expect};

/// What the terminal showed, and how the program ended.
#[derive(Debug)]
pub struct Screen {
    /// Everything written to the terminal, with `\r\n` turned into `\n`.
    pub text: String,
    /// The exit code, or `None` when a signal ended the program.
    pub exit_code: Option<i32>,
}

/// How long one prompt may take to appear.
const PROMPT_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `command` in a terminal: types `password` at the prompt (if given), then one of
/// `answers` at each `[ny]?`, until the program ends.
pub fn run_in_terminal(
    command: Command,
    password: Option<&str>,
    answers: &[&str],
) -> io::Result<Screen> {
    let mut session = Session::spawn(with_echo_on(&command)).map_err(to_io)?;
    session.set_expect_timeout(Some(PROMPT_TIMEOUT));
    let mut screen = Vec::new();
    if let Some(password) = password {
        expect_into(&mut session, "Password: ", &mut screen)?;
        wait_for_echo_off(&session)?;
        session.send_line(password).map_err(to_io)?;
    }
    let mut answers = answers.iter();
    loop {
        let question = Any::boxed(vec![Box::new("[ny]?"), Box::new(Eof)]);
        if !expect_into(&mut session, question, &mut screen)? {
            break;
        }
        let answer = answers.next().ok_or_else(|| {
            io::Error::other("the program asked more [ny] questions than answers were given")
        })?;
        session.send_line(answer).map_err(to_io)?;
    }
    Ok(Screen {
        text: String::from_utf8_lossy(&screen).replace("\r\n", "\n"),
        exit_code: exit_code(&session)?,
    })
}

/// Starts `command` in a terminal with echo on, for tests that type more than answers
/// (Ctrl-C, Ctrl-D): drive it with expectrl's `Expect` methods.
pub fn spawn_in_terminal(command: &Command) -> io::Result<OsSession> {
    let mut session = Session::spawn(with_echo_on(command)).map_err(to_io)?;
    session.set_expect_timeout(Some(PROMPT_TIMEOUT));
    Ok(session)
}

/// Everything the program in `session` shows until it ends, `\r\n` turned into `\n`.
pub fn rest_of_screen(session: &mut OsSession) -> io::Result<String> {
    let mut screen = Vec::new();
    expect_into(session, Eof, &mut screen)?;
    Ok(String::from_utf8_lossy(&screen).replace("\r\n", "\n"))
}

/// Waits for the program in `session` to end: its exit code, or `None` for a signal.
pub fn exit_code(session: &OsSession) -> io::Result<Option<i32>> {
    Ok(
        match session.get_process().wait().map_err(io::Error::other)? {
            WaitStatus::Exited(_, code) => Some(code),
            _ => None,
        },
    )
}

/// The pty starts with echo off; a person's terminal has it on, so turn it on first
/// (through `stty`, before the program starts, so there is no race with it).
fn with_echo_on(command: &Command) -> Command {
    let mut shell = Command::new("/bin/sh");
    shell
        .args(["-c", "stty echo && exec \"$0\" \"$@\""])
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => shell.env(name, value),
            None => shell.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        shell.current_dir(dir);
    }
    shell
}

/// Waits for `needle`, appending what came before it and the match to `screen`.
/// Returns whether a `[ny]?` question was matched (rather than the end of output).
fn expect_into(
    session: &mut OsSession,
    needle: impl Needle,
    screen: &mut Vec<u8>,
) -> io::Result<bool> {
    let found = session.expect(needle).map_err(to_io)?;
    screen.extend_from_slice(found.before());
    let matched = found.matches().next().unwrap_or_default();
    screen.extend_from_slice(matched);
    Ok(matched.ends_with(b"[ny]?"))
}

/// Typing before the program has turned echo off would show the password: a person
/// types after the prompt, and so does this, once echo is off.
pub fn wait_for_echo_off(session: &OsSession) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while session.get_process().get_echo().map_err(io::Error::other)? {
        if Instant::now() > deadline {
            return Err(io::Error::other(
                "echo is still on 10 s after the password prompt",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn to_io(e: expectrl::Error) -> io::Error {
    io::Error::other(e.to_string())
}
