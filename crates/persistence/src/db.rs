//! Connecting, migrating and checking the database.

use crate::Result;
use crate::dialect::{self, Dialect};
use crate::replicas::{Replicas, Server, Servers};
use crate::scoped::{Scoped, WriterTurn};
use kpss_domain::access::Ctx;
use kpss_migrations::{Migrator, MigratorTrait};
use sea_orm::{Database, DatabaseConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Connection pools to SQLite or PostgreSQL, chosen by the URL: one server,
/// or a PostgreSQL primary with read replicas ([`Db::read_from`]).
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) servers: Arc<Servers>,
    statements: Arc<AtomicU64>,
    pub(crate) events: tokio::sync::broadcast::Sender<crate::events::Change>,
    /// The committed changes this instance has yet to notify (PostgreSQL).
    pub(crate) unnotified: Arc<crate::events::Unnotified>,
    /// The writers' queue where the engine takes one at a time (SQLite).
    writers: Arc<tokio::sync::Mutex<()>>,
}

/// How an instance connects to each database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// How long a PostgreSQL statement may run.
    pub statement_timeout: Duration,
    /// Connections per server. A few per CPU keep the CPUs busy; more only
    /// wait inside the database for them, and widen the latency's tail.
    pub size: u32,
}

impl Default for Pool {
    /// Ten seconds a statement; four connections per CPU of this instance,
    /// from 4 to 32.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            statement_timeout: Duration::from_secs(10),
            size: u32::try_from(4 * cpus).unwrap_or(u32::MAX).clamp(4, 32),
        }
    }
}

/// How many changes an instance keeps for the subscribers that are behind,
/// unless set (`Db::keeping_changes`).
pub const CHANGES_KEPT: usize = 1024;

impl Db {
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, Pool::default()).await
    }

    /// The same, pooled as `pool` says.
    pub async fn connect_with(url: &str, pool: Pool) -> Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let opts = dialect::connect_options(url, pool)?;
        let server = Server::new(
            url,
            counted(Database::connect(opts).await?, &statements),
            pool,
        );
        let (events, _) = tokio::sync::broadcast::channel(CHANGES_KEPT);
        Ok(Self {
            servers: Arc::new(Servers::one(server)),
            statements,
            events,
            unnotified: Arc::default(),
            writers: Arc::default(),
        })
    }

    /// The same database, keeping at most `changes` changes for the
    /// subscribers that are behind (1,024 unless set); to call before
    /// anything subscribes.
    pub fn keeping_changes(self, changes: usize) -> Self {
        let (events, _) = tokio::sync::broadcast::channel(changes.max(1));
        Self { events, ..self }
    }

    /// The same database with PostgreSQL hot standbys of it for reads (see
    /// [`crate::replicas`]); connecting to them waits for none.
    pub async fn read_from(self, replicas: &Replicas, pool: Pool) -> Result<Self> {
        if replicas.urls.is_empty() {
            return Ok(self);
        }
        if !self.dialect().streams_to_replicas() {
            return Err(crate::Error::Data(
                "read replicas need PostgreSQL (DATABASE_URL)".into(),
            ));
        }
        let mut servers = vec![self.servers.primary().clone()];
        for url in &replicas.urls {
            let opts = crate::replicas::connect_options(url, pool)?;
            let conn = Database::connect(opts).await?;
            servers.push(Server::new(url, counted(conn, &self.statements), pool));
        }
        let db = Self {
            servers: Arc::new(Servers::new(servers, replicas)),
            ..self
        };
        crate::replicas::watch(&db);
        Ok(db)
    }

    /// Whether queries may read from hot standbys.
    pub fn has_replicas(&self) -> bool {
        self.servers.has_replicas()
    }

    /// The pool of the server that takes writes now.
    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.servers.primary().conn
    }

    /// The one way to read and write: a handle carrying the caller's scope,
    /// for one request (its reads share a transaction on PostgreSQL).
    pub fn scoped(&self, ctx: Ctx) -> Scoped {
        Scoped::new(self.clone(), ctx, true, false)
    }

    /// The same for a request that writes: its reads, too, run on the primary.
    pub fn scoped_for_writes(&self, ctx: Ctx) -> Scoped {
        Scoped::new(self.clone(), ctx, true, true)
    }

    /// The same for a handle that lives as long as a connection (a
    /// subscription): each read runs in a transaction of its own, on the
    /// primary, where the changes it is told of are already visible.
    pub fn scoped_per_read(&self, ctx: Ctx) -> Scoped {
        Scoped::new(self.clone(), ctx, false, true)
    }

    /// Runs `f` under a PostgreSQL advisory lock, so that of several instances
    /// starting at once on an empty database exactly one migrates and seeds
    /// (the others wait, then find it done). SQLite runs `f` as it is.
    pub async fn exclusively<T, F>(&self, f: impl FnOnce() -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        if !self.dialect().is_shared() {
            return f().await;
        }
        let lock = dialect::prepare_lock(&self.servers.primary().url).await?;
        let out = f().await;
        lock.commit().await?;
        out
    }

    pub async fn migrate(&self) -> Result<()> {
        kpss_migrations::rename_applied(self.conn()).await?;
        Migrator::up(self.conn(), None).await?;
        crate::search::rebuild_when_empty(self.conn()).await
    }

    /// Run by the database's owner at every start: gives `role` (the
    /// service's own login role) exactly the rights it needs.
    pub async fn grant_service_role(&self, role: &str) -> Result<()> {
        crate::dialect::grant_service_role(self.conn(), role).await
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.conn().ping().await?;
        Ok(())
    }

    /// A PostgreSQL setting as the pool's connections have it (for the
    /// tests of the settings the pool asks for).
    pub async fn postgres_setting(&self, name: &str) -> Result<String> {
        let sql = "SELECT current_setting($1)";
        let value = dialect::postgres_value(self.conn(), sql, vec![name.into()]).await?;
        Ok(value.unwrap_or_default())
    }

    /// SQL statements run through this pool so far (for `/metrics`, and
    /// for the tests that prove resolvers batch).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Open and idle connections of the pool (for `/metrics`).
    pub fn pool_connections(&self) -> (u32, usize) {
        dialect::pool_connections(self.conn())
    }

    pub fn dialect(&self) -> Dialect {
        Dialect::of(self.conn())
    }

    /// Waits for this writer's turn where the engine takes one writer at a
    /// time; first come, first served.
    pub(crate) async fn writer_turn(&self) -> WriterTurn {
        if !self.dialect().queues_writers() {
            return None;
        }
        Some(self.writers.clone().lock_owned().await)
    }

    /// Closes every connection of the pools and waits until they are closed
    /// (SQLite then folds its write-ahead log into the database file).
    pub async fn close(self) -> Result<()> {
        for server in self.servers.all() {
            server.conn.clone().close().await?;
        }
        Ok(())
    }

    /// Whether no region has been loaded yet (a new database).
    pub async fn is_empty(&self) -> Result<bool> {
        use sea_orm::{EntityTrait, PaginatorTrait};
        Ok(crate::entity::region::Entity::find()
            .count(self.conn())
            .await?
            == 0)
    }
}

/// `conn`, counting its statements into `statements`.
fn counted(mut conn: DatabaseConnection, statements: &Arc<AtomicU64>) -> DatabaseConnection {
    let counter = statements.clone();
    conn.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    conn
}
