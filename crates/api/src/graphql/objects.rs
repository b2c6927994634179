//! GraphQL object types. Each wraps a domain record; relations resolve
//! through the request's loaders.

use super::enums;
use super::loaders::*;
use super::{loader, scoped};
use crate::error::{ApiError, Result, coded};
use async_graphql::{Context, ID, Object, Scalar, ScalarType, SimpleObject, Value};
use kpss_domain::access::Ctx;
use kpss_domain::record;
use kpss_domain::region as dom;
use kpss_domain::service as svc;
use kpss_persistence::region as regions;

/// A calendar date, ISO 8601 (`2009-09-18`).
pub struct Date(pub kpss_domain::value::Date);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            Value::String(s) => kpss_domain::value::Date::parse_iso("date", s)
                .map(Date)
                .map_err(|e| async_graphql::InputValueError::custom(e.message)),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// A point in time, RFC 3339 in UTC (`2026-11-23T10:00:00Z`).
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

impl DateTime {
    pub fn from_secs(secs: i64) -> Self {
        Self(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }
}

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| DateTime(d.with_timezone(&chrono::Utc)))
                .map_err(|_| {
                    async_graphql::InputValueError::custom("expected an RFC 3339 date-time")
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}

async fn region_of(ctx: &Context<'_>, code: &dom::RegionCode) -> Result<Region> {
    // A readable record's region is always readable.
    loader(ctx)
        .load_one(code.clone())
        .await?
        .ok_or_else(|| coded(ApiError::Internal))
}

// ---------------------------------------------------------------- caller and territory

pub struct Viewer(pub Ctx);

#[Object]
impl Viewer {
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    async fn role(&self) -> enums::Role {
        self.0.role.into()
    }

    /// Regions this caller may read.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        let found = regions::list(scoped(ctx)).await.map_err(coded)?;
        Ok(found.into_iter().map(Region).collect())
    }

    /// Regions this caller may change.
    async fn writable_regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        let found = regions::list(scoped(ctx)).await.map_err(coded)?;
        Ok(found
            .into_iter()
            .filter(|r| self.0.write.covers(&r.code, &r.kraj))
            .map(Region)
            .collect())
    }
}

#[derive(Clone)]
pub struct Kraj(pub dom::Kraj);

#[Object]
impl Kraj {
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Visible regions of this kraj.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        Ok(loader(ctx)
            .load_one(RegionsOf(self.0.code.clone()))
            .await?
            .unwrap_or_default())
    }
}

#[derive(Clone)]
pub struct Region(pub dom::Region);

#[Object]
impl Region {
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> enums::RegionKind {
        self.0.kind.into()
    }

    async fn kraj(&self, ctx: &Context<'_>) -> Result<Kraj> {
        loader(ctx)
            .load_one(self.0.kraj.clone())
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }

    async fn plans(&self, ctx: &Context<'_>) -> Result<Vec<Plan>> {
        Ok(loader(ctx)
            .load_one(PlansOf(self.0.code.clone()))
            .await?
            .unwrap_or_default())
    }

    async fn providers(&self, ctx: &Context<'_>) -> Result<Vec<Provider>> {
        Ok(loader(ctx)
            .load_one(ProvidersOf(self.0.code.clone()))
            .await?
            .unwrap_or_default())
    }
}

// ---------------------------------------------------------------- plans

#[derive(Clone)]
pub struct Plan(pub record::Plan);

#[Object]
impl Plan {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn kind(&self) -> enums::PlanKind {
        self.0.kind.into()
    }

    async fn period_start(&self) -> i32 {
        self.0.period_start
    }

    async fn period_end(&self) -> i32 {
        self.0.period_end
    }

    /// The plan this one implements (an action plan's community plan).
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        // Null, not an error, when the parent is in a region the caller cannot read.
        match self.0.parent_id {
            Some(id) => loader(ctx).load_one(PlanById(id)).await,
            None => Ok(None),
        }
    }

    async fn prepared_by(&self) -> Option<&str> {
        self.0.prepared_by.as_deref()
    }

    /// Who approved it, when and by which resolution, as the source states it.
    async fn approval(&self) -> Option<&str> {
        self.0.approval.as_deref()
    }

    async fn approved_on(&self) -> Option<Date> {
        self.0.approved_on.map(Date)
    }

    /// File name of the source document the plan was imported from; null for plans created through the API.
    async fn source_document(&self) -> Option<&str> {
        self.0.source_document.as_deref()
    }

    async fn priorities(&self, ctx: &Context<'_>) -> Result<Vec<Priority>> {
        Ok(loader(ctx)
            .load_one(PrioritiesOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    /// Projects the plan lists with their implementer and completion term.
    async fn projects(&self, ctx: &Context<'_>) -> Result<Vec<PlanProject>> {
        Ok(loader(ctx)
            .load_one(ProjectsOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn updated_at(&self) -> DateTime {
        DateTime::from_secs(self.0.updated_at)
    }
}

#[derive(Clone)]
pub struct PlanProject(pub record::Project);

#[Object]
impl PlanProject {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Realizátor
    async fn implementer(&self) -> Option<&str> {
        self.0.implementer.as_deref()
    }

    /// Termín dokončení, as written, e.g. "rok 2007".
    async fn due(&self) -> Option<&str> {
        self.0.due.as_deref()
    }

    async fn due_year(&self) -> Option<i32> {
        self.0.due_year
    }
}

#[derive(Clone)]
pub struct Priority(pub record::Priority);

#[Object]
impl Priority {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        loader(ctx)
            .load_one(PlanById(self.0.plan_id))
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }

    /// Number as the document gives it, e.g. "1" or "4".
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Working group or section the priority belongs to, e.g. "Pracovní skupina rodiny s dětmi".
    async fn group(&self) -> Option<&str> {
        self.0.group.as_deref()
    }

    /// Top-level measures; sub-measures are in Measure.subMeasures.
    async fn measures(&self, ctx: &Context<'_>) -> Result<Vec<Measure>> {
        Ok(loader(ctx)
            .load_one(MeasuresOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

// ---------------------------------------------------------------- measures

#[derive(Clone)]
pub struct Measure(pub record::Measure);

#[derive(SimpleObject)]
pub struct Cost {
    /// Amount in CZK; null when the source gives none (e.g. "Nelze specifikovat").
    amount_czk: Option<f64>,
    /// What one amount pays for, e.g. "setkání" in "10 000 Kč / setkání".
    per: Option<String>,
    /// The cost as the source writes it.
    text: String,
}

#[Object]
impl Measure {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        loader(ctx)
            .load_one(PlanById(self.0.plan_id))
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }

    async fn priority(&self, ctx: &Context<'_>) -> Result<Priority> {
        loader(ctx)
            .load_one(PriorityById(self.0.priority_id))
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }

    /// Sub-measures (a, b, c ...) hang under their measure.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        match self.0.parent_id {
            Some(id) => loader(ctx).load_one(MeasureById(id)).await,
            None => Ok(None),
        }
    }

    /// Code as the document gives it: "1.4" for a measure, "1.4 a" for a sub-measure.
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Odůvodnění
    async fn rationale(&self) -> Option<&str> {
        self.0.rationale.as_deref()
    }

    /// Popis
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn target_groups(&self) -> &[String] {
        &self.0.target_groups
    }

    /// Termín realizace / termín, as written.
    async fn term(&self) -> Option<&str> {
        self.0.term.as_deref()
    }

    async fn term_start_year(&self) -> Option<i32> {
        self.0.term_start_year
    }

    async fn term_end_year(&self) -> Option<i32> {
        self.0.term_end_year
    }

    /// Realizátor, spolupracující subjekt / odpovědnost.
    async fn responsible(&self) -> &[String] {
        &self.0.responsible
    }

    /// Výstup
    async fn output(&self) -> Option<&str> {
        self.0.output.as_deref()
    }

    async fn expected_cost(&self) -> Option<Cost> {
        self.0.expected_cost.clone().map(|c| Cost {
            amount_czk: c.amount_czk.map(|a| a.get() as f64),
            per: c.per,
            text: c.text,
        })
    }

    async fn funding_sources(&self) -> &[String] {
        &self.0.funding_sources
    }

    async fn risks(&self) -> &[String] {
        &self.0.risks
    }

    async fn planned_activities(&self) -> &[String] {
        &self.0.planned_activities
    }

    /// Capacities the measure's output aims to create (e.g. a home with at least 50 beds); not existing services.
    async fn planned_capacities(&self, ctx: &Context<'_>) -> Result<Vec<Capacity>> {
        Ok(loader(ctx)
            .load_one(PlannedCapacitiesOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn sub_measures(&self, ctx: &Context<'_>) -> Result<Vec<Measure>> {
        Ok(loader(ctx)
            .load_one(SubMeasuresOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    /// Top-level activities; sub-activities are in Activity.subActivities.
    async fn activities(&self, ctx: &Context<'_>) -> Result<Vec<Activity>> {
        Ok(loader(ctx)
            .load_one(ActivitiesOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    /// All evaluations, newest year first.
    async fn evaluations(&self, ctx: &Context<'_>) -> Result<Vec<Evaluation>> {
        Ok(loader(ctx)
            .load_one(EvaluationsOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn latest_evaluation(&self, ctx: &Context<'_>) -> Result<Option<Evaluation>> {
        Ok(loader(ctx)
            .load_one(EvaluationsOf(self.0.id))
            .await?
            .and_then(|e| e.into_iter().next()))
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Clone)]
pub struct Activity(pub record::Activity);

#[Object]
impl Activity {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn measure(&self, ctx: &Context<'_>) -> Result<Measure> {
        loader(ctx)
            .load_one(MeasureById(self.0.measure_id))
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }

    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Activity>> {
        match self.0.parent_id {
            Some(id) => loader(ctx).load_one(ActivityById(id)).await,
            None => Ok(None),
        }
    }

    /// e.g. "1.2.6" or "1.2.6.1"
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn responsible(&self) -> &[String] {
        &self.0.responsible
    }

    async fn schedule(&self) -> Option<&str> {
        self.0.schedule.as_deref()
    }

    async fn financing(&self) -> Option<&str> {
        self.0.financing.as_deref()
    }

    async fn outputs(&self) -> &[String] {
        &self.0.outputs
    }

    async fn sub_activities(&self, ctx: &Context<'_>) -> Result<Vec<Activity>> {
        Ok(loader(ctx)
            .load_one(SubActivitiesOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Clone)]
pub struct Evaluation(pub record::Evaluation);

#[Object]
impl Evaluation {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn year(&self) -> i32 {
        self.0.year
    }

    async fn status(&self) -> enums::EvaluationStatus {
        self.0.status.into()
    }

    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    async fn recorded_at(&self) -> DateTime {
        DateTime::from_secs(self.0.recorded_at)
    }

    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }
}

// ---------------------------------------------------------------- providers and services

#[derive(Clone)]
pub struct Provider(pub record::Provider);

#[Object]
impl Provider {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// IČO, where the source states it.
    async fn ico(&self) -> Option<&str> {
        self.0.ico.as_deref()
    }

    async fn services(&self, ctx: &Context<'_>) -> Result<Vec<Service>> {
        Ok(loader(ctx)
            .load_one(ServicesOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Clone)]
pub struct Service(pub record::Service);

#[Object]
impl Service {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn provider(&self, ctx: &Context<'_>) -> Result<Provider> {
        loader(ctx)
            .load_one(ProviderById(self.0.provider_id))
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }

    async fn service_type(&self) -> enums::ServiceType {
        self.0.service_type.into()
    }

    async fn service_type_info(&self) -> ServiceTypeInfo {
        ServiceTypeInfo(self.0.service_type)
    }

    /// The source's own name of the service.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    async fn capacities(&self, ctx: &Context<'_>) -> Result<Vec<Capacity>> {
        Ok(loader(ctx)
            .load_one(CapacitiesOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    /// Area the capacity is stated for, e.g. "v Plz. kraji", "pro celé území působnosti".
    async fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Clone)]
pub struct Capacity(pub record::OwnedCapacity);

#[Object]
impl Capacity {
    /// null when the source does not say
    async fn form(&self) -> Option<enums::ServiceForm> {
        self.0.capacity.form.map(Into::into)
    }

    async fn value(&self) -> i32 {
        self.0.capacity.value
    }

    async fn unit(&self) -> enums::CapacityUnit {
        self.0.capacity.unit.into()
    }

    /// The capacity as the source writes it.
    async fn text(&self) -> Option<&str> {
        self.0.capacity.text.as_deref()
    }
}

pub struct ServiceTypeInfo(pub svc::ServiceType);

#[Object]
impl ServiceTypeInfo {
    async fn code(&self) -> enums::ServiceType {
        self.0.into()
    }

    /// Official Czech name.
    async fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Paragraph of the Act, e.g. "40" or "60a".
    async fn paragraph(&self) -> &'static str {
        self.0.paragraph()
    }

    async fn category(&self) -> enums::ServiceCategory {
        self.0.category().into()
    }
}

// ---------------------------------------------------------------- aggregates and search

pub struct CapacityGroup(pub kpss_persistence::summary::CapacityGroup);

#[Object]
impl CapacityGroup {
    async fn kraj(&self, ctx: &Context<'_>) -> Result<Option<Kraj>> {
        match &self.0.kraj {
            Some(k) => loader(ctx).load_one(k.clone()).await,
            None => Ok(None),
        }
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        match &self.0.region {
            Some(r) => loader(ctx).load_one(r.clone()).await,
            None => Ok(None),
        }
    }

    async fn provider(&self, ctx: &Context<'_>) -> Result<Option<Provider>> {
        match self.0.provider_id {
            Some(id) => loader(ctx).load_one(ProviderById(id)).await,
            None => Ok(None),
        }
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
        match &self.0.kraj {
            Some(k) => loader(ctx).load_one(k.clone()).await,
            None => Ok(None),
        }
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        match &self.0.region {
            Some(r) => loader(ctx).load_one(r.clone()).await,
            None => Ok(None),
        }
    }

    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        match self.0.plan_id {
            Some(id) => loader(ctx).load_one(PlanById(id)).await,
            None => Ok(None),
        }
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

pub struct SearchHit(pub kpss_persistence::search::Hit);

#[Object]
impl SearchHit {
    async fn kind(&self) -> enums::SearchHitKind {
        self.0.kind.into()
    }

    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// A short excerpt around the match.
    async fn snippet(&self) -> &str {
        &self.0.snippet
    }
}

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

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// `XConnection { nodes, pageInfo, totalCount }` for each listed type.
macro_rules! connection {
    ($name:ident, $node:ident) => {
        #[derive(SimpleObject)]
        pub struct $name {
            pub nodes: Vec<$node>,
            pub page_info: PageInfo,
            pub total_count: i32,
        }
    };
}

connection!(PlanConnection, Plan);
connection!(MeasureConnection, Measure);
connection!(ProviderConnection, Provider);
connection!(ServiceConnection, Service);
connection!(AuditEntryConnection, AuditEntry);
