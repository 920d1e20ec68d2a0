//! Error classes from status, body and headers: retry the row, give up on the row, or stop the
//! whole job before another cent is spent.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Class {
    /// Try again later: 408, 409, 429 rate limits, 5xx, 529, network failures, timeouts.
    Transient,
    /// This row will not succeed as it is: 400, 413, 422, refusals, answers still invalid.
    Permanent,
    /// No row will succeed until a person acts: 401, 403, 404, out of credit.
    Fatal,
    /// The host's platform refused the call for today (Apps Script's "Service invoked too many
    /// times for one day: urlfetch."): nothing reached the provider; the run pauses.
    Quota,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub class: Class,
    /// `rate_limited`, `server_error`, `overloaded`, `network`, `bad_request`, `too_large`,
    /// `unauthorized`, `forbidden`, `not_found`, `out_of_credit`, …
    pub code: String,
    /// What happened and, for fatal errors, what to do; never contains the API key.
    pub message: String,
}

fn verdict(class: Class, code: &str, message: String) -> Verdict {
    Verdict { class, code: code.to_owned(), message }
}

/// The provider's own error type, code and message, from either provider's error body.
fn error_fields(body: &str) -> (String, String, String, String) {
    let v: Value = crate::decode::value(body.as_bytes()).unwrap_or(Value::Null);
    let e = v.get("error").unwrap_or(&Value::Null);
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    (s("type"), s("code"), s("message"), s("param"))
}

/// A 400 about the request's form rather than the row: the output schema outside the
/// provider's subset (OpenAI: "Invalid schema for response_format …", `param`
/// "response_format"; Anthropic: "output_config.format.schema: …"), a field the endpoint does
/// not take ("Unrecognized request argument supplied", "Extra inputs are not permitted"). Every
/// row would get it: the job stops at once instead of failing each row.
fn request_form(text: &str, param: &str) -> bool {
    param.starts_with("response_format")
        || [
            "Invalid schema for response_format",
            "Unrecognized request argument",
            "Extra inputs are not permitted",
            "output_config",
            "output_format",
        ]
        .iter()
        .any(|m| text.contains(m))
}

/// Classifies a response that is not a success. `status` 0 means no HTTP response at all (the
/// host could not connect, or timed out).
pub fn classify(status: u16, headers: &BTreeMap<String, String>, body: &str) -> Verdict {
    let (kind, code, text, param) = error_fields(body);
    let said = if text.is_empty() { String::new() } else { format!(": {}", clip(&text)) };
    let lower = format!("{kind} {code} {text}").to_ascii_lowercase();
    let out_of_credit = lower.contains("insufficient_quota")
        || lower.contains("billing_hard_limit")
        || lower.contains("credit balance")
        || lower.contains("spend limit");
    if out_of_credit {
        return verdict(
            Class::Fatal,
            "out_of_credit",
            format!(
                "the provider says the account has no credit left{said}. Add credit or raise the spend \
                 limit in the provider's billing settings, then resume the job"
            ),
        );
    }
    let should_retry = headers.get("x-should-retry").map(|v| v.trim().eq_ignore_ascii_case("true"));
    if status == 0 && body.contains("Service invoked too many times for one day") {
        return verdict(
            Class::Quota,
            "daily_quota",
            format!("Apps Script refused the request for today ({}); the run pauses", clip(body)),
        );
    }
    match status {
        0 => verdict(Class::Transient, "network", format!("no response from the provider{said}")),
        401 => verdict(
            Class::Fatal,
            "unauthorized",
            format!(
                "the provider refused the API key (401){said}. Set a valid key in rowbatch's settings \
                 (it is kept in the script's Properties), then resume"
            ),
        ),
        403 => verdict(
            Class::Fatal,
            "forbidden",
            format!(
                "the key may not use this model or endpoint (403){said}. Check the key's permissions and provider.model"
            ),
        ),
        404 => verdict(
            Class::Fatal,
            "not_found",
            format!(
                "the provider does not know this model or URL (404){said}. Check provider.model and provider.baseUrl"
            ),
        ),
        408 => verdict(Class::Transient, "timeout", format!("the request timed out (408){said}")),
        409 => verdict(Class::Transient, "conflict", format!("the provider reported a conflict (409){said}")),
        429 => verdict(Class::Transient, "rate_limited", format!("rate limited (429){said}")),
        529 => verdict(Class::Transient, "overloaded", format!("the provider is overloaded (529){said}")),
        500..=599 => verdict(Class::Transient, "server_error", format!("server error ({status}){said}")),
        413 => verdict(
            Class::Permanent,
            "too_large",
            format!("the request is too large for the model (413){said}"),
        ),
        400 if request_form(&text, &param) => verdict(
            Class::Fatal,
            "request_refused",
            format!(
                "the provider refused the request itself (400){said}; every row would get this. Check \
                 provider.model, provider.structuredOutputs and output.schema, then resume"
            ),
        ),
        400 | 422 => verdict(
            Class::Permanent,
            "bad_request",
            format!("the provider rejected the request ({status}){said}"),
        ),
        _ if should_retry == Some(true) => {
            verdict(Class::Transient, "retryable", format!("HTTP {status}{said}"))
        }
        _ => verdict(Class::Permanent, "http_error", format!("HTTP {status}{said}")),
    }
}

/// Provider messages can be long; a cell note needs the gist. Anything shaped like a key goes:
/// OpenAI's 401 message quotes the (masked) key it was given.
fn clip(s: &str) -> String {
    static KEY: std::sync::OnceLock<regex_lite::Regex> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| {
        regex_lite::Regex::new(r"(?i)\b(sk-|bearer\s+)[A-Za-z0-9_*.\-]{4,}").expect("key pattern")
    });
    let redacted = key.replace_all(s.trim(), "[key removed]");
    crate::finding::clip(&redacted, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_quoted_by_the_provider_never_reach_the_message() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-proj-abc***************wxyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let v = classify(401, &BTreeMap::new(), body);
        assert_eq!((v.class, v.code.as_str()), (Class::Fatal, "unauthorized"));
        assert!(!v.message.contains("sk-") && !v.message.contains("wxyz"), "{}", v.message);
        assert!(v.message.contains("[key removed]"));
    }

    #[test]
    fn a_400_about_the_request_form_stops_the_job_a_400_about_the_row_does_not() {
        let none = BTreeMap::new();
        let openai = r#"{"error":{"message":"Invalid schema for response_format 'row_output': In context=('properties', 'name'), 'minLength' is not permitted.","type":"invalid_request_error","param":"response_format","code":null}}"#;
        let anthropic = r#"{"type":"error","error":{"type":"invalid_request_error","message":"output_config.format.schema: For 'integer' type, property 'minimum' is not supported"}}"#;
        let field = r#"{"type":"error","error":{"type":"invalid_request_error","message":"temperature: Extra inputs are not permitted"}}"#;
        for body in [openai, anthropic, field] {
            let v = classify(400, &none, body);
            assert_eq!((v.class, v.code.as_str()), (Class::Fatal, "request_refused"), "{body}");
            assert!(v.message.contains("every row would get this"));
        }
        let row = r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        assert_eq!(classify(400, &none, row).class, Class::Permanent);
    }

    #[test]
    fn a_daily_quota_is_its_own_class() {
        let v = classify(0, &BTreeMap::new(), "Service invoked too many times for one day: urlfetch.");
        assert_eq!((v.class, v.code.as_str()), (Class::Quota, "daily_quota"));
        assert_eq!(classify(0, &BTreeMap::new(), "Address unavailable: https://x").class, Class::Transient);
    }

    #[test]
    fn x_should_retry_decides_unknown_statuses() {
        let mut h = BTreeMap::new();
        assert_eq!(classify(418, &h, "").class, Class::Permanent);
        h.insert("x-should-retry".to_owned(), "true".to_owned());
        assert_eq!(classify(418, &h, "").class, Class::Transient);
    }
}
