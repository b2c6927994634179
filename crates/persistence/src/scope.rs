//! The tenant filter every query carries.

use kpss_domain::access::Grant;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition};

/// `region_code` in the granted regions (or in a region of a granted kraj).
/// An empty grant matches nothing.
pub fn condition(grant: &Grant, region_code: impl ColumnTrait) -> Condition {
    if grant.all {
        return Condition::all();
    }
    if grant.regions.is_empty() && grant.kraje.is_empty() {
        return Condition::all().add(Expr::val(1).eq(Expr::val(0)));
    }
    // Only the terms that can match: a constant term in the `OR` would keep
    // SQLite from using the region index and scan the table.
    let mut any = Condition::any();
    if !grant.regions.is_empty() {
        any = any.add(region_code.is_in(grant.regions.iter().map(|r| r.as_str().to_owned())));
    }
    if !grant.kraje.is_empty() {
        any = any.add(region_code.in_subquery(kraj_regions(grant)));
    }
    any
}

fn kraj_regions(grant: &Grant) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column("code")
        .from("region")
        .and_where(Expr::col("kraj_code").is_in(grant.kraje.iter().map(|k| k.as_str().to_owned())))
        .to_owned()
}
