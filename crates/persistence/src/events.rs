//! Change events for subscriptions. On PostgreSQL a change is a
//! `NOTIFY kpss_changes` sent inside the writing transaction, so it is
//! delivered only when that commits, to every service instance that
//! `LISTEN`s; on SQLite (one process) it is published in-process after commit.

use crate::{Db, Error, Result, dialect};
use kpss_domain::kind::{AuditAction, EntityKind};
use kpss_domain::region::RegionCode;
use sea_orm::{DatabaseTransaction, DbBackend};
use serde::{Deserialize, Serialize};

pub const CHANNEL: &str = "kpss_changes";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Queues `change` in the transaction (PostgreSQL delivers it on commit).
pub(crate) async fn queue(txn: &DatabaseTransaction, change: &Change) -> Result<()> {
    let payload = serde_json::to_string(change)
        .map_err(|e| Error::Data(format!("cannot encode a change: {e}")))?;
    dialect::notify(txn, CHANNEL, payload).await
}

/// After commit: publishes in-process where the database does not.
pub(crate) fn committed(db: &Db, change: Change) {
    if db.backend() != DbBackend::Postgres {
        let _ = db.events.send(change);
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

    /// On PostgreSQL, forwards `NOTIFY kpss_changes` of every instance to this
    /// instance's subscribers (reconnecting when the connection drops).
    pub async fn listen_for_changes(&self, url: &str) -> Result<()> {
        if self.backend() != DbBackend::Postgres {
            return Ok(());
        }
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url)
            .await
            .map_err(|e| sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?;
        listener
            .listen(CHANNEL)
            .await
            .map_err(|e| sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?;
        let events = self.events.clone();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => match serde_json::from_str::<Change>(n.payload()) {
                        Ok(change) => {
                            let _ = events.send(change);
                        }
                        Err(e) => tracing::warn!(error = %e, "unreadable change notification"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener lost its connection; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }
}
