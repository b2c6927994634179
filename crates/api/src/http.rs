//! HTTP routes: `/` (the dashboard) and its files under `/assets/`,
//! `/graphql` (GraphQL over HTTP: POST, and GET for queries; GET without a
//! query serves GraphiQL), `/graphql/ws`, `/healthz`, `/readyz`, `/metrics`.

use crate::assets;
use crate::auth::AuthConfig;
use crate::cache::{self, Personal, ResponseCache};
use crate::error::ApiError;
use crate::graphql::{Schema, Steps, request_data};
use crate::limits::QueryLimits;
use crate::metrics::Metrics;
use crate::order::{self, KeyOrder};
use crate::persisted::{self, Documents, Refusal};
use crate::rate::RateLimit;

use async_graphql::ServerError;
use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kpss_domain::access::Ctx;
use kpss_persistence::Db;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tracing::Instrument;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub schema: Schema,
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
}

/// `/readyz` answers 503 when the database has not answered by then.
const READY_TIMEOUT: Duration = Duration::from_millis(900);

pub fn router(state: AppState, cors: CorsLayer) -> Router {
    // Room for the body limit's own answer: the handler sees the rejection.
    let body_limit = DefaultBodyLimit::max(state.limits.max_body_bytes);
    Router::new()
        .route("/", get(assets::dashboard))
        .route(
            "/assets/{*path}",
            get(
                |State(s): State<AppState>, path: Path<String>, headers: HeaderMap| async move {
                    assets::file(path, &headers, s.limits.graphiql)
                },
            ),
        )
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(body_limit)
        .layer(cors)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn graphiql(s: &AppState, headers: &HeaderMap) -> Response {
    if !s.limits.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    assets::graphiql(headers)
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

/// The caller of a request with a valid token.
async fn authenticate(s: &AppState, headers: &HeaderMap) -> Result<Ctx, ApiError> {
    match bearer(headers) {
        Ok(token) => s.auth.verify(token).await,
        Err(e) => Err(e),
    }
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of the answer: `application/graphql-response+json` when
/// the client accepts it, `application/json` otherwise (also for `*/*` and
/// no `Accept` at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    GraphqlResponse,
}

fn accepted(headers: &HeaderMap) -> Media {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let graphql = accept.split(',').any(|range| {
        range
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON))
    });
    if graphql {
        Media::GraphqlResponse
    } else {
        Media::Json
    }
}

fn is_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The answer to one GraphQL request, before it is written as HTTP.
struct Answer {
    /// JSON text: going through `serde_json::Value` would sort the keys.
    body: Bytes,
    /// Its status under `application/graphql-response+json`; `application/json`
    /// answers every well-formed request with 200 (GraphQL over HTTP).
    status: StatusCode,
    /// Not a well-formed request (bad JSON or parameters, wrong method), or
    /// one that failed as a whole: `status` whatever the client accepts.
    malformed: bool,
    /// The contract codes of its errors, for the outcome and the metrics.
    codes: Vec<&'static str>,
}

impl Answer {
    fn ok(body: Bytes, codes: Vec<&'static str>) -> Self {
        Self {
            body,
            status: StatusCode::OK,
            malformed: false,
            codes,
        }
    }

    fn error(status: StatusCode, message: &str, code: &'static str) -> Self {
        Self {
            body: json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string()
                .into(),
            status,
            malformed: false,
            codes: vec![code],
        }
    }

    /// A request that failed as a whole (a panic, past the request time).
    fn failed(status: StatusCode, e: ApiError) -> Self {
        Self {
            malformed: true,
            ..Self::error(status, &e.to_string(), e.code())
        }
    }

    /// Refused before it ran (syntax, validation, limits): no `data`.
    fn not_executed(mut errors: Vec<ServerError>) -> Self {
        set_codes(&mut errors);
        Self {
            body: json!({ "errors": errors }).to_string().into(),
            status: StatusCode::BAD_REQUEST,
            malformed: false,
            codes: errors.iter().map(code_of).collect(),
        }
    }

    fn malformed(status: StatusCode, message: &str) -> Self {
        Self {
            malformed: true,
            ..Self::error(status, message, "BAD_USER_INPUT")
        }
    }

    fn refused(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Self::error(
                StatusCode::NOT_FOUND,
                "PersistedQueryNotFound",
                "PERSISTED_QUERY_NOT_FOUND",
            ),
            Refusal::Forbidden(m) => Self::error(StatusCode::FORBIDDEN, &m, "FORBIDDEN"),
            Refusal::Invalid(m) => Self::malformed(StatusCode::BAD_REQUEST, &m),
            Refusal::Syntax(e) => Self::not_executed(vec![e]),
        }
    }

    fn status(&self, media: Media) -> StatusCode {
        if self.malformed || media == Media::GraphqlResponse {
            self.status
        } else {
            StatusCode::OK
        }
    }
}

/// Writes an answer (or a batch of answers) as HTTP.
fn reply(media: Media, status: StatusCode, body: Bytes) -> Response {
    let content_type = match media {
        Media::Json => "application/json",
        Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
    };
    private((status, [(header::CONTENT_TYPE, content_type)], body).into_response())
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

/// The parameters of one GraphQL-over-HTTP request.
#[derive(Default)]
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    document_id: Option<String>,
    variables: Map<String, Value>,
    extensions: Map<String, Value>,
}

impl Params {
    /// From a JSON body; a parameter of the wrong type is an error.
    fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(mut o) = value else {
            return Err("a GraphQL request is a JSON object".into());
        };
        let mut take = |key: &str| o.remove(key).filter(|v| !v.is_null());
        let string = |key: &str, v: Option<Value>| match v {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("`{key}` must be a string")),
        };
        let object = |key: &str, v: Option<Value>| match v {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(format!("`{key}` must be an object")),
        };
        Ok(Self {
            query: string("query", take("query"))?,
            operation_name: string("operationName", take("operationName"))?,
            document_id: string("documentId", take("documentId"))?,
            variables: object("variables", take("variables"))?,
            extensions: object("extensions", take("extensions"))?,
        })
    }

    /// From a GET query string, where `variables` and `extensions` are JSON text.
    fn from_query_string(mut q: HashMap<String, String>) -> Result<Self, String> {
        let mut json = |key: &str| match q.remove(key) {
            None => Ok(Map::new()),
            Some(text) => match serde_json::from_str(&text) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(Value::Null) => Ok(Map::new()),
                _ => Err(format!("`{key}` must be a JSON object")),
            },
        };
        let (variables, extensions) = (json("variables")?, json("extensions")?);
        Ok(Self {
            query: q.remove("query"),
            operation_name: q.remove("operationName"),
            document_id: q.remove("documentId"),
            variables,
            extensions,
        })
    }
}

/// Gives the engine's own errors (syntax, validation, coercion) the
/// contract's `BAD_USER_INPUT`; limits and resolvers code their errors where
/// they arise, never from the engine's message texts.
fn set_codes(errors: &mut [ServerError]) {
    for e in errors {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", "BAD_USER_INPUT");
        }
    }
}

/// What one request log line and its metrics say about a request.
#[derive(Default)]
struct Outcome {
    subject: Option<String>,
    operation: Option<String>,
    /// `ok`, or the code of the first error.
    code: Option<&'static str>,
}

impl Outcome {
    /// Counts the errors of an answer; the first one's code is the outcome.
    fn errors(&mut self, s: &AppState, answer: &Answer) {
        for code in &answer.codes {
            self.code.get_or_insert(code);
            s.metrics.graphql_error(code);
        }
    }
}

/// Logs one line and records the metrics of a finished request.
fn observe(
    s: &AppState,
    headers: &HeaderMap,
    outcome: &Outcome,
    started: Instant,
    response: &Response,
) {
    let seconds = started.elapsed().as_secs_f64();
    let result = outcome.code.unwrap_or("ok");
    let operation = outcome.operation.as_deref().unwrap_or("");
    s.metrics.request(operation, result, seconds);
    tracing::info!(
        request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-"),
        operation,
        sub = outcome.subject.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        outcome = result,
        duration_ms = seconds * 1000.0,
        "graphql request"
    );
}

/// The name of a document that starts with a named operation
/// (`query Name ...`), for logs and metrics when the request names none.
fn operation_name(query: &str) -> Option<&str> {
    let mut rest = query.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    while let Some(comment) = rest.strip_prefix('#') {
        rest = comment
            .split_once('\n')
            .map_or("", |(_, r)| r)
            .trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    }
    let rest = ["query", "mutation", "subscription"]
        .iter()
        .find_map(|k| rest.strip_prefix(k))?;
    let name = rest.trim_start();
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (end > 0 && name.len() < rest.len()).then(|| &name[..end])
}

/// The operation a request names, or the name its document starts with.
fn operation_of(params: &Params) -> Option<String> {
    params.operation_name.clone().or_else(|| {
        params
            .query
            .as_deref()
            .and_then(operation_name)
            .map(str::to_owned)
    })
}

/// The contract code of an error of a response (all are coded by then).
fn code_of(e: &ServerError) -> &'static str {
    e.extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .and_then(|c| match c {
            async_graphql::Value::String(c) => crate::error::contract_code(c),
            _ => None,
        })
        .unwrap_or("INTERNAL")
}

/// A request refused as a whole, counted and answered with its code.
fn refused(s: &AppState, outcome: &mut Outcome, status: StatusCode, e: ApiError) -> Response {
    outcome.code = Some(e.code());
    s.metrics.graphql_error(e.code());
    let mut response = error_response(status, &e);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The caller, within its rate: 401 without a valid token, 429 over the rate.
async fn admit(s: &AppState, headers: &HeaderMap, outcome: &mut Outcome) -> Result<Ctx, Response> {
    let ctx = authenticate(s, headers)
        .await
        .map_err(|e| refused(s, outcome, StatusCode::UNAUTHORIZED, e))?;
    outcome.subject = Some(ctx.subject.clone());
    if let Err(wait) = s.rate.check(&ctx.subject) {
        s.metrics.rate_limited();
        let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let e = ApiError::RateLimited { retry_after_secs };
        return Err(refused(s, outcome, StatusCode::TOO_MANY_REQUESTS, e));
    }
    Ok(ctx)
}

/// Runs one request: finds its document (text, persisted or trusted), refuses
/// a mutation over GET or a query over a limit, executes within the request
/// time, and orders the keys as the document does.
async fn answer(s: &AppState, ctx: &Ctx, params: Params, over_get: bool) -> Answer {
    let hash = match persisted::requested_hash(&params.extensions, params.document_id.as_deref()) {
        Ok(h) => h,
        Err(r) => return Answer::refused(r),
    };
    // Only a query that ran without errors is stored, so a stored answer
    // passed every check below; it is reused while the data version holds.
    let key = s.cache.is_on().then(|| {
        let request = cache::Request {
            query: params.query.as_deref(),
            hash: hash.as_deref(),
            operation_name: params.operation_name.as_deref(),
            variables: &params.variables,
        };
        ResponseCache::key(ctx, &request)
    });
    let mut version = None;
    if let Some(stored) = key.as_ref().and_then(|k| s.cache.get(k)) {
        version = match data_version(s, ctx).await {
            Ok(v) => Some(v),
            Err(a) => return a,
        };
        let hit = version == Some(stored.version);
        s.metrics.response_cache(hit);
        if hit {
            return Answer::ok(stored.body.clone(), Vec::new());
        }
    }
    let (doc, variables) = match admitted(s, &params, hash.as_deref()).await {
        Ok(admitted) => admitted,
        Err(a) => return a,
    };
    let operation_name = params.operation_name.as_deref();
    let kind = order::operation(&doc, operation_name).map(|op| op.ty);
    let mutation = kind == Some(OperationType::Mutation);
    if over_get && mutation {
        return Answer::malformed(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations are accepted only over POST",
        );
    }
    // Read before the data, so that a stored answer is never older than its version.
    let key = key.filter(|_| kind == Some(OperationType::Query));
    if key.is_some() && version.is_none() {
        version = match data_version(s, ctx).await {
            Ok(v) => Some(v),
            Err(a) => return a,
        };
    }
    let order = KeyOrder::of(&doc, operation_name, &variables);
    let mut request = async_graphql::Request::new(String::new()).variables(variables);
    request.operation_name = params.operation_name.clone();
    request.set_parsed_query(doc);

    let span = tracing::info_span!("graphql", subject = %ctx.subject, operation = operation_name.unwrap_or("-"));
    let (data, batcher) = request_data(ctx.clone(), s.db.scoped(ctx.clone()));
    request.data = data;
    let personal = Arc::new(Personal::default());
    request.data.insert(personal.clone());
    // A panic in a resolver is a bug: the client gets INTERNAL, never the panic.
    let execution = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        Steps::new(batcher, Box::pin(s.schema.execute(request))).instrument(span),
    ));
    let mut response = match tokio::time::timeout(s.limits.request_timeout, execution).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::error!("a resolver panicked");
            return Answer::failed(StatusCode::INTERNAL_SERVER_ERROR, ApiError::Internal);
        }
        Err(_) => {
            let e = ApiError::ServiceUnavailable(format!(
                "the request took longer than {:?}",
                s.limits.request_timeout
            ));
            return Answer::failed(StatusCode::SERVICE_UNAVAILABLE, e);
        }
    };
    if let Some(order) = order {
        order.apply(&mut response.data);
    }
    set_codes(&mut response.errors);
    // Errors before execution (validation, variables) have no path: then
    // nothing ran, and the answer has no `data` (GraphQL over HTTP).
    let not_executed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if not_executed {
        return Answer::not_executed(response.errors);
    }
    let body = match serde_json::to_vec(&Body {
        data: Some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    }) {
        Ok(body) => Bytes::from(body),
        Err(e) => {
            tracing::error!(error = %e, "response not serializable");
            return Answer::failed(StatusCode::INTERNAL_SERVER_ERROR, ApiError::Internal);
        }
    };
    if let (Some(key), Some(version)) = (key, version)
        && response.errors.is_empty()
        && !personal.is_marked()
    {
        s.cache.put(key, version, body.clone());
        return Answer::ok(body, Vec::new());
    }
    Answer::ok(body, response.errors.iter().map(code_of).collect())
}

/// The data version of the caller's readable regions; when the database
/// does not answer, the request's answer (it would fail the same way later).
/// What every transport does to an operation before it runs: no NUL, no
/// nesting deeper than any real query, a document (its text, a persisted
/// hash, or a trusted document: trusted-only mode refuses any other), and
/// within the limits. The refusal is the answer.
async fn admitted(
    s: &AppState,
    params: &Params,
    hash: Option<&str>,
) -> Result<
    (
        async_graphql::parser::types::ExecutableDocument,
        async_graphql::Variables,
    ),
    Answer,
> {
    let query = params.query.as_deref().filter(|q| !q.is_empty());
    // No stored text can hold a NUL (PostgreSQL cannot), and a NUL sent to
    // PostgreSQL would fail the request's shared read transaction.
    if query.is_some_and(has_nul) || has_nul_value(&params.variables) {
        let e = ApiError::BadUserInput {
            field: "input".into(),
            message: "text must not contain NUL characters".into(),
        };
        return Err(Answer::error(
            StatusCode::BAD_REQUEST,
            &e.to_string(),
            e.code(),
        ));
    }
    // Refused before the parser sees it: brackets nested deeper than any real query.
    if let Some(Err(e)) = query.map(|q| s.limits.check_nesting(q)) {
        return Err(Answer::not_executed(vec![e]));
    }
    let doc = s
        .documents
        .resolve(query, hash)
        .await
        .map_err(Answer::refused)?;
    let variables = async_graphql::Variables::from_json(Value::Object(params.variables.clone()));
    s.limits
        .check_document(&doc, &variables)
        .map_err(|e| Answer::not_executed(vec![e]))?;
    // Only a document within the limits is kept for its hash.
    if let (Some(hash), Some(query)) = (hash, query) {
        s.documents.remember(hash, query, &doc);
    }
    Ok((doc, variables))
}

async fn data_version(s: &AppState, ctx: &Ctx) -> Result<i64, Answer> {
    kpss_persistence::version::of(&s.db.scoped(ctx.clone()))
        .await
        .map_err(|e| {
            let e = ApiError::from(e);
            let status = match e {
                ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Answer::error(status, &e.to_string(), e.code())
        })
}

/// A NUL in a query's text, raw or as a string escape.
fn has_nul(query: &str) -> bool {
    query.contains('\0') || query.contains("\\u0000") || query.contains("\\u{0}")
}

fn has_nul_value(variables: &Map<String, Value>) -> bool {
    fn any(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(any),
            Value::Object(o) => o.values().any(any),
            _ => false,
        }
    }
    variables.values().any(any)
}

/// A GraphQL response as GraphQL over HTTP writes it: no `data` when nothing ran.
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// POST /graphql: one request (a JSON object) or a batch (a JSON array of them).
async fn graphql_post(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (started, mut outcome) = (Instant::now(), Outcome::default());
    let response = post(&s, &headers, body, &mut outcome).await;
    observe(&s, &headers, &outcome, started, &response);
    response
}

async fn post(
    s: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    outcome: &mut Outcome,
) -> Response {
    let media = accepted(headers);
    let ctx = match admit(s, headers, outcome).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let e = ApiError::TooComplex(format!(
                "the body is larger than {} bytes",
                s.limits.max_body_bytes
            ));
            return refused(s, outcome, StatusCode::PAYLOAD_TOO_LARGE, e);
        }
        Err(rejection) => {
            let e = ApiError::BadUserInput {
                field: "body".into(),
                message: format!("the body could not be read: {rejection}"),
            };
            return refused(s, outcome, rejection.status(), e);
        }
    };
    if !is_json_body(headers) {
        let a = Answer::malformed(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a GraphQL request is sent with Content-Type: application/json",
        );
        outcome.errors(s, &a);
        return reply(media, a.status, a.body);
    }
    let single = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(batch)) => return graphql_batch(s, &ctx, media, batch, outcome).await,
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
    reply(media, a.status(media), a.body)
}

/// A batch runs its operations one after another and answers with an array
/// of their results, in order (each with its own errors).
async fn graphql_batch(
    s: &AppState,
    ctx: &Ctx,
    media: Media,
    batch: Vec<Value>,
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
        answers.push(match Params::from_json(item) {
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
    let response = get_query(&s, &headers, params, &mut outcome).await;
    observe(&s, &headers, &outcome, started, &response);
    response
}

async fn get_query(
    s: &AppState,
    headers: &HeaderMap,
    params: Result<Params, String>,
    outcome: &mut Outcome,
) -> Response {
    let media = accepted(headers);
    let ctx = match admit(s, headers, outcome).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let a = match params {
        Ok(params) => {
            outcome.operation = operation_of(&params);
            answer(s, &ctx, params, true).await
        }
        Err(m) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
    };
    outcome.errors(s, &a);
    let mut response = reply(media, a.status(media), a.body);
    let h = response.headers_mut();
    if a.status == StatusCode::METHOD_NOT_ALLOWED {
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

/// graphql-transport-ws close code for a missing, bad or expired token.
const CLOSE_UNAUTHORIZED: u16 = 4401;
/// WebSocket close code "message too big".
const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code "going away": the server shuts down.
const CLOSE_GOING_AWAY: u16 = 1001;
/// How long a new socket may take to send `connection_init`.
const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// graphql-transport-ws (the protocol of the `graphql-ws` client library).
async fn graphql_ws(
    State(s): State<AppState>,
    ws: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    // A message over the body limit closes the socket (1009), as HTTP refuses the body.
    ws.protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(s.limits.max_body_bytes)
        .on_upgrade(move |socket| serve_ws(s, socket))
}

/// The token from a `connection_init` message's payload.
fn init_token(text: &str) -> Option<String> {
    let msg: serde_json::Value = serde_json::from_str(text).ok()?;
    if msg["type"] != "connection_init" {
        return None;
    }
    let auth = msg["payload"]["Authorization"]
        .as_str()
        .or_else(|| msg["payload"]["authorization"].as_str())?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The subprotocols served: `graphql-transport-ws` (the `graphql-ws` client
/// library) and the legacy `graphql-ws` (subscriptions-transport-ws).
#[derive(Clone, Copy, PartialEq, Eq)]
enum WsProtocol {
    TransportWs,
    Legacy,
}

impl WsProtocol {
    /// The message types a client may send, and the ones that start and stop an operation.
    fn client_messages(self) -> (&'static [&'static str], &'static str, &'static str) {
        match self {
            Self::TransportWs => (
                &["connection_init", "subscribe", "complete", "ping", "pong"],
                "subscribe",
                "complete",
            ),
            Self::Legacy => (
                &["connection_init", "start", "stop", "connection_terminate"],
                "start",
                "stop",
            ),
        }
    }
}

/// Most operations one socket runs at once.
const MAX_OPERATIONS_PER_SOCKET: usize = 16;
/// WebSocket close codes of graphql-transport-ws.
const CLOSE_BAD_MESSAGE: u16 = 4400;
const CLOSE_DUPLICATE_ID: u16 = 4409;

/// The ids of the operations a socket runs now: added when one starts,
/// removed when the client stops it or the server completes it.
type ActiveIds = Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

/// What the screen answers in place of the engine.
enum Screened {
    /// An operation's `error` message; the socket goes on.
    Error(String),
    /// The socket closes.
    Close(u16, String),
}

/// Passes a WebSocket message on, unless it breaks the protocol (closing the
/// socket), or starts an operation over the socket's cap, one with an id
/// already running, or one HTTP would refuse: the same admission steps as
/// every request. What the engine must not see goes to `screened`.
async fn screen(
    s: &AppState,
    protocol: WsProtocol,
    active: &ActiveIds,
    message: Vec<u8>,
    screened: &tokio::sync::mpsc::UnboundedSender<Screened>,
) -> Option<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        id: Value,
        #[serde(default)]
        payload: Value,
    }
    let close = |code: u16, reason: String| {
        let _ = screened.send(Screened::Close(code, reason));
        None
    };
    let Ok(m) = serde_json::from_slice::<Envelope>(&message) else {
        return close(CLOSE_BAD_MESSAGE, "not a message of the protocol".into());
    };
    let (allowed, start, stop) = protocol.client_messages();
    if !allowed.contains(&m.kind.as_str()) {
        return close(
            CLOSE_BAD_MESSAGE,
            format!("unknown message type `{}`", m.kind),
        );
    }
    let ids = || {
        active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if m.kind == stop {
        if let Some(id) = m.id.as_str() {
            ids().remove(id);
        }
        return Some(message);
    }
    if m.kind != start {
        return Some(message);
    }
    let Some(id) = m.id.as_str().map(str::to_owned) else {
        return close(CLOSE_BAD_MESSAGE, "an operation needs a string id".into());
    };
    let running = {
        let ids = ids();
        if ids.contains(&id) {
            return close(
                CLOSE_DUPLICATE_ID,
                format!("Subscriber for {id} already exists"),
            );
        }
        ids.len()
    };
    let refusal = if running >= MAX_OPERATIONS_PER_SOCKET {
        let message =
            format!("at most {MAX_OPERATIONS_PER_SOCKET} operations run at once on one socket");
        Answer::error(StatusCode::TOO_MANY_REQUESTS, &message, "RATE_LIMITED")
    } else {
        match Params::from_json(m.payload) {
            Err(e) => Answer::malformed(StatusCode::BAD_REQUEST, &e),
            Ok(params) => {
                let hash =
                    persisted::requested_hash(&params.extensions, params.document_id.as_deref());
                let admitted = match hash {
                    Ok(hash) => admitted(s, &params, hash.as_deref()).await.map(drop),
                    Err(r) => Err(Answer::refused(r)),
                };
                match admitted {
                    Ok(()) => {
                        ids().insert(id);
                        return Some(message);
                    }
                    Err(a) => a,
                }
            }
        }
    };
    let errors = serde_json::from_slice::<Value>(&refusal.body)
        .map(|mut b| b["errors"].take())
        .unwrap_or_default();
    let error = json!({ "id": id, "type": "error", "payload": errors });
    let _ = screened.send(Screened::Error(error.to_string()));
    None
}

/// The id of an operation the server's message ends (`complete` or `error`).
fn ended_operation(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        id: Option<String>,
    }
    let m: Envelope = serde_json::from_str(text).ok()?;
    matches!(m.kind.as_str(), "complete" | "error").then_some(m.id)?
}

/// Authenticates in `connection_init`, then runs the protocol until the
/// client leaves or the token expires (closing with 4401 in both failure cases).
async fn serve_ws(s: AppState, socket: axum::extract::ws::WebSocket) {
    use axum::extract::ws::{CloseFrame, Message};
    use futures_util::{SinkExt, StreamExt};
    let protocol = match socket.protocol().map(|p| p.as_bytes()) {
        Some(b"graphql-ws") => WsProtocol::Legacy,
        _ => WsProtocol::TransportWs,
    };
    let (mut sink, mut stream) = socket.split();
    let close = |reason: &str| {
        Message::Close(Some(CloseFrame {
            code: CLOSE_UNAUTHORIZED,
            reason: reason.into(),
        }))
    };
    let first = match tokio::time::timeout(INIT_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => t.to_string(),
        _ => {
            let _ = sink
                .send(close("connection_init with a token is required"))
                .await;
            return;
        }
    };
    let verified = match init_token(&first) {
        Some(t) => s.auth.verify_until(&t).await,
        None => Err(ApiError::Unauthenticated("no token".into())),
    };
    let (ctx, expires) = match verified {
        Ok(v) => v,
        Err(e) => {
            let _ = sink.send(close(&e.to_string())).await;
            return;
        }
    };
    // The connection lives long: its reads must not hold a transaction.
    let (data, batcher) = request_data(ctx.clone(), s.db.scoped_per_read(ctx));
    // Operations refused are answered here and never reach the engine.
    let (screened_tx, mut screened) = tokio::sync::mpsc::unbounded_channel::<Screened>();
    let active = ActiveIds::default();
    let (state, running) = (s.clone(), active.clone());
    // A message over the size limit ends the input; the socket then closes with 1009.
    let too_big = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over_limit = too_big.clone();
    let input = futures_util::stream::once(async move { first.into_bytes() }).chain(
        stream
            .take_while(move |m| {
                if let Err(e) = m {
                    let e = e.to_string();
                    if e.contains("Space limit exceeded") || e.contains("too long") {
                        over_limit.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                std::future::ready(m.is_ok())
            })
            .filter_map(move |m| {
                let (s, running, screened_tx) =
                    (state.clone(), running.clone(), screened_tx.clone());
                async move {
                    let message = match m {
                        Ok(Message::Text(t)) => t.as_bytes().to_vec(),
                        Ok(Message::Binary(b)) => b.to_vec(),
                        _ => return None,
                    };
                    screen(&s, protocol, &running, message, &screened_tx).await
                }
            }),
    );
    let output = async_graphql::http::WebSocket::new(
        s.schema.clone(),
        input,
        match protocol {
            WsProtocol::TransportWs => async_graphql::http::WebSocketProtocols::GraphQLWS,
            WsProtocol::Legacy => async_graphql::http::WebSocketProtocols::SubscriptionsTransportWS,
        },
    )
    .on_connection_init(move |_| async move { Ok(data) });
    let mut output = Steps::new(batcher, Box::pin(output));
    let shutdown = stopping(s.shutdown.clone());
    tokio::pin!(shutdown);
    s.metrics.subscription_sockets(1.0);
    let ttl = expires.saturating_sub(jsonwebtoken::get_current_timestamp());
    let expiry = tokio::time::sleep(std::time::Duration::from_secs(ttl));
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            msg = output.next() => match msg {
                Some(async_graphql::http::WsMessage::Text(text)) => {
                    if let Some(id) = ended_operation(&text) {
                        active.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
                    }
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(async_graphql::http::WsMessage::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
                None => {
                    if too_big.load(std::sync::atomic::Ordering::Relaxed) {
                        let frame = CloseFrame { code: CLOSE_TOO_BIG, reason: "the message is over the size limit".into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                    }
                    break;
                }
            },
            Some(answer) = screened.recv() => match answer {
                Screened::Error(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Screened::Close(code, reason) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
            },
            () = &mut expiry => {
                let _ = sink.send(close("the token has expired")).await;
                break;
            }
            () = &mut shutdown => {
                let going_away = CloseFrame { code: CLOSE_GOING_AWAY, reason: "the server is shutting down".into() };
                let _ = sink.send(Message::Close(Some(going_away))).await;
                break;
            }
        }
    }
    s.metrics.subscription_sockets(-1.0);
}
