use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// What the documents state that had no home: the further line ranges of a
/// record and how an ambiguous layout was read (every sourced table); a
/// plan's own document title and its notes about itself; a measure's title
/// as an overview prints it; an activity's statement about its financing
/// ("žádné"); a capacity that is a lower bound ("minimálně 50 lůžek").
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000012_fidelity"
    }
}

const SOURCED: [&str; 9] = [
    "plan",
    "plan_project",
    "priority",
    "measure",
    "activity",
    "evaluation",
    "provider",
    "service",
    "capacity",
];

fn columns(pg: bool) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut out = Vec::new();
    for t in SOURCED {
        out.push((t, "source_more", "TEXT"));
        out.push((t, "reading", "TEXT"));
    }
    out.push(("plan", "document_title", "TEXT"));
    out.push(("plan", "notes", "TEXT NOT NULL DEFAULT '[]'"));
    out.push(("measure", "alternative_title", "TEXT"));
    out.push((
        "activity",
        "financing_statement",
        "TEXT NOT NULL DEFAULT 'NOT_STATED'",
    ));
    out.push((
        "capacity",
        "at_least",
        if pg {
            "boolean NOT NULL DEFAULT false"
        } else {
            "INTEGER NOT NULL DEFAULT 0"
        },
    ));
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let c = m.get_connection();
        let pg = m.get_database_backend() == DbBackend::Postgres;
        for (table, column, ty) in columns(pg) {
            c.execute_unprepared(&format!(
                r#"ALTER TABLE "{table}" ADD COLUMN {column} {ty}"#
            ))
            .await?;
        }
        // Rows from before: an activity with financing items states them.
        c.execute_unprepared(
            "UPDATE activity SET financing_statement = 'STATED' \
             WHERE financing IS NOT NULL AND financing <> ''",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let c = m.get_connection();
        let pg = m.get_database_backend() == DbBackend::Postgres;
        for (table, column, _) in columns(pg).into_iter().rev() {
            c.execute_unprepared(&format!(r#"ALTER TABLE "{table}" DROP COLUMN {column}"#))
                .await?;
        }
        Ok(())
    }
}
