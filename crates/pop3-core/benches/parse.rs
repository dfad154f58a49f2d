//! Micro-benchmarks of the response parsing, in bytes per second: status lines, LIST lines,
//! and multi-line message data with dot-unstuffing. `cargo bench -p pop3-core`.

use std::hint::black_box;
use std::io;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pop3_core::response::{parse_scan_listing, parse_stat};
use pop3_core::{scripted::ScriptedStream, Client};

const GREETING: &str = "+OK ready\r\n";

fn status_lines(c: &mut Criterion) {
    let mut group = c.benchmark_group("status line");
    let stat = "2 320";
    group.throughput(Throughput::Bytes(stat.len() as u64));
    group.bench_function("STAT", |b| b.iter(|| parse_stat(black_box(stat))));
    let listing = "1048576 4294967296";
    group.throughput(Throughput::Bytes(listing.len() as u64));
    group.bench_function("scan listing", |b| {
        b.iter(|| parse_scan_listing(black_box(listing)))
    });
    group.finish();
}

fn list_answer(c: &mut Criterion) {
    let mut lines = String::from("+OK\r\n");
    for n in 1..=10_000 {
        lines += &format!("{n} {}\r\n", 1000 + n);
    }
    lines += ".\r\n";
    let script = format!("{GREETING}{lines}");
    let mut group = c.benchmark_group("LIST");
    group.throughput(Throughput::Bytes(lines.len() as u64));
    group.bench_function("10,000 lines", |b| {
        b.iter_batched(
            || Client::new(ScriptedStream::new(&script)).unwrap(),
            |mut client| {
                for listing in client.list_iter().unwrap() {
                    black_box(listing.unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn message_data(c: &mut Criterion) {
    // 1 MB of 76-character lines, one in ten starting with a stuffed dot.
    let mut data = String::from("+OK\r\n");
    let mut n = 0;
    while data.len() < 1_000_000 {
        let stuffed = if n % 10 == 0 { "." } else { "" };
        data += &format!("{stuffed}{}\r\n", "x".repeat(74));
        n += 1;
    }
    data += ".\r\n";
    let script = format!("{GREETING}{data}");
    let mut group = c.benchmark_group("RETR");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("1 MB, dot-stuffed lines", |b| {
        b.iter_batched(
            || Client::new(ScriptedStream::new(&script)).unwrap(),
            |mut client| client.retr_to(1, &mut io::sink()).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, status_lines, list_answer, message_data);
criterion_main!(benches);
