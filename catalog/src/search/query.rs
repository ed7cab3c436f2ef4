//! From what people type to a tantivy query. Any string is a valid query: words are
//! required (AND) with a fallback to any of them (OR) when that finds nothing; `"…"` is an
//! exact phrase; `-word` excludes. Each word matches its stem in the title, summary, topics
//! and description (in decreasing weight), its literal form a little more, its synonyms less,
//! and, from five letters on, one wrong, missing or swapped letter least.

use std::collections::HashSet;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use super::analysis::{self, positioned_tokens, tokens};
use crate::synonym::Thesaurus;

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
    pub fn parse(text: &str) -> Self {
        let mut parsed = ParsedQuery::default();
        let mut free = String::new();
        for (i, part) in text.split('"').enumerate() {
            if i % 2 == 1 {
                if !part.trim().is_empty() {
                    parsed.phrases.push(part.trim().to_owned());
                }
                continue;
            }
            for token in part.split_whitespace() {
                match token.strip_prefix('-') {
                    Some(rest) if !rest.is_empty() && !rest.starts_with('-') => {
                        parsed.excluded.push(rest.to_owned())
                    }
                    _ => {
                        free.push_str(token);
                        free.push(' ');
                    }
                }
            }
        }
        parsed.words = crate::text::words(&free).collect();
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
}

impl<'a> Builder<'a> {
    pub fn new(fields: TextFields, thesaurus: &'a Thesaurus) -> Self {
        Builder {
            fields,
            stemmed: analysis::stemmed(),
            plain: analysis::plain(),
            thesaurus,
            stems: HashSet::new(),
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
            for &(field, weight) in &self.fields.plain {
                let term = Term::from_field_text(field, word);
                alternatives.push(boost(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    weight * LITERAL_BONUS,
                ));
                if word.chars().count() >= 5 {
                    alternatives.push(boost(
                        Box::new(FuzzyTermQuery::new(term, 1, true)),
                        weight * FUZZY_WEIGHT,
                    ));
                }
            }
        }
        for synonym in synonyms {
            if let Some(query) = self.stemmed_match(synonym, 1) {
                alternatives.push(boost(query, SYNONYM_WEIGHT));
            }
        }
        Some(any_of(alternatives))
    }

    /// The query for `parsed`: every expression required when `all`, any otherwise.
    pub fn build(&mut self, parsed: &ParsedQuery, all: bool) -> Box<dyn Query> {
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
}
