#!/usr/bin/env python3
"""Writes the inputs of tests/vectors/validation.json from the example jobs;
`UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors` fills in the outputs."""
import copy, json, os, sys

import vectorfile

here = os.path.dirname(__file__)
root = os.path.join(here, "..", "..")
clinical = json.load(open(os.path.join(root, "examples", "clinical", "job.json"), encoding="utf-8"))
brands = json.load(open(os.path.join(root, "examples", "brands", "job.json"), encoding="utf-8"))
header = ["Case_ID", "Title", "Age", "Presentation"]
vitals = {"HR": 88, "BP": "124/78", "SpO2": 97, "RR": 16, "Temp": 37.1, "EtCO2": 38, "waveform": "sinus_ecg"}
good = {"initialVitals": dict(vitals), "states": [{"name": "a", "trigger": "x", "vitals": dict(vitals)},
                                                   {"name": "b", "trigger": "y", "vitals": dict(vitals)}], "teachingPoint": "t"}

def with_(doc, path, value):
    d = copy.deepcopy(doc)
    cur = d
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return d

bad_shape = copy.deepcopy(clinical)
bad_shape["colour"] = "blue"
bad_shape["limits"]["waveSize"] = 0
bad_meaning = copy.deepcopy(clinical)
bad_meaning["input"]["key"] = "CaseID"
bad_meaning["prompt"]["template"] = "{{Titel}}"

cases = [
    {"name": "the clinical example spec", "fn": "checkSpec", "input": {"spec": clinical}},
    {"name": "the brands example spec", "fn": "checkSpec", "input": {"spec": brands}},
    {"name": "every shape problem at once", "fn": "checkSpec", "input": {"spec": bad_shape},
     "error": {"code": "invalid_input", "paths": ["limits.waveSize", "colour"]}},
    {"name": "every meaning problem at once", "fn": "checkSpec", "input": {"spec": bad_meaning},
     "error": {"code": "invalid_input", "paths": ["input.key", "prompt.template"]}},
    {"name": "spec missing", "fn": "checkSpec", "input": {},
     "error": {"code": "invalid_input", "paths": ["spec"]}},
    {"name": "clinical rows with seeded errors", "fn": "validateRows", "input": {"spec": clinical, "header": header, "rows": [
        ["SIM-001", "Chest pain", 54, "Crushing chest pain for an hour"],
        ["SIM-2", "Sepsis", "seventy", "Fever and hypotension"],
        ["SIM-003", "Asthma", "9", "Severe wheeze, tripod position"],
        ["SIM-004", "", "N/A", "Short"],
        [None, "", None, None],
        ["SIM-005", "Héat stroke 🥵", 150, "Collapsed during a marathon, confused"],
        ["SIM-006", "<b>Burns</b>", 33, "=IMPORTXML(\"http://x\",\"//a\") is just text here"]]}},
    {"name": "a header missing a column", "fn": "validateRows", "input": {"spec": clinical,
        "header": ["Case_ID", "Title", "Presentation"], "rows": [["SIM-001", "x", "y"]]}},
    {"name": "brand rows", "fn": "validateRows", "input": {"spec": brands, "header": ["Brand", "Website", "Parent_Company"],
        "rows": [["Nike", "https://www.nike.com", "Nike Inc."], ["Converse", "converse.com", "Nike Inc."], ["", "https://x.com", "y"]]}},
    {"name": "a good answer", "fn": "validateAnswer", "input": {"spec": clinical, "answer": good}},
    {"name": "the seed-note violations in an answer", "fn": "validateAnswer", "input": {"spec": clinical, "answer":
        with_(with_(with_(with_(with_(good, ["initialVitals", "HR"], 500), ["initialVitals", "BP"], "80/120"),
            ["initialVitals", "SpO2"], 140), ["states", 0, "vitals", "waveform"], "sinus"),
            ["states", 1, "vitals"], dict(vitals, waveform="VF", HR=90))}},
    {"name": "an answer with an extra field and a wrong type", "fn": "validateAnswer", "input": {"spec": clinical,
        "answer": with_(with_(good, ["extra"], "<script>x</script>"), ["states", 0, "name"], 5)}},
    {"name": "an answer that is not JSON", "fn": "validateAnswer", "input": {"spec": clinical, "answer": "I cannot help with that."}},
    {"name": "a truncated answer", "fn": "validateAnswer", "input": {"spec": clinical, "answer": json.dumps(good)[:60]}},
    {"name": "fixing an answer", "fn": "fixAnswer", "input": {"spec": clinical,
        "answer": with_(good, ["states", 1, "vitals"], dict(vitals, waveform="v-fib", HR=90, EtCO2="N/A"))}},
    {"name": "fixing rows", "fn": "fixRows", "input": {"spec": clinical, "header": header, "firstRow": 5, "rows": [
        ["SIM-003", "Asthma", "9", "Severe wheeze, tripod position"], ["SIM-2", "Sepsis", "n/a", "Fever and hypotension"]]}},
    {"name": "the score formula", "fn": "score", "input": {"expected": 10, "filled": 9, "errors": 1, "warnings": 2}},
    {"name": "score: a field missing", "fn": "score", "input": {"expected": 10, "filled": 9, "errors": 1},
     "error": {"code": "invalid_input", "paths": ["warnings"]}},
]

path = os.path.join(root, "tests", "vectors", "validation.json")
vectorfile.write(path, "Golden vectors for spec checking, row and answer validation, fixes and scores. Inputs: "
                "tools/vectors/validation_inputs.py; outputs written by the Rust core (UPDATE_VECTORS=1 "
                "cargo test -p rowbatch-core --test vectors) and checked in every host.", cases)
