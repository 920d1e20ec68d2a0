//! The one shared serializer between JavaScript values and core types.

use crate::error::ApiError;
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
pub fn decode<T: DeserializeOwned>(js: JsValue) -> Result<T, ApiError> {
    Ok(rowbatch_core::decode::located(serde_wasm_bindgen::Deserializer::from(js))?)
}

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, ApiError> {
    value.serialize(&SERIALIZER).map_err(|e| ApiError::Encode(e.to_string()))
}
