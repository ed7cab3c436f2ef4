//! A cache of the answers to public catalogue searches. Most searches are the same few
//! (the search page without text, its facets, popular words, the next page of a result), and
//! the answer only changes when the search index or the day does: an answer is kept for the
//! index generation and the day it was computed on, and everything is forgotten when either
//! moves on, so a change is never served stale (a mutation commits to the index before it
//! returns; other processes' changes arrive through the index sync).
//!
//! Only requests made without staff rights whose operations select nothing but
//! `searchSchemes` (and `__typename`) are cached, and only answers without errors.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_graphql::parser::types::{OperationType, Selection};
use axum::body::Bytes;
use chrono::NaiveDate;

/// What makes an answer current: the search index generation and the day.
pub type Stamp = (u64, NaiveDate);

/// Default number of answers kept (about 25 KB each for a page of 20 with facets).
pub const DEFAULT_ENTRIES: usize = 1_000;

/// Bounded, first-in first-out.
pub struct SearchCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    stamp: Option<Stamp>,
    answers: HashMap<String, Bytes>,
    order: VecDeque<String>,
}

impl SearchCache {
    /// A cache of at most `capacity` answers; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        SearchCache {
            capacity,
            inner: Mutex::new(Inner {
                stamp: None,
                answers: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    fn current(&self, stamp: Stamp) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.stamp != Some(stamp) {
            inner.stamp = Some(stamp);
            inner.answers.clear();
            inner.order.clear();
        }
        inner
    }

    /// The answer kept for `key`, if it is still current.
    pub fn get(&self, key: &str, stamp: Stamp) -> Option<Bytes> {
        self.current(stamp).answers.get(key).cloned()
    }

    /// Keeps an answer computed at `stamp` (nothing if the index has moved on since).
    pub fn put(&self, key: String, stamp: Stamp, answer: Bytes) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.stamp.is_some_and(|s| s != stamp) {
            return;
        }
        inner.stamp = Some(stamp);
        if inner.answers.insert(key.clone(), answer).is_none() {
            inner.order.push_back(key);
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.answers.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .answers
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cache key of a request: its operation, query, variables and answer media type.
pub fn key(request: &async_graphql::Request, new_media_type: bool) -> String {
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    format!(
        "{}\u{0}{}\u{0}{variables}\u{0}{new_media_type}",
        request.operation_name.as_deref().unwrap_or(""),
        request.query
    )
}

/// Whether every operation of `query` is a query selecting only `searchSchemes` and
/// `__typename` at its root.
pub fn is_public_search(query: &str) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let mut operations = document.operations.iter().peekable();
    operations.peek().is_some()
        && operations.all(|(_, operation)| {
            operation.node.ty == OperationType::Query
                && operation
                    .node
                    .selection_set
                    .node
                    .items
                    .iter()
                    .all(|item| match &item.node {
                        Selection::Field(field) => {
                            matches!(
                                field.node.name.node.as_str(),
                                "searchSchemes" | "__typename"
                            )
                        }
                        _ => false,
                    })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn answers_are_forgotten_when_the_index_or_the_day_moves_on() {
        let cache = SearchCache::new(2);
        cache.put("a".into(), (1, day(27)), Bytes::from_static(b"A"));
        assert_eq!(cache.get("a", (1, day(27))).as_deref(), Some(&b"A"[..]));
        assert_eq!(cache.get("a", (2, day(27))), None, "index changed");
        cache.put("a".into(), (1, day(27)), Bytes::from_static(b"old"));
        assert_eq!(
            cache.get("a", (2, day(27))),
            None,
            "an answer computed before the change is not kept"
        );
        cache.put("a".into(), (2, day(27)), Bytes::from_static(b"A2"));
        assert_eq!(cache.get("a", (2, day(28))), None, "day changed");
    }

    #[test]
    fn the_oldest_answer_goes_first_and_zero_disables() {
        let cache = SearchCache::new(2);
        let stamp = (7, day(27));
        for k in ["a", "b", "c"] {
            cache.put(k.into(), stamp, Bytes::from(k.to_owned()));
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a", stamp), None);
        assert!(cache.get("c", stamp).is_some());
        let off = SearchCache::new(0);
        off.put("a".into(), stamp, Bytes::from_static(b"A"));
        assert!(off.is_empty());
    }

    #[test]
    fn only_operations_that_select_searches_alone_are_public() {
        assert!(is_public_search("{ searchSchemes { total } }"));
        assert!(is_public_search(
            "query Q($t: String) { __typename searchSchemes(text: $t) { total } }"
        ));
        assert!(!is_public_search(
            "{ searchSchemes { total } me { email } }"
        ));
        assert!(!is_public_search("mutation { searchSchemes { total } }"));
        assert!(!is_public_search(
            "{ ...F } fragment F on Query { me { email } }"
        ));
        assert!(!is_public_search("{ searchSchemes { total }"));
        assert!(!is_public_search(
            "query A { searchSchemes { total } } query B { me { email } }"
        ));
    }
}
