//! Search over the visible records.

use super::*;
use kpss_persistence::search;

pub struct SearchHit(pub kpss_persistence::search::Hit);

#[Object]
impl SearchHit {
    async fn kind(&self) -> enums::SearchHitKind {
        self.0.kind.into()
    }

    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// A short excerpt around the match.
    async fn snippet(&self) -> &str {
        &self.0.snippet
    }
}

#[derive(Default)]
pub struct SearchQueries;

#[Object]
impl SearchQueries {
    /// Diacritics- and case-insensitive full-text search over plans, priorities, measures, activities and providers.
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        regions: Option<Vec<String>>,
        first: Option<i32>,
    ) -> Result<Vec<SearchHit>> {
        let p = page(ctx, "search", first, None)?;
        if text.chars().count() > kpss_domain::text::MAX_TITLE {
            return Err(bad("text", "the search text is too long"));
        }
        listed("regions", regions.as_deref())?;
        let scope = regions::filter(scoped(ctx), regions.as_deref(), None, "regions")
            .await
            .map_err(coded)?;
        let hits = search::search(scoped(ctx), &text, scope.as_ref(), p.first)
            .await
            .map_err(coded)?;
        Ok(hits.into_iter().map(SearchHit).collect())
    }
}
