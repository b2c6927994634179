//! Plans and the projects they list.

use crate::columns::{from_date, parse, read_list, to_date, write_list};
use crate::entity::{plan, plan_project};
use crate::page::{Connection, Page, page, scoped};
use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::{Doc, Searchable};
use crate::stored::{self, Archive, Change, Create, Editable};
use crate::transfer::{At, Rows, in_order, under};
use crate::{Error, Result};
use chrono::Utc;
use kpss_domain::EntityKind;
use kpss_domain::access::Grant;
use kpss_domain::kind::AuditAction;
use kpss_domain::patch::Patch;
use kpss_domain::plan::{Plan, Project};
use kpss_domain::plan::{PlanDraft, PlanFields, PlanForCreate, PlanKind, PlanPatch, ProjectFields};
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{PlanData, ProjectData, seed_provenance};
use kpss_domain::source::Provenance;
use sea_orm::ConnectionTrait;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;

mod roll_over;
pub use roll_over::roll_over;

impl Stored for plan::Entity {
    type Record = Plan;
    const ID: plan::Column = plan::Column::Id;
    const REGION: plan::Column = plan::Column::RegionCode;
    const ORDER: plan::Column = plan::Column::Id;

    fn record(m: plan::Model) -> Result<Plan> {
        Ok(Plan {
            id: m.id,
            region: RegionCode::parse("region", &m.region_code)?,
            title: m.title,
            kind: parse(&m.kind)?,
            period_start: m.period_start,
            period_end: m.period_end,
            parent_id: m.parent_id,
            prepared_by: m.prepared_by,
            approval: m.approval,
            approved_on: m.approved_on.map(from_date).transpose()?,
            mission: m.mission.clone(),
            vision: m.vision.clone(),
            implementation: m.implementation.clone(),
            issued: m.issued.clone(),
            issued_on: m.issued_on.map(from_date).transpose()?,
            document_title: m.document_title.clone(),
            notes: read_list(&m.notes)?,
            source: source!(m),
            source_document: m.source_document,
            archived: m.archived,
            version: m.version,
            updated_at: m.updated_at.timestamp(),
        })
    }
}

/// A plan with its projects, as the audit log shows it.
#[derive(Serialize)]
pub(crate) struct PlanState {
    #[serde(flatten)]
    pub plan: Plan,
    pub projects: Vec<Project>,
}

impl Editable for plan::Entity {
    const KIND: EntityKind = EntityKind::Plan;
    const VERSION: plan::Column = plan::Column::Version;
    const UPDATED_AT: plan::Column = plan::Column::UpdatedAt;
    const ARCHIVED: plan::Column = plan::Column::Archived;
    type State = PlanState;

    async fn plan_of(_c: &DatabaseTransaction, m: &plan::Model) -> Result<Option<i64>> {
        Ok(Some(m.id))
    }

    const SHOWN_BY_DEPENDENTS: Option<&'static [plan::Column]> = None;

    async fn state(c: &DatabaseTransaction, m: plan::Model) -> Result<PlanState> {
        let projects = plan_project::Entity::find()
            .filter(plan_project::Column::PlanId.eq(m.id))
            .order_by_asc(plan_project::Column::Position)
            .all(c)
            .await?;
        Ok(PlanState {
            plan: Self::record(m)?,
            projects: projects
                .into_iter()
                .map(plan_project::Entity::record)
                .collect::<Result<_>>()?,
        })
    }

    fn with_owned_of(before: &PlanState, updated: &plan::Model) -> Option<Result<PlanState>> {
        let plan = Self::record(updated.clone());
        Some(plan.map(|plan| PlanState {
            plan,
            projects: before.projects.clone(),
        }))
    }
}

// ---------------------------------------------------------------- reads

#[derive(Debug, Clone, Default)]
pub struct PlanQuery {
    pub regions: Option<Grant>,
    pub kinds: Option<Vec<PlanKind>>,
    pub year: Option<i32>,
    pub include_archived: bool,
}

pub async fn list(s: &Scoped, q: &PlanQuery, p: Page) -> Result<Connection<Plan>> {
    let mut cond = scoped(s.ctx(), q.regions.as_ref(), plan::Column::RegionCode);
    if !q.include_archived {
        cond = cond.add(plan::Column::Archived.eq(false));
    }
    if let Some(kinds) = &q.kinds {
        cond = cond.add(plan::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    }
    if let Some(y) = q.year {
        cond = cond
            .add(plan::Column::PeriodStart.lte(y))
            .add(plan::Column::PeriodEnd.gte(y));
    }
    page(
        s,
        plan::Entity::readable(s).filter(cond),
        None,
        plan::Column::Id,
        p,
        plan::Entity::record,
    )
    .await
}

pub async fn by_ids(s: &Scoped, ids: &[i64]) -> Result<Vec<Plan>> {
    read::by_ids::<plan::Entity>(s, ids).await
}

/// Current plans of regions.
pub async fn of_regions(s: &Scoped, regions: &[RegionCode]) -> Result<Vec<Plan>> {
    let of_regions = s
        .db()
        .dialect()
        .in_regions(plan::Column::RegionCode, regions);
    let cond = Condition::all()
        .add(of_regions)
        .add(plan::Column::Archived.eq(false));
    read::select_where::<plan::Entity>(s, cond).await
}

impl Stored for plan_project::Entity {
    type Record = Project;
    const ID: plan_project::Column = plan_project::Column::Id;
    const REGION: plan_project::Column = plan_project::Column::RegionCode;
    const ORDER: plan_project::Column = plan_project::Column::Position;

    fn record(m: plan_project::Model) -> Result<Project> {
        Ok(Project {
            id: m.id,
            plan_id: m.plan_id,
            title: m.title,
            implementer: m.implementer,
            due: m.due,
            due_year: m.due_year,
            source: source!(m),
        })
    }
}

pub async fn projects_of(s: &Scoped, plan_ids: &[i64]) -> Result<Vec<Project>> {
    read::children::<plan_project::Entity>(
        s,
        plan_project::Column::PlanId,
        plan_ids,
        Condition::all(),
    )
    .await
}

// ---------------------------------------------------------------- writes

/// The columns a plan's content sets.
fn content(f: &PlanFields) -> Result<plan::ActiveModel> {
    Ok(plan::ActiveModel {
        title: Set(f.title.as_str().to_owned()),
        kind: Set(f.kind.as_str().to_owned()),
        period_start: Set(f.period.start.get()),
        period_end: Set(f.period.end.get()),
        prepared_by: Set(f.prepared_by.clone()),
        approval: Set(f.approval.clone()),
        approved_on: Set(f.approved_on.map(to_date).transpose()?),
        mission: Set(f.mission.clone()),
        vision: Set(f.vision.clone()),
        implementation: Set(f.implementation.clone()),
        issued: Set(f.issued.clone()),
        issued_on: Set(f.issued_on.map(to_date).transpose()?),
        document_title: Set(f.document_title.clone()),
        notes: Set(write_list(&f.notes)?),
        ..Default::default()
    })
}

/// The plan's content as stored, not validated again (see [`PlanPatch::apply`]).
fn draft_of(m: &plan::Model) -> Result<PlanDraft> {
    Ok(PlanDraft {
        title: m.title.clone(),
        kind: parse(&m.kind)?,
        period_start: m.period_start,
        period_end: m.period_end,
        prepared_by: m.prepared_by.clone(),
        approval: m.approval.clone(),
        approved_on: m.approved_on.map(from_date).transpose()?,
        mission: m.mission.clone(),
        vision: m.vision.clone(),
        implementation: m.implementation.clone(),
        issued: m.issued.clone(),
        issued_on: m.issued_on.map(from_date).transpose()?,
        document_title: m.document_title.clone(),
        notes: read_list(&m.notes)?,
    })
}

/// Inserts a plan (without children); the seed loader adds its key and source.
pub(crate) async fn insert(
    c: &DatabaseTransaction,
    region: &str,
    fields: &PlanFields,
    parent_id: Option<i64>,
    seed: Option<(&PlanData, Option<&Provenance>)>,
) -> Result<i64> {
    let mut am = plan::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        parent_id: Set(parent_id),
        seed_key: Set(seed.map(|(p, _)| p.key.clone()).filter(|k| !k.is_empty())),
        ..content(fields)?
    };
    set_source!(am, seed.and_then(|(_, s)| s));
    // The plan names its document even where no lines are given.
    am.source_document = Set(seed.and_then(|(p, _)| p.source_document.clone()));
    Ok(plan::Entity::insert(am).exec(c).await?.last_insert_id)
}

/// The parent a plan may implement: current, of the same region, not itself
/// or its descendant. A plan the caller cannot read is as one that does not exist.
async fn check_parent(
    s: &Scoped,
    c: &DatabaseTransaction,
    region: &str,
    parent_id: Option<i64>,
    this: Option<i64>,
) -> Result<()> {
    let mut next = parent_id;
    let mut first = true;
    while let Some(id) = next {
        let readable = crate::scope::condition(&s.ctx().read, plan::Column::RegionCode);
        let Some(p) = plan::Entity::find_by_id(id).filter(readable).one(c).await? else {
            return Err(Error::invalid(
                "input.parent_id",
                format!("there is no plan {id}"),
            ));
        };
        if first {
            if p.archived {
                return Err(Error::invalid(
                    "input.parent_id",
                    format!("plan {id} is archived"),
                ));
            }
            if p.region_code != region {
                return Err(Error::Forbidden(
                    "a plan can only implement a plan of its own region".into(),
                ));
            }
            first = false;
        }
        if Some(p.id) == this {
            return Err(Error::invalid(
                "input.parent_id",
                "a plan cannot implement itself or a plan that implements it",
            ));
        }
        next = p.parent_id;
    }
    Ok(())
}

impl Create<plan::Entity> for PlanForCreate {
    async fn insert(&self, s: &Scoped, c: &DatabaseTransaction) -> Result<i64> {
        stored::region_for_create(s, c, &self.region).await?;
        check_parent(s, c, self.region.as_str(), self.parent_id, None).await?;
        let id = insert(c, self.region.as_str(), &self.fields, self.parent_id, None).await?;
        replace_projects(c, self.region.as_str(), id, &self.projects).await?;
        Ok(id)
    }
}

impl Change<plan::Entity> for PlanPatch {
    fn action(&self) -> AuditAction {
        AuditAction::Updated
    }

    async fn columns(
        &self,
        s: &Scoped,
        c: &DatabaseTransaction,
        current: &plan::Model,
        _before: &PlanState,
    ) -> Result<plan::ActiveModel> {
        let parent_id = self.parent_id.clone().optional(current.parent_id);
        check_parent(s, c, &current.region_code, parent_id, Some(current.id)).await?;
        let fields = self
            .clone()
            .apply(draft_of(current)?)
            .map_err(|e| Error::Invalid(e.under("patch")))?;
        Ok(plan::ActiveModel {
            parent_id: Set(parent_id),
            ..content(&fields)?
        })
    }

    async fn rewrite_owned(&self, c: &DatabaseTransaction, current: &plan::Model) -> Result<bool> {
        let projects = match &self.projects {
            Patch::Keep => return Ok(false),
            Patch::Clear => &[][..],
            Patch::Set(list) => list,
        };
        replace_projects(c, &current.region_code, current.id, projects).await?;
        Ok(true)
    }
}

pub async fn create(s: &Scoped, cmd: &PlanForCreate) -> Result<Plan> {
    Ok(stored::create::<plan::Entity>(s, cmd).await?.plan)
}

pub async fn update(s: &Scoped, id: i64, expected: i32, patch: &PlanPatch) -> Result<Plan> {
    Ok(stored::update::<plan::Entity>(s, id, expected, patch)
        .await?
        .plan)
}

pub async fn set_archived(s: &Scoped, id: i64, expected: i32, archived: bool) -> Result<Plan> {
    Ok(
        stored::update::<plan::Entity>(s, id, expected, &Archive(archived))
            .await?
            .plan,
    )
}

/// Inserts the project at `position` of a plan's list.
pub(crate) async fn insert_project(
    c: &DatabaseTransaction,
    region: &str,
    plan_id: i64,
    position: usize,
    pr: &ProjectFields,
    source: Option<&Provenance>,
) -> Result<()> {
    let mut am = plan_project::ActiveModel {
        plan_id: Set(plan_id),
        region_code: Set(region.to_owned()),
        position: Set(position as i32),
        title: Set(pr.title.clone()),
        implementer: Set(pr.implementer.clone()),
        due: Set(pr.due.clone()),
        due_year: Set(pr.due_year),
        ..Default::default()
    };
    set_source!(am, source);
    plan_project::Entity::insert(am).exec(c).await?;
    Ok(())
}

/// Replaces a plan's projects with `list`, in its order: they are part of
/// the plan's content (the old ones live on in the audit entry; the plan's
/// search entries are rewritten with it).
async fn replace_projects(
    c: &DatabaseTransaction,
    region: &str,
    plan_id: i64,
    list: &[ProjectFields],
) -> Result<()> {
    plan_project::Entity::delete_many()
        .filter(plan_project::Column::PlanId.eq(plan_id))
        .exec(c)
        .await?;
    for (i, pr) in list.iter().enumerate() {
        insert_project(c, region, plan_id, i, pr, None).await?;
    }
    Ok(())
}

impl Searchable for plan::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Plan;
    const DEPENDENTS: Option<(EntityKind, &'static str)> = Some((EntityKind::Project, "plan_id"));

    async fn docs_of<C: ConnectionTrait>(_c: &C, rows: Vec<plan::Model>) -> Result<Vec<Doc>> {
        Ok(rows
            .into_iter()
            .map(|p| {
                let mut d = Doc::new(Self::ENTRY_KIND, p.id, p.region_code, p.archived, p.title)
                    .with([p.prepared_by, p.approval]);
                d.plan_id = Some(p.id);
                d
            })
            .collect())
    }
}

/// A project is found as archived when its plan is.
impl Searchable for plan_project::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Project;

    async fn docs_of<C: ConnectionTrait>(
        c: &C,
        rows: Vec<plan_project::Model>,
    ) -> Result<Vec<Doc>> {
        let archived: std::collections::HashMap<i64, bool> = plan::Entity::find()
            .filter(plan::Column::Id.is_in(rows.iter().map(|r| r.plan_id)))
            .all(c)
            .await?
            .into_iter()
            .map(|p| (p.id, p.archived))
            .collect();
        Ok(rows
            .into_iter()
            .map(|p| {
                let gone = archived.get(&p.plan_id).copied().unwrap_or(true);
                let mut d = Doc::new(Self::ENTRY_KIND, p.id, p.region_code, gone, p.title)
                    .with([p.implementer, p.due]);
                d.plan_id = Some(p.plan_id);
                d
            })
            .collect())
    }
}

/// Imports a seed file's plan with its projects and priorities.
pub(crate) async fn import(at: &At<'_>, p: &PlanData, field: &str) -> Result<i64> {
    let source = at.source(p.provenance(), field)?;
    let fields = under(p.draft().parse(), field)?;
    let plan_id = insert(at.c, at.region, &fields, None, Some((p, source.as_ref()))).await?;
    for (i, pr) in p.projects.iter().enumerate() {
        let f = format!("{field}.projects[{i}]");
        let source = at.source(pr.provenance(), &f)?;
        let fields = under(pr.fields(), &f)?;
        insert_project(at.c, at.region, plan_id, i, &fields, source.as_ref()).await?;
    }
    for (i, pr) in p.priorities.iter().enumerate() {
        let f = format!("{field}.priorities[{i}]");
        crate::priority::import(at, plan_id, i, pr, &f).await?;
    }
    Ok(plan_id)
}

/// A plan in the seed format, with its projects and priorities.
pub(crate) fn export(p: &plan::Model, rows: &Rows) -> Result<PlanData> {
    let projects = in_order(&rows.projects, |x| x.plan_id == p.id, |x| x.position);
    let priorities = in_order(&rows.priorities, |x| x.plan_id == p.id, |x| x.position);
    let parent = p
        .parent_id
        .and_then(|id| rows.plans.iter().find(|x| x.id == id));
    let (source, sources, reading) = seed_provenance(source!(p).as_ref());
    Ok(PlanData {
        key: key(p),
        title: p.title.clone(),
        kind: parse(&p.kind)?,
        period_start: p.period_start,
        period_end: p.period_end,
        parent: parent.map(key),
        prepared_by: p.prepared_by.clone(),
        approval: p.approval.clone(),
        approved_on: p.approved_on.map(from_date).transpose()?,
        mission: p.mission.clone(),
        vision: p.vision.clone(),
        implementation: p.implementation.clone(),
        issued: p.issued.clone(),
        issued_on: p.issued_on.map(from_date).transpose()?,
        document_title: p.document_title.clone(),
        notes: read_list(&p.notes)?,
        source_document: p.source_document.clone(),
        source,
        sources,
        reading,
        projects: projects
            .into_iter()
            .map(|x| {
                let (source, sources, reading) = seed_provenance(source!(x).as_ref());
                Ok(ProjectData {
                    title: x.title.clone(),
                    implementer: x.implementer.clone(),
                    due: x.due.clone(),
                    due_year: x.due_year,
                    source,
                    sources,
                    reading,
                })
            })
            .collect::<Result<_>>()?,
        priorities: priorities
            .into_iter()
            .map(|x| crate::priority::export(x, rows))
            .collect::<Result<_>>()?,
    })
}

/// The plan's key in the seed file (a plan created through the API has none yet).
pub(crate) fn key(p: &plan::Model) -> String {
    p.seed_key
        .clone()
        .unwrap_or_else(|| format!("plan-{}", p.id))
}
