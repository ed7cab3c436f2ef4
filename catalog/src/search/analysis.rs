//! French text analysis for the index and for queries: words split on anything that is not
//! a letter or digit (so « tiers-lieux » and « tiers lieux » are the same, and elisions such
//! as « l' » fall away as stop words), lowercased, French stop words removed, accents folded,
//! and stemmed (`fr`), or kept whole for literal and typo-tolerant matching (`fr_plain`).

use std::sync::OnceLock;

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TokenStream,
};

/// Stemmed French analyzer.
pub const STEMMED: &str = "fr";
/// Folded but unstemmed analyzer.
pub const PLAIN: &str = "fr_plain";

fn stop_words() -> StopWordFilter {
    StopWordFilter::new(Language::French).expect("French stop words are built in")
}

/// The stemmed analyzer (built once: building one makes its stop word set).
pub fn stemmed() -> TextAnalyzer {
    static STEMMED: OnceLock<TextAnalyzer> = OnceLock::new();
    STEMMED
        .get_or_init(|| {
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(stop_words())
                .filter(AsciiFoldingFilter)
                .filter(Stemmer::new(Language::French))
                .build()
        })
        .clone()
}

/// The unstemmed analyzer (built once).
pub fn plain() -> TextAnalyzer {
    static PLAIN: OnceLock<TextAnalyzer> = OnceLock::new();
    PLAIN
        .get_or_init(|| {
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(stop_words())
                .filter(AsciiFoldingFilter)
                .build()
        })
        .clone()
}

/// Registers both analyzers by name; needed on every open of the index.
pub fn register(index: &Index) {
    index.tokenizers().register(STEMMED, stemmed());
    index.tokenizers().register(PLAIN, plain());
}

/// The tokens an analyzer makes of `text`.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    positioned_tokens(analyzer, text)
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

/// The tokens with their positions: removed stop words leave gaps, as in the index.
pub fn positioned_tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push((token.position, token.text.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_accents_elisions_and_hyphens_meet() {
        let mut fr = stemmed();
        assert_eq!(tokens(&mut fr, "écoles"), tokens(&mut fr, "ecole"));
        assert_eq!(tokens(&mut fr, "Épicerie"), tokens(&mut fr, "epicerie"));
        assert_eq!(
            tokens(&mut fr, "tiers-lieux"),
            tokens(&mut fr, "tiers lieux")
        );
        assert_eq!(tokens(&mut fr, "l'école"), tokens(&mut fr, "école"));
        assert_eq!(
            tokens(&mut fr, "vidéo-protection"),
            tokens(&mut fr, "video protection")
        );
        let mut plain = plain();
        assert_eq!(
            tokens(&mut plain, "Crèches d'enfants"),
            ["creches", "enfants"]
        );
    }
}
