//! A plan as a file: exported in the seed format, imported with a dry run
//! that lists what would change.

use super::common::{bad, id, loader, region_code, scoped};
use super::nodes::{Plan, PlanById};
use crate::error::{Result, camel_path, coded};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use kpss_persistence::plan_file::{self, ImportOptions};

/// The formats of a plan file.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PlanFileFormat {
    /// The seed format (`seeds/README.md`): a region file holding one plan.
    Yaml,
}

/// What an import does (or, in a dry run, would do) to a record.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    Created,
    Changed,
    Unchanged,
    Archived,
}

/// A field an import changes: its name as in the schema, its value before
/// and after (text as is, other values JSON-encoded; null when not stated).
#[derive(SimpleObject)]
pub struct FieldChange {
    name: String,
    old: Option<String>,
    new: Option<String>,
}

#[derive(SimpleObject)]
pub struct RecordChange {
    /// The kind of record, as `AuditEntry.entity` names it.
    kind: String,
    /// The record's code; an evaluation's is its measure's code and its year ("1.2/2023").
    code: Option<String>,
    action: ImportAction,
    fields: Vec<FieldChange>,
}

pub struct PlanImport {
    result: plan_file::PlanImport,
}

#[Object]
impl PlanImport {
    /// Whether the changes were made (false for a dry run).
    async fn applied(&self) -> bool {
        self.result.applied
    }

    /// The plan the file updates or created; null for a new plan in a dry run.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        match self.result.plan_id {
            Some(id) => loader(ctx).load_one(PlanById(id)).await,
            None => Ok(None),
        }
    }

    /// The version of the plan's tree (any write to the plan or a record in it changes it): a
    /// dry run's is the `expectedVersion` of the apply; after an apply, the new one.
    async fn version(&self) -> i32 {
        self.result.version
    }

    /// Every record of the file, in its order, then the records it archives.
    async fn changes(&self) -> Vec<RecordChange> {
        self.result
            .changes
            .iter()
            .map(|c| RecordChange {
                kind: c.kind.as_str().to_owned(),
                code: c.code.clone(),
                action: match c.action {
                    plan_file::ImportAction::Created => ImportAction::Created,
                    plan_file::ImportAction::Changed => ImportAction::Changed,
                    plan_file::ImportAction::Unchanged => ImportAction::Unchanged,
                    plan_file::ImportAction::Archived => ImportAction::Archived,
                },
                fields: c
                    .fields
                    .iter()
                    .map(|f| FieldChange {
                        name: camel_path(&f.name),
                        old: f.old.clone(),
                        new: f.new.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

#[derive(Default)]
pub struct PlanFileQueries;

#[Object]
impl PlanFileQueries {
    /// A plan as a file in `format`, to edit and import again.
    async fn plan_file(&self, ctx: &Context<'_>, id: ID, format: PlanFileFormat) -> Result<String> {
        let PlanFileFormat::Yaml = format;
        plan_file::export(scoped(ctx), self::id("id", &id)?)
            .await
            .map_err(coded)
    }
}

#[derive(Default)]
pub struct PlanFileMutations;

#[Object]
impl PlanFileMutations {
    /// Imports a plan file into `region`: the plan it names (by its key, or by title and
    /// period) is updated, or a new one created; records are matched by code within their
    /// parent, evaluations by year. With `dryRun` nothing changes and the answer lists what
    /// would; an apply with the dry run's `version` as `expectedVersion` is refused with
    /// `CONFLICT` when anything in the plan changed since. A bad file changes nothing and
    /// answers `BAD_USER_INPUT` with `extensions.problems` (each with its `location`).
    #[allow(clippy::too_many_arguments)] // the mutation's arguments, one each
    async fn import_plan(
        &self,
        ctx: &Context<'_>,
        region: String,
        format: PlanFileFormat,
        content: Option<String>,
        dry_run: bool,
        expected_version: Option<i32>,
        #[graphql(default = false)] archive_missing: bool,
    ) -> Result<PlanImport> {
        let PlanFileFormat::Yaml = format;
        let region = region_code("region", &region)?;
        let Some(content) = content else {
            return Err(bad("content", "give the file's content"));
        };
        let file = plan_file::parse(&region, &content).map_err(coded)?;
        let options = ImportOptions {
            dry_run,
            expected_version,
            archive_missing,
        };
        let result = plan_file::import(scoped(ctx), &region, &file, options)
            .await
            .map_err(coded)?;
        Ok(PlanImport { result })
    }
}
