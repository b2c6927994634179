//! The client examples of `examples/` and the README's curl one-liner, run
//! against the live service; their output must agree with the API's own
//! answer to the same question.

use crate::support::{self, Backend, TestApp, node, repo_path};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Output;

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn python_csv(app: &TestApp, token: &str) -> Output {
    tokio::process::Command::new("python3")
        .arg(repo_path("examples/capacities_csv.py"))
        .env("KPSS_URL", format!("{}/graphql", app.base))
        .env("KPSS_TOKEN", token)
        .output()
        .await
        .expect("python3 runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_example_prints_the_capacities_of_readable_regions_as_csv() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for regions in [&["*"][..], &["klatovy"], &["kromeriz"]] {
        let token = app.token(Role::Viewer, regions, &[]);
        let out = python_csv(&app, &token).await;
        assert!(out.status.success(), "{}", text(&out));
        let csv = String::from_utf8(out.stdout).expect("UTF-8");
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some(
                "region,region_name,service_type,paragraph,service_type_name,form,unit,total,services"
            )
        );
        // region, service type, form, unit -> total, as the script printed them
        let printed: BTreeMap<String, i64> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                assert_eq!(f.len(), 9, "{l}");
                let key = format!("{} {} {} {}", f[0], f[2], f[5], f[6]);
                (key, f[7].parse().expect("a total"))
            })
            .collect();
        let data = app
            .query(
                &token,
                "{ capacitySummary(groupBy: [REGION, SERVICE_TYPE, FORM, UNIT]) { region { code } serviceType form unit total } }",
                json!({}),
            )
            .await;
        let expected: BTreeMap<String, i64> = data["capacitySummary"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                let form = g["form"].as_str().unwrap_or("");
                let key = format!(
                    "{} {} {form} {}",
                    g["region"]["code"].as_str().expect("code"),
                    g["serviceType"].as_str().expect("type"),
                    g["unit"].as_str().expect("unit")
                );
                (key, g["total"].as_i64().expect("total"))
            })
            .collect();
        assert_eq!(printed, expected, "{regions:?}");
        // Klatovy is the region with capacities in the seeds.
        assert_eq!(printed.is_empty(), regions == ["kromeriz"], "{regions:?}");
    }
    let out = python_csv(&app, "not-a-token").await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("UNAUTHENTICATED"),
        "{}",
        text(&out)
    );
    app.stop().await;
}

/// Runs a tool of the installed example with its pinned Node first on the PATH.
async fn npm_tool(
    dir: &std::path::Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Output {
    let bin = dir.join("node_modules/.bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = tokio::process::Command::new(bin.join(program));
    cmd.args(args).current_dir(dir).env("PATH", path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("tool runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_example_has_its_types_from_the_schema_and_prints_evaluations() {
    let dir = tokio::task::spawn_blocking(|| node::installed("examples/typescript"))
        .await
        .expect("installer thread");
    // The committed generated code is what graphql-codegen makes of schema.graphql today.
    let schema = (
        "KPSS_SCHEMA",
        repo_path("schema.graphql").display().to_string(),
    );
    let out = npm_tool(&dir, "graphql-codegen", &[], &[schema]).await;
    assert!(out.status.success(), "{}", text(&out));
    for file in ["gql.ts", "graphql.ts", "index.ts"] {
        let committed =
            std::fs::read_to_string(repo_path(&format!("examples/typescript/src/gql/{file}")))
                .expect("committed file");
        let generated =
            std::fs::read_to_string(dir.join("src/gql").join(file)).expect("generated file");
        assert!(
            committed == generated,
            "examples/typescript/src/gql/{file} is stale: run `npm run codegen` there"
        );
    }
    let out = npm_tool(&dir, "tsc", &[], &[]).await;
    assert!(out.status.success(), "tsc: {}", text(&out));

    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token(Role::Viewer, &["*"], &[]);
    for args in [&[][..], &["kromeriz"]] {
        let run = [&["dist/index.js"][..], args].concat();
        let env = [
            ("KPSS_URL", format!("{}/graphql", app.base)),
            ("KPSS_TOKEN", token.clone()),
        ];
        let out = npm_tool(&dir, "node", &run, &env).await;
        assert!(out.status.success(), "{}", text(&out));
        let printed = String::from_utf8(out.stdout).expect("UTF-8");
        let regions: Value = if args.is_empty() {
            Value::Null
        } else {
            json!(args)
        };
        let data = app
            .query(
                &token,
                "query($r: [String!]) { evaluationSummary(filter: { regions: $r }, groupBy: [REGION, STATUS]) { region { code } status count } }",
                json!({ "r": regions }),
            )
            .await;
        let expected: String = data["evaluationSummary"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                format!(
                    "{}\t{}\t{}\n",
                    g["region"]["code"].as_str().expect("code"),
                    g["status"].as_str().unwrap_or("NONE"),
                    g["count"]
                )
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(printed, expected, "{args:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_curl_one_liner_answers_with_beds_by_region() {
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README");
    let line = readme
        .lines()
        .find(|l| l.starts_with("curl ") && l.contains("capacitySummary"))
        .expect("the README's curl one-liner");
    let curl_runs = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !curl_runs {
        tokio::task::spawn_blocking(|| support::apt_install(&["curl"]))
            .await
            .expect("installer thread")
            .expect("curl installed");
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let out = tokio::process::Command::new("sh")
        .args(["-c", &line.replace("localhost:8080", &host)])
        .env("TOKEN", app.token(Role::Viewer, &["*"], &[]))
        .output()
        .await
        .expect("sh runs");
    assert!(out.status.success(), "{}", text(&out));
    let body: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    let groups = body["data"]["capacitySummary"].as_array().expect("groups");
    assert!(
        groups
            .iter()
            .any(|g| g["region"]["name"] == "Klatovy" && g["total"].as_i64() > Some(0)),
        "{body}"
    );
    app.stop().await;
}

/// The Python example fetching its own token from the provider (client
/// credentials), and the README's curl line that does the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_get_their_token_from_the_provider() {
    use support::oidc::{Provider, SCRIPT_SECRET, key};
    let keys = tempfile::tempdir().expect("dir");
    let pems = [
        key(keys.path(), "rsa", "rs-1"),
        key(keys.path(), "ec", "ec-1"),
    ];
    let mut provider = Provider::start(&pems, 0, &[]).await;
    let issuer = provider.issuer.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, move |c, _| {
        c.oidc_issuer = Some(issuer);
    })
    .await;
    let python = |secret: &str| {
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg(repo_path("examples/capacities_csv.py"))
            .env("KPSS_URL", format!("{}/graphql", app.base))
            .env_remove("KPSS_TOKEN")
            .env("KPSS_OIDC_ISSUER", &provider.issuer)
            // The provider's client whose tokens read Klatovy only.
            .env("KPSS_CLIENT_ID", "kpss-script-es256")
            .env("KPSS_CLIENT_SECRET", secret);
        async move { cmd.output().await }
    };
    let out = python(SCRIPT_SECRET).await.expect("python3 runs");
    assert!(out.status.success(), "{}", text(&out));
    let csv = String::from_utf8(out.stdout).expect("UTF-8");
    let regions: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().expect("a region"))
        .collect();
    assert_eq!(
        regions.into_iter().collect::<Vec<_>>(),
        ["klatovy"],
        "{csv}"
    );
    let out = python("a wrong secret").await.expect("python3 runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("identity provider answered 401"),
        "{}",
        text(&out)
    );

    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README");
    let line = readme
        .lines()
        .find(|l| l.contains("grant_type=client_credentials"))
        .expect("the README's client-credentials line");
    let out = tokio::process::Command::new("sh")
        .args(["-c", &format!("{line}\nprintf %s \"$TOKEN\"")])
        .env("TOKEN_ENDPOINT", format!("{}/token", provider.issuer))
        .env("CLIENT_ID", "kpss-script")
        .env("CLIENT_SECRET", SCRIPT_SECRET)
        .output()
        .await
        .expect("sh runs");
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8(out.stdout).expect("UTF-8");
    let data = app
        .query(&token, "{ me { subject } regions { code } }", json!({}))
        .await;
    assert_eq!(data["me"]["subject"], "kpss-script");
    assert_eq!(data["regions"].as_array().map(Vec::len), Some(4));
    provider.stop().await;
    app.stop().await;
}
