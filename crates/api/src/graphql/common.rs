//! What every aggregate's resolvers share: the request's data (caller,
//! scoped handle, loaders), argument parsing and the mapping of errors.

use super::loaders::{Batcher, Loaders};
use super::records::Records;
use crate::error::ApiError;
use crate::error::{Result, coded};
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, MaybeUndefined};
use kpss_domain::ValidationError;
use kpss_domain::access::Ctx;
use kpss_domain::patch::Patch;
use kpss_domain::region::RegionCode;
use kpss_persistence::{Db, Scoped, region as regions};
use std::sync::Arc;

pub(super) fn caller<'a>(ctx: &'a Context<'_>) -> &'a Ctx {
    // The HTTP layer attaches a Ctx to every request before executing it.
    ctx.data_unchecked::<Ctx>()
}

pub(super) fn db<'a>(ctx: &'a Context<'_>) -> &'a Db {
    ctx.data_unchecked::<Db>()
}

pub(super) fn scoped<'a>(ctx: &'a Context<'_>) -> &'a Scoped {
    // Attached with the caller's Ctx by `request_data`.
    ctx.data_unchecked::<Scoped>()
}

pub(super) fn loader<'a>(ctx: &'a Context<'_>) -> &'a Batcher {
    ctx.data_unchecked::<Arc<Batcher>>()
}

/// A relation every readable record has (its plan, its measure, its
/// region): absent only through a bug, which the client sees as INTERNAL.
pub(super) async fn related<K>(ctx: &Context<'_>, key: K) -> Result<<Loaders as Loader<K>>::Value>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Error = async_graphql::Error>,
{
    loader(ctx)
        .load_one(key)
        .await?
        .ok_or_else(|| coded(ApiError::Internal))
}

/// A relation a record may lack (a sub-measure's measure, a group's
/// region): none when it has none.
pub(super) async fn maybe_related<K>(
    ctx: &Context<'_>,
    key: Option<K>,
) -> Result<Option<<Loaders as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Error = async_graphql::Error>,
{
    match key {
        Some(k) => loader(ctx).load_one(k).await,
        None => Ok(None),
    }
}

/// The records under a parent (its measures, its services, ...): none when
/// the parent has none.
pub(super) async fn children<K, V>(ctx: &Context<'_>, key: K) -> Result<Records<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Value = Vec<V>, Error = async_graphql::Error>,
    V: Send + Sync + Clone + 'static,
{
    Ok(Records(
        loader(ctx).load_one(key).await?.unwrap_or_default(),
    ))
}

pub(super) fn bad(field: &str, message: impl Into<String>) -> async_graphql::Error {
    coded(ApiError::BadUserInput {
        field: field.into(),
        message: message.into(),
    })
}

/// An id argument: our ids are decimal integers.
pub(super) fn id(field: &str, id: &ID) -> Result<i64> {
    id.parse::<i64>()
        .map_err(|_| bad(field, format!("`{}` is not an id", id.as_str())))
}

/// Most codes a filter may list: every region of the country fits, and
/// each code costs a lookup.
pub(super) const MAX_LISTED_CODES: usize = 1_000;

pub(super) fn listed(field: &str, codes: Option<&[String]>) -> Result<()> {
    match codes {
        Some(c) if c.len() > MAX_LISTED_CODES => Err(bad(
            field,
            format!("at most {MAX_LISTED_CODES} codes may be listed"),
        )),
        _ => Ok(()),
    }
}

pub(super) async fn grant(
    ctx: &Context<'_>,
    regions: Option<&[String]>,
    kraje: Option<&[String]>,
) -> Result<Option<kpss_domain::access::Grant>> {
    listed("filter.regions", regions)?;
    listed("filter.kraje", kraje)?;
    regions::filter(scoped(ctx), regions, kraje, "filter")
        .await
        .map_err(coded)
}

/// A domain error in an input, under the argument it came in (`input`, `patch`).
pub(super) fn invalid(e: ValidationError, under: &str) -> async_graphql::Error {
    coded(e.under(under))
}

/// A patch field: absent keeps the value, null clears it, a value sets it.
pub(super) fn patch<T>(m: MaybeUndefined<T>) -> Patch<T> {
    match m {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

pub(super) fn optional_id(field: &str, v: Option<&ID>) -> Result<Option<i64>> {
    v.map(|i| id(field, i)).transpose()
}

pub(super) fn region_code(field: &str, code: &str) -> Result<RegionCode> {
    RegionCode::parse(field, code).map_err(coded)
}

pub(super) fn list(v: Option<Vec<String>>) -> Vec<String> {
    v.unwrap_or_default()
}

/// A kind whose records change by patch and are archived (and restored),
/// each change made from the version the client read. [`update`] and
/// [`archive`] are the one way to write those resolvers.
pub(super) trait Versioned: Sized {
    type Patch: Sync;
    fn update(
        s: &Scoped,
        id: i64,
        expected: i32,
        patch: &Self::Patch,
    ) -> impl Future<Output = kpss_persistence::Result<Self>> + Send;
    fn set_archived(
        s: &Scoped,
        id: i64,
        expected: i32,
        archived: bool,
    ) -> impl Future<Output = kpss_persistence::Result<Self>> + Send;
}

/// `Versioned` for a GraphQL type wrapping the record of a persistence module.
macro_rules! versioned {
    ($wrapper:ident, $module:ident, $patch:ty) => {
        impl super::common::Versioned for $wrapper {
            type Patch = $patch;
            async fn update(
                s: &kpss_persistence::Scoped,
                id: i64,
                expected: i32,
                patch: &$patch,
            ) -> kpss_persistence::Result<Self> {
                $module::update(s, id, expected, patch).await.map(Self)
            }
            async fn set_archived(
                s: &kpss_persistence::Scoped,
                id: i64,
                expected: i32,
                archived: bool,
            ) -> kpss_persistence::Result<Self> {
                $module::set_archived(s, id, expected, archived)
                    .await
                    .map(Self)
            }
        }
    };
}

pub(super) async fn update<T: Versioned>(
    ctx: &Context<'_>,
    record: &ID,
    expected: i32,
    patch: T::Patch,
) -> Result<T> {
    let record = id("id", record)?;
    T::update(scoped(ctx), record, expected, &patch)
        .await
        .map_err(coded)
}

/// Archives (`true`) or restores (`false`) a record.
pub(super) async fn archive<T: Versioned>(
    ctx: &Context<'_>,
    record: &ID,
    expected: i32,
    archived: bool,
) -> Result<T> {
    let record = id("id", record)?;
    T::set_archived(scoped(ctx), record, expected, archived)
        .await
        .map_err(coded)
}

/// Of a list's record `fields` (snake case), those its `nodes` do not select:
/// the reader need not read them.
pub(super) fn unshown(
    ctx: &Context<'_>,
    fields: impl Iterator<Item = &'static str>,
) -> Vec<&'static str> {
    let nodes = ctx.look_ahead().field("nodes");
    fields
        .filter(|f| !nodes.field(&camel_case(f)).exists())
        .collect()
}

/// A record field's name as the schema spells it (`target_groups` -> `targetGroups`).
fn camel_case(snake: &str) -> String {
    let mut parts = snake.split('_');
    let first = parts.next().unwrap_or_default().to_owned();
    parts.fold(first, |mut out, p| {
        let mut chars = p.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    /// A field a list may leave unread must be named as the schema names
    /// it: one misspelt would never be selected, so never read.
    #[test]
    fn the_unreadable_fields_are_fields_of_the_schema() {
        let sdl = crate::sdl();
        let measure = sdl
            .split("\ntype Measure {")
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .expect("type Measure");
        for field in kpss_persistence::measure::unreadable_fields() {
            let name = camel_case(field);
            assert!(
                measure.contains(&format!("\n\t{name}:"))
                    || measure.contains(&format!("\n\t{name}(")),
                "Measure has no field `{name}`"
            );
        }
        assert_eq!(camel_case("expected_cost"), "expectedCost");
        assert_eq!(camel_case("risks"), "risks");
    }
}
