//! rowbatch-core: every decision of a rowbatch job as a pure function.
//!
//! No clock, no network, no randomness and no wasm in here: hosts (Apps Script, the browser,
//! Node, native tests) pass time, responses and seeds in, and get decisions out, so every
//! decision can be replayed from a recorded input.

pub mod batchapi;
pub mod budget;
pub mod canonical;
pub mod cell;
pub mod decode;
pub mod error;
pub mod estimate;
pub mod finding;
pub mod form;
pub mod ingest;
pub mod keys;
pub mod layout;
pub mod ledger;
pub mod path;
pub mod plan;
pub mod price;
pub mod prompt;
pub mod provider;
pub mod quality;
pub mod quota;
pub mod ratelimit;
pub mod read;
pub mod reconcile;
pub mod report;
pub mod retry;
pub mod rules;
pub mod run;
pub mod run_record;
pub mod schema;
pub mod signature;
pub mod spec;
pub mod to_json;
pub mod validate;

pub use cell::Cell;
pub use error::{Error, Problem};
use serde::Serialize;

/// What made a result: reported by hosts in run reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    pub core: &'static str,
    pub signature_version: u32,
}

impl Versions {
    pub fn current() -> Self {
        Self { core: env!("CARGO_PKG_VERSION"), signature_version: canonical::VERSION }
    }
}
