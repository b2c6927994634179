//! Provenance of imported records.

use super::common::loader;
use crate::error::{Result, coded};
use async_graphql::dataloader::Loader;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Context, Object};
use kpss_domain::EntityKind;
use kpss_domain::source::Provenance;
use kpss_persistence::provenance;
use std::collections::HashMap;

/// The fields that show where a record comes from, on any type.
const PROVENANCE_FIELDS: [&str; 4] = ["source", "sources", "reading", "sourceDocument"];

/// Whether any selection of `doc` (of any operation or fragment) asks where
/// a record comes from; when none does, its reads leave the provenance unread.
pub fn asks_for_provenance(doc: &ExecutableDocument) -> bool {
    fn asks(set: &SelectionSet) -> bool {
        set.items.iter().any(|s| match &s.node {
            Selection::Field(f) => {
                PROVENANCE_FIELDS.contains(&f.node.name.node.as_str())
                    || asks(&f.node.selection_set.node)
            }
            Selection::InlineFragment(i) => asks(&i.node.selection_set.node),
            // Every fragment's own selection is looked at below.
            Selection::FragmentSpread(_) => false,
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| asks(&op.node.selection_set.node))
        || doc
            .fragments
            .values()
            .any(|f| asks(&f.node.selection_set.node))
}

/// Where an imported record comes from: lines of its source document.
pub struct SourceRef {
    source: kpss_domain::source::SourceRef,
    /// The record whose source lines are read when asked for; none when
    /// they were read with it (a capacity, read whole with its owner).
    of: Option<SourceOf>,
}

/// The source lines of a record: read only when a query asks for them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceOf(pub EntityKind, pub i64);

impl Loader<SourceOf> for super::loaders::Loaders {
    type Value = String;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[SourceOf]) -> Result<HashMap<SourceOf, String>> {
        let mut ids: HashMap<EntityKind, Vec<i64>> = HashMap::new();
        for k in keys {
            ids.entry(k.0).or_default().push(k.1);
        }
        let mut texts = HashMap::new();
        for (kind, ids) in ids {
            let found = provenance::texts(&self.scoped, kind, &ids)
                .await
                .map_err(coded)?;
            texts.extend(found.into_iter().map(|(id, t)| (SourceOf(kind, id), t)));
        }
        Ok(texts)
    }
}

#[Object]
impl SourceRef {
    /// File name of the source document (the data set ships it in `seeds/sources/`).
    async fn document(&self) -> &str {
        &self.source.document
    }

    /// First line (1-based) of the lines the record comes from.
    async fn first_line(&self) -> i32 {
        i32::try_from(self.source.first_line).unwrap_or(i32::MAX)
    }

    async fn last_line(&self) -> i32 {
        i32::try_from(self.source.last_line).unwrap_or(i32::MAX)
    }

    /// Those lines as plain text (NFC, markup removed).
    async fn text(&self, ctx: &Context<'_>) -> Result<String> {
        match self.of {
            Some(of) => Ok(loader(ctx).load_one(of).await?.unwrap_or_default()),
            None => Ok(self.source.text.clone()),
        }
    }

    /// The part of `text` that states this record (a table row, a list item, a sentence).
    async fn excerpt(&self) -> &str {
        &self.source.excerpt
    }

    /// The record's fields (as the seed format names them) these lines state;
    /// empty for the record's main range, which states the rest.
    async fn fields(&self) -> &[String] {
        &self.source.fields
    }
}

fn range(source: &kpss_domain::source::SourceRef, of: Option<SourceOf>) -> SourceRef {
    SourceRef {
        source: source.clone(),
        of,
    }
}

/// The `source` field of record `id` of `kind`: its main range, its text
/// read when asked for; null for one created through the API.
pub(super) fn source(p: &Option<Provenance>, kind: EntityKind, id: i64) -> Option<SourceRef> {
    p.as_ref().map(|p| range(&p.main, Some(SourceOf(kind, id))))
}

/// The `sources` field: every range, the main one first (`of` as for
/// `source`; the further ranges are read with the record).
pub(super) fn sources(p: &Option<Provenance>, of: Option<SourceOf>) -> Vec<SourceRef> {
    p.iter()
        .flat_map(|p| {
            std::iter::once(range(&p.main, of)).chain(p.more.iter().map(|r| range(r, None)))
        })
        .collect()
}

/// The `reading` field: how an ambiguous layout was read, where it was.
pub(super) fn reading(p: &Option<Provenance>) -> Option<&str> {
    p.as_ref()?.reading.as_deref()
}

/// The `source` field of a record read with its source lines.
pub(super) fn source_read(p: &Option<Provenance>) -> Option<SourceRef> {
    p.as_ref().map(|p| range(&p.main, None))
}

#[cfg(test)]
mod tests {
    /// A field that shows provenance but is not named would read as none.
    #[test]
    fn every_field_of_a_source_type_is_a_provenance_field() {
        let sdl = crate::sdl();
        for line in sdl.lines().map(str::trim) {
            if let Some((name, ty)) = line.split_once(": ")
                && ty.trim_start_matches('[').starts_with("SourceRef")
            {
                assert!(super::PROVENANCE_FIELDS.contains(&name), "{line}");
            }
        }
        assert!(sdl.contains("\treading: String\n"));
    }
}
