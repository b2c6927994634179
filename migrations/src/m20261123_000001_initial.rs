use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_initial"
    }
}

/// Columns every editable record has: its tenant, optimistic-concurrency
/// version, archive flag (nothing is deleted) and last change.
fn editable(mut table: TableCreateStatement, name: &'static str) -> TableCreateStatement {
    table
        .col(string("region_code"))
        .col(integer("version").default(1))
        .col(boolean("archived").default(false))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(
            ForeignKey::create()
                .from(name, "region_code")
                .to("region", "code"),
        );
    table
}

fn fk(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, "id")
        .to_owned()
}

fn index(table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("ix_{table}_{}", cols.join("_")))
        .table(table);
    for c in cols {
        i.col(*c);
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("kraj")
                .col(string("code").primary_key())
                .col(string("name"))
                .col(string("name_key"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("region")
                .col(string("code").primary_key())
                .col(string("name"))
                .col(string("name_key"))
                .col(string("kind"))
                .col(string("kraj_code"))
                .foreign_key(
                    ForeignKey::create()
                        .from("region", "kraj_code")
                        .to("kraj", "code"),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            editable(
                Table::create()
                    .table("plan")
                    .col(big_pk_auto("id"))
                    .to_owned(),
                "plan",
            )
            .col(text("title"))
            .col(string("kind"))
            .col(integer("period_start"))
            .col(integer("period_end"))
            .col(big_integer_null("parent_id"))
            .col(text_null("prepared_by"))
            .col(text_null("approval"))
            .col(date_null("approved_on"))
            .col(string_null("source_document"))
            .col(integer_null("source_line"))
            .col(string_null("seed_key"))
            .foreign_key(&mut fk("plan", "parent_id", "plan"))
            .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("plan_project")
                .col(big_pk_auto("id"))
                .col(big_integer("plan_id"))
                .col(string("region_code"))
                .col(integer("position"))
                .col(text("title"))
                .col(text_null("implementer"))
                .col(text_null("due"))
                .col(integer_null("due_year"))
                .col(integer_null("source_line"))
                .foreign_key(&mut fk("plan_project", "plan_id", "plan"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            editable(
                Table::create()
                    .table("priority")
                    .col(big_pk_auto("id"))
                    .to_owned(),
                "priority",
            )
            .col(big_integer("plan_id"))
            .col(integer("position"))
            .col(string("code"))
            .col(text("title"))
            .col(text_null("description"))
            .col(text_null("group_name"))
            .col(integer_null("source_line"))
            .foreign_key(&mut fk("priority", "plan_id", "plan"))
            .to_owned(),
        )
        .await?;
        m.create_table(
            editable(
                Table::create()
                    .table("measure")
                    .col(big_pk_auto("id"))
                    .to_owned(),
                "measure",
            )
            .col(big_integer("plan_id"))
            .col(big_integer("priority_id"))
            .col(big_integer_null("parent_id"))
            .col(integer("position"))
            .col(string("code"))
            .col(text("title"))
            .col(text_null("rationale"))
            .col(text_null("description"))
            .col(text("target_groups"))
            .col(text_null("term"))
            .col(integer_null("term_start_year"))
            .col(integer_null("term_end_year"))
            .col(text("responsible"))
            .col(text_null("output"))
            .col(double_null("cost_amount_czk"))
            .col(text_null("cost_per"))
            .col(text_null("cost_text"))
            .col(text("funding_sources"))
            .col(text("risks"))
            .col(text("planned_activities"))
            .col(integer_null("source_line"))
            .foreign_key(&mut fk("measure", "plan_id", "plan"))
            .foreign_key(&mut fk("measure", "priority_id", "priority"))
            .foreign_key(&mut fk("measure", "parent_id", "measure"))
            .to_owned(),
        )
        .await?;
        m.create_table(
            editable(
                Table::create()
                    .table("activity")
                    .col(big_pk_auto("id"))
                    .to_owned(),
                "activity",
            )
            .col(big_integer("measure_id"))
            .col(big_integer_null("parent_id"))
            .col(integer("position"))
            .col(string("code"))
            .col(text("title"))
            .col(text_null("description"))
            .col(text("responsible"))
            .col(text_null("schedule"))
            .col(text_null("financing"))
            .col(text("outputs"))
            .col(integer_null("source_line"))
            .foreign_key(&mut fk("activity", "measure_id", "measure"))
            .foreign_key(&mut fk("activity", "parent_id", "activity"))
            .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("evaluation")
                .col(big_pk_auto("id"))
                .col(big_integer("measure_id"))
                .col(string("region_code"))
                .col(integer("year"))
                .col(string("status"))
                .col(text_null("comment"))
                .col(integer_null("source_line"))
                .col(timestamp_with_time_zone("recorded_at"))
                .col(string("recorded_by"))
                .foreign_key(&mut fk("evaluation", "measure_id", "measure"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            editable(
                Table::create()
                    .table("provider")
                    .col(big_pk_auto("id"))
                    .to_owned(),
                "provider",
            )
            .col(text("name"))
            .col(text("name_key"))
            .col(string_null("ico"))
            .col(integer_null("source_line"))
            .to_owned(),
        )
        .await?;
        m.create_table(
            editable(
                Table::create()
                    .table("service")
                    .col(big_pk_auto("id"))
                    .to_owned(),
                "service",
            )
            .col(big_integer("provider_id"))
            .col(string("service_type"))
            .col(text_null("name"))
            .col(text_null("scope"))
            .col(integer_null("source_line"))
            .foreign_key(&mut fk("service", "provider_id", "provider"))
            .to_owned(),
        )
        .await?;
        // A capacity belongs to a service (existing) or to a measure (planned).
        m.create_table(
            Table::create()
                .table("capacity")
                .col(big_pk_auto("id"))
                .col(string("region_code"))
                .col(big_integer_null("service_id"))
                .col(big_integer_null("measure_id"))
                .col(integer("position"))
                .col(string_null("form"))
                .col(integer("value"))
                .col(string("unit"))
                .col(text_null("text"))
                .check(Expr::cust("(service_id IS NULL) <> (measure_id IS NULL)"))
                .check(Expr::cust("value >= 0"))
                .foreign_key(&mut fk("capacity", "service_id", "service"))
                .foreign_key(&mut fk("capacity", "measure_id", "measure"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_entry")
                .col(big_pk_auto("id"))
                .col(timestamp_with_time_zone("at"))
                .col(string("actor"))
                .col(string("region_code"))
                .col(string("entity"))
                .col(big_integer("entity_id"))
                .col(string("action"))
                .col(text_null("before"))
                .col(text_null("after"))
                .foreign_key(
                    ForeignKey::create()
                        .from("audit_entry", "region_code")
                        .to("region", "code"),
                )
                .to_owned(),
        )
        .await?;
        // What `kpss seed` last imported per region, so a second run changes nothing.
        m.create_table(
            Table::create()
                .table("seed_import")
                .col(string("region_code").primary_key())
                .col(string("digest"))
                .col(timestamp_with_time_zone("imported_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("seed_import", "region_code")
                        .to("region", "code"),
                )
                .to_owned(),
        )
        .await?;

        let indexes = [
            index("region", &["kraj_code"]),
            index("plan", &["region_code", "archived"]),
            index("plan", &["parent_id"]),
            index("plan_project", &["plan_id"]),
            index("priority", &["plan_id"]),
            index("measure", &["priority_id"]),
            index("measure", &["plan_id"]),
            index("measure", &["parent_id"]),
            index("measure", &["region_code"]),
            index("activity", &["measure_id"]),
            index("activity", &["parent_id"]),
            index("evaluation", &["measure_id", "year"])
                .unique()
                .to_owned(),
            index("evaluation", &["region_code"]),
            index("provider", &["region_code", "name_key"]),
            index("service", &["provider_id"]),
            index("service", &["region_code", "service_type"]),
            index("service", &["service_type"]),
            index("capacity", &["service_id"]),
            index("capacity", &["measure_id"]),
            index("audit_entry", &["region_code", "at"]),
            index("audit_entry", &["entity", "entity_id"]),
        ];
        for i in indexes {
            m.create_index(i).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "seed_import",
            "audit_entry",
            "capacity",
            "service",
            "provider",
            "evaluation",
            "activity",
            "measure",
            "priority",
            "plan_project",
            "plan",
            "region",
            "kraj",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
