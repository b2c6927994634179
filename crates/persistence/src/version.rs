//! Each region's data version: raised in every transaction that changes the
//! region's data, read before a cached answer is used, so that an answer is
//! reused only while no write to any region it could show has committed, on
//! any instance.

use crate::dialect::Dialect;
use crate::entity::data_version;
use crate::{Result, Scoped};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use std::sync::atomic::{AtomicU16, Ordering};

/// Counters per region: concurrent writers of one region mostly update
/// different rows, so they do not wait for each other's commit.
const SHARDS: u16 = 8;

static NEXT_SHARD: AtomicU16 = AtomicU16::new(0);

/// Raises `region`'s version within the writing transaction `c`.
pub(crate) async fn bump(c: &impl ConnectionTrait, region: &str) -> Result<()> {
    let shard = (NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS) as i16;
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
        .exec_without_returning(c)
        .await?;
    Ok(())
}

/// The version of the data the caller may read: the sum of its regions'
/// counters, which rises with every commit that changes any of them. Read
/// before the data it guards (each later read sees at least this state).
pub async fn of(s: &Scoped) -> Result<i64> {
    let conn = &s.db().conn;
    let read = &s.ctx().read;
    let row = conn
        .query_one_raw(Dialect::of(conn).data_version(read))
        .await?;
    Ok(row
        .map(|r| r.try_get_by_index::<Option<i64>>(0))
        .transpose()?
        .flatten()
        .unwrap_or(0))
}
