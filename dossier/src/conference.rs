//! Conferences of funders: staff invite funders, put submitted dossiers on the agenda, the
//! funders decide (a grid of dossier × funder), and closing records each dossier's combined
//! financing plan, writes the minutes and sends each holder one summary of every decision.

use std::collections::{BTreeMap, HashMap};

use catalog::text::french;
use catalog::vocab::FunderKind;
use catalog::{Actor, Error, Result};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::dossier::{self, Env, record};
use crate::entity::{agenda_item, conference as row, conference_funder};
use crate::model::{
    Access, ConferenceStatus, Decision, Dossier, DossierStatus, ReviewStatus, agent_funder,
};
use crate::notify;
use crate::review::{self, Review};

/// A conference of funders.
#[derive(Clone, Debug, PartialEq)]
pub struct Conference {
    pub id: i64,
    pub title: String,
    pub held_on: NaiveDate,
    pub status: ConferenceStatus,
    pub minutes: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub closed_at: Option<chrono::DateTime<Utc>>,
}

impl From<row::Model> for Conference {
    fn from(r: row::Model) -> Self {
        Conference {
            id: r.id,
            title: r.title,
            held_on: r.held_on,
            status: ConferenceStatus::parse(&r.status).unwrap_or(ConferenceStatus::Planned),
            minutes: r.minutes,
            created_at: r.created_at,
            closed_at: r.closed_at,
        }
    }
}

/// One granted line of a combined plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantedLine {
    pub funder: String,
    pub amount: i64,
    pub scheme_slug: Option<String>,
}

/// A rule the combined plan breaks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeViolation {
    pub code: String,
    pub message: String,
    pub line: Option<usize>,
}

/// The combined financing plan of a dossier, recorded when the conference closes: what
/// was granted against the cost, with the plan checker's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub total_cost: i64,
    pub own_funds: i64,
    pub granted: i64,
    pub remaining: i64,
    pub lines: Vec<GrantedLine>,
    pub balanced: bool,
    pub public_share: f64,
    pub own_share: f64,
    pub violations: Vec<OutcomeViolation>,
    /// The dossier's part of the minutes as written at close, without its number (absent
    /// from conferences closed before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<String>,
}

/// An agenda item: a dossier and, once closed, its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct AgendaItem {
    pub dossier_id: i64,
    pub position: i32,
    pub outcome: Option<Outcome>,
}

async fn load(db: &impl ConnectionTrait, id: i64) -> Result<Conference> {
    row::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::NotFound("Conférence".into()))
}

/// The funders invited to a conference.
pub async fn funder_ids(db: &impl ConnectionTrait, id: i64) -> Result<Vec<i64>> {
    Ok(conference_funder::Entity::find()
        .filter(conference_funder::Column::ConferenceId.eq(id))
        .order_by_asc(conference_funder::Column::FunderId)
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.funder_id)
        .collect())
}

/// A conference the actor may see: staff, and agents of an invited funder.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<Conference> {
    if matches!(actor, Actor::Anonymous) {
        return Err(Error::Unauthenticated);
    }
    let conference = load(db, id).await?;
    if actor.is_staff() {
        return Ok(conference);
    }
    match agent_funder(actor) {
        Some(funder) if funder_ids(db, id).await?.contains(&funder) => Ok(conference),
        _ => Err(Error::NotFound("Conférence".into())),
    }
}

/// The conferences the actor may see, the most recent first, with the total.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Conference>, u64)> {
    let mut select = row::Entity::find();
    if !actor.is_staff() {
        let Some(funder) = agent_funder(actor) else {
            return match actor {
                Actor::Anonymous => Err(Error::Unauthenticated),
                _ => Ok((Vec::new(), 0)),
            };
        };
        select = select.filter(
            row::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(conference_funder::Column::ConferenceId)
                    .from(conference_funder::Entity)
                    .and_where(conference_funder::Column::FunderId.eq(funder))
                    .to_owned(),
            ),
        );
    }
    let total = select.clone().count(db).await?;
    let rows = select
        .order_by_desc(row::Column::HeldOn)
        .order_by_desc(row::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// The agenda, in order.
pub async fn agenda(db: &impl ConnectionTrait, id: i64) -> Result<Vec<AgendaItem>> {
    Ok(agenda_item::Entity::find()
        .filter(agenda_item::Column::ConferenceId.eq(id))
        .order_by_asc(agenda_item::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|i| AgendaItem {
            dossier_id: i.dossier_id,
            position: i.position,
            outcome: i.outcome.and_then(|o| serde_json::from_str(&o).ok()),
        })
        .collect())
}

/// An agenda item the actor may see, with its dossier and why they may see it.
#[derive(Clone, Debug)]
pub struct VisibleItem {
    pub item: AgendaItem,
    pub dossier: Dossier,
    pub access: Access,
}

/// The agenda of `conference` as the actor may see it, in order: staff, every dossier; a
/// funder agent, only the dossiers sent to their funder (the rule of [`dossier::access`]).
/// Every view of a conference (agenda, minutes, decisions CSV) is built from this.
pub async fn visible_agenda(
    db: &impl ConnectionTrait,
    actor: &Actor,
    conference: &Conference,
) -> Result<Vec<VisibleItem>> {
    let mut visible = Vec::new();
    for item in agenda(db, conference.id).await? {
        let Some(dossier) = dossier::load(db, item.dossier_id).await? else {
            continue;
        };
        match dossier::access(db, actor, &dossier).await {
            Ok(access) => visible.push(VisibleItem {
                item,
                dossier,
                access,
            }),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(visible)
}

/// Plans a conference (staff).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    title: &str,
    held_on: NaiveDate,
    funder_slugs: &[String],
) -> Result<Conference> {
    actor.require_staff()?;
    let title = title.trim();
    if title.chars().count() < 3 || title.chars().count() > 200 {
        return Err(Error::validation(
            "input.title",
            "Donnez un intitulé à la conférence (3 à 200 caractères).",
        ));
    }
    catalog::text::one_line("input.title", title)?;
    catalog::calendar::sane("input.heldOn", held_on)?;
    if funder_slugs.is_empty() {
        return Err(Error::validation(
            "input.funderSlugs",
            "Invitez au moins un financeur.",
        ));
    }
    let mut funders = Vec::new();
    for (i, slug) in funder_slugs.iter().enumerate() {
        let found =
            catalog::funder::require(db, slug.trim(), &format!("input.funderSlugs.{i}")).await?;
        if !funders.contains(&found.id) {
            funders.push(found.id);
        }
    }
    let txn = catalog::db::begin_write(db).await?;
    let inserted = row::Entity::insert(row::ActiveModel {
        id: NotSet,
        title: Set(title.to_owned()),
        held_on: Set(held_on),
        status: Set(ConferenceStatus::Planned.as_str().to_owned()),
        minutes: Set(None),
        created_at: Set(Utc::now()),
        closed_at: Set(None),
    })
    .exec(&txn)
    .await?;
    for funder_id in funders {
        conference_funder::Entity::insert(conference_funder::ActiveModel {
            conference_id: Set(inserted.last_insert_id),
            funder_id: Set(funder_id),
        })
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    load(db, inserted.last_insert_id).await
}

fn closed() -> Error {
    Error::Conflict("La conférence est close : son ordre du jour ne change plus.".into())
}

/// Puts a submitted dossier on the agenda (staff); adding it twice changes nothing.
pub async fn add_to_agenda(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    dossier_id: i64,
) -> Result<Conference> {
    actor.require_staff()?;
    let conference = load(db, id).await?;
    if conference.status == ConferenceStatus::Closed {
        return Err(closed());
    }
    let dossier = dossier::load(db, dossier_id)
        .await?
        .ok_or_else(|| Error::NotFound("Dossier".into()))?;
    if matches!(
        dossier.status,
        DossierStatus::Draft | DossierStatus::Withdrawn
    ) {
        return Err(Error::validation(
            "dossierId",
            format!(
                "Seul un dossier déposé peut être inscrit : celui-ci est au statut « {} ».",
                dossier.status.label()
            ),
        ));
    }
    let invited = funder_ids(db, id).await?;
    let reviews = review::reviews_of(db, dossier_id).await?;
    if !reviews.iter().any(|r| invited.contains(&r.funder_id)) {
        return Err(Error::validation(
            "dossierId",
            "Aucun des financeurs invités n'est saisi de ce dossier.",
        ));
    }
    let items = agenda(db, id).await?;
    if items.iter().any(|i| i.dossier_id == dossier_id) {
        return Ok(conference);
    }
    let txn = catalog::db::begin_write(db).await?;
    agenda_item::Entity::insert(agenda_item::ActiveModel {
        conference_id: Set(id),
        dossier_id: Set(dossier_id),
        position: Set(items.iter().map(|i| i.position).max().unwrap_or(0) + 1),
        outcome: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    record(
        &txn,
        dossier_id,
        actor,
        "ADDED_TO_AGENDA",
        format!(
            "Inscrit à l'ordre du jour de « {} » du {}.",
            conference.title,
            french::date(conference.held_on)
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(conference)
}

/// PLANNED → OPEN (staff): the session starts.
pub async fn open(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<Conference> {
    actor.require_staff()?;
    let moved = row::Entity::update_many()
        .col_expr(
            row::Column::Status,
            Expr::value(ConferenceStatus::Open.as_str()),
        )
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::Status.eq(ConferenceStatus::Planned.as_str()))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    let conference = load(db, id).await?;
    if !moved {
        return Err(Error::Conflict(format!(
            "La conférence ne peut pas être ouverte : elle est au statut « {} ».",
            conference.status.label()
        )));
    }
    Ok(conference)
}

fn is_public(kind: FunderKind) -> bool {
    !matches!(
        kind,
        FunderKind::Foundation | FunderKind::Bank | FunderKind::Network
    )
}

/// The combined plan of a dossier from its decisions.
async fn outcome(
    db: &impl ConnectionTrait,
    territories: &catalog::Territories,
    dossier: &Dossier,
    reviews: &[Review],
) -> Result<Outcome> {
    let mut lines = Vec::new();
    let mut plan_lines = Vec::new();
    for r in reviews {
        let (Some(amount), Some(Decision::Granted)) =
            (r.amount, r.decision.as_deref().and_then(Decision::parse))
        else {
            continue;
        };
        let funder = catalog::funder::get_by_id(db, r.funder_id).await?;
        let name = funder
            .as_ref()
            .map(|f| f.record.name.clone())
            .unwrap_or_default();
        let slugs: Vec<String> = serde_json::from_str(&r.scheme_slugs).unwrap_or_default();
        let scheme_slug = (slugs.len() == 1).then(|| slugs[0].clone());
        // A granted line keeps the aid type the holder asked for under its scheme.
        let aid_type = dossier
            .plan
            .iter()
            .flat_map(|p| &p.lines)
            .find(|l| scheme_slug.is_some() && l.scheme_slug == scheme_slug)
            .map_or(catalog::vocab::AidType::Grant, |l| l.aid_type);
        plan_lines.push(catalog::plan::PlanLine {
            scheme_slug: scheme_slug.clone(),
            funder_name: Some(name.clone()),
            amount,
            public: funder.is_none_or(|f| is_public(f.record.kind)),
            aid_type,
        });
        lines.push(GrantedLine {
            funder: name,
            amount,
            scheme_slug,
        });
    }
    let total_cost = dossier.total_cost();
    let own_funds = dossier.plan.as_ref().map_or(0, |p| p.own_funds);
    let granted: i64 = lines.iter().map(|l| l.amount).sum();
    let mut schemes = HashMap::new();
    for slug in plan_lines.iter().filter_map(|l| l.scheme_slug.as_deref()) {
        if let Some(s) = catalog::scheme::get(db, slug).await? {
            schemes.insert(slug.to_owned(), s.record);
        }
    }
    let project = dossier.project.as_ref();
    let plan = catalog::plan::FinancingPlan {
        holder_type: dossier
            .holder
            .as_ref()
            .map_or(catalog::vocab::BeneficiaryType::Commune, |h| h.holder_type),
        total_cost,
        own_funds,
        lines: plan_lines,
        previous_de_minimis: dossier.plan.as_ref().map_or(0, |p| p.previous_de_minimis),
        nature: project.and_then(|p| p.nature),
        derogation: dossier.plan.as_ref().is_some_and(|p| p.derogation),
        commune_code: project.map(|p| p.commune_code.clone()),
        cost_basis: project.map_or(catalog::vocab::CostBasis::Ht, |p| p.cost_basis),
    };
    let check = catalog::plan::check(&plan, &schemes, territories).ok();
    Ok(Outcome {
        total_cost,
        own_funds,
        granted,
        remaining: (total_cost - own_funds - granted).max(0),
        lines,
        balanced: check.as_ref().is_some_and(|c| c.balanced),
        public_share: check.as_ref().map_or(0.0, |c| c.public_share),
        own_share: check.as_ref().map_or(0.0, |c| c.own_share),
        violations: check
            .map(|c| {
                c.violations
                    .into_iter()
                    .map(|v| OutcomeViolation {
                        code: v.code.as_str().to_owned(),
                        message: v.message,
                        line: v.line,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        minutes: None,
    })
}

/// What one agenda dossier brings to the close.
struct Closing {
    dossier: Dossier,
    reviews: Vec<Review>,
    names: BTreeMap<i64, String>,
    outcome: Outcome,
}

/// What a dossier brings to the close, from its reviews as they stand.
async fn closing_of(
    db: &impl ConnectionTrait,
    territories: &catalog::Territories,
    dossier: Dossier,
) -> Result<Closing> {
    let reviews = review::reviews_of(db, dossier.id).await?;
    let mut names = BTreeMap::new();
    for r in &reviews {
        let name = catalog::funder::get_by_id(db, r.funder_id)
            .await?
            .map(|f| f.record.name)
            .unwrap_or_default();
        names.insert(r.funder_id, name);
    }
    let outcome = outcome(db, territories, &dossier, &reviews).await?;
    Ok(Closing {
        dossier,
        reviews,
        names,
        outcome,
    })
}

/// The names of the funders invited to a conference.
async fn invited_names(db: &impl ConnectionTrait, id: i64) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for f in funder_ids(db, id).await? {
        if let Some(found) = catalog::funder::get_by_id(db, f).await? {
            names.push(found.record.name);
        }
    }
    Ok(names)
}

/// Closes the conference (staff): refused while a decision is missing; records each
/// dossier's combined plan, writes the minutes and sends each holder one summary.
pub async fn close(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    id: i64,
) -> Result<Conference> {
    actor.require_staff()?;
    let conference = load(db, id).await?;
    if conference.status == ConferenceStatus::Closed {
        return Err(Error::Conflict("La conférence est déjà close.".into()));
    }
    let items = agenda(db, id).await?;
    if items.is_empty() {
        return Err(Error::Conflict(
            "L'ordre du jour est vide : inscrivez au moins un dossier avant de clore.".into(),
        ));
    }
    let mut closing = Vec::new();
    let mut missing = Vec::new();
    for item in &items {
        let Some(dossier) = dossier::load(db, item.dossier_id).await? else {
            continue;
        };
        if dossier.status == DossierStatus::Withdrawn {
            continue;
        }
        let closing_item = closing_of(db, &env.territories, dossier).await?;
        let waiting: Vec<&str> = closing_item
            .reviews
            .iter()
            .filter(|r| r.status != ReviewStatus::Decided.as_str())
            .map(|r| closing_item.names[&r.funder_id].as_str())
            .collect();
        if !waiting.is_empty() {
            missing.push(format!(
                "{} ({})",
                closing_item.dossier.reference,
                waiting.join(", ")
            ));
        }
        closing.push(closing_item);
    }
    if !missing.is_empty() {
        return Err(Error::Conflict(format!(
            "La conférence ne peut pas être close : décisions manquantes pour {}.",
            missing.join(" ; ")
        )));
    }
    let now = Utc::now();
    let header = minutes_header(&conference, &invited_names(db, id).await?, now);
    for c in &mut closing {
        c.outcome.minutes = Some(minutes_section(c, &env.territories));
    }
    let sections: Vec<&str> = closing
        .iter()
        .filter_map(|c| c.outcome.minutes.as_deref())
        .collect();
    let minutes = minutes_text(&header, &sections);
    let txn = catalog::db::begin_write(db).await?;
    let moved = row::Entity::update_many()
        .col_expr(
            row::Column::Status,
            Expr::value(ConferenceStatus::Closed.as_str()),
        )
        .col_expr(row::Column::ClosedAt, Expr::value(Some(now)))
        .col_expr(row::Column::Minutes, Expr::value(Some(minutes)))
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::Status.ne(ConferenceStatus::Closed.as_str()))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !moved {
        return Err(Error::Conflict("La conférence vient d'être close.".into()));
    }
    let mut by_holder: BTreeMap<i64, Vec<&Closing>> = BTreeMap::new();
    for c in &closing {
        agenda_item::Entity::update_many()
            .col_expr(
                agenda_item::Column::Outcome,
                Expr::value(Some(serde_json::to_string(&c.outcome).unwrap_or_default())),
            )
            .filter(agenda_item::Column::ConferenceId.eq(id))
            .filter(agenda_item::Column::DossierId.eq(c.dossier.id))
            .exec(&txn)
            .await?;
        record(
            &txn,
            c.dossier.id,
            actor,
            "CONFERENCE_CLOSED",
            format!(
                "Conférence « {} » close : {} accordés sur {}.",
                conference.title,
                french::euros(c.outcome.granted),
                french::euros(c.outcome.total_cost)
            ),
        )
        .await?;
        by_holder.entry(c.dossier.account_id).or_default().push(c);
    }
    let date = french::date(conference.held_on);
    for dossiers in by_holder.values() {
        let mut text = String::new();
        let mut html = String::new();
        let mut recipients = Vec::new();
        for c in dossiers {
            for r in notify::holder_recipients(&txn, &c.dossier).await? {
                if !recipients.contains(&r) {
                    recipients.push(r);
                }
            }
            let items: Vec<String> = c
                .reviews
                .iter()
                .map(|r| decision_line(r, &c.names[&r.funder_id]))
                .collect();
            let (list_text, list_html) = notify::list(&items);
            let heading = format!("Dossier {} « {} »", c.dossier.reference, c.dossier.title());
            let totals = format!(
                "Total accordé : {} pour un coût de {} ; reste à financer : {}.",
                french::euros(c.outcome.granted),
                french::euros(c.outcome.total_cost),
                french::euros(c.outcome.remaining)
            );
            text.push_str(&format!("{heading}\n{list_text}{totals}\n\n"));
            html.push_str(&format!(
                "<h2 style=\"font-size:1.1em\">{}</h2>{list_html}<p>{}</p>",
                catalog::outbox::escape_html(&heading),
                catalog::outbox::escape_html(&totals)
            ));
        }
        let link = match dossiers.as_slice() {
            [one] => env.links.dossier(one.dossier.id),
            _ => format!("{}/dossiers", env.links.public_url),
        };
        notify::send(
            &txn,
            &notify::CONFERENCE_SUMMARY,
            &recipients,
            &[
                ("conference", &conference.title),
                ("date", &date),
                ("items", &text),
                ("items_html", &html),
                ("link", &link),
            ],
            &[],
        )
        .await?;
    }
    txn.commit().await?;
    load(db, id).await
}

fn decision_line(r: &Review, funder: &str) -> String {
    let decision = r.decision.as_deref().and_then(Decision::parse);
    let what = match (decision, r.amount) {
        (Some(Decision::Granted), Some(a)) => format!("accordé : {}", french::euros(a)),
        (Some(d), _) => d.label().to_lowercase(),
        (None, _) => "sans décision".into(),
    };
    let motivation = r.motivation.as_deref().unwrap_or_default();
    format!(
        "{funder} — {what} (demandé : {}). {motivation}",
        french::euros(r.requested_amount)
    )
}

/// The head of the minutes: the conference, the funders invited, when it was closed.
fn minutes_header(
    conference: &Conference,
    invited: &[String],
    closed_at: chrono::DateTime<Utc>,
) -> String {
    let invited: Vec<&str> = invited.iter().map(String::as_str).collect();
    format!(
        "PROCÈS-VERBAL — {}\nConférence des financeurs du {}\nFinanceurs invités : {}.\nClose le {} à {} (UTC).\n",
        conference.title,
        french::date(conference.held_on),
        french::list(&invited),
        french::date(closed_at.date_naive()),
        closed_at.format("%H:%M"),
    )
}

/// A dossier's part of the minutes, without its number: the dossier, each decision and the
/// combined plan.
fn minutes_section(c: &Closing, territories: &catalog::Territories) -> String {
    let holder = c
        .dossier
        .holder
        .as_ref()
        .map_or("—", |h| h.legal_name.as_str());
    let place = c
        .dossier
        .project
        .as_ref()
        .and_then(|p| territories.get_kind(&p.commune_code, catalog::TerritoryKind::Commune))
        .map_or_else(String::new, |t| format!(", {}", t.name));
    let mut out = format!(
        "{} — {} — {}{}\n   Coût total : {}. Autofinancement : {}.\n",
        c.dossier.reference,
        c.dossier.title(),
        holder,
        place,
        french::euros(c.outcome.total_cost),
        french::euros(c.outcome.own_funds),
    );
    for r in &c.reviews {
        out.push_str(&format!(
            "   - {}\n",
            decision_line(r, &c.names[&r.funder_id])
        ));
    }
    let verdict = if c.outcome.violations.is_empty() {
        "conforme aux règles de cofinancement".to_owned()
    } else {
        let messages: Vec<&str> = c
            .outcome
            .violations
            .iter()
            .map(|v| v.message.as_str())
            .collect();
        format!("à revoir : {}", messages.join(" "))
    };
    out.push_str(&format!(
        "   Plan consolidé : {} accordés, reste à financer {} ; {}.\n",
        french::euros(c.outcome.granted),
        french::euros(c.outcome.remaining),
        verdict
    ));
    out
}

/// The minutes: the head, then the sections numbered in order.
fn minutes_text(header: &str, sections: &[&str]) -> String {
    let mut out = header.to_owned();
    for (i, section) in sections.iter().enumerate() {
        out.push_str(&format!("\n{}. {section}", i + 1));
    }
    out
}

/// The minutes of a closed conference as the actor may read them (`None` before the
/// close): the head, then the part of each dossier of their [`visible_agenda`], numbered
/// in order. Staff read them whole, as written at close.
pub async fn minutes(
    db: &impl ConnectionTrait,
    territories: &catalog::Territories,
    actor: &Actor,
    conference: &Conference,
) -> Result<Option<String>> {
    let (Some(whole), Some(closed_at)) = (&conference.minutes, conference.closed_at) else {
        return Ok(None);
    };
    if actor.is_staff() {
        return Ok(Some(whole.clone()));
    }
    let mut sections = Vec::new();
    for visible in visible_agenda(db, actor, conference).await? {
        // Dossiers withdrawn before the close have no outcome and were not in the minutes.
        let Some(outcome) = visible.item.outcome else {
            continue;
        };
        let section = match outcome.minutes {
            Some(section) => section,
            // Closed before each dossier's part was kept: written again from its reviews.
            None => minutes_section(
                &closing_of(db, territories, visible.dossier).await?,
                territories,
            ),
        };
        sections.push(section);
    }
    let header = minutes_header(
        conference,
        &invited_names(db, conference.id).await?,
        closed_at,
    );
    let sections: Vec<&str> = sections.iter().map(String::as_str).collect();
    Ok(Some(minutes_text(&header, &sections)))
}

/// The awarded subsidies of a closed conference, as SCDL rows: those of the dossiers of the
/// actor's [`visible_agenda`].
pub async fn scdl_rows(
    db: &impl ConnectionTrait,
    actor: &Actor,
    conference: &Conference,
) -> Result<Vec<crate::document::ScdlRow>> {
    if conference.status != ConferenceStatus::Closed {
        return Err(Error::Conflict(
            "Les décisions sont exportées une fois la conférence close.".into(),
        ));
    }
    let mut rows = Vec::new();
    for VisibleItem { dossier, .. } in visible_agenda(db, actor, conference).await? {
        for r in review::reviews_of(db, dossier.id).await? {
            let (Some(Decision::Granted), Some(amount)) =
                (r.decision.as_deref().and_then(Decision::parse), r.amount)
            else {
                continue;
            };
            let funder = catalog::funder::get_by_id(db, r.funder_id).await?;
            let slugs: Vec<String> = serde_json::from_str(&r.scheme_slugs).unwrap_or_default();
            let mut titles = Vec::new();
            for slug in &slugs {
                if let Some(s) = catalog::scheme::get(db, slug).await? {
                    titles.push(s.record.title);
                }
            }
            rows.push(crate::document::ScdlRow {
                funder_name: funder
                    .as_ref()
                    .map(|f| f.record.name.clone())
                    .unwrap_or_default(),
                funder_siret: String::new(),
                decided_on: r.decided_at.map_or(conference.held_on, |d| d.date_naive()),
                reference: format!("{}-{}", dossier.reference, r.id),
                beneficiary: dossier
                    .holder
                    .as_ref()
                    .map(|h| h.legal_name.clone())
                    .unwrap_or_default(),
                beneficiary_siret: dossier
                    .holder
                    .as_ref()
                    .map(|h| h.siret.clone())
                    .unwrap_or_default(),
                object: dossier.title(),
                amount,
                total_cost: dossier.total_cost(),
                paid_on: conference.held_on,
                european: funder.is_some_and(|f| f.record.kind == FunderKind::Eu),
                schemes: titles.join(" ; "),
            });
        }
    }
    Ok(rows)
}
