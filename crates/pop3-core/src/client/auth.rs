//! The logins: USER and PASS, APOP (RFC 1939) and SASL AUTH (RFC 5034). Secrets are
//! masked in the trace, wiped after use, and refused on a connection marked unencrypted.

use std::io::{Read, Write};

use md5::{Digest, Md5};
use zeroize::Zeroizing;

use super::wire::{check_line, MAX_COMMAND_LINE};
use super::Client;
use crate::error::{Error, Result, ServerError};
use crate::response;
use crate::sasl::Mechanism;

/// What the trace shows instead of a secret.
pub(super) const MASK: &str = "********";

impl<S: Read + Write> Client<S> {
    /// Marks the connection as unencrypted: from now on [`Client::pass`] refuses to send the
    /// password (APOP, which sends only a digest, still works). [`crate::Connector`] does
    /// this for plaintext connections unless told the user accepts the risk.
    pub fn refuse_password_in_clear(&mut self) {
        self.refuse_password = true;
    }

    /// USER: names the mailbox. With pipelining on, its answer is not waited for: it is read
    /// with PASS's, and a refusal reported then.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n"))?;
    /// client.user("brandon")?;
    /// assert_eq!(client.get_ref().written_text(), "USER brandon\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn user(&mut self, name: &str) -> Result<()> {
        self.yes_or_no_cmd(&format!("USER {name}"))
    }

    /// PASS: the password, masked in the trace and wiped after. Refused on a connection
    /// marked unencrypted.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// # let mut client = Client::new(ScriptedStream::new("+OK ready\r\n+OK\r\n+OK logged in\r\n"))?;
    /// client.user("brandon")?;
    /// assert_eq!(client.pass("abc123")?, "+OK logged in");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn pass(&mut self, password: &str) -> Result<String> {
        self.check_secret_may_travel()?;
        let line = Zeroizing::new(format!("PASS {password}"));
        let answer = self.short_cmd_traced(&line, &format!("PASS {MASK}"));
        self.note_login(answer)
    }

    /// USER then PASS, both lines checked before either goes out, so that a PASS refused
    /// here leaves no half login behind. With pipelining, both are sent before either answer
    /// is read.
    ///
    /// Nothing else goes out with them, whatever is pipelined: a server may change process
    /// or state at the login's answer (Courier starts the mailbox process then, and loses
    /// what it had already read), so commands for the mailbox are sent once it has come,
    /// with [`Client::send_ahead`] where they can still travel together.
    ///
    /// ```
    /// # use pop3_core::{Client, Command, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+OK\r\n+OK logged in\r\n+OK 2 320\r\n+OK bye\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.set_pipelining(true); // the server listed PIPELINING in CAPA
    /// client.login("brandon", "abc123")?; // USER and PASS in one round trip
    /// client.send_ahead(Command::Stat)?; // then STAT and QUIT in another
    /// client.send_ahead(Command::Quit)?;
    /// assert_eq!(
    ///     client.get_ref().written_text(),
    ///     "USER brandon\r\nPASS abc123\r\nSTAT\r\nQUIT\r\n"
    /// );
    /// assert_eq!(client.stat()?.count, 2); // STAT's answer, nothing sent
    /// client.quit()?; // QUIT's answer, nothing sent
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn login(&mut self, name: &str, password: &str) -> Result<String> {
        check_line(&format!("USER {name}"), "USER", Some(MAX_COMMAND_LINE))?;
        check_line(
            &Zeroizing::new(format!("PASS {password}")),
            "PASS",
            Some(MAX_COMMAND_LINE),
        )?;
        self.check_secret_may_travel()?;
        self.user(name)?;
        self.pass(password)
    }

    /// APOP: logs in with the MD5 digest of the greeting's timestamp and the password, so the
    /// password itself never travels. Refused when the greeting has no proper timestamp.
    ///
    /// ```
    /// # use pop3_core::{Client, scripted::ScriptedStream};
    /// let greeting = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n";
    /// let mut client = Client::new(ScriptedStream::new(format!("{greeting}+OK\r\n")))?;
    /// client.apop("mrose", "tanstaaf")?;
    /// // RFC 1939's example: the digest of the timestamp and the password.
    /// assert_eq!(client.get_ref().written_text(), "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn apop(&mut self, name: &str, password: &str) -> Result<String> {
        let timestamp = response::apop_timestamp(&self.greeting)?.ok_or(Error::ApopNotSupported)?;
        let digest = Md5::new()
            .chain_update(timestamp.as_bytes())
            .chain_update(password.as_bytes())
            .finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let answer = self.short_cmd_traced(
            &format!("APOP {name} {hex}"),
            &format!("APOP {name} {MASK}"),
        );
        self.note_login(answer)
    }

    /// AUTH (RFC 5034): logs in with a SASL mechanism; `secret` is the password (PLAIN) or
    /// the OAuth 2 access token (XOAUTH2, OAUTHBEARER). The response goes on the AUTH line
    /// when that stays within 255 octets, otherwise after the server's `+` (the two-step
    /// form Microsoft requires for its long tokens). When the server answers the response
    /// with an error challenge (a base64 JSON report, for the OAuth mechanisms), the exchange
    /// is finished as the mechanism says and the decoded report is kept in the error's
    /// [`ServerError::details`]. Secrets are masked in the trace.
    ///
    /// ```
    /// # use pop3_core::{Client, Mechanism, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+ \r\n+OK welcome\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.authenticate(Mechanism::XOAuth2, "someuser@example.com", &"t".repeat(300))?;
    /// assert!(client.get_ref().written_text().starts_with("AUTH XOAUTH2\r\ndXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQF"));
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn authenticate(
        &mut self,
        mechanism: Mechanism,
        user: &str,
        secret: &str,
    ) -> Result<String> {
        use base64::Engine as _;
        const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
        self.check_secret_may_travel()?;
        let name = mechanism.name();
        let response = Zeroizing::new(BASE64.encode(mechanism.response(user, secret).as_bytes()));
        let inline = Zeroizing::new(format!("AUTH {name} {}", *response));
        // RFC 5034: a command line of at most 255 octets, CRLF included.
        let mut sent = inline.len() + 2 <= MAX_COMMAND_LINE;
        if sent {
            self.put_line(&inline, &format!("AUTH {name} {MASK}"))?;
        } else {
            let command = format!("AUTH {name}");
            self.put_line(&command, &command)?;
        }
        let mut explained = None;
        for _ in 0..4 {
            let line = self.get_status_line()?;
            if line.starts_with("+OK") {
                self.logged_in = true;
                return Ok(line);
            }
            if line.starts_with("-ERR") {
                return Err(Error::Server(
                    ServerError::new(line).with_details(explained),
                ));
            }
            let Some(challenge) = line.strip_prefix('+') else {
                return Err(self.lose_step(Error::Protocol(format!(
                    "expected +OK, -ERR or a + challenge to AUTH, got {:?}",
                    response::shorten(&line)
                ))));
            };
            if sent {
                // A challenge after the response is the server explaining its refusal.
                let report = BASE64.decode(challenge.trim()).unwrap_or_default();
                explained = Some(String::from_utf8_lossy(&report).into_owned());
                self.put_sasl_line(mechanism.after_error(), "")?;
            } else {
                self.put_sasl_line(&response, MASK)?;
                sent = true;
            }
        }
        Err(self.lose_step(Error::Protocol(
            "AUTH: the server kept sending challenges".into(),
        )))
    }

    /// Notes a login's answer: accepted, the session is in the TRANSACTION state.
    fn note_login(&mut self, answer: Result<String>) -> Result<String> {
        self.logged_in |= answer.is_ok();
        answer
    }

    /// Secrets (passwords, tokens) do not travel on a connection marked unencrypted.
    fn check_secret_may_travel(&self) -> Result<()> {
        if self.refuse_password {
            return Err(Error::SecretInClear);
        }
        Ok(())
    }
}
