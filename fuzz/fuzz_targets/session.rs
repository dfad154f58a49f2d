//! A whole session against a server that sends anything: status lines, multi-line data with
//! dot-stuffing, listings, split at any point, with commands sent ahead (pipelining) or not.
//! Errors are fine; panics and hangs are not. After a protocol error the session is out of
//! step: nothing more may be written, QUIT included (it would apply deletions).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_core::scripted::ScriptedStream;
use pop3_core::{Command, Client, Error, Mechanism};

fuzz_target!(|data: &[u8]| {
    let Some((&first, server)) = data.split_first() else { return };
    let mut stream = ScriptedStream::new(server).in_chunks_of(usize::from(first % 16) + 1);
    if first & 0x20 != 0 {
        stream = stream.all_at_once(); // answers may come before their commands
    }
    let Ok(mut client) = Client::new(stream) else { return };
    let _ = client.capa();
    client.set_pipelining(first & 0x10 != 0);
    let _ = client.login("brandon", "abc123");
    let mut lost_step = false;
    let mut note = |result: Result<(), Error>| {
        lost_step |= matches!(result, Err(Error::Protocol(_) | Error::ServerSignature { .. }));
    };
    note(client.send_ahead(Command::List));
    note(client.send_ahead(Command::Stat));
    note(client.send_ahead(Command::Top { number: 2, lines: 0 }));
    note(client.send_ahead(Command::Retr(2)));
    note(client.dele(3));
    note(client.stat().map(drop));
    note(client.list().map(drop));
    note(client.uidl().map(drop));
    note(client.list_one(1).map(drop));
    note(client.top(1, 0).map(drop));
    note(client.retr(2).map(drop));
    note(client.top(2, 0).map(drop));
    match client.retr(1) {
        // Un-stuffing only removes bytes.
        Ok(message) => assert!(message.len() <= server.len()),
        Err(e) => note(Err(e)),
    }
    // A malformed APOP timestamp is refused before anything is sent: the session is in step.
    let _ = client.apop("brandon", "abc123");
    note(client.authenticate(Mechanism::XOAuth2, "brandon", "token").map(drop));
    note(client.authenticate(Mechanism::Plain, "brandon", &"long".repeat(80)).map(drop));
    // The mechanisms that take challenges: LOGIN's prompts, CRAM-MD5's digest, SCRAM's
    // parsing of server-first and server-final (a wrong or missing signature also ends it).
    note(client.authenticate(Mechanism::Login, "brandon", "abc123").map(drop));
    note(client.authenticate(Mechanism::CramMd5, "brandon", "abc123").map(drop));
    note(client.authenticate(Mechanism::ScramSha256, "brandon", "abc123").map(drop));
    note(client.dele(1));
    if lost_step {
        assert!(client.out_of_step());
        let written = client.get_ref().written.len();
        assert!(client.noop().is_err());
        assert_eq!(client.get_ref().written.len(), written, "written after a protocol error");
    }
    let _ = client.quit();
});
