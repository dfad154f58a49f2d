//! How a scenario is timed: every contender run in interleaved rounds, each run a process
//! of its own started through `xtask bench-spawn`, and the medians kept.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use playground::{Options, Playground, ServerKind};

use super::proxy::LatencyProxy;
use super::scenarios::{Contender, Scenario};
use crate::workspace_root;

/// What one run of one contender measured; in a scenario's figures, each field is the
/// median over the rounds.
#[derive(Clone, Copy)]
pub(super) struct Run {
    pub(super) wall: Duration,
    /// User and system time: what the client itself costs, whatever the server does.
    pub(super) cpu: Duration,
    pub(super) peak_rss_kib: u64,
    pub(super) round_trips: u64,
}

/// Runs every contender `rounds` times (interleaved) and returns the medians.
pub(super) fn measure(
    scenario: &Scenario,
    latency: Duration,
    rounds: usize,
) -> anyhow::Result<Vec<Run>> {
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
