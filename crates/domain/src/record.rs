//! Stored records as readers see them: each with its id, region, version
//! and archive flag. Content fields mean what they mean in [`crate::plan`].

use crate::evaluation::EvaluationStatus;
use crate::kind::{AuditAction, EntityKind};
use crate::measure::{Cost, Statement};
use crate::plan::PlanKind;
use crate::region::RegionCode;
use crate::service::{Capacity, ServiceType};
use crate::source::Provenance;
use crate::value::Date;

/// Seconds since the Unix epoch, UTC (the API formats it as DateTime).
pub type Timestamp = i64;

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

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Priority {
    pub id: i64,
    pub region: RegionCode,
    pub plan_id: i64,
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub group: Option<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
}

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

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Activity {
    pub id: i64,
    pub region: RegionCode,
    pub measure_id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub responsible: Vec<String>,
    pub schedule_items: Vec<String>,
    pub financing_items: Vec<String>,
    pub financing_statement: Statement,
    pub outputs: Vec<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub id: i64,
    pub measure_id: i64,
    pub year: i32,
    pub status: EvaluationStatus,
    pub comment: Option<String>,
    pub recorded_at: Timestamp,
    pub recorded_by: String,
    pub source: Option<Provenance>,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Provider {
    pub id: i64,
    pub region: RegionCode,
    pub name: String,
    pub ico: Option<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Service {
    pub id: i64,
    pub region: RegionCode,
    pub provider_id: i64,
    pub service_type: ServiceType,
    pub name: Option<String>,
    pub scope: Option<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
}

/// A capacity with the record it belongs to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OwnedCapacity {
    pub owner_id: i64,
    pub capacity: Capacity,
}

/// One change in the audit log: who did what to which record, and the record
/// before and after (JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub region: RegionCode,
    pub entity: EntityKind,
    pub entity_id: i64,
    pub action: AuditAction,
    pub before: Option<String>,
    pub after: Option<String>,
}
