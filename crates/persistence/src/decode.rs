//! Rows decoded into models by position. sea-orm's derived decoding looks
//! each column up by name, and formats the column's name into an error for
//! every null it meets (an optional column reads as "not a value, but
//! null"): on an uncached list of measures, decoding took a quarter of the
//! service's time, half of it in those lookups and names
//! (`bench/results/decode-2026-12-06.md`). The records a request reads
//! (lists, loaders, the row a write changes, capacities) decode here
//! instead, through the engine's driver ([`row::cell`]), with the same
//! types and checks; bulk reads (seeds, imports, exports, search documents)
//! keep sea-orm's decoding.

use crate::dialect::row;
use sea_orm::{DbErr, FromQueryResult, QueryResult};

/// A model read from a row whose columns are the table's, in declared order
/// (as `Entity::find` and [`crate::read::Stored::readable`] select them).
pub(crate) trait Decode: Sized {
    /// The model from the row's next cells.
    fn take(cells: &mut Cells) -> Result<Self, DbErr>;

    fn decode(row: &QueryResult) -> Result<Self, DbErr> {
        Self::take(&mut Cells::new(row))
    }
}

/// A row's cells, taken in turn.
pub(crate) struct Cells<'a> {
    row: &'a QueryResult,
    next: usize,
}

impl<'a> Cells<'a> {
    pub(crate) fn new(row: &'a QueryResult) -> Self {
        Self { row, next: 0 }
    }

    /// The next cell, which must be column `name`, as the driver decodes
    /// it: a select in another order fails rather than fill one field with
    /// another's value.
    pub(crate) fn take<T: row::Cell>(&mut self, name: &str) -> Result<T, DbErr> {
        let i = self.next;
        self.next += 1;
        row::cell(self.row, i, name)
    }

    /// Passes over the next `n` cells.
    pub(crate) fn skip(&mut self, n: usize) {
        self.next += n;
    }

    /// The whole row (for a model decoded by name).
    pub(crate) fn row(&self) -> &QueryResult {
        self.row
    }

    /// Whether the next cell, column `name`, is null (a left join's missing
    /// row), without taking it.
    pub(crate) fn next_is_null(&self, name: &str) -> Result<bool, DbErr> {
        Ok(row::cell::<Option<i64>>(self.row, self.next, name)?.is_none())
    }
}

/// A model as a selector's result: `select.into_model::<Decoded<_>>()`.
pub(crate) struct Decoded<M>(pub M);

impl<M: Decode> FromQueryResult for Decoded<M> {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        M::decode(row).map(Decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::Decoded;
    use crate::entity::plan;
    use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect, Set};

    #[tokio::test]
    async fn a_row_reads_by_position_as_it_reads_by_name() {
        let (db, id) = crate::stored::tests::plan_in_klatovy().await;
        let c = db.conn();
        // Set optional values of each type beside the ones left null.
        plan::ActiveModel {
            id: Set(id),
            mission: Set(Some("Poslání".into())),
            approved_on: Set(chrono::NaiveDate::from_ymd_opt(2024, 12, 9)),
            source_line: Set(Some(12)),
            ..Default::default()
        }
        .update(c)
        .await
        .expect("update");
        let by_name = plan::Entity::find_by_id(id).one(c).await.expect("read");
        let by_position = plan::Entity::find_by_id(id)
            .into_model::<Decoded<plan::Model>>()
            .one(c)
            .await
            .expect("read")
            .map(|d| d.0);
        assert!(
            by_name
                .as_ref()
                .is_some_and(|p| p.mission.is_some() && p.vision.is_none())
        );
        assert_eq!(by_position, by_name);
    }

    #[tokio::test]
    async fn a_select_in_another_order_fails_to_decode() {
        let (db, id) = crate::stored::tests::plan_in_klatovy().await;
        let err = plan::Entity::find_by_id(id)
            .select_only()
            .column(plan::Column::Title)
            .column(plan::Column::Id)
            .into_model::<Decoded<plan::Model>>()
            .one(db.conn())
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains(r#"column 0 is Some("title"), not "id""#)),
            "{err:?}"
        );
    }
}
