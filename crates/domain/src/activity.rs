//! Activities of a measure (and sub-activities): the commands that create and change one.

use crate::error::{Rule, ValidationError, ValidationResult};
use crate::measure::{Statement, funding_statement};
use crate::patch::Patch;
use crate::region::RegionCode;
use crate::source::Provenance;
use crate::text::{self, MAX_TEXT};
use crate::value::{Code, Title};

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

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityFields {
    pub code: Code,
    pub title: Title,
    pub description: Option<String>,
    pub responsible: Vec<String>,
    /// Harmonogram, one entry per line of the cell.
    pub schedule_items: Vec<String>,
    /// Financování, one entry per line of the cell.
    pub financing_items: Vec<String>,
    /// What the document says of the financing where the items alone do not
    /// tell (`NONE`: "žádné").
    pub financing_statement: Statement,
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityDraft {
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub responsible: Vec<String>,
    /// Harmonogram, one entry per line of the cell.
    pub schedule_items: Vec<String>,
    /// Financování, one entry per line of the cell.
    pub financing_items: Vec<String>,
    pub financing_statement: Option<Statement>,
    pub outputs: Vec<String>,
}

impl ActivityDraft {
    pub fn parse(self) -> ValidationResult<ActivityFields> {
        Ok(ActivityFields {
            code: Code::parse("code", &self.code)?,
            title: Title::parse("title", &self.title)?,
            description: text::optional("description", self.description.as_deref(), MAX_TEXT)?,
            responsible: text::list("responsible", &self.responsible)?,
            schedule_items: items("schedule_items", &self.schedule_items)?,
            financing_statement: funding_statement(
                "financing_statement",
                self.financing_statement,
                &self.financing_items,
            )?,
            financing_items: items("financing_items", &self.financing_items)?,
            outputs: text::list("outputs", &self.outputs)?,
        })
    }
}

impl ActivityFields {
    pub fn draft(&self) -> ActivityDraft {
        ActivityDraft {
            code: self.code.as_str().to_owned(),
            title: self.title.as_str().to_owned(),
            description: self.description.clone(),
            responsible: self.responsible.clone(),
            schedule_items: self.schedule_items.clone(),
            financing_items: self.financing_items.clone(),
            financing_statement: Some(self.financing_statement),
            outputs: self.outputs.clone(),
        }
    }
}

/// Entries of a cell that the document writes one per line: an entry is one
/// line (they are served joined by line breaks as `schedule` / `financing`).
fn items(field: &str, list: &[String]) -> ValidationResult<Vec<String>> {
    let list = text::list(field, list)?;
    if let Some(i) = list.iter().position(|e| e.contains('\n')) {
        return Err(ValidationError::new(format!("{field}[{i}]"), Rule::OneLine));
    }
    Ok(list)
}

/// The entries of a text written one per line (`schedule`, `financing`).
pub fn lines(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A new activity of `measure_id`, under the activity `parent_id` if given.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityForCreate {
    pub measure_id: i64,
    pub parent_id: Option<i64>,
    pub fields: ActivityFields,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityPatch {
    pub code: Patch<String>,
    pub title: Patch<String>,
    pub description: Patch<String>,
    pub responsible: Patch<Vec<String>>,
    pub schedule_items: Patch<Vec<String>>,
    pub financing_items: Patch<Vec<String>>,
    pub financing_statement: Patch<Statement>,
    pub outputs: Patch<Vec<String>>,
}

impl ActivityPatch {
    /// The fields named in `changed` set as `to` has them.
    pub fn to(to: &ActivityDraft, changed: &[&str]) -> Self {
        let list = |f, v| Patch::pick(changed, f, Some(v));
        Self {
            code: Patch::pick(changed, "code", Some(&to.code)),
            title: Patch::pick(changed, "title", Some(&to.title)),
            description: Patch::pick(changed, "description", to.description.as_ref()),
            responsible: list("responsible", &to.responsible),
            schedule_items: list("schedule_items", &to.schedule_items),
            financing_items: list("financing_items", &to.financing_items),
            financing_statement: Patch::pick(
                changed,
                "financing_statement",
                to.financing_statement.as_ref(),
            ),
            outputs: list("outputs", &to.outputs),
        }
    }

    /// Sets the patched fields in the stored content `d` and validates the
    /// result once, so a patch can mend a stored value a newer rule refuses.
    pub fn apply(self, mut d: ActivityDraft) -> ValidationResult<ActivityFields> {
        self.code.apply_required("code", &mut d.code)?;
        self.title.apply_required("title", &mut d.title)?;
        self.description.apply(&mut d.description);
        self.responsible.apply_list(&mut d.responsible);
        self.schedule_items.apply_list(&mut d.schedule_items);
        // New items without a statement: the statement is read off them again.
        if !matches!(self.financing_items, Patch::Keep) {
            d.financing_statement = None;
        }
        self.financing_items.apply_list(&mut d.financing_items);
        self.financing_statement.apply(&mut d.financing_statement);
        self.outputs.apply_list(&mut d.outputs);
        d.parse()
    }
}
