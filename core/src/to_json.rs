//! Writing core types as JSON text: serde's derives through serde_json, in one place so every
//! caller writes the same way (a core type always serializes; numbers that are not finite are
//! written as null, as `JSON.stringify` writes them).

use serde::Serialize;
use serde_json::Value;

pub fn to_string<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("core types serialize (string keys only)")
}

/// The JSON a type writes, as a value: for tests and for values built from typed parts.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Value {
    serde_json::to_value(v).expect("core types serialize (string keys only)")
}

/// A JSON string appended to `out`, escaped as serde_json escapes it.
pub fn string(out: &mut String, s: &str) {
    out.push_str(&to_string(s));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        from_x: u32,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        #[serde(skip_serializing_if = "Option::is_none")]
        row: Option<u32>,
        long_name: &'static str,
        #[serde(flatten)]
        inner: Inner,
        kind: Kind,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        InProgress,
    }

    #[test]
    fn derived_objects_rename_skip_and_flatten() {
        let o = Outer { row: None, long_name: "n", inner: Inner { from_x: 2 }, kind: Kind::InProgress };
        assert_eq!(to_string(&o), r#"{"longName":"n","fromX":2,"kind":"in_progress"}"#);
        let o = Outer { row: Some(3), ..o };
        assert_eq!(to_string(&o), r#"{"row":3,"longName":"n","fromX":2,"kind":"in_progress"}"#);
        assert_eq!(to_value(&(vec![Some(1.5), None], f64::NAN)), json!([[1.5, null], null]));
    }
}
