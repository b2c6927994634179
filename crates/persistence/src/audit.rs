//! The audit log, readable by admins of its regions.

use crate::entity::audit_entry;
use crate::read::{Connection, Page};
use crate::{Db, Error, Result, scope};
use chrono::{DateTime, Utc};
use kpss_domain::access::{Ctx, Grant};
use kpss_domain::region::RegionCode;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

pub use kpss_domain::record::AuditEntry as Entry;

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub regions: Option<Grant>,
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
}

pub async fn list(db: &Db, ctx: &Ctx, q: &AuditQuery, p: Page) -> Result<Connection<Entry>> {
    if ctx.admin.is_empty() {
        return Err(Error::Forbidden(
            "the audit log is for admins of a region".into(),
        ));
    }
    if let Some(g) = &q.regions
        && !g
            .regions
            .iter()
            .all(|r| ctx.admin.all || ctx.admin.regions.contains(r))
    {
        return Err(Error::Forbidden(
            "the audit log of a region is for its admins".into(),
        ));
    }
    let mut cond = Condition::all().add(scope::condition(
        &ctx.admin,
        audit_entry::Column::RegionCode,
    ));
    if let Some(g) = &q.regions {
        cond = cond.add(scope::condition(g, audit_entry::Column::RegionCode));
    }
    if let Some(e) = &q.entity {
        cond = cond.add(audit_entry::Column::Entity.eq(e.as_str()));
    }
    if let Some(id) = q.entity_id {
        cond = cond.add(audit_entry::Column::EntityId.eq(id));
    }
    if let Some(since) = q.since {
        cond = cond.add(audit_entry::Column::At.gte(since));
    }
    crate::read::page(
        db,
        audit_entry::Entity::find().filter(cond),
        audit_entry::Column::Id,
        p,
        |m| {
            Ok(Entry {
                id: m.id,
                at: m.at.timestamp(),
                actor: m.actor,
                region: RegionCode::parse("region", &m.region_code)?,
                entity: m.entity,
                entity_id: m.entity_id,
                action: m.action,
                before: m.before,
                after: m.after,
            })
        },
    )
    .await
}
