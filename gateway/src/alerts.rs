//! Sending alert digests: for each saved search that is due, the published schemes new or
//! changed since its previous digest, in one mail queued in the same transaction that
//! moves the alert on. Nothing is sent when nothing changed.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use catalog::alert::{self, SavedSearch};
use catalog::email::Email;
use catalog::entity::account;
use catalog::search::{SearchRequest, Sort};
use catalog::{Actor, vocab};
use chrono::Utc;
use sea_orm::EntityTrait;
use serde::Deserialize;

use crate::app::AppState;
use crate::mail::{self, escape_html};

/// How often the scheduler looks for due digests.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// Most schemes listed in one digest.
const MAX_ITEMS: usize = 50;

/// A French description of what an alert searches.
pub fn describe(state: &AppState, alert: &SavedSearch) -> String {
    let mut parts = Vec::new();
    if let Some(text) = &alert.text {
        parts.push(format!("« {text} »"));
    }
    let f = &alert.filter;
    if let Some(t) = f
        .territory
        .as_deref()
        .and_then(|code| state.territories.resolve(code))
    {
        parts.push(format!("à {}", t.name));
    }
    if !f.themes.is_empty() {
        let labels: Vec<_> = f
            .themes
            .iter()
            .map(|t| vocab::theme_label(t).unwrap_or(t))
            .collect();
        parts.push(format!("thèmes : {}", labels.join(", ")));
    }
    if !f.beneficiary_types.is_empty() {
        let labels: Vec<_> = f.beneficiary_types.iter().map(|b| b.label()).collect();
        parts.push(format!("bénéficiaires : {}", labels.join(", ")));
    }
    if !f.aid_types.is_empty() {
        let labels: Vec<_> = f.aid_types.iter().map(|a| a.label()).collect();
        parts.push(format!("types d'aide : {}", labels.join(", ")));
    }
    if !f.funders.is_empty() {
        parts.push(format!("financeurs : {}", f.funders.join(", ")));
    }
    if parts.is_empty() {
        "tous les dispositifs".into()
    } else {
        parts.join(" · ")
    }
}

/// The search page URL for an alert.
fn search_link(state: &AppState, alert: &SavedSearch) -> String {
    let mut query = Vec::new();
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    if let Some(text) = &alert.text {
        query.push(format!("q={}", enc(text)));
    }
    if let Some(territory) = &alert.filter.territory {
        query.push(format!("commune={}", enc(territory)));
    }
    query.extend(
        alert
            .filter
            .themes
            .iter()
            .map(|t| format!("theme={}", enc(t))),
    );
    query.extend(
        alert
            .filter
            .beneficiary_types
            .iter()
            .map(|b| format!("beneficiaire={}", b.as_str())),
    );
    query.extend(
        alert
            .filter
            .aid_types
            .iter()
            .map(|a| format!("type={}", a.as_str())),
    );
    query.extend(
        alert
            .filter
            .funders
            .iter()
            .map(|f| format!("financeur={}", enc(f))),
    );
    format!(
        "{}/recherche?{}",
        state.settings.public_url,
        query.join("&")
    )
}

/// Sends every digest that is due; returns how many mails were queued.
pub async fn send_due_digests(state: &AppState) -> anyhow::Result<usize> {
    let now = Utc::now();
    let mut queued = 0;
    for alert in alert::due(&state.db, now, 100).await? {
        let request = SearchRequest {
            text: alert.text.clone(),
            filter: alert.filter.clone(),
            sort: Sort::Recent,
            first: MAX_ITEMS,
            after: None,
            today: catalog::search::today(),
        };
        let result = state.search.search(&Actor::Anonymous, request).await?;
        let news: Vec<_> = result
            .hits
            .iter()
            .filter(|h| h.scheme.updated_at > alert.covered_until && h.scheme.updated_at <= now)
            .collect();
        let txn = catalog::db::begin_write(&state.db).await?;
        if !alert::advance(&txn, &alert, now).await? {
            continue; // another worker took it
        }
        if !news.is_empty() {
            let Some(account) = account::Entity::find_by_id(alert.account_id)
                .one(&txn)
                .await?
            else {
                continue;
            };
            let Ok(recipient) = Email::parse(&account.email) else {
                continue;
            };
            let link = |slug: &str| format!("{}/dispositifs/{slug}", state.settings.public_url);
            let items_text: String = news
                .iter()
                .map(|h| {
                    format!(
                        "- {}\n  {}\n",
                        h.scheme.record.title,
                        link(&h.scheme.record.slug)
                    )
                })
                .collect();
            let items_html: String = news
                .iter()
                .map(|h| {
                    format!(
                        "<li><a href=\"{}\">{}</a></li>\n",
                        escape_html(&link(&h.scheme.record.slug)),
                        escape_html(&h.scheme.record.title)
                    )
                })
                .collect();
            let count = if news.len() == 1 {
                "1 dispositif nouveau ou modifié".to_owned()
            } else {
                format!("{} dispositifs nouveaux ou modifiés", news.len())
            };
            let unsubscribe = format!(
                "{}/alertes/desinscription?jeton={}",
                state.settings.public_url, alert.unsubscribe_token
            );
            let mail = mail::ALERT_DIGEST.render(
                recipient,
                &[
                    ("count", &count),
                    ("frequency", alert.frequency.label()),
                    ("search", &describe(state, &alert)),
                    ("items_text", &items_text),
                    ("items_html", &items_html),
                    ("search_link", &search_link(state, &alert)),
                    ("unsubscribe_link", &unsubscribe),
                ],
            );
            catalog::outbox::enqueue(&txn, mail).await?;
            queued += 1;
        }
        txn.commit().await?;
    }
    if queued > 0 {
        state.mail_wakeup.notify_one();
    }
    Ok(queued)
}

/// Runs the digest scheduler until the server shuts down.
pub fn start_scheduler(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        while !state.shutdown.is_triggered() {
            match send_due_digests(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(digests = n, "alert digests queued"),
                Err(e) => tracing::warn!(error = %e, "alert digests failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(INTERVAL) => {}
                _ = state.shutdown.triggered() => {}
            }
        }
    })
}

#[derive(Deserialize)]
pub struct UnsubscribeParams {
    jeton: Option<String>,
}

fn page(title: &str, message: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — Guichet</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body><main id=\"contenu\" class=\"page\"><h1>{title}</h1><p>{message}</p><p><a href=\"/\">Retour à l'accueil de Guichet</a></p></main></body></html>"
    ))
    .into_response()
}

/// `GET /alertes/desinscription?jeton=…`: stops an alert, without login.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(params): Query<UnsubscribeParams>,
) -> Response {
    let token = params.jeton.unwrap_or_default();
    match alert::unsubscribe(&state.db, &token).await {
        Ok(true) => page("Alerte supprimée", "Vous ne recevrez plus cette alerte."),
        Ok(false) => page(
            "Alerte introuvable",
            "Cette alerte a déjà été supprimée, ou le lien est incomplet. Vous ne recevrez plus de message pour elle.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe failed");
            page(
                "Service indisponible",
                "La désinscription n'a pas pu être enregistrée. Réessayez dans quelques minutes.",
            )
        }
    }
}
