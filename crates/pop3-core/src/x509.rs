//! What rustls does not tell about a certificate: for a CA file, whether it may vouch for
//! others (basicConstraints CA:TRUE) and when it is valid; for a pinned public key, the
//! subjectPublicKeyInfo. Read from its DER by a minimal reader, only for the certificates the
//! user named and for a server certificate that webpki has already checked (webpki parses
//! the CA file's too, as trust anchors, and checks everything the server sends).

use std::time::Duration;

use rustls::pki_types::UnixTime;

/// What the trust decisions for a CA file need from one of its certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    /// basicConstraints says CA:TRUE: its key may sign other certificates.
    pub is_ca: bool,
    /// The start of its validity.
    pub not_before: UnixTime,
    /// The end of its validity.
    pub not_after: UnixTime,
}

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
/// tbsCertificate's `[0] EXPLICIT Version`, absent from version 1 certificates.
const VERSION: u8 = 0xa0;
/// tbsCertificate's `[1] IMPLICIT issuerUniqueID` and `[2] IMPLICIT subjectUniqueID`.
const ISSUER_UID: u8 = 0x81;
const SUBJECT_UID: u8 = 0x82;
/// tbsCertificate's `[3] EXPLICIT Extensions`.
const EXTENSIONS: u8 = 0xa3;
/// 2.5.29.19, id-ce-basicConstraints, as encoded.
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// The one encoding of TRUE that DER allows.
const TRUE: &[u8] = &[0xff];

/// Reads a certificate (RFC 5280, section 4.1); `None` if it is not one.
pub(crate) fn facts(der: &[u8]) -> Option<Facts> {
    let Tbs {
        version_1,
        issuer,
        mut validity,
        subject,
        mut rest,
        ..
    } = tbs(der)?;
    let not_before = validity.time()?;
    let not_after = validity.time()?;
    rest.take_if(ISSUER_UID);
    rest.take_if(SUBJECT_UID);
    let is_ca = match rest.take_if(EXTENSIONS) {
        Some(extensions) => says_ca(extensions)?,
        // A version 1 certificate has no extensions at all: a self-issued one is a root of
        // the old kind, which OpenSSL still takes as a CA, and so is it here.
        None => version_1 && issuer == subject,
    };
    Some(Facts {
        is_ca,
        not_before,
        not_after,
    })
}

/// The certificate's subjectPublicKeyInfo, whole (its DER, tag and length included): what a
/// public key pin is the SHA-256 hash of (RFC 7469, section 2.4, as curl pins). `None` if
/// `der` is not a certificate.
pub(crate) fn public_key_info(der: &[u8]) -> Option<&[u8]> {
    tbs(der).map(|tbs| tbs.public_key_info)
}

/// The fields of a tbsCertificate up to its subjectPublicKeyInfo, and what follows it.
struct Tbs<'a> {
    /// No `[0] Version`: a version 1 certificate.
    version_1: bool,
    issuer: &'a [u8],
    validity: Der<'a>,
    subject: &'a [u8],
    /// The whole element, tag and length included.
    public_key_info: &'a [u8],
    /// issuerUniqueID, subjectUniqueID and extensions, those present.
    rest: Der<'a>,
}

/// Walks a certificate's tbsCertificate up to its subjectPublicKeyInfo.
fn tbs(der: &[u8]) -> Option<Tbs<'_>> {
    let mut certificate = Der(Der(der).take(SEQUENCE)?);
    let mut tbs = Der(certificate.take(SEQUENCE)?);
    let version_1 = tbs.take_if(VERSION).is_none();
    tbs.take(INTEGER)?; // serialNumber
    tbs.take(SEQUENCE)?; // signature
    let issuer = tbs.take(SEQUENCE)?;
    let validity = Der(tbs.take(SEQUENCE)?);
    let subject = tbs.take(SEQUENCE)?;
    let public_key_info = tbs.take_whole(SEQUENCE)?;
    Some(Tbs {
        version_1,
        issuer,
        validity,
        subject,
        public_key_info,
        rest: tbs,
    })
}

/// Whether the extensions hold basicConstraints with cA TRUE (its DEFAULT is FALSE, and a
/// certificate without the extension is no CA either: RFC 5280, section 4.2.1.9).
fn says_ca(extensions: &[u8]) -> Option<bool> {
    let mut list = Der(Der(extensions).take(SEQUENCE)?);
    while !list.0.is_empty() {
        let mut extension = Der(list.take(SEQUENCE)?);
        let id = extension.take(OID)?;
        extension.take_if(BOOLEAN); // critical
        let value = extension.take(OCTET_STRING)?;
        if id == BASIC_CONSTRAINTS {
            let mut constraints = Der(Der(value).take(SEQUENCE)?);
            return Some(constraints.take_if(BOOLEAN) == Some(TRUE));
        }
    }
    Some(false)
}

/// The DER elements left to read, one after the other.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The contents of the next element, which must be tagged `tag`.
    fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (found, contents, rest) = element(self.0)?;
        if found != tag {
            return None;
        }
        self.0 = rest;
        Some(contents)
    }

    /// The next element, tag and length included, which must be tagged `tag`.
    fn take_whole(&mut self, tag: u8) -> Option<&'a [u8]> {
        let before = self.0;
        self.take(tag)?;
        Some(&before[..before.len() - self.0.len()])
    }

    /// The contents of the next element if it is tagged `tag` (an OPTIONAL field), else
    /// nothing read.
    fn take_if(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.0.first() {
            Some(&found) if found == tag => self.take(tag),
            _ => None,
        }
    }

    /// The next element as a Time (UTCTime or GeneralizedTime).
    fn time(&mut self) -> Option<UnixTime> {
        let (tag, contents, rest) = element(self.0)?;
        let seconds = match tag {
            UTC_TIME => utc_time(contents)?,
            GENERALIZED_TIME => generalized_time(contents)?,
            _ => return None,
        };
        self.0 = rest;
        // Validity before 1970 (a UTCTime may say 1950) counts from 1970: the same here.
        let seconds = u64::try_from(seconds).unwrap_or(0);
        Some(UnixTime::since_unix_epoch(Duration::from_secs(seconds)))
    }
}

/// Splits the first element off `input`: its tag, its contents and what follows. Only
/// low tag numbers and definite lengths up to 16 MiB, which is all a certificate uses.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x83 => {
            let (bytes, rest) = rest.split_at_checked(usize::from(first & 0x7f))?;
            let length = bytes
                .iter()
                .fold(0, |length, &byte| length << 8 | usize::from(byte));
            (length, rest)
        }
        _ => return None,
    };
    let (contents, rest) = rest.split_at_checked(length)?;
    Some((tag, contents, rest))
}

/// `YYMMDDHHMMSSZ`, the years 1950 to 2049 (RFC 5280, section 4.1.2.5.1), in seconds since
/// the Unix epoch.
fn utc_time(text: &[u8]) -> Option<i64> {
    let [digits @ .., b'Z'] = text else {
        return None;
    };
    let [y1, y2, rest @ ..] = digits else {
        return None;
    };
    let yy = number(&[*y1, *y2])?;
    let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
    date_time(year, rest)
}

/// `YYYYMMDDHHMMSSZ` (RFC 5280, section 4.1.2.5.2), in seconds since the Unix epoch.
fn generalized_time(text: &[u8]) -> Option<i64> {
    let [digits @ .., b'Z'] = text else {
        return None;
    };
    let (year, rest) = digits.split_at_checked(4)?;
    date_time(number(year)?, rest)
}

/// `MMDDHHMMSS` of `year`, in seconds since the Unix epoch.
fn date_time(year: i64, text: &[u8]) -> Option<i64> {
    let [m1, m2, d1, d2, h1, h2, n1, n2, s1, s2] = *text else {
        return None;
    };
    let month = number(&[m1, m2])?;
    let day = number(&[d1, d2])?;
    let (hour, minute, second) = (number(&[h1, h2])?, number(&[n1, n2])?, number(&[s1, s2])?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Decimal digits, nothing else.
fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0, |n, &digit| {
        digit
            .is_ascii_digit()
            .then(|| n * 10 + i64::from(digit - b'0'))
    })
}

/// Days from 1970-01-01 to the date in the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// A version 1 root (no extensions), as `openssl x509 -req -signkey` makes one.
    const VERSION_1_ROOT: &str = "-----BEGIN CERTIFICATE-----\nMIIBIjCByQIULjF4nPQmlcMtbACsLBh2obdN29MwCgYIKoZIzj0EAwIwEzERMA8G\nA1UEAwwIT2xkIFJvb3QwIBcNMjYxMTI2MTYyMDEwWhgPMjEyNjExMDIxNjIwMTBa\nMBMxETAPBgNVBAMMCE9sZCBSb290MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\nCc/5km1XOTuA3hGhqi4jMaKwZqtlu9Dtp3Hsx5HtaYw7mXVKxOA0I/8mlirz+4sC\np8+xg6LHzmuOG9FTInMUszAKBggqhkjOPQQDAgNIADBFAiAtnVM3xRHcRouZQYM9\nxefPO9+Vvp9rf/bVK/OKbRCLKgIhAMcJKGGDcY9uGBWcTBVJ7hXQgcoeFQgozE4l\nMJbLsizZ\n-----END CERTIFICATE-----";

    #[test]
    fn a_self_issued_version_1_certificate_is_a_root() {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let der = CertificateDer::from_pem_slice(VERSION_1_ROOT.as_bytes()).unwrap();
        assert!(facts(&der).unwrap().is_ca);
    }

    fn certificate(is_ca: IsCa, years: (i32, i32)) -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = is_ca;
        params.not_before = date_time_ymd(years.0, 1, 1);
        params.not_after = date_time_ymd(years.1, 1, 1);
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn at(seconds: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(seconds))
    }

    #[test]
    fn ca_true_only_in_basic_constraints_makes_a_ca() {
        let ca = certificate(IsCa::Ca(BasicConstraints::Unconstrained), (1975, 4096));
        assert!(facts(&ca).unwrap().is_ca);
        let explicitly_not = certificate(IsCa::ExplicitNoCa, (1975, 4096));
        assert!(!facts(&explicitly_not).unwrap().is_ca);
        let no_extension = certificate(IsCa::NoCa, (1975, 4096));
        assert!(!facts(&no_extension).unwrap().is_ca);
    }

    #[test]
    fn the_public_key_info_is_the_keys_whole() {
        use rcgen::PublicKeyData;
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = public_key_info(cert.der()).unwrap();
        assert_eq!(info, key.subject_public_key_info());
        assert_eq!(info[0], SEQUENCE);
        // A version 1 certificate has it in the same place.
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let old = CertificateDer::from_pem_slice(VERSION_1_ROOT.as_bytes()).unwrap();
        assert_eq!(public_key_info(&old).map(<[u8]>::len), Some(91));
    }

    #[test]
    fn validity_in_both_time_forms() {
        // rcgen writes UTCTime until 2049 and GeneralizedTime from 2050, as RFC 5280 says.
        let both = facts(&certificate(IsCa::NoCa, (1975, 4096))).unwrap();
        assert_eq!(both.not_before, at(157_766_400));
        assert_eq!(both.not_after, at(67_090_118_400));
        let around_2050 = facts(&certificate(IsCa::NoCa, (2049, 2050))).unwrap();
        assert_eq!(around_2050.not_before, at(2_493_072_000));
        assert_eq!(around_2050.not_after, at(2_524_608_000));
    }

    #[test]
    fn times() {
        assert_eq!(utc_time(b"250102030405Z"), Some(1_735_787_045));
        assert_eq!(utc_time(b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(utc_time(b"500101000000Z"), Some(-631_152_000));
        assert_eq!(generalized_time(b"20000229120000Z"), Some(951_825_600));
        for bad in [
            &b"250102030405"[..],
            b"2501020304Z",
            b"251302030405Z",
            b"250100030405Z",
            b"250102240405Z",
            b"25010203040+Z",
            b"",
        ] {
            assert_eq!(utc_time(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(generalized_time(b"20000229120000.5Z"), None);
    }

    #[test]
    fn anything_cut_short_is_not_a_certificate() {
        let der = certificate(IsCa::ExplicitNoCa, (1975, 4096));
        for end in 0..der.len() {
            assert_eq!(facts(&der[..end]), None, "cut at {end}");
            assert_eq!(public_key_info(&der[..end]), None, "cut at {end}");
        }
        assert_eq!(facts(b"\x30\x84\xff\xff\xff\xff"), None);
        assert_eq!(facts(b"\x1f\x01\x00"), None);
    }

    #[test]
    fn a_damaged_certificate_never_panics() {
        let der = certificate(IsCa::Ca(BasicConstraints::Unconstrained), (1975, 4096));
        for at in 0..der.len() {
            for byte in [0x00, 0x7f, 0x80, 0x83, 0xff] {
                let mut damaged = der.clone();
                damaged[at] = byte;
                let _ = facts(&damaged);
                let _ = public_key_info(&damaged);
            }
        }
    }
}
