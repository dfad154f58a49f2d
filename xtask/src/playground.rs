//! `cargo xtask playground`: the stand-in for `mail.example.com`, in the foreground.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::Context;
use lexopt::prelude::*;
use playground::{Feature, Options, Playground, ServerKind, PASSWORD, USER};

pub fn run(mut args: lexopt::Parser) -> anyhow::Result<()> {
    let (mut server, mut pop3_port, mut pop3s_port, mut apop) = (None, None, None, true);
    while let Some(arg) = args.next()? {
        match arg {
            Long("server") => server = Some(args.value()?.string()?),
            Long("pop3-port") => pop3_port = Some(crate::parsed_value(&mut args, "--pop3-port")?),
            Long("pop3s-port") => {
                pop3s_port = Some(crate::parsed_value(&mut args, "--pop3s-port")?)
            }
            // A switch: the server of the book's own playground offers no APOP.
            Long("no-apop") => apop = false,
            _ => return Err(arg.unexpected().into()),
        }
    }
    let server = crate::server_choice(server)?;
    let (default_pop3, default_pop3s) = if playground::running_as_root() {
        (110, 995)
    } else {
        (11110, 11995)
    };
    let ports = (
        pop3_port.unwrap_or(default_pop3),
        pop3s_port.unwrap_or(default_pop3s),
    );
    let dir = std::env::temp_dir().join("pop3-playground");
    // One playground at a time: a second would rewrite the first one's folder (and its
    // certificates) under its clients.
    let mut lock = Lock::take(&lock_path(&std::env::temp_dir()))?;
    lock.describe(
        &format!("{server}, starting (process {})", std::process::id()),
        None,
    )?;
    for port in [ports.0, ports.1] {
        std::net::TcpListener::bind(("127.0.0.1", port)).with_context(|| {
            format!("port {port} is taken by another program: choose others with --pop3-port and --pop3s-port")
        })?;
    }
    let playground = Playground::start(Options {
        ports: Some(ports),
        dir: dir.clone(),
        remove_dir: false,
        apop,
        ..Options::temporary(server)
    })
    .with_context(|| {
        format!(
            "starting the {server} playground on ports {} and {}",
            ports.0, ports.1
        )
    })?;

    let (stop, stopped) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })?;
    lock.announce(&playground)?;
    print!("{}", instructions(&playground));
    stopped.recv()?;
    drop(playground);
    // Its terminal may be gone (a closed pipe): nothing left to say then.
    let _ = writeln!(std::io::stdout(), "\nPlayground stopped.");
    Ok(())
}

/// What `cargo xtask play` needs of a running playground to join it.
pub struct Running {
    /// The server's name.
    pub server: String,
    /// Plain POP3 (STLS).
    pub pop3_port: u16,
    /// POP3S (implicit TLS).
    pub pop3s_port: u16,
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    /// Whether the server offers APOP.
    pub apop: bool,
}

impl Running {
    pub fn of(p: &Playground) -> Self {
        Running {
            server: p.server.to_string(),
            pop3_port: p.pop3_port,
            pop3s_port: p.pop3s_port,
            ca: p.certs.ca.clone(),
            apop: p.apop,
        }
    }
}

/// The running `cargo xtask playground`, if there is one.
pub fn running() -> anyhow::Result<Option<Running>> {
    let path = lock_path(&std::env::temp_dir());
    // Read only, and only a lock file of this user's: in a shared /tmp, another user's file
    // (or a stale one of root's) says nothing about this user's playground.
    let Ok(mut file) = std::fs::File::open(&path) else {
        return Ok(None);
    };
    // SAFETY: geteuid cannot fail.
    if file.metadata()?.uid() != unsafe { libc::geteuid() } {
        return Ok(None);
    }
    // SAFETY: flock on a descriptor this File owns; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
        return Ok(None); // no playground holds it
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "a playground is starting ({}); try again in a moment",
                    first_line(&text)
                )
            })
    };
    Ok(Some(Running {
        server: field("server")?.to_string(),
        pop3_port: field("pop3_port")?.parse()?,
        pop3s_port: field("pop3s_port")?.parse()?,
        ca: PathBuf::from(field("ca")?),
        apop: field("apop")? == "yes",
    }))
}

/// Where a playground's lock is, for the programs that take `dir` as their temporary
/// folder (TMPDIR).
fn lock_path(dir: &Path) -> PathBuf {
    dir.join("pop3-playground.lock")
}

/// Makes `playground` the running one for the programs whose TMPDIR is `dir` (the demo's
/// own `cargo xtask play` commands), while the lock returned is held.
pub fn announce_in(dir: &Path, playground: &Playground) -> anyhow::Result<Lock> {
    let mut lock = Lock::take(&lock_path(dir))?;
    lock.announce(playground)?;
    Ok(lock)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// A lock file held while a playground runs, saying which one: a line for people, then
/// `name value` lines for `cargo xtask play`.
pub struct Lock(std::fs::File);

impl Lock {
    fn take(path: &Path) -> anyhow::Result<Self> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a descriptor this File owns; no memory is involved.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !taken {
            let mut running = String::new();
            file.read_to_string(&mut running)?;
            anyhow::bail!(
                "a playground is already running: {}; use it, or stop it with Ctrl-C in its terminal",
                first_line(&running)
            );
        }
        Ok(Lock(file))
    }

    /// Says in the lock file which playground runs, and where.
    fn announce(&mut self, p: &Playground) -> anyhow::Result<()> {
        let running = format!(
            "{} on POP3S port {}, POP3 port {}, CA {} (process {})",
            p.server,
            p.pop3s_port,
            p.pop3_port,
            p.certs.ca.display(),
            std::process::id()
        );
        self.describe(&running, Some(&Running::of(p)))
    }

    /// Writes what runs into the lock file, for a second playground to tell, in one write
    /// (a reader never sees half of it).
    fn describe(&mut self, running: &str, details: Option<&Running>) -> anyhow::Result<()> {
        let mut text = format!("{running}\n");
        if let Some(r) = details {
            let apop = if r.apop { "yes" } else { "no" };
            text += &format!("server {}\npop3_port {}\n", r.server, r.pop3_port);
            text += &format!(
                "pop3s_port {}\nca {}\napop {apop}\n",
                r.pop3s_port,
                r.ca.display()
            );
        }
        self.0.seek(SeekFrom::Start(0))?;
        self.0.write_all(text.as_bytes())?;
        self.0.set_len(text.len() as u64)?;
        Ok(())
    }
}

fn instructions(p: &Playground) -> String {
    let ca = p.certs.ca.display();
    let host = |port: u16| {
        if port == 995 || port == 110 {
            "localhost".to_string()
        } else {
            format!("localhost:{port}")
        }
    };
    let (pop3s, pop3) = (host(p.pop3s_port), host(p.pop3_port));
    let (stls_port, stls_run) = match p.server.offers(Feature::Stls) {
        true => (
            "POP3 + STLS:         ",
            format!("  cargo run -q -p popconn -- --stls {pop3} {USER}       (plain POP3 upgraded by STLS)\n"),
        ),
        false => ("POP3 (no STLS):      ", String::new()),
    };
    let apop = match p.apop {
        true => "",
        false => "       (this server has no APOP: Login failed)",
    };
    // The playground configures Dovecot alone to take a client certificate (SASL EXTERNAL).
    let external = match p.server {
        ServerKind::Dovecot => format!(
            "  cargo run -q -p popconn -- --auth external --cert {} --key {} {pop3s} {USER}\n    \
             (logs in by brandon's client certificate: no password)\n",
            p.certs.client_cert.display(),
            p.certs.client_key.display(),
        ),
        _ => String::new(),
    };
    format!(
        "POP3 playground running ({server}), standing in for mail.example.com
  user {USER}, password {PASSWORD}; the mailbox is restored at every start
  POP3S (implicit TLS): 127.0.0.1 port {pop3s_port}
  {stls_port} 127.0.0.1 port {pop3_port}
  CA certificate:       {ca}

In another terminal, trust the playground's CA (certificates stay verified):
  export POP3_CA_FILE={ca}

and run the book's tools:
  cargo run -q -p popconn -- {pop3s} {USER}
  cargo run -q -p apopconn -- {pop3s} {USER}{apop}
  cargo run -q -p mailbox -- {pop3s} {USER}
  cargo run -q -p download_and_delete -- {pop3s} {USER}
{stls_run}{external}
The certificate is also valid for mail.example.com: with the line
`127.0.0.1 mail.example.com` in /etc/hosts, the book's own host name works too.

Press Ctrl-C to stop.
",
        server = p.server,
        pop3s_port = p.pop3s_port,
        pop3_port = p.pop3_port,
    )
}
