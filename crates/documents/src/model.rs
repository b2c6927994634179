//! The document as a plain tree of blocks, built from a plan's data: what
//! both renderers lay out, so the DOCX and the PDF say the same things in
//! the same order.

use kpss_domain::evaluation::EvaluationStatus;
use kpss_domain::measure::{Cost, Statement};
use kpss_domain::seed::{ActivityData, CapacityData, MeasureData, PlanData};
use kpss_domain::service::{CapacityUnit, ServiceForm};
use kpss_domain::source::SourceData;
use kpss_domain::value::Date;
use std::collections::BTreeMap;

/// What to make of a plan.
#[derive(Debug, Clone)]
pub struct Options {
    /// The evaluation of this year instead of the plan itself.
    pub evaluation: Option<i32>,
    /// An appendix with each record's source lines.
    pub sources: bool,
    /// The day the document is made (its footer says so).
    pub generated: Date,
}

/// The data a document is made of: the plan as the export reads it, its
/// region's name, and the text of the source lines its records name
/// (by first and last line).
pub struct Input<'a> {
    pub region: &'a str,
    pub plan: &'a PlanData,
    pub source_lines: &'a BTreeMap<(u32, u32), String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The title page: its big title, then its lines.
    pub title: String,
    pub cover: Vec<String>,
    /// Every page's footer, before "strana N z M".
    pub footer: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Levels 1 and 2 are in the table of contents.
    Heading {
        level: u8,
        text: String,
    },
    Paragraph(String),
    Table(Table),
}

/// A table whose first row is its header, repeated on every page it spans.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Relative column widths.
    pub widths: Vec<u16>,
    pub header: Vec<Cell>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub bold: bool,
    /// Background, `RRGGBB`.
    pub fill: Option<&'static str>,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            bold: false,
            fill: None,
        }
    }

    fn label(text: impl Into<String>) -> Self {
        Self {
            bold: true,
            fill: Some(LABEL_FILL),
            ..Self::plain(text)
        }
    }
}

const LABEL_FILL: &str = "E8EEF4";

/// The title of the table of contents.
pub const CONTENTS: &str = "Obsah";

/// A status as the dashboard labels it, and its colour; `None`: not evaluated that year.
pub fn status(s: Option<EvaluationStatus>) -> (&'static str, &'static str) {
    match s {
        Some(EvaluationStatus::Fulfilled) => ("splněno", "C6EFCE"),
        Some(EvaluationStatus::PartiallyFulfilled) => ("částečně splněno", "FFEB9C"),
        Some(EvaluationStatus::InProgress) => ("průběžně plněno", "DDEBF7"),
        Some(EvaluationStatus::NotFulfilled) => ("nesplněno", "FFC7CE"),
        Some(EvaluationStatus::Unknown) => ("stav neuveden", "E7E6E6"),
        None => ("bez hodnocení", "FFFFFF"),
    }
}

const STATUSES: [Option<EvaluationStatus>; 6] = [
    Some(EvaluationStatus::Fulfilled),
    Some(EvaluationStatus::PartiallyFulfilled),
    Some(EvaluationStatus::InProgress),
    Some(EvaluationStatus::NotFulfilled),
    Some(EvaluationStatus::Unknown),
    None,
];

/// `2. 12. 2026`.
pub fn czech_date(d: Date) -> String {
    format!("{}. {}. {}", d.day(), d.month(), d.year())
}

fn period(p: &PlanData) -> String {
    if p.period_start == p.period_end {
        p.period_start.to_string()
    } else {
        format!("{}–{}", p.period_start, p.period_end)
    }
}

/// The file name a download offers: the plan's title, and the year evaluated.
pub fn file_stem(plan: &PlanData, evaluation: Option<i32>) -> String {
    match evaluation {
        Some(year) => format!("Vyhodnocení {year} – {}", plan.title),
        None => plan.title.clone(),
    }
}

impl Document {
    pub fn build(input: &Input<'_>, options: &Options) -> Self {
        let plan = input.plan;
        let (title, mut cover) = match options.evaluation {
            Some(year) => (
                format!("Vyhodnocení plnění za rok {year}"),
                vec![plan.title.clone()],
            ),
            None => (plan.title.clone(), Vec::new()),
        };
        cover.push(input.region.to_owned());
        cover.push(format!("Období: {}", period(plan)));
        cover.extend(plan.approval.clone());
        if let Some(d) = plan.approved_on {
            cover.push(format!("Schváleno dne {}", czech_date(d)));
        }
        if let Some(who) = &plan.prepared_by {
            cover.push(format!("Zpracoval: {who}"));
        }
        cover.extend(plan.issued.clone());
        let mut b = Builder {
            blocks: Vec::new(),
            year: options.evaluation,
        };
        if let Some(year) = options.evaluation {
            b.summary(plan, year);
        }
        for p in &plan.priorities {
            b.heading(1, format!("Priorita {} {}", p.code, p.title));
            b.paragraphs(p.description.as_deref());
            for m in &p.measures {
                b.measure(m, 2);
            }
        }
        if options.sources {
            b.sources(input);
        }
        Self {
            title,
            cover,
            footer: format!(
                "Vygenerováno z KPSS API dne {}",
                czech_date(options.generated)
            ),
            blocks: b.blocks,
        }
    }

    /// The headings the table of contents lists.
    pub fn contents(&self) -> impl Iterator<Item = (u8, &str)> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Heading { level, text } if *level <= 2 => Some((*level, text.as_str())),
            _ => None,
        })
    }
}

struct Builder {
    blocks: Vec<Block>,
    year: Option<i32>,
}

impl Builder {
    fn heading(&mut self, level: u8, text: String) {
        self.blocks.push(Block::Heading { level, text });
    }

    fn paragraphs(&mut self, text: Option<&str>) {
        for p in text.unwrap_or_default().split("\n\n") {
            if !p.trim().is_empty() {
                self.blocks.push(Block::Paragraph(p.trim().to_owned()));
            }
        }
    }

    fn measure(&mut self, m: &MeasureData, level: u8) {
        self.heading(level, format!("Opatření {} {}", m.code, m.title));
        let mut rows = Vec::new();
        let mut row = |label: &str, text: String| {
            if !text.trim().is_empty() {
                rows.push(vec![Cell::label(label), Cell::plain(text)]);
            }
        };
        row("Kód", m.code.clone());
        row("Název", m.title.clone());
        match self.year {
            Some(year) => {
                let e = m.evaluations.iter().find(|e| e.year == year);
                let (label, fill) = status(e.map(|e| e.status));
                rows.push(vec![
                    Cell::label(format!("Stav plnění {year}")),
                    Cell {
                        text: label.to_owned(),
                        bold: true,
                        fill: Some(fill),
                    },
                ]);
                let mut row = |label: &str, text: String| {
                    if !text.trim().is_empty() {
                        rows.push(vec![Cell::label(label), Cell::plain(text)]);
                    }
                };
                row(
                    "Komentář",
                    e.and_then(|e| e.comment.clone()).unwrap_or_default(),
                );
                row("Termín", m.term.clone().unwrap_or_default());
                row("Odpovědnost", m.responsible.join(", "));
            }
            None => {
                row("Zdůvodnění", m.rationale.clone().unwrap_or_default());
                row("Popis", m.description.clone().unwrap_or_default());
                row("Cílové skupiny", m.target_groups.join(", "));
                row("Termín", m.term.clone().unwrap_or_default());
                row("Odpovědnost", m.responsible.join(", "));
                row("Výstup", m.output.clone().unwrap_or_default());
                row(
                    "Předpokládané náklady",
                    m.expected_cost.as_ref().map(cost).unwrap_or_default(),
                );
                row(
                    "Zdroje financování",
                    funding(&m.funding_sources, m.funding_statement),
                );
                row("Plánované aktivity", m.planned_activities.join("\n"));
                row("Rizika", m.risks.join("\n"));
                row(
                    "Plánované kapacity",
                    m.planned_capacities
                        .iter()
                        .map(capacity)
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
        }
        // The first row heads the table: the measure's code and title on every page.
        let mut rows = rows.into_iter();
        let header = rows.next().unwrap_or_default();
        let rest: Vec<_> = rows.collect();
        self.blocks.push(Block::Table(Table {
            widths: vec![28, 72],
            header,
            rows: rest,
        }));
        for a in &m.activities {
            self.activity(a, (level + 1).min(3));
        }
        for sub in &m.sub_measures {
            self.measure(sub, (level + 1).min(3));
        }
    }

    fn activity(&mut self, a: &ActivityData, level: u8) {
        self.heading(level, format!("Aktivita {} {}", a.code, a.title));
        let mut rows = vec![vec![Cell::label("Kód"), Cell::plain(&a.code)]];
        let mut row = |label: &str, text: String| {
            if !text.trim().is_empty() {
                rows.push(vec![Cell::label(label), Cell::plain(text)]);
            }
        };
        row("Popis", a.description.clone().unwrap_or_default());
        row("Odpovědnost", a.responsible.join(", "));
        row("Harmonogram", a.schedule_items.join("\n"));
        row("Financování", a.financing_items.join("\n"));
        row("Výstupy", a.outputs.join("\n"));
        let mut rows = rows.into_iter();
        let header = rows.next().unwrap_or_default();
        self.blocks.push(Block::Table(Table {
            widths: vec![28, 72],
            header,
            rows: rows.collect(),
        }));
        for sub in &a.sub_activities {
            self.activity(sub, level);
        }
    }

    /// Statuses per priority: the measures evaluated (those without
    /// sub-measures, and any with an evaluation of their own).
    fn summary(&mut self, plan: &PlanData, year: i32) {
        self.heading(1, format!("Souhrn plnění za rok {year}"));
        let mut header = vec![Cell::label("Priorita")];
        header.extend(STATUSES.iter().map(|s| Cell::label(status(*s).0)));
        header.push(Cell::label("celkem"));
        let mut rows = Vec::new();
        let mut totals = [0usize; 7];
        for p in &plan.priorities {
            let mut counts = [0usize; 7];
            fn count(m: &MeasureData, year: i32, counts: &mut [usize; 7]) {
                let e = m.evaluations.iter().find(|e| e.year == year);
                if e.is_some() || m.sub_measures.is_empty() {
                    let s = e.map(|e| e.status);
                    if let Some(i) = STATUSES.iter().position(|x| *x == s) {
                        counts[i] += 1;
                        counts[6] += 1;
                    }
                }
                m.sub_measures
                    .iter()
                    .for_each(|sub| count(sub, year, counts));
            }
            p.measures.iter().for_each(|m| count(m, year, &mut counts));
            let mut row = vec![Cell::plain(format!("{} {}", p.code, p.title))];
            for (i, n) in counts.iter().enumerate() {
                totals[i] += n;
                row.push(number(*n, STATUSES.get(i).copied()));
            }
            rows.push(row);
        }
        let mut row = vec![Cell::label("Celkem")];
        row.extend(
            totals
                .iter()
                .enumerate()
                .map(|(i, n)| number(*n, STATUSES.get(i).copied())),
        );
        rows.push(row);
        self.blocks.push(Block::Table(Table {
            widths: vec![37, 9, 9, 9, 9, 9, 9, 9],
            header,
            rows,
        }));
    }

    /// Each record's lines in the plan's source document.
    fn sources(&mut self, input: &Input<'_>) {
        fn ranges<'r>(
            source: &'r Option<SourceData>,
            more: &'r [SourceData],
        ) -> Vec<&'r SourceData> {
            source.iter().chain(more).collect()
        }
        let plan = input.plan;
        let document = plan.source_document.as_deref().unwrap_or("—");
        self.heading(1, "Příloha: zdroje".to_owned());
        self.blocks.push(Block::Paragraph(format!(
            "Řádky zdrojového dokumentu {document}, z nichž pocházejí jednotlivé záznamy."
        )));
        let mut rows = Vec::new();
        // Every range a record names: its main one, then those that state some of its values.
        let mut add = |record: String, ranges: Vec<&SourceData>| {
            for s in ranges {
                let text = input
                    .source_lines
                    .get(&(s.first_line, s.last_line))
                    .cloned()
                    .or_else(|| s.excerpt.clone())
                    .unwrap_or_default();
                let lines = if s.first_line == s.last_line {
                    format!("ř. {}", s.first_line)
                } else {
                    format!("ř. {}–{}", s.first_line, s.last_line)
                };
                rows.push(vec![
                    Cell::plain(record.clone()),
                    Cell::plain(lines),
                    Cell::plain(text),
                ]);
            }
        };
        add(
            format!("Plán {}", plan.title),
            ranges(&plan.source, &plan.sources),
        );
        fn measure(m: &MeasureData, add: &mut dyn FnMut(String, Vec<&SourceData>)) {
            add(
                format!("Opatření {} {}", m.code, m.title),
                ranges(&m.source, &m.sources),
            );
            for c in &m.planned_capacities {
                add(
                    format!("Kapacita opatření {}", m.code),
                    ranges(&c.source, &c.sources),
                );
            }
            for e in &m.evaluations {
                add(
                    format!("Hodnocení opatření {} za rok {}", m.code, e.year),
                    ranges(&e.source, &e.sources),
                );
            }
            fn activity(a: &ActivityData, add: &mut dyn FnMut(String, Vec<&SourceData>)) {
                add(
                    format!("Aktivita {} {}", a.code, a.title),
                    ranges(&a.source, &a.sources),
                );
                a.sub_activities.iter().for_each(|s| activity(s, add));
            }
            m.activities.iter().for_each(|a| activity(a, add));
            m.sub_measures.iter().for_each(|s| measure(s, add));
        }
        for p in &plan.priorities {
            add(
                format!("Priorita {} {}", p.code, p.title),
                ranges(&p.source, &p.sources),
            );
            p.measures.iter().for_each(|m| measure(m, &mut add));
        }
        self.blocks.push(Block::Table(Table {
            widths: vec![30, 12, 58],
            header: vec![
                Cell::label("Záznam"),
                Cell::label("Řádky"),
                Cell::label("Text zdroje"),
            ],
            rows,
        }));
    }
}

fn number(n: usize, s: Option<Option<EvaluationStatus>>) -> Cell {
    Cell {
        text: n.to_string(),
        bold: false,
        fill: s.filter(|_| n > 0).map(|s| status(s).1),
    }
}

fn cost(c: &Cost) -> String {
    match c.statement {
        Statement::None if c.text.is_empty() => "0 Kč".to_owned(),
        Statement::NotSpecifiable if c.text.is_empty() => "nelze specifikovat".to_owned(),
        _ => c.text.clone(),
    }
}

fn funding(sources: &[String], statement: Option<Statement>) -> String {
    let said = match statement {
        Some(Statement::None) => Some("žádné (0)"),
        Some(Statement::NotSpecifiable) => Some("nelze specifikovat"),
        _ => None,
    };
    sources
        .iter()
        .map(String::as_str)
        .chain(said)
        .collect::<Vec<_>>()
        .join("\n")
}

fn capacity(c: &CapacityData) -> String {
    if let Some(text) = &c.text {
        return text.clone();
    }
    let unit = match c.unit {
        CapacityUnit::Beds => "lůžek",
        CapacityUnit::ClientsAtOnce => "klientů v jednom okamžiku",
        CapacityUnit::InterventionsPerYear => "intervencí za rok",
        CapacityUnit::ClientsPerHour => "klientů za hodinu",
        CapacityUnit::HousingUnits => "bytových jednotek",
    };
    let form = match c.form {
        Some(ServiceForm::Residential) => " (pobytová forma)",
        Some(ServiceForm::Outpatient) => " (ambulantní forma)",
        Some(ServiceForm::Field) => " (terénní forma)",
        None => "",
    };
    format!("{} {unit}{form}", c.value)
}
