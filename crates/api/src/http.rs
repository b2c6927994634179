//! HTTP routes: `/graphql` (POST queries, GET GraphiQL), `/healthz`,
//! `/readyz`, `/metrics`.

use crate::auth::AuthConfig;
use crate::error::ApiError;
use crate::graphql::{Schema, request_data};
use crate::limits::QueryLimits;
use crate::metrics::Metrics;
use crate::rate::RateLimit;

use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, BatchResponse};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kpss_persistence::Db;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tracing::Instrument;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub schema: Schema,
    pub auth: Arc<AuthConfig>,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<QueryLimits>,
    pub rate: Arc<RateLimit>,
    /// Turns true when the server shuts down (subscriptions close with 1001).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// `/readyz` answers 503 when the database has not answered by then.
const READY_TIMEOUT: Duration = Duration::from_millis(900);

pub fn router(state: AppState) -> Router {
    // Room for the body limit's own answer: the handler sees the rejection.
    let body_limit = DefaultBodyLimit::max(state.limits.max_body_bytes);
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(body_limit)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn graphiql(State(s): State<AppState>) -> Response {
    if !s.limits.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("KPSS API")
            .finish(),
    )
    .into_response()
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

async fn metrics(State(s): State<AppState>) -> Response {
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
    let mut response = (status, Json(body)).into_response();
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

/// What one request log line and its metrics say about a request.
#[derive(Default)]
struct Outcome {
    subject: Option<String>,
    operation: Option<String>,
    /// `ok`, or the code of the first error.
    code: Option<&'static str>,
}

async fn graphql(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let mut outcome = Outcome::default();
    let response = serve_graphql(&s, &headers, body, &mut outcome).await;
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
    response
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

/// The contract code of an error of a response (all are coded by then).
fn code_of(e: &async_graphql::ServerError) -> &'static str {
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
    error_response(status, &e)
}

async fn serve_graphql(
    s: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    outcome: &mut Outcome,
) -> Response {
    let ctx = match bearer(headers).and_then(|t| s.auth.verify(t)) {
        Ok(ctx) => ctx,
        Err(e) => return refused(s, outcome, StatusCode::UNAUTHORIZED, e),
    };
    outcome.subject = Some(ctx.subject.clone());
    if let Err(wait) = s.rate.check(&ctx.subject) {
        s.metrics.rate_limited();
        let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        return refused(
            s,
            outcome,
            StatusCode::TOO_MANY_REQUESTS,
            ApiError::RateLimited { retry_after_secs },
        );
    }
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
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let e = ApiError::BadUserInput {
                field: "body".into(),
                message: format!("the body is not a GraphQL request: {e}"),
            };
            return refused(s, outcome, StatusCode::BAD_REQUEST, e);
        }
    };
    let operations = match &batch {
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(v) => v.len(),
    };
    if operations > s.limits.max_batch {
        let e = ApiError::TooComplex(format!(
            "the batch has {operations} operations; at most {} are allowed",
            s.limits.max_batch
        ));
        return refused(s, outcome, StatusCode::BAD_REQUEST, e);
    }
    if let BatchRequest::Single(r) = &batch {
        outcome.operation = r
            .operation_name
            .clone()
            .or_else(|| operation_name(&r.query).map(str::to_owned));
    }
    let mut batch = batch;
    let checked = match &mut batch {
        BatchRequest::Single(r) => s.limits.check(r),
        BatchRequest::Batch(v) => v.iter_mut().try_for_each(|r| s.limits.check(r)),
    };
    if let Err(e) = checked {
        let mut response = async_graphql::Response::from_errors(vec![e]);
        crate::limits::code_engine_errors(&mut response);
        let code = response.errors.first().map_or("INTERNAL", code_of);
        outcome.code = Some(code);
        s.metrics.graphql_error(code);
        return Json(response).into_response();
    }
    let span = tracing::info_span!("graphql", subject = %ctx.subject, operation = outcome.operation.as_deref().unwrap_or("-"));
    let with_data = |r: async_graphql::Request| {
        let (ctx, loaders) = request_data(&s.db, ctx.clone());
        r.data(ctx).data(loaders)
    };
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(with_data(r)),
        BatchRequest::Batch(v) => BatchRequest::Batch(v.into_iter().map(with_data).collect()),
    };
    // A panic in a resolver is a bug: the client gets INTERNAL, never the panic.
    let execution = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        s.schema.execute_batch(batch).instrument(span),
    ));
    let response = match tokio::time::timeout(s.limits.request_timeout, execution).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::error!("a resolver panicked");
            return refused(
                s,
                outcome,
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::Internal,
            );
        }
        Err(_) => {
            let e = ApiError::ServiceUnavailable(format!(
                "the request took longer than {:?}",
                s.limits.request_timeout
            ));
            return refused(s, outcome, StatusCode::SERVICE_UNAVAILABLE, e);
        }
    };
    let mut response = response;
    let responses = match &mut response {
        BatchResponse::Single(r) => std::slice::from_mut(r),
        BatchResponse::Batch(v) => v.as_mut_slice(),
    };
    responses
        .iter_mut()
        .for_each(crate::limits::code_engine_errors);
    for e in responses.iter().flat_map(|r| &r.errors) {
        let code = code_of(e);
        outcome.code.get_or_insert(code);
        s.metrics.graphql_error(code);
    }
    Json(response).into_response()
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
/// WebSocket close code "going away": the server shuts down.
const CLOSE_GOING_AWAY: u16 = 1001;
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

/// Passes a graphql-transport-ws message on, unless it subscribes with a
/// query over a limit: then its `error` answer goes to `refusals` instead.
fn screen(
    limits: &QueryLimits,
    message: Vec<u8>,
    refusals: &tokio::sync::mpsc::UnboundedSender<String>,
) -> Option<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct Subscribe {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        payload: async_graphql::Request,
    }
    let Ok(Subscribe {
        id,
        kind,
        mut payload,
    }) = serde_json::from_slice(&message)
    else {
        return Some(message);
    };
    if kind != "subscribe" {
        return Some(message);
    }
    match limits.check(&mut payload) {
        Ok(()) => Some(message),
        Err(e) => {
            let mut response = async_graphql::Response::from_errors(vec![e]);
            crate::limits::code_engine_errors(&mut response);
            let error =
                serde_json::json!({ "id": id, "type": "error", "payload": response.errors });
            let _ = refusals.send(error.to_string());
            None
        }
    }
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
    let verified = init_token(&first)
        .ok_or_else(|| ApiError::Unauthenticated("no token".into()))
        .and_then(|t| s.auth.verify_until(&t));
    let (ctx, expires) = match verified {
        Ok(v) => v,
        Err(e) => {
            let _ = sink.send(close(&e.to_string())).await;
            return;
        }
    };
    let (ctx, loaders) = request_data(&s.db, ctx);
    let mut data = async_graphql::Data::default();
    data.insert(ctx);
    data.insert(loaders);
    // Subscriptions over a limit are answered here and never reach the engine.
    let (refusals, mut refused) = tokio::sync::mpsc::unbounded_channel::<String>();
    let limits = s.limits.clone();
    let input = futures_util::stream::once(async move { first.into_bytes() }).chain(
        stream
            .take_while(|m| std::future::ready(m.is_ok()))
            .filter_map(move |m| {
                let message = match m {
                    Ok(Message::Text(t)) => Some(t.as_bytes().to_vec()),
                    Ok(Message::Binary(b)) => Some(b.to_vec()),
                    _ => None,
                };
                std::future::ready(message.and_then(|m| screen(&limits, m, &refusals)))
            }),
    );
    let output = async_graphql::http::WebSocket::new(
        s.schema.clone(),
        input,
        async_graphql::http::WebSocketProtocols::GraphQLWS,
    )
    .on_connection_init(move |_| async move { Ok(data) });
    futures_util::pin_mut!(output);
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
            Some(text) = refused.recv() => {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
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
