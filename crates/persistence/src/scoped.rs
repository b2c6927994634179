//! The caller's handle on the database. Every read and write goes through
//! one, made from the caller's [`Ctx`]: queries add the tenant `WHERE`, and
//! on PostgreSQL each transaction carries the caller's regions for
//! row-level security, the second wall.

use crate::replicas::Server;
use crate::{Db, Result, dialect, replicas};
use kpss_domain::access::{Ctx, Grant};
use sea_orm::{DatabaseExecutor, DatabaseTransaction, DbErr, TransactionTrait};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Clone)]
pub struct Scoped(Arc<Inner>);

/// A writer's place at the head of the queue (`Db::writer_turn`), held
/// until its transaction ends.
pub(crate) type WriterTurn = Option<tokio::sync::OwnedMutexGuard<()>>;

struct Inner {
    db: Db,
    ctx: Ctx,
    /// Whether reads share one transaction (a request) or each runs in its
    /// own (a handle as long-lived as a subscription).
    shared: bool,
    /// Whether reads run on the primary (a request that writes) or where
    /// [`replicas::for_reads`] sends them.
    on_primary: bool,
    /// The server of the reads, chosen at the first read: the data version
    /// and the data come from the same server.
    chosen: tokio::sync::OnceCell<()>,
    server: AtomicUsize,
    /// PostgreSQL: the reads of one handle (one request) share a transaction
    /// that carries the caller's scope, as PostGraphile does; it is never
    /// committed, as it only reads. A failure to open it stays: an
    /// unreachable database costs a request one connection timeout, not one
    /// per resolver.
    reads: tokio::sync::OnceCell<Result<DatabaseTransaction, DbErr>>,
    /// Whether its reads show where records come from (most do not: the
    /// provenance is several times the rest of a record's text).
    provenance: AtomicBool,
}

impl Scoped {
    pub(crate) fn new(db: Db, ctx: Ctx, shared: bool, on_primary: bool) -> Self {
        Self(Arc::new(Inner {
            db,
            ctx,
            shared,
            on_primary,
            chosen: tokio::sync::OnceCell::new(),
            server: AtomicUsize::new(0),
            reads: tokio::sync::OnceCell::new(),
            provenance: AtomicBool::new(true),
        }))
    }

    pub fn ctx(&self) -> &Ctx {
        &self.0.ctx
    }

    /// Its reads from now on leave the provenance of records unread (a
    /// request whose document asks for none).
    pub fn leave_provenance_unread(&self) {
        self.0.provenance.store(false, Ordering::Relaxed);
    }

    pub(crate) fn shows_provenance(&self) -> bool {
        self.0.provenance.load(Ordering::Relaxed)
    }

    pub(crate) fn db(&self) -> &Db {
        &self.0.db
    }

    /// Where reads run: the pool on SQLite (each statement sees the latest
    /// commit); on PostgreSQL the handle's read transaction (read committed:
    /// each statement sees the latest commit too).
    pub(crate) async fn reader(&self) -> Result<DatabaseExecutor<'_>> {
        Ok(self.reader_naming(None).await?.0)
    }

    /// [`Scoped::reader`]; where the statement that opens the read
    /// transaction is still to run, it also reads the regions `named`
    /// covers, as (code, kraj) pairs (see [`dialect::set_scope`]). `None`
    /// where they are still to read.
    pub(crate) async fn reader_naming(
        &self,
        named: Option<&Grant>,
    ) -> Result<(DatabaseExecutor<'_>, Option<dialect::Regions>)> {
        let db = &self.0.db;
        if !db.dialect().has_row_level_security() {
            return Ok((db.conn().into(), None));
        }
        if !self.0.shared {
            let primary = db.servers.primary();
            let (txn, found) = self.begin_read(primary, named).await?;
            return Ok((DatabaseExecutor::OwnedTransaction(txn), found));
        }
        let mut found = None;
        let opened = self
            .0
            .reads
            .get_or_init(|| async {
                let mut opened = self.begin_read(self.server().await, named).await;
                // A standby that fails leaves the rotation; the primary reads instead.
                if opened.is_err() && self.fall_back() {
                    opened = self.begin_read(self.server().await, named).await;
                }
                match opened {
                    Ok((txn, regions)) => {
                        found = regions;
                        Ok(txn)
                    }
                    Err(crate::Error::Db(e)) => Err(e),
                    Err(e) => Err(DbErr::Custom(e.to_string())),
                }
            })
            .await;
        match opened {
            Ok(txn) => Ok((txn.into(), found)),
            Err(e) => Err(e.clone().into()),
        }
    }

    /// The server of this handle's reads (see [`replicas::for_reads`]).
    pub(crate) async fn server(&self) -> &Arc<Server> {
        let inner = &self.0;
        inner
            .chosen
            .get_or_init(|| async {
                let index = if inner.on_primary {
                    inner.db.servers.primary_index()
                } else {
                    replicas::for_reads(self).await
                };
                inner.server.store(index, Ordering::Relaxed);
            })
            .await;
        inner.db.servers.get(inner.server.load(Ordering::Relaxed))
    }

    /// After the chosen standby failed: takes it out of the rotation and
    /// reads from the primary from now on; false when the primary failed.
    pub fn fall_back(&self) -> bool {
        let servers = &self.0.db.servers;
        let failed = self.0.server.load(Ordering::Relaxed);
        let primary = servers.primary_index();
        if failed == primary {
            return false;
        }
        servers.failed(failed);
        self.0.server.store(primary, Ordering::Relaxed);
        true
    }

    async fn begin_read(
        &self,
        server: &Server,
        named: Option<&Grant>,
    ) -> Result<(DatabaseTransaction, Option<dialect::Regions>)> {
        let txn = server.conn.begin().await?;
        let found = dialect::set_scope(&txn, &self.0.ctx.read, &Grant::default(), named).await?;
        Ok((txn, found))
    }

    /// A write transaction with the caller's read and write scope, and the
    /// writer's turn, to hold until the transaction ends.
    pub(crate) async fn begin_write(&self) -> Result<(DatabaseTransaction, WriterTurn)> {
        let turn = self.0.db.writer_turn().await;
        let txn = self
            .0
            .db
            .conn()
            .begin_with_options(dialect::write_options())
            .await?;
        dialect::set_scope(&txn, &self.0.ctx.read, &self.0.ctx.write, None).await?;
        Ok((txn, turn))
    }
}
