//! A spreadsheet cell as hosts hand it over: what `Range.getValues()` yields once dates have been
//! turned into ISO text by the host.

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Bool(bool),
    Number(f64),
    Text(String),
}

impl serde::Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Empty => s.serialize_none(),
            Cell::Bool(b) => s.serialize_bool(*b),
            Cell::Number(n) => s.serialize_f64(*n),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Cell {
    /// Any JSON scalar; a list or an object is not a cell.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Cell;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a cell value: text, a number, true/false or empty")
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell::Empty)
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell::Empty)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Cell, E> {
                Ok(Cell::Bool(b))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Cell, E> {
                Ok(Cell::Number(n))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Cell, E> {
                Ok(Cell::Number(n as f64))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Cell, E> {
                Ok(Cell::Number(n as f64))
            }
            fn visit_str<E>(self, s: &str) -> Result<Cell, E> {
                Ok(Cell::Text(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Cell, E> {
                Ok(Cell::Text(s))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Text as it must be written to a sheet to stay this text. Sheets types what a script writes
/// as if a person typed it (numbers, `1,000`, `12%`, `$5`, `(5)`, `TRUE`, dates such as
/// `2026-01-02`, `1/2` or `Jan 2, 2026`, times, formulas after `=`, `+`, `-`, `@`) and drops a
/// leading apostrophe; a leading apostrophe is also what keeps text text. So any text that
/// starts like one of those gets one. The apostrophe is not shown and `getValues` does not
/// return it; erring towards adding it costs nothing. Every cell the run writes comes through
/// here (the driver's commands carry cells ready); a runtime test writes samples through the
/// exported `sheetText` and reads them back.
pub fn sheet_text(s: &str) -> String {
    if needs_apostrophe(s) { format!("'{s}") } else { s.to_owned() }
}

fn needs_apostrophe(s: &str) -> bool {
    let t = s.trim_start();
    let Some(first) = t.chars().next() else { return false };
    if first.is_ascii_digit() || "=+-@'.$€£¥(".contains(first) {
        return true;
    }
    let word = t.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or_default().to_ascii_lowercase();
    let month = word.len() >= 3
        && ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            .iter()
            .any(|m| word.starts_with(m) && m.len() <= word.len());
    let rest = &t[word.len()..];
    word == "true" && rest.trim().is_empty()
        || word == "false" && rest.trim().is_empty()
        || month
            && rest.trim_start_matches('.').starts_with([' ', ','])
            && rest.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_sheets_would_retype_keeps_an_apostrophe() {
        for typed in [
            "007",
            "1,000",
            "12%",
            "$5",
            "(5)",
            "TRUE",
            "false",
            "2026-01-02",
            "1/2",
            "Jan 2, 2026",
            "march 3 2026",
            "10:30",
            "=1+1",
            "+5",
            "-x",
            "@me",
            "'quoted",
            ".5",
            " 42",
        ] {
            assert_eq!(sheet_text(typed), format!("'{typed}"), "{typed}");
        }
        for text in [
            "SIM-001",
            "sinus_ecg",
            "Chest pain",
            "Truer words",
            "May the force",
            "Mayday",
            "",
            "N/A",
            "true story",
        ] {
            assert_eq!(sheet_text(text), text, "{text}");
        }
    }

    #[test]
    fn json_values_map_to_cells() {
        let cells = crate::read::at::<Vec<Cell>>("", serde_json::json!(["a", 1.5, 2, true, null])).unwrap();
        assert_eq!(
            cells,
            vec![Cell::Text("a".into()), Cell::Number(1.5), Cell::Number(2.0), Cell::Bool(true), Cell::Empty]
        );
    }

    #[test]
    fn objects_are_rejected_with_what_a_cell_may_hold() {
        let err =
            crate::read::at::<Vec<Cell>>("rows", serde_json::json!(["a", {"a": 1}])).unwrap_err().to_string();
        assert_eq!(
            err,
            "rows[1]: expected a cell value: text, a number, true/false or empty, found an object"
        );
    }
}
