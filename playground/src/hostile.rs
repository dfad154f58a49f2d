//! A scripted server that misbehaves on cue, for the failures no real server will produce:
//! each connection runs a script written against a [`Peer`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use rustls::ServerConfig;

use crate::certs::{self, CertFiles, CertSpec};
use crate::conn::{start_tls, tls, tls_config, Conn};

/// What a script does with one connection.
pub type Script = dyn Fn(&mut Peer) -> io::Result<()> + Send + Sync;

/// A running scripted server on 127.0.0.1; stops when dropped.
pub struct HostileServer {
    /// The port it listens on.
    pub port: u16,
    /// Its certificates; clients trust `certs.ca`.
    pub certs: CertFiles,
    received: Arc<Mutex<Vec<String>>>,
    dir: std::path::PathBuf,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HostileServer {
    /// Implicit TLS (like POP3S) with the playground's kind of certificate.
    pub fn tls(
        script: impl Fn(&mut Peer) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<Self> {
        Self::start(&CertSpec::default(), true, Arc::new(script))
    }

    /// Plain TCP (like port 110): the script may call [`Peer::start_tls`] after STLS.
    pub fn plain(
        script: impl Fn(&mut Peer) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<Self> {
        Self::start(&CertSpec::default(), false, Arc::new(script))
    }

    /// A server with a certificate made as `spec` says, TLS from the start or not.
    pub fn start(spec: &CertSpec, implicit_tls: bool, script: Arc<Script>) -> io::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pop3-hostile-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let certs = certs::generate(&dir, spec)?;
        let tls = tls_config(&certs)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let (received, stopping) = (received.clone(), stopping.clone());
            std::thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = tcp else { continue };
                    let (script, tls, received) = (script.clone(), tls.clone(), received.clone());
                    std::thread::spawn(move || {
                        let _ = Peer::serve(tcp, implicit_tls, tls, received, &*script);
                    });
                }
            })
        };
        Ok(HostileServer {
            port,
            certs,
            received,
            dir,
            stopping,
            thread: Some(thread),
        })
    }

    /// `localhost:PORT`.
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// The CA file that makes clients trust this server.
    pub fn ca(&self) -> &Path {
        &self.certs.ca
    }

    /// Every command line the server received so far, over all connections.
    pub fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A SASL message as text: decoded from base64, or as it is when it is not base64 (`*`).
pub fn sasl_text(message: &str) -> String {
    match BASE64.decode(message) {
        Ok(decoded) => String::from_utf8_lossy(&decoded).into_owned(),
        Err(_) => message.to_string(),
    }
}

/// How a server that knows only RFC 1939 answers CAPA.
const NO_CAPA: &str = "-ERR unknown command\r\n";

/// The server's side of one connection, as a script sees it. CAPA is answered for the
/// script (by default as a server without it would), so that scripts follow the session's
/// steps whether or not the client asks it first.
pub struct Peer {
    reader: BufReader<Conn>,
    tls: Arc<ServerConfig>,
    received: Arc<Mutex<Vec<String>>>,
    /// The answer CAPA gets, without the script seeing the command.
    capa: String,
}

impl Peer {
    fn serve(
        tcp: TcpStream,
        implicit_tls: bool,
        tls_config: Arc<ServerConfig>,
        received: Arc<Mutex<Vec<String>>>,
        script: &Script,
    ) -> io::Result<()> {
        // Scripts stall on purpose; this bounds how long a forgotten client can hold them.
        tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
        let conn = if implicit_tls {
            tls(tcp, &tls_config)?
        } else {
            Conn::Plain(tcp)
        };
        let mut peer = Peer {
            reader: BufReader::new(conn),
            tls: tls_config,
            received,
            capa: NO_CAPA.into(),
        };
        script(&mut peer)?;
        peer.reader.get_mut().flush()
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        let conn = self.reader.get_mut();
        conn.write_all(bytes.as_ref())?;
        conn.flush()
    }

    /// Makes CAPA list `capabilities` (lines separated by CRLF) from now on.
    pub fn offer(&mut self, capabilities: &str) {
        self.capa = format!("+OK\r\n{capabilities}\r\n.\r\n");
    }

    /// Reads one command line (without CRLF), answering CAPA on the way; `None` when the
    /// client closed. Every line is recorded, CAPA included.
    pub fn command(&mut self) -> io::Result<Option<String>> {
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(None);
            }
            let line = String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            self.received
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line.clone());
            if !line.eq_ignore_ascii_case("CAPA") {
                return Ok(Some(line));
            }
            let capa = self.capa.clone();
            self.send(capa)?;
        }
    }

    /// Reads a command and answers it with `reply` (a line, CRLF added).
    pub fn answer(&mut self, reply: &str) -> io::Result<()> {
        self.command()?;
        self.send(format!("{reply}\r\n"))
    }

    /// Sends a SASL challenge (`+ ` and `data` in base64) and reads the answer: decoded
    /// from base64, or as it came when it is not (`*`); `None` when the client closed.
    pub fn challenge(&mut self, data: &str) -> io::Result<Option<String>> {
        self.send(format!("+ {}\r\n", BASE64.encode(data)))?;
        Ok(self.command()?.map(|answer| sasl_text(&answer)))
    }

    /// Answers USER and PASS with `+OK`.
    pub fn accept_login(&mut self) -> io::Result<()> {
        self.answer("+OK")?;
        self.answer("+OK logged in")
    }

    /// Answers every further command with `+OK` until the client closes (for QUIT).
    pub fn answer_rest(&mut self) -> io::Result<()> {
        while self.command()?.is_some() {
            self.send("+OK\r\n")?;
        }
        Ok(())
    }

    /// Says nothing more and reads whatever comes until the client gives up and closes.
    pub fn stall(&mut self) -> io::Result<()> {
        let mut sink = [0u8; 4096];
        while self.reader.read(&mut sink)? > 0 {}
        Ok(())
    }

    /// After answering STLS: the TLS handshake, on a new reader, so anything the client sent
    /// before it is dropped.
    pub fn start_tls(&mut self) -> io::Result<()> {
        start_tls(&mut self.reader, &self.tls)
    }
}
