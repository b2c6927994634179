//! Persisted operations: Apollo's automatic persisted queries over POST and
//! GET, and the trusted-documents mode that runs listed documents only.

use crate::support::{Backend, TestApp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const QUERY: &str = "query Regions { regions { code } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let res = app
        .http()
        .post(format!("{}/graphql", app.base))
        .bearer_auth(app.admin())
        .json(&body)
        .send()
        .await
        .expect("sent");
    (res.status().as_u16(), res.json().await.expect("JSON"))
}

async fn get(app: &TestApp, params: &[(&str, &str)]) -> (u16, Value) {
    let res = app
        .http()
        .get(format!("{}/graphql", app.base))
        .bearer_auth(app.admin())
        .query(params)
        .send()
        .await
        .expect("sent");
    (res.status().as_u16(), res.json().await.expect("JSON"))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

const FOUR: [&str; 4] = ["chomutov", "karlovy-vary", "klatovy", "kromeriz"];

fn region_codes(body: &Value) -> Vec<String> {
    crate::support::codes(&body["data"]["regions"])
}

#[tokio::test]
async fn automatic_persisted_queries_register_by_hash_over_post_and_get() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let hash = sha256(QUERY);

    let (status, body) = post(&app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(
        (status, code(&body)),
        (200, "PERSISTED_QUERY_NOT_FOUND"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    let extensions = persisted(&hash).to_string();
    let (status, body) = get(&app, &[("extensions", &extensions)]).await;
    assert_eq!(
        (status, code(&body)),
        (200, "PERSISTED_QUERY_NOT_FOUND"),
        "{body}"
    );

    let (status, body) = post(
        &app,
        json!({ "query": QUERY, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(region_codes(&body), FOUR);

    let (status, body) = post(&app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(region_codes(&body), FOUR);
    let (status, body) = get(
        &app,
        &[("extensions", &extensions), ("operationName", "Regions")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(region_codes(&body), FOUR);
    // The hash alone runs over the WebSocket too.
    use futures_util::SinkExt;
    let mut ws = crate::live::connect(&app.base, &app.admin()).await;
    assert_eq!(
        crate::live::next_json(&mut ws).await["type"],
        "connection_ack"
    );
    let start =
        json!({ "id": "apq", "type": "subscribe", "payload": { "extensions": persisted(&hash) } });
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        start.to_string().into(),
    ))
    .await
    .expect("send");
    let answer = first_answer(&mut ws, "apq").await;
    assert_eq!(region_codes(&answer["payload"]), FOUR, "{answer}");

    let wrong = sha256("{ me { role } }");
    let (status, body) = post(
        &app,
        json!({ "query": QUERY, "extensions": persisted(&wrong) }),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
    let (status, body) = post(
        &app,
        json!({ "query": QUERY, "extensions": persisted("abc") }),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn trusted_documents_run_listed_operations_only() {
    let listed = "query Me { me { role } }";
    let hash = sha256(listed);
    let app = TestApp::spawn_with(Backend::Sqlite, |c, dir| {
        let file = dir.join("persisted-documents.json");
        std::fs::write(&file, json!({ &hash: listed }).to_string()).expect("write");
        c.trusted_documents = Some(file);
    })
    .await;

    for body in [
        json!({ "extensions": persisted(&hash) }),
        json!({ "documentId": format!("sha256:{hash}") }),
        json!({ "query": listed }),
    ] {
        let (status, answer) = post(&app, body.clone()).await;
        assert_eq!(status, 200, "{body}: {answer}");
        assert_eq!(answer["data"]["me"]["role"], "ADMIN", "{body}");
    }
    let extensions = persisted(&hash).to_string();
    let (status, answer) = get(&app, &[("extensions", &extensions)]).await;
    assert_eq!(
        (status, answer["data"]["me"]["role"].as_str()),
        (200, Some("ADMIN"))
    );

    let unlisted = sha256(QUERY);
    for body in [
        json!({ "query": QUERY }),
        json!({ "query": QUERY, "extensions": persisted(&unlisted) }),
        json!({ "extensions": persisted(&unlisted) }),
    ] {
        let (status, answer) = post(&app, body.clone()).await;
        assert_eq!(
            (status, code(&answer)),
            (200, "FORBIDDEN"),
            "{body}: {answer}"
        );
        assert!(answer.get("data").is_none(), "nothing ran: {answer}");
        let message = answer["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("trusted documents"), "{message}");
    }

    // The WebSocket runs the listed operation and refuses any other, a
    // query or a mutation, whichever message type starts it.
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let mutation =
        "mutation { createProvider(input: { region: \"klatovy\", name: \"Nezapsaný\" }) { id } }";
    for (protocol, kind) in [
        ("graphql-ws", "start"),
        ("graphql-transport-ws", "subscribe"),
    ] {
        let mut ws = crate::live::connect_with(&app.base, &app.admin(), protocol).await;
        assert_eq!(
            crate::live::next_json(&mut ws).await["type"],
            "connection_ack"
        );
        for (i, query) in [QUERY, mutation].into_iter().enumerate() {
            let id = format!("{kind}-{i}");
            let start = json!({ "id": id, "type": kind, "payload": { "query": query } });
            ws.send(Message::Text(start.to_string().into()))
                .await
                .expect("send");
            let answer = crate::live::next_json(&mut ws).await;
            assert_eq!(
                (answer["type"].as_str(), answer["id"].as_str()),
                (Some("error"), Some(id.as_str())),
                "{answer}"
            );
            assert_eq!(
                *crate::live::error_code(protocol, &answer),
                "FORBIDDEN",
                "{answer}"
            );
        }
        let start = json!({ "id": "listed", "type": kind, "payload": { "query": listed } });
        ws.send(Message::Text(start.to_string().into()))
            .await
            .expect("send");
        let answer = crate::live::next_json(&mut ws).await;
        assert_eq!(answer["payload"]["data"]["me"]["role"], "ADMIN", "{answer}");
        // By its id alone, as a client of persisted documents sends it.
        let payload = json!({ "documentId": format!("sha256:{hash}") });
        let start = json!({ "id": "by-id", "type": kind, "payload": payload });
        ws.send(Message::Text(start.to_string().into()))
            .await
            .expect("send");
        let answer = first_answer(&mut ws, "by-id").await;
        assert_eq!(answer["payload"]["data"]["me"]["role"], "ADMIN", "{answer}");
    }
    app.stop().await;
}

/// The first message of operation `id` (earlier operations' `complete`s skipped).
async fn first_answer(ws: &mut crate::live::Socket, id: &str) -> Value {
    loop {
        let m = crate::live::next_json(ws).await;
        if m["id"] == id {
            return m;
        }
    }
}

#[tokio::test]
async fn a_trusted_documents_file_with_a_wrong_hash_is_refused_at_start() {
    let (mut config, dir) = crate::support::fresh_config(Backend::Sqlite).await;
    let file = dir.path().join("persisted-documents.json");
    // graphql-codegen's default hash is sha1: such a file must not start a server that runs nothing.
    std::fs::write(
        &file,
        json!({ "0f5b1ebd0a1f8c5e5d2c8b7a3f0e2d1c4b6a9e8f": "{ me { role } }" }).to_string(),
    )
    .expect("write");
    config.trusted_documents = Some(file);
    let e = config.documents().err().expect("refused").to_string();
    assert!(e.contains("sha256"), "{e}");
}

/// A document over the limits is refused and never kept for its hash: the
/// hash alone then finds nothing, on every transport that names it.
#[tokio::test]
async fn a_document_over_the_limits_is_not_kept_for_its_hash() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let aliases: String = (0..40).map(|i| format!("a{i}: me {{ role }} ")).collect();
    let over = format!("{{ {aliases} }}");
    let hash = sha256(&over);
    let (_, answer) = post(
        &app,
        json!({ "query": over, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(code(&answer), "QUERY_TOO_COMPLEX", "{answer}");
    let (_, answer) = post(&app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_FOUND", "{answer}");
    // Within the limits, the same exchange keeps it.
    let (_, answer) = post(
        &app,
        json!({ "query": QUERY, "extensions": persisted(&sha256(QUERY)) }),
    )
    .await;
    assert!(answer["data"]["regions"].is_array(), "{answer}");
    let (_, answer) = post(&app, json!({ "extensions": persisted(&sha256(QUERY)) })).await;
    assert!(answer["data"]["regions"].is_array(), "{answer}");
    app.stop().await;
}

/// The same over-limit document (40 aliases, over `KPSS_MAX_ALIASES`) gets
/// the same code whatever brings it: POST, GET, a batch's entry, an APQ
/// hash with its text (then not kept: the hash alone is not found), a
/// trusted document's id, and a WebSocket `subscribe` or `start`.
#[tokio::test]
async fn every_transport_refuses_an_over_limit_document_alike() {
    let over: String = (0..40).map(|i| format!("a{i}: me {{ role }} ")).collect();
    let over = format!("query Over {{ {over} }}");
    let hash = sha256(&over);
    let refused = |answer: &Value| {
        assert_eq!(code(answer), "QUERY_TOO_COMPLEX", "{answer}");
        assert!(answer.get("data").is_none(), "nothing ran: {answer}");
    };

    let app = TestApp::spawn(Backend::Sqlite).await;
    refused(&post(&app, json!({ "query": over })).await.1);
    refused(&get(&app, &[("query", &over)]).await.1);
    let (_, batch) = post(&app, json!([{ "query": QUERY }, { "query": over }])).await;
    assert_eq!(code(&batch[0]), "none", "{batch}");
    refused(&batch[1]);
    refused(
        &post(
            &app,
            json!({ "query": over, "extensions": persisted(&hash) }),
        )
        .await
        .1,
    );
    let (_, answer) = post(&app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_FOUND", "{answer}");
    ws_refuses(&app, json!({ "query": over })).await;
    app.stop().await;

    // Listed as trusted, it is still over the limits.
    let app = TestApp::spawn_with(Backend::Sqlite, |c, dir| {
        let file = dir.join("persisted-documents.json");
        std::fs::write(&file, json!({ &hash: over }).to_string()).expect("write");
        c.trusted_documents = Some(file);
    })
    .await;
    refused(
        &post(&app, json!({ "documentId": format!("sha256:{hash}") }))
            .await
            .1,
    );
    refused(
        &post(&app, json!({ "extensions": persisted(&hash) }))
            .await
            .1,
    );
    let extensions = persisted(&hash).to_string();
    refused(&get(&app, &[("extensions", &extensions)]).await.1);
    ws_refuses(&app, json!({ "documentId": format!("sha256:{hash}") })).await;
    app.stop().await;
}

/// Starts `payload` under each subprotocol and expects QUERY_TOO_COMPLEX.
async fn ws_refuses(app: &TestApp, payload: Value) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    for (protocol, start) in [
        ("graphql-transport-ws", "subscribe"),
        ("graphql-ws", "start"),
    ] {
        let mut ws = crate::live::connect_with(&app.base, &app.admin(), protocol).await;
        assert_eq!(
            crate::live::next_json(&mut ws).await["type"],
            "connection_ack"
        );
        let message = json!({ "id": "over", "type": start, "payload": payload });
        ws.send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
        let answer = crate::live::next_json(&mut ws).await;
        assert_eq!(
            *crate::live::error_code(protocol, &answer),
            "QUERY_TOO_COMPLEX",
            "{protocol}: {answer}"
        );
    }
}
