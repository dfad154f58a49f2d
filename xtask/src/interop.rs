//! `cargo xtask interop`: the four tools against every real server that can run here, each
//! beside the book's own script (`bench/*.py`, Python's poplib) on the same mailbox, and a
//! matrix of what each case gave: ok (the tool printed what the book's script printed),
//! refused (a server without the feature, and the tool said so in one line), differs (the
//! first line that differs), or fails (the error). Any case that differs or fails makes the
//! task fail.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use playground::{Feature, Options, Playground, ServerKind, PASSWORD, USER};

/// download_and_delete's input: the password, then the demo's answers (read and delete the
/// first message, read the multipart one and keep it, delete two short tests unread).
const PASSWORD_AND_ANSWERS: &str = "abc123\ny\ny\nn\nn\ny\nn\nn\ny\nn\nn\nn\ny\n";
/// download_and_delete's input to read every message and delete none.
const READ_ALL: &str = "abc123\ny\nn\ny\nn\ny\nn\ny\nn\ny\nn\ny\nn\n";

/// How long one run may take: Dovecot answers a held mailbox after about 10 s, Courier
/// a wrong password after 5 s, Cyrus after 3 s.
const TIME_LIMIT: Duration = Duration::from_secs(40);

/// One case: a tool with options, beside a book script, with the input both get.
struct Case {
    name: &'static str,
    tool: &'static str,
    options: &'static [&'static str],
    /// The book's script to compare with (`bench/NAME.py`).
    book: &'static str,
    input: &'static str,
    /// What the server must offer, if anything beyond USER and PASS.
    needs: Option<Feature>,
    /// Run while another session holds the mailbox.
    held: bool,
}

const fn case(name: &'static str, tool: &'static str, book: &'static str) -> Case {
    Case {
        name,
        tool,
        options: &[],
        book,
        input: "abc123\n",
        needs: None,
        held: false,
    }
}

const CASES: [Case; 12] = [
    case("popconn", "popconn", "popconn"),
    Case {
        options: &["--stls"],
        needs: Some(Feature::Stls),
        ..case("popconn --stls", "popconn", "popconn")
    },
    Case {
        options: &["--no-pipelining"],
        ..case("popconn --no-pipelining", "popconn", "popconn")
    },
    Case {
        options: &["--auth", "plain"],
        needs: Some(Feature::Sasl),
        ..case("popconn --auth plain", "popconn", "popconn")
    },
    Case {
        input: "wrong\n",
        ..case("popconn, wrong password", "popconn", "popconn")
    },
    Case {
        held: true,
        ..case("popconn, mailbox held", "popconn", "popconn")
    },
    Case {
        needs: Some(Feature::Apop),
        ..case("apopconn", "apopconn", "apopconn")
    },
    case("mailbox", "mailbox", "mailbox"),
    Case {
        options: &["--stls", "--no-pipelining"],
        needs: Some(Feature::Stls),
        ..case("mailbox --stls --no-pipelining", "mailbox", "mailbox")
    },
    Case {
        input: PASSWORD_AND_ANSWERS,
        ..case(
            "download_and_delete",
            "download_and_delete",
            "download_and_delete",
        )
    },
    Case {
        input: READ_ALL,
        ..case(
            "download_and_delete, read all",
            "download_and_delete",
            "download_and_delete",
        )
    },
    Case {
        options: &["--no-pipelining"],
        input: PASSWORD_AND_ANSWERS,
        ..case(
            "download_and_delete --no-pipelining",
            "download_and_delete",
            "download_and_delete",
        )
    },
];

/// What one case gave on one server.
enum Outcome {
    Ok(Option<String>),
    Refused(String),
    Differs(String),
    Fails(String),
    NotRun(String),
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Refused(_) => "refused",
            Outcome::Differs(_) => "DIFFERS",
            Outcome::Fails(_) => "FAILS",
            Outcome::NotRun(_) => "not run",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Outcome::Ok(note) => note.as_deref(),
            Outcome::Refused(d) | Outcome::Differs(d) | Outcome::Fails(d) | Outcome::NotRun(d) => {
                Some(d)
            }
        }
    }
}

pub fn run(args: lexopt::Parser) -> anyhow::Result<()> {
    let servers: Vec<ServerKind> = match crate::server_option(args)? {
        Some(name) => vec![name.parse().map_err(anyhow::Error::msg)?],
        None => ServerKind::REAL.to_vec(),
    };
    crate::build_tools()?;
    let mut results: Vec<(ServerKind, Vec<Outcome>)> = Vec::new();
    for server in servers {
        eprintln!("interop: {server}...");
        let outcomes = match server.missing() {
            Some(reason) => CASES
                .iter()
                .map(|_| Outcome::NotRun(reason.clone()))
                .collect(),
            None => run_server(server),
        };
        results.push((server, outcomes));
    }
    print!("{}", matrix(&results));
    // As for the tests: with POP3_REQUIRE_SERVERS=1 (CI), a server that cannot run fails.
    let required = std::env::var("POP3_REQUIRE_SERVERS").is_ok_and(|v| v == "1");
    let broken = results
        .iter()
        .flat_map(|(_, outcomes)| outcomes)
        .filter(|o| match o {
            Outcome::Differs(_) | Outcome::Fails(_) => true,
            Outcome::NotRun(_) => required,
            Outcome::Ok(_) | Outcome::Refused(_) => false,
        })
        .count();
    anyhow::ensure!(
        broken == 0,
        "{broken} case(s) differ, fail or could not run"
    );
    let ran = results
        .iter()
        .flat_map(|(_, outcomes)| outcomes)
        .filter(|o| !matches!(o, Outcome::NotRun(_)))
        .count();
    eprintln!("interop: {ran} case(s) run, each ok or refused as expected");
    Ok(())
}

/// Every case on one server. Each side of a case gets a fresh server with the sample
/// mailbox: some servers change the mailbox at every logout (mailutils rewrites its mbox
/// with added headers), and some cases delete mail.
fn run_server(server: ServerKind) -> Vec<Outcome> {
    CASES
        .iter()
        .map(|case| {
            let side = |run: fn(&Case, &Playground) -> anyhow::Result<Ran>| {
                let p = Playground::start(Options::temporary(server))
                    .with_context(|| format!("starting {server}"))?;
                let _holder = match case.held {
                    true => Some(hold(&p)?),
                    false => None,
                };
                run(case, &p)
            };
            match (side(run_book), side(run_tool)) {
                (Ok(book), Ok(ours)) => judge(server, case, &ours, &book),
                (Err(e), _) | (_, Err(e)) => Outcome::Fails(format!("{e:#}")),
            }
        })
        .collect()
}

/// What a program printed and how it ended (`None`: killed at the time limit).
struct Ran {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run_tool(case: &Case, p: &Playground) -> anyhow::Result<Ran> {
    let host = if case.options.contains(&"--stls") {
        p.pop3_host()
    } else {
        p.pop3s_host()
    };
    let mut command = Command::new(crate::tool_path(case.tool)?);
    command
        .args(case.options)
        .args(["--timeout", "30", &host, USER])
        .env("POP3_CA_FILE", &p.certs.ca);
    run_limited(command, case.input)
}

fn run_book(case: &Case, p: &Playground) -> anyhow::Result<Ran> {
    let mut command = Command::new("python3");
    command
        .arg(book_script(case.book))
        .args([&p.pop3s_host(), USER])
        .env("POP3_CA_FILE", &p.certs.ca);
    run_limited(command, case.input)
}

fn book_script(name: &str) -> PathBuf {
    crate::workspace_root()
        .join("bench")
        .join(format!("{name}.py"))
}

/// Another session that holds the mailbox (the book's login in `bench/hold.py`) until
/// dropped.
struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn hold(p: &Playground) -> anyhow::Result<Holder> {
    let mut child = Command::new("python3")
        .arg(book_script("hold"))
        .args([&p.pop3s_host(), USER])
        .env("POP3_CA_FILE", &p.certs.ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().context("holder's stdin")?;
    stdin.write_all(format!("{PASSWORD}\n").as_bytes())?;
    child.stdin = Some(stdin);
    let mut held = [0u8; 5];
    child
        .stdout
        .take()
        .context("holder's stdout")?
        .read_exact(&mut held)
        .context("the holding session did not log in")?;
    Ok(Holder(child))
}

/// Runs `command` with `input` on standard input; kills it at [`TIME_LIMIT`].
fn run_limited(mut command: Command, input: &str) -> anyhow::Result<Ran> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = reader(Box::new(child.stdout.take().context("stdout")?));
    let stderr = reader(Box::new(child.stderr.take().context("stderr")?));
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Ran {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        code,
    })
}

/// Python prints a server's bytes as `b'...'`: the same words, another spelling. Line ends
/// stay as printed.
fn book_words(stdout: &str) -> String {
    stdout
        .split_inclusive('\n')
        .map(|line| {
            let (text, end) = line.split_at(line.trim_end_matches('\n').len());
            match text.split_once(" b'") {
                Some((head, rest)) if rest.ends_with('\'') => {
                    format!("{head} {}{end}", &rest[..rest.len() - 1])
                }
                _ => line.to_string(),
            }
        })
        .collect()
}

/// The lines the tool printed on stderr beyond the password prompt and its warnings.
fn error_lines(ran: &Ran) -> Vec<&str> {
    ran.stderr
        .lines()
        .filter(|l| !l.starts_with("Warning: Password input") && !l.starts_with("Password: "))
        .filter(|l| !l.contains(": warning: "))
        .collect()
}

/// The tool's warnings on stderr, joined.
fn warnings(ran: &Ran) -> Option<String> {
    let found: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.contains(": warning: "))
        .collect();
    (!found.is_empty()).then(|| found.join(" / "))
}

/// What the tool says when the server lacks `feature`: the one line it must end with.
fn refusal_words(feature: Feature) -> &'static [&'static str] {
    match feature {
        Feature::Stls => &["the server refused STLS"],
        // With CAPA, the tool sees no SASL and says so; without (popa3d), the server's -ERR.
        Feature::Sasl => &["the server does not offer SASL", "Login failed: -ERR"],
        Feature::Apop => &["Login failed: -ERR APOP not supported by server"],
    }
}

fn judge(server: ServerKind, case: &Case, ours: &Ran, book: &Ran) -> Outcome {
    let errors = error_lines(ours);
    let Some(code) = ours.code else {
        return Outcome::Fails(format!("still running after {} s", TIME_LIMIT.as_secs()));
    };
    if let Some(feature) = case.needs.filter(|&f| !server.offers(f)) {
        let last = match errors.as_slice() {
            [line] => Some(*line),
            [] => ours.stdout.lines().last(),
            _ => None,
        };
        return match last {
            Some(line) if code == 1 && refusal_words(feature).iter().any(|w| line.contains(w)) => {
                Outcome::Refused(line.to_string())
            }
            _ => Outcome::Fails(format!(
                "exit {code}, a refusal expected: {}",
                ours.stderr
                    .trim_end()
                    .lines()
                    .last()
                    .unwrap_or("no error line")
            )),
        };
    }
    // The book's scripts end 0 after `Login failed:`; the tools end 1, as their --help says,
    // or 75 with a hint on stderr when the server's response code says "for now" ([IN-USE]).
    let refused = ours.stdout.lines().find(|l| l.starts_with("Login failed:"));
    let for_now = refused.is_some_and(|line| {
        ["[IN-USE]", "[LOGIN-DELAY]", "[SYS/TEMP]"]
            .iter()
            .any(|code| line.contains(code))
    });
    let hint = |line: &&str| for_now && line.ends_with("; try again later");
    if errors.iter().any(|line| !hint(line)) {
        return Outcome::Fails(errors.join(" / "));
    }
    let expected = book_words(&book.stdout);
    if book.code.is_none() || (book.code != Some(0) && expected.is_empty()) {
        let why = book.stderr.trim_end().lines().last().unwrap_or("no output");
        return Outcome::Fails(format!("the book's script failed: {why}"));
    }
    let expected_code = match (refused, for_now) {
        (Some(_), true) => 75,
        (Some(_), false) => 1,
        (None, _) => 0,
    };
    if ours.stdout == expected && code == expected_code {
        let note = match (refused, case.held) {
            (Some(line), _) => Some(line.to_string()),
            (None, true) => Some("no lock: both sessions logged in".to_string()),
            (None, false) => warnings(ours),
        };
        return Outcome::Ok(note);
    }
    if ours.stdout == expected {
        return Outcome::Fails(format!("exit {code} where {expected_code} was due"));
    }
    let end = "(end)\n";
    let (n, ours_line, book_line) = ours
        .stdout
        .split_inclusive('\n')
        .chain(std::iter::repeat(end))
        .zip(expected.split_inclusive('\n').chain(std::iter::repeat(end)))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(n, (a, b))| (n + 1, a, b))
        .unwrap_or((0, "", ""));
    Outcome::Differs(format!(
        "line {n}: ours {ours_line:?}, the book's {book_line:?}"
    ))
}

/// The matrix (case x server, one word a cell), then each cell's detail.
fn matrix(results: &[(ServerKind, Vec<Outcome>)]) -> String {
    let mut text = String::from("\n| case |");
    for (server, _) in results {
        text.push_str(&format!(" {server} |"));
    }
    text.push_str("\n|---|");
    text.push_str(&"---|".repeat(results.len()));
    for (i, case) in CASES.iter().enumerate() {
        text.push_str(&format!("\n| {} |", case.name));
        for (_, outcomes) in results {
            text.push_str(&format!(" {} |", outcomes[i].word()));
        }
    }
    text.push_str("\n\n");
    for (server, outcomes) in results {
        let mut said = None;
        for (case, outcome) in CASES.iter().zip(outcomes) {
            let Some(detail) = outcome.detail() else {
                continue;
            };
            // A server that could not start fails every case alike: said in full once.
            let shown = match said.replace(detail) == Some(detail) {
                true => "as above",
                false => detail,
            };
            text.push_str(&format!(
                "{server}, {}: {} ({shown})\n",
                case.name,
                outcome.word()
            ));
        }
    }
    text
}
