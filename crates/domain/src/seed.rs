//! The seed files: `regions.yaml` (territory) and one file per region, whose
//! documents are also the export format. Each record converts into the
//! domain's commands (`draft()`), so a seed obeys the same rules as the API.

use crate::activity::ActivityDraft;
use crate::error::{Rule, ValidationError, ValidationResult};
use crate::evaluation::{EvaluationFields, EvaluationStatus};
use crate::measure::{Cost, MeasureDraft, Statement};
use crate::plan::{PlanDraft, PlanKind, source_document};
use crate::priority::PriorityDraft;
use crate::region::{Kraj, Region, RegionCode};
use crate::service::{
    Capacity, CapacityUnit, NetworkShare, ProviderFields, ServiceDraft, ServiceForm, ServiceType,
};
use crate::source::{Provenance, ProvenanceData, SourceData};
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use crate::value::{Date, Year, normalized_code};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Territory {
    pub kraje: Vec<Kraj>,
    pub regions: Vec<Region>,
}

impl Territory {
    pub fn normalized(self) -> ValidationResult<Self> {
        let mut kraje = HashSet::new();
        for (i, k) in self.kraje.iter().enumerate() {
            text::required(&format!("kraje[{i}].name"), &k.name, MAX_TITLE)?;
            if !kraje.insert(&k.code) {
                return Err(ValidationError::new(
                    format!("kraje[{i}].code"),
                    Rule::KrajTwice(k.code.to_string()),
                ));
            }
        }
        let mut regions = HashSet::new();
        for (i, r) in self.regions.iter().enumerate() {
            text::required(&format!("regions[{i}].name"), &r.name, MAX_TITLE)?;
            if !regions.insert(&r.code) {
                return Err(ValidationError::new(
                    format!("regions[{i}].code"),
                    Rule::RegionTwice(r.code.to_string()),
                ));
            }
            if !kraje.contains(&r.kraj) {
                return Err(ValidationError::new(
                    format!("regions[{i}].kraj"),
                    Rule::UnknownKraj(r.kraj.to_string()),
                ));
            }
        }
        let kraje = self
            .kraje
            .into_iter()
            .map(|k| Kraj {
                name: text::nfc(k.name.trim()),
                ..k
            })
            .collect();
        let regions = self
            .regions
            .into_iter()
            .map(|r| Region {
                name: text::nfc(r.name.trim()),
                ..r
            })
            .collect();
        Ok(Self { kraje, regions })
    }
}

/// Everything one region's documents say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionData {
    pub region: RegionCode,
    #[serde(default)]
    pub plans: Vec<PlanData>,
    #[serde(default)]
    pub providers: Vec<ProviderData>,
}

impl RegionData {
    /// Validates every record and the references between plans.
    pub fn normalized(self) -> ValidationResult<Self> {
        let plans: Vec<PlanData> = self
            .plans
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.normalized().map_err(|e| e.under(&format!("plans[{i}]"))))
            .collect::<ValidationResult<_>>()?;
        let mut keys = HashSet::new();
        for (i, p) in plans.iter().enumerate() {
            text::required(&format!("plans[{i}].key"), &p.key, MAX_TITLE)?;
            if !keys.insert(p.key.as_str()) {
                return Err(ValidationError::new(
                    format!("plans[{i}].key"),
                    Rule::PlanKeyTwice(p.key.clone()),
                ));
            }
        }
        for (i, p) in plans.iter().enumerate() {
            if let Some(parent) = &p.parent
                && (!keys.contains(parent.as_str()) || parent == &p.key)
            {
                return Err(ValidationError::new(
                    format!("plans[{i}].parent"),
                    Rule::NotAnotherPlan(parent.clone()),
                ));
            }
        }
        let providers = self
            .providers
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.normalized()
                    .map_err(|e| e.under(&format!("providers[{i}]")))
            })
            .collect::<ValidationResult<_>>()?;
        Ok(Self {
            region: self.region,
            plans,
            providers,
        })
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mission: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<Date>,
    /// The document's own title, where it is not the plan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_title: Option<String>,
    /// What the document says about the plan itself, one statement each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The document (in `seeds/sources/`) the plan and everything under it comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<PriorityData>,
}

/// The fields a plan file leaves as they are stored (a workbook's missing
/// columns and sheets), by kind of record: seed names, or paths into a
/// record's owned lists (`planned_capacities.text`: that field of each
/// capacity, by position).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    pub plan: Vec<String>,
    pub priority: Vec<String>,
    pub measure: Vec<String>,
    pub activity: Vec<String>,
    pub evaluation: Vec<String>,
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
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
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
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measures: Vec<MeasureData>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Only where the list alone does not tell: `NONE` ("0") or `NOT_SPECIFIABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_statement: Option<Statement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_activities: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_capacities: Vec<CapacityData>,
    /// The priority's title as printed above this measure, where it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_title: Option<String>,
    /// The title as an overview prints it, where it differs from the detail's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_title: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluations: Vec<EvaluationData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<ActivityData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_measures: Vec<MeasureData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityData {
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responsible: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule_items: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub financing_items: Vec<String>,
    /// Only where the items alone do not tell: `NONE` ("žádné") or `NOT_SPECIFIABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financing_statement: Option<Statement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
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
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderData {
    pub name: String,
    /// IČO, only where the source states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ico: Option<String>,
    /// The document (in `seeds/sources/`) the provider and its services come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceData {
    pub service_type: ServiceType,
    /// The source's own name of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    #[serde(default)]
    pub capacities: Vec<CapacityData>,
}

/// A capacity of a service, or one a measure plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityData {
    #[serde(default)]
    pub form: Option<ServiceForm>,
    pub value: i32,
    /// The value is a lower bound ("minimálně 50 lůžek").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_least: bool,
    pub unit: CapacityUnit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The parts of it in the kraj's základní / rozvojová síť, where stated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_shares: Vec<NetworkShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
}

impl CapacityData {
    /// The capacity, with its source resolved in `document`.
    pub fn capacity(&self, source: Option<Provenance>) -> Capacity {
        Capacity {
            form: self.form,
            value: self.value,
            at_least: self.at_least,
            unit: self.unit,
            text: self.text.clone(),
            network_shares: self.network_shares.clone(),
            source,
        }
    }

    /// The seed form of a stored capacity.
    pub fn of(c: &Capacity) -> Self {
        let (source, sources, reading) = seed_provenance(c.source.as_ref());
        Self {
            form: c.form,
            value: c.value,
            at_least: c.at_least,
            unit: c.unit,
            text: c.text.clone(),
            network_shares: c.network_shares.clone(),
            source,
            sources,
            reading,
        }
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        let c = self.capacity(None).normalized()?;
        Ok(Self {
            text: c.text,
            ..self
        })
    }
}

/// Checked capacities, each under `field[i]`.
fn capacities(field: &str, list: Vec<CapacityData>) -> ValidationResult<Vec<CapacityData>> {
    each(field, list, CapacityData::normalized)
}

/// The seed form of a funding statement: kept only where the list does not tell.
pub fn stated_funding(statement: Statement) -> Option<Statement> {
    matches!(statement, Statement::None | Statement::NotSpecifiable).then_some(statement)
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
                Rule::CodeTwice(code),
            ));
        }
    }
    Ok(())
}

/// A sibling's code, alone or scoped by its group.
trait CodeOf {
    fn code(&self) -> &str;
}

impl CodeOf for String {
    fn code(&self) -> &str {
        self
    }
}

impl CodeOf for (&str, String) {
    fn code(&self) -> &str {
        &self.1
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

impl PlanData {
    /// A plan that states only its key, title, kind and period.
    pub fn new(key: &str, title: &str, kind: PlanKind, period_start: i32, period_end: i32) -> Self {
        Self {
            key: key.to_owned(),
            title: title.to_owned(),
            kind,
            period_start,
            period_end,
            parent: None,
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
            source_document: None,
            source: None,
            sources: Vec::new(),
            reading: None,
            projects: Vec::new(),
            priorities: Vec::new(),
        }
    }

    /// The plan's own content as a draft (its children aside).
    pub fn draft(&self) -> PlanDraft {
        PlanDraft {
            title: self.title.clone(),
            kind: self.kind,
            period_start: self.period_start,
            period_end: self.period_end,
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

    pub fn normalized(self) -> ValidationResult<Self> {
        let fields = self.draft().parse()?;
        // Documents number priorities per group (Kroměříž restarts at 1 in each).
        unique_codes(
            "priorities",
            self.priorities
                .iter()
                .map(|p| (p.group.as_deref().unwrap_or(""), normalized_code(&p.code))),
        )?;
        let d = fields.draft();
        Ok(Self {
            key: self.key,
            title: d.title,
            kind: d.kind,
            period_start: d.period_start,
            period_end: d.period_end,
            parent: self.parent,
            prepared_by: d.prepared_by,
            approval: d.approval,
            approved_on: d.approved_on,
            mission: d.mission,
            vision: d.vision,
            implementation: d.implementation,
            issued: d.issued,
            issued_on: d.issued_on,
            document_title: d.document_title,
            notes: d.notes,
            source_document: source_document("source_document", self.source_document.as_deref())?,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
            projects: each("projects", self.projects, ProjectData::normalized)?,
            priorities: each("priorities", self.priorities, PriorityData::normalized)?,
        })
    }
}

impl ProjectData {
    pub fn fields(&self) -> ValidationResult<crate::plan::ProjectFields> {
        crate::plan::ProjectFields::parse(
            &self.title,
            self.implementer.as_deref(),
            self.due.as_deref(),
            self.due_year,
        )
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        Ok(Self {
            title: text::required("title", &self.title, MAX_TEXT)?,
            implementer: text::optional("implementer", self.implementer.as_deref(), MAX_TEXT)?,
            due: text::optional("due", self.due.as_deref(), MAX_TITLE)?,
            due_year: self
                .due_year
                .map(|y| Year::parse("due_year", y).map(Year::get))
                .transpose()?,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
        })
    }
}

impl PriorityData {
    /// A priority that states only its code and title.
    pub fn new(code: String, title: String) -> Self {
        Self {
            code,
            title,
            description: None,
            group: None,
            source: None,
            sources: vec![],
            reading: None,
            measures: vec![],
        }
    }

    pub fn draft(&self) -> PriorityDraft {
        PriorityDraft {
            code: self.code.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            group: self.group.clone(),
        }
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        let d = self.draft().parse()?.draft();
        unique_codes(
            "measures",
            self.measures.iter().map(|m| normalized_code(&m.code)),
        )?;
        Ok(Self {
            code: d.code,
            title: d.title,
            description: d.description,
            group: d.group,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
            measures: each("measures", self.measures, MeasureData::normalized)?,
        })
    }
}

impl MeasureData {
    pub fn draft(&self) -> MeasureDraft {
        MeasureDraft {
            code: self.code.clone(),
            title: self.title.clone(),
            rationale: self.rationale.clone(),
            description: self.description.clone(),
            target_groups: self.target_groups.clone(),
            term: self.term.clone(),
            term_start_year: self.term_start_year,
            term_end_year: self.term_end_year,
            responsible: self.responsible.clone(),
            output: self.output.clone(),
            expected_cost: self.expected_cost.clone(),
            funding_sources: self.funding_sources.clone(),
            funding_statement: self.funding_statement,
            risks: self.risks.clone(),
            planned_activities: self.planned_activities.clone(),
            planned_capacities: self
                .planned_capacities
                .iter()
                .map(|c| c.capacity(None))
                .collect(),
            priority_title: self.priority_title.clone(),
            alternative_title: self.alternative_title.clone(),
        }
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        let f = self.draft().parse()?;
        let d = f.draft();
        unique_codes(
            "activities",
            self.activities.iter().map(|a| normalized_code(&a.code)),
        )?;
        unique_codes(
            "sub_measures",
            self.sub_measures.iter().map(|m| normalized_code(&m.code)),
        )?;
        let mut years = HashSet::new();
        for (i, e) in self.evaluations.iter().enumerate() {
            if !years.insert(e.year) {
                return Err(ValidationError::new(
                    format!("evaluations[{i}].year"),
                    Rule::YearTwice(e.year),
                ));
            }
        }
        Ok(Self {
            code: d.code,
            title: d.title,
            rationale: d.rationale,
            description: d.description,
            target_groups: d.target_groups,
            term: d.term,
            term_start_year: d.term_start_year,
            term_end_year: d.term_end_year,
            responsible: d.responsible,
            output: d.output,
            expected_cost: d.expected_cost,
            funding_sources: d.funding_sources,
            funding_statement: stated_funding(f.funding_statement),
            risks: d.risks,
            planned_activities: d.planned_activities,
            planned_capacities: capacities("planned_capacities", self.planned_capacities)?,
            priority_title: d.priority_title,
            alternative_title: d.alternative_title,
            evaluations: each("evaluations", self.evaluations, EvaluationData::normalized)?,
            activities: each("activities", self.activities, ActivityData::normalized)?,
            sub_measures: each("sub_measures", self.sub_measures, MeasureData::normalized)?,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
        })
    }
}

impl ActivityData {
    pub fn draft(&self) -> ActivityDraft {
        ActivityDraft {
            code: self.code.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            responsible: self.responsible.clone(),
            schedule_items: self.schedule_items.clone(),
            financing_items: self.financing_items.clone(),
            financing_statement: self.financing_statement,
            outputs: self.outputs.clone(),
        }
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        let d = self.draft().parse()?.draft();
        unique_codes(
            "sub_activities",
            self.sub_activities.iter().map(|a| normalized_code(&a.code)),
        )?;
        Ok(Self {
            code: d.code,
            title: d.title,
            description: d.description,
            responsible: d.responsible,
            schedule_items: d.schedule_items,
            financing_items: d.financing_items,
            financing_statement: d.financing_statement.and_then(stated_funding),
            outputs: d.outputs,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
            sub_activities: each(
                "sub_activities",
                self.sub_activities,
                ActivityData::normalized,
            )?,
        })
    }
}

impl EvaluationData {
    pub fn fields(&self) -> ValidationResult<EvaluationFields> {
        EvaluationFields::parse(self.year, self.status, self.comment.as_deref())
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        let f = self.fields()?;
        Ok(Self {
            year: f.year.get(),
            status: f.status,
            comment: f.comment,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
        })
    }
}

impl ProviderData {
    pub fn fields(&self) -> ValidationResult<ProviderFields> {
        ProviderFields::parse(&self.name, self.ico.as_deref())
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        let f = self.fields()?;
        Ok(Self {
            name: f.name.as_str().to_owned(),
            ico: f.ico,
            source_document: source_document("source_document", self.source_document.as_deref())?,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
            services: each("services", self.services, ServiceData::normalized)?,
        })
    }
}

impl ServiceData {
    pub fn draft(&self) -> ServiceDraft {
        ServiceDraft {
            service_type: self.service_type,
            name: self.name.clone(),
            scope: self.scope.clone(),
            capacities: self.capacities.iter().map(|c| c.capacity(None)).collect(),
        }
    }

    pub fn normalized(self) -> ValidationResult<Self> {
        let d = self.draft().parse()?.draft();
        Ok(Self {
            service_type: d.service_type,
            name: d.name,
            scope: d.scope,
            source: self.source,
            sources: self.sources,
            reading: self.reading,
            capacities: capacities("capacities", self.capacities)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanData {
        PlanData::new("ap", "Akční plán", PlanKind::ActionPlan, 2023, 2023)
    }

    fn priority(code: &str) -> PriorityData {
        PriorityData::new(code.into(), "P".into())
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
    fn codes_are_unique_whatever_their_spacing() {
        let err = PlanData {
            priorities: vec![priority("1.2"), priority("1. 2")],
            ..plan()
        }
        .normalized()
        .unwrap_err();
        assert_eq!(err.field, "priorities[1].code");
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
}

/// The seed form of a record's provenance: `source`, `sources`, `reading`.
pub fn seed_provenance(
    p: Option<&Provenance>,
) -> (Option<SourceData>, Vec<SourceData>, Option<String>) {
    p.map(Provenance::data).unwrap_or_default()
}

/// A seed record's provenance keys, read together.
macro_rules! sourced {
    ($($data:ty),*) => {$(
        impl $data {
            pub fn provenance(&self) -> ProvenanceData<'_> {
                ProvenanceData {
                    source: self.source.as_ref(),
                    sources: &self.sources,
                    reading: self.reading.as_deref(),
                }
            }
        }
    )*};
}

sourced!(
    PlanData,
    ProjectData,
    PriorityData,
    MeasureData,
    ActivityData,
    EvaluationData,
    ProviderData,
    ServiceData,
    CapacityData
);

/// Every problem of a plan, each named by its path in the file
/// (`priorities[0].measures[2].title`): each record checked on its own, so
/// one bad value does not hide the others.
pub fn plan_problems(p: &PlanData) -> Vec<ValidationError> {
    let mut out = Vec::new();
    // The plan's own fields (its priorities and projects are checked below).
    if let Err(e) = (PlanData {
        priorities: vec![],
        projects: vec![],
        ..p.clone()
    })
    .normalized()
    {
        out.push(e);
    }
    if let Err(e) = unique_codes(
        "priorities",
        p.priorities
            .iter()
            .map(|x| (x.group.as_deref().unwrap_or(""), normalized_code(&x.code))),
    ) {
        out.push(e);
    }
    for (i, x) in p.projects.iter().enumerate() {
        if let Err(e) = x.clone().normalized() {
            out.push(e.under(&format!("projects[{i}]")));
        }
    }
    for (i, pr) in p.priorities.iter().enumerate() {
        let at = format!("priorities[{i}]");
        let fields = PriorityData {
            measures: vec![],
            ..pr.clone()
        };
        if let Err(e) = fields.normalized() {
            out.push(e.under(&at));
        }
        measure_problems(&pr.measures, &format!("{at}.measures"), &mut out);
    }
    out
}

fn measure_problems(list: &[MeasureData], at: &str, out: &mut Vec<ValidationError>) {
    if let Err(e) = unique_codes(at, list.iter().map(|m| normalized_code(&m.code))) {
        out.push(e);
    }
    for (i, m) in list.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let own = MeasureData {
            activities: vec![],
            sub_measures: vec![],
            ..m.clone()
        };
        if let Err(e) = own.normalized() {
            out.push(e.under(&at));
        }
        if let Err(e) = unique_codes(
            &format!("{at}.activities"),
            m.activities.iter().map(|a| normalized_code(&a.code)),
        ) {
            out.push(e);
        }
        for (j, a) in m.activities.iter().enumerate() {
            if let Err(e) = a.clone().normalized() {
                out.push(e.under(&format!("{at}.activities[{j}]")));
            }
        }
        measure_problems(&m.sub_measures, &format!("{at}.sub_measures"), out);
    }
}
