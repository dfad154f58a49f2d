//! A fresh certificate authority and server certificate for every start, so that no private
//! key is ever committed and clients trust the playground explicitly, by its CA file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The names the playground's server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "mail.example.com", "127.0.0.1"];

/// Where the PEM files of one set of certificates were written.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The CA certificate, the file clients are told to trust.
    pub ca: PathBuf,
    /// The server's certificate followed by the CA's (a full chain).
    pub chain: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// How the server certificate is made; the defaults are the playground's.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// Subject alternative names (DNS names or IP addresses).
    pub names: Vec<String>,
    /// Make a certificate whose validity ended yesterday (for tests of expired certificates).
    pub expired: bool,
}

impl Default for CertSpec {
    fn default() -> Self {
        CertSpec {
            names: SERVER_NAMES.iter().map(|s| s.to_string()).collect(),
            expired: false,
        }
    }
}

/// Makes a CA and a server certificate signed by it, and writes them as `ca.pem`,
/// `server-chain.pem` and `server-key.pem` (mode 0600) into `dir`.
pub fn generate(dir: &Path, spec: &CertSpec) -> io::Result<CertFiles> {
    let to_io = |e: rcgen::Error| io::Error::other(format!("certificate generation: {e}"));
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(to_io)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "POP3 playground CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(to_io)?)
        .map_err(to_io)?;

    let mut params = CertificateParams::new(spec.names.clone()).map_err(to_io)?;
    params.distinguished_name.push(
        DnType::CommonName,
        spec.names.first().map_or("server", |n| n.as_str()),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if spec.expired {
        let now = std::time::SystemTime::now();
        let day = std::time::Duration::from_secs(86_400);
        params.not_before = (now - 30 * day).into();
        params.not_after = (now - day).into();
    }
    let key = KeyPair::generate().map_err(to_io)?;
    let cert = params.signed_by(&key, &ca).map_err(to_io)?;

    fs::create_dir_all(dir)?;
    let files = CertFiles {
        ca: dir.join("ca.pem"),
        chain: dir.join("server-chain.pem"),
        key: dir.join("server-key.pem"),
    };
    fs::write(&files.ca, ca.pem())?;
    fs::write(&files.chain, format!("{}{}", cert.pem(), ca.pem()))?;
    write_private(&files.key, &key.serialize_pem())?;
    Ok(files)
}

fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::remove_file(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}
