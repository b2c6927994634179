//! Czech text analysis for search, the same for documents and queries:
//! words folded (lower case, diacritics dropped) and stemmed with the light
//! stemmer of Dolamic & Savoy ("Indexing and stemming approaches for the
//! Czech language", 2009), the algorithm of Lucene's `CzechStemmer` and of
//! Elasticsearch's `czech` analyzer. The stemmer runs on folded words, with
//! its suffixes folded too, so that `domovů` and `domovu`, `pečovatelského`
//! and `pecovatelskeho` meet.

use crate::text::fold;

/// One analysed word of a text: its term and where it stands in the text
/// (Unicode scalar values, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub term: String,
    /// The folded word before stemming (prefix matching compares with it).
    pub folded: String,
    pub start: usize,
    pub end: usize,
}

/// The words of `text`, analysed. A word is a run of ASCII letters or of
/// digits after folding (`CZ032` is `cz` and `032`), so that both databases'
/// tokenizers see exactly these terms.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    let mut flush = |word: &mut String, start: usize, end: usize| {
        if !word.is_empty() {
            out.push(Token {
                term: stem(word),
                folded: std::mem::take(word),
                start,
                end,
            });
        }
    };
    let mut end = 0;
    for (i, c) in text.chars().enumerate() {
        for f in fold(c.encode_utf8(&mut [0; 4])).chars() {
            let joins = word
                .chars()
                .last()
                .is_some_and(|l| l.is_ascii_digit() == f.is_ascii_digit());
            if !f.is_ascii_alphanumeric() || !joins {
                flush(&mut word, start, end);
            }
            if f.is_ascii_alphanumeric() {
                if word.is_empty() {
                    start = i;
                }
                word.push(f);
                end = i + 1;
            }
        }
    }
    flush(&mut word, start, end);
    out
}

/// The terms of `text`, space-separated: what the databases index.
pub fn terms(text: &str) -> String {
    let mut out = String::new();
    for t in tokens(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t.term);
    }
    out
}

/// Function words a query skips outside a phrase (folded; they stay
/// indexed, so a phrase still finds them).
const STOP_WORDS: &[&str] = &[
    "a", "aby", "ale", "ani", "az", "by", "bez", "ci", "co", "do", "i", "jak", "jako", "je", "jen",
    "k", "ke", "na", "nad", "nebo", "o", "od", "po", "pod", "pro", "pri", "s", "se", "si", "ta",
    "tak", "to", "u", "v", "ve", "z", "za", "ze",
];

/// Shortest last word of a query that also matches as a prefix (type-ahead).
pub const MIN_PREFIX: usize = 3;
/// Most terms a query may have.
pub const MAX_TERMS: usize = 32;

/// One condition of a query; a hit meets all of a query's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryTerm {
    /// The term.
    Word(String),
    /// The last word as typed so far: its term, or a term starting with its folded form.
    Prefix { term: String, prefix: String },
    /// `"…"`: these terms one after the other, in one field.
    Phrase(Vec<String>),
}

impl QueryTerm {
    /// Whether a word of a text (its token) is one this condition looks for.
    pub fn marks(&self, t: &Token) -> bool {
        match self {
            QueryTerm::Word(w) => *w == t.term,
            QueryTerm::Prefix { term, prefix } => {
                *term == t.term || t.term.starts_with(prefix.as_str())
            }
            QueryTerm::Phrase(ws) => ws.contains(&t.term),
        }
    }
}

/// A query as people type it: words, `"…"` for a phrase, and the last word
/// matching as a prefix while it is being typed (no space after it).
pub fn query(text: &str) -> Vec<QueryTerm> {
    let mut words = Vec::new();
    let mut phrases = Vec::new();
    for (i, part) in text.split('"').enumerate() {
        let toks = tokens(part);
        if i % 2 == 1 {
            match toks.len() {
                0 => {}
                1 => words.extend(toks),
                _ => phrases.push(QueryTerm::Phrase(
                    toks.into_iter().map(|t| t.term).collect(),
                )),
            }
        } else {
            words.extend(toks);
        }
    }
    let typing =
        text.split('"').count() % 2 == 1 && text.chars().last().is_some_and(char::is_alphanumeric);
    let last = if typing { words.pop() } else { None };
    // Too short to narrow anything as a prefix: a word like the others.
    let last = match last {
        Some(t) if t.folded.len() < MIN_PREFIX => {
            words.push(t);
            None
        }
        last => last,
    };
    let content = words
        .iter()
        .any(|t| !STOP_WORDS.contains(&t.folded.as_str()))
        || last.is_some()
        || !phrases.is_empty();
    let mut out: Vec<QueryTerm> = Vec::new();
    let mut push = |q: QueryTerm| {
        if !out.contains(&q) {
            out.push(q);
        }
    };
    for t in words {
        if !content || !STOP_WORDS.contains(&t.folded.as_str()) {
            push(QueryTerm::Word(t.term));
        }
    }
    if let Some(t) = last {
        push(QueryTerm::Prefix {
            term: t.term,
            prefix: t.folded,
        });
    }
    phrases.into_iter().for_each(push);
    out
}

/// The stem of a folded word (lower-case ASCII letters; anything else is
/// returned as it is): case endings, then possessive suffixes, then the
/// normalisation of the stem's last letters.
pub fn stem(word: &str) -> String {
    if !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_owned();
    }
    let mut s = word.as_bytes().to_vec();
    let len = remove_case(&s);
    s.truncate(len);
    let len = remove_possessives(&s);
    s.truncate(len);
    if !s.is_empty() {
        normalize(&mut s);
    }
    String::from_utf8(s).unwrap_or_default()
}

fn ends(s: &[u8], suffixes: &[&str]) -> bool {
    suffixes.iter().any(|x| s.ends_with(x.as_bytes()))
}

/// The algorithm's case endings, folded (`ětem` and `etem` are both `etem`).
fn remove_case(s: &[u8]) -> usize {
    let len = s.len();
    if len > 7 && ends(s, &["atech"]) {
        return len - 5;
    }
    if len > 6 && ends(s, &["etem", "atum"]) {
        return len - 4;
    }
    if len > 5
        && ends(
            s,
            &[
                "ech", "ich", "eho", "emi", "emu", "ete", "eti", "iho", "imi", "imu", "ach", "ata",
                "aty", "ych", "ama", "ami", "ove", "ovi", "ymi",
            ],
        )
    {
        return len - 3;
    }
    if len > 4
        && ends(
            s,
            &[
                "em", "es", "im", "um", "at", "am", "os", "us", "ym", "mi", "ou",
            ],
        )
    {
        return len - 2;
    }
    if len > 3 && matches!(s[len - 1], b'a' | b'e' | b'i' | b'o' | b'u' | b'y') {
        return len - 1;
    }
    len
}

fn remove_possessives(s: &[u8]) -> usize {
    let len = s.len();
    if len > 5 && ends(s, &["ov", "in", "uv"]) {
        return len - 2;
    }
    len
}

/// `čt` -> `ck`, `št` -> `sk`, `[cč]` -> `k`, `[zž]` -> `h`, `e*` -> `*`,
/// `ů*` -> `o*` (folded: `u*` -> `o*`, so `dům` meets `domy`).
fn normalize(s: &mut Vec<u8>) {
    let len = s.len();
    if s.ends_with(b"ct") || s.ends_with(b"st") {
        s[len - 1] = b'k';
        return;
    }
    match s[len - 1] {
        b'c' => s[len - 1] = b'k',
        b'z' => s[len - 1] = b'h',
        _ if len > 1 && s[len - 2] == b'e' => {
            s.remove(len - 2);
        }
        _ if len > 2 && s[len - 2] == b'u' => s[len - 2] = b'o',
        _ => {}
    }
}

/// How many of the query's conditions words of `text` meet.
pub fn matched(text: &str, query: &[QueryTerm]) -> usize {
    let toks = tokens(text);
    query
        .iter()
        .filter(|q| toks.iter().any(|t| q.marks(t)))
        .count()
}

/// An excerpt of a text and where the words a query looks for stand in it
/// (Unicode scalar values, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
}

/// About `width` characters of `text` from a little before its first marked
/// word, whitespace collapsed, `…` where it is cut.
pub fn snippet(text: &str, query: &[QueryTerm], width: usize) -> Snippet {
    let chars: Vec<char> = text.chars().collect();
    let marked: Vec<Token> = tokens(text)
        .into_iter()
        .filter(|t| query.iter().any(|q| q.marks(t)))
        .collect();
    let first = marked.first().map_or(0, |t| t.start);
    let mut start = first.saturating_sub(width / 3);
    let end = (start + width).min(chars.len());
    start = end.saturating_sub(width).min(start);
    // Start at a word, not inside one.
    while start > 0 && start < first && !chars[start - 1].is_whitespace() {
        start += 1;
    }
    let mut out = String::new();
    let mut len = 0;
    if start > 0 {
        out.push('…');
        len += 1;
    }
    // Where each character of the window lands in the excerpt.
    let mut at = vec![0; end - start + 1];
    let mut space = false;
    for (k, &c) in chars[start..end].iter().enumerate() {
        if c.is_whitespace() {
            space = len > usize::from(start > 0);
        } else {
            if space {
                out.push(' ');
                len += 1;
                space = false;
            }
            out.push(c);
            len += 1;
        }
        at[k] = len - usize::from(!c.is_whitespace());
    }
    let highlights = marked
        .iter()
        .filter(|t| t.start >= start && t.end <= end)
        .map(|t| (at[t.start - start], at[t.end - 1 - start] + 1))
        .collect();
    if end < chars.len() {
        out.push('…');
    }
    Snippet {
        text: out,
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(words: &str) -> Vec<String> {
        tokens(words).into_iter().map(|t| t.term).collect()
    }

    fn all_meet(words: &str, expected: &str) {
        for (w, s) in words.split_whitespace().zip(stems(words)) {
            assert_eq!(s, expected, "{w}");
        }
    }

    /// Examples of the published algorithm (Lucene's `TestCzechStemmer`),
    /// their expected stems folded.
    #[test]
    fn inflected_forms_meet_as_in_the_published_algorithm() {
        all_meet(
            "pán páni pánové pána pánů pánovi pánům pány páne pánech pánem",
            "pan",
        );
        all_meet("hrad hradu hrade hradem hrady hradech hradům hradů", "hrad");
        all_meet("muž muži muže mužů mužům mužích mužem", "muh");
        all_meet(
            "stroj stroje strojů stroji strojům strojích strojem",
            "stroj",
        );
        all_meet(
            "předseda předsedové předsedy předsedů předsedovi předsedům předsedu předsedo předsedech předsedou",
            "predsd",
        );
        all_meet("soudce soudci soudců soudcům soudcích soudcem", "soudk");
        all_meet(
            "žena ženy žen ženě ženám ženu ženo ženách ženou ženami",
            "zn",
        );
        all_meet("růže růží růžím růžích růžemi", "ruh");
    }

    /// Folded, `št` is `st`: the algorithm's `št` -> `sk` applies to both, so
    /// `kost` stems to `kosk` (Lucene: `kost`); its forms still meet.
    #[test]
    fn st_folds_with_st_hacek() {
        all_meet("kost kosti kostí kostem kostech kostmi", "kosk");
        all_meet(
            "město města měst městu městům městě městech městem městy",
            "mesk",
        );
        all_meet("lidský lidští lidských", "lidsk");
    }

    #[test]
    fn domov_in_every_case_meets() {
        all_meet(
            "domov domovy domovů domovech domovem domova domovu domovům",
            "domov",
        );
        all_meet("dům domy domů domech domem domu domům", "dom");
    }

    #[test]
    fn with_and_without_diacritics_meet() {
        for (a, b) in [
            ("pečovatelského", "pecovatelskeho"),
            ("pečovatelská", "PECOVATELSKA"),
            ("Račín", "racin"),
            ("krizových", "krizovych"),
            ("psychiatři", "psychiatri"),
            ("dobrovolníků", "dobrovolniku"),
            ("domovů", "domovu"),
            ("Kroměříži", "kromerizi"),
        ] {
            assert_eq!(stems(a), stems(b), "{a} / {b}");
        }
    }

    #[test]
    fn words_of_the_issue_meet_their_documents() {
        for (typed, written) in [
            ("domovech", "domovů"),
            ("krizové byty", "krizových bytů"),
            ("psychiatři", "psychiatrů"),
            ("dobrovolníci", "dobrovolníků"),
            ("azylový dům", "azylových domů"),
            ("Alzheimerova choroba", "Alzheimerovou chorobou"),
            ("domov pro seniory", "domovů pro seniory"),
            ("lékaři", "lékařům"),
        ] {
            assert_eq!(stems(typed), stems(written), "{typed} / {written}");
        }
    }

    #[test]
    fn tokens_know_where_they_stand_in_scalar_values() {
        let t = tokens("Dům „Račín“, CZ032");
        let spans: Vec<_> = t
            .iter()
            .map(|t| (t.folded.as_str(), t.start, t.end))
            .collect();
        assert_eq!(
            spans,
            [
                ("dum", 0, 3),
                ("racin", 5, 10),
                ("cz", 13, 15),
                ("032", 15, 18)
            ]
        );
    }

    #[test]
    fn a_query_skips_function_words_and_types_ahead_its_last_word() {
        assert_eq!(
            query("domov pro seni"),
            [
                QueryTerm::Word("domov".into()),
                QueryTerm::Prefix {
                    term: "sn".into(),
                    prefix: "seni".into()
                }
            ]
        );
        assert_eq!(query("domov pro "), [QueryTerm::Word("domov".into())]);
        assert_eq!(
            query("pro"),
            [QueryTerm::Prefix {
                term: "pro".into(),
                prefix: "pro".into()
            }]
        );
        assert_eq!(query("a "), [QueryTerm::Word("a".into())]);
        assert_eq!(query("  "), []);
    }

    fn marked(s: &Snippet) -> Vec<String> {
        let chars: Vec<char> = s.text.chars().collect();
        s.highlights
            .iter()
            .map(|&(a, b)| chars[a..b].iter().collect())
            .collect()
    }

    #[test]
    fn highlights_point_at_the_matched_words() {
        let text = format!(
            "{} Domov  pro\nseniory Klatovy, domovů {}",
            "slovo ".repeat(40),
            "konec ".repeat(40)
        );
        let s = snippet(&text, &query("DOMOVECH senior"), 60);
        assert!(s.text.starts_with('…') && s.text.ends_with('…'), "{s:?}");
        assert_eq!(marked(&s), ["Domov", "seniory", "domovů"], "{s:?}");
        let short = snippet("Azylový dům Račín", &query("azylovy dum"), 160);
        assert_eq!(short.text, "Azylový dům Račín");
        assert_eq!(short.highlights, [(0, 7), (8, 11)]);
        assert_eq!(matched("Azylový dům Račín", &query("dum racin seniori")), 2);
    }

    #[test]
    fn quotes_make_a_phrase() {
        assert_eq!(
            query("\"domy na půl cesty\" Klatovy"),
            [
                QueryTerm::Prefix {
                    term: "klat".into(),
                    prefix: "klatovy".into()
                },
                QueryTerm::Phrase(vec!["dom".into(), "na".into(), "pol".into(), "cesk".into()]),
            ]
        );
        assert_eq!(query("\"Račín\""), [QueryTerm::Word("racin".into())]);
        // An unclosed quote is a phrase to the end.
        assert_eq!(
            query("\"krizové byty"),
            [QueryTerm::Phrase(vec!["krih".into(), "byt".into()])]
        );
    }
}
