//! The crate's one error type. Its JS form is an `Error` named `RowbatchError` that carries a
//! stable `code` beside the message, and the located problems as `data`.

use wasm_bindgen::JsValue;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Core(#[from] rowbatch_core::Error),
    #[error("could not hand the result back to JavaScript: {0}")]
    Encode(String),
    #[error("no random source ({0}); in Apps Script the crypto.getRandomValues polyfill must load first")]
    Random(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::Encode(_) => "encode_failed",
            ApiError::Random(_) => "random_unavailable",
        }
    }
}

impl From<ApiError> for JsValue {
    fn from(e: ApiError) -> JsValue {
        let js = js_sys::Error::new(&e.to_string());
        js.set_name("RowbatchError");
        let set = |key: &str, value: &JsValue| {
            // Setting a property on a fresh Error object cannot fail.
            let _ = js_sys::Reflect::set(&js, &JsValue::from_str(key), value);
        };
        set("code", &JsValue::from_str(e.code()));
        if let ApiError::Core(core) = &e
            && let Ok(data) = crate::codec::encode(core.problems())
        {
            set("data", &data);
        }
        js.into()
    }
}
