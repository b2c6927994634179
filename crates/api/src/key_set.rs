//! JWK sets fetched over HTTP, for `KPSS_JWKS` and an OpenID provider alike:
//! where they may come from, how they are read, and how long they keep.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// Largest key set (or discovery document) accepted from a URL.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Whether a URL's host is a loopback address (or `localhost`).
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    url.host_str().is_some_and(|h| {
        h.eq_ignore_ascii_case("localhost")
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// The body of a JSON document at `url`, and how long it may be kept
/// (`Cache-Control: max-age`), when its server says.
pub(crate) async fn fetch(
    url: &reqwest::Url,
    client: &reqwest::Client,
) -> Result<(String, Option<Duration>), String> {
    let fail = |e: String| format!("{url}: {e}");
    let mut res = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !res.status().is_success() {
        return Err(fail(format!("HTTP {}", res.status())));
    }
    let max_age = max_age(res.headers());
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| fail(e.to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_JWKS_BYTES {
            return Err(fail("the key set is larger than 1 MiB".into()));
        }
    }
    let text = String::from_utf8(body).map_err(|_| fail("the document is not UTF-8".into()))?;
    Ok((text, max_age))
}

/// `Cache-Control: max-age=N` of a response, when given (`no-store` and
/// `no-cache` count as 0).
pub(crate) fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    value.split(',').map(str::trim).find_map(|d| {
        let d = d.to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            Some(Duration::ZERO)
        } else {
            d.strip_prefix("max-age=")?
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs)
        }
    })
}

/// Asymmetric keys with a `kid`; symmetric (`oct`) keys are never taken from
/// a key set. Keys are read one by one: a key this service cannot use (an
/// unknown type or curve, an encryption key) is skipped, the others count.
pub(crate) fn parse_jwks(text: &str) -> Result<HashMap<String, Jwk>, String> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_str(text).map_err(|e| format!("not a JWK set: {e}"))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|k| match serde_json::from_value::<Jwk>(k) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(error = %e, "a key of the JWK set cannot be used; skipped");
                None
            }
        })
        .filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
        .filter_map(|k| k.common.key_id.clone().map(|kid| (kid, k)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::max_age;
    use std::time::Duration;

    #[test]
    fn cache_control_sets_the_keys_lifetime() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert("cache-control", "public, max-age=300".parse().unwrap());
        assert_eq!(max_age(&h), Some(Duration::from_secs(300)));
        h.insert("cache-control", "no-store".parse().unwrap());
        assert_eq!(max_age(&h), Some(Duration::ZERO));
    }
}
