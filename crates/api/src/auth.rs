//! JWT authentication per `shared/contract/auth.md`: HS256/384/512 with the
//! configured secret, RS/PS/ES/EdDSA with the keys of a JWK set chosen by
//! `kid`; and an OpenID provider's tokens with its discovered keys
//! ([`crate::oidc`]). The token's `iss` picks the key source, and each source
//! has its own issuer: the provider's for its keys, `KPSS_JWT_ISSUER` for the
//! secret and `KPSS_JWKS`. Claims become the caller's [`Ctx`].

use crate::claims::{Audience, Claims};
use crate::error::ApiError;
use crate::key_set::{fetch, is_loopback, parse_jwks};
use crate::oidc::{ClaimMapping, Oidc};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use kpss_domain::access::{Ctx, Role};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Tokens over this size are rejected before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock leeway for `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 60;
/// HMAC secrets shorter than this are refused at start.
pub const MIN_SECRET_BYTES: usize = 32;

const HMAC: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
/// Asymmetric algorithms accepted with keys of the JWK set.
const ASYMMETRIC: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// An unknown `kid` re-reads a key set file at most this often.
const JWKS_FILE_REREAD_INTERVAL: Duration = Duration::from_secs(10);
/// An unknown `kid` re-fetches a key set URL at most this often (the identity provider's load).
const JWKS_URL_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Longest a key set fetch may take.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub secret: Option<SecretString>,
    pub jwks: Option<Arc<Jwks>>,
    /// The OpenID provider (`KPSS_OIDC_ISSUER`), when configured.
    pub oidc: Option<Arc<Oidc>>,
    pub verified: Verified,
}

/// Tokens verified in the last minute, by their SHA-256: a client that
/// sends its token with every request has its signature checked and its
/// claims read once a minute. An entry serves only while its token has not
/// expired and the key that verified it is still the token's key (a key
/// removed from its set ends it).
#[derive(Clone)]
pub struct Verified(moka::sync::Cache<[u8; 32], Arc<Seen>>);

struct Seen {
    ctx: Ctx,
    exp: u64,
    /// The key that verified it; none for the configured secret.
    jwk: Option<Jwk>,
}

impl Default for Verified {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        )
    }
}

/// A JWK set (`KPSS_JWKS`) from a file or a URL, keyed by `kid`, read again
/// when a token names a `kid` it does not hold (key rotation). A read that
/// fails keeps the keys of the last good one.
pub struct Jwks {
    source: Source,
    /// Shortest time between two re-reads on an unknown `kid`.
    reread_interval: Duration,
    keys: Mutex<Keys>,
    /// One re-read at a time; tokens of known keys never wait for it.
    reread: futures_util::lock::Mutex<()>,
}

enum Source {
    File(std::path::PathBuf),
    Url(reqwest::Url, reqwest::Client),
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Jwk>,
    /// The last re-read on an unknown `kid` (the read at start does not count).
    last_reread: Option<Instant>,
}

impl Jwks {
    /// `https://...` (or `http://` on a loopback address, for tests), or a path,
    /// re-read on an unknown `kid` at most every `reread_interval` (default:
    /// 10 s for a file, 30 s for a URL). Nothing is read yet: [`Jwks::load`]
    /// does that at start.
    pub fn from_source(source: &str, reread_interval: Option<Duration>) -> Result<Self, String> {
        let lower = source.to_ascii_lowercase();
        let source = if lower.starts_with("https://") || lower.starts_with("http://") {
            let url = reqwest::Url::parse(source)
                .map_err(|e| format!("KPSS_JWKS `{source}` is not a URL: {e}"))?;
            if url.scheme() != "https" && !is_loopback(&url) {
                return Err(format!(
                    "KPSS_JWKS `{source}`: keys are fetched over https (http only from a loopback address)"
                ));
            }
            let client = reqwest::Client::builder()
                .timeout(JWKS_FETCH_TIMEOUT)
                // A redirect could lead from https to http.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("KPSS_JWKS: no HTTP client: {e}"))?;
            Source::Url(url, client)
        } else {
            Source::File(source.into())
        };
        let reread_interval = reread_interval.unwrap_or(match source {
            Source::File(_) => JWKS_FILE_REREAD_INTERVAL,
            Source::Url(..) => JWKS_URL_REFETCH_INTERVAL,
        });
        Ok(Self {
            source,
            reread_interval,
            keys: Mutex::default(),
            reread: futures_util::lock::Mutex::new(()),
        })
    }

    /// Reads the set at start; a source that cannot be read or parsed is an error then.
    pub async fn load(&self) -> Result<(), String> {
        let keys = self.read().await?;
        self.lock().by_kid = keys;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn key(&self, kid: &str) -> Option<Jwk> {
        if let Some(k) = self.lock().by_kid.get(kid) {
            return Some(k.clone());
        }
        let _one_at_a_time = self.reread.lock().await;
        {
            let mut keys = self.lock();
            // Another request may have re-read the set while this one waited.
            if let Some(k) = keys.by_kid.get(kid) {
                return Some(k.clone());
            }
            if keys
                .last_reread
                .is_some_and(|t| t.elapsed() < self.reread_interval)
            {
                return None;
            }
            keys.last_reread = Some(Instant::now());
        }
        match self.read().await {
            Ok(fresh) => self.lock().by_kid = fresh,
            Err(e) => {
                tracing::warn!(error = %e, "JWK set could not be re-read; keeping the old keys")
            }
        }
        self.lock().by_kid.get(kid).cloned()
    }

    async fn read(&self) -> Result<HashMap<String, Jwk>, String> {
        let (name, text) = match &self.source {
            Source::File(path) => (
                path.display().to_string(),
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            Source::Url(url, client) => (url.to_string(), fetch(url, client).await?.0),
        };
        parse_jwks(&text).map_err(|e| format!("{name}: {e}"))
    }
}

/// Whether a JWK may verify `alg`: its key type fits, and its own `alg`, when given, is `alg`.
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let family_fits = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => false,
    };
    let declared = jwk.common.key_algorithm.map(|a| format!("{a:?}"));
    family_fits && declared.is_none_or(|d| d == format!("{alg:?}"))
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::File(path) => path.display().to_string(),
            Source::Url(url, _) => url.to_string(),
        };
        f.debug_struct("Jwks")
            .field("source", &source)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// Verifies a bearer token and returns the caller's scope.
    pub async fn verify(&self, token: &str) -> Result<Ctx, ApiError> {
        self.verify_until(token).await.map(|(ctx, _)| ctx)
    }

    /// Verifies a token; returns the caller's scope and when the token expires
    /// (seconds since the epoch), for connections that outlive a request.
    pub async fn verify_until(&self, token: &str) -> Result<(Ctx, u64), ApiError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::unauthenticated("the token is larger than 8 KiB"));
        }
        // `alg: none` and unknown algorithms fail here already.
        let header = decode_header(token)
            .map_err(|_| ApiError::unauthenticated("the token is not a valid JWT"))?;
        // Whose token it is decides the key source and the issuer it must name.
        let from_provider = self.oidc.as_ref().filter(|o| {
            !HMAC.contains(&header.alg) && unverified_issuer(token).as_deref() == Some(&o.issuer)
        });
        let kid = || {
            header
                .kid
                .as_deref()
                .ok_or_else(|| ApiError::unauthenticated("the token names no `kid`"))
        };
        // The key that verifies it: a JWK, or (none) the configured secret.
        let jwk = if let Some(oidc) = from_provider {
            Some(oidc.key(kid()?).await?)
        } else if HMAC.contains(&header.alg) {
            None
        } else if ASYMMETRIC.contains(&header.alg) {
            let jwks = self.jwks.as_ref().ok_or_else(|| {
                ApiError::unauthenticated("this server accepts no asymmetric tokens")
            })?;
            let jwk = jwks
                .key(kid()?)
                .await
                .ok_or_else(|| ApiError::unauthenticated("the token's `kid` is not a known key"))?;
            Some(jwk)
        } else {
            return Err(ApiError::unauthenticated(
                "the token's algorithm is not accepted",
            ));
        };
        let digest: [u8; 32] = Sha256::digest(token).into();
        if let Some(seen) = self.verified.0.get(&digest) {
            if seen.jwk == jwk && unix_now() <= seen.exp.saturating_add(LEEWAY_SECS) {
                return Ok((seen.ctx.clone(), seen.exp));
            }
            self.verified.0.invalidate(&digest);
        }
        let key = match &jwk {
            Some(jwk) => usable(jwk, header.alg)?,
            // Only ever the configured secret: never a public key read as an HMAC secret.
            None => {
                let secret = self.secret.as_ref().ok_or_else(|| {
                    ApiError::unauthenticated("HMAC tokens are not accepted by this server")
                })?;
                DecodingKey::from_secret(secret.expose_secret().as_bytes())
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let issuer = from_provider.map_or(&self.issuer, |o| &o.issuer);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<serde_json::Value>(token, &key, &validation).map_err(|e| {
            ApiError::unauthenticated(format!("the token is not valid: {}", reason(&e)))
        })?;
        let exp = data.claims["exp"]
            .as_u64()
            .ok_or_else(|| ApiError::unauthenticated("the token's `exp` is not a number"))?;
        let mapping = from_provider.map_or(&ClaimMapping::Kpss, |o| &o.mapping);
        let ctx = mapping.scope(data.claims)?;
        if let Some(oidc) = from_provider {
            oidc.log_unknown_regions(&ctx);
        }
        let seen = Seen {
            ctx: ctx.clone(),
            exp,
            jwk,
        };
        self.verified.0.insert(digest, Arc::new(seen));
        Ok((ctx, exp))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `iss` a token claims, before anything is verified: it only picks
/// the key source, whose own check follows.
fn unverified_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    jsonwebtoken::dangerous::insecure_decode::<Iss>(token)
        .ok()?
        .claims
        .iss
}

/// The decoding key of a JWK for `alg`, when the key fits it.
fn usable(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, ApiError> {
    if !key_fits(jwk, alg) {
        return Err(ApiError::unauthenticated(
            "the token's algorithm does not fit its key",
        ));
    }
    DecodingKey::from_jwk(jwk)
        .map_err(|_| ApiError::unauthenticated("the token's key is not usable"))
}

fn reason(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind::*;
    match e.kind() {
        ExpiredSignature => "it has expired",
        ImmatureSignature => "it is not valid yet",
        InvalidIssuer => "wrong issuer",
        InvalidAudience => "wrong audience",
        InvalidSignature => "wrong signature",
        MissingRequiredClaim(_) => "a required claim is missing",
        _ => "malformed",
    }
}

/// What `kpss token` and the start-up banner sign.
pub struct TokenRequest<'a> {
    pub subject: &'a str,
    pub role: Role,
    pub regions: &'a [String],
    pub kraje: &'a [String],
    pub ttl_secs: u64,
}

impl AuthConfig {
    /// Signs a token with the configured secret (HS256).
    pub fn issue(&self, req: &TokenRequest<'_>) -> Result<String, String> {
        let secret = self
            .secret
            .as_ref()
            .ok_or("no KPSS_JWT_SECRET is configured to sign tokens with")?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: req.subject.to_owned(),
            exp: now + req.ttl_secs,
            nbf: None,
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            role: req.role.as_str().to_owned(),
            regions: (!req.regions.is_empty()).then(|| req.regions.to_vec()),
            kraje: (!req.kraje.is_empty()).then(|| req.kraje.to_vec()),
        };
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
        )
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            issuer: "kpss".into(),
            audience: "kpss-api".into(),
            secret: Some("0123456789abcdef0123456789abcdef".to_owned().into()),
            jwks: None,
            oidc: None,
            verified: Default::default(),
        }
    }

    fn token(regions: &[&str], kraje: &[&str], role: Role) -> String {
        let regions: Vec<String> = regions.iter().map(|s| s.to_string()).collect();
        let kraje: Vec<String> = kraje.iter().map(|s| s.to_string()).collect();
        config()
            .issue(&TokenRequest {
                subject: "t",
                role,
                regions: &regions,
                kraje: &kraje,
                ttl_secs: 60,
            })
            .unwrap()
    }

    #[tokio::test]
    async fn issued_tokens_verify_with_their_scope() {
        let ctx = config()
            .verify(&token(&["klatovy"], &["CZ072"], Role::Editor))
            .await
            .unwrap();
        assert_eq!(ctx.role, Role::Editor);
        assert_eq!(ctx.read.regions.len(), 1);
        assert_eq!(ctx.read.kraje.len(), 1);
        assert!(ctx.write.kraje.is_empty());
    }

    /// A token is decoded once; an entry kept for it serves only until the
    /// token expires (here one kept from when it was still valid).
    #[tokio::test]
    async fn a_verified_token_serves_from_memory_until_it_expires() {
        let auth = config();
        let t = token(&["klatovy"], &[], Role::Viewer);
        let first = auth.verify_until(&t).await.unwrap();
        assert_eq!(auth.verify_until(&t).await.unwrap(), first);

        let exp = unix_now() - LEEWAY_SECS - 1;
        let claims = serde_json::json!({ "sub": "t", "iss": "kpss", "aud": "kpss-api", "exp": exp,
            "role": "viewer", "regions": ["klatovy"] });
        let secret = "0123456789abcdef0123456789abcdef";
        let expired = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        let digest: [u8; 32] = Sha256::digest(&expired).into();
        let seen = Seen {
            ctx: first.0,
            exp,
            jwk: None,
        };
        auth.verified.0.insert(digest, Arc::new(seen));
        assert!(auth.verify_until(&expired).await.is_err());
        assert!(auth.verified.0.get(&digest).is_none());
    }

    #[tokio::test]
    async fn star_means_every_region() {
        assert!(
            config()
                .verify(&token(&["*"], &[], Role::Viewer))
                .await
                .unwrap()
                .read
                .all
        );
    }

    #[tokio::test]
    async fn malformed_region_claims_are_rejected() {
        assert!(
            config()
                .verify(&token(&["Klatovy"], &[], Role::Viewer))
                .await
                .is_err()
        );
        assert!(
            config()
                .verify(&token(&[], &["cz032"], Role::Viewer))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_server_without_secret_rejects_hmac_tokens() {
        let t = token(&["klatovy"], &[], Role::Viewer);
        let no_secret = AuthConfig {
            secret: None,
            ..config()
        };
        assert!(no_secret.verify(&t).await.is_err());
    }
}

#[cfg(test)]
mod jwks_source_tests {
    use super::Jwks;

    #[test]
    fn key_sets_come_over_https_or_from_loopback() {
        for ok in [
            "https://login.example.cz/.well-known/jwks.json",
            "http://127.0.0.1:8081/jwks.json",
            "http://localhost/jwks",
            "http://[::1]:9000/jwks",
            "/etc/kpss/jwks.json",
        ] {
            assert!(Jwks::from_source(ok, None).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.example.cz/jwks.json",
            "http://10.0.0.1/jwks",
            "https://",
        ] {
            assert!(Jwks::from_source(bad, None).is_err(), "{bad}");
        }
    }
}
