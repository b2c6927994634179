//! Diacritics- and case-insensitive search over plans, priorities, measures,
//! activities and providers. Each record has one `search_entry` with its
//! folded text; a query's folded words must all occur (LIKE, served by a
//! trigram index on PostgreSQL); title hits rank first.

use crate::entity::{activity, measure, plan, priority, provider, search_entry};
use crate::scoped::Scoped;
use crate::{Result, scope};
use kpss_domain::access::Grant;
use kpss_domain::kind::EntityKind;
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

/// What a record shows to search: its title and body texts.
struct Doc {
    kind: Kind,
    id: i64,
    region: String,
    title: String,
    body: Vec<Option<String>>,
}

fn plan_doc(p: plan::Model) -> Doc {
    Doc {
        kind: Kind::Plan,
        id: p.id,
        region: p.region_code,
        title: p.title,
        body: vec![p.prepared_by, p.approval],
    }
}

fn priority_doc(p: priority::Model) -> Doc {
    Doc {
        kind: Kind::Priority,
        id: p.id,
        region: p.region_code,
        title: format!("{} {}", p.code, p.title),
        body: vec![p.description, p.group_name],
    }
}

fn measure_doc(m: measure::Model) -> Doc {
    Doc {
        kind: Kind::Measure,
        id: m.id,
        region: m.region_code,
        title: format!("{} {}", m.code, m.title),
        body: vec![m.rationale, m.description, m.output],
    }
}

fn activity_doc(a: activity::Model) -> Doc {
    Doc {
        kind: Kind::Activity,
        id: a.id,
        region: a.region_code,
        title: format!("{} {}", a.code, a.title),
        body: vec![a.description],
    }
}

fn provider_doc(p: provider::Model) -> Doc {
    Doc {
        kind: Kind::Provider,
        id: p.id,
        region: p.region_code,
        title: p.name,
        body: vec![],
    }
}

/// The search kind of an entity kind, for the kinds search covers.
fn kind_of(k: EntityKind) -> Option<Kind> {
    match k {
        EntityKind::Plan => Some(Kind::Plan),
        EntityKind::Priority => Some(Kind::Priority),
        EntityKind::Measure => Some(Kind::Measure),
        EntityKind::Activity => Some(Kind::Activity),
        EntityKind::Provider => Some(Kind::Provider),
        EntityKind::Evaluation | EntityKind::Service => None,
    }
}

/// The current (not archived) records of `kind` meeting `cond`, as search documents.
async fn docs(c: &impl ConnectionTrait, kind: Kind, cond: Condition) -> Result<Vec<Doc>> {
    macro_rules! current {
        ($m:ident, $doc:ident) => {
            $m::Entity::find()
                .filter(cond.add($m::Column::Archived.eq(false)))
                .all(c)
                .await?
                .into_iter()
                .map($doc)
                .collect()
        };
    }
    Ok(match kind {
        Kind::Plan => current!(plan, plan_doc),
        Kind::Priority => current!(priority, priority_doc),
        Kind::Measure => current!(measure, measure_doc),
        Kind::Activity => current!(activity, activity_doc),
        Kind::Provider => current!(provider, provider_doc),
    })
}

async fn insert(c: &impl ConnectionTrait, docs: Vec<Doc>) -> Result<()> {
    for chunk in docs.chunks(200) {
        let rows = chunk.iter().map(|d| {
            let body = d
                .body
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n\n");
            search_entry::ActiveModel {
                region_code: Set(d.region.clone()),
                kind: Set(d.kind.as_str().to_owned()),
                entity_id: Set(d.id),
                fold_title: Set(fold(&d.title)),
                fold: Set(fold(&format!("{}\n{body}", d.title))),
                title: Set(d.title.clone()),
                body: Set(body),
                ..Default::default()
            }
        });
        search_entry::Entity::insert_many(rows).exec(c).await?;
    }
    Ok(())
}

/// Replaces the search entry of one record (none once it is archived).
pub(crate) async fn index(c: &impl ConnectionTrait, entity: EntityKind, id: i64) -> Result<()> {
    let Some(kind) = kind_of(entity) else {
        return Ok(());
    };
    search_entry::Entity::delete_many()
        .filter(search_entry::Column::Kind.eq(kind.as_str()))
        .filter(search_entry::Column::EntityId.eq(id))
        .exec(c)
        .await?;
    let by_id = Condition::all().add(Expr::col("id").eq(id));
    insert(c, docs(c, kind, by_id).await?).await
}

/// Rebuilds the search entries of a region from its current records (after an import).
pub(crate) async fn reindex_region(c: &impl ConnectionTrait, region: &str) -> Result<()> {
    search_entry::Entity::delete_many()
        .filter(search_entry::Column::RegionCode.eq(region))
        .exec(c)
        .await?;
    for kind in Kind::ALL {
        let in_region = Condition::all().add(Expr::col("region_code").eq(region));
        insert(c, docs(c, *kind, in_region).await?).await?;
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
    s: &Scoped,
    text: &str,
    regions: Option<&Grant>,
    first: u64,
) -> Result<Vec<Hit>> {
    let terms = terms(text);
    // No stored text holds a NUL (see `page::contains`).
    if terms.is_empty() || text.contains('\0') {
        return Ok(Vec::new());
    }
    let mut cond = Condition::all().add(scope::condition(
        &s.ctx().read,
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
        .all(&s.reader().await?)
        .await?;
    rows.into_iter()
        .map(|r| {
            let source = if terms.iter().all(|t| r.fold_title.contains(t.as_str())) {
                &r.title
            } else {
                &r.body
            };
            Ok(Hit {
                kind: crate::columns::parse(&r.kind)?,
                id: r.entity_id,
                region: RegionCode::parse("region", &r.region_code)?,
                snippet: snippet(source, &terms, SNIPPET_WIDTH),
                title: r.title,
            })
        })
        .collect()
}
