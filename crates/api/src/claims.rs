//! The claims of a KPSS token, and the caller's scope they give.

use crate::error::ApiError;
use kpss_domain::access::{Ctx, Role};
use kpss_domain::region::{KrajCode, RegionCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

/// The scope of a verified token's KPSS claims.
pub(crate) fn claims_to_ctx(c: Claims) -> Result<Ctx, ApiError> {
    let role = c
        .role
        .parse::<Role>()
        .map_err(|_| ApiError::unauthenticated(format!("unknown role `{}`", c.role)))?;
    if c.sub.trim().is_empty() {
        return Err(ApiError::unauthenticated("the token's `sub` is empty"));
    }
    let mut all = false;
    let mut regions = BTreeSet::new();
    for r in c.regions.unwrap_or_default() {
        if r == "*" {
            all = true;
        } else {
            regions.insert(
                RegionCode::parse("regions", &r)
                    .map_err(|e| ApiError::unauthenticated(e.message()))?,
            );
        }
    }
    let kraje = c
        .kraje
        .unwrap_or_default()
        .iter()
        .map(|k| KrajCode::parse("kraje", k).map_err(|e| ApiError::unauthenticated(e.message())))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(Ctx::from_claims(c.sub, role, regions, all, kraje))
}
