//! The one shared serializer between JavaScript values and core types.

use crate::error::ApiError;
use rowbatch_core::{Error, Problem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// Plain objects for maps, numbers for 64-bit integers: what hosts (and `JSON.stringify`) expect.
const SERIALIZER: serde_wasm_bindgen::Serializer = serde_wasm_bindgen::Serializer::json_compatible();

/// Decode `input`, run `f`, encode its answer; any failure becomes a thrown `RowbatchError`.
pub fn call<I, O>(
    input: JsValue,
    f: impl FnOnce(I) -> rowbatch_core::error::Result<O>,
) -> Result<JsValue, JsValue>
where
    I: DeserializeOwned,
    O: Serialize,
{
    let input = decode(input)?;
    let output = f(input).map_err(ApiError::from)?;
    Ok(encode(&output)?)
}

/// Decodes a JS value, naming the JSON path of anything wrong in it.
///
/// Goes through `serde_json::Value` rather than straight into `T`: serde-wasm-bindgen reads only
/// the fields a struct declares, so a misspelt field would be silently ignored instead of
/// rejected, and this way every host gets the very messages native code gets. As in
/// `JSON.stringify`, NaN and ±Infinity arrive as null.
pub fn decode<T: DeserializeOwned>(js: JsValue) -> Result<T, ApiError> {
    let json: serde_json::Value = serde_wasm_bindgen::from_value(js).map_err(|e| {
        let message = e.to_string();
        let message = message.strip_prefix("Error: ").unwrap_or(&message);
        ApiError::Core(Error::invalid(Problem::new("(input)", "plain JSON data").found(message)))
    })?;
    Ok(rowbatch_core::decode::from_json(json)?)
}

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, ApiError> {
    value.serialize(&SERIALIZER).map_err(|e| ApiError::Encode(e.to_string()))
}
