//! Change events for subscriptions. The audit log is the change feed: on
//! PostgreSQL a write inserts its audit entry (a tenant table under
//! row-level security) and, once committed, sends `NOTIFY kpss_audit` with
//! only the entries' ids; every instance `LISTEN`s and, when notified, reads
//! the entries it has not forwarded yet, as the service, and forwards their
//! changes (an instance without subscriptions only notes their ids). A
//! notification that is never sent (the writer stopped between its commit
//! and the notification) delays its changes until the next one: each read
//! takes every entry not forwarded yet. Any role that can log in may listen
//! or notify on a channel: it learns only numbers, and a forged
//! notification brings only what is in the log. On SQLite (one process) a
//! change is published in-process after commit.

use crate::dialect::Dialect;
use crate::entity::audit_entry;
use crate::scoped::Scoped;
use crate::{Db, Result, dialect, version};
use chrono::{DateTime, Utc};
use kpss_domain::EntityKind;
use kpss_domain::access::Ctx;
use kpss_domain::kind::AuditAction;
use kpss_domain::region::RegionCode;
use sea_orm::sea_query::{InsertStatement, UpdateStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use std::collections::BTreeSet;
use std::time::Duration;

/// The channel of audit entries' ids (`kpss_changes`, which instances of
/// earlier releases listen on, carried the numbers of `change_event` rows:
/// another channel keeps the two apart while both kinds of instance run).
pub const CHANNEL: &str = "kpss_audit";

/// How far below the highest forwarded number a missing one is still waited
/// for; also the most entries one read of the log returns.
const WINDOW: i64 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub region: RegionCode,
    pub plan_id: Option<i64>,
    pub entity: EntityKind,
    pub entity_id: i64,
    pub action: AuditAction,
    pub actor: String,
    /// Seconds since the epoch.
    pub at: i64,
}

/// A change recorded in a writing transaction, to publish once it commits.
#[derive(Debug)]
pub(crate) struct Recorded {
    change: Change,
    /// Its audit entry's id, where the database carries changes to every
    /// instance (the notification names it).
    entry: Option<i64>,
}

/// Records `change` in its writing transaction: the record's update
/// (`update`, where the change has one; it applies only at the version it
/// expects), its search entry (`own_entry`), its audit entry `entry` and the
/// region's data version (where the database carries changes to every
/// instance, in one statement). `None` when the update found no row: the
/// caller then rolls back.
pub(crate) async fn record(
    txn: &DatabaseTransaction,
    change: Change,
    update: Option<UpdateStatement>,
    own_entry: InsertStatement,
    entry: audit_entry::ActiveModel,
) -> Result<Option<Recorded>> {
    let bump = version::raise(change.region.as_str(), version::next_shard());
    let audit = audit_entry::Entity::insert(entry).into_query();
    if Dialect::of(txn).notifies_changes() {
        let entry = dialect::record_change(txn, update, own_entry, audit, bump).await?;
        return Ok(entry.map(|id| Recorded {
            change,
            entry: Some(id),
        }));
    }
    if let Some(update) = update
        && txn.execute(&update).await?.rows_affected() == 0
    {
        return Ok(None);
    }
    for statement in [own_entry, audit, bump] {
        txn.execute(&statement).await?;
    }
    Ok(Some(Recorded {
        change,
        entry: None,
    }))
}

/// What the listener reads of an audit entry: its id and change.
#[derive(FromQueryResult)]
struct Logged {
    id: i64,
    region_code: String,
    plan_id: Option<i64>,
    entity: String,
    entity_id: i64,
    action: String,
    actor: String,
    at: DateTime<Utc>,
}

impl Logged {
    fn change(self) -> Result<Change> {
        Ok(Change {
            region: RegionCode::parse("region", &self.region_code)?,
            plan_id: self.plan_id,
            entity: crate::columns::parse(&self.entity)?,
            entity_id: self.entity_id,
            action: crate::columns::parse(&self.action)?,
            actor: self.actor,
            at: self.at.timestamp(),
        })
    }
}

/// The most ids one notification names: its payload stays under
/// PostgreSQL's 8,000 bytes.
const NOTIFIED_AT_ONCE: usize = 400;

/// The ids of committed audit entries not notified yet, and the turn to
/// notify: the writer whose turn comes sends every id waiting then, its
/// own and those of writers that committed meanwhile (who then find theirs sent).
#[derive(Debug, Default)]
pub(crate) struct Unnotified {
    ids: std::sync::Mutex<Vec<i64>>,
    turn: tokio::sync::Mutex<()>,
}

impl Unnotified {
    fn ids(&self) -> std::sync::MutexGuard<'_, Vec<i64>> {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// After commit: notifies every instance of the entries where the database
/// carries changes, else publishes the changes in-process. The write stands
/// whatever happens here.
pub(crate) async fn committed(db: &Db, recorded: Vec<Recorded>) {
    if !db.dialect().notifies_changes() {
        for r in recorded {
            let _ = db.events.send(r.change);
        }
        return;
    }
    let waiting = &db.unnotified;
    waiting
        .ids()
        .extend(recorded.iter().filter_map(|r| r.entry));
    let _turn = waiting.turn.lock().await;
    let ids = std::mem::take(&mut *waiting.ids());
    for ids in ids.chunks(NOTIFIED_AT_ONCE) {
        let payload = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        if let Err(e) = dialect::notify(db.conn(), CHANNEL, &payload).await {
            tracing::warn!(error = %e, "cannot notify the listeners of a change; the next notification brings it");
        }
    }
}

impl Db {
    /// Changes committed from now on, in every region (subscribers filter by scope).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.events.subscribe()
    }

    /// Subscriptions of this instance listening for changes now.
    pub fn subscribers(&self) -> usize {
        self.events.receiver_count()
    }

    /// On PostgreSQL, forwards the changes of every instance, written from
    /// now on, to this instance's subscribers (reconnecting when the
    /// connection drops, to the server that is the primary then).
    pub async fn listen_for_changes(&self) -> Result<()> {
        if !self.dialect().notifies_changes() {
            return Ok(());
        }
        let mut listener = dialect::listener(&self.servers.primary().url, CHANNEL).await?;
        // Changes from here on reach subscribers; when the database cannot say
        // where "here" is yet, the service starts anyway and asks again
        // (notifications queue up meanwhile).
        let first = Feed::from_now(self).await;
        let db = self.clone();
        tokio::spawn(async move {
            let mut feed = match first {
                Ok(feed) => feed,
                Err(mut e) => loop {
                    tracing::warn!(error = %e, "cannot read the newest change; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match Feed::from_now(&db).await {
                        Ok(feed) => break feed,
                        Err(again) => e = again,
                    }
                },
            };
            loop {
                match listener.try_recv().await {
                    // A notification, or a lost connection (whose notifications
                    // are lost): either way, read what is new.
                    Ok(first) => {
                        // One read serves every notification already here.
                        let mut notified = BTreeSet::new();
                        let mut lost = first.is_none();
                        let buffered = std::iter::from_fn(|| listener.next_buffered());
                        for n in first.into_iter().chain(buffered) {
                            for id in n.payload().split(',') {
                                match id.parse::<i64>() {
                                    Ok(id) => _ = notified.insert(id),
                                    Err(_) => lost = true,
                                }
                            }
                        }
                        let done = if !lost && db.subscribers() == 0 {
                            feed.pass(&notified).await
                        } else {
                            feed.forward().await
                        };
                        if let Err(e) = done {
                            tracing::warn!(error = %e, "cannot read the changes");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener lost its connection; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        // The primary may be another server now.
                        match dialect::listener(&db.servers.primary().url, CHANNEL).await {
                            Ok(again) => {
                                listener = again;
                                if let Err(e) = feed.forward().await {
                                    tracing::warn!(error = %e, "cannot read the changes");
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot listen for changes yet"),
                        }
                    }
                }
            }
        });
        Ok(())
    }
}

/// What one instance's listener has forwarded. An id is drawn when a write
/// inserts its audit entry, just before it commits, so entries commit in
/// about the order of their ids, but not exactly: one below the highest
/// forwarded may still come (or never: a rolled-back write's id). Such gaps
/// are asked for again with every notification until they are `WINDOW`
/// behind.
struct Feed {
    /// The service reading every region.
    service: Scoped,
    forwarded: Forwarded,
}

/// The ids a listener has forwarded: all up to `top` but the `gaps`.
#[derive(Debug, Default, PartialEq)]
struct Forwarded {
    /// The highest id forwarded.
    top: i64,
    /// Ids below `top` not seen yet.
    gaps: BTreeSet<i64>,
}

impl Forwarded {
    /// Marks the ids `seen` as forwarded: the highest becomes the top and
    /// those missing below it are waited for, while `WINDOW` behind it.
    fn advance(&mut self, seen: &BTreeSet<i64>) {
        let top = seen.last().map_or(self.top, |&s| s.max(self.top));
        let oldest = top - WINDOW;
        self.gaps
            .extend((self.top.max(oldest) + 1..top).filter(|s| !seen.contains(s)));
        self.gaps.retain(|s| *s > oldest && !seen.contains(s));
        self.top = top;
    }
}

impl Feed {
    /// Starts after the newest entry: no history is replayed.
    async fn from_now(db: &Db) -> Result<Self> {
        let service = db.scoped_per_read(Ctx::system("change listener"));
        let newest: Option<Option<i64>> = audit_entry::Entity::find()
            .select_only()
            .column_as(audit_entry::Column::Id.max(), "m")
            .into_tuple()
            .one(&service.reader().await?)
            .await?;
        Ok(Self {
            service,
            forwarded: Forwarded {
                top: newest.flatten().unwrap_or(0),
                gaps: BTreeSet::new(),
            },
        })
    }

    /// Forwards the changes not forwarded yet, in the order of their ids, a
    /// window at a time.
    async fn forward(&mut self) -> Result<()> {
        use audit_entry::Column as A;
        loop {
            let rows: Vec<Logged> = audit_entry::Entity::find()
                .select_only()
                .columns([A::Id, A::RegionCode, A::PlanId, A::Entity, A::EntityId])
                .columns([A::Action, A::Actor, A::At])
                .filter(
                    Condition::any()
                        .add(A::Id.gt(self.forwarded.top))
                        .add(A::Id.is_in(self.forwarded.gaps.iter().copied())),
                )
                .order_by_asc(A::Id)
                .limit(WINDOW as u64)
                .into_model::<Logged>()
                .all(&self.service.reader().await?)
                .await?;
            let full = rows.len() as i64 == WINDOW;
            let seen: BTreeSet<i64> = rows.iter().map(|r| r.id).collect();
            for row in rows {
                let id = row.id;
                match row.change() {
                    Ok(change) => _ = self.service.db().events.send(change),
                    Err(e) => tracing::warn!(error = %e, id, "unreadable audit entry"),
                }
            }
            self.forwarded.advance(&seen);
            if !full {
                return Ok(());
            }
        }
    }

    /// With no subscriber on this instance: takes the notified ids as
    /// forwarded without reading their entries (a write then costs the
    /// instances that nobody listens to nothing). Any role may notify, so an
    /// id far above the highest forwarded is not believed: the entries are
    /// read instead.
    async fn pass(&mut self, notified: &BTreeSet<i64>) -> Result<()> {
        match notified.last() {
            Some(&newest) if newest > self.forwarded.top + WINDOW => self.forward().await,
            _ => {
                self.forwarded.advance(notified);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn an_id_missing_below_the_top_is_waited_for_until_it_comes() {
        let mut f = Forwarded {
            top: 10,
            gaps: ids(&[]),
        };
        f.advance(&ids(&[11, 13, 14]));
        assert_eq!((f.top, &f.gaps), (14, &ids(&[12])));
        f.advance(&ids(&[12]));
        assert_eq!((f.top, &f.gaps), (14, &ids(&[])));
    }

    #[test]
    fn a_gap_further_behind_than_the_window_is_given_up() {
        let mut f = Forwarded::default();
        f.advance(&ids(&[2]));
        assert_eq!(f.gaps, ids(&[1]));
        f.advance(&ids(&[WINDOW + 1]));
        assert_eq!(f.gaps, ids(&(3..=WINDOW).collect::<Vec<_>>()));
        f.advance(&ids(&[2 * WINDOW + 5]));
        assert!(
            f.gaps.iter().all(|g| *g > WINDOW + 5),
            "{:?}",
            f.gaps.first()
        );
        assert_eq!(f.gaps.len() as i64, WINDOW - 1);
    }

    #[test]
    fn nothing_seen_changes_nothing() {
        let mut f = Forwarded {
            top: 7,
            gaps: ids(&[5]),
        };
        f.advance(&ids(&[]));
        assert_eq!(
            f,
            Forwarded {
                top: 7,
                gaps: ids(&[5])
            }
        );
    }
}
