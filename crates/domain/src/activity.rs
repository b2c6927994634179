//! Activities of a measure (and sub-activities): the commands that create and change one.

use crate::error::ValidationResult;
use crate::patch::Patch;
use crate::text::{self, MAX_TEXT};
use crate::value::{Code, Title};

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityFields {
    pub code: Code,
    pub title: Title,
    pub description: Option<String>,
    pub responsible: Vec<String>,
    pub schedule: Option<String>,
    pub financing: Option<String>,
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityDraft {
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub responsible: Vec<String>,
    pub schedule: Option<String>,
    pub financing: Option<String>,
    pub outputs: Vec<String>,
}

impl ActivityDraft {
    pub fn parse(self) -> ValidationResult<ActivityFields> {
        Ok(ActivityFields {
            code: Code::parse("code", &self.code)?,
            title: Title::parse("title", &self.title)?,
            description: text::optional("description", self.description.as_deref(), MAX_TEXT)?,
            responsible: text::list("responsible", &self.responsible)?,
            schedule: text::optional("schedule", self.schedule.as_deref(), MAX_TEXT)?,
            financing: text::optional("financing", self.financing.as_deref(), MAX_TEXT)?,
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
            schedule: self.schedule.clone(),
            financing: self.financing.clone(),
            outputs: self.outputs.clone(),
        }
    }
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
    pub schedule: Patch<String>,
    pub financing: Patch<String>,
    pub outputs: Patch<Vec<String>>,
}

impl ActivityPatch {
    pub fn apply(self, current: &ActivityFields) -> ValidationResult<ActivityFields> {
        let mut d = current.draft();
        self.code.apply_required("code", &mut d.code)?;
        self.title.apply_required("title", &mut d.title)?;
        self.description.apply(&mut d.description);
        self.responsible.apply_list(&mut d.responsible);
        self.schedule.apply(&mut d.schedule);
        self.financing.apply(&mut d.financing);
        self.outputs.apply_list(&mut d.outputs);
        d.parse()
    }
}
