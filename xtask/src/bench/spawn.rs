//! `cargo xtask bench-spawn`: one contender's process, measured with wait4 (exit status,
//! wall time, peak RSS, CPU time); `measure::run_once` says why it is a process of its own.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use lexopt::prelude::*;

/// `xtask bench-spawn PROGRAM ARGS...`: runs the program (standard input passed on, output
/// discarded) and prints `EXIT WALL_NS PEAK_RSS_KIB CPU_US`; should it fail, what it said on
/// stderr goes to stderr.
pub fn run(mut args: lexopt::Parser) -> anyhow::Result<()> {
    let Some(Value(program)) = args.next()? else {
        bail!("usage: xtask bench-spawn PROGRAM ARGS...");
    };
    let started = Instant::now();
    let mut child = Command::new(&program)
        // The program's words are its own, options included.
        .args(args.raw_args()?)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", program.to_string_lossy()))?;
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
