//! Diacritics- and case-insensitive search over plans, priorities, measures,
//! activities and providers. Each record has one `search_entry` with its
//! folded text; a query's folded words must all occur (LIKE, served by a
//! trigram index on PostgreSQL); title hits rank first.

use crate::entity::{activity, measure, plan, priority, provider, search_entry};
use crate::{Db, Result, scope};
use kpss_domain::access::{Ctx, Grant};
use kpss_domain::region::RegionCode;
use kpss_domain::text::{fold, snippet, terms};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plan,
    Priority,
    Measure,
    Activity,
    Provider,
}

kpss_domain::enum_str!(Kind { Plan = "PLAN", Priority = "PRIORITY", Measure = "MEASURE", Activity = "ACTIVITY", Provider = "PROVIDER" });

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub kind: Kind,
    pub id: i64,
    pub region: RegionCode,
    pub title: String,
    pub snippet: String,
}

/// Characters of context a snippet shows.
const SNIPPET_WIDTH: usize = 160;

/// Rebuilds the search entries of a region from its current records.
pub(crate) async fn reindex_region(c: &impl ConnectionTrait, region: &str) -> Result<()> {
    search_entry::Entity::delete_many()
        .filter(search_entry::Column::RegionCode.eq(region))
        .exec(c)
        .await?;
    let mut entries: Vec<(Kind, i64, String, Vec<Option<String>>)> = Vec::new();
    for p in plan::Entity::find()
        .filter(plan::Column::RegionCode.eq(region))
        .filter(plan::Column::Archived.eq(false))
        .all(c)
        .await?
    {
        entries.push((Kind::Plan, p.id, p.title, vec![p.prepared_by, p.approval]));
    }
    for p in priority::Entity::find()
        .filter(priority::Column::RegionCode.eq(region))
        .filter(priority::Column::Archived.eq(false))
        .all(c)
        .await?
    {
        entries.push((
            Kind::Priority,
            p.id,
            format!("{} {}", p.code, p.title),
            vec![p.description, p.group_name],
        ));
    }
    for m in measure::Entity::find()
        .filter(measure::Column::RegionCode.eq(region))
        .filter(measure::Column::Archived.eq(false))
        .all(c)
        .await?
    {
        entries.push((
            Kind::Measure,
            m.id,
            format!("{} {}", m.code, m.title),
            vec![m.rationale, m.description, m.output],
        ));
    }
    for a in activity::Entity::find()
        .filter(activity::Column::RegionCode.eq(region))
        .filter(activity::Column::Archived.eq(false))
        .all(c)
        .await?
    {
        entries.push((
            Kind::Activity,
            a.id,
            format!("{} {}", a.code, a.title),
            vec![a.description],
        ));
    }
    for p in provider::Entity::find()
        .filter(provider::Column::RegionCode.eq(region))
        .filter(provider::Column::Archived.eq(false))
        .all(c)
        .await?
    {
        entries.push((Kind::Provider, p.id, p.name, vec![]));
    }
    for chunk in entries.chunks(200) {
        let rows = chunk.iter().map(|(kind, id, title, body)| {
            let body = body
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n\n");
            search_entry::ActiveModel {
                region_code: Set(region.to_owned()),
                kind: Set(kind.as_str().to_owned()),
                entity_id: Set(*id),
                fold_title: Set(fold(title)),
                fold: Set(fold(&format!("{title}\n{body}"))),
                title: Set(title.clone()),
                body: Set(body),
                ..Default::default()
            }
        });
        search_entry::Entity::insert_many(rows).exec(c).await?;
    }
    Ok(())
}

fn like(col: search_entry::Column, term: &str) -> sea_orm::sea_query::SimpleExpr {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::col((search_entry::Entity, col)).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// Hits for `text` among readable records (narrowed to `regions`), best first.
pub async fn search(
    db: &Db,
    ctx: &Ctx,
    text: &str,
    regions: Option<&Grant>,
    first: u64,
) -> Result<Vec<Hit>> {
    let terms = terms(text);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut cond = Condition::all().add(scope::condition(
        &ctx.read,
        search_entry::Column::RegionCode,
    ));
    if let Some(g) = regions {
        cond = cond.add(scope::condition(g, search_entry::Column::RegionCode));
    }
    let mut in_title = Condition::all();
    for t in &terms {
        cond = cond.add(like(search_entry::Column::Fold, t));
        in_title = in_title.add(like(search_entry::Column::FoldTitle, t));
    }
    // Rank: every word in the title first, then shorter (more specific) entries.
    let title_rank = Expr::case(in_title, 0).finally(1);
    let rows = search_entry::Entity::find()
        .filter(cond)
        .order_by(Expr::Case(Box::new(title_rank)), sea_orm::Order::Asc)
        .order_by(Expr::cust("LENGTH(fold)"), sea_orm::Order::Asc)
        .order_by_asc(search_entry::Column::Id)
        .limit(first)
        .all(&db.conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            let source = if terms.iter().all(|t| r.fold_title.contains(t.as_str())) {
                &r.title
            } else {
                &r.body
            };
            Ok(Hit {
                kind: crate::export::parse(&r.kind)?,
                id: r.entity_id,
                region: RegionCode::parse("region", &r.region_code)?,
                snippet: snippet(source, &terms, SNIPPET_WIDTH),
                title: r.title,
            })
        })
        .collect()
}
