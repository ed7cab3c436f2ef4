//! `searchSchemes` and the synonyms that widen it.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use catalog::Actor;
use catalog::search::{Filter, SearchRequest, Sort};
use catalog::synonym::{self, Group};

use super::PageInfoCursor;
use super::catalog::Scheme;
use super::error::ResultExt;
use super::scalars::Date;
use super::vocab::{AidType, BeneficiaryType, SchemeStatus, domain_list};
use crate::app::AppState;

/// DESIGN §6 `SchemeFilter`; every part optional, lists match on any shared value.
#[derive(InputObject, Default)]
pub struct SchemeFilter {
    /// A commune, EPCI or département code, or `REGION:<code>` for a région (région and
    /// département codes overlap): schemes available there.
    pub territory: Option<String>,
    pub beneficiary_types: Option<Vec<BeneficiaryType>>,
    pub themes: Option<Vec<String>>,
    pub aid_types: Option<Vec<AidType>>,
    /// Funder slugs.
    pub funders: Option<Vec<String>>,
    /// Permanent, or open on that day.
    pub open_on: Option<Date>,
    pub closes_before: Option<Date>,
    /// Drafts and archives: staff only.
    pub status: Option<Vec<SchemeStatus>>,
}

impl SchemeFilter {
    pub fn into_domain(self) -> Filter {
        Filter {
            territory: self.territory,
            beneficiary_types: domain_list(self.beneficiary_types),
            themes: self.themes.unwrap_or_default(),
            aid_types: domain_list(self.aid_types),
            funders: self.funders.unwrap_or_default(),
            open_on: self.open_on.map(|d| d.0),
            closes_before: self.closes_before.map(|d| d.0),
            status: domain_list(self.status),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemeSort {
    #[default]
    Relevance,
    ClosingSoon,
    Recent,
}

/// One result.
#[derive(SimpleObject)]
pub struct SchemeHit {
    pub scheme: Scheme,
    pub score: f64,
    /// A snippet with the matched terms in `<mark>`, everything else HTML-escaped.
    pub highlight: Option<String>,
}

#[derive(SimpleObject)]
pub struct FacetValue {
    pub value: String,
    pub label: String,
    pub count: u64,
}

/// Counts per value of `themes`, `beneficiaryTypes`, `aidTypes` or `funders`, on the
/// filtered results, each ignoring its own filter.
#[derive(SimpleObject)]
pub struct Facet {
    pub field: String,
    pub values: Vec<FacetValue>,
}

#[derive(SimpleObject)]
pub struct SchemeSearch {
    pub total: u64,
    pub hits: Vec<SchemeHit>,
    pub facets: Vec<Facet>,
    pub page_info: PageInfoCursor,
}

/// A group of synonyms.
#[derive(SimpleObject)]
pub struct SynonymGroup {
    pub term: String,
    pub synonyms: Vec<String>,
}

impl From<Group> for SynonymGroup {
    fn from(g: Group) -> Self {
        SynonymGroup {
            term: g.term,
            synonyms: g.synonyms,
        }
    }
}

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Searches the catalogue: French analysis, synonyms, typos; `"phrase"` and `-exclusion`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "super::EXPENSIVE_COST + super::page_cost(first.unwrap_or(20), child_complexity)"
    )]
    async fn search_schemes(
        &self,
        ctx: &Context<'_>,
        text: Option<String>,
        filter: Option<SchemeFilter>,
        #[graphql(default_with = "Some(SchemeSort::Relevance)")] sort: Option<SchemeSort>,
        #[graphql(default_with = "Some(20)", validator(minimum = 0, maximum = 100))] first: Option<
            i32,
        >,
        after: Option<String>,
    ) -> async_graphql::Result<SchemeSearch> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let request = SearchRequest {
            text,
            filter: filter.unwrap_or_default().into_domain(),
            sort: match sort.unwrap_or_default() {
                SchemeSort::Relevance => Sort::Relevance,
                SchemeSort::ClosingSoon => Sort::ClosingSoon,
                SchemeSort::Recent => Sort::Recent,
            },
            first: first.unwrap_or(20) as usize,
            after,
            today: catalog::search::today(),
        };
        let result = state.search.search(actor, request).await.gql()?;
        Ok(SchemeSearch {
            total: result.total as u64,
            hits: result
                .hits
                .into_iter()
                .map(|h| SchemeHit {
                    scheme: Scheme(h.scheme),
                    score: f64::from(h.score),
                    highlight: h.highlight,
                })
                .collect(),
            facets: result
                .facets
                .into_iter()
                .map(|(field, values)| Facet {
                    field,
                    values: values
                        .into_iter()
                        .map(|v| FacetValue {
                            value: v.value,
                            label: v.label,
                            count: v.count as u64,
                        })
                        .collect(),
                })
                .collect(),
            page_info: PageInfoCursor {
                end_cursor: result.end_cursor,
                has_next_page: result.has_next_page,
            },
        })
    }

    /// The synonym groups used by the search, by term.
    async fn synonyms(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SynonymGroup>> {
        let state = ctx.data::<AppState>()?;
        Ok(synonym::all(&state.db)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

#[derive(Default)]
pub struct SearchMutation;

#[Object]
impl SearchMutation {
    /// Creates or replaces a synonym group (staff); searches use it at once.
    async fn set_synonyms(
        &self,
        ctx: &Context<'_>,
        term: String,
        synonyms: Vec<String>,
    ) -> async_graphql::Result<SynonymGroup> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let group = synonym::set(&state.db, &state.effects, actor, Group { term, synonyms })
            .await
            .gql()?;
        Ok(group.into())
    }

    /// Deletes a synonym group (staff); true when it existed.
    async fn delete_synonyms(
        &self,
        ctx: &Context<'_>,
        term: String,
    ) -> async_graphql::Result<bool> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let deleted = synonym::delete(&state.db, &state.effects, actor, &term)
            .await
            .gql()?;
        Ok(deleted)
    }
}
