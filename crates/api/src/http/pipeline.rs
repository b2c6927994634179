//! The admission pipeline every GraphQL operation passes, whatever brings it
//! (POST, GET, a batch's entry, a persisted hash, a trusted document id, a
//! WebSocket `subscribe` or `start`): the caller authenticated (the
//! [`Caller`](super::Caller) extractor, or the socket's `connection_init`),
//! then [`rated`], then [`admitted`] (its document resolved and within the
//! limits), then [`Guarded`](crate::execution::Guarded) (a place among
//! the caller's running operations, the request time, panics caught). Both
//! transports call these functions; the last step is the executor both run
//! (the WebSocket protocol runs its operations through it).

use super::params::{Media, Params, has_nul, has_nul_value, uploads_fit};
use super::{AppState, error_response};
use crate::cache::{self, Personal, ResponseCache};
use crate::error::{ApiError, code};
use crate::graphql::{Steps, asks_for_provenance, request_data};
use crate::order::{self, KeyOrder};
use crate::persisted::{self, Refusal};
use crate::rate::Bucket;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, Variables};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use kpss_domain::access::Ctx;
use kpss_persistence::Scoped;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// The answer to one GraphQL request, before it is written as HTTP.
pub(super) struct Answer {
    /// JSON text: going through `serde_json::Value` would sort the keys.
    pub body: Bytes,
    /// Its status under `application/graphql-response+json`; `application/json`
    /// answers every well-formed request with 200 (GraphQL over HTTP).
    pub status: StatusCode,
    /// Not a well-formed request (bad JSON or parameters, wrong method), or
    /// one that failed as a whole: `status` whatever the client accepts.
    malformed: bool,
    /// The contract codes of its errors, for the outcome and the metrics.
    pub codes: Vec<&'static str>,
    /// When a refused operation may be tried again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl Answer {
    fn ok(body: Bytes, codes: Vec<&'static str>) -> Self {
        Self {
            body,
            status: StatusCode::OK,
            malformed: false,
            codes,
            retry_after: None,
        }
    }

    pub fn error(status: StatusCode, message: &str, code: &'static str) -> Self {
        Self {
            body: json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string()
                .into(),
            status,
            malformed: false,
            codes: vec![code],
            retry_after: None,
        }
    }

    /// An operation refused or cut off as a whole (over its rate, no place
    /// among the caller's running operations, past its time, a panic).
    pub fn failed(e: ApiError) -> Self {
        let status = match e {
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            malformed: true,
            retry_after: match e {
                ApiError::RateLimited { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            },
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
            retry_after: None,
        }
    }

    pub fn malformed(status: StatusCode, message: &str) -> Self {
        Self {
            malformed: true,
            ..Self::error(status, message, code::BAD_USER_INPUT)
        }
    }

    pub fn refused(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Self::error(
                StatusCode::NOT_FOUND,
                "PersistedQueryNotFound",
                code::PERSISTED_QUERY_NOT_FOUND,
            ),
            Refusal::Forbidden(m) => Self::error(StatusCode::FORBIDDEN, &m, code::FORBIDDEN),
            Refusal::Invalid(m) => Self::malformed(StatusCode::BAD_REQUEST, &m),
            Refusal::Syntax(e) => Self::not_executed(vec![e]),
        }
    }

    pub fn status(&self, media: Media) -> StatusCode {
        if self.malformed || media == Media::GraphqlResponse {
            self.status
        } else {
            StatusCode::OK
        }
    }
}

/// Gives the engine's own errors (syntax, validation, coercion) the
/// contract's `BAD_USER_INPUT`; limits and resolvers code their errors where
/// they arise, never from the engine's message texts.
fn set_codes(errors: &mut [ServerError]) {
    for e in errors {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", code::BAD_USER_INPUT);
        }
    }
}

/// What one request log line and its metrics say about a request.
#[derive(Default)]
pub(super) struct Outcome {
    pub subject: Option<String>,
    pub operation: Option<String>,
    /// `ok`, or the code of the first error.
    pub code: Option<&'static str>,
}

impl Outcome {
    /// Counts the errors of an answer; the first one's code is the outcome.
    pub fn errors(&mut self, s: &AppState, answer: &Answer) {
        for code in &answer.codes {
            self.code.get_or_insert(code);
            s.metrics.graphql_error(code);
        }
    }
}

/// Logs one line and records the metrics of a finished request.
pub(super) fn observe(
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

/// The contract code of an error of a response (all are coded by then).
fn code_of(e: &ServerError) -> &'static str {
    e.extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .and_then(|c| match c {
            async_graphql::Value::String(c) => crate::error::contract_code(c),
            _ => None,
        })
        .unwrap_or(code::INTERNAL)
}

/// A request refused as a whole, counted and answered with its code.
pub(super) fn refused(
    s: &AppState,
    outcome: &mut Outcome,
    status: StatusCode,
    e: ApiError,
) -> Response {
    outcome.code = Some(e.code());
    s.metrics.graphql_error(e.code());
    if let ApiError::RateLimited { .. } = e {
        s.metrics.rate_limited();
    }
    let mut response = error_response(status, &e);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Takes one token of the caller's rate: each operation costs one, so a
/// batch of ten costs ten, as do ten operations on one socket.
pub(super) fn rated(s: &AppState, ctx: &Ctx) -> Result<(), Answer> {
    s.rate
        .check(&Bucket::Subject(ctx.subject.clone()))
        .map_err(|e| {
            s.metrics.rate_limited();
            Answer::failed(e)
        })
}

/// Runs one request: finds its document (text, persisted or trusted), refuses
/// a mutation over GET or a query over a limit, executes within the request
/// time, and orders the keys as the document does.
pub(super) async fn answer(s: &AppState, ctx: &Ctx, mut params: Params, over_get: bool) -> Answer {
    if let Err(a) = rated(s, ctx) {
        return a;
    }
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
    // A query's version and data come from the same server (see
    // `kpss_persistence::replicas`), so one handle serves both.
    let mut scoped = s.db.scoped(ctx.clone());
    let mut version = None;
    if let Some(stored) = key.as_ref().and_then(|k| s.cache.get(k)) {
        version = match data_version(&scoped).await {
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
    if mutation {
        scoped = s.db.scoped_for_writes(ctx.clone());
    }
    if key.is_some() && version.is_none() {
        version = match data_version(&scoped).await {
            Ok(v) => Some(v),
            Err(a) => return a,
        };
    }
    let order = KeyOrder::of(&doc, operation_name, &variables);
    // A query whose read replica fails under it runs once more on the primary.
    let again = (!mutation && s.db.has_replicas()).then(|| (doc.clone(), variables.clone()));
    let uploads = std::mem::take(&mut params.uploads);
    let operation = Operation {
        name: params.operation_name.clone(),
        doc,
        variables,
    };
    let (mut response, mut personal) = execute(s, ctx, operation, uploads, scoped.clone()).await;
    if let Some((doc, variables)) = again
        && failed_as_a_whole(&response).is_none()
        && response.errors.iter().any(is_unavailable)
        && scoped.fall_back()
    {
        let operation = Operation {
            name: params.operation_name.clone(),
            doc,
            variables,
        };
        let primary = s.db.scoped_for_writes(ctx.clone());
        (response, personal) = execute(s, ctx, operation, Vec::new(), primary).await;
    }
    if let Some(failed) = failed_as_a_whole(&response) {
        return failed;
    }
    if let Some(order) = order {
        order.apply(&mut response.data);
    }
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
            return Answer::failed(ApiError::Internal);
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
/// An admitted operation.
struct Operation {
    name: Option<String>,
    doc: ExecutableDocument,
    variables: Variables,
}

/// Runs `operation` with its reads and writes through `scoped`; the response
/// with its errors' codes set, and whether it showed anything personal.
async fn execute(
    s: &AppState,
    ctx: &Ctx,
    operation: Operation,
    uploads: Vec<async_graphql::UploadValue>,
    scoped: Scoped,
) -> (async_graphql::Response, Arc<Personal>) {
    let span = tracing::info_span!("graphql", subject = %ctx.subject, operation = operation.name.as_deref().unwrap_or("-"));
    if !asks_for_provenance(&operation.doc) {
        scoped.leave_provenance_unread();
    }
    let mut request = async_graphql::Request::new(String::new()).variables(operation.variables);
    request.operation_name = operation.name;
    request.uploads = uploads;
    request.set_parsed_query(operation.doc);
    let (data, batcher) = request_data(ctx.clone(), scoped);
    request.data = data;
    let personal = Arc::new(Personal::default());
    request.data.insert(personal.clone());
    let mut response = Steps::new(batcher, Box::pin(s.schema.run(&ctx.subject, request)))
        .instrument(span)
        .await;
    set_codes(&mut response.errors);
    (response, personal)
}

fn is_unavailable(e: &ServerError) -> bool {
    e.extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .is_some_and(|c| *c == async_graphql::Value::from(code::SERVICE_UNAVAILABLE))
}

/// What every transport does to an operation before it runs: no NUL, no
/// nesting deeper than any real query, a document (its text, a persisted
/// hash, or a trusted document: trusted-only mode refuses any other), and
/// within the limits. The refusal is the answer.
pub(super) async fn admitted(
    s: &AppState,
    params: &Params,
    hash: Option<&str>,
) -> Result<(ExecutableDocument, Variables), Answer> {
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
    if !uploads_fit(&params.variables, params.uploads.len()) {
        let e = ApiError::BadUserInput {
            field: "variables".into(),
            message: "a file is sent as a part of a multipart request, and named in its map".into(),
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
    let (doc, to_keep) = s
        .documents
        .resolve(query, hash)
        .await
        .map_err(Answer::refused)?;
    let variables = Variables::from_json(Value::Object(params.variables.clone()));
    s.limits
        .check_document(&doc, &variables)
        .map_err(|e| Answer::not_executed(vec![e]))?;
    // Only a document within the limits is kept.
    if let (Some(hash), Some(query)) = (to_keep, query) {
        s.documents.remember(&hash, query, &doc);
    }
    Ok((doc, variables))
}

/// The data version of the caller's readable regions; when the database
/// does not answer, the request's answer (it would fail the same way later).
async fn data_version(scoped: &Scoped) -> Result<i64, Answer> {
    kpss_persistence::version::of(scoped).await.map_err(|e| {
        let e = ApiError::from(e);
        let status = match e {
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Answer::error(status, &e.to_string(), e.code())
    })
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

/// The answer of an operation that [`Guarded`](crate::execution::Guarded) refused or cut off.
fn failed_as_a_whole(response: &async_graphql::Response) -> Option<Answer> {
    let [e] = response.errors.as_slice() else {
        return None;
    };
    if response.data != async_graphql::Value::Null || !e.path.is_empty() {
        return None;
    }
    let ext = e.extensions.as_ref();
    Some(Answer::failed(match code_of(e) {
        code::RATE_LIMITED => ApiError::RateLimited {
            retry_after_secs: match ext.and_then(|x| x.get("retryAfter")) {
                Some(async_graphql::Value::Number(n)) => n.as_u64().unwrap_or(1),
                _ => 1,
            },
        },
        code::SERVICE_UNAVAILABLE => ApiError::ServiceUnavailable(e.message.clone()),
        code::INTERNAL => ApiError::Internal,
        _ => return None,
    }))
}
