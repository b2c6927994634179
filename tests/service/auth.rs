//! Authentication: every malformed or untrusted token is HTTP 401 with
//! `UNAUTHENTICATED`; asymmetric tokens verify with the JWK set by `kid`.

use crate::support::{Backend, SECRET, TestApp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const Q: &str = "{ me { subject role } regions { code } }";

fn claims() -> Value {
    json!({ "sub": "t", "exp": get_current_timestamp() + 600, "iss": "kpss", "aud": "kpss-api", "role": "viewer", "regions": ["klatovy"] })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("encode")
}

async fn assert_401(app: &TestApp, name: &str, token: &str) {
    let (status, body) = app
        .post(Some(&format!("Bearer {token}")), Q, json!({}))
        .await;
    assert_eq!(status, 401, "{name}: {body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{name}"
    );
    assert!(body.get("data").is_none(), "{name}: nothing runs");
}

/// An Ed25519 key pair made with openssl: (private PEM, JWK of the public key).
fn ed25519_key(dir: &Path, kid: &str) -> (Vec<u8>, Value) {
    let pem = dir.join(format!("{kid}.pem"));
    let ok = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&pem)
        .status()
        .expect("openssl");
    assert!(ok.success());
    let der = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&pem)
        .output()
        .expect("openssl");
    let raw = &der.stdout[der.stdout.len() - 32..];
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(raw), "kid": kid, "alg": "EdDSA", "use": "sig" });
    (std::fs::read(&pem).expect("pem"), jwk)
}

fn eddsa(claims: &Value, pem: &[u8], kid: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    encode(
        &header,
        claims,
        &EncodingKey::from_ed_pem(pem).expect("key"),
    )
    .expect("encode")
}

async fn untrusted_tokens_are_401(b: Backend) {
    let app = TestApp::spawn(b).await;
    let s = SECRET.as_bytes();
    let now = get_current_timestamp();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let cases = [
        (
            "expired",
            hs256(&with(claims(), "exp", json!(now - 120)), s),
        ),
        (
            "not yet valid",
            hs256(&with(claims(), "nbf", json!(now + 3600)), s),
        ),
        (
            "wrong issuer",
            hs256(&with(claims(), "iss", json!("someone-else")), s),
        ),
        (
            "wrong audience",
            hs256(&with(claims(), "aud", json!("another-api")), s),
        ),
        (
            "wrong signature",
            hs256(&claims(), b"not-the-secret-not-the-secret-0123456"),
        ),
        ("alg none", none),
        ("missing exp", hs256(&without(claims(), "exp"), s)),
        ("missing sub", hs256(&without(claims(), "sub"), s)),
        ("missing role", hs256(&without(claims(), "role"), s)),
        (
            "unknown role",
            hs256(&with(claims(), "role", json!("superuser")), s),
        ),
        (
            "region claim not a code",
            hs256(&with(claims(), "regions", json!(["Klatovy"])), s),
        ),
        (
            "oversized",
            hs256(&with(claims(), "pad", json!("x".repeat(9000))), s),
        ),
        ("garbage", "not.a.jwt".to_owned()),
        (
            "asymmetric without a key set",
            eddsa(
                &claims(),
                &ed25519_key(app.config.data_dir.as_path(), "k").0,
                "k",
            ),
        ),
    ];
    for (name, token) in cases {
        assert_401(&app, name, &token).await;
    }
    // Within the 60 s leeway an expired token still passes.
    let data = app
        .query(
            &hs256(&with(claims(), "exp", json!(now - 30)), s),
            Q,
            json!({}),
        )
        .await;
    assert_eq!(data["me"]["role"], "VIEWER");
    app.stop().await;
}

async fn asymmetric_tokens_verify_by_kid_and_keys_rotate(b: Backend) {
    let keys = tempfile::tempdir().expect("dir");
    let (pem1, jwk1) = ed25519_key(keys.path(), "2026-01");
    let (pem2, jwk2) = ed25519_key(keys.path(), "2026-02");
    let jwks = keys.path().join("jwks.json");
    // The set also carries a symmetric key: it must never be used.
    let oct = json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"shared-shared-shared-shared-shared"), "kid": "oct", "alg": "HS256" });
    std::fs::write(&jwks, json!({ "keys": [jwk1, oct] }).to_string()).expect("write");
    let path = jwks.clone();
    let app = TestApp::spawn_with(b, move |c, _| {
        c.jwks = Some(path.display().to_string());
        // Re-read on every unknown kid (the interval is tested on a key URL).
        c.jwks_reread = Some(std::time::Duration::ZERO);
        c.jwt_secret = None;
    })
    .await;

    let data = app
        .query(&eddsa(&claims(), &pem1, "2026-01"), Q, json!({}))
        .await;
    assert_eq!(data["regions"], json!([{ "code": "klatovy" }]));
    assert_401(&app, "unknown kid", &eddsa(&claims(), &pem2, "2026-02")).await;
    assert_401(
        &app,
        "right kid, wrong key",
        &eddsa(&claims(), &pem2, "2026-01"),
    )
    .await;
    assert_401(
        &app,
        "no secret: HMAC refused",
        &hs256(&claims(), b"shared-shared-shared-shared-shared"),
    )
    .await;
    let mut oct_header = Header::new(Algorithm::HS256);
    oct_header.kid = Some("oct".into());
    let oct_token = encode(
        &oct_header,
        &claims(),
        &EncodingKey::from_secret(b"shared-shared-shared-shared-shared"),
    )
    .expect("encode");
    assert_401(&app, "symmetric key of the set", &oct_token).await;
    let public_as_secret = {
        let x = URL_SAFE_NO_PAD.decode(app_jwk_x(&jwks)).expect("x");
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("2026-01".into());
        encode(&h, &claims(), &EncodingKey::from_secret(&x)).expect("encode")
    };
    assert_401(&app, "HS256 signed with the public key", &public_as_secret).await;

    // Rotation: a new key in the file is found on its first unknown kid.
    std::fs::write(&jwks, json!({ "keys": [jwk2] }).to_string()).expect("write");
    let data = app
        .query(&eddsa(&claims(), &pem2, "2026-02"), Q, json!({}))
        .await;
    assert_eq!(data["me"]["subject"], "t");
    app.stop().await;
}

fn app_jwk_x(jwks: &Path) -> String {
    let set: Value =
        serde_json::from_str(&std::fs::read_to_string(jwks).expect("read")).expect("json");
    set["keys"][0]["x"].as_str().expect("x").to_owned()
}

crate::on_both_databases!(
    untrusted_tokens_are_401,
    asymmetric_tokens_verify_by_kid_and_keys_rotate
);

/// With a secret as well, the same server takes both kinds of token.
#[tokio::test]
async fn secret_and_key_set_work_side_by_side() {
    let keys = tempfile::tempdir().expect("dir");
    let (pem, jwk) = ed25519_key(keys.path(), "k1");
    let jwks = keys.path().join("jwks.json");
    std::fs::write(&jwks, json!({ "keys": [jwk] }).to_string()).expect("write");
    let app = TestApp::spawn_with(Backend::Sqlite, move |c, _| {
        c.jwks = Some(jwks.display().to_string())
    })
    .await;
    app.query(&eddsa(&claims(), &pem, "k1"), Q, json!({})).await;
    app.query(&hs256(&claims(), SECRET.as_bytes()), Q, json!({}))
        .await;
    app.stop().await;
}

/// An identity provider's key endpoint for the tests: serves the set it is
/// given (or 503 while it has none) and counts the fetches.
struct KeyServer {
    url: String,
    state: std::sync::Arc<std::sync::Mutex<(Option<Value>, usize)>>,
    task: tokio::task::JoinHandle<()>,
}

impl KeyServer {
    async fn start(set: Value) -> Self {
        use axum::extract::State;
        type Shared = std::sync::Arc<std::sync::Mutex<(Option<Value>, usize)>>;
        let state: Shared = std::sync::Arc::new(std::sync::Mutex::new((Some(set), 0)));
        let app = axum::Router::new()
            .route(
                "/.well-known/jwks.json",
                axum::routing::get(|State(s): State<Shared>| async move {
                    use axum::response::IntoResponse;
                    let mut s = s.lock().expect("lock");
                    s.1 += 1;
                    match &s.0 {
                        Some(set) => axum::Json(set.clone()).into_response(),
                        None => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    }
                }),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().expect("addr")
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("key server");
        });
        Self { url, state, task }
    }

    fn serve(&self, set: Option<Value>) {
        self.state.lock().expect("lock").0 = set;
    }

    fn fetches(&self) -> usize {
        self.state.lock().expect("lock").1
    }
}

async fn app_with_key_url(url: &str) -> TestApp {
    let url = url.to_owned();
    TestApp::spawn_with(Backend::Sqlite, move |c, _| {
        c.jwks = Some(url);
        c.jwt_secret = None;
    })
    .await
}

#[tokio::test]
async fn keys_from_a_url_follow_rotation_to_a_new_kid() {
    let keys = tempfile::tempdir().expect("dir");
    let (pem1, jwk1) = ed25519_key(keys.path(), "2026-01");
    let (pem2, jwk2) = ed25519_key(keys.path(), "2026-02");
    let (pem3, _) = ed25519_key(keys.path(), "2026-03");
    let idp = KeyServer::start(json!({ "keys": [jwk1] })).await;
    let app = app_with_key_url(&idp.url).await;
    assert_eq!(idp.fetches(), 1, "fetched once at start");
    app.query(&eddsa(&claims(), &pem1, "2026-01"), Q, json!({}))
        .await;

    // The provider rotates: the first token of the new kid fetches the set again.
    idp.serve(Some(json!({ "keys": [jwk2] })));
    let data = app
        .query(&eddsa(&claims(), &pem2, "2026-02"), Q, json!({}))
        .await;
    assert_eq!(data["me"]["subject"], "t");
    assert_eq!(idp.fetches(), 2);
    assert_401(&app, "rotated-out key", &eddsa(&claims(), &pem1, "2026-01")).await;

    // Another unknown kid within 30 s does not reach the provider.
    assert_401(&app, "unknown kid", &eddsa(&claims(), &pem3, "2026-03")).await;
    assert_401(
        &app,
        "unknown kid again",
        &eddsa(&claims(), &pem3, "2026-03"),
    )
    .await;
    assert_eq!(idp.fetches(), 2, "at most one fetch per 30 s");
    app.stop().await;
    idp.task.abort();
}

#[tokio::test]
async fn an_outage_of_the_key_server_keeps_the_known_keys() {
    let keys = tempfile::tempdir().expect("dir");
    let (pem1, jwk1) = ed25519_key(keys.path(), "k1");
    let (pem2, _) = ed25519_key(keys.path(), "k2");
    let idp = KeyServer::start(json!({ "keys": [jwk1] })).await;
    let app = app_with_key_url(&idp.url).await;

    idp.serve(None);
    // An unknown kid makes the service fetch; the provider answers 503.
    assert_401(
        &app,
        "unknown kid in an outage",
        &eddsa(&claims(), &pem2, "k2"),
    )
    .await;
    assert_eq!(idp.fetches(), 2, "the fetch was tried");
    app.query(&eddsa(&claims(), &pem1, "k1"), Q, json!({}))
        .await;

    // The provider is gone altogether: known keys still verify.
    idp.task.abort();
    let _ = idp.task.await;
    app.query(&eddsa(&claims(), &pem1, "k1"), Q, json!({}))
        .await;
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_key_url_is_an_error_at_start() {
    let (mut config, _dir) = crate::support::fresh_config(Backend::Sqlite).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    config.jwks = Some(format!("http://{closed}/jwks.json"));
    let db = kpss::prepare_database(&config).await.expect("database");
    let e = kpss::start(&config, db).await.err().expect("refused");
    assert!(e.to_string().contains("jwks.json"), "{e}");
}
