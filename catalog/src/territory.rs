//! French territories (régions, départements, EPCI, communes) from Etalab's découpage
//! administratif, embedded in the binary, searchable in memory and copied into the database.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, EntityTrait, Set, TransactionSession, TransactionTrait};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::entity::{meta, territory};
use crate::error::Result;
use crate::text::place_key;

/// The derived data file; see `scripts/territories/`.
const EMBEDDED: &str = include_str!("../data/territories.tsv");

/// The level of a territory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerritoryKind {
    Region,
    Department,
    Epci,
    Commune,
}

impl TerritoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TerritoryKind::Region => "REGION",
            TerritoryKind::Department => "DEPARTMENT",
            TerritoryKind::Epci => "EPCI",
            TerritoryKind::Commune => "COMMUNE",
        }
    }

    /// The one-letter form used in the data file.
    pub fn letter(self) -> char {
        match self {
            TerritoryKind::Region => 'R',
            TerritoryKind::Department => 'D',
            TerritoryKind::Epci => 'E',
            TerritoryKind::Commune => 'C',
        }
    }

    fn from_letter(letter: &str) -> Option<Self> {
        match letter {
            "R" => Some(TerritoryKind::Region),
            "D" => Some(TerritoryKind::Department),
            "E" => Some(TerritoryKind::Epci),
            "C" => Some(TerritoryKind::Commune),
            _ => None,
        }
    }
}

/// One territory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Territory {
    pub code: String,
    pub name: String,
    pub kind: TerritoryKind,
    pub population: i64,
    pub postcodes: Vec<String>,
    /// For a commune: its EPCI (if any), département and région; for an EPCI: its
    /// départements and régions; for a département: its région.
    pub parents: Vec<(TerritoryKind, String)>,
}

/// Every territory, indexed for look-up by code, postcode and name.
pub struct Territories {
    list: Vec<Territory>,
    keys: Vec<String>,
    /// Région and département codes overlap: a code may name two territories.
    by_code: HashMap<String, Vec<usize>>,
    by_postcode: HashMap<String, Vec<usize>>,
    version: String,
}

impl Territories {
    /// The territories embedded in the binary.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED).expect("the embedded territory file is valid")
    }

    /// Parses the tab-separated territory file (`#` lines are comments).
    pub fn parse(data: &str) -> Result<Self, String> {
        let mut list = Vec::with_capacity(40_000);
        for (number, line) in data.lines().enumerate() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [kind, code, name, population, postcodes, parents] = cols[..] else {
                return Err(format!("line {}: expected 6 columns", number + 1));
            };
            let bad = |what: &str| format!("line {}: bad {what}", number + 1);
            let mut parent_refs = Vec::new();
            for parent in parents.split(',').filter(|p| !p.is_empty()) {
                let (letter, code) = parent.split_at_checked(1).ok_or_else(|| bad("parent"))?;
                let kind = TerritoryKind::from_letter(letter).ok_or_else(|| bad("parent"))?;
                parent_refs.push((kind, code.to_owned()));
            }
            list.push(Territory {
                code: code.to_owned(),
                name: name.to_owned(),
                kind: TerritoryKind::from_letter(kind).ok_or_else(|| bad("kind"))?,
                population: population.parse().map_err(|_| bad("population"))?,
                postcodes: postcodes
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                parents: parent_refs,
            });
        }
        let keys = list.iter().map(|t| place_key(&t.name)).collect();
        let mut by_code = HashMap::with_capacity(list.len());
        let mut by_postcode: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in list.iter().enumerate() {
            by_code
                .entry(t.code.clone())
                .or_insert_with(Vec::new)
                .push(i);
            for postcode in &t.postcodes {
                by_postcode.entry(postcode.clone()).or_default().push(i);
            }
        }
        let version = format!("{:x}", Sha256::digest(data.as_bytes()));
        Ok(Territories {
            list,
            keys,
            by_code,
            by_postcode,
            version,
        })
    }

    /// A digest of the data, to know when the database copy is stale.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn all(&self) -> &[Territory] {
        &self.list
    }

    /// The territory with this code; where a département and a région share it, the
    /// département (use [`Territories::get_kind`] for the région).
    pub fn get(&self, code: &str) -> Option<&Territory> {
        let indices = self.by_code.get(code.trim().to_uppercase().as_str())?;
        indices
            .iter()
            .map(|&i| &self.list[i])
            .min_by_key(|t| t.kind == TerritoryKind::Region)
    }

    /// The territory a reference names: a bare code (see [`Territories::get`]) or a code
    /// prefixed with its kind, `REGION:76`, `DEPARTMENT:76`, `EPCI:…`, `COMMUNE:…`, the only
    /// way to name a région whose code is also a département's.
    pub fn resolve(&self, reference: &str) -> Option<&Territory> {
        match reference.trim().split_once(':') {
            Some((kind, code)) => {
                let kind = match kind.trim().to_uppercase().as_str() {
                    "REGION" => TerritoryKind::Region,
                    "DEPARTMENT" => TerritoryKind::Department,
                    "EPCI" => TerritoryKind::Epci,
                    "COMMUNE" => TerritoryKind::Commune,
                    _ => return None,
                };
                self.get_kind(code, kind)
            }
            None => self.get(reference),
        }
    }

    /// The territory `code` of `kind`.
    pub fn get_kind(&self, code: &str, kind: TerritoryKind) -> Option<&Territory> {
        let indices = self.by_code.get(code.trim().to_uppercase().as_str())?;
        indices
            .iter()
            .map(|&i| &self.list[i])
            .find(|t| t.kind == kind)
    }

    /// The parents of a territory, resolved.
    pub fn parents_of<'a>(
        &'a self,
        territory: &'a Territory,
    ) -> impl Iterator<Item = &'a Territory> {
        territory
            .parents
            .iter()
            .filter_map(|(kind, code)| self.get_kind(code, *kind))
    }

    /// Finds territories by code, postcode or name (case, accents, hyphens and « saint »
    /// insensitive), best match first: exact code, postcode, exact name, name prefix, word
    /// prefix, then anywhere; larger populations first within a rank.
    pub fn search(&self, query: &str, first: usize) -> Vec<&Territory> {
        let query = crate::text::search_text(query).trim();
        if query.is_empty() || first == 0 {
            return Vec::new();
        }
        let mut ranked: Vec<(u8, usize)> = Vec::new();
        if let Some(indices) = self.by_code.get(query.to_uppercase().as_str()) {
            ranked.extend(indices.iter().map(|&i| (0, i)));
        }
        if let Some(indices) = self.by_postcode.get(query) {
            ranked.extend(indices.iter().map(|&i| (1, i)));
        }
        let key = place_key(query);
        if !key.is_empty() {
            let word_prefix = format!(" {key}");
            for (i, name) in self.keys.iter().enumerate() {
                let rank = if *name == key {
                    2
                } else if name.starts_with(&key) {
                    3
                } else if name.contains(&word_prefix) {
                    4
                } else if key.len() >= 3 && name.contains(&key) {
                    5
                } else {
                    continue;
                };
                ranked.push((rank, i));
            }
        }
        ranked.sort_by(|(ra, a), (rb, b)| {
            ra.cmp(rb)
                .then(self.list[*b].population.cmp(&self.list[*a].population))
                .then(self.list[*a].code.cmp(&self.list[*b].code))
        });
        let mut seen = std::collections::HashSet::new();
        ranked
            .into_iter()
            .filter(|(_, i)| seen.insert(*i))
            .take(first)
            .map(|(_, i)| &self.list[i])
            .collect()
    }
}

const VERSION_KEY: &str = "territories_version";

/// Copies the territories into the database when it does not hold this version yet.
/// Returns true when it loaded them.
#[tracing::instrument(skip_all)]
pub async fn sync_to_database<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    territories: &Territories,
) -> Result<bool> {
    let current = meta::Entity::find_by_id(VERSION_KEY).one(db).await?;
    if current.as_ref().map(|m| m.value.as_str()) == Some(territories.version()) {
        return Ok(false);
    }
    let txn = crate::db::begin_write(db).await?;
    territory::Entity::delete_many().exec(&txn).await?;
    for chunk in territories.all().chunks(2_000) {
        let rows = chunk.iter().map(|t| territory::ActiveModel {
            code: Set(t.code.clone()),
            kind: Set(t.kind.as_str().to_owned()),
            name: Set(t.name.clone()),
            population: Set(t.population),
            postcodes: Set(t.postcodes.join(",")),
            parents: Set(t
                .parents
                .iter()
                .map(|(kind, code)| format!("{}{code}", kind.letter()))
                .collect::<Vec<_>>()
                .join(",")),
        });
        territory::Entity::insert_many(rows).exec(&txn).await?;
    }
    meta::set(&txn, VERSION_KEY, territories.version()).await?;
    txn.commit().await?;
    tracing::info!(count = territories.len(), "territories loaded");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Territories {
        Territories::parse(
            "# comment\n\
             R\t44\tGrand Est\t5500000\t\t\n\
             R\t52\tPays de la Loire\t3800000\t\t\n\
             D\t52\tHaute-Marne\t170000\t\tR44\n\
             E\t200068120\tCA de Chaumont\t45000\t\tD52,R44\n\
             C\t52121\tChaumont\t21945\t52000\tE200068120,D52,R44\n\
             C\t52448\tSaint-Dizier\t22858\t52100\tD52,R44\n\
             C\t52450\tSaint-Dizier-l'Évêque\t300\t90100\tD52,R44\n",
        )
        .unwrap()
    }

    #[test]
    fn finds_by_code_postcode_and_name_best_first() {
        let t = sample();
        assert_eq!(t.search("52121", 5)[0].name, "Chaumont");
        assert_eq!(t.search("52000", 5)[0].name, "Chaumont");
        let both: Vec<_> = t.search("52", 5).iter().map(|t| t.name.clone()).collect();
        assert_eq!(both, ["Pays de la Loire", "Haute-Marne"]);
        assert_eq!(t.get("52").unwrap().name, "Haute-Marne");
        assert_eq!(
            t.get_kind("52", TerritoryKind::Region).unwrap().name,
            "Pays de la Loire"
        );
        let chaumont = t.get("52121").unwrap();
        let parents: Vec<_> = t.parents_of(chaumont).map(|p| p.name.clone()).collect();
        assert_eq!(parents, ["CA de Chaumont", "Haute-Marne", "Grand Est"]);
        let names: Vec<_> = t
            .search("st dizier", 5)
            .iter()
            .map(|t| t.name.clone())
            .collect();
        assert_eq!(names, ["Saint-Dizier", "Saint-Dizier-l'Évêque"]);
        assert_eq!(t.search("HAUTE MARNE", 5)[0].code, "52");
        assert_eq!(t.search("eveque", 5)[0].code, "52450");
        assert!(t.search("   ", 5).is_empty());
        assert!(t.search("zzzz", 5).is_empty());
    }

    #[test]
    fn rejects_a_malformed_file() {
        assert!(Territories::parse("C\t1\tX\n").is_err());
        assert!(Territories::parse("X\t1\tX\t1\t\t\n").is_err());
        assert!(Territories::parse("C\t1\tX\t1\t\tQ52\n").is_err());
    }

    #[test]
    fn the_embedded_file_has_every_level() {
        let t = Territories::embedded();
        assert!(t.len() > 36_000, "{} territories", t.len());
        let chaumont = t.get_kind("52121", TerritoryKind::Commune).unwrap();
        assert!(
            chaumont
                .parents
                .contains(&(TerritoryKind::Department, "52".to_owned()))
        );
        assert_eq!(t.get("2A").unwrap().kind, TerritoryKind::Department);
    }
}
