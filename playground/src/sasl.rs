//! The server's side of the SASL mechanisms the built-in server offers besides PLAIN:
//! LOGIN, CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256, each written from its RFC, apart from the
//! client's code in pop3-core, so that the tests check one against the other.

use base64::Engine as _;
use md5::{Digest, Md5};
use ring::{digest, hmac, pbkdf2, rand::SecureRandom as _};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The mechanisms, as the built-in server lists them in CAPA.
pub const MECHANISMS: &str = "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256";

/// PBKDF2 iterations the server asks for (RFC 7677's minimum, and Dovecot's default).
const ITERATIONS: u32 = 4096;

/// The server's connection, as the mechanisms see it.
pub trait Challenger {
    /// Sends `+ base64(challenge)` and reads the client's answer: decoded, or `None` when
    /// the client cancelled (`*`) or answered what is not base64.
    fn challenge(&mut self, challenge: &[u8]) -> std::io::Result<Option<Vec<u8>>>;
}

/// How an exchange ended.
pub enum Outcome {
    /// The credentials are the playground's.
    Valid,
    /// They are not.
    Invalid,
    /// The client cancelled, or broke the mechanism's rules.
    Aborted,
}

impl From<bool> for Outcome {
    fn from(valid: bool) -> Self {
        if valid {
            Outcome::Valid
        } else {
            Outcome::Invalid
        }
    }
}

/// LOGIN: the user name and the password, each after its prompt.
pub fn login(peer: &mut dyn Challenger, user: &str, password: &str) -> std::io::Result<Outcome> {
    let Some(given_user) = peer.challenge(b"Username:")? else {
        return Ok(Outcome::Aborted);
    };
    let Some(given_password) = peer.challenge(b"Password:")? else {
        return Ok(Outcome::Aborted);
    };
    Ok((given_user == user.as_bytes() && given_password == password.as_bytes()).into())
}

/// CRAM-MD5 (RFC 2195): `timestamp` is the challenge, the answer `user hex(HMAC-MD5)`.
pub fn cram_md5(
    peer: &mut dyn Challenger,
    timestamp: &str,
    user: &str,
    password: &str,
) -> std::io::Result<Outcome> {
    let Some(answer) = peer.challenge(timestamp.as_bytes())? else {
        return Ok(Outcome::Aborted);
    };
    let expected = format!(
        "{user} {}",
        hex(&hmac_md5(password.as_bytes(), timestamp.as_bytes()))
    );
    Ok((answer == expected.as_bytes()).into())
}

/// HMAC-MD5 (RFC 2104).
pub fn hmac_md5(key: &[u8], text: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..16].copy_from_slice(&Md5::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Md5::new().chain_update(&ipad).chain_update(text).finalize();
    Md5::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SCRAM's hash: SHA-1 or SHA-256.
#[derive(Debug, Clone, Copy)]
pub enum ScramHash {
    /// SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    fn hmac(self, key: &[u8], text: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            ScramHash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => hmac::HMAC_SHA256,
        };
        hmac::sign(&hmac::Key::new(algorithm, key), text)
            .as_ref()
            .to_vec()
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            ScramHash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => &digest::SHA256,
        };
        digest::digest(algorithm, data).as_ref().to_vec()
    }

    fn salted_password(self, password: &str, salt: &[u8]) -> Vec<u8> {
        let (algorithm, len) = match self {
            ScramHash::Sha1 => (pbkdf2::PBKDF2_HMAC_SHA1, 20),
            ScramHash::Sha256 => (pbkdf2::PBKDF2_HMAC_SHA256, 32),
        };
        let mut out = vec![0; len];
        let iterations = std::num::NonZeroU32::new(ITERATIONS).expect("not zero");
        pbkdf2::derive(algorithm, iterations, salt, password.as_bytes(), &mut out);
        out
    }
}

/// SCRAM (RFC 5802) from the server's side: `initial` is the client-first message if it
/// came with AUTH. The client's proof is checked against the password; the server's
/// signature goes back in a last challenge, whose (empty) answer ends the exchange.
pub fn scram(
    peer: &mut dyn Challenger,
    hash: ScramHash,
    initial: Option<Vec<u8>>,
    user: &str,
    password: &str,
) -> std::io::Result<Outcome> {
    let client_first = match initial {
        Some(first) => first,
        None => match peer.challenge(b"")? {
            Some(first) => first,
            None => return Ok(Outcome::Aborted),
        },
    };
    let client_first = String::from_utf8_lossy(&client_first).into_owned();
    // No channel binding, no authorization identity: `n,,` (or `y,,`: the client could bind
    // but thinks the server cannot).
    let Some(bare) = client_first
        .strip_prefix("n,,")
        .or_else(|| client_first.strip_prefix("y,,"))
    else {
        return Ok(Outcome::Aborted);
    };
    let mut fields = bare.split(',');
    let (Some(name), Some(client_nonce)) = (
        fields.next().and_then(|f| f.strip_prefix("n=")),
        fields.next().and_then(|f| f.strip_prefix("r=")),
    ) else {
        return Ok(Outcome::Aborted);
    };
    let name = name.replace("=2C", ",").replace("=3D", "=");
    let mut random = [0u8; 18];
    let mut salt = [0u8; 16];
    let rng = ring::rand::SystemRandom::new();
    let no_random = |_| std::io::Error::other("the system gave no random numbers");
    rng.fill(&mut random).map_err(no_random)?;
    rng.fill(&mut salt).map_err(no_random)?;
    let nonce = format!("{client_nonce}{}", BASE64.encode(random));
    let server_first = format!("r={nonce},s={},i={ITERATIONS}", BASE64.encode(salt));
    let Some(client_final) = peer.challenge(server_first.as_bytes())? else {
        return Ok(Outcome::Aborted);
    };
    let client_final = String::from_utf8_lossy(&client_final).into_owned();
    let Some((without_proof, proof)) = client_final.rsplit_once(",p=") else {
        return Ok(Outcome::Aborted);
    };
    if without_proof != format!("c=biws,r={nonce}") && without_proof != format!("c=eSws,r={nonce}")
    {
        return Ok(Outcome::Aborted);
    }
    let Ok(proof) = BASE64.decode(proof) else {
        return Ok(Outcome::Aborted);
    };
    let salted = hash.salted_password(password, &salt);
    let stored_key = hash.hash(&hash.hmac(&salted, b"Client Key"));
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
    // The proof is ClientKey XOR ClientSignature: XORed back, it must hash to StoredKey.
    let client_key: Vec<u8> = proof
        .iter()
        .zip(&client_signature)
        .map(|(p, s)| p ^ s)
        .collect();
    if name != user || proof.len() != client_signature.len() || hash.hash(&client_key) != stored_key
    {
        return Ok(Outcome::Invalid);
    }
    let server_signature = hash.hmac(&hash.hmac(&salted, b"Server Key"), auth_message.as_bytes());
    let server_final = format!("v={}", BASE64.encode(server_signature));
    match peer.challenge(server_final.as_bytes())? {
        Some(empty) if empty.is_empty() => Ok(Outcome::Valid),
        _ => Ok(Outcome::Aborted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_md5_rfc_2195_example() {
        let digest = hmac_md5(
            b"tanstaaftanstaaf",
            b"<1896.697170952@postoffice.reston.mci.net>",
        );
        assert_eq!(hex(&digest), "b913a602c7eda7a495b4e6e7334d3890");
    }

    /// A client replaying RFC 7677's exchange can only be checked with RFC 7677's salt and
    /// nonce; here the server side's keys are checked against the RFC's numbers instead.
    #[test]
    fn scram_keys_rfc_7677() {
        let hash = ScramHash::Sha256;
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = hash.salted_password("pencil", &salt);
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let server_signature =
            hash.hmac(&hash.hmac(&salted, b"Server Key"), auth_message.as_bytes());
        assert_eq!(
            BASE64.encode(server_signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }
}
