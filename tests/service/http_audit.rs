//! The GraphQL-over-HTTP audit of the spec's authors (npm `graphql-http`,
//! `serverAudits`) against the live service with a token: every one of its
//! audits, MUST, SHOULD and MAY, must be ok.

use crate::support::{Backend, TestApp, node};
use serde_json::Value;

/// How many audits graphql-http 1.23.1 has: a changed count means a changed audit.
const AUDITS: usize = 61;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_http_audit_is_all_ok() {
    let dir = tokio::task::spawn_blocking(node::audit_dir)
        .await
        .expect("installer thread");
    let app = TestApp::spawn(Backend::Sqlite).await;
    let out = tokio::process::Command::new(dir.join("node_modules/.bin/node"))
        .arg("audit.mjs")
        .current_dir(&dir)
        .env("AUDIT_URL", format!("{}/graphql", app.base))
        .env("AUDIT_TOKEN", app.admin())
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "the audit failed to run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON results");
    let not_ok: Vec<String> = results
        .iter()
        .filter(|r| r["status"] != "ok")
        .map(|r| format!("{} {} {}: {}", r["status"], r["id"], r["name"], r["reason"]))
        .collect();
    println!(
        "graphql-http audit: {} ok of {}",
        results.len() - not_ok.len(),
        results.len()
    );
    assert!(not_ok.is_empty(), "audits not ok:\n{}", not_ok.join("\n"));
    assert_eq!(results.len(), AUDITS);
    app.stop().await;
}
