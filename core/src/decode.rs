//! Decoding host input with the JSON path of every mistake, whatever the source format
//! (serde_json in native code and tests, serde-wasm-bindgen across the wasm boundary), so the
//! same bad input gets the same located error in every host.

use crate::error::{Error, Problem, Result};
use serde::{Deserialize, Deserializer};

pub fn located<'de, D, T>(d: D) -> Result<T>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    serde_path_to_error::deserialize(d)
        .map_err(|e| Error::invalid(Problem::from_serde(&e.path().to_string(), &e.inner().to_string())))
}

/// [`located`] for a parsed JSON value.
pub fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    located(value)
}
