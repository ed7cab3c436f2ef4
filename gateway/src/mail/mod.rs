//! Outgoing mail: templates (subject, text, HTML) rendered into the outbox, and the worker
//! that sends the outbox through SMTP or into `.eml` files.

mod worker;

pub use catalog::outbox::{Template, escape_html};
pub use worker::{IN_FLIGHT, LEASE, Transport, spawn_worker, spawn_worker_until};

/// The login link message; variable `link`.
pub const LOGIN_LINK: Template = catalog::mail_template!("login_link");

/// The alert digest; variables `count`, `frequency`, `search`, `items_text`, `items_html`,
/// `search_link`, `unsubscribe_link`.
pub const ALERT_DIGEST: Template = catalog::mail_template!("alert_digest");

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::email::Email;

    #[test]
    fn rendering_fills_placeholders_and_escapes_html() {
        let to = Email::parse("maire@village.fr").unwrap();
        let mail = LOGIN_LINK.render(to, &[("link", "https://g.fr/login?token=a&b")]);
        assert_eq!(mail.subject, "Votre lien de connexion à Guichet");
        assert!(mail.text.contains("https://g.fr/login?token=a&b"));
        assert!(mail.html.contains("https://g.fr/login?token=a&amp;b"));
        assert!(!mail.html.contains("{{"));
    }
}
