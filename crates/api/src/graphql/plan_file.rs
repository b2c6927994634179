//! A plan as a file: exported in the seed format or as a workbook,
//! imported (YAML, XLSX, ODS) with a dry run that lists what would change.

use super::common::{bad, id, maybe_related, region_code, scoped};
use super::nodes::{Plan, PlanById};
use crate::error::{Result, camel_path, coded};
use crate::limits::Limits;
use crate::plan_files::{self, FileFormat};
use async_graphql::{Context, Enum, ID, Object, SimpleObject, Upload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kpss_persistence::plan_file::{self, ImportOptions};

/// The formats of a plan file.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PlanFileFormat {
    /// The seed format (`seeds/README.md`): a region file holding one plan.
    Yaml,
    /// An Excel workbook, one sheet per kind of record with Czech headers
    /// (`/templates/akcni-plan.xlsx`); base64 in `planFile` and `content`.
    Xlsx,
    /// An OpenDocument spreadsheet with the same sheets: import only.
    Ods,
}

impl PlanFileFormat {
    fn file(self) -> FileFormat {
        match self {
            Self::Yaml => FileFormat::Yaml,
            Self::Xlsx => FileFormat::Xlsx,
            Self::Ods => FileFormat::Ods,
        }
    }
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
        maybe_related(ctx, self.result.plan_id.map(PlanById)).await
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
    /// A plan as a file in `format`, to edit and import again: YAML text, or
    /// an XLSX workbook in base64. `ODS` is for import only.
    async fn plan_file(&self, ctx: &Context<'_>, id: ID, format: PlanFileFormat) -> Result<String> {
        let id = self::id("id", &id)?;
        match format {
            PlanFileFormat::Yaml => plan_file::export(scoped(ctx), id).await.map_err(coded),
            PlanFileFormat::Xlsx => {
                let data = plan_file::export_data(scoped(ctx), id)
                    .await
                    .map_err(coded)?;
                let bytes = kpss_workbook::plan(&data.region, &data.plans[0]).map_err(|e| {
                    tracing::error!(error = %e, "a workbook could not be written");
                    coded(crate::error::ApiError::Internal)
                })?;
                Ok(BASE64.encode(bytes))
            }
            PlanFileFormat::Ods => Err(bad(
                "format",
                "ODS is read on import only; export a plan as XLSX or YAML",
            )),
        }
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
    /// answers `BAD_USER_INPUT` with `extensions.problems`, each with its `location` (a cell
    /// such as `Opatření!C7`, a YAML path, or `file`) and a message in Czech. The file is
    /// `content` (YAML text, or a workbook in base64, within the body limit) or `file`, an
    /// upload of a multipart request (up to `KPSS_IMPORT_MAX_BYTES`). In a workbook, an empty
    /// cell is not stated and a missing column leaves its field as it is.
    #[allow(clippy::too_many_arguments)] // the mutation's arguments, one each
    async fn import_plan(
        &self,
        ctx: &Context<'_>,
        region: String,
        format: PlanFileFormat,
        content: Option<String>,
        file: Option<Upload>,
        dry_run: bool,
        expected_version: Option<i32>,
        #[graphql(default = false)] archive_missing: bool,
    ) -> Result<PlanImport> {
        let region = region_code("region", &region)?;
        let bytes: Vec<u8> = match (content, file) {
            (Some(text), None) if format == PlanFileFormat::Yaml => text.into_bytes(),
            (Some(text), None) => BASE64
                .decode(text.trim())
                .map_err(|_| bad("content", "a workbook's content is its bytes in base64"))?,
            (None, Some(upload)) => upload
                .value(ctx)
                .map_err(|_| bad("file", "the upload cannot be read"))?
                .content
                .to_vec(),
            _ => {
                return Err(bad(
                    "content",
                    "give the file as `content` or as `file`, once",
                ));
            }
        };
        let limits = ctx.data_unchecked::<Limits>().clone();
        let format = format.file();
        let read = {
            let region = region.clone();
            // Unpacking and reading a workbook is work for a blocking thread.
            tokio::task::spawn_blocking(move || plan_files::read(&region, format, &bytes, &limits))
                .await
                .map_err(|_| coded(crate::error::ApiError::Internal))?
        };
        let (file, kept) = read.map_err(coded)?;
        let options = ImportOptions {
            dry_run,
            expected_version,
            archive_missing,
        };
        let result = plan_file::import(scoped(ctx), &region, &file, &kept, options)
            .await
            .map_err(coded)?;
        Ok(PlanImport { result })
    }
}
