//! `cargo xtask demo`: a playground, and the four tools run against it in a terminal, the
//! way the book's recorded session runs its scripts.

use std::process::Command;

use anyhow::{ensure, Context};
use playground::terminal::run_in_terminal;
use playground::{Options, Playground, PASSWORD, USER};

/// The answers typed at download_and_delete's questions: read and delete the first
/// message, read the multipart one and keep it, delete two of the short tests unread.
const ANSWERS: [&str; 12] = ["y", "y", "n", "n", "y", "n", "n", "y", "n", "n", "n", "y"];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = crate::options(args, &["--server"])?;
    let server = crate::server_choice(&options)?;
    crate::build_tools()?;
    let playground =
        Playground::start(Options::temporary(server)).context("starting the playground")?;
    let host = format!("localhost:{}", playground.pop3s_port);
    println!("# A {server} playground stands in for mail.example.com on {host}.");
    println!(
        "# Its CA is trusted through POP3_CA_FILE={}\n",
        playground.certs.ca.display()
    );
    for (tool, answers) in [
        ("popconn", &[][..]),
        ("apopconn", &[]),
        ("mailbox", &[]),
        ("download_and_delete", &ANSWERS),
        ("mailbox", &[]),
    ] {
        println!("$ {tool} {host} {USER}");
        let mut command = Command::new(crate::tool_path(tool)?);
        command
            .args([&host, USER])
            .env("POP3_CA_FILE", &playground.certs.ca);
        let screen = run_in_terminal(command, Some(PASSWORD), answers)?;
        print!("{}", screen.text);
        ensure!(
            screen.exit_code == Some(0),
            "{tool} ended with {:?}",
            screen.exit_code
        );
        println!();
    }
    Ok(())
}
