//! `cargo xtask TASK`: the project's tasks, one module each.

mod demo;
mod playground;

use std::collections::HashMap;
use std::process::ExitCode;

use ::playground::ServerKind;

const USAGE: &str = "usage: cargo xtask TASK [options]

Tasks:
  playground [--server dovecot|builtin] [--pop3-port N] [--pop3s-port N]
             run a local stand-in for the book's mail.example.com until Ctrl-C
  demo [--server dovecot|builtin]
             start a playground and run the four tools against it, as in the book
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("playground") => playground::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `--name value` pairs, refusing names not in `allowed`.
fn options<'a>(args: &'a [String], allowed: &[&str]) -> anyhow::Result<HashMap<&'a str, &'a str>> {
    let mut found = HashMap::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if !allowed.contains(&word.as_str()) {
            anyhow::bail!("unexpected argument {word:?} (see cargo xtask --help)");
        }
        let value = words
            .next()
            .ok_or_else(|| anyhow::anyhow!("{word} needs a value"))?;
        found.insert(word.as_str(), value.as_str());
    }
    Ok(found)
}

/// The `--server` choice: Dovecot when installed, unless told otherwise.
fn server_choice(options: &HashMap<&str, &str>) -> anyhow::Result<ServerKind> {
    match options.get("--server") {
        Some(name) => name.parse().map_err(anyhow::Error::msg),
        None => Ok(ServerKind::best_available()),
    }
}
