//! A plan as a workbook (data in, bytes out): the XLSX export of a plan,
//! the empty template offices fill in, and a filled workbook (XLSX or ODS)
//! read back into the seed format, so that it is checked and imported as
//! a YAML plan file is. The sheets and their columns are in [`sheets`].

mod read;
pub mod sheets;
mod write;

pub use read::{Format, Limits, MAX_COLUMNS, MAX_PARTS, Places, Reading, read};

use kpss_domain::region::RegionCode;
use kpss_domain::seed::PlanData;

/// A plan of `region` as an XLSX workbook.
pub fn plan(region: &RegionCode, plan: &PlanData) -> Result<Vec<u8>, String> {
    write::workbook(Some((region, plan))).map_err(|e| e.to_string())
}

/// The empty template: the same sheets, the instructions and the code lists.
/// Its bytes depend on the code alone (`docs/templates/akcni-plan.xlsx`).
pub fn template() -> Result<Vec<u8>, String> {
    write::workbook(None).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kpss_domain::seed::RegionData;

    const LIMITS: Limits = Limits {
        max_rows: 10_000,
        max_unpacked: 80 << 20,
    };

    fn seeded() -> Vec<(RegionCode, PlanData)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds");
        let mut plans = Vec::new();
        for name in ["chomutov", "karlovy-vary", "klatovy", "kromeriz"] {
            let text = std::fs::read_to_string(format!("{dir}/{name}.yaml")).expect("seed");
            let data: RegionData = serde_norway::from_str(&text).expect("YAML");
            for p in data.plans {
                plans.push((data.region.clone(), p));
            }
        }
        plans
    }

    #[test]
    fn every_seeded_plan_reads_back_as_it_was_written() {
        for (region, p) in seeded() {
            let bytes = plan(&region, &p).expect("written");
            let reading = read(&bytes, Format::Xlsx, &region, &LIMITS).expect("read");
            assert_eq!(reading.problems, [], "{}", p.key);
            assert_eq!(reading.kept, Default::default(), "{}", p.key);
            // As an import reads it: checked and normalized by the domain.
            let read_back = reading.file.plans[0].clone().normalized().expect("valid");
            let again = plan(&region, &read_back).expect("written");
            assert!(again == bytes, "{}: the plan read back differs", p.key);
        }
    }

    #[test]
    fn the_template_is_the_same_bytes_every_time() {
        assert_eq!(template(), template());
        let bytes = template().expect("template");
        let region = RegionCode::parse("r", "klatovy").expect("code");
        let errors = read(&bytes, Format::Xlsx, &region, &LIMITS)
            .expect("read")
            .problems;
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["Plán!A2"],
            "an empty template has no plan yet"
        );
    }
}
