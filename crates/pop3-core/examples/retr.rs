//! Streams one message to standard output: `retr HOST:PORT USER NUMBER`, the password on
//! standard input, `POP3_CA_FILE` trusted. Memory stays one buffer whatever the size.
//! The benchmark's RETR client, and an example of `Client::retr_to`.

use std::io::{self, BufRead, Write};

use pop3_core::{Address, Connector, TlsConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, user, number] = args.as_slice() else {
        return Err("usage: retr HOST:PORT USER NUMBER".into());
    };
    let address: Address = address.parse()?;
    let mut password = String::new();
    io::stdin().lock().read_line(&mut password)?;
    let ca = std::env::var_os("POP3_CA_FILE").map(std::path::PathBuf::from);
    let connector = Connector::new(TlsConfig::new(ca.as_deref())?);
    let mut client = connector.connect(&address.host, address.port.unwrap_or(995))?;
    // Where the server offers PIPELINING, USER and PASS travel together. QUIT waits for the
    // message: Dovecot 2.3 over TLS can cut the tail of a large answer when the QUIT behind
    // it ends the session first (seen for a 20 MB RETR in 3 sessions of 70).
    let offered = client.capa().is_ok_and(|c| c.has("PIPELINING"));
    client.set_pipelining(offered);
    let number: u32 = number.parse()?;
    client.login(user, password.trim_end())?;
    // Large writes: a TLS read brings at most one 16 KiB record.
    let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    client.retr_to(number, &mut out)?;
    out.flush()?;
    client.quit()?;
    Ok(())
}
