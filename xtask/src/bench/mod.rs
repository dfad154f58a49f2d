//! `cargo xtask bench`: whole processes side by side against the playground's Dovecot (ours,
//! the book's scripts with Python's poplib, curl, and a floor client that pipelines the same
//! commands and discards the replies), with and without 50 ms of round-trip latency.
//!
//! This module runs the task and writes the report; `scenarios` says what is timed,
//! `measure` how, and `proxy` adds the latency. `spawn` and `floor` are the tasks
//! `bench-spawn` (starts one contender and measures it) and `bench-floor` (the floor
//! contender), each run as a process of its own.

pub mod floor;
mod measure;
mod proxy;
mod scenarios;
pub mod spawn;

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure};
use lexopt::prelude::*;
use playground::dovecot;

use crate::{cargo, workspace_root};
use measure::measure;
use scenarios::scenarios;

pub fn run(mut args: lexopt::Parser) -> anyhow::Result<()> {
    let (mut rounds, mut only) = (5, None);
    while let Some(arg) = args.next()? {
        match arg {
            Long("rounds") => rounds = crate::parsed_value(&mut args, "--rounds")?,
            Long("only") => only = Some(args.value()?.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
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
            if only.as_deref().is_some_and(|o| !scenario.name.contains(o)) {
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
