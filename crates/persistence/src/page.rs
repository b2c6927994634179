//! Pages of a list with cursors, in id order or by a sort key.

use crate::decode::{Decode, Decoded};
use crate::scoped::Scoped;
use crate::{Result, scope};
use kpss_domain::access::{Ctx, Grant};
use kpss_domain::text::fold;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};

/// `first` records after the record with id `after`, in id order; the
/// total is counted only when `count` asks for it (a statement of its own).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub first: u64,
    pub after: Option<i64>,
    pub count: bool,
}

#[derive(Debug, Clone)]
pub struct Connection<T> {
    pub nodes: Vec<T>,
    pub has_next_page: bool,
    /// 0 when the page did not ask for it.
    pub total_count: u64,
}

/// One page of `query` (already filtered and scoped) plus the total count,
/// in id order, or ordered by `key` (then id): the cursor stays the last id,
/// and the page continues after that record's key.
pub(crate) async fn page<E, T>(
    s: &Scoped,
    query: Select<E>,
    key: Option<E::Column>,
    id: E::Column,
    page: Page,
    map: fn(E::Model) -> Result<T>,
) -> Result<Connection<T>>
where
    E: EntityTrait,
    E::Model: Decode + Send + Sync,
{
    let c = s.reader().await?;
    let total_count = if page.count {
        // COUNT(id) over the filtered rows, not over a sub-select of every column.
        let n: Option<i64> = query
            .clone()
            .select_only()
            .column_as(id.count(), "n")
            .into_tuple()
            .one(&c)
            .await?;
        u64::try_from(n.unwrap_or(0)).unwrap_or(0)
    } else {
        0
    };
    let mut q = query.clone();
    if let Some(k) = key {
        q = q.order_by_asc(k);
    }
    q = q.order_by_asc(id);
    if let Some(after) = page.after {
        q = match key {
            None => q.filter(id.gt(after)),
            Some(k) => {
                // The key of the cursor's record, looked up within the
                // caller's query (its scope): a cursor of a record the
                // caller cannot read finds no key, and continues nowhere.
                let after_key = || {
                    let sub = query
                        .clone()
                        .select_only()
                        .column(k)
                        .filter(id.eq(after))
                        .into_query();
                    Expr::SubQuery(None, Box::new(sub.into()))
                };
                q.filter(
                    Condition::any().add(k.into_expr().gt(after_key())).add(
                        Condition::all()
                            .add(k.into_expr().eq(after_key()))
                            .add(id.gt(after)),
                    ),
                )
            }
        };
    }
    let mut rows = q
        .limit(page.first + 1)
        .into_model::<Decoded<E::Model>>()
        .all(&c)
        .await?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok(Connection {
        nodes: rows.into_iter().map(|r| map(r.0)).collect::<Result<_>>()?,
        has_next_page,
        total_count,
    })
}

/// The caller's read scope, narrowed by a filter's regions/kraje when one is given.
pub(crate) fn scoped(
    ctx: &Ctx,
    filter: Option<&Grant>,
    region: impl ColumnTrait + Copy,
) -> Condition {
    let c = Condition::all().add(scope::condition(&ctx.read, region));
    match filter {
        Some(g) => c.add(scope::condition(g, region)),
        None => c,
    }
}

/// `column` contains `text`, ignoring case and diacritics (the column holds folded text).
pub(crate) fn contains(column: impl ColumnTrait, text: &str) -> sea_orm::sea_query::SimpleExpr {
    // No stored text holds a NUL (PostgreSQL cannot), so such a pattern matches
    // nothing; sent to PostgreSQL it would fail the request's read transaction.
    if text.contains('\0') {
        return Expr::val(1).eq(0);
    }
    let escaped = fold(text)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::col(column).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}
