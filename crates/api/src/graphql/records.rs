//! Lists of records, resolved with less work where that changes no batch.
//!
//! async-graphql resolves the fields of each object concurrently, with a
//! task of a `FuturesUnordered` per field, and the records of a list the
//! same way: 13 % of the service's CPU on an uncached list of 33 measures.
//! Only a field that waits for a batch needs that, and each such field here
//! returns records (it has a selection of its own). So where the selection
//! asks for at most one field with a selection of its own, each record's
//! fields are resolved in order: every field before that one answers at
//! once, so it is reached in the same step as concurrently, with the same
//! batches and statements. Where it asks for none, nothing waits, and the
//! records go one after another. Any other selection, or one with
//! fragments, takes the library's way. (The schema installs no extension,
//! whose hooks the cheaper ways would skip.)

use async_graphql::parser::types::{Field, Selection};
use async_graphql::resolver_utils::{ContainerType, resolve_container_serial, resolve_list};
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value, registry};
use futures_util::future::try_join_all;
use std::borrow::Cow;

/// A list field's records: `[T!]!` in the schema, like `Vec<T>`.
pub struct Records<T>(pub Vec<T>);

impl<T> FromIterator<T> for Records<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<T: OutputType + ContainerType> OutputType for Records<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut registry::Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let nested = match nested_fields(ctx) {
            Some(n @ 0..=1) => n,
            _ => return resolve_list(ctx, field, &self.0, Some(self.0.len())).await,
        };
        let records = self.0.iter().enumerate().map(|(i, record)| async move {
            let ctx = ctx.with_index(i);
            resolve_container_serial(&ctx, record)
                .await
                .map_err(|e| ctx.set_error_path(e))
        });
        if nested == 1 {
            return Ok(Value::List(try_join_all(records).await?));
        }
        // Every record is resolved before an error is returned, as concurrently.
        let mut answers = Vec::with_capacity(self.0.len());
        for record in records {
            answers.push(record.await);
        }
        Ok(Value::List(
            answers.into_iter().collect::<ServerResult<_>>()?,
        ))
    }
}

/// How many fields of each record's selection have a selection of their
/// own; none when it has fragments.
fn nested_fields(ctx: &ContextSelectionSet<'_>) -> Option<usize> {
    let mut nested = 0;
    for selection in &ctx.item.node.items {
        match &selection.node {
            Selection::Field(f) if f.node.selection_set.node.items.is_empty() => {}
            Selection::Field(_) => nested += 1,
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => return None,
        }
    }
    Some(nested)
}
