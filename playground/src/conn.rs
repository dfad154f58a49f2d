//! Server-side connections shared by the built-in and the hostile servers: plain TCP or
//! TLS with the playground's certificate.

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::certs::CertFiles;

pub(crate) fn tls_config(certs: &CertFiles) -> io::Result<Arc<ServerConfig>> {
    let bad = |e: rustls::pki_types::pem::Error| {
        io::Error::other(format!("playground certificate: {e:?}"))
    };
    let chain = CertificateDer::pem_file_iter(&certs.chain)
        .map_err(bad)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let key = PrivateKeyDer::from_pem_file(&certs.key).map_err(bad)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

/// The connection: plain until STLS, or TLS from the start; `Closed` only while STLS
/// swaps one for the other.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    Closed,
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
            Conn::Closed => Ok(0),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
            Conn::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
            Conn::Closed => Ok(()),
        }
    }
}

pub(crate) fn tls(tcp: TcpStream, config: &Arc<ServerConfig>) -> io::Result<Conn> {
    let connection = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
    Ok(Conn::Tls(Box::new(StreamOwned::new(connection, tcp))))
}

/// The server's side of STLS, once `+OK` is sent: the TLS handshake on a new reader, so that
/// anything the client sent before it (and so outside TLS) is dropped.
pub(crate) fn start_tls(
    reader: &mut BufReader<Conn>,
    config: &Arc<ServerConfig>,
) -> io::Result<()> {
    let Conn::Plain(tcp) = std::mem::replace(reader.get_mut(), Conn::Closed) else {
        return Err(io::Error::other("STLS on a connection that is not plain"));
    };
    *reader = BufReader::new(tls(tcp, config)?);
    Ok(())
}
