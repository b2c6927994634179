//! A region's current (non-archived) data in the seed format: how an office
//! takes its data home, and the proof that an import loses nothing.

use crate::columns::{from_date, parse, read_list};
use crate::entity::{
    activity, capacity, evaluation, measure, plan, plan_project, priority, provider, service,
};
use crate::scoped::Scoped;
use crate::service::to_capacity;
use crate::{Error, Result};
use kpss_domain::activity::lines;
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{
    ActivityData, CapacityData, EvaluationData, MeasureData, PlanData, PriorityData, ProjectData,
    ProviderData, RegionData, ServiceData, stated_funding,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

/// Exports one region the caller may read (`Forbidden` otherwise).
pub async fn region(s: &Scoped, code: &RegionCode) -> Result<RegionData> {
    if crate::region::get(s, code).await?.is_none() {
        return Err(Error::Forbidden(format!("no region `{code}`")));
    }
    let c = &s.reader().await?;
    let r = code.as_str();
    macro_rules! rows {
        ($m:ident, archivable) => {
            $m::Entity::find()
                .filter($m::Column::RegionCode.eq(r))
                .filter($m::Column::Archived.eq(false))
                .order_by_asc($m::Column::Id)
                .all(c)
                .await?
        };
        ($m:ident) => {
            $m::Entity::find()
                .filter($m::Column::RegionCode.eq(r))
                .order_by_asc($m::Column::Id)
                .all(c)
                .await?
        };
    }
    let plans = rows!(plan, archivable);
    let projects = rows!(plan_project);
    let priorities = rows!(priority, archivable);
    let measures = rows!(measure, archivable);
    let activities = rows!(activity, archivable);
    let evaluations = rows!(evaluation);
    let providers = rows!(provider, archivable);
    let services = rows!(service, archivable);
    let capacities = rows!(capacity);

    let caps = |owner: &dyn Fn(&capacity::Model) -> bool| -> Result<Vec<CapacityData>> {
        let mut list: Vec<&capacity::Model> = capacities.iter().filter(|m| owner(m)).collect();
        list.sort_by_key(|m| m.position);
        list.into_iter()
            .map(|m| Ok(CapacityData::of(&to_capacity(m)?)))
            .collect()
    };
    let keys: HashMap<i64, String> = plans.iter().map(|p| (p.id, plan_key(p))).collect();

    let activity_tree = Tree::new(&activities, |a| a.parent_id, |a| a.position);
    let measure_tree = Tree::new(&measures, |m| m.parent_id, |m| m.position);
    let to_activity =
        |a: &activity::Model| -> Result<ActivityData> { build_activity(a, &activity_tree) };
    let measure_data = |m: &measure::Model| -> Result<MeasureData> {
        build_measure(m, &measure_tree, &|m: &measure::Model| {
            let mut evals: Vec<&evaluation::Model> = evaluations
                .iter()
                .filter(|e| e.measure_id == m.id)
                .collect();
            evals.sort_by_key(|e| e.year);
            let evals = evals
                .into_iter()
                .map(to_evaluation)
                .collect::<Result<_>>()?;
            let mut acts: Vec<&activity::Model> = activities
                .iter()
                .filter(|a| a.measure_id == m.id && a.parent_id.is_none())
                .collect();
            acts.sort_by_key(|a| a.position);
            let acts = acts.into_iter().map(to_activity).collect::<Result<_>>()?;
            Ok((evals, acts, caps(&|c| c.measure_id == Some(m.id))?))
        })
    };

    let mut out_plans = Vec::new();
    for p in &plans {
        let mut projs: Vec<&plan_project::Model> =
            projects.iter().filter(|x| x.plan_id == p.id).collect();
        projs.sort_by_key(|x| x.position);
        let mut prios: Vec<&priority::Model> =
            priorities.iter().filter(|x| x.plan_id == p.id).collect();
        prios.sort_by_key(|x| x.position);
        let mut out_prios = Vec::new();
        for pr in prios {
            let mut top: Vec<&measure::Model> = measures
                .iter()
                .filter(|m| m.priority_id == pr.id && m.parent_id.is_none())
                .collect();
            top.sort_by_key(|m| m.position);
            out_prios.push(PriorityData {
                code: pr.code.clone(),
                title: pr.title.clone(),
                description: pr.description.clone(),
                group: pr.group_name.clone(),
                source: source!(pr).map(|s| s.data()),
                measures: top.into_iter().map(measure_data).collect::<Result<_>>()?,
            });
        }
        out_plans.push(PlanData {
            key: plan_key(p),
            title: p.title.clone(),
            kind: parse(&p.kind)?,
            period_start: p.period_start,
            period_end: p.period_end,
            parent: p.parent_id.and_then(|id| keys.get(&id).cloned()),
            prepared_by: p.prepared_by.clone(),
            approval: p.approval.clone(),
            approved_on: p.approved_on.map(from_date).transpose()?,
            mission: p.mission.clone(),
            vision: p.vision.clone(),
            implementation: p.implementation.clone(),
            issued: p.issued.clone(),
            issued_on: p.issued_on.map(from_date).transpose()?,
            source_document: p.source_document.clone(),
            source: source!(p).map(|s| s.data()),
            projects: projs
                .into_iter()
                .map(|x| ProjectData {
                    title: x.title.clone(),
                    implementer: x.implementer.clone(),
                    due: x.due.clone(),
                    due_year: x.due_year,
                    source: source!(x).map(|s| s.data()),
                })
                .collect(),
            priorities: out_prios,
        });
    }

    let mut out_providers = Vec::new();
    for p in &providers {
        let mut svcs = Vec::new();
        for s in services.iter().filter(|s| s.provider_id == p.id) {
            svcs.push(ServiceData {
                service_type: parse(&s.service_type)?,
                name: s.name.clone(),
                scope: s.scope.clone(),
                source: source!(s).map(|s| s.data()),
                capacities: caps(&|c| c.service_id == Some(s.id))?,
            });
        }
        out_providers.push(ProviderData {
            name: p.name.clone(),
            ico: p.ico.clone(),
            source_document: p.source_document.clone(),
            source: source!(p).map(|s| s.data()),
            services: svcs,
        });
    }
    Ok(RegionData {
        region: code.clone(),
        plans: out_plans,
        providers: out_providers,
    })
}

/// The seed file text of a region, as `kpss export` writes it.
pub fn to_yaml(data: &RegionData) -> Result<String> {
    serde_norway::to_string(data).map_err(|e| Error::Seed(format!("cannot write YAML: {e}")))
}

fn plan_key(p: &plan::Model) -> String {
    p.seed_key
        .clone()
        .unwrap_or_else(|| format!("plan-{}", p.id))
}

/// Children by parent id, in document order.
struct Tree<'a, T> {
    children: HashMap<i64, Vec<&'a T>>,
}

impl<'a, T> Tree<'a, T> {
    fn new(
        rows: &'a [T],
        parent: impl Fn(&T) -> Option<i64>,
        position: impl Fn(&T) -> i32,
    ) -> Self {
        let mut children: HashMap<i64, Vec<&T>> = HashMap::new();
        for r in rows {
            if let Some(p) = parent(r) {
                children.entry(p).or_default().push(r);
            }
        }
        for list in children.values_mut() {
            list.sort_by_key(|r| position(r));
        }
        Self { children }
    }

    fn of(&self, id: i64) -> &[&'a T] {
        self.children.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
}

type MeasureParts = (Vec<EvaluationData>, Vec<ActivityData>, Vec<CapacityData>);

fn build_measure(
    m: &measure::Model,
    tree: &Tree<measure::Model>,
    parts: &dyn Fn(&measure::Model) -> Result<MeasureParts>,
) -> Result<MeasureData> {
    let (evaluations, activities, planned_capacities) = parts(m)?;
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
        expected_cost: crate::measure::cost(m)?,
        funding_sources: read_list(&m.funding_sources)?,
        funding_statement: stated_funding(parse(&m.funding_statement)?),
        risks: read_list(&m.risks)?,
        planned_activities: read_list(&m.planned_activities)?,
        planned_capacities,
        priority_title: m.priority_title.clone(),
        evaluations,
        activities,
        sub_measures: tree
            .of(m.id)
            .iter()
            .map(|s| build_measure(s, tree, parts))
            .collect::<Result<_>>()?,
        source: source!(m).map(|s| s.data()),
    })
}

fn build_activity(a: &activity::Model, tree: &Tree<activity::Model>) -> Result<ActivityData> {
    Ok(ActivityData {
        code: a.code.clone(),
        title: a.title.clone(),
        description: a.description.clone(),
        responsible: read_list(&a.responsible)?,
        schedule_items: lines(a.schedule.as_deref()),
        financing_items: lines(a.financing.as_deref()),
        outputs: read_list(&a.outputs)?,
        source: source!(a).map(|s| s.data()),
        sub_activities: tree
            .of(a.id)
            .iter()
            .map(|s| build_activity(s, tree))
            .collect::<Result<_>>()?,
    })
}

fn to_evaluation(e: &evaluation::Model) -> Result<EvaluationData> {
    Ok(EvaluationData {
        year: e.year,
        status: parse(&e.status)?,
        comment: e.comment.clone(),
        source: source!(e).map(|s| s.data()),
    })
}
