//! A real OpenID provider on loopback: `tests/oidc-provider/provider.mjs`
//! (panva's oidc-provider, on the Node pinned in its lock file), with keys
//! made here by openssl so that a test can rotate them, or sign a token of
//! its own with one of them.

use super::node;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The secret of the provider's confidential clients (`provider.mjs`).
pub const SCRIPT_SECRET: &str = "script-secret-script-secret-0123456789";
/// The API's resource indicator; the provider's tokens for it have `aud: kpss-api`.
pub const API: &str = "https://kpss.test/api";
/// Another API's resource indicator (`aud: other-api`).
pub const OTHER_API: &str = "https://other.test/api";
/// The pages' public client.
pub const PAGES_CLIENT: &str = "kpss-pages";

pub struct Provider {
    pub issuer: String,
    pub port: u16,
    child: Option<tokio::process::Child>,
    redirect_uris: Vec<String>,
}

/// A private key in PEM, made with openssl: `rsa` or `ec` (P-256), named `kid`.
pub fn key(dir: &Path, kind: &str, kid: &str) -> PathBuf {
    let path = dir.join(format!("{kid}.pem"));
    let args: &[&str] = match kind {
        "rsa" => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        _ => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    };
    let ok = std::process::Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .arg("-out")
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(ok.success(), "openssl made no {kind} key");
    path
}

impl Provider {
    /// Starts the provider with `keys` (the first RSA key signs RS256, the
    /// first EC key ES256) on `port` (0: any); the pages' client may
    /// redirect to `redirect_uris`.
    pub async fn start(keys: &[PathBuf], port: u16, redirect_uris: &[String]) -> Self {
        let dir = tokio::task::spawn_blocking(|| node::installed("tests/oidc-provider"))
            .await
            .expect("installer thread");
        let keys: Vec<String> = keys.iter().map(|k| k.display().to_string()).collect();
        let mut child = tokio::process::Command::new(dir.join("node_modules/.bin/node"))
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("KEYS", keys.join(","))
            .env("REDIRECT_URIS", redirect_uris.join(","))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the provider starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("provider output") {
                if let Some(issuer) = line.strip_prefix("ready ") {
                    return issuer.to_owned();
                }
            }
            panic!("the provider ended before it was ready");
        })
        .await
        .expect("the provider is ready within 30 s");
        let port = ready
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the issuer");
        Self {
            issuer: ready,
            port,
            child: Some(child),
            redirect_uris: redirect_uris.to_vec(),
        }
    }

    /// Stops the provider (its port stays this provider's for a restart).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("the provider stops");
        }
    }

    /// The provider again on the same port (and issuer), with other keys;
    /// its in-memory store starts empty.
    pub async fn restart(&mut self, keys: &[PathBuf]) {
        self.stop().await;
        let uris = self.redirect_uris.clone();
        *self = Self::start(keys, self.port, &uris).await;
    }

    /// A client-credentials token of the confidential client `client` for `resource`.
    pub async fn client_token(&self, client: &str, resource: &str) -> String {
        let res = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(SCRIPT_SECRET))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", "kpss"),
            ])
            .send()
            .await
            .expect("token request sent");
        let status = res.status();
        let body: serde_json::Value = res.json().await.expect("JSON");
        assert!(status.is_success(), "token request: {status} {body}");
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }
}
