//! Each region's data version: raised in every transaction that changes the
//! region's data, read before a cached answer is used, so that an answer is
//! reused only while no write to any region it could show has committed, on
//! any instance.

use crate::dialect::Dialect;
use crate::entity::data_version;
use crate::{Result, Scoped};
use kpss_domain::access::Grant;
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, OnConflict};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryTrait, Set,
    TransactionTrait,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// Counters per region: concurrent writers of one region mostly update
/// different rows, so they do not wait for each other's commit.
const SHARDS: u16 = 8;

static NEXT_SHARD: AtomicU16 = AtomicU16::new(0);

/// The counter a write raises: writers take them in turn.
pub(crate) fn next_shard() -> i16 {
    (NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS) as i16
}

/// Raises `region`'s version within the writing transaction `c`.
pub(crate) async fn bump(c: &impl ConnectionTrait, region: &str) -> Result<()> {
    c.execute(&raise(region, next_shard())).await?;
    Ok(())
}

/// The statement that raises `region`'s counter `shard`.
pub(crate) fn raise(region: &str, shard: i16) -> InsertStatement {
    let am = data_version::ActiveModel {
        region_code: Set(region.to_owned()),
        shard: Set(shard),
        version: Set(1),
    };
    let raise = OnConflict::columns([
        data_version::Column::RegionCode,
        data_version::Column::Shard,
    ])
    .value(
        data_version::Column::Version,
        Expr::col((data_version::Entity, data_version::Column::Version)).add(1),
    )
    .to_owned();
    data_version::Entity::insert(am)
        .on_conflict(raise)
        .into_query()
}

/// The version of the data the caller may read: the sum of its regions'
/// counters, which rises with every commit that changes any of them. Read
/// before the data it guards (each later read sees at least this state).
/// Callers of one scope share reads (see [`Shared`]).
/// The version is read on the server the handle's data comes from.
pub async fn of(s: &Scoped) -> Result<i64> {
    let scope = &s.ctx().read;
    let server = s.server().await;
    match server.versions.of(&server.conn, scope).await {
        Err(_) if s.fall_back() => {
            let primary = s.server().await;
            Ok(primary.versions.of(&primary.conn, scope).await?)
        }
        answer => Ok(answer?),
    }
}

async fn read(conn: &impl ConnectionTrait, read: &Grant) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(Dialect::of(conn).data_version(read))
        .await?;
    Ok(row
        .map(|r| r.try_get_by_index::<Option<i64>>(0))
        .transpose()?
        .flatten()
        .unwrap_or(0))
}

/// Version reads shared by the concurrent callers of one scope. A caller
/// waits for a read that starts after it asked, so it sees every commit
/// acknowledged before it asked, as a read of its own would; every caller
/// waiting when a read starts takes its answer. One read per scope runs at
/// a time, so at most one round trip stands between a caller and its version.
#[derive(Debug)]
pub(crate) struct Shared {
    scopes: Mutex<HashMap<Grant, Scope>>,
    /// Permits of the runs that may hold a transaction (see [`Held`]) at
    /// once, a quarter of the pool (none of a pool under 4): the runs of
    /// more busy scopes than that read through the pool, so they never hold
    /// every connection.
    holders: Arc<Semaphore>,
}

type Answer = watch::Sender<Option<Result<i64, DbErr>>>;

#[derive(Debug, Default)]
struct Scope {
    /// The callers waiting for the next read, once one is running.
    next: Option<Answer>,
}

impl Shared {
    pub(crate) fn new(pool_size: u32) -> Self {
        Self {
            scopes: Mutex::default(),
            holders: Arc::new(Semaphore::new(pool_size as usize / 4)),
        }
    }

    async fn of(self: &Arc<Self>, conn: &DatabaseConnection, scope: &Grant) -> Result<i64, DbErr> {
        let (mut answer, start) = {
            let mut scopes = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
            match scopes.get_mut(scope) {
                // A read is running: wait for the one after it.
                Some(running) => {
                    let next = running.next.get_or_insert_with(|| watch::channel(None).0);
                    (next.subscribe(), None)
                }
                None => {
                    scopes.insert(scope.clone(), Scope::default());
                    let (tx, rx) = watch::channel(None);
                    (rx, Some(tx))
                }
            }
        };
        if let Some(first) = start {
            // Apart from the caller, so a caller that goes away leaves the others their answer.
            tokio::spawn(reads(self.clone(), conn.clone(), scope.clone(), first));
        }
        let answered = answer
            .wait_for(Option::is_some)
            .await
            .map_err(|_| DbErr::Custom("the version read stopped".into()))?;
        answered.clone().unwrap_or(Ok(0))
    }
}

/// Reads the scope's version for `batch`, then for the callers who came
/// meanwhile, until none is waiting.
async fn reads(shared: Arc<Shared>, conn: DatabaseConnection, scope: Grant, mut batch: Answer) {
    let mut held = Held::default();
    loop {
        let answer = match held.transaction(&conn, &shared.holders).await {
            Ok(Some(t)) => read(t, &scope).await,
            Ok(None) => read(&conn, &scope).await,
            Err(e) => Err(e),
        };
        let failed = answer.is_err();
        batch.send_replace(Some(answer.clone()));
        let mut scopes = shared.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        match scopes.get_mut(&scope).and_then(|s| s.next.take()) {
            // A failure cannot be stale: those who came meanwhile take it
            // too, rather than wait out a second timeout of a database that is gone.
            Some(next) if failed => {
                next.send_replace(Some(answer));
                scopes.remove(&scope);
                return;
            }
            Some(next) => batch = next,
            None => {
                scopes.remove(&scope);
                return;
            }
        }
    }
}

/// Where a run of version reads goes (a busy scope's run lasts as long as
/// callers keep coming): where each statement of a transaction sees the
/// latest commit, one transaction for up to a second, which spares each read
/// a checkout of the pool and the ping of its return; elsewhere, or
/// without a permit of `Shared::holders`, the pool.
#[derive(Default)]
struct Held(Option<(DatabaseTransaction, Instant, OwnedSemaphorePermit)>);

/// How long one transaction serves a run of reads.
const HELD_FOR: Duration = Duration::from_secs(1);

impl Held {
    /// The transaction of the next read; `None` where reads go to the pool.
    async fn transaction(
        &mut self,
        conn: &DatabaseConnection,
        holders: &Arc<Semaphore>,
    ) -> Result<Option<&DatabaseTransaction>, DbErr> {
        if !Dialect::of(conn).sees_later_commits_in_a_transaction() {
            return Ok(None);
        }
        if self
            .0
            .as_ref()
            .is_none_or(|(_, opened, _)| opened.elapsed() > HELD_FOR)
        {
            // The old one ends, and gives its connection and permit back, first.
            self.0 = None;
            let Ok(permit) = holders.clone().try_acquire_owned() else {
                return Ok(None);
            };
            self.0 = Some((conn.begin().await?, Instant::now(), permit));
        }
        Ok(self.0.as_ref().map(|(t, _, _)| t))
    }
}
