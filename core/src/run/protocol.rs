//! What the driver asks of its host, and what the host tells it back.
//!
//! Every step returns a list of [`Command`]s; the host performs them in order and answers with
//! one [`Event`]: the clock after the last of them, and one result per command (null for those
//! that return nothing). The host decides nothing: which sheet, which rows, which cells (already
//! safe as Sheets text), which requests, which property, which trigger — all come from here. API
//! keys never cross: a fetch names the Property that holds the key, and the host adds it.

use crate::cell::Cell;
use crate::read::FromJson;
use crate::to_json::{self, ToJson};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Script Properties, one read: `{name: text | null}`.
    GetProps {
        keys: Vec<&'static str>,
    },
    /// Sets (or, for `None`, deletes) Script Properties.
    SetProps {
        set: Vec<(&'static str, Option<String>)>,
    },
    /// The script lock (`waitMs`); a host that cannot get it ends the execution.
    Lock,
    Unlock,
    /// `SpreadsheetApp.flush()`: what was written is in the sheet before the lock is released.
    Flush,
    /// The text of cell A1 of `sheet`, or null when the sheet does not exist.
    ReadCell {
        sheet: &'static str,
    },
    /// The input block: `{header, rows, firstRow}` (dates as ISO text, blanks null); null when
    /// the sheet does not exist. No `sheet`: the spreadsheet's first sheet.
    ReadInput {
        sheet: Option<String>,
        header_row: u64,
    },
    /// The sheet, made with this header (and hidden) when it does not exist.
    Sheet {
        name: String,
        header: Vec<Cell>,
        hidden: bool,
    },
    /// The first `width` columns under the header as a block; null when the sheet does not
    /// exist. Written with the A1 `range` to read and its `firstRow`.
    Read {
        sheet: String,
        width: usize,
    },
    /// `setValues` at (row, col), growing the sheet first (`step` rows at least) when needed.
    Write {
        sheet: String,
        row: u64,
        col: u64,
        values: Vec<Vec<Cell>>,
        step: u64,
    },
    /// Rows written under the sheet's last row (the sheet made with `header` if missing).
    Append {
        sheet: String,
        header: Vec<Cell>,
        values: Vec<Vec<Cell>>,
    },
    /// The sheet (made if missing) cleared and written from A1.
    Replace {
        sheet: String,
        values: Vec<Vec<Cell>>,
    },
    /// Whether the user's or the script's Properties hold `name` (the key never comes back).
    HasKey {
        name: String,
    },
    /// One `fetchAll` of POSTs; the key from Property `key` goes in as `auth` says. Result: one
    /// `{status, headers, body}` per body (status 0 when there was no response).
    Fetch {
        url: String,
        auth: &'static str,
        key: String,
        headers: Vec<(String, String)>,
        bodies: Vec<String>,
    },
    /// One HTTP call of a Batch API (`UrlFetchApp.fetch`): a JSON `body`, or a multipart
    /// `form` whose field `file` is `file` named `fileName`. Result: `{status, body}`.
    Call {
        method: &'static str,
        url: String,
        auth: &'static str,
        key: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
        form: Option<Vec<(String, String)>>,
        file: Option<(String, String)>,
    },
    /// Deletes every trigger of the `delete` handlers; keeps exactly one recurring `every`
    /// trigger; creates the one-shot `after` triggers.
    Triggers {
        delete: Vec<&'static str>,
        every: Option<(&'static str, u32)>,
        after: Vec<(&'static str, f64)>,
    },
    /// Whether the script may use `scope` (`ScriptApp.getAuthorizationInfo`).
    MayUse {
        scope: &'static str,
    },
    /// One email; the result is null, or the error's message.
    Mail {
        to: String,
        subject: String,
        body: String,
    },
    /// The active user's email (may be "").
    User,
    Log {
        text: String,
    },
    /// Throws `message`: the execution ends with this error.
    Fail {
        message: String,
    },
    /// The execution's result; the last command.
    Done {
        result: Value,
    },
}

impl Command {
    fn op(&self) -> &'static str {
        match self {
            Self::GetProps { .. } => "getProps",
            Self::SetProps { .. } => "setProps",
            Self::Lock => "lock",
            Self::Unlock => "unlock",
            Self::Flush => "flush",
            Self::ReadCell { .. } => "readCell",
            Self::ReadInput { .. } => "readInput",
            Self::Sheet { .. } => "sheet",
            Self::Read { .. } => "read",
            Self::Write { .. } => "write",
            Self::Append { .. } => "append",
            Self::Replace { .. } => "replace",
            Self::HasKey { .. } => "hasKey",
            Self::Fetch { .. } => "fetch",
            Self::Call { .. } => "call",
            Self::Triggers { .. } => "triggers",
            Self::MayUse { .. } => "mayUse",
            Self::Mail { .. } => "mail",
            Self::User => "user",
            Self::Log { .. } => "log",
            Self::Fail { .. } => "fail",
            Self::Done { .. } => "done",
        }
    }
}

/// How long a host waits for the script lock before the execution gives up (Apps Script's
/// `waitLock` takes at most 30 s... and throws after it).
pub const LOCK_WAIT_MS: u64 = 30_000;
/// Ledger blocks start under the header row.
pub const LEDGER_FIRST_ROW: u64 = 2;

/// A column's letters: 1 → A, 27 → AA.
pub fn column_letters(mut n: usize) -> String {
    let mut s = Vec::new();
    while n > 0 {
        s.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Writes `"name":value` members after the op.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl Obj<'_> {
    fn f<T: ToJson + ?Sized>(&mut self, name: &str, v: &T) -> &mut Self {
        let key = format!("\"{name}\":");
        to_json::field(self.out, &mut self.first, &key, v);
        self
    }
}

struct Pairs<'a, V>(&'a [(&'a str, V)]);

impl<V: ToJson> ToJson for Pairs<'_, V> {
    fn write(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        for (k, v) in self.0 {
            let mut key = String::new();
            to_json::string(&mut key, k);
            key.push(':');
            to_json::field(out, &mut first, &key, v);
        }
        out.push('}');
    }
}

impl ToJson for Command {
    fn write(&self, out: &mut String) {
        out.push('{');
        let mut o = Obj { out, first: true };
        o.f("op", self.op());
        match self {
            Self::GetProps { keys } => {
                o.f("keys", keys);
            }
            Self::SetProps { set } => {
                let pairs: Vec<(&str, Option<&String>)> = set.iter().map(|(k, v)| (*k, v.as_ref())).collect();
                o.f("set", &Pairs(&pairs));
            }
            Self::Lock => {
                o.f("waitMs", &LOCK_WAIT_MS);
            }
            Self::Unlock | Self::Flush | Self::User => {}
            Self::ReadCell { sheet } => {
                o.f("sheet", sheet);
            }
            Self::ReadInput { sheet, header_row } => {
                o.f("sheet", sheet).f("headerRow", header_row);
            }
            Self::Sheet { name, header, hidden } => {
                o.f("name", name).f("header", header).f("hidden", hidden);
            }
            Self::Read { sheet, width } => {
                // Open-ended (`A2:E` runs to the sheet's last row): one read, whatever the grid.
                let range = format!("A{LEDGER_FIRST_ROW}:{}", column_letters(*width));
                o.f("sheet", sheet).f("width", width).f("range", &range).f("firstRow", &LEDGER_FIRST_ROW);
            }
            Self::Write { sheet, row, col, values, step } => {
                o.f("sheet", sheet).f("row", row).f("col", col).f("values", values).f("step", step);
            }
            Self::Append { sheet, header, values } => {
                o.f("sheet", sheet).f("header", header).f("values", values);
            }
            Self::Replace { sheet, values } => {
                o.f("sheet", sheet).f("values", values);
            }
            Self::HasKey { name } => {
                o.f("name", name);
            }
            Self::Fetch { url, auth, key, headers, bodies } => {
                let h: Vec<(&str, &String)> = headers.iter().map(|(k, v)| (k.as_str(), v)).collect();
                o.f("url", url).f("auth", auth).f("key", key).f("headers", &Pairs(&h)).f("bodies", bodies);
            }
            Self::Call { method, url, auth, key, headers, body, form, file } => {
                let h: Vec<(&str, &String)> = headers.iter().map(|(k, v)| (k.as_str(), v)).collect();
                o.f("method", method)
                    .f("url", url)
                    .f("auth", auth)
                    .f("key", key)
                    .f("headers", &Pairs(&h))
                    .f("body", body);
                let form: Option<Vec<(&str, &String)>> =
                    form.as_ref().map(|f| f.iter().map(|(k, v)| (k.as_str(), v)).collect());
                o.f("form", &form.as_ref().map(|f| Pairs(f)));
                o.f("fileName", &file.as_ref().map(|f| &f.0)).f("file", &file.as_ref().map(|f| &f.1));
            }
            Self::Triggers { delete, every, after } => {
                let every = every.map(|(h, m)| Raw(format!("{{\"handler\":\"{h}\",\"minutes\":{m}}}")));
                o.f("delete", delete).f("every", &every);
                let after: Vec<Raw> = after
                    .iter()
                    .map(|(h, ms)| Raw(format!("{{\"handler\":\"{h}\",\"ms\":{}}}", ms.round() as u64)))
                    .collect();
                o.f("after", &after);
            }
            Self::MayUse { scope } => {
                o.f("scope", scope);
            }
            Self::Mail { to, subject, body } => {
                o.f("to", to).f("subject", subject).f("body", body);
            }
            Self::Log { text } => {
                o.f("text", text);
            }
            Self::Fail { message } => {
                o.f("message", message);
            }
            Self::Done { result } => {
                o.f("result", result);
            }
        }
        out.push('}');
    }
}

/// JSON text written as it is.
struct Raw(String);

impl ToJson for Raw {
    fn write(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// What the host observed: the clock after the last command, and each command's result.
#[derive(Debug, Clone, FromJson, ToJson)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub now: f64,
    #[serde(default)]
    pub results: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_count_in_base_26_without_zero() {
        let got: Vec<String> = [1, 5, 26, 27, 52, 53, 702, 703].into_iter().map(column_letters).collect();
        assert_eq!(got, ["A", "E", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn commands_are_written_with_their_op_and_fields() {
        let read = Command::Read { sheet: "Output".into(), width: 5 };
        assert_eq!(
            to_json::to_string(&read),
            r#"{"op":"read","sheet":"Output","width":5,"range":"A2:E","firstRow":2}"#
        );
        let set = Command::SetProps { set: vec![("A", Some("x".into())), ("B", None)] };
        assert_eq!(to_json::to_string(&set), r#"{"op":"setProps","set":{"A":"x","B":null}}"#);
        let t = Command::Triggers { delete: vec!["f"], every: Some(("h", 10)), after: vec![("g", 1000.0)] };
        assert_eq!(
            to_json::to_string(&t),
            r#"{"op":"triggers","delete":["f"],"every":{"handler":"h","minutes":10},"after":[{"handler":"g","ms":1000}]}"#
        );
        assert_eq!(to_json::to_string(&Command::Lock), r#"{"op":"lock","waitMs":30000}"#);
    }
}
