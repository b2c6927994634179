//! Provenance: the lines of a source document an imported record comes from,
//! and the part of them that states it.

use crate::error::{Rule, ValidationError, ValidationResult};
use crate::text;
use serde::{Deserialize, Serialize};

/// Where an imported record comes from, as readers see it: its main range
/// (its heading to its end), the further ranges that state some of its values
/// (a plan's approval on a later page, a heading that names its group), and
/// how an ambiguous layout was read, where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub main: SourceRef,
    pub more: Vec<SourceRef>,
    /// What was read and why, where the data rests on a reading of a
    /// flattened or ambiguous layout, or on a doubtful value.
    pub reading: Option<String>,
}

/// One range of lines of a source document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    /// File name of the document (in `seeds/sources/`).
    pub document: String,
    pub first_line: u32,
    pub last_line: u32,
    /// Those lines as plain text ([`plain`]).
    pub text: String,
    /// The part of `text` that states the record.
    pub excerpt: String,
    /// The record's fields this range states; empty for the main range.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// A range as a seed file records it: the lines, the excerpt where it is not
/// all of them, and, for a further range, the fields it states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceData {
    /// Defaults to the document of the record's plan or provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    pub first_line: u32,
    pub last_line: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// A record's provenance in a seed file: `source` (one range) or `sources`
/// (the main range first, then the others), and its `reading`.
#[derive(Debug, Clone, Copy)]
pub struct ProvenanceData<'a> {
    pub source: Option<&'a SourceData>,
    pub sources: &'a [SourceData],
    pub reading: Option<&'a str>,
}

impl ProvenanceData<'_> {
    /// Resolves every range; `document` is the record's document and
    /// `content` gives a document's text by file name.
    pub fn resolve<'c>(
        &self,
        document: Option<&str>,
        content: impl Fn(&str) -> Option<&'c str>,
    ) -> ValidationResult<Option<Provenance>> {
        let (ranges, field): (&[SourceData], _) = match (self.source, self.sources) {
            (None, []) if self.reading.is_some() => {
                return Err(ValidationError::new("reading", Rule::ReadingWithoutLines));
            }
            (None, []) => return Ok(None),
            (Some(s), []) => (std::slice::from_ref(s), "source"),
            (None, [_, _, ..]) => (self.sources, "sources"),
            (None, [_]) => {
                return Err(ValidationError::new("sources", Rule::OneRangeAsSource));
            }
            (Some(_), _) => {
                return Err(ValidationError::new("sources", Rule::SourceAndSources));
            }
        };
        let mut resolved = Vec::with_capacity(ranges.len());
        for (i, r) in ranges.iter().enumerate() {
            let at = if field == "source" {
                field.to_owned()
            } else {
                format!("{field}[{i}]")
            };
            if i == 0 && !r.fields.is_empty() {
                return Err(ValidationError::new(
                    format!("{at}.fields"),
                    Rule::MainRangeFields,
                ));
            }
            let Some(doc) = r.document.as_deref().or(document) else {
                return Err(ValidationError::new(at, Rule::SourceWithoutDocument));
            };
            let Some(text) = content(doc) else {
                return Err(ValidationError::new(
                    format!("{at}.document"),
                    Rule::UnknownDocument(doc.to_owned()),
                ));
            };
            let mut range = r.resolve(doc, text).map_err(|e| e.under(&at))?;
            range.fields = r.fields.clone();
            resolved.push(range);
        }
        let reading = text::optional("reading", self.reading, text::MAX_TEXT)?;
        let main = resolved.remove(0);
        Ok(Some(Provenance {
            main,
            more: resolved,
            reading,
        }))
    }
}

impl Provenance {
    /// The seed form: `source` for one range, else `sources`; a range's
    /// document only where it is not the record's.
    pub fn data(&self) -> (Option<SourceData>, Vec<SourceData>, Option<String>) {
        let range = |r: &SourceRef| SourceData {
            document: (r.document != self.main.document).then(|| r.document.clone()),
            fields: r.fields.clone(),
            ..r.data()
        };
        let reading = self.reading.clone();
        if self.more.is_empty() {
            return (Some(self.main.data()), vec![], reading);
        }
        let all = std::iter::once(&self.main).chain(&self.more);
        (None, all.map(range).collect(), reading)
    }

    /// Every range, the main one first.
    pub fn ranges(&self) -> impl Iterator<Item = &SourceRef> {
        std::iter::once(&self.main).chain(&self.more)
    }
}

impl SourceData {
    /// The lines of `document` (its text `content`) and the excerpt in them.
    pub fn resolve(&self, document: &str, content: &str) -> ValidationResult<SourceRef> {
        let total = content.lines().count() as u32;
        if self.first_line == 0 || self.last_line < self.first_line || self.last_line > total {
            return Err(ValidationError::new(
                "source",
                Rule::LinesOutside {
                    first: self.first_line,
                    last: self.last_line,
                    document: document.to_owned(),
                    total,
                },
            ));
        }
        let lines: Vec<&str> = content
            .lines()
            .skip(self.first_line as usize - 1)
            .take((self.last_line - self.first_line + 1) as usize)
            .collect();
        let text = plain(&lines.join("\n"));
        let excerpt = match &self.excerpt {
            None => text.clone(),
            Some(e) if text.contains(e.as_str()) && !e.trim().is_empty() => e.clone(),
            Some(e) => {
                return Err(ValidationError::new(
                    "source.excerpt",
                    Rule::ExcerptNotInLines {
                        excerpt: e.clone(),
                        first: self.first_line,
                        last: self.last_line,
                        document: document.to_owned(),
                    },
                ));
            }
        };
        Ok(SourceRef {
            document: document.to_owned(),
            first_line: self.first_line,
            last_line: self.last_line,
            text,
            excerpt,
            fields: vec![],
        })
    }
}

impl SourceRef {
    /// The seed form of the main range: the excerpt is left out where it is
    /// all of the lines, and so is the record's own document.
    pub fn data(&self) -> SourceData {
        SourceData {
            document: None,
            first_line: self.first_line,
            last_line: self.last_line,
            excerpt: (self.excerpt != self.text).then(|| self.excerpt.clone()),
            fields: vec![],
        }
    }
}

/// Lines of a document as plain text: NFC, markup tags removed, tabs and runs
/// of spaces made one space, each line trimmed, at most one blank line in a row.
pub fn plain(lines: &str) -> String {
    let stripped = text::strip_tags(&text::nfc(lines));
    let mut out: Vec<String> = Vec::new();
    for line in stripped.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() && out.last().is_none_or(String::is_empty) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "Titul\n\n\tOpatření 1.1\t<i>Podpora</i>  služeb\n<p>- domovy pro seniory: <i>164 lůžek</i></p>\n";

    #[test]
    fn lines_become_plain_text() {
        let s = SourceData {
            document: None,
            first_line: 2,
            last_line: 4,
            excerpt: None,
            fields: vec![],
        }
        .resolve("d.txt", DOC)
        .unwrap();
        assert_eq!(
            s.text,
            "Opatření 1.1 Podpora služeb\n- domovy pro seniory: 164 lůžek"
        );
        assert_eq!(s.excerpt, s.text);
        assert_eq!(s.data().excerpt, None);
    }

    #[test]
    fn the_excerpt_is_part_of_the_lines() {
        let s = SourceData {
            document: None,
            first_line: 4,
            last_line: 4,
            excerpt: Some("164 lůžek".into()),
            fields: vec![],
        };
        assert_eq!(s.resolve("d.txt", DOC).unwrap().excerpt, "164 lůžek");
        let bad = SourceData {
            excerpt: Some("165 lůžek".into()),
            ..s.clone()
        };
        assert_eq!(
            bad.resolve("d.txt", DOC).unwrap_err().field,
            "source.excerpt"
        );
        let outside = SourceData {
            first_line: 4,
            last_line: 9,
            ..s.clone()
        };
        assert_eq!(outside.resolve("d.txt", DOC).unwrap_err().field, "source");
    }

    fn range(first: u32, last: u32, fields: &[&str]) -> SourceData {
        SourceData {
            document: None,
            first_line: first,
            last_line: last,
            excerpt: None,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn a_record_names_one_range_or_several_and_a_reading_needs_them() {
        let docs = |d: &str| (d == "d.txt").then_some(DOC);
        let resolve = |source: Option<&SourceData>, sources: &[SourceData], reading| {
            ProvenanceData {
                source,
                sources,
                reading,
            }
            .resolve(Some("d.txt"), docs)
        };
        let two = [range(2, 3, &[]), range(4, 4, &["capacities"])];
        let p = resolve(None, &two, Some("čteno z tabulky"))
            .unwrap()
            .unwrap();
        assert_eq!(p.main.first_line, 2);
        assert_eq!(p.more[0].fields, ["capacities"]);
        assert_eq!(p.more[0].text, "- domovy pro seniory: 164 lůžek");
        assert_eq!(p.reading.as_deref(), Some("čteno z tabulky"));
        assert_eq!(p.data(), (None, two.to_vec(), p.reading.clone()));
        let field = |r: ValidationResult<Option<Provenance>>| r.unwrap_err().field;
        assert_eq!(field(resolve(Some(&two[0]), &two, None)), "sources");
        assert_eq!(field(resolve(None, &two[..1], None)), "sources");
        assert_eq!(field(resolve(None, &[], Some("x"))), "reading");
        let fields_on_main = [range(2, 3, &["title"]), range(4, 4, &[])];
        assert_eq!(
            field(resolve(None, &fields_on_main, None)),
            "sources[0].fields"
        );
        let elsewhere = [
            range(2, 3, &[]),
            SourceData {
                document: Some("e.txt".into()),
                ..range(4, 4, &[])
            },
        ];
        assert_eq!(
            field(resolve(None, &elsewhere, None)),
            "sources[1].document"
        );
        assert_eq!(resolve(None, &[], None), Ok(None));
    }
}
