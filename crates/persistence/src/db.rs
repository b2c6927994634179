//! Connecting, migrating and checking the database.

use crate::Result;
use crate::scoped::Scoped;
use kpss_domain::access::Ctx;
use kpss_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
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

impl Db {
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut opts = ConnectOptions::new(url);
        opts.sqlx_logging(false)
            .max_connections(16)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
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

    pub async fn migrate(&self) -> Result<()> {
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

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
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
