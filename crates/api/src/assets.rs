//! The web pages the service serves itself: the dashboard at `/` and
//! GraphiQL at `GET /graphql`, with their files under `/assets/`. Every file
//! is embedded in the binary (no npm at build time, nothing from a CDN), and
//! each page's Content-Security-Policy lets it talk to this service only,
//! and to the configured identity provider's origin for signing in. The pages
//! learn how to sign in from `GET /config.json`.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// What the pages need to sign in (`GET /config.json`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageConfig {
    /// The OpenID provider's issuer, when sign-in is configured.
    pub issuer: Option<String>,
    /// The provider's public client of the pages.
    pub client_id: Option<String>,
    /// The scope the pages ask for (`openid` and whatever the provider needs
    /// for an access token of this API).
    pub scope: String,
    /// Whether the pages offer a field to paste a token into.
    pub paste_token: bool,
}

impl PageConfig {
    /// The provider's origin, `scheme://host[:port]`, for the CSP.
    fn provider_origin(&self) -> Option<String> {
        let url = reqwest::Url::parse(self.issuer.as_deref()?).ok()?;
        Some(url.origin().ascii_serialization()).filter(|o| o != "null")
    }

    /// A page's CSP: `template` with the provider's origin admitted where it
    /// says `{provider}` (for discovery, tokens and signing out).
    fn csp(&self, template: &str) -> HeaderValue {
        let origin = self
            .provider_origin()
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        HeaderValue::from_str(&template.replace(" {provider}", &origin))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
    }
}

pub struct Asset {
    /// Below `/assets/`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// Part of GraphiQL: served only while GraphiQL is on.
    pub graphiql: bool,
}

macro_rules! asset {
    ($path:literal, $type:expr, $graphiql:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../assets/", $path)),
            graphiql: $graphiql,
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file of `assets/` that a page loads (a test checks none is missing).
pub static ASSETS: &[Asset] = &[
    asset!("client.js", JS, false),
    asset!("favicon.svg", SVG, false),
    asset!("dashboard/index.html", HTML, false),
    asset!("dashboard/app.js", JS, false),
    asset!("dashboard/charts.js", JS, false),
    asset!("dashboard/app.css", CSS, false),
    asset!("graphiql/index.html", HTML, true),
    asset!("graphiql/setup.js", JS, true),
    asset!("graphiql/graphiql.css", CSS, true),
    asset!("vendor/graphiql.min.js", JS, true),
    asset!("vendor/graphiql.min.css", CSS, true),
    asset!("vendor/react.production.min.js", JS, true),
    asset!("vendor/react-dom.production.min.js", JS, true),
    asset!("vendor/oauth4webapi.js", JS, false),
    asset!("signin.js", JS, false),
];

/// The dashboard: scripts, styles and connections of this origin only.
const DASHBOARD_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self' {provider}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// GraphiQL sets inline styles and carries its fonts and icons as data URLs.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
    connect-src 'self' {provider}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn find(path: &str) -> Option<(usize, &'static Asset)> {
    ASSETS.iter().enumerate().find(|(_, a)| a.path == path)
}

/// Strong validators, one per asset, computed once.
fn etag(index: usize) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    &TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let hash = Sha256::digest(a.body);
                let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })[index]
}

/// An asset, or 304 when the client holds the same version.
fn serve(path: &str, request: &HeaderMap, csp: Option<HeaderValue>) -> Response {
    let Some((index, asset)) = find(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let tag = etag(index);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(tag));
    // Revalidated on every load, so a new release shows at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(csp) = csp {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// GET `/`: the dashboard.
pub fn dashboard(request: &HeaderMap, pages: &PageConfig) -> Response {
    serve(
        "dashboard/index.html",
        request,
        Some(pages.csp(DASHBOARD_CSP)),
    )
}

/// The GraphiQL page (GET `/graphql` without a query).
pub fn graphiql(request: &HeaderMap, pages: &PageConfig) -> Response {
    serve(
        "graphiql/index.html",
        request,
        Some(pages.csp(GRAPHIQL_CSP)),
    )
}

/// GET `/config.json`: how the pages sign in.
pub fn config(pages: &PageConfig) -> Response {
    let mut response = axum::Json(pages).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// GET `/assets/{*path}`; GraphiQL's files only while GraphiQL is on.
pub fn file(Path(path): Path<String>, request: &HeaderMap, graphiql_on: bool) -> Response {
    match find(&path) {
        Some((_, a)) if a.graphiql && !graphiql_on => StatusCode::NOT_FOUND.into_response(),
        Some((_, a)) if a.content_type == HTML => StatusCode::NOT_FOUND.into_response(),
        _ => serve(&path, request, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files of `assets/` that are no page's files.
    const NOT_SERVED: &[&str] = &[
        "vendor/refresh.sh",
        "vendor/VERSIONS",
        "vendor/LICENSE.graphiql",
        "vendor/LICENSE.react",
        "vendor/LICENSE.react-dom",
        "vendor/LICENSES.bundled.txt",
        "vendor/LICENSE.oauth4webapi",
    ];

    fn files(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("assets folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).expect("below root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn the_csp_admits_exactly_the_providers_origin() {
        let pages = |issuer: Option<&str>| PageConfig {
            issuer: issuer.map(str::to_owned),
            ..PageConfig::default()
        };
        let csp = pages(Some("https://login.example.cz/realms/kpss")).csp(DASHBOARD_CSP);
        assert!(
            csp.to_str()
                .unwrap()
                .contains("connect-src 'self' https://login.example.cz; ")
        );
        let csp = pages(Some("http://127.0.0.1:9000")).csp(GRAPHIQL_CSP);
        assert!(
            csp.to_str()
                .unwrap()
                .contains("connect-src 'self' http://127.0.0.1:9000; ")
        );
        let csp = pages(None).csp(DASHBOARD_CSP);
        assert!(csp.to_str().unwrap().contains("connect-src 'self'; "));
    }

    #[test]
    fn every_file_of_the_assets_folder_is_served_or_listed_as_not_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut found = Vec::new();
        files(&root, &root, &mut found);
        for path in &found {
            assert!(
                find(path).is_some() || NOT_SERVED.contains(&path.as_str()),
                "assets/{path} is neither in ASSETS nor in NOT_SERVED"
            );
        }
        for a in ASSETS {
            let kind = match a.path.rsplit('.').next() {
                Some("js") => JS,
                Some("css") => CSS,
                Some("html") => HTML,
                Some("svg") => SVG,
                other => panic!("no content type for {other:?}"),
            };
            assert_eq!(a.content_type, kind, "{}", a.path);
        }
    }
}
