//! HTTP routes: `/` (the dashboard) and its files under `/assets/`,
//! `/config.json` (how the pages sign in),
//! `/documents/plans/{id}.docx|.pdf` (a plan's council document, [`document`]),
//! `/graphql` (GraphQL over HTTP: POST, and GET for queries; GET without a
//! query serves GraphiQL), `/graphql/ws`, `/healthz`, `/readyz`, `/metrics`
//! (or on its own address). What every operation passes is in [`pipeline`],
//! the request's parameters in [`params`], the WebSocket in [`ws`].

mod document;
mod params;
mod pipeline;
mod ws;

use crate::assets;
use crate::auth::AuthConfig;
use crate::cache::ResponseCache;
use crate::error::ApiError;
use crate::execution::Guarded;
use crate::limits::QueryLimits;
use crate::metrics::Metrics;
use crate::persisted::Documents;
use crate::rate::{Bucket, RateLimit};
use params::{Media, Params, accepted, is_json_body, is_multipart, operation_of};
use pipeline::{Answer, Outcome, answer, observe, refused};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kpss_domain::access::Ctx;
use kpss_persistence::Db;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// What every handler shares; a request clones it, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub db: Db,
    pub schema: Guarded,
    pub auth: Arc<AuthConfig>,
    pub metrics: Arc<Metrics>,
    /// Persisted operations: automatic, or trusted documents only.
    pub documents: Arc<Documents>,
    pub limits: Arc<QueryLimits>,
    pub rate: Arc<RateLimit>,
    pub cache: Arc<ResponseCache>,
    /// Turns true when the server shuts down (subscriptions close with 1001).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The bearer token `/metrics` requires, when set.
    pub metrics_token: Option<Arc<secrecy::SecretString>>,
    /// How the pages sign in (`/config.json`, and their CSP).
    pub pages: Arc<assets::PageConfig>,
}

/// `/readyz` answers 503 when the database has not answered by then.
const READY_TIMEOUT: Duration = Duration::from_millis(900);

/// The service's routes; `/metrics` is apart ([`metrics_router`]), on this
/// listener or on its own.
pub fn router(state: AppState, cors: CorsLayer) -> Router {
    // Room for the body limit's own answer: the handler sees the rejection.
    let body_limit = DefaultBodyLimit::max(state.limits.max_body_bytes);
    Router::new()
        .route(
            "/",
            get(|State(s): State<AppState>, headers: HeaderMap| async move {
                assets::dashboard(&headers, &s.pages)
            }),
        )
        .route(
            "/config.json",
            get(|State(s): State<AppState>| async move { assets::config(&s.pages) }),
        )
        .route(
            "/assets/{*path}",
            get(
                |State(s): State<AppState>, path: Path<String>, headers: HeaderMap| async move {
                    assets::file(path, &headers, s.limits.graphiql)
                },
            ),
        )
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(ws::graphql_ws))
        .route("/documents/plans/{file}", get(document::plan))
        .route("/templates/akcni-plan.xlsx", get(template))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(body_limit)
        .layer(cors)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// `/metrics`, for the main listener or an address of its own (`KPSS_METRICS_LISTEN`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

fn graphiql(s: &AppState, headers: &HeaderMap) -> Response {
    if !s.limits.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    assets::graphiql(headers, &s.pages)
}

/// The template offices fill in: the same bytes as `docs/templates/akcni-plan.xlsx`,
/// made once. It holds no data, so it needs no token.
async fn template() -> Response {
    static TEMPLATE: std::sync::OnceLock<Result<Bytes, String>> = std::sync::OnceLock::new();
    match TEMPLATE.get_or_init(|| kpss_workbook::template().map(Bytes::from)) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"akcni-plan.xlsx\"",
                ),
            ],
            bytes.clone(),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the template could not be written");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn readyz(State(s): State<AppState>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, s.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => {
            tracing::warn!("database did not answer within {READY_TIMEOUT:?}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &s.metrics_token {
        use secrecy::ExposeSecret;
        use sha2::{Digest, Sha256};
        // Digests compared: the time taken tells nothing of the token.
        let given = bearer(&headers).map(|t| Sha256::digest(t.as_bytes()));
        if given.ok() != Some(Sha256::digest(expected.expose_secret().as_bytes())) {
            let e = ApiError::Unauthenticated("/metrics needs its bearer token".into());
            return error_response(StatusCode::UNAUTHORIZED, &e);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&s.db),
    )
        .into_response()
}

/// A contract error as a whole HTTP response (nothing was executed).
fn error_response(status: StatusCode, e: &ApiError) -> Response {
    let mut extensions = serde_json::json!({ "code": e.code() });
    if let ApiError::BadUserInput { field, .. } = e {
        extensions["field"] = field.as_str().into();
    }
    let body =
        serde_json::json!({ "errors": [{ "message": e.to_string(), "extensions": extensions }] });
    let mut response = private((status, Json(body)).into_response());
    if let ApiError::RateLimited { retry_after_secs } = e {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    response
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthenticated("an Authorization: Bearer token is required".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("the Authorization header is not valid".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

/// The caller of a request: its bearer token verified. A request without a
/// valid token takes a token of its peer address's rate, so guessing and
/// floods are slowed before anything else runs (`RATE_LIMITED` then, else
/// `UNAUTHENTICATED`).
pub struct Caller(pub Ctx);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let verified = match bearer(&parts.headers) {
            Ok(token) => s.auth.verify(token).await,
            Err(e) => Err(e),
        };
        verified.map(Caller).map_err(|e| {
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
            match peer.map(|p| s.rate.check(&Bucket::Peer(p.ip()))) {
                Some(Err(limited)) => limited,
                _ => e,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(status_of(&self), &self)
    }
}

/// The status of a request refused as a whole before it ran.
fn status_of(e: &ApiError) -> StatusCode {
    match e {
        ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The caller of a request, or its refusal (boxed: a response is large).
fn caller(
    s: &AppState,
    who: Result<Caller, ApiError>,
    outcome: &mut Outcome,
) -> Result<Ctx, Box<Response>> {
    let Caller(ctx) = who.map_err(|e| Box::new(refused(s, outcome, status_of(&e), e)))?;
    outcome.subject = Some(ctx.subject.clone());
    Ok(ctx)
}

/// Writes an answer (or a batch of answers) as HTTP.
fn reply(media: Media, status: StatusCode, body: Bytes) -> Response {
    let content_type = match media {
        Media::Json => "application/json",
        Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
    };
    private((status, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// Writes one answer as HTTP.
fn written(media: Media, a: Answer) -> Response {
    let mut response = reply(media, a.status(media), a.body);
    if let Some(secs) = a.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Answers are the caller's: no cache keeps them, no browser sniffs them.
fn private(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// POST /graphql: one request (a JSON object) or a batch (a JSON array of
/// them), or a multipart request with files (the GraphQL multipart request
/// spec), whose body may be as large as an import's file and the body limit.
async fn graphql_post(
    State(s): State<AppState>,
    who: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (started, mut outcome) = (Instant::now(), Outcome::default());
    let response = post(&s, who, &headers, body, &mut outcome).await;
    observe(&s, &headers, &outcome, started, &response);
    response
}

async fn post(
    s: &AppState,
    who: Result<Caller, ApiError>,
    headers: &HeaderMap,
    body: Body,
    outcome: &mut Outcome,
) -> Response {
    let media = accepted(headers);
    let ctx = match caller(s, who, outcome) {
        Ok(ctx) => ctx,
        Err(refusal) => return closing(*refusal),
    };
    let multipart = is_multipart(headers);
    let limit = if multipart {
        s.limits.max_body_bytes + s.limits.max_import_bytes
    } else {
        s.limits.max_body_bytes
    };
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            if too_large {
                let e = ApiError::TooComplex(format!("the body is larger than {limit} bytes"));
                return closing(refused(s, outcome, StatusCode::PAYLOAD_TOO_LARGE, e));
            }
            let e = ApiError::BadUserInput {
                field: "body".into(),
                message: format!("the body could not be read: {e}"),
            };
            return closing(refused(s, outcome, StatusCode::BAD_REQUEST, e));
        }
    };
    if multipart {
        return graphql_multipart(s, &ctx, media, headers, body, outcome).await;
    }
    if !is_json_body(headers) {
        let a = Answer::malformed(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a GraphQL request is sent with Content-Type: application/json",
        );
        outcome.errors(s, &a);
        return reply(media, a.status, a.body);
    }
    let single = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(batch)) => {
            let batch = batch.into_iter().map(Params::from_json).collect();
            return graphql_batch(s, &ctx, media, batch, outcome).await;
        }
        Ok(v) => Params::from_json(v),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    };
    let a = match single {
        Ok(params) => {
            outcome.operation = operation_of(&params);
            answer(s, &ctx, params, false).await
        }
        Err(m) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
    };
    outcome.errors(s, &a);
    written(media, a)
}

/// An answer given before the body was read to its end: the server leaves
/// the rest unread and closes the connection, and says so, so that no client
/// sends its next request on it.
fn closing(mut response: Response) -> Response {
    let close = HeaderValue::from_static("close");
    response.headers_mut().insert(header::CONNECTION, close);
    response
}

/// A multipart request: its operations (one, or a batch) with their files,
/// parsed by async-graphql, then through the same pipeline as a JSON body.
/// The operations themselves stay within the body limit.
async fn graphql_multipart(
    s: &AppState,
    ctx: &Ctx,
    media: Media,
    headers: &HeaderMap,
    body: Bytes,
    outcome: &mut Outcome,
) -> Response {
    use async_graphql::BatchRequest;
    use async_graphql::http::{MultipartOptions, receive_batch_body};
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // One file per request, as large as an import takes and the body limit
    // (a file past the import's limit is then refused with its problem).
    let options = MultipartOptions::default()
        .max_num_files(1)
        .max_file_size(s.limits.max_import_bytes + s.limits.max_body_bytes);
    let parsed = match receive_batch_body(content_type, body.as_ref(), options).await {
        Ok(parsed) => parsed,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
            let e = ApiError::TooComplex(format!(
                "a multipart request carries one file of at most {} bytes",
                s.limits.max_import_bytes
            ));
            return refused(s, outcome, StatusCode::PAYLOAD_TOO_LARGE, e);
        }
        Err(e) => {
            let a = Answer::malformed(
                StatusCode::BAD_REQUEST,
                &format!("the multipart request is not valid: {e}"),
            );
            outcome.errors(s, &a);
            return reply(media, a.status, a.body);
        }
    };
    let requests = match parsed {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(b) => b,
    };
    let operations: usize = requests
        .iter()
        .map(|r| serde_json::to_vec(r).map_or(usize::MAX, |v| v.len()))
        .fold(0, usize::saturating_add);
    if operations > s.limits.max_body_bytes {
        let e = ApiError::TooComplex(format!(
            "the operations are larger than {} bytes",
            s.limits.max_body_bytes
        ));
        return refused(s, outcome, StatusCode::PAYLOAD_TOO_LARGE, e);
    }
    if requests.len() > 1 {
        let batch = requests.into_iter().map(Params::from_multipart).collect();
        return graphql_batch(s, ctx, media, batch, outcome).await;
    }
    let a = match requests.into_iter().next().map(Params::from_multipart) {
        Some(Ok(params)) => {
            outcome.operation = operation_of(&params);
            answer(s, ctx, params, false).await
        }
        Some(Err(m)) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
        None => Answer::malformed(StatusCode::BAD_REQUEST, "the request has no operation"),
    };
    outcome.errors(s, &a);
    written(media, a)
}

/// A batch runs its operations one after another and answers with an array
/// of their results, in order (each with its own errors).
async fn graphql_batch(
    s: &AppState,
    ctx: &Ctx,
    media: Media,
    batch: Vec<Result<Params, String>>,
    outcome: &mut Outcome,
) -> Response {
    let message = format!(
        "a batch holds 1 to {} operations, this one {}",
        s.limits.max_batch,
        batch.len()
    );
    if batch.is_empty() {
        let e = ApiError::BadUserInput {
            field: "body".into(),
            message,
        };
        return refused(s, outcome, StatusCode::BAD_REQUEST, e);
    }
    if batch.len() > s.limits.max_batch {
        return refused(
            s,
            outcome,
            StatusCode::BAD_REQUEST,
            ApiError::TooComplex(message),
        );
    }
    let mut answers = Vec::with_capacity(batch.len());
    for item in batch {
        answers.push(match item {
            Ok(params) => answer(s, ctx, params, false).await,
            Err(m) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
        });
    }
    answers.iter().for_each(|a| outcome.errors(s, a));
    let mut body = b"[".to_vec();
    for (i, a) in answers.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&a.body);
    }
    body.push(b']');
    reply(media, StatusCode::OK, body.into())
}

/// GET /graphql: GraphiQL without a query (whatever the `Accept`); with one
/// (or a persisted hash), a query, never a mutation.
async fn graphql_get(
    State(s): State<AppState>,
    who: Result<Caller, ApiError>,
    headers: HeaderMap,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let params = match params {
        Ok(Query(p))
            if ["query", "extensions", "documentId"]
                .iter()
                .all(|k| !p.contains_key(*k)) =>
        {
            return graphiql(&s, &headers);
        }
        Ok(Query(p)) => Params::from_query_string(p),
        Err(e) => Err(format!("the query string is not valid: {e}")),
    };
    let (started, mut outcome) = (Instant::now(), Outcome::default());
    let response = get_query(&s, who, &headers, params, &mut outcome).await;
    observe(&s, &headers, &outcome, started, &response);
    response
}

async fn get_query(
    s: &AppState,
    who: Result<Caller, ApiError>,
    headers: &HeaderMap,
    params: Result<Params, String>,
    outcome: &mut Outcome,
) -> Response {
    let media = accepted(headers);
    let ctx = match caller(s, who, outcome) {
        Ok(ctx) => ctx,
        Err(refusal) => return *refusal,
    };
    let a = match params {
        Ok(params) => {
            outcome.operation = operation_of(&params);
            answer(s, &ctx, params, true).await
        }
        Err(m) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
    };
    outcome.errors(s, &a);
    let not_allowed = a.status == StatusCode::METHOD_NOT_ALLOWED;
    let mut response = written(media, a);
    let h = response.headers_mut();
    if not_allowed {
        h.insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    // Answers depend on the caller: a cache keeps them per token.
    h.append(header::VARY, HeaderValue::from_static("authorization"));
    response
}

/// Resolves once the server starts shutting down (or is gone).
pub async fn stopping(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
