//! The GraphQL schema. Types are written by hand and wrap domain values;
//! every resolver reads through the persistence layer with the caller's scope.

mod enums;
mod loaders;
mod mutation;
mod objects;
mod subscription;

use crate::error::{ApiError, Result, coded};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, Object};
use kpss_domain::access::Ctx;
use kpss_domain::region::RegionCode;
use kpss_persistence::read::{self, Page};
use kpss_persistence::{Db, audit, region as regions, search, summary};
use loaders::*;
use objects::*;

pub type Schema = async_graphql::Schema<Query, mutation::Mutation, subscription::Subscription>;

use crate::limits::DEFAULT_PAGE_SIZE;
pub use crate::limits::Limits;

pub fn build_schema(db: Db, limits: &Limits) -> Schema {
    let builder = Schema::build(Query, mutation::Mutation, subscription::Subscription)
        .data(db)
        .data(limits.clone());
    if limits.introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The schema as SDL, for `kpss schema` and the drift test.
pub fn sdl() -> String {
    Schema::build(Query, mutation::Mutation, subscription::Subscription)
        .finish()
        .sdl()
}

/// Per-request data: the caller's scope and the loaders that batch by key.
pub fn request_data(db: &Db, ctx: Ctx) -> (Ctx, DataLoader<Loaders>) {
    (
        ctx.clone(),
        DataLoader::new(
            Loaders {
                db: db.clone(),
                ctx,
            },
            tokio::spawn,
        ),
    )
}

fn caller<'a>(ctx: &'a Context<'_>) -> &'a Ctx {
    // The HTTP layer attaches a Ctx to every request before executing it.
    ctx.data_unchecked::<Ctx>()
}

fn db<'a>(ctx: &'a Context<'_>) -> &'a Db {
    ctx.data_unchecked::<Db>()
}

fn loader<'a>(ctx: &'a Context<'_>) -> &'a DataLoader<Loaders> {
    ctx.data_unchecked::<DataLoader<Loaders>>()
}

fn bad(field: &str, message: impl Into<String>) -> async_graphql::Error {
    coded(ApiError::BadUserInput {
        field: field.into(),
        message: message.into(),
    })
}

/// An id argument: our ids are decimal integers.
fn id(field: &str, id: &ID) -> Result<i64> {
    id.parse::<i64>()
        .map_err(|_| bad(field, format!("`{}` is not an id", id.as_str())))
}

/// Cursors are opaque to clients: the connection's name and the last id, hex-encoded.
fn cursor(kind: &str, id: i64) -> String {
    format!("{kind}:{id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn page(ctx: &Context<'_>, kind: &str, first: Option<i32>, after: Option<String>) -> Result<Page> {
    let max = ctx.data_unchecked::<Limits>().max_page_size;
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if first < 0 || first as usize > max {
        return Err(bad("first", format!("first must be between 0 and {max}")));
    }
    let after = match after {
        None => None,
        Some(c) => {
            let decoded = (0..c.len())
                .step_by(2)
                .map(|i| c.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .collect::<Option<Vec<u8>>>()
                .and_then(|b| String::from_utf8(b).ok());
            let id = decoded
                .as_deref()
                .and_then(|d| d.strip_prefix(kind))
                .and_then(|d| d.strip_prefix(':'))
                .and_then(|d| d.parse().ok());
            Some(id.ok_or_else(|| bad("after", "not a cursor of this list"))?)
        }
    };
    Ok(Page {
        first: first as u64,
        after,
    })
}

fn page_info<T>(kind: &str, c: &read::Connection<T>, id_of: impl Fn(&T) -> i64) -> PageInfo {
    PageInfo {
        has_next_page: c.has_next_page,
        end_cursor: c.nodes.last().map(|n| cursor(kind, id_of(n))),
    }
}

fn total(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Most codes a filter may list: every region of the country fits, and
/// each code costs a lookup.
const MAX_LISTED_CODES: usize = 1_000;

fn listed(field: &str, codes: Option<&[String]>) -> Result<()> {
    match codes {
        Some(c) if c.len() > MAX_LISTED_CODES => Err(bad(
            field,
            format!("at most {MAX_LISTED_CODES} codes may be listed"),
        )),
        _ => Ok(()),
    }
}

async fn grant(
    ctx: &Context<'_>,
    regions: Option<&[String]>,
    kraje: Option<&[String]>,
) -> Result<Option<kpss_domain::access::Grant>> {
    listed("filter.regions", regions)?;
    listed("filter.kraje", kraje)?;
    regions::filter(db(ctx), caller(ctx), regions, kraje, "filter")
        .await
        .map_err(coded)
}

// ---------------------------------------------------------------- filters

#[derive(InputObject, Default)]
pub struct PlanFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    kinds: Option<Vec<enums::PlanKind>>,
    /// Plans whose period contains this year.
    year: Option<i32>,
    include_archived: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct MeasureFilter {
    regions: Option<Vec<String>>,
    plan_id: Option<ID>,
    /// Latest evaluation status.
    status: Option<enums::EvaluationStatus>,
    /// Case- and diacritics-insensitive substring of a target group.
    target_group: Option<String>,
    /// Measures whose term covers this year.
    year: Option<i32>,
    /// Case- and diacritics-insensitive text search over title, rationale and description.
    text: Option<String>,
    include_archived: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct ProviderFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    /// Case- and diacritics-insensitive substring of the name.
    name: Option<String>,
}

#[derive(InputObject, Default)]
pub struct ServiceFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    service_types: Option<Vec<enums::ServiceType>>,
    forms: Option<Vec<enums::ServiceForm>>,
    units: Option<Vec<enums::CapacityUnit>>,
    provider_name: Option<String>,
}

#[derive(InputObject, Default)]
pub struct EvaluationFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    plan_id: Option<ID>,
    year: Option<i32>,
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    regions: Option<Vec<String>>,
    /// e.g. "Plan", "Measure"
    entity: Option<String>,
    entity_id: Option<ID>,
    since: Option<DateTime>,
}

async fn service_query(ctx: &Context<'_>, f: ServiceFilter) -> Result<read::ServiceQuery> {
    Ok(read::ServiceQuery {
        regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
        service_types: f
            .service_types
            .map(|v| v.into_iter().map(Into::into).collect()),
        forms: f.forms.map(|v| v.into_iter().map(Into::into).collect()),
        units: f.units.map(|v| v.into_iter().map(Into::into).collect()),
        provider_name: f.provider_name,
    })
}

// ---------------------------------------------------------------- query

pub struct Query;

#[Object]
impl Query {
    /// The caller as its token presents it.
    async fn me(&self, ctx: &Context<'_>) -> Viewer {
        Viewer(caller(ctx).clone())
    }

    /// Kraje with at least one region visible to the caller.
    async fn kraje(&self, ctx: &Context<'_>) -> Result<Vec<Kraj>> {
        let found = regions::kraje(db(ctx), caller(ctx)).await.map_err(coded)?;
        Ok(found.into_iter().map(Kraj).collect())
    }

    /// Regions (tenants) visible to the caller, ordered by Czech collation of name.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        let found = regions::list(db(ctx), caller(ctx)).await.map_err(coded)?;
        Ok(found.into_iter().map(Region).collect())
    }

    /// One region; null when it does not exist, error FORBIDDEN when it is not visible.
    async fn region(&self, ctx: &Context<'_>, code: String) -> Result<Option<Region>> {
        let code = RegionCode::parse("code", &code).map_err(coded)?;
        Ok(regions::get(db(ctx), caller(ctx), &code)
            .await
            .map_err(coded)?
            .map(Region))
    }

    async fn plans(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PlanConnection> {
        let p = page(ctx, "plan", first, after)?;
        let f = filter.unwrap_or_default();
        let q = read::PlanQuery {
            regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
            kinds: f.kinds.map(|k| k.into_iter().map(Into::into).collect()),
            year: f.year,
            include_archived: f.include_archived.unwrap_or(false),
        };
        let c = read::plans(db(ctx), caller(ctx), &q, p)
            .await
            .map_err(coded)?;
        Ok(PlanConnection {
            page_info: page_info("plan", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Plan).collect(),
        })
    }

    async fn plan(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Plan>> {
        loader(ctx).load_one(PlanById(self::id("id", &id)?)).await
    }

    async fn measures(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<MeasureConnection> {
        let p = page(ctx, "measure", first, after)?;
        let f = filter.unwrap_or_default();
        let q = read::MeasureQuery {
            regions: grant(ctx, f.regions.as_deref(), None).await?,
            plan_id: f
                .plan_id
                .as_ref()
                .map(|i| id("filter.planId", i))
                .transpose()?,
            status: f.status.map(Into::into),
            target_group: f.target_group,
            year: f.year,
            text: f.text,
            include_archived: f.include_archived.unwrap_or(false),
        };
        let c = read::measures(db(ctx), caller(ctx), &q, p)
            .await
            .map_err(coded)?;
        Ok(MeasureConnection {
            page_info: page_info("measure", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Measure).collect(),
        })
    }

    async fn measure(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Measure>> {
        loader(ctx)
            .load_one(MeasureById(self::id("id", &id)?))
            .await
    }

    async fn providers(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProviderFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ProviderConnection> {
        let p = page(ctx, "provider", first, after)?;
        let f = filter.unwrap_or_default();
        let q = read::ProviderQuery {
            regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
            name: f.name,
        };
        let c = read::providers(db(ctx), caller(ctx), &q, p)
            .await
            .map_err(coded)?;
        Ok(ProviderConnection {
            page_info: page_info("provider", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Provider).collect(),
        })
    }

    async fn services(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ServiceConnection> {
        let p = page(ctx, "service", first, after)?;
        let q = service_query(ctx, filter.unwrap_or_default()).await?;
        let c = read::services(db(ctx), caller(ctx), &q, p)
            .await
            .map_err(coded)?;
        Ok(ServiceConnection {
            page_info: page_info("service", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Service).collect(),
        })
    }

    /// Sums of capacity over the visible services that match, grouped by the given dimensions (UNIT is always part of the grouping: beds and clients are never added together).
    async fn capacity_summary(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceFilter>,
        group_by: Vec<enums::CapacityDimension>,
    ) -> Result<Vec<CapacityGroup>> {
        let q = service_query(ctx, filter.unwrap_or_default()).await?;
        let dims: Vec<summary::CapacityDim> = group_by.into_iter().map(Into::into).collect();
        let groups = summary::capacities(db(ctx), caller(ctx), &q, &dims)
            .await
            .map_err(coded)?;
        Ok(groups.into_iter().map(CapacityGroup).collect())
    }

    /// Counts of measures by their latest evaluation, grouped by the given dimensions.
    async fn evaluation_summary(
        &self,
        ctx: &Context<'_>,
        filter: Option<EvaluationFilter>,
        group_by: Vec<enums::EvaluationDimension>,
    ) -> Result<Vec<EvaluationGroup>> {
        let f = filter.unwrap_or_default();
        let q = summary::EvaluationQuery {
            regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
            plan_id: f
                .plan_id
                .as_ref()
                .map(|i| id("filter.planId", i))
                .transpose()?,
            year: f.year,
        };
        let dims: Vec<summary::EvaluationDim> = group_by.into_iter().map(Into::into).collect();
        let groups = summary::evaluations(db(ctx), caller(ctx), &q, &dims)
            .await
            .map_err(coded)?;
        Ok(groups.into_iter().map(EvaluationGroup).collect())
    }

    /// Diacritics- and case-insensitive full-text search over plans, priorities, measures, activities and providers.
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        regions: Option<Vec<String>>,
        first: Option<i32>,
    ) -> Result<Vec<SearchHit>> {
        let p = page(ctx, "search", first, None)?;
        if text.chars().count() > kpss_domain::text::MAX_TITLE {
            return Err(bad("text", "the search text is too long"));
        }
        listed("regions", regions.as_deref())?;
        let scope = regions::filter(db(ctx), caller(ctx), regions.as_deref(), None, "regions")
            .await
            .map_err(coded)?;
        let hits = search::search(db(ctx), caller(ctx), &text, scope.as_ref(), p.first)
            .await
            .map_err(coded)?;
        Ok(hits.into_iter().map(SearchHit).collect())
    }

    /// The legal classification of social services.
    async fn service_types(&self) -> Vec<ServiceTypeInfo> {
        kpss_domain::service::ServiceType::ALL
            .iter()
            .map(|t| ServiceTypeInfo(*t))
            .collect()
    }

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
            entity: f.entity,
            entity_id: f
                .entity_id
                .as_ref()
                .map(|i| id("filter.entityId", i))
                .transpose()?,
            since: f.since.map(|d| d.0),
        };
        let c = audit::list(db(ctx), caller(ctx), &q, p)
            .await
            .map_err(coded)?;
        Ok(AuditEntryConnection {
            page_info: page_info("audit", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(AuditEntry).collect(),
        })
    }
}
