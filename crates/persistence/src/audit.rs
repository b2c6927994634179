//! The audit log, readable by admins of its regions.

use crate::entity::audit_entry;
use crate::events::Change;
use crate::page::{Connection, Page};
use crate::scoped::Scoped;
use crate::{Error, Result, scope};
use chrono::{DateTime, Utc};
use kpss_domain::EntityKind;
use kpss_domain::access::Grant;
use kpss_domain::region::RegionCode;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter};

pub use kpss_domain::kind::AuditEntry as Entry;

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub regions: Option<Grant>,
    pub entity: Option<EntityKind>,
    pub entity_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
}

/// The audit entry of `change`, with the record `before` and `after` it.
pub(crate) fn entry(
    change: &Change,
    before: Option<String>,
    after: Option<String>,
) -> audit_entry::ActiveModel {
    audit_entry::ActiveModel {
        at: Set(DateTime::from_timestamp(change.at, 0).unwrap_or_else(Utc::now)),
        actor: Set(change.actor.clone()),
        region_code: Set(change.region.as_str().to_owned()),
        entity: Set(change.entity.as_str().to_owned()),
        entity_id: Set(change.entity_id),
        action: Set(change.action.as_str().to_owned()),
        before: Set(before),
        after: Set(after),
        plan_id: Set(change.plan_id),
        ..Default::default()
    }
}

pub async fn list(s: &Scoped, q: &AuditQuery, p: Page) -> Result<Connection<Entry>> {
    let ctx = s.ctx();
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
    crate::page::page(
        s,
        audit_entry::Entity::find().filter(cond),
        None,
        audit_entry::Column::Id,
        p,
        |m| {
            Ok(Entry {
                id: m.id,
                at: m.at.timestamp(),
                actor: m.actor,
                region: RegionCode::parse("region", &m.region_code)?,
                entity: crate::columns::parse(&m.entity)?,
                entity_id: m.entity_id,
                action: crate::columns::parse(&m.action)?,
                before: m.before,
                after: m.after,
            })
        },
    )
    .await
}
