//! `cargo xtask demo`: a playground, and the four tools run against it in a terminal, the
//! way the book's recorded session runs its scripts. Where namespaces allow, the tools run
//! on host h1 of the book's network (`cargo xtask play h1`), typed as the chapter prints
//! them; elsewhere against the playground's localhost ports.

use std::process::Command;

use anyhow::{ensure, Context};
use playground::terminal::run_in_terminal;
use playground::{Options, Playground, PASSWORD, USER};

use crate::play::MAIL_HOST;

/// The answers typed at download_and_delete's questions: read and delete the first
/// message, read the multipart one and keep it, delete two of the short tests unread.
const ANSWERS: [&str; 12] = ["y", "y", "n", "n", "y", "n", "n", "y", "n", "n", "n", "y"];

pub fn run(args: lexopt::Parser) -> anyhow::Result<()> {
    let server = crate::server_choice(crate::server_option(args)?)?;
    crate::build_tools()?;
    let book = crate::play::probe();
    if let Err(e) = &book {
        eprintln!("demo: not on the book's network ({e:#}); using localhost ports");
    }
    let book = book.is_ok();
    // The book's server has no APOP; the localhost playground keeps it, so that apopconn
    // can be seen logging in.
    let playground = Playground::start(Options {
        apop: !book,
        ..Options::temporary(server)
    })
    .context("starting the playground")?;
    // The demo's `cargo xtask play` commands find this playground through their TMPDIR.
    let tmp = std::env::temp_dir().join(format!("pop3-demo-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let _lock = crate::playground::announce_in(&tmp, &playground)?;
    let host = match book {
        true => {
            println!("# On host h1 of the book's network (cargo xtask play h1),");
            println!("# a {server} playground without APOP is {MAIL_HOST}, as in the book.\n");
            MAIL_HOST.to_string()
        }
        false => {
            let host = playground.pop3s_host();
            println!("# A {server} playground stands in for {MAIL_HOST} on {host}.");
            println!(
                "# Its CA is trusted through POP3_CA_FILE={}\n",
                playground.certs.ca.display()
            );
            host
        }
    };
    for (tool, answers) in [
        ("popconn", &[][..]),
        ("apopconn", &[]),
        ("mailbox", &[]),
        ("download_and_delete", &ANSWERS),
        ("mailbox", &[]),
    ] {
        println!("$ {tool} {host} {USER}");
        let command = match book {
            true => {
                let mut on_h1 = Command::new(std::env::current_exe()?);
                on_h1
                    .args(["play", "h1", "--", tool, &host, USER])
                    .env("TMPDIR", &tmp);
                on_h1
            }
            false => {
                let mut command = Command::new(crate::tool_path(tool)?);
                command
                    .args([&host, USER])
                    .env("POP3_CA_FILE", &playground.certs.ca);
                command
            }
        };
        let screen = run_in_terminal(command, Some(PASSWORD), answers)?;
        print!("{}", screen.text);
        let expected = if book && tool == "apopconn" { 1 } else { 0 };
        ensure!(
            screen.exit_code == Some(expected),
            "{tool} ended with {:?}",
            screen.exit_code
        );
        println!();
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
