//! A region's current (non-archived) data in the seed format: how an office
//! takes its data home, and the proof that an import loses nothing. Each
//! aggregate writes its own records (`export` in its module).

use crate::scoped::Scoped;
use crate::transfer::Rows;
use crate::{Error, Result, plan, provider};
use kpss_domain::region::{Region, RegionCode};
use kpss_domain::seed::{PlanData, RegionData};
use std::collections::BTreeMap;

/// Exports one region the caller may read (`Forbidden` otherwise).
pub async fn region(s: &Scoped, code: &RegionCode) -> Result<RegionData> {
    if crate::region::get(s, code).await?.is_none() {
        return Err(Error::Forbidden(format!("no region `{code}`")));
    }
    let rows = Rows::read(&s.reader().await?, code.as_str()).await?;
    Ok(RegionData {
        region: code.clone(),
        plans: rows
            .plans
            .iter()
            .map(|p| plan::export(p, &rows))
            .collect::<Result<_>>()?,
        providers: rows
            .providers
            .iter()
            .map(|p| provider::export(p, &rows))
            .collect::<Result<_>>()?,
    })
}

/// A plan as a document shows it: the plan in the seed format, its region,
/// and the text of the source lines its records name (by first and last line).
pub struct PlanExport {
    pub region: Region,
    pub plan: PlanData,
    pub source_lines: BTreeMap<(u32, u32), String>,
}

/// One current plan the caller may read; `None` when there is none such
/// (missing, archived, or of a region the caller may not read: all alike).
pub async fn plan(s: &Scoped, id: i64) -> Result<Option<PlanExport>> {
    let Some(found) = crate::plan::by_ids(s, &[id]).await?.into_iter().next() else {
        return Ok(None);
    };
    let Some(region) = crate::region::get(s, &found.region).await? else {
        return Ok(None);
    };
    let rows = Rows::read(&s.reader().await?, found.region.as_str()).await?;
    let Some(model) = rows.plans.iter().find(|p| p.id == id) else {
        return Ok(None);
    };
    let mut source_lines = BTreeMap::new();
    macro_rules! lines {
        ($($list:ident),*) => {$(
            for m in &rows.$list {
                for r in source!(m).iter().flat_map(|p| p.ranges()) {
                    if model.source_document.as_ref() == Some(&r.document) {
                        source_lines.insert((r.first_line, r.last_line), r.text.clone());
                    }
                }
            }
        )*};
    }
    lines!(
        plans,
        priorities,
        measures,
        activities,
        evaluations,
        capacities
    );
    Ok(Some(PlanExport {
        region,
        plan: plan::export(model, &rows)?,
        source_lines,
    }))
}

/// The seed file text of a region, as `kpss export` writes it.
pub fn to_yaml(data: &RegionData) -> Result<String> {
    serde_norway::to_string(data).map_err(|e| Error::Seed(format!("cannot write YAML: {e}")))
}
