//! The latency the bench adds: a relay that delays each direction and counts round trips.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A TCP relay to a local port that delays every chunk by `one_way` in each direction and
/// counts the round trips the client waited for: one ended each time the client sends after
/// the server has spoken, unless the client also sent less than `one_way` before (then it
/// is still sending what it had ready, as a pipelining client does while answers arrive).
pub(super) struct LatencyProxy {
    pub(super) port: u16,
    turns: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl LatencyProxy {
    pub(super) fn start(target: u16, one_way: Duration) -> anyhow::Result<Self> {
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

    pub(super) fn round_trips(&self) -> u64 {
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
