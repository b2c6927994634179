//! The lines of the source documents that records come from, read on
//! demand: lists and trees read records without them (`Stored::readable`).

use crate::entity::{
    activity, evaluation, measure, plan, plan_project, priority, provider, service,
};
use crate::scoped::Scoped;
use crate::{Result, stored};
use std::collections::HashMap;

/// A kind of record that may come from a source document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sourced {
    Plan,
    Project,
    Priority,
    Measure,
    Activity,
    Evaluation,
    Provider,
    Service,
}

/// The source lines of the readable records of `kind` among `ids`.
pub async fn texts(s: &Scoped, kind: Sourced, ids: &[i64]) -> Result<HashMap<i64, String>> {
    match kind {
        Sourced::Plan => stored::source_texts::<plan::Entity>(s, ids).await,
        Sourced::Project => stored::source_texts::<plan_project::Entity>(s, ids).await,
        Sourced::Priority => stored::source_texts::<priority::Entity>(s, ids).await,
        Sourced::Measure => stored::source_texts::<measure::Entity>(s, ids).await,
        Sourced::Activity => stored::source_texts::<activity::Entity>(s, ids).await,
        Sourced::Evaluation => stored::source_texts::<evaluation::Entity>(s, ids).await,
        Sourced::Provider => stored::source_texts::<provider::Entity>(s, ids).await,
        Sourced::Service => stored::source_texts::<service::Entity>(s, ids).await,
    }
}
