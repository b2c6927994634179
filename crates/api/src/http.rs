//! HTTP routes: `/graphql` (POST queries, GET GraphiQL), `/healthz`,
//! `/readyz`, `/metrics`.

use crate::auth::AuthConfig;
use crate::error::ApiError;
use crate::graphql::{Limits, Schema, request_data};

use async_graphql::http::GraphiQLSource;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kpss_persistence::Db;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub schema: Schema,
    pub auth: Arc<AuthConfig>,
    pub metrics: Arc<Metrics>,
}

/// Counters exported at `/metrics` (Prometheus text format).
#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    unauthenticated: AtomicU64,
    errors: AtomicU64,
    micros: AtomicU64,
}

pub fn router(state: AppState, limits: &Limits) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
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

async fn graphql(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    s.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let ctx = match bearer(&headers).and_then(|t| s.auth.verify(t)) {
        Ok(ctx) => ctx,
        Err(e) => {
            s.metrics.unauthenticated.fetch_add(1, Ordering::Relaxed);
            return error_response(StatusCode::UNAUTHORIZED, &e);
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let e = ApiError::BadUserInput {
                field: "body".into(),
                message: format!("the body is not a GraphQL request: {e}"),
            };
            return error_response(StatusCode::BAD_REQUEST, &e);
        }
    };
    let span = tracing::info_span!("graphql", subject = %ctx.subject, operation = request.operation_name.as_deref().unwrap_or("-"));
    let mut request = request;
    request.data = request_data(ctx.clone(), s.db.scoped(ctx));
    let started = Instant::now();
    // A panic in a resolver is a bug: the client gets INTERNAL, never the panic.
    let execution = std::panic::AssertUnwindSafe(
        s.schema
            .execute(request)
            .instrument(span),
    );
    let mut response = match futures_util::FutureExt::catch_unwind(execution).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a resolver panicked");
            s.metrics.errors.fetch_add(1, Ordering::Relaxed);
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, &ApiError::Internal);
        }
    };
    s.metrics
        .micros
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    if !response.errors.is_empty() {
        s.metrics.errors.fetch_add(1, Ordering::Relaxed);
    }
    for e in &mut response.errors {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            // Errors of the engine itself: parsing, validation, limits.
            let code = if e.message.contains("too complex") || e.message.contains("nested too deep")
            {
                "QUERY_TOO_COMPLEX"
            } else {
                "BAD_USER_INPUT"
            };
            ext.set("code", code);
        }
    }
    Json(response).into_response()
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
