//! Connecting, migrating and checking the database.

use crate::Result;
use crate::scoped::Scoped;
use kpss_domain::access::Ctx;
use kpss_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The user name of a PostgreSQL URL (the role the service connects as).
pub fn user_of(url: &str) -> Result<String> {
    use std::str::FromStr;
    let opts = sea_orm::sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| crate::Error::Data(format!("not a PostgreSQL URL: {e}")))?;
    Ok(opts.get_username().to_owned())
}

/// A connection pool to SQLite or PostgreSQL, chosen by the URL.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
    pub(crate) events: tokio::sync::broadcast::Sender<crate::events::Change>,
}

/// How long a PostgreSQL statement may run unless the caller says otherwise.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request waits for a PostgreSQL connection: a server that is
/// gone is reported within a second, not after the default thirty.
const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_millis(750);

/// SQLite waits are for the lock of a local file, which a writer holds
/// while it commits; it is never "gone".
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock under which an instance migrates and seeds (any fixed number; "kpss").
const PREPARE_LOCK: i64 = 0x6b707373;

impl Db {
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, DEFAULT_STATEMENT_TIMEOUT).await
    }

    /// The same, with PostgreSQL's `statement_timeout` set on every connection.
    pub async fn connect_with(url: &str, statement_timeout: Duration) -> Result<Self> {
        create_private_sqlite_file(url)
            .map_err(|e| DbErr::Custom(format!("cannot create the database file: {e}")))?;
        let postgres = url.starts_with("postgres");
        let wait = if postgres {
            POSTGRES_CONNECT_TIMEOUT
        } else {
            SQLITE_ACQUIRE_TIMEOUT
        };
        let timeout = format!("{}ms", statement_timeout.as_millis());
        let mut opts = ConnectOptions::new(url);
        opts.sqlx_logging(false)
            .max_connections(16)
            .connect_timeout(wait)
            .acquire_timeout(wait)
            .map_sqlx_postgres_opts(move |o: PgConnectOptions| {
                o.options([("statement_timeout", timeout.as_str())])
            })
            .map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
                // WAL lets readers run beside one writer; foreign keys are off in SQLite unless asked.
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
            });
        let mut conn = Database::connect(opts).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let (events, _) = tokio::sync::broadcast::channel(1024);
        Ok(Self {
            conn,
            statements,
            events,
        })
    }

    /// The one way to read and write: a handle carrying the caller's scope,
    /// for one request (its reads share a transaction on PostgreSQL).
    pub fn scoped(&self, ctx: Ctx) -> Scoped {
        Scoped::new(self.clone(), ctx, true)
    }

    /// The same for a handle that lives as long as a connection (a
    /// subscription): each read runs in a transaction of its own.
    pub fn scoped_per_read(&self, ctx: Ctx) -> Scoped {
        Scoped::new(self.clone(), ctx, false)
    }

    /// Runs `f` under a PostgreSQL advisory lock, so that of several instances
    /// starting at once on an empty database exactly one migrates and seeds
    /// (the others wait, then find it done). SQLite runs `f` as it is.
    pub async fn exclusively<T, F>(&self, f: impl FnOnce() -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        use sea_orm::TransactionTrait;
        if self.backend() != DbBackend::Postgres {
            return f().await;
        }
        // The lock lives as long as this transaction; waiting for it is no statement to time out.
        let lock = self.conn.begin().await?;
        lock.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await?;
        lock.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({PREPARE_LOCK})"))
            .await?;
        let out = f().await;
        lock.commit().await?;
        out
    }

    pub async fn migrate(&self) -> Result<()> {
        kpss_migrations::rename_applied(&self.conn).await?;
        Migrator::up(&self.conn, None).await?;
        crate::search::rebuild_when_empty(&self.conn).await
    }

    /// Run by the database's owner at every start: gives `role` (the
    /// service's own login role) exactly the rights it needs.
    pub async fn grant_service_role(&self, role: &str) -> Result<()> {
        crate::dialect::grant_service_role(&self.conn, role).await
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.conn.ping().await?;
        Ok(())
    }

    /// SQL statements run through this pool so far (for `/metrics`, and
    /// for the tests that prove resolvers batch).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Open and idle connections of the pool (for `/metrics`).
    pub fn pool_connections(&self) -> (u32, usize) {
        match self.backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Closes every connection of the pool and waits until they are closed
    /// (SQLite then folds its write-ahead log into the database file).
    pub async fn close(self) -> Result<()> {
        Ok(self.conn.close().await?)
    }

    /// Whether no region has been loaded yet (a new database).
    pub async fn is_empty(&self) -> Result<bool> {
        use sea_orm::{EntityTrait, PaginatorTrait};
        Ok(crate::entity::region::Entity::find()
            .count(&self.conn)
            .await?
            == 0)
    }
}

/// Whether a database error means the database cannot be reached or is
/// shutting down (the client may retry), rather than a bug.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
                // 08: connection exceptions; 57: operator intervention
                // (statement timeout, shutdown); 53300: too many connections.
                Sqlx::Database(d) => d
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57") || c == "53300"),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether PostgreSQL refused a value the client sent as data it cannot
/// hold (SQLSTATE class 22: a NUL character in text, a number out of range).
pub fn is_bad_data(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), sea_orm::sqlx::Error::Database(d) if d.code().is_some_and(|c| c.starts_with("22")))
        }
        _ => false,
    }
}

/// Creates a new SQLite database file readable by its owner only (SQLite
/// gives its journal files the same mode).
fn create_private_sqlite_file(url: &str) -> std::io::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(':') || std::path::Path::new(path).exists() {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
