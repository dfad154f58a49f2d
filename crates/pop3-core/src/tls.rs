//! TLS by rustls with the ring provider: chain and host name always verified.

use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::error::{Error, Result};

/// A TLS connection over TCP.
pub type TlsStream = rustls::StreamOwned<ClientConnection, TcpStream>;

/// Which certificates to trust. There is no way to turn verification off: to trust a
/// private CA (like the playground's), name its file.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
}

impl TlsConfig {
    /// Every certificate in the PEM file `ca_file` when one is named, and only those (as
    /// curl's `--cacert`: a session talks to one server, whose CA the user names); else the
    /// system's trusted roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` replace them, as OpenSSL
    /// does). Not loading the system store also saves its parsing, several milliseconds.
    pub fn new(ca_file: Option<&Path>) -> Result<Self> {
        let mut roots = RootCertStore::empty();
        match ca_file {
            Some(path) => add_ca_file(&mut roots, path)?,
            None => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
        }
        if roots.is_empty() {
            return Err(Error::Usage(
                "no trusted CA certificates: the system store is empty; name a CA file".into(),
            ));
        }
        Self::with_roots(roots)
    }

    /// Trusts exactly `roots`.
    pub fn with_roots(roots: RootCertStore) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfig {
            config: Arc::new(config),
        })
    }

    /// Uses a rustls configuration built by the caller.
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        TlsConfig { config }
    }

    /// Runs the whole handshake on `tcp`, so certificate errors surface here and not at the
    /// first read.
    pub fn handshake(&self, host: &str, mut tcp: TcpStream) -> Result<TlsStream> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| Error::Usage(format!("{host:?} is not a valid TLS server name")))?;
        let mut connection = ClientConnection::new(self.config.clone(), name)?;
        while connection.is_handshaking() {
            connection.complete_io(&mut tcp)?;
        }
        Ok(rustls::StreamOwned::new(connection, tcp))
    }
}

/// Adds the certificates of a PEM file; a file holding none is an error, not a silent no-op.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<()> {
    let unusable = |why: String| Error::Usage(format!("CA file {}: {why}", path.display()));
    let mut found = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unusable(pem_error(e)))? {
        let cert = cert.map_err(|e| unusable(pem_error(e)))?;
        roots.add(cert).map_err(|e| unusable(e.to_string()))?;
        found += 1;
    }
    if found == 0 {
        return Err(unusable("no PEM certificate in it".into()));
    }
    Ok(())
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("pop3-core-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn ca_file_without_certificates_is_an_error() {
        let path = temp_file("garbage.pem", "not a certificate\n");
        let err = TlsConfig::new(Some(&path)).err().expect("must fail");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn missing_ca_file_is_an_error() {
        let err = TlsConfig::new(Some(Path::new("/nonexistent/ca.pem")))
            .err()
            .expect("must fail");
        assert!(
            err.to_string().starts_with("CA file /nonexistent/ca.pem: "),
            "{err}"
        );
    }
}
