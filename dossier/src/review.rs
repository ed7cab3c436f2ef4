//! What funders do with a dossier sent to them: start the review, ask the holder a question
//! (seen by every funder of the dossier), keep private notes, and decide. Transitions are
//! compare-and-set on the status, so of two agents deciding at once one wins and the other
//! gets a conflict naming the current status.

use catalog::text::french;
use catalog::{Actor, Error, Result};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::dossier::{self, Env, record, refresh_status};
use crate::entity::{agenda_item, conference, information_request, review, review_note};
use crate::model::{Access, ConferenceStatus, Decision, Dossier, DossierStatus, ReviewStatus};
use crate::notify;

pub use review::Model as Review;

/// The reviews of a dossier, in the order funders received it.
pub async fn reviews_of(db: &impl ConnectionTrait, dossier_id: i64) -> Result<Vec<Review>> {
    Ok(review::Entity::find()
        .filter(review::Column::DossierId.eq(dossier_id))
        .order_by_asc(review::Column::Id)
        .all(db)
        .await?)
}

/// Who reads the mail of a dossier's funders (id and contact address): for each review,
/// the service it is routed to when it has an agent or a contact address, else its nearest
/// parent that has one; each once.
pub async fn funders_of(
    db: &impl ConnectionTrait,
    dossier_id: i64,
) -> Result<Vec<(i64, Option<String>)>> {
    let network = catalog::network::Network::load(db).await?;
    let mut out: Vec<(i64, Option<String>)> = Vec::new();
    for r in reviews_of(db, dossier_id).await? {
        let Some(reader) = network.reader(r.funder_id) else {
            continue;
        };
        if out.iter().any(|(id, _)| *id == reader) {
            continue;
        }
        let contact = network.get(reader).and_then(|n| n.contact_email.clone());
        out.push((reader, contact));
    }
    Ok(out)
}

/// How many questions of a dossier are unanswered.
pub async fn open_requests(db: &impl ConnectionTrait, dossier_id: i64) -> Result<u64> {
    Ok(information_request::Entity::find()
        .filter(information_request::Column::DossierId.eq(dossier_id))
        .filter(information_request::Column::Answer.is_null())
        .count(db)
        .await?)
}

/// The questions of a dossier, oldest first.
pub async fn requests_of(
    db: &impl ConnectionTrait,
    dossier_id: i64,
) -> Result<Vec<information_request::Model>> {
    Ok(information_request::Entity::find()
        .filter(information_request::Column::DossierId.eq(dossier_id))
        .order_by_asc(information_request::Column::Id)
        .all(db)
        .await?)
}

/// The private notes the caller may read: their funder's (staff: all; holder: none).
pub async fn notes_of(
    db: &impl ConnectionTrait,
    access: Access,
    dossier_id: i64,
) -> Result<Vec<review_note::Model>> {
    let reviews: Vec<i64> = reviews_of(db, dossier_id)
        .await?
        .iter()
        .map(|r| r.id)
        .collect();
    let mut select =
        review_note::Entity::find().filter(review_note::Column::ReviewId.is_in(reviews));
    select = match access {
        Access::Staff => select,
        Access::Funder(funder) | Access::Network(funder) => {
            select.filter(review_note::Column::FunderId.eq(funder))
        }
        Access::Holder => return Ok(Vec::new()),
    };
    Ok(select.order_by_asc(review_note::Column::Id).all(db).await?)
}

/// A review the actor may act on (an agent of its funder, or staff), with its dossier.
async fn actionable(
    db: &impl ConnectionTrait,
    actor: &Actor,
    review_id: i64,
) -> Result<(Review, Dossier)> {
    let found = review::Entity::find_by_id(review_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound("Instruction".into()))?;
    let (dossier, access) =
        dossier::get(db, actor, found.dossier_id)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => Error::NotFound("Instruction".into()),
                e => e,
            })?;
    match access {
        Access::Staff => {}
        Access::Funder(funder) if funder == found.funder_id => {}
        _ => return Err(Error::Forbidden),
    }
    if dossier.status == DossierStatus::Withdrawn {
        return Err(Error::Conflict(
            "Le dossier a été retiré par son porteur : il n'y a plus rien à instruire.".into(),
        ));
    }
    Ok((found, dossier))
}

fn review_conflict(status: &str, what: &str) -> Error {
    let label = ReviewStatus::parse(status).map_or("?", ReviewStatus::label);
    Error::Conflict(format!(
        "{what} : cette instruction est au statut « {label} »."
    ))
}

async fn reload(db: &impl ConnectionTrait, id: i64) -> Result<Review> {
    review::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound("Instruction".into()))
}

async fn funder_name(db: &impl ConnectionTrait, funder_id: i64) -> Result<String> {
    Ok(catalog::funder::get_by_id(db, funder_id)
        .await?
        .map(|f| f.record.name)
        .unwrap_or_default())
}

/// RECEIVED → IN_REVIEW.
pub async fn start(db: &DatabaseConnection, actor: &Actor, review_id: i64) -> Result<Review> {
    let (found, dossier) = actionable(db, actor, review_id).await?;
    let txn = catalog::db::begin_write(db).await?;
    let moved = review::Entity::update_many()
        .col_expr(
            review::Column::Status,
            Expr::value(ReviewStatus::InReview.as_str()),
        )
        .col_expr(review::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(review::Column::Id.eq(review_id))
        .filter(review::Column::Status.eq(ReviewStatus::Received.as_str()))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !moved {
        let current = reload(&txn, review_id).await?;
        return Err(review_conflict(
            &current.status,
            "L'instruction a déjà commencé",
        ));
    }
    let name = funder_name(&txn, found.funder_id).await?;
    record(
        &txn,
        dossier.id,
        actor,
        "REVIEW_STARTED",
        format!("{name} commence l'instruction."),
    )
    .await?;
    refresh_status(&txn, dossier.id).await?;
    txn.commit().await?;
    reload(db, review_id).await
}

/// Records a funder's decision (GRANTED with an amount, or REFUSED), always motivated.
pub async fn decide(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    review_id: i64,
    decision: Decision,
    amount: Option<i64>,
    motivation: &str,
) -> Result<Review> {
    let motivation = motivation.trim();
    if motivation.is_empty() || motivation.chars().count() > 5000 {
        return Err(Error::validation(
            "motivation",
            "Motivez la décision (5 000 caractères au plus).",
        ));
    }
    catalog::text::multi_line("motivation", motivation)?;
    let amount = match (decision, amount) {
        (Decision::Granted, Some(a)) if a > 0 && a <= crate::content::MAX_AMOUNT => Some(a),
        (Decision::Granted, _) => {
            return Err(Error::validation(
                "amount",
                "Indiquez le montant accordé (supérieur à zéro).",
            ));
        }
        (Decision::Refused, None | Some(0)) => None,
        (Decision::Refused, Some(_)) => {
            return Err(Error::validation("amount", "Un refus n'a pas de montant."));
        }
    };
    let (found, dossier) = actionable(db, actor, review_id).await?;
    if let Some(a) = amount
        && a > dossier.total_cost()
    {
        return Err(Error::validation(
            "amount",
            format!(
                "Le montant accordé dépasse le coût total du projet ({}).",
                french::euros(dossier.total_cost())
            ),
        ));
    }
    let now = Utc::now();
    let txn = catalog::db::begin_write(db).await?;
    let moved = review::Entity::update_many()
        .col_expr(
            review::Column::Status,
            Expr::value(ReviewStatus::Decided.as_str()),
        )
        .col_expr(
            review::Column::Decision,
            Expr::value(Some(decision.as_str())),
        )
        .col_expr(review::Column::Amount, Expr::value(amount))
        .col_expr(
            review::Column::Motivation,
            Expr::value(Some(motivation.to_owned())),
        )
        .col_expr(review::Column::DecidedAt, Expr::value(Some(now)))
        .col_expr(review::Column::DecidedBy, Expr::value(Some(actor.label())))
        .col_expr(review::Column::UpdatedAt, Expr::value(now))
        .filter(review::Column::Id.eq(review_id))
        .filter(review::Column::Status.is_in([
            ReviewStatus::Received.as_str(),
            ReviewStatus::InReview.as_str(),
        ]))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !moved {
        let current = reload(&txn, review_id).await?;
        return Err(review_conflict(
            &current.status,
            "La décision a déjà été rendue",
        ));
    }
    let name = funder_name(&txn, found.funder_id).await?;
    let summary = match amount {
        Some(a) => format!("{} : {}", decision.label(), french::euros(a)),
        None => decision.label().to_owned(),
    };
    record(
        &txn,
        dossier.id,
        actor,
        "DECIDED",
        format!("Décision de {name} — {summary}."),
    )
    .await?;
    // The dossier row is locked here: a withdrawal that committed since `actionable` read the
    // dossier is seen now, and the decision is rolled back with the transaction.
    if refresh_status(&txn, dossier.id).await? == DossierStatus::Withdrawn {
        return Err(Error::Conflict(
            "Le porteur a retiré ce dossier : il n'attend plus de décision.".into(),
        ));
    }
    // Decisions taken in a conference reach the holder in its one summary.
    if !on_open_agenda(&txn, dossier.id).await? {
        let project = dossier.title();
        let link = env.links.dossier(dossier.id);
        notify::send(
            &txn,
            &notify::DECIDED,
            &notify::holder_recipients(&txn, &dossier).await?,
            &[
                ("reference", &dossier.reference),
                ("project", &project),
                ("funder", &name),
                ("decision", &summary),
                ("motivation", motivation),
                ("link", &link),
            ],
            &[],
        )
        .await?;
    }
    txn.commit().await?;
    reload(db, review_id).await
}

/// True when the dossier is on the agenda of a conference not yet closed.
async fn on_open_agenda(db: &impl ConnectionTrait, dossier_id: i64) -> Result<bool> {
    for item in agenda_item::Entity::find()
        .filter(agenda_item::Column::DossierId.eq(dossier_id))
        .all(db)
        .await?
    {
        if let Some(c) = conference::Entity::find_by_id(item.conference_id)
            .one(db)
            .await?
            && c.status != ConferenceStatus::Closed.as_str()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A funder agent asks the holder a question, seen by every funder of the dossier; the
/// holder is emailed and the dossier waits (INFO_REQUESTED) until answered.
pub async fn request_information(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    dossier_id: i64,
    question: &str,
) -> Result<information_request::Model> {
    let question = question.trim();
    if question.chars().count() < 5 || question.chars().count() > 5000 {
        return Err(Error::validation(
            "question",
            "Posez votre question (de 5 à 5 000 caractères).",
        ));
    }
    catalog::text::multi_line("question", question)?;
    let (dossier, access) = dossier::get(db, actor, dossier_id).await?;
    let Access::Funder(funder) = access else {
        return Err(Error::Forbidden);
    };
    if !matches!(
        dossier.status,
        DossierStatus::Submitted | DossierStatus::InReview | DossierStatus::InfoRequested
    ) {
        return Err(Error::Conflict(format!(
            "Aucune question ne peut être posée : le dossier est au statut « {} ».",
            dossier.status.label()
        )));
    }
    let txn = catalog::db::begin_write(db).await?;
    let asked = information_request::Entity::insert(information_request::ActiveModel {
        id: NotSet,
        dossier_id: Set(dossier_id),
        funder_id: Set(funder),
        asked_by: Set(actor.label()),
        question: Set(question.to_owned()),
        asked_at: Set(Utc::now()),
        answer: Set(None),
        answered_at: Set(None),
    })
    .exec_with_returning(&txn)
    .await?;
    let name = funder_name(&txn, funder).await?;
    record(
        &txn,
        dossier_id,
        actor,
        "INFORMATION_REQUESTED",
        format!("Question de {name}."),
    )
    .await?;
    refresh_status(&txn, dossier_id).await?;
    let project = dossier.title();
    let link = env.links.dossier(dossier_id);
    notify::send(
        &txn,
        &notify::INFO_REQUESTED,
        &notify::holder_recipients(&txn, &dossier).await?,
        &[
            ("reference", &dossier.reference),
            ("project", &project),
            ("funder", &name),
            ("question", question),
            ("link", &link),
        ],
        &[],
    )
    .await?;
    txn.commit().await?;
    Ok(asked)
}

/// The holder answers a question, once; every funder of the dossier is emailed.
pub async fn answer(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    request_id: i64,
    answer: &str,
) -> Result<information_request::Model> {
    let answer = answer.trim();
    if answer.is_empty() || answer.chars().count() > 10_000 {
        return Err(Error::validation(
            "answer",
            "Écrivez votre réponse (10 000 caractères au plus).",
        ));
    }
    catalog::text::multi_line("answer", answer)?;
    let request = information_request::Entity::find_by_id(request_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound("Question".into()))?;
    let (dossier, access) =
        dossier::get(db, actor, request.dossier_id)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => Error::NotFound("Question".into()),
                e => e,
            })?;
    if access != Access::Holder {
        return Err(Error::Forbidden);
    }
    if dossier.status == DossierStatus::Withdrawn {
        return Err(Error::Conflict("Le dossier a été retiré.".into()));
    }
    let txn = catalog::db::begin_write(db).await?;
    let done = information_request::Entity::update_many()
        .col_expr(
            information_request::Column::Answer,
            Expr::value(Some(answer.to_owned())),
        )
        .col_expr(
            information_request::Column::AnsweredAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(information_request::Column::Id.eq(request_id))
        .filter(information_request::Column::Answer.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !done {
        return Err(Error::Conflict(
            "Cette question a déjà reçu une réponse.".into(),
        ));
    }
    let asker = funder_name(&txn, request.funder_id).await?;
    record(
        &txn,
        dossier.id,
        actor,
        "INFORMATION_ANSWERED",
        format!("Réponse à la question de {asker}."),
    )
    .await?;
    refresh_status(&txn, dossier.id).await?;
    let project = dossier.title();
    let link = env.links.review(dossier.id);
    for (funder_id, contact) in funders_of(&txn, dossier.id).await? {
        notify::send(
            &txn,
            &notify::INFO_ANSWERED,
            &notify::funder_recipients(&txn, funder_id, contact.as_deref()).await?,
            &[
                ("reference", &dossier.reference),
                ("project", &project),
                ("funder", &asker),
                ("question", &request.question),
                ("answer", answer),
                ("link", &link),
            ],
            &[],
        )
        .await?;
    }
    txn.commit().await?;
    information_request::Entity::find_by_id(request_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound("Question".into()))
}

/// A private note on a review, read only by that funder's agents (and staff).
pub async fn add_note(
    db: &DatabaseConnection,
    actor: &Actor,
    review_id: i64,
    text: &str,
) -> Result<review_note::Model> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 5000 {
        return Err(Error::validation(
            "text",
            "Écrivez la note (5 000 caractères au plus).",
        ));
    }
    catalog::text::multi_line("text", text)?;
    let (found, _) = actionable(db, actor, review_id).await?;
    Ok(review_note::Entity::insert(review_note::ActiveModel {
        id: NotSet,
        review_id: Set(review_id),
        funder_id: Set(found.funder_id),
        author: Set(actor.label()),
        text: Set(text.to_owned()),
        at: Set(Utc::now()),
    })
    .exec_with_returning(db)
    .await?)
}
