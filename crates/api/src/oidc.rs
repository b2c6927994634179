//! An OpenID provider's tokens (`KPSS_OIDC_ISSUER`): its key set found by
//! discovery and kept fresh in the background, and the mapping
//! of its claims to a caller's scope.

use crate::claims::claims_to_ctx;
use crate::error::ApiError;
use crate::key_set::{fetch, is_loopback, parse_jwks};
use jsonwebtoken::jwk::Jwk;
use kpss_domain::access::{Ctx, Grant, Role};
use kpss_domain::region::{KrajCode, RegionCode};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Default longest time a key set is kept before it is fetched again.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(600);
/// Shortest time between two fetches: on an unknown `kid`, after a failure,
/// and the floor of a provider's `Cache-Control: max-age`.
pub const MIN_REFETCH: Duration = Duration::from_secs(5);
/// Longest a discovery or key set fetch may take: a hanging provider never holds up a start for long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// What the service needs of the provider's discovery document (the pages
/// read its authorization, token and end-session endpoints themselves).
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// How a provider's token becomes a caller's scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ClaimMapping {
    /// The token carries KPSS's own claims: `role`, `regions`, `kraje`.
    #[default]
    Kpss,
    /// A list claim (Keycloak `groups`, Entra ID `roles`) whose entries
    /// `<prefix><scope>/<role>` or `<prefix><scope>.<role>` name a region
    /// code, a kraj code or `*`, and a role.
    Groups { claim: String, prefix: String },
}

pub struct Oidc {
    /// Exactly as configured: a token's `iss` must equal it.
    pub issuer: String,
    /// The public client of the pages (`KPSS_OIDC_CLIENT_ID`).
    pub client_id: Option<String>,
    pub mapping: ClaimMapping,
    discovery: reqwest::Url,
    client: reqwest::Client,
    /// Longest time a key set is kept (`KPSS_OIDC_REFRESH`).
    refresh: Duration,
    state: Mutex<State>,
    /// The regions the database held at start: a token's region outside
    /// them is logged once (it grants nothing, as no record has it).
    known_regions: Mutex<Option<HashSet<RegionCode>>>,
    /// One fetch at a time; tokens of known keys never wait for it.
    fetching: futures_util::lock::Mutex<()>,
}

#[derive(Default)]
struct State {
    /// `None` until the first fetch succeeds.
    keys: Option<HashMap<String, Jwk>>,
    /// Kids the provider has dropped: refused at once, without a fetch.
    removed: HashSet<String>,
    last_attempt: Option<Instant>,
    /// When the keys are to be fetched again.
    refetch_at: Option<Instant>,
}

impl Oidc {
    /// `https://...` (`http://` on loopback only). Nothing is fetched yet.
    pub fn new(
        issuer: &str,
        client_id: Option<String>,
        mapping: ClaimMapping,
        refresh: Duration,
    ) -> Result<Self, String> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery = checked_url("KPSS_OIDC_ISSUER", &discovery)?;
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // A redirect could lead from https to http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("KPSS_OIDC_ISSUER: no HTTP client: {e}"))?;
        Ok(Self {
            issuer: issuer.to_owned(),
            client_id,
            mapping,
            discovery,
            client,
            refresh: refresh.max(MIN_REFETCH),
            state: Mutex::default(),
            known_regions: Mutex::default(),
            fetching: futures_util::lock::Mutex::new(()),
        })
    }

    /// Tells the verifier which regions exist, for [`Oidc::log_unknown_regions`].
    pub fn know_regions(&self, codes: impl IntoIterator<Item = RegionCode>) {
        *self.known_regions.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(codes.into_iter().collect());
    }

    /// Logs, once each, the regions of a provider token's scope that the
    /// database did not hold at start (a group naming an unknown region);
    /// how many it logged now.
    pub(crate) fn log_unknown_regions(&self, ctx: &Ctx) -> usize {
        let known = self.known_regions.lock().unwrap_or_else(|e| e.into_inner());
        let Some(known) = known.as_ref() else {
            return 0;
        };
        let why =
            "a group of the token names a region the database does not hold; it grants nothing";
        ctx.read
            .regions
            .iter()
            .filter(|r| !known.contains(*r) && ignored(r.as_str(), why))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fetches discovery and the key set once now, then keeps them fresh in
    /// the background for as long as `self` lives. A provider that is down
    /// does not stop the start: its tokens wait for its keys.
    pub async fn start(self: &Arc<Self>) {
        self.fetch_logged().await;
        let weak = Arc::downgrade(self);
        tokio::spawn(refresh_loop(weak));
    }

    async fn fetch_logged(&self) {
        let _one = self.fetching.lock().await;
        if let Err(e) = self.fetch_now().await {
            tracing::warn!(error = %e, issuer = %self.issuer, "the identity provider's keys could not be fetched");
        }
    }

    /// Discovery, then the key set; a failure keeps the keys of the last good fetch.
    async fn fetch_now(&self) -> Result<(), String> {
        self.lock().last_attempt = Some(Instant::now());
        let (text, _) = fetch(&self.discovery, &self.client).await?;
        let discovery: Discovery = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a discovery document: {e}", self.discovery))?;
        if discovery.issuer != self.issuer {
            return Err(format!(
                "{}: names the issuer `{}`, not `{}`",
                self.discovery, discovery.issuer, self.issuer
            ));
        }
        let jwks_uri = checked_url("jwks_uri", &discovery.jwks_uri)?;
        let (text, max_age) = fetch(&jwks_uri, &self.client).await?;
        let keys = parse_jwks(&text).map_err(|e| format!("{jwks_uri}: {e}"))?;
        let keep = max_age.map_or(self.refresh, |a| a.clamp(MIN_REFETCH, self.refresh));
        let mut state = self.lock();
        let dropped: Vec<String> = state
            .keys
            .iter()
            .flat_map(|old| old.keys())
            .filter(|kid| !keys.contains_key(*kid))
            .cloned()
            .collect();
        // Bounded: a provider that rotates forever cannot grow it without end.
        if state.removed.len() > 1_000 {
            state.removed.clear();
        }
        state.removed.extend(dropped);
        state.removed.retain(|kid| !keys.contains_key(kid));
        state.keys = Some(keys);
        state.refetch_at = Some(Instant::now() + keep);
        Ok(())
    }

    /// The key `kid`. One that is unknown (or none was fetched yet) and
    /// not dropped by the provider fetches the set again: at once, or once
    /// [`MIN_REFETCH`] has passed since the last fetch, so a key new at the
    /// provider works within seconds while unknown `kid`s cost it at most
    /// one fetch per [`MIN_REFETCH`].
    pub async fn key(&self, kid: &str) -> Result<Jwk, ApiError> {
        if let Some(k) = self.known(kid) {
            return Ok(k);
        }
        if !self.lock().removed.contains(kid) {
            let asked = Instant::now();
            let _one = self.fetching.lock().await;
            let last = self.lock().last_attempt;
            // A fetch after this request came is its answer: no second one.
            if last.is_none_or(|t| t < asked) {
                if let Some(wait) = last.and_then(|t| MIN_REFETCH.checked_sub(t.elapsed())) {
                    tokio::time::sleep(wait).await;
                }
                let _ = self.fetch_now().await.inspect_err(|e| {
                    tracing::warn!(error = %e, "the identity provider's keys could not be fetched")
                });
            }
        }
        let any = self.lock().keys.is_some();
        match (any, self.known(kid)) {
            (_, Some(k)) => Ok(k),
            (false, _) => Err(ApiError::Unauthenticated(
                "the identity provider's keys are not yet available; try again shortly".into(),
            )),
            (true, None) => Err(ApiError::Unauthenticated(
                "the token's `kid` is not a known key".into(),
            )),
        }
    }

    fn known(&self, kid: &str) -> Option<Jwk> {
        self.lock().keys.as_ref()?.get(kid).cloned()
    }

    /// How long the background task waits before its next fetch.
    fn next_wait(&self) -> Duration {
        let state = self.lock();
        match (&state.keys, state.refetch_at) {
            (Some(_), Some(at)) => at
                .saturating_duration_since(Instant::now())
                .max(MIN_REFETCH),
            _ => MIN_REFETCH,
        }
    }
}

/// Fetches again when the keys' time is up (or every [`MIN_REFETCH`] while
/// there are none); ends when the service drops its verifier.
async fn refresh_loop(oidc: Weak<Oidc>) {
    loop {
        let Some(wait) = oidc.upgrade().map(|o| o.next_wait()) else {
            return;
        };
        tokio::time::sleep(wait).await;
        let Some(o) = oidc.upgrade() else { return };
        let due = {
            let state = o.lock();
            state.keys.is_none() || state.refetch_at.is_none_or(|at| at <= Instant::now())
        };
        if due {
            o.fetch_logged().await;
        }
    }
}

/// A URL the service fetches from: https, or http on a loopback address.
pub(crate) fn checked_url(name: &str, s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("{name} `{s}` is not a URL: {e}"))?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(format!(
            "{name} `{s}`: the provider is reached over https (http only on a loopback address)"
        ));
    }
    Ok(url)
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("mapping", &self.mapping)
            .finish_non_exhaustive()
    }
}

impl ClaimMapping {
    /// The scope of a verified provider token's claims.
    pub fn scope(&self, claims: serde_json::Value) -> Result<Ctx, ApiError> {
        match self {
            Self::Kpss => claims_to_ctx(serde_json::from_value(claims).map_err(|e| {
                ApiError::unauthenticated(format!("the token's claims are not KPSS claims: {e}"))
            })?),
            Self::Groups { claim, prefix } => groups_to_ctx(&claims, claim, prefix),
        }
    }
}

/// Read: every region and kraj of an entry; write: regions of editor or
/// admin entries; administer: regions of admin entries. Kraje only ever read.
fn groups_to_ctx(claims: &serde_json::Value, claim: &str, prefix: &str) -> Result<Ctx, ApiError> {
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::unauthenticated("the token's `sub` is empty"))?;
    let entries: Vec<&str> = match &claims[claim] {
        serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
        serde_json::Value::String(s) => vec![s.as_str()],
        _ => Vec::new(),
    };
    let (mut read, mut write, mut admin) = (Grant::default(), Grant::default(), Grant::default());
    let mut top = Role::Viewer;
    for entry in entries {
        let Some(rest) = entry.strip_prefix(prefix) else {
            continue; // Another application's group.
        };
        let Some((scope, role)) = rest.rsplit_once(['/', '.']) else {
            ignored(
                entry,
                "a group of the token names no region, kraj or role; ignored",
            );
            continue;
        };
        let Ok(role) = role.parse::<Role>() else {
            ignored(
                entry,
                "a group of the token names no region, kraj or role; ignored",
            );
            continue;
        };
        let mut grants = vec![&mut read];
        if role >= Role::Editor {
            grants.push(&mut write);
        }
        if role == Role::Admin {
            grants.push(&mut admin);
        }
        if scope == "*" {
            grants.into_iter().for_each(|g| g.all = true);
        } else if let Ok(region) = RegionCode::parse("groups", scope) {
            grants.into_iter().for_each(|g| {
                g.regions.insert(region.clone());
            });
        } else if let Ok(kraj) = KrajCode::parse("groups", scope) {
            read.kraje.insert(kraj);
        } else {
            ignored(
                entry,
                "a group of the token names no region, kraj or role; ignored",
            );
            continue;
        }
        top = top.max(role);
    }
    Ok(Ctx {
        subject: subject.to_owned(),
        role: top,
        read,
        write,
        admin,
    })
}

/// Logs a group entry the scope leaves out, once per entry; whether it did now.
fn ignored(entry: &str, why: &'static str) -> bool {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    // Bounded: a provider with endless group names cannot grow it forever.
    let new = seen.len() < 10_000 && seen.insert(entry.to_owned());
    if new {
        tracing::warn!(entry, "{why}");
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_region_the_database_does_not_hold_is_logged_once() {
        let oidc = Oidc::new("https://login.example.cz", None, groups(), DEFAULT_REFRESH).unwrap();
        let token = groups()
            .scope(json!({ "sub": "u", "groups": ["/kpss/klatovy/viewer", "/kpss/zadny-takovy/viewer"] }))
            .unwrap();
        assert_eq!(oidc.log_unknown_regions(&token), 0, "no region list yet");
        oidc.know_regions([RegionCode::parse("r", "klatovy").unwrap()]);
        assert_eq!(oidc.log_unknown_regions(&token), 1);
        assert_eq!(oidc.log_unknown_regions(&token), 0, "logged once");
    }

    fn groups() -> ClaimMapping {
        ClaimMapping::Groups {
            claim: "groups".into(),
            prefix: "/kpss/".into(),
        }
    }

    fn names(g: &Grant) -> (Vec<&str>, Vec<&str>) {
        (
            g.regions.iter().map(|r| r.as_str()).collect(),
            g.kraje.iter().map(|k| k.as_str()).collect(),
        )
    }

    #[test]
    fn keycloak_groups_map_to_regions_kraje_and_roles() {
        let ctx = groups()
            .scope(json!({ "sub": "u", "groups": [
                "/kpss/klatovy/editor", "/kpss/CZ072/viewer", "/kpss/domazlice/viewer",
                "/other-app/admins", "/kpss/Not A Region/editor", "/kpss/klatovy/owner", "/kpss/plzen"
            ] }))
            .unwrap();
        assert_eq!(ctx.role, Role::Editor);
        assert_eq!(
            names(&ctx.read),
            (vec!["domazlice", "klatovy"], vec!["CZ072"])
        );
        assert_eq!(names(&ctx.write), (vec!["klatovy"], vec![]));
        assert!(ctx.admin.is_empty() && !ctx.read.all);
    }

    #[test]
    fn entra_app_roles_with_dots_map_too() {
        let mapping = ClaimMapping::Groups {
            claim: "roles".into(),
            prefix: "kpss.".into(),
        };
        let ctx = mapping
            .scope(json!({ "sub": "u", "roles": ["kpss.klatovy.admin", "kpss.*.viewer"] }))
            .unwrap();
        assert_eq!(ctx.role, Role::Admin);
        assert!(ctx.read.all && !ctx.write.all);
        assert_eq!(names(&ctx.admin), (vec!["klatovy"], vec![]));
    }

    #[test]
    fn no_mapped_group_reads_nothing() {
        for claims in [
            json!({ "sub": "u" }),
            json!({ "sub": "u", "groups": [] }),
            json!({ "sub": "u", "groups": ["/elsewhere/klatovy/editor", "/kpss/nowhere"] }),
        ] {
            let ctx = groups().scope(claims).unwrap();
            assert!(ctx.read.is_empty() && ctx.write.is_empty(), "{ctx:?}");
            assert_eq!(ctx.role, Role::Viewer);
        }
        assert!(groups().scope(json!({ "groups": [] })).is_err(), "no sub");
    }

    #[test]
    fn kpss_claims_are_the_default() {
        let ctx = ClaimMapping::default()
            .scope(json!({ "sub": "u", "exp": 1, "iss": "i", "aud": "a", "role": "viewer", "kraje": ["CZ072"] }))
            .unwrap();
        assert_eq!(names(&ctx.read), (vec![], vec!["CZ072"]));
        assert!(
            ClaimMapping::default()
                .scope(json!({ "sub": "u", "exp": 1, "iss": "i", "aud": "a" }))
                .is_err(),
            "no role"
        );
    }

    #[test]
    fn the_issuer_is_https_or_loopback() {
        let new = |i: &str| Oidc::new(i, None, ClaimMapping::Kpss, DEFAULT_REFRESH);
        assert!(new("https://login.example.cz/realms/kpss").is_ok());
        assert!(new("http://127.0.0.1:9000").is_ok());
        assert!(new("http://localhost:9000/").is_ok());
        assert!(new("http://login.example.cz/realms/kpss").is_err());
        assert!(new("login.example.cz").is_err());
    }
}
