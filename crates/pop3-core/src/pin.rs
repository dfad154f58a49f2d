//! Public-key pinning as curl's `--pinned-pubkey` does it: the server's public key, by the
//! SHA-256 hash of its certificate's subjectPublicKeyInfo, must be one of those given. On top
//! of the usual checks, never instead of them: chain and host name are verified all the same.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use crate::error::Error;
use crate::x509;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What each pin starts with: its hash's name, as curl spells it.
const SHA256: &str = "sha256//";

/// The public keys a server may have, each by the SHA-256 hash of its subjectPublicKeyInfo
/// (RFC 7469's pin-sha256). Written as curl writes them: `sha256//` and the hash in base64,
/// several separated by `;` (`sha256//AAA...=;sha256//BBB...=`), which is also how they
/// display.
///
/// ```
/// use pop3_core::PinnedKeys;
///
/// let pins: PinnedKeys = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".parse()?;
/// assert_eq!(pins.to_string(), "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
/// assert!("sha1//AAAA".parse::<PinnedKeys>().is_err());
/// # Ok::<(), pop3_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKeys(Vec<[u8; 32]>);

impl PinnedKeys {
    /// Nothing, when `cert`'s public key is one of these; else the refusal, which names the
    /// key's own pin so that a user can pin it on purpose.
    pub(crate) fn check(&self, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        let info = x509::public_key_info(cert).ok_or(CertificateError::BadEncoding)?;
        let hash = ring::digest::digest(&ring::digest::SHA256, info);
        if self.0.iter().any(|pin| pin[..] == *hash.as_ref()) {
            return Ok(());
        }
        let refusal = KeyNotPinned {
            pin: format!("{SHA256}{}", BASE64.encode(hash)),
        };
        Err(CertificateError::Other(OtherError(Arc::new(refusal))).into())
    }
}

impl FromStr for PinnedKeys {
    type Err = Error;

    /// Takes curl's form; each pin must be a whole SHA-256 hash in standard base64 (44
    /// characters, padding included). curl's other form, a key file, is not taken.
    fn from_str(text: &str) -> Result<Self, Error> {
        let pins = text.split(';').map(|pin| {
            let bad = |why| Error::InvalidPin {
                text: pin.to_string(),
                why,
            };
            let encoded = pin
                .strip_prefix(SHA256)
                .ok_or_else(|| bad("expected sha256// and a SHA-256 hash in base64"))?;
            let hash = BASE64
                .decode(encoded)
                .map_err(|_| bad("the hash is not base64"))?;
            hash.try_into()
                .map_err(|_| bad("not a SHA-256 hash (32 bytes, 44 characters of base64)"))
        });
        Ok(PinnedKeys(pins.collect::<Result<_, _>>()?))
    }
}

impl fmt::Display for PinnedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pin) in self.0.iter().enumerate() {
            let separator = if i == 0 { "" } else { ";" };
            write!(f, "{separator}{SHA256}{}", BASE64.encode(pin))?;
        }
        Ok(())
    }
}

/// A verifier, and pins on top of it: a certificate it refuses stays refused, and one it
/// accepts must also carry a pinned key.
pub(crate) struct Pinning {
    pub(crate) inner: Arc<dyn ServerCertVerifier>,
    pub(crate) keys: PinnedKeys,
}

/// Names the pins alone: rustls wants verifiers to be `Debug`, and formatting the verifier
/// within would add to each binary for no reader.
impl fmt::Debug for Pinning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinning")
            .field("keys", &self.keys.0.len())
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for Pinning {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        self.keys.check(end_entity)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// The refusal of a server whose public key is not pinned; `pin` is its own.
#[derive(Debug)]
pub(crate) struct KeyNotPinned {
    pin: String,
}

impl fmt::Display for KeyNotPinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's public key {} matches no pinned key",
            self.pin
        )
    }
}

impl std::error::Error for KeyNotPinned {}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    #[test]
    fn curls_form_one_or_several() {
        let one: PinnedKeys = EMPTY_SHA256.parse().unwrap();
        assert_eq!(one.0.len(), 1);
        let two = format!("{EMPTY_SHA256};sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        let parsed: PinnedKeys = two.parse().unwrap();
        assert_eq!(parsed.0.len(), 2);
        assert_eq!(parsed.to_string(), two);
    }

    #[test]
    fn anything_else_is_refused_naming_the_pin() {
        let cases = [
            ("", "", "expected sha256//"),
            (
                "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                "47DEQ",
                "expected sha256//",
            ),
            (
                "SHA256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                "SHA256//",
                "expected",
            ),
            ("sha1//AAAA", "sha1//AAAA", "expected sha256//"),
            ("/etc/ssl/key.pem", "/etc/ssl/key.pem", "expected sha256//"),
            ("sha256//not*base64", "not*base64", "not base64"),
            ("sha256//AAAA", "sha256//AAAA", "not a SHA-256 hash"),
            // Padding is part of the form: 43 characters are refused.
            (
                "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
                "FU\"",
                "not base64",
            ),
        ];
        for (text, shown, why) in cases {
            let error = text.parse::<PinnedKeys>().unwrap_err().to_string();
            assert!(error.starts_with("invalid public key pin \""), "{error}");
            assert!(
                error.contains(shown) && error.contains(why),
                "{text:?}: {error}"
            );
        }
        for (text, bad) in [
            (format!("{EMPTY_SHA256};"), "\"\""),
            (format!("{EMPTY_SHA256}; {EMPTY_SHA256}"), "\" sha256//"),
            (format!("{EMPTY_SHA256};;{EMPTY_SHA256}"), "\"\""),
        ] {
            let error = text.parse::<PinnedKeys>().unwrap_err().to_string();
            assert!(error.contains(bad), "{text:?}: {error}");
        }
    }

    #[test]
    fn a_certificate_passes_when_its_key_is_pinned() {
        use rcgen::{CertificateParams, KeyPair, PublicKeyData};
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let hash = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
        let own = format!("sha256//{}", BASE64.encode(hash));
        let other = EMPTY_SHA256;
        for pins in [own.clone(), format!("{other};{own}")] {
            let pins: PinnedKeys = pins.parse().unwrap();
            assert!(pins.check(cert.der()).is_ok());
        }
        let pins: PinnedKeys = other.parse().unwrap();
        let refusal = crate::Error::Tls(pins.check(cert.der()).unwrap_err());
        assert_eq!(
            refusal.to_string(),
            format!("TLS: the server's public key {own} matches no pinned key")
        );
    }
}
