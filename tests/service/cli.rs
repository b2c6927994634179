//! The `kpss` binary: schema, tokens, and the one-command start.

use crate::support::{SECRET, repo_path};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn kpss() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kpss"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("KPSS_JWT_SECRET")
        .env("KPSS_LOG", "warn");
    cmd
}

#[test]
fn schema_graphql_is_the_schema_the_code_serves() {
    let checked_in = std::fs::read_to_string(repo_path("schema.graphql")).expect("schema.graphql");
    let out = kpss().arg("schema").output().expect("kpss schema");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).expect("utf-8"),
        checked_in,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn token_command_signs_a_token_the_service_accepts() {
    let out = kpss()
        .args([
            "token",
            "--sub",
            "capacity-script",
            "--role",
            "viewer",
            "--region",
            "klatovy",
            "--kraj",
            "CZ072",
            "--ttl",
            "10m",
        ])
        .env("KPSS_JWT_SECRET", SECRET)
        .output()
        .expect("kpss token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let auth = kpss_api::AuthConfig {
        issuer: "kpss".into(),
        audience: "kpss-api".into(),
        secret: Some(SECRET.to_owned().into()),
        jwks: None,
    };
    let ctx = auth.verify(token.trim()).await.expect("valid token");
    assert_eq!(ctx.subject, "capacity-script");
    assert_eq!(
        ctx.read
            .regions
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        ["klatovy"]
    );
    assert_eq!(
        ctx.read
            .kraje
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>(),
        ["CZ072"]
    );
    assert!(ctx.write.is_empty());

    let bad = kpss()
        .args(["token", "--sub", "x", "--role", "root"])
        .env("KPSS_JWT_SECRET", SECRET)
        .output()
        .expect("kpss token");
    assert!(!bad.status.success(), "unknown role is refused");
    let short = kpss()
        .args(["token", "--sub", "x", "--role", "admin"])
        .env("KPSS_JWT_SECRET", "short")
        .output()
        .expect("kpss token");
    assert!(
        !short.status.success(),
        "a secret under 32 bytes is refused"
    );
}

/// A `kpss serve` process, killed if a test fails before stopping it.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kpss serve`, reads the printed admin token, and returns it.
fn serve(data: &std::path::Path, port: u16) -> (Server, String) {
    let mut child = kpss()
        .arg("serve")
        .env("KPSS_DATA_DIR", data)
        .env("KPSS_SEEDS", repo_path("seeds"))
        .env("KPSS_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("kpss serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut token = None;
    while let Some(Ok(line)) = lines.next() {
        if line.contains("Admin token") {
            token = lines.next().and_then(Result::ok);
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Server(child), token.expect("the banner prints a token"))
}

fn sigterm(server: &mut Server) -> std::process::ExitStatus {
    let child = &mut server.0;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("kpss serve did not stop within 10 s of SIGTERM");
}

#[tokio::test]
async fn serve_runs_with_no_configuration_and_stops_on_sigterm() {
    let data = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let (mut child, token) = serve(data.path(), port);
    // No pooled connections: the second server must get new ones.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let body: serde_json::Value = http
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "query": "{ regions { code } }" }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body["data"]["regions"].as_array().map(Vec::len),
        Some(4),
        "{body}"
    );
    assert!(sigterm(&mut child).success(), "graceful shutdown exits 0");
    assert!(data.path().join("jwt-secret").exists() && data.path().join("kpss.db").exists());

    // A second start reuses the database and the secret: the old token still works.
    let (mut child, _) = serve(data.path(), port);
    let status = http
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "query": "{ me { subject } }" }))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 200);
    assert!(sigterm(&mut child).success());
}
