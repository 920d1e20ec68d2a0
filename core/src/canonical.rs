//! The canonical form of a row: what two rows must share to be "the same row".
//!
//! Per cell: Unicode NFC, trimmed, every run of whitespace (including line breaks and
//! no-break spaces) collapsed to one space; empty text and the configured null tokens become
//! empty; text spelled as a JSON number becomes that number; `true`/`false` in any case become
//! booleans. Numbers have one spelling (see [`number`]). The row is then written as a JSON array
//! that starts with the version tag, so the form is unambiguous, readable in a test vector, and
//! changes to these rules can only ever produce a new version, never new bytes for an old one.

use crate::cell::Cell;
use icu_normalizer::ComposingNormalizerBorrowed;

/// Bumped whenever any rule above changes; it is hashed into every signature.
pub const VERSION: u32 = 1;
const TAG: &str = "rowbatch.sig.v1";

/// Text that means "no value" in the sheets people send us, compared case-insensitively after
/// normalisation. `#N/A` is what `getValues()` returns for a lookup error.
pub const DEFAULT_NULL_TOKENS: [&str; 4] = ["n/a", "na", "#n/a", "null"];

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Bool(bool),
    /// Already in canonical spelling.
    Number(String),
    Text(String),
}

/// Null tokens prepared once per call, normalised like cell text. They match ignoring ASCII
/// case only: Unicode case tables would cost the module ~10 KB for tokens that are ASCII in
/// practice ("N/A", "null", "—").
pub struct NullTokens(Vec<String>);

impl NullTokens {
    pub fn new<S: AsRef<str>>(tokens: &[S]) -> Self {
        Self(tokens.iter().map(|t| text(t.as_ref())).collect())
    }

    pub fn none() -> Self {
        Self(Vec::new())
    }

    fn matches(&self, normalised: &str) -> bool {
        self.0.iter().any(|t| t.eq_ignore_ascii_case(normalised))
    }
}

impl Default for NullTokens {
    fn default() -> Self {
        Self::new(&DEFAULT_NULL_TOKENS)
    }
}

/// Why a cell has no canonical form. Only numbers that JSON cannot hold (NaN, ±∞) get here.
#[derive(Debug, Clone, PartialEq)]
pub struct NotFinite;

pub fn value(cell: &Cell, nulls: &NullTokens) -> Result<Value, NotFinite> {
    Ok(match cell {
        Cell::Empty => Value::Empty,
        Cell::Bool(b) => Value::Bool(*b),
        Cell::Number(n) => Value::Number(number(*n).ok_or(NotFinite)?),
        Cell::Text(raw) => {
            let t = text(raw);
            if t.is_empty() || nulls.matches(&t) {
                Value::Empty
            } else if let Some(n) = json_number(&t) {
                Value::Number(n)
            } else if t.eq_ignore_ascii_case("true") {
                Value::Bool(true)
            } else if t.eq_ignore_ascii_case("false") {
                Value::Bool(false)
            } else {
                Value::Text(t)
            }
        }
    })
}

/// NFC, trimmed, inner whitespace runs collapsed to one space.
pub fn text(raw: &str) -> String {
    // Most cells are already canonical ASCII: copying them skips a scan by Unicode whitespace,
    // which was 14 % of a profile of keying and planning 100,000 rows.
    if is_plain(raw) {
        return raw.to_owned();
    }
    // ASCII is always NFC; skipping the normaliser keeps the common case fast.
    let nfc: std::borrow::Cow<str> =
        if raw.is_ascii() { raw.into() } else { ComposingNormalizerBorrowed::new_nfc().normalize(raw) };
    let mut out = String::with_capacity(nfc.len());
    for word in nfc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Non-empty ASCII text that [`text`] leaves as it is.
pub fn is_plain(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.first().is_some_and(|&c| c != b' ')
        && b.last().is_some_and(|&c| c != b' ')
        && b.iter().all(|&c| c.is_ascii() && !(b'\t'..=b'\r').contains(&c))
        && !b.windows(2).any(|w| w == b"  ")
}

/// One spelling per number: integers below 10^15 as digits, other values between 10^-6 and
/// 10^15 in shortest round-trip decimal, the rest in shortest round-trip exponent form.
/// `-0` is `0`. `None` for NaN and infinities.
pub fn number(n: f64) -> Option<String> {
    if !n.is_finite() {
        return None;
    }
    let a = n.abs();
    Some(if n == 0.0 {
        "0".to_owned()
    } else if a < 1e15 && n.fract() == 0.0 {
        format!("{}", n as i64)
    } else if (1e-6..1e15).contains(&a) {
        format!("{n}")
    } else {
        format!("{n:e}")
    })
}

/// Text that is exactly a JSON number (no leading zeros, no `+`, no thousands separators: "007"
/// is an identifier, not seven), in canonical spelling.
fn json_number(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let int_len = digits(&mut i);
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    number(crate::decode::number(t)?)
}

/// The row's canonical bytes: `["rowbatch.sig.v1", v1, v2, …]` with the values in spec order.
pub fn row(values: &[Value]) -> String {
    let mut out = String::with_capacity(32 + values.len() * 16);
    out.push('[');
    push_json_str(&mut out, TAG);
    for v in values {
        out.push(',');
        match v {
            Value::Empty => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n),
            Value::Text(t) => push_json_str(&mut out, t),
        }
    }
    out.push(']');
    out
}

fn push_json_str(out: &mut String, s: &str) {
    // serde_json's escaping, byte for byte (core::to_json's tests compare the two): signatures
    // made before and after must match.
    crate::to_json::string(out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(cell: Cell) -> Value {
        value(&cell, &NullTokens::default()).unwrap()
    }

    #[test]
    fn whitespace_is_trimmed_and_collapsed() {
        assert_eq!(text("  a \t\n b\u{00a0}\u{2003}c  "), "a b c");
    }

    #[test]
    fn combining_accents_compose() {
        assert_eq!(text("Cafe\u{0301}"), "Caf\u{e9}");
    }

    #[test]
    fn numbers_have_one_spelling() {
        assert_eq!(number(42.0).unwrap(), "42");
        assert_eq!(number(-0.0).unwrap(), "0");
        assert_eq!(number(0.1).unwrap(), "0.1");
        assert_eq!(number(1e21).unwrap(), "1e21");
        assert_eq!(number(1.5e-7).unwrap(), "1.5e-7");
        assert_eq!(number(123456789012345.0).unwrap(), "123456789012345");
        assert_eq!(number(1e15).unwrap(), "1e15");
        assert_eq!(number(f64::NAN), None);
        assert_eq!(number(f64::INFINITY), None);
    }

    #[test]
    fn text_spelled_as_a_json_number_is_that_number() {
        for (t, n) in [("42", "42"), ("42.0", "42"), ("-3.50", "-3.5"), ("1E3", "1000"), (" 7 ", "7")] {
            assert_eq!(canon(Cell::Text(t.into())), Value::Number(n.into()), "{t}");
        }
        for t in ["007", "+5", ".5", "1,000", "5.", "1e", "--1", "0x10", "1e400", "12 kg"] {
            assert!(matches!(canon(Cell::Text(t.into())), Value::Text(_)), "{t}");
        }
    }

    #[test]
    fn booleans_and_null_tokens() {
        assert_eq!(canon(Cell::Text("TRUE".into())), Value::Bool(true));
        assert_eq!(canon(Cell::Text(" False ".into())), Value::Bool(false));
        for t in ["", "   ", "N/A", "n/a", "#N/A", "NULL", "na"] {
            assert_eq!(canon(Cell::Text(t.into())), Value::Empty, "{t:?}");
        }
        let custom = NullTokens::new(&["—", "Unknown"]);
        assert_eq!(value(&Cell::Text("unknown".into()), &custom).unwrap(), Value::Empty);
        assert_eq!(value(&Cell::Text("N/A".into()), &custom).unwrap(), Value::Text("N/A".into()));
    }

    #[test]
    fn row_is_a_tagged_json_array() {
        let r = row(&[
            Value::Text("a \"q\"".into()),
            Value::Number("1.5".into()),
            Value::Bool(false),
            Value::Empty,
        ]);
        assert_eq!(r, r#"["rowbatch.sig.v1","a \"q\"",1.5,false,null]"#);
        let parsed: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 5);
    }
}
