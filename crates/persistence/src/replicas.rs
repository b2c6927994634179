//! A PostgreSQL primary and its hot standbys (streaming replication): reads
//! of queries go to a standby, writes and every read of a request that
//! writes to the primary.
//!
//! - **Read-your-writes.** After a write commits, the caller's position in
//!   the primary's write-ahead log (`pg_current_wal_lsn()`, read after the
//!   commit) is kept per token subject in `write_position` on the primary,
//!   where every instance finds it. A later read of a caller that may write
//!   looks it up (one primary-key read on the primary; a caller that may
//!   not write has no position and reads no row) and goes to a standby that
//!   has replayed that far; it waits up to [`Replicas::wait`] for one (the
//!   waiting reads of an instance ask the standbys once every [`POLL`]
//!   together), then reads from the primary. It needs nothing from the client.
//! - **Exact cache.** A request reads its data version on the server its
//!   data comes from, before the data: a standby that lags gives an older
//!   version with its older data, never a current version over old data.
//! - **Faults.** A watcher probes every server each [`TICK`]: a standby that
//!   does not answer within [`PROBE_TIMEOUT`], or lags more than
//!   [`Replicas::max_lag`] behind the primary, leaves the rotation (a log
//!   line, `kpss_db_replica_up`) and comes back when it answers and catches
//!   up. A read that cannot open its transaction on a standby runs on the
//!   primary within the same request. When the primary does not answer or
//!   is in recovery, the server that is no longer in recovery (a promoted
//!   standby) becomes the primary, without a restart.

use crate::error::Result;
use crate::{Db, Pool, Scoped, dialect, version};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How often the watcher probes every server.
pub const TICK: Duration = Duration::from_millis(250);
/// How often a read waiting for a standby to replay its caller's write asks.
pub const POLL: Duration = Duration::from_millis(5);
/// How long a probe, a connection or a pooled connection may take on a
/// standby: a dead one costs a read at most this before the primary serves it.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The read replicas of a deployment.
#[derive(Debug, Clone, Default)]
pub struct Replicas {
    /// URLs of hot standbys of the primary, as the service's own role.
    pub urls: Vec<String>,
    /// How long a read waits for a standby to replay its caller's latest
    /// write before it reads from the primary.
    pub wait: Duration,
    /// A standby further behind the primary than this leaves the rotation.
    pub max_lag: Duration,
}

/// One database server and its pool.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) url: String,
    pub(crate) conn: DatabaseConnection,
    /// Data-version reads shared by concurrent requests on this server.
    pub(crate) versions: Arc<version::Shared>,
    health: Mutex<Health>,
}

/// What the watcher last found of a server as a standby.
#[derive(Debug, Clone, Copy, Default)]
struct Health {
    /// Answers, is in recovery, and is not too far behind: in the rotation.
    serving: bool,
    /// How far it has replayed the primary's log (bytes).
    replay: i64,
    lag: Duration,
}

impl Server {
    pub(crate) fn new(url: &str, conn: DatabaseConnection, pool: Pool) -> Arc<Self> {
        Arc::new(Self {
            url: url.to_owned(),
            conn,
            versions: Arc::new(version::Shared::new(pool.size)),
            health: Mutex::default(),
        })
    }

    fn health(&self) -> Health {
        *self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes how far the standby has replayed, leaving the rest to the watcher.
    fn replayed(&self, replay: i64) {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        h.replay = h.replay.max(replay);
    }

    fn set_health(&self, new: Health, index: usize) {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if h.serving != new.serving {
            if new.serving {
                tracing::info!(replica = index, "read replica back in rotation");
            } else {
                tracing::warn!(replica = index, lag = ?new.lag, "read replica out of rotation");
            }
        }
        *h = new;
    }
}

/// The servers of one database: the primary and its standbys.
#[derive(Debug)]
pub(crate) struct Servers {
    /// `DATABASE_URL` first, then the replicas; any of them may be the primary.
    list: Vec<Arc<Server>>,
    primary: AtomicUsize,
    next: AtomicUsize,
    wait: Duration,
    max_lag: Duration,
    /// Times a standby became the primary.
    switches: AtomicU64,
    /// Held by the one waiting read that asks the standbys how far they are.
    polling: tokio::sync::Mutex<()>,
}

impl Servers {
    pub(crate) fn one(server: Arc<Server>) -> Self {
        Self::new(vec![server], &Replicas::default())
    }

    pub(crate) fn new(list: Vec<Arc<Server>>, replicas: &Replicas) -> Self {
        Self {
            list,
            primary: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            wait: replicas.wait,
            max_lag: replicas.max_lag,
            switches: AtomicU64::new(0),
            polling: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn all(&self) -> &[Arc<Server>] {
        &self.list
    }

    pub(crate) fn primary_index(&self) -> usize {
        self.primary.load(Ordering::Acquire)
    }

    pub(crate) fn primary(&self) -> &Arc<Server> {
        &self.list[self.primary_index()]
    }

    pub(crate) fn get(&self, index: usize) -> &Arc<Server> {
        &self.list[index]
    }

    pub(crate) fn has_replicas(&self) -> bool {
        self.list.len() > 1
    }

    /// A standby in rotation that has replayed at least `position`, taken in turn.
    fn standby_at(&self, position: i64) -> Option<usize> {
        let primary = self.primary_index();
        let ready: Vec<usize> = (0..self.list.len())
            .filter(|&i| {
                let h = self.list[i].health();
                i != primary && h.serving && h.replay >= position
            })
            .collect();
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        (!ready.is_empty()).then(|| ready[turn % ready.len()])
    }

    /// Takes standby `index` out of the rotation until the watcher finds it well.
    pub(crate) fn failed(&self, index: usize) {
        if index != self.primary_index() {
            let server = &self.list[index];
            let h = server.health();
            server.set_health(
                Health {
                    serving: false,
                    ..h
                },
                index,
            );
        }
    }
}

/// The pool options of a standby: short timeouts, and no connection made
/// before the first read (a standby that is down does not stop a start).
pub(crate) fn connect_options(url: &str, pool: Pool) -> Result<ConnectOptions> {
    let mut opts = crate::dialect::connect_options(url, pool)?;
    opts.connect_timeout(PROBE_TIMEOUT)
        .acquire_timeout(PROBE_TIMEOUT)
        .connect_lazy(true);
    Ok(opts)
}

/// The server whose reads a request of `s` uses: the primary unless a
/// standby in rotation has replayed the caller's latest write.
pub(crate) async fn for_reads(s: &Scoped) -> usize {
    let servers = &s.db().servers;
    if !servers.has_replicas() {
        return servers.primary_index();
    }
    let ctx = s.ctx();
    // A caller that cannot write has no writes to wait for.
    let position = if ctx.write.is_empty() {
        0
    } else {
        match position_of(s.db(), &ctx.subject).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the caller's write position; reading from the primary");
                return servers.primary_index();
            }
        }
    };
    if let Some(i) = servers.standby_at(position) {
        return i;
    }
    let deadline = Instant::now() + servers.wait;
    while Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        // One waiting read at a time asks the standbys how far they are; the
        // others take its answer, so waiting readers cost no more probes.
        if let Ok(_polling) = servers.polling.try_lock() {
            for (i, server) in servers.all().iter().enumerate() {
                if server.health().serving
                    && i != servers.primary_index()
                    && let Ok(Some((true, replay))) = probe(server, STANDBY).await
                {
                    server.replayed(replay);
                }
            }
        }
        if let Some(i) = servers.standby_at(position) {
            return i;
        }
    }
    servers.primary_index()
}

/// After a write of `s` committed: where the caller's writes end now.
pub(crate) async fn wrote(s: &Scoped) {
    let db = s.db();
    if !db.servers.has_replicas() {
        return;
    }
    let recorded = db
        .conn()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            RECORD_POSITION,
            [s.ctx().subject.clone().into()],
        ))
        .await;
    if let Err(e) = recorded {
        // The write stands; the caller's next reads may come from a standby
        // that has not replayed it yet.
        tracing::warn!(error = %e, "cannot record the caller's write position");
    }
}

const RECORD_POSITION: &str = "INSERT INTO write_position (subject, lsn) \
    VALUES ($1, (pg_current_wal_lsn() - '0/0')::bigint) \
    ON CONFLICT (subject) DO UPDATE SET lsn = GREATEST(write_position.lsn, EXCLUDED.lsn)";

async fn position_of(db: &Db, subject: &str) -> Result<i64, DbErr> {
    let sql = "SELECT lsn FROM write_position WHERE subject = $1";
    let lsn = dialect::postgres_value(db.conn(), sql, vec![subject.into()]).await?;
    Ok(lsn.unwrap_or(0))
}

/// Whether a server is in recovery, and how far it has replayed (a standby)
/// or written (the primary) its log.
const STANDBY: &str = "SELECT pg_is_in_recovery(), \
    COALESCE((pg_last_wal_replay_lsn() - '0/0')::bigint, 0)";
const PRIMARY: &str = "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN 0 \
    ELSE (pg_current_wal_lsn() - '0/0')::bigint END";

/// `None` when the server did not answer in time.
async fn probe(server: &Server, sql: &str) -> Result<Option<(bool, i64)>, DbErr> {
    let stmt = Statement::from_string(DbBackend::Postgres, sql);
    let Ok(answer) = tokio::time::timeout(PROBE_TIMEOUT, server.conn.query_one_raw(stmt)).await
    else {
        return Ok(None);
    };
    let Some(row) = answer? else {
        return Ok(None);
    };
    Ok(Some((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
}

/// Starts the watcher of `db`'s servers; it ends with the last handle on them.
pub(crate) fn watch(db: &Db) {
    let servers = Arc::downgrade(&db.servers);
    tokio::spawn(async move {
        let mut log = Log::default();
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(servers) = Weak::upgrade(&servers) else {
                return;
            };
            tick(&servers, &mut log).await;
        }
    });
}

/// The primary's log position over the last `max_lag`, to tell how far
/// behind in time a standby's replay is.
#[derive(Default)]
struct Log {
    written: VecDeque<(Instant, i64)>,
}

impl Log {
    fn note(&mut self, at: Instant, position: i64, keep: Duration) {
        self.written.push_back((at, position));
        while self
            .written
            .front()
            .is_some_and(|(t, _)| at.duration_since(*t) > keep + TICK)
        {
            self.written.pop_front();
        }
    }

    /// How long ago the primary had written no more than `replay` last
    /// (zero when the standby has replayed all it knows of).
    fn lag(&self, replay: i64, now: Instant) -> Duration {
        match self.written.back() {
            None => Duration::ZERO,
            Some(&(_, newest)) if replay >= newest => Duration::ZERO,
            Some(_) => self
                .written
                .iter()
                .rev()
                .find(|(_, p)| *p <= replay)
                .or(self.written.front())
                .map_or(Duration::ZERO, |(t, _)| now.duration_since(*t)),
        }
    }
}

async fn tick(servers: &Servers, log: &mut Log) {
    let now = Instant::now();
    let primary = servers.primary_index();
    match probe(servers.get(primary), PRIMARY).await {
        Ok(Some((false, written))) => log.note(now, written, servers.max_lag),
        _ => promoted(servers, primary).await,
    }
    for (i, server) in servers.all().iter().enumerate() {
        if i == servers.primary_index() {
            continue;
        }
        let health = match probe(server, STANDBY).await {
            Ok(Some((true, replay))) => {
                let lag = log.lag(replay, now);
                Health {
                    serving: lag <= servers.max_lag,
                    replay,
                    lag,
                }
            }
            // Not answering, or no longer a standby.
            _ => Health::default(),
        };
        server.set_health(health, i);
    }
}

/// The primary `failed` does not answer or is in recovery: the first
/// server that answers and is not in recovery takes its place.
async fn promoted(servers: &Servers, failed: usize) {
    for (i, server) in servers.all().iter().enumerate() {
        if i == failed {
            continue;
        }
        if let Ok(Some((false, _))) = probe(server, PRIMARY).await {
            servers.primary.store(i, Ordering::Release);
            servers.switches.fetch_add(1, Ordering::Relaxed);
            server.set_health(Health::default(), i);
            tracing::warn!(from = failed, to = i, "the primary changed");
            return;
        }
    }
}

/// A standby's state for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaState {
    /// Its place in `KPSS_READ_DATABASE_URLS`, from 1 (0 is `DATABASE_URL`).
    pub index: usize,
    pub serving: bool,
    pub lag: Duration,
}

impl Db {
    /// The standbys and whether each serves reads now.
    pub fn replicas(&self) -> Vec<ReplicaState> {
        let servers = &self.servers;
        (0..servers.list.len())
            .filter(|&i| servers.has_replicas() && i != servers.primary_index())
            .map(|index| {
                let h = servers.list[index].health();
                ReplicaState {
                    index,
                    serving: h.serving,
                    lag: h.lag,
                }
            })
            .collect()
    }

    /// Times a standby has become the primary since start.
    pub fn primary_switches(&self) -> u64 {
        self.servers.switches.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_newest_primary_position_replayed() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut log = Log::default();
        for (k, p) in [100, 200, 300, 400].into_iter().enumerate() {
            log.note(t0 + s * k as u32, p, Duration::from_secs(60));
        }
        let now = t0 + s * 4;
        assert_eq!(log.lag(400, now), Duration::ZERO);
        assert_eq!(log.lag(450, now), Duration::ZERO);
        assert_eq!(log.lag(300, now), s * 2);
        assert_eq!(log.lag(250, now), s * 3);
        // Older than anything kept: at least as old as the oldest entry.
        assert_eq!(log.lag(50, now), s * 4);
    }

    #[test]
    fn the_log_keeps_only_what_the_lag_bound_needs() {
        let t0 = Instant::now();
        let mut log = Log::default();
        for k in 0..100u32 {
            log.note(t0 + TICK * k, i64::from(k), Duration::from_secs(1));
        }
        assert!(log.written.len() <= 6, "{}", log.written.len());
    }
}
