//! The playground: a local stand-in for the book's `mail.example.com`, with user `brandon`
//! (password `abc123`), a mailbox restored at every start, POP3 with STLS and POP3S, and a
//! fresh certificate authority each time.
//!
//! It runs real Dovecot when installed, or the built-in server. `cargo xtask playground` is
//! a thin command line over this library, and the tools' end-to-end tests start their
//! servers through it.

pub mod builtin;
pub mod certs;
mod conn;
pub mod dovecot;
pub mod hostile;
pub mod mailbox;
pub mod sasl;
pub mod servers;
pub mod terminal;
pub mod testing;

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use builtin::BuiltinServer;
use certs::{CertFiles, CertSpec};
use dovecot::Dovecot;
use servers::ScriptedServer;

/// The playground's user, as in the book's session.
pub const USER: &str = "brandon";
/// The user's password, as in the book's session.
pub const PASSWORD: &str = "abc123";

/// Which server plays `mail.example.com`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Real Dovecot, the reference server.
    Dovecot,
    /// The built-in server of this crate.
    Builtin,
    /// GNU mailutils' pop3d (an mbox; no SASL).
    Mailutils,
    /// Courier's POP3 server (no APOP; loses commands pipelined with the login).
    Courier,
    /// Cyrus' pop3d (no mailbox lock).
    Cyrus,
    /// popa3d (plain POP3 only: no CAPA, no STLS; POP3S through stunnel).
    Popa3d,
}

impl ServerKind {
    /// The real servers, the reference first.
    pub const REAL: [ServerKind; 5] = [
        ServerKind::Dovecot,
        ServerKind::Mailutils,
        ServerKind::Courier,
        ServerKind::Cyrus,
        ServerKind::Popa3d,
    ];

    /// Dovecot when it is installed, else the built-in server.
    pub fn best_available() -> Self {
        if dovecot::installed() {
            ServerKind::Dovecot
        } else {
            ServerKind::Builtin
        }
    }

    /// Whether it offers `feature`, as the playground runs it.
    pub fn offers(self, feature: Feature) -> bool {
        use Feature::*;
        use ServerKind::*;
        !matches!(
            (self, feature),
            (Mailutils, Sasl) | (Courier, Apop) | (Popa3d, Stls | Sasl | Apop)
        )
    }

    /// Why this server cannot run here, or `None` when it can.
    pub fn missing(self) -> Option<String> {
        servers::missing(self)
    }

    /// Whether its mailbox is the Maildir the playground writes, which
    /// [`Playground::stored_messages`] reads (else the server's script makes its own store
    /// from `messages/`).
    pub fn serves_maildir(self) -> bool {
        matches!(
            self,
            ServerKind::Builtin | ServerKind::Dovecot | ServerKind::Courier
        )
    }
}

/// What a POP3 server may or may not offer beyond RFC 1939's USER and PASS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// STLS on the plain port (RFC 2595).
    Stls,
    /// APOP (a timestamp in the greeting).
    Apop,
    /// SASL AUTH (RFC 5034), PLAIN at least.
    Sasl,
}

impl FromStr for ServerKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [ServerKind::Builtin]
            .into_iter()
            .chain(ServerKind::REAL)
            .find(|kind| kind.to_string() == text)
            .ok_or_else(|| {
                format!("unknown server {text:?}: expected builtin, dovecot, mailutils, courier, cyrus or popa3d")
            })
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerKind::Dovecot => "dovecot",
            ServerKind::Builtin => "builtin",
            ServerKind::Mailutils => "mailutils",
            ServerKind::Courier => "courier",
            ServerKind::Cyrus => "cyrus",
            ServerKind::Popa3d => "popa3d",
        })
    }
}

/// How to start a playground.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which server.
    pub server: ServerKind,
    /// The state directory (certificates, Maildir, server config); emptied at start.
    pub dir: PathBuf,
    /// Fixed `(pop3, pop3s)` ports, or `None` for free ports chosen at run time.
    pub ports: Option<(u16, u16)>,
    /// The server certificate to make.
    pub certs: CertSpec,
    /// The mailbox's messages, in order.
    pub messages: Vec<Vec<u8>>,
    /// Offer APOP (a timestamp in the greeting). Off, the server is one without APOP.
    pub apop: bool,
    /// The built-in server only: behave like Courier, which offers PIPELINING yet loses the
    /// commands that arrived before its login's answer.
    pub loses_commands_sent_with_login: bool,
    /// Remove `dir` when the playground stops.
    pub remove_dir: bool,
}

impl Options {
    /// The sample mailbox in a fresh temporary directory on free ports: what tests use.
    pub fn temporary(server: ServerKind) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "pop3-playground-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Options {
            server,
            dir: std::env::temp_dir().join(name),
            ports: None,
            certs: CertSpec::default(),
            messages: mailbox::SAMPLE_MESSAGES
                .iter()
                .map(|m| m.to_vec())
                .collect(),
            apop: true,
            loses_commands_sent_with_login: false,
            remove_dir: true,
        }
    }
}

/// A running playground; the server stops when it is dropped.
pub struct Playground {
    /// Which server runs.
    pub server: ServerKind,
    /// Plain POP3 port (STLS available).
    pub pop3_port: u16,
    /// POP3S port (implicit TLS).
    pub pop3s_port: u16,
    /// The certificate files; clients trust `certs.ca`.
    pub certs: CertFiles,
    /// The user's Maildir.
    pub maildir: PathBuf,
    /// Whether the server offers APOP (a timestamp in its greeting): as the options say,
    /// where the server has it at all (GNU mailutils always does).
    pub apop: bool,
    dir: PathBuf,
    remove_dir: bool,
    /// The server process or threads, kept until the playground is dropped.
    running: Option<Box<dyn Send>>,
}

impl Playground {
    /// Starts a playground as `options` say.
    pub fn start(options: Options) -> io::Result<Self> {
        let dir = &options.dir;
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent)?;
        }
        // Made here, not found: a folder someone else slipped in (its files links to
        // elsewhere) makes this fail rather than be written through.
        fs::create_dir(dir)?;
        let certs = certs::generate(&dir.join("tls"), &options.certs)?;
        let home = dir.join("home");
        let maildir = home.join("Maildir");
        if options.server.serves_maildir() {
            mailbox::write_maildir(&maildir, &options.messages)?;
        } else {
            mailbox::write_messages(&dir.join("messages"), &options.messages)?;
        }
        let (running, pop3_port, pop3s_port) = match options.server {
            ServerKind::Builtin => {
                let (pop3, pop3s) = options.ports.unwrap_or((0, 0));
                let pop3 = TcpListener::bind(("127.0.0.1", pop3))?;
                let pop3s = TcpListener::bind(("127.0.0.1", pop3s))?;
                let ports = (pop3.local_addr()?.port(), pop3s.local_addr()?.port());
                let behaviour = builtin::Behaviour {
                    apop: options.apop,
                    loses_commands_sent_with_login: options.loses_commands_sent_with_login,
                };
                let server = BuiltinServer::start(pop3, pop3s, &maildir, &certs, behaviour)?;
                (Box::new(server) as Box<dyn Send>, ports.0, ports.1)
            }
            ServerKind::Dovecot => on_free_ports(options.ports, |pop3, pop3s| {
                Dovecot::start(dir, &home, &certs, pop3, pop3s, options.apop)
            })?,
            other => on_free_ports(options.ports, |pop3, pop3s| {
                ScriptedServer::start(other, dir, pop3, pop3s, options.apop)
            })?,
        };
        let apop = options.server.offers(Feature::Apop)
            && (options.apop || options.server == ServerKind::Mailutils);
        Ok(Playground {
            apop,
            server: options.server,
            pop3_port,
            pop3s_port,
            certs,
            maildir,
            dir: options.dir,
            remove_dir: options.remove_dir,
            running: Some(running),
        })
    }

    /// `localhost:PORT` of the POP3S (implicit TLS) listener.
    pub fn pop3s_host(&self) -> String {
        format!("localhost:{}", self.pop3s_port)
    }

    /// `localhost:PORT` of the plain POP3 listener (for STLS).
    pub fn pop3_host(&self) -> String {
        format!("localhost:{}", self.pop3_port)
    }

    /// The messages the server's Maildir holds now, in mailbox order (for the servers that
    /// serve the playground's Maildir).
    pub fn stored_messages(&self) -> io::Result<Vec<Vec<u8>>> {
        if !self.server.serves_maildir() {
            return Err(io::Error::other(format!(
                "{} keeps its own mail store",
                self.server
            )));
        }
        mailbox::stored_messages(&self.maildir)
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        self.running.take();
        if self.remove_dir {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Real servers take port numbers, not sockets: free ones are picked, and picked again
/// should another process take one first.
fn on_free_ports<T: Send + 'static>(
    ports: Option<(u16, u16)>,
    mut start: impl FnMut(u16, u16) -> io::Result<T>,
) -> io::Result<(Box<dyn Send>, u16, u16)> {
    let mut attempts = 0;
    loop {
        let (pop3, pop3s) = match ports {
            Some(ports) => ports,
            None => (free_port()?, free_port()?),
        };
        match start(pop3, pop3s) {
            Ok(server) => return Ok((Box::new(server), pop3, pop3s)),
            Err(e)
                if ports.is_none()
                    && attempts < 3
                    && e.to_string().contains("Address already in use") =>
            {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether this process runs as root (who may use ports 110 and 995).
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `port` on 127.0.0.1 accepts connections (at most 15 s); `still_running`
/// fails early should the server have died.
fn wait_for_listener(
    port: u16,
    mut still_running: impl FnMut() -> io::Result<()>,
) -> io::Result<()> {
    wait(port, &mut still_running, |_| true)
}

/// Waits until the server on `port` greets with `+OK` (at most 15 s): ready means a
/// greeting arrived, as the port opens even when login processes crash. `still_running`
/// fails early should the server have died.
fn wait_for_greeting(
    port: u16,
    mut still_running: impl FnMut() -> io::Result<()>,
) -> io::Result<()> {
    wait(port, &mut still_running, |mut tcp| {
        let mut greeting = [0u8; 3];
        tcp.set_read_timeout(Some(Duration::from_secs(5))).is_ok()
            && tcp.read_exact(&mut greeting).is_ok()
            && &greeting == b"+OK"
    })
}

fn wait(
    port: u16,
    still_running: &mut dyn FnMut() -> io::Result<()>,
    ready: impl Fn(TcpStream) -> bool,
) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        still_running()?;
        if TcpStream::connect(("127.0.0.1", port)).is_ok_and(&ready) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the server on port {port} was not ready within 15 s"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
