//! Downloads that belong to a dossier or a conference: the dossier's PDF, its attachments,
//! a conference's minutes and its decisions as SCDL CSV; and the caller's personal data.
//! Same authentication as `/graphql`; whoever may not see the dossier gets 404, as if it did
//! not exist.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalog::{Actor, Error};

use crate::app::AppState;
use crate::auth;

/// A plain-text refusal with the HTTP status of the error's code.
fn failure(error: Error) -> Response {
    let status = match crate::graphql::error::code(&error) {
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "CONFLICT" => StatusCode::CONFLICT,
        "VALIDATION" => StatusCode::BAD_REQUEST,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        error.to_string(),
    )
        .into_response()
}

/// The `Content-Disposition` header of a download (RFC 6266): `filename` is an ASCII
/// fallback (accents folded, anything else `_`) for old clients, `filename*` the name itself
/// in UTF-8, percent-encoded (RFC 8187, formerly 5987). Control and bidirectional-control
/// characters are removed from both, also from names stored before they were cleaned.
fn content_disposition(inline: bool, filename: &str) -> HeaderValue {
    let name = dossier::blob::clean_filename(filename);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() {
                return c.to_string();
            }
            let folded = catalog::text::fold(&c.to_string());
            match folded.is_ascii() && !folded.is_empty() {
                true if c.is_uppercase() => folded.to_uppercase(),
                true => folded,
                false => "_".into(),
            }
        })
        .collect::<String>()
        .chars()
        .filter(|c| (c.is_ascii_graphic() || *c == ' ') && !matches!(c, '"' | '\\' | '%'))
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    );
    HeaderValue::from_str(&disposition).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A file to download: private, never cached by shared caches, never sniffed. Every download
/// goes through here, so that every file name is sent the same way.
fn download(bytes: Vec<u8>, content_type: &str, filename: &str, inline: bool) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(inline, filename),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox; frame-ancestors 'none'"),
    );
    response
}

fn id(raw: &str) -> Result<i64, Error> {
    raw.parse::<i64>()
        .map_err(|_| Error::NotFound("Document".into()))
}

/// Authenticates the request, then answers with `serve` (or the error it returns).
async fn guarded<F>(state: &AppState, headers: &HeaderMap, serve: F) -> Response
where
    F: AsyncFnOnce(&Actor) -> Result<Response, Error>,
{
    match auth::actor_from_headers(state, headers).await {
        Ok(actor) => serve(&actor).await.unwrap_or_else(failure),
        Err(response) => response,
    }
}

/// `GET /dossiers/{id}/pdf`
pub async fn dossier_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    guarded(&state, &headers, async |actor| {
        let id = id(&raw)?;
        let (d, _) = dossier::dossier::get(&state.db, actor, id).await?;
        let pdf = dossier::document::stored_dossier_pdf(&state.db, &state.territories, &d).await?;
        Ok(download(
            pdf,
            "application/pdf",
            &format!("{}.pdf", d.reference),
            true,
        ))
    })
    .await
}

/// `GET /pieces/{id}`
pub async fn attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    guarded(&state, &headers, async |actor| {
        let id = id(&raw)?;
        let found = dossier::dossier::attachment_for(&state.db, actor, id).await?;
        match state.dossiers.blobs.get(&found.sha256).await {
            Ok(Some(bytes)) => Ok(download(
                bytes,
                &found.content_type,
                &dossier::blob::served_filename(&found.filename, &found.content_type),
                false,
            )),
            Ok(None) => Err(Error::Internal(format!(
                "attachment {id}: file {} missing from the store",
                found.sha256
            ))),
            Err(e) => Err(Error::Internal(format!("attachment {id}: {e}"))),
        }
    })
    .await
}

/// `GET /conferences/{id}/proces-verbal`
pub async fn minutes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    guarded(&state, &headers, async |actor| {
        let id = id(&raw)?;
        let conference = dossier::conference::get(&state.db, actor, id).await?;
        let minutes =
            dossier::conference::minutes(&state.db, &state.territories, actor, &conference).await?;
        let text = minutes.ok_or_else(|| {
            Error::Conflict("Le procès-verbal est écrit à la clôture de la conférence.".into())
        })?;
        Ok(download(
            text.into_bytes(),
            "text/plain; charset=utf-8",
            &format!("proces-verbal-conference-{id}.txt"),
            false,
        ))
    })
    .await
}

/// `GET /conferences/{id}/decisions.csv`
pub async fn decisions_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    guarded(&state, &headers, async |actor| {
        let id = id(&raw)?;
        let conference = dossier::conference::get(&state.db, actor, id).await?;
        let rows = dossier::conference::scdl_rows(&state.db, actor, &conference).await?;
        Ok(download(
            dossier::document::scdl_csv(&rows),
            "text/csv; charset=utf-8",
            &format!("subventions-conference-{id}.csv"),
            false,
        ))
    })
    .await
}

/// `GET /compte/donnees.json`: everything Guichet holds on the caller, as a JSON file
/// (`guichet-mes-donnees-YYYY-MM-DD.json`); 401 when nobody is logged in.
pub async fn personal_data(State(state): State<AppState>, headers: HeaderMap) -> Response {
    guarded(&state, &headers, async |actor| {
        let data = dossier::personal_data::export(&state.db, &state.dossiers, actor).await?;
        let bytes = serde_json::to_vec_pretty(&data)
            .map_err(|e| Error::Internal(format!("personal data export: {e}")))?;
        Ok(download(
            bytes,
            "application/json; charset=utf-8",
            &format!(
                "guichet-mes-donnees-{}.json",
                data.generated_at.format("%Y-%m-%d")
            ),
            false,
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn download_names_are_sent_in_ascii_and_in_utf_8() {
        assert_eq!(
            content_disposition(false, "Délibération du 3 mars.pdf"),
            "attachment; filename=\"Deliberation du 3 mars.pdf\"; filename*=UTF-8''D%C3%A9lib%C3%A9ration%20du%203%20mars.pdf"
        );
        assert_eq!(
            content_disposition(true, "GU-2026-000001.pdf"),
            "inline; filename=\"GU-2026-000001.pdf\"; filename*=UTF-8''GU-2026-000001.pdf"
        );
        assert_eq!(
            content_disposition(false, "\u{202e}fdp.exe"),
            "attachment; filename=\"fdp.exe\"; filename*=UTF-8''fdp.exe"
        );
        assert_eq!(
            content_disposition(false, "Élan 100% «café».odt"),
            "attachment; filename=\"Elan 100 _cafe_.odt\"; filename*=UTF-8''%C3%89lan%20100%25%20%C2%ABcaf%C3%A9%C2%BB.odt"
        );
    }
}
