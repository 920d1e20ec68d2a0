//! A spreadsheet cell as hosts hand it over: what `Range.getValues()` yields once dates have been
//! turned into ISO text by the host.

use crate::read::{At, FromJson, Read};
use crate::write::ToJson;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Bool(bool),
    Number(f64),
    Text(String),
}

impl ToJson for Cell {
    fn write(&self, out: &mut String) {
        match self {
            Cell::Empty => out.push_str("null"),
            Cell::Bool(b) => b.write(out),
            Cell::Number(n) => n.write(out),
            Cell::Text(t) => t.write(out),
        }
    }
}

impl FromJson for Cell {
    fn read(v: Value, at: &At) -> Read<Self> {
        Ok(match v {
            Value::Null => Cell::Empty,
            Value::Bool(b) => Cell::Bool(b),
            Value::Number(n) => Cell::Number(n.as_f64().unwrap_or_default()),
            Value::String(s) => Cell::Text(s),
            other => return Err(at.wrong(&other, "a cell value: text, a number, true/false or empty")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_map_to_cells() {
        let cells = Vec::<Cell>::read(serde_json::json!(["a", 1.5, 2, true, null]), &At::Root("")).unwrap();
        assert_eq!(
            cells,
            vec![Cell::Text("a".into()), Cell::Number(1.5), Cell::Number(2.0), Cell::Bool(true), Cell::Empty]
        );
    }

    #[test]
    fn objects_are_rejected_with_what_a_cell_may_hold() {
        let err =
            Vec::<Cell>::read(serde_json::json!(["a", {"a": 1}]), &At::Root("rows")).unwrap_err().to_string();
        assert_eq!(
            err,
            "rows[1]: expected a cell value: text, a number, true/false or empty, found an object"
        );
    }
}
