//! The facts of every indexed scheme that filters, facets and sorts need, kept in memory in a
//! compact form: facet values and places are interned as numbers, and each scheme's perimeter
//! is stored with the territories that contain it, so that a territory filter is a few integer
//! comparisons per scheme.

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, NaiveDate, Utc};

use super::Filter;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::scheme::Scheme;
use crate::territory::{Territories, TerritoryKind};
use crate::vocab::{AidType, BeneficiaryType, SchemeStatus, theme_label};
use crate::zoning::Zonings;

/// The facets, in the order of [`FACETS`].
pub const FACETS: [&str; 4] = ["themes", "beneficiaryTypes", "aidTypes", "funders"];
pub const AID_TYPES: usize = 2;
const FUNDERS: usize = 3;

/// Gives each distinct value a small number.
struct Interner<K> {
    values: Vec<K>,
    ids: HashMap<K, u32>,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner {
            values: Vec::new(),
            ids: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Interner<K> {
    fn intern(&mut self, value: K) -> u32 {
        if let Some(id) = self.ids.get(&value) {
            return *id;
        }
        let id = self.values.len() as u32;
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }

    fn get<Q>(&self, value: &Q) -> Option<u32>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ids.get(value).copied()
    }

    fn len(&self) -> usize {
        self.values.len()
    }
}

/// A territory as (kind, code).
type Place = (TerritoryKind, Box<str>);

/// What a filter, a facet or a sort needs of one scheme.
pub struct Doc {
    pub id: i64,
    /// The title as a synonym key (folded words), to recognise a query that is the title.
    pub title_key: Box<str>,
    pub status: SchemeStatus,
    national: bool,
    /// Whether the perimeter names a zoning whose communes Guichet does not have: a
    /// territory filter keeps it (the scheme may apply there; eligibility says « à
    /// vérifier »).
    zoning_unknown: bool,
    /// In one allocation, so that a search reads each scheme's facts from one place: the
    /// interned values of the four facets, the places of the perimeter, then every territory
    /// containing one of those places (sorted).
    values: Box<[u32]>,
    /// Where each of those six parts ends in `values`.
    ends: [u32; 6],
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

impl Doc {
    fn part(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.values[start as usize..self.ends[i] as usize]
    }

    fn facet(&self, i: usize) -> &[u32] {
        self.part(i)
    }

    fn places(&self) -> &[u32] {
        self.part(4)
    }

    fn within(&self) -> &[u32] {
        self.part(5)
    }

    pub fn expired(&self, today: NaiveDate) -> bool {
        self.closes_on.is_some_and(|d| d < today)
    }
}

/// The facts of every indexed scheme.
#[derive(Default)]
pub struct Facts {
    docs: Vec<Doc>,
    slots: HashMap<i64, u32>,
    values: [Interner<Box<str>>; 4],
    /// The name of each interned funder slug.
    funder_names: Vec<Box<str>>,
    places: Interner<Place>,
}

impl Facts {
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn slot(&self, id: i64) -> Option<u32> {
        self.slots.get(&id).copied()
    }

    pub fn doc(&self, slot: u32) -> &Doc {
        &self.docs[slot as usize]
    }

    pub fn get(&self, id: i64) -> Option<&Doc> {
        self.slot(id).map(|slot| self.doc(slot))
    }

    pub fn docs(&self) -> impl Iterator<Item = (u32, &Doc)> {
        self.docs.iter().enumerate().map(|(i, d)| (i as u32, d))
    }

    /// Adds or replaces the facts of a scheme. A zoning of its perimeter counts as the list
    /// of its communes.
    pub fn insert(&mut self, s: &Scheme, territories: &Territories, zonings: &Zonings) {
        let r = &s.record;
        let values = [
            r.themes.iter().map(String::as_str).collect::<Vec<_>>(),
            r.beneficiary_types.iter().map(|v| v.as_str()).collect(),
            r.aid_types.iter().map(|v| v.as_str()).collect(),
            r.funders.iter().map(|f| f.slug.as_str()).collect(),
        ];
        let mut parts: Vec<u32> = Vec::new();
        let mut ends = [0u32; 6];
        for (i, facet) in values.iter().enumerate() {
            parts.extend(facet.iter().map(|v| self.values[i].intern((*v).into())));
            ends[i] = parts.len() as u32;
        }
        for f in &r.funders {
            let id = self.values[FUNDERS].intern(f.slug.as_str().into()) as usize;
            if id == self.funder_names.len() {
                self.funder_names.push(f.name.as_str().into());
            } else if *self.funder_names[id] != *f.name {
                self.funder_names[id] = f.name.as_str().into();
            }
        }
        let perimeter = r.perimeter.clone().unwrap_or_default();
        let mut places = Vec::new();
        let mut within = Vec::new();
        let mut zoning_unknown = false;
        let zoned: Vec<&str> = perimeter
            .zonings
            .iter()
            .filter_map(|slug| match zonings.get(slug) {
                Some(z) if z.is_loaded() => Some(z),
                _ => {
                    zoning_unknown = true;
                    None
                }
            })
            .flat_map(|z| z.communes())
            .collect();
        for (kind, codes) in [
            (
                TerritoryKind::Region,
                perimeter.regions.iter().map(String::as_str).collect(),
            ),
            (
                TerritoryKind::Department,
                perimeter.departments.iter().map(String::as_str).collect(),
            ),
            (
                TerritoryKind::Epci,
                perimeter.epcis.iter().map(String::as_str).collect(),
            ),
            (TerritoryKind::Commune, {
                let mut communes: Vec<&str> =
                    perimeter.communes.iter().map(String::as_str).collect();
                communes.extend(zoned);
                communes
            }),
        ] {
            for code in codes {
                places.push(self.places.intern((kind, code.into())));
                if let Some(t) = territories.get_kind(code, kind) {
                    for (kind, code) in &t.parents {
                        within.push(self.places.intern((*kind, code.as_str().into())));
                    }
                }
            }
        }
        places.sort_unstable();
        places.dedup();
        within.sort_unstable();
        within.dedup();
        parts.extend(places);
        ends[4] = parts.len() as u32;
        parts.extend(within);
        ends[5] = parts.len() as u32;
        let doc = Doc {
            id: s.id,
            title_key: crate::synonym::key(&r.title).into(),
            status: s.status(),
            national: perimeter.is_national(),
            zoning_unknown,
            values: parts.into(),
            ends,
            opens_on: r.calendar.opens_on,
            closes_on: r.calendar.closes_on,
            updated_at: s.updated_at,
        };
        match self.slots.get(&s.id) {
            Some(slot) => self.docs[*slot as usize] = doc,
            None => {
                self.slots.insert(s.id, self.docs.len() as u32);
                self.docs.push(doc);
            }
        }
    }

    /// The label of a facet value, in French.
    fn label(&self, facet: usize, id: u32) -> &str {
        let value = &*self.values[facet].values[id as usize];
        match facet {
            0 => theme_label(value),
            1 => BeneficiaryType::parse(value).map(|v| v.label()),
            2 => AidType::parse(value).map(|v| v.label()),
            _ => Some(&*self.funder_names[id as usize]),
        }
        .unwrap_or(value)
    }
}

/// One value of a facet with the number of results having it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacetValue {
    pub value: String,
    pub label: String,
    pub count: usize,
}

/// The filters of a search, resolved once against the interned values: visible statuses,
/// territory, dates and facet filters.
pub struct Scope {
    statuses: Vec<SchemeStatus>,
    territory: Option<TerritoryScope>,
    open_on: Option<NaiveDate>,
    closes_before: Option<NaiveDate>,
    /// Per facet: `None` when not filtered, else the accepted values (possibly none known).
    facets: [Option<Vec<u32>>; 4],
    /// Facets where a scheme must share a value or have none (see [`Scope::shared_or_none`]).
    lenient: Vec<(usize, Vec<u32>)>,
}

struct TerritoryScope {
    /// The filtered territory, when some scheme's perimeter lies inside it.
    target: Option<u32>,
    /// It and its ancestors, as far as some perimeter names them.
    around: Vec<u32>,
}

impl Scope {
    /// Resolves `filter` as `actor` may use it; an unknown territory is a validation error.
    pub fn new(
        facts: &Facts,
        territories: &Territories,
        filter: &Filter,
        actor: &Actor,
    ) -> Result<Scope> {
        filter.check_dates()?;
        let statuses = if actor.is_staff() && !filter.status.is_empty() {
            filter.status.clone()
        } else {
            vec![SchemeStatus::Published]
        };
        let territory = match &filter.territory {
            Some(code) if !code.trim().is_empty() => {
                let t = territories.resolve(code).ok_or_else(|| {
                    Error::validation(
                        "filter.territory",
                        format!("Territoire inconnu : « {} ».", code.trim()),
                    )
                })?;
                let place =
                    |kind: TerritoryKind, code: &str| facts.places.get(&(kind, code.into()));
                let target = place(t.kind, &t.code);
                let around = target
                    .into_iter()
                    .chain(t.parents.iter().filter_map(|(k, c)| place(*k, c)))
                    .collect();
                Some(TerritoryScope { target, around })
            }
            _ => None,
        };
        let wanted: [Vec<&str>; 4] = [
            filter.themes.iter().map(String::as_str).collect(),
            filter
                .beneficiary_types
                .iter()
                .map(|v| v.as_str())
                .collect(),
            filter.aid_types.iter().map(|v| v.as_str()).collect(),
            filter.funders.iter().map(String::as_str).collect(),
        ];
        let facets = std::array::from_fn(|i| {
            (!wanted[i].is_empty()).then(|| {
                wanted[i]
                    .iter()
                    .filter_map(|v| facts.values[i].get(*v))
                    .collect()
            })
        });
        Ok(Scope {
            statuses,
            territory,
            open_on: filter.open_on,
            closes_before: filter.closes_before,
            facets,
            lenient: Vec::new(),
        })
    }

    /// Also requires a value of `facet` in common with `values`, or none at all (as
    /// eligibility reads a scheme naming no theme: open to every theme). Nothing when
    /// `values` is empty.
    pub fn shared_or_none(mut self, facts: &Facts, facet: usize, values: &[&str]) -> Self {
        if !values.is_empty() {
            let ids = values
                .iter()
                .filter_map(|v| facts.values[facet].get(*v))
                .collect();
            self.lenient.push((facet, ids));
        }
        self
    }

    /// Whether `d` passes the filters that are not facets.
    pub fn admits(&self, d: &Doc) -> bool {
        if !self.statuses.contains(&d.status) {
            return false;
        }
        if let Some(day) = self.open_on
            && (d.opens_on.is_some_and(|o| o > day) || d.closes_on.is_some_and(|c| c < day))
        {
            return false;
        }
        if let Some(day) = self.closes_before
            && d.closes_on.is_none_or(|c| c >= day)
        {
            return false;
        }
        match &self.territory {
            None => true,
            Some(t) => {
                d.national
                    || d.zoning_unknown
                    || t.around.iter().any(|p| d.places().binary_search(p).is_ok())
                    || t.target
                        .is_some_and(|target| d.within().binary_search(&target).is_ok())
            }
        }
    }

    /// Whether `d` passes every filter, facets included.
    pub fn admits_all(&self, d: &Doc) -> bool {
        self.admits(d)
            && self.passes(d).iter().all(|ok| *ok)
            && self.lenient.iter().all(|(facet, ids)| {
                let values = d.facet(*facet);
                values.is_empty() || values.iter().any(|v| ids.contains(v))
            })
    }

    /// Which facet filters `d` passes: one it shares a value with, or one not filtered.
    fn passes(&self, d: &Doc) -> [bool; 4] {
        std::array::from_fn(|i| match &self.facets[i] {
            None => true,
            Some(wanted) => d.facet(i).iter().any(|v| wanted.contains(v)),
        })
    }
}

/// Facet counts of a search: each facet counts the results passing every other filter.
pub struct FacetCounts {
    counts: [Vec<u32>; 4],
}

impl FacetCounts {
    pub fn new(facts: &Facts) -> Self {
        FacetCounts {
            counts: std::array::from_fn(|i| vec![0; facts.values[i].len()]),
        }
    }

    /// Counts `d` (admitted by the scope) and says whether it passes every facet filter.
    pub fn add(&mut self, scope: &Scope, d: &Doc) -> bool {
        let passes = scope.passes(d);
        let failing = passes.iter().filter(|ok| !**ok).count();
        for (i, counts) in self.counts.iter_mut().enumerate() {
            if failing == 0 || (failing == 1 && !passes[i]) {
                for v in d.facet(i) {
                    counts[*v as usize] += 1;
                }
            }
        }
        failing == 0
    }

    /// The facets by name, values by decreasing count then label.
    pub fn into_lists(self, facts: &Facts) -> Vec<(String, Vec<FacetValue>)> {
        FACETS
            .into_iter()
            .zip(self.counts)
            .enumerate()
            .map(|(i, (field, counts))| {
                let mut values: Vec<(FacetValue, String)> = counts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, count)| *count > 0)
                    .map(|(id, count)| {
                        let label = facts.label(i, id as u32);
                        let value = FacetValue {
                            value: facts.values[i].values[id].to_string(),
                            label: label.to_owned(),
                            count: count as usize,
                        };
                        (value, crate::text::fold(label))
                    })
                    .collect();
                values.sort_by(|a, b| b.0.count.cmp(&a.0.count).then_with(|| a.1.cmp(&b.1)));
                (
                    field.to_owned(),
                    values.into_iter().map(|(v, _)| v).collect(),
                )
            })
            .collect()
    }
}
