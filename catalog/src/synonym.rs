//! Search synonyms: groups of words or expressions that mean the same thing to the people
//! who search (« café », « bistrot », « débit de boissons »). Stored in the database, edited
//! by staff, seeded from `seed/synonyms.csv`, applied at query time.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder, TransactionSession,
    TransactionTrait, sea_query::OnConflict,
};

use crate::actor::Actor;
use crate::change;
use crate::effects::Effects;
use crate::entity::{meta, synonym};
use crate::error::{Error, Result};
use crate::text::words;

/// The seed dictionary: `terme;synonymes` rows, synonyms separated by commas.
pub const SEED: &str = include_str!("../seed/synonyms.csv");

/// One group: a term and the expressions that mean the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub term: String,
    pub synonyms: Vec<String>,
}

/// The key of an expression: its folded words joined by spaces.
pub fn key(expression: &str) -> String {
    words(expression).collect::<Vec<_>>().join(" ")
}

/// Parses `terme;synonymes` lines (a header line is skipped; `#` lines are comments).
pub fn parse_csv(input: &str) -> Result<Vec<Group>, String> {
    let mut groups = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty()
            || line.starts_with('#')
            || (number == 0 && key(line) == "terme synonymes")
        {
            continue;
        }
        let Some((term, synonyms)) = line.split_once(';') else {
            return Err(format!(
                "ligne {} : « terme;synonymes » attendu",
                number + 1
            ));
        };
        let group = Group {
            term: term.trim().to_owned(),
            synonyms: synonyms
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        validate(&group).map_err(|e| format!("ligne {} : {e}", number + 1))?;
        groups.push(group);
    }
    Ok(groups)
}

fn validate(group: &Group) -> Result<(), Error> {
    if key(&group.term).is_empty() {
        return Err(Error::validation("term", "Le terme est vide."));
    }
    if group.synonyms.is_empty() || group.synonyms.iter().any(|s| key(s).is_empty()) {
        return Err(Error::validation(
            "synonyms",
            "Indiquez au moins un synonyme non vide.",
        ));
    }
    crate::text::one_line("term", &group.term)?;
    for (i, synonym) in group.synonyms.iter().enumerate() {
        crate::text::one_line(&format!("synonyms.{i}"), synonym)?;
    }
    Ok(())
}

/// Every group, by term.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Group>> {
    Ok(synonym::Entity::find()
        .order_by_asc(synonym::Column::Term)
        .all(db)
        .await?
        .into_iter()
        .map(|row| Group {
            term: row.term,
            synonyms: serde_json::from_str(&row.synonyms).unwrap_or_default(),
        })
        .collect())
}

async fn bump_version(db: &impl ConnectionTrait) -> Result<()> {
    meta::set(db, VERSION_KEY, &Utc::now().timestamp_micros().to_string()).await?;
    Ok(())
}

const VERSION_KEY: &str = "synonyms_version";

/// A value that changes whenever the synonyms change (for other processes to notice).
pub async fn version(db: &impl ConnectionTrait) -> Result<Option<String>> {
    Ok(meta::Entity::find_by_id(VERSION_KEY)
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Creates or replaces a group (staff), in one transaction; searches in this process use
/// it before this returns (others at their next sync).
pub async fn set<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    group: Group,
) -> Result<Group> {
    actor.require_staff()?;
    let group = Group {
        term: group.term.trim().to_owned(),
        synonyms: group.synonyms.iter().map(|s| s.trim().to_owned()).collect(),
    };
    validate(&group)?;
    let txn = crate::db::begin_write(db).await?;
    save(&txn, &group).await?;
    change::record(
        &txn,
        actor,
        "synonym",
        &group.term,
        "set",
        serde_json::json!({ "synonyms": group.synonyms }),
    )
    .await?;
    bump_version(&txn).await?;
    txn.commit().await?;
    fx.synonyms_changed(db).await?;
    Ok(group)
}

async fn save(db: &impl ConnectionTrait, group: &Group) -> Result<()> {
    synonym::Entity::insert(synonym::ActiveModel {
        term: Set(group.term.clone()),
        synonyms: Set(serde_json::to_string(&group.synonyms).unwrap_or_default()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(synonym::Column::Term)
            .update_columns([synonym::Column::Synonyms, synonym::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Deletes a group (staff); true when it existed. Searches in this process stop using it
/// before this returns.
pub async fn delete<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    term: &str,
) -> Result<bool> {
    actor.require_staff()?;
    let txn = crate::db::begin_write(db).await?;
    let deleted = synonym::Entity::delete_by_id(term.trim().to_owned())
        .exec(&txn)
        .await?
        .rows_affected
        > 0;
    if deleted {
        change::record(
            &txn,
            actor,
            "synonym",
            term.trim(),
            "delete",
            serde_json::json!({}),
        )
        .await?;
        bump_version(&txn).await?;
    }
    txn.commit().await?;
    if deleted {
        fx.synonyms_changed(db).await?;
    }
    Ok(deleted)
}

/// Imports groups (staff): each replaces the group of the same term, all or none (every
/// group is checked before any is written). Returns how many.
pub async fn import<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    groups: &[Group],
) -> Result<usize> {
    actor.require_staff()?;
    for group in groups {
        validate(group)?;
    }
    let txn = crate::db::begin_write(db).await?;
    for group in groups {
        save(&txn, group).await?;
    }
    change::record(
        &txn,
        actor,
        "synonym",
        "*",
        "import",
        serde_json::json!({ "groups": groups.len() }),
    )
    .await?;
    bump_version(&txn).await?;
    txn.commit().await?;
    fx.synonyms_changed(db).await?;
    Ok(groups.len())
}

/// Loads the seed dictionary on first start.
pub async fn seed_if_empty<C: ConnectionTrait + TransactionTrait>(db: &C) -> Result<()> {
    if version(db).await?.is_some() {
        return Ok(());
    }
    let groups = parse_csv(SEED).expect("the seed synonyms are valid");
    import(db, &Effects::default(), &Actor::Operator, &groups).await?;
    Ok(())
}

/// Synonyms ready for query expansion: every expression of a group maps to the others.
#[derive(Clone, Debug, Default)]
pub struct Thesaurus {
    alternatives: HashMap<String, Vec<String>>,
    longest: usize,
}

impl Thesaurus {
    pub fn new(groups: &[Group]) -> Self {
        let mut alternatives: HashMap<String, Vec<String>> = HashMap::new();
        let mut longest = 1;
        for group in groups {
            let members: Vec<String> = std::iter::once(&group.term)
                .chain(&group.synonyms)
                .map(|e| key(e))
                .filter(|k| !k.is_empty())
                .collect();
            for member in &members {
                longest = longest.max(member.split(' ').count());
                let entry = alternatives.entry(member.clone()).or_default();
                for other in &members {
                    if other != member && !entry.contains(other) {
                        entry.push(other.clone());
                    }
                }
            }
        }
        Thesaurus {
            alternatives,
            longest,
        }
    }

    /// Splits folded query words into expressions, longest known expression first, each
    /// with its synonyms (empty for words without any).
    pub fn expressions(&self, words: &[String]) -> Vec<(Vec<String>, Vec<String>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = None;
            for len in (1..=self.longest.min(words.len() - i)).rev() {
                let candidate = words[i..i + len].join(" ");
                if let Some(alternatives) = self.alternatives.get(&candidate) {
                    matched = Some((len, alternatives.clone()));
                    break;
                }
            }
            match matched {
                Some((len, alternatives)) => {
                    out.push((words[i..i + len].to_vec(), alternatives));
                    i += len;
                }
                None => {
                    out.push((vec![words[i].clone()], Vec::new()));
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_expand_both_ways_and_multiword_expressions_win() {
        let groups =
            parse_csv("terme;synonymes\ncafé;bistrot,débit de boissons\nmaison de santé;MSP\n")
                .unwrap();
        let t = Thesaurus::new(&groups);
        let words: Vec<String> = crate::text::words("Maison de Santé à Chaumont").collect();
        let expressions = t.expressions(&words);
        assert_eq!(expressions[0].0, ["maison", "de", "sante"]);
        assert_eq!(expressions[0].1, ["msp"]);
        let expressions = t.expressions(&["bistrot".to_owned()]);
        assert_eq!(expressions[0].1, ["cafe", "debit de boissons"]);
        assert!(parse_csv("sans point-virgule").is_err());
        assert!(parse_csv("café;").is_err());
    }

    #[test]
    fn the_seed_dictionary_parses() {
        let groups = parse_csv(SEED).unwrap();
        assert!(groups.len() >= 30, "{}", groups.len());
    }
}
