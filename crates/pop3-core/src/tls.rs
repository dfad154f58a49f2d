//! TLS by rustls with the ring provider: chain and host name always verified.

use std::fmt;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name, Resumption};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, OtherError,
    RootCertStore, SignatureScheme,
};

use crate::error::{Error, Result};
use crate::pin::{PinnedKeys, Pinning};
use crate::x509;

/// A TLS connection over TCP.
pub type TlsStream = rustls::StreamOwned<ClientConnection, TcpStream>;

/// Which certificates to trust, and what else the TLS layer does: present a client
/// certificate ([`TlsConfig::with_client_cert`]), demand a pinned server key
/// ([`TlsConfig::with_pinned_public_keys`]). There is no way to turn verification off: to
/// trust a private CA (like the playground's), name its file.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    /// The server certificate verifier of `config` when it was made here, which pins are
    /// added to (rustls does not give a configuration's verifier back).
    verifier: Option<Arc<dyn ServerCertVerifier>>,
    /// Pins checked once the handshake is over: those added to a configuration from
    /// [`TlsConfig::from_rustls`], whose verifier is out of reach.
    pins_after_handshake: Vec<PinnedKeys>,
}

impl TlsConfig {
    /// The certificates of the PEM file `ca_file` when one is named, and only those (as
    /// curl's `--cacert`: a session talks to one server, whose CA the user names); else the
    /// system's trusted roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` replace them, as OpenSSL
    /// does). Not loading the system store also saves its parsing, several milliseconds.
    ///
    /// In the file, a certificate marked CA:TRUE vouches for those it signs; any certificate
    /// is also trusted as itself, so a server's own (self-signed) certificate may be named:
    /// it then admits that server, for the names it carries while it is valid, and nothing
    /// signed with its key.
    pub fn new(ca_file: Option<&Path>) -> Result<Self> {
        match ca_file {
            Some(path) => Self::with_verifier(Verifier::from_ca_file(path)?),
            None => Self::with_roots(system_roots()?),
        }
    }

    /// Trusts exactly `roots`, as rustls does: each is an anchor of chains, whatever its
    /// basicConstraints say.
    pub fn with_roots(roots: RootCertStore) -> Result<Self> {
        Self::with_verifier(Verifier {
            cas: roots,
            file: None,
            provider: provider(),
        })
    }

    /// Uses a rustls configuration built by the caller.
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        TlsConfig {
            config,
            verifier: None,
            pins_after_handshake: Vec::new(),
        }
    }

    fn with_verifier(verifier: Verifier) -> Result<Self> {
        let provider = verifier.provider.clone();
        let verifier: Arc<dyn ServerCertVerifier> = Arc::new(verifier);
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        Ok(TlsConfig {
            verifier: Some(verifier),
            ..Self::from_rustls(Arc::new(config))
        })
    }

    /// Presents a client certificate to servers that ask for one (TLS client
    /// authentication; SASL EXTERNAL logs in by it): the certificates of the PEM file
    /// `cert_file` (the client's own first, then any intermediates) and the private key of
    /// `key_file`, or of `cert_file` when that holds both. Read and checked here, before any
    /// connection: a file that cannot be read, holds no certificate or no private key, a key
    /// of a kind not supported (RSA, ECDSA P-256 and P-384, and Ed25519 are) or a key that is
    /// not the certificate's is an [`Error::ClientCert`] naming the file.
    pub fn with_client_cert(self, cert_file: &Path, key_file: Option<&Path>) -> Result<Self> {
        let key_file = key_file.unwrap_or(cert_file);
        let chain = client_certificates(cert_file)?;
        let key = client_key(key_file)?;
        let unusable = |why: String| Error::ClientCert {
            path: key_file.to_owned(),
            key: true,
            why,
            io: None,
        };
        let provider = self.config.crypto_provider();
        let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) if key_file == cert_file => {
                unusable("the private key is not the certificate's".into())
            }
            rustls::Error::InconsistentKeys(_) => unusable(format!(
                "not the key of the certificate in {}",
                cert_file.display()
            )),
            // The certificate's own public key could not be read: the certificate is at fault.
            rustls::Error::InvalidCertificate(_) => Error::ClientCert {
                path: cert_file.to_owned(),
                key: false,
                why: "the certificate is damaged (its public key cannot be read)".into(),
                io: None,
            },
            _ => unusable(
                "a private key of a kind not supported, or damaged \
                 (RSA, ECDSA P-256 and P-384, and Ed25519 are supported)"
                    .into(),
            ),
        })?;
        Ok(self.changed(|config| {
            config.client_auth_cert_resolver = Arc::new(SingleCertAndKey::from(certified));
        }))
    }

    /// Accepts a server only if its public key is one of `pins` (as curl's
    /// `--pinned-pubkey`), on top of every other check: chain and host name are verified all
    /// the same. A server whose key is not pinned is refused in the handshake, before a
    /// client certificate is shown, by an [`Error::Tls`] that names its key's own pin
    /// (`sha256//...`). Each call adds a condition: the key must be among the pins of each.
    /// With a configuration from [`TlsConfig::from_rustls`], whose verifier is out of reach,
    /// the pins are checked once the handshake is over, before the session's first byte.
    pub fn with_pinned_public_keys(self, pins: PinnedKeys) -> Self {
        match self.verifier.clone() {
            Some(inner) => {
                let verifier: Arc<dyn ServerCertVerifier> = Arc::new(Pinning { inner, keys: pins });
                TlsConfig {
                    verifier: Some(verifier.clone()),
                    ..self.changed(|config| config.dangerous().set_certificate_verifier(verifier))
                }
            }
            None => {
                let mut changed = self.changed(|_| ());
                changed.pins_after_handshake.push(pins);
                changed
            }
        }
    }

    /// A copy of the configuration, changed by `change`, with a session store of its own:
    /// a session resumed from the old one skips the checks (or the certificate) added.
    fn changed(self, change: impl FnOnce(&mut ClientConfig)) -> Self {
        let mut config = (*self.config).clone();
        config.resumption = Resumption::default();
        change(&mut config);
        TlsConfig {
            config: Arc::new(config),
            ..self
        }
    }

    /// Runs the whole handshake on `tcp`, so certificate errors surface here and not at the
    /// first read.
    pub fn handshake(&self, host: &str, mut tcp: TcpStream) -> Result<TlsStream> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| Error::InvalidServerName(host.to_string()))?;
        let mut connection = ClientConnection::new(self.config.clone(), name)?;
        while connection.is_handshaking() {
            connection.complete_io(&mut tcp)?;
        }
        if !self.pins_after_handshake.is_empty() {
            let certificates = connection.peer_certificates().unwrap_or_default();
            let leaf = certificates
                .first()
                .ok_or(rustls::Error::NoCertificatesPresented)?;
            for pins in &self.pins_after_handshake {
                pins.check(leaf)?;
            }
        }
        Ok(rustls::StreamOwned::new(connection, tcp))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's trusted roots; none at all is an error, not a store that trusts nothing.
fn system_roots() -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        return Err(Error::NoTrustedRoots);
    }
    Ok(roots)
}

/// Checks a server's certificate as rustls' `WebPkiServerVerifier` does (a chain to an
/// anchor, valid now, then the host name; no revocation lists are given, so none is
/// consulted), except that a CA file's certificates are trusted as what they are. One
/// verifier for every session, so the tools carry one verification path, not two.
struct Verifier {
    /// The anchors of chains.
    cas: RootCertStore,
    /// The CA file, when it is what is trusted.
    file: Option<CaFile>,
    provider: Arc<CryptoProvider>,
}

/// A CA file's certificates. rustls makes a trust anchor of every certificate it is given,
/// without reading its basicConstraints: a server's own certificate named to trust that
/// server (a common way to trust a self-signed one) would let its key holder sign a
/// certificate for any host. So only the CA:TRUE ones become anchors, and every one is also
/// trusted as itself: a server presenting exactly it, for its names and dates.
struct CaFile {
    path: PathBuf,
    /// Every certificate of the file.
    listed: Vec<Listed>,
    /// Those that are not CAs as rustls alone would take them, only to say why a chain to one
    /// is refused.
    not_cas: RootCertStore,
}

/// A certificate of the CA file, and when it is valid.
struct Listed {
    der: CertificateDer<'static>,
    facts: x509::Facts,
}

impl Verifier {
    /// Trusts the PEM file `path`; a file holding no certificate is an error, not a silent
    /// no-op.
    fn from_ca_file(path: &Path) -> Result<Self> {
        let unusable = |why: String| Error::CaFile {
            path: path.to_owned(),
            why,
            io: None,
        };
        let mut cas = RootCertStore::empty();
        let mut file = CaFile {
            path: path.to_owned(),
            listed: Vec::new(),
            not_cas: RootCertStore::empty(),
        };
        let pem_error = |e| {
            let (why, io) = pem_error(e);
            Error::CaFile {
                path: path.to_owned(),
                why,
                io,
            }
        };
        for der in CertificateDer::pem_file_iter(path).map_err(pem_error)? {
            let der = der.map_err(pem_error)?;
            let number = file.listed.len() + 1;
            let facts = x509::facts(&der).ok_or_else(|| {
                unusable(format!(
                    "certificate {number} is not a valid X.509 certificate"
                ))
            })?;
            let anchors = if facts.is_ca {
                &mut cas
            } else {
                &mut file.not_cas
            };
            anchors
                .add(der.clone())
                .map_err(|e| unusable(e.to_string()))?;
            file.listed.push(Listed { der, facts });
        }
        if file.listed.is_empty() {
            return Err(unusable("no PEM certificate in it".into()));
        }
        Ok(Verifier {
            cas,
            file: Some(file),
            provider: provider(),
        })
    }

    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }

    /// A chain from `cert` to one of the CAs. Refused, it is explained when it leads to a
    /// certificate of the CA file that is not a CA (rustls alone would have accepted it).
    fn verify_chain(
        &self,
        cert: &ParsedCertificate<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let Err(refused) = self.chain_to(&self.cas, cert, intermediates, now) else {
            return Ok(());
        };
        match &self.file {
            Some(file)
                if self
                    .chain_to(&file.not_cas, cert, intermediates, now)
                    .is_ok() =>
            {
                Err(file.issuer_not_a_ca())
            }
            _ => Err(refused),
        }
    }

    /// A chain from `cert` through `intermediates` to one of `anchors`, valid at `now`.
    fn chain_to(
        &self,
        anchors: &RootCertStore,
        cert: &ParsedCertificate<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let algorithms = self.algorithms().all;
        verify_server_cert_signed_by_trust_anchor(cert, anchors, intermediates, now, algorithms)
    }
}

impl CaFile {
    /// The file's certificate that is exactly `cert`, if there is one.
    fn listed(&self, cert: &CertificateDer<'_>) -> Option<&Listed> {
        self.listed.iter().find(|listed| listed.der == *cert)
    }

    fn issuer_not_a_ca(&self) -> rustls::Error {
        let why = IssuerNotACa {
            file: self.path.clone(),
        };
        CertificateError::Other(OtherError(Arc::new(why))).into()
    }
}

/// Names the CA file alone: rustls wants verifiers to be `Debug`, and the derived formatting
/// of the provider and the stores would add kilobytes to each binary for no reader.
impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ca_file = self.file.as_ref().map(|file| &file.path);
        f.debug_struct("Verifier")
            .field("ca_file", &ca_file)
            .finish_non_exhaustive()
    }
}

impl Listed {
    /// Whether `now` falls within its validity, as webpki checks a chain's certificates.
    fn check_dates(&self, now: UnixTime) -> Result<(), CertificateError> {
        let x509::Facts {
            not_before,
            not_after,
            ..
        } = self.facts;
        if now < not_before {
            return Err(CertificateError::NotValidYetContext {
                time: now,
                not_before,
            });
        }
        if now > not_after {
            return Err(CertificateError::ExpiredContext {
                time: now,
                not_after,
            });
        }
        Ok(())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        match self.file.as_ref().and_then(|file| file.listed(end_entity)) {
            Some(listed) => listed.check_dates(now)?,
            None => self.verify_chain(&cert, intermediates, now)?,
        }
        verify_server_name(&cert, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

/// The refusal of a certificate signed (directly or through intermediates) by one of the CA
/// file's certificates that is not a CA.
#[derive(Debug)]
pub(crate) struct IssuerNotACa {
    file: PathBuf,
}

impl fmt::Display for IssuerNotACa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate not trusted: its issuer in CA file {} is not a CA (no CA:TRUE), \
             so it vouches only for itself",
            self.file.display()
        )
    }
}

impl std::error::Error for IssuerNotACa {}

/// Why a file cannot be read or is not PEM, and the I/O error, kept for the error's source.
fn pem_error(e: rustls::pki_types::pem::Error) -> (String, Option<io::Error>) {
    match e {
        rustls::pki_types::pem::Error::Io(e) => (e.to_string(), Some(e)),
        other => (format!("{other:?}"), None),
    }
}

/// The client's certificates in the PEM file `path`: at least one.
fn client_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let unusable = |(why, io)| Error::ClientCert {
        path: path.to_owned(),
        key: false,
        why,
        io,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| unusable(pem_error(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unusable(pem_error(e)))?;
    if chain.is_empty() {
        return Err(unusable(("no PEM certificate in it".into(), None)));
    }
    Ok(chain)
}

/// The first private key in the PEM file `path` (PKCS #8, PKCS #1 or SEC 1).
fn client_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let unusable = |(why, io)| Error::ClientCert {
        path: path.to_owned(),
        key: true,
        why,
        io,
    };
    match PrivateKeyDer::from_pem_file(path) {
        Ok(key) => Ok(key),
        // An encrypted key is a section the reader skips (PKCS #8), or one with headers it
        // cannot read (OpenSSL's older `Proc-Type: 4,ENCRYPTED`): say what it is.
        Err(e)
            if !matches!(e, rustls::pki_types::pem::Error::Io(_))
                && std::fs::read(path).is_ok_and(|text| {
                    text.windows(b"ENCRYPTED".len())
                        .any(|word| word == b"ENCRYPTED")
                }) =>
        {
            Err(unusable((
                "the private key is encrypted, which is not supported: give it decrypted".into(),
                None,
            )))
        }
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            Err(unusable(("no PEM private key in it".into(), None)))
        }
        Err(e) => Err(unusable(pem_error(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use std::time::Duration;

    /// A self-signed certificate for `name`, CA or not, that can sign others.
    fn self_signed(name: &str, is_ca: IsCa) -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.is_ca = is_ca;
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    }

    /// A certificate for `name`, CA or not, signed by `issuer`.
    fn signed(
        name: &str,
        is_ca: IsCa,
        issuer: &CertifiedIssuer<'_, KeyPair>,
    ) -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.is_ca = is_ca;
        CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), issuer).unwrap()
    }

    /// A verifier trusting a CA file made of `certs`, and the file's name.
    fn trusting(name: &str, certs: &[&CertifiedIssuer<'_, KeyPair>]) -> (Verifier, PathBuf) {
        let pem: String = certs.iter().map(|cert| cert.pem()).collect();
        let path = temp_file(name, &pem);
        let verifier = Verifier::from_ca_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (verifier, path)
    }

    /// What `verifier` says of a server that presents `chain` (its own certificate first)
    /// as `host` at `now`: nothing, or the error line.
    fn verify(
        verifier: &Verifier,
        chain: &[&CertifiedIssuer<'_, KeyPair>],
        host: &str,
        now: UnixTime,
    ) -> Result<(), String> {
        let ders: Vec<CertificateDer<'_>> = chain.iter().map(|cert| cert.der().clone()).collect();
        let name = ServerName::try_from(host.to_owned()).unwrap();
        verifier
            .verify_server_cert(&ders[0], &ders[1..], &name, &[], now)
            .map(|_| ())
            .map_err(|e| Error::Tls(e).to_string())
    }

    fn at(seconds: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(seconds))
    }

    #[test]
    fn a_certificate_without_ca_true_vouches_for_nothing_it_signs() {
        for is_ca in [IsCa::ExplicitNoCa, IsCa::NoCa] {
            let leaf = self_signed("other.example", is_ca);
            let (verifier, file) = trusting("leaf.pem", &[&leaf]);
            let refusal = format!(
                "TLS: certificate not trusted: its issuer in CA file {} is not a CA \
                 (no CA:TRUE), so it vouches only for itself",
                file.display()
            );
            let forged = signed("localhost", IsCa::ExplicitNoCa, &leaf);
            assert_eq!(
                verify(&verifier, &[&forged], "localhost", UnixTime::now()),
                Err(refusal.clone())
            );
            // Nor through an intermediate that says it is a CA.
            let intermediate = signed("ca", IsCa::Ca(BasicConstraints::Unconstrained), &leaf);
            let forged = signed("localhost", IsCa::ExplicitNoCa, &intermediate);
            assert_eq!(
                verify(
                    &verifier,
                    &[&forged, &intermediate],
                    "localhost",
                    UnixTime::now()
                ),
                Err(refusal)
            );
        }
    }

    #[test]
    fn a_ca_vouches_for_what_it_signs_and_for_no_other_name() {
        let ca = self_signed("ca", IsCa::Ca(BasicConstraints::Unconstrained));
        let server = signed("localhost", IsCa::ExplicitNoCa, &ca);
        let (verifier, _) = trusting("ca.pem", &[&ca]);
        assert_eq!(
            verify(&verifier, &[&server], "localhost", UnixTime::now()),
            Ok(())
        );
        assert_eq!(
            verify(&verifier, &[&server], "mail.example.com", UnixTime::now()),
            Err(
                "TLS: host name mismatch: the server's certificate is for localhost, \
                 not mail.example.com"
                    .into()
            )
        );
        let stranger = self_signed("localhost", IsCa::ExplicitNoCa);
        assert_eq!(
            verify(&verifier, &[&stranger], "localhost", UnixTime::now()),
            Err("TLS: certificate not trusted (unknown issuer)".into())
        );
    }

    #[test]
    fn a_servers_own_certificate_admits_that_server_for_its_names_and_dates() {
        // rcgen's certificates are valid from 1975 to 4096.
        let (from_1975, until_4096) = (157_766_400, 67_090_118_400);
        for is_ca in [
            IsCa::ExplicitNoCa,
            IsCa::NoCa,
            IsCa::Ca(BasicConstraints::Unconstrained),
        ] {
            let own = self_signed("localhost", is_ca);
            let (verifier, _) = trusting("own.pem", &[&own]);
            assert_eq!(
                verify(&verifier, &[&own], "localhost", UnixTime::now()),
                Ok(())
            );
            assert_eq!(
                verify(&verifier, &[&own], "mail.example.com", UnixTime::now()),
                Err(
                    "TLS: host name mismatch: the server's certificate is for localhost, \
                     not mail.example.com"
                        .into()
                )
            );
            assert_eq!(
                verify(&verifier, &[&own], "localhost", at(from_1975)),
                Ok(())
            );
            assert_eq!(
                verify(&verifier, &[&own], "localhost", at(until_4096)),
                Ok(())
            );
            assert_eq!(
                verify(&verifier, &[&own], "localhost", at(until_4096 + 1)),
                Err("TLS: the server's certificate has expired".into())
            );
            assert_eq!(
                verify(&verifier, &[&own], "localhost", at(from_1975 - 1)),
                Err("TLS: the server's certificate is not valid yet".into())
            );
        }
    }

    #[test]
    fn a_file_may_hold_cas_and_servers_certificates() {
        let ca = self_signed("ca", IsCa::Ca(BasicConstraints::Unconstrained));
        let leaf = self_signed("other.example", IsCa::ExplicitNoCa);
        let (verifier, _) = trusting("both.pem", &[&ca, &leaf]);
        let by_ca = signed("localhost", IsCa::ExplicitNoCa, &ca);
        let by_leaf = signed("localhost", IsCa::ExplicitNoCa, &leaf);
        let now = UnixTime::now();
        assert_eq!(verify(&verifier, &[&by_ca], "localhost", now), Ok(()));
        assert_eq!(verify(&verifier, &[&leaf], "other.example", now), Ok(()));
        let refused = verify(&verifier, &[&by_leaf], "localhost", now).unwrap_err();
        assert!(refused.contains("is not a CA (no CA:TRUE)"), "{refused}");
    }

    #[test]
    fn a_ca_file_entry_that_is_no_certificate_is_an_error() {
        let path = temp_file(
            "not-x509.pem",
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        );
        let err = TlsConfig::new(Some(&path)).err().expect("must fail");
        assert_eq!(
            err.to_string(),
            format!(
                "CA file {}: certificate 1 is not a valid X.509 certificate",
                path.display()
            )
        );
        std::fs::remove_file(path).unwrap();
    }

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

    /// What a one-connection TLS server saw of the client: whether the handshake completed,
    /// and the certificate the client showed, if any.
    type Seen = (bool, Option<CertificateDer<'static>>);

    /// A TLS server on 127.0.0.1 for one connection, presenting `server` (and `ca`, its
    /// issuer) and asking for a client certificate signed by `ca`, without requiring one.
    fn tls_server(
        server: &CertifiedIssuer<'_, KeyPair>,
        ca: &CertifiedIssuer<'_, KeyPair>,
    ) -> (u16, std::thread::JoinHandle<Seen>) {
        let provider = provider();
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let clients = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .unwrap();
        let chain = vec![server.der().clone(), ca.der().clone()];
        let key = PrivateKeyDer::try_from(server.key().serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(clients)
            .with_single_cert(chain, key)
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            let mut connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            let mut done = true;
            while connection.is_handshaking() {
                if connection.complete_io(&mut tcp).is_err() {
                    done = false;
                    break;
                }
            }
            let shown = connection
                .peer_certificates()
                .and_then(|certs| certs.first())
                .map(|cert| cert.clone().into_owned());
            (done, shown)
        });
        (port, handle)
    }

    /// Connects to a [`tls_server`] as `host` with `tls`: the error line, if any, and what the
    /// server saw.
    fn handshake_with(
        tls: &TlsConfig,
        host: &str,
        server: &CertifiedIssuer<'_, KeyPair>,
        ca: &CertifiedIssuer<'_, KeyPair>,
    ) -> (Result<(), String>, Seen) {
        let (port, handle) = tls_server(server, ca);
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let outcome = tls
            .handshake(host, tcp)
            .map(drop)
            .map_err(|e| e.to_string());
        (outcome, handle.join().unwrap())
    }

    /// The pin of `cert`'s key, as curl writes it.
    fn pin_of(cert: &CertifiedIssuer<'_, KeyPair>) -> String {
        use base64::Engine as _;
        use rcgen::PublicKeyData;
        let info = cert.key().subject_public_key_info();
        let hash = ring::digest::digest(&ring::digest::SHA256, &info);
        let base64 = base64::engine::general_purpose::STANDARD.encode(hash);
        format!("sha256//{base64}")
    }

    const OTHER_PIN: &str = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    #[test]
    fn a_pinned_key_is_needed_on_top_of_the_chain_and_the_name() {
        let ca = self_signed("ca", IsCa::Ca(BasicConstraints::Unconstrained));
        let server = signed("localhost", IsCa::ExplicitNoCa, &ca);
        let (ca_file, _) = trusting("pinned-ca.pem", &[&ca]);
        let trusting_ca = TlsConfig::with_verifier(ca_file).unwrap();
        let own = pin_of(&server);
        for pins in [own.clone(), format!("{OTHER_PIN};{own}")] {
            let tls = trusting_ca
                .clone()
                .with_pinned_public_keys(pins.parse().unwrap());
            let (outcome, (done, _)) = handshake_with(&tls, "localhost", &server, &ca);
            assert_eq!(outcome, Ok(()), "{pins}");
            assert!(done);
        }

        // Not pinned: refused in the handshake, which the server never sees end, and the
        // refusal names the server key's own pin.
        let tls = trusting_ca
            .clone()
            .with_pinned_public_keys(OTHER_PIN.parse().unwrap());
        let (outcome, (done, _)) = handshake_with(&tls, "localhost", &server, &ca);
        let refusal = format!("TLS: the server's public key {own} matches no pinned key");
        assert_eq!(outcome, Err(refusal));
        assert!(!done, "the handshake must not complete");

        // Pinned, but for another name, or from an unknown issuer: refused all the same.
        let pinned = |tls: TlsConfig| tls.with_pinned_public_keys(own.parse().unwrap());
        let (outcome, _) = handshake_with(&pinned(trusting_ca), "mail.example.com", &server, &ca);
        assert!(outcome.unwrap_err().contains("host name mismatch"));
        let stranger = self_signed("stranger", IsCa::Ca(BasicConstraints::Unconstrained));
        let (stranger_file, _) = trusting("stranger.pem", &[&stranger]);
        let trusting_stranger = TlsConfig::with_verifier(stranger_file).unwrap();
        let (outcome, _) = handshake_with(&pinned(trusting_stranger), "localhost", &server, &ca);
        assert_eq!(
            outcome,
            Err("TLS: certificate not trusted (unknown issuer)".into())
        );
    }

    #[test]
    fn pins_on_a_callers_rustls_configuration_are_checked_after_the_handshake() {
        let ca = self_signed("ca", IsCa::Ca(BasicConstraints::Unconstrained));
        let server = signed("localhost", IsCa::ExplicitNoCa, &ca);
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let callers = TlsConfig::from_rustls(Arc::new(config));
        let own = pin_of(&server);
        let tls = callers
            .clone()
            .with_pinned_public_keys(own.parse().unwrap());
        assert_eq!(handshake_with(&tls, "localhost", &server, &ca).0, Ok(()));
        let tls = callers.with_pinned_public_keys(OTHER_PIN.parse().unwrap());
        let refusal = format!("TLS: the server's public key {own} matches no pinned key");
        assert_eq!(
            handshake_with(&tls, "localhost", &server, &ca).0,
            Err(refusal)
        );
    }

    #[test]
    fn a_client_certificate_is_shown_when_asked_for() {
        let ca = self_signed("ca", IsCa::Ca(BasicConstraints::Unconstrained));
        let server = signed("localhost", IsCa::ExplicitNoCa, &ca);
        let client = signed("brandon", IsCa::ExplicitNoCa, &ca);
        let (ca_file, _) = trusting("client-ca.pem", &[&ca]);
        let plain = TlsConfig::with_verifier(ca_file).unwrap();
        let (outcome, (_, shown)) = handshake_with(&plain, "localhost", &server, &ca);
        assert_eq!((outcome, shown), (Ok(()), None));

        let cert = temp_file("client.pem", &client.pem());
        let key = temp_file("client-key.pem", &client.key().serialize_pem());
        let both = temp_file(
            "client-both.pem",
            &format!("{}{}", client.key().serialize_pem(), client.pem()),
        );
        for tls in [
            plain.clone().with_client_cert(&cert, Some(&key)).unwrap(),
            plain.clone().with_client_cert(&both, None).unwrap(),
        ] {
            let (outcome, (_, shown)) = handshake_with(&tls, "localhost", &server, &ca);
            assert_eq!(outcome, Ok(()));
            assert_eq!(shown.as_ref(), Some(client.der()));
        }
        for path in [cert, key, both] {
            std::fs::remove_file(path).unwrap();
        }
    }

    #[test]
    fn an_unusable_client_certificate_or_key_is_one_line_naming_the_file() {
        let ca = self_signed("ca", IsCa::Ca(BasicConstraints::Unconstrained));
        let client = signed("brandon", IsCa::ExplicitNoCa, &ca);
        let cert = temp_file("own.pem", &client.pem());
        let key = temp_file("own-key.pem", &client.key().serialize_pem());
        let other_key = temp_file("other-key.pem", &ca.key().serialize_pem());
        let mixed = temp_file(
            "mixed.pem",
            &format!("{}{}", client.pem(), ca.key().serialize_pem()),
        );
        let garbage = temp_file("garbage.pem", "not PEM at all\n");
        let encrypted = temp_file(
            "encrypted.pem",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        let legacy = temp_file(
            "legacy.pem",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
             DEK-Info: AES-128-CBC,1CAB2BA0C6D237C154A63A8520A1FE9C\n\nMAA=\n\
             -----END RSA PRIVATE KEY-----\n",
        );
        let damaged = temp_file(
            "damaged.pem",
            "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
        );
        let broken_cert = temp_file(
            "broken-cert.pem",
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        );
        let missing = Path::new("/nonexistent/client.pem");
        let shown = |path: &Path| path.display().to_string();
        let cases: [(&Path, Option<&Path>, String); 10] = [
            (
                &broken_cert,
                Some(&key),
                format!(
                    "client certificate file {}: the certificate is damaged",
                    shown(&broken_cert)
                ),
            ),
            (
                missing,
                None,
                format!("client certificate file {}: ", shown(missing)),
            ),
            (
                &garbage,
                Some(&key),
                format!(
                    "client certificate file {}: no PEM certificate in it",
                    shown(&garbage)
                ),
            ),
            (
                &key,
                None,
                format!(
                    "client certificate file {}: no PEM certificate in it",
                    shown(&key)
                ),
            ),
            (
                &cert,
                None,
                format!("client key file {}: no PEM private key in it", shown(&cert)),
            ),
            (
                &cert,
                Some(&encrypted),
                format!(
                    "client key file {}: the private key is encrypted",
                    shown(&encrypted)
                ),
            ),
            (
                &cert,
                Some(&legacy),
                format!(
                    "client key file {}: the private key is encrypted",
                    shown(&legacy)
                ),
            ),
            (
                &cert,
                Some(&damaged),
                format!(
                    "client key file {}: a private key of a kind not supported",
                    shown(&damaged)
                ),
            ),
            (
                &cert,
                Some(&other_key),
                format!(
                    "client key file {}: not the key of the certificate in {}",
                    shown(&other_key),
                    shown(&cert)
                ),
            ),
            (
                &mixed,
                None,
                format!(
                    "client key file {}: the private key is not the certificate's",
                    shown(&mixed)
                ),
            ),
        ];
        let tls = TlsConfig::with_roots(RootCertStore::empty()).unwrap();
        for (cert_file, key_file, expected) in cases {
            let error = tls
                .clone()
                .with_client_cert(cert_file, key_file)
                .err()
                .expect("must fail")
                .to_string();
            assert!(
                error.starts_with(&expected),
                "{error}\nexpected: {expected}"
            );
            assert!(!error.contains('\n'), "{error}");
        }
        for path in [
            cert, key, other_key, mixed, garbage, encrypted, legacy, damaged,
        ] {
            std::fs::remove_file(path).unwrap();
        }
    }
}
