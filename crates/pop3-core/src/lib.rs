//! A small, strict POP3 client (RFC 1939, with CAPA from RFC 2449 and STLS from RFC 2595).
//!
//! - [`Client`] speaks the protocol over any `Read + Write` stream, one method per command.
//! - [`Connector`] opens verified TLS connections, implicit (POP3S) or by STLS.
//! - Message data is streamed ([`Client::retr_to`]), so memory stays bounded by one buffer.
//!
//! ```no_run
//! use pop3_core::{Connector, TlsConfig};
//!
//! let connector = Connector::new(TlsConfig::new(None)?);
//! let mut client = connector.connect("mail.example.com", 995)?;
//! client.login("brandon", "abc123")?;
//! let stat = client.stat()?;
//! println!("You have {} messages totaling {} bytes", stat.count, stat.size);
//! client.quit()?;
//! # Ok::<(), pop3_core::Error>(())
//! ```
//!
//! A whole session, the way `download_and_delete` runs it, here against a scripted server
//! (a [`scripted::ScriptedStream`] plays the server's side, so the example runs anywhere):
//!
//! ```
//! use pop3_core::{Client, scripted::ScriptedStream};
//!
//! let server = "+OK POP3 ready\r\n\
//!     +OK\r\n+OK logged in\r\n\
//!     +OK 1 messages\r\n1 37\r\n.\r\n\
//!     +OK\r\nSubject: Lunch?\r\n\r\n.\r\n\
//!     +OK\r\nSubject: Lunch?\r\n\r\nNoon at the usual place.\r\n.\r\n\
//!     +OK marked\r\n\
//!     +OK bye, message deleted\r\n";
//! let mut client = Client::new(ScriptedStream::new(server))?;
//! client.login("brandon", "abc123")?;             // authorization state
//! for listing in client.list()? {                 // transaction state
//!     let headers = client.top(listing.number, 0)?;
//!     assert!(headers.starts_with(b"Subject: Lunch?"));
//!     let message = client.retr(listing.number)?;
//!     assert!(message.ends_with(b"Noon at the usual place.\r\n"));
//!     client.dele(listing.number)?;               // only marked for now
//! }
//! client.quit()?;                                 // update state: deletions happen here
//! # Ok::<(), pop3_core::Error>(())
//! ```

#![warn(missing_docs)]

mod capped;
mod client;
mod error;
pub mod escape;
mod net;
mod pin;
pub mod response;
mod sasl;
pub mod scripted;
mod tls;
mod x509;

pub use capped::Capped;
pub use client::{Client, Command, Listings, MAX_LINE};
pub use error::{Error, Result, ServerError};
pub use net::{Address, Connector, Security, Stream, DEFAULT_TIMEOUT};
pub use pin::PinnedKeys;
pub use response::{Capabilities, ScanListing, Stat, UniqueId};
pub use sasl::Mechanism;
pub use tls::{TlsConfig, TlsStream};
