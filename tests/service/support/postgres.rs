//! A PostgreSQL server for the tests. With `KPSS_TEST_DATABASE_URL` set
//! (a URL of a role that may CREATE DATABASE), that server is used. Otherwise
//! a throwaway server is started from Debian's `postgresql` package
//! (installed when missing): `initdb` into a temporary folder, run as an
//! unprivileged user, listening on 127.0.0.1 on a free port; a watchdog
//! stops it and removes the folder when the test process exits.
//! A test that cannot get a server fails: it never skips.

use sea_orm::{ConnectionTrait, Database};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The admin URL of the server (without a database name).
fn server() -> String {
    let result = SERVER.get_or_init(|| match std::env::var("KPSS_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Ok(url.trim_end_matches('/').to_owned()),
        _ => start_throwaway_server(),
    });
    match result {
        Ok(url) => url.clone(),
        Err(e) => panic!("PostgreSQL is required for this test and could not be provided: {e}"),
    }
}

/// The two roles of a production set-up, as an operator creates them: the
/// owner of the databases (migrations, seeding) and the service's own role,
/// which owns nothing and is subject to row-level security.
pub const OWNER: &str = "kpss_owner";
pub const SERVICE: &str = "kpss_service";

static ROLES: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

pub async fn create_roles(admin: &str) {
    let conn = Database::connect(format!("{admin}/postgres"))
        .await
        .expect("connect to PostgreSQL");
    for role in [OWNER, SERVICE] {
        conn.execute_unprepared(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN \
             CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{role}'; END IF; END $$"
        ))
        .await
        .expect("create role");
    }
    conn.close().await.expect("close");
}

/// A URL of `role` on the server of `admin` (a URL with a user and no database).
pub fn as_role(admin: &str, role: &str, db: &str) -> String {
    let host = admin.rsplit_once('@').map_or(admin, |(_, h)| h);
    format!("postgres://{role}:{role}@{host}/{db}")
}

/// An empty database for one test, owned by the owner role: the service's
/// URL and the owner's.
pub async fn fresh_database() -> (String, String) {
    let admin = tokio::task::spawn_blocking(server)
        .await
        .expect("server thread");
    ROLES.get_or_init(|| create_roles(&admin)).await;
    let name = create_database(&admin, OWNER).await;
    (
        as_role(&admin, SERVICE, &name),
        as_role(&admin, OWNER, &name),
    )
}

/// A database for one test with migrations applied and `seeds/` loaded: a
/// copy of a template this test process prepared once.
pub async fn seeded_database() -> (String, String) {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let admin = tokio::task::spawn_blocking(server)
        .await
        .expect("server thread");
    let template = TEMPLATE
        .get_or_init(|| async {
            let (config, _dir) = super::fresh_config(super::Backend::Postgres).await;
            let db = kpss::prepare_database(&config)
                .await
                .expect("template prepared");
            db.close().await.expect("closed");
            let name = config
                .owner_database_url
                .as_deref()
                .and_then(|u| u.rsplit_once('/'))
                .expect("a database name")
                .1
                .to_owned();
            // No one may connect to a template while it is copied; end the
            // connections a pool may still be closing.
            sql(&admin, &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")).await;
            sql(&admin, &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).await;
            name
        })
        .await;
    let name = create_database_from(&admin, OWNER, Some(template)).await;
    (
        as_role(&admin, SERVICE, &name),
        as_role(&admin, OWNER, &name),
    )
}

/// The URL of a role that may log in and has no grant at all (a stranger
/// with a password), on the database of `service_url`.
pub async fn stranger(service_url: &str) -> String {
    let admin = tokio::task::spawn_blocking(server)
        .await
        .expect("server thread");
    // Tests ask for it at once: the one that loses the race finds it made.
    sql(
        &admin,
        "DO $$ BEGIN CREATE ROLE kpss_stranger LOGIN PASSWORD 'kpss_stranger'; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .await;
    let db = service_url.rsplit_once('/').expect("a database name").1;
    as_role(&admin, "kpss_stranger", db)
}

/// Runs one statement as the server's superuser.
pub async fn sql(admin: &str, statement: &str) {
    let conn = Database::connect(format!("{admin}/postgres"))
        .await
        .expect("connect to PostgreSQL");
    conn.execute_unprepared(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    conn.close().await.expect("close");
}

/// Creates an empty database owned by `owner` on the server of `admin`; its name.
pub async fn create_database(admin: &str, owner: &str) -> String {
    create_database_from(admin, owner, None).await
}

/// The same as a copy of `template`.
async fn create_database_from(admin: &str, owner: &str, template: Option<&str>) -> String {
    let name = format!(
        "kpss_test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let template = template.map_or(String::new(), |t| format!(" TEMPLATE {t}"));
    sql(
        admin,
        &format!("CREATE DATABASE {name} OWNER {owner}{template}"),
    )
    .await;
    name
}

fn bin_dir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|d| d.join("initdb").exists() && d.join("postgres").exists());
    from_pg_config.or_else(|| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|d| d.join("initdb").exists() && d.join("postgres").exists())
            .collect();
        dirs.sort_by_key(|d| {
            d.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
        });
        dirs.pop()
    })
}

fn install_postgresql() -> Result<(), String> {
    super::apt_install(&["postgresql", "postgresql-contrib"])
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn start_throwaway_server() -> Result<String, String> {
    let server = OwnServer::start()?;
    let url = server.url.clone();
    // The shared server lives as long as the test process (the watchdog ends it).
    std::mem::forget(server);
    Ok(url)
}

/// A PostgreSQL server of one test's own, which it may stop and start again
/// (on the same data and port); stopped when dropped, and by a watchdog
/// should the test process die.
pub struct OwnServer {
    pub url: String,
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    user: Option<(u32, u32)>,
    child: Option<std::process::Child>,
    /// Server settings (`name=value`) beyond the fixed ones.
    settings: Vec<String>,
}

/// Settings of a server whose durability no test relies on.
const FAST: &[&str] = &["synchronous_commit=off"];

impl OwnServer {
    /// initdb into a temporary folder and start the server on 127.0.0.1.
    pub fn start() -> Result<Self, String> {
        Self::start_with(FAST)
    }

    /// The same with these settings (`name=value`).
    pub fn start_with(settings: &[&str]) -> Result<Self, String> {
        let mut server = Self::new(settings)?;
        let mut initdb = Command::new(server.bin.join("initdb"));
        initdb.args([
            "-D",
            path(&server.dir.join("data"))?,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C.UTF-8",
            // A linguistic default collation, as production servers have: byte-wise
            // order must not depend on it.
            "--locale-provider=icu",
            "--icu-locale=en-US",
        ]);
        server.as_user(&mut initdb);
        let out = initdb.output().map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        server.start_again()?;
        Ok(server)
    }

    /// A server not started yet: its folder, port and settings.
    fn new(settings: &[&str]) -> Result<Self, String> {
        let bin = match bin_dir() {
            Some(b) => b,
            None => {
                install_postgresql()?;
                bin_dir().ok_or("postgresql installed, but initdb/postgres not found")?
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("kpss-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        // PostgreSQL refuses to run as root: run it as `nobody`.
        let user = if super::is_root() {
            Some((65534u32, 65534u32))
        } else {
            None
        };
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let port = free_port()?;
        Ok(Self {
            url: format!("postgres://postgres@127.0.0.1:{port}"),
            bin,
            dir,
            port,
            user,
            child: None,
            settings: settings.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// A hot standby of this server (`pg_basebackup -R`), streaming from it
    /// under the name `name` (its `application_name` for
    /// `synchronous_standby_names`), with these settings.
    pub fn standby(&self, name: &str, settings: &[&str]) -> Result<Self, String> {
        let mut settings = settings.to_vec();
        let cluster_name = format!("cluster_name={name}");
        settings.push(&cluster_name);
        let mut standby = Self::new(&settings)?;
        let mut backup = Command::new(standby.bin.join("pg_basebackup"));
        backup.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-D",
            path(&standby.dir.join("data"))?,
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        ]);
        standby.as_user(&mut backup);
        let out = backup.output().map_err(|e| format!("pg_basebackup: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pg_basebackup failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        standby.start_again()?;
        Ok(standby)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`): no
    /// checkpoint, every connection cut.
    pub fn kill(&mut self) -> Result<(), String> {
        self.signal("-QUIT")
    }

    fn as_user(&self, cmd: &mut Command) {
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_again(&mut self) -> Result<(), String> {
        let data = self.dir.join("data");
        let mut postgres = Command::new(self.bin.join("postgres"));
        postgres
            .args([
                "-D",
                path(&data)?,
                "-k",
                path(&self.dir)?,
                "-p",
                &self.port.to_string(),
            ])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=300"])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join("postgres.log"))
                    .map_err(|e| e.to_string())?,
            );
        self.as_user(&mut postgres);
        let child = postgres.spawn().map_err(|e| format!("postgres: {e}"))?;
        watchdog(child.id(), &self.dir)?;
        self.child = Some(child);
        wait_ready(&self.bin, self.port).map_err(|e| {
            format!(
                "{e}\n{}",
                std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
            )
        })
    }

    /// Stops the server (fast shutdown: every connection is cut) and waits until it is gone.
    pub fn stop(&mut self) -> Result<(), String> {
        self.signal("-INT")
    }

    fn signal(&mut self, signal: &str) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        child.wait().map_err(|e| format!("wait: {e}"))?;
        Ok(())
    }

    /// Creates an empty database on this server and returns its URL.
    /// An empty database of this server, for one role that owns it and serves.
    pub async fn fresh_database(&self) -> String {
        let name = create_database(&self.url, "postgres").await;
        format!("{}/{name}", self.url)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

/// Stops the server and removes its folder once this test process is gone.
fn watchdog(postgres_pid: u32, dir: &Path) -> Result<(), String> {
    let script = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
kill -INT "$2" 2>/dev/null
for _ in $(seq 1 30); do kill -0 "$2" 2>/dev/null || break; sleep 0.2; done
rm -rf "$3""#;
    Command::new("sh")
        .args([
            "-c",
            script,
            "watchdog",
            &std::process::id().to_string(),
            &postgres_pid.to_string(),
            path(dir)?,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("watchdog: {e}"))
}

fn wait_ready(bin: &Path, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "PostgreSQL did not become ready on port {port} within 60 s"
    ))
}
