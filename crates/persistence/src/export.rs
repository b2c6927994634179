//! A region's current (non-archived) data in the seed format: how an office
//! takes its data home, and the proof that an import loses nothing. Each
//! aggregate writes its own records (`export` in its module).

use crate::scoped::Scoped;
use crate::transfer::Rows;
use crate::{Error, Result, plan, provider};
use kpss_domain::region::RegionCode;
use kpss_domain::seed::RegionData;

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

/// The seed file text of a region, as `kpss export` writes it.
pub fn to_yaml(data: &RegionData) -> Result<String> {
    serde_norway::to_string(data).map_err(|e| Error::Seed(format!("cannot write YAML: {e}")))
}
