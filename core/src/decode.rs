//! Decoding host input with the JSON path of every mistake. Every host's input arrives here as a
//! `serde_json::Value` (the wasm layer converts first), so the same bad input gets the same
//! located error in every host.

use crate::error::{Error, Problem, Result};

pub fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| Error::invalid(Problem::from_serde(&e.path().to_string(), &e.inner().to_string())))
}
