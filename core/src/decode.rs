//! Decoding host input with the JSON path of every mistake. Every host's input arrives here as
//! JSON text (the wasm layer stringifies it), so the same bad input gets the same located error
//! in every host.

use crate::error::{Error, Problem, Result};

pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    from_slice(text.as_bytes())
}

/// [`from_str`] for UTF-8 bytes, as the wasm layer receives them.
pub fn from_slice<T: serde::de::DeserializeOwned>(text: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| Error::invalid(Problem::from_serde(&e.path().to_string(), &e.inner().to_string())))?;
    de.end().map_err(|e| Error::invalid(Problem::new("(input)", "one JSON value").found(e.to_string())))?;
    Ok(value)
}
