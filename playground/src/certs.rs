//! A fresh certificate authority and server certificate for every start, so that no private
//! key is ever committed and clients trust the playground explicitly, by its CA file; and a
//! client certificate for the user, from a client CA of its own, for servers that log in by
//! one (SASL EXTERNAL).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PublicKeyData,
};

use crate::USER;

/// The names the playground's server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "mail.example.com", "127.0.0.1"];

/// Where the PEM files of one set of certificates were written.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The issuer's certificate (the CA's), the file clients are told to trust.
    pub ca: PathBuf,
    /// The server's certificate followed by its issuer's (a full chain), or alone when it
    /// signs itself.
    pub chain: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// The CA that issues client certificates, the file servers trust them by.
    pub client_ca: PathBuf,
    /// The user's client certificate (common name `brandon`), signed by `client_ca`.
    pub client_cert: PathBuf,
    /// Its private key.
    pub client_key: PathBuf,
}

impl CertFiles {
    /// The server's public key pin as curl writes it: `sha256//` and the base64 SHA-256 of
    /// its subjectPublicKeyInfo.
    pub fn server_pin(&self) -> io::Result<String> {
        let pem = fs::read_to_string(&self.key)?;
        let key = KeyPair::from_pem(&pem).map_err(to_io)?;
        let hash = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
        let base64 = base64::engine::general_purpose::STANDARD.encode(hash);
        Ok(format!("sha256//{base64}"))
    }
}

/// How the server certificate is made; the defaults are the playground's.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// Subject alternative names (DNS names or IP addresses).
    pub names: Vec<String>,
    /// Make a certificate whose validity ended yesterday (for tests of expired certificates).
    pub expired: bool,
    /// Who signs it, and so what the CA file holds.
    pub issuer: Issuer,
}

impl Default for CertSpec {
    fn default() -> Self {
        CertSpec {
            names: SERVER_NAMES.iter().map(|s| s.to_string()).collect(),
            expired: false,
            issuer: Issuer::Ca,
        }
    }
}

/// Who signs the server certificate; the CA file (`ca.pem`) holds that issuer's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuer {
    /// A CA made for the purpose (CA:TRUE), the playground's.
    Ca,
    /// Nobody: the server certificate signs itself, and the CA file is that certificate, as
    /// someone trusts a self-signed server by naming its own certificate.
    SelfSigned,
    /// A self-signed certificate for this other name that is not a CA (CA:FALSE), as another
    /// server's own certificate would be: whoever holds its key signs the server's.
    EndEntity(String),
}

/// Makes a server certificate and its issuer's as `spec` says, and writes them as `ca.pem`
/// (the issuer's), `server-chain.pem` (the server's followed by its issuer's, unless it signs
/// itself) and `server-key.pem` (mode 0600) into `dir`; and the user's client certificate,
/// `client.pem` and `client-key.pem` (mode 0600), signed by a client CA, `client-ca.pem`.
pub fn generate(dir: &Path, spec: &CertSpec) -> io::Result<CertFiles> {
    let params = server_params(spec).map_err(to_io)?;
    let key = KeyPair::generate().map_err(to_io)?;
    let (ca_pem, chain_pem) = match &spec.issuer {
        Issuer::Ca => signed_by_new_issuer(&params, &key, ca_params().map_err(to_io)?),
        Issuer::SelfSigned => params
            .self_signed(&key)
            .map(|cert| (cert.pem(), cert.pem())),
        Issuer::EndEntity(name) => {
            signed_by_new_issuer(&params, &key, end_entity_params(name).map_err(to_io)?)
        }
    }
    .map_err(to_io)?;

    let client_ca = CertifiedIssuer::self_signed(
        client_ca_params().map_err(to_io)?,
        KeyPair::generate().map_err(to_io)?,
    )
    .map_err(to_io)?;
    let client_key = KeyPair::generate().map_err(to_io)?;
    let client_cert = client_params()
        .and_then(|params| params.signed_by(&client_key, &client_ca))
        .map_err(to_io)?;

    fs::create_dir_all(dir)?;
    let files = CertFiles {
        ca: dir.join("ca.pem"),
        chain: dir.join("server-chain.pem"),
        key: dir.join("server-key.pem"),
        client_ca: dir.join("client-ca.pem"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client-key.pem"),
    };
    fs::write(&files.ca, ca_pem)?;
    fs::write(&files.chain, chain_pem)?;
    write_private(&files.key, &key.serialize_pem())?;
    fs::write(&files.client_ca, client_ca.pem())?;
    fs::write(&files.client_cert, client_cert.pem())?;
    write_private(&files.client_key, &client_key.serialize_pem())?;
    Ok(files)
}

fn to_io(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("certificate generation: {e}"))
}

/// The server certificate's parameters: its names, for server authentication.
fn server_params(spec: &CertSpec) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(spec.names.clone())?;
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
    Ok(params)
}

/// The playground's CA.
fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "POP3 playground CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// The CA of the playground's client certificates.
fn client_ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = ca_params()?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "POP3 playground client CA");
    Ok(params)
}

/// The user's client certificate: its common name is the user name, which servers read
/// (Dovecot's `ssl_cert_username_field = commonName`).
fn client_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.distinguished_name.push(DnType::CommonName, USER);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    Ok(params)
}

/// Another server's certificate for `name`, explicitly not a CA.
fn end_entity_params(name: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(vec![name.to_string()])?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

/// Makes a self-signed issuer of `issuer` and signs the server's `params` and `key` with it:
/// the issuer's PEM, and the chain's.
fn signed_by_new_issuer(
    params: &CertificateParams,
    key: &KeyPair,
    issuer: CertificateParams,
) -> Result<(String, String), rcgen::Error> {
    let issuer = CertifiedIssuer::self_signed(issuer, KeyPair::generate()?)?;
    let cert = params.signed_by(key, &issuer)?;
    Ok((issuer.pem(), format!("{}{}", cert.pem(), issuer.pem())))
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
