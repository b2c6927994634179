//! HTTP routes: `/graphql` (GraphQL over HTTP: POST, and GET for queries;
//! GET without a query serves GraphiQL), `/graphql/ws`, `/healthz`,
//! `/readyz`, `/metrics`.

use crate::auth::AuthConfig;
use crate::error::ApiError;
use crate::graphql::{Limits, Schema, request_data};
use crate::order::{self, KeyOrder};
use crate::persisted::{self, Documents, Refusal};

use async_graphql::ServerError;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kpss_domain::access::Ctx;
use kpss_persistence::Db;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tower_http::cors::CorsLayer;
use tracing::Instrument;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub schema: Schema,
    pub auth: Arc<AuthConfig>,
    pub metrics: Arc<Metrics>,
    /// Persisted operations: automatic, or trusted documents only.
    pub documents: Arc<Documents>,
    /// Most operations one batch (a JSON array body) may hold.
    pub max_batch: usize,
}

/// Counters exported at `/metrics` (Prometheus text format).
#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    unauthenticated: AtomicU64,
    errors: AtomicU64,
    micros: AtomicU64,
}

pub fn router(state: AppState, limits: &Limits, cors: CorsLayer) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(cors)
        .with_state(state)
}
async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("KPSS API")
            .finish(),
    )
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let m = &s.metrics;
    let body = format!(
        "# HELP kpss_graphql_requests_total GraphQL requests received.\n\
         # TYPE kpss_graphql_requests_total counter\n\
         kpss_graphql_requests_total {}\n\
         # HELP kpss_graphql_unauthenticated_total GraphQL requests refused for their token.\n\
         # TYPE kpss_graphql_unauthenticated_total counter\n\
         kpss_graphql_unauthenticated_total {}\n\
         # HELP kpss_graphql_errors_total GraphQL responses that carried errors.\n\
         # TYPE kpss_graphql_errors_total counter\n\
         kpss_graphql_errors_total {}\n\
         # HELP kpss_graphql_duration_seconds_total Time spent executing GraphQL requests.\n\
         # TYPE kpss_graphql_duration_seconds_total counter\n\
         kpss_graphql_duration_seconds_total {:.6}\n\
         # HELP kpss_db_statements_total SQL statements run.\n\
         # TYPE kpss_db_statements_total counter\n\
         kpss_db_statements_total {}\n",
        m.requests.load(Ordering::Relaxed),
        m.unauthenticated.load(Ordering::Relaxed),
        m.errors.load(Ordering::Relaxed),
        m.micros.load(Ordering::Relaxed) as f64 / 1e6,
        s.db.statements(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// A contract error as a whole HTTP response (nothing was executed).
fn error_response(status: StatusCode, e: &ApiError) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": e.to_string(), "extensions": { "code": e.code() } }] });
    (status, Json(body)).into_response()
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
    let verified = match bearer(headers) {
        Ok(token) => s.auth.verify(token).await,
        Err(e) => Err(e),
    };
    verified.inspect_err(|_| {
        s.metrics.unauthenticated.fetch_add(1, Ordering::Relaxed);
    })
}

/// 401: nothing runs without a valid token.
fn unauthorized(e: &ApiError) -> Response {
    let mut response = error_response(StatusCode::UNAUTHORIZED, e);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
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
    body: String,
    /// Its status under `application/graphql-response+json`; `application/json`
    /// answers every well-formed request with 200 (GraphQL over HTTP).
    status: StatusCode,
    /// Not a well-formed request (bad JSON or parameters, wrong method):
    /// `status` whatever the client accepts.
    malformed: bool,
    has_errors: bool,
}

impl Answer {
    fn error(status: StatusCode, message: &str, code: &str) -> Self {
        Self {
            body: json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string(),
            status,
            malformed: false,
            has_errors: true,
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
            Refusal::Syntax(e) => {
                let mut errors = vec![e];
                set_codes(&mut errors);
                Self {
                    body: json!({ "errors": errors }).to_string(),
                    status: StatusCode::BAD_REQUEST,
                    malformed: false,
                    has_errors: true,
                }
            }
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
fn reply(media: Media, status: StatusCode, body: String) -> Response {
    let content_type = match media {
        Media::Json => "application/json",
        Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
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

/// Errors of the engine itself (parsing, validation, limits) get the contract's codes.
fn set_codes(errors: &mut [ServerError]) {
    for e in errors {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            let code = if e.message.contains("too complex") || e.message.contains("nested too deep")
            {
                "QUERY_TOO_COMPLEX"
            } else {
                "BAD_USER_INPUT"
            };
            ext.set("code", code);
        }
    }
}

/// Runs one request: finds its document (text, persisted or trusted), refuses
/// a mutation over GET, executes, and orders the keys as the document does.
async fn answer(s: &AppState, ctx: &Ctx, params: Params, over_get: bool) -> Answer {
    let hash = match persisted::requested_hash(&params.extensions, params.document_id.as_deref()) {
        Ok(h) => h,
        Err(r) => return Answer::refused(r),
    };
    let query = params.query.as_deref().filter(|q| !q.is_empty());
    let doc = match s.documents.resolve(query, hash.as_deref()).await {
        Ok(doc) => doc,
        Err(r) => return Answer::refused(r),
    };
    let operation_name = params.operation_name.as_deref();
    let mutation =
        order::operation(&doc, operation_name).is_some_and(|op| op.ty == OperationType::Mutation);
    if over_get && mutation {
        return Answer::malformed(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations are accepted only over POST",
        );
    }
    let variables = async_graphql::Variables::from_json(Value::Object(params.variables));
    let order = KeyOrder::of(&doc, operation_name, &variables);
    let mut request = async_graphql::Request::new(String::new()).variables(variables);
    request.operation_name = params.operation_name.clone();
    request.set_parsed_query(doc);

    let span = tracing::info_span!("graphql", subject = %ctx.subject, operation = operation_name.unwrap_or("-"));
    request.data = request_data(ctx.clone(), s.db.scoped(ctx.clone()));
    let started = Instant::now();
    // A panic in a resolver is a bug: the client gets INTERNAL, never the panic.
    let execution = std::panic::AssertUnwindSafe(s.schema.execute(request).instrument(span));
    let mut response = match futures_util::FutureExt::catch_unwind(execution).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a resolver panicked");
            let e = ApiError::Internal;
            return Answer {
                malformed: true,
                ..Answer::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), e.code())
            };
        }
    };
    s.metrics
        .micros
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    if let Some(order) = order {
        order.apply(&mut response.data);
    }
    set_codes(&mut response.errors);
    // Errors before execution (validation, variables, limits) have no path:
    // then nothing ran, and the answer has no `data` (GraphQL over HTTP).
    let not_executed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let has_errors = !response.errors.is_empty();
    let body = serde_json::to_string(&Body {
        data: (!not_executed).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    })
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "response not serializable");
        json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] })
            .to_string()
    });
    Answer {
        body,
        status: if not_executed {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        malformed: false,
        has_errors,
    }
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

fn count_errors(s: &AppState, answers: &[&Answer]) {
    let n = answers.iter().filter(|a| a.has_errors).count() as u64;
    s.metrics.errors.fetch_add(n, Ordering::Relaxed);
}

/// POST /graphql: one request (a JSON object) or a batch (a JSON array of them).
async fn graphql_post(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    s.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let media = accepted(&headers);
    let ctx = match authenticate(&s, &headers).await {
        Ok(ctx) => ctx,
        Err(e) => return unauthorized(&e),
    };
    if !is_json_body(&headers) {
        let a = Answer::malformed(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a GraphQL request is sent with Content-Type: application/json",
        );
        return reply(media, a.status, a.body);
    }
    let single = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(batch)) => return graphql_batch(&s, &ctx, media, batch).await,
        Ok(v) => Params::from_json(v),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    };
    let a = match single {
        Ok(params) => answer(&s, &ctx, params, false).await,
        Err(m) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
    };
    count_errors(&s, &[&a]);
    reply(media, a.status(media), a.body)
}

/// A batch runs its operations one after another and answers with an array
/// of their results, in order (each with its own errors).
async fn graphql_batch(s: &AppState, ctx: &Ctx, media: Media, batch: Vec<Value>) -> Response {
    if batch.is_empty() || batch.len() > s.max_batch {
        let a = Answer::malformed(
            StatusCode::BAD_REQUEST,
            &format!(
                "a batch holds 1 to {} operations, this one {}",
                s.max_batch,
                batch.len()
            ),
        );
        return reply(media, a.status, a.body);
    }
    let mut answers = Vec::with_capacity(batch.len());
    for item in batch {
        answers.push(match Params::from_json(item) {
            Ok(params) => answer(s, ctx, params, false).await,
            Err(m) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
        });
    }
    count_errors(s, &answers.iter().collect::<Vec<_>>());
    let body = answers
        .into_iter()
        .map(|a| a.body)
        .collect::<Vec<_>>()
        .join(",");
    reply(media, StatusCode::OK, format!("[{body}]"))
}

/// GET /graphql: GraphiQL without a query (whatever the `Accept`); with one
/// (or a persisted hash), a query, never a mutation.
async fn graphql_get(
    State(s): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let media = accepted(&headers);
    let params = match params {
        Ok(Query(p))
            if ["query", "extensions", "documentId"]
                .iter()
                .all(|k| !p.contains_key(*k)) =>
        {
            return graphiql().await.into_response();
        }
        Ok(Query(p)) => Params::from_query_string(p),
        Err(e) => Err(format!("the query string is not valid: {e}")),
    };
    s.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let ctx = match authenticate(&s, &headers).await {
        Ok(ctx) => ctx,
        Err(e) => return unauthorized(&e),
    };
    let a = match params {
        Ok(params) => answer(&s, &ctx, params, true).await,
        Err(m) => Answer::malformed(StatusCode::BAD_REQUEST, &m),
    };
    count_errors(&s, &[&a]);
    let mut response = reply(media, a.status(media), a.body);
    let h = response.headers_mut();
    if a.status == StatusCode::METHOD_NOT_ALLOWED {
        h.insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    // Answers depend on the caller: a cache keeps them per token.
    h.append(header::VARY, HeaderValue::from_static("authorization"));
    response
}

/// graphql-transport-ws close code for a missing, bad or expired token.
const CLOSE_UNAUTHORIZED: u16 = 4401;
/// How long a new socket may take to send `connection_init`.
const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// graphql-transport-ws (the protocol of the `graphql-ws` client library).
async fn graphql_ws(
    State(s): State<AppState>,
    ws: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    ws.protocols(["graphql-transport-ws"])
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

/// Authenticates in `connection_init`, then runs the protocol until the
/// client leaves or the token expires (closing with 4401 in both failure cases).
async fn serve_ws(s: AppState, socket: axum::extract::ws::WebSocket) {
    use axum::extract::ws::{CloseFrame, Message};
    use futures_util::{SinkExt, StreamExt};
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
    let data = request_data(ctx.clone(), s.db.scoped_per_read(ctx));
    let input = futures_util::stream::once(async move { first.into_bytes() }).chain(
        stream
            .take_while(|m| std::future::ready(m.is_ok()))
            .filter_map(|m| {
                std::future::ready(match m {
                    Ok(Message::Text(t)) => Some(t.as_bytes().to_vec()),
                    Ok(Message::Binary(b)) => Some(b.to_vec()),
                    _ => None,
                })
            }),
    );
    let output = async_graphql::http::WebSocket::new(
        s.schema.clone(),
        input,
        async_graphql::http::WebSocketProtocols::GraphQLWS,
    )
    .on_connection_init(move |_| async move { Ok(data) });
    futures_util::pin_mut!(output);
    let ttl = expires.saturating_sub(jsonwebtoken::get_current_timestamp());
    let expiry = tokio::time::sleep(std::time::Duration::from_secs(ttl));
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            msg = output.next() => match msg {
                Some(async_graphql::http::WsMessage::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(async_graphql::http::WsMessage::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
                None => break,
            },
            () = &mut expiry => {
                let _ = sink.send(close("the token has expired")).await;
                break;
            }
        }
    }
}
