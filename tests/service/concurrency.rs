//! Many editors at once: each writes its own records of one region.

use crate::support::{Backend, TestApp};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::sync::Arc;

/// 16 editors each update their own measure of one region 50 times with
/// fresh versions: every update succeeds and is audited once, and the
/// records and search entries hold the last writes.
async fn editors_of_different_measures_never_collide(b: Backend) {
    let app = Arc::new(TestApp::spawn(b).await);
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let data = app
        .query(
            &editor,
            "{ measures(filter: { regions: [\"klatovy\"] }, first: 16) { nodes { id version } } }",
            json!({}),
        )
        .await;
    let measures: Vec<(String, i64)> = data["measures"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().expect("id").to_owned(),
                m["version"].as_i64().expect("v"),
            )
        })
        .collect();
    assert_eq!(measures.len(), 16);
    const ROUNDS: i64 = 50;
    let q = "mutation($id: ID!, $v: Int!, $t: String!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: $t }) { version } }";
    let mut tasks = Vec::new();
    for (id, first_version) in measures.clone() {
        let (app, editor) = (app.clone(), editor.clone());
        tasks.push(tokio::spawn(async move {
            let mut version = first_version;
            for round in 0..ROUNDS {
                let title = format!("Opatření {id} kolo {round} souběžně");
                let (status, body) = app
                    .post(
                        Some(&format!("Bearer {editor}")),
                        q,
                        json!({ "id": id, "v": version, "t": title }),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                assert!(
                    body.get("errors").is_none(),
                    "update {round} of {id}: {body}"
                );
                version = body["data"]["updateMeasure"]["version"]
                    .as_i64()
                    .expect("version");
            }
        }));
    }
    for t in tasks {
        t.await.expect("editor task");
    }
    let admin = app.admin();
    for (id, first_version) in &measures {
        let m = app
            .query(
                &admin,
                "query($id: ID!) { measure(id: $id) { title version } }",
                json!({ "id": id }),
            )
            .await;
        let last = format!("Opatření {id} kolo {} souběžně", ROUNDS - 1);
        assert_eq!(
            m["measure"],
            json!({ "title": last, "version": first_version + ROUNDS })
        );
        let audit = app
            .query(&admin, "query($id: ID!) { auditLog(filter: { entity: \"Measure\", entityId: $id }, first: 100) { totalCount } }", json!({ "id": id }))
            .await;
        assert_eq!(audit["auditLog"]["totalCount"], json!(ROUNDS), "{id}");
        let hits = app
            .query(
                &admin,
                "query($t: String!) { search(text: $t, first: 5) { kind id } }",
                json!({ "t": last }),
            )
            .await;
        assert_eq!(
            hits["search"],
            json!([{ "kind": "MEASURE", "id": id }]),
            "{last}"
        );
    }
    Arc::into_inner(app)
        .expect("no task holds the app")
        .stop()
        .await;
}

/// 8 editors create measures under one priority at once: all are created, with distinct codes.
async fn editors_creating_under_one_priority_all_succeed(b: Backend) {
    let app = Arc::new(TestApp::spawn(b).await);
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let data = app
        .query(&editor, "{ measures(filter: { regions: [\"klatovy\"] }, first: 1) { nodes { priority { id } } } }", json!({}))
        .await;
    let priority = data["measures"]["nodes"][0]["priority"]["id"].clone();
    assert!(priority.is_string(), "{data}");
    let q = "mutation($p: ID!, $c: String!) { createMeasure(priorityId: $p, input: { code: $c, title: \"Nové opatření\" }) { id code } }";
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (app, editor, priority) = (app.clone(), editor.clone(), priority.clone());
        tasks.push(tokio::spawn(async move {
            let (status, body): (u16, Value) = app
                .post(
                    Some(&format!("Bearer {editor}")),
                    q,
                    json!({ "p": priority, "c": format!("99.{i}") }),
                )
                .await;
            assert_eq!(status, 200);
            assert!(body.get("errors").is_none(), "{body}");
        }));
    }
    for t in tasks {
        t.await.expect("creator task");
    }
    let codes = app
        .query(
            &editor,
            "{ measures(filter: { regions: [\"klatovy\"] }, first: 100) { nodes { code } } }",
            json!({}),
        )
        .await;
    let created = codes["measures"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|m| m["code"].as_str().is_some_and(|c| c.starts_with("99.")))
        .count();
    assert_eq!(created, 8);
    Arc::into_inner(app)
        .expect("no task holds the app")
        .stop()
        .await;
}

crate::on_both_databases!(
    editors_of_different_measures_never_collide,
    editors_creating_under_one_priority_all_succeed,
);
