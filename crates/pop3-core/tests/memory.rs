//! Memory stays bounded whatever the message size. A test binary of its own, so that no
//! other test's allocations share the process's peak.

use pop3_core::Client;

/// A server's side that greets, then, once asked, sends a status line, `size` bytes of
/// message data in lines of 1000 bytes and the terminator, made as it is read: nothing is
/// held in memory.
struct GeneratedMessage {
    sent: u64,
    size: u64,
    greeting: &'static [u8],
    head: &'static [u8],
    asked: bool,
}

impl std::io::Read for GeneratedMessage {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.asked {
            // The greeting alone: the answer comes when the command does.
            let n = self.greeting.len() - self.sent as usize;
            buf[..n].copy_from_slice(&self.greeting[self.sent as usize..]);
            self.sent += n as u64;
            return Ok(n);
        }
        let mut n = 0;
        while n < buf.len() {
            let pos = self.sent as usize - self.greeting.len();
            let byte = if pos < self.head.len() {
                self.head[pos]
            } else {
                let body = pos as u64 - self.head.len() as u64;
                match body {
                    b if b < self.size && b % 1000 == 998 => b'\r',
                    b if b < self.size && b % 1000 == 999 => b'\n',
                    b if b < self.size => b'x',
                    b if b == self.size => b'.',
                    b if b == self.size + 1 => b'\r',
                    b if b == self.size + 2 => b'\n',
                    _ => break,
                }
            };
            buf[n] = byte;
            n += 1;
            self.sent += 1;
        }
        Ok(n)
    }
}

impl std::io::Write for GeneratedMessage {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.asked = true;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_100_megabyte_message_streams_in_bounded_memory() {
    const SIZE: u64 = 100 * 1000 * 1000;
    let server = GeneratedMessage {
        sent: 0,
        size: SIZE,
        greeting: b"+OK ready\r\n",
        head: b"+OK 100000000 octets\r\n",
        asked: false,
    };
    let mut client = Client::new(server).unwrap();
    let before = peak_rss_kib();
    let octets = client.retr_to(1, &mut std::io::sink()).unwrap();
    let grown = peak_rss_kib() - before;
    assert_eq!(octets, SIZE);
    assert!(
        grown < 16 * 1024,
        "peak memory grew by {grown} KiB for a 100 MB message"
    );
}
