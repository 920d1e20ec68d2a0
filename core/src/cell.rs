//! A spreadsheet cell as hosts hand it over: what `Range.getValues()` yields once dates have been
//! turned into ISO text by the host.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Empty => s.serialize_none(),
            Cell::Bool(b) => s.serialize_bool(*b),
            Cell::Number(n) => s.serialize_f64(*n),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

// Hand-written rather than `#[serde(untagged)]`: the untagged error ("did not match any variant")
// would not tell the user what a cell may hold.
impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl Visitor<'_> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a cell value: text, a number, true/false or empty")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Empty)
    }
    fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Empty)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Cell, E> {
        Ok(Cell::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cell, E> {
        Ok(Cell::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cell, E> {
        Ok(Cell::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell, E> {
        Ok(Cell::Number(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cell, E> {
        Ok(Cell::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Cell, E> {
        Ok(Cell::Text(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_map_to_cells() {
        let cells: Vec<Cell> = serde_json::from_str(r#"["a", 1.5, 2, true, null]"#).unwrap();
        assert_eq!(
            cells,
            vec![Cell::Text("a".into()), Cell::Number(1.5), Cell::Number(2.0), Cell::Bool(true), Cell::Empty]
        );
    }

    #[test]
    fn objects_are_rejected_with_what_a_cell_may_hold() {
        let err = serde_json::from_str::<Cell>(r#"{"a":1}"#).unwrap_err().to_string();
        assert!(err.contains("text, a number, true/false or empty"), "{err}");
    }
}
