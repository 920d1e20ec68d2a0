//! Writing core types as JSON text: the output half of [`crate::read`].
//!
//! serde's derived serializers are instantiated with serde_json's serializer for every type;
//! [`ToJson`] (derived by `rowbatch-derive` from the types' `#[serde(...)]` attributes) writes
//! straight into one `String` through the shared writers below. The text is what serde_json
//! wrote before, byte for byte: the same escapes, the same shortest form of every number.

use serde_json::Value;
use std::fmt::Write;

pub use rowbatch_derive::ToJson;

/// A type written as JSON.
pub trait ToJson {
    fn write(&self, out: &mut String);

    /// A struct's fields without its braces, for `#[serde(flatten)]`.
    fn write_fields(&self, _out: &mut String, _first: &mut bool) {}
}

pub fn to_string<T: ToJson + ?Sized>(v: &T) -> String {
    let mut out = String::new();
    v.write(&mut out);
    out
}

/// The JSON a type writes, parsed: for tests and for values built from typed parts.
pub fn to_value<T: ToJson + ?Sized>(v: &T) -> Value {
    crate::decode::value(to_string(v).as_bytes()).unwrap_or_default()
}

/// One member of an object; `key` comes quoted, with its colon.
pub fn field<T: ToJson + ?Sized>(out: &mut String, first: &mut bool, key: &str, value: &T) {
    if !std::mem::take(first) {
        out.push(',');
    }
    out.push_str(key);
    value.write(out);
}

/// A JSON string, escaped as serde_json escapes it: quotes, backslashes and control characters.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl ToJson for str {
    fn write(&self, out: &mut String) {
        string(out, self);
    }
}

impl ToJson for String {
    fn write(&self, out: &mut String) {
        string(out, self);
    }
}

impl ToJson for bool {
    fn write(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
integers!(u16, u32, u64, usize);

impl ToJson for f64 {
    /// The shortest text that reads back as the same number (serde_json's); null when not finite.
    fn write(&self, out: &mut String) {
        if self.is_finite() {
            out.push_str(zmij::Buffer::new().format_finite(*self));
        } else {
            out.push_str("null");
        }
    }
}

impl ToJson for Value {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write(&self, out: &mut String) {
        (**self).write(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write(&self, out: &mut String) {
        match self {
            Some(v) => v.write(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.write(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write(&self, out: &mut String) {
        self.as_slice().write(out);
    }
}

impl<T: ToJson, const N: usize> ToJson for [T; N] {
    fn write(&self, out: &mut String) {
        self.as_slice().write(out);
    }
}

impl<A: ToJson, B: ToJson> ToJson for (A, B) {
    fn write(&self, out: &mut String) {
        out.push('[');
        self.0.write(out);
        out.push(',');
        self.1.write(out);
        out.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_and_numbers_are_written_as_serde_json_writes_them() {
        for s in
            ["plain", "quote \" and \\ back", "lines\n\r\t\u{8}\u{c}", "\u{1}\u{1f}\u{7f}", "é 😀 \u{202e}"]
        {
            assert_eq!(to_string(s), serde_json::to_string(s).unwrap(), "{s}");
        }
        for n in [0.0, 1.0, -2.5, 0.1 + 0.2, 1e21, 1.5e-7, 123456789.125, f64::MAX] {
            assert_eq!(to_string(&n), serde_json::to_string(&n).unwrap());
        }
        assert_eq!(to_string(&f64::NAN), "null");
        assert_eq!(to_string(&u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn containers_nest() {
        let v: (Vec<Option<u32>>, [String; 1]) = (vec![Some(1), None], ["x".into()]);
        assert_eq!(to_value(&v), json!([[1, null], ["x"]]));
        assert_eq!(to_string(&json!({"a": [1, "b"]})), r#"{"a":[1,"b"]}"#);
    }

    #[derive(ToJson)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        from_x: u32,
    }

    #[derive(ToJson)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        #[serde(skip_serializing_if = "Option::is_none")]
        row: Option<u32>,
        long_name: &'static str,
        #[serde(flatten)]
        inner: Inner,
        kind: Kind,
    }

    #[derive(ToJson)]
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
    }
}
