//! Search over the visible records.

use super::common::{bad, grant, listed, loader, scoped};
use super::nodes::{Measure, MeasureById, Plan, PlanById, Provider, ProviderById};
use super::page::{PageInfo, cursor, page, total};
use super::records::Records;
use super::region::{Region, region_of};
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use kpss_persistence::region as regions;
use kpss_persistence::search::{self, SearchQuery};

pub struct SearchHit(pub search::Hit);

/// A matched word in a snippet: `start` and `end` count Unicode scalar
/// values (JavaScript: `Array.from(snippet)`), end exclusive.
#[derive(SimpleObject)]
pub struct Highlight {
    start: i32,
    end: i32,
}

#[Object]
impl SearchHit {
    async fn kind(&self) -> enums::SearchHitKind {
        enums::SearchHitKind(self.0.kind)
    }

    /// The record's id among records of its kind.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// A short excerpt of the field that matched, around the match.
    async fn snippet(&self) -> &str {
        &self.0.snippet
    }

    /// Where the matched words stand in `snippet`.
    async fn highlights(&self) -> Vec<Highlight> {
        let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        self.0
            .highlights
            .iter()
            .map(|&(start, end)| Highlight {
                start: n(start),
                end: n(end),
            })
            .collect()
    }

    /// Whether the record is archived (found only with `includeArchived`).
    async fn archived(&self) -> bool {
        self.0.archived
    }

    /// The plan the record is or belongs to (plans, projects, priorities, measures, evaluations).
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        let Some(id) = self.0.plan_id else {
            return Ok(None);
        };
        loader(ctx).load_one(PlanById(id)).await
    }

    /// The measure the record is or belongs to (measures, activities, evaluations).
    async fn measure(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        let Some(id) = self.0.measure_id else {
            return Ok(None);
        };
        loader(ctx).load_one(MeasureById(id)).await
    }

    /// The provider the record is or belongs to (providers, services).
    async fn provider(&self, ctx: &Context<'_>) -> Result<Option<Provider>> {
        let Some(id) = self.0.provider_id else {
            return Ok(None);
        };
        loader(ctx).load_one(ProviderById(id)).await
    }
}

#[derive(SimpleObject)]
pub struct SearchHitConnection {
    pub nodes: Vec<SearchHit>,
    pub page_info: PageInfo,
    pub total_count: i32,
}

#[derive(InputObject, Default)]
pub struct SearchFilter {
    kinds: Option<Vec<enums::SearchHitKind>>,
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    include_archived: Option<bool>,
}

/// The connection's name in its cursors, which carry the number of hits seen.
const CURSOR: &str = "searchHits";

fn checked(text: &str) -> Result<()> {
    if text.chars().count() > kpss_domain::text::MAX_TITLE {
        return Err(bad("text", "the search text is too long"));
    }
    Ok(())
}

#[derive(Default)]
pub struct SearchQueries;

#[Object]
impl SearchQueries {
    /// Czech full-text search over every text of plans, projects, priorities, measures, activities, evaluations, providers and services: case, diacritics and inflection do not matter, the last word matches as a prefix, "…" is a phrase; best first.
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        regions: Option<Vec<String>>,
        first: Option<i32>,
    ) -> Result<Records<SearchHit>> {
        let p = page(ctx, "search", first, None)?;
        checked(&text)?;
        listed("regions", regions.as_deref())?;
        let scope = regions::filter(scoped(ctx), regions.as_deref(), None, "regions")
            .await
            .map_err(coded)?;
        let q = SearchQuery {
            text,
            regions: scope,
            ..Default::default()
        };
        let hits = search::search(scoped(ctx), &q, p).await.map_err(coded)?;
        Ok(hits.nodes.into_iter().map(SearchHit).collect())
    }

    /// The same search, filtered and paged, with the number of hits.
    async fn search_hits(
        &self,
        ctx: &Context<'_>,
        text: String,
        filter: Option<SearchFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SearchHitConnection> {
        let p = page(ctx, CURSOR, first, after)?;
        checked(&text)?;
        let f = filter.unwrap_or_default();
        let q = SearchQuery {
            text,
            kinds: f.kinds.map(|k| k.into_iter().map(|k| k.0).collect()),
            regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
            include_archived: f.include_archived.unwrap_or(false),
        };
        let c = search::search(scoped(ctx), &q, p).await.map_err(coded)?;
        let seen = p.after.unwrap_or(0) + c.nodes.len() as i64;
        Ok(SearchHitConnection {
            page_info: PageInfo {
                has_next_page: c.has_next_page,
                end_cursor: (!c.nodes.is_empty()).then(|| cursor(CURSOR, seen)),
            },
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(SearchHit).collect(),
        })
    }
}
