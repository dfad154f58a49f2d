//! mailbox: log in and list every message with its size.
//! The book's `mailbox.py` (Foundations of Python Network Programming, ch. 14), step by step.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use pop3_cli::{self as cli, Args, Tool};
use pop3_core::{Client, Command, Stream};

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
    cli::prepare_login(p, args, &password, true)?; // Not in the book: CAPA where it serves
    let login = match args.auth {
        None => p.user(&args.username).and_then(|()| p.pass(&password)), // p.user(username); p.pass_(passwd)
        Some(mechanism) => p.authenticate(mechanism, &args.username, &password), // Not in the book: --auth
    };
    drop(password); // Not in the book: the password is wiped once the login's answer is in
    if let Err(e) = login {
        return cli::login_failed(&TOOL, e); // except poplib.error_proto as e: print("Login failed:", e)
    }
    // Not in the book: where the server offers PIPELINING, LIST and QUIT travel together.
    p.send_ahead(Command::List)?;
    p.send_ahead(Command::Quit)?;
    // Not in the book: one write per screenful, not per line, for a mailbox of 100,000.
    let mut out = io::BufWriter::new(io::stdout().lock());
    // response, listings, octet_count = p.list() -- walked as it arrives, so that memory
    // stays flat whatever the mailbox holds.
    let listings = p.list_iter()?;
    let mut none = true;
    for listing in listings {
        // for listing in listings:
        let listing = listing?;
        none = false;
        // print("Message %s has %s bytes" % (number, size))
        let _ = writeln!(out, "Message {} has {} bytes", listing.number, listing.size);
    }
    if none {
        // if not listings: print("No messages") -- known once the walk is over.
        let _ = writeln!(out, "No messages");
    }
    // A failed write is the output's fault, not the server's: QUIT is still sent.
    out.flush().context("writing the output")?;
    Ok(ExitCode::SUCCESS)
}
