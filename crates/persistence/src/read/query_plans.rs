//! How SQLite finds the rows of the reads whose cost must not grow with the
//! number of regions: it has no statistics, so an index that a condition
//! names but that matches most of the table would be taken as readily as a
//! selective one.

use super::readable_where;
use crate::Db;
use crate::entity::{activity, measure};
use crate::scope::condition;
use crate::search::{SearchQuery, matching};
use kpss_domain::access::{Ctx, Grant, Role};
use kpss_domain::region::{KrajCode, RegionCode};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select,
    Statement,
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

fn klatovy() -> RegionCode {
    RegionCode::parse("region", "klatovy").expect("a region")
}

/// Viewers of every region, of one region and of one kraj.
fn callers() -> [Ctx; 3] {
    let kraj = KrajCode::parse("kraj", "CZ032").expect("a kraj");
    let viewer = |sub: &str, regions, all, kraje| {
        Ctx::from_claims(sub.into(), Role::Viewer, regions, all, kraje)
    };
    [
        viewer("all", [].into(), true, [].into()),
        viewer("one", [klatovy()].into(), false, [].into()),
        viewer("kraj", [].into(), false, [kraj].into()),
    ]
}

#[tokio::test]
async fn a_region_scope_searches_the_region_index() {
    let db = migrated().await;
    let region = klatovy();
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

/// The top-level reads of a plan tree (`measure::of_priorities`,
/// `activity::of_measures`) as `read::children` runs them, for every caller.
#[tokio::test]
async fn top_level_rows_are_not_found_by_having_no_parent() {
    let db = migrated().await;
    for ctx in callers() {
        let s = db.scoped(ctx);
        let by_priority =
            crate::measure::top_level().add(measure::Column::PriorityId.is_in([1, 2]));
        let by_measure =
            crate::activity::top_level().add(activity::Column::MeasureId.is_in([1, 2]));
        let plans = [
            plan_of(&db, readable_where::<measure::Entity>(&s, by_priority)).await,
            plan_of(&db, readable_where::<activity::Entity>(&s, by_measure)).await,
        ];
        for plan in plans {
            assert!(
                !plan.contains("parent_id") && !plan.contains("SCAN"),
                "{plan}"
            );
        }
    }
    // Children still take the parent index.
    let children = measure::Entity::find().filter(measure::Column::ParentId.is_in([1, 2]));
    let plan = plan_of(&db, children).await;
    assert!(plan.contains("INDEX ix_measure_parent_id"), "{plan}");
}

/// A search reads the full-text index first, for any caller: given the
/// region index first, SQLite ran the full-text query once for every entry
/// of the caller's regions.
#[tokio::test]
async fn a_search_starts_from_the_full_text_index() {
    let db = migrated().await;
    let filtered = SearchQuery {
        regions: Some(Grant {
            regions: [klatovy()].into(),
            ..Grant::default()
        }),
        ..SearchQuery::default()
    };
    let terms = kpss_domain::analysis::query("senior");
    for ctx in callers() {
        let s = db.scoped(ctx);
        for q in [&SearchQuery::default(), &filtered] {
            let plan = plan_of(&db, matching(&s, q, &terms).0).await;
            assert!(plan.starts_with("SCAN search_fts VIRTUAL TABLE"), "{plan}");
            assert!(!plan.contains("ix_search_entry_region"), "{plan}");
        }
    }
}
