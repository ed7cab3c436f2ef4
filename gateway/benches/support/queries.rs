//! The search the web front end sends, and the fixed query list of `queries.txt`: shared by
//! the search benchmark and the load test.

/// The query the web front end sends (web/search.js), facets included.
pub const SEARCH_QUERY: &str =
    "query SearchSchemes($text: String, $filter: SchemeFilter, $sort: SchemeSort!,
    $first: Int!, $after: String, $withFacets: Boolean!) {
  searchSchemes(text: $text, filter: $filter, sort: $sort, first: $first, after: $after) {
    total
    hits {
      highlight
      scheme {
        slug title summary status
        funders { slug name }
        funding { rateMin rateMax amountMin amountMax }
        calendar { recurrence opensOn closesOn }
      }
    }
    facets @include(if: $withFacets) { field values { value label count } }
    pageInfo { endCursor hasNextPage }
  }
}";

/// One line of queries.txt: the text, and a territory after a tab.
#[derive(Clone, Debug)]
pub struct Query {
    pub text: String,
    pub territory: Option<String>,
}

/// Every query of queries.txt (blank lines and `#` comments left out).
pub fn queries() -> Vec<Query> {
    include_str!("../queries.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (text, territory) = match line.split_once('\t') {
                Some((text, territory)) => (text, Some(territory.trim().to_owned())),
                None => (line, None),
            };
            Query {
                text: text.trim().to_owned(),
                territory: territory.filter(|t| !t.is_empty()),
            }
        })
        .collect()
}
