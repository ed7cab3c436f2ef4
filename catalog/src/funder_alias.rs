//! Recognising a funder under its other names: the normalised name an import compares, the
//! editable alias list (`funder_alias`), and how an imported funder is matched with the one
//! Guichet holds — by slug, then by normalised name, then by alias.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::actor::Actor;
use crate::change;
use crate::entity::{funder as funder_row, funder_alias};
use crate::error::{Error, Result};
use crate::funder::{self, Funder, FunderRecord};
use crate::text;

/// Words that do not tell two funders apart: articles and « de/du/des ».
const STOP_WORDS: &[&str] = &[
    "le", "la", "les", "l", "de", "du", "des", "d", "et", "au", "aux", "en",
];

/// The key two names of one funder share: folded words without articles nor « de/du/des »,
/// without a trailing « (sigle) », « Conseil régional de X » read as « Région X » and
/// « Conseil départemental (or général) de X » as « Département X ». So « Conseil régional
/// du Grand Est » and « Région Grand Est » give « region grand est ». A slug gives the key of
/// its words (« region-grand-est » too).
pub fn name_key(name: &str) -> String {
    let name = name.trim();
    let name = match name.strip_suffix(')').and_then(|n| n.rsplit_once('(')) {
        Some((before, _)) if !before.trim().is_empty() => before,
        _ => name,
    };
    let words: Vec<String> = text::words(name).collect();
    let mut key: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let next = words.get(i + 1).map(String::as_str);
        match (words[i].as_str(), next) {
            ("conseil", Some("regional")) => {
                key.push("region");
                i += 2;
                continue;
            }
            ("conseil", Some("departemental" | "general")) => {
                key.push("departement");
                i += 2;
                continue;
            }
            ("saint", _) => key.push("st"),
            ("sainte", _) => key.push("ste"),
            (word, _) if STOP_WORDS.contains(&word) => {}
            (word, _) => key.push(word),
        }
        i += 1;
    }
    key.join(" ")
}

/// How an imported funder was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    Slug,
    Name,
    Alias,
    Created,
}

impl How {
    /// The word the import report uses.
    pub fn label(self) -> &'static str {
        match self {
            How::Slug => "identifiant",
            How::Name => "nom",
            How::Alias => "alias",
            How::Created => "créé",
        }
    }
}

/// The funder Guichet holds under this imported funder's slug, name or alias, if any.
pub async fn find_match(
    db: &impl ConnectionTrait,
    imported: &FunderRecord,
) -> Result<Option<(funder_row::Model, How)>> {
    if let Some(row) = funder_row::Entity::find()
        .filter(funder_row::Column::Slug.eq(imported.slug.trim()))
        .one(db)
        .await?
    {
        return Ok(Some((row, How::Slug)));
    }
    let key = name_key(&imported.name);
    if key.is_empty() {
        return Ok(None);
    }
    // Curated funders first, then the oldest: the one staff look after wins.
    let mut rows = funder_row::Entity::find().all(db).await?;
    rows.sort_by_key(|r| (!r.curated, r.id));
    if let Some(row) = rows.into_iter().find(|r| name_key(&r.name) == key) {
        return Ok(Some((row, How::Name)));
    }
    let by_alias = funder_alias::Entity::find()
        .filter(funder_alias::Column::AliasKey.eq(&key))
        .one(db)
        .await?;
    if let Some(alias) = by_alias
        && let Some(row) = funder_row::Entity::find_by_id(alias.funder_id)
            .one(db)
            .await?
    {
        return Ok(Some((row, How::Alias)));
    }
    Ok(None)
}

/// The record to save for an imported funder matched with `row`: a curated funder as it is;
/// otherwise what it holds, with the imported name and kind when matched by slug, and the
/// imported values of the fields the import gives (what it leaves out is kept).
pub fn resolve(row: &funder_row::Model, how: How, imported: &FunderRecord) -> FunderRecord {
    let mut record = FunderRecord::from_row(row);
    if row.curated {
        return record;
    }
    if how == How::Slug {
        record.name = imported.name.clone();
        record.kind = imported.kind;
    }
    if imported.contact_email.is_some() {
        record.contact_email = imported.contact_email.clone();
    }
    if imported.public_body.is_some() {
        record.public_body = imported.public_body;
    }
    if imported.name_in_sentence.is_some() {
        record.name_in_sentence = imported.name_in_sentence.clone();
    }
    record
}

/// An alias and the funder it names.
#[derive(Clone, Debug, PartialEq)]
pub struct FunderAlias {
    pub alias: String,
    pub funder: Funder,
}

/// Every alias, by alias in French alphabetical order (staff).
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<FunderAlias>> {
    actor.require_staff()?;
    let funders: std::collections::HashMap<i64, Funder> = funder::all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let mut aliases: Vec<FunderAlias> = funder_alias::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| {
            funders.get(&a.funder_id).map(|f| FunderAlias {
                alias: a.alias,
                funder: f.clone(),
            })
        })
        .collect();
    aliases.sort_by_cached_key(|a| text::fold(&a.alias));
    Ok(aliases)
}

/// The aliases of one funder, in French alphabetical order.
pub async fn of_funder(db: &impl ConnectionTrait, funder_id: i64) -> Result<Vec<String>> {
    let mut aliases: Vec<String> = funder_alias::Entity::find()
        .filter(funder_alias::Column::FunderId.eq(funder_id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.alias)
        .collect();
    aliases.sort_by_cached_key(|a| text::fold(a));
    Ok(aliases)
}

/// Makes `alias` a name of the funder `funder_slug` (staff): a new alias, or one that named
/// another funder now names this one. Logged.
pub async fn set(
    db: &impl ConnectionTrait,
    actor: &Actor,
    alias: &str,
    funder_slug: &str,
) -> Result<FunderAlias> {
    actor.require_staff()?;
    let alias = alias.trim();
    text::one_line("alias", alias)?;
    let key = name_key(alias);
    if key.is_empty() {
        return Err(Error::validation(
            "alias",
            "Écrivez le nom sous lequel le financeur apparaît (des mots, pas seulement des articles).",
        ));
    }
    let target = funder::require(db, funder_slug, "funder").await?;
    match funder_alias::Entity::find()
        .filter(funder_alias::Column::AliasKey.eq(&key))
        .one(db)
        .await?
    {
        Some(row) => {
            let mut active: funder_alias::ActiveModel = row.into();
            active.alias = Set(alias.to_owned());
            active.funder_id = Set(target.id);
            funder_alias::Entity::update(active).exec(db).await?;
        }
        None => {
            insert(db, alias, &key, target.id).await?;
        }
    }
    change::record(
        db,
        actor,
        "funder",
        &target.record.slug,
        "alias",
        serde_json::json!({ "alias": alias }),
    )
    .await?;
    Ok(FunderAlias {
        alias: alias.to_owned(),
        funder: target,
    })
}

/// Removes an alias (staff): true when there was one with this name. Logged.
pub async fn delete(db: &impl ConnectionTrait, actor: &Actor, alias: &str) -> Result<bool> {
    actor.require_staff()?;
    let key = name_key(alias);
    let Some(row) = funder_alias::Entity::find()
        .filter(funder_alias::Column::AliasKey.eq(&key))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    funder_alias::Entity::delete_by_id(row.id).exec(db).await?;
    let slug = funder_row::Entity::find_by_id(row.funder_id)
        .one(db)
        .await?
        .map(|f| f.slug)
        .unwrap_or_default();
    change::record(
        db,
        actor,
        "funder",
        &slug,
        "unalias",
        serde_json::json!({ "alias": row.alias }),
    )
    .await?;
    Ok(true)
}

async fn insert(db: &impl ConnectionTrait, alias: &str, key: &str, funder_id: i64) -> Result<()> {
    funder_alias::Entity::insert(funder_alias::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        alias_key: Set(key.to_owned()),
        alias: Set(alias.to_owned()),
        funder_id: Set(funder_id),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Adds `alias` to the funder unless its key is already an alias (of any funder) or is
/// empty. True when added.
pub async fn add_if_absent(db: &impl ConnectionTrait, alias: &str, funder_id: i64) -> Result<bool> {
    let key = name_key(alias);
    if key.is_empty()
        || funder_alias::Entity::find()
            .filter(funder_alias::Column::AliasKey.eq(&key))
            .one(db)
            .await?
            .is_some()
    {
        return Ok(false);
    }
    insert(db, alias, &key, funder_id).await?;
    Ok(true)
}

/// The aliases the seed's funders need to be recognised in the Aides-territoires export and
/// in common usage: (alias, funder slug). Names that normalise to the funder's own name
/// (« Conseil régional du Grand Est », « Agence nationale de l'habitat (ANAH) ») need none.
/// Each alias is the funder's own acronym (as its name in the seed spells it out) or its
/// legal name: ADEME is « Agence de l'environnement et de la maîtrise de l'énergie » (Code
/// de l'environnement, art. L131-3), renamed « Agence de la transition écologique » in use;
/// the Banque des Territoires is a directorate of the Caisse des dépôts et consignations
/// (its public site, banquedesterritoires.fr, « Qui sommes-nous »). « État » and
/// « Préfecture » name the State's network of préfectures as the seed holds it.
pub const SEED_ALIASES: &[(&str, &str)] = &[
    ("ANCT", "anct"),
    ("Anah", "anah"),
    ("ADEME", "ademe"),
    ("Agence de la transition écologique", "ademe"),
    (
        "Agence de l'environnement et de la maîtrise de l'énergie",
        "ademe",
    ),
    ("Caisse des Dépôts", "banque-des-territoires"),
    (
        "Caisse des dépôts et consignations",
        "banque-des-territoires",
    ),
    ("CAF", "caf"),
    ("Caisse d'allocations familiales", "caf"),
    ("MSA", "msa"),
    ("Mutualité sociale agricole", "msa"),
    ("FEADER", "union-europeenne-feader"),
    ("État", "etat-prefectures"),
    ("Préfecture", "etat-prefectures"),
    (
        "Ministère de l'Agriculture et de la Souveraineté alimentaire",
        "ministere-agriculture",
    ),
    ("Ministère de l'Agriculture", "ministere-agriculture"),
    ("Ministère de la Santé", "ministere-sante"),
    ("Ministère des Transports", "ministere-transports"),
    ("FACÉ", "face"),
];

/// Adds each seed alias whose funder exists and whose key is not an alias yet. Returns how
/// many were added.
pub async fn load_seed_aliases(db: &impl ConnectionTrait) -> Result<usize> {
    let mut added = 0;
    for (alias, slug) in SEED_ALIASES {
        if let Some(f) = funder::get(db, slug).await?
            && add_if_absent(db, alias, f.id).await?
        {
            added += 1;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_one_funder_share_a_key() {
        assert_eq!(
            name_key("Conseil régional du Grand Est"),
            "region grand est"
        );
        assert_eq!(name_key("Région Grand Est"), "region grand est");
        assert_eq!(name_key("region-grand-est"), "region grand est");
        assert_eq!(
            name_key("Conseil régional d'Ile de France"),
            name_key("Région Île-de-France")
        );
        assert_eq!(
            name_key("Conseil départemental du Jura"),
            name_key("Département du Jura")
        );
        assert_eq!(
            name_key("Conseil général du Jura"),
            name_key("Département du Jura")
        );
        assert_eq!(
            name_key("Agence Nationale de l'Habitat (ANAH)"),
            name_key("Agence nationale de l'habitat (Anah)")
        );
        assert_eq!(
            name_key("Agence nationale de la cohésion des territoires (ANCT)"),
            name_key("Agence nationale de la cohésion des territoires")
        );
        // Different funders stay apart.
        assert_ne!(
            name_key("Conseil départemental de la Haute-Marne"),
            name_key("Conseil départemental de la Marne")
        );
        assert_ne!(
            name_key("Conseil régional du Grand Est"),
            name_key("Conseil départemental du Grand Est")
        );
        // A name that is only a sigle in brackets keeps it.
        assert_eq!(name_key("(EPF)"), "epf");
        assert_eq!(name_key("de la"), "");
    }
}
