//! A filled workbook (XLSX or ODS) read back into the seed format's plan,
//! with where each record and field stands (for problems), and the fields
//! it leaves as they are (missing columns and sheets). The archive is
//! checked before calamine reads it, so a hostile file is refused cheaply.

use crate::sheets::{
    Cells, Column, GROUP, INSTRUCTIONS, LISTS, MEASURE, PARENT, PRIORITY, REGION, Sheet,
    column_letters,
};
use calamine::{Data, DataRef, Ods, Reader, Xlsx};
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{
    ActivityData, CapacityData, EvaluationData, Kept, MeasureData, PlanData, PriorityData,
    ProjectData, RegionData,
};
use kpss_domain::value::{Date, normalized_code};
use kpss_domain::{Rule, ValidationError};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

/// The two workbook formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Ods,
}

/// How much a workbook may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows of data per sheet (below its header).
    pub max_rows: usize,
    /// Bytes of the workbook's parts unpacked, together.
    pub max_unpacked: u64,
}

/// Columns a sheet may use: far more than any sheet has.
pub const MAX_COLUMNS: usize = 64;
/// Parts of a workbook's archive: a real one has a few dozen.
pub const MAX_PARTS: usize = 500;

/// A workbook read: its plan as a region file, what it leaves as it is,
/// where its records stand, and the problems of its cells.
#[derive(Debug)]
pub struct Reading {
    pub file: RegionData,
    pub kept: Kept,
    pub places: Places,
    pub problems: Vec<ValidationError>,
}

/// Reads a workbook; a file that is no workbook, or too large unpacked, is
/// one problem at `file` (or at the sheet's first cell past the limits).
pub fn read(
    bytes: &[u8],
    format: Format,
    region: &RegionCode,
    limits: &Limits,
) -> Result<Reading, Vec<ValidationError>> {
    let whole = |rule| vec![ValidationError::new("file", rule)];
    if bytes.is_empty() {
        return Err(whole(Rule::EmptyFile));
    }
    checked_archive(bytes, format, limits).map_err(|e| vec![e])?;
    let grids = match format {
        Format::Xlsx => xlsx(bytes, limits),
        Format::Ods => ods(bytes),
    }?;
    Ok(Build::new(region).run(grids))
}

/// The archive's parts counted and their declared sizes added before
/// anything is unpacked (the zip reader then stops at a part's declared
/// size); an ODS's table rows and columns, repeats included, bounded.
fn checked_archive(bytes: &[u8], format: Format, limits: &Limits) -> Result<(), ValidationError> {
    let file = |rule| ValidationError::new("file", rule);
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| file(Rule::NotAWorkbook))?;
    if zip.len() > MAX_PARTS {
        return Err(file(Rule::TooManyParts {
            count: zip.len(),
            max: MAX_PARTS,
        }));
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|_| file(Rule::NotAWorkbook))?;
        total = total.saturating_add(part.size());
    }
    if total > limits.max_unpacked {
        return Err(file(Rule::Unpacked {
            bytes: total,
            max: limits.max_unpacked,
        }));
    }
    if format == Format::Ods {
        let content = zip
            .by_name("content.xml")
            .map_err(|_| file(Rule::NotAWorkbook))?;
        ods_extent(std::io::BufReader::new(content), limits)?;
    }
    Ok(())
}

/// calamine expands an ODS's repeated rows and columns into a dense table:
/// refuses data past the rows and columns allowed before it does.
fn ods_extent(xml: impl std::io::BufRead, limits: &Limits) -> Result<(), ValidationError> {
    use quick_xml::events::{BytesStart, Event};
    let repeat = |e: &BytesStart, name: &str| -> usize {
        e.try_get_attribute(name)
            .ok()
            .flatten()
            .and_then(|a| a.value.parse().ok())
            .unwrap_or(1)
    };
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let (mut sheet, mut row, mut col, mut rows, mut data) =
        (String::new(), 0usize, 0usize, 1usize, false);
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|_| ValidationError::new("file", Rule::NotAWorkbook))?;
        let (e, open) = match &event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                if data && row.saturating_add(rows) > limits.max_rows + 1 {
                    let at = format!("{sheet}!A{}", row + 1);
                    return Err(ValidationError::new(at, outside(limits)));
                }
                row = row.saturating_add(rows);
                buf.clear();
                continue;
            }
            Event::Eof => return Ok(()),
            _ => {
                buf.clear();
                continue;
            }
        };
        match e.name().as_ref() {
            "table:table" => {
                sheet = e
                    .try_get_attribute("table:name")
                    .ok()
                    .flatten()
                    .map(|a| a.value.into_owned())
                    .unwrap_or_default();
                row = 0;
            }
            "table:table-row" => {
                (rows, col, data) = (repeat(e, "table:number-rows-repeated"), 0, false);
                if !open {
                    row = row.saturating_add(rows);
                }
            }
            "table:table-cell" | "table:covered-table-cell" => {
                let cols = repeat(e, "table:number-columns-repeated");
                let filled = open
                    || e.try_get_attribute("office:value-type")
                        .ok()
                        .flatten()
                        .is_some()
                    || e.try_get_attribute("table:formula")
                        .ok()
                        .flatten()
                        .is_some();
                if filled {
                    if col.saturating_add(cols) > MAX_COLUMNS {
                        let at = format!("{sheet}!{}{}", column_letters(MAX_COLUMNS), row + 1);
                        return Err(ValidationError::new(at, outside(limits)));
                    }
                    data = true;
                }
                col = col.saturating_add(cols);
            }
            _ => {}
        }
        buf.clear();
    }
}

fn outside(limits: &Limits) -> Rule {
    Rule::OutsideRange {
        rows: limits.max_rows + 1,
        columns: MAX_COLUMNS,
    }
}

/// A cell's value, as far as reading a plan goes.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date cell: days since 1899-12-30.
    Date(f64),
    Error(String),
    Formula,
}

/// A sheet's non-empty cells by (row, column), from 0.
type Grid = BTreeMap<(u32, u32), Cell>;

fn not_a_workbook() -> Vec<ValidationError> {
    vec![ValidationError::new("file", Rule::NotAWorkbook)]
}

/// XLSX: each sheet's cells as a stream, never as calamine's dense range.
fn xlsx(bytes: &[u8], limits: &Limits) -> Result<Vec<(String, Grid)>, Vec<ValidationError>> {
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|_| not_a_workbook())?;
    let mut grids = Vec::new();
    for name in book.sheet_names() {
        let Ok(mut cells) = book.worksheet_cells_reader(&name) else {
            continue; // a chart sheet
        };
        let mut grid = Grid::new();
        while let Some(c) = cells
            .next_cell_with_formula()
            .map_err(|_| not_a_workbook())?
        {
            let value = match c.formula {
                Some(f) if !f.is_empty() => Some(Cell::Formula),
                _ => from_ref(c.value),
            };
            let Some(value) = value else { continue };
            let (row, col) = c.pos;
            if row as usize > limits.max_rows || col as usize >= MAX_COLUMNS {
                let at = format!("{name}!{}{}", column_letters(col as usize), row + 1);
                return Err(vec![ValidationError::new(at, outside(limits))]);
            }
            grid.insert(c.pos, value);
        }
        grids.push((name, grid));
    }
    Ok(grids)
}

fn from_ref(v: DataRef<'_>) -> Option<Cell> {
    Some(match v {
        DataRef::Int(i) => Cell::Number(i as f64),
        DataRef::Float(f) => Cell::Number(f),
        DataRef::String(s) => Cell::Text(s),
        DataRef::SharedString(s) => Cell::Text(s.to_owned()),
        DataRef::Bool(b) => Cell::Bool(b),
        DataRef::DateTime(d) => Cell::Date(d.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
        DataRef::Empty => return None,
    })
}

/// ODS: calamine's ranges, once [`ods_extent`] has bounded them.
fn ods(bytes: &[u8]) -> Result<Vec<(String, Grid)>, Vec<ValidationError>> {
    let mut book = Ods::new(Cursor::new(bytes)).map_err(|_| not_a_workbook())?;
    let mut grids = Vec::new();
    for name in book.sheet_names() {
        let values = book.worksheet_range(&name).map_err(|_| not_a_workbook())?;
        let formulas = book
            .worksheet_formula(&name)
            .map_err(|_| not_a_workbook())?;
        let mut grid = Grid::new();
        let (r0, c0) = values.start().unwrap_or_default();
        for (r, c, v) in values.used_cells() {
            let value = match v {
                Data::Int(i) => Cell::Number(*i as f64),
                Data::Float(f) => Cell::Number(*f),
                Data::String(s) => Cell::Text(s.clone()),
                Data::Bool(b) => Cell::Bool(*b),
                Data::DateTime(d) => Cell::Date(d.as_f64()),
                Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
                Data::Error(e) => Cell::Error(e.to_string()),
                Data::Empty => continue,
            };
            grid.insert((r0 + r as u32, c0 + c as u32), value);
        }
        let (f0, g0) = formulas.start().unwrap_or_default();
        for (r, c, _) in formulas.used_cells() {
            grid.insert((f0 + r as u32, g0 + c as u32), Cell::Formula);
        }
        grids.push((name, grid));
    }
    Ok(grids)
}

/// Where the records of a workbook stand: problems found at a record's
/// path in the seed format are named by its sheet, row and column.
#[derive(Debug, Default)]
pub struct Places {
    /// A record's path -> its sheet and row (from 1).
    records: HashMap<String, (Sheet, u32)>,
    /// A sheet's columns by field, as its header has them.
    columns: HashMap<&'static str, Vec<(&'static str, usize)>>,
}

impl Places {
    /// `Opatření!C7` for a path in the seed format
    /// (`plans[0].priorities[1].measures[0].title`); the row (`Opatření!7:7`)
    /// when no column holds the field, `file` when no row holds the record.
    pub fn locate(&self, path: &str) -> String {
        if path == REGION {
            return self.cell(Sheet::Plan, 2, REGION);
        }
        let mut record = path;
        loop {
            if let Some((sheet, row)) = self.records.get(record) {
                let rest = path[record.len()..].trim_start_matches('.');
                let field: String = plain(rest);
                return self.cell(*sheet, *row, &field);
            }
            match record.rfind(['.', '[']) {
                Some(i) => record = &record[..i],
                None => return "file".into(),
            }
        }
    }

    fn cell(&self, sheet: Sheet, row: u32, field: &str) -> String {
        let columns = self
            .columns
            .get(sheet.name())
            .map_or(&[][..], Vec::as_slice);
        let col = columns
            .iter()
            .filter(|(f, _)| {
                field == *f
                    || field.starts_with(&format!("{f}."))
                    || f.starts_with(&format!("{field}."))
            })
            .map(|(_, c)| *c)
            .next();
        match col {
            Some(c) => format!("{}!{}{row}", sheet.name(), column_letters(c)),
            None => format!("{}!{row}:{row}", sheet.name()),
        }
    }
}

/// A path without its list indices: `target_groups[2]` -> `target_groups`.
fn plain(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// One sheet's rows, by its header.
struct Table<'g> {
    sheet: Sheet,
    grid: &'g Grid,
    /// Each known column of the header -> its column index.
    at: HashMap<&'static str, usize>,
}

/// The plan being built from the sheets.
struct Build<'r> {
    region: &'r RegionCode,
    kept: Kept,
    places: Places,
    problems: Vec<ValidationError>,
}

impl<'r> Build<'r> {
    fn new(region: &'r RegionCode) -> Self {
        Self {
            region,
            kept: Kept::default(),
            places: Places::default(),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, at: String, rule: Rule) {
        self.problems.push(ValidationError::new(at, rule));
    }

    /// The sheets by name, their headers read; a missing sheet is `None`.
    fn tables<'g>(&mut self, grids: &'g [(String, Grid)]) -> HashMap<&'static str, Table<'g>> {
        let mut out = HashMap::new();
        for (name, grid) in grids {
            let Some(sheet) = Sheet::ALL.into_iter().find(|s| s.name() == name.trim()) else {
                if name != INSTRUCTIONS && name != LISTS {
                    self.problem(format!("{name}!A1"), Rule::UnknownSheet(name.clone()));
                }
                continue;
            };
            let mut at = HashMap::new();
            let mut places = Vec::new();
            for ((row, col), cell) in grid.range((0, 0)..(1, 0)) {
                let here = format!("{name}!{}{}", column_letters(*col as usize), row + 1);
                let Cell::Text(header) = cell else {
                    self.problem(here, Rule::UnknownColumn(text_of(cell)));
                    continue;
                };
                let header = header.trim().to_lowercase();
                let column = sheet
                    .columns()
                    .iter()
                    .find(|c| c.header.to_lowercase() == header);
                match column {
                    None => self.problem(here, Rule::UnknownColumn(header)),
                    Some(c) if at.contains_key(c.field) => {
                        self.problem(here, Rule::ColumnTwice(c.header.to_owned()))
                    }
                    Some(c) => {
                        at.insert(c.field, *col as usize);
                        places.push((c.field, *col as usize));
                    }
                }
            }
            for c in sheet.columns().iter().filter(|c| c.required) {
                if !at.contains_key(c.field) {
                    self.problem(
                        format!("{name}!1:1"),
                        Rule::MissingColumn(c.header.to_owned()),
                    );
                }
            }
            self.places.columns.insert(sheet.name(), places);
            out.insert(sheet.name(), Table { sheet, grid, at });
        }
        for sheet in Sheet::ALL.into_iter().filter(|s| s.required()) {
            if !out.contains_key(sheet.name()) {
                self.problem("file".into(), Rule::MissingSheet(sheet.name().to_owned()));
            }
        }
        out
    }

    fn run(mut self, grids: Vec<(String, Grid)>) -> Reading {
        let tables = self.tables(&grids);
        let plan = self.plan(&tables);
        Reading {
            file: RegionData {
                region: plan.1,
                plans: vec![plan.0],
                providers: vec![],
            },
            kept: self.kept,
            places: self.places,
            problems: self.problems,
        }
    }

    /// The record of each data row of a sheet: its row (from 1) and its
    /// fields as the seed format's JSON. Missing columns are noted as kept.
    fn records(
        &mut self,
        tables: &HashMap<&'static str, Table<'_>>,
        sheet: Sheet,
        kept: &mut Vec<String>,
        prefix: &str,
    ) -> Vec<(u32, Map<String, Value>)> {
        let Some(t) = tables.get(sheet.name()) else {
            return vec![];
        };
        for c in sheet.columns() {
            if c.required || c.field == REGION || t.at.contains_key(c.field) {
                continue;
            }
            // A capacity's shares, and a cost without its text, are kept whole.
            let field = match c.field.split_once('.') {
                Some(("network_shares", _)) => "network_shares",
                Some(("expected_cost", _)) if !t.at.contains_key("expected_cost.text") => {
                    "expected_cost"
                }
                _ => c.field,
            };
            let field = format!("{prefix}{field}");
            if !kept.contains(&field) {
                kept.push(field);
            }
        }
        let mut rows: Vec<u32> = t.grid.keys().map(|(r, _)| *r).filter(|r| *r > 0).collect();
        rows.dedup();
        rows.into_iter()
            .map(|row| (row + 1, self.row(t, row)))
            .collect()
    }

    /// One row's fields, each cell read as its column's kind.
    fn row(&mut self, t: &Table<'_>, row: u32) -> Map<String, Value> {
        let mut out = Map::new();
        let cost = t.at.get("expected_cost.text").copied();
        for c in t.sheet.columns() {
            let Some(col) = t.at.get(c.field) else {
                continue;
            };
            if c.field.starts_with("expected_cost.") && cost.is_none() {
                continue;
            }
            let here = format!("{}!{}{}", t.sheet.name(), column_letters(*col), row + 1);
            let value = match t.grid.get(&(row, *col as u32)) {
                None => Ok(None),
                Some(cell) => read_cell(c, cell),
            };
            let value = match value {
                Ok(Some(v)) => v,
                Ok(None) if c.required && matches!(c.cells, Cells::Text) => Value::from(""),
                Ok(None) => {
                    if c.required {
                        self.problem(here, Rule::Empty);
                        placeholder(c)
                    } else {
                        continue;
                    }
                }
                Err(rule) => {
                    self.problem(here, rule);
                    if c.required { placeholder(c) } else { continue }
                }
            };
            insert(&mut out, c.field, value);
        }
        // A cost is its text, with an amount, what it pays for and a statement.
        if let (Some(col), Some(Value::Object(o))) = (cost, out.get("expected_cost"))
            && !o.contains_key("text")
        {
            let here = format!("{}!{}{}", t.sheet.name(), column_letters(col), row + 1);
            self.problem(here, Rule::Empty);
            out.remove("expected_cost");
        }
        out
    }

    fn plan(&mut self, tables: &HashMap<&'static str, Table<'_>>) -> (PlanData, RegionCode) {
        let mut kept = Vec::new();
        let rows = self.records(tables, Sheet::Plan, &mut kept, "");
        if rows.len() != 1 {
            self.problem(
                format!("{}!A2", Sheet::Plan.name()),
                Rule::OnePlanRow(rows.len()),
            );
        }
        let Some((row, mut fields)) = rows.into_iter().next() else {
            return (fallback_plan(&Map::new()), self.region.clone());
        };
        self.places
            .records
            .insert("plans[0]".into(), (Sheet::Plan, row));
        let region = match fields.remove(REGION) {
            Some(Value::String(code)) => match RegionCode::parse(REGION, code.trim()) {
                Ok(r) => r,
                Err(e) => {
                    let at = self.places.locate(REGION);
                    self.problem(at, e.rule);
                    self.region.clone()
                }
            },
            _ => self.region.clone(),
        };
        let mut plan: PlanData = self.decode(fields, "plans[0]", fallback_plan);
        if !tables.contains_key(Sheet::Projects.name()) {
            kept.push("projects".into());
        }
        let projects = self.records(tables, Sheet::Projects, &mut kept, "projects.");
        for (i, (row, fields)) in projects.into_iter().enumerate() {
            let path = format!("plans[0].projects[{i}]");
            self.places
                .records
                .insert(path.clone(), (Sheet::Projects, row));
            plan.projects
                .push(self.decode(fields, &path, |_| ProjectData {
                    title: String::new(),
                    implementer: None,
                    due: None,
                    due_year: None,
                    source: None,
                    sources: vec![],
                    reading: None,
                }));
        }
        self.kept.plan = kept;
        self.tree(tables, &mut plan);
        (plan, region)
    }

    /// Priorities, measures and what hangs from them.
    fn tree(&mut self, tables: &HashMap<&'static str, Table<'_>>, plan: &mut PlanData) {
        let mut kept = Vec::new();
        // (group, code) -> the priority's index.
        let mut priorities: HashMap<(String, String), usize> = HashMap::new();
        for (row, fields) in self.records(tables, Sheet::Priorities, &mut kept, "") {
            let i = plan.priorities.len();
            let path = format!("plans[0].priorities[{i}]");
            self.places
                .records
                .insert(path.clone(), (Sheet::Priorities, row));
            let p: PriorityData = self.decode(fields, &path, |f| {
                PriorityData::new(text(f, "code"), text(f, "title"))
            });
            priorities
                .entry((
                    p.group.clone().unwrap_or_default(),
                    normalized_code(&p.code),
                ))
                .or_insert(i);
            plan.priorities.push(p);
        }
        self.kept.priority = kept;

        // Measures in an arena first (a sub-measure names its parent by code).
        let mut kept = Vec::new();
        let mut arena: Vec<Node<MeasureData>> = Vec::new();
        let mut by_code: HashMap<(usize, String), usize> = HashMap::new();
        for (row, mut fields) in self.records(tables, Sheet::Measures, &mut kept, "") {
            let Some(p) =
                self.parent_priority(tables, &mut fields, &priorities, Sheet::Measures, row)
            else {
                continue;
            };
            let parent = match take_text(&mut fields, PARENT) {
                None => None,
                Some(code) => match by_code.get(&(p, normalized_code(&code))) {
                    Some(m) => Some(*m),
                    None => {
                        let at = self.at(tables, Sheet::Measures, PARENT, row);
                        self.problem(
                            at,
                            Rule::NoParent {
                                sheet: Sheet::Measures.name().into(),
                                code,
                            },
                        );
                        continue;
                    }
                },
            };
            let siblings = arena
                .iter()
                .filter(|n| n.owner == p && n.parent == parent)
                .count();
            let path = match parent {
                Some(m) => format!("{}.sub_measures[{siblings}]", arena[m].path),
                None => format!("plans[0].priorities[{p}].measures[{siblings}]"),
            };
            self.places
                .records
                .insert(path.clone(), (Sheet::Measures, row));
            let m: MeasureData = self.decode(fields, &path, fallback_measure);
            by_code
                .entry((p, normalized_code(&m.code)))
                .or_insert(arena.len());
            arena.push(Node {
                record: Some(m),
                owner: p,
                parent,
                path,
            });
        }
        for (sheet, list) in [
            (Sheet::Capacities, "planned_capacities"),
            (Sheet::Evaluations, "evaluations"),
            (Sheet::Activities, "activities"),
        ] {
            if !tables.contains_key(sheet.name()) {
                kept.push(list.into());
            }
        }
        let mut capacities_kept = Vec::new();
        for (row, mut fields) in self.records(
            tables,
            Sheet::Capacities,
            &mut capacities_kept,
            "planned_capacities.",
        ) {
            let Some(m) = self.parent_measure(
                tables,
                &mut fields,
                &priorities,
                &by_code,
                Sheet::Capacities,
                row,
            ) else {
                continue;
            };
            let count = arena[m]
                .record
                .as_ref()
                .map_or(0, |r| r.planned_capacities.len());
            let path = format!("{}.planned_capacities[{count}]", arena[m].path);
            self.places
                .records
                .insert(path.clone(), (Sheet::Capacities, row));
            let c: CapacityData = self.decode(fields, &path, fallback_capacity);
            if let Some(node) = arena[m].record.as_mut() {
                node.planned_capacities.push(c);
            }
        }
        kept.extend(capacities_kept);
        self.kept.measure = kept;

        let mut kept = Vec::new();
        for (row, mut fields) in self.records(tables, Sheet::Evaluations, &mut kept, "") {
            let Some(m) = self.parent_measure(
                tables,
                &mut fields,
                &priorities,
                &by_code,
                Sheet::Evaluations,
                row,
            ) else {
                continue;
            };
            let count = arena[m].record.as_ref().map_or(0, |r| r.evaluations.len());
            let path = format!("{}.evaluations[{count}]", arena[m].path);
            self.places
                .records
                .insert(path.clone(), (Sheet::Evaluations, row));
            let e: EvaluationData = self.decode(fields, &path, fallback_evaluation);
            if let Some(node) = arena[m].record.as_mut() {
                node.evaluations.push(e);
            }
        }
        self.kept.evaluation = kept;

        let mut kept = Vec::new();
        let mut activities: Vec<Node<ActivityData>> = Vec::new();
        let mut activity_codes: HashMap<(usize, String), usize> = HashMap::new();
        for (row, mut fields) in self.records(tables, Sheet::Activities, &mut kept, "") {
            let Some(m) = self.parent_measure(
                tables,
                &mut fields,
                &priorities,
                &by_code,
                Sheet::Activities,
                row,
            ) else {
                continue;
            };
            let parent = match take_text(&mut fields, PARENT) {
                None => None,
                Some(code) => match activity_codes.get(&(m, normalized_code(&code))) {
                    Some(a) => Some(*a),
                    None => {
                        let at = self.at(tables, Sheet::Activities, PARENT, row);
                        self.problem(
                            at,
                            Rule::NoParent {
                                sheet: Sheet::Activities.name().into(),
                                code,
                            },
                        );
                        continue;
                    }
                },
            };
            let siblings = activities
                .iter()
                .filter(|n| n.owner == m && n.parent == parent)
                .count();
            let path = match parent {
                Some(a) => format!("{}.sub_activities[{siblings}]", activities[a].path),
                None => format!("{}.activities[{siblings}]", arena[m].path),
            };
            self.places
                .records
                .insert(path.clone(), (Sheet::Activities, row));
            let a: ActivityData = self.decode(fields, &path, fallback_activity);
            activity_codes
                .entry((m, normalized_code(&a.code)))
                .or_insert(activities.len());
            activities.push(Node {
                record: Some(a),
                owner: m,
                parent,
                path,
            });
        }
        self.kept.activity = kept;

        // Assembled bottom up: every child comes after its parent.
        for i in (0..activities.len()).rev() {
            let (Some(a), n) = (activities[i].record.take(), &activities[i]) else {
                continue;
            };
            match n.parent {
                Some(p) => {
                    if let Some(parent) = activities[p].record.as_mut() {
                        parent.sub_activities.insert(0, a);
                    }
                }
                None => {
                    if let Some(m) = arena[n.owner].record.as_mut() {
                        m.activities.insert(0, a);
                    }
                }
            }
        }
        for i in (0..arena.len()).rev() {
            let (Some(m), n) = (arena[i].record.take(), &arena[i]) else {
                continue;
            };
            match n.parent {
                Some(p) => {
                    if let Some(parent) = arena[p].record.as_mut() {
                        parent.sub_measures.insert(0, m);
                    }
                }
                None => plan.priorities[n.owner].measures.insert(0, m),
            }
        }
    }

    /// The cell of a field in a row, as a location.
    fn at(
        &self,
        tables: &HashMap<&'static str, Table<'_>>,
        sheet: Sheet,
        field: &str,
        row: u32,
    ) -> String {
        match tables.get(sheet.name()).and_then(|t| t.at.get(field)) {
            Some(c) => format!("{}!{}{row}", sheet.name(), column_letters(*c)),
            None => format!("{}!{row}:{row}", sheet.name()),
        }
    }

    /// The priority a row names (its group and code).
    fn parent_priority(
        &mut self,
        tables: &HashMap<&'static str, Table<'_>>,
        fields: &mut Map<String, Value>,
        priorities: &HashMap<(String, String), usize>,
        sheet: Sheet,
        row: u32,
    ) -> Option<usize> {
        let group = take_text(fields, GROUP).unwrap_or_default();
        let code = take_text(fields, PRIORITY).unwrap_or_default();
        let found = priorities.get(&(group, normalized_code(&code))).copied();
        if found.is_none() {
            let at = self.at(tables, sheet, PRIORITY, row);
            self.problem(
                at,
                Rule::NoParent {
                    sheet: Sheet::Priorities.name().into(),
                    code,
                },
            );
        }
        found
    }

    /// The measure a row names (group, priority and the measure's code).
    fn parent_measure(
        &mut self,
        tables: &HashMap<&'static str, Table<'_>>,
        fields: &mut Map<String, Value>,
        priorities: &HashMap<(String, String), usize>,
        measures: &HashMap<(usize, String), usize>,
        sheet: Sheet,
        row: u32,
    ) -> Option<usize> {
        let p = self.parent_priority(tables, fields, priorities, sheet, row)?;
        let code = take_text(fields, MEASURE).unwrap_or_default();
        let found = measures.get(&(p, normalized_code(&code))).copied();
        if found.is_none() {
            let at = self.at(tables, sheet, MEASURE, row);
            self.problem(
                at,
                Rule::NoParent {
                    sheet: Sheet::Measures.name().into(),
                    code,
                },
            );
        }
        found
    }

    /// A record from its fields; one the cells cannot make (which their
    /// problems already tell) stands in as `fallback` made of the fields.
    fn decode<T: serde::de::DeserializeOwned>(
        &mut self,
        fields: Map<String, Value>,
        path: &str,
        fallback: impl Fn(&Map<String, Value>) -> T,
    ) -> T {
        match serde_json::from_value(Value::Object(fields.clone())) {
            Ok(t) => t,
            Err(e) => {
                let at = self.places.locate(path);
                self.problem(at, Rule::Unreadable(e.to_string()));
                fallback(&fields)
            }
        }
    }
}

/// A measure or an activity before it is placed under its parent.
struct Node<T> {
    record: Option<T>,
    /// The priority's (for a measure) or the measure's (for an activity) index.
    owner: usize,
    parent: Option<usize>,
    path: String,
}

fn text(f: &Map<String, Value>, key: &str) -> String {
    f.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn take_text(f: &mut Map<String, Value>, key: &str) -> Option<String> {
    match f.remove(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn fallback_plan(f: &Map<String, Value>) -> PlanData {
    let (key, title) = (text(f, "key"), text(f, "title"));
    PlanData::new(&key, &title, kpss_domain::plan::PlanKind::ActionPlan, 0, 0)
}

fn fallback_measure(f: &Map<String, Value>) -> MeasureData {
    MeasureData {
        code: text(f, "code"),
        title: text(f, "title"),
        ..Default::default()
    }
}

fn fallback_capacity(f: &Map<String, Value>) -> CapacityData {
    CapacityData {
        form: None,
        value: f.get("value").and_then(Value::as_i64).unwrap_or(0) as i32,
        at_least: false,
        unit: kpss_domain::service::CapacityUnit::ClientsAtOnce,
        text: None,
        network_shares: vec![],
        source: None,
        sources: vec![],
        reading: None,
    }
}

fn fallback_evaluation(f: &Map<String, Value>) -> EvaluationData {
    EvaluationData {
        year: f.get("year").and_then(Value::as_i64).unwrap_or(0) as i32,
        status: kpss_domain::evaluation::EvaluationStatus::Unknown,
        comment: None,
        source: None,
        sources: vec![],
        reading: None,
    }
}

fn fallback_activity(f: &Map<String, Value>) -> ActivityData {
    ActivityData {
        code: text(f, "code"),
        title: text(f, "title"),
        ..Default::default()
    }
}

/// The value a required cell that cannot be read stands in with (its problem is told).
fn placeholder(c: &Column) -> Value {
    match c.cells {
        Cells::Choice(list) => list
            .values()
            .first()
            .map_or(Value::Null, |(v, _)| (*v).into()),
        Cells::Number => 0.into(),
        _ => "".into(),
    }
}

/// Sets a field at its path (`expected_cost.text`; a network's share as a list item).
fn insert(out: &mut Map<String, Value>, field: &str, value: Value) {
    match field.split_once('.') {
        Some(("network_shares", network)) => {
            let shares = out
                .entry("network_shares")
                .or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(list) = shares {
                list.push(serde_json::json!({ "network": network, "value": value }));
            }
        }
        Some((outer, inner)) => {
            let o = out
                .entry(outer)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(o) = o {
                o.insert(inner.to_owned(), value);
            }
        }
        None => {
            out.insert(field.to_owned(), value);
        }
    }
}

fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => s.clone(),
        Cell::Number(n) => number_text(*n),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Error(e) => e.clone(),
        Cell::Formula => "=…".into(),
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// A cell as its column's kind: `None` when it states nothing.
fn read_cell(c: &Column, cell: &Cell) -> Result<Option<Value>, Rule> {
    match cell {
        Cell::Formula => return Err(Rule::Formula),
        Cell::Error(e) => return Err(Rule::CellError(e.clone())),
        _ => {}
    }
    let text = text_of(cell);
    let trimmed = text.trim();
    if trimmed.is_empty() && !matches!(cell, Cell::Date(_)) {
        return Ok(None);
    }
    Ok(Some(match c.cells {
        Cells::Text => Value::from(text),
        Cells::Lines => {
            let items: Vec<Value> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(Value::from)
                .collect();
            Value::Array(items)
        }
        Cells::Number => {
            let n = match cell {
                Cell::Number(n) => Some(*n),
                _ => trimmed.replace([' ', '\u{a0}'], "").parse::<f64>().ok(),
            };
            match n {
                Some(n) if n.fract() == 0.0 && n.abs() <= f64::from(i32::MAX) => {
                    Value::from(n as i64)
                }
                _ => return Err(Rule::NotWholeNumber(trimmed.to_owned())),
            }
        }
        Cells::Date => {
            let date = match cell {
                Cell::Date(serial) => from_serial(*serial),
                _ => Date::parse_iso("", trimmed)
                    .or_else(|_| Date::parse_czech("", trimmed))
                    .ok(),
            };
            match date {
                Some(d) => Value::from(d.to_string()),
                None => return Err(Rule::NotCzechDate(trimmed.to_owned())),
            }
        }
        Cells::YesNo => match cell {
            Cell::Bool(b) => Value::from(*b),
            _ if trimmed.eq_ignore_ascii_case("ano") => Value::from(true),
            _ if trimmed.eq_ignore_ascii_case("ne") => return Ok(None),
            _ => return Err(Rule::NotYesNo(trimmed.to_owned())),
        },
        Cells::Choice(list) => {
            let values = list.values();
            let found = values.iter().find(|(code, meaning)| {
                code.eq_ignore_ascii_case(trimmed)
                    || meaning.to_lowercase() == trimmed.to_lowercase()
            });
            match found {
                Some((code, _)) => Value::from(*code),
                None => {
                    return Err(Rule::NotOneOf {
                        value: trimmed.to_owned(),
                        allowed: values.iter().map(|(v, _)| (*v).to_owned()).collect(),
                    });
                }
            }
        }
    }))
}

/// A spreadsheet's date serial (days since 1899-12-30) as a date.
fn from_serial(serial: f64) -> Option<Date> {
    if !(1.0..1e6).contains(&serial) {
        return None;
    }
    // Days since 1970-01-01, then the civil date (Howard Hinnant's algorithm).
    let z = serial.floor() as i64 - 25569 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date::new("", year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_serials_are_days_since_1899_12_30() {
        assert_eq!(
            from_serial(40074.0).map(|d| d.to_string()),
            Some("2009-09-18".into())
        );
        assert_eq!(
            from_serial(45351.0).map(|d| d.to_string()),
            Some("2024-02-29".into())
        );
        assert_eq!(from_serial(-3.0), None);
    }

    #[test]
    fn paths_lose_their_indices() {
        assert_eq!(plain("target_groups[2]"), "target_groups");
        assert_eq!(plain("expected_cost.text"), "expected_cost.text");
    }
}
