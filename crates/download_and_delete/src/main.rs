//! download_and_delete: for each message, show its headers, offer to print its text and to
//! delete it. The book's `download-and-delete.py` (Foundations of Python Network Programming,
//! ch. 14), step by step.

use std::process::ExitCode;

use anyhow::Context;
use download_and_delete::{ahead::Lookahead, limits, message};
use pop3_cli::{self as cli, for_screen, one_line, Args, Login, Tool};
use pop3_core::{Ahead, Client, Stream};

const TOOL: Tool = Tool {
    name: "download_and_delete",
    version: env!("CARGO_PKG_VERSION"),
    about: "Show each message in a POP3 mailbox and delete it on request (the book's download-and-delete.py).",
    notes: "
The answers to the [ny] questions are read from standard input, one line each:
yes when the line starts with y or Y; anything else, or end of input, is no.
Where the server offers PIPELINING, a message whose answer is already typed
(or piped) is fetched ahead; one not answered yet never is.
Messages are deleted only when the session ends with QUIT. Ctrl-C ends the
session without QUIT: deletions confirmed in it are not applied, nothing is lost.
Header values are shown on one line: line breaks in them are shown escaped.
On a terminal, control characters, escape sequences and invisible characters
(zero-width, bidirectional, tags) in mail are shown escaped.
",
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
    // p.user(user); p.pass_(passwd) -- or SASL AUTH, with --auth. Not in the book: where
    // the server offers PIPELINING, LIST goes out as soon as the login is accepted.
    if let Err(e) = cli::log_in(p, args, password, Login::UserPass, &[Ahead::List]) {
        return cli::login_failed(e); // print("Login failed:", e)
    }
    let rule = "-".repeat(72);
    let listings = limits::list(p)?; // p.list(), at most limits::MESSAGES of it

    // Not in the book: commands sent ahead where the server offers PIPELINING (ahead.rs).
    let mut ahead = Lookahead::new(p, &listings);
    for (i, listing) in listings.iter().enumerate() {
        let number = listing.number;
        println!("Message {number} (size is {} bytes):", listing.size);
        println!();
        ahead.send(p, i)?;
        let headers = limits::top(p, number)?; // p.top(number, 0), at most limits::HEADERS of it
        for (header, value) in message::summary(&headers) {
            // Not in the book: a header is shown on one line, whatever it decodes to.
            println!("{header}: {}", for_screen(&one_line(&value)));
        }
        println!();
        println!("Read this message [ny]?");
        if cli::read_yes() {
            let document = limits::retr(p, number)?; // p.retr(number), at most limits::MESSAGE
            if message::body_lost(&headers, &document, listing.size) {
                // Not in the book: a server that sent the headers alone gets a warning.
                eprintln!(
                    "download_and_delete: warning: message {number}: the server sent only its headers ({} of the {} bytes LIST announced)",
                    document.len(),
                    listing.size
                );
            }
            println!("{rule}");
            for part in message::plain_texts(limits::parts(&document, number)) {
                // Not in the book: text it cannot decode is shown as sent, with a word why.
                if let Some(charset) = part.undecoded_charset {
                    let charset = cli::terminal_safe(&one_line(&charset)).into_owned();
                    eprintln!("download_and_delete: message {number}: a text part in charset {charset} is shown as sent (this build cannot decode {charset})");
                }
                println!("{}", for_screen(&part.text));
                println!("{rule}");
            }
        }
        println!();
        println!("Delete this message [ny]?");
        if cli::read_yes() {
            p.dele_later(number)?; // p.dele(number)
            println!("Deleted.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
