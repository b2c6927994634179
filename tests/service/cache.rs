//! Reused answers stay exact: a write through one instance is seen by the
//! very next read through another, and an answer is never reused for another
//! scope or another caller's `me`, nor when it had errors.

use crate::support::{Backend, TestApp};
use kpss_domain::access::Role;
use serde_json::json;

const HITS: &str = r#"kpss_response_cache_total{result="hit"}"#;
const STALE: &str = r#"kpss_response_cache_total{result="stale"}"#;

const FIRST_MEASURE: &str =
    r#"{ measures(filter: { regions: ["klatovy"] }, first: 1) { nodes { id title version } } }"#;

async fn a_write_through_one_instance_is_read_at_once_through_another(b: Backend) {
    let a = TestApp::spawn(b).await;
    let other = a.beside().await;
    let editor = a.token(Role::Editor, &["klatovy"], &[]);
    // Readers whose versions are summed over one region, a kraj, every region.
    let readers = [
        editor.clone(),
        a.token(Role::Viewer, &[], &["CZ032"]),
        a.token(Role::Viewer, &["*"], &[]),
    ];
    let mut first = serde_json::Value::Null;
    for r in &readers {
        first = other.query(r, FIRST_MEASURE, json!({})).await;
        assert_eq!(other.query(r, FIRST_MEASURE, json!({})).await, first);
    }
    assert_eq!(
        other.counter(HITS).await,
        3.0,
        "each second read reused the answer"
    );

    let m = &first["measures"]["nodes"][0];
    let changed = a
        .query(
            &editor,
            "mutation($id: ID!, $v: Int!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: \"Nový název opatření\" }) { version } }",
            json!({ "id": m["id"], "v": m["version"] }),
        )
        .await;
    let mut after = serde_json::Value::Null;
    for r in &readers {
        after = other.query(r, FIRST_MEASURE, json!({})).await;
        let now = &after["measures"]["nodes"][0];
        assert_eq!(now["title"], "Nový název opatření");
        assert_eq!(now["version"], changed["updateMeasure"]["version"]);
    }
    assert_eq!(
        other.counter(STALE).await,
        3.0,
        "every stored answer was out of date"
    );
    // A write to Kroměříž outdates only the answer of the reader of every region.
    let kromeriz = a.token(Role::Editor, &["kromeriz"], &[]);
    let theirs = a
        .query(
            &kromeriz,
            r#"{ measures(first: 1) { nodes { id version } } }"#,
            json!({}),
        )
        .await;
    let m = &theirs["measures"]["nodes"][0];
    a.query(
        &kromeriz,
        "mutation($id: ID!, $v: Int!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: \"Jiný\" }) { version } }",
        json!({ "id": m["id"], "v": m["version"] }),
    )
    .await;
    for r in &readers {
        assert_eq!(other.query(r, FIRST_MEASURE, json!({})).await, after);
    }
    assert_eq!(other.counter(HITS).await, 5.0);
    assert_eq!(other.counter(STALE).await, 4.0);
    other.stop().await;
    a.stop().await;
}

async fn answers_are_never_reused_across_scopes_or_callers(b: Backend) {
    answers_stay_within_their_scope_and_caller(TestApp::spawn(b).await).await;
}

/// The checks of [`answers_are_never_reused_across_scopes_or_callers`] on `app`.
pub async fn answers_stay_within_their_scope_and_caller(app: TestApp) {
    let q = "{ regions { code } plans(first: 100) { nodes { region { code } } } }";
    let regions_of = |v: &serde_json::Value| {
        let mut codes: Vec<String> = v["plans"]["nodes"]
            .as_array()
            .expect("plans")
            .iter()
            .map(|p| p["region"]["code"].as_str().expect("code").to_owned())
            .collect();
        codes.dedup();
        codes
    };
    for _ in 0..2 {
        for region in ["klatovy", "kromeriz"] {
            let token = app.token(Role::Viewer, &[region], &[]);
            assert_eq!(regions_of(&app.query(&token, q, json!({})).await), [region]);
        }
        // An editor of Klatovy may write there: another scope than a viewer's.
        let editor = app.token(Role::Editor, &["klatovy"], &[]);
        assert_eq!(
            regions_of(&app.query(&editor, q, json!({})).await),
            ["klatovy"]
        );
        // Two callers of one scope: each is shown itself.
        for subject in ["anna", "bedrich"] {
            let token = app.token_for(subject, Role::Viewer, &["klatovy"], &[]);
            let me = app
                .query(&token, "{ me { subject } regions { code } }", json!({}))
                .await;
            assert_eq!(me["me"]["subject"], subject);
        }
    }
    assert_eq!(
        app.counter(HITS).await,
        3.0,
        "only the scoped reads were reused"
    );
    // An answer with errors is never stored.
    let viewer = app.token(Role::Viewer, &["klatovy"], &[]);
    for _ in 0..2 {
        let code = app
            .error_code(&viewer, "{ auditLog(first: 1) { totalCount } }", json!({}))
            .await;
        assert_eq!(code, "FORBIDDEN");
    }
    assert_eq!(app.counter(HITS).await, 3.0);
    app.stop().await;
}

/// The same while other callers keep the instance's version reads of the
/// same scope running back to back (those share what they read on).
async fn a_write_is_read_at_once_while_the_same_answer_is_asked_without_pause(b: Backend) {
    let a = TestApp::spawn(b).await;
    let other = std::sync::Arc::new(a.beside().await);
    let editor = a.token(Role::Editor, &["klatovy"], &[]);
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let askers: Vec<_> = (0..4)
        .map(|_| {
            let (other, editor, running) = (other.clone(), editor.clone(), running.clone());
            tokio::spawn(async move {
                let mut asked = 0;
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    other.query(&editor, FIRST_MEASURE, json!({})).await;
                    asked += 1;
                }
                asked
            })
        })
        .collect();
    for n in 0..20 {
        let m = other.query(&editor, FIRST_MEASURE, json!({})).await["measures"]["nodes"][0].take();
        let title = format!("Název {n}");
        let changed = a
            .query(
                &editor,
                "mutation($id: ID!, $v: Int!, $t: String!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: $t }) { version } }",
                json!({ "id": m["id"], "v": m["version"], "t": title }),
            )
            .await;
        let now =
            other.query(&editor, FIRST_MEASURE, json!({})).await["measures"]["nodes"][0].take();
        assert_eq!(now["title"], title.as_str(), "write {n}");
        assert_eq!(now["version"], changed["updateMeasure"]["version"]);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut asked = 0;
    for t in askers {
        asked += t.await.expect("asker");
    }
    assert!(asked > 100, "the answer was asked without pause: {asked}");
    assert!(other.counter(HITS).await > 50.0, "and mostly reused");
    if let Ok(other) = std::sync::Arc::try_unwrap(other) {
        other.stop().await;
    }
    a.stop().await;
}

on_both_databases!(
    a_write_is_read_at_once_while_the_same_answer_is_asked_without_pause,
    a_write_through_one_instance_is_read_at_once_through_another,
    answers_are_never_reused_across_scopes_or_callers,
);
