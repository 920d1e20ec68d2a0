#!/usr/bin/env python3
"""Writes the inputs of tests/vectors/provider.json: request bodies for both providers, every
recorded response (tests/fixtures/responses.json) through ingest, capacity and job estimates.
`UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors` fills in the outputs."""
import copy, csv, json, os

import vectorfile

here = os.path.dirname(__file__)
root = os.path.join(here, "..", "..")
load = lambda *p: json.load(open(os.path.join(root, *p), encoding="utf-8"))
clinical, brands = load("examples", "clinical", "job.json"), load("examples", "brands", "job.json")
fixtures = load("tests", "fixtures", "responses.json")["fixtures"]
with open(os.path.join(root, "examples", "clinical", "scenarios.csv"), encoding="utf-8") as f:
    table = list(csv.reader(f))
header, rows = table[0], [[int(c) if c.isdigit() else (c or None) for c in r] for r in table[1:]]
brand_header = ["Brand", "Website", "Parent_Company"]
brand_rows = [["Nike", "https://www.nike.com", "Nike Inc."], ["Converse", "https://www.converse.com", "Nike Inc."]]

ollama = copy.deepcopy(clinical)
ollama["provider"] = {"kind": "openai", "model": "llama3.1", "baseUrl": "http://localhost:11434/v1", "maxOutputTokens": 900}
del ollama["budget"]

NOW = 1_800_000_000_000
SEED = "00112233445566778899aabbccddeeff"
items = [{"key": "SIM-001", "signature": "SIG_a", "row": rows[0]},
         {"key": "SIM-002", "signature": "SIG_b", "row": rows[1],
          "reask": {"answer": "{\"initialVitals\": {\"HR\": 500}}", "problems": ["initialVitals.HR: expected at most 300, found 500"], "count": 1}}]

cases = [
    {"name": "openai: request bodies for two rows, one of them re-asked", "fn": "buildRequests",
     "input": {"spec": clinical, "header": header, "items": items}},
    {"name": "anthropic: request bodies with the cached system prefix", "fn": "buildRequests",
     "input": {"spec": brands, "header": brand_header,
               "items": [{"key": "Nike", "signature": "SIG_n", "row": brand_rows[0]}]}},
    {"name": "an OpenAI-compatible server gets no prompt_cache_key", "fn": "buildRequests",
     "input": {"spec": ollama, "header": header, "items": items[:1]}},
    {"name": "buildRequests: a header without the spec's columns", "fn": "buildRequests",
     "input": {"spec": clinical, "header": ["Case_ID"], "items": items[:1]},
     "error": {"code": "invalid_input", "paths": ["header", "header", "header"]}},
]

for provider, spec in (("openai", clinical), ("anthropic", brands)):
    for name, response in fixtures[provider].items():
        attempt = 2 if "rate_limited" in name else 1
        reasks = 1 if name == "invalid_answer" else 0
        cases.append({"name": f"ingest {provider}: {name.replace('_', ' ')}", "fn": "ingest", "input": {
            "spec": spec, "now": NOW, "seed": SEED,
            "sent": [{"key": "K1", "signature": "SIG_k1", "attempt": attempt, "reasks": reasks, "reserveUsd": 0.01}],
            "responses": [response],
            "budget": {"maxUsd": spec["budget"]["maxUsd"], "spentUsd": 0.5, "reservedUsd": 0.01}}})

cases += [
    {"name": "ingest: an invalid answer is re-asked while re-asks remain", "fn": "ingest", "input": {
        "spec": clinical, "now": NOW, "seed": SEED, "sent": [{"key": "K1", "signature": "SIG_k1"}],
        "responses": [fixtures["openai"]["invalid_answer"]]}},
    {"name": "ingest: a wave with a 429 among answers halves the limiter", "fn": "ingest", "input": {
        "spec": clinical, "now": NOW, "seed": SEED,
        "sent": [{"key": "K1", "signature": "S1"}, {"key": "K2", "signature": "S2"}, {"key": "K3", "signature": "S3"}],
        "responses": [fixtures["openai"]["success"], fixtures["openai"]["rate_limited_retry_after"], fixtures["openai"]["unavailable"]]}},
    {"name": "ingest: responses and sent must pair up", "fn": "ingest", "input": {
        "spec": clinical, "now": NOW, "seed": SEED, "sent": [{"key": "K1", "signature": "S1"}], "responses": []},
     "error": {"code": "invalid_input", "paths": ["responses"]}},
    {"name": "capacity of a fresh job", "fn": "capacity", "input": {"spec": clinical, "now": NOW}},
    {"name": "capacity: a spent limiter and a nearly spent budget", "fn": "capacity", "input": {
        "spec": brands, "now": NOW + 6000, "rowBytes": 400, "budget": {"maxUsd": 1, "spentUsd": 0.98, "reservedUsd": 0.01},
        "limiter": {"requests": {"limit": 50, "available": 0}, "tokens": {"limit": 50000, "available": 100},
                    "outputTokens": {"limit": 10000, "available": 2500}, "factor": 0.5, "at": NOW, "lastSuccess": NOW}}},
    {"name": "estimate of the clinical example", "fn": "estimateJob", "input": {"spec": clinical, "header": header, "rows": rows}},
    {"name": "estimate of brands with an observed rate", "fn": "estimateJob", "input": {
        "spec": brands, "header": brand_header, "rows": brand_rows * 3, "observed": {"rows": 40, "ms": 60000}}},
]

path = os.path.join(root, "tests", "vectors", "provider.json")
vectorfile.write(path, "Golden vectors for request bodies, response ingestion (every fixture in "
                 "tests/fixtures/responses.json), capacity and estimates. Inputs: tools/vectors/provider_inputs.py; "
                 "outputs written by the Rust core (UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors).", cases)
