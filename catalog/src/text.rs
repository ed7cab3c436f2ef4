//! Text shared by territory look-up, search and every form: case and accent folding, word
//! splitting that ignores hyphens and apostrophes, the bound on what a search reads, and the
//! characters a one-line or multi-line field accepts.

use crate::error::{Error, Result};

/// Most characters of a search text that are read; the rest is ignored.
pub const MAX_SEARCH_CHARS: usize = 500;
/// Most words of a search text that are read; the rest are ignored.
pub const MAX_SEARCH_WORDS: usize = 32;

/// The part of a free search text that is read: its first [`MAX_SEARCH_CHARS`] characters
/// (cut on a character boundary). Any text stays a valid search.
pub fn search_text(text: &str) -> &str {
    match text.char_indices().nth(MAX_SEARCH_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Line and paragraph separators: line breaks for a reader though not control characters.
fn is_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Refuses control characters, line breaks included, in a field shown on one line (titles,
/// names, roles, labels, slugs).
pub fn one_line(field: &str, value: &str) -> Result<()> {
    if value.chars().any(|c| c.is_control() || is_separator(c)) {
        let message = if value.contains(['\n', '\r']) || value.chars().any(is_separator) {
            "Ce champ tient sur une ligne : retirez les retours à la ligne."
        } else {
            "Ce champ contient des caractères de contrôle (tabulation…) : retirez-les."
        };
        return Err(Error::validation(field, message));
    }
    Ok(())
}

/// Refuses control characters other than line breaks and tabs in a field of several lines
/// (descriptions, motivations, questions, answers, messages).
pub fn multi_line(field: &str, value: &str) -> Result<()> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Error::validation(
            field,
            "Ce champ contient des caractères de contrôle : retirez-les.",
        ));
    }
    Ok(())
}

/// Lowercases and removes French (and common Latin) diacritics; ligatures are expanded.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                out.push('a')
            }
            'ç' | 'Ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => out.push('i'),
            'ñ' | 'Ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => out.push('u'),
            'ý' | 'ÿ' | 'Ý' | 'Ÿ' => out.push('y'),
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Folds `text` and splits it into words on anything that is not a letter or a digit.
pub fn words(text: &str) -> impl Iterator<Item = String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// A key for place names: folded words joined by single spaces, with « saint » and « sainte »
/// written « st » and « ste » as people often type them.
pub fn place_key(text: &str) -> String {
    words(text)
        .map(|w| match w.as_str() {
            "saint" => "st".to_owned(),
            "sainte" => "ste".to_owned(),
            _ => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_in_sentences_contract_their_article() {
        use super::french::{has_article, of, to};
        assert_eq!(of("l'État"), "de l'État");
        assert_eq!(of("le Département du Jura"), "du Département du Jura");
        assert_eq!(to("le Département du Jura"), "au Département du Jura");
        assert_eq!(of("la Région Grand Est"), "de la Région Grand Est");
        assert_eq!(of("les caisses de la MSA"), "des caisses de la MSA");
        assert_eq!(to("les caisses de la MSA"), "aux caisses de la MSA");
        assert_eq!(
            of("l’Agence de la transition écologique"),
            "de l'Agence de la transition écologique"
        );
        assert_eq!(of("Groupe SOS"), "de Groupe SOS");
        assert!(has_article("l'ANCT") && !has_article("ANCT") && !has_article("Lens"));
    }

    use super::*;

    #[test]
    fn place_keys_ignore_case_accents_hyphens_and_saint() {
        assert_eq!(place_key("Saint-Dizier"), "st dizier");
        assert_eq!(place_key("st dizier"), "st dizier");
        assert_eq!(place_key("L'Haÿ-les-Roses"), "l hay les roses");
        assert_eq!(place_key("ÉCOLE  Œuvre"), "ecole oeuvre");
        assert_eq!(place_key("Sainte-Marie-aux-Mines"), "ste marie aux mines");
    }

    #[test]
    fn a_search_text_is_cut_after_its_first_characters_on_a_character_boundary() {
        assert_eq!(search_text("café"), "café");
        let long = "é".repeat(MAX_SEARCH_CHARS + 10);
        let cut = search_text(&long);
        assert_eq!(cut.chars().count(), MAX_SEARCH_CHARS);
        assert_eq!(cut.len(), 2 * MAX_SEARCH_CHARS);
        let mixed = format!("{}🌾x", "a".repeat(MAX_SEARCH_CHARS - 1));
        assert_eq!(
            search_text(&mixed),
            format!("{}🌾", "a".repeat(MAX_SEARCH_CHARS - 1))
        );
        assert_eq!(search_text(""), "");
    }

    #[test]
    fn one_line_fields_refuse_line_breaks_and_control_characters() {
        assert!(one_line("title", "Maison de santé « Les Tilleuls » – 2026").is_ok());
        for bad in [
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{2028}b",
        ] {
            let Err(Error::Validation { field, message }) = one_line("holder.legalName", bad)
            else {
                panic!("{bad:?} accepted");
            };
            assert_eq!(field, "holder.legalName");
            assert!(!message.is_empty());
        }
    }

    #[test]
    fn multi_line_fields_keep_line_breaks_and_tabs_but_refuse_other_controls() {
        assert!(multi_line("description", "Ligne 1\r\nLigne 2\n\tpuce").is_ok());
        for bad in ["a\u{0}b", "a\u{1b}[31mb", "a\u{7f}", "a\u{9b}b"] {
            assert!(multi_line("description", bad).is_err(), "{bad:?} accepted");
        }
    }
}

/// French typography for messages: numbers, euros, percentages, dates and lists.
pub mod french {
    use chrono::{Datelike, NaiveDate};

    /// Between groups of thousands.
    const NARROW_NBSP: char = '\u{202f}';
    /// Before a unit (€, %).
    const NBSP: char = '\u{a0}';

    /// 22858 → « 22 858 ».
    pub fn number(n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + 8);
        if n < 0 {
            out.push('-');
        }
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(NARROW_NBSP);
            }
            out.push(digit);
        }
        out
    }

    /// 5000 → « 5 000 € ».
    pub fn euros(n: i64) -> String {
        format!("{}{NBSP}€", number(n))
    }

    /// 27.5 → « 27,5 % ».
    pub fn percent(rate: f64) -> String {
        let text = format!("{rate:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{}{NBSP}%", text.replace('.', ","))
    }

    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];

    /// 2026-03-01 → « 1er mars 2026 ».
    pub fn date(d: NaiveDate) -> String {
        let day = match d.day() {
            1 => "1er".to_owned(),
            n => n.to_string(),
        };
        format!("{day} {} {}", MONTHS[d.month0() as usize], d.year())
    }

    /// The articles a name in a sentence may start with, and their contractions after
    /// « de » and « à ».
    const ARTICLES: [Article; 4] = [
        ("le ", "du ", "au "),
        ("les ", "des ", "aux "),
        ("la ", "de la ", "à la "),
        ("l'", "de l'", "à l'"),
    ];

    type Article = (&'static str, &'static str, &'static str);

    fn contract(form: &str, pick: impl Fn(&Article) -> &'static str, bare: &str) -> String {
        let form = form.replace('’', "'");
        for article in &ARTICLES {
            if let Some(rest) = form.strip_prefix(article.0) {
                return format!("{}{rest}", pick(article));
            }
        }
        format!("{bare} {form}")
    }

    /// Whether `form` starts with a definite article (« l'État », « la Région »).
    pub fn has_article(form: &str) -> bool {
        let form = form.replace('’', "'");
        ARTICLES.iter().any(|(a, _, _)| form.starts_with(a))
    }

    /// « l'État » → « de l'État », « le Département » → « du Département ».
    pub fn of(form: &str) -> String {
        contract(form, |a| a.1, "de")
    }

    /// « l'État » → « à l'État », « le Département » → « au Département ».
    pub fn to(form: &str) -> String {
        contract(form, |a| a.2, "à")
    }

    /// « a », « a et b », « a, b et c ».
    pub fn list(items: &[&str]) -> String {
        match items {
            [] => String::new(),
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} et {last}", init.join(", ")),
        }
    }
}
