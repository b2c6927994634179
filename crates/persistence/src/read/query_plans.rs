//! How SQLite finds the rows of the reads whose cost must not grow with the
//! number of regions: it has no statistics, so an index that a condition
//! names but that matches most of the table would be taken as readily as a
//! selective one.

use crate::Db;
use crate::entity::{activity, measure};
use crate::scope::condition;
use kpss_domain::access::Grant;
use kpss_domain::region::{KrajCode, RegionCode};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    Select, Statement,
};

async fn migrated() -> Db {
    let db = Db::connect("sqlite::memory:").await.expect("connect");
    db.migrate().await.expect("migrate");
    db
}

/// SQLite's plan for `select`, its steps joined by "; ".
async fn plan_of<E: EntityTrait>(db: &Db, select: Select<E>) -> String {
    let backend = db.conn().get_database_backend();
    let query = select.build(backend);
    let explain = Statement::from_sql_and_values(
        backend,
        format!("EXPLAIN QUERY PLAN {}", query.sql),
        query.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = db.conn().query_all_raw(explain).await.expect("explain");
    let steps: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "detail").expect("detail"))
        .collect();
    steps.join("; ")
}

#[tokio::test]
async fn a_region_scope_searches_the_region_index() {
    let db = migrated().await;
    let region = RegionCode::parse("region", "klatovy").expect("a region");
    let kraj = KrajCode::parse("kraj", "CZ032").expect("a kraj");
    let grants = [
        Grant {
            regions: [region.clone()].into(),
            ..Grant::default()
        },
        Grant {
            kraje: [kraj.clone()].into(),
            ..Grant::default()
        },
        Grant {
            regions: [region].into(),
            kraje: [kraj].into(),
            all: false,
        },
    ];
    for grant in &grants {
        let select = measure::Entity::find()
            .select_only()
            .column(measure::Column::Id)
            .filter(condition(grant, measure::Column::RegionCode));
        let plan = plan_of(&db, select).await;
        assert!(
            plan.contains("INDEX ix_measure_region_code") && !plan.contains("SCAN measure"),
            "{grant:?}: {plan}"
        );
    }
}

/// Current top-level rows of two owners, as `measure::of_priorities` and
/// `activity::of_measures` ask for them.
fn top_level_of(
    parent: impl ColumnTrait,
    archived: impl ColumnTrait,
    owner: impl ColumnTrait,
) -> Condition {
    Condition::all()
        .add(parent.is_null())
        .add(archived.eq(false))
        .add(owner.is_in([1, 2]))
}

#[tokio::test]
async fn top_level_rows_are_found_by_their_owner_not_by_having_no_parent() {
    use activity::Column as A;
    use measure::Column as M;
    let db = migrated().await;
    let measures =
        measure::Entity::find().filter(top_level_of(M::ParentId, M::Archived, M::PriorityId));
    let plan = plan_of(&db, measures).await;
    assert!(plan.contains("INDEX ix_measure_priority_id"), "{plan}");
    let activities =
        activity::Entity::find().filter(top_level_of(A::ParentId, A::Archived, A::MeasureId));
    let plan = plan_of(&db, activities).await;
    assert!(plan.contains("INDEX ix_activity_measure_id"), "{plan}");
    // Children still take the parent index.
    let children = measure::Entity::find().filter(M::ParentId.is_in([1, 2]));
    let plan = plan_of(&db, children).await;
    assert!(plan.contains("INDEX ix_measure_parent_id"), "{plan}");
}
