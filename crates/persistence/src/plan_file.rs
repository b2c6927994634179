//! A plan as a file in the seed format (a region file with one plan):
//! exported, and imported with a dry run that lists what would change,
//! record by record and field by field. Records are matched by code within
//! their parent (priorities by group and code), evaluations by year; the
//! apply is one transaction through the versioned write path, refused when
//! the plan's tree changed since the dry run. Provenance (`source`,
//! `sources`, `reading`) is the data set's, not an office's: an import
//! neither compares nor changes it.

use crate::entity::{activity, evaluation, measure, plan, priority};
use crate::events::Recorded as Event;
use crate::scoped::Scoped;
use crate::stored::{self, Archive};
use crate::transfer::{Rows, in_order};
use crate::{Error, Result};
use kpss_domain::EntityKind;
use kpss_domain::activity::{ActivityForCreate, ActivityPatch};
use kpss_domain::evaluation::EvaluationForRecord;
use kpss_domain::measure::{MeasureForCreate, MeasurePatch};
use kpss_domain::plan::{PlanForCreate, PlanPatch};
use kpss_domain::priority::{PriorityForCreate, PriorityPatch};
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{
    ActivityData, EvaluationData, Kept, MeasureData, PlanData, PriorityData, RegionData,
    plan_problems,
};
use kpss_domain::value::normalized_code;
use kpss_domain::{Rule, ValidationError};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use std::collections::BTreeMap;

/// What an import does to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    Created,
    Changed,
    Unchanged,
    Archived,
}

/// A field an import changes: its seed name, its value before and after
/// (text as is, other values as JSON; none when not stated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    pub kind: EntityKind,
    /// The record's code; an evaluation's is its measure's code and year ("1.2/2023").
    pub code: Option<String>,
    pub action: ImportAction,
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanImport {
    pub applied: bool,
    /// The plan the file updates (none for a new plan in a dry run).
    pub plan_id: Option<i64>,
    /// The version of the plan's tree the changes were computed from (after
    /// them, once applied).
    pub version: i32,
    pub changes: Vec<RecordChange>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    pub dry_run: bool,
    /// The tree version a dry run gave: the apply refuses when it moved.
    pub expected_version: Option<i32>,
    /// Archive the records the file leaves out (else they stay as they are).
    pub archive_missing: bool,
}

/// One plan the caller may read, as its file (YAML).
pub async fn export(s: &Scoped, plan_id: i64) -> Result<String> {
    crate::export::to_yaml(&export_data(s, plan_id).await?)
}

/// One plan the caller may read, as a region file holding it alone.
pub async fn export_data(s: &Scoped, plan_id: i64) -> Result<RegionData> {
    let Some(p) = crate::plan::by_ids(s, &[plan_id]).await?.pop() else {
        return Err(Error::NotFound(format!("there is no plan {plan_id}")));
    };
    let rows = Rows::read(&s.reader().await?, p.region.as_str()).await?;
    let Some(m) = rows.plans.iter().find(|m| m.id == plan_id) else {
        return Err(Error::NotFound(format!("plan {plan_id} is archived")));
    };
    Ok(RegionData {
        region: p.region,
        plans: vec![crate::plan::export(m, &rows)?],
        providers: vec![],
    })
}

/// Reads a plan file of `region` (YAML): every problem it has, or its plan.
pub fn parse(region: &RegionCode, yaml: &str) -> Result<PlanData> {
    if yaml.trim().is_empty() {
        return Err(Error::Problems(vec![ValidationError::new(
            "file",
            Rule::EmptyFile,
        )]));
    }
    let de = serde_norway::Deserializer::from_str(yaml);
    let file: RegionData = serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." { "file".to_owned() } else { at };
        let message = e.into_inner().to_string();
        Error::Problems(vec![ValidationError::new(at, Rule::Unreadable(message))])
    })?;
    checked(region, file)
}

/// A plan file's content (YAML, or read off a workbook) checked as a plan
/// of `region`: every problem, each at its path in the seed format, or the plan.
pub fn checked(region: &RegionCode, file: RegionData) -> Result<PlanData> {
    let mut problems = Vec::new();
    if file.region != *region {
        problems.push(ValidationError::new(
            "region",
            Rule::OtherRegion {
                file: file.region.to_string(),
                into: region.to_string(),
            },
        ));
    }
    if !file.providers.is_empty() {
        problems.push(ValidationError::new("providers", Rule::ProvidersInPlanFile));
    }
    let mut plans = file.plans;
    if plans.len() != 1 {
        problems.push(ValidationError::new(
            "plans",
            Rule::PlansInFile(plans.len()),
        ));
    }
    if let Some(p) = plans.first() {
        problems.extend(plan_problems(p).into_iter().map(|e| e.under("plans[0]")));
    }
    if !problems.is_empty() {
        return Err(Error::Problems(problems));
    }
    Ok(plans.remove(0).normalized()?)
}

/// Imports a parsed plan file into `region`: the changes, applied unless a
/// dry run. The `kept` fields of each stored record stay as they are.
pub async fn import(
    s: &Scoped,
    region: &RegionCode,
    file: &PlanData,
    kept: &Kept,
    o: ImportOptions,
) -> Result<PlanImport> {
    stored::retrying(move || async move {
        let (txn, _turn) = s.begin_write().await?;
        stored::writable(s, &txn, region.as_str()).await?;
        let rows = Rows::read(&txn, region.as_str()).await?;
        let current = rows
            .plans
            .iter()
            .find(|p| crate::plan::key(p) == file.key)
            .or_else(|| {
                rows.plans.iter().find(|p| {
                    p.title == file.title
                        && p.period_start == file.period_start
                        && p.period_end == file.period_end
                })
            });
        let version = match current {
            Some(p) => tree_version(&txn, p.id).await?,
            None => 0,
        };
        if !o.dry_run && o.expected_version.is_some_and(|v| v != version) {
            return Err(Error::Conflict {
                current_version: version,
                field: None,
            });
        }
        let mut walk = Walk {
            s,
            rows: &rows,
            write: (!o.dry_run).then_some(&txn),
            archive_missing: o.archive_missing,
            kept,
            changes: vec![],
            events: vec![],
        };
        let plan_id = walk.plan(region, current, file).await?;
        let Walk {
            changes, events, ..
        } = walk;
        if o.dry_run {
            return Ok(PlanImport {
                applied: false,
                plan_id: current.map(|p| p.id),
                version,
                changes,
            });
        }
        let plan_id = plan_id.ok_or_else(|| Error::Data("the imported plan has no id".into()))?;
        let version = tree_version(&txn, plan_id).await?;
        stored::commit(s, txn, events).await?;
        Ok(PlanImport {
            applied: true,
            plan_id: Some(plan_id),
            version,
            changes,
        })
    })
    .await
}

/// The version of a plan's tree: the sum of the versions of the plan and of
/// every record in it, archived ones included. Every write raises one of
/// them and none falls, so the sum moves on any change.
pub async fn tree_version(c: &DatabaseTransaction, plan_id: i64) -> Result<i32> {
    macro_rules! versions {
        ($m:ident, $filter:expr) => {
            $m::Entity::find()
                .select_only()
                .column($m::Column::Id)
                .column($m::Column::Version)
                .filter($filter)
                .into_tuple::<(i64, i32)>()
                .all(c)
                .await?
        };
    }
    let plans = versions!(plan, plan::Column::Id.eq(plan_id));
    let priorities = versions!(priority, priority::Column::PlanId.eq(plan_id));
    let measures = versions!(measure, measure::Column::PlanId.eq(plan_id));
    let ids: Vec<i64> = measures.iter().map(|(id, _)| *id).collect();
    let activities = versions!(activity, activity::Column::MeasureId.is_in(ids.clone()));
    let evaluations = versions!(evaluation, evaluation::Column::MeasureId.is_in(ids));
    let sum: i64 = [plans, priorities, measures, activities, evaluations]
        .iter()
        .flatten()
        .map(|(_, v)| i64::from(*v))
        .sum();
    i32::try_from(sum).map_err(|_| Error::Data(format!("tree version {sum} is out of range")))
}

/// Keys of the seed format that are not a record's own fields: its
/// children, its provenance, its identity in the file.
const NOT_FIELDS: &[&str] = &[
    "key",
    "parent",
    "priorities",
    "measures",
    "sub_measures",
    "evaluations",
    "activities",
    "sub_activities",
    "source",
    "sources",
    "reading",
    "source_document",
    "year",
];

/// A record's own fields in the seed format, provenance left out (also of
/// the capacities and projects it holds).
fn fields(record: &impl serde::Serialize) -> Result<BTreeMap<String, Value>> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for k in ["source", "sources", "reading", "source_document"] {
                    o.remove(k);
                }
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let Value::Object(o) = serde_json::to_value(record)
        .map_err(|e| Error::Data(format!("cannot encode a record: {e}")))?
    else {
        return Err(Error::Data("a record is not an object".into()));
    };
    Ok(o.into_iter()
        .filter(|(k, _)| !NOT_FIELDS.contains(&k.as_str()))
        .map(|(k, mut v)| {
            strip(&mut v);
            (k, v)
        })
        .collect())
}

fn shown(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(other) => Some(other.to_string()),
    }
}

/// The fields that differ between a record as stored and as the file has it.
fn changed(
    old: Option<&impl serde::Serialize>,
    new: &impl serde::Serialize,
) -> Result<Vec<FieldChange>> {
    let new = fields(new)?;
    let old = old.map(fields).transpose()?.unwrap_or_default();
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    Ok(names
        .into_iter()
        .map(|name| FieldChange {
            name: name.clone(),
            old: shown(old.get(name)),
            new: shown(new.get(name)),
        })
        .filter(|f| f.old != f.new)
        .collect())
}

/// Walks the file's plan beside the stored one, listing the changes and,
/// when it writes, making them.
struct Walk<'a> {
    s: &'a Scoped,
    rows: &'a Rows,
    write: Option<&'a DatabaseTransaction>,
    archive_missing: bool,
    kept: &'a Kept,
    changes: Vec<RecordChange>,
    events: Vec<Event>,
}

/// `file` with the `kept` fields of the stored record `old` (a path's list
/// is followed item by item, by position).
fn with_kept<T>(file: &T, old: Option<&T>, kept: &[String]) -> Result<T>
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned,
{
    fn copy(new: &mut Value, old: &Value, path: &[&str]) {
        let (Value::Object(new), Some((key, rest))) = (new, path.split_first()) else {
            return;
        };
        let old = old.get(*key).unwrap_or(&Value::Null);
        if rest.is_empty() {
            match old {
                Value::Null => new.remove(*key),
                v => new.insert((*key).to_owned(), v.clone()),
            };
        } else if let (Some(Value::Array(items)), Value::Array(olds)) = (new.get_mut(*key), old) {
            for (item, old) in items.iter_mut().zip(olds) {
                copy(item, old, rest);
            }
        }
    }
    let Some(old) = old.filter(|_| !kept.is_empty()) else {
        return Ok(file.clone());
    };
    let encode = |v: &T| {
        serde_json::to_value(v).map_err(|e| Error::Data(format!("cannot encode a record: {e}")))
    };
    let (mut new, old) = (encode(file)?, encode(old)?);
    for path in kept {
        copy(&mut new, &old, &path.split('.').collect::<Vec<_>>());
    }
    serde_json::from_value(new).map_err(|e| Error::Data(format!("cannot decode a record: {e}")))
}

/// A stored record beside its counterpart in the file.
fn matched<'r, T>(stored: &[&'r T], key: impl Fn(&T) -> String, file_key: &str) -> Option<&'r T> {
    stored.iter().copied().find(|m| key(m) == file_key)
}

impl Walk<'_> {
    /// Notes a record's change; the names of its changed fields.
    fn note(
        &mut self,
        kind: EntityKind,
        code: Option<String>,
        exists: bool,
        fields: Vec<FieldChange>,
    ) -> Vec<String> {
        let action = match (exists, fields.is_empty()) {
            (false, _) => ImportAction::Created,
            (true, true) => ImportAction::Unchanged,
            (true, false) => ImportAction::Changed,
        };
        let names = fields.iter().map(|f| f.name.clone()).collect();
        self.changes.push(RecordChange {
            kind,
            code,
            action,
            fields,
        });
        names
    }

    /// Archives a stored record the file leaves out, when asked to.
    async fn left_out<E: stored::Editable>(
        &mut self,
        id: i64,
        version: i32,
        code: &str,
    ) -> Result<()> {
        if !self.archive_missing {
            return Ok(());
        }
        self.changes.push(RecordChange {
            kind: E::KIND,
            code: Some(code.to_owned()),
            action: ImportAction::Archived,
            fields: vec![],
        });
        if let Some(txn) = self.write {
            let (_, e) = stored::update_in::<E>(self.s, txn, id, version, &Archive(true)).await?;
            self.events.push(e);
        }
        Ok(())
    }

    /// Writes one record of the file: the `names`d fields of the stored
    /// record at `current` (id, version), or the record `create` makes under
    /// its parent (none while the parent is new in a dry run). Its id: none
    /// for a record a dry run would add.
    async fn upsert<E: stored::Editable, P: stored::Change<E>, C: stored::Create<E>>(
        &mut self,
        current: Option<(i64, i32)>,
        names: &[&str],
        patch: impl FnOnce() -> P,
        create: Option<impl FnOnce() -> Result<C>>,
    ) -> Result<Option<i64>> {
        let Some(txn) = self.write else {
            return Ok(current.map(|(id, _)| id));
        };
        match (current, create) {
            (Some((id, version)), _) => {
                if !names.is_empty() {
                    let (_, e) = stored::update_in(self.s, txn, id, version, &patch()).await?;
                    self.events.push(e);
                }
                Ok(Some(id))
            }
            (None, Some(create)) => {
                let (id, _, e) = stored::create_in(self.s, txn, &create()?).await?;
                self.events.push(e);
                Ok(Some(id))
            }
            (None, None) => Ok(None),
        }
    }

    async fn plan(
        &mut self,
        region: &RegionCode,
        current: Option<&plan::Model>,
        file: &PlanData,
    ) -> Result<Option<i64>> {
        let old = current
            .map(|p| crate::plan::export(p, self.rows))
            .transpose()?;
        let file = &with_kept(file, old.as_ref(), &self.kept.plan)?;
        let fields = changed(old.as_ref(), file)?;
        let projects = file
            .projects
            .iter()
            .map(|p| p.fields())
            .collect::<Result<Vec<_>, _>>()?;
        let names = self.note(EntityKind::Plan, None, current.is_some(), fields);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let parent_id = file
            .parent
            .as_deref()
            .and_then(|k| self.rows.plans.iter().find(|p| crate::plan::key(p) == k))
            .map(|p| p.id);
        let patch = || {
            let mut patch = PlanPatch::to(&file.draft(), &names);
            if names.contains(&"projects") {
                patch.projects = kpss_domain::patch::Patch::Set(projects.clone());
            }
            patch
        };
        let create = || {
            Ok(PlanForCreate {
                region: region.clone(),
                parent_id,
                fields: file.draft().parse()?,
                projects: projects.clone(),
            })
        };
        let current_at = current.map(|p| (p.id, p.version));
        let id = self.upsert(current_at, &names, patch, Some(create)).await?;
        let stored: Vec<&priority::Model> = match current {
            Some(p) => in_order(&self.rows.priorities, |x| x.plan_id == p.id, |x| x.position),
            None => vec![],
        };
        let key = |group: Option<&str>, code: &str| {
            format!("{}\u{1f}{}", group.unwrap_or(""), normalized_code(code))
        };
        for pr in &file.priorities {
            let m = matched(
                &stored,
                |m| key(m.group_name.as_deref(), &m.code),
                &key(pr.group.as_deref(), &pr.code),
            );
            self.priority(id, m, pr).await?;
        }
        for m in stored {
            let k = key(m.group_name.as_deref(), &m.code);
            if !file
                .priorities
                .iter()
                .any(|p| key(p.group.as_deref(), &p.code) == k)
            {
                self.left_out::<priority::Entity>(m.id, m.version, &m.code)
                    .await?;
            }
        }
        Ok(id)
    }

    async fn priority(
        &mut self,
        plan_id: Option<i64>,
        current: Option<&priority::Model>,
        file: &PriorityData,
    ) -> Result<()> {
        let old = current
            .map(|p| crate::priority::export(p, self.rows))
            .transpose()?;
        let file = &with_kept(file, old.as_ref(), &self.kept.priority)?;
        let fields = changed(old.as_ref(), file)?;
        let names = self.note(
            EntityKind::Priority,
            Some(file.code.clone()),
            current.is_some(),
            fields,
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let patch = || PriorityPatch::to(&file.draft(), &names);
        let create = plan_id.map(|plan_id| {
            move || {
                Ok(PriorityForCreate {
                    plan_id,
                    fields: file.draft().parse()?,
                })
            }
        });
        let current_at = current.map(|p| (p.id, p.version));
        let id = self.upsert(current_at, &names, patch, create).await?;
        let stored: Vec<&measure::Model> = match current {
            Some(p) => in_order(
                &self.rows.measures,
                |m| m.priority_id == p.id && m.parent_id.is_none(),
                |m| m.position,
            ),
            None => vec![],
        };
        self.measures(id, None, stored, &file.measures).await
    }

    /// The measures of a priority (`parent` none) or the sub-measures of a measure.
    async fn measures(
        &mut self,
        priority_id: Option<i64>,
        parent_id: Option<i64>,
        stored: Vec<&measure::Model>,
        file: &[MeasureData],
    ) -> Result<()> {
        let key = |c: &str| normalized_code(c);
        for m in file {
            let current = matched(&stored, |x| key(&x.code), &key(&m.code));
            Box::pin(self.measure(priority_id, parent_id, current, m)).await?;
        }
        for m in stored {
            if !file.iter().any(|f| key(&f.code) == key(&m.code)) {
                self.left_out::<measure::Entity>(m.id, m.version, &m.code)
                    .await?;
            }
        }
        Ok(())
    }

    async fn measure(
        &mut self,
        priority_id: Option<i64>,
        parent_id: Option<i64>,
        current: Option<&measure::Model>,
        file: &MeasureData,
    ) -> Result<()> {
        let old = current
            .map(|m| crate::measure::export(m, self.rows))
            .transpose()?;
        let file = &with_kept(file, old.as_ref(), &self.kept.measure)?;
        let fields = changed(old.as_ref(), file)?;
        let names = self.note(
            EntityKind::Measure,
            Some(file.code.clone()),
            current.is_some(),
            fields,
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let patch = || MeasurePatch::to(&file.draft(), &names);
        let create = priority_id.map(|priority_id| {
            move || {
                Ok(MeasureForCreate {
                    priority_id,
                    parent_id,
                    fields: file.draft().parse()?,
                })
            }
        });
        let current_at = current.map(|m| (m.id, m.version));
        let id = self.upsert(current_at, &names, patch, create).await?;
        let code = &file.code;
        for e in &file.evaluations {
            let stored = current.and_then(|m| {
                self.rows
                    .evaluations
                    .iter()
                    .find(|x| x.measure_id == m.id && x.year == e.year)
            });
            self.evaluation(id, code, stored, e).await?;
        }
        let subs: Vec<&measure::Model> = match current {
            Some(m) => in_order(
                &self.rows.measures,
                |x| x.parent_id == Some(m.id),
                |x| x.position,
            ),
            None => vec![],
        };
        self.measures(priority_id, id, subs, &file.sub_measures)
            .await?;
        let activities: Vec<&activity::Model> = match current {
            Some(m) => in_order(
                &self.rows.activities,
                |a| a.measure_id == m.id && a.parent_id.is_none(),
                |a| a.position,
            ),
            None => vec![],
        };
        self.activities(id, None, activities, &file.activities)
            .await
    }

    async fn evaluation(
        &mut self,
        measure_id: Option<i64>,
        measure_code: &str,
        current: Option<&evaluation::Model>,
        file: &EvaluationData,
    ) -> Result<()> {
        let old = current.map(crate::evaluation::export).transpose()?;
        let file = &with_kept(file, old.as_ref(), &self.kept.evaluation)?;
        let fields = changed(old.as_ref(), file)?;
        let code = format!("{measure_code}/{}", file.year);
        let names = self.note(
            EntityKind::Evaluation,
            Some(code),
            current.is_some(),
            fields,
        );
        let unchanged = current.is_some() && names.is_empty();
        if let (Some(txn), Some(measure_id), false) = (self.write, measure_id, unchanged) {
            let cmd = EvaluationForRecord {
                measure_id,
                fields: file.fields()?,
                expected_version: Some(current.map_or(0, |e| e.version)),
            };
            let m = stored::load::<measure::Entity>(self.s, txn, measure_id).await?;
            let (_, e) = crate::evaluation::record_in(self.s, txn, &m, &cmd).await?;
            self.events.push(e);
        }
        Ok(())
    }

    async fn activities(
        &mut self,
        measure_id: Option<i64>,
        parent_id: Option<i64>,
        stored: Vec<&activity::Model>,
        file: &[ActivityData],
    ) -> Result<()> {
        let key = |c: &str| normalized_code(c);
        for a in file {
            let current = matched(&stored, |x| key(&x.code), &key(&a.code));
            Box::pin(self.activity(measure_id, parent_id, current, a)).await?;
        }
        for a in stored {
            if !file.iter().any(|f| key(&f.code) == key(&a.code)) {
                self.left_out::<activity::Entity>(a.id, a.version, &a.code)
                    .await?;
            }
        }
        Ok(())
    }

    async fn activity(
        &mut self,
        measure_id: Option<i64>,
        parent_id: Option<i64>,
        current: Option<&activity::Model>,
        file: &ActivityData,
    ) -> Result<()> {
        let old = current
            .map(|a| crate::activity::export(a, self.rows))
            .transpose()?;
        let file = &with_kept(file, old.as_ref(), &self.kept.activity)?;
        let fields = changed(old.as_ref(), file)?;
        let names = self.note(
            EntityKind::Activity,
            Some(file.code.clone()),
            current.is_some(),
            fields,
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let patch = || ActivityPatch::to(&file.draft(), &names);
        let create = measure_id.map(|measure_id| {
            move || {
                Ok(ActivityForCreate {
                    measure_id,
                    parent_id,
                    fields: file.draft().parse()?,
                })
            }
        });
        let current_at = current.map(|a| (a.id, a.version));
        let id = self.upsert(current_at, &names, patch, create).await?;
        let subs: Vec<&activity::Model> = match current {
            Some(a) => in_order(
                &self.rows.activities,
                |x| x.parent_id == Some(a.id),
                |x| x.position,
            ),
            None => vec![],
        };
        self.activities(measure_id, id, subs, &file.sub_activities)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> RegionCode {
        RegionCode::parse("region", "klatovy").expect("code")
    }

    fn locations(yaml: &str) -> Vec<String> {
        match parse(&region(), yaml) {
            Err(Error::Problems(p)) => p.into_iter().map(|p| p.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_hostile_file_is_a_problem_not_a_hang() {
        // Aliases that would expand to 10^9 strings.
        let mut bomb =
            String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        for (i, name) in "bcdefghi".chars().enumerate() {
            let prev = "abcdefghi".chars().nth(i).expect("name");
            bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        bomb.push_str("region: klatovy\nplans: *i\n");
        assert_eq!(locations(&bomb).len(), 1);
        let deep = format!(
            "region: klatovy\nplans: {}{}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(locations(&deep).len(), 1);
        assert_eq!(locations("\u{0}\u{1}"), ["file"]);
    }

    #[test]
    fn a_file_holds_one_plan_of_its_region() {
        assert_eq!(
            locations("region: kromeriz\nplans: []\n"),
            ["region", "plans"]
        );
    }
}
