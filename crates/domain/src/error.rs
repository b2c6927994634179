//! A broken rule and where: every message the domain (and a plan file's
//! reader) gives, in English for the API and in Czech for the people who
//! fill in plan files, in this one place.

use std::fmt;

/// A rule a value broke: `field` is the input path (`input.periodEnd`,
/// `plans[0].priorities[2].code`), or a place in a file (`Opatření!C7`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub field: String,
    pub rule: Rule,
}

/// What is wrong, with the values the message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Empty,
    TooLong {
        len: usize,
        max: usize,
    },
    Markup,
    /// A control or text-direction character (not a line break or a tab).
    Invisible(char),
    OneLine,
    YearOutside(i32),
    EndsBefore {
        end: i32,
        start: i32,
    },
    NotADate {
        day: u32,
        month: u32,
        year: i32,
    },
    NotIsoDate(String),
    NotCzechDate(String),
    Negative,
    NotWholeCrowns(String),
    NotRegionCode(String),
    NotKrajCode(String),
    NotIco(String),
    CannotClear,
    CodeTwice(String),
    YearTwice(i32),
    KrajTwice(String),
    RegionTwice(String),
    UnknownKraj(String),
    PlanKeyTwice(String),
    NotAnotherPlan(String),
    CapacityNegative(i32),
    CapacityOver {
        value: i32,
        max: i32,
    },
    ShareOutside(i32),
    SharesOver(i32),
    CostLeftOut,
    CostWithAmount(String),
    StatedNeedsSources,
    StatementWithSources(String),
    ReadingWithoutLines,
    OneRangeAsSource,
    SourceAndSources,
    MainRangeFields,
    SourceWithoutDocument,
    UnknownDocument(String),
    LinesOutside {
        first: u32,
        last: u32,
        document: String,
        total: u32,
    },
    ExcerptNotInLines {
        excerpt: String,
        first: u32,
        last: u32,
        document: String,
    },
    /// A plan file of another region than the one it is imported into.
    OtherRegion {
        file: String,
        into: String,
    },
    ProvidersInPlanFile,
    PlansInFile(usize),
    /// What a parser said of a file it could not read (serde's words).
    Unreadable(String),
    EmptyFile,
    NotUtf8,
    TooLarge {
        bytes: usize,
        max: usize,
    },
    NotAWorkbook,
    /// A workbook whose parts, unpacked, would be larger than allowed (a zip bomb).
    Unpacked {
        bytes: u64,
        max: u64,
    },
    TooManyParts {
        count: usize,
        max: usize,
    },
    /// A sheet with data past the rows or columns a plan file may use.
    OutsideRange {
        rows: usize,
        columns: usize,
    },
    MissingSheet(String),
    UnknownSheet(String),
    MissingColumn(String),
    UnknownColumn(String),
    ColumnTwice(String),
    Formula,
    CellError(String),
    NotWholeNumber(String),
    NotYesNo(String),
    NotOneOf {
        value: String,
        allowed: Vec<String>,
    },
    /// A row naming a parent record no row of its sheet holds.
    NoParent {
        sheet: String,
        code: String,
    },
    OnePlanRow(usize),
    /// A message of the API's own (English only).
    Other(String),
}

impl From<&str> for Rule {
    fn from(s: &str) -> Self {
        Self::Other(s.to_owned())
    }
}

impl From<String> for Rule {
    fn from(s: String) -> Self {
        Self::Other(s)
    }
}

impl ValidationError {
    pub fn new(field: impl Into<String>, rule: impl Into<Rule>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The same error, seen from one level up (`title` -> `input.title`).
    pub fn under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }

    /// The message in English (the API's language).
    pub fn message(&self) -> String {
        self.rule.texts().0
    }

    /// The message in Czech (for plan files and those who fill them in).
    pub fn czech(&self) -> String {
        self.rule.texts().1
    }
}

impl Rule {
    /// The message in English and in Czech.
    fn texts(&self) -> (String, String) {
        let s = |en: &str, cs: &str| (en.to_owned(), cs.to_owned());
        match self {
            Self::Empty => s("must not be empty", "nesmí být prázdné"),
            Self::TooLong { len, max } => (
                format!("is {len} characters long, at most {max} are allowed"),
                format!("má {len} znaků, nejvýše {max} je dovoleno"),
            ),
            Self::Markup => s(
                "must be plain text, without HTML tags",
                "musí být prostý text, bez značek HTML",
            ),
            Self::Invisible(c) => (
                format!(
                    "contains the invisible character U+{:04X}: of control and text-direction characters, plain text has only line breaks and tabs",
                    u32::from(*c)
                ),
                format!(
                    "obsahuje neviditelný znak U+{:04X}: z řídicích znaků a znaků směru textu smí prostý text obsahovat jen konce řádků a tabulátory",
                    u32::from(*c)
                ),
            ),
            Self::OneLine => s(
                "is one line; give each line as an entry of its own",
                "je jeden řádek; každý řádek zapište jako samostatnou položku",
            ),
            Self::YearOutside(y) => (
                format!("year {y} is outside 1990–2100"),
                format!("rok {y} není mezi 1990 a 2100"),
            ),
            Self::EndsBefore { end, start } => (
                format!("ends in {end}, before it starts in {start}"),
                format!("končí v roce {end}, dříve než začíná ({start})"),
            ),
            Self::NotADate { day, month, year } => (
                format!("{day}. {month}. {year} is not a date between 1990 and 2100"),
                format!("{day}. {month}. {year} není datum mezi lety 1990 a 2100"),
            ),
            Self::NotIsoDate(v) => (
                format!("`{v}` is not a date YYYY-MM-DD between 1990 and 2100"),
                format!("„{v}“ není datum RRRR-MM-DD mezi lety 1990 a 2100"),
            ),
            Self::NotCzechDate(v) => (
                format!("`{v}` is not a date D. M. YYYY"),
                format!("„{v}“ není datum ve tvaru D. M. RRRR"),
            ),
            Self::Negative => s("must not be negative", "nesmí být záporné"),
            Self::NotWholeCrowns(v) => (
                format!("{v} is not a whole, non-negative number of crowns"),
                format!("{v} není celý nezáporný počet korun"),
            ),
            Self::NotRegionCode(v) => (
                format!("`{v}` is not a region code (lower-case ASCII slug such as `klatovy`)"),
                format!("„{v}“ není kód území (malá písmena bez diakritiky, např. klatovy)"),
            ),
            Self::NotKrajCode(v) => (
                format!("`{v}` is not a kraj code (NUTS 3 such as `CZ032`)"),
                format!("„{v}“ není kód kraje (NUTS 3, např. CZ032)"),
            ),
            Self::NotIco(v) => (
                format!("`{v}` is not an IČO (8 digits)"),
                format!("„{v}“ není IČO (8 číslic)"),
            ),
            Self::CannotClear => s("cannot be cleared", "nelze vymazat"),
            Self::CodeTwice(c) => (
                format!("code `{c}` is used twice"),
                format!("kód „{c}“ je použit dvakrát"),
            ),
            Self::YearTwice(y) => (
                format!("year {y} is evaluated twice"),
                format!("rok {y} je hodnocen dvakrát"),
            ),
            Self::KrajTwice(c) => (
                format!("kraj `{c}` is listed twice"),
                format!("kraj „{c}“ je uveden dvakrát"),
            ),
            Self::RegionTwice(c) => (
                format!("region `{c}` is listed twice"),
                format!("území „{c}“ je uvedeno dvakrát"),
            ),
            Self::UnknownKraj(c) => (
                format!("kraj `{c}` is not in `kraje`"),
                format!("kraj „{c}“ není v seznamu krajů"),
            ),
            Self::PlanKeyTwice(k) => (
                format!("plan key `{k}` is used twice"),
                format!("klíč plánu „{k}“ je použit dvakrát"),
            ),
            Self::NotAnotherPlan(k) => (
                format!("`{k}` is not another plan of this file"),
                format!("„{k}“ není jiný plán tohoto souboru"),
            ),
            Self::CapacityNegative(v) => (
                format!("capacity {v} is negative"),
                format!("kapacita {v} je záporná"),
            ),
            Self::CapacityOver { value, max } => (
                format!("capacity {value} is over {max}"),
                format!("kapacita {value} je větší než {max}"),
            ),
            Self::ShareOutside(v) => (
                format!("a share is between 0 and the capacity ({v}), once per network"),
                format!("podíl sítě je mezi 0 a kapacitou ({v}), pro každou síť nejvýše jednou"),
            ),
            Self::SharesOver(v) => (
                format!("the shares add up to more than the capacity ({v})"),
                format!("podíly sítí dávají dohromady víc než kapacitu ({v})"),
            ),
            Self::CostLeftOut => s(
                "a cost the document does not state is left out",
                "náklady, které dokument neuvádí, se nevyplňují",
            ),
            Self::CostWithAmount(st) => (
                format!("a cost stated as {st} has no amount other than 0"),
                format!("náklady se stavem {st} nemají jinou částku než 0"),
            ),
            Self::StatedNeedsSources => s(
                "STATED needs at least one funding source",
                "stav STATED vyžaduje aspoň jeden zdroj financování",
            ),
            Self::StatementWithSources(st) => (
                format!("{st} comes without funding sources"),
                format!("stav {st} se uvádí bez zdrojů financování"),
            ),
            Self::ReadingWithoutLines => s(
                "a reading needs the source lines it reads",
                "výklad potřebuje řádky zdroje, které vykládá",
            ),
            Self::OneRangeAsSource => s(
                "one range is written as `source`",
                "jediný rozsah řádků se zapisuje jako source",
            ),
            Self::SourceAndSources => s(
                "a record has `source` or `sources`, not both",
                "záznam má source, nebo sources, ne obojí",
            ),
            Self::MainRangeFields => s(
                "the main range states the whole record; only further ranges name fields",
                "hlavní rozsah uvádí celý záznam; pole jmenují jen další rozsahy",
            ),
            Self::SourceWithoutDocument => s(
                "a source needs the source_document of its plan or provider",
                "zdroj potřebuje source_document svého plánu nebo poskytovatele",
            ),
            Self::UnknownDocument(d) => (
                format!("{d} is not a document in seeds/sources"),
                format!("{d} není dokument v seeds/sources"),
            ),
            Self::LinesOutside {
                first,
                last,
                document,
                total,
            } => (
                format!("lines {first}–{last} are not lines of {document} (1–{total})"),
                format!("řádky {first}–{last} nejsou řádky dokumentu {document} (1–{total})"),
            ),
            Self::ExcerptNotInLines {
                excerpt,
                first,
                last,
                document,
            } => (
                format!("`{excerpt}` is not in lines {first}–{last} of {document}"),
                format!("„{excerpt}“ není v řádcích {first}–{last} dokumentu {document}"),
            ),
            Self::OtherRegion { file, into } => (
                format!("the file is a plan of `{file}`, not of `{into}`"),
                format!("soubor je plánem území „{file}“, ne „{into}“"),
            ),
            Self::ProvidersInPlanFile => s(
                "a plan file holds a plan, no providers",
                "soubor plánu obsahuje plán, ne poskytovatele",
            ),
            Self::PlansInFile(n) => (
                format!("a plan file holds one plan, not {n}"),
                format!("soubor plánu obsahuje jeden plán, ne {n}"),
            ),
            Self::Unreadable(m) => (m.clone(), czech_parser_message(m)),
            Self::EmptyFile => s("the file is empty", "soubor je prázdný"),
            Self::NotUtf8 => s(
                "the file is not UTF-8 text",
                "soubor není text v kódování UTF-8",
            ),
            Self::TooLarge { bytes, max } => (
                format!("the file has {bytes} bytes, at most {max} are allowed"),
                format!("soubor má {bytes} bajtů, nejvýše {max} je dovoleno"),
            ),
            Self::NotAWorkbook => s(
                "the file is not a workbook (XLSX or ODS)",
                "soubor není sešit (XLSX ani ODS)",
            ),
            Self::Unpacked { bytes, max } => (
                format!("the workbook unpacks to {bytes} bytes, at most {max} are allowed"),
                format!("sešit by se rozbalil na {bytes} bajtů, nejvýše {max} je dovoleno"),
            ),
            Self::TooManyParts { count, max } => (
                format!("the workbook has {count} parts, at most {max} are allowed"),
                format!("sešit má {count} částí, nejvýše {max} je dovoleno"),
            ),
            Self::OutsideRange { rows, columns } => (
                format!("data past row {rows} or column {columns}"),
                format!("data za řádkem {rows} nebo za sloupcem {columns}"),
            ),
            Self::MissingSheet(n) => (
                format!("the workbook has no sheet `{n}`"),
                format!("sešit nemá list „{n}“"),
            ),
            Self::UnknownSheet(n) => (
                format!("`{n}` is not a sheet of a plan workbook"),
                format!("„{n}“ není list sešitu plánu"),
            ),
            Self::MissingColumn(n) => (
                format!("the sheet has no column `{n}`, which it needs"),
                format!("list nemá povinný sloupec „{n}“"),
            ),
            Self::UnknownColumn(n) => (
                format!("`{n}` is not a column of this sheet"),
                format!("„{n}“ není sloupec tohoto listu"),
            ),
            Self::ColumnTwice(n) => (
                format!("column `{n}` is there twice"),
                format!("sloupec „{n}“ je uveden dvakrát"),
            ),
            Self::Formula => s(
                "a formula; write the value itself",
                "vzorec; zapište přímo hodnotu",
            ),
            Self::CellError(e) => (
                format!("the cell holds the error {e}"),
                format!("buňka obsahuje chybu {e}"),
            ),
            Self::NotWholeNumber(v) => (
                format!("`{v}` is not a whole number"),
                format!("„{v}“ není celé číslo"),
            ),
            Self::NotYesNo(v) => (
                format!("`{v}` is neither ano nor ne"),
                format!("„{v}“ není ano ani ne"),
            ),
            Self::NotOneOf { value, allowed } => (
                format!("`{value}` is not one of {}", allowed.join(", ")),
                format!("„{value}“ není jedna z hodnot {}", allowed.join(", ")),
            ),
            Self::NoParent { sheet, code } => (
                format!("no row of sheet `{sheet}` has the code `{code}`"),
                format!("žádný řádek listu „{sheet}“ nemá kód „{code}“"),
            ),
            Self::OnePlanRow(n) => (
                format!("the sheet holds one plan in row 2, not {n}"),
                format!("list obsahuje jeden plán na řádku 2, ne {n}"),
            ),
            Self::Other(m) => (m.clone(), m.clone()),
        }
    }
}

/// serde's messages (`missing field`, `unknown variant` …) in Czech; the
/// names in backticks stay as the file writes them.
fn czech_parser_message(m: &str) -> String {
    let quoted =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    let q = quoted(m);
    let first = q.first().cloned().unwrap_or_default();
    if m.starts_with("missing field") {
        format!("chybí pole „{first}“")
    } else if m.starts_with("unknown field") {
        format!(
            "neznámé pole „{first}“; známá jsou: {}",
            q.get(1..).unwrap_or_default().join(", ")
        )
    } else if m.starts_with("unknown variant") {
        format!(
            "„{first}“ není jedna z hodnot {}",
            q.get(1..).unwrap_or_default().join(", ")
        )
    } else if let Some(rest) = m.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        format!("nesprávný typ hodnoty ({found}); očekává se {expected}")
    } else if let Some(rest) = m.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        format!("nesprávná hodnota ({found}); očekává se {expected}")
    } else {
        format!("soubor nelze přečíst: {m}")
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

pub type ValidationResult<T = ()> = Result<T, ValidationError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_its_czech_text() {
        let e = ValidationError::new("title", Rule::TooLong { len: 12, max: 10 });
        assert_eq!(e.message(), "is 12 characters long, at most 10 are allowed");
        assert_eq!(e.czech(), "má 12 znaků, nejvýše 10 je dovoleno");
    }

    #[test]
    fn parser_messages_are_read_in_czech() {
        let czech = |m: &str| Rule::Unreadable(m.into()).texts().1;
        assert_eq!(czech("missing field `title`"), "chybí pole „title“");
        assert_eq!(
            czech("unknown variant `HOTOVO`, expected one of `FULFILLED`, `UNKNOWN`"),
            "„HOTOVO“ není jedna z hodnot FULFILLED, UNKNOWN"
        );
        assert_eq!(
            czech("invalid type: string \"loni\", expected i32"),
            "nesprávný typ hodnoty (string \"loni\"); očekává se i32"
        );
    }
}
