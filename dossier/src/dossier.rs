//! Dossiers: who may see them, the holder's draft saved piece by piece, attachments, the
//! one submission to every funder concerned, withdrawal, and the audit log.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use catalog::outbox::MailAttachment;
use catalog::plan::PlanCheck;
use catalog::vocab::SchemeStatus;
use catalog::{Actor, Error, Result, Role, Territories};
use chrono::{Datelike, Utc};
use sea_orm::sea_query::{Expr, LockType, NullOrdering, Order, Query};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::blob::{self, BlobStore};
use crate::content::{self, DossierInput, Holder};
use crate::entity::{attachment, dossier as row, dossier_event, holder_profile, review};
use crate::model::{Access, Dossier, DossierStatus, ReviewStatus, account_id, agent_funder};
use crate::notify::{self, Links};

/// What dossier operations need besides the database.
#[derive(Clone)]
pub struct Env {
    pub territories: Arc<Territories>,
    pub blobs: BlobStore,
    pub links: Links,
    pub quotas: Quotas,
}

/// What one holder's account may hold: attachments per dossier and in all, open drafts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Largest total of one dossier's attachments, in bytes.
    pub dossier_bytes: u64,
    /// Largest total of the files of all the account's dossiers, in bytes; a file attached
    /// to several of them (reused from one dossier to the next) counts once.
    pub account_bytes: u64,
    /// Most drafts one account may have at once.
    pub open_drafts: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            dossier_bytes: 100 * 1024 * 1024,
            account_bytes: 500 * 1024 * 1024,
            open_drafts: 20,
        }
    }
}

/// `bytes` in megabytes, for messages.
fn megabytes(bytes: u64) -> String {
    let tenths = (bytes * 10 + 524_288) / 1_048_576;
    if tenths.is_multiple_of(10) {
        format!("{} Mo", tenths / 10)
    } else {
        format!("{},{} Mo", tenths / 10, tenths % 10)
    }
}

/// Locks an account's row until the end of the transaction (PostgreSQL; SQLite's write
/// transactions already run one at a time), so that checks of what the account holds and the
/// writes they allow happen one request at a time. FOR NO KEY UPDATE, like
/// [`refresh_status`], does not wait on rows that merely reference the account.
async fn lock_account(db: &impl ConnectionTrait, account: i64) -> Result<()> {
    catalog::entity::account::Entity::find_by_id(account)
        .lock(LockType::NoKeyUpdate)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound("Compte".into()))?;
    Ok(())
}

/// Loads a dossier without any access check.
pub async fn load(db: &impl ConnectionTrait, id: i64) -> Result<Option<Dossier>> {
    Ok(row::Entity::find_by_id(id).one(db).await?.map(Into::into))
}

/// Why `actor` may see `dossier`; `NotFound` when they may not (so that guessing an id
/// tells nothing), `Unauthenticated` when nobody is logged in.
pub async fn access(db: &impl ConnectionTrait, actor: &Actor, dossier: &Dossier) -> Result<Access> {
    if actor.is_staff() {
        return Ok(Access::Staff);
    }
    let me = account_id(actor)?;
    if dossier.account_id == me {
        return Ok(Access::Holder);
    }
    if let Some(funder) = agent_funder(actor)
        && dossier.status != DossierStatus::Draft
    {
        let routed: Vec<i64> = review::Entity::find()
            .filter(review::Column::DossierId.eq(dossier.id))
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.funder_id)
            .collect();
        if routed.contains(&funder) {
            return Ok(Access::Funder(funder));
        }
        // An agent of a service sees, read-only, what was routed to its sub-services (the
        // head of a network: the whole network).
        let below = catalog::network::Network::load(db)
            .await?
            .descendants(funder);
        if routed.iter().any(|f| below.contains(f)) {
            return Ok(Access::Network(funder));
        }
    }
    Err(Error::NotFound("Dossier".into()))
}

/// A dossier the actor may see, and why.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<(Dossier, Access)> {
    let dossier = load(db, id)
        .await?
        .ok_or_else(|| Error::NotFound("Dossier".into()))?;
    let access = access(db, actor, &dossier).await?;
    Ok((dossier, access))
}

/// A dossier its holder may change.
async fn own(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<Dossier> {
    let (dossier, access) = get(db, actor, id).await?;
    if access != Access::Holder {
        return Err(Error::Forbidden);
    }
    Ok(dossier)
}

/// The order of a dossier list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    UpdatedDesc,
    UpdatedAsc,
    SubmittedDesc,
    SubmittedAsc,
}

/// A page of the dossiers the actor may see.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub statuses: Vec<DossierStatus>,
    pub sort: Sort,
    pub offset: u64,
    pub limit: u64,
}

/// The dossiers the actor may see (holder: theirs; funder agent: those sent to their funder;
/// staff: all), with the total.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    query: &ListQuery,
) -> Result<(Vec<Dossier>, u64)> {
    let mut select = row::Entity::find();
    if !actor.is_staff() {
        let me = account_id(actor)?;
        select = match agent_funder(actor) {
            // What was routed to its service or to the services below it.
            Some(funder) => select.filter(
                row::Column::Id.in_subquery(
                    Query::select()
                        .column(review::Column::DossierId)
                        .from(review::Entity)
                        .and_where(
                            review::Column::FunderId.is_in(
                                catalog::network::Network::load(db)
                                    .await?
                                    .descendants(funder),
                            ),
                        )
                        .to_owned(),
                ),
            ),
            None => select.filter(row::Column::AccountId.eq(me)),
        };
    }
    if !query.statuses.is_empty() {
        select = select.filter(
            row::Column::Status.is_in(
                query
                    .statuses
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            ),
        );
    }
    let total = select.clone().count(db).await?;
    select = match query.sort {
        Sort::UpdatedDesc => select.order_by_desc(row::Column::UpdatedAt),
        Sort::UpdatedAsc => select.order_by_asc(row::Column::UpdatedAt),
        // Drafts (never submitted) last, on SQLite and PostgreSQL alike.
        Sort::SubmittedDesc => {
            select.order_by_with_nulls(row::Column::SubmittedAt, Order::Desc, NullOrdering::Last)
        }
        Sort::SubmittedAsc => {
            select.order_by_with_nulls(row::Column::SubmittedAt, Order::Asc, NullOrdering::Last)
        }
    };
    let rows = select
        .order_by_desc(row::Column::Id)
        .offset(query.offset)
        .limit(query.limit)
        .all(db)
        .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// Records an audit event.
pub async fn record(
    db: &impl ConnectionTrait,
    dossier_id: i64,
    actor: &Actor,
    action: &str,
    detail: impl Into<String>,
) -> Result<()> {
    dossier_event::Entity::insert(dossier_event::ActiveModel {
        id: NotSet,
        dossier_id: Set(dossier_id),
        at: Set(Utc::now()),
        actor: Set(actor.label()),
        action: Set(action.to_owned()),
        detail: Set(detail.into()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// The audit events of a dossier, oldest first.
pub async fn events(
    db: &impl ConnectionTrait,
    dossier_id: i64,
) -> Result<Vec<dossier_event::Model>> {
    Ok(dossier_event::Entity::find()
        .filter(dossier_event::Column::DossierId.eq(dossier_id))
        .order_by_asc(dossier_event::Column::Id)
        .all(db)
        .await?)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Validates the parts given.
fn validate(input: DossierInput, territories: &Territories) -> Result<DossierInput> {
    Ok(DossierInput {
        holder: input.holder.map(|h| h.validate(territories)).transpose()?,
        project: input.project.map(|p| p.validate(territories)).transpose()?,
        expenses: input.expenses.map(content::validate_expenses).transpose()?,
        plan: input.plan.map(content::Plan::validate).transpose()?,
        certified: input.certified,
    })
}

/// The holder's saved organisation, reused by their next dossier.
pub async fn profile(db: &impl ConnectionTrait, actor: &Actor) -> Result<Option<Holder>> {
    let me = account_id(actor)?;
    Ok(holder_profile::Entity::find_by_id(me)
        .one(db)
        .await?
        .and_then(|p| serde_json::from_str(&p.holder).ok()))
}

async fn save_profile(db: &impl ConnectionTrait, account: i64, holder: &Holder) -> Result<()> {
    let now = Utc::now();
    holder_profile::Entity::insert(holder_profile::ActiveModel {
        account_id: Set(account),
        holder: Set(json(holder)),
        updated_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(holder_profile::Column::AccountId)
            .update_columns([
                holder_profile::Column::Holder,
                holder_profile::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// The most recent other dossier of an account (whose documents a new dossier reuses).
async fn previous_dossier(
    db: &impl ConnectionTrait,
    account: i64,
    except: Option<i64>,
) -> Result<Option<row::Model>> {
    let mut select = row::Entity::find().filter(row::Column::AccountId.eq(account));
    if let Some(id) = except {
        select = select.filter(row::Column::Id.ne(id));
    }
    Ok(select.order_by_desc(row::Column::Id).one(db).await?)
}

/// The documents of the holder's most recent dossier (reused by their next one).
pub async fn profile_attachments(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<attachment::Model>> {
    let me = account_id(actor)?;
    match previous_dossier(db, me, None).await? {
        Some(previous) => attachments(db, previous.id).await,
        None => Ok(Vec::new()),
    }
}

/// Creates a draft for the holder. Without a `holder` part, the holder's profile fills it;
/// the documents of their previous dossier are attached again ("dites-le-nous une fois").
pub async fn create(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    input: DossierInput,
) -> Result<Dossier> {
    let me = account_id(actor)?;
    if !matches!(
        actor,
        Actor::Account {
            role: Role::Holder,
            ..
        }
    ) {
        return Err(Error::Forbidden);
    }
    let mut input = validate(input, &env.territories)?;
    if input.holder.is_none() {
        input.holder = profile(db, actor).await?;
    }
    let now = Utc::now();
    let txn = catalog::db::begin_write(db).await?;
    lock_account(&txn, me).await?;
    let drafts = row::Entity::find()
        .filter(row::Column::AccountId.eq(me))
        .filter(row::Column::Status.eq(DossierStatus::Draft.as_str()))
        .count(&txn)
        .await?;
    if drafts >= env.quotas.open_drafts {
        return Err(Error::validation(
            "dossier",
            format!(
                "Vous avez déjà {drafts} brouillons en cours, le maximum : complétez et déposez l'un d'eux avant d'en commencer un autre."
            ),
        ));
    }
    let previous = previous_dossier(&txn, me, None).await?;
    let inserted = row::Entity::insert(row::ActiveModel {
        id: NotSet,
        reference: Set(format!("brouillon-{}", rand::random::<u64>())),
        account_id: Set(me),
        status: Set(DossierStatus::Draft.as_str().to_owned()),
        holder: Set(input.holder.as_ref().map(json)),
        project: Set(input.project.as_ref().map(json)),
        expenses: Set(json(&input.expenses.unwrap_or_default())),
        plan: Set(input.plan.as_ref().map(json)),
        certified: Set(input.certified.unwrap_or(false)),
        scheme_slugs: Set("[]".into()),
        submit_key: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        submitted_at: Set(None),
        withdrawn_reason: Set(None),
    })
    .exec(&txn)
    .await?;
    let id = inserted.last_insert_id;
    row::Entity::update_many()
        .col_expr(
            row::Column::Reference,
            Expr::value(format!("GU-{}-{id:06}", now.year())),
        )
        .filter(row::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let mut reused = 0;
    if let Some(previous) = previous {
        for a in attachments(&txn, previous.id).await? {
            attachment::Entity::insert(attachment::ActiveModel {
                id: NotSet,
                dossier_id: Set(id),
                label: Set(a.label),
                filename: Set(a.filename),
                content_type: Set(a.content_type),
                size: Set(a.size),
                sha256: Set(a.sha256),
                uploaded_at: Set(now),
            })
            .exec(&txn)
            .await?;
            reused += 1;
        }
    }
    if let Some(holder) = &input.holder {
        save_profile(&txn, me, holder).await?;
    }
    let detail = if reused > 0 {
        format!("Brouillon créé ; {reused} pièce(s) du dossier précédent reprise(s).")
    } else {
        "Brouillon créé.".to_owned()
    };
    record(&txn, id, actor, "CREATED", detail).await?;
    txn.commit().await?;
    load(db, id)
        .await?
        .ok_or_else(|| Error::Internal("dossier vanished after creation".into()))
}

fn conflict_status(status: DossierStatus, what: &str) -> Error {
    Error::Conflict(format!(
        "{what} : le dossier est au statut « {} ».",
        status.label()
    ))
}

/// Saves the parts given of a draft (the others are kept).
pub async fn update(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    id: i64,
    input: DossierInput,
) -> Result<Dossier> {
    let dossier = own(db, actor, id).await?;
    let input = validate(input, &env.territories)?;
    if dossier.status != DossierStatus::Draft {
        return Err(conflict_status(
            dossier.status,
            "Seul un brouillon peut être modifié",
        ));
    }
    let txn = catalog::db::begin_write(db).await?;
    let mut update = row::Entity::update_many()
        .col_expr(row::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::Status.eq(DossierStatus::Draft.as_str()));
    if let Some(holder) = &input.holder {
        update = update.col_expr(row::Column::Holder, Expr::value(Some(json(holder))));
        save_profile(&txn, dossier.account_id, holder).await?;
    }
    if let Some(project) = &input.project {
        update = update.col_expr(row::Column::Project, Expr::value(Some(json(project))));
    }
    if let Some(expenses) = &input.expenses {
        update = update.col_expr(row::Column::Expenses, Expr::value(json(expenses)));
    }
    if let Some(plan) = &input.plan {
        update = update.col_expr(row::Column::Plan, Expr::value(Some(json(plan))));
    }
    if let Some(certified) = input.certified {
        update = update.col_expr(row::Column::Certified, Expr::value(certified));
    }
    if update.exec(&txn).await?.rows_affected != 1 {
        return Err(Error::Conflict(
            "Le dossier vient d'être déposé : il ne peut plus être modifié.".into(),
        ));
    }
    txn.commit().await?;
    load(db, id)
        .await?
        .ok_or_else(|| Error::NotFound("Dossier".into()))
}

/// The published schemes named by the plan's lines, by slug.
async fn plan_schemes(
    db: &impl ConnectionTrait,
    slugs: &[String],
) -> Result<HashMap<String, catalog::scheme::Scheme>> {
    let mut schemes = HashMap::new();
    for slug in slugs {
        if schemes.contains_key(slug) {
            continue;
        }
        if let Some(scheme) = catalog::scheme::get(db, slug).await?
            && scheme.status() == SchemeStatus::Published
        {
            schemes.insert(slug.to_owned(), scheme);
        }
    }
    Ok(schemes)
}

/// The financing plan checked against the co-financing rules (`None` without a plan, a
/// holder or a budget), with the project's nature, commune and cost basis.
pub async fn check_plan(
    db: &impl ConnectionTrait,
    territories: &Territories,
    dossier: &Dossier,
) -> Result<Option<PlanCheck>> {
    let (Some(plan), Some(holder)) = (&dossier.plan, &dossier.holder) else {
        return Ok(None);
    };
    let total = dossier.total_cost();
    if total <= 0 {
        return Ok(None);
    }
    let slugs: Vec<String> = plan
        .lines
        .iter()
        .filter_map(|l| l.scheme_slug.clone())
        .collect();
    let schemes = plan_schemes(db, &slugs).await?;
    let records = schemes
        .into_iter()
        .map(|(slug, s)| (slug, s.record))
        .collect();
    let financing = plan.to_financing_plan(holder.holder_type, total, dossier.project.as_ref());
    match catalog::plan::check(&financing, &records, territories) {
        Ok(check) => Ok(Some(check)),
        Err(Error::Validation { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Something that prevents submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub field: String,
    pub message: String,
}

fn missing_item(field: &str, message: impl Into<String>) -> Missing {
    Missing {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// What the dossier still lacks before it can be submitted (empty when complete).
pub async fn missing(
    db: &impl ConnectionTrait,
    territories: &Territories,
    dossier: &Dossier,
) -> Result<Vec<Missing>> {
    let mut missing = Vec::new();
    if dossier.holder.is_none() {
        missing.push(missing_item(
            "holder",
            "Renseignez le porteur du projet (identité, SIRET, représentant légal).",
        ));
    }
    if dossier.project.is_none() {
        missing.push(missing_item("project", "Décrivez le projet."));
    }
    if dossier.expenses.is_empty() {
        missing.push(missing_item(
            "expenses",
            "Indiquez au moins une dépense du budget.",
        ));
    }
    match (&dossier.plan, check_plan(db, territories, dossier).await?) {
        (None, _) => missing.push(missing_item(
            "financingPlan",
            "Établissez le plan de financement.",
        )),
        (Some(_), Some(check)) => {
            for v in check.violations {
                let field = match v.line {
                    Some(line) => format!("financingPlan.lines.{line}"),
                    None => "financingPlan".to_owned(),
                };
                missing.push(Missing {
                    field,
                    message: v.message,
                });
            }
        }
        (Some(_), None) if dossier.holder.is_some() && !dossier.expenses.is_empty() => missing
            .push(missing_item(
                "financingPlan",
                "Le plan de financement ne peut pas être vérifié : un dispositif n'est plus publié.",
            )),
        (Some(_), None) => {}
    }
    if !dossier.certified {
        missing.push(missing_item(
            "certified",
            "Certifiez sur l'honneur l'exactitude des informations.",
        ));
    }
    Ok(missing)
}

/// The attachments of a dossier, oldest first.
pub async fn attachments(
    db: &impl ConnectionTrait,
    dossier_id: i64,
) -> Result<Vec<attachment::Model>> {
    Ok(attachment::Entity::find()
        .filter(attachment::Column::DossierId.eq(dossier_id))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?)
}

/// Refuses a file of `size` bytes and digest `sha256` that `dossier_id`, or its account,
/// has no room for under `quotas`.
async fn check_room(
    db: &impl ConnectionTrait,
    quotas: &Quotas,
    dossier: &Dossier,
    sha256: &str,
    size: u64,
) -> Result<()> {
    let files: Vec<(i64, String, i64)> = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::DossierId)
        .column(attachment::Column::Sha256)
        .column(attachment::Column::Size)
        .filter(
            attachment::Column::DossierId.in_subquery(
                Query::select()
                    .column(row::Column::Id)
                    .from(row::Entity)
                    .and_where(row::Column::AccountId.eq(dossier.account_id))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(db)
        .await?;
    let in_dossier: u64 = files
        .iter()
        .filter(|(d, _, _)| *d == dossier.id)
        .map(|(_, _, s)| *s as u64)
        .sum();
    if in_dossier + size > quotas.dossier_bytes {
        return Err(Error::validation(
            "file",
            format!(
                "Les pièces d'un dossier ne peuvent dépasser {} au total (déjà joint : {}).",
                megabytes(quotas.dossier_bytes),
                megabytes(in_dossier)
            ),
        ));
    }
    let mut distinct = BTreeMap::new();
    for (_, sha, s) in &files {
        distinct.insert(sha.as_str(), *s as u64);
    }
    let in_account: u64 = distinct.values().sum();
    let added = if distinct.contains_key(sha256) {
        0
    } else {
        size
    };
    if in_account + added > quotas.account_bytes {
        return Err(Error::validation(
            "file",
            format!(
                "Les pièces de tous vos dossiers ne peuvent dépasser {} au total (déjà joint : {}) : retirez des pièces de vos brouillons.",
                megabytes(quotas.account_bytes),
                megabytes(in_account)
            ),
        ));
    }
    Ok(())
}

/// Adds a file to a draft: type sniffed from the content, size limits, stored once. The
/// quotas are checked again in the transaction that adds the row, with the account locked,
/// so that concurrent uploads cannot together go past them.
pub async fn add_attachment(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    dossier_id: i64,
    label: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<attachment::Model> {
    let dossier = own(db, actor, dossier_id).await?;
    if dossier.status != DossierStatus::Draft {
        return Err(conflict_status(
            dossier.status,
            "Les pièces ne peuvent être ajoutées qu'à un brouillon",
        ));
    }
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 200 {
        return Err(Error::validation(
            "label",
            "Indiquez ce qu'est la pièce (200 caractères au plus), par exemple « Devis ».",
        ));
    }
    if bytes.is_empty() {
        return Err(Error::validation("file", "Le fichier est vide."));
    }
    if bytes.len() as u64 > blob::MAX_FILE_BYTES {
        return Err(Error::validation(
            "file",
            "Le fichier dépasse 20 Mo : réduisez-le ou scindez-le.",
        ));
    }
    let filename = blob::clean_filename(filename);
    let Some(content_type) = blob::sniff(&bytes, &filename) else {
        return Err(Error::validation(
            "file",
            "Type de fichier non accepté : envoyez un PDF, une image (PNG, JPEG, WebP) ou un document OpenDocument ou Office.",
        ));
    };
    let size = bytes.len() as u64;
    let (digest, bytes) = tokio::task::spawn_blocking(move || (blob::sha256_hex(&bytes), bytes))
        .await
        .map_err(|e| Error::Internal(format!("attachment digest: {e}")))?;
    // Checked first without a lock, so that a file refused anyway is not stored.
    check_room(db, &env.quotas, &dossier, &digest, size).await?;
    // The file is stored before the row: if the process dies in between, an unused file
    // remains, never a row without its file.
    let sha256 = env
        .blobs
        .put(bytes)
        .await
        .map_err(|e| Error::Internal(format!("attachment store: {e}")))?;
    let txn = catalog::db::begin_write(db).await?;
    lock_account(&txn, dossier.account_id).await?;
    // Locked too, so that a submission cannot slip between this check and the insert.
    let current: Dossier = row::Entity::find_by_id(dossier_id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::NotFound("Dossier".into()))?;
    if current.status != DossierStatus::Draft {
        return Err(conflict_status(
            current.status,
            "Les pièces ne peuvent être ajoutées qu'à un brouillon",
        ));
    }
    check_room(&txn, &env.quotas, &current, &sha256, size).await?;
    let model = attachment::Entity::insert(attachment::ActiveModel {
        id: NotSet,
        dossier_id: Set(dossier_id),
        label: Set(label.to_owned()),
        filename: Set(filename.clone()),
        content_type: Set(content_type.to_owned()),
        size: Set(size as i64),
        sha256: Set(sha256),
        uploaded_at: Set(Utc::now()),
    })
    .exec_with_returning(&txn)
    .await?;
    record(
        &txn,
        dossier_id,
        actor,
        "ATTACHMENT_ADDED",
        format!("Pièce ajoutée : {label} ({filename})."),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Removes a file from a draft; returns the dossier.
pub async fn remove_attachment(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<Dossier> {
    let found = attachment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound("Pièce jointe".into()))?;
    let dossier = own(db, actor, found.dossier_id)
        .await
        .map_err(|e| match e {
            Error::Forbidden => Error::NotFound("Pièce jointe".into()),
            e => e,
        })?;
    if dossier.status != DossierStatus::Draft {
        return Err(conflict_status(
            dossier.status,
            "Les pièces ne peuvent être retirées que d'un brouillon",
        ));
    }
    let txn = catalog::db::begin_write(db).await?;
    attachment::Entity::delete_by_id(id).exec(&txn).await?;
    record(
        &txn,
        dossier.id,
        actor,
        "ATTACHMENT_REMOVED",
        format!("Pièce retirée : {} ({}).", found.label, found.filename),
    )
    .await?;
    txn.commit().await?;
    Ok(dossier)
}

/// An attachment the actor may download (`NotFound` otherwise).
pub async fn attachment_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> Result<attachment::Model> {
    let found = attachment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound("Pièce jointe".into()))?;
    let dossier = load(db, found.dossier_id)
        .await?
        .ok_or_else(|| Error::NotFound("Pièce jointe".into()))?;
    access(db, actor, &dossier).await.map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound("Pièce jointe".into()),
        e => e,
    })?;
    Ok(found)
}

/// Recomputes a submitted dossier's status from its reviews and open requests.
pub async fn refresh_status(db: &impl ConnectionTrait, dossier_id: i64) -> Result<DossierStatus> {
    // The row is locked before the reviews are read (on PostgreSQL; SQLite has one writer at
    // a time): co-funders deciding at once then derive the status one after the other, the
    // later from reviews that include the earlier decision. FOR NO KEY UPDATE, the lock the
    // status update takes anyway, does not wait on the key-share locks that inserting the
    // audit event took in the same transactions (FOR UPDATE would deadlock on them).
    let dossier: Dossier = row::Entity::find_by_id(dossier_id)
        .lock(LockType::NoKeyUpdate)
        .one(db)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::NotFound("Dossier".into()))?;
    if matches!(
        dossier.status,
        DossierStatus::Draft | DossierStatus::Withdrawn
    ) {
        return Ok(dossier.status);
    }
    let reviews: Vec<ReviewStatus> = review::Entity::find()
        .filter(review::Column::DossierId.eq(dossier_id))
        .all(db)
        .await?
        .iter()
        .filter_map(|r| ReviewStatus::parse(&r.status))
        .collect();
    let open = crate::review::open_requests(db, dossier_id).await? > 0;
    let status = crate::model::derive_status(&reviews, open);
    row::Entity::update_many()
        .col_expr(row::Column::Status, Expr::value(status.as_str()))
        .col_expr(row::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(row::Column::Id.eq(dossier_id))
        .exec(db)
        .await?;
    Ok(status)
}

fn valid_key(key: &str) -> bool {
    (8..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
}

/// One funder a submission goes to.
struct Recipient {
    funder: catalog::funder::Funder,
    slugs: Vec<String>,
    amount: i64,
}

/// Sends the dossier to the distinct funders of `scheme_slugs`, all or nothing: one review
/// per funder, the audit event, the acknowledgement to the holder and a notification (with
/// the PDF) to each funder's contact address and agents. The same `idempotency_key` returns
/// the submitted dossier again, never a second submission, also under concurrent retries.
pub async fn submit(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    id: i64,
    scheme_slugs: &[String],
    idempotency_key: &str,
) -> Result<Dossier> {
    let dossier = own(db, actor, id).await?;
    let key = idempotency_key.trim();
    if dossier.status != DossierStatus::Draft {
        return already_submitted(dossier, key);
    }
    if !valid_key(key) {
        return Err(Error::validation(
            "idempotencyKey",
            "Clé d'idempotence invalide : 8 à 128 caractères parmi lettres, chiffres, - _ : .",
        ));
    }
    let mut slugs: Vec<String> = Vec::new();
    for slug in scheme_slugs.iter().map(|s| s.trim()) {
        if !slugs.iter().any(|s| s == slug) {
            slugs.push(slug.to_owned());
        }
    }
    if slugs.is_empty() {
        return Err(Error::validation(
            "schemeSlugs",
            "Choisissez au moins un dispositif auquel déposer le dossier.",
        ));
    }
    if slugs.len() > 20 {
        return Err(Error::validation(
            "schemeSlugs",
            "Un dossier peut être déposé à 20 dispositifs au plus.",
        ));
    }
    let missing = missing(db, &env.territories, &dossier).await?;
    if let Some(first) = missing.first() {
        let all: Vec<&str> = missing.iter().map(|m| m.message.as_str()).collect();
        return Err(Error::validation(
            first.field.clone(),
            format!("Le dossier n'est pas complet : {}", all.join(" ")),
        ));
    }
    let plan = dossier.plan.clone().unwrap_or_else(|| content::Plan {
        own_funds: 0,
        lines: Vec::new(),
        previous_de_minimis: 0,
        derogation: false,
    });
    let schemes = plan_schemes(db, &slugs).await?;
    // Each funder's review goes to the most local service of its network for the
    // project's commune (else to the funder itself).
    let network = catalog::network::Network::load(db).await?;
    let zonings = catalog::zoning::Zonings::load(db).await?;
    let commune = dossier.project.as_ref().and_then(|p| {
        env.territories
            .get_kind(&p.commune_code, catalog::TerritoryKind::Commune)
    });
    let mut recipients: BTreeMap<String, Recipient> = BTreeMap::new();
    for slug in &slugs {
        let Some(scheme) = schemes.get(slug) else {
            return Err(Error::validation(
                "schemeSlugs",
                format!("Dispositif inconnu ou non publié : « {slug} »."),
            ));
        };
        let asked = plan.asked_for(slug);
        if asked <= 0 {
            return Err(Error::validation(
                "financingPlan.lines",
                format!(
                    "Indiquez dans le plan de financement le montant demandé au titre de « {} ».",
                    scheme.record.title
                ),
            ));
        }
        for funder in &scheme.record.funders {
            let Some(named) = catalog::funder::get(db, &funder.slug).await? else {
                continue;
            };
            let service = match commune {
                Some(commune) => network.route(named.id, commune, &env.territories, &zonings),
                None => named.id,
            };
            if !network.receives(service) {
                let page = scheme
                    .record
                    .application_url
                    .as_deref()
                    .map(|url| format!(" : déposez votre demande sur sa page, {url}"))
                    .unwrap_or_else(|| " : déposez votre demande auprès de lui directement".into());
                return Err(Error::validation(
                    "schemeSlugs",
                    format!(
                        "« {} » : {} ne reçoit pas encore les dossiers par Guichet{page}.",
                        scheme.record.title,
                        network
                            .get(service)
                            .map_or(named.record.name.as_str(), |n| n.name.as_str()),
                    ),
                ));
            }
            let found = if service == named.id {
                named
            } else {
                catalog::funder::get_by_id(db, service)
                    .await?
                    .ok_or_else(|| Error::Internal(format!("service {service} disparu")))?
            };
            let entry = recipients
                .entry(found.record.slug.clone())
                .or_insert(Recipient {
                    funder: found,
                    slugs: Vec::new(),
                    amount: 0,
                });
            entry.slugs.push(slug.clone());
            entry.amount += asked;
        }
    }
    if recipients.is_empty() {
        return Err(Error::validation(
            "schemeSlugs",
            "Aucun financeur n'est rattaché à ces dispositifs.",
        ));
    }
    let funders: Vec<(String, i64)> = recipients
        .values()
        .map(|r| (r.funder.record.name.clone(), r.amount))
        .collect();
    let files = attachments(db, id).await?;
    let pdf = crate::document::dossier_pdf(&dossier, &env.territories, &funders, &files);
    let pdf_sha = env
        .blobs
        .put(pdf)
        .await
        .map_err(|e| Error::Internal(format!("attachment store: {e}")))?;

    let now = Utc::now();
    let txn = catalog::db::begin_write(db).await?;
    let won = row::Entity::update_many()
        .col_expr(
            row::Column::Status,
            Expr::value(DossierStatus::Submitted.as_str()),
        )
        .col_expr(row::Column::SubmitKey, Expr::value(Some(key.to_owned())))
        .col_expr(row::Column::SubmittedAt, Expr::value(Some(now)))
        .col_expr(row::Column::UpdatedAt, Expr::value(now))
        .col_expr(row::Column::SchemeSlugs, Expr::value(json(&slugs)))
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::Status.eq(DossierStatus::Draft.as_str()))
        // What was checked is what is sent: a save in between makes this attempt fail.
        .filter(row::Column::UpdatedAt.eq(dossier.updated_at))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !won {
        txn.rollback().await?;
        let current = load(db, id)
            .await?
            .ok_or_else(|| Error::NotFound("Dossier".into()))?;
        if current.status == DossierStatus::Draft {
            return Err(Error::Conflict(
                "Le dossier vient d'être modifié : vérifiez-le, puis déposez-le à nouveau.".into(),
            ));
        }
        // Another request submitted it meanwhile: the same key gets its result.
        return already_submitted(current, key);
    }
    for r in recipients.values() {
        review::Entity::insert(review::ActiveModel {
            id: NotSet,
            dossier_id: Set(id),
            funder_id: Set(r.funder.id),
            status: Set(ReviewStatus::Received.as_str().to_owned()),
            decision: Set(None),
            amount: Set(None),
            motivation: Set(None),
            decided_at: Set(None),
            decided_by: Set(None),
            requested_amount: Set(r.amount),
            scheme_slugs: Set(json(&r.slugs)),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(&txn)
        .await?;
    }
    let names: Vec<&str> = funders.iter().map(|(n, _)| n.as_str()).collect();
    record(
        &txn,
        id,
        actor,
        "SUBMITTED",
        format!(
            "Dossier déposé et transmis à {}.",
            catalog::text::french::list(&names)
        ),
    )
    .await?;
    let submitted = Dossier {
        status: DossierStatus::Submitted,
        ..dossier
    };
    notify_submission(&txn, env, &submitted, &recipients, &pdf_sha).await?;
    txn.commit().await?;
    load(db, id)
        .await?
        .ok_or_else(|| Error::NotFound("Dossier".into()))
}

fn already_submitted(dossier: Dossier, key: &str) -> Result<Dossier> {
    if dossier.submit_key.as_deref() == Some(key) && !key.is_empty() {
        Ok(dossier)
    } else {
        Err(conflict_status(
            dossier.status,
            "Ce dossier a déjà été déposé",
        ))
    }
}

async fn notify_submission(
    db: &impl ConnectionTrait,
    env: &Env,
    dossier: &Dossier,
    recipients: &BTreeMap<String, Recipient>,
    pdf_sha: &str,
) -> Result<()> {
    use catalog::text::french;
    let project = dossier.title();
    let holder = dossier
        .holder
        .as_ref()
        .map(|h| h.legal_name.clone())
        .unwrap_or_default();
    let commune = dossier
        .project
        .as_ref()
        .and_then(|p| {
            env.territories
                .get_kind(&p.commune_code, catalog::TerritoryKind::Commune)
        })
        .map(|t| format!("{} ({})", t.name, t.code))
        .unwrap_or_default();
    let items: Vec<String> = recipients
        .values()
        .map(|r| {
            format!(
                "{} — {} demandés",
                r.funder.record.name,
                french::euros(r.amount)
            )
        })
        .collect();
    let (funders_text, funders_html) = notify::list(&items);
    let date = french::date(Utc::now().date_naive());
    let link = env.links.dossier(dossier.id);
    notify::send(
        db,
        &notify::SUBMITTED,
        &notify::holder_recipients(db, dossier).await?,
        &[
            ("reference", &dossier.reference),
            ("project", &project),
            ("date", &date),
            ("funders", &funders_text),
            ("funders_html", &funders_html),
            ("link", &link),
        ],
        &[],
    )
    .await?;
    let pdf = [MailAttachment {
        filename: format!("{}.pdf", dossier.reference),
        content_type: "application/pdf".into(),
        sha256: pdf_sha.to_owned(),
    }];
    let total = french::euros(dossier.total_cost());
    let review_link = env.links.review(dossier.id);
    for r in recipients.values() {
        let others: Vec<&str> = recipients
            .values()
            .filter(|o| o.funder.id != r.funder.id)
            .map(|o| o.funder.record.name.as_str())
            .collect();
        let cofunders = if others.is_empty() {
            "aucun".to_owned()
        } else {
            french::list(&others)
        };
        let amount = french::euros(r.amount);
        notify::send(
            db,
            &notify::RECEIVED,
            &notify::service_recipients(db, r.funder.id).await?,
            &[
                ("reference", &dossier.reference),
                ("project", &project),
                ("holder", &holder),
                ("commune", &commune),
                ("total", &total),
                ("funder", &r.funder.record.name),
                ("amount", &amount),
                ("cofunders", &cofunders),
                ("link", &review_link),
            ],
            &pdf,
        )
        .await?;
    }
    Ok(())
}

/// Withdraws a submitted dossier; every funder is told.
pub async fn withdraw(
    db: &DatabaseConnection,
    env: &Env,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<Dossier> {
    let dossier = own(db, actor, id).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(Error::validation(
            "reason",
            "Indiquez le motif du retrait (2 000 caractères au plus).",
        ));
    }
    catalog::text::multi_line("reason", reason)?;
    if matches!(
        dossier.status,
        DossierStatus::Draft | DossierStatus::Decided | DossierStatus::Withdrawn
    ) {
        return Err(conflict_status(
            dossier.status,
            "Ce dossier ne peut pas être retiré",
        ));
    }
    let txn = catalog::db::begin_write(db).await?;
    let done = row::Entity::update_many()
        .col_expr(
            row::Column::Status,
            Expr::value(DossierStatus::Withdrawn.as_str()),
        )
        .col_expr(
            row::Column::WithdrawnReason,
            Expr::value(Some(reason.to_owned())),
        )
        .col_expr(row::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::Status.eq(dossier.status.as_str()))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !done {
        return Err(Error::Conflict(
            "Le dossier vient de changer de statut : rechargez la page.".into(),
        ));
    }
    record(
        &txn,
        id,
        actor,
        "WITHDRAWN",
        format!("Dossier retiré. Motif : {reason}"),
    )
    .await?;
    let project = dossier.title();
    let link = env.links.review(id);
    for (funder_id, contact) in crate::review::funders_of(&txn, id).await? {
        notify::send(
            &txn,
            &notify::WITHDRAWN,
            &notify::funder_recipients(&txn, funder_id, contact.as_deref()).await?,
            &[
                ("reference", &dossier.reference),
                ("project", &project),
                ("reason", reason),
                ("link", &link),
            ],
            &[],
        )
        .await?;
    }
    txn.commit().await?;
    load(db, id)
        .await?
        .ok_or_else(|| Error::NotFound("Dossier".into()))
}
