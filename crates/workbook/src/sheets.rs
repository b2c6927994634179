//! The sheets of a plan workbook: one per kind of record, each column with
//! its Czech header and the seed field it holds. The writer and the reader
//! both work from these lists, so they cannot disagree.

use kpss_domain::evaluation::EvaluationStatus;
use kpss_domain::measure::Statement;
use kpss_domain::plan::PlanKind;
use kpss_domain::service::{CapacityUnit, ServiceForm, ServiceType};

/// What a column's cells hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cells {
    Text,
    /// A list, one entry per line of the cell.
    Lines,
    Number,
    /// `2009-09-18`, `18. 9. 2009`, or a date cell.
    Date,
    /// `ano`, or empty.
    YesNo,
    /// One of a code list (a drop-down list).
    Choice(List),
}

/// The code lists: the domain's enums, with their meaning for the instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    PlanKind,
    Status,
    Statement,
    Form,
    Unit,
    ServiceType,
}

impl List {
    pub const ALL: [List; 6] = [
        List::PlanKind,
        List::Status,
        List::Statement,
        List::Form,
        List::Unit,
        List::ServiceType,
    ];

    /// The list's heading on the sheet of lists.
    pub fn title(self) -> &'static str {
        match self {
            List::PlanKind => "Druh plánu",
            List::Status => "Stav plnění",
            List::Statement => "Stav financování a nákladů",
            List::Form => "Forma poskytování",
            List::Unit => "Jednotka kapacity",
            List::ServiceType => "Druh sociální služby",
        }
    }

    /// Each allowed value with what it means.
    pub fn values(self) -> Vec<(&'static str, &'static str)> {
        match self {
            List::PlanKind => PlanKind::ALL
                .iter()
                .map(|k| {
                    let meaning = match k {
                        PlanKind::CommunityPlan => "komunitní plán",
                        PlanKind::MediumTermPlan => "střednědobý plán",
                        PlanKind::ActionPlan => "akční plán",
                        PlanKind::WorkPlan => "pracovní plán",
                        PlanKind::ShortTermPlan => "krátkodobý plán",
                    };
                    (k.as_str(), meaning)
                })
                .collect(),
            List::Status => EvaluationStatus::ALL
                .iter()
                .map(|s| {
                    let meaning = match s {
                        EvaluationStatus::Fulfilled => "splněno",
                        EvaluationStatus::PartiallyFulfilled => "částečně splněno",
                        EvaluationStatus::InProgress => "průběžně plněno",
                        EvaluationStatus::NotFulfilled => "nesplněno",
                        EvaluationStatus::Unknown => "stav neuveden",
                    };
                    (s.as_str(), meaning)
                })
                .collect(),
            List::Statement => Statement::ALL
                .iter()
                .map(|s| {
                    let meaning = match s {
                        Statement::Stated => "uvedeno (zdroje nebo částka)",
                        Statement::None => "žádné (0 Kč)",
                        Statement::NotSpecifiable => "nelze specifikovat",
                        Statement::NotStated => "neuvedeno",
                    };
                    (s.as_str(), meaning)
                })
                .collect(),
            List::Form => ServiceForm::ALL
                .iter()
                .map(|f| {
                    let meaning = match f {
                        ServiceForm::Residential => "pobytová",
                        ServiceForm::Outpatient => "ambulantní",
                        ServiceForm::Field => "terénní",
                    };
                    (f.as_str(), meaning)
                })
                .collect(),
            List::Unit => CapacityUnit::ALL
                .iter()
                .map(|u| {
                    let meaning = match u {
                        CapacityUnit::ClientsAtOnce => "klientů v jednom okamžiku",
                        CapacityUnit::Beds => "lůžek",
                        CapacityUnit::InterventionsPerYear => "intervencí za rok",
                        CapacityUnit::ClientsPerHour => "klientů za hodinu",
                        CapacityUnit::HousingUnits => "bytů",
                    };
                    (u.as_str(), meaning)
                })
                .collect(),
            List::ServiceType => ServiceType::ALL
                .iter()
                .map(|t| (t.as_str(), t.name()))
                .collect(),
        }
    }
}

/// A column: its header, the seed field it holds (a path below the record,
/// `expected_cost.text`), its cells, and whether a sheet must have it (the
/// columns that identify a record or place it, and its required fields).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub field: &'static str,
    pub cells: Cells,
    pub required: bool,
}

const fn col(header: &'static str, field: &'static str, cells: Cells) -> Column {
    Column {
        header,
        field,
        cells,
        required: false,
    }
}

const fn req(header: &'static str, field: &'static str, cells: Cells) -> Column {
    Column {
        header,
        field,
        cells,
        required: true,
    }
}

use Cells::{Choice, Date, Lines, Number, Text, YesNo};

/// The kinds of record, one sheet each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sheet {
    Plan,
    Projects,
    Priorities,
    Measures,
    Capacities,
    Evaluations,
    Activities,
}

/// Where a row's record stands: the priority (group and code) and, below
/// it, the measure (its code anywhere under the priority).
pub const GROUP: &str = "group";
pub const PRIORITY: &str = "priority";
pub const MEASURE: &str = "measure";
pub const PARENT: &str = "parent";
/// The region a plan file is of (not a field of the plan).
pub const REGION: &str = "region";

impl Sheet {
    pub const ALL: [Sheet; 7] = [
        Sheet::Plan,
        Sheet::Projects,
        Sheet::Priorities,
        Sheet::Measures,
        Sheet::Capacities,
        Sheet::Evaluations,
        Sheet::Activities,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Sheet::Plan => "Plán",
            Sheet::Projects => "Projekty",
            Sheet::Priorities => "Priority",
            Sheet::Measures => "Opatření",
            Sheet::Capacities => "Kapacity",
            Sheet::Evaluations => "Hodnocení",
            Sheet::Activities => "Aktivity",
        }
    }

    /// A workbook must have the sheets the plan's tree hangs from; without
    /// one of the others, those records stay as they are.
    pub fn required(self) -> bool {
        matches!(self, Sheet::Plan | Sheet::Priorities | Sheet::Measures)
    }

    /// What the instructions say of the sheet.
    pub fn about(self) -> &'static str {
        match self {
            Sheet::Plan => "Plán sám, na řádku 2 (jeden plán na soubor).",
            Sheet::Projects => "Projekty plánu, v pořadí; řádky bez kódu, plán je má jako celek.",
            Sheet::Priorities => "Priority (cíle); kód je jedinečný ve skupině.",
            Sheet::Measures => {
                "Opatření a podopatření; podopatření uvádí v „Nadřazené opatření“ kód opatření nad ním (na některém řádku výše)."
            }
            Sheet::Capacities => {
                "Plánované kapacity opatření, v pořadí; opatření je určeno skupinou, prioritou a kódem."
            }
            Sheet::Evaluations => "Hodnocení opatření, jeden řádek za opatření a rok.",
            Sheet::Activities => {
                "Aktivity opatření; podaktivita uvádí v „Nadřazená aktivita“ kód aktivity nad ní."
            }
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Sheet::Plan => PLAN,
            Sheet::Projects => PROJECTS,
            Sheet::Priorities => PRIORITIES,
            Sheet::Measures => MEASURES,
            Sheet::Capacities => CAPACITIES,
            Sheet::Evaluations => EVALUATIONS,
            Sheet::Activities => ACTIVITIES,
        }
    }
}

const PLAN: &[Column] = &[
    col("Území", REGION, Text),
    col("Klíč", "key", Text),
    req("Název", "title", Text),
    req("Druh", "kind", Choice(List::PlanKind)),
    req("Od roku", "period_start", Number),
    req("Do roku", "period_end", Number),
    col("Nadřazený plán", "parent", Text),
    col("Zpracoval", "prepared_by", Text),
    col("Schválení", "approval", Text),
    col("Schváleno dne", "approved_on", Date),
    col("Poslání", "mission", Text),
    col("Vize", "vision", Text),
    col("Realizace", "implementation", Text),
    col("Vydal", "issued", Text),
    col("Vydáno dne", "issued_on", Date),
    col("Název dokumentu", "document_title", Text),
    col("Poznámky", "notes", Lines),
];

const PROJECTS: &[Column] = &[
    req("Název", "title", Text),
    col("Realizátor", "implementer", Text),
    col("Termín", "due", Text),
    col("Rok termínu", "due_year", Number),
];

const PRIORITIES: &[Column] = &[
    req("Skupina", "group", Text),
    req("Kód", "code", Text),
    req("Název", "title", Text),
    col("Popis", "description", Text),
];

const MEASURES: &[Column] = &[
    req("Skupina", GROUP, Text),
    req("Priorita", PRIORITY, Text),
    req("Nadřazené opatření", PARENT, Text),
    req("Kód", "code", Text),
    req("Název", "title", Text),
    col("Zdůvodnění", "rationale", Text),
    col("Popis", "description", Text),
    col("Cílové skupiny", "target_groups", Lines),
    col("Termín", "term", Text),
    col("Termín od roku", "term_start_year", Number),
    col("Termín do roku", "term_end_year", Number),
    col("Odpovědnost", "responsible", Lines),
    col("Výstup", "output", Text),
    col("Náklady", "expected_cost.text", Text),
    col("Náklady v Kč", "expected_cost.amount_czk", Number),
    col("Náklady za", "expected_cost.per", Text),
    col(
        "Náklady – stav",
        "expected_cost.statement",
        Choice(List::Statement),
    ),
    col("Zdroje financování", "funding_sources", Lines),
    col(
        "Financování – stav",
        "funding_statement",
        Choice(List::Statement),
    ),
    col("Rizika", "risks", Lines),
    col("Plánované aktivity", "planned_activities", Lines),
    col("Název priority v dokumentu", "priority_title", Text),
    col("Název v přehledu", "alternative_title", Text),
];

const CAPACITIES: &[Column] = &[
    req("Skupina", GROUP, Text),
    req("Priorita", PRIORITY, Text),
    req("Opatření", MEASURE, Text),
    col("Forma", "form", Choice(List::Form)),
    req("Hodnota", "value", Number),
    col("Nejméně", "at_least", YesNo),
    req("Jednotka", "unit", Choice(List::Unit)),
    col("Text", "text", Text),
    col("Základní síť", "network_shares.BASIC", Number),
    col("Rozvojová síť", "network_shares.DEVELOPMENT", Number),
];

const EVALUATIONS: &[Column] = &[
    req("Skupina", GROUP, Text),
    req("Priorita", PRIORITY, Text),
    req("Opatření", MEASURE, Text),
    req("Rok", "year", Number),
    req("Stav", "status", Choice(List::Status)),
    col("Komentář", "comment", Text),
];

const ACTIVITIES: &[Column] = &[
    req("Skupina", GROUP, Text),
    req("Priorita", PRIORITY, Text),
    req("Opatření", MEASURE, Text),
    req("Nadřazená aktivita", PARENT, Text),
    req("Kód", "code", Text),
    req("Název", "title", Text),
    col("Popis", "description", Text),
    col("Odpovědnost", "responsible", Lines),
    col("Harmonogram", "schedule_items", Lines),
    col("Financování", "financing_items", Lines),
    col(
        "Financování – stav",
        "financing_statement",
        Choice(List::Statement),
    ),
    col("Výstupy", "outputs", Lines),
];

/// The sheet of instructions, and the sheet of code lists the drop-down lists take their values from.
pub const INSTRUCTIONS: &str = "Návod";
pub const LISTS: &str = "Číselníky";

/// `0` -> `A`, `27` -> `AB`.
pub fn column_letters(mut col: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_lettered_as_spreadsheets_do() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }
}
