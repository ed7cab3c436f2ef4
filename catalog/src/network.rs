//! Funders as they are organised: a funder may be a network of local services (a service is
//! a funder with a `parent` and a `jurisdiction`). Which service a dossier reaches for a
//! commune, who is notified when a service has nobody to read its mail, and whether a funder
//! receives dossiers in Guichet at all.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::actor::Role;
use crate::entity::{account, funder as funder_row};
use crate::error::Result;
use crate::territory::{Territories, Territory, TerritoryKind};
use crate::zoning::Zonings;

/// The prefix of a jurisdiction entry naming a zoning.
pub const ZONING_PREFIX: &str = "zoning:";

/// One funder of the network graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub parent: Option<i64>,
    pub jurisdiction: Vec<String>,
    pub contact_email: Option<String>,
    /// How many agents (accounts with the funder role) it has.
    pub agents: usize,
    /// Curated by staff: imports leave it alone.
    pub curated: bool,
}

impl Node {
    /// Whether someone reads its mail: a contact address or an agent.
    pub fn has_reader(&self) -> bool {
        self.contact_email.is_some() || self.agents > 0
    }
}

/// Every funder with its parent, jurisdiction and readers.
#[derive(Clone, Debug, Default)]
pub struct Network {
    nodes: HashMap<i64, Node>,
    children: HashMap<i64, Vec<i64>>,
}

/// Parses the stored jurisdiction column (a JSON list).
pub fn parse_jurisdiction(column: Option<&str>) -> Vec<String> {
    column
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// The jurisdiction as stored: null when empty.
pub fn jurisdiction_column(jurisdiction: &[String]) -> Option<String> {
    (!jurisdiction.is_empty())
        .then(|| serde_json::to_string(jurisdiction).unwrap_or_else(|_| "[]".into()))
}

impl Network {
    /// The network of every stored funder.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let rows = funder_row::Entity::find().all(db).await?;
        let agent_rows: Vec<Option<i64>> = account::Entity::find()
            .select_only()
            .column(account::Column::FunderId)
            .filter(account::Column::Role.eq(Role::Funder.as_str()))
            .filter(account::Column::FunderId.is_not_null())
            .into_tuple()
            .all(db)
            .await?;
        let mut agents: HashMap<i64, usize> = HashMap::new();
        for id in agent_rows.into_iter().flatten() {
            *agents.entry(id).or_default() += 1;
        }
        Ok(Network::new(rows.into_iter().map(|row| Node {
            id: row.id,
            agents: agents.get(&row.id).copied().unwrap_or(0),
            jurisdiction: parse_jurisdiction(row.jurisdiction.as_deref()),
            slug: row.slug,
            name: row.name,
            parent: row.parent_id,
            contact_email: row.contact_email,
            curated: row.curated,
        })))
    }

    pub fn new(nodes: impl IntoIterator<Item = Node>) -> Self {
        let nodes: HashMap<i64, Node> = nodes.into_iter().map(|n| (n.id, n)).collect();
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for node in nodes.values() {
            if let Some(parent) = node.parent {
                children.entry(parent).or_default().push(node.id);
            }
        }
        for list in children.values_mut() {
            list.sort_unstable();
        }
        Network { nodes, children }
    }

    pub fn get(&self, id: i64) -> Option<&Node> {
        self.nodes.get(&id)
    }

    pub fn by_slug(&self, slug: &str) -> Option<&Node> {
        self.nodes.values().find(|n| n.slug == slug)
    }

    /// The funder itself, then its parent, its parent's parent… (a stored cycle, which
    /// validation refuses, stops the walk).
    pub fn ancestors(&self, id: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut current = Some(id);
        while let Some(at) = current {
            if out.contains(&at) || !self.nodes.contains_key(&at) {
                break;
            }
            out.push(at);
            current = self.nodes[&at].parent;
        }
        out
    }

    /// The head of the network the funder belongs to (itself when it has no parent).
    pub fn head(&self, id: i64) -> i64 {
        *self.ancestors(id).last().unwrap_or(&id)
    }

    /// How many parents the funder has.
    pub fn depth(&self, id: i64) -> usize {
        self.ancestors(id).len().saturating_sub(1)
    }

    /// The direct services of a funder.
    pub fn services(&self, id: i64) -> &[i64] {
        self.children.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The funder and every service below it, at any depth.
    pub fn descendants(&self, id: i64) -> Vec<i64> {
        let mut out = vec![id];
        let mut seen: HashSet<i64> = HashSet::from([id]);
        let mut i = 0;
        while i < out.len() {
            for &child in self.services(out[i]) {
                if seen.insert(child) {
                    out.push(child);
                }
            }
            i += 1;
        }
        out
    }

    /// Whether the funder receives dossiers in Guichet: it or a parent has an agent or a
    /// contact address.
    pub fn receives(&self, id: i64) -> bool {
        self.reader(id).is_some()
    }

    /// The funder whose readers are told of what reaches `id`: itself when it has an agent
    /// or a contact address, else the nearest parent that has one.
    pub fn reader(&self, id: i64) -> Option<i64> {
        self.ancestors(id)
            .into_iter()
            .find(|a| self.nodes[a].has_reader())
    }

    /// Whether some service of the funder's network below it (itself included) receives:
    /// a scheme of that funder can be filed in Guichet for at least some communes.
    pub fn some_service_receives(&self, id: i64) -> bool {
        self.receives(id)
            || self
                .descendants(id)
                .into_iter()
                .any(|d| self.nodes.get(&d).is_some_and(Node::has_reader))
    }

    /// The service a dossier for `commune` sent to funder `id` reaches: the most local
    /// service of its network below it (itself included) whose jurisdiction contains the
    /// commune — the deepest first, then the smallest jurisdiction (by population) — else
    /// the funder itself.
    pub fn route(
        &self,
        id: i64,
        commune: &Territory,
        territories: &Territories,
        zonings: &Zonings,
    ) -> i64 {
        let mut best: Option<(usize, i64, i64)> = None;
        for candidate in self.descendants(id) {
            let Some(node) = self.nodes.get(&candidate) else {
                continue;
            };
            if node.jurisdiction.is_empty()
                || !contains(&node.jurisdiction, commune, territories, zonings)
            {
                continue;
            }
            let depth = self.depth(candidate);
            let size = population(&node.jurisdiction, territories, zonings);
            let better = match best {
                None => true,
                Some((d, s, c)) => {
                    depth > d || (depth == d && (size < s || (size == s && candidate < c)))
                }
            };
            if better {
                best = Some((depth, size, candidate));
            }
        }
        best.map_or(id, |(_, _, c)| c)
    }
}

/// Whether a jurisdiction contains the commune: it names the commune, its EPCI, its
/// département or its région, or a zoning listing it.
pub fn contains(
    jurisdiction: &[String],
    commune: &Territory,
    territories: &Territories,
    zonings: &Zonings,
) -> bool {
    let mut places: HashSet<(TerritoryKind, &str)> = HashSet::new();
    places.insert((commune.kind, commune.code.as_str()));
    for (kind, code) in &commune.parents {
        places.insert((*kind, code.as_str()));
    }
    jurisdiction.iter().any(|entry| {
        if let Some(slug) = entry.strip_prefix(ZONING_PREFIX) {
            zonings.get(slug).is_some_and(|z| z.contains(&commune.code))
        } else {
            territories
                .resolve(entry)
                .is_some_and(|t| places.contains(&(t.kind, t.code.as_str())))
        }
    })
}

/// The population a jurisdiction covers (to prefer the smallest of two that both contain a
/// commune).
fn population(jurisdiction: &[String], territories: &Territories, zonings: &Zonings) -> i64 {
    jurisdiction
        .iter()
        .map(|entry| match entry.strip_prefix(ZONING_PREFIX) {
            Some(slug) => zonings.get(slug).map_or(0, |z| {
                z.communes()
                    .filter_map(|c| territories.get_kind(c, TerritoryKind::Commune))
                    .map(|t| t.population)
                    .sum()
            }),
            None => territories.resolve(entry).map_or(0, |t| t.population),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn territories() -> &'static Territories {
        crate::eligibility::tests::territories()
    }

    fn node(id: i64, slug: &str, parent: Option<i64>, jurisdiction: &[&str]) -> Node {
        Node {
            id,
            slug: slug.into(),
            name: slug.into(),
            parent,
            jurisdiction: jurisdiction.iter().map(|s| s.to_string()).collect(),
            contact_email: None,
            agents: 0,
            curated: false,
        }
    }

    #[test]
    fn a_dossier_reaches_the_most_local_service_of_the_network() {
        let zonings = Zonings::new([crate::zoning::Zoning::new(
            "gal-test",
            "GAL test",
            "https://example.org",
            chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            ["52448".to_owned()],
        )]);
        let network = Network::new([
            node(1, "etat", None, &[]),
            node(2, "region-ge", Some(1), &["REGION:44"]),
            node(3, "prefecture-52", Some(1), &["52"]),
            node(4, "prefecture-39", Some(1), &["39"]),
            node(5, "sous-prefecture", Some(3), &["zoning:gal-test"]),
            node(6, "other", None, &[]),
        ]);
        let t = territories();
        // Saint-Dizier (52448) is in Haute-Marne and in the GAL: the deeper service wins.
        let saint_dizier = t.get_kind("52448", TerritoryKind::Commune).unwrap();
        assert_eq!(network.route(1, saint_dizier, t, &zonings), 5);
        // Chaumont (52121): the préfecture (a département is smaller than the région).
        let chaumont = t.get_kind("52121", TerritoryKind::Commune).unwrap();
        assert_eq!(network.route(1, chaumont, t, &zonings), 3);
        // Lons-le-Saunier (39300) is in the Jura.
        let lons = t.get_kind("39300", TerritoryKind::Commune).unwrap();
        assert_eq!(network.route(1, lons, t, &zonings), 4);
        // Outside every service: the funder itself.
        let paris = t.get_kind("75056", TerritoryKind::Commune).unwrap();
        assert_eq!(network.route(1, paris, t, &zonings), 1);
        assert_eq!(network.route(6, chaumont, t, &zonings), 6);
        assert_eq!(network.head(5), 1);
        assert_eq!(network.descendants(3), vec![3, 5]);
    }

    #[test]
    fn a_service_receives_through_itself_or_a_parent() {
        let mut head = node(1, "etat", None, &[]);
        let mut network = Network::new([head.clone(), node(2, "prefecture-52", Some(1), &["52"])]);
        assert!(!network.receives(2));
        assert!(!network.some_service_receives(1));
        head.contact_email = Some("contact@example.org".into());
        network = Network::new([head, node(2, "prefecture-52", Some(1), &["52"])]);
        assert!(network.receives(2));
        assert_eq!(network.reader(2), Some(1));
        let mut service = node(2, "prefecture-52", Some(1), &["52"]);
        service.agents = 1;
        network = Network::new([node(1, "etat", None, &[]), service]);
        assert!(!network.receives(1));
        assert!(network.some_service_receives(1));
        assert_eq!(network.reader(2), Some(2));
    }
}
