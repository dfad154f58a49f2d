//! `cargo xtask bench`: whole processes side by side against the playground's Dovecot (ours,
//! the book's scripts with Python's poplib, curl, and a floor client that pipelines the same
//! commands and discards the replies), with and without 50 ms of round-trip latency.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use playground::{dovecot, Options, Playground, ServerKind, PASSWORD, USER};

use crate::{cargo, workspace_root};

/// One process to time: a program, its arguments (`{host}` stands for host:port) and input.
struct Contender {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    input: String,
}

/// What one run of one contender measured; in a scenario's figures, each field is the
/// median over the rounds.
#[derive(Clone, Copy, Default)]
struct Run {
    wall: Duration,
    /// User and system time: what the client itself costs, whatever the server does.
    cpu: Duration,
    peak_rss_kib: u64,
    round_trips: u64,
}

struct Scenario {
    name: String,
    messages: Box<dyn Fn() -> Vec<Vec<u8>>>,
    /// Octets transferred by the RETR, for throughput.
    retr_octets: Option<u64>,
    /// Whether a run changes the mailbox (so it is restored before each round).
    deletes: bool,
    contenders: Vec<Contender>,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = crate::options(args, &["--rounds", "--only"])?;
    let rounds: usize = options.get("--rounds").map_or(Ok(5), |r| r.parse())?;
    let only = options.get("--only").copied();
    if !dovecot::installed() {
        bail!("cargo xtask bench needs Dovecot: apt-get install dovecot-core dovecot-pop3d");
    }
    // Two builds: naming an example builds that target alone.
    let mut build = cargo(["build", "--release", "--quiet", "-p", "xtask"]);
    for tool in crate::TOOLS {
        build.args(["-p", tool]);
    }
    ensure!(build.status()?.success(), "the release build failed");
    let mut example = cargo([
        "build",
        "--release",
        "--quiet",
        "-p",
        "pop3-core",
        "--example",
        "retr",
    ]);
    ensure!(
        example.status()?.success(),
        "building the retr example failed"
    );

    let mut report = String::new();
    for latency in [Duration::ZERO, Duration::from_millis(25)] {
        let title = match latency.is_zero() {
            true => "Loopback, no added latency".to_string(),
            false => format!("Through a proxy adding {} ms each way", latency.as_millis()),
        };
        let mut table = format!("\n## {title}\n\n| scenario | client | wall (ms) | vs ours | CPU (ms) | peak RSS (MB) | MB/s | round trips |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
        for scenario in scenarios()? {
            if only.is_some_and(|o| !scenario.name.contains(o)) {
                continue;
            }
            let rounds = if latency.is_zero() {
                rounds
            } else {
                rounds.min(3)
            };
            let figures = measure(&scenario, latency, rounds)?;
            let ours = figures[0].wall.as_secs_f64();
            for (contender, f) in scenario.contenders.iter().zip(&figures) {
                let wall = f.wall.as_secs_f64();
                let throughput = scenario
                    .retr_octets
                    .map(|octets| format!("{:.0}", octets as f64 / 1e6 / wall))
                    .unwrap_or_default();
                let rtt = match latency.is_zero() {
                    true => String::new(),
                    false => f.round_trips.to_string(),
                };
                let _ = writeln!(
                    table,
                    "| {} | {} | {:.1} | {:.2} | {:.1} | {:.1} | {throughput} | {rtt} |",
                    scenario.name,
                    contender.name,
                    wall * 1e3,
                    wall / ours,
                    f.cpu.as_secs_f64() * 1e3,
                    f.peak_rss_kib as f64 / 1024.0,
                );
            }
            print!("{table}");
            report += &table;
            table.clear();
        }
    }
    let path = workspace_root().join("target/bench-report.md");
    let header = format!(
        "# Benchmark report\n\nMedians of {rounds} rounds ({} through the proxy), Dovecot {}, one machine, one run.\n\"vs ours\" is the wall time divided by ours; CPU is the client's own user and system time; the floor pipelines the same commands and discards the replies.\n",
        rounds.min(3),
        command_version("dovecot", "--version"),
    );
    std::fs::write(&path, header + &report)?;
    println!("\nreport: {}", path.display());
    Ok(())
}

fn command_version(program: &str, flag: &str) -> String {
    crate::command_output(Command::new(program).arg(flag)).unwrap_or_else(|_| "?".into())
}

/// The scenarios, each with its mailbox and its contenders (ours first).
fn scenarios() -> anyhow::Result<Vec<Scenario>> {
    let root = workspace_root();
    let release = root.join("target/release");
    let python = |script: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            root.join("bench").join(script).display().to_string(),
            "{host}".into(),
            USER.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let password = format!("{PASSWORD}\n");
    let ours = |tool: &str| Contender {
        name: "ours",
        program: release.join(tool),
        args: vec!["{host}".into(), USER.into()],
        input: password.clone(),
    };
    let py = |script: &str, extra: &[&str]| Contender {
        name: "python poplib",
        program: "python3".into(),
        args: python(script, extra),
        input: password.clone(),
    };
    let curl = |request: Option<&str>, path: &str| {
        let mut args: Vec<String> = ["-s", "-o", "/dev/null", "--cacert", "{ca}", "-u"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(format!("{USER}:{PASSWORD}"));
        if let Some(request) = request {
            // -I: a one-line answer; without it curl waits for a multi-line one.
            args.extend(["-I".to_string(), "-X".to_string(), request.to_string()]);
        }
        args.push(format!("pop3s://{{host}}/{path}"));
        Contender {
            name: "curl",
            program: "curl".into(),
            args,
            input: String::new(),
        }
    };
    let floor = |commands: Vec<String>| {
        let mut args = vec!["bench-floor".to_string(), "{host}".into(), "{ca}".into()];
        args.extend(commands);
        Contender {
            name: "floor",
            program: release.join("xtask"),
            args,
            input: String::new(),
        }
    };
    let login = |rest: &[String]| {
        let mut commands = vec![format!("USER {USER}"), format!("PASS {PASSWORD}")];
        commands.extend_from_slice(rest);
        commands.push("QUIT".into());
        commands
    };
    // Mailboxes are made when a scenario runs, and dropped once written: the driver stays small.
    fn small(count: usize) -> Box<dyn Fn() -> Vec<Vec<u8>>> {
        Box::new(move || {
            (1..=count)
                .map(|i| {
                    format!(
                        "From: bench@example.com\nSubject: message {i}\n\nBody of message {i}.\n"
                    )
                    .into_bytes()
                })
                .collect()
        })
    }
    fn big(megabytes: usize) -> Vec<u8> {
        let line = format!("{}\n", "x".repeat(75));
        let mut message = b"From: bench@example.com\nSubject: big\n\n".to_vec();
        while message.len() < megabytes * 1_000_000 {
            message.extend_from_slice(line.as_bytes());
        }
        message
    }
    let sample = Box::new(|| {
        playground::mailbox::SAMPLE_MESSAGES
            .iter()
            .map(|m| m.to_vec())
            .collect()
    });

    let mut list = vec![Scenario {
        name: "popconn (6 messages)".into(),
        messages: sample,
        retr_octets: None,
        deletes: false,
        contenders: vec![
            ours("popconn"),
            py("popconn.py", &[]),
            curl(Some("STAT"), ""),
            floor(login(&["STAT".into()])),
        ],
    }];
    for count in [1_000, 10_000, 100_000] {
        list.push(Scenario {
            name: format!("mailbox ({count} messages)"),
            messages: small(count),
            retr_octets: None,
            deletes: false,
            contenders: vec![
                ours("mailbox"),
                py("mailbox.py", &[]),
                curl(None, ""),
                floor(login(&["LIST".into()])),
            ],
        });
    }
    for megabytes in [20, 100] {
        let octets = playground::mailbox::wire_size(&big(megabytes));
        let retr = Contender {
            name: "ours",
            program: release.join("examples/retr"),
            args: vec!["{host}".into(), USER.into(), "1".into()],
            input: password.clone(),
        };
        list.push(Scenario {
            name: format!("RETR {megabytes} MB"),
            messages: Box::new(move || vec![big(megabytes)]),
            retr_octets: Some(octets),
            deletes: false,
            contenders: vec![
                retr,
                py("retr.py", &["1"]),
                curl(None, "1"),
                floor(login(&["RETR 1".into()])),
            ],
        });
    }
    let answers = format!("{PASSWORD}\n{}", "y\n".repeat(200));
    let every_message: Vec<String> = (1..=100)
        .flat_map(|i| {
            [
                format!("TOP {i} 0"),
                format!("RETR {i}"),
                format!("DELE {i}"),
            ]
        })
        .collect();
    let mut commands = vec!["LIST".to_string()];
    commands.extend(every_message);
    list.push(Scenario {
        name: "download_and_delete (100 messages, all yes)".into(),
        messages: small(100),
        retr_octets: None,
        deletes: true,
        contenders: vec![
            Contender {
                input: answers.clone(),
                ..ours("download_and_delete")
            },
            Contender {
                input: answers,
                ..py("download_and_delete.py", &[])
            },
            floor(login(&commands)),
        ],
    });
    Ok(list)
}

/// Runs every contender `rounds` times (interleaved) and returns the medians.
fn measure(scenario: &Scenario, latency: Duration, rounds: usize) -> anyhow::Result<Vec<Run>> {
    let dir = std::env::temp_dir().join(format!("pop3-bench-{}", std::process::id()));
    let start = || {
        Playground::start(Options {
            dir: dir.clone(),
            messages: (scenario.messages)(),
            ..Options::temporary(ServerKind::Dovecot)
        })
    };
    let mut playground = start()?;
    let mut samples: Vec<Vec<Run>> = vec![Vec::new(); scenario.contenders.len()];
    // A first session makes Dovecot index the Maildir; it is not counted.
    run_once(
        &scenario.contenders[scenario.contenders.len() - 1],
        &playground,
        None,
    )?;
    for _ in 0..rounds {
        for (i, contender) in scenario.contenders.iter().enumerate() {
            if scenario.deletes {
                drop(playground);
                playground = start()?;
            }
            let proxy = match latency.is_zero() {
                true => None,
                false => Some(LatencyProxy::start(playground.pop3s_port, latency)?),
            };
            let mut run = run_once(contender, &playground, proxy.as_ref())?;
            run.round_trips = proxy.map_or(0, |p| p.round_trips());
            samples[i].push(run);
        }
    }
    Ok(samples.iter().map(|runs| medians(runs)).collect())
}

/// Each field's median over `runs`.
fn medians(runs: &[Run]) -> Run {
    fn median<T: Ord + Copy>(runs: &[Run], field: impl Fn(&Run) -> T) -> T {
        let mut values: Vec<T> = runs.iter().map(field).collect();
        values.sort();
        values[values.len() / 2]
    }
    Run {
        wall: median(runs, |r| r.wall),
        cpu: median(runs, |r| r.cpu),
        peak_rss_kib: median(runs, |r| r.peak_rss_kib),
        round_trips: median(runs, |r| r.round_trips),
    }
}

/// One run of one contender, started by a small process of our own (`xtask bench-spawn`),
/// so that the peak RSS that wait4 reports is the contender's and not this driver's (a child
/// counts the RSS of the process it was forked from).
fn run_once(
    contender: &Contender,
    playground: &Playground,
    proxy: Option<&LatencyProxy>,
) -> anyhow::Result<Run> {
    let port = proxy.map_or(playground.pop3s_port, |p| p.port);
    let host = format!("localhost:{port}");
    let ca = playground.certs.ca.display().to_string();
    let args: Vec<String> = contender
        .args
        .iter()
        .map(|a| a.replace("{host}", &host).replace("{ca}", &ca))
        .collect();
    let mut spawner = Command::new(workspace_root().join("target/release/xtask"))
        .arg("bench-spawn")
        .arg(&contender.program)
        .args(&args)
        .env("POP3_CA_FILE", &playground.certs.ca)
        .env_remove("POP3_TRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting xtask bench-spawn")?;
    let mut stdin = spawner.stdin.take().context("stdin")?;
    let input = contender.input.clone();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let output = spawner.wait_with_output()?;
    let _ = feeder.join();
    let report = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<u64> = report
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [status, wall_ns, peak_rss_kib, cpu_us] = fields[..] else {
        bail!("bench-spawn said {report:?}");
    };
    ensure!(
        status == 0,
        "{} {args:?} exited with {status}",
        contender.program.display()
    );
    Ok(Run {
        wall: Duration::from_nanos(wall_ns),
        cpu: Duration::from_micros(cpu_us),
        peak_rss_kib,
        round_trips: 0,
    })
}

/// `xtask bench-spawn PROGRAM ARGS...`: runs the program (standard input passed on, output
/// discarded) and prints `EXIT WALL_NS PEAK_RSS_KIB CPU_US`; should it fail, what it said on
/// stderr goes to stderr.
pub fn spawn(args: &[String]) -> anyhow::Result<()> {
    let [program, args @ ..] = args else {
        bail!("usage: xtask bench-spawn PROGRAM ARGS...");
    };
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (status, usage) = wait_with_rusage(child.id())?;
    let cpu_us = [usage.ru_utime, usage.ru_stime]
        .iter()
        .map(|t| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64)
        .sum::<u64>();
    println!(
        "{status} {} {} {cpu_us}",
        started.elapsed().as_nanos(),
        usage.ru_maxrss
    );
    if status != 0 {
        eprint!("{}", said.join().unwrap_or_default());
    }
    Ok(())
}

/// Waits for a child and returns its exit status and resource usage (peak resident set in
/// KiB, user and system time).
fn wait_with_rusage(pid: u32) -> anyhow::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    ensure!(
        waited == pid as libc::pid_t,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, usage))
}

/// A TCP relay to a local port that delays every chunk by `one_way` in each direction and
/// counts the round trips the client waited for: one ended each time the client sends after
/// the server has spoken, unless the client also sent less than `one_way` before (then it
/// is still sending what it had ready, as a pipelining client does while answers arrive).
struct LatencyProxy {
    port: u16,
    turns: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl LatencyProxy {
    fn start(target: u16, one_way: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let turns = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (turns_for_relay, stop_for_relay) = (turns.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop_for_relay.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let server_spoke = Arc::new(AtomicBool::new(true));
                let mut client_sent: Option<Instant> = None;
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(client_out), Ok(server_out)) = (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                let (turns, spoke) = (turns_for_relay.clone(), server_spoke.clone());
                delayed_pipe(client, server_out, one_way, move || {
                    let now = Instant::now();
                    let paused = client_sent.is_none_or(|sent| now - sent >= one_way);
                    if spoke.swap(false, Ordering::SeqCst) && paused {
                        turns.fetch_add(1, Ordering::SeqCst);
                    }
                    client_sent = Some(now);
                });
                delayed_pipe(server, client_out, one_way, move || {
                    server_spoke.store(true, Ordering::SeqCst)
                });
            }
        });
        Ok(LatencyProxy { port, turns, stop })
    }

    fn round_trips(&self) -> u64 {
        self.turns.load(Ordering::SeqCst)
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies `from` to `to`, each chunk delivered `delay` after it arrived; `on_chunk` runs as
/// each chunk arrives.
fn delayed_pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Duration,
    mut on_chunk: impl FnMut() + Send + 'static,
) {
    let queue = Arc::new((
        Mutex::new(VecDeque::<(Instant, Vec<u8>)>::new()),
        Condvar::new(),
    ));
    let reader_queue = queue.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = from.read(&mut buf).unwrap_or(0);
            if n > 0 {
                on_chunk();
            }
            let (lock, ready) = &*reader_queue;
            lock.lock()
                .unwrap()
                .push_back((Instant::now() + delay, buf[..n].to_vec()));
            ready.notify_one();
            if n == 0 {
                return; // the empty chunk tells the writer to close
            }
        }
    });
    std::thread::spawn(move || loop {
        let (lock, ready) = &*queue;
        let mut pending = lock.lock().unwrap();
        while pending.is_empty() {
            pending = ready.wait(pending).unwrap();
        }
        let (due, chunk) = pending.pop_front().unwrap();
        drop(pending);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        if chunk.is_empty() || to.write_all(&chunk).is_err() {
            let _ = to.shutdown(std::net::Shutdown::Write);
            return;
        }
    });
}

/// The floor: `xtask bench-floor HOST:PORT CA COMMAND...` pipelines all the commands at
/// once over TLS and reads until the server closes, parsing nothing.
pub fn floor(args: &[String]) -> anyhow::Result<()> {
    let [address, ca, commands @ ..] = args else {
        bail!("usage: xtask bench-floor HOST:PORT CA COMMAND...");
    };
    let (host, port) = address.rsplit_once(':').context("HOST:PORT")?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(Path::new(ca))? {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name)?;
    let tcp = TcpStream::connect((host, port.parse::<u16>()?))?;
    tcp.set_nodelay(true)?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let mut request = String::new();
    for command in commands {
        request += command;
        request += "\r\n";
    }
    tls.write_all(request.as_bytes())?;
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        match tls.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            // Servers may close without TLS close_notify after QUIT.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}
