//! Plans: what kinds there are, and the commands that create and change one.

use crate::error::ValidationResult;
use crate::evaluation::EvaluationStatus;
use crate::patch::Patch;
use crate::region::RegionCode;
use crate::source::Provenance;
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use crate::value::Timestamp;
use crate::value::{Date, Period, Title, Year};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plan {
    pub id: i64,
    pub region: RegionCode,
    pub title: String,
    pub kind: PlanKind,
    pub period_start: i32,
    pub period_end: i32,
    pub parent_id: Option<i64>,
    pub prepared_by: Option<String>,
    pub approval: Option<String>,
    pub approved_on: Option<Date>,
    pub mission: Option<String>,
    pub vision: Option<String>,
    pub implementation: Option<String>,
    pub issued: Option<String>,
    pub issued_on: Option<Date>,
    pub document_title: Option<String>,
    pub notes: Vec<String>,
    pub source_document: Option<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Project {
    pub id: i64,
    pub plan_id: i64,
    pub title: String,
    pub implementer: Option<String>,
    pub due: Option<String>,
    pub due_year: Option<i32>,
    pub source: Option<Provenance>,
}

crate::enum_str! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum PlanKind {
        CommunityPlan = "COMMUNITY_PLAN",
        MediumTermPlan = "MEDIUM_TERM_PLAN",
        ActionPlan = "ACTION_PLAN",
        WorkPlan = "WORK_PLAN",
        ShortTermPlan = "SHORT_TERM_PLAN",
    }
}

/// A plan's own content, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFields {
    pub title: Title,
    pub kind: PlanKind,
    pub period: Period,
    pub prepared_by: Option<String>,
    pub approval: Option<String>,
    pub approved_on: Option<Date>,
    /// Poslání, as written.
    pub mission: Option<String>,
    /// Vize, as written.
    pub vision: Option<String>,
    /// Who carries the plan out and how it is reported on, as written.
    pub implementation: Option<String>,
    /// The document's own date line, as written ("Klatovy 2022").
    pub issued: Option<String>,
    /// `issued` where it is a calendar date.
    pub issued_on: Option<Date>,
    /// The document's own title, where it is not the plan's (an evaluation
    /// of the plan, an update of it).
    pub document_title: Option<String>,
    /// What the document says about the plan itself (its scope, how it was
    /// prepared), one statement per entry.
    pub notes: Vec<String>,
}

/// A plan's content as a client or a seed file states it, before parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDraft {
    pub title: String,
    pub kind: PlanKind,
    pub period_start: i32,
    pub period_end: i32,
    pub prepared_by: Option<String>,
    pub approval: Option<String>,
    pub approved_on: Option<Date>,
    pub mission: Option<String>,
    pub vision: Option<String>,
    pub implementation: Option<String>,
    pub issued: Option<String>,
    pub issued_on: Option<Date>,
    pub document_title: Option<String>,
    pub notes: Vec<String>,
}

impl PlanDraft {
    pub fn parse(self) -> ValidationResult<PlanFields> {
        Ok(PlanFields {
            period: Period::parse(
                "period_start",
                self.period_start,
                "period_end",
                self.period_end,
            )?,
            title: Title::name("title", &self.title)?,
            kind: self.kind,
            prepared_by: text::optional("prepared_by", self.prepared_by.as_deref(), MAX_TEXT)?,
            approval: text::optional("approval", self.approval.as_deref(), MAX_TEXT)?,
            approved_on: self.approved_on,
            mission: text::optional("mission", self.mission.as_deref(), MAX_TEXT)?,
            vision: text::optional("vision", self.vision.as_deref(), MAX_TEXT)?,
            implementation: text::optional(
                "implementation",
                self.implementation.as_deref(),
                MAX_TEXT,
            )?,
            issued: text::optional("issued", self.issued.as_deref(), MAX_TITLE)?,
            issued_on: self.issued_on,
            document_title: text::optional(
                "document_title",
                self.document_title.as_deref(),
                MAX_TEXT,
            )?,
            notes: text::list("notes", &self.notes)?,
        })
    }
}

impl PlanFields {
    /// A plan that states only its title, kind and period.
    pub fn new(title: Title, kind: PlanKind, period: Period) -> Self {
        Self {
            title,
            kind,
            period,
            prepared_by: None,
            approval: None,
            approved_on: None,
            mission: None,
            vision: None,
            implementation: None,
            issued: None,
            issued_on: None,
            document_title: None,
            notes: Vec::new(),
        }
    }

    pub fn draft(&self) -> PlanDraft {
        PlanDraft {
            title: self.title.as_str().to_owned(),
            kind: self.kind,
            period_start: self.period.start.get(),
            period_end: self.period.end.get(),
            prepared_by: self.prepared_by.clone(),
            approval: self.approval.clone(),
            approved_on: self.approved_on,
            mission: self.mission.clone(),
            vision: self.vision.clone(),
            implementation: self.implementation.clone(),
            issued: self.issued.clone(),
            issued_on: self.issued_on,
            document_title: self.document_title.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// A project a plan lists (Chomutov's table): its title, implementer and
/// completion term. The plan owns its list, which is written whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectFields {
    pub title: String,
    /// Realizátor.
    pub implementer: Option<String>,
    /// Termín dokončení, as written ("rok 2007").
    pub due: Option<String>,
    pub due_year: Option<i32>,
}

impl ProjectFields {
    pub fn parse(
        title: &str,
        implementer: Option<&str>,
        due: Option<&str>,
        due_year: Option<i32>,
    ) -> ValidationResult<Self> {
        Ok(Self {
            title: text::required("title", title, MAX_TEXT)?,
            implementer: text::optional("implementer", implementer, MAX_TEXT)?,
            due: text::optional("due", due, MAX_TITLE)?,
            due_year: due_year
                .map(|y| Year::parse("due_year", y).map(Year::get))
                .transpose()?,
        })
    }
}

/// A new plan of `region`, implementing `parent_id` if given.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanForCreate {
    pub region: RegionCode,
    pub parent_id: Option<i64>,
    pub fields: PlanFields,
    pub projects: Vec<ProjectFields>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanPatch {
    pub title: Patch<String>,
    pub kind: Patch<PlanKind>,
    pub period_start: Patch<i32>,
    pub period_end: Patch<i32>,
    pub prepared_by: Patch<String>,
    pub approval: Patch<String>,
    pub approved_on: Patch<Date>,
    pub mission: Patch<String>,
    pub vision: Patch<String>,
    pub implementation: Patch<String>,
    pub issued: Patch<String>,
    pub issued_on: Patch<Date>,
    pub document_title: Patch<String>,
    pub notes: Patch<Vec<String>>,
    pub parent_id: Patch<i64>,
    /// The whole list, replacing the one stored (null: none).
    pub projects: Patch<Vec<ProjectFields>>,
}

impl PlanPatch {
    /// The fields named in `changed` set as `to` has them.
    pub fn to(to: &PlanDraft, changed: &[&str]) -> Self {
        Self {
            title: Patch::pick(changed, "title", Some(&to.title)),
            kind: Patch::pick(changed, "kind", Some(&to.kind)),
            period_start: Patch::pick(changed, "period_start", Some(&to.period_start)),
            period_end: Patch::pick(changed, "period_end", Some(&to.period_end)),
            prepared_by: Patch::pick(changed, "prepared_by", to.prepared_by.as_ref()),
            approval: Patch::pick(changed, "approval", to.approval.as_ref()),
            approved_on: Patch::pick(changed, "approved_on", to.approved_on.as_ref()),
            mission: Patch::pick(changed, "mission", to.mission.as_ref()),
            vision: Patch::pick(changed, "vision", to.vision.as_ref()),
            implementation: Patch::pick(changed, "implementation", to.implementation.as_ref()),
            issued: Patch::pick(changed, "issued", to.issued.as_ref()),
            issued_on: Patch::pick(changed, "issued_on", to.issued_on.as_ref()),
            document_title: Patch::pick(changed, "document_title", to.document_title.as_ref()),
            notes: Patch::pick(changed, "notes", Some(&to.notes)),
            parent_id: Patch::Keep,
            // A plan's projects are a list of their own (see `PlanData::projects`).
            projects: Patch::Keep,
        }
    }

    /// The plan's content after this patch (the parent is checked against the database):
    /// the patched fields set in the stored content `d`, validated once, so a patch
    /// can mend a stored value a newer rule refuses.
    pub fn apply(self, mut d: PlanDraft) -> ValidationResult<PlanFields> {
        self.title.apply_required("title", &mut d.title)?;
        self.kind.apply_required("kind", &mut d.kind)?;
        self.period_start
            .apply_required("period_start", &mut d.period_start)?;
        self.period_end
            .apply_required("period_end", &mut d.period_end)?;
        self.prepared_by.apply(&mut d.prepared_by);
        self.approval.apply(&mut d.approval);
        self.approved_on.apply(&mut d.approved_on);
        self.mission.apply(&mut d.mission);
        self.vision.apply(&mut d.vision);
        self.implementation.apply(&mut d.implementation);
        self.issued.apply(&mut d.issued);
        self.issued_on.apply(&mut d.issued_on);
        self.document_title.apply(&mut d.document_title);
        self.notes.apply_list(&mut d.notes);
        d.parse()
    }
}

/// Next period's action plan made from a plan (`rollOverPlan`): the
/// plan's priorities and measures whose latest evaluation is one of
/// `include` are copied into it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRollOver {
    pub plan_id: i64,
    pub period: Period,
    pub title: Title,
    /// A measure never evaluated counts as `Unknown`.
    pub include: Vec<EvaluationStatus>,
}

impl PlanRollOver {
    /// Without a title, "Akční plán na rok 2024" (or "na roky 2024–2025");
    /// without `include`, every status but `Fulfilled`.
    pub fn parse(
        plan_id: i64,
        period_start: i32,
        period_end: i32,
        title: Option<&str>,
        include: Option<Vec<EvaluationStatus>>,
    ) -> ValidationResult<Self> {
        let period = Period::parse("period_start", period_start, "period_end", period_end)?;
        let (start, end) = (period.start.get(), period.end.get());
        let title = match title {
            Some(t) => Title::name("title", t)?,
            None if start == end => Title::name("title", &format!("Akční plán na rok {start}"))?,
            None => Title::name("title", &format!("Akční plán na roky {start}–{end}"))?,
        };
        let include = include.unwrap_or_else(|| {
            EvaluationStatus::ALL
                .iter()
                .copied()
                .filter(|s| *s != EvaluationStatus::Fulfilled)
                .collect()
        });
        Ok(Self {
            plan_id,
            period,
            title,
            include,
        })
    }
}

/// A source document's file name (plans imported from one keep it).
pub fn source_document(field: &str, s: Option<&str>) -> ValidationResult<Option<String>> {
    text::optional(field, s, MAX_TITLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> PlanFields {
        let title = Title::name("title", "Akční plán").unwrap();
        let period = Period::parse("period_start", 2023, "period_end", 2024).unwrap();
        PlanFields::new(title, PlanKind::ActionPlan, period)
    }

    #[test]
    fn a_patch_keeps_clears_and_sets() {
        let patch = PlanPatch {
            title: Patch::Set(" Nový ".into()),
            prepared_by: Patch::Set("OSV".into()),
            ..PlanPatch::default()
        };
        let patched = patch.apply(fields().draft()).unwrap();
        assert_eq!(patched.title.as_str(), "Nový");
        assert_eq!(patched.prepared_by.as_deref(), Some("OSV"));
        assert_eq!(patched.period, fields().period);
        let cleared = PlanPatch {
            prepared_by: Patch::Clear,
            ..PlanPatch::default()
        }
        .apply(patched.draft())
        .unwrap();
        assert_eq!(cleared.prepared_by, None);
    }

    #[test]
    fn a_roll_over_is_titled_by_its_period_and_leaves_fulfilled_measures() {
        let one = PlanRollOver::parse(1, 2024, 2024, None, None).unwrap();
        assert_eq!(one.title.as_str(), "Akční plán na rok 2024");
        assert!(!one.include.contains(&EvaluationStatus::Fulfilled));
        assert_eq!(one.include.len(), EvaluationStatus::ALL.len() - 1);
        let two = PlanRollOver::parse(1, 2024, 2025, None, None).unwrap();
        assert_eq!(two.title.as_str(), "Akční plán na roky 2024–2025");
        let err = PlanRollOver::parse(1, 2025, 2024, None, None).unwrap_err();
        assert_eq!(err.field, "period_end");
    }

    #[test]
    fn a_patch_is_checked_as_a_whole() {
        let err = PlanPatch {
            period_end: Patch::Set(2020),
            ..PlanPatch::default()
        }
        .apply(fields().draft())
        .unwrap_err();
        assert_eq!(err.field, "period_end");
        let err = PlanPatch {
            title: Patch::Clear,
            ..PlanPatch::default()
        }
        .apply(fields().draft())
        .unwrap_err();
        assert_eq!(err.field, "title");
    }
}
