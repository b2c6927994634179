//! Provenance of imported records.

use async_graphql::Object;

/// Where an imported record comes from: lines of its source document.
pub struct SourceRef(pub kpss_domain::source::SourceRef);

#[Object]
impl SourceRef {
    /// File name of the source document (the data set ships it in `seeds/sources/`).
    async fn document(&self) -> &str {
        &self.0.document
    }

    /// First line (1-based) of the lines the record comes from.
    async fn first_line(&self) -> i32 {
        i32::try_from(self.0.first_line).unwrap_or(i32::MAX)
    }

    async fn last_line(&self) -> i32 {
        i32::try_from(self.0.last_line).unwrap_or(i32::MAX)
    }

    /// Those lines as plain text (NFC, markup removed).
    async fn text(&self) -> &str {
        &self.0.text
    }

    /// The part of `text` that states this record (a table row, a list item, a sentence).
    async fn excerpt(&self) -> &str {
        &self.0.excerpt
    }
}

/// The `source` field of a record: null for one created through the API.
pub(super) fn source(s: &Option<kpss_domain::source::SourceRef>) -> Option<SourceRef> {
    s.clone().map(SourceRef)
}
