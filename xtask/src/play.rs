//! `cargo xtask play h1 [-- COMMAND...]`: a shell, or one command, "on host h1" of the
//! book's network, as the book's `./play.sh h1` opens one.
//!
//! The command runs in private network, mount and UTS namespaces (inside a user namespace
//! when not root). There `mail.example.com` is 127.0.0.2, listening on ports 110 and 995,
//! the playground's CA is the trust store (`SSL_CERT_FILE`), and the four tools are on
//! `PATH`. This process keeps the listeners (made inside, handed out over a socket pair)
//! and relays their connections to the playground's server: the running
//! `cargo xtask playground`, or a fresh one for the duration.

use std::ffi::{CString, OsString};
use std::io::{self, IoSliceMut};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use lexopt::prelude::*;
use playground::{Options, Playground, ServerKind};

use crate::playground::Running;

/// The book's mail server as the hosts of its network know it.
pub const MAIL_HOST: &str = "mail.example.com";
/// Its address inside the namespace (all of 127/8 is the loopback interface).
const MAIL_ADDRESS: [u8; 4] = [127, 0, 0, 2];

pub fn run(mut args: lexopt::Parser) -> anyhow::Result<ExitCode> {
    const USAGE: &str = "usage: cargo xtask play HOST [-- COMMAND ARGS...]";
    let name = match args.next()? {
        Some(Value(name)) => name.into_string().ok().filter(|name| is_host_name(name)),
        _ => None,
    };
    let Some(name) = name else {
        bail!("{USAGE} (the book's first host is h1)");
    };
    // After HOST, only `-- COMMAND ARGS...`: the command's words are its own, --help too.
    let rest: Vec<OsString> = args.raw_args()?.collect();
    let words = match rest.as_slice() {
        [] => None,
        [dashes, words @ ..] if dashes == "--" && !words.is_empty() => Some(words),
        _ => bail!(USAGE),
    };
    crate::build_tools()?;
    // Before any server starts: where namespaces are refused, that one line is all.
    probe()?;
    let what = if words.is_some() { "command" } else { "shell" };
    let (server, _fresh) = match crate::playground::running()? {
        Some(running) => {
            // A command's output stays the command's own; a shell says where it is.
            if words.is_none() {
                let apop = match running.apop {
                    true => "; it offers APOP, unlike the book's server (start it with --no-apop)",
                    false => "",
                };
                eprintln!(
                    "play: {MAIL_HOST} is the running {} playground{apop}",
                    running.server
                );
            }
            (running, None)
        }
        None => {
            let kind = ServerKind::best_available();
            let fresh = Playground::start(Options {
                apop: false,
                ..Options::temporary(kind)
            })
            .with_context(|| format!("starting a {kind} server"))?;
            eprintln!("play: no playground is running: a fresh {kind} server (no APOP, as the book's) is {MAIL_HOST} until this {what} ends");
            (Running::of(&fresh), Some(fresh))
        }
    };
    let host = Host::new(&name, server)?;
    let mut command = match words {
        Some(words) => {
            let mut command = Command::new(&words[0]);
            command.args(&words[1..]);
            command
        }
        None => host.shell()?,
    };
    let relay = host.enter(&mut command)?;
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            if let Some(step) = relay.refused() {
                return Err(refusal(&step, e));
            }
            // As a shell says it: 127 for a command not found, 126 for one that cannot run.
            let program = words.map_or("a shell".into(), |words| words[0].to_string_lossy());
            eprintln!("xtask: cannot run {program}: {e}");
            let code = if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return Ok(ExitCode::from(code));
        }
    };
    let signals = Signals::while_running(&child);
    let status = child.wait()?;
    drop(signals);
    drop(relay);
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(code as u8),
        (None, Some(signal)) => ExitCode::from(128 + signal as u8),
        (None, None) => ExitCode::FAILURE,
    })
}

/// Whether commands can be run on a host here: one clear error if not.
pub fn probe() -> anyhow::Result<()> {
    let nowhere = Running {
        server: "none".into(),
        pop3_port: 0,
        pop3s_port: 0,
        ca: PathBuf::new(),
        apop: false,
    };
    let host = Host::new("h1", nowhere)?;
    let mut command = Command::new("true");
    let relay = host.enter(&mut command)?;
    let status = match command.status() {
        Ok(status) => status,
        Err(e) => match relay.refused() {
            Some(step) => return Err(refusal(&step, e)),
            None => return Err(e).context("running true on h1"),
        },
    };
    anyhow::ensure!(status.success(), "`true` failed on h1: {status}");
    Ok(())
}

/// A name as play.sh takes: a short host name such as h1.
fn is_host_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
}

/// One host of the book's network: its name, its /etc/hosts and the tools it has.
pub struct Host {
    name: String,
    server: Running,
    /// Holds `hosts` and `bin/` (links to the four tools); removed on drop.
    dir: PathBuf,
}

impl Host {
    pub fn new(name: &str, server: Running) -> anyhow::Result<Self> {
        let dir = private_dir(name)?;
        let bin = dir.join("bin");
        std::fs::create_dir(&bin)?;
        let [a, b, c, d] = MAIL_ADDRESS;
        std::fs::write(
            dir.join("hosts"),
            format!("127.0.0.1 localhost\n127.0.1.1 {name}\n{a}.{b}.{c}.{d} {MAIL_HOST} mail\n"),
        )?;
        for tool in crate::TOOLS {
            std::os::unix::fs::symlink(crate::tool_path(tool)?, bin.join(tool))?;
        }
        Ok(Host {
            name: name.to_string(),
            server,
            dir,
        })
    }

    /// An interactive shell whose prompt names the host (bash, after the user's ~/.bashrc).
    fn shell(&self) -> anyhow::Result<Command> {
        let prompt = format!("\\u@{}:\\w\\$ ", self.name);
        if !std::path::Path::new("/bin/bash").exists() {
            let mut sh = Command::new("/bin/sh");
            sh.arg("-i").env("PS1", format!("{}$ ", self.name));
            return Ok(sh);
        }
        let rc = self.dir.join("bashrc");
        std::fs::write(
            &rc,
            format!(
                "[ -f ~/.bashrc ] && . ~/.bashrc\nPATH={}:$PATH\nPS1='{prompt}'\n",
                self.dir.join("bin").display()
            ),
        )?;
        let mut bash = Command::new("/bin/bash");
        bash.arg("--rcfile").arg(rc).arg("-i");
        Ok(bash)
    }

    /// Sets `command` to run on this host: in fresh namespaces, with the tools on PATH and
    /// the playground's CA trusted. The returned relay serves mail.example.com to it.
    pub fn enter(&self, command: &mut Command) -> anyhow::Result<Relay> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.dir.join("bin")];
        paths.extend(std::env::split_paths(&path));
        command
            .env("PATH", std::env::join_paths(paths)?)
            .env("SSL_CERT_FILE", &self.server.ca)
            .env_remove("POP3_CA_FILE")
            .env_remove("SSL_CERT_DIR");
        let (ours, theirs) = UnixStream::pair()?;
        let setup = Setup::new(&self.name, &self.dir.join("hosts"), theirs.into())?;
        // SAFETY: Setup::enter makes only system calls on memory prepared before the fork.
        unsafe { command.pre_exec(move || setup.enter()) };
        Ok(Relay::start(ours, &self.server))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new folder in the temporary folder, made by this process alone: a name someone else
/// made first is skipped, not trusted (its files could be links to elsewhere).
fn private_dir(name: &str) -> anyhow::Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let dir = std::env::temp_dir().join(format!(
            "pop3-play-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
}

/// What the child does between fork and exec to stand on the host; everything it needs is
/// made beforehand, as allocating after a fork is not safe.
struct Setup {
    root: bool,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    hosts: CString,
    name: Vec<u8>,
    /// Where the listeners go (to the relay), or the step that failed.
    parent: OwnedFd,
}

impl Setup {
    fn new(name: &str, hosts: &std::path::Path, parent: OwnedFd) -> anyhow::Result<Self> {
        // SAFETY: geteuid and getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Ok(Setup {
            root: playground::running_as_root(),
            uid_map: format!("0 {uid} 1\n").into_bytes(),
            gid_map: format!("0 {gid} 1\n").into_bytes(),
            hosts: CString::new(hosts.as_os_str().as_encoded_bytes())?,
            name: name.as_bytes().to_vec(),
            parent,
        })
    }

    /// Each step in order; a refused one is told to the relay by name, and its error ends
    /// the spawn.
    fn enter(&self) -> io::Result<()> {
        let step = |name: &'static str, ok: bool| -> io::Result<()> {
            if ok {
                return Ok(());
            }
            let error = io::Error::last_os_error();
            // SAFETY: writes a static string to a descriptor we own.
            unsafe { libc::write(self.parent.as_raw_fd(), name.as_ptr().cast(), name.len()) };
            Err(error)
        };
        // SAFETY (this block): system calls on this process's own state, with pointers to
        // live, NUL-terminated or correctly sized buffers.
        unsafe {
            let user = if self.root { 0 } else { libc::CLONE_NEWUSER };
            let flags = user | libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWUTS;
            step("unshare", libc::unshare(flags) == 0)?;
            if !self.root {
                step("setgroups", write_file(c"/proc/self/setgroups", b"deny"))?;
                step("uid_map", write_file(c"/proc/self/uid_map", &self.uid_map))?;
                step("gid_map", write_file(c"/proc/self/gid_map", &self.gid_map))?;
            }
            // Private mounts first, or the bind mount would show through to the host.
            let none = std::ptr::null();
            let private = libc::MS_REC | libc::MS_PRIVATE;
            step(
                "mount",
                libc::mount(none, c"/".as_ptr(), none, private, none.cast()) == 0,
            )?;
            let hosts = c"/etc/hosts".as_ptr();
            let bind = libc::mount(self.hosts.as_ptr(), hosts, none, libc::MS_BIND, none.cast());
            step("mount /etc/hosts", bind == 0)?;
            let named = libc::sethostname(self.name.as_ptr().cast(), self.name.len());
            step("sethostname", named == 0)?;
            step("loopback", loopback_up())?;
            let pop3 = listen(110);
            step("listen 110", pop3 >= 0)?;
            let pop3s = listen(995);
            step("listen 995", pop3s >= 0)?;
            step("send", send_fds(self.parent.as_raw_fd(), &[pop3, pop3s]))?;
            libc::close(pop3);
            libc::close(pop3s);
        }
        Ok(())
    }
}

/// Writes `data` to the file at `path` in one write (as /proc's id maps require).
unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> bool {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return false;
    }
    let written = libc::write(fd, data.as_ptr().cast(), data.len());
    libc::close(fd);
    written == data.len() as isize
}

/// Brings up `lo`, which a new network namespace starts with down.
unsafe fn loopback_up() -> bool {
    let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if fd < 0 {
        return false;
    }
    let mut request: libc::ifreq = std::mem::zeroed();
    request.ifr_name[..2].copy_from_slice(&[b'l' as libc::c_char, b'o' as libc::c_char]);
    let mut ok = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request) == 0;
    if ok {
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        ok = libc::ioctl(fd, libc::SIOCSIFFLAGS, &request) == 0;
    }
    libc::close(fd);
    ok
}

/// A listening TCP socket on the mail server's address and `port`, or -1.
unsafe fn listen(port: u16) -> RawFd {
    let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
    if fd < 0 {
        return -1;
    }
    let mut address: libc::sockaddr_in = std::mem::zeroed();
    address.sin_family = libc::AF_INET as libc::sa_family_t;
    address.sin_port = port.to_be();
    address.sin_addr.s_addr = u32::from_ne_bytes(MAIL_ADDRESS);
    let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let bound = libc::bind(fd, (&raw const address).cast(), size) == 0;
    if !bound || libc::listen(fd, 128) != 0 {
        libc::close(fd);
        return -1;
    }
    fd
}

/// Room for the control message carrying two descriptors (aligned as cmsghdr wants).
type FdsBuffer = [u64; 8];

/// Sends `fds` over the Unix socket `socket`, with the word "ok".
unsafe fn send_fds(socket: RawFd, fds: &[RawFd; 2]) -> bool {
    let mut buffer: FdsBuffer = [0; 8];
    let mut word = *b"ok";
    let mut iov = libc::iovec {
        iov_base: word.as_mut_ptr().cast(),
        iov_len: word.len(),
    };
    let mut message: libc::msghdr = std::mem::zeroed();
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = buffer.as_mut_ptr().cast();
    message.msg_controllen = libc::CMSG_SPACE(std::mem::size_of_val(fds) as u32) as usize;
    let header = libc::CMSG_FIRSTHDR(&message);
    (*header).cmsg_level = libc::SOL_SOCKET;
    (*header).cmsg_type = libc::SCM_RIGHTS;
    (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of_val(fds) as u32) as usize;
    std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(header).cast(), 2);
    libc::sendmsg(socket, &message, 0) == word.len() as isize
}

/// The two listeners sent by [`send_fds`], or the name of the step that failed instead.
fn receive_fds(socket: &UnixStream) -> Result<[TcpListener; 2], String> {
    let mut buffer: FdsBuffer = [0; 8];
    let mut word = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut word)];
    // SAFETY: msghdr points at live buffers of the sizes given; the descriptors read are
    // new ones the kernel made for this process.
    unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = iov.as_mut_ptr().cast();
        message.msg_iovlen = 1;
        message.msg_control = buffer.as_mut_ptr().cast();
        message.msg_controllen = std::mem::size_of::<FdsBuffer>();
        let read = libc::recvmsg(socket.as_raw_fd(), &mut message, libc::MSG_CMSG_CLOEXEC);
        if read <= 0 {
            return Err("the namespaces' set-up".into());
        }
        let header = libc::CMSG_FIRSTHDR(&message);
        if header.is_null() || (*header).cmsg_type != libc::SCM_RIGHTS {
            return Err(String::from_utf8_lossy(&word[..read as usize]).into_owned());
        }
        let mut fds = [0 as RawFd; 2];
        std::ptr::copy_nonoverlapping(libc::CMSG_DATA(header).cast(), fds.as_mut_ptr(), 2);
        Ok(fds.map(|fd| TcpListener::from_raw_fd(fd)))
    }
}

/// Serves the host's mail.example.com: each connection to a listener inside the namespace
/// is joined to the playground's port; stops accepting when dropped.
pub struct Relay {
    /// Whether the namespaces were made, or which step was refused.
    outcome: mpsc::Receiver<Result<(), String>>,
    /// The listeners (clones: shutting one down wakes its accept loop).
    listeners: Arc<Mutex<Vec<TcpListener>>>,
    stopped: Arc<AtomicBool>,
}

impl Relay {
    fn start(socket: UnixStream, server: &Running) -> Self {
        let (told, outcome) = mpsc::channel();
        let listeners = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(AtomicBool::new(false));
        let (kept, stop) = (listeners.clone(), stopped.clone());
        let ports = [server.pop3_port, server.pop3s_port];
        std::thread::spawn(move || {
            let received = receive_fds(&socket);
            let outcome = received.as_ref().map(|_| ()).map_err(Clone::clone);
            for (listener, port) in received.into_iter().flatten().zip(ports) {
                if let Ok(clone) = listener.try_clone() {
                    kept.lock().unwrap().push(clone);
                }
                let stop = stop.clone();
                std::thread::spawn(move || loop {
                    match listener.accept() {
                        Ok((inside, _)) => {
                            std::thread::spawn(move || join(inside, port));
                        }
                        Err(_) if stop.load(Ordering::Relaxed) => break,
                        // Out of descriptors, say: the port stays, for the next connection.
                        Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    }
                });
            }
            let _ = told.send(outcome);
        });
        Relay {
            outcome,
            listeners,
            stopped,
        }
    }

    /// The step the child was refused, if the namespaces could not be made (waits for the
    /// child's word).
    fn refused(&self) -> Option<String> {
        match self.outcome.recv_timeout(Duration::from_secs(5)) {
            Ok(Err(step)) => Some(step),
            _ => None,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // The listeners are kept before the child's word is passed on: once it is in (or
        // the relay thread has ended), every one of them is in the list.
        let _ = self.outcome.recv_timeout(Duration::from_secs(1));
        self.stopped.store(true, Ordering::Relaxed);
        for listener in self.listeners.lock().unwrap().iter() {
            // SAFETY: shuts down a socket this clone owns, which wakes its accept loop.
            unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
        }
    }
}

/// The one line for namespaces that could not be made: `step` failed with `error`.
fn refusal(step: &str, error: io::Error) -> anyhow::Error {
    let advice = "run `cargo xtask playground` instead and use the localhost ports it prints";
    if step != "unshare" {
        return anyhow::anyhow!(
            "cannot make the book's network: {step} was refused in the new namespaces ({error}); {advice}"
        );
    }
    let why = if playground::running_as_root() {
        "root here lacks CAP_SYS_ADMIN (a container?)"
    } else {
        "user namespaces are disabled here (sysctl user.max_user_namespaces, \
         kernel.unprivileged_userns_clone or kernel.apparmor_restrict_unprivileged_userns)"
    };
    anyhow::anyhow!(
        "cannot make the book's network: unshare was refused ({error}): {why}; {advice}"
    )
}

/// Copies both ways between a connection to mail.example.com and the playground's `port`.
fn join(inside: TcpStream, port: u16) {
    let outside = match TcpStream::connect(("127.0.0.1", port)) {
        Ok(outside) => outside,
        Err(e) => {
            eprintln!("play: {MAIL_HOST}: the playground on port {port} does not answer ({e}); if it was stopped, leave this shell and open another");
            return;
        }
    };
    let (Ok(mut inside_read), Ok(mut outside_write)) = (inside.try_clone(), outside.try_clone())
    else {
        return;
    };
    let upstream = std::thread::spawn(move || {
        let _ = io::copy(&mut inside_read, &mut outside_write);
        let _ = outside_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut outside, mut inside) = (outside, inside);
    let _ = io::copy(&mut outside, &mut inside);
    let _ = inside.shutdown(std::net::Shutdown::Write);
    let _ = upstream.join();
}

/// The command's process, for [`pass_on`].
static COMMAND: AtomicI32 = AtomicI32::new(0);

/// Passes a signal on to the command (async-signal-safe: one atomic load, one kill).
extern "C" fn pass_on(signal: libc::c_int) {
    let pid = COMMAND.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, signal) };
    }
}

/// While the command runs: SIGINT and SIGQUIT are ignored (the terminal sends them to the
/// command as well, which decides), and SIGTERM and SIGHUP (a closed terminal) are passed
/// on to it, so that play outlives it and stops its server and removes its files.
struct Signals;

impl Signals {
    fn while_running(command: &std::process::Child) -> Self {
        COMMAND.store(command.id() as i32, Ordering::Relaxed);
        let handler = pass_on as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: sets dispositions; the handler only does async-signal-safe things.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGQUIT, libc::SIG_IGN);
            libc::signal(libc::SIGTERM, handler);
            libc::signal(libc::SIGHUP, handler);
        }
        Signals
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        // SAFETY: restores the default dispositions.
        unsafe {
            for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        COMMAND.store(0, Ordering::Relaxed);
    }
}
