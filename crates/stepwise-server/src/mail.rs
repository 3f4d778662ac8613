//! E-mail, when the server has an SMTP server to send through (`--smtp-url`): password reset
//! links people ask for themselves, and invites staff choose to send. Without one, nothing is
//! e-mailed and the care team hands codes over in person (links and QR codes).
//!
//! The SMTP URL is lettre's: `smtp://HOST:PORT` (plain, for a relay on the same machine or
//! network), `smtp://HOST:587?tls=required` (STARTTLS), `smtps://HOST:465` (TLS from the
//! start), with `USER:PASSWORD@` when the server wants a login. The URL may hold a password:
//! it is never logged (only its host is).

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Longest wait for the SMTP server to take a message.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the mailer could not be set up, or a message not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL is not one lettre understands.
    #[error("--smtp-url is not an SMTP URL (smtp://HOST:PORT, smtps://HOST:PORT, …): {0}")]
    Url(String),
    /// The sender address is not an address.
    #[error("--mail-from is not an e-mail address: {0}")]
    From(String),
    /// A recipient address is not an address.
    #[error("not an e-mail address: {0}")]
    To(String),
    /// The SMTP server refused or could not be reached.
    #[error("the mail server did not take the message: {0}")]
    Send(String),
}

/// An e-mail to send.
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Sends e-mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// A mailer for `smtp_url`, sending as `from` (`Stepwise <stepwise@clinic.example>`).
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, MailError> {
        let host = url::Url::parse(smtp_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .ok_or_else(|| MailError::Url("no host".into()))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailError::From(e.to_string()))?;
        Ok(Mailer {
            transport,
            from,
            host,
        })
    }

    /// Sends `mail`.
    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| MailError::To(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(|e| MailError::To(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Send(e.to_string()))?;
        tracing::info!(host = %self.host, "e-mail sent");
        Ok(())
    }
}

/// The e-mail with a password reset link the person asked for.
pub fn reset_mail(to: &str, name: &str, link: &str, code: &str, valid_hours: i64) -> Mail {
    Mail {
        to: to.to_string(),
        subject: "Choose a new Stepwise password".into(),
        body: format!(
            "Hello {name},\n\n\
             someone (we hope you) asked to choose a new password for Stepwise.\n\n\
             Open this link within {valid_hours} hours to choose it:\n\
             {link}\n\n\
             Or open the sign-in page, choose \"Forgot your password?\" and enter this code: \
             {code}\n\n\
             The link works once. If you did not ask, you can ignore this e-mail: your password \
             stays as it is.\n"
        ),
    }
}

/// The e-mail with an invite to create an account.
pub fn invite_mail(to: &str, clinic: &str, link: &str, code: &str, valid_days: i64) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("{clinic} invites you to Stepwise"),
        body: format!(
            "Hello,\n\n\
             {clinic} invites you to Stepwise, the home walking programme your care team \
             follows with you.\n\n\
             Open this link within {valid_days} days to create your account:\n\
             {link}\n\n\
             Or open Stepwise, choose \"Create your account\" and enter this code: {code}\n\n\
             The invitation works once.\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_addresses_are_checked_and_the_password_never_shown() {
        let mailer = Mailer::new(
            "smtp://user:s3cret@mail.example:2525",
            "Stepwise <sw@clinic.example>",
        )
        .expect("a mailer");
        let shown = format!("{mailer:?}");
        assert!(shown.contains("mail.example"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(matches!(
            Mailer::new("http://mail.example", "sw@clinic.example"),
            Err(MailError::Url(_))
        ));
        assert!(matches!(
            Mailer::new("smtp://mail.example", "not an address"),
            Err(MailError::From(_))
        ));
    }

    #[test]
    fn the_reset_mail_holds_the_link_and_the_code() {
        let mail = reset_mail(
            "pat@example.org",
            "Pat",
            "https://x.example/app/reset#code=AB",
            "AB",
            24,
        );
        assert!(mail.body.contains("https://x.example/app/reset#code=AB"));
        assert!(mail.body.contains("enter this code: AB"));
        assert!(mail.body.contains("within 24 hours"));
    }
}
