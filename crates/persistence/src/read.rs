//! A table of tenant records and how a caller reads it: in its scope,
//! without the columns it does not show, by id and by parent. An
//! aggregate module implements [`Stored`] for its entity.

use crate::decode::{Decode, Decoded};
use crate::scoped::Scoped;
use crate::{Result, scope};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IdenStatic, IntoActiveModel, Iterable,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use std::collections::HashMap;

/// A table of tenant records and the domain record it reads as.
pub(crate) trait Stored:
    EntityTrait<
        Model: Decode + Send + Sync + IntoActiveModel<Self::ActiveModel>,
        ActiveModel: ActiveModelTrait<Entity = Self> + Default + Send,
        Column: Send + Sync,
    >
{
    type Record: Send;
    const ID: Self::Column;
    const REGION: Self::Column;
    /// Document order among siblings.
    const ORDER: Self::Column;
    fn record(m: Self::Model) -> Result<Self::Record>;

    /// The rows as `s` reads them: without the columns no reader shows
    /// (the folded copies of texts that filters use), that few ask for
    /// and that are large (the source lines, read on demand by
    /// [`source_texts`]), and the provenance when `s` shows none. Those
    /// read as empty text or none, so the model stays whole.
    fn readable(s: &Scoped) -> Select<Self> {
        Self::readable_without(s, &[])
    }

    /// [`Stored::readable`] without the `unread` columns too, which a reader
    /// does not show: an optional text reads as none, a list (JSON text) as
    /// no entries.
    fn readable_without(s: &Scoped, unread: &[Self::Column]) -> Select<Self> {
        let provenance = s.shows_provenance();
        Self::Column::iter().fold(Self::find().select_only(), |q, c| {
            let name = c.as_str();
            if UNREAD.contains(&name) {
                q.column_as(Expr::val(""), name)
            } else if !unread.iter().any(|u| u.as_str() == name)
                && (provenance || !PROVENANCE.contains(&name))
            {
                q.column(c)
            } else if c.def().is_null() {
                q.column_as(Expr::cust("NULL"), name)
            } else {
                q.column_as(Expr::val("[]"), name)
            }
        })
    }
}

/// The columns [`Stored::readable`] leaves out, in whichever table has them.
const UNREAD: [&str; 3] = ["source_text", "fold_text", "fold_target_groups"];

/// The provenance columns but the source lines (all nullable): with the
/// document unread, a record reads as having no provenance.
const PROVENANCE: [&str; 6] = [
    "source_document",
    "source_line",
    "source_last_line",
    "source_excerpt",
    "source_more",
    "reading",
];

/// The source lines of readable records, by id.
pub(crate) async fn source_texts<E: Stored>(
    s: &Scoped,
    ids: &[i64],
) -> Result<HashMap<i64, String>> {
    let c = s.reader().await?;
    let rows: Vec<(i64, Option<String>)> = E::find()
        .select_only()
        .column(E::ID)
        .column_as(Expr::col("source_text"), "source_text")
        .filter(E::ID.is_in(ids.iter().copied()))
        .filter(scope::condition(&s.ctx().read, E::REGION))
        .into_tuple()
        .all(&c)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, text)| Some((id, text?)))
        .collect())
}

/// Records by id, among those the caller may read.
pub(crate) async fn by_ids<E: Stored>(s: &Scoped, ids: &[i64]) -> Result<Vec<E::Record>> {
    select_where::<E>(s, Condition::all().add(E::ID.is_in(ids.iter().copied()))).await
}

/// Readable records whose `parent` column is among `parents` and that meet
/// `extra` (current ones, top-level ones), in document order.
pub(crate) async fn children<E: Stored>(
    s: &Scoped,
    parent: E::Column,
    parents: &[i64],
    extra: Condition,
) -> Result<Vec<E::Record>> {
    select_where::<E>(s, extra.add(parent.is_in(parents.iter().copied()))).await
}

pub(crate) async fn select_where<E: Stored>(s: &Scoped, cond: Condition) -> Result<Vec<E::Record>> {
    let c = s.reader().await?;
    readable_where::<E>(s, cond)
        .into_model::<Decoded<E::Model>>()
        .all(&c)
        .await?
        .into_iter()
        .map(|r| E::record(r.0))
        .collect()
}

/// The rows of `E` that `s` reads and `cond` admits, in document order.
fn readable_where<E: Stored>(s: &Scoped, cond: Condition) -> Select<E> {
    E::readable(s)
        .filter(cond.add(scope::condition(&s.ctx().read, E::REGION)))
        .order_by_asc(E::ORDER)
        .order_by_asc(E::ID)
}

#[cfg(test)]
mod query_plans;
