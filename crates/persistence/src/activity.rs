//! Activities of measures and their sub-activities.

use crate::columns::{parse, read_list, write_list};
use crate::entity::{activity, measure};
use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::{Doc, Searchable};
use crate::stored::{self, Archive, Change, Create, Editable};
use crate::transfer::{At, Rows, in_order, under};
use crate::{Error, Result};
use chrono::Utc;
use kpss_domain::EntityKind;
use kpss_domain::activity::Activity;
use kpss_domain::activity::{
    ActivityDraft, ActivityFields, ActivityForCreate, ActivityPatch, lines,
};
use kpss_domain::kind::AuditAction;
use kpss_domain::region::RegionCode;
use kpss_domain::seed::ActivityData;
use kpss_domain::seed::{seed_provenance, stated_funding};
use kpss_domain::source::Provenance;
use sea_orm::ConnectionTrait;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QuerySelect,
};

impl Stored for activity::Entity {
    type Record = Activity;
    const ID: activity::Column = activity::Column::Id;
    const REGION: activity::Column = activity::Column::RegionCode;
    const ORDER: activity::Column = activity::Column::Position;

    fn record(m: activity::Model) -> Result<Activity> {
        Ok(Activity {
            id: m.id,
            region: RegionCode::parse("region", &m.region_code)?,
            measure_id: m.measure_id,
            parent_id: m.parent_id,
            code: m.code,
            title: m.title,
            description: m.description,
            responsible: read_list(&m.responsible)?,
            schedule_items: lines(m.schedule.as_deref()),
            financing_items: lines(m.financing.as_deref()),
            financing_statement: parse(&m.financing_statement)?,
            outputs: read_list(&m.outputs)?,
            source: source!(m),
            archived: m.archived,
            version: m.version,
        })
    }
}

impl Editable for activity::Entity {
    const KIND: EntityKind = EntityKind::Activity;
    const VERSION: activity::Column = activity::Column::Version;
    const UPDATED_AT: activity::Column = activity::Column::UpdatedAt;
    const ARCHIVED: activity::Column = activity::Column::Archived;
    type State = Activity;

    /// The plan of the activity's measure.
    async fn plan_of(c: &DatabaseTransaction, m: &activity::Model) -> Result<Option<i64>> {
        Ok(measure::Entity::find_by_id(m.measure_id)
            .select_only()
            .column(measure::Column::PlanId)
            .into_tuple::<i64>()
            .one(c)
            .await?)
    }

    async fn state(_c: &DatabaseTransaction, m: activity::Model) -> Result<Activity> {
        Self::record(m)
    }
}

pub async fn by_ids(s: &Scoped, ids: &[i64]) -> Result<Vec<Activity>> {
    read::by_ids::<activity::Entity>(s, ids).await
}

/// Current top-level activities of measures.
pub async fn of_measures(s: &Scoped, measure_ids: &[i64]) -> Result<Vec<Activity>> {
    read::children::<activity::Entity>(s, activity::Column::MeasureId, measure_ids, top_level())
        .await
}

/// Current activities without a parent.
pub(crate) fn top_level() -> Condition {
    Condition::all()
        .add(activity::Column::ParentId.is_null())
        .add(activity::Column::Archived.eq(false))
}

/// Current sub-activities of activities.
pub async fn sub_activities(s: &Scoped, parent_ids: &[i64]) -> Result<Vec<Activity>> {
    let cond = Condition::all().add(activity::Column::Archived.eq(false));
    read::children::<activity::Entity>(s, activity::Column::ParentId, parent_ids, cond).await
}

/// Entries one per line; none is null.
fn joined(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join("\n"))
}

fn content(f: &ActivityFields) -> Result<activity::ActiveModel> {
    Ok(activity::ActiveModel {
        code: Set(f.code.as_str().to_owned()),
        code_key: Set(f.code.normalized()),
        title: Set(f.title.as_str().to_owned()),
        description: Set(f.description.clone()),
        responsible: Set(write_list(&f.responsible)?),
        // One entry per line: the column holds the cell as the document writes it.
        schedule: Set(joined(&f.schedule_items)),
        financing: Set(joined(&f.financing_items)),
        financing_statement: Set(f.financing_statement.as_str().to_owned()),
        outputs: Set(write_list(&f.outputs)?),
        ..Default::default()
    })
}

/// The activity's content as stored, not validated again (see [`ActivityPatch::apply`]).
pub(crate) fn draft_of(m: &activity::Model) -> Result<ActivityDraft> {
    let r = activity::Entity::record(m.clone())?;
    Ok(ActivityDraft {
        code: r.code,
        title: r.title,
        description: r.description,
        responsible: r.responsible,
        schedule_items: r.schedule_items,
        financing_items: r.financing_items,
        financing_statement: Some(r.financing_statement),
        outputs: r.outputs,
    })
}

/// Activities under the same measure and parent.
fn siblings(measure_id: i64, parent_id: Option<i64>) -> Condition {
    Condition::all()
        .add(activity::Column::MeasureId.eq(measure_id))
        .add(match parent_id {
            Some(p) => activity::Column::ParentId.eq(p),
            None => activity::Column::ParentId.is_null(),
        })
}

pub(crate) async fn insert(
    c: &DatabaseTransaction,
    region: &str,
    measure_id: i64,
    parent_id: Option<i64>,
    position: usize,
    f: &ActivityFields,
    source: Option<&Provenance>,
) -> Result<i64> {
    let mut am = activity::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        measure_id: Set(measure_id),
        parent_id: Set(parent_id),
        position: Set(position as i32),
        ..content(f)?
    };
    set_source!(am, source);
    Ok(activity::Entity::insert(am).exec(c).await?.last_insert_id)
}

impl Create<activity::Entity> for ActivityForCreate {
    async fn insert(&self, s: &Scoped, c: &DatabaseTransaction) -> Result<i64> {
        let m = stored::parent::<measure::Entity>(s, c, self.measure_id, "measure_id").await?;
        if let Some(p) = self.parent_id {
            let what = format!("a current activity of measure {}", self.measure_id);
            let of_the_same = |a: &activity::Model| a.measure_id == self.measure_id;
            stored::upper::<activity::Entity>(s, c, p, &m.region_code, of_the_same, &what).await?;
        }
        let siblings = siblings(self.measure_id, self.parent_id);
        stored::check_code::<activity::Entity>(
            c,
            siblings.clone(),
            activity::Column::CodeKey,
            &self.fields.code.normalized(),
            None,
        )
        .await?;
        let position = stored::next_position::<activity::Entity>(c, siblings).await?;
        insert(
            c,
            &m.region_code,
            self.measure_id,
            self.parent_id,
            position,
            &self.fields,
            None,
        )
        .await
    }
}

impl Change<activity::Entity> for ActivityPatch {
    fn action(&self) -> AuditAction {
        AuditAction::Updated
    }

    async fn columns(
        &self,
        _s: &Scoped,
        c: &DatabaseTransaction,
        current: &activity::Model,
        _before: &Activity,
    ) -> Result<activity::ActiveModel> {
        let fields = self
            .clone()
            .apply(draft_of(current)?)
            .map_err(|e| Error::Invalid(e.under("patch")))?;
        // A change that keeps the code cannot make it clash.
        if fields.code.normalized() != current.code_key {
            stored::check_code::<activity::Entity>(
                c,
                siblings(current.measure_id, current.parent_id),
                activity::Column::CodeKey,
                &fields.code.normalized(),
                Some(current.id),
            )
            .await?;
        }
        content(&fields)
    }
}

pub async fn create(s: &Scoped, cmd: &ActivityForCreate) -> Result<Activity> {
    stored::create::<activity::Entity>(s, cmd).await
}

pub async fn update(s: &Scoped, id: i64, expected: i32, patch: &ActivityPatch) -> Result<Activity> {
    stored::update::<activity::Entity>(s, id, expected, patch).await
}

pub async fn set_archived(s: &Scoped, id: i64, expected: i32, archived: bool) -> Result<Activity> {
    stored::update::<activity::Entity>(s, id, expected, &Archive(archived)).await
}

impl Searchable for activity::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Activity;

    async fn docs_of<C: ConnectionTrait>(_c: &C, rows: Vec<activity::Model>) -> Result<Vec<Doc>> {
        rows.into_iter()
            .map(|a| {
                let title = format!("{} {}", a.code, a.title);
                let mut d = Doc::new(Self::ENTRY_KIND, a.id, a.region_code, a.archived, title)
                    .with([a.description, a.schedule, a.financing])
                    .lists(&[&a.responsible, &a.outputs])?;
                d.measure_id = Some(a.measure_id);
                Ok(d)
            })
            .collect()
    }
}

/// Imports a seed file's activity with its sub-activities.
pub(crate) async fn import(
    at: &At<'_>,
    measure_id: i64,
    parent_id: Option<i64>,
    position: usize,
    a: &ActivityData,
    field: &str,
) -> Result<()> {
    let source = at.source(a.provenance(), field)?;
    let fields = under(a.draft().parse(), field)?;
    let (c, region) = (at.c, at.region);
    let id = insert(
        c,
        region,
        measure_id,
        parent_id,
        position,
        &fields,
        source.as_ref(),
    )
    .await?;
    for (i, sub) in a.sub_activities.iter().enumerate() {
        let f = format!("{field}.sub_activities[{i}]");
        Box::pin(import(at, measure_id, Some(id), i, sub, &f)).await?;
    }
    Ok(())
}

/// An activity in the seed format, with its sub-activities.
pub(crate) fn export(a: &activity::Model, rows: &Rows) -> Result<ActivityData> {
    let (source, sources, reading) = seed_provenance(source!(a).as_ref());
    Ok(ActivityData {
        code: a.code.clone(),
        title: a.title.clone(),
        description: a.description.clone(),
        responsible: read_list(&a.responsible)?,
        schedule_items: lines(a.schedule.as_deref()),
        financing_items: lines(a.financing.as_deref()),
        financing_statement: stated_funding(parse(&a.financing_statement)?),
        outputs: read_list(&a.outputs)?,
        source,
        sources,
        reading,
        sub_activities: in_order(
            &rows.activities,
            |s| s.parent_id == Some(a.id),
            |s| s.position,
        )
        .into_iter()
        .map(|s| export(s, rows))
        .collect::<Result<_>>()?,
    })
}
