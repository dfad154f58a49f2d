//! mailbox: log in and list every message with its size.
//! The book's `mailbox.py` (Foundations of Python Network Programming, ch. 14), step by step.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use pop3_cli::{self as cli, Args, Login, Tool};
use pop3_core::{Ahead, Client, Stream};

const TOOL: Tool = Tool {
    name: "mailbox",
    version: env!("CARGO_PKG_VERSION"),
    about: "List the messages in a POP3 mailbox with their sizes (the book's mailbox.py).",
    notes: "",
};

fn main() -> ExitCode {
    cli::finish(&TOOL, run())
}

fn run() -> anyhow::Result<ExitCode> {
    let args = cli::parse_args(&TOOL); // if len(sys.argv) != 3: usage, exit(2)
    let password = cli::read_password(&args)?; // passwd = getpass.getpass()
    let server = args.server();
    let mut p = cli::connect(&args).with_context(|| server.clone())?; // p = poplib.POP3_SSL(hostname)
    let outcome = session(&mut p, &args, password); // try: ... else: ...
    cli::quit(p, outcome).context(server) // finally: p.quit()
}

fn session(p: &mut Client<Stream>, args: &Args, password: cli::Secret) -> anyhow::Result<ExitCode> {
    // p.user(user); p.pass_(passwd) -- or SASL AUTH, with --auth. Not in the book: where
    // the server offers PIPELINING, LIST and QUIT go out together once it is accepted.
    let then = [Ahead::List, Ahead::Quit];
    if let Err(e) = cli::log_in(p, args, password, Login::UserPass, &then) {
        return cli::login_failed(e); // print("Login failed:", e)
    }
    // One write per screenful, not per line: a mailbox may list 100,000 messages.
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut none = true;
    p.list_each(|listing| {
        // for listing in listings: print("Message %s has %s bytes" % (number, size))
        none = false;
        let _ = writeln!(out, "Message {} has {} bytes", listing.number, listing.size);
    })?;
    if none {
        let _ = writeln!(out, "No messages");
    }
    // A failed write is the output's fault, not the server's: QUIT is still sent.
    out.flush().context("writing the output")?;
    Ok(ExitCode::SUCCESS)
}
