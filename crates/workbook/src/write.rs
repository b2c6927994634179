//! A plan as a workbook, and the empty template, written with rust_xlsxwriter.

use crate::sheets::{
    Cells, Column, GROUP, INSTRUCTIONS, LISTS, List, MEASURE, PARENT, PRIORITY, REGION, Sheet,
    column_letters,
};
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{ActivityData, MeasureData, PlanData};
use rust_xlsxwriter::{
    Color, DataValidation, DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet,
    XlsxError,
};
use serde_json::Value;

/// Characters of one line of the instructions.
const INSTRUCTION_LINE: usize = 90;

/// Rows with drop-down lists in an empty sheet.
const LISTED_ROWS: u32 = 1000;

/// A row: the values of its sheet's columns, in order.
type Row = Vec<Value>;

/// The workbook of a plan of `region`, or the empty template.
pub fn workbook(plan: Option<(&RegionCode, &PlanData)>) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    // A fixed creation date: the same plan gives the same bytes.
    let created = ExcelDateTime::from_ymd(2026, 1, 1)?;
    let title = plan.map_or("Akční plán – šablona".to_owned(), |(_, p)| {
        p.title.clone()
    });
    book.set_properties(
        &DocProperties::new()
            .set_title(title)
            .set_author("KPSS")
            .set_creation_datetime(&created),
    );
    instructions(book.add_worksheet())?;
    let rows = plan.map(|(region, p)| rows(region, p)).unwrap_or_default();
    for sheet in Sheet::ALL {
        let data = rows
            .iter()
            .find(|(s, _)| *s == sheet)
            .map_or(&[][..], |(_, r)| r.as_slice());
        data_sheet(book.add_worksheet(), sheet, data)?;
    }
    lists(book.add_worksheet())?;
    book.save_to_buffer()
}

fn data_sheet(ws: &mut Worksheet, sheet: Sheet, rows: &[Row]) -> Result<(), XlsxError> {
    ws.set_name(sheet.name())?;
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xE8EEF4))
        .set_text_wrap();
    let required = header.clone().set_font_color(Color::RGB(0x9C0006));
    // Text columns stay text: a code typed as 1.10 is not the number 1.1.
    let text = Format::new().set_num_format("@").set_text_wrap();
    let listed = LISTED_ROWS.max(rows.len() as u32 + 1);
    for (i, c) in sheet.columns().iter().enumerate() {
        let i = i as u16;
        ws.write_string_with_format(0, i, c.header, if c.required { &required } else { &header })?;
        let width = match c.cells {
            Cells::Lines => 40,
            Cells::Text if c.field == "title" || c.field == "description" => 40,
            Cells::Text => 20,
            _ => 14,
        };
        ws.set_column_width(i, width)?;
        if matches!(c.cells, Cells::Text | Cells::Lines) {
            ws.set_column_format(i, &text)?;
        }
        if let Some(v) = validation(c.cells) {
            ws.add_data_validation(1, i, listed, i, &v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (i, v) in row.iter().enumerate() {
            let i = i as u16;
            match v {
                Value::Number(n) => {
                    if let Some(n) = n.as_f64() {
                        ws.write_number(r, i, n)?;
                    }
                }
                Value::String(s) if !s.is_empty() => {
                    ws.write_string_with_format(r, i, s, &text)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The drop-down list of a column of codes (or yes/no).
fn validation(cells: Cells) -> Option<DataValidation> {
    let v = match cells {
        Cells::Choice(list) => {
            let col = column_letters(list_column(list));
            let last = list.values().len() + 1;
            DataValidation::new()
                .allow_list_formula(Formula::new(format!("='{LISTS}'!${col}$2:${col}${last}")))
        }
        Cells::YesNo => DataValidation::new()
            .allow_list_strings(&["ano", "ne"])
            .ok()?,
        _ => return None,
    };
    Some(v)
}

/// Each list takes two columns of the sheet of lists: its codes and their meaning.
fn list_column(list: List) -> usize {
    List::ALL.iter().position(|l| *l == list).unwrap_or(0) * 3
}

fn lists(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_name(LISTS)?;
    let bold = Format::new().set_bold();
    for list in List::ALL {
        let col = list_column(list) as u16;
        ws.write_string_with_format(0, col, list.title(), &bold)?;
        ws.write_string_with_format(0, col + 1, "Význam", &bold)?;
        ws.set_column_width(col, 28)?;
        ws.set_column_width(col + 1, 40)?;
        for (i, (code, meaning)) in list.values().into_iter().enumerate() {
            ws.write_string(i as u32 + 1, col, code)?;
            ws.write_string(i as u32 + 1, col + 1, meaning)?;
        }
    }
    Ok(())
}

fn instructions(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_name(INSTRUCTIONS)?;
    ws.set_column_width(0, 24)?;
    ws.set_column_width(1, INSTRUCTION_LINE as f64 + 10.0)?;
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let mut lines: Vec<(String, String)> = vec![
        ("Akční plán jako sešit".into(), String::new()),
        (
            "Jak na to".into(),
            "Každý druh záznamu má svůj list, první řádek listu je záhlaví. Vyplněný sešit (XLSX, nebo ODS) nahrajte v KPSS v části „Plán jako soubor“: nejdřív uvidíte, co se změní, teprve potom změny použijete.".into(),
        ),
        (
            "Párování".into(),
            "Plán se páruje podle klíče, jinak podle názvu a období. Priority, opatření a aktivity se párují podle kódu (priority podle skupiny a kódu), hodnocení podle opatření a roku, kapacity a projekty podle pořadí.".into(),
        ),
        (
            "Prázdná buňka".into(),
            "Prázdná buňka znamená „neuvedeno“: uložená hodnota se vymaže.".into(),
        ),
        (
            "Chybějící sloupec".into(),
            "Sloupec, který v listu chybí, zůstane beze změny. Listy Projekty, Kapacity, Hodnocení a Aktivity smějí chybět celé (pak se jejich záznamy nemění). Sloupce s červeným záhlavím jsou povinné.".into(),
        ),
        (
            "Seznamy".into(),
            "Buňky se seznamem (cílové skupiny, odpovědnost, zdroje financování …) mají jednu položku na řádek (Alt+Enter).".into(),
        ),
        (
            "Číselníky".into(),
            "Druh plánu, stav, formy a jednotky se vybírají ze seznamu (list Číselníky); místo kódu lze napsat i jeho význam.".into(),
        ),
        (
            "Hodnoty".into(),
            "Čísla a roky jako celá čísla, data jako 18. 9. 2009 nebo 2009-09-18, „Nejméně“ jako ano. Vzorce nejsou dovoleny, zapište přímo hodnotu.".into(),
        ),
        (String::new(), String::new()),
    ];
    for sheet in Sheet::ALL {
        let required: Vec<&str> = sheet
            .columns()
            .iter()
            .filter(|c| c.required)
            .map(|c| c.header)
            .collect();
        lines.push((
            sheet.name().into(),
            format!(
                "{} Povinné sloupce: {}.",
                sheet.about(),
                required.join(", ")
            ),
        ));
    }
    for (i, (a, b)) in lines.iter().enumerate() {
        let row = i as u32;
        ws.write_string_with_format(row, 0, a, &bold)?;
        ws.write_string_with_format(row, 1, b, &wrap)?;
        // Spreadsheets do not all fit a wrapped row's height themselves.
        let lines = b.chars().count().div_ceil(INSTRUCTION_LINE).max(1);
        ws.set_row_height(row, 15 * lines as u32)?;
    }
    Ok(())
}

/// The rows of each sheet for a plan.
fn rows(region: &RegionCode, p: &PlanData) -> Vec<(Sheet, Vec<Row>)> {
    let mut out = Rows::default();
    let mut plan = object(p);
    plan.insert(REGION.into(), region.as_str().into());
    out.push(Sheet::Plan, &plan);
    for project in &p.projects {
        out.push(Sheet::Projects, &object(project));
    }
    for pr in &p.priorities {
        let mut at = serde_json::Map::new();
        at.insert(GROUP.into(), pr.group.clone().into());
        at.insert(PRIORITY.into(), pr.code.clone().into());
        out.push(Sheet::Priorities, &object(pr));
        out.measures(&at, None, &pr.measures);
    }
    vec![
        (Sheet::Plan, out.plan),
        (Sheet::Projects, out.projects),
        (Sheet::Priorities, out.priorities),
        (Sheet::Measures, out.measures),
        (Sheet::Capacities, out.capacities),
        (Sheet::Evaluations, out.evaluations),
        (Sheet::Activities, out.activities),
    ]
}

#[derive(Default)]
struct Rows {
    plan: Vec<Row>,
    projects: Vec<Row>,
    priorities: Vec<Row>,
    measures: Vec<Row>,
    capacities: Vec<Row>,
    evaluations: Vec<Row>,
    activities: Vec<Row>,
}

type Object = serde_json::Map<String, Value>;

fn object(record: &impl serde::Serialize) -> Object {
    match serde_json::to_value(record) {
        Ok(Value::Object(o)) => o,
        _ => Object::new(),
    }
}

impl Rows {
    fn push(&mut self, sheet: Sheet, record: &Object) {
        let row = sheet.columns().iter().map(|c| cell(c, record)).collect();
        match sheet {
            Sheet::Plan => self.plan.push(row),
            Sheet::Projects => self.projects.push(row),
            Sheet::Priorities => self.priorities.push(row),
            Sheet::Measures => self.measures.push(row),
            Sheet::Capacities => self.capacities.push(row),
            Sheet::Evaluations => self.evaluations.push(row),
            Sheet::Activities => self.activities.push(row),
        }
    }

    fn measures(&mut self, at: &Object, parent: Option<&str>, list: &[MeasureData]) {
        for m in list {
            let mut record = object(m);
            record.extend(at.clone());
            record.insert(PARENT.into(), parent.into());
            self.push(Sheet::Measures, &record);
            let mut here = at.clone();
            here.insert(MEASURE.into(), m.code.clone().into());
            for c in &m.planned_capacities {
                let mut record = object(c);
                record.extend(here.clone());
                self.push(Sheet::Capacities, &record);
            }
            for e in &m.evaluations {
                let mut record = object(e);
                record.extend(here.clone());
                self.push(Sheet::Evaluations, &record);
            }
            self.activities(&here, None, &m.activities);
            self.measures(at, Some(&m.code), &m.sub_measures);
        }
    }

    fn activities(&mut self, at: &Object, parent: Option<&str>, list: &[ActivityData]) {
        for a in list {
            let mut record = object(a);
            record.extend(at.clone());
            record.insert(PARENT.into(), parent.into());
            self.push(Sheet::Activities, &record);
            self.activities(at, Some(&a.code), &a.sub_activities);
        }
    }
}

/// A column's value in a record: text, a number, or nothing.
fn cell(c: &Column, record: &Object) -> Value {
    let value = match c.field.split_once('.') {
        Some(("network_shares", network)) => record
            .get("network_shares")
            .and_then(Value::as_array)
            .and_then(|shares| shares.iter().find(|s| s["network"] == network))
            .map_or(Value::Null, |s| s["value"].clone()),
        Some((outer, inner)) => record
            .get(outer)
            .and_then(|o| o.get(inner))
            .cloned()
            .unwrap_or(Value::Null),
        None => record.get(c.field).cloned().unwrap_or(Value::Null),
    };
    match (c.cells, value) {
        (Cells::Lines, Value::Array(items)) => {
            let lines: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if lines.is_empty() {
                Value::Null
            } else {
                lines.join("\n").into()
            }
        }
        (Cells::YesNo, Value::Bool(true)) => "ano".into(),
        (Cells::YesNo, _) => Value::Null,
        (_, v @ (Value::String(_) | Value::Number(_))) => v,
        _ => Value::Null,
    }
}
