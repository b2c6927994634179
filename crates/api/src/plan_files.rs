//! Plan files in their three formats, read into one plan and checked by the
//! domain as the seeds are: YAML (the seed format), and workbooks (XLSX,
//! ODS) whose sheets map onto the same records. The GraphQL import and
//! `kpss import` both read files here, then import them the one way.

use crate::limits::Limits;
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{Kept, PlanData};
use kpss_domain::{Rule, ValidationError};
use kpss_persistence::{Error, plan_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Yaml,
    Xlsx,
    Ods,
}

impl FileFormat {
    /// The format a file's name ends with (`.yaml` or `.yml`, `.xlsx`, `.ods`).
    pub fn of_name(name: &str) -> Option<Self> {
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Self::Yaml),
            "xlsx" => Some(Self::Xlsx),
            "ods" => Some(Self::Ods),
            _ => None,
        }
    }
}

/// How far a workbook may unpack, as a multiple of the largest file.
const UNPACKED_PER_BYTE: u64 = 8;

/// A plan file checked as a plan of `region`: its plan and the fields it
/// leaves as they are stored, or every problem, each at its place in the
/// file (`Opatření!C7`, a YAML path, or `file`).
pub fn read(
    region: &RegionCode,
    format: FileFormat,
    bytes: &[u8],
    limits: &Limits,
) -> Result<(PlanData, Kept), Error> {
    let whole = |rule| Error::Problems(vec![ValidationError::new("file", rule)]);
    if bytes.len() > limits.max_import_bytes {
        return Err(whole(Rule::TooLarge {
            bytes: bytes.len(),
            max: limits.max_import_bytes,
        }));
    }
    let format = match format {
        FileFormat::Yaml => {
            let text = std::str::from_utf8(bytes).map_err(|_| whole(Rule::NotUtf8))?;
            return Ok((plan_file::parse(region, text)?, Kept::default()));
        }
        FileFormat::Xlsx => kpss_workbook::Format::Xlsx,
        FileFormat::Ods => kpss_workbook::Format::Ods,
    };
    let workbook_limits = kpss_workbook::Limits {
        max_rows: limits.max_import_rows,
        max_unpacked: (limits.max_import_bytes as u64).saturating_mul(UNPACKED_PER_BYTE),
    };
    let reading =
        kpss_workbook::read(bytes, format, region, &workbook_limits).map_err(Error::Problems)?;
    let mut problems = reading.problems;
    let found = match plan_file::checked(region, reading.file) {
        Ok(plan) if problems.is_empty() => return Ok((plan, reading.kept)),
        Ok(_) => vec![],
        Err(Error::Problems(p)) => p,
        Err(Error::Invalid(v)) => vec![v],
        Err(e) => return Err(e),
    };
    // The domain's problems at their cells; one problem per cell (a cell the
    // reader could not read is not checked again).
    for p in found {
        let at = reading.places.locate(&p.field);
        if !problems.iter().any(|q| q.field == at) {
            problems.push(ValidationError::new(at, p.rule));
        }
    }
    Err(Error::Problems(problems))
}
