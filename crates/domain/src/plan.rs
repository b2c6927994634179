//! Plans and what they are made of: priorities, measures (with sub-measures),
//! activities (with sub-activities), evaluations and projects.
//!
//! The `*Data` types are a plan's content as a document states it: the seed
//! format reads them, `kpss export` writes them, and `normalized()` applies
//! the rules (NFC, no markup, sane ranges, unique codes) once, before anything
//! is stored.

use crate::error::{ValidationError, ValidationResult};
use crate::service::Capacity;
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Years a plan, term or evaluation may name.
pub const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlanKind {
    CommunityPlan,
    MediumTermPlan,
    ActionPlan,
    WorkPlan,
    ShortTermPlan,
}

crate::enum_str!(PlanKind {
    CommunityPlan = "COMMUNITY_PLAN",
    MediumTermPlan = "MEDIUM_TERM_PLAN",
    ActionPlan = "ACTION_PLAN",
    WorkPlan = "WORK_PLAN",
    ShortTermPlan = "SHORT_TERM_PLAN",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EvaluationStatus {
    Fulfilled,
    PartiallyFulfilled,
    InProgress,
    NotFulfilled,
    /// The source gives no readable status.
    Unknown,
}

crate::enum_str!(EvaluationStatus {
    Fulfilled = "FULFILLED",
    PartiallyFulfilled = "PARTIALLY_FULFILLED",
    InProgress = "IN_PROGRESS",
    NotFulfilled = "NOT_FULFILLED",
    Unknown = "UNKNOWN",
});

/// Expected cost: the amount where the text gives one, what one amount pays
/// for, and the text as written ("10 000 Kč / setkání", "Nelze specifikovat").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_czk: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanData {
    /// Reference of the plan within its region's seed file (`parent` names it);
    /// empty for a plan created through the API.
    #[serde(default)]
    pub key: String,
    pub title: String,
    pub kind: PlanKind,
    pub period_start: i32,
    pub period_end: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// ISO date (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<PriorityData>,
}

/// A project a plan lists (Chomutov's table): title, implementer, due term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectData {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityData {
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Working group or section the document puts the priority under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measures: Vec<MeasureData>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureData {
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_start_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_end_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responsible: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_cost: Option<Cost>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub funding_sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_activities: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_capacities: Vec<Capacity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluations: Vec<EvaluationData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<ActivityData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_measures: Vec<MeasureData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityData {
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responsible: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financing: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_activities: Vec<ActivityData>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationData {
    pub year: i32,
    pub status: EvaluationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

pub fn year(field: &str, y: i32) -> ValidationResult<i32> {
    if YEARS.contains(&y) {
        Ok(y)
    } else {
        Err(ValidationError::new(
            field,
            format!("year {y} is outside {}–{}", YEARS.start(), YEARS.end()),
        ))
    }
}

fn opt_year(field: &str, y: Option<i32>) -> ValidationResult<Option<i32>> {
    y.map(|y| year(field, y)).transpose()
}

/// A period or term: both ends in range and start ≤ end.
pub fn period(start_field: &str, start: i32, end_field: &str, end: i32) -> ValidationResult<()> {
    year(start_field, start)?;
    year(end_field, end)?;
    if end < start {
        return Err(ValidationError::new(
            end_field,
            format!("ends in {end}, before it starts in {start}"),
        ));
    }
    Ok(())
}

/// An ISO date (YYYY-MM-DD) with a year in range.
pub fn iso_date(field: &str, s: &str) -> ValidationResult<String> {
    let parts: Vec<&str> = s.split('-').collect();
    let numbers: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    let ok = match (parts.as_slice(), numbers.as_deref()) {
        ([y, m, d], Some(&[year_n, month, day]))
            if y.len() == 4 && m.len() == 2 && d.len() == 2 =>
        {
            let leap = year_n % 4 == 0 && (year_n % 100 != 0 || year_n % 400 == 0);
            let days = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => 0,
            };
            (1..=days).contains(&day) && YEARS.contains(&(year_n as i32))
        }
        _ => false,
    };
    if ok {
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            format!("`{s}` is not a date YYYY-MM-DD between 1990 and 2100"),
        ))
    }
}

/// Codes must be unique among siblings ("1.4" twice under one priority is an error).
fn unique_codes<K: Eq + std::hash::Hash + CodeOf>(
    field: &str,
    codes: impl Iterator<Item = K>,
) -> ValidationResult<()> {
    let mut seen = HashSet::new();
    for (i, key) in codes.enumerate() {
        let code = key.code().to_owned();
        if !seen.insert(key) {
            return Err(ValidationError::new(
                format!("{field}[{i}].code"),
                format!("code `{code}` is used twice"),
            ));
        }
    }
    Ok(())
}

/// A sibling's code, alone or scoped by its group.
trait CodeOf {
    fn code(&self) -> &str;
}

impl CodeOf for &str {
    fn code(&self) -> &str {
        self
    }
}

impl CodeOf for (&str, &str) {
    fn code(&self) -> &str {
        self.1
    }
}

fn each<T>(
    field: &str,
    items: Vec<T>,
    f: impl Fn(T) -> ValidationResult<T>,
) -> ValidationResult<Vec<T>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| f(item).map_err(|e| e.under(&format!("{field}[{i}]"))))
        .collect()
}

impl Cost {
    pub fn normalized(self) -> ValidationResult<Self> {
        if let Some(a) = self.amount_czk
            && !(a.is_finite() && a >= 0.0)
        {
            return Err(ValidationError::new(
                "amountCzk",
                "must be a non-negative number",
            ));
        }
        Ok(Self {
            amount_czk: self.amount_czk,
            per: text::optional("per", self.per.as_deref(), MAX_TITLE)?,
            text: text::required("text", &self.text, MAX_TITLE)?,
        })
    }
}

impl PlanData {
    pub fn normalized(self) -> ValidationResult<Self> {
        period(
            "period_start",
            self.period_start,
            "period_end",
            self.period_end,
        )?;
        // Documents number priorities per group (Kroměříž restarts at 1 in each).
        unique_codes(
            "priorities",
            self.priorities
                .iter()
                .map(|p| (p.group.as_deref().unwrap_or(""), p.code.as_str())),
        )?;
        Ok(Self {
            key: self.key,
            title: text::required("title", &self.title, MAX_TITLE)?,
            kind: self.kind,
            period_start: self.period_start,
            period_end: self.period_end,
            parent: self.parent,
            prepared_by: text::optional("prepared_by", self.prepared_by.as_deref(), MAX_TEXT)?,
            approval: text::optional("approval", self.approval.as_deref(), MAX_TEXT)?,
            approved_on: self
                .approved_on
                .map(|d| iso_date("approved_on", &d))
                .transpose()?,
            source_document: text::optional(
                "source_document",
                self.source_document.as_deref(),
                MAX_TITLE,
            )?,
            line: self.line,
            projects: each("projects", self.projects, ProjectData::normalized)?,
            priorities: each("priorities", self.priorities, PriorityData::normalized)?,
        })
    }
}

impl ProjectData {
    pub fn normalized(self) -> ValidationResult<Self> {
        Ok(Self {
            title: text::required("title", &self.title, MAX_TEXT)?,
            implementer: text::optional("implementer", self.implementer.as_deref(), MAX_TEXT)?,
            due: text::optional("due", self.due.as_deref(), MAX_TITLE)?,
            due_year: opt_year("due_year", self.due_year)?,
            line: self.line,
        })
    }
}

impl PriorityData {
    pub fn normalized(self) -> ValidationResult<Self> {
        unique_codes("measures", self.measures.iter().map(|m| m.code.as_str()))?;
        Ok(Self {
            code: text::required("code", &self.code, MAX_TITLE)?,
            title: text::required("title", &self.title, MAX_TEXT)?,
            description: text::optional("description", self.description.as_deref(), MAX_TEXT)?,
            group: text::optional("group", self.group.as_deref(), MAX_TITLE)?,
            line: self.line,
            measures: each("measures", self.measures, MeasureData::normalized)?,
        })
    }
}

impl MeasureData {
    pub fn normalized(self) -> ValidationResult<Self> {
        match (self.term_start_year, self.term_end_year) {
            (Some(s), Some(e)) => period("term_start_year", s, "term_end_year", e)?,
            (s, e) => {
                opt_year("term_start_year", s)?;
                opt_year("term_end_year", e)?;
            }
        }
        unique_codes(
            "activities",
            self.activities.iter().map(|a| a.code.as_str()),
        )?;
        unique_codes(
            "sub_measures",
            self.sub_measures.iter().map(|m| m.code.as_str()),
        )?;
        let mut years = HashSet::new();
        for (i, e) in self.evaluations.iter().enumerate() {
            if !years.insert(e.year) {
                return Err(ValidationError::new(
                    format!("evaluations[{i}].year"),
                    format!("year {} is evaluated twice", e.year),
                ));
            }
        }
        Ok(Self {
            code: text::required("code", &self.code, MAX_TITLE)?,
            title: text::required("title", &self.title, MAX_TEXT)?,
            rationale: text::optional("rationale", self.rationale.as_deref(), MAX_TEXT)?,
            description: text::optional("description", self.description.as_deref(), MAX_TEXT)?,
            target_groups: text::list("target_groups", &self.target_groups)?,
            term: text::optional("term", self.term.as_deref(), MAX_TEXT)?,
            term_start_year: self.term_start_year,
            term_end_year: self.term_end_year,
            responsible: text::list("responsible", &self.responsible)?,
            output: text::optional("output", self.output.as_deref(), MAX_TEXT)?,
            expected_cost: self
                .expected_cost
                .map(|c| c.normalized().map_err(|e| e.under("expected_cost")))
                .transpose()?,
            funding_sources: text::list("funding_sources", &self.funding_sources)?,
            risks: text::list("risks", &self.risks)?,
            planned_activities: text::list("planned_activities", &self.planned_activities)?,
            planned_capacities: each(
                "planned_capacities",
                self.planned_capacities,
                Capacity::normalized,
            )?,
            evaluations: each("evaluations", self.evaluations, EvaluationData::normalized)?,
            activities: each("activities", self.activities, ActivityData::normalized)?,
            sub_measures: each("sub_measures", self.sub_measures, MeasureData::normalized)?,
            line: self.line,
        })
    }
}

impl ActivityData {
    pub fn normalized(self) -> ValidationResult<Self> {
        unique_codes(
            "sub_activities",
            self.sub_activities.iter().map(|a| a.code.as_str()),
        )?;
        Ok(Self {
            code: text::required("code", &self.code, MAX_TITLE)?,
            title: text::required("title", &self.title, MAX_TEXT)?,
            description: text::optional("description", self.description.as_deref(), MAX_TEXT)?,
            responsible: text::list("responsible", &self.responsible)?,
            schedule: text::optional("schedule", self.schedule.as_deref(), MAX_TEXT)?,
            financing: text::optional("financing", self.financing.as_deref(), MAX_TEXT)?,
            outputs: text::list("outputs", &self.outputs)?,
            line: self.line,
            sub_activities: each(
                "sub_activities",
                self.sub_activities,
                ActivityData::normalized,
            )?,
        })
    }
}

impl EvaluationData {
    pub fn normalized(self) -> ValidationResult<Self> {
        Ok(Self {
            year: year("year", self.year)?,
            status: self.status,
            comment: text::optional("comment", self.comment.as_deref(), MAX_TEXT)?,
            line: self.line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanData {
        PlanData {
            key: "ap".into(),
            title: "Akční plán".into(),
            kind: PlanKind::ActionPlan,
            period_start: 2023,
            period_end: 2023,
            parent: None,
            prepared_by: None,
            approval: None,
            approved_on: None,
            source_document: None,
            line: None,
            projects: vec![],
            priorities: vec![],
        }
    }

    fn priority(code: &str) -> PriorityData {
        PriorityData {
            code: code.into(),
            title: "P".into(),
            description: None,
            group: None,
            line: None,
            measures: vec![],
        }
    }

    #[test]
    fn period_end_before_start_names_the_end() {
        let err = PlanData {
            period_end: 2020,
            ..plan()
        }
        .normalized()
        .unwrap_err();
        assert_eq!(err.field, "period_end");
    }

    #[test]
    fn years_outside_range_are_rejected() {
        assert_eq!(
            PlanData {
                period_start: 1989,
                ..plan()
            }
            .normalized()
            .unwrap_err()
            .field,
            "period_start"
        );
        assert!(year("y", 2101).is_err());
        assert!(year("y", 2100).is_ok());
    }

    #[test]
    fn duplicate_priority_codes_are_rejected_with_their_path() {
        let err = PlanData {
            priorities: vec![priority("1"), priority("2"), priority("1")],
            ..plan()
        }
        .normalized()
        .unwrap_err();
        assert_eq!(err.field, "priorities[2].code");
    }

    #[test]
    fn the_same_priority_code_may_stand_in_two_groups() {
        let grouped = |code: &str, group: &str| PriorityData {
            group: Some(group.into()),
            ..priority(code)
        };
        assert!(
            PlanData {
                priorities: vec![grouped("1", "Senioři"), grouped("1", "Rodiny")],
                ..plan()
            }
            .normalized()
            .is_ok()
        );
        assert!(
            PlanData {
                priorities: vec![grouped("1", "Senioři"), grouped("1", "Senioři")],
                ..plan()
            }
            .normalized()
            .is_err()
        );
    }

    #[test]
    fn nested_errors_carry_the_whole_path() {
        let err = PlanData {
            priorities: vec![
                priority("1"),
                PriorityData {
                    title: " ".into(),
                    ..priority("2")
                },
            ],
            ..plan()
        }
        .normalized()
        .unwrap_err();
        assert_eq!(err.field, "priorities[1].title");
    }

    #[test]
    fn dates_are_checked() {
        assert!(iso_date("d", "2009-09-18").is_ok());
        assert!(iso_date("d", "2024-02-29").is_ok());
        for bad in ["2023-02-29", "18.9.2009", "2009-13-01", "1890-01-01"] {
            assert!(iso_date("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cost_amount_must_be_non_negative() {
        let cost = Cost {
            amount_czk: Some(-1.0),
            per: None,
            text: "-1 Kč".into(),
        };
        assert!(cost.normalized().is_err());
    }
}
