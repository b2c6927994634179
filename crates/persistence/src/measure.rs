//! Measures of priorities, their sub-measures and the capacities they plan.

use crate::columns::{parse, read_list, write_list};
use crate::entity::{capacity, evaluation, measure, priority};
use crate::page::{Connection, Page, contains, page, scoped};
use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::{Doc, Searchable, capacity_texts};
use crate::service::{capacities_of, replace_capacities, texts, with_capacities};
use crate::stored::{self, Archive, Change, Create, Editable};
use crate::transfer::{At, Rows, in_order, under};
use crate::{Error, Result};
use chrono::Utc;
use kpss_domain::EntityKind;
use kpss_domain::access::Grant;
use kpss_domain::evaluation::EvaluationStatus;
use kpss_domain::kind::AuditAction;
use kpss_domain::measure::Measure;
use kpss_domain::measure::{Cost, MeasureDraft, MeasureFields, MeasureForCreate, MeasurePatch};
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{MeasureData, seed_provenance, stated_funding};
use kpss_domain::service::Capacity;
use kpss_domain::service::OwnedCapacity;
use kpss_domain::source::Provenance;
use kpss_domain::text::fold;
use kpss_domain::value::{AmountCzk, Year, normalized_code};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, Select,
};
use serde::Serialize;

impl Stored for measure::Entity {
    type Record = Measure;
    const ID: measure::Column = measure::Column::Id;
    const REGION: measure::Column = measure::Column::RegionCode;
    const ORDER: measure::Column = measure::Column::Position;

    fn record(m: measure::Model) -> Result<Measure> {
        let expected_cost = cost(&m)?;
        Ok(Measure {
            id: m.id,
            region: RegionCode::parse("region", &m.region_code)?,
            plan_id: m.plan_id,
            priority_id: m.priority_id,
            parent_id: m.parent_id,
            carried_from_id: m.carried_from_id,
            code: m.code,
            title: m.title,
            rationale: m.rationale,
            description: m.description,
            target_groups: read_list(&m.target_groups)?,
            term: m.term,
            term_start_year: m.term_start_year,
            term_end_year: m.term_end_year,
            responsible: read_list(&m.responsible)?,
            output: m.output,
            expected_cost,
            funding_sources: read_list(&m.funding_sources)?,
            funding_statement: parse(&m.funding_statement)?,
            risks: read_list(&m.risks)?,
            planned_activities: read_list(&m.planned_activities)?,
            priority_title: m.priority_title.clone(),
            alternative_title: m.alternative_title.clone(),
            source: source!(m),
            archived: m.archived,
            version: m.version,
        })
    }
}

/// The expected cost of a row; none when it has no cost text.
pub(crate) fn cost(m: &measure::Model) -> Result<Option<Cost>> {
    let Some(text) = m.cost_text.clone() else {
        return Ok(None);
    };
    Ok(Some(Cost {
        statement: m
            .cost_statement
            .as_deref()
            .map(parse)
            .transpose()?
            .unwrap_or_default(),
        amount_czk: m
            .cost_czk
            .map(|a| AmountCzk::new("amount_czk", a))
            .transpose()?,
        per: m.cost_per.clone(),
        text,
    }))
}

/// A measure with its planned capacities, as the audit log shows it.
#[derive(Serialize)]
pub(crate) struct MeasureState {
    #[serde(flatten)]
    pub measure: Measure,
    pub planned_capacities: Vec<Capacity>,
}

impl MeasureState {
    fn of(m: &measure::Model, planned_capacities: Vec<Capacity>) -> Result<Self> {
        let measure = measure::Entity::record(m.clone())?;
        Ok(Self {
            measure,
            planned_capacities,
        })
    }
}

impl Editable for measure::Entity {
    const KIND: EntityKind = EntityKind::Measure;
    const VERSION: measure::Column = measure::Column::Version;
    const UPDATED_AT: measure::Column = measure::Column::UpdatedAt;
    const ARCHIVED: measure::Column = measure::Column::Archived;
    type State = MeasureState;

    async fn plan_of(_c: &DatabaseTransaction, m: &measure::Model) -> Result<Option<i64>> {
        Ok(Some(m.plan_id))
    }

    /// An evaluation's entry shows its measure's code and archive flag.
    const SHOWN_BY_DEPENDENTS: Option<&'static [measure::Column]> =
        Some(&[measure::Column::Code, measure::Column::Archived]);

    async fn with_state(
        c: &DatabaseTransaction,
        select: Select<Self>,
    ) -> Result<Option<(measure::Model, MeasureState)>> {
        let owner = (capacity::Column::MeasureId, measure::Column::Id);
        with_capacities(c, select, owner, MeasureState::of).await
    }

    async fn state(c: &DatabaseTransaction, m: measure::Model) -> Result<MeasureState> {
        let planned = capacities_of(c, capacity::Column::MeasureId, m.id).await?;
        MeasureState::of(&m, planned)
    }

    fn with_owned_of(
        before: &MeasureState,
        updated: &measure::Model,
    ) -> Option<Result<MeasureState>> {
        Some(MeasureState::of(updated, before.planned_capacities.clone()))
    }

    fn doc_of_state(m: measure::Model, state: &MeasureState) -> Option<Result<Doc>> {
        Some(doc(m, texts(&state.planned_capacities)))
    }
}

// ---------------------------------------------------------------- reads

#[derive(Debug, Clone, Default)]
pub struct MeasureQuery {
    pub regions: Option<Grant>,
    pub plan_id: Option<i64>,
    pub status: Option<EvaluationStatus>,
    pub target_group: Option<String>,
    pub year: Option<i32>,
    pub text: Option<String>,
    /// A code as printed or normalised ("1. 2" and "1.2" find the same).
    pub code: Option<String>,
    pub include_archived: bool,
    /// Fields of [`unreadable_fields`] the reader does not show: left unread.
    pub unshown: Vec<&'static str>,
}

/// The record fields a list may leave unread (long texts and lists).
pub fn unreadable_fields() -> impl Iterator<Item = &'static str> {
    UNREAD_FIELDS.iter().map(|(field, _)| *field)
}

/// [`unreadable_fields`], each with its columns.
const UNREAD_FIELDS: [(&str, &[measure::Column]); 11] = {
    use measure::Column::*;
    [
        ("rationale", &[Rationale]),
        ("description", &[Description]),
        ("target_groups", &[TargetGroups]),
        ("responsible", &[Responsible]),
        ("output", &[Output]),
        (
            "expected_cost",
            &[CostCzk, CostPer, CostText, CostStatement],
        ),
        ("funding_sources", &[FundingSources]),
        ("risks", &[Risks]),
        ("planned_activities", &[PlannedActivities]),
        ("priority_title", &[PriorityTitle]),
        ("alternative_title", &[AlternativeTitle]),
    ]
};

pub async fn list(s: &Scoped, q: &MeasureQuery, p: Page) -> Result<Connection<Measure>> {
    let mut cond = scoped(s.ctx(), q.regions.as_ref(), measure::Column::RegionCode);
    if !q.include_archived {
        cond = cond.add(measure::Column::Archived.eq(false));
    }
    if let Some(id) = q.plan_id {
        cond = cond.add(measure::Column::PlanId.eq(id));
    }
    if let Some(y) = q.year {
        // A term covers a year when it starts by then and has not ended before it.
        cond = cond.add(measure::Column::TermStartYear.lte(y)).add(
            Condition::any()
                .add(measure::Column::TermEndYear.is_null())
                .add(measure::Column::TermEndYear.gte(y)),
        );
    }
    if let Some(t) = &q.target_group {
        cond = cond.add(contains(measure::Column::FoldTargetGroups, t));
    }
    if let Some(t) = &q.text {
        cond = cond.add(contains(measure::Column::FoldText, t));
    }
    if let Some(code) = &q.code {
        cond = cond.add(measure::Column::CodeKey.eq(normalized_code(code)));
    }
    if let Some(status) = q.status {
        cond = cond.add(measure::Column::Id.in_subquery(latest_with_status(status)));
    }
    let unread: Vec<measure::Column> = UNREAD_FIELDS
        .iter()
        .filter(|(field, _)| q.unshown.contains(field))
        .flat_map(|(_, columns)| columns.iter().copied())
        .collect();
    page(
        s,
        measure::Entity::readable_without(s, &unread).filter(cond),
        None,
        measure::Column::Id,
        p,
        measure::Entity::record,
    )
    .await
}

/// Ids of measures whose latest evaluation has `status`.
fn latest_with_status(status: EvaluationStatus) -> sea_orm::sea_query::SelectStatement {
    let e = Alias::new("e");
    Query::select()
        .column((e.clone(), evaluation::Column::MeasureId))
        .from_as(evaluation::Entity, e.clone())
        .and_where(Expr::col((e.clone(), evaluation::Column::Status)).eq(status.as_str()))
        .and_where(crate::evaluation::is_latest(e))
        .to_owned()
}

pub async fn by_ids(s: &Scoped, ids: &[i64]) -> Result<Vec<Measure>> {
    read::by_ids::<measure::Entity>(s, ids).await
}

/// Current top-level measures of priorities.
pub async fn of_priorities(s: &Scoped, priority_ids: &[i64]) -> Result<Vec<Measure>> {
    read::children::<measure::Entity>(s, measure::Column::PriorityId, priority_ids, top_level())
        .await
}

/// Current measures without a parent.
pub(crate) fn top_level() -> Condition {
    Condition::all()
        .add(measure::Column::ParentId.is_null())
        .add(measure::Column::Archived.eq(false))
}

/// Current sub-measures of measures.
pub async fn sub_measures(s: &Scoped, parent_ids: &[i64]) -> Result<Vec<Measure>> {
    let cond = Condition::all().add(measure::Column::Archived.eq(false));
    read::children::<measure::Entity>(s, measure::Column::ParentId, parent_ids, cond).await
}

/// Capacities measures plan to create.
pub async fn planned_capacities(s: &Scoped, measure_ids: &[i64]) -> Result<Vec<OwnedCapacity>> {
    crate::service::owned_capacities(s, capacity::Column::MeasureId, measure_ids).await
}

// ---------------------------------------------------------------- writes

/// What `MeasureFilter.text` searches: title, rationale and description, folded.
fn fold_text(f: &MeasureFields) -> String {
    fold(
        &[
            Some(f.title.as_str()),
            f.rationale.as_deref(),
            f.description.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n"),
    )
}

fn content(f: &MeasureFields) -> Result<measure::ActiveModel> {
    let cost = f.expected_cost.as_ref();
    Ok(measure::ActiveModel {
        code: Set(f.code.as_str().to_owned()),
        code_key: Set(f.code.normalized()),
        title: Set(f.title.as_str().to_owned()),
        rationale: Set(f.rationale.clone()),
        description: Set(f.description.clone()),
        target_groups: Set(write_list(&f.target_groups)?),
        term: Set(f.term.text.clone()),
        term_start_year: Set(f.term.start_year.map(Year::get)),
        term_end_year: Set(f.term.end_year.map(Year::get)),
        responsible: Set(write_list(&f.responsible)?),
        output: Set(f.output.clone()),
        cost_czk: Set(cost.and_then(|c| c.amount_czk).map(AmountCzk::get)),
        cost_per: Set(cost.and_then(|c| c.per.clone())),
        cost_text: Set(cost.map(|c| c.text.clone())),
        cost_statement: Set(cost.map(|c| c.statement.as_str().to_owned())),
        funding_sources: Set(write_list(&f.funding_sources)?),
        funding_statement: Set(f.funding_statement.as_str().to_owned()),
        risks: Set(write_list(&f.risks)?),
        planned_activities: Set(write_list(&f.planned_activities)?),
        priority_title: Set(f.priority_title.clone()),
        alternative_title: Set(f.alternative_title.clone()),
        fold_text: Set(fold_text(f)),
        fold_target_groups: Set(fold(&f.target_groups.join("\n"))),
        ..Default::default()
    })
}

pub(crate) async fn draft_of(c: &DatabaseTransaction, m: &measure::Model) -> Result<MeasureDraft> {
    draft_with(
        m,
        capacities_of(c, capacity::Column::MeasureId, m.id).await?,
    )
}

/// The measure's content from its row and its planned capacities, not
/// validated again (see [`MeasurePatch::apply`]).
fn draft_with(m: &measure::Model, planned_capacities: Vec<Capacity>) -> Result<MeasureDraft> {
    let r = measure::Entity::record(m.clone())?;
    Ok(MeasureDraft {
        code: r.code,
        title: r.title,
        rationale: r.rationale,
        description: r.description,
        target_groups: r.target_groups,
        term: r.term,
        term_start_year: r.term_start_year,
        term_end_year: r.term_end_year,
        responsible: r.responsible,
        output: r.output,
        expected_cost: r.expected_cost,
        funding_sources: r.funding_sources,
        funding_statement: Some(r.funding_statement),
        risks: r.risks,
        planned_activities: r.planned_activities,
        planned_capacities,
        priority_title: r.priority_title,
        alternative_title: r.alternative_title,
    })
}

/// Measures under the same priority and parent.
fn siblings(priority_id: i64, parent_id: Option<i64>) -> Condition {
    Condition::all()
        .add(measure::Column::PriorityId.eq(priority_id))
        .add(match parent_id {
            Some(p) => measure::Column::ParentId.eq(p),
            None => measure::Column::ParentId.is_null(),
        })
}

/// Where a new measure goes: its region, plan, priority, parent and place.
pub(crate) struct Place<'a> {
    pub region: &'a str,
    pub plan_id: i64,
    pub priority_id: i64,
    pub parent_id: Option<i64>,
    pub position: usize,
    pub source: Option<&'a Provenance>,
    /// The measure it is rolled over from.
    pub carried_from: Option<i64>,
}

/// Inserts a measure with its planned capacities.
pub(crate) async fn insert(
    c: &DatabaseTransaction,
    at: Place<'_>,
    f: &MeasureFields,
) -> Result<i64> {
    let mut am = measure::ActiveModel {
        region_code: Set(at.region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        plan_id: Set(at.plan_id),
        priority_id: Set(at.priority_id),
        parent_id: Set(at.parent_id),
        position: Set(at.position as i32),
        carried_from_id: Set(at.carried_from),
        ..content(f)?
    };
    set_source!(am, at.source);
    let id = measure::Entity::insert(am).exec(c).await?.last_insert_id;
    replace_capacities(
        c,
        at.region,
        capacity::Column::MeasureId,
        id,
        &f.planned_capacities,
    )
    .await?;
    Ok(id)
}

impl Create<measure::Entity> for MeasureForCreate {
    async fn insert(&self, s: &Scoped, c: &DatabaseTransaction) -> Result<i64> {
        let prio =
            stored::parent::<priority::Entity>(s, c, self.priority_id, "priority_id").await?;
        if let Some(p) = self.parent_id {
            let what = format!(
                "a current top-level measure of priority {}",
                self.priority_id
            );
            let of_the_same =
                |m: &measure::Model| m.priority_id == self.priority_id && m.parent_id.is_none();
            stored::upper::<measure::Entity>(s, c, p, &prio.region_code, of_the_same, &what)
                .await?;
        }
        let siblings = siblings(self.priority_id, self.parent_id);
        stored::check_code::<measure::Entity>(
            c,
            siblings.clone(),
            measure::Column::CodeKey,
            &self.fields.code.normalized(),
            None,
        )
        .await?;
        let position = stored::next_position::<measure::Entity>(c, siblings).await?;
        let at = Place {
            region: &prio.region_code,
            plan_id: prio.plan_id,
            priority_id: self.priority_id,
            parent_id: self.parent_id,
            position,
            source: None,
            carried_from: None,
        };
        insert(c, at, &self.fields).await
    }
}

/// An update with the patched content, kept for rewriting the capacities.
impl Change<measure::Entity> for MeasurePatch {
    fn action(&self) -> AuditAction {
        AuditAction::Updated
    }

    async fn columns(
        &self,
        _s: &Scoped,
        c: &DatabaseTransaction,
        current: &measure::Model,
        before: &MeasureState,
    ) -> Result<measure::ActiveModel> {
        let planned = before.planned_capacities.clone();
        let fields = self
            .clone()
            .apply(draft_with(current, planned)?)
            .map_err(|e| Error::Invalid(e.under("patch")))?;
        // A change that keeps the code cannot make it clash.
        if fields.code.normalized() != current.code_key {
            stored::check_code::<measure::Entity>(
                c,
                siblings(current.priority_id, current.parent_id),
                measure::Column::CodeKey,
                &fields.code.normalized(),
                Some(current.id),
            )
            .await?;
        }
        content(&fields)
    }

    async fn rewrite_owned(
        &self,
        c: &DatabaseTransaction,
        current: &measure::Model,
    ) -> Result<bool> {
        // Planned capacities are part of the measure's content: the old ones stay in the audit entry.
        if let kpss_domain::patch::Patch::Keep = self.planned_capacities {
            return Ok(false);
        }
        let planned = self
            .planned_capacities
            .clone()
            .optional(None)
            .unwrap_or_default();
        let planned = kpss_domain::service::capacities("patch.planned_capacities", planned)?;
        replace_capacities(
            c,
            &current.region_code,
            capacity::Column::MeasureId,
            current.id,
            &planned,
        )
        .await?;
        Ok(true)
    }
}

pub async fn create(s: &Scoped, cmd: &MeasureForCreate) -> Result<Measure> {
    Ok(stored::create::<measure::Entity>(s, cmd).await?.measure)
}

pub async fn update(s: &Scoped, id: i64, expected: i32, patch: &MeasurePatch) -> Result<Measure> {
    Ok(stored::update::<measure::Entity>(s, id, expected, patch)
        .await?
        .measure)
}

pub async fn set_archived(s: &Scoped, id: i64, expected: i32, archived: bool) -> Result<Measure> {
    Ok(
        stored::update::<measure::Entity>(s, id, expected, &Archive(archived))
            .await?
            .measure,
    )
}

impl Searchable for measure::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Measure;
    const DEPENDENTS: Option<(EntityKind, &'static str)> =
        Some((EntityKind::Evaluation, "measure_id"));

    async fn docs_of<C: ConnectionTrait>(c: &C, rows: Vec<measure::Model>) -> Result<Vec<Doc>> {
        let ids = rows.iter().map(|m| m.id).collect();
        let mut caps = capacity_texts(c, capacity::Column::MeasureId, ids).await?;
        rows.into_iter()
            .map(|m| {
                let texts = caps.remove(&m.id).unwrap_or_default();
                doc(m, texts)
            })
            .collect()
    }
}

/// A measure's search document, with the texts of its planned capacities.
fn doc(m: measure::Model, capacity_texts: Vec<Option<String>>) -> Result<Doc> {
    let title = format!("{} {}", m.code, m.title);
    let mut d = Doc::new(EntityKind::Measure, m.id, m.region_code, m.archived, title)
        .with([m.rationale, m.description, m.term, m.output, m.cost_text])
        .lists(&[
            &m.target_groups,
            &m.responsible,
            &m.funding_sources,
            &m.risks,
            &m.planned_activities,
        ])?
        .with(capacity_texts);
    d.plan_id = Some(m.plan_id);
    d.measure_id = Some(m.id);
    Ok(d)
}

/// What an imported measure hangs under.
#[derive(Clone, Copy)]
pub(crate) struct Parent {
    pub plan_id: i64,
    pub priority_id: i64,
    pub measure_id: Option<i64>,
}

/// Imports a seed file's measure with its evaluations, activities and sub-measures.
pub(crate) async fn import(
    at: &At<'_>,
    parent: Parent,
    position: usize,
    m: &MeasureData,
    field: &str,
) -> Result<()> {
    let source = at.source(m.provenance(), field)?;
    let mut fields = under(m.draft().parse(), field)?;
    let capacities = format!("{field}.planned_capacities");
    fields.planned_capacities = at.capacities(&m.planned_capacities, &capacities)?;
    let place = Place {
        region: at.region,
        plan_id: parent.plan_id,
        priority_id: parent.priority_id,
        parent_id: parent.measure_id,
        position,
        source: source.as_ref(),
        carried_from: None,
    };
    let id = insert(at.c, place, &fields).await?;
    for (i, e) in m.evaluations.iter().enumerate() {
        let f = format!("{field}.evaluations[{i}]");
        crate::evaluation::import(at, id, e, &f).await?;
    }
    for (i, a) in m.activities.iter().enumerate() {
        let f = format!("{field}.activities[{i}]");
        crate::activity::import(at, id, None, i, a, &f).await?;
    }
    for (i, sub) in m.sub_measures.iter().enumerate() {
        let parent = Parent {
            measure_id: Some(id),
            ..parent
        };
        let f = format!("{field}.sub_measures[{i}]");
        Box::pin(import(at, parent, i, sub, &f)).await?;
    }
    Ok(())
}

/// A measure in the seed format, with its evaluations, activities,
/// capacities and sub-measures.
pub(crate) fn export(m: &measure::Model, rows: &Rows) -> Result<MeasureData> {
    let top_activity =
        |a: &crate::entity::activity::Model| a.measure_id == m.id && a.parent_id.is_none();
    let (source, sources, reading) = seed_provenance(source!(m).as_ref());
    Ok(MeasureData {
        code: m.code.clone(),
        title: m.title.clone(),
        rationale: m.rationale.clone(),
        description: m.description.clone(),
        target_groups: read_list(&m.target_groups)?,
        term: m.term.clone(),
        term_start_year: m.term_start_year,
        term_end_year: m.term_end_year,
        responsible: read_list(&m.responsible)?,
        output: m.output.clone(),
        expected_cost: cost(m)?,
        funding_sources: read_list(&m.funding_sources)?,
        funding_statement: stated_funding(parse(&m.funding_statement)?),
        risks: read_list(&m.risks)?,
        planned_activities: read_list(&m.planned_activities)?,
        planned_capacities: crate::service::exported_capacities(rows, |c| {
            c.measure_id == Some(m.id)
        })?,
        priority_title: m.priority_title.clone(),
        alternative_title: m.alternative_title.clone(),
        evaluations: in_order(&rows.evaluations, |e| e.measure_id == m.id, |e| e.year)
            .into_iter()
            .map(crate::evaluation::export)
            .collect::<Result<_>>()?,
        activities: in_order(&rows.activities, top_activity, |a| a.position)
            .into_iter()
            .map(|a| crate::activity::export(a, rows))
            .collect::<Result<_>>()?,
        sub_measures: in_order(
            &rows.measures,
            |s| s.parent_id == Some(m.id),
            |s| s.position,
        )
        .into_iter()
        .map(|s| export(s, rows))
        .collect::<Result<_>>()?,
        source,
        sources,
        reading,
    })
}
