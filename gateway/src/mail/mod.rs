//! Outgoing mail: templates (subject, text, HTML) rendered into the outbox, and the worker
//! that sends the outbox through SMTP or into `.eml` files.

mod worker;

pub use worker::{Transport, spawn_worker};

use catalog::email::Email;
use catalog::outbox::Mail;

/// A mail template: three files under `src/mail/templates/`.
pub struct Template {
    pub name: &'static str,
    subject: &'static str,
    text: &'static str,
    html: &'static str,
}

macro_rules! template {
    ($name:literal) => {
        Template {
            name: $name,
            subject: include_str!(concat!("templates/", $name, ".subject")),
            text: include_str!(concat!("templates/", $name, ".txt")),
            html: include_str!(concat!("templates/", $name, ".html")),
        }
    };
}

/// The login link message; variable `link`.
pub const LOGIN_LINK: Template = template!("login_link");

/// The alert digest; variables `count`, `frequency`, `search`, `items_text`, `items_html`,
/// `search_link`, `unsubscribe_link`.
pub const ALERT_DIGEST: Template = template!("alert_digest");

/// Escapes text for HTML.
pub fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

impl Template {
    /// Fills `{{name}}` placeholders; values are HTML-escaped in the HTML part, except
    /// those whose name ends in `_html`, which the caller has built safely.
    pub fn render(&self, recipient: Email, vars: &[(&str, &str)]) -> Mail {
        let fill = |source: &str, escape: bool| {
            let mut out = source.to_owned();
            for (name, value) in vars {
                let value = if escape && !name.ends_with("_html") {
                    escape_html(value)
                } else {
                    (*value).to_owned()
                };
                out = out.replace(&format!("{{{{{name}}}}}"), &value);
            }
            out
        };
        Mail {
            template: self.name.to_owned(),
            recipient,
            subject: fill(self.subject.trim(), false),
            text: fill(self.text, false),
            html: fill(self.html, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
