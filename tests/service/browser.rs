//! The service's pages in a real browser: `tests/browser/*.test.mjs`
//! (playwright-core driving Debian's Chromium, axe-core for accessibility),
//! run with Node's test runner against the live service. SQLite only: the
//! pages are clients, and every query they send is tested on both databases
//! elsewhere. Screenshots go to `target/screenshots/`.

use crate::support::{Backend, TestApp, chromium, node, oidc};
use kpss_domain::access::Role;
use std::path::PathBuf;

/// Runs one test file; every test in it must pass (none skipped or left to do).
async fn run(file: &str, app: &TestApp) -> String {
    run_with(file, app, &[]).await
}

/// The same, with more environment for the test file.
async fn run_with(file: &str, app: &TestApp, env: &[(&str, String)]) -> String {
    let dir = tokio::task::spawn_blocking(|| node::installed("tests/browser"))
        .await
        .expect("installer thread");
    let browser = tokio::task::spawn_blocking(chromium::path)
        .await
        .expect("installer thread");
    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    let out = tokio::process::Command::new(dir.join("node_modules/.bin/node"))
        .args(["--test", "--test-reporter=tap", file])
        .current_dir(&dir)
        .env("KPSS_URL", &app.base)
        .env("CHROMIUM", browser)
        .env("KPSS_SCREENSHOTS", screenshots)
        .env("NATIONAL_TOKEN", app.token(Role::Viewer, &["*"], &[]))
        .env("KLATOVY_TOKEN", app.token(Role::Viewer, &["klatovy"], &[]))
        .env(
            "KLATOVY_EDITOR_TOKEN",
            app.token_for("editor-klatovy", Role::Editor, &["klatovy"], &[]),
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{report}");
    let count = |key: &str| {
        report
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {key} ")))
            .and_then(|n| n.trim().parse::<u32>().ok())
    };
    assert!(
        out.status.success(),
        "{file} failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tests = count("tests").expect("a TAP summary");
    assert!(tests > 0, "{file} ran no tests");
    assert_eq!(count("pass"), Some(tests), "{report}");
    for key in ["fail", "skipped", "todo", "cancelled"] {
        assert_eq!(count(key), Some(0), "{key} in {report}");
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_works_offline_with_a_pasted_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    run("graphiql.test.mjs", &app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_readable_regions_updates_live_and_is_accessible() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    run("dashboard.test.mjs", &app).await;
    app.stop().await;
}

/// `signin.test.mjs` runs the provider itself (and restarts it with a new
/// first key, and stops it); the service starts before it, on its issuer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_sign_in_with_the_provider() {
    let provider = tokio::task::spawn_blocking(|| node::installed("tests/oidc-provider"))
        .await
        .expect("installer thread");
    let keys = tempfile::tempdir().expect("dir");
    let pems = |names: &[(&str, &str)]| {
        names
            .iter()
            .map(|(kind, kid)| oidc::key(keys.path(), kind, kid).display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let first = pems(&[("rsa", "rs-1"), ("ec", "ec-1")]);
    let rotated = pems(&[("rsa", "rs-2"), ("ec", "ec-1")]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let refresh = 5;
    let app = TestApp::spawn_with(Backend::Sqlite, move |c, _| {
        c.oidc_issuer = Some(format!("http://127.0.0.1:{port}"));
        c.oidc_client_id = Some(oidc::PAGES_CLIENT.into());
        c.oidc_scope = "openid offline_access".into();
        c.oidc_refresh = std::time::Duration::from_secs(refresh);
    })
    .await;
    let env = [
        ("PROVIDER_DIR", provider.display().to_string()),
        ("PROVIDER_PORT", port.to_string()),
        ("KEYS_FIRST", first),
        ("KEYS_ROTATED", rotated),
        ("REFRESH_SECS", refresh.to_string()),
    ];
    run_with("signin.test.mjs", &app, &env).await;
    app.stop().await;
}
