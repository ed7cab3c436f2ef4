//! Territories: look-up by code and search by name, postcode or code.

use async_graphql::{ComplexObject, Context, Object, SimpleObject};

use super::vocab::TerritoryKind;
use crate::app::AppState;

/// A région, département, EPCI or commune.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Territory {
    /// INSEE code (SIREN for an EPCI).
    pub code: String,
    pub name: String,
    pub kind: TerritoryKind,
    pub population: i64,
    pub postcodes: Vec<String>,
    #[graphql(skip)]
    parent_refs: Vec<(catalog::TerritoryKind, String)>,
}

impl From<&catalog::Territory> for Territory {
    fn from(t: &catalog::Territory) -> Self {
        Territory {
            code: t.code.clone(),
            name: t.name.clone(),
            kind: t.kind.into(),
            population: t.population,
            postcodes: t.postcodes.clone(),
            parent_refs: t.parents.clone(),
        }
    }
}

#[ComplexObject]
impl Territory {
    /// For a commune: its EPCI, département and région; for an EPCI: its départements and
    /// régions; for a département: its région.
    async fn parents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Territory>> {
        let state = ctx.data::<AppState>()?;
        Ok(self
            .parent_refs
            .iter()
            .filter_map(|(kind, code)| state.territories.get_kind(code, *kind))
            .map(Territory::from)
            .collect())
    }
}

#[derive(Default)]
pub struct TerritoryQuery;

#[Object]
impl TerritoryQuery {
    /// Territories whose name, postcode or code matches, best first (accent- and
    /// case-insensitive; « st » for « saint »; hyphens optional).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn territories(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(default = 10, validator(minimum = 0, maximum = 100))] first: i32,
    ) -> async_graphql::Result<Vec<Territory>> {
        let state = ctx.data::<AppState>()?;
        Ok(state
            .territories
            .search(&query, first as usize)
            .into_iter()
            .map(Territory::from)
            .collect())
    }

    /// The territory with this code. A bare two- or three-character code names the
    /// département; pass `kind: REGION` for the région that shares it.
    async fn territory(
        &self,
        ctx: &Context<'_>,
        code: String,
        kind: Option<TerritoryKind>,
    ) -> async_graphql::Result<Option<Territory>> {
        let state = ctx.data::<AppState>()?;
        let found = match kind {
            Some(kind) => state.territories.get_kind(&code, kind.into()),
            None => state.territories.get(&code),
        };
        Ok(found.map(Territory::from))
    }
}
