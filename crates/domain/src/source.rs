//! Provenance: the lines of a source document an imported record comes from,
//! and the part of them that states it.

use crate::error::{ValidationError, ValidationResult};
use crate::text;
use serde::{Deserialize, Serialize};

/// Where an imported record comes from, as readers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    /// File name of the document (in `seeds/sources/`).
    pub document: String,
    pub first_line: u32,
    pub last_line: u32,
    /// Those lines as plain text ([`plain`]).
    pub text: String,
    /// The part of `text` that states the record.
    pub excerpt: String,
}

/// Provenance as a seed file records it: the lines, and the excerpt where it
/// is not all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceData {
    pub first_line: u32,
    pub last_line: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

impl SourceData {
    /// The lines of `document` (its text `content`) and the excerpt in them.
    pub fn resolve(&self, document: &str, content: &str) -> ValidationResult<SourceRef> {
        let total = content.lines().count() as u32;
        if self.first_line == 0 || self.last_line < self.first_line || self.last_line > total {
            return Err(ValidationError::new(
                "source",
                format!(
                    "lines {}–{} are not lines of {document} (1–{total})",
                    self.first_line, self.last_line
                ),
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
                    format!(
                        "`{e}` is not in lines {}–{} of {document}",
                        self.first_line, self.last_line
                    ),
                ));
            }
        };
        Ok(SourceRef {
            document: document.to_owned(),
            first_line: self.first_line,
            last_line: self.last_line,
            text,
            excerpt,
        })
    }
}

impl SourceRef {
    /// The seed form: the excerpt is left out where it is all of the lines.
    pub fn data(&self) -> SourceData {
        SourceData {
            first_line: self.first_line,
            last_line: self.last_line,
            excerpt: (self.excerpt != self.text).then(|| self.excerpt.clone()),
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
            first_line: 2,
            last_line: 4,
            excerpt: None,
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
            first_line: 4,
            last_line: 4,
            excerpt: Some("164 lůžek".into()),
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
            excerpt: None,
        };
        assert_eq!(outside.resolve("d.txt", DOC).unwrap_err().field, "source");
    }
}
