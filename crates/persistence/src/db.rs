//! Connecting, migrating and checking the database.

use crate::Result;
use kpss_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

    /// A transaction that takes the write lock at once on SQLite (so two
    /// writers never deadlock upgrading read locks); plain BEGIN on PostgreSQL.
    pub(crate) async fn begin_write(&self) -> Result<sea_orm::DatabaseTransaction> {
        use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(self.conn.begin_with_options(options).await?)
    }

    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.conn, None).await?;
        Ok(())
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
