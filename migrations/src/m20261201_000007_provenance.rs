use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Provenance on every imported record (its document, lines, their plain
/// text and the excerpt stating it), the plan facts that had no home, the
/// three states of costs and funding lists, network shares of capacities,
/// and normalised codes for lookups.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000007_provenance"
    }
}

/// Tables whose rows come from a document; `plan` and the others that had a
/// `source_line` gain the rest.
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

fn columns(pg: bool) -> Vec<(&'static str, String, String)> {
    let (int, date) = if pg {
        ("integer", "date")
    } else {
        ("INTEGER", "TEXT")
    };
    let mut out = Vec::new();
    for t in SOURCED {
        if t != "plan" {
            out.push((t, "source_document".into(), "TEXT".into()));
        }
        if t == "capacity" {
            out.push((t, "source_line".into(), int.into()));
        }
        for (c, ty) in [
            ("source_last_line", int),
            ("source_text", "TEXT"),
            ("source_excerpt", "TEXT"),
        ] {
            out.push((t, c.into(), ty.into()));
        }
    }
    for c in ["mission", "vision", "implementation", "issued"] {
        out.push(("plan", c.into(), "TEXT".into()));
    }
    out.push(("plan", "issued_on".into(), date.into()));
    for t in ["priority", "measure", "activity"] {
        out.push((t, "code_key".into(), "TEXT NOT NULL DEFAULT ''".into()));
    }
    out.push((
        "measure",
        "funding_statement".into(),
        "TEXT NOT NULL DEFAULT 'NOT_STATED'".into(),
    ));
    out.push(("measure", "cost_statement".into(), "TEXT".into()));
    out.push(("measure", "priority_title".into(), "TEXT".into()));
    out.push((
        "capacity",
        "network_shares".into(),
        "TEXT NOT NULL DEFAULT '[]'".into(),
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
        // Rows from before: the codes as printed, normalised ("1. 2" -> "1.2");
        // a list with entries states them; a cost with a text states it.
        for sql in [
            "UPDATE priority SET code_key = REPLACE(code, '. ', '.')",
            "UPDATE measure SET code_key = REPLACE(code, '. ', '.')",
            "UPDATE activity SET code_key = REPLACE(code, '. ', '.')",
            "UPDATE measure SET funding_statement = 'STATED' WHERE funding_sources <> '[]'",
            "UPDATE measure SET cost_statement = 'STATED' WHERE cost_text IS NOT NULL",
        ] {
            c.execute_unprepared(sql).await?;
        }
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
