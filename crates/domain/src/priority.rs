//! Priorities of a plan: the commands that create and change one.

use crate::error::ValidationResult;
use crate::patch::Patch;
use crate::region::RegionCode;
use crate::source::Provenance;
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use crate::value::{Code, Title};

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

#[derive(Debug, Clone, PartialEq)]
pub struct PriorityFields {
    pub code: Code,
    pub title: Title,
    pub description: Option<String>,
    /// Working group or section the document puts the priority under.
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriorityDraft {
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub group: Option<String>,
}

impl PriorityDraft {
    pub fn parse(self) -> ValidationResult<PriorityFields> {
        Ok(PriorityFields {
            code: Code::parse("code", &self.code)?,
            title: Title::parse("title", &self.title)?,
            description: text::optional("description", self.description.as_deref(), MAX_TEXT)?,
            group: text::optional("group", self.group.as_deref(), MAX_TITLE)?,
        })
    }
}

impl PriorityFields {
    pub fn draft(&self) -> PriorityDraft {
        PriorityDraft {
            code: self.code.as_str().to_owned(),
            title: self.title.as_str().to_owned(),
            description: self.description.clone(),
            group: self.group.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriorityForCreate {
    pub plan_id: i64,
    pub fields: PriorityFields,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriorityPatch {
    pub code: Patch<String>,
    pub title: Patch<String>,
    pub description: Patch<String>,
    pub group: Patch<String>,
}

impl PriorityPatch {
    /// The fields named in `changed` set as `to` has them.
    pub fn to(to: &PriorityDraft, changed: &[&str]) -> Self {
        Self {
            code: Patch::pick(changed, "code", Some(&to.code)),
            title: Patch::pick(changed, "title", Some(&to.title)),
            description: Patch::pick(changed, "description", to.description.as_ref()),
            group: Patch::pick(changed, "group", to.group.as_ref()),
        }
    }

    /// Sets the patched fields in the stored content `d` and validates the
    /// result once, so a patch can mend a stored value a newer rule refuses.
    pub fn apply(self, mut d: PriorityDraft) -> ValidationResult<PriorityFields> {
        self.code.apply_required("code", &mut d.code)?;
        self.title.apply_required("title", &mut d.title)?;
        self.description.apply(&mut d.description);
        self.group.apply(&mut d.group);
        d.parse()
    }
}
