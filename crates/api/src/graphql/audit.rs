//! The change history, for admins.

use super::common::{bad, grant, id, scoped};
use super::page::{page, page_info, total};
use super::region::{Region, region_of};
use super::scalars::DateTime;
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::{Context, ID, InputObject, Object};
use kpss_domain::EntityKind;
use kpss_persistence::audit;

connection!(AuditEntryConnection, AuditEntry);

pub struct AuditEntry(pub kpss_persistence::audit::Entry);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn at(&self) -> DateTime {
        DateTime::from_secs(self.0.at)
    }

    async fn actor(&self) -> &str {
        &self.0.actor
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn entity(&self) -> &str {
        self.0.entity.as_str()
    }

    async fn entity_id(&self) -> ID {
        self.0.entity_id.into()
    }

    async fn action(&self) -> Result<enums::ChangeAction> {
        Ok(self.0.action.into())
    }

    /// JSON of the entity before and after the change.
    async fn before(&self) -> Option<&str> {
        self.0.before.as_deref()
    }

    async fn after(&self) -> Option<&str> {
        self.0.after.as_deref()
    }
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    regions: Option<Vec<String>>,
    /// e.g. "Plan", "Measure"
    entity: Option<String>,
    entity_id: Option<ID>,
    since: Option<DateTime>,
}

#[derive(Default)]
pub struct AuditQueries;

#[Object]
impl AuditQueries {
    /// Change history; ADMIN of the region (or of all regions) only.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<AuditEntryConnection> {
        let p = page(ctx, "audit", first, after)?;
        let f = filter.unwrap_or_default();
        let q = audit::AuditQuery {
            regions: grant(ctx, f.regions.as_deref(), None).await?,
            entity: f
                .entity
                .map(|e| e.parse::<EntityKind>().map_err(|m| bad("filter.entity", m)))
                .transpose()?,
            entity_id: f
                .entity_id
                .as_ref()
                .map(|i| id("filter.entityId", i))
                .transpose()?,
            since: f.since.map(|d| d.0),
        };
        let c = audit::list(scoped(ctx), &q, p).await.map_err(coded)?;
        Ok(AuditEntryConnection {
            page_info: page_info("audit", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(AuditEntry).collect(),
        })
    }
}
