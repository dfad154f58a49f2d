//! The logins: USER and PASS, APOP (RFC 1939) and SASL AUTH (RFC 5034), whose mechanisms'
//! rounds are `crate::sasl`'s. Secrets are masked in the trace, wiped after use, and refused
//! on a connection marked unencrypted.

use std::io::{Read, Write};

use md5::{Digest, Md5};
use zeroize::Zeroizing;

use super::wire::{check_line, MAX_COMMAND_LINE};
use super::Client;
use crate::error::{Error, Result, ServerError};
use crate::response;
use crate::sasl::{Exchange, Mechanism, Step};

/// What the trace shows instead of a secret.
pub(super) const MASK: &str = "********";

impl<S: Read + Write> Client<S> {
    /// Marks the connection as unencrypted: from now on [`Client::pass`] refuses to send the
    /// password, and [`Client::authenticate`] the password or token (APOP, CRAM-MD5 and
    /// SCRAM, which send only a digest or a proof, still work). [`crate::Connector`] does
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
        self.yes_or_no_cmd(&format!("USER {name}"), None)
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

    /// AUTH (RFC 5034): logs in with a SASL mechanism; `secret` is the password, or the
    /// OAuth 2 access token (XOAUTH2, OAUTHBEARER). The mechanism's first message, if the
    /// client speaks first, goes on the AUTH line when that stays within 255 octets,
    /// otherwise after the server's `+` (the two-step form Microsoft requires for its long
    /// tokens); then each challenge gets the mechanism's answer. When the server answers with
    /// an error report instead (a base64 JSON report for the OAuth mechanisms, `e=` for
    /// SCRAM), the exchange is finished as the mechanism says and the decoded report is kept
    /// in the error's [`ServerError::details`]. SCRAM checks the server's signature: a server
    /// that fails to prove it knows the password gets [`Error::ServerSignature`] and nothing
    /// more, QUIT included. Secrets and proofs are masked in the trace.
    ///
    /// ```
    /// # use pop3_core::{Client, Mechanism, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+ \r\n+OK welcome\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.authenticate(Mechanism::XOAuth2, "someuser@example.com", &"t".repeat(300))?;
    /// assert!(client.get_ref().written_text().starts_with("AUTH XOAUTH2\r\ndXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQF"));
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    ///
    /// CRAM-MD5, with RFC 2195's example:
    ///
    /// ```
    /// # use pop3_core::{Client, Mechanism, scripted::ScriptedStream};
    /// let server = "+OK ready\r\n+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n+OK\r\n";
    /// let mut client = Client::new(ScriptedStream::new(server))?;
    /// client.authenticate(Mechanism::CramMd5, "tim", "tanstaaftanstaaf")?;
    /// assert_eq!(
    ///     client.get_ref().written_text(),
    ///     "AUTH CRAM-MD5\r\ndGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"
    /// );
    /// # Ok::<(), pop3_core::Error>(())
    /// ```
    pub fn authenticate(
        &mut self,
        mechanism: Mechanism,
        user: &str,
        secret: &str,
    ) -> Result<String> {
        if mechanism.sends_secret() {
            self.check_secret_may_travel()?;
        }
        let name = mechanism.name();
        let mut exchange = Exchange::new(mechanism, user, secret)?;
        let command = format!("AUTH {name}");
        // The first message when it did not fit on the AUTH line: it answers the first `+`.
        let mut held = None;
        match exchange.initial_response() {
            Some(first) => {
                let inline = Zeroizing::new(format!("{command} {}", *first.encoded()));
                // RFC 5034: a command line of at most 255 octets, CRLF included.
                if inline.len() + 2 <= MAX_COMMAND_LINE {
                    let traced = match first.secret {
                        true => format!("{command} {MASK}"),
                        false => inline.to_string(),
                    };
                    self.put_line(&inline, &traced)?;
                } else {
                    self.put_line(&command, &command)?;
                    held = Some(first);
                }
            }
            None => self.put_line(&command, &command)?,
        }
        let mut explained = None;
        for _ in 0..4 {
            let line = match exchange.next_challenge_is_secret() {
                true => self.get_secret_challenge()?,
                false => self.get_status_line()?,
            };
            if line.starts_with("+OK") {
                let accepted = exchange.accepted();
                self.in_step(accepted)?;
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
            let step = match held.take() {
                Some(first) => Step::Respond(first),
                None => {
                    let step = exchange.respond(challenge.trim());
                    self.in_step(step)?
                }
            };
            match step {
                Step::Respond(message) => {
                    let encoded = message.encoded();
                    let traced = if message.secret { MASK } else { &encoded };
                    self.put_sasl_line(&encoded, traced)?;
                }
                Step::Refused { report, closing } => {
                    explained = Some(report);
                    self.put_sasl_line(closing, closing)?;
                }
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
