//! SASL mechanisms for AUTH (RFC 5034): PLAIN (RFC 4616), XOAUTH2 (Google, Microsoft),
//! OAUTHBEARER (RFC 7628) and EXTERNAL (RFC 4422, a TLS client certificate).

use std::fmt;
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::error::Error;

/// A SASL mechanism the client can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// User name and password, in one message (RFC 4616).
    Plain,
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
    /// The name in AUTH and in CAPA's SASL list.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// The client's response, before base64: the mechanism needs no challenge first.
    pub(crate) fn response(self, user: &str, secret: &str) -> Zeroizing<String> {
        Zeroizing::new(match self {
            Mechanism::Plain => format!("\0{user}\0{secret}"),
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {secret}\x01\x01"),
            Mechanism::OAuthBearer => {
                // The GS2 header names the user; `,` and `=` in it are escaped (RFC 5801).
                let user = user.replace('=', "=3D").replace(',', "=2C");
                format!("n,a={user},\x01auth=Bearer {secret}\x01\x01")
            }
            Mechanism::External => user.to_string(),
        })
    }

    /// What answers a challenge that comes after the response: the server's error report.
    /// XOAUTH2 takes an empty line, OAUTHBEARER a lone %x01 (RFC 7628, 3.2.3); PLAIN
    /// expects none, so `*` cancels (RFC 5034).
    pub(crate) fn after_error(self) -> &'static str {
        match self {
            Mechanism::Plain | Mechanism::External => "*",
            Mechanism::XOAuth2 => "",
            Mechanism::OAuthBearer => "AQ==",
        }
    }
}

impl FromStr for Mechanism {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        [
            Mechanism::Plain,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
            Mechanism::External,
        ]
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
        assert!("login".parse::<Mechanism>().is_err());
        assert_eq!(Mechanism::Plain.to_string(), "PLAIN");
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
