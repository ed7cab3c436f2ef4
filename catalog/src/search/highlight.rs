//! Snippets: a short extract of a text around the words the query matched, those words in
//! `<mark>`, everything else HTML-escaped.

use std::collections::HashSet;

use tantivy::tokenizer::{TextAnalyzer, TokenStream};

use super::analysis;

/// Longest snippet, in bytes of the original text (about as many characters).
const MAX_LEN: usize = 220;
/// Context kept before the first marked word when the snippet does not start the text.
const LEAD: usize = 40;

/// Marks the stems of a query in texts. Words are folded first and only those that begin
/// like one of the stems are stemmed (a French stem keeps the first letters of its word).
pub struct Highlighter {
    plain: TextAnalyzer,
    stemmed: TextAnalyzer,
    stems: HashSet<String>,
    /// The first letters of each stem.
    prefixes: Vec<String>,
}

/// How many first letters of a stem a word must share to be stemmed and compared.
const PREFIX: usize = 3;

impl Highlighter {
    /// `stems` are the query's terms as the stemmed analyzer makes them.
    pub fn new(stems: HashSet<String>) -> Self {
        let mut prefixes: Vec<String> = stems
            .iter()
            .map(|s| s.chars().take(PREFIX).collect())
            .collect();
        prefixes.sort();
        prefixes.dedup();
        Highlighter {
            plain: analysis::plain(),
            stemmed: analysis::stemmed(),
            stems,
            prefixes,
        }
    }

    /// A snippet of the first of `texts` that contains a query term.
    pub fn snippet<'a>(&mut self, texts: impl IntoIterator<Item = &'a str>) -> Option<String> {
        if self.stems.is_empty() {
            return None;
        }
        texts.into_iter().find_map(|text| self.snippet_of(text))
    }

    /// The matched words of the window of `text` that starts at its first match.
    fn snippet_of(&mut self, text: &str) -> Option<String> {
        let mut marks: Vec<(usize, usize)> = Vec::new();
        let Highlighter {
            plain,
            stemmed,
            stems,
            prefixes,
        } = self;
        let mut stream = plain.token_stream(text);
        while let Some(token) = stream.next() {
            if let Some(&(first, _)) = marks.first()
                && token.offset_to > first + MAX_LEN
            {
                break;
            }
            if !prefixes.iter().any(|p| token.text.starts_with(p.as_str())) {
                continue;
            }
            let mut stem = stemmed.token_stream(&token.text);
            if stem.advance() && stems.contains(&stem.token().text) {
                marks.push((token.offset_from, token.offset_to));
            }
        }
        let &(first, _) = marks.first()?;
        let start = if first <= LEAD {
            0
        } else {
            word_start(text, first - LEAD)
        };
        let end = word_end(text, (start + MAX_LEN).min(text.len()));
        let mut html = String::with_capacity(end - start + marks.len() * 13 + 8);
        if start > 0 {
            html.push('…');
        }
        let mut at = start;
        for (from, to) in marks.into_iter().filter(|(_, to)| *to <= end) {
            escape_into(&mut html, &text[at..from]);
            html.push_str("<mark>");
            escape_into(&mut html, &text[from..to]);
            html.push_str("</mark>");
            at = to;
        }
        escape_into(&mut html, &text[at..end]);
        if end < text.len() {
            html.push('…');
        }
        Some(html)
    }
}

/// The start of the word at or after byte `i`.
fn word_start(text: &str, i: usize) -> usize {
    let mut i = i;
    while !text.is_char_boundary(i) {
        i += 1;
    }
    match text[i..].find(char::is_whitespace) {
        Some(space) => i + space + 1,
        None => i,
    }
}

/// The end of the last whole word at or before byte `i`.
fn word_end(text: &str, i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    let mut i = i;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    text[..i].rfind(char::is_whitespace).unwrap_or(i)
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn highlighter(words: &[&str]) -> Highlighter {
        let mut analyzer = analysis::stemmed();
        let stems = words
            .iter()
            .flat_map(|w| analysis::tokens(&mut analyzer, w))
            .collect();
        Highlighter::new(stems)
    }

    #[test]
    fn marks_stems_and_escapes_the_rest() {
        let mut h = highlighter(&["école"]);
        let html = h
            .snippet(["Rénover <b>les</b> écoles & « l'Ecole » du village"])
            .unwrap();
        assert_eq!(
            html,
            "Rénover &lt;b&gt;les&lt;/b&gt; <mark>écoles</mark> &amp; « l&#39;<mark>Ecole</mark> » du village"
        );
    }

    #[test]
    fn falls_back_to_the_next_text_and_cuts_long_ones_at_words() {
        let mut h = highlighter(&["boulangerie"]);
        assert_eq!(
            h.snippet(["rien ici", "une boulangerie"]).unwrap(),
            "une <mark>boulangerie</mark>"
        );
        assert!(h.snippet(["rien ici"]).is_none());
        let long = format!("{}boulangerie {}", "début ".repeat(30), "fin ".repeat(80));
        let html = h.snippet([long.as_str()]).unwrap();
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
        assert!(html.contains("<mark>boulangerie</mark>"));
        assert!(html.chars().count() < MAX_LEN + 20, "{html}");
        assert!(!html.contains("  "));
        let mut h = highlighter(&["chevaux"]);
        assert_eq!(
            h.snippet(["Un cheval, des chevaux, une chèvre"]).unwrap(),
            "Un <mark>cheval</mark>, des <mark>chevaux</mark>, une chèvre"
        );
    }

    #[test]
    fn cuts_on_character_boundaries() {
        let mut h = highlighter(&["épicerie"]);
        // 40 bytes before the match falls inside an « é », and so may the end.
        let text = format!("{}épicerie{}", "aéé ".repeat(61), " àé".repeat(100));
        let html = h.snippet([text.as_str()]).unwrap();
        assert!(html.starts_with("…aéé ") && html.ends_with('…'), "{html}");
        assert!(html.contains(" <mark>épicerie</mark> àé"), "{html}");
    }
}
