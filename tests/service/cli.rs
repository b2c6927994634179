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
        oidc: None,
        verified: Default::default(),
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
    let no_pool = kpss()
        .arg("serve")
        .env("KPSS_DB_POOL_SIZE", "0")
        .output()
        .expect("kpss serve");
    assert!(
        !no_pool.status.success(),
        "a pool of no connections is refused"
    );
    assert!(
        String::from_utf8_lossy(&no_pool.stderr).contains("db-pool-size"),
        "{}",
        String::from_utf8_lossy(&no_pool.stderr)
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

/// Starts `kpss serve` in its (empty) data folder with the given environment
/// and returns it with the lines of its banner.
fn serve_with(data: &std::path::Path, port: u16, env: &[(&str, &str)]) -> (Server, Vec<String>) {
    launch(serve_command(data, port, env).stderr(Stdio::inherit()))
}

fn serve_command(data: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Command {
    let mut cmd = kpss();
    cmd.arg("serve")
        .current_dir(data)
        .env("KPSS_DATA_DIR", data)
        .env("KPSS_LISTEN", format!("127.0.0.1:{port}"))
        .envs(env.iter().copied());
    cmd
}

/// Starts `cmd` and returns it with the lines of its banner.
fn launch(cmd: &mut Command) -> (Server, Vec<String>) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("kpss serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("a line of the banner");
        // The banner ends with the curl example or with how to get a token.
        let last = line.contains("-d '") || line.starts_with("  Tokens:");
        banner.push(line);
        if last {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Server(child), banner)
}

/// Starts `kpss serve` with no configuration and returns the printed admin token.
fn serve(data: &std::path::Path, port: u16) -> (Server, String) {
    let (server, banner) = serve_with(data, port, &[]);
    let at = banner.iter().position(|l| l.contains("Admin token"));
    let token = at.and_then(|i| banner.get(i + 1)).cloned();
    (
        server,
        token.unwrap_or_else(|| panic!("the banner prints a token: {banner:?}")),
    )
}

/// POSTs `query` with `token` to the server on `port`; the status and the body.
async fn ask(
    http: &reqwest::Client,
    port: u16,
    token: &str,
    query: &str,
) -> (u16, serde_json::Value) {
    let res = http
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
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
    // Started in an empty folder: the seeds are built into the binary.
    let data = tempfile::tempdir().expect("dir");
    let port = free_port();
    let (mut child, token) = serve(data.path(), port);
    // No pooled connections: the second server must get new ones.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let (_, body) = ask(&http, port, &token, "{ regions { code } }").await;
    assert_eq!(
        body["data"]["regions"].as_array().map(Vec::len),
        Some(4),
        "{body}"
    );
    assert!(sigterm(&mut child).success(), "graceful shutdown exits 0");
    assert!(data.path().join("jwt-secret").exists() && data.path().join("kpss.db").exists());

    // A second start reuses the database and the secret: the old token still works.
    let (mut child, _) = serve(data.path(), port);
    let (status, _) = ask(&http, port, &token, "{ me { subject } }").await;
    assert_eq!(status, 200);
    assert!(sigterm(&mut child).success());
}

/// The request log, written to a file: a line for each request, every line
/// on disk once the server has stopped, and no terminal colour codes.
#[tokio::test]
async fn the_request_log_is_plain_text_and_complete_at_shutdown() {
    let data = tempfile::tempdir().expect("dir");
    let log = data.path().join("stderr.log");
    let port = free_port();
    let file = std::fs::File::create(&log).expect("log file");
    let (mut server, banner) =
        launch(serve_command(data.path(), port, &[("KPSS_LOG", "info")]).stderr(file));
    let at = banner.iter().position(|l| l.contains("Admin token"));
    let token = at.and_then(|i| banner.get(i + 1)).expect("a token");
    let http = reqwest::Client::new();
    for _ in 0..50 {
        let (status, _) = ask(&http, port, token, "{ regions { code } }").await;
        assert_eq!(status, 200);
    }
    assert!(sigterm(&mut server).success());
    let text = std::fs::read_to_string(&log).expect("log");
    let requests = text.lines().filter(|l| l.contains("graphql request"));
    assert_eq!(requests.count(), 50, "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a file: {text}");
}

/// A configured secret or key set, or production, is no zero set-up: the
/// banner prints no token (logs must not become admin credentials).
#[test]
fn serve_prints_a_token_only_in_the_zero_set_up() {
    let keys = tempfile::tempdir().expect("dir");
    let (_, jwks) = rsa_key(keys.path());
    let jwks = jwks.display().to_string();
    for env in [
        &[("KPSS_JWT_SECRET", SECRET)][..],
        &[("KPSS_JWT_SECRET", SECRET), ("KPSS_ENV", "production")],
        &[("KPSS_ENV", "production")],
        &[("KPSS_JWKS", jwks.as_str())],
    ] {
        let data = tempfile::tempdir().expect("dir");
        let (mut server, banner) = serve_with(data.path(), free_port(), env);
        assert!(banner[0].contains("is ready"), "{env:?}: {banner:?}");
        assert!(
            !banner
                .iter()
                .any(|l| l.contains("token (") || l.contains("eyJ")),
            "{env:?} printed a token: {banner:?}"
        );
        assert!(sigterm(&mut server).success());
    }
}

/// With an identity provider's keys alone (no HMAC secret) the service
/// starts and accepts the provider's RS256 tokens.
#[tokio::test]
async fn a_key_set_alone_starts_and_verifies_rs256_tokens() {
    let keys = tempfile::tempdir().expect("dir");
    let (pem, jwks) = rsa_key(keys.path());
    let data = tempfile::tempdir().expect("dir");
    let port = free_port();
    let (mut server, _) = serve_with(
        data.path(),
        port,
        &[("KPSS_JWKS", &jwks.display().to_string())],
    );
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("idp-1".into());
    let claims = serde_json::json!({ "sub": "idp-user", "exp": jsonwebtoken::get_current_timestamp() + 600,
        "iss": "kpss", "aud": "kpss-api", "role": "viewer", "regions": ["klatovy"] });
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("key"),
    )
    .expect("token");
    let http = reqwest::Client::new();
    let (_, body) = ask(&http, port, &token, "{ me { subject } regions { code } }").await;
    assert_eq!(
        body["data"],
        serde_json::json!({ "me": { "subject": "idp-user" }, "regions": [{ "code": "klatovy" }] }),
        "{body}"
    );
    // Without a secret, `kpss token` has nothing to sign with, and says so.
    let out = kpss()
        .args(["token", "--sub", "x", "--role", "viewer"])
        .env("KPSS_DATA_DIR", data.path())
        .env("KPSS_JWKS", &jwks)
        .output()
        .expect("kpss token");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("KPSS_JWT_SECRET"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(sigterm(&mut server).success());
}

/// An RSA key (PEM) and a JWK set file with its public half, `kid` "idp-1".
fn rsa_key(dir: &std::path::Path) -> (Vec<u8>, std::path::PathBuf) {
    let pem = dir.join("idp.pem");
    let ok = Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&pem)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success());
    let modulus = Command::new("openssl")
        .args(["rsa", "-noout", "-modulus", "-in"])
        .arg(&pem)
        .output()
        .expect("openssl");
    let hex = String::from_utf8(modulus.stdout).expect("utf-8");
    let hex = hex.trim().trim_start_matches("Modulus=");
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = serde_json::json!({ "kty": "RSA", "kid": "idp-1", "alg": "RS256", "use": "sig",
        "n": b64.encode(n), "e": "AQAB" });
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, serde_json::json!({ "keys": [jwk] }).to_string()).expect("write");
    (std::fs::read(&pem).expect("pem"), jwks)
}

/// `kpss export --out` writes a file only its owner can read, also over an
/// existing one.
#[test]
fn export_writes_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().expect("dir");
    let seeded = kpss()
        .arg("seed")
        .env("KPSS_DATA_DIR", data.path())
        .output()
        .expect("kpss seed");
    assert!(seeded.status.success(), "{seeded:?}");
    let out = data.path().join("klatovy.yaml");
    std::fs::write(&out, "old").expect("write");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let exported = kpss()
        .args(["export", "--region", "klatovy", "--out"])
        .arg(&out)
        .env("KPSS_DATA_DIR", data.path())
        .output()
        .expect("kpss export");
    assert!(exported.status.success(), "{exported:?}");
    let mode = std::fs::metadata(&out)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let yaml = std::fs::read_to_string(&out).expect("read");
    assert!(yaml.contains("region: klatovy"), "{yaml}");
}

/// `kpss export --plan` writes one plan as a private file; `kpss import`
/// shows what a changed file changes (`--dry-run` writes nothing) and applies it.
#[test]
fn a_plan_goes_out_as_a_file_and_comes_back_changed() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().expect("dir");
    let run = |args: &[&str]| {
        let out = kpss()
            .args(args)
            .env("KPSS_DATA_DIR", data.path())
            .output()
            .expect("kpss");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    run(&["seed"]);
    let file = data.path().join("plan.yaml");
    let path = file.to_str().expect("path");
    // Plan 1 is the first seeded plan (Chomutov's, in the seeds' order).
    run(&["export", "--plan", "1", "--out", path]);
    let mode = std::fs::metadata(&file)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let yaml = std::fs::read_to_string(&file).expect("read");
    let region = yaml
        .lines()
        .find_map(|l| l.strip_prefix("region: "))
        .expect("region")
        .to_owned();
    let title = yaml
        .lines()
        .find_map(|l| l.strip_prefix("  title: "))
        .expect("title")
        .to_owned();
    std::fs::write(&file, yaml.replacen(&title, "Plán po úpravě", 1)).expect("write");
    let dry = run(&["import", path, "--region", &region, "--dry-run"]);
    assert!(dry.contains("Changed Plan  title"), "{dry}");
    assert!(dry.contains("dry run, nothing changed"), "{dry}");
    let applied = run(&["import", path, "--region", &region]);
    assert!(applied.contains("applied"), "{applied}");
    let again = run(&["import", path, "--region", &region, "--dry-run"]);
    assert!(!again.contains("Changed"), "{again}");
}
