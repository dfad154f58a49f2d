//! SASL mechanisms for AUTH (RFC 5034): SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 5802, RFC 7677),
//! CRAM-MD5 (RFC 2195), LOGIN (draft-murchison-sasl-login), PLAIN (RFC 4616), XOAUTH2
//! (Google, Microsoft), OAUTHBEARER (RFC 7628) and EXTERNAL (RFC 4422, a TLS client
//! certificate).
//!
//! Each mechanism runs as a small state machine, an [`Exchange`]: it may have a first message
//! to send with AUTH, then it is handed each server challenge in turn and says what answers
//! it. The AUTH command (`client/auth.rs`) only moves the lines, the same way for all.

use std::fmt;
use std::io;
use std::num::NonZeroU32;
use std::str::FromStr;

use base64::Engine as _;
use md5::{Digest, Md5};
use ring::{digest, hmac, pbkdf2};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::response;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A SASL mechanism the client can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// User name and password, in one message (RFC 4616).
    Plain,
    /// User name and password, each after the server's prompt (draft-murchison-sasl-login).
    /// The password travels as with PLAIN; for servers that offer nothing better.
    Login,
    /// A keyed MD5 digest of the server's challenge (RFC 2195): the password does not travel,
    /// but the server must store it in clear, and MD5 is weak.
    CramMd5,
    /// A salted challenge and response with SHA-1 (RFC 5802), proving both ways: the client
    /// knows the password, and the server knows it too (its signature is checked).
    ScramSha1,
    /// As [`Mechanism::ScramSha1`], with SHA-256 (RFC 7677): the best of these.
    ScramSha256,
    /// An OAuth 2 access token, as Gmail and Microsoft 365 / Outlook.com take it.
    XOAuth2,
    /// An OAuth 2 access token, the standard way (RFC 7628).
    OAuthBearer,
    /// What the connection already proves, here the TLS client certificate (RFC 4422,
    /// appendix A): no secret; the user name goes as the authorization identity, the
    /// mailbox asked for, which the certificate must entitle.
    External,
}

impl Mechanism {
    /// Every mechanism, in the order `--help` lists them: the strongest first.
    const ALL: [Mechanism; 8] = [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
        Mechanism::Login,
        Mechanism::Plain,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
        Mechanism::External,
    ];

    /// The name in AUTH and in CAPA's SASL list.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// Whether the secret itself travels (PLAIN, LOGIN and the OAuth tokens), not only a
    /// digest or a proof of it (CRAM-MD5, SCRAM), or nothing (EXTERNAL: the certificate).
    pub(crate) fn sends_secret(self) -> bool {
        !matches!(
            self,
            Mechanism::CramMd5
                | Mechanism::ScramSha1
                | Mechanism::ScramSha256
                | Mechanism::External
        )
    }

    /// The one message of PLAIN, XOAUTH2, OAUTHBEARER and EXTERNAL, before base64: these need no
    /// challenge first, and answer none.
    pub(crate) fn response(self, user: &str, secret: &str) -> Zeroizing<String> {
        Zeroizing::new(match self {
            Mechanism::Plain => format!("\0{user}\0{secret}"),
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {secret}\x01\x01"),
            // The GS2 header names the user; `,` and `=` in it are escaped (RFC 5801).
            Mechanism::OAuthBearer => {
                format!("n,a={},\x01auth=Bearer {secret}\x01\x01", sasl_name(user))
            }
            Mechanism::Login
            | Mechanism::CramMd5
            | Mechanism::ScramSha1
            | Mechanism::ScramSha256 => {
                unreachable!("{self} speaks in rounds: its Exchange answers each challenge")
            }
            Mechanism::External => user.to_string(),
        })
    }

    /// What answers a challenge that comes after the one message: the server's error report.
    /// XOAUTH2 takes an empty line, OAUTHBEARER a lone %x01 (RFC 7628, 3.2.3); PLAIN
    /// expects none, so `*` cancels (RFC 5034).
    pub(crate) fn after_error(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "",
            Mechanism::OAuthBearer => "AQ==",
            _ => "*",
        }
    }
}

impl FromStr for Mechanism {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| Error::UnknownMechanism(text.to_string()))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A message of the client's, before base64.
pub(crate) struct Message {
    /// The bytes, wiped after use: they may hold the secret.
    data: Zeroizing<Vec<u8>>,
    /// Whether the trace shows `********` instead: the message holds or proves the secret.
    pub(crate) secret: bool,
}

impl Message {
    fn shown(data: impl Into<Vec<u8>>) -> Self {
        Message {
            data: Zeroizing::new(data.into()),
            secret: false,
        }
    }

    fn masked(data: impl Into<Vec<u8>>) -> Self {
        Message {
            data: Zeroizing::new(data.into()),
            secret: true,
        }
    }

    /// The message as it travels: base64 (RFC 5034), wiped after use.
    pub(crate) fn encoded(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(&*self.data))
    }
}

/// What answers a server challenge.
pub(crate) enum Step {
    /// This message.
    Respond(Message),
    /// The challenge was the server's report of why it refuses (`report`, decoded): this
    /// line ends the exchange (already as it travels), and `-ERR` is to come.
    Refused {
        report: String,
        closing: &'static str,
    },
}

/// The client's side of one SASL exchange.
pub(crate) struct Exchange<'a> {
    mechanism: Mechanism,
    user: &'a str,
    secret: &'a str,
    state: State,
}

/// Where an exchange stands, mechanism by mechanism.
enum State {
    /// PLAIN, XOAUTH2, OAUTHBEARER, EXTERNAL: the client's one message is all; a challenge after it is
    /// the server's report of a refusal.
    OneMessage,
    /// LOGIN: how many prompts were answered (the user name, then the password).
    Login { answered: u8 },
    /// CRAM-MD5: whether the challenge was answered.
    CramMd5 { answered: bool },
    /// SCRAM-SHA-1, SCRAM-SHA-256.
    Scram(Scram),
}

impl<'a> Exchange<'a> {
    /// Starts an exchange: `secret` is the password, or the OAuth 2 access token.
    pub(crate) fn new(mechanism: Mechanism, user: &'a str, secret: &'a str) -> crate::Result<Self> {
        let state = match mechanism {
            Mechanism::Plain
            | Mechanism::XOAuth2
            | Mechanism::OAuthBearer
            | Mechanism::External => State::OneMessage,
            Mechanism::Login => State::Login { answered: 0 },
            Mechanism::CramMd5 => State::CramMd5 { answered: false },
            Mechanism::ScramSha1 => State::Scram(Scram::new(ScramHash::Sha1, user, &nonce()?)),
            Mechanism::ScramSha256 => State::Scram(Scram::new(ScramHash::Sha256, user, &nonce()?)),
        };
        Ok(Exchange {
            mechanism,
            user,
            secret,
            state,
        })
    }

    /// The client's first message, for the mechanisms where the client speaks first: it goes
    /// on the AUTH line, or after the server's first (empty) challenge when too long for it.
    /// `None` when the server speaks first (LOGIN, CRAM-MD5).
    pub(crate) fn initial_response(&self) -> Option<Message> {
        let (user, secret) = (self.user, self.secret);
        match &self.state {
            State::OneMessage => Some(Message::masked(
                self.mechanism.response(user, secret).as_bytes(),
            )),
            State::Scram(scram) => Some(Message::shown(scram.client_first())),
            State::Login { .. } | State::CramMd5 { .. } => None,
        }
    }

    /// What answers the server's challenge, `challenge` being its base64 text. A challenge
    /// the mechanism cannot take is a protocol error; a SCRAM server that fails to prove it
    /// knows the password is [`Error::ServerSignature`].
    pub(crate) fn respond(&mut self, challenge: &str) -> crate::Result<Step> {
        let decoded = BASE64.decode(challenge);
        // A challenge past the end of the mechanism: the server's report of a refusal.
        let refused = |closing| Step::Refused {
            report: String::from_utf8_lossy(decoded.as_deref().unwrap_or_default()).into_owned(),
            closing,
        };
        match &mut self.state {
            State::OneMessage => Ok(refused(self.mechanism.after_error())),
            // The prompts' wording ("Username:", "Password:") varies; their order does not.
            State::Login { answered } => {
                *answered += 1;
                Ok(match answered {
                    1 => Step::Respond(Message::shown(self.user)),
                    2 => Step::Respond(Message::masked(self.secret)),
                    _ => refused("*"),
                })
            }
            State::CramMd5 { answered: true } => Ok(refused("*")),
            State::CramMd5 { answered } => {
                *answered = true;
                let challenge = decoded.map_err(|_| not_base64("CRAM-MD5", challenge))?;
                let digest = hex(&*hmac_md5(self.secret.as_bytes(), &challenge));
                Ok(Step::Respond(Message::masked(format!(
                    "{} {}",
                    self.user, *digest
                ))))
            }
            State::Scram(scram) => {
                let message = decoded.map_err(|_| not_base64(self.mechanism.name(), challenge))?;
                let message = String::from_utf8(message).map_err(|_| {
                    Error::Protocol(format!(
                        "the server's {} message is not UTF-8",
                        self.mechanism
                    ))
                })?;
                // A server error (RFC 5802: e=...) ends the exchange: cancelled, -ERR to come.
                if message.starts_with("e=") {
                    return Ok(Step::Refused {
                        report: message,
                        closing: "*",
                    });
                }
                scram.respond(&message, self.secret).map(Step::Respond)
            }
        }
    }

    /// Whether the server's next challenge must be masked in the trace: SCRAM's server-final
    /// (`v=...`), which, with the salt and nonces shown before it, would let a reader of the
    /// trace test password guesses offline.
    pub(crate) fn next_challenge_is_secret(&self) -> bool {
        matches!(&self.state, State::Scram(scram) if matches!(scram.stage, ScramStage::Final { .. }))
    }

    /// The server accepted the login: whether the mechanism lets it. A SCRAM server must
    /// first have proved it knows the password; one that did not may be an impostor.
    pub(crate) fn accepted(&self) -> crate::Result<()> {
        match &self.state {
            State::Scram(scram) if !scram.verified() => {
                Err(Error::ServerSignature { missing: true })
            }
            _ => Ok(()),
        }
    }
}

/// A nonce of 18 random bytes (144 bits) from the system's CSPRNG, as 24 base64 characters
/// (never a `,`).
fn nonce() -> crate::Result<String> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 18];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| {
            Error::Io(io::Error::other(
                "the system gave no random numbers for SCRAM",
            ))
        })?;
    Ok(BASE64.encode(bytes))
}

/// A user name in a SCRAM or GS2 message: `=` and `,` escaped (RFC 5802, RFC 5801).
fn sasl_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

fn not_base64(mechanism: &str, challenge: &str) -> Error {
    Error::Protocol(format!(
        "the server's {mechanism} challenge is not base64: {:?}",
        response::shorten(challenge)
    ))
}

/// HMAC-MD5 (RFC 2104), as CRAM-MD5 uses it: a dozen lines on the MD5 APOP already needs,
/// rather than a crate.
fn hmac_md5(key: &[u8], text: &[u8]) -> Zeroizing<[u8; 16]> {
    const BLOCK: usize = 64;
    let mut padded = Zeroizing::new([0u8; BLOCK]);
    if key.len() > BLOCK {
        padded[..16].copy_from_slice(&Md5::digest(key));
    } else {
        padded[..key.len()].copy_from_slice(key);
    }
    let xored = |pad: u8| Zeroizing::new(padded.map(|byte| byte ^ pad));
    let inner = Md5::new()
        .chain_update(*xored(0x36))
        .chain_update(text)
        .finalize();
    let outer = Md5::new()
        .chain_update(*xored(0x5c))
        .chain_update(inner)
        .finalize();
    let mut digest = Zeroizing::new([0u8; 16]);
    digest.copy_from_slice(&outer);
    digest
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    use std::fmt::Write as _;
    let mut text = Zeroizing::new(String::with_capacity(2 * bytes.len()));
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The hash a SCRAM mechanism is built on.
#[derive(Debug, Clone, Copy)]
enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            ScramHash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => hmac::HMAC_SHA256,
        }
    }

    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            ScramHash::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            ScramHash::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            ScramHash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => &digest::SHA256,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// HMAC(key, text), wiped after use.
    fn mac(self, key: &[u8], text: &[u8]) -> Zeroizing<Vec<u8>> {
        let tag = hmac::sign(&hmac::Key::new(self.hmac(), key), text);
        Zeroizing::new(tag.as_ref().to_vec())
    }
}

/// The most PBKDF2 iterations a server may ask for: RFC 7677 asks for at least 4096, and
/// today's advice is hundreds of thousands; a server asking for billions would keep the
/// client computing for minutes.
const MAX_ITERATIONS: u32 = 10_000_000;

/// The GS2 header: no channel binding, none supported (`n`), no authorization identity.
const GS2_HEADER: &str = "n,,";

/// The client's side of SCRAM (RFC 5802): client-first, then client-final with the proof,
/// then the check of the server's signature.
struct Scram {
    hash: ScramHash,
    /// `n=USER,r=NONCE`: the client-first message without its GS2 header.
    client_first_bare: String,
    nonce: String,
    stage: ScramStage,
}

enum ScramStage {
    /// client-first sent; the server's salt, iteration count and nonce are awaited.
    First,
    /// client-final sent; the server's signature is awaited, and this is what it must be.
    Final {
        server_signature: Zeroizing<Vec<u8>>,
    },
    /// The server proved it knows the password.
    Verified,
}

impl Scram {
    fn new(hash: ScramHash, user: &str, nonce: &str) -> Self {
        Scram {
            hash,
            client_first_bare: format!("n={},r={nonce}", sasl_name(user)),
            nonce: nonce.to_string(),
            stage: ScramStage::First,
        }
    }

    fn client_first(&self) -> String {
        format!("{GS2_HEADER}{}", self.client_first_bare)
    }

    fn verified(&self) -> bool {
        matches!(self.stage, ScramStage::Verified)
    }

    /// The answer to server-first (client-final, with the proof) or to server-final (an
    /// empty message, once the signature is checked).
    fn respond(&mut self, message: &str, password: &str) -> crate::Result<Message> {
        let name = self.hash.name();
        match &self.stage {
            ScramStage::First => {
                let (client_final, server_signature) = self.client_final(message, password)?;
                self.stage = ScramStage::Final { server_signature };
                Ok(client_final)
            }
            ScramStage::Final { server_signature } => {
                let Some(signature) = message.strip_prefix("v=") else {
                    return Err(Error::Protocol(format!(
                        "expected the server's {name} signature (v=...), got {:?}",
                        response::shorten(message)
                    )));
                };
                // Extensions may follow (RFC 5802, 7): the signature ends at a comma.
                let signature = signature.split(',').next().unwrap_or_default();
                let matches = BASE64
                    .decode(signature)
                    .is_ok_and(|given| same_bytes(&given, server_signature));
                if !matches {
                    return Err(Error::ServerSignature { missing: false });
                }
                self.stage = ScramStage::Verified;
                Ok(Message::shown(Vec::new()))
            }
            ScramStage::Verified => Err(Error::Protocol(format!(
                "the server sent a {name} challenge after its signature"
            ))),
        }
    }

    /// From server-first (`r=NONCE,s=SALT,i=COUNT`): client-final, and the signature the
    /// server must show in return.
    fn client_final(
        &self,
        server_first: &str,
        password: &str,
    ) -> crate::Result<(Message, Zeroizing<Vec<u8>>)> {
        let name = self.hash.name();
        let malformed = |why: &str| {
            Error::Protocol(format!(
                "the server's first {name} message {why}: {:?}",
                response::shorten(server_first)
            ))
        };
        if server_first.starts_with("m=") {
            return Err(malformed("requires an extension this client does not know"));
        }
        let mut fields = server_first.split(',');
        let mut field = |key: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(key))
                .ok_or_else(|| malformed(&format!("lacks {key}")))
        };
        let (nonce, salt, iterations) = (field("r=")?, field("s=")?, field("i=")?);
        // The server's nonce extends the client's: a replayed or foreign exchange would not.
        if nonce.len() <= self.nonce.len() || !nonce.starts_with(&self.nonce) {
            return Err(malformed("does not extend the client's nonce"));
        }
        let salt = BASE64
            .decode(salt)
            .ok()
            .filter(|salt| !salt.is_empty())
            .ok_or_else(|| malformed("has no salt in base64"))?;
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| malformed("has no iteration count"))?;
        if iterations.get() > MAX_ITERATIONS {
            return Err(malformed(&format!(
                "asks for more than {MAX_ITERATIONS} iterations"
            )));
        }
        let hash = self.hash;
        // The password is used as given (UTF-8), without SASLprep (RFC 4013): that changes
        // nothing for printable ASCII. Dovecot does the same.
        let mut salted = Zeroizing::new(vec![0u8; hash.digest().output_len()]);
        pbkdf2::derive(
            hash.pbkdf2(),
            iterations,
            &salt,
            password.as_bytes(),
            &mut salted,
        );
        let client_key = hash.mac(&salted, b"Client Key");
        let stored_key = digest::digest(hash.digest(), &client_key);
        let without_proof = format!("c={},r={nonce}", BASE64.encode(GS2_HEADER.as_bytes()));
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hash.mac(stored_key.as_ref(), auth_message.as_bytes());
        let proof: Zeroizing<Vec<u8>> = Zeroizing::new(
            client_key
                .iter()
                .zip(client_signature.iter())
                .map(|(key, signature)| key ^ signature)
                .collect(),
        );
        let server_key = hash.mac(&salted, b"Server Key");
        let server_signature = hash.mac(&server_key, auth_message.as_bytes());
        let mut client_final = Zeroizing::new(String::with_capacity(without_proof.len() + 64));
        client_final.push_str(&without_proof);
        client_final.push_str(",p=");
        BASE64.encode_string(&*proof, &mut client_final);
        let client_final = Message::masked(client_final.as_bytes());
        Ok((client_final, server_signature))
    }
}

/// Whether two byte strings are equal, in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        assert_eq!(
            *Mechanism::Plain.response("tim", "tanstaaftanstaaf"),
            "\0tim\0tanstaaftanstaaf"
        );
        assert_eq!(
            *Mechanism::XOAuth2.response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
            "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
        assert_eq!(
            *Mechanism::OAuthBearer.response("a,b=c", "tok"),
            "n,a=a=2Cb=3Dc,\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(*Mechanism::External.response("brandon", ""), "brandon");
    }

    fn initial(mechanism: Mechanism, user: &str, secret: &str) -> Vec<u8> {
        let exchange = Exchange::new(mechanism, user, secret).unwrap();
        exchange.initial_response().unwrap().data.to_vec()
    }

    /// The message that answers `challenge` (given decoded), decoded.
    fn answer(exchange: &mut Exchange, challenge: &str) -> (String, bool) {
        match exchange.respond(&BASE64.encode(challenge)).unwrap() {
            Step::Respond(message) => (
                String::from_utf8(message.data.to_vec()).unwrap(),
                message.secret,
            ),
            Step::Refused { report, .. } => panic!("refused: {report}"),
        }
    }

    #[test]
    fn names() {
        assert_eq!("xoauth2".parse::<Mechanism>().unwrap(), Mechanism::XOAuth2);
        assert_eq!(
            "OAUTHBEARER".parse::<Mechanism>().unwrap(),
            Mechanism::OAuthBearer
        );
        assert_eq!(
            "external".parse::<Mechanism>().unwrap(),
            Mechanism::External
        );
        assert_eq!(
            "scram-sha-256".parse::<Mechanism>().unwrap(),
            Mechanism::ScramSha256
        );
        assert_eq!("Cram-MD5".parse::<Mechanism>().unwrap(), Mechanism::CramMd5);
        assert!("gssapi".parse::<Mechanism>().is_err());
        assert!("scram-sha-256-plus".parse::<Mechanism>().is_err());
        assert_eq!(Mechanism::Plain.to_string(), "PLAIN");
        assert_eq!(Mechanism::ScramSha1.to_string(), "SCRAM-SHA-1");
    }

    #[test]
    fn cram_md5_rfc_2195_example() {
        let mut exchange = Exchange::new(Mechanism::CramMd5, "tim", "tanstaaftanstaaf").unwrap();
        assert!(exchange.initial_response().is_none());
        let (response, secret) =
            answer(&mut exchange, "<1896.697170952@postoffice.reston.mci.net>");
        assert_eq!(response, "tim b913a602c7eda7a495b4e6e7334d3890");
        assert!(secret);
        assert!(exchange.accepted().is_ok());
    }

    #[test]
    fn hmac_md5_rfc_2104_vectors() {
        // RFC 2104's second test, and a key longer than a block (RFC 2202, test 6).
        assert_eq!(
            *hex(&*hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            *hex(&*hmac_md5(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
    }

    #[test]
    fn login_answers_the_two_prompts() {
        let mut exchange = Exchange::new(Mechanism::Login, "brandon", "abc123").unwrap();
        assert!(exchange.initial_response().is_none());
        assert_eq!(
            answer(&mut exchange, "Username:"),
            ("brandon".into(), false)
        );
        assert_eq!(answer(&mut exchange, "Password:"), ("abc123".into(), true));
        let Ok(Step::Refused { report, closing }) = exchange.respond(&BASE64.encode("Again?"))
        else {
            panic!("a third prompt is a refusal")
        };
        assert_eq!((report.as_str(), closing), ("Again?", "*"));
    }

    /// A SCRAM exchange with the nonce of an RFC example, not a random one.
    fn scram(hash: ScramHash, nonce: &str, password: &'static str) -> Exchange<'static> {
        Exchange {
            mechanism: match hash {
                ScramHash::Sha1 => Mechanism::ScramSha1,
                ScramHash::Sha256 => Mechanism::ScramSha256,
            },
            user: "user",
            secret: password,
            state: State::Scram(Scram::new(hash, "user", nonce)),
        }
    }

    /// RFC 5802, section 5 (SCRAM-SHA-1) and RFC 7677, section 3 (SCRAM-SHA-256): client-first,
    /// client-final with the proof, and the server's signature accepted.
    #[test]
    fn scram_rfc_examples() {
        let examples = [
            (
                ScramHash::Sha1,
                "fyko+d2lbbFgONRv9qkxdawL",
                "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
                "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
                "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
            ),
            (
                ScramHash::Sha256,
                "rOprNGfwEbeRWgbNEkqO",
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            ),
        ];
        for (hash, nonce, server_first, client_final, server_final) in examples {
            let mut exchange = scram(hash, nonce, "pencil");
            let first = exchange.initial_response().unwrap();
            assert_eq!(*first.data, format!("n,,n=user,r={nonce}").as_bytes());
            assert!(!first.secret);
            assert_eq!(
                answer(&mut exchange, server_first),
                (client_final.to_string(), true)
            );
            assert!(matches!(
                exchange.accepted(),
                Err(Error::ServerSignature { missing: true })
            ));
            assert_eq!(answer(&mut exchange, server_final), (String::new(), false));
            assert!(exchange.accepted().is_ok());
        }
    }

    #[test]
    fn scram_refuses_a_wrong_server_signature() {
        let mut exchange = scram(ScramHash::Sha1, "fyko+d2lbbFgONRv9qkxdawL", "pencil");
        answer(
            &mut exchange,
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        );
        for wrong in [
            "v=rmF9pqV8S7suAoZWja4dJRkFsKA=",
            "v=",
            "v=!!",
            "v=cm1GOXBxVjhTN3N1QW9aV2phNGRKUmtGc0tRPT0=",
        ] {
            let err = exchange
                .respond(&BASE64.encode(wrong))
                .err()
                .expect("a wrong signature is an error");
            assert_eq!(
                err.to_string(),
                "the server's SCRAM signature does not match: it does not know the password, or someone is in the middle"
            );
        }
        assert!(exchange.accepted().is_err());
    }

    #[test]
    fn scram_server_errors_and_malformed_messages() {
        let mut exchange = scram(ScramHash::Sha256, "abc", "pencil");
        let Ok(Step::Refused { report, closing }) =
            exchange.respond(&BASE64.encode("e=unknown-user"))
        else {
            panic!("e= is the server's refusal")
        };
        assert_eq!((report.as_str(), closing), ("e=unknown-user", "*"));
        for (server_first, why) in [
            (
                "r=xyz123,s=c2FsdA==,i=4096",
                "does not extend the client's nonce",
            ),
            (
                "r=abc,s=c2FsdA==,i=4096",
                "does not extend the client's nonce",
            ),
            ("r=abcdef,s=,i=4096", "has no salt"),
            ("r=abcdef,s=c2FsdA==,i=0", "has no iteration count"),
            ("r=abcdef,s=c2FsdA==", "lacks i="),
            (
                "r=abcdef,s=c2FsdA==,i=4294967295",
                "more than 10000000 iterations",
            ),
            ("m=ext,r=abcdef,s=c2FsdA==,i=4096", "requires an extension"),
        ] {
            let mut exchange = scram(ScramHash::Sha256, "abc", "pencil");
            let err = exchange
                .respond(&BASE64.encode(server_first))
                .err()
                .unwrap();
            assert!(
                matches!(&err, Error::Protocol(what) if what.contains(why)),
                "{server_first}: {err}"
            );
        }
        let mut exchange = scram(ScramHash::Sha256, "abc", "pencil");
        assert!(matches!(
            exchange.respond("not base64!"),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn scram_names_and_nonces() {
        let first = initial(Mechanism::ScramSha256, "a,b=c", "pencil");
        let first = String::from_utf8(first).unwrap();
        let nonce = first.strip_prefix("n,,n=a=2Cb=3Dc,r=").unwrap();
        assert_eq!(nonce.len(), 24);
        assert!(!nonce.contains(','));
        let again = String::from_utf8(initial(Mechanism::ScramSha256, "a", "p")).unwrap();
        assert!(!again.ends_with(nonce), "a fresh nonce each time");
    }

    #[test]
    fn external_names_the_mailbox_on_the_auth_line() {
        use crate::{scripted::ScriptedStream, Client};
        let server = "+OK ready\r\n+OK Logged in.\r\n";
        let mut client = Client::new(ScriptedStream::new(server)).unwrap();
        client
            .authenticate(Mechanism::External, "brandon", "")
            .unwrap();
        assert_eq!(
            client.get_ref().written_text(),
            "AUTH EXTERNAL YnJhbmRvbg==\r\n"
        );
    }
}
