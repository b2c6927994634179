//! `GET /documents/plans/{id}.docx` and `.pdf` (`?evaluation=YEAR`,
//! `?sources=true`): a plan's council document. It passes the steps a
//! GraphQL operation passes: the bearer token, the subject's rate, a place
//! among the subject's running operations and the request time
//! ([`Guarded::within`](crate::execution::Guarded::within)); errors are
//! the contract's codes with their HTTP statuses.

use super::pipeline::{Outcome, observe, refused};
use super::{AppState, Caller, caller, status_of};
use crate::documents::{self, Request};
use crate::error::ApiError;
use crate::rate::Bucket;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kpss_documents::Format;
use std::time::Instant;

#[derive(serde::Deserialize)]
pub(super) struct DocumentQuery {
    evaluation: Option<i32>,
    #[serde(default)]
    sources: bool,
}

pub(super) async fn plan(
    State(s): State<AppState>,
    who: Result<Caller, ApiError>,
    headers: HeaderMap,
    Path(file): Path<String>,
    query: Result<Query<DocumentQuery>, QueryRejection>,
) -> Response {
    let (started, mut outcome) = (Instant::now(), Outcome::default());
    outcome.operation = Some("document".into());
    let response = match answer(&s, who, &file, query, &mut outcome).await {
        Ok(response) => response,
        Err(e) => refused(&s, &mut outcome, status_of(&e), e),
    };
    observe(&s, &headers, &outcome, started, &response);
    response
}

async fn answer(
    s: &AppState,
    who: Result<Caller, ApiError>,
    file: &str,
    query: Result<Query<DocumentQuery>, QueryRejection>,
    outcome: &mut Outcome,
) -> Result<Response, ApiError> {
    let ctx = match caller(s, who, outcome) {
        Ok(ctx) => ctx,
        Err(refusal) => return Ok(*refusal),
    };
    s.rate.check(&Bucket::Subject(ctx.subject.clone()))?;
    let not_found = || ApiError::NotFound(format!("no document `{file}`"));
    let (id, format) = file.rsplit_once('.').ok_or_else(not_found)?;
    let format = Format::parse(format).ok_or_else(not_found)?;
    let plan_id = id.parse::<i64>().map_err(|_| not_found())?;
    let Query(q) = query.map_err(|e| ApiError::BadUserInput {
        field: "query".into(),
        message: format!("the query string is not valid: {}", e.body_text()),
    })?;
    let request = Request {
        plan_id,
        format,
        evaluation: q.evaluation,
        sources: q.sources,
    };
    let today = documents::today()?;
    let scoped = s.db.scoped(ctx.clone());
    let made = s
        .schema
        .within(&ctx.subject, documents::make(&scoped, &request, today))
        .await??;
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, format.media_type())],
        made.bytes,
    )
        .into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&documents::content_disposition(&made.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.append(header::VARY, HeaderValue::from_static("authorization"));
    Ok(response)
}
