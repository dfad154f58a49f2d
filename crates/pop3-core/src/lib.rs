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

mod client;
mod error;
mod net;
pub mod response;
pub mod scripted;
mod tls;

#[cfg(feature = "cli")]
pub mod cli;

pub use client::{Client, MAX_LINE};
pub use error::{Error, Result, ServerError};
pub use net::{Address, Connector, Security, Stream, DEFAULT_TIMEOUT};
pub use response::{Capabilities, ScanListing, Stat, UniqueId};
pub use tls::{TlsConfig, TlsStream};
