//! Priorities of a plan.

use crate::entity::{plan, priority};
use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::{Doc, Searchable};
use crate::stored::{self, Archive, Change, Create, Editable};
use crate::transfer::{At, Rows, in_order, under};
use crate::{Error, Result};
use chrono::Utc;
use kpss_domain::EntityKind;
use kpss_domain::kind::AuditAction;
use kpss_domain::priority::Priority;
use kpss_domain::priority::{PriorityDraft, PriorityFields, PriorityForCreate, PriorityPatch};
use kpss_domain::region::RegionCode;
use kpss_domain::seed::PriorityData;
use kpss_domain::seed::seed_provenance;
use kpss_domain::source::Provenance;
use sea_orm::ConnectionTrait;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait};

impl Stored for priority::Entity {
    type Record = Priority;
    const ID: priority::Column = priority::Column::Id;
    const REGION: priority::Column = priority::Column::RegionCode;
    const ORDER: priority::Column = priority::Column::Position;

    fn record(m: priority::Model) -> Result<Priority> {
        Ok(Priority {
            id: m.id,
            region: RegionCode::parse("region", &m.region_code)?,
            plan_id: m.plan_id,
            code: m.code,
            title: m.title,
            description: m.description,
            group: m.group_name.clone(),
            source: source!(m),
            archived: m.archived,
            version: m.version,
        })
    }
}

impl Editable for priority::Entity {
    const KIND: EntityKind = EntityKind::Priority;
    const VERSION: priority::Column = priority::Column::Version;
    const UPDATED_AT: priority::Column = priority::Column::UpdatedAt;
    const ARCHIVED: priority::Column = priority::Column::Archived;
    type State = Priority;

    async fn plan_of(_c: &DatabaseTransaction, m: &priority::Model) -> Result<Option<i64>> {
        Ok(Some(m.plan_id))
    }

    async fn state(_c: &DatabaseTransaction, m: priority::Model) -> Result<Priority> {
        Self::record(m)
    }
}

pub async fn by_ids(s: &Scoped, ids: &[i64]) -> Result<Vec<Priority>> {
    read::by_ids::<priority::Entity>(s, ids).await
}

/// Current priorities of plans, in document order.
pub async fn of_plans(s: &Scoped, plan_ids: &[i64]) -> Result<Vec<Priority>> {
    let current = Condition::all().add(priority::Column::Archived.eq(false));
    read::children::<priority::Entity>(s, priority::Column::PlanId, plan_ids, current).await
}

fn content(f: &PriorityFields) -> priority::ActiveModel {
    priority::ActiveModel {
        code: Set(f.code.as_str().to_owned()),
        code_key: Set(f.code.normalized()),
        title: Set(f.title.as_str().to_owned()),
        description: Set(f.description.clone()),
        group_name: Set(f.group.clone()),
        ..Default::default()
    }
}

/// The priority's content as stored, not validated again (see [`PriorityPatch::apply`]).
pub(crate) fn draft_of(m: &priority::Model) -> PriorityDraft {
    PriorityDraft {
        code: m.code.clone(),
        title: m.title.clone(),
        description: m.description.clone(),
        group: m.group_name.clone(),
    }
}

/// A priority's code is unique within its plan and group.
async fn check_code(
    c: &DatabaseTransaction,
    plan_id: i64,
    f: &PriorityFields,
    this: Option<i64>,
) -> Result<()> {
    let group = match &f.group {
        Some(g) => priority::Column::GroupName.eq(g.as_str()),
        None => priority::Column::GroupName.is_null(),
    };
    let siblings = Condition::all()
        .add(priority::Column::PlanId.eq(plan_id))
        .add(group);
    stored::check_code::<priority::Entity>(
        c,
        siblings,
        priority::Column::CodeKey,
        &f.code.normalized(),
        this,
    )
    .await
}

pub(crate) async fn insert(
    c: &DatabaseTransaction,
    region: &str,
    plan_id: i64,
    position: usize,
    f: &PriorityFields,
    source: Option<&Provenance>,
) -> Result<i64> {
    let mut am = priority::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        plan_id: Set(plan_id),
        position: Set(position as i32),
        ..content(f)
    };
    set_source!(am, source);
    Ok(priority::Entity::insert(am).exec(c).await?.last_insert_id)
}

impl Create<priority::Entity> for PriorityForCreate {
    async fn insert(&self, s: &Scoped, c: &DatabaseTransaction) -> Result<i64> {
        let plan = stored::parent::<plan::Entity>(s, c, self.plan_id, "plan_id").await?;
        check_code(c, self.plan_id, &self.fields, None).await?;
        let siblings = Condition::all().add(priority::Column::PlanId.eq(self.plan_id));
        let position = stored::next_position::<priority::Entity>(c, siblings).await?;
        insert(
            c,
            &plan.region_code,
            self.plan_id,
            position,
            &self.fields,
            None,
        )
        .await
    }
}

impl Change<priority::Entity> for PriorityPatch {
    fn action(&self) -> AuditAction {
        AuditAction::Updated
    }

    async fn columns(
        &self,
        _s: &Scoped,
        c: &DatabaseTransaction,
        current: &priority::Model,
        _before: &Priority,
    ) -> Result<priority::ActiveModel> {
        let fields = self
            .clone()
            .apply(draft_of(current))
            .map_err(|e| Error::Invalid(e.under("patch")))?;
        // A change that keeps the code and the group cannot make it clash.
        if fields.code.normalized() != current.code_key || fields.group != current.group_name {
            check_code(c, current.plan_id, &fields, Some(current.id)).await?;
        }
        Ok(content(&fields))
    }
}

pub async fn create(s: &Scoped, cmd: &PriorityForCreate) -> Result<Priority> {
    stored::create::<priority::Entity>(s, cmd).await
}

pub async fn update(s: &Scoped, id: i64, expected: i32, patch: &PriorityPatch) -> Result<Priority> {
    stored::update::<priority::Entity>(s, id, expected, patch).await
}

pub async fn set_archived(s: &Scoped, id: i64, expected: i32, archived: bool) -> Result<Priority> {
    stored::update::<priority::Entity>(s, id, expected, &Archive(archived)).await
}

impl Searchable for priority::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Priority;

    async fn docs_of<C: ConnectionTrait>(_c: &C, rows: Vec<priority::Model>) -> Result<Vec<Doc>> {
        Ok(rows
            .into_iter()
            .map(|p| {
                let title = format!("{} {}", p.code, p.title);
                let mut d = Doc::new(Self::ENTRY_KIND, p.id, p.region_code, p.archived, title)
                    .with([p.description, p.group_name]);
                d.plan_id = Some(p.plan_id);
                d
            })
            .collect())
    }
}

/// Imports a seed file's priority with its measures.
pub(crate) async fn import(
    at: &At<'_>,
    plan_id: i64,
    position: usize,
    pr: &PriorityData,
    field: &str,
) -> Result<()> {
    let source = at.source(pr.provenance(), field)?;
    let fields = under(pr.draft().parse(), field)?;
    let priority_id = insert(at.c, at.region, plan_id, position, &fields, source.as_ref()).await?;
    let parent = crate::measure::Parent {
        plan_id,
        priority_id,
        measure_id: None,
    };
    for (i, m) in pr.measures.iter().enumerate() {
        let f = format!("{field}.measures[{i}]");
        crate::measure::import(at, parent, i, m, &f).await?;
    }
    Ok(())
}

/// A priority in the seed format, with its measures.
pub(crate) fn export(pr: &priority::Model, rows: &Rows) -> Result<PriorityData> {
    let top = |m: &crate::entity::measure::Model| m.priority_id == pr.id && m.parent_id.is_none();
    let (source, sources, reading) = seed_provenance(source!(pr).as_ref());
    Ok(PriorityData {
        code: pr.code.clone(),
        title: pr.title.clone(),
        description: pr.description.clone(),
        group: pr.group_name.clone(),
        source,
        sources,
        reading,
        measures: in_order(&rows.measures, top, |m| m.position)
            .into_iter()
            .map(|m| crate::measure::export(m, rows))
            .collect::<Result<_>>()?,
    })
}
