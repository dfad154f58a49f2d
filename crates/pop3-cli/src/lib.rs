//! Plumbing shared by the four command-line tools, so that each tool's `main.rs` holds only
//! the steps of its book listing: arguments, password prompt, connection, QUIT, exit codes,
//! and text from strangers made safe for the terminal.
//!
//! Command-line code, kept out of the library ([`pop3_core`]): it exits the process, runs
//! `/bin/sh` for `--password-command`, and owns standard input.

#![warn(missing_docs)]

mod args;
mod input;
mod password;
mod report;
mod screen;
mod session;

pub use args::{help, parse, parse_args, Args, Parsed, Tool, UsageError};
pub use input::{read_yes, typed_yes};
pub use password::{read_password, Secret};
pub use report::{describe, error_line, exit_status, finish, try_later, EXIT_TEMPFAIL};
pub use screen::{for_screen, one_line, terminal_safe};
pub use session::{connect, login_failed, prepare_login, quit, SessionError};
