#!/usr/bin/env python3
"""Writes tests/fixtures/responses.json: provider responses (status, headers, body) in the shapes
the OpenAI and Anthropic APIs document, for the ingest vectors and the fake provider."""
import json, os

here = os.path.dirname(__file__)
root = os.path.join(here, "..", "..")

vitals = {"HR": 88, "BP": "124/78", "SpO2": 97, "RR": 16, "Temp": 37.1, "EtCO2": 38, "waveform": "sinus_ecg"}
clinical_answer = {"initialVitals": vitals,
                   "states": [{"name": "Deteriorates", "trigger": "No treatment", "vitals": dict(vitals, HR=124, BP="98/60")},
                              {"name": "Arrest", "trigger": "Untreated VF", "vitals": dict(vitals, HR=0, BP="50/30", SpO2=70, RR=0, EtCO2=None, waveform="vfib_ecg")}],
                   "teachingPoint": "=1+1 is text, not a formula"}
fixable_answer = dict(clinical_answer, states=[clinical_answer["states"][0], dict(clinical_answer["states"][1], vitals=dict(clinical_answer["states"][1]["vitals"], waveform="VF"))])
# Invalid whatever is fixed: an unknown rhythm has no fix (the impossible HR and the swapped BP do).
invalid_answer = dict(clinical_answer, initialVitals=dict(vitals, HR=500, BP="80/120", waveform="wobbly"))
# An impossible HR the clinical pack's default replaces, with the reason on the row.
impossible_vital = dict(clinical_answer, initialVitals=dict(vitals, HR=500))
brand_answer = {"category": "Apparel & Footwear", "products": ["Air Max", "Jordan"],
                "relationships": [{"kind": "subsidiary", "name": "Converse"}], "insights": ["Strong brand loyalty."]}

RID = "req_0123456789abcdef"
openai_limits = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
                 "x-ratelimit-reset-requests": "120ms", "x-ratelimit-limit-tokens": "200000",
                 "x-ratelimit-remaining-tokens": "198000", "x-ratelimit-reset-tokens": "600ms", "x-request-id": RID}


def openai_ok(content, finish="stop", refusal=None, prompt=1320, cached=1024, completion=210):
    return {"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1795384025,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_0ba0d124f1"}


def openai_error(message, type_, code):
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def anthropic_ok(text, stop="end_turn", usage=None):
    return {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
            "usage": usage or {"input_tokens": 120, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4100,
                               "output_tokens": 230}}


def anthropic_error(type_, message):
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": RID}


anthropic_limits = {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49",
                    "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:01Z",
                    "anthropic-ratelimit-input-tokens-limit": "50000", "anthropic-ratelimit-input-tokens-remaining": "45000",
                    "anthropic-ratelimit-input-tokens-reset": "2027-01-15T08:00:06Z",
                    "anthropic-ratelimit-output-tokens-limit": "10000", "anthropic-ratelimit-output-tokens-remaining": "9000",
                    "anthropic-ratelimit-output-tokens-reset": "2027-01-15T08:00:06Z", "request-id": RID}


def r(status, body, headers=None):
    return {"status": status, "headers": headers or {}, "body": body if isinstance(body, str) else json.dumps(body)}


rate_msg = ("Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 500, Used 500, "
            "Requested 1. Please try again in 2.081s. Visit https://platform.openai.com/account/rate-limits to learn more.")
fixtures = {
    "openai": {
        "success": r(200, openai_ok(json.dumps(clinical_answer)), openai_limits),
        "success_needing_fixes": r(200, openai_ok(json.dumps(fixable_answer)), openai_limits),
        "invalid_answer": r(200, openai_ok(json.dumps(invalid_answer)), openai_limits),
        "impossible_vital_defaulted": r(200, openai_ok(json.dumps(impossible_vital)), openai_limits),
        "refusal": r(200, openai_ok(None, refusal="I'm sorry, but I can't help with that request.", completion=12), openai_limits),
        "truncated": r(200, openai_ok(json.dumps(clinical_answer)[:180], finish="length", completion=900), openai_limits),
        "fenced_json": r(200, openai_ok("Here are the vitals:\n```json\n" + json.dumps(clinical_answer, indent=2) + "\n```\nLet me know if you need more."), openai_limits),
        "prose_around_json": r(200, openai_ok("Sure! " + json.dumps(clinical_answer) + " Hope this helps."), openai_limits),
        "not_json": r(200, openai_ok("I think the heart rate would be about 90."), openai_limits),
        "rate_limited_retry_after": r(429, openai_error(rate_msg, "requests", "rate_limit_exceeded"),
                                      dict(openai_limits, **{"retry-after": "3", "x-ratelimit-remaining-requests": "0"})),
        "rate_limited_retry_after_ms": r(429, openai_error(rate_msg, "requests", "rate_limit_exceeded"),
                                         dict(openai_limits, **{"retry-after-ms": "2081", "x-ratelimit-remaining-requests": "0"})),
        "rate_limited_reset_headers": r(429, openai_error(rate_msg, "tokens", "rate_limit_exceeded"),
                                        dict(openai_limits, **{"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"})),
        "insufficient_quota": r(429, openai_error("You exceeded your current quota, please check your plan and billing details. "
                                                  "For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                                                  "insufficient_quota", "insufficient_quota")),
        "unauthorized": r(401, openai_error("Incorrect API key provided: sk-proj-abc***************wxyz. You can find your "
                                            "API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")),
        "server_error": r(500, openai_error("The server had an error while processing your request. Sorry about that!", "server_error", None)),
        "unavailable": r(503, openai_error("The engine is currently overloaded, please try again later.", "server_error", None)),
        "bad_request": r(400, openai_error("Invalid schema for response_format 'row_output': In context=(), 'required' is required "
                                           "to be supplied and to be an array including every key in properties.", "invalid_request_error", None)),
        "bad_request_for_the_row": r(400, openai_error("This model's maximum context length is 128000 tokens. However, your messages "
                                                       "resulted in 131072 tokens. Please reduce the length of the messages.",
                                                       "invalid_request_error", "context_length_exceeded")),
        "network_failure": {"status": 0, "headers": {}, "body": "Exception: Address unavailable: https://api.openai.com/v1/chat/completions"},
    },
    "anthropic": {
        "success": r(200, anthropic_ok(json.dumps(brand_answer)), anthropic_limits),
        "first_row_writes_the_cache": r(200, anthropic_ok(json.dumps(brand_answer), usage={"input_tokens": 120, "cache_creation_input_tokens": 4100,
                                                                                         "cache_read_input_tokens": 0, "output_tokens": 230}), anthropic_limits),
        "refusal": r(200, anthropic_ok("I can't help with profiling this brand.", stop="refusal"), anthropic_limits),
        "truncated": r(200, anthropic_ok(json.dumps(brand_answer)[:60], stop="max_tokens"), anthropic_limits),
        "fenced_json": r(200, anthropic_ok("```\n" + json.dumps(brand_answer) + "\n```"), anthropic_limits),
        "rate_limited": r(429, anthropic_error("rate_limit_error", "This request would exceed the rate limit for your organization "
                                               "of 50,000 input tokens per minute."),
                          dict(anthropic_limits, **{"retry-after": "5", "anthropic-ratelimit-input-tokens-remaining": "0"})),
        "rate_limited_reset_only": r(429, anthropic_error("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
                                     dict(anthropic_limits, **{"anthropic-ratelimit-input-tokens-remaining": "0"})),
        "overloaded": r(529, anthropic_error("overloaded_error", "Overloaded")),
        "credit_too_low": r(400, anthropic_error("invalid_request_error", "Your credit balance is too low to access the Anthropic API. "
                                                 "Please go to Plans & Billing to upgrade or purchase credits.")),
        "unauthorized": r(401, anthropic_error("authentication_error", "invalid x-api-key")),
        "too_large": r(413, anthropic_error("request_too_large", "Request exceeds the maximum allowed number of bytes.")),
    },
}

path = os.path.join(root, "tests", "fixtures", "responses.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump({"about": "Provider responses in the documented shapes: tools/vectors/provider_fixtures.py.",
               "fixtures": fixtures}, f, ensure_ascii=False, indent=2)
    f.write("\n")
print(f"{sum(len(v) for v in fixtures.values())} fixtures -> {os.path.normpath(path)}")
