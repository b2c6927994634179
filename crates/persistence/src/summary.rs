//! Aggregates for dashboards, computed in SQL (GROUP BY) over readable
//! records only. Capacities are always grouped by unit: beds and clients are
//! never added together.

use crate::columns::parse;
use crate::entity::{capacity, evaluation, measure, region, service};
use crate::scoped::Scoped;
use crate::service::ServiceQuery;
use crate::{Result, scope};
use kpss_domain::access::Grant;
use kpss_domain::evaluation::EvaluationStatus;
use kpss_domain::region::{KrajCode, RegionCode};
use kpss_domain::service::{CapacityUnit, ServiceForm, ServiceType};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityDim {
    Kraj,
    Region,
    Provider,
    ServiceType,
    Form,
    Unit,
}

impl CapacityDim {
    /// The dimensions a caller may choose, in the order they group by.
    const GROUPED: [Self; 5] = [
        Self::Kraj,
        Self::Region,
        Self::Provider,
        Self::ServiceType,
        Self::Form,
    ];

    /// The column a dimension groups by, and its name in the result.
    fn column(self) -> (Expr, &'static str) {
        match self {
            Self::Kraj => (
                Expr::col((region::Entity, region::Column::KrajCode)),
                "kraj",
            ),
            Self::Region => (
                Expr::col((service::Entity, service::Column::RegionCode)),
                "region",
            ),
            Self::Provider => (
                Expr::col((service::Entity, service::Column::ProviderId)),
                "provider",
            ),
            Self::ServiceType => (
                Expr::col((service::Entity, service::Column::ServiceType)),
                "service_type",
            ),
            Self::Form => (
                Expr::col((capacity::Entity, capacity::Column::Form)),
                "form",
            ),
            Self::Unit => (
                Expr::col((capacity::Entity, capacity::Column::Unit)),
                "unit",
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CapacityGroup {
    pub kraj: Option<KrajCode>,
    pub region: Option<RegionCode>,
    pub provider_id: Option<i64>,
    pub service_type: Option<ServiceType>,
    pub form: Option<ServiceForm>,
    pub unit: CapacityUnit,
    pub total: i64,
    pub services: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvaluationDim {
    Kraj,
    Region,
    Plan,
    Year,
    Status,
}

impl EvaluationDim {
    /// Every dimension, in the order they group by.
    const ALL: [Self; 5] = [
        Self::Kraj,
        Self::Region,
        Self::Plan,
        Self::Year,
        Self::Status,
    ];

    /// The column a dimension groups by, and its name in the result.
    fn column(self) -> (Expr, &'static str) {
        match self {
            Self::Kraj => (
                Expr::col((region::Entity, region::Column::KrajCode)),
                "kraj",
            ),
            Self::Region => (
                Expr::col((evaluation::Entity, evaluation::Column::RegionCode)),
                "region",
            ),
            Self::Plan => (
                Expr::col((measure::Entity, measure::Column::PlanId)),
                "plan",
            ),
            Self::Year => (
                Expr::col((evaluation::Entity, evaluation::Column::Year)),
                "year",
            ),
            Self::Status => (
                Expr::col((evaluation::Entity, evaluation::Column::Status)),
                "status",
            ),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EvaluationQuery {
    pub regions: Option<Grant>,
    pub plan_id: Option<i64>,
    pub year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationGroup {
    pub kraj: Option<KrajCode>,
    pub region: Option<RegionCode>,
    pub plan_id: Option<i64>,
    pub year: Option<i32>,
    pub status: Option<EvaluationStatus>,
    pub count: i64,
}

/// Adds `expr AS alias` to the select and the grouping.
fn group(q: &mut SelectStatement, expr: Expr, alias: &str) {
    q.expr_as(expr.clone(), Alias::new(alias))
        .add_group_by([expr])
        .order_by_expr(Expr::col(Alias::new(alias)), sea_orm::Order::Asc);
}

async fn rows(s: &Scoped, q: &SelectStatement) -> Result<Vec<QueryResult>> {
    Ok(s.reader().await?.query_all(q).await?)
}

fn text(row: &QueryResult, alias: &str) -> Option<String> {
    row.try_get::<Option<String>>("", alias).ok().flatten()
}

fn opt<T: std::str::FromStr<Err = String>>(row: &QueryResult, alias: &str) -> Result<Option<T>> {
    text(row, alias).map(|s| parse(&s)).transpose()
}

pub async fn capacities(
    s: &Scoped,
    filter: &ServiceQuery,
    dims: &[CapacityDim],
) -> Result<Vec<CapacityGroup>> {
    let mut q = Query::select();
    q.from(capacity::Entity)
        .inner_join(
            service::Entity,
            Expr::col((service::Entity, service::Column::Id))
                .equals((capacity::Entity, capacity::Column::ServiceId)),
        )
        .inner_join(
            region::Entity,
            Expr::col((region::Entity, region::Column::Code))
                .equals((service::Entity, service::Column::RegionCode)),
        )
        .cond_where(crate::service::condition(s, filter));
    if let Some(forms) = &filter.forms {
        q.and_where(capacity::Column::Form.is_in(forms.iter().map(|f| f.as_str())));
    }
    if let Some(units) = &filter.units {
        q.and_where(capacity::Column::Unit.is_in(units.iter().map(|u| u.as_str())));
    }
    let has = |d| dims.contains(&d);
    // Always by unit, last: beds and clients are never added up.
    for d in CapacityDim::GROUPED.iter().filter(|d| has(**d)) {
        let (column, alias) = d.column();
        group(&mut q, column, alias);
    }
    let (column, alias) = CapacityDim::Unit.column();
    group(&mut q, column, alias);
    q.expr_as(
        Func::sum(Expr::col((capacity::Entity, capacity::Column::Value)))
            .cast_as(Alias::new("BIGINT")),
        Alias::new("total"),
    )
    .expr_as(
        Func::count_distinct(Expr::col((service::Entity, service::Column::Id))),
        Alias::new("services"),
    );
    rows(s, &q)
        .await?
        .iter()
        .map(|r| {
            Ok(CapacityGroup {
                kraj: text(r, "kraj")
                    .map(|k| KrajCode::parse("kraj", &k))
                    .transpose()?,
                region: text(r, "region")
                    .map(|c| RegionCode::parse("region", &c))
                    .transpose()?,
                provider_id: if has(CapacityDim::Provider) {
                    r.try_get::<i64>("", "provider").ok()
                } else {
                    None
                },
                service_type: opt(r, "service_type")?,
                form: opt(r, "form")?,
                unit: parse(&r.try_get::<String>("", "unit")?)?,
                total: r.try_get::<i64>("", "total")?,
                services: r.try_get::<i64>("", "services")?,
            })
        })
        .collect()
}

pub async fn evaluations(
    s: &Scoped,
    filter: &EvaluationQuery,
    dims: &[EvaluationDim],
) -> Result<Vec<EvaluationGroup>> {
    let mut q = Query::select();
    q.from(evaluation::Entity)
        .inner_join(
            measure::Entity,
            Expr::col((measure::Entity, measure::Column::Id))
                .equals((evaluation::Entity, evaluation::Column::MeasureId)),
        )
        .inner_join(
            region::Entity,
            Expr::col((region::Entity, region::Column::Code))
                .equals((evaluation::Entity, evaluation::Column::RegionCode)),
        )
        .cond_where(scope::condition(
            &s.ctx().read,
            evaluation::Column::RegionCode,
        ))
        .and_where(measure::Column::Archived.eq(false));
    // The evaluation that counts per measure: the one of `year` (a measure
    // has one a year), or the latest.
    q.and_where(match filter.year {
        Some(y) => Expr::col((evaluation::Entity, evaluation::Column::Year)).eq(y),
        None => crate::evaluation::is_latest(evaluation::Entity),
    });
    if let Some(g) = &filter.regions {
        q.cond_where(scope::condition(g, evaluation::Column::RegionCode));
    }
    if let Some(p) = filter.plan_id {
        q.and_where(measure::Column::PlanId.eq(p));
    }
    let has = |d| dims.contains(&d);
    for d in EvaluationDim::ALL.iter().filter(|d| has(**d)) {
        let (column, alias) = d.column();
        group(&mut q, column, alias);
    }
    q.expr_as(
        Func::count(Expr::col((evaluation::Entity, evaluation::Column::Id))),
        Alias::new("count"),
    );
    rows(s, &q)
        .await?
        .iter()
        .map(|r| {
            Ok(EvaluationGroup {
                kraj: text(r, "kraj")
                    .map(|k| KrajCode::parse("kraj", &k))
                    .transpose()?,
                region: text(r, "region")
                    .map(|c| RegionCode::parse("region", &c))
                    .transpose()?,
                plan_id: if has(EvaluationDim::Plan) {
                    r.try_get::<i64>("", "plan").ok()
                } else {
                    None
                },
                year: if has(EvaluationDim::Year) {
                    r.try_get::<i32>("", "year").ok()
                } else {
                    None
                },
                status: opt(r, "status")?,
                count: r.try_get::<i64>("", "count")?,
            })
        })
        .collect()
}
