//! JWT authentication per `shared/contract/auth.md`: HS256/384/512 with the
//! configured secret, RS/PS/ES/EdDSA with the keys of a JWK set chosen by
//! `kid`; claims become the caller's [`Ctx`].

use crate::error::ApiError;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use kpss_domain::access::{Ctx, Role};
use kpss_domain::region::{KrajCode, RegionCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
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
/// An unknown `kid` re-reads the key set at most this often.
const JWKS_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub secret: Option<SecretString>,
    pub jwks: Option<Arc<Jwks>>,
}

/// A JWK set read from a file (`KPSS_JWKS`), keyed by `kid`, re-read when a
/// token names a `kid` it does not hold (key rotation).
pub struct Jwks {
    path: std::path::PathBuf,
    keys: Mutex<(HashMap<String, Jwk>, Option<Instant>)>,
}

impl Jwks {
    /// Reads the set once; a file that cannot be read or parsed is an error at start.
    pub fn load(path: impl Into<std::path::PathBuf>) -> Result<Self, String> {
        let path = path.into();
        let keys = read_jwks(&path)?;
        Ok(Self {
            path,
            keys: Mutex::new((keys, Some(Instant::now()))),
        })
    }

    fn key(&self, kid: &str) -> Option<Jwk> {
        let mut guard = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = guard.0.get(kid) {
            return Some(k.clone());
        }
        let due = guard.1.is_none_or(|t| t.elapsed() >= JWKS_RELOAD_INTERVAL);
        if due {
            guard.1 = Some(Instant::now());
            match read_jwks(&self.path) {
                Ok(keys) => guard.0 = keys,
                Err(e) => {
                    tracing::warn!(error = %e, "JWK set could not be re-read; keeping the old keys")
                }
            }
        }
        guard.0.get(kid).cloned()
    }
}

/// Asymmetric keys with a `kid`; symmetric (`oct`) keys are never taken from a key set.
fn read_jwks(path: &std::path::Path) -> Result<HashMap<String, Jwk>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JWK set: {e}", path.display()))?;
    Ok(set
        .keys
        .into_iter()
        .filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
        .filter_map(|k| k.common.key_id.clone().map(|kid| (kid, k)))
        .collect())
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
        f.debug_struct("Jwks")
            .field("path", &self.path)
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

/// The claims of a KPSS token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub iat: Option<u64>,
    pub iss: String,
    pub aud: Audience,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kraje: Option<Vec<String>>,
}

/// `aud` is a string or an array of strings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

fn unauthenticated(msg: impl Into<String>) -> ApiError {
    ApiError::Unauthenticated(msg.into())
}

impl AuthConfig {
    /// Verifies a bearer token and returns the caller's scope.
    pub fn verify(&self, token: &str) -> Result<Ctx, ApiError> {
        self.verify_until(token).map(|(ctx, _)| ctx)
    }

    /// Verifies a token; returns the caller's scope and when the token expires
    /// (seconds since the epoch), for connections that outlive a request.
    pub fn verify_until(&self, token: &str) -> Result<(Ctx, u64), ApiError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(unauthenticated("the token is larger than 8 KiB"));
        }
        // `alg: none` and unknown algorithms fail here already.
        let header =
            decode_header(token).map_err(|_| unauthenticated("the token is not a valid JWT"))?;
        let key = if HMAC.contains(&header.alg) {
            // Only ever the configured secret: never a public key read as an HMAC secret.
            let secret = self
                .secret
                .as_ref()
                .ok_or_else(|| unauthenticated("HMAC tokens are not accepted by this server"))?;
            DecodingKey::from_secret(secret.expose_secret().as_bytes())
        } else if ASYMMETRIC.contains(&header.alg) {
            let jwks = self
                .jwks
                .as_ref()
                .ok_or_else(|| unauthenticated("this server accepts no asymmetric tokens"))?;
            let kid = header
                .kid
                .as_deref()
                .ok_or_else(|| unauthenticated("the token names no `kid`"))?;
            let jwk = jwks
                .key(kid)
                .ok_or_else(|| unauthenticated("the token's `kid` is not a known key"))?;
            if !key_fits(&jwk, header.alg) {
                return Err(unauthenticated(
                    "the token's algorithm does not fit its key",
                ));
            }
            DecodingKey::from_jwk(&jwk)
                .map_err(|_| unauthenticated("the token's key is not usable"))?
        } else {
            return Err(unauthenticated("the token's algorithm is not accepted"));
        };
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Claims>(token, &key, &validation)
            .map_err(|e| unauthenticated(format!("the token is not valid: {}", reason(&e))))?;
        let exp = data.claims.exp;
        Ok((claims_to_ctx(data.claims)?, exp))
    }
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

fn claims_to_ctx(c: Claims) -> Result<Ctx, ApiError> {
    let role = c
        .role
        .parse::<Role>()
        .map_err(|_| unauthenticated(format!("unknown role `{}`", c.role)))?;
    if c.sub.trim().is_empty() {
        return Err(unauthenticated("the token's `sub` is empty"));
    }
    let mut all = false;
    let mut regions = BTreeSet::new();
    for r in c.regions.unwrap_or_default() {
        if r == "*" {
            all = true;
        } else {
            regions
                .insert(RegionCode::parse("regions", &r).map_err(|e| unauthenticated(e.message))?);
        }
    }
    let kraje = c
        .kraje
        .unwrap_or_default()
        .iter()
        .map(|k| KrajCode::parse("kraje", k).map_err(|e| unauthenticated(e.message)))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(Ctx::from_claims(c.sub, role, regions, all, kraje))
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

    #[test]
    fn issued_tokens_verify_with_their_scope() {
        let ctx = config()
            .verify(&token(&["klatovy"], &["CZ072"], Role::Editor))
            .unwrap();
        assert_eq!(ctx.role, Role::Editor);
        assert_eq!(ctx.read.regions.len(), 1);
        assert_eq!(ctx.read.kraje.len(), 1);
        assert!(ctx.write.kraje.is_empty());
    }

    #[test]
    fn star_means_every_region() {
        assert!(
            config()
                .verify(&token(&["*"], &[], Role::Viewer))
                .unwrap()
                .read
                .all
        );
    }

    #[test]
    fn malformed_region_claims_are_rejected() {
        assert!(
            config()
                .verify(&token(&["Klatovy"], &[], Role::Viewer))
                .is_err()
        );
        assert!(
            config()
                .verify(&token(&[], &["cz032"], Role::Viewer))
                .is_err()
        );
    }

    #[test]
    fn a_server_without_secret_rejects_hmac_tokens() {
        let t = token(&["klatovy"], &[], Role::Viewer);
        let no_secret = AuthConfig {
            secret: None,
            ..config()
        };
        assert!(no_secret.verify(&t).is_err());
    }
}
