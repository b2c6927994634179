//! Measures of a priority (and sub-measures of a measure): the commands that
//! create and change one.

use crate::error::{Rule, ValidationError, ValidationResult};
use crate::patch::Patch;
use crate::region::RegionCode;
use crate::service::Capacity;
use crate::source::Provenance;
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use crate::value::{AmountCzk, Code, Title, Year};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Measure {
    pub id: i64,
    pub region: RegionCode,
    pub plan_id: i64,
    pub priority_id: i64,
    pub parent_id: Option<i64>,
    /// The measure of an earlier plan this one was rolled over from.
    pub carried_from_id: Option<i64>,
    pub code: String,
    pub title: String,
    pub rationale: Option<String>,
    pub description: Option<String>,
    pub target_groups: Vec<String>,
    pub term: Option<String>,
    pub term_start_year: Option<i32>,
    pub term_end_year: Option<i32>,
    pub responsible: Vec<String>,
    pub output: Option<String>,
    pub expected_cost: Option<Cost>,
    pub funding_sources: Vec<String>,
    pub funding_statement: Statement,
    pub risks: Vec<String>,
    pub planned_activities: Vec<String>,
    pub priority_title: Option<String>,
    pub alternative_title: Option<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
}

crate::enum_str! {
    /// What a document says about a list or a cost: it names something, it says
    /// there is none (or zero), it says it cannot be specified, or it says nothing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Statement {
        #[default]
        Stated = "STATED",
        None = "NONE",
        NotSpecifiable = "NOT_SPECIFIABLE",
        NotStated = "NOT_STATED",
    }
}

impl Statement {
    fn is_stated(&self) -> bool {
        *self == Statement::Stated
    }
}

/// Expected cost: the amount where the text gives one, what one amount pays
/// for, the text as written ("10 000 Kč / setkání", "Nelze specifikovat"),
/// and whether it states an amount, none (0) or that it cannot be specified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    #[serde(default, skip_serializing_if = "Statement::is_stated")]
    pub statement: Statement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_czk: Option<AmountCzk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    pub text: String,
}

impl Cost {
    pub fn normalized(self) -> ValidationResult<Self> {
        let amount = self.amount_czk.map(AmountCzk::get);
        let fits = match self.statement {
            Statement::Stated => true,
            Statement::None => matches!(amount, None | Some(0)),
            Statement::NotSpecifiable => amount.is_none(),
            Statement::NotStated => false,
        };
        if !fits {
            return Err(ValidationError::new(
                "statement",
                match self.statement {
                    Statement::NotStated => Rule::CostLeftOut,
                    s => Rule::CostWithAmount(s.to_string()),
                },
            ));
        }
        Ok(Self {
            statement: self.statement,
            amount_czk: self.amount_czk,
            per: text::optional("per", self.per.as_deref(), MAX_TITLE)?,
            text: text::required("text", &self.text, MAX_TITLE)?,
        })
    }
}

/// What a list of funding sources (`field`) states: `given`, or read off the
/// list (sources named, or nothing stated). Only `STATED` comes with sources.
pub fn funding_statement(
    field: &str,
    given: Option<Statement>,
    sources: &[String],
) -> ValidationResult<Statement> {
    let derived = if sources.is_empty() {
        Statement::NotStated
    } else {
        Statement::Stated
    };
    match given {
        Some(s) if (s == Statement::Stated) != (derived == Statement::Stated) => {
            Err(ValidationError::new(
                field,
                if s == Statement::Stated {
                    Rule::StatedNeedsSources
                } else {
                    Rule::StatementWithSources(s.to_string())
                },
            ))
        }
        Some(s) => Ok(s),
        None => Ok(derived),
    }
}

/// A measure's term: as written, and the years it spans where it states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: Option<String>,
    pub start_year: Option<Year>,
    pub end_year: Option<Year>,
}

impl Term {
    pub fn parse(
        text: Option<&str>,
        start: Option<i32>,
        end: Option<i32>,
    ) -> ValidationResult<Self> {
        let start_year = start
            .map(|y| Year::parse("term_start_year", y))
            .transpose()?;
        let end_year = end.map(|y| Year::parse("term_end_year", y)).transpose()?;
        if let (Some(s), Some(e)) = (start_year, end_year)
            && e < s
        {
            return Err(ValidationError::new(
                "term_end_year",
                Rule::EndsBefore {
                    end: e.get(),
                    start: s.get(),
                },
            ));
        }
        Ok(Self {
            text: text::optional("term", text, MAX_TEXT)?,
            start_year,
            end_year,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeasureFields {
    pub code: Code,
    pub title: Title,
    pub rationale: Option<String>,
    pub description: Option<String>,
    pub target_groups: Vec<String>,
    pub term: Term,
    pub responsible: Vec<String>,
    pub output: Option<String>,
    pub expected_cost: Option<Cost>,
    pub funding_sources: Vec<String>,
    pub funding_statement: Statement,
    pub risks: Vec<String>,
    pub planned_activities: Vec<String>,
    pub planned_capacities: Vec<Capacity>,
    /// The priority's title as printed above this measure, where it differs.
    pub priority_title: Option<String>,
    /// The measure's title as another part of the document (an overview)
    /// prints it, where it differs from the detail's.
    pub alternative_title: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeasureDraft {
    pub code: String,
    pub title: String,
    pub rationale: Option<String>,
    pub description: Option<String>,
    pub target_groups: Vec<String>,
    pub term: Option<String>,
    pub term_start_year: Option<i32>,
    pub term_end_year: Option<i32>,
    pub responsible: Vec<String>,
    pub output: Option<String>,
    pub expected_cost: Option<Cost>,
    pub funding_sources: Vec<String>,
    /// `None`: read off `funding_sources`.
    pub funding_statement: Option<Statement>,
    pub risks: Vec<String>,
    pub planned_activities: Vec<String>,
    pub planned_capacities: Vec<Capacity>,
    pub priority_title: Option<String>,
    pub alternative_title: Option<String>,
}

impl MeasureDraft {
    pub fn parse(self) -> ValidationResult<MeasureFields> {
        Ok(MeasureFields {
            term: Term::parse(
                self.term.as_deref(),
                self.term_start_year,
                self.term_end_year,
            )?,
            code: Code::parse("code", &self.code)?,
            title: Title::parse("title", &self.title)?,
            rationale: text::optional("rationale", self.rationale.as_deref(), MAX_TEXT)?,
            description: text::optional("description", self.description.as_deref(), MAX_TEXT)?,
            target_groups: text::list("target_groups", &self.target_groups)?,
            responsible: text::list("responsible", &self.responsible)?,
            output: text::optional("output", self.output.as_deref(), MAX_TEXT)?,
            expected_cost: self
                .expected_cost
                .map(|c| c.normalized().map_err(|e| e.under("expected_cost")))
                .transpose()?,
            funding_statement: funding_statement(
                "funding_statement",
                self.funding_statement,
                &self.funding_sources,
            )?,
            funding_sources: text::list("funding_sources", &self.funding_sources)?,
            risks: text::list("risks", &self.risks)?,
            planned_activities: text::list("planned_activities", &self.planned_activities)?,
            planned_capacities: crate::service::capacities(
                "planned_capacities",
                self.planned_capacities,
            )?,
            priority_title: text::optional(
                "priority_title",
                self.priority_title.as_deref(),
                MAX_TEXT,
            )?,
            alternative_title: text::optional(
                "alternative_title",
                self.alternative_title.as_deref(),
                MAX_TITLE,
            )?,
        })
    }
}

impl MeasureFields {
    pub fn draft(&self) -> MeasureDraft {
        MeasureDraft {
            code: self.code.as_str().to_owned(),
            title: self.title.as_str().to_owned(),
            rationale: self.rationale.clone(),
            description: self.description.clone(),
            target_groups: self.target_groups.clone(),
            term: self.term.text.clone(),
            term_start_year: self.term.start_year.map(Year::get),
            term_end_year: self.term.end_year.map(Year::get),
            responsible: self.responsible.clone(),
            output: self.output.clone(),
            expected_cost: self.expected_cost.clone(),
            funding_sources: self.funding_sources.clone(),
            funding_statement: Some(self.funding_statement),
            risks: self.risks.clone(),
            planned_activities: self.planned_activities.clone(),
            planned_capacities: self.planned_capacities.clone(),
            priority_title: self.priority_title.clone(),
            alternative_title: self.alternative_title.clone(),
        }
    }
}

/// A new measure of `priority_id`, a sub-measure of `parent_id` if given.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureForCreate {
    pub priority_id: i64,
    pub parent_id: Option<i64>,
    pub fields: MeasureFields,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeasurePatch {
    pub code: Patch<String>,
    pub title: Patch<String>,
    pub rationale: Patch<String>,
    pub description: Patch<String>,
    pub target_groups: Patch<Vec<String>>,
    pub term: Patch<String>,
    pub term_start_year: Patch<i32>,
    pub term_end_year: Patch<i32>,
    pub responsible: Patch<Vec<String>>,
    pub output: Patch<String>,
    pub expected_cost: Patch<Cost>,
    pub funding_sources: Patch<Vec<String>>,
    pub funding_statement: Patch<Statement>,
    pub risks: Patch<Vec<String>>,
    pub planned_activities: Patch<Vec<String>>,
    pub planned_capacities: Patch<Vec<Capacity>>,
    pub priority_title: Patch<String>,
    pub alternative_title: Patch<String>,
}

impl MeasurePatch {
    /// The fields named in `changed` set as `to` has them.
    pub fn to(to: &MeasureDraft, changed: &[&str]) -> Self {
        let list = |f, v| Patch::pick(changed, f, Some(v));
        Self {
            code: Patch::pick(changed, "code", Some(&to.code)),
            title: Patch::pick(changed, "title", Some(&to.title)),
            rationale: Patch::pick(changed, "rationale", to.rationale.as_ref()),
            description: Patch::pick(changed, "description", to.description.as_ref()),
            target_groups: list("target_groups", &to.target_groups),
            term: Patch::pick(changed, "term", to.term.as_ref()),
            term_start_year: Patch::pick(changed, "term_start_year", to.term_start_year.as_ref()),
            term_end_year: Patch::pick(changed, "term_end_year", to.term_end_year.as_ref()),
            responsible: list("responsible", &to.responsible),
            output: Patch::pick(changed, "output", to.output.as_ref()),
            expected_cost: Patch::pick(changed, "expected_cost", to.expected_cost.as_ref()),
            funding_sources: list("funding_sources", &to.funding_sources),
            funding_statement: Patch::pick(
                changed,
                "funding_statement",
                to.funding_statement.as_ref(),
            ),
            risks: list("risks", &to.risks),
            planned_activities: list("planned_activities", &to.planned_activities),
            planned_capacities: Patch::pick(
                changed,
                "planned_capacities",
                Some(&to.planned_capacities),
            ),
            priority_title: Patch::pick(changed, "priority_title", to.priority_title.as_ref()),
            alternative_title: Patch::pick(
                changed,
                "alternative_title",
                to.alternative_title.as_ref(),
            ),
        }
    }

    /// Sets the patched fields in the stored content `d` and validates the
    /// result once, so a patch can mend a stored value a newer rule refuses.
    pub fn apply(self, mut d: MeasureDraft) -> ValidationResult<MeasureFields> {
        self.code.apply_required("code", &mut d.code)?;
        self.title.apply_required("title", &mut d.title)?;
        self.rationale.apply(&mut d.rationale);
        self.description.apply(&mut d.description);
        self.target_groups.apply_list(&mut d.target_groups);
        self.term.apply(&mut d.term);
        self.term_start_year.apply(&mut d.term_start_year);
        self.term_end_year.apply(&mut d.term_end_year);
        self.responsible.apply_list(&mut d.responsible);
        self.output.apply(&mut d.output);
        self.expected_cost.apply(&mut d.expected_cost);
        // New sources without a statement: the statement is read off them again.
        if !matches!(self.funding_sources, Patch::Keep) {
            d.funding_statement = None;
        }
        self.funding_sources.apply_list(&mut d.funding_sources);
        self.funding_statement.apply(&mut d.funding_statement);
        self.priority_title.apply(&mut d.priority_title);
        self.alternative_title.apply(&mut d.alternative_title);
        self.risks.apply_list(&mut d.risks);
        self.planned_activities
            .apply_list(&mut d.planned_activities);
        self.planned_capacities
            .apply_list(&mut d.planned_capacities);
        d.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funding_states_are_distinct_and_only_stated_has_sources() {
        let one = vec!["MPSV".to_owned()];
        assert_eq!(funding_statement("f", None, &[]), Ok(Statement::NotStated));
        assert_eq!(funding_statement("f", None, &one), Ok(Statement::Stated));
        assert_eq!(
            funding_statement("f", Some(Statement::NotSpecifiable), &[]),
            Ok(Statement::NotSpecifiable)
        );
        assert!(funding_statement("f", Some(Statement::None), &one).is_err());
        assert!(funding_statement("f", Some(Statement::Stated), &[]).is_err());
    }

    #[test]
    fn a_cost_not_specifiable_has_no_amount() {
        let cost = |statement, amount: Option<i64>| Cost {
            statement,
            amount_czk: amount.map(|a| AmountCzk::new("a", a).unwrap()),
            per: None,
            text: "Nelze specifikovat".into(),
        };
        assert!(cost(Statement::NotSpecifiable, None).normalized().is_ok());
        assert!(
            cost(Statement::NotSpecifiable, Some(5))
                .normalized()
                .is_err()
        );
        assert!(cost(Statement::None, Some(0)).normalized().is_ok());
        assert!(cost(Statement::NotStated, None).normalized().is_err());
    }

    #[test]
    fn a_term_ends_after_it_starts() {
        assert_eq!(
            Term::parse(None, Some(2023), Some(2021)).unwrap_err().field,
            "term_end_year"
        );
        assert!(Term::parse(Some("průběžně"), Some(2021), None).is_ok());
        assert_eq!(
            Term::parse(None, Some(1989), None).unwrap_err().field,
            "term_start_year"
        );
    }
}
