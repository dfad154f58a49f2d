//! `cargo xtask TASK`: the project's tasks, one module each.

mod bench;
mod demo;
mod dist;
mod interop;
mod man;
mod play;
mod playground;
mod servers;

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::str::FromStr;

use anyhow::Context;
use lexopt::prelude::*;

use ::playground::ServerKind;

const USAGE: &str = "usage: cargo xtask TASK [options]

Tasks:
  playground [--server NAME] [--pop3-port N] [--pop3s-port N] [--no-apop]
             run a local stand-in for the book's mail.example.com until Ctrl-C
             (NAME: builtin, dovecot, mailutils, courier, cyrus or popa3d);
             --no-apop: no APOP, as the book's server (apopconn: Login failed)
  play HOST [-- COMMAND ARGS...]
             a shell (or one command) on the book's host HOST (h1), where
             mail.example.com is the playground (POP3 110, POP3S 995) and its CA is
             trusted: type the chapter's commands as printed (root, or user namespaces)
  demo [--server NAME]
             start a playground and run the four tools against it, as in the book
  bench [--rounds N] [--only TEXT]
             time our tools against Python's poplib, curl and a floor client on the
             playground's Dovecot, with and without 50 ms of latency (report in target/)
  interop [--server NAME]
             the four tools against every real server that can run here (or NAME),
             beside the book's scripts (bench/*.py) on the same mailbox: a matrix
  install-servers
             install or unpack the real POP3 servers the tests and interop use
             (Debian packages; root)
  dist [TOOL...]
             release archives (binary, README, licences, man page) and .deb packages
             for the tools, checked, with SHA256SUMS, in target/dist

Used by bench (each is one measured process):
  bench-spawn PROGRAM ARGS...
             runs PROGRAM (stdin passed on, output discarded) and prints
             EXIT WALL_NS PEAK_RSS_KIB CPU_US
  bench-floor HOST:PORT CA COMMAND...
             the floor client: pipelines COMMANDs at once over TLS, reads until the
             server closes, parses nothing
";

/// A task: reads its own words (those after its name) and runs.
type Task = fn(lexopt::Parser) -> anyhow::Result<ExitCode>;

fn main() -> ExitCode {
    let mut args = lexopt::Parser::from_env();
    let name = match args.next() {
        Ok(Some(Short('h') | Long("help"))) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Some(Value(name))) => name.to_string_lossy().into_owned(),
        // No task's name: told as typed, below.
        Ok(Some(Short(letter))) => format!("-{letter}"),
        Ok(Some(Long(option))) => format!("--{option}"),
        Ok(None) | Err(_) => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(task) = task(&name) else {
        eprintln!("xtask: unknown task {name:?}");
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    // The task's words, read afresh: a `--` before the task's name was xtask's own.
    let words: Vec<OsString> = args.raw_args().map(Iterator::collect).unwrap_or_default();
    if asks_for_help(&words) {
        if let Some(usage) = task_usage(&name) {
            print!("{usage}");
            return ExitCode::SUCCESS;
        }
    }
    match task(lexopt::Parser::from_args(words)) {
        Ok(code) => code,
        // A command line the task refused: its usage tells what it takes.
        Err(e) if e.is::<lexopt::Error>() => {
            eprintln!("xtask: {e} (see cargo xtask {name} --help)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The task called `name`, if there is one.
fn task(name: &str) -> Option<Task> {
    let task: Task = match name {
        "playground" => |args| done(playground::run(args)),
        "play" => play::run,
        "demo" => |args| done(demo::run(args)),
        "dist" => |args| done(dist::run(args)),
        "bench" => |args| done(bench::run(args)),
        "install-servers" => |args| done(servers::run(args)),
        "interop" => |args| done(interop::run(args)),
        "bench-floor" => |args| done(bench::floor::run(args)),
        "bench-spawn" => |args| done(bench::spawn::run(args)),
        _ => return None,
    };
    Some(task)
}

/// A task that ends without a status of its own: success, or its error.
fn done(result: anyhow::Result<()>) -> anyhow::Result<ExitCode> {
    result.map(|()| ExitCode::SUCCESS)
}

/// Whether a task's words ask for its usage: `-h` or `--help` anywhere before `--`, even
/// where a value was due or after a mistake, so that help is always at hand. Words after
/// `--` are a command's own (`play h1 -- popconn --help`).
fn asks_for_help(words: &[OsString]) -> bool {
    let mut words = lexopt::Parser::from_args(words);
    loop {
        match words.next() {
            Ok(Some(Short('h') | Long("help"))) => return true,
            Ok(None) => return false,
            // Any other word, or a value given to an option with `=`.
            Ok(Some(_)) | Err(_) => {}
        }
    }
}

/// The lines of USAGE about `task` (its synopsis and what it does), or `None` for a task
/// USAGE does not list.
fn task_usage(task: &str) -> Option<String> {
    let mut lines = USAGE.lines().skip_while(|line| {
        line.strip_prefix("  ")
            .is_none_or(|entry| entry.split_whitespace().next() != Some(task))
    });
    let synopsis = lines.next()?;
    let described = lines.take_while(|line| line.starts_with("             "));
    let text: Vec<&str> = std::iter::once(synopsis.trim_start())
        .chain(described)
        .collect();
    Some(format!("usage: cargo xtask {}\n", text.join("\n")))
}

/// The value of `option`, just read from `args`, parsed; a bad one is named with its option.
fn parsed_value<T>(args: &mut lexopt::Parser, option: &str) -> anyhow::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let value = args.value()?.string()?;
    value.parse().with_context(|| format!("{option} {value}"))
}

/// The words of a task whose one option is `--server NAME`: NAME, if given.
fn server_option(mut args: lexopt::Parser) -> anyhow::Result<Option<String>> {
    let mut server = None;
    while let Some(arg) = args.next()? {
        match arg {
            Long("server") => server = Some(args.value()?.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(server)
}

/// The `--server` choice: Dovecot when installed, unless told otherwise.
fn server_choice(name: Option<String>) -> anyhow::Result<ServerKind> {
    match name {
        Some(name) => name.parse().map_err(anyhow::Error::msg),
        None => Ok(ServerKind::best_available()),
    }
}

/// The four tools, in the book's order.
const TOOLS: [&str; 4] = ["popconn", "apopconn", "mailbox", "download_and_delete"];

/// Builds the four tools (debug, quietly), for the tasks that run them.
fn build_tools() -> anyhow::Result<()> {
    let mut build = cargo(["build", "--quiet"]);
    for tool in TOOLS {
        build.args(["-p", tool]);
    }
    anyhow::ensure!(
        build.status().context("running cargo build")?.success(),
        "building the tools failed"
    );
    Ok(())
}

/// The tools are built next to this xtask binary (same target dir and profile).
fn tool_path(tool: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name(tool))
}

/// The workspace's top folder.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// `cargo ARGS` in the workspace, without the CARGO_* variables `cargo run` set for this
/// xtask: build scripts that watch them (ring's does) would rebuild, for this build and for
/// the next one made without them.
fn cargo<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(args).current_dir(workspace_root());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let described_xtask = name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_ref());
        if described_xtask {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// Runs a command and returns its standard output, trimmed; failing is an error.
fn command_output(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_string())
}
