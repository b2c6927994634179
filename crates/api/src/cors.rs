//! CORS for browser frontends on other origins (tower-http's `CorsLayer`).
//! Tokens travel in the `Authorization` header, never in cookies, so
//! credentials are not allowed and a wildcard origin stays safe.

use axum::http::{HeaderName, HeaderValue, Method, header};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    /// No cross-origin calls (the default in production).
    None,
    /// `http://localhost` on any port (the default elsewhere, for development servers).
    Localhost,
    /// `*`: any origin.
    Any,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<HeaderValue>),
}

impl Origins {
    /// Parses `KPSS_CORS_ORIGINS`: comma-separated origins, or `*`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let items: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items == ["*"] {
            return Ok(Self::Any);
        }
        let mut origins = Vec::with_capacity(items.len());
        for item in items {
            if !is_origin(item) {
                return Err(format!(
                    "KPSS_CORS_ORIGINS: `{item}` is not an origin such as https://plany.example.cz (or `*` alone)"
                ));
            }
            origins.push(HeaderValue::from_str(item).map_err(|e| format!("`{item}`: {e}"))?);
        }
        Ok(if origins.is_empty() {
            Self::None
        } else {
            Self::List(origins)
        })
    }

    /// The layer answering preflights and marking allowed responses.
    pub fn layer(&self) -> CorsLayer {
        let allow = match self {
            Self::None => AllowOrigin::list([]),
            Self::Localhost => AllowOrigin::predicate(|origin, _| is_localhost(origin.as_bytes())),
            Self::Any => AllowOrigin::any(),
            Self::List(list) => AllowOrigin::list(list.clone()),
        };
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(PREFLIGHT_MAX_AGE)
            .expose_headers([
                HeaderName::from_static("retry-after"),
                header::CONTENT_DISPOSITION,
            ])
    }
}

/// `scheme://host[:port]` with nothing after it, as browsers send in `Origin`.
fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' ', '*'])
}

/// `http://localhost` or `http://localhost:PORT`.
fn is_localhost(origin: &[u8]) -> bool {
    match origin.strip_prefix(b"http://localhost") {
        Some([]) => true,
        Some([b':', port @ ..]) => !port.is_empty() && port.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_strictly() {
        assert_eq!(Origins::parse("").unwrap(), Origins::None);
        assert_eq!(Origins::parse(" * ").unwrap(), Origins::Any);
        assert!(matches!(
            Origins::parse("https://a.example.cz, http://localhost:5173").unwrap(),
            Origins::List(l) if l.len() == 2
        ));
        assert!(Origins::parse("https://a.example.cz/app").is_err());
        assert!(Origins::parse("a.example.cz").is_err());
        assert!(Origins::parse("*, https://a.example.cz").is_err());
    }

    #[test]
    fn localhost_means_any_port_of_http_localhost() {
        assert!(is_localhost(b"http://localhost"));
        assert!(is_localhost(b"http://localhost:5173"));
        assert!(!is_localhost(b"http://localhost.evil.example"));
        assert!(!is_localhost(b"http://localhost:"));
        assert!(!is_localhost(b"https://localhost:5173"));
    }
}
