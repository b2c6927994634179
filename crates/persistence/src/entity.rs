//! sea-orm entities, one module per table; private to this crate.
//! Lists (target groups, responsible bodies, ...) are JSON arrays in text columns,
//! which reads the same on SQLite and PostgreSQL.

/// The model of a table whose rows name the lines of the source document
/// that state them: its own columns, then the provenance columns.
macro_rules! sourced_model {
    ($table:literal, { $($(#[$meta:meta])* pub $column:ident: $type:ty,)* }) => {
        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            $($(#[$meta])* pub $column: $type,)*
            pub source_document: Option<String>,
            pub source_line: Option<i32>,
            pub source_last_line: Option<i32>,
            #[sea_orm(column_type = "Text", nullable)]
            pub source_text: Option<String>,
            #[sea_orm(column_type = "Text", nullable)]
            pub source_excerpt: Option<String>,
            /// The further ranges, JSON (`SourceRef`s); none when there is one.
            #[sea_orm(column_type = "Text", nullable)]
            pub source_more: Option<String>,
            #[sea_orm(column_type = "Text", nullable)]
            pub reading: Option<String>,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}

        impl crate::decode::Decode for Model {
            fn take(cells: &mut crate::decode::Cells) -> Result<Self, DbErr> {
                Ok(Self {
                    $($column: cells.take(stringify!($column))?,)*
                    source_document: cells.take("source_document")?,
                    source_line: cells.take("source_line")?,
                    source_last_line: cells.take("source_last_line")?,
                    source_text: cells.take("source_text")?,
                    source_excerpt: cells.take("source_excerpt")?,
                    source_more: cells.take("source_more")?,
                    reading: cells.take("reading")?,
                })
            }
        }
    };
}

pub mod kraj {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "kraj")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub name: String,
        pub name_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod region {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "region")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub name: String,
        pub name_key: String,
        pub kind: String,
        pub kraj_code: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod plan {
    use sea_orm::entity::prelude::*;

    sourced_model!("plan", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub version: i32,
        pub archived: bool,
        pub updated_at: DateTimeUtc,
        #[sea_orm(column_type = "Text")]
        pub title: String,
        pub kind: String,
        pub period_start: i32,
        pub period_end: i32,
        pub parent_id: Option<i64>,
        pub prepared_by: Option<String>,
        pub approval: Option<String>,
        pub approved_on: Option<Date>,
        pub mission: Option<String>,
        pub vision: Option<String>,
        pub implementation: Option<String>,
        pub issued: Option<String>,
        pub issued_on: Option<Date>,
        pub seed_key: Option<String>,
        pub document_title: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub notes: String,
    });
}

pub mod plan_project {
    use sea_orm::entity::prelude::*;

    sourced_model!("plan_project", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub plan_id: i64,
        pub region_code: String,
        pub position: i32,
        #[sea_orm(column_type = "Text")]
        pub title: String,
        pub implementer: Option<String>,
        pub due: Option<String>,
        pub due_year: Option<i32>,
    });
}

pub mod priority {
    use sea_orm::entity::prelude::*;

    sourced_model!("priority", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub version: i32,
        pub archived: bool,
        pub updated_at: DateTimeUtc,
        pub plan_id: i64,
        pub position: i32,
        pub code: String,
        /// The code as lookups compare it ("1. 2" -> "1.2").
        pub code_key: String,
        #[sea_orm(column_type = "Text")]
        pub title: String,
        pub description: Option<String>,
        pub group_name: Option<String>,
    });
}

pub mod measure {
    use sea_orm::entity::prelude::*;

    sourced_model!("measure", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub version: i32,
        pub archived: bool,
        pub updated_at: DateTimeUtc,
        pub plan_id: i64,
        pub priority_id: i64,
        pub parent_id: Option<i64>,
        pub position: i32,
        /// The measure of an earlier plan this one was rolled over from.
        pub carried_from_id: Option<i64>,
        pub code: String,
        /// The code as lookups compare it ("1. 2" -> "1.2").
        pub code_key: String,
        #[sea_orm(column_type = "Text")]
        pub title: String,
        pub rationale: Option<String>,
        pub description: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub target_groups: String,
        pub term: Option<String>,
        pub term_start_year: Option<i32>,
        pub term_end_year: Option<i32>,
        #[sea_orm(column_type = "Text")]
        pub responsible: String,
        pub output: Option<String>,
        pub cost_czk: Option<i64>,
        pub cost_per: Option<String>,
        pub cost_text: Option<String>,
        pub cost_statement: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub funding_sources: String,
        pub funding_statement: String,
        #[sea_orm(column_type = "Text")]
        pub risks: String,
        #[sea_orm(column_type = "Text")]
        pub planned_activities: String,
        pub priority_title: Option<String>,
        pub alternative_title: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub fold_text: String,
        #[sea_orm(column_type = "Text")]
        pub fold_target_groups: String,
    });
}

pub mod activity {
    use sea_orm::entity::prelude::*;

    sourced_model!("activity", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub version: i32,
        pub archived: bool,
        pub updated_at: DateTimeUtc,
        pub measure_id: i64,
        pub parent_id: Option<i64>,
        pub position: i32,
        pub code: String,
        /// The code as lookups compare it ("1. 2" -> "1.2").
        pub code_key: String,
        #[sea_orm(column_type = "Text")]
        pub title: String,
        pub description: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub responsible: String,
        pub schedule: Option<String>,
        pub financing: Option<String>,
        pub financing_statement: String,
        #[sea_orm(column_type = "Text")]
        pub outputs: String,
    });
}

pub mod evaluation {
    use sea_orm::entity::prelude::*;

    sourced_model!("evaluation", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub measure_id: i64,
        pub region_code: String,
        pub year: i32,
        pub status: String,
        pub comment: Option<String>,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
        pub version: i32,
    });
}

pub mod provider {
    use sea_orm::entity::prelude::*;

    sourced_model!("provider", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub version: i32,
        pub archived: bool,
        pub updated_at: DateTimeUtc,
        #[sea_orm(column_type = "Text")]
        pub name: String,
        pub name_key: String,
        pub ico: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub fold_name: String,
    });
}

pub mod service {
    use sea_orm::entity::prelude::*;

    sourced_model!("service", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub version: i32,
        pub archived: bool,
        pub updated_at: DateTimeUtc,
        pub provider_id: i64,
        pub service_type: String,
        pub name: Option<String>,
        pub scope: Option<String>,
    });
}

pub mod capacity {
    use sea_orm::entity::prelude::*;

    sourced_model!("capacity", {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub service_id: Option<i64>,
        pub measure_id: Option<i64>,
        pub position: i32,
        pub form: Option<String>,
        pub value: i32,
        pub unit: String,
        pub text: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub network_shares: String,
        pub at_least: bool,
    });
}

pub mod audit_entry {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_entry")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: DateTimeUtc,
        pub actor: String,
        pub region_code: String,
        pub entity: String,
        pub entity_id: i64,
        pub action: String,
        pub before: Option<String>,
        pub after: Option<String>,
        /// The plan of the change, where it has one (null in entries written
        /// before the log carried it).
        pub plan_id: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    /// Audit entries are read a page at a time, by administrators: sea-orm's own decoding.
    impl crate::decode::Decode for Model {
        fn take(cells: &mut crate::decode::Cells) -> Result<Self, DbErr> {
            <Self as sea_orm::FromQueryResult>::from_query_result(cells.row(), "")
        }
    }
}

pub mod seed_import {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "seed_import")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub region_code: String,
        pub digest: String,
        pub imported_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod search_entry {
    use sea_orm::entity::prelude::*;

    /// One record as search sees it. `fields` is a JSON array of the texts it
    /// shows; `title_terms` and `body_terms` their analysed terms, which the
    /// databases index (PostgreSQL's generated `document`, SQLite's `search_fts`).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "search_entry")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub region_code: String,
        pub kind: String,
        pub entity_id: i64,
        pub plan_id: Option<i64>,
        pub measure_id: Option<i64>,
        pub provider_id: Option<i64>,
        pub archived: bool,
        #[sea_orm(column_type = "Text")]
        pub title: String,
        #[sea_orm(column_type = "Text")]
        pub fields: String,
        #[sea_orm(column_type = "Text")]
        pub title_terms: String,
        #[sea_orm(column_type = "Text")]
        pub body_terms: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod data_version {
    use sea_orm::entity::prelude::*;

    /// One of a region's version counters (see the migration `data_version`).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "data_version")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub region_code: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub shard: i16,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
