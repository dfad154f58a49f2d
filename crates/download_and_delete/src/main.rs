//! download_and_delete: for each message, show its headers, offer to print its text and to
//! delete it. The book's `download-and-delete.py` (Foundations of Python Network Programming,
//! ch. 14), step by step.

use std::process::ExitCode;

use anyhow::Context;
use download_and_delete::{ahead::Lookahead, limits, message};
use pop3_cli::{self as cli, for_screen, one_line, Args, Tool};
use pop3_core::{Client, Command, Stream};

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

/// Each message asks two questions, read and then delete, each answered by one line of
/// input. The lookahead finds a message's read answer among the lines typed ahead by
/// counting them: a question added or taken away here changes this number too.
const QUESTIONS_PER_MESSAGE: usize = 2;

/// The line between the parts of a message.
const RULE: &str = "------------------------------------------------------------------------";

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
    cli::prepare_login(p, args, &password, true)?; // Not in the book: CAPA where it serves
    let login = match args.auth {
        None => p.user(&args.username).and_then(|()| p.pass(&password)), // p.user(username); p.pass_(passwd)
        Some(mechanism) => p.authenticate(mechanism, &args.username, &password), // Not in the book: --auth
    };
    drop(password); // Not in the book: the password is wiped once the login's answer is in
    if let Err(e) = login {
        return cli::login_failed(&TOOL, e); // except poplib.error_proto as e: print("Login failed:", e)
    }
    // Not in the book: where the server offers PIPELINING, LIST goes out at once.
    p.send_ahead(Command::List)?;
    let listings = limits::list(p)?; // response, listings, octets = p.list() (at most limits::MESSAGES)

    // Not in the book: commands sent ahead where the server offers PIPELINING (ahead.rs).
    let mut ahead = Lookahead::new(p, &listings, QUESTIONS_PER_MESSAGE);
    for (i, listing) in listings.iter().enumerate() {
        // for listing in listings: number, size = listing.decode('ascii').split()
        let number = listing.number;
        println!("Message {number} (size is {} bytes):", listing.size); // print('Message', number, '(size is', size, 'bytes):')
        println!(); // print()
        ahead.send(p, i)?;
        let headers = limits::top(p, number)?; // response, lines, octets = p.top(number, 0) (at most limits::HEADERS)
        for (header, value) in message::summary(&headers) {
            // for header in 'From', 'To', 'Subject', 'Date': if header in message:
            // print(header + ':', message[header]) -- not in the book: on one line, whatever
            // it decodes to.
            println!("{header}: {}", for_screen(&one_line(&value)));
        }
        println!(); // print()
        println!("Read this message [ny]?"); // print('Read this message [ny]?')
        if cli::read_yes() {
            // answer = input(); if answer.lower().startswith('y'):
            let document = limits::retr(p, number)?; // response, lines, octets = p.retr(number) (at most limits::MESSAGE)
            if message::body_lost(&headers, &document, listing.size) {
                // Not in the book: a server that sent the headers alone gets a warning.
                eprintln!(
                    "download_and_delete: warning: message {number}: the server sent only its headers ({} of the {} bytes LIST announced)",
                    document.len(),
                    listing.size
                );
            }
            println!("{RULE}"); // print('-' * 72)
            for part in message::plain_texts(limits::parts(&document, number)) {
                // for part in message.walk(): if part.get_content_type() == 'text/plain':
                if let Some(charset) = part.undecoded_charset {
                    // Not in the book: text it cannot decode is shown as sent, with a word why.
                    let charset = cli::terminal_safe(&one_line(&charset)).into_owned();
                    eprintln!("download_and_delete: message {number}: a text part in charset {charset} is shown as sent (this build cannot decode {charset})");
                }
                println!("{}", for_screen(&part.text)); // print(part.get_payload())
                println!("{RULE}"); // print('-' * 72)
            }
        }
        println!(); // print()
        println!("Delete this message [ny]?"); // print('Delete this message [ny]?')
        if cli::read_yes() {
            // answer = input(); if answer.lower().startswith('y'):
            p.dele(number)?; // p.dele(number)
            println!("Deleted."); // print('Deleted.')
        }
    }
    Ok(ExitCode::SUCCESS)
}
