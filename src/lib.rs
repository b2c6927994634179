//! The `kpss` service: configuration and wiring of the crates into a
//! running server. `main.rs` is the command line over it.

pub mod telemetry;

use kpss_api::cors::Origins;
use kpss_api::persisted::Documents;
use kpss_api::rate::RateLimit;
use kpss_api::{
    AppState, AuthConfig, Guarded, Limits, Shared, build_schema, metrics_router, router,
};
use kpss_persistence::Db;
use kpss_persistence::seed::SeedFiles;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Everything the service reads from its environment, with working defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "KPSS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`; default: an SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// PostgreSQL: a role that owns the database, for migrations and seeding;
    /// `DATABASE_URL` is then the service's own role, under row-level security.
    #[arg(long, env = "KPSS_OWNER_DATABASE_URL", hide_env_values = true)]
    pub owner_database_url: Option<String>,
    /// Connections to each database server; default: four per CPU, from 4 to 32.
    #[arg(long, env = "KPSS_DB_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: Option<u32>,
    /// Folder for the SQLite database and the generated JWT secret.
    #[arg(long, env = "KPSS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Folder of seed files to load instead of those built into the binary.
    #[arg(long, env = "KPSS_SEEDS")]
    pub seeds: Option<PathBuf>,
    #[arg(long, env = "KPSS_JWT_ISSUER", default_value = "kpss")]
    pub jwt_issuer: String,
    #[arg(long, env = "KPSS_JWT_AUDIENCE", default_value = "kpss-api")]
    pub jwt_audience: String,
    /// HMAC secret (at least 32 bytes); default: generated once into the data folder
    /// (unless a JWK set is configured).
    #[arg(long, env = "KPSS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// Path or URL (`https://`; `http://` on loopback only) of a JWK set with the
    /// public keys of asymmetric tokens (RS/PS/ES/EdDSA), chosen by `kid`.
    #[arg(long, env = "KPSS_JWKS")]
    pub jwks: Option<String>,
    /// Shortest time between two re-reads of the JWK set when a token names
    /// an unknown `kid` (default: 10s for a file, 30s for a URL).
    #[arg(long, env = "KPSS_JWKS_REREAD", value_parser = humantime::parse_duration)]
    pub jwks_reread: Option<Duration>,
    /// An OpenID provider's issuer URL (`https://`; `http://` on loopback
    /// only): its tokens verify with the keys its discovery document names,
    /// and must carry exactly this `iss`.
    #[arg(long, env = "KPSS_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The provider's public client that the dashboard and GraphiQL sign in with.
    #[arg(long, env = "KPSS_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Longest time the provider's keys are kept before they are fetched
    /// again (shorter when its `Cache-Control` says so).
    #[arg(long, env = "KPSS_OIDC_REFRESH", value_parser = humantime::parse_duration, default_value = "10m")]
    pub oidc_refresh: Duration,
    /// The scope the pages ask the provider for: `openid`, and what it needs
    /// to issue an access token for this API (Entra ID: `api://<app>/access`).
    #[arg(long, env = "KPSS_OIDC_SCOPE", default_value = "openid")]
    pub oidc_scope: String,
    /// A list claim of the provider's tokens (`groups`, `roles`) whose entries
    /// name a region or kraj and a role, e.g. `/kpss/klatovy/editor`; default:
    /// the tokens carry KPSS's own claims `role`, `regions`, `kraje`.
    #[arg(long, env = "KPSS_OIDC_GROUPS_CLAIM")]
    pub oidc_groups_claim: Option<String>,
    /// The start of the entries of `KPSS_OIDC_GROUPS_CLAIM` that are KPSS's
    /// (others are ignored), e.g. `kpss.` for Entra ID app roles.
    #[arg(long, env = "KPSS_OIDC_GROUPS_PREFIX", default_value = "/kpss/")]
    pub oidc_groups_prefix: String,
    /// Origins that browsers may call the API from, comma-separated (or `*`);
    /// default: none in production, any http://localhost port otherwise.
    #[arg(long, env = "KPSS_CORS_ORIGINS")]
    pub cors_origins: Option<String>,
    /// Serve `/metrics` on this address instead of the main one (for example
    /// an address only the monitoring network reaches).
    #[arg(long, env = "KPSS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A bearer token that `/metrics` requires (default: none, `/metrics` is open).
    #[arg(long, env = "KPSS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,
    /// A JSON object of sha256 hash -> document: only these operations run.
    #[arg(long, env = "KPSS_TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<PathBuf>,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub replicas: ReadReplicas,
    /// Megabytes of query answers kept for reuse while their data is
    /// unchanged (checked against the database on every read); 0 turns it off.
    #[arg(long, env = "KPSS_RESPONSE_CACHE_MB", default_value_t = 32)]
    pub response_cache_mb: u64,
    /// `production` turns introspection and GraphiQL off unless switched on,
    /// and allows no browser origin unless listed.
    #[arg(long = "env", env = "KPSS_ENV", value_enum, default_value_t = Environment::Development)]
    pub environment: Environment,
    /// Serve introspection (default: on, off in production).
    #[arg(long, env = "KPSS_INTROSPECTION", value_enum)]
    pub introspection: Option<Switch>,
    /// Serve GraphiQL at `GET /graphql` (default: on, off in production).
    #[arg(long, env = "KPSS_GRAPHIQL", value_enum)]
    pub graphiql: Option<Switch>,
    /// Changes an instance keeps for subscribers that fall behind; one that
    /// misses more is told so and its subscription completes.
    #[arg(long, env = "KPSS_SUBSCRIPTION_BUFFER", default_value_t = kpss_persistence::db::CHANGES_KEPT)]
    pub subscription_buffer: usize,
    /// How long requests under way may take to finish after SIGTERM.
    #[arg(long, env = "KPSS_SHUTDOWN_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub shutdown_timeout: Duration,
}

/// PostgreSQL hot standbys of the primary that serve queries (see
/// `docs/scaling.md`).
#[derive(Debug, Clone, clap::Args)]
pub struct ReadReplicas {
    /// URLs of hot standbys of `DATABASE_URL`'s server, as the service's own
    /// role, comma-separated. Queries read from them; requests that write,
    /// migrations and seeding use the primary. Any of them that leaves
    /// recovery (a promoted standby) becomes the primary.
    #[arg(
        long = "read-database-urls",
        env = "KPSS_READ_DATABASE_URLS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub urls: Vec<String>,
    /// How long a read waits for a standby to replay its caller's latest
    /// write before it reads from the primary.
    #[arg(long, env = "KPSS_READ_WAIT", value_parser = humantime::parse_duration, default_value = "100ms")]
    pub read_wait: Duration,
    /// A standby further behind the primary than this serves no reads.
    #[arg(long, env = "KPSS_READ_MAX_LAG", value_parser = humantime::parse_duration, default_value = "10s")]
    pub read_max_lag: Duration,
}

impl Default for ReadReplicas {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            read_wait: Duration::from_millis(100),
            read_max_lag: Duration::from_secs(10),
        }
    }
}

impl ReadReplicas {
    fn persistence(&self) -> kpss_persistence::replicas::Replicas {
        kpss_persistence::replicas::Replicas {
            urls: self
                .urls
                .iter()
                .filter(|u| !u.trim().is_empty())
                .cloned()
                .collect(),
            wait: self.read_wait,
            max_lag: self.read_max_lag,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// `seeds/` as it was at build time (`build.rs`): path and content.
const BUILT_IN_SEEDS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/seeds.rs"));

impl Config {
    /// The limits, with introspection and GraphiQL as the environment says.
    pub fn limits(&self) -> Limits {
        let production = self.is_production();
        let on = |switch: Option<Switch>| switch.map_or(!production, |s| s == Switch::On);
        Limits {
            introspection: on(self.introspection),
            graphiql: on(self.graphiql),
            ..self.limits.clone()
        }
    }

    pub fn database_url(&self) -> Result<String, Error> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir)?;
                Ok(format!(
                    "sqlite://{}",
                    self.data_dir.join("kpss.db").display()
                ))
            }
        }
    }

    /// How the instance pools its connections: PostgreSQL's `statement_timeout`
    /// is the request time.
    pub fn pool(&self) -> kpss_persistence::Pool {
        let default = kpss_persistence::Pool::default();
        kpss_persistence::Pool {
            statement_timeout: self.limits.request_timeout,
            size: self.db_pool_size.unwrap_or(default.size),
        }
    }

    /// Where migrations and seeding run: the owner's URL when set, else `DATABASE_URL`.
    pub fn owner_url(&self) -> Result<String, Error> {
        match self.owner_database_url.as_ref().filter(|u| !u.is_empty()) {
            Some(url) => Ok(url.clone()),
            None => self.database_url(),
        }
    }

    /// The verifier: the configured secret (or the one kept in the data folder,
    /// generated on first use so a new user runs with one command) and the JWK set.
    pub fn auth(&self) -> Result<AuthConfig, Error> {
        let jwks = match self.jwks.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(source) => Some(Arc::new(kpss_api::auth::Jwks::from_source(
                source.trim(),
                self.jwks_reread,
            )?)),
            None => None,
        };
        let oidc = match nonempty(self.oidc_issuer.as_deref()) {
            Some(issuer) => {
                let mapping = match nonempty(self.oidc_groups_claim.as_deref()) {
                    Some(claim) => kpss_api::oidc::ClaimMapping::Groups {
                        claim: claim.to_owned(),
                        prefix: self.oidc_groups_prefix.clone(),
                    },
                    None => kpss_api::oidc::ClaimMapping::Kpss,
                };
                Some(Arc::new(kpss_api::oidc::Oidc::new(
                    issuer,
                    nonempty(self.oidc_client_id.as_deref()).map(str::to_owned),
                    mapping,
                    self.oidc_refresh,
                )?))
            }
            None => None,
        };
        // An empty KPSS_JWT_SECRET (as docker-compose passes it) means "not set".
        let secret = match self
            .jwt_secret
            .as_ref()
            .filter(|s| !s.expose_secret().is_empty())
        {
            Some(s) => Some(s.clone()),
            // With a JWK set or a provider and no secret, HMAC tokens are simply not accepted.
            None if jwks.is_some() || oidc.is_some() => None,
            None => Some(stored_secret(&self.data_dir)?),
        };
        if secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < kpss_api::auth::MIN_SECRET_BYTES)
        {
            return Err("KPSS_JWT_SECRET must be at least 32 bytes long".into());
        }
        Ok(AuthConfig {
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            secret,
            jwks,
            oidc,
            verified: Default::default(),
        })
    }

    /// Whether `kpss serve` prints a ready admin token: only when the service
    /// signs with a secret it generated itself (the zero set-up case), and
    /// never in production.
    pub fn prints_ready_token(&self) -> bool {
        let set = |v: Option<&str>| v.is_some_and(|s| !s.trim().is_empty());
        !self.is_production()
            && !set(self.jwt_secret.as_ref().map(|s| s.expose_secret()))
            && !set(self.jwks.as_deref())
            && !set(self.oidc_issuer.as_deref())
    }

    /// How the pages sign in: with the provider, when one is configured; a
    /// pasted token outside production (or when there is no provider at all,
    /// so that the pages are never without a way in).
    pub fn pages(&self) -> kpss_api::assets::PageConfig {
        let issuer = nonempty(self.oidc_issuer.as_deref()).map(str::to_owned);
        kpss_api::assets::PageConfig {
            paste_token: !self.is_production() || issuer.is_none(),
            client_id: nonempty(self.oidc_client_id.as_deref()).map(str::to_owned),
            issuer,
            scope: self.oidc_scope.clone(),
        }
    }

    /// The seed files: the folder `--seeds`, or those built into the binary.
    pub fn seed_files(&self) -> SeedFiles {
        match self.seeds.as_ref().filter(|d| !d.as_os_str().is_empty()) {
            Some(dir) => SeedFiles::Dir(dir.clone()),
            None => SeedFiles::BuiltIn(BUILT_IN_SEEDS),
        }
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// Browser origins allowed to call the API.
    pub fn cors_origins(&self) -> Result<Origins, Error> {
        match self
            .cors_origins
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            Some(list) => Ok(Origins::parse(list)?),
            None if self.is_production() => Ok(Origins::None),
            None => Ok(Origins::Localhost),
        }
    }

    /// Persisted operations: trusted documents only, when a file is given.
    pub fn documents(&self) -> Result<Documents, Error> {
        match self
            .trusted_documents
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            Some(path) => Ok(Documents::trusted_from_file(path)?),
            None => Ok(Documents::automatic()),
        }
    }
}

/// A setting's value, unless it is empty (as docker-compose passes unset ones).
fn nonempty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn stored_secret(dir: &Path) -> Result<SecretString, Error> {
    let path = dir.join("jwt-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(s.trim().to_owned().into());
    }
    std::fs::create_dir_all(dir)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a secret: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Never over a secret another instance has just written.
    write_private(&path, hex.as_bytes(), false)?;
    Ok(hex.into())
}

/// Writes a file that only its owner may read or write (0600). `replace`
/// overwrites an existing file (and tightens its mode); otherwise an existing
/// file is an error.
#[cfg(unix)]
pub fn write_private(path: &Path, content: &[u8], replace: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path)?;
    // `mode` applies to a new file only.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(content)
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, content: &[u8], replace: bool) -> std::io::Result<()> {
    if !replace && path.exists() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    std::fs::write(path, content)
}

/// Connects, migrates, and loads the seeds when the database has no regions
/// yet; of several instances starting at once, one does it, the others wait.
/// With `KPSS_OWNER_DATABASE_URL`, the owner migrates, seeds and grants the
/// service's role its rights; the service then connects as that role.
pub async fn prepare_database(config: &Config) -> Result<Db, Error> {
    let url = config.database_url()?;
    let pool = config.pool();
    let owner = Db::connect_with(&config.owner_url()?, pool).await?;
    let separate_roles = config
        .owner_database_url
        .as_ref()
        .is_some_and(|u| !u.is_empty());
    owner
        .exclusively(|| async {
            owner.migrate().await?;
            if owner.is_empty().await? {
                for outcome in
                    kpss_persistence::seed::load(&owner, &config.seed_files(), false).await?
                {
                    tracing::info!(?outcome, "seed loaded");
                }
            }
            if separate_roles {
                owner
                    .grant_service_role(&kpss_persistence::dialect::user_of(&url)?)
                    .await?;
            }
            Ok(())
        })
        .await?;
    let replicas = config.replicas.persistence();
    if separate_roles {
        let db = Db::connect_with(&url, pool).await?;
        return Ok(db.read_from(&replicas, pool).await?);
    }
    if owner.dialect().has_row_level_security() {
        tracing::warn!(
            "one database role migrates and serves, so row-level security is not a second wall in this set-up (set KPSS_OWNER_DATABASE_URL)"
        );
    }
    Ok(owner.read_from(&replicas, pool).await?)
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when not on `addr` (`KPSS_METRICS_LISTEN`).
    pub metrics_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    grace: Duration,
}

impl Running {
    /// Stops accepting, closes subscriptions (1001), lets the requests under
    /// way finish for at most the shutdown timeout, and returns.
    pub async fn stop(self) -> Result<(), Error> {
        let _ = self.shutdown.send(true);
        let mut task = self.task;
        match tokio::time::timeout(self.grace, &mut task).await {
            Ok(served) => served??,
            Err(_) => {
                tracing::warn!(grace = ?self.grace, "requests still under way after the shutdown timeout; stopping them");
                task.abort();
            }
        }
        Ok(())
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully. The
    /// handler is in place when this returns, before the future is awaited,
    /// so a signal sent right after start-up is not lost.
    pub fn until_signal(self) -> impl std::future::Future<Output = Result<(), Error>> {
        let signal = shutdown_signal();
        async move {
            signal.await;
            tracing::info!("shutting down");
            self.stop().await
        }
    }
}

/// Starts the HTTP server on `config.listen` (port 0 picks a free one).
pub async fn start(config: &Config, db: Db) -> Result<Running, Error> {
    let limits = config.limits();
    let cors = config.cors_origins()?.layer();
    let documents = config.documents()?;
    let auth = config.auth()?;
    if let Some(jwks) = &auth.jwks {
        jwks.load().await?;
    }
    if let Some(oidc) = &auth.oidc {
        let regions =
            kpss_persistence::region::list(&db.scoped(kpss_domain::access::Ctx::system("start")))
                .await?;
        oidc.know_regions(regions.into_iter().map(|r| r.code));
        oidc.start().await;
    }
    // Changes written by any instance reach this one's subscribers (PostgreSQL).
    let db = db.keeping_changes(config.subscription_buffer);
    db.listen_for_changes().await?;
    let (shutdown, stopping) = watch::channel(false);
    let metrics = Arc::new(kpss_api::metrics::Metrics::default());
    let state = AppState::new(Shared {
        schema: Guarded::new(build_schema(db.clone(), &limits, metrics.clone()), &limits),
        db,
        auth: Arc::new(auth),
        metrics,
        documents: Arc::new(documents),
        rate: Arc::new(RateLimit::new(
            limits.rate_limit_per_second,
            limits.rate_limit_burst,
        )),
        limits: Arc::new(kpss_api::limits::QueryLimits::new(limits, &kpss_api::sdl())),
        cache: Arc::new(kpss_api::cache::ResponseCache::new(
            config.response_cache_mb,
        )),
        shutdown: stopping.clone(),
        metrics_token: config
            .metrics_token
            .clone()
            .filter(|t| !t.expose_secret().is_empty())
            .map(Arc::new),
        pages: Arc::new(config.pages()),
    });
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let mut app = router(state.clone(), cors);
    let mut metrics_addr = None;
    match config.metrics_listen {
        None => app = app.merge(metrics_router(state)),
        Some(listen) => {
            let listener = TcpListener::bind(listen).await?;
            metrics_addr = Some(listener.local_addr()?);
            let shutdown = kpss_api::http::stopping(stopping.clone());
            let metrics = metrics_router(state).into_make_service();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, metrics)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
    }
    // The peer's address rates callers without a valid token.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(kpss_api::http::stopping(stopping))
            .await
    });
    Ok(Running {
        addr,
        metrics_addr,
        shutdown,
        task,
        grace: config.shutdown_timeout,
    })
}

fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term => {} }
    }
}

/// Parses `8h`, `30m`, `7d`, `90s` or plain seconds.
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 8h"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: use s, m, h or d")),
    };
    n.checked_mul(factor)
        .filter(|t| *t > 0)
        .ok_or_else(|| format!("`{s}` is not a positive duration"))
}
