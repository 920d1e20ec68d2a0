//! What the driver asks of its host, and what the host tells it back.
//!
//! Every step returns a list of [`Command`]s; the host performs them in order and answers with
//! one [`Event`]: the clock after the last of them, and one result per command (null for those
//! that return nothing). The host decides nothing: which sheet, which rows, which cells (already
//! safe as Sheets text), which requests, which property, which trigger — all come from here. API
//! keys never cross: a fetch names the Property that holds the key, and the host adds it.

use crate::cell::Cell;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// How long a host waits for the script lock before the execution gives up (Apps Script's
/// `waitLock` takes at most 30 s... and throws after it).
pub const LOCK_WAIT_MS: u64 = 30_000;
/// Ledger blocks start under the header row.
pub const LEDGER_FIRST_ROW: u64 = 2;

/// A command, written as `{"op": "<name>", ...its fields}` (camelCase).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Command {
    /// Script Properties, one read: `{name: text | null}`.
    GetProps {
        keys: Vec<&'static str>,
    },
    /// Sets (or, for `None`, deletes) Script Properties.
    SetProps {
        #[serde(serialize_with = "pairs")]
        set: Vec<(&'static str, Option<String>)>,
    },
    /// The script lock, waiting at most `waitMs`; a host that cannot get it ends the execution.
    Lock {
        wait_ms: u64,
    },
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
    /// The first `width` columns under the header as a block (`{firstRow, rows}`), read as the
    /// open-ended A1 `range` (`A2:E` runs to the last row); null when the sheet does not exist.
    Read {
        sheet: String,
        width: usize,
        range: String,
        first_row: u64,
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
        #[serde(serialize_with = "pairs")]
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
        #[serde(serialize_with = "pairs")]
        headers: Vec<(String, String)>,
        body: Option<String>,
        #[serde(serialize_with = "optional_pairs")]
        form: Option<Vec<(String, String)>>,
        file_name: Option<String>,
        file: Option<String>,
    },
    /// Deletes every trigger of the `delete` handlers; keeps exactly one recurring `every`
    /// trigger (`{handler, minutes}`); creates the one-shot `after` triggers (`{handler, ms}`).
    Triggers {
        delete: Vec<&'static str>,
        #[serde(serialize_with = "every_json")]
        every: Option<(&'static str, u32)>,
        #[serde(serialize_with = "after_json")]
        after: Vec<(&'static str, f64)>,
    },
    /// One `fetchAll` of `count` POSTs to the script's own web app (`ScriptApp.getService()
    /// .getUrl()`, action `work`, with the web app's secret): each is a worker execution of the
    /// `work` flow. Result: one `{ok, result}` per call as the web app answered it, or `{ok:
    /// false, error}` when the call got no answer (a timeout throws the whole `fetchAll`).
    Workers {
        count: u32,
        /// The Script Property holding the web app's secret.
        secret: &'static str,
    },
    /// `Utilities.sleep(ms)`: the execution waits (a retry due in a few seconds, cheaper than a
    /// trigger that starts 30–90 s late).
    Sleep {
        ms: u64,
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
    pub fn lock() -> Self {
        Self::Lock { wait_ms: LOCK_WAIT_MS }
    }

    /// The first `width` columns of `sheet` under its header.
    /// Row 1 of a sheet, `width` columns: the header a sheet already had.
    pub fn header_row(sheet: impl Into<String>, width: usize) -> Self {
        Self::Read {
            sheet: sheet.into(),
            width,
            range: format!("A1:{}1", column_letters(width)),
            first_row: 1,
        }
    }

    pub fn read(sheet: impl Into<String>, width: usize) -> Self {
        let range = format!("A{LEDGER_FIRST_ROW}:{}", column_letters(width));
        Self::Read { sheet: sheet.into(), width, range, first_row: LEDGER_FIRST_ROW }
    }
}

/// Pairs written as a JSON object, in their order.
fn pairs<S: Serializer, K: Serialize, V: Serialize>(v: &[(K, V)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, val) in v {
        m.serialize_entry(k, val)?;
    }
    m.end()
}

fn optional_pairs<S: Serializer>(v: &Option<Vec<(String, String)>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(p) => pairs(p, s),
        None => s.serialize_none(),
    }
}

#[derive(Serialize)]
struct Every<'a> {
    handler: &'a str,
    minutes: u32,
}

#[derive(Serialize)]
struct After<'a> {
    handler: &'a str,
    ms: u64,
}

fn every_json<S: Serializer>(v: &Option<(&'static str, u32)>, s: S) -> Result<S::Ok, S::Error> {
    v.map(|(handler, minutes)| Every { handler, minutes }).serialize(s)
}

fn after_json<S: Serializer>(v: &[(&'static str, f64)], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for (handler, ms) in v {
        seq.serialize_element(&After { handler, ms: ms.round() as u64 })?;
    }
    seq.end()
}

pub use crate::layout::column_letters;

/// What the host observed: the clock after the last command, and each command's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub now: f64,
    #[serde(default)]
    pub results: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: &Command) -> String {
        serde_json::to_string(c).unwrap()
    }

    #[test]
    fn column_letters_count_in_base_26_without_zero() {
        let got: Vec<String> = [1, 5, 26, 27, 52, 53, 702, 703].into_iter().map(column_letters).collect();
        assert_eq!(got, ["A", "E", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn commands_are_written_with_their_op_and_fields() {
        assert_eq!(
            text(&Command::read("Output", 5)),
            r#"{"op":"read","sheet":"Output","width":5,"range":"A2:E","firstRow":2}"#
        );
        let set = Command::SetProps { set: vec![("A", Some("x".into())), ("B", None)] };
        assert_eq!(text(&set), r#"{"op":"setProps","set":{"A":"x","B":null}}"#);
        let t = Command::Triggers { delete: vec!["f"], every: Some(("h", 10)), after: vec![("g", 1000.0)] };
        assert_eq!(
            text(&t),
            r#"{"op":"triggers","delete":["f"],"every":{"handler":"h","minutes":10},"after":[{"handler":"g","ms":1000}]}"#
        );
        assert_eq!(text(&Command::lock()), r#"{"op":"lock","waitMs":30000}"#);
        assert_eq!(text(&Command::Unlock), r#"{"op":"unlock"}"#);
        let w = Command::Write {
            sheet: "S".into(),
            row: 3,
            col: 1,
            values: vec![vec![Cell::Empty, Cell::Number(1.5)]],
            step: 0,
        };
        assert_eq!(text(&w), r#"{"op":"write","sheet":"S","row":3,"col":1,"values":[[null,1.5]],"step":0}"#);
    }

    #[test]
    fn an_event_with_a_field_it_does_not_know_is_refused() {
        assert!(serde_json::from_str::<Event>(r#"{"now":1,"results":[null]}"#).is_ok());
        let e = serde_json::from_str::<Event>(r#"{"now":1,"result":[]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `result`"), "{e}");
    }
}
