//! Czech collation (ČSN 97 6030, simplified to what names need): `ch` is a
//! letter of its own after `h`; `č ř š ž` follow `c r s z`; other accents only
//! break ties. The key sorts byte-wise, so both databases order by it alike.

use crate::text::fold;

/// Primary order of the Czech alphabet; `#` stands for `ch`.
const ALPHABET: &str = "0123456789aábcčdďeéěfgh#iíjklmnňoópqrřsštťuúůvwxyýzž";
/// Letters whose accent is only a secondary difference.
const SECONDARY: &[(char, char)] = &[
    ('á', 'a'),
    ('ď', 'd'),
    ('é', 'e'),
    ('ě', 'e'),
    ('í', 'i'),
    ('ň', 'n'),
    ('ó', 'o'),
    ('ť', 't'),
    ('ú', 'u'),
    ('ů', 'u'),
    ('ý', 'y'),
];

/// A byte string that sorts `s` in Czech order: primary letters first,
/// then accents, then the original text as the last tie-breaker.
pub fn sort_key(s: &str) -> String {
    let lower: Vec<char> = s.to_lowercase().chars().collect();
    let mut primary = String::new();
    let mut secondary = String::new();
    let mut i = 0;
    while i < lower.len() {
        let c = lower[i];
        if c == 'c' && lower.get(i + 1) == Some(&'h') {
            push_rank(&mut primary, '#');
            secondary.push('0');
            i += 2;
            continue;
        }
        match SECONDARY.iter().find(|(accented, _)| *accented == c) {
            Some((_, base)) => {
                push_rank(&mut primary, *base);
                secondary.push('1');
            }
            None if ALPHABET.contains(c) => {
                push_rank(&mut primary, c);
                secondary.push('0');
            }
            None if c.is_alphanumeric() => {
                // Letters outside the Czech alphabet sort by their base letter.
                for base in fold(&c.to_string()).chars() {
                    push_rank(&mut primary, base);
                }
                secondary.push('2');
            }
            None => primary.push(' '), // spaces and punctuation separate words
        }
        i += 1;
    }
    format!("{primary}\u{1}{secondary}\u{1}{s}")
}

fn push_rank(key: &mut String, c: char) {
    match ALPHABET.chars().position(|a| a == c) {
        // Two base-36-like characters keep the key ASCII and byte-sortable.
        Some(rank) => {
            key.push(char::from(b'A' + (rank / 26) as u8));
            key.push(char::from(b'a' + (rank % 26) as u8));
        }
        None => key.push_str("~~"),
    }
}

#[cfg(test)]
mod tests {
    use super::sort_key;

    fn sorted(words: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        v.sort_by_key(|w| sort_key(w));
        v
    }

    #[test]
    fn ch_sorts_after_h() {
        assert_eq!(
            sorted(&["Chomutov", "Hradec", "Cheb", "Ivančice"]),
            ["Hradec", "Cheb", "Chomutov", "Ivančice"]
        );
    }

    #[test]
    fn hacek_letters_follow_their_base_letter() {
        assert_eq!(
            sorted(&["Čáslav", "Dačice", "Cvikov"]),
            ["Cvikov", "Čáslav", "Dačice"]
        );
        assert_eq!(
            sorted(&["Řevnice", "Sadská", "Rakovník"]),
            ["Rakovník", "Řevnice", "Sadská"]
        );
    }

    #[test]
    fn acute_accents_only_break_ties() {
        assert_eq!(
            sorted(&["Kroměříž", "Krnov", "Klatovy", "Karlovy Vary"]),
            ["Karlovy Vary", "Klatovy", "Krnov", "Kroměříž"]
        );
        assert_eq!(sorted(&["dál", "dal", "dale"]), ["dal", "dál", "dale"]);
    }
}
