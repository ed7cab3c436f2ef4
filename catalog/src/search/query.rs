//! From what people type to a tantivy query. Any string is a valid query: words are
//! required (AND) with a fallback to any of them (OR) when that finds nothing; `"…"` is an
//! exact phrase; `-word` excludes. Each word matches its stem in the title, summary, topics
//! and description (in decreasing weight), its literal form a little more, its synonyms less,
//! and, from five letters on, one wrong, missing or swapped letter least.
//!
//! One search has a small fixed ceiling of memory and work: only the start of the text is read
//! (500 characters, 32 words), only the first eight words tolerate a typo and at most 32
//! synonyms are added.

use std::collections::HashSet;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use super::analysis::{self, positioned_tokens, tokens};
use crate::synonym::Thesaurus;
use crate::text::{self, MAX_SEARCH_WORDS};

/// What the user typed, split into its parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Folded words outside quotes and exclusions.
    pub words: Vec<String>,
    /// Quoted phrases, as typed.
    pub phrases: Vec<String>,
    /// Excluded words, as typed (without the `-`).
    pub excluded: Vec<String>,
}

impl ParsedQuery {
    /// Splits what was typed. Only the first [`text::MAX_SEARCH_CHARS`] characters and, in the order
    /// typed, the first [`MAX_SEARCH_WORDS`] words (a phrase counts its words, an exclusion
    /// one) are read: the rest is ignored, so that any text is a valid search of bounded cost.
    pub fn parse(text: &str) -> Self {
        let mut parsed = ParsedQuery::default();
        let mut budget = MAX_SEARCH_WORDS;
        for (i, part) in text::search_text(text).split('"').enumerate() {
            if budget == 0 {
                break;
            }
            if i % 2 == 1 {
                let phrase: Vec<&str> = part.split_whitespace().take(budget).collect();
                if !phrase.is_empty() {
                    budget -= phrase.len();
                    parsed.phrases.push(phrase.join(" "));
                }
                continue;
            }
            for token in part.split_whitespace() {
                if budget == 0 {
                    break;
                }
                match token.strip_prefix('-') {
                    Some(rest) if !rest.is_empty() && !rest.starts_with('-') => {
                        budget -= 1;
                        parsed.excluded.push(rest.to_owned())
                    }
                    _ => {
                        let words: Vec<String> = text::words(token).take(budget).collect();
                        budget -= words.len();
                        parsed.words.extend(words);
                    }
                }
            }
        }
        parsed
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }
}

/// The text fields of the index, stemmed and plain, with their weights.
#[derive(Clone, Copy)]
pub struct TextFields {
    pub stemmed: [(Field, f32); 4],
    pub plain: [(Field, f32); 4],
}

const LITERAL_BONUS: f32 = 0.5;
const SYNONYM_WEIGHT: f32 = 0.4;
const FUZZY_WEIGHT: f32 = 0.3;
const PROXIMITY_WEIGHT: f32 = 1.0;
/// Words, in the order typed, that also match with a typo: each costs an automaton walk of
/// every plain field's dictionary.
const MAX_FUZZY_WORDS: usize = 8;
/// Synonyms, over the whole query, that are also looked for.
const MAX_SYNONYMS: usize = 32;

fn boost(query: Box<dyn Query>, weight: f32) -> Box<dyn Query> {
    if (weight - 1.0).abs() < f32::EPSILON {
        query
    } else {
        Box::new(BoostQuery::new(query, weight))
    }
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

/// Builds tantivy queries with the index's analyzers.
pub struct Builder<'a> {
    fields: TextFields,
    stemmed: TextAnalyzer,
    plain: TextAnalyzer,
    thesaurus: &'a Thesaurus,
    /// The stems the query looks for (not those it excludes), to highlight them.
    stems: HashSet<String>,
    /// Typo-tolerant words and synonyms the query being built may still add.
    fuzzy_left: usize,
    synonyms_left: usize,
}

impl<'a> Builder<'a> {
    pub fn new(fields: TextFields, thesaurus: &'a Thesaurus) -> Self {
        Builder {
            fields,
            stemmed: analysis::stemmed(),
            plain: analysis::plain(),
            thesaurus,
            stems: HashSet::new(),
            fuzzy_left: MAX_FUZZY_WORDS,
            synonyms_left: MAX_SYNONYMS,
        }
    }

    /// The stems of the queries built so far, exclusions aside.
    pub fn into_stems(self) -> HashSet<String> {
        self.stems
    }

    /// Matches `text` (a word or an expression) in the stemmed fields, as a phrase when it
    /// has several words. `None` when it is only stop words.
    fn stemmed_match(&mut self, text: &str, slop: u32) -> Option<Box<dyn Query>> {
        let stems = positioned_tokens(&mut self.stemmed, text);
        if stems.is_empty() {
            return None;
        }
        self.stems.extend(stems.iter().map(|(_, s)| s.clone()));
        let per_field = self
            .fields
            .stemmed
            .iter()
            .map(|&(field, weight)| {
                let query: Box<dyn Query> = if stems.len() == 1 {
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, &stems[0].1),
                        IndexRecordOption::WithFreqs,
                    ))
                } else {
                    let terms = stems
                        .iter()
                        .map(|(position, s)| (*position, Term::from_field_text(field, s)))
                        .collect();
                    Box::new(PhraseQuery::new_with_offset_and_slop(terms, slop))
                };
                boost(query, weight)
            })
            .collect();
        Some(any_of(per_field))
    }

    /// One expression of the query with its synonyms, literal form and typo tolerance.
    fn expression(&mut self, words: &[String], synonyms: &[String]) -> Option<Box<dyn Query>> {
        let text = words.join(" ");
        let mut alternatives = vec![self.stemmed_match(&text, 1)?];
        let plain = tokens(&mut self.plain, &text);
        if plain.len() == 1 {
            let word = &plain[0];
            let fuzzy = word.chars().count() >= 5 && self.fuzzy_left > 0;
            if fuzzy {
                self.fuzzy_left -= 1;
            }
            for &(field, weight) in &self.fields.plain {
                let term = Term::from_field_text(field, word);
                alternatives.push(boost(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    weight * LITERAL_BONUS,
                ));
                if fuzzy {
                    alternatives.push(boost(
                        Box::new(FuzzyTermQuery::new(term, 1, true)),
                        weight * FUZZY_WEIGHT,
                    ));
                }
            }
        }
        let kept = synonyms.len().min(self.synonyms_left);
        self.synonyms_left -= kept;
        for synonym in &synonyms[..kept] {
            if let Some(query) = self.stemmed_match(synonym, 1) {
                alternatives.push(boost(query, SYNONYM_WEIGHT));
            }
        }
        Some(any_of(alternatives))
    }

    /// The query for `parsed`: every expression required when `all`, any otherwise.
    pub fn build(&mut self, parsed: &ParsedQuery, all: bool) -> Box<dyn Query> {
        self.fuzzy_left = MAX_FUZZY_WORDS;
        self.synonyms_left = MAX_SYNONYMS;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let expressions = self.thesaurus.expressions(&parsed.words);
        let mut required = 0;
        for (words, synonyms) in &expressions {
            if let Some(query) = self.expression(words, synonyms) {
                clauses.push((if all { Occur::Must } else { Occur::Should }, query));
                required += 1;
            }
        }
        for phrase in &parsed.phrases {
            if let Some(query) = self.stemmed_match(phrase, 0) {
                clauses.push((Occur::Must, query));
                required += 1;
            }
        }
        if parsed.words.len() > 1
            && let Some(query) = self.stemmed_match(&parsed.words.join(" "), 3)
        {
            clauses.push((Occur::Should, boost(query, PROXIMITY_WEIGHT)));
        }
        if required == 0 {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let sought = self.stems.clone();
        for word in &parsed.excluded {
            if let Some(query) = self.stemmed_match(word, 0) {
                clauses.push((Occur::MustNot, query));
            }
        }
        self.stems = sought;
        Box::new(BooleanQuery::new(clauses))
    }
}

#[cfg(test)]
mod tests {
    use super::ParsedQuery;
    use crate::text::{MAX_SEARCH_CHARS, MAX_SEARCH_WORDS};

    #[test]
    fn quotes_and_exclusions_are_recognised_and_anything_parses() {
        let q = ParsedQuery::parse("café \"maison de santé\" -artisanat village");
        assert_eq!(q.words, ["cafe", "village"]);
        assert_eq!(q.phrases, ["maison de santé"]);
        assert_eq!(q.excluded, ["artisanat"]);
        for odd in [
            "\"",
            "-",
            "--",
            "\"\"\"",
            "((",
            "title:x AND",
            "<script>",
            "   ",
            "-\"a\"",
        ] {
            let _ = ParsedQuery::parse(odd);
        }
        assert!(ParsedQuery::parse(" - ").is_empty());
        let unbalanced = ParsedQuery::parse("\"tiers lieux");
        assert_eq!(unbalanced.phrases, ["tiers lieux"]);
    }

    #[test]
    fn only_the_first_words_of_a_long_text_are_read_in_the_order_typed() {
        let long: Vec<String> = (0..3_000).map(|i| format!("mot{i}")).collect();
        let q = ParsedQuery::parse(&long.join(" "));
        assert_eq!(q.words.len(), MAX_SEARCH_WORDS);
        assert_eq!(q.words[..], long[..MAX_SEARCH_WORDS]);

        let q = ParsedQuery::parse(
            "un \"deux trois\" -quatre cinq-six sept huit neuf dix onze douze treize quatorze \
             quinze seize dix-sept dix-huit dix-neuf vingt vingt-et-un vingt-deux vingt-trois \
             trente deux trop",
        );
        let counted = q.words.len()
            + q.phrases
                .iter()
                .map(|p| p.split(' ').count())
                .sum::<usize>()
            + q.excluded.len();
        assert_eq!(counted, MAX_SEARCH_WORDS);
        assert_eq!(q.phrases, ["deux trois"]);
        assert_eq!(q.excluded, ["quatre"]);
        assert_eq!(q.words.last().map(String::as_str), Some("deux"));

        // A phrase longer than what is left is cut to it.
        let q = ParsedQuery::parse(&format!("\"{}\" apres", long.join(" ")));
        assert_eq!(q.phrases[0].split(' ').count(), MAX_SEARCH_WORDS);
        assert!(q.words.is_empty());
    }

    #[test]
    fn only_the_first_characters_of_a_long_text_are_read_even_mid_character() {
        // 100 KB without spaces: one word, cut on a character boundary.
        let q = ParsedQuery::parse(&"é".repeat(50_000));
        assert_eq!(q.words, ["e".repeat(MAX_SEARCH_CHARS)]);
        let q = ParsedQuery::parse(&format!("{}🌾🌾", "a".repeat(MAX_SEARCH_CHARS - 1)));
        assert_eq!(q.words.concat().chars().count(), MAX_SEARCH_CHARS - 1);
        // Hyphens make many words of one token: still at most the cap.
        let q = ParsedQuery::parse(&"a-".repeat(5_000));
        assert_eq!(q.words.len(), MAX_SEARCH_WORDS);
    }
}
