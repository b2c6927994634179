//! Test harness: spawns the real service on a random port with a fresh
//! database (SQLite file or PostgreSQL database) and talks HTTP + JWT to it.

#![allow(dead_code)]

pub mod chromium;
pub mod node;
pub mod oidc;
pub mod postgres;

use kpss::{Config, Running};
use kpss_api::auth::TokenRequest;
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `mod name { sqlite(), postgres() }` for each async test fn taking a `Backend`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )+};
}

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub struct TestApp {
    pub base: String,
    pub config: Config,
    pub db: kpss_persistence::Db,
    pub backend: Backend,
    http: reqwest::Client,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages (tools a test needs), when this user may.
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    if !is_root() {
        return Err(format!(
            "{packages:?} not installed, and this user cannot install them (apt-get install {})",
            packages.join(" ")
        ));
    }
    let install = [
        &["install", "-y", "-q", "--no-install-recommends"][..],
        packages,
    ]
    .concat();
    for args in [&["update", "-q"][..], &install] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("apt-get: {e}"))?;
        if !status.success() {
            return Err(format!("apt-get {args:?} failed: {status}"));
        }
    }
    Ok(())
}

/// A configuration with a fresh, empty database of `backend` and a private data folder.
pub async fn fresh_config(backend: Backend) -> (Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let urls = match backend {
        Backend::Sqlite => (sqlite_url(dir.path()), None),
        Backend::Postgres => {
            let (service, owner) = postgres::fresh_database().await;
            (service, Some(owner))
        }
    };
    (config_for(urls, &dir), dir)
}

/// The same with `seeds/` loaded: a copy of a database this test process
/// migrated and seeded once per backend (SQLite: the file; PostgreSQL: a
/// template database).
pub async fn seeded_config(backend: Backend) -> (Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let urls = match backend {
        Backend::Sqlite => {
            let file = dir.path().join("kpss.db");
            std::fs::write(&file, seeded_sqlite().await).expect("copy the seeded database");
            (sqlite_url(dir.path()), None)
        }
        Backend::Postgres => {
            let (service, owner) = postgres::seeded_database().await;
            (service, Some(owner))
        }
    };
    (config_for(urls, &dir), dir)
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("kpss.db").display())
}

/// The bytes of a SQLite database with migrations applied and `seeds/` loaded.
async fn seeded_sqlite() -> &'static [u8] {
    static SEEDED: tokio::sync::OnceCell<Vec<u8>> = tokio::sync::OnceCell::const_new();
    SEEDED
        .get_or_init(|| async {
            let (config, dir) = fresh_config(Backend::Sqlite).await;
            let db = kpss::prepare_database(&config)
                .await
                .expect("database prepared");
            // Closed, the database is one file with nothing left in its log.
            db.close().await.expect("closed");
            std::fs::read(dir.path().join("kpss.db")).expect("read the seeded database")
        })
        .await
}

/// The configuration the tests share, on the given service and owner URLs.
pub fn config_for(
    (database_url, owner_database_url): (String, Option<String>),
    dir: &tempfile::TempDir,
) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: Some(database_url),
        owner_database_url,
        db_pool_size: None,
        data_dir: dir.path().to_path_buf(),
        seeds: Some(repo_path("seeds")),
        jwt_issuer: "kpss".into(),
        jwt_audience: "kpss-api".into(),
        jwt_secret: Some(SECRET.to_owned().into()),
        jwks: None,
        jwks_reread: None,
        oidc_issuer: None,
        oidc_client_id: None,
        oidc_refresh: std::time::Duration::from_secs(600),
        oidc_scope: "openid".into(),
        oidc_groups_claim: None,
        oidc_groups_prefix: "/kpss/".into(),
        cors_origins: None,
        trusted_documents: None,
        metrics_listen: None,
        metrics_token: None,
        // No test depends on timing: the rate limit and the per-subject cap
        // are off unless a test turns them on.
        limits: kpss_api::Limits {
            rate_limit_per_second: 0,
            max_concurrent_per_subject: 0,
            ..Default::default()
        },
        // On, as in production: every test also checks that reused answers stay exact.
        response_cache_mb: 32,
        replicas: Default::default(),
        environment: kpss::Environment::Development,
        introspection: None,
        graphiql: None,
        subscription_buffer: kpss_persistence::db::CHANGES_KEPT,
        shutdown_timeout: std::time::Duration::from_secs(10),
    }
}

impl TestApp {
    /// The service with migrations applied and `seeds/` loaded.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_, _| {}).await
    }

    /// The same, with the configuration changed first (given the data folder).
    pub async fn spawn_with(
        backend: Backend,
        change: impl FnOnce(&mut Config, &std::path::Path),
    ) -> Self {
        let (mut config, dir) = seeded_config(backend).await;
        change(&mut config, dir.path());
        Self::serve(config, backend, dir).await
    }

    /// Prepares the database of `config` (migrations, seeds) and serves it.
    async fn serve(config: Config, backend: Backend, dir: tempfile::TempDir) -> Self {
        let db = kpss::prepare_database(&config)
            .await
            .expect("database prepared");
        let running = kpss::start(&config, db.clone())
            .await
            .expect("server started");
        Self {
            base: format!("http://{}", running.addr),
            config,
            db,
            backend,
            http: reqwest::Client::new(),
            running: Some(running),
            _dir: dir,
        }
    }

    /// The service on a PostgreSQL database of the caller's (e.g. on a
    /// server of the test's own).
    pub async fn spawn_on_postgres(database_url: String) -> Self {
        let mut app =
            Self::spawn_with(Backend::Sqlite, |c, _| c.database_url = Some(database_url)).await;
        app.backend = Backend::Postgres;
        app
    }

    /// A second instance of the service on the same database and secret, as
    /// behind a load balancer.
    pub async fn beside(&self) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::serve(self.config.clone(), self.backend, dir).await
    }

    /// The value of the counter `name` (with its labels, as `/metrics` writes them).
    pub async fn counter(&self, name: &str) -> f64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    pub fn token(&self, role: Role, regions: &[&str], kraje: &[&str]) -> String {
        self.token_for("tester", role, regions, kraje)
    }

    pub fn token_for(&self, subject: &str, role: Role, regions: &[&str], kraje: &[&str]) -> String {
        let regions: Vec<String> = regions.iter().map(|s| s.to_string()).collect();
        let kraje: Vec<String> = kraje.iter().map(|s| s.to_string()).collect();
        self.config
            .auth()
            .expect("auth")
            .issue(&TokenRequest {
                subject,
                role,
                regions: &regions,
                kraje: &kraje,
                ttl_secs: 600,
            })
            .expect("token")
    }

    /// The HTTP client, for requests the helpers below do not make.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Where `/metrics` is served when it has an address of its own.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.as_ref().and_then(|r| r.metrics_addr)
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, &["*"], &[])
    }

    /// POSTs a query; returns the HTTP status and the JSON body.
    pub async fn post(&self, auth: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        (status, res.json().await.expect("JSON body"))
    }

    /// POSTs a body as it is; returns the status, the headers and the body.
    pub async fn post_raw(
        &self,
        auth: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        self.try_post_raw(auth, content_type, body)
            .await
            .expect("request sent")
    }

    /// The same, or the client's error (a server may close the connection
    /// of a body over its limit before reading it all).
    pub async fn try_post_raw(
        &self,
        auth: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Result<(u16, reqwest::header::HeaderMap, Vec<u8>)> {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.base))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        Ok((status, headers, res.bytes().await?.to_vec()))
    }

    /// The number of audit entries in every region.
    pub async fn audit_total(&self) -> i64 {
        self.query(&self.admin(), "{ auditLog { totalCount } }", json!({}))
            .await["auditLog"]["totalCount"]
            .as_i64()
            .expect("total")
    }

    /// Writes `value` into a record's column behind the service's back (the
    /// owner's connection, no rule applied), as an older version could have
    /// stored it; returns the record's version, which stays as it was.
    pub async fn store_unchecked(&self, table: &str, column: &str, id: i64, value: &str) -> i32 {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let owner = Database::connect(self.config.owner_url().expect("owner"))
            .await
            .expect("owner");
        let backend = owner.get_database_backend();
        owner
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("UPDATE {table} SET {column} = $1 WHERE id = $2"),
                [value.into(), id.into()],
            ))
            .await
            .expect("the value written");
        let version = owner
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT version FROM {table} WHERE id = $1"),
                [id.into()],
            ))
            .await
            .expect("read")
            .expect("the row")
            .try_get_by_index(0)
            .expect("its version");
        owner.close().await.expect("closed");
        version
    }

    /// A query with a bearer token that must succeed without errors; returns `data`.
    pub async fn query(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(Some(&format!("Bearer {token}")), query, variables)
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A query that must fail; returns the first error's `extensions.code`.
    pub async fn error_code(&self, token: &str, query: &str, variables: Value) -> String {
        let (_, body) = self
            .post(Some(&format!("Bearer {token}")), query, variables)
            .await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {body}"))
            .to_owned()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request sent");
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    /// Serves the same database again with the configuration changed, on a
    /// new pool (so that database settings such as `statement_timeout` apply).
    pub async fn restart_with(&mut self, change: impl FnOnce(&mut Config)) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("graceful shutdown");
        }
        change(&mut self.config);
        let url = self.config.database_url().expect("url");
        self.db = kpss_persistence::Db::connect_with(&url, self.config.pool())
            .await
            .expect("connect");
        let running = kpss::start(&self.config, self.db.clone())
            .await
            .expect("server started");
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("graceful shutdown");
        }
    }
}

/// The codes of a list of objects with a `code` field.
pub fn codes(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x["code"].as_str().expect("code").to_owned())
        .collect()
}

/// The key order of a JSON text, e.g. `{data{me{role},plans{totalCount}}}`:
/// objects list their keys in the order the server wrote them (a parsed
/// `serde_json::Value` would sort them); a list shows each distinct shape of its items.
pub fn key_order(json: &str) -> String {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    struct Shape(String);
    impl<'de> Deserialize<'de> for Shape {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Shape;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("JSON")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        keys.push(key + &map.next_value::<Shape>()?.0);
                    }
                    Ok(Shape(format!("{{{}}}", keys.join(","))))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
                    let mut shapes: Vec<String> = Vec::new();
                    while let Some(Shape(s)) = seq.next_element()? {
                        if !shapes.contains(&s) {
                            shapes.push(s);
                        }
                    }
                    Ok(Shape(format!("[{}]", shapes.join("|"))))
                }
                fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                    Ok(Shape(String::new()))
                }
                fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                    Ok(Shape(String::new()))
                }
                fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                    Ok(Shape(String::new()))
                }
                fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                    Ok(Shape(String::new()))
                }
                fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                    Ok(Shape(String::new()))
                }
                fn visit_unit<E>(self) -> Result<Shape, E> {
                    Ok(Shape(String::new()))
                }
            }
            d.deserialize_any(V)
        }
    }
    serde_json::from_str::<Shape>(json).expect("JSON").0
}
