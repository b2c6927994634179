//! Text rules: NFC, `\n` line breaks, no markup, no invisible characters,
//! bounded length.

use crate::error::{Rule, ValidationError, ValidationResult};
use unicode_normalization::UnicodeNormalization;

/// Longest title, name or code we accept (characters).
pub const MAX_TITLE: usize = 1_000;
/// Longest free text (rationale, description, comment) we accept (characters).
pub const MAX_TEXT: usize = 50_000;

/// The NFC form of `s`; everything we store is NFC.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// The stored form of a text: NFC, each line break a `\n` (a browser's form
/// sends `\r\n`).
fn stored(s: &str) -> String {
    if s.contains('\r') {
        nfc(&s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        nfc(s)
    }
}

/// A required one-line value (title, name, code): trimmed, non-empty, bounded.
pub fn required(field: &str, value: &str, max: usize) -> ValidationResult<String> {
    let value = stored(value.trim());
    if value.is_empty() {
        return Err(ValidationError::new(field, Rule::Empty));
    }
    bounded(field, value, max)
}

/// An optional free text: stored trimmed and NFC; blank means not stated.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> ValidationResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded(field, stored(v), max).map(Some),
    }
}

/// A list of short entries (target groups, responsible bodies, ...): no empty entries.
pub fn list(field: &str, values: &[String]) -> ValidationResult<Vec<String>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| required(&format!("{field}[{i}]"), v, MAX_TEXT))
        .collect()
}

fn bounded(field: &str, value: String, max: usize) -> ValidationResult<String> {
    let len = value.chars().count();
    if len > max {
        return Err(ValidationError::new(field, Rule::TooLong { len, max }));
    }
    if looks_like_markup(&value) {
        return Err(ValidationError::new(field, Rule::Markup));
    }
    if let Some(c) = value.chars().find(|c| invisible(*c)) {
        return Err(ValidationError::new(field, Rule::Invisible(c)));
    }
    Ok(value)
}

/// A control character other than a line break or a tab, or one that
/// changes the direction of the text around it: none is plain text, and
/// the direction ones can show a reader other words than are stored.
fn invisible(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `<p>`, `</i>`, `<ul style=...>`: the tags the PDF conversion leaves behind.
fn looks_like_markup(value: &str) -> bool {
    value
        .match_indices('<')
        .any(|(i, _)| tag_len(&value[i..]).is_some())
}

/// The length of the tag `s` starts with (`<p>`, `</i>`, `<ul style="…">`).
fn tag_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('<')?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let name = rest.chars().take_while(char::is_ascii_alphabetic).count();
    if name == 0 || !rest[name..].starts_with(['>', ' ', '/']) {
        return None;
    }
    s.find('>').map(|end| end + 1)
}

/// `s` without its markup tags, each replaced by a space (so words stay apart).
pub fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(at) = s[i..].find('<') {
        out.push_str(&s[i..i + at]);
        match tag_len(&s[i + at..]) {
            Some(len) => {
                out.push(' ');
                i += at + len;
            }
            None => {
                out.push('<');
                i += at + 1;
            }
        }
    }
    out.push_str(&s[i..]);
    out
}

/// A case- and diacritics-insensitive form for search: NFD, combining marks
/// dropped, lower case. `Pečovatelská` -> `pecovatelska`.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_rejects_blank_and_trims() {
        assert!(required("title", "  \t ", 10).is_err());
        assert_eq!(required("title", " Plán ", 10).unwrap(), "Plán");
    }

    #[test]
    fn values_are_stored_nfc() {
        let decomposed = "Krome\u{030c}r\u{030c}i\u{0301}z\u{030c}";
        assert_eq!(required("name", decomposed, 100).unwrap(), "Kroměříž");
    }

    #[test]
    fn markup_is_rejected_but_comparisons_are_not() {
        assert!(optional("d", Some("<p>text</p>"), 100).is_err());
        assert!(optional("d", Some("a <u>b</u>"), 100).is_err());
        assert!(optional("d", Some("kapacita < 5 a x>2"), 100).is_ok());
    }

    #[test]
    fn line_breaks_are_stored_as_newlines() {
        let text = optional("d", Some("první\r\n\r\ndruhý\rtřetí"), 100).unwrap();
        assert_eq!(text.as_deref(), Some("první\n\ndruhý\ntřetí"));
    }

    #[test]
    fn invisible_characters_are_rejected_but_tabs_and_line_breaks_are_not() {
        for bad in [
            "a\u{7}b",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{202E}b",
            "a\u{2067}b",
            "a\u{200F}b",
        ] {
            let err = optional("d", Some(bad), 100).unwrap_err();
            assert_eq!(err.field, "d", "{bad:?}");
            assert!(matches!(err.rule, Rule::Invisible(_)), "{bad:?}");
        }
        assert!(required("t", "Kroměříž\u{202E}", 100).is_err());
        assert!(optional("d", Some("a\tb\n\nc"), 100).is_ok());
        // Joiners and soft hyphens are not direction marks.
        assert!(optional("d", Some("a\u{00AD}b\u{200D}c"), 100).is_ok());
    }

    #[test]
    fn length_is_bounded() {
        let err = required("title", &"a".repeat(11), 10).unwrap_err();
        assert_eq!(err.field, "title");
    }

    #[test]
    fn fold_strips_case_and_diacritics() {
        assert_eq!(fold("Pečovatelská SLUŽBA"), "pecovatelska sluzba");
        assert_eq!(fold("KROMĚŘÍŽ"), "kromeriz");
    }
}
