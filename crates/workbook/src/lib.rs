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

/// Hostile files: each is one clear problem, read in bounded time and memory.
#[cfg(test)]
mod hostile {
    use super::*;
    use kpss_domain::Rule;
    use std::io::{Cursor, Read, Write};

    const LIMITS: Limits = Limits {
        max_rows: 10_000,
        max_unpacked: 80 << 20,
    };

    fn region() -> RegionCode {
        RegionCode::parse("r", "klatovy").expect("code")
    }

    /// The template with one part replaced.
    fn with_part(name: &str, content: &[u8]) -> Vec<u8> {
        let template = template().expect("template");
        let mut zip = zip::ZipArchive::new(Cursor::new(template)).expect("zip");
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..zip.len() {
            let mut part = zip.by_index(i).expect("part");
            let part_name = part.name().expect("name").into_owned();
            let mut data = Vec::new();
            part.read_to_end(&mut data).expect("read");
            if part_name == name {
                data = content.to_vec();
            }
            out.start_file(part_name.as_str(), zip::write::SimpleFileOptions::default())
                .expect("start");
            out.write_all(&data).expect("write");
        }
        out.finish().expect("zip").into_inner()
    }

    fn problems(bytes: &[u8], format: Format) -> Vec<(String, Rule)> {
        let found = match read(bytes, format, &region(), &LIMITS) {
            Ok(r) => r.problems,
            Err(p) => p,
        };
        found.into_iter().map(|p| (p.field, p.rule)).collect()
    }

    /// The sheet of the template's plan (part 2), with these rows.
    fn plan_sheet(rows: &str) -> Vec<u8> {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
        );
        with_part("xl/worksheets/sheet2.xml", xml.as_bytes())
    }

    #[test]
    fn ten_megabytes_in_one_cell_is_a_long_title() {
        let title = "x".repeat(10 << 20);
        let bytes = plan_sheet(&format!(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Název</t></is></c><c r="B1" t="inlineStr"><is><t>Druh</t></is></c><c r="C1" t="inlineStr"><is><t>Od roku</t></is></c><c r="D1" t="inlineStr"><is><t>Do roku</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>{title}</t></is></c><c r="B2" t="inlineStr"><is><t>ACTION_PLAN</t></is></c><c r="C2"><v>2026</v></c><c r="D2"><v>2026</v></c></row>"#
        ));
        assert!(bytes.len() < 200_000, "{}", bytes.len());
        let reading = read(&bytes, Format::Xlsx, &region(), &LIMITS).expect("read");
        assert_eq!(reading.problems, []);
        let e = reading.file.plans[0]
            .clone()
            .normalized()
            .expect_err("too long");
        assert_eq!(
            reading.places.locate(&format!("plans[0].{}", e.field)),
            "Plán!A2"
        );
        assert!(matches!(e.rule, Rule::TooLong { .. }), "{e:?}");
    }

    #[test]
    fn a_cell_far_away_is_refused_before_it_is_stored() {
        let bytes = plan_sheet(r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#);
        assert_eq!(
            problems(&bytes, Format::Xlsx),
            [(
                "Plán!XFD1048576".to_owned(),
                Rule::OutsideRange {
                    rows: 10_001,
                    columns: 64
                }
            )]
        );
    }

    #[test]
    fn a_part_larger_than_it_may_unpack_is_refused_unread() {
        let big = vec![b' '; (LIMITS.max_unpacked + 1) as usize];
        let bytes = with_part("xl/sharedStrings.xml", &big);
        let found = problems(&bytes, Format::Xlsx);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "file");
        assert!(matches!(found[0].1, Rule::Unpacked { .. }), "{found:?}");
    }

    fn ods(content: &str) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        out.start_file("mimetype", options).expect("start");
        out.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
            .expect("write");
        out.start_file("content.xml", options).expect("start");
        out.write_all(content.as_bytes()).expect("write");
        out.finish().expect("zip").into_inner()
    }

    #[test]
    fn repeated_rows_and_columns_of_an_ods_are_bounded_before_calamine_expands_them() {
        let cell = r#"<table:table-cell office:value-type="float" office:value="1"/>"#;
        let table = |row: &str| {
            format!(
                r#"<office:document-content xmlns:office="o" xmlns:table="t"><office:body><office:spreadsheet><table:table table:name="Plán">{row}</table:table></office:spreadsheet></office:body></office:document-content>"#
            )
        };
        let many_rows = table(&format!(
            r#"<table:table-row table:number-rows-repeated="1000000">{cell}</table:table-row>"#
        ));
        let wide = table(&format!(
            r#"<table:table-row><table:table-cell table:number-columns-repeated="16000"/>{cell}</table:table-row>"#
        ));
        let gap = table(&format!(
            r#"<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row><table:table-row>{cell}</table:table-row>"#
        ));
        for (what, xml, at) in [
            ("rows", many_rows, "Plán!A1"),
            ("columns", wide, "Plán!BM1"),
            ("a gap", gap, "Plán!A1048001"),
        ] {
            let found = problems(&ods(&xml), Format::Ods);
            assert_eq!(found.len(), 1, "{what}: {found:?}");
            assert_eq!(found[0].0, at, "{what}");
        }
    }

    #[test]
    fn what_is_no_workbook_says_so() {
        for (bytes, format) in [
            (&b"region: klatovy"[..], Format::Xlsx),
            (&b"PK\x03\x04 truncated"[..], Format::Ods),
        ] {
            assert_eq!(
                problems(bytes, format),
                [("file".to_owned(), Rule::NotAWorkbook)]
            );
        }
        assert_eq!(
            problems(b"", Format::Xlsx),
            [("file".to_owned(), Rule::EmptyFile)]
        );
    }
}
