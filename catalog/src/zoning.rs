//! Zonings: named, dated and sourced lists of communes (a LEADER GAL's territory, « Petites
//! villes de demain », France Ruralités Revitalisation…) that a scheme's perimeter may name
//! (`perimeter.zonings`). A commune is inside a zoning when its list holds the commune's
//! INSEE code. A zoning Guichet does not have, or has without communes, decides nothing.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::entity::{zoning as zoning_row, zoning_commune};
use crate::error::Result;

/// One zoning with its communes.
#[derive(Clone, Debug, PartialEq)]
pub struct Zoning {
    pub slug: String,
    pub name: String,
    /// Address of the public list the communes come from.
    pub source: String,
    /// The date the list is valid on.
    pub as_of: NaiveDate,
    communes: HashSet<Box<str>>,
}

impl Zoning {
    pub fn new(
        slug: impl Into<String>,
        name: impl Into<String>,
        source: impl Into<String>,
        as_of: NaiveDate,
        communes: impl IntoIterator<Item = String>,
    ) -> Self {
        Zoning {
            slug: slug.into(),
            name: name.into(),
            source: source.into(),
            as_of,
            communes: communes.into_iter().map(String::into_boxed_str).collect(),
        }
    }

    /// Whether the commune with this INSEE code is in the list.
    pub fn contains(&self, commune: &str) -> bool {
        self.communes.contains(commune)
    }

    pub fn commune_count(&self) -> usize {
        self.communes.len()
    }

    /// Whether its communes are loaded: a zoning without communes decides nothing.
    pub fn is_loaded(&self) -> bool {
        !self.communes.is_empty()
    }

    /// Its communes' INSEE codes, in no particular order.
    pub fn communes(&self) -> impl Iterator<Item = &str> {
        self.communes.iter().map(|c| &**c)
    }
}

/// Every zoning Guichet has, by slug.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Zonings {
    by_slug: HashMap<String, Zoning>,
}

impl Zonings {
    pub fn new(zonings: impl IntoIterator<Item = Zoning>) -> Self {
        Zonings {
            by_slug: zonings.into_iter().map(|z| (z.slug.clone(), z)).collect(),
        }
    }

    pub fn get(&self, slug: &str) -> Option<&Zoning> {
        self.by_slug.get(slug)
    }

    /// Every zoning, by slug.
    pub fn all(&self) -> Vec<&Zoning> {
        let mut all: Vec<&Zoning> = self.by_slug.values().collect();
        all.sort_by(|a, b| a.slug.cmp(&b.slug));
        all
    }

    pub fn len(&self) -> usize {
        self.by_slug.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_slug.is_empty()
    }

    /// Every zoning stored in the database, with its communes.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let rows = zoning_row::Entity::find().all(db).await?;
        let mut communes: HashMap<i64, Vec<String>> = HashMap::new();
        for row in zoning_commune::Entity::find().all(db).await? {
            communes.entry(row.zoning_id).or_default().push(row.code);
        }
        Ok(Zonings::new(rows.into_iter().map(|row| {
            Zoning::new(
                row.slug,
                row.name,
                row.source,
                row.as_of,
                communes.remove(&row.id).unwrap_or_default(),
            )
        })))
    }
}
