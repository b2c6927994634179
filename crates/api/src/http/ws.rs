//! GraphQL over WebSocket: `graphql-transport-ws` (the `graphql-ws` client
//! library) and the legacy `graphql-ws` (subscriptions-transport-ws). Every
//! operation a socket starts passes the pipeline's steps before the engine
//! sees it; the engine then runs it through [`Guarded`](crate::execution::Guarded),
//! its last step as over HTTP.

use super::params::Params;
use super::pipeline::{Answer, admitted, rated};
use super::{AppState, stopping};
use crate::error::{ApiError, code};
use crate::graphql::{Steps, request_data};
use crate::persisted;
use crate::rate::Bucket;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use kpss_domain::access::Ctx;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

/// graphql-transport-ws close code for a missing, bad or expired token.
const CLOSE_UNAUTHORIZED: u16 = 4401;
/// graphql-transport-ws close code: too many failed `connection_init`s from one address.
const CLOSE_TOO_MANY_INITS: u16 = 4429;
/// WebSocket close code "message too big".
const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code "going away": the server shuts down.
const CLOSE_GOING_AWAY: u16 = 1001;
/// How long a new socket may take to send `connection_init`.
const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `/graphql/ws`: either subprotocol, chosen by the client.
pub(super) async fn graphql_ws(
    State(s): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    ws: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    // A message over the body limit closes the socket (1009), as HTTP refuses the body.
    ws.protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(s.limits.max_body_bytes)
        .on_upgrade(move |socket| serve_ws(s, peer.ip(), socket))
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
    ctx: &Ctx,
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
    let refusal = if let Err(a) = rated(s, ctx) {
        a
    } else if running >= MAX_OPERATIONS_PER_SOCKET {
        let message =
            format!("at most {MAX_OPERATIONS_PER_SOCKET} operations run at once on one socket");
        Answer::error(StatusCode::TOO_MANY_REQUESTS, &message, code::RATE_LIMITED)
    } else {
        match Params::from_json(m.payload) {
            Err(e) => Answer::malformed(StatusCode::BAD_REQUEST, &e),
            Ok(params) => {
                let hash =
                    persisted::requested_hash(&params.extensions, params.document_id.as_deref());
                let admitted = match hash {
                    Ok(hash) => admitted(s, &params, hash.as_deref())
                        .await
                        .map(|_| with_text(s, message, &params, hash.as_deref())),
                    Err(r) => Err(Answer::refused(r)),
                };
                match admitted {
                    Ok(message) => {
                        ids().insert(id);
                        return Some(message);
                    }
                    Err(a) => a,
                }
            }
        }
    };
    let mut errors = serde_json::from_slice::<Value>(&refusal.body)
        .map(|mut b| b["errors"].take())
        .unwrap_or_default();
    // graphql-transport-ws's `error` carries the list, the legacy protocol's one error.
    if protocol == WsProtocol::Legacy {
        errors = errors[0].take();
    }
    let error = json!({ "id": id, "type": "error", "payload": errors });
    let _ = screened.send(Screened::Error(error.to_string()));
    None
}

/// The message as the engine takes it: an operation named by its hash alone
/// (a trusted document's id, a persisted query) gets its document's text.
fn with_text(s: &AppState, message: Vec<u8>, params: &Params, hash: Option<&str>) -> Vec<u8> {
    let text = match (&params.query, hash) {
        (None, Some(hash)) => s.documents.text(hash),
        _ => None,
    };
    let Some(text) = text else {
        return message;
    };
    let Ok(mut m) = serde_json::from_slice::<Value>(&message) else {
        return message;
    };
    m["payload"]["query"] = Value::String(text);
    serde_json::to_vec(&m).unwrap_or(message)
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
async fn serve_ws(s: AppState, peer: std::net::IpAddr, socket: axum::extract::ws::WebSocket) {
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
            // As over HTTP, an address without a valid token is rated.
            let frame = match s.rate.check(&Bucket::Peer(peer)) {
                Ok(()) => close(&e.to_string()),
                Err(limited) => Message::Close(Some(CloseFrame {
                    code: CLOSE_TOO_MANY_INITS,
                    reason: limited.to_string().into(),
                })),
            };
            let _ = sink.send(frame).await;
            return;
        }
    };
    // The connection lives long: its reads must not hold a transaction.
    let (data, batcher) = request_data(ctx.clone(), s.db.scoped_per_read(ctx.clone()));
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
                let (s, ctx, running, screened_tx) = (
                    state.clone(),
                    ctx.clone(),
                    running.clone(),
                    screened_tx.clone(),
                );
                async move {
                    let message = match m {
                        Ok(Message::Text(t)) => t.as_bytes().to_vec(),
                        Ok(Message::Binary(b)) => b.to_vec(),
                        _ => return None,
                    };
                    screen(&s, &ctx, protocol, &running, message, &screened_tx).await
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
