//! What an aggregate needs to move its records into and out of the seed
//! format. Each aggregate module maps its own kind both ways (`import` takes
//! an [`At`], `export` reads [`Rows`]); `seed.rs` and `export.rs` only read
//! the files and rows and walk the top of the tree.

use crate::entity::{
    activity, capacity, evaluation, measure, plan, plan_project, priority, provider, service,
};
use crate::{Error, Result};
use kpss_domain::seed::CapacityData;
use kpss_domain::service::Capacity;
use kpss_domain::source::{Provenance, ProvenanceData};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use std::collections::BTreeMap;

/// Who the seed's evaluations and archive markers are attributed to.
pub const SEED_ACTOR: &str = "import";

/// The source documents a region file names, by file name.
pub(crate) struct Documents(pub BTreeMap<String, String>);

/// Where an imported record goes: its region, the region's documents, the
/// document of its plan or provider, and the transaction.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub c: &'a DatabaseTransaction,
    pub region: &'a str,
    pub docs: &'a Documents,
    pub document: Option<&'a str>,
}

impl At<'_> {
    /// A record's provenance in its documents; `field` is the record's path in the file.
    pub fn source(&self, data: ProvenanceData, field: &str) -> Result<Option<Provenance>> {
        let content = |doc: &str| self.docs.0.get(doc).map(String::as_str);
        under(data.resolve(self.document, content), field)
    }

    /// The capacities of a record, each with its source.
    pub fn capacities(&self, list: &[CapacityData], field: &str) -> Result<Vec<Capacity>> {
        list.iter()
            .enumerate()
            .map(|(i, c)| {
                let f = format!("{field}[{i}]");
                Ok(c.capacity(self.source(c.provenance(), &f)?))
            })
            .collect()
    }
}

/// A validation error of a record, named by its path in the seed file.
pub(crate) fn under<T>(r: kpss_domain::ValidationResult<T>, field: &str) -> Result<T> {
    r.map_err(|e| Error::Invalid(e.under(field)))
}

/// A region's current (non-archived) rows, as an export reads them.
pub(crate) struct Rows {
    pub plans: Vec<plan::Model>,
    pub projects: Vec<plan_project::Model>,
    pub priorities: Vec<priority::Model>,
    pub measures: Vec<measure::Model>,
    pub activities: Vec<activity::Model>,
    pub evaluations: Vec<evaluation::Model>,
    pub providers: Vec<provider::Model>,
    pub services: Vec<service::Model>,
    pub capacities: Vec<capacity::Model>,
}

impl Rows {
    pub async fn read(c: &impl sea_orm::ConnectionTrait, region: &str) -> Result<Self> {
        macro_rules! rows {
            ($m:ident $(, $current:ident)?) => {
                $m::Entity::find()
                    .filter($m::Column::RegionCode.eq(region))
                    $(.filter($m::Column::$current.eq(false)))?
                    .order_by_asc($m::Column::Id)
                    .all(c)
                    .await?
            };
        }
        Ok(Self {
            plans: rows!(plan, Archived),
            projects: rows!(plan_project),
            priorities: rows!(priority, Archived),
            measures: rows!(measure, Archived),
            activities: rows!(activity, Archived),
            evaluations: rows!(evaluation),
            providers: rows!(provider, Archived),
            services: rows!(service, Archived),
            capacities: rows!(capacity),
        })
    }
}

/// The rows `picked` selects, ordered by `position`.
pub(crate) fn in_order<T>(
    rows: &[T],
    picked: impl Fn(&T) -> bool,
    position: impl Fn(&T) -> i32,
) -> Vec<&T> {
    let mut list: Vec<&T> = rows.iter().filter(|r| picked(r)).collect();
    list.sort_by_key(|r| position(r));
    list
}
