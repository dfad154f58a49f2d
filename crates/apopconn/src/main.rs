//! apopconn: log in with APOP (the password never travels) and say how many messages wait.
//! The book's `apopconn.py` (Foundations of Python Network Programming, ch. 14), step by step.

use std::process::ExitCode;

use anyhow::Context;
use pop3_cli::{self as cli, Args, Tool};
use pop3_core::{Client, Stream};

const TOOL: Tool = Tool {
    name: "apopconn",
    version: env!("CARGO_PKG_VERSION"),
    about:
        "Log in to a POP3 server with APOP and say how many messages wait (the book's apopconn.py).",
    notes: "\nAPOP is used only when the server's greeting carries a proper <...@...> timestamp.\n",
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

fn session(
    p: &mut Client<Stream>,
    args: &Args,
    password: cli::Secret,
) -> pop3_core::Result<ExitCode> {
    cli::prepare_login(p, args, &password, false)?; // Not in the book: CAPA where it serves
    let login = match args.auth {
        None => p.apop(&args.username, &password), // p.apop(username, passwd)
        Some(mechanism) => p.authenticate(mechanism, &args.username, &password), // Not in the book: --auth
    };
    drop(password); // Not in the book: the password is wiped once the login's answer is in
    if let Err(e) = login {
        return cli::login_failed(&TOOL, e); // except poplib.error_proto as e: print("Login failed:", e)
    }
    let status = p.stat()?; // status = p.stat()
    println!(
        "You have {} messages totaling {} bytes",
        status.count, status.size
    ); // print("You have %d messages totaling %d bytes" % status)
    Ok(ExitCode::SUCCESS)
}
