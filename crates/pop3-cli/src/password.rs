//! The password: typed without echo, one line from a pipe, or what `--password-command`
//! prints; wiped from memory when dropped.

use std::io::{self, IsTerminal, Read};
use std::time::Duration;

use zeroize::Zeroizing;

use pop3_core::Mechanism;

use crate::args::{has_line_break, Args};
use crate::input;

/// A password or token: wiped from memory when dropped.
pub type Secret = Zeroizing<String>;

/// The password: from `--password-command` if given, else asked for as Python's `getpass`
/// does: without echo on a terminal; from a pipe, one line of standard input after a
/// warning on stderr. End of input (Ctrl-D) and a password holding a control character
/// (a line break would inject POP3 commands; PASS refuses any) are errors, found before
/// anything is sent: the tools send USER and PASS one after the other, as the book does.
pub fn read_password(args: &Args) -> io::Result<Secret> {
    // The TLS client certificate logs in: no secret is involved.
    if args.auth == Some(Mechanism::External) {
        return Ok(Secret::default());
    }
    let password = match &args.password_command {
        Some(command) => secret_from_command(command, args.timeout)?,
        None => prompt_for_password()?,
    };
    if password.chars().any(char::is_control) {
        let why = match has_line_break(&password) {
            true => "a line break or NUL, which would inject POP3 commands",
            false => "a control character, which POP3 commands cannot carry",
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the password holds {why}: refused"),
        ));
    }
    Ok(password)
}

/// Runs `command` with /bin/sh, as mpop's passwordeval does, and takes what it prints,
/// less its last line break. Its stderr and stdin stay the user's, for its own prompts.
/// It has `timeout` (the session's own) to finish, then it is killed.
fn secret_from_command(command: &str, timeout: Duration) -> io::Result<Zeroizing<String>> {
    let failed = |e: io::Error| io::Error::new(e.kind(), format!("--password-command: {e}"));
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", command])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(failed)?;
    let mut stdout = child.stdout.take().expect("piped above");
    let reader = std::thread::spawn(move || {
        let mut printed = Zeroizing::new(Vec::new());
        stdout.read_to_end(&mut printed).map(|_| printed)
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(failed)? {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            kill_family(child.id());
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "--password-command did not finish within {} s (--timeout); it was stopped",
                    timeout.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The command has ended; what it printed is all there, unless something it started
    // still holds its output open: that is waited for no longer than the rest of the time.
    let printed = loop {
        if reader.is_finished() {
            break reader
                .join()
                .expect("the reader does not panic")
                .map_err(failed)?;
        }
        if std::time::Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "--password-command ended, but something it started kept its output open",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if !status.success() {
        return Err(io::Error::other(format!(
            "--password-command failed ({status})"
        )));
    }
    let text = std::str::from_utf8(&printed).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "--password-command printed text that is not UTF-8",
        )
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "--password-command printed nothing",
        ));
    }
    Ok(Zeroizing::new(text.to_string()))
}

/// Kills `root` and every process it started: a shell's commands outlive the shell, and
/// would hold the tool's stderr open. (Not a process group of its own: the command must
/// stay in the terminal's foreground to prompt there.) Found through /proc's parent ids.
fn kill_family(root: u32) {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut family = vec![root];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    for pid in family {
        // SAFETY: kill has no memory effects; these are the command's processes.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
}

fn prompt_for_password() -> io::Result<Zeroizing<String>> {
    let end_of_input = || {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "no password given (end of input)",
        )
    };
    let password = if io::stdin().is_terminal() {
        match rpassword::prompt_password("Password: ") {
            Ok(password) => Zeroizing::new(password),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                eprintln!();
                return Err(end_of_input());
            }
            Err(e) => return Err(e),
        }
    } else {
        eprintln!("Warning: Password input may be echoed.");
        eprint!("Password: ");
        let line = input::read_line()?;
        // Nothing was echoed: end the prompt's line, so what follows starts on its own.
        eprintln!();
        let line = line.ok_or_else(end_of_input)?;
        let text = std::str::from_utf8(&line).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the password is not valid UTF-8",
            )
        })?;
        Zeroizing::new(text.to_owned())
    };
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse, Parsed};
    use pop3_core::DEFAULT_TIMEOUT;

    #[test]
    fn external_asks_for_no_password() {
        let words = ["--auth", "external", "--cert", "me.pem", "h", "b"];
        let Ok(Parsed::Run(args)) = parse(words.map(Into::into), |_| None) else {
            panic!("{words:?} did not parse")
        };
        assert_eq!(*read_password(&args).unwrap(), "");
    }

    #[test]
    fn secrets_from_a_command() {
        assert_eq!(
            *secret_from_command("echo token123", DEFAULT_TIMEOUT).unwrap(),
            "token123"
        );
        assert_eq!(
            *secret_from_command("printf 'two\\nlines\\r\\n'", DEFAULT_TIMEOUT).unwrap(),
            "two\nlines"
        );
        let failed = secret_from_command("echo partial; exit 3", DEFAULT_TIMEOUT)
            .unwrap_err()
            .to_string();
        assert_eq!(failed, "--password-command failed (exit status: 3)");
        assert_eq!(
            secret_from_command("true", DEFAULT_TIMEOUT)
                .unwrap_err()
                .to_string(),
            "--password-command printed nothing"
        );
    }
}
