//! `cargo xtask bench-floor`: the bench's floor, the least a client can do to get the same
//! answers (what the server and TLS cost, with no client logic on top).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use lexopt::prelude::*;
use rustls::pki_types::pem::PemObject;

/// `xtask bench-floor HOST:PORT CA COMMAND...` pipelines all the commands at once over TLS
/// and reads until the server closes, parsing nothing.
pub fn run(mut args: lexopt::Parser) -> anyhow::Result<()> {
    const USAGE: &str = "usage: xtask bench-floor HOST:PORT CA COMMAND...";
    let Some(Value(address)) = args.next()? else {
        bail!(USAGE);
    };
    let Some(Value(ca)) = args.next()? else {
        bail!(USAGE);
    };
    let address = address.string()?;
    let (host, port) = address.rsplit_once(':').context("HOST:PORT")?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(Path::new(&ca))? {
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
    // The commands go to the server as they are, whatever they look like.
    let mut request = Vec::new();
    for command in args.raw_args()? {
        request.extend_from_slice(command.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    tls.write_all(&request)?;
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
