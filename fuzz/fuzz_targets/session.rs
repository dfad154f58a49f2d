//! A whole session against a server that sends anything: status lines, multi-line data with
//! dot-stuffing, listings, split at any point, with commands sent ahead (pipelining) or not.
//! Errors are fine; panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_core::scripted::ScriptedStream;
use pop3_core::{Ahead, Client, Mechanism};

fuzz_target!(|data: &[u8]| {
    let Some((&first, server)) = data.split_first() else { return };
    let stream = ScriptedStream::new(server).in_chunks_of(usize::from(first % 16) + 1);
    let Ok(mut client) = Client::new(stream) else { return };
    let _ = client.capa();
    client.set_pipelining(first & 0x10 != 0);
    let _ = client.login("brandon", "abc123");
    let _ = client.send_ahead(Ahead::List);
    let _ = client.send_ahead(Ahead::Stat);
    let _ = client.send_ahead(Ahead::Top { number: 2, lines: 0 });
    let _ = client.send_ahead(Ahead::Retr(2));
    let _ = client.dele_later(3);
    let _ = client.stat();
    let _ = client.list();
    let _ = client.uidl();
    let _ = client.list_one(1);
    let _ = client.top(1, 0);
    let _ = client.retr(2);
    let _ = client.top(2, 0);
    if let Ok(message) = client.retr(1) {
        // Un-stuffing only removes bytes.
        assert!(message.len() <= server.len());
    }
    let _ = client.apop("brandon", "abc123");
    let _ = client.authenticate(Mechanism::XOAuth2, "brandon", "token");
    let _ = client.authenticate(Mechanism::Plain, "brandon", &"long".repeat(80));
    let _ = client.dele(1);
    let _ = client.quit();
});
