//! The caller's handle on the database. Every read and write goes through
//! one, made from the caller's [`Ctx`]: queries add the tenant `WHERE`, and
//! on PostgreSQL each transaction carries the caller's regions for
//! row-level security, the second wall.

use crate::{Db, Result, dialect};
use kpss_domain::access::{Ctx, Grant};
use sea_orm::{DatabaseExecutor, DatabaseTransaction, DbErr, TransactionTrait};
use std::sync::Arc;

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
    /// PostgreSQL: the reads of one handle (one request) share a transaction
    /// that carries the caller's scope, as PostGraphile does; it is never
    /// committed, as it only reads. A failure to open it stays: an
    /// unreachable database costs a request one connection timeout, not one
    /// per resolver.
    reads: tokio::sync::OnceCell<Result<DatabaseTransaction, DbErr>>,
}

impl Scoped {
    pub(crate) fn new(db: Db, ctx: Ctx, shared: bool) -> Self {
        Self(Arc::new(Inner {
            db,
            ctx,
            shared,
            reads: tokio::sync::OnceCell::new(),
        }))
    }

    pub fn ctx(&self) -> &Ctx {
        &self.0.ctx
    }

    pub(crate) fn db(&self) -> &Db {
        &self.0.db
    }

    /// Where reads run: the pool on SQLite (each statement sees the latest
    /// commit); on PostgreSQL the handle's read transaction (read committed:
    /// each statement sees the latest commit too).
    pub(crate) async fn reader(&self) -> Result<DatabaseExecutor<'_>> {
        let conn = &self.0.db.conn;
        if !self.0.db.dialect().has_row_level_security() {
            return Ok(conn.into());
        }
        if !self.0.shared {
            return Ok(DatabaseExecutor::OwnedTransaction(self.begin_read().await?));
        }
        let opened = self
            .0
            .reads
            .get_or_init(|| async {
                self.begin_read().await.map_err(|e| match e {
                    crate::Error::Db(e) => e,
                    e => DbErr::Custom(e.to_string()),
                })
            })
            .await;
        match opened {
            Ok(txn) => Ok(txn.into()),
            Err(e) => Err(e.clone().into()),
        }
    }

    async fn begin_read(&self) -> Result<DatabaseTransaction> {
        let txn = self.0.db.conn.begin().await?;
        dialect::set_scope(&txn, &self.0.ctx.read, &Grant::default()).await?;
        Ok(txn)
    }

    /// A write transaction with the caller's read and write scope, and the
    /// writer's turn, to hold until the transaction ends.
    pub(crate) async fn begin_write(&self) -> Result<(DatabaseTransaction, WriterTurn)> {
        let turn = self.0.db.writer_turn().await;
        let txn = self
            .0
            .db
            .conn
            .begin_with_options(dialect::write_options())
            .await?;
        dialect::set_scope(&txn, &self.0.ctx.read, &self.0.ctx.write).await?;
        Ok((txn, turn))
    }
}
