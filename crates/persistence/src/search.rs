//! Czech full-text search over every text a user sees. Each record has one
//! `search_entry`: its title, the texts it shows, and their terms as
//! [`kpss_domain::analysis`] makes them (folded, stemmed). The databases'
//! own full-text indexes match those terms and rank (PostgreSQL: `tsvector`
//! with GIN and `ts_rank`, title weighted `A`; SQLite: FTS5 with `bm25`,
//! title weighted 10); both see the same terms and the same boolean query,
//! so they find the same records. Snippets and highlights are made here,
//! for the page of hits only.

use crate::columns::read_list;
use crate::entity::{capacity, plan, provider, search_entry};
use crate::page::{Connection, Page};
use crate::read::Stored;
use crate::scoped::Scoped;
use crate::{BoxFuture, Error, ForTable, Result, scope, with_table};
use kpss_domain::EntityKind;
use kpss_domain::access::Grant;
use kpss_domain::analysis::{self, QueryTerm};
use kpss_domain::region::RegionCode;
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, TransactionTrait,
};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub kind: EntityKind,
    pub id: i64,
    pub region: RegionCode,
    pub title: String,
    /// An excerpt of the field that matched best.
    pub snippet: String,
    /// Where the matched words stand in `snippet` (Unicode scalar values, end exclusive).
    pub highlights: Vec<(usize, usize)>,
    pub archived: bool,
    /// The plan, measure or provider the record belongs to (or is).
    pub plan_id: Option<i64>,
    pub measure_id: Option<i64>,
    pub provider_id: Option<i64>,
}

/// What to search and among which records.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub kinds: Option<Vec<EntityKind>>,
    pub regions: Option<Grant>,
    pub include_archived: bool,
}

/// Characters of context a snippet shows.
const SNIPPET_WIDTH: usize = 160;

// ---------------------------------------------------------------- documents

/// What a record shows to search.
pub(crate) struct Doc {
    kind: EntityKind,
    id: i64,
    region: String,
    archived: bool,
    pub(crate) plan_id: Option<i64>,
    pub(crate) measure_id: Option<i64>,
    pub(crate) provider_id: Option<i64>,
    title: String,
    fields: Vec<String>,
}

impl Doc {
    pub(crate) fn new(
        kind: EntityKind,
        id: i64,
        region: String,
        archived: bool,
        title: String,
    ) -> Self {
        Doc {
            kind,
            id,
            region,
            archived,
            plan_id: None,
            measure_id: None,
            provider_id: None,
            title,
            fields: Vec::new(),
        }
    }

    /// Adds the stated texts.
    pub(crate) fn with(mut self, texts: impl IntoIterator<Item = Option<String>>) -> Self {
        self.fields
            .extend(texts.into_iter().flatten().filter(|t| !t.is_empty()));
        self
    }

    pub(crate) fn lists(self, lists: &[&str]) -> Result<Self> {
        let mut texts = Vec::new();
        for l in lists {
            texts.extend(read_list(l)?.into_iter().map(Some));
        }
        Ok(self.with(texts))
    }
}

/// Capacity texts of the measures or services `ids` (`owner` names which).
pub(crate) async fn capacity_texts(
    c: &impl ConnectionTrait,
    owner: capacity::Column,
    ids: Vec<i64>,
) -> Result<HashMap<i64, Vec<Option<String>>>> {
    let rows = capacity::Entity::find()
        .filter(owner.is_in(ids))
        .order_by_asc(capacity::Column::Position)
        .all(c)
        .await?;
    let mut by_owner: HashMap<i64, Vec<Option<String>>> = HashMap::new();
    for r in rows {
        let id = match owner {
            capacity::Column::MeasureId => r.measure_id,
            _ => r.service_id,
        };
        if let Some(id) = id {
            by_owner.entry(id).or_default().push(r.text);
        }
    }
    Ok(by_owner)
}

/// A kind whose records have search entries: its rows as documents, reading
/// what they need of other tables in one statement per table. Each
/// aggregate's module implements it.
pub(crate) trait Searchable: EntityTrait {
    /// The kind of its search entries.
    const ENTRY_KIND: EntityKind;
    /// The kind of the records whose entries show something of one of these
    /// (a plan's projects and a measure's evaluations take its archive flag
    /// and code), and the column that names it in them and in their entries.
    const DEPENDENTS: Option<(EntityKind, &'static str)> = None;

    /// `rows` as documents.
    fn docs_of<C: ConnectionTrait>(
        c: &C,
        rows: Vec<Self::Model>,
    ) -> impl Future<Output = Result<Vec<Doc>>> + Send;

    /// The records meeting `cond` (on its own table) as documents.
    fn docs<C: ConnectionTrait>(
        c: &C,
        cond: Condition,
    ) -> impl Future<Output = Result<Vec<Doc>>> + Send {
        async move { Self::docs_of(c, Self::find().filter(cond).all(c).await?).await }
    }
}

/// The records of `kind` meeting `cond`, as documents.
async fn docs(c: &impl ConnectionTrait, kind: EntityKind, cond: Condition) -> Result<Vec<Doc>> {
    struct Docs<'a, C>(&'a C, Condition);
    impl<'a, C: ConnectionTrait> ForTable for Docs<'a, C> {
        type Out = BoxFuture<'a, Result<Vec<Doc>>>;
        fn table<E: Searchable + Stored>(self) -> Self::Out {
            Box::pin(E::docs(self.0, self.1))
        }
    }
    with_table(kind, Docs(c, cond)).await
}

/// Writes `docs`, each over its record's entry where there is one.
async fn insert(c: &impl ConnectionTrait, docs: Vec<Doc>) -> Result<()> {
    for chunk in docs.chunks(100) {
        c.execute(&upsert(chunk)?).await?;
    }
    Ok(())
}

/// The statement that writes `docs`, each over its record's entry where
/// there is one (one entry per record: `ux_search_entry_record`).
pub(crate) fn upsert(docs: &[Doc]) -> Result<InsertStatement> {
    use search_entry::Column as C;
    let over_the_old = OnConflict::columns([C::Kind, C::EntityId])
        .update_columns([
            C::RegionCode,
            C::PlanId,
            C::MeasureId,
            C::ProviderId,
            C::Archived,
            C::Title,
            C::Fields,
            C::TitleTerms,
            C::BodyTerms,
        ])
        .to_owned();
    let rows = docs
        .iter()
        .map(|d| {
            let body = d
                .fields
                .iter()
                .map(|f| analysis::terms(f))
                .collect::<Vec<_>>();
            Ok(search_entry::ActiveModel {
                region_code: Set(d.region.clone()),
                kind: Set(d.kind.hit_name().to_owned()),
                entity_id: Set(d.id),
                plan_id: Set(d.plan_id),
                measure_id: Set(d.measure_id),
                provider_id: Set(d.provider_id),
                archived: Set(d.archived),
                title: Set(d.title.clone()),
                fields: Set(crate::columns::write_list(&d.fields)?),
                title_terms: Set(analysis::terms(&d.title)),
                body_terms: Set(body.join(" ")),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(search_entry::Entity::insert_many(rows)
        .on_conflict(over_the_old)
        .into_query())
}

/// Replaces the entries of `kind` that `stale` picks with `docs`.
async fn replace(
    c: &impl ConnectionTrait,
    kind: EntityKind,
    stale: Condition,
    docs: Vec<Doc>,
) -> Result<()> {
    search_entry::Entity::delete_many()
        .filter(search_entry::Column::Kind.eq(kind.hit_name()))
        .filter(stale)
        .exec(c)
        .await?;
    insert(c, docs).await
}

/// The statement that writes the entry of the record whose row is `row`
/// as a change leaves it (or whose document is `doc`, where the caller has
/// it); the caller runs it with the change's audit entry (`events::record`).
pub(crate) async fn own_entry<E: Searchable>(
    c: &impl ConnectionTrait,
    row: E::Model,
    doc: Option<Doc>,
) -> Result<InsertStatement> {
    let own = match doc {
        Some(doc) => vec![doc],
        None => E::docs_of(c, vec![row]).await?,
    };
    upsert(&own)
}

/// Rewrites the search entries of the records whose entries show
/// something of the changed record `id` (a plan's projects and a
/// measure's evaluations take its archive flag and code), all together: a
/// plan's projects are rewritten whole. Runs after the record's change.
pub(crate) async fn rewrite_dependents<E: Searchable>(
    c: &impl ConnectionTrait,
    id: i64,
) -> Result<()> {
    let Some((kind, parent)) = E::DEPENDENTS else {
        return Ok(());
    };
    // The same column names the parent in the records and in their entries.
    let of = || Condition::all().add(Expr::col(parent).eq(id));
    replace(c, kind, of(), docs(c, kind, of()).await?).await
}

/// Rebuilds the search entries of a region from its records (after an import).
pub(crate) async fn reindex_region(c: &impl ConnectionTrait, region: &str) -> Result<()> {
    search_entry::Entity::delete_many()
        .filter(search_entry::Column::RegionCode.eq(region))
        .exec(c)
        .await?;
    for kind in EntityKind::ALL {
        let in_region = Condition::all().add(Expr::col("region_code").eq(region));
        insert(c, docs(c, *kind, in_region).await?).await?;
    }
    Ok(())
}

/// Builds every region's entries when there are none (a database migrated
/// from an older schema); run by the owner after migrating.
pub(crate) async fn rebuild_when_empty(conn: &DatabaseConnection) -> Result<()> {
    if search_entry::Entity::find().one(conn).await?.is_some() {
        return Ok(());
    }
    let regions: Vec<String> = plan::Entity::find()
        .select_only()
        .column(plan::Column::RegionCode)
        .distinct()
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .chain(
            provider::Entity::find()
                .select_only()
                .column(provider::Column::RegionCode)
                .distinct()
                .into_tuple::<String>()
                .all(conn)
                .await?,
        )
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if regions.is_empty() {
        return Ok(());
    }
    let txn = conn.begin().await?;
    for r in &regions {
        reindex_region(&txn, r).await?;
        crate::version::bump(&txn, r).await?;
    }
    txn.commit().await?;
    tracing::info!(regions = regions.len(), "search entries rebuilt");
    Ok(())
}

// ---------------------------------------------------------------- queries

/// Hits for `q` among readable records, best first: `page.after` is the
/// number of hits already seen.
pub async fn search(s: &Scoped, q: &SearchQuery, page: Page) -> Result<Connection<Hit>> {
    let terms = analysis::query(&q.text);
    if terms.is_empty() {
        return Ok(Connection {
            nodes: Vec::new(),
            has_next_page: false,
            total_count: 0,
        });
    }
    if terms.len() > analysis::MAX_TERMS {
        return Err(Error::invalid(
            "text",
            format!("at most {} words are searched", analysis::MAX_TERMS),
        ));
    }
    let (found, rank) = matching(s, q, &terms);
    let c = s.reader().await?;
    let total_count = if page.count {
        found.clone().count(&c).await?
    } else {
        0
    };
    let rows = found
        .order_by(rank, sea_orm::Order::Asc)
        .order_by_asc(search_entry::Column::Id)
        .offset(page.after.map_or(0, |a| u64::try_from(a).unwrap_or(0)))
        .limit(page.first + 1)
        .all(&c)
        .await?;
    let has_next_page = rows.len() as u64 > page.first;
    let nodes = rows
        .into_iter()
        .take(page.first as usize)
        .map(|r| hit(r, &terms))
        .collect::<Result<_>>()?;
    Ok(Connection {
        nodes,
        has_next_page,
        total_count,
    })
}

/// The readable entries of `q` that match `terms`, and their rank (best first, ascending).
pub(crate) fn matching(
    s: &Scoped,
    q: &SearchQuery,
    terms: &[QueryTerm],
) -> (Select<search_entry::Entity>, SimpleExpr) {
    let grants: Vec<&Grant> = std::iter::once(&s.ctx().read).chain(&q.regions).collect();
    let mut cond = Condition::all();
    for g in &grants {
        cond = cond.add(scope::condition(g, search_entry::Column::RegionCode));
    }
    if let Some(kinds) = &q.kinds {
        cond = cond.add(search_entry::Column::Kind.is_in(kinds.iter().map(|k| k.hit_name())));
    }
    if !q.include_archived {
        cond = cond.add(search_entry::Column::Archived.eq(false));
    }
    let found = search_entry::Entity::find().filter(cond);
    s.db().dialect().full_text(found, terms, &grants)
}

/// A hit with the snippet of its best-matching field (the title on a tie).
fn hit(r: search_entry::Model, terms: &[QueryTerm]) -> Result<Hit> {
    let fields = read_list(&r.fields)?;
    let best = std::iter::once(&r.title)
        .chain(&fields)
        .map(|f| (analysis::matched(f, terms), f))
        .fold(None, |best: Option<(usize, &String)>, (n, f)| match best {
            Some((m, _)) if m >= n => best,
            _ => Some((n, f)),
        })
        .map_or(r.title.as_str(), |(_, f)| f.as_str());
    let snip = analysis::snippet(best, terms, SNIPPET_WIDTH);
    Ok(Hit {
        kind: EntityKind::from_hit_name(&r.kind)
            .ok_or_else(|| Error::Data(format!("`{}` is not a kind of search hit", r.kind)))?,
        id: r.entity_id,
        region: RegionCode::parse("region", &r.region_code)?,
        snippet: snip.text,
        highlights: snip.highlights,
        archived: r.archived,
        plan_id: r.plan_id,
        measure_id: r.measure_id,
        provider_id: r.provider_id,
        title: r.title,
    })
}
