//! Sums of capacity and counts of evaluation statuses.

use super::common::{grant, id, maybe_related, scoped};
use super::enums;
use super::nodes::{Plan, PlanById, Provider, ProviderById};
use super::records::Records;
use super::region::{Kraj, Region};
use super::service::{ServiceFilter, service_query};
use crate::error::ApiError;
use crate::error::{Result, coded};
use async_graphql::{Context, ID, InputObject, Object};
use kpss_persistence::summary;

pub struct CapacityGroup(pub kpss_persistence::summary::CapacityGroup);

#[Object]
impl CapacityGroup {
    async fn kraj(&self, ctx: &Context<'_>) -> Result<Option<Kraj>> {
        maybe_related(ctx, self.0.kraj.clone()).await
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        maybe_related(ctx, self.0.region.clone()).await
    }

    async fn provider(&self, ctx: &Context<'_>) -> Result<Option<Provider>> {
        maybe_related(ctx, self.0.provider_id.map(ProviderById)).await
    }

    async fn service_type(&self) -> Option<enums::ServiceType> {
        self.0.service_type.map(Into::into)
    }

    async fn form(&self) -> Option<enums::ServiceForm> {
        self.0.form.map(Into::into)
    }

    async fn unit(&self) -> enums::CapacityUnit {
        self.0.unit.into()
    }

    async fn total(&self) -> Result<i32> {
        i32::try_from(self.0.total).map_err(|_| coded(ApiError::Internal))
    }

    /// Number of services summed.
    async fn services(&self) -> Result<i32> {
        i32::try_from(self.0.services).map_err(|_| coded(ApiError::Internal))
    }
}

pub struct EvaluationGroup(pub kpss_persistence::summary::EvaluationGroup);

#[Object]
impl EvaluationGroup {
    async fn kraj(&self, ctx: &Context<'_>) -> Result<Option<Kraj>> {
        maybe_related(ctx, self.0.kraj.clone()).await
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        maybe_related(ctx, self.0.region.clone()).await
    }

    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        maybe_related(ctx, self.0.plan_id.map(PlanById)).await
    }

    async fn year(&self) -> Option<i32> {
        self.0.year
    }

    async fn status(&self) -> Option<enums::EvaluationStatus> {
        self.0.status.map(Into::into)
    }

    async fn count(&self) -> Result<i32> {
        i32::try_from(self.0.count).map_err(|_| coded(ApiError::Internal))
    }
}

#[derive(InputObject, Default)]
pub struct EvaluationFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    plan_id: Option<ID>,
    year: Option<i32>,
}

#[derive(Default)]
pub struct SummaryQueries;

#[Object]
impl SummaryQueries {
    /// Sums of capacity over the visible services that match, grouped by the given dimensions (UNIT is always part of the grouping: beds and clients are never added together).
    async fn capacity_summary(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceFilter>,
        group_by: Vec<enums::CapacityDimension>,
    ) -> Result<Records<CapacityGroup>> {
        let q = service_query(ctx, filter.unwrap_or_default()).await?;
        let dims: Vec<summary::CapacityDim> = group_by.into_iter().map(Into::into).collect();
        let groups = summary::capacities(scoped(ctx), &q, &dims)
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
    ) -> Result<Records<EvaluationGroup>> {
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
        let groups = summary::evaluations(scoped(ctx), &q, &dims)
            .await
            .map_err(coded)?;
        Ok(groups.into_iter().map(EvaluationGroup).collect())
    }
}
