//! The lines of the source documents that records come from, read on
//! demand: lists and trees read records without them (`Stored::readable`).

use crate::entity::{
    activity, evaluation, measure, plan, plan_project, priority, provider, service,
};
use crate::scoped::Scoped;
use crate::search::Kind;
use crate::{Result, stored};
use std::collections::HashMap;

/// The source lines of the readable records of `kind` among `ids`.
pub async fn texts(s: &Scoped, kind: Kind, ids: &[i64]) -> Result<HashMap<i64, String>> {
    match kind {
        Kind::Plan => stored::source_texts::<plan::Entity>(s, ids).await,
        Kind::Project => stored::source_texts::<plan_project::Entity>(s, ids).await,
        Kind::Priority => stored::source_texts::<priority::Entity>(s, ids).await,
        Kind::Measure => stored::source_texts::<measure::Entity>(s, ids).await,
        Kind::Activity => stored::source_texts::<activity::Entity>(s, ids).await,
        Kind::Evaluation => stored::source_texts::<evaluation::Entity>(s, ids).await,
        Kind::Provider => stored::source_texts::<provider::Entity>(s, ids).await,
        Kind::Service => stored::source_texts::<service::Entity>(s, ids).await,
    }
}
