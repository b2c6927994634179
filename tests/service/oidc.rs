//! Sign-in with an OpenID provider (`KPSS_OIDC_ISSUER`), against a real
//! one on loopback (`support::oidc`): its tokens verify with the keys its
//! discovery names, under its own issuer; tokens of another issuer, another
//! audience, expired ones and ones without KPSS claims are refused or see
//! nothing; keys rotate; a provider that is down does not stop the start.

use crate::support::oidc::{API, OTHER_API, Provider, key};
use crate::support::{Backend, SECRET, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ME: &str = "{ me { subject role regions { code } writableRegions { code } } }";

/// The service verifying `issuer`'s tokens, and nothing else unless `change` says.
async fn service(b: Backend, issuer: &str, change: impl FnOnce(&mut kpss::Config)) -> TestApp {
    let issuer = issuer.to_owned();
    TestApp::spawn_with(b, move |c, _| {
        c.oidc_issuer = Some(issuer);
        c.jwt_secret = None;
        change(c);
    })
    .await
}

/// A token signed here with one of the provider's own keys.
fn signed(pem: &Path, alg: Algorithm, claims: &Value) -> String {
    let pem_bytes = std::fs::read(pem).expect("pem");
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem_bytes),
        _ => EncodingKey::from_rsa_pem(&pem_bytes),
    }
    .expect("key");
    let mut header = Header::new(alg);
    header.kid = pem.file_stem().map(|s| s.to_string_lossy().into_owned());
    encode(&header, claims, &key).expect("encode")
}

fn claims(issuer: &str) -> Value {
    json!({ "sub": "forged", "exp": get_current_timestamp() + 600, "iss": issuer, "aud": "kpss-api", "role": "viewer", "regions": ["klatovy"] })
}

/// HTTP status, error code and message of `me` with `token`.
async fn refusal(app: &TestApp, token: &str) -> (u16, String, String) {
    let (status, body) = app
        .post(Some(&format!("Bearer {token}")), ME, json!({}))
        .await;
    let e = &body["errors"][0];
    (
        status,
        e["extensions"]["code"].as_str().unwrap_or("").to_owned(),
        e["message"].as_str().unwrap_or("").to_owned(),
    )
}

async fn assert_refused(app: &TestApp, name: &str, token: &str) {
    let (status, code, message) = refusal(app, token).await;
    assert_eq!(
        (status, code.as_str()),
        (401, "UNAUTHENTICATED"),
        "{name}: {message}"
    );
}

fn codes(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|r| r["code"].as_str().expect("code"))
        .collect()
}

fn keys(dir: &Path, names: &[(&str, &str)]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|(kind, kid)| key(dir, kind, kid))
        .collect()
}

async fn provider_tokens_verify_under_its_issuer(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let k = keys(dir.path(), &[("rsa", "rs-1"), ("ec", "ec-1")]);
    let mut provider = Provider::start(&k, 0, &[]).await;
    // Only KPSS_OIDC_ISSUER: no secret, no key set.
    let app = service(b, &provider.issuer, |_| {}).await;

    // RS256 (the first key) and ES256 tokens of the scripts' clients.
    let rs = provider.client_token("kpss-script", API).await;
    let me = app.query(&rs, ME, json!({})).await;
    assert_eq!(me["me"]["subject"], "kpss-script");
    assert_eq!(
        codes(&me["me"]["regions"]),
        ["chomutov", "karlovy-vary", "klatovy", "kromeriz"]
    );
    let es = provider.client_token("kpss-script-es256", API).await;
    let me = app.query(&es, ME, json!({})).await;
    assert_eq!(codes(&me["me"]["regions"]), ["klatovy"]);
    assert_eq!(me["me"]["writableRegions"], json!([]));

    // Another audience; no KPSS claims (the default mapping needs `role`).
    let other = provider.client_token("kpss-script", OTHER_API).await;
    assert_refused(&app, "another audience", &other).await;
    let unmapped = provider.client_token("kpss-script-unmapped", API).await;
    assert_refused(&app, "no KPSS claims", &unmapped).await;

    // Expired, and the provider's key under other issuers (the service's own
    // `KPSS_JWT_ISSUER` included: that issuer is for the secret and KPSS_JWKS).
    let expired = json!(get_current_timestamp() - 120);
    let mut old = claims(&provider.issuer);
    old["exp"] = expired;
    assert_refused(&app, "expired", &signed(&k[0], Algorithm::RS256, &old)).await;
    let ok = signed(&k[1], Algorithm::ES256, &claims(&provider.issuer));
    assert_eq!(
        codes(&app.query(&ok, ME, json!({})).await["me"]["regions"]),
        ["klatovy"]
    );
    for iss in [
        "kpss",
        "http://127.0.0.1:1",
        &format!("{}/", provider.issuer),
    ] {
        let t = signed(&k[0], Algorithm::RS256, &claims(iss));
        assert_refused(&app, &format!("issuer {iss}"), &t).await;
    }
    // No secret configured: HMAC tokens are refused.
    let mut hmac = claims("kpss");
    hmac["role"] = json!("admin");
    let hmac = encode(
        &Header::new(Algorithm::HS256),
        &hmac,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode");
    assert_refused(&app, "HMAC", &hmac).await;

    // A second provider: its own issuer and keys.
    let dir2 = tempfile::tempdir().expect("dir");
    let mut another = Provider::start(&keys(dir2.path(), &[("rsa", "rs-1")]), 0, &[]).await;
    let foreign = another.client_token("kpss-script", API).await;
    assert_refused(&app, "another provider", &foreign).await;
    another.stop().await;
    provider.stop().await;
    app.stop().await;
}

on_both_databases!(provider_tokens_verify_under_its_issuer);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_tokens_keep_working_beside_the_provider() {
    let dir = tempfile::tempdir().expect("dir");
    let k = keys(dir.path(), &[("rsa", "rs-1"), ("ec", "ec-1")]);
    let mut provider = Provider::start(&k, 0, &[]).await;
    let app = service(Backend::Sqlite, &provider.issuer, |c| {
        c.jwt_secret = Some(SECRET.to_owned().into());
    })
    .await;
    let hmac = app.token(Role::Viewer, &["kromeriz"], &[]);
    assert_eq!(
        codes(&app.query(&hmac, ME, json!({})).await["me"]["regions"]),
        ["kromeriz"]
    );
    let rs = provider.client_token("kpss-script-es256", API).await;
    assert_eq!(
        codes(&app.query(&rs, ME, json!({})).await["me"]["regions"]),
        ["klatovy"]
    );
    provider.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_map_to_regions_and_roles() {
    let dir = tempfile::tempdir().expect("dir");
    let k = keys(dir.path(), &[("rsa", "rs-1")]);
    let mut provider = Provider::start(&k, 0, &[]).await;
    let app = service(Backend::Sqlite, &provider.issuer, |c| {
        c.oidc_groups_claim = Some("groups".into());
    })
    .await;
    // `/kpss/klatovy/editor`, `/kpss/CZ072/viewer`, and an entry naming no region.
    let grouped = provider.client_token("kpss-script-groups", API).await;
    let me = app.query(&grouped, ME, json!({})).await;
    assert_eq!(me["me"]["role"], "EDITOR");
    assert_eq!(codes(&me["me"]["regions"]), ["klatovy", "kromeriz"]);
    assert_eq!(codes(&me["me"]["writableRegions"]), ["klatovy"]);
    // No KPSS group: valid, and reads nothing (never "all").
    let unmapped = provider.client_token("kpss-script-unmapped", API).await;
    let me = app.query(&unmapped, ME, json!({})).await;
    assert_eq!(me["me"]["regions"], json!([]));
    assert_eq!(me["me"]["writableRegions"], json!([]));
    let plans = app
        .query(&unmapped, "{ plans { totalCount } }", json!({}))
        .await;
    assert_eq!(plans["plans"]["totalCount"], 0);
    provider.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_down_at_start_is_waited_for() {
    let dir = tempfile::tempdir().expect("dir");
    let k = keys(dir.path(), &[("rsa", "rs-1")]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    // Nothing listens there yet: the service starts all the same.
    let app = service(Backend::Sqlite, &issuer, |_| {}).await;
    let token = signed(&k[0], Algorithm::RS256, &claims(&issuer));
    let (status, code, message) = refusal(&app, &token).await;
    assert_eq!((status, code.as_str()), (401, "UNAUTHENTICATED"));
    assert!(message.contains("not yet available"), "{message}");

    let mut provider = Provider::start(&k, port, &[]).await;
    let up = Instant::now();
    loop {
        let (status, _) = app
            .post(Some(&format!("Bearer {token}")), ME, json!({}))
            .await;
        if status == 200 {
            break;
        }
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "tokens still refused 30 s after the provider came up"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Down again: known keys are kept; a new key cannot be fetched.
    provider.stop().await;
    assert_eq!(
        app.query(&token, ME, json!({})).await["me"]["subject"],
        "forged"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_work_at_once_and_removed_keys_stop_within_the_refresh() {
    let dir = tempfile::tempdir().expect("dir");
    let first = keys(dir.path(), &[("rsa", "rs-1"), ("ec", "ec-1")]);
    let mut provider = Provider::start(&first, 0, &[]).await;
    let refresh = Duration::from_secs(5);
    let app = service(Backend::Sqlite, &provider.issuer, |c| {
        c.oidc_refresh = refresh
    })
    .await;
    let old = provider.client_token("kpss-script", API).await;
    app.query(&old, ME, json!({})).await;

    // A new first key; the old one is gone.
    let second = vec![key(dir.path(), "rsa", "rs-2"), first[1].clone()];
    provider.restart(&second).await;
    let rotated = Instant::now();
    let new = provider.client_token("kpss-script", API).await;
    // An unknown kid fetches the keys again (after at most 5 s since the last fetch).
    let mut new_works = None;
    let mut old_refused = None;
    while new_works.is_none() || old_refused.is_none() {
        if new_works.is_none() && refusal(&app, &new).await.0 == 200 {
            new_works = Some(rotated.elapsed());
        }
        if old_refused.is_none() && refusal(&app, &old).await.0 == 401 {
            old_refused = Some(rotated.elapsed());
        }
        assert!(
            rotated.elapsed() < refresh * 3,
            "after {:?}: new key works {new_works:?}, old refused {old_refused:?}",
            rotated.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let new_works = new_works.expect("set");
    assert!(new_works <= Duration::from_secs(6), "{new_works:?}");
    // Within the refresh period, and a margin for the fetch itself.
    let old_refused = old_refused.expect("set");
    assert!(
        old_refused <= refresh + Duration::from_secs(2),
        "old key refused after {old_refused:?}, new key worked after {new_works:?}"
    );
    provider.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_json_tells_the_pages_how_to_sign_in() {
    let issuer = "http://127.0.0.1:9";
    let mut app = service(Backend::Sqlite, issuer, |c| {
        c.oidc_client_id = Some("kpss-pages".into());
    })
    .await;
    let config = |app: &TestApp| {
        let url = format!("{}/config.json", app.base);
        let http = app.http().clone();
        async move {
            let res = http.get(url).send().await.expect("sent");
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.expect("JSON")
        }
    };
    assert_eq!(
        config(&app).await,
        json!({ "issuer": issuer, "clientId": "kpss-pages", "scope": "openid", "pasteToken": true })
    );
    // Production: the provider only, no field to paste a token into.
    app.restart_with(|c| c.environment = kpss::Environment::Production)
        .await;
    assert_eq!(config(&app).await["pasteToken"], false);
    // Without a provider the pages keep the paste field, or none could sign in.
    app.restart_with(|c| {
        c.oidc_issuer = None;
        c.jwt_secret = Some(SECRET.to_owned().into());
    })
    .await;
    let plain = config(&app).await;
    assert_eq!(plain["issuer"], Value::Null);
    assert_eq!(plain["pasteToken"], true);
    app.stop().await;
}
