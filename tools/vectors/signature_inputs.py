#!/usr/bin/env python3
"""Writes the inputs of tests/vectors/signature.json; `UPDATE_VECTORS=1 cargo test` then fills in
the outputs from the core, and every host must reproduce them byte for byte. Error cases carry
their expected code and problem paths, written here by hand."""
import json, os, sys

import vectorfile

long_cell = ("Patient presents with crushing substernal chest pain radiating to the left arm. "
             "Diaphoretic, nauseated.\n\n  History: HTN, DM2, smoker.  ") * 400
long_cell = long_cell[:50000]  # the most a Sheets cell holds

def row(name, values, **extra):
    return {"name": name, "fn": "signRow", "input": {"values": values, **extra}}

cases = [
    row("plain ascii text", ["Chest pain"]),
    row("trimmed", ["   Chest pain \t"]),
    row("inner whitespace runs, tabs and line breaks collapse", ["Chest \t\n  pain\r\nsince   2h"]),
    row("no-break space, em space and line separator are whitespace", ["Chest\u00a0pain\u2003now\u2028ok"]),
    row("combining acute composes (NFC)", ["Cafe\u0301 au lait"]),
    row("precomposed acute: same bytes as the combining form", ["Caf\u00e9 au lait"]),
    row("hangul jamo compose", ["\u1112\u1161\u11ab\uad6d"]),
    row("emoji", ["Pain 8/10 \U0001F622"]),
    row("emoji ZWJ sequence is kept whole", ["\U0001F469\u200d\U0001F469\u200d\U0001F467 family"]),
    row("emoji with skin tone", ["\U0001F44D\U0001F3FD ok"]),
    row("hebrew (RTL)", ["\u05db\u05d0\u05d1 \u05d1\u05d7\u05d6\u05d4"]),
    row("arabic (RTL) with extra spaces", ["  \u0623\u0644\u0645   \u0641\u064a \u0627\u0644\u0635\u062f\u0631 "]),
    row("mixed direction with a right-to-left mark", ["BP \u200f\u05dc\u05d7\u05e5 120/80"]),
    row("zero-width space is not whitespace", ["Chest\u200bpain"]),
    row("fullwidth digits stay text (NFC, not NFKC)", ["\uff14\uff12"]),
    row("ligature stays (NFC, not NFKC)", ["\ufb01brillation"]),
    row("integer", [42]),
    row("integer written as text", ["42"]),
    row("integer written as text with a decimal point", ["42.0"]),
    row("float", [98.6]),
    row("float written as text with a trailing zero", [" 98.60 "]),
    row("negative written as text", ["-3.50"]),
    row("exponent written as text", ["1E3"]),
    row("leading zeros are an identifier, not a number", ["007"]),
    row("thousands separator stays text", ["1,000"]),
    row("plus sign stays text", ["+5"]),
    row("number with a unit stays text", ["12 kg"]),
    row("negative zero", [-0.0]),
    row("large number", [1e21]),
    row("large integer past 2^53", [123456789012345678]),
    row("small number", [1.5e-7]),
    row("binary fraction", [0.30000000000000004]),
    row("booleans", [True, False]),
    row("booleans written as text in any case", ["TRUE", " false", "True"]),
    row("empty cells: null, empty text, blanks", [None, "", "   "]),
    row("default null tokens", ["N/A", "n/a", "#N/A", "null", "NA"]),
    row("custom null tokens replace the defaults", ["Unknown", "\u2014", "N/A"], nullTokens=["unknown", "\u2014"]),
    row("quotes, backslashes and slashes", ['He said "stop" \\ C:\\temp / ok']),
    row("control characters are escaped", ["a\u0001b\u007fc"]),
    row("HTML and formula text are just text", ["<script>alert(1)</script>", "=IMPORTXML(\"x\",\"y\")"]),
    row("a whole scenario row", ["SIM-001", "Chest pain", 54, "M", "Crushing chest pain, diaphoretic"]),
    row("very long cell (50,000 characters)", [long_cell]),
    row("no values", []),
    {"name": "signRow: values missing", "fn": "signRow", "input": {},
     "error": {"code": "invalid_input", "paths": ["values"]}},
    {"name": "signRow: a cell that is an object", "fn": "signRow", "input": {"values": ["a", {"x": 1}]},
     "error": {"code": "invalid_input", "paths": ["values[1]"]}},
    {"name": "signRow: unknown field", "fn": "signRow", "input": {"values": [], "nulls": []},
     "error": {"code": "invalid_input", "paths": ["nulls"]}},
]

scenario_header = ["Case_ID", "Title", "Age", "Presentation"]
cases += [
    {"name": "duplicates differ only in spacing, number typing and key", "fn": "signRows", "input": {
        "header": scenario_header,
        "columns": ["Title", "Age", "Presentation"],
        "rows": [
            ["SIM-001", "Chest pain", 54, "Crushing chest pain"],
            ["SIM-002", "Sepsis", 71, "Fever, hypotension"],
            ["SIM-003", "  Chest  pain", "54", "Crushing chest\npain "],
            ["SIM-004", "Asthma", 9, "Wheeze"],
            ["SIM-005", "Sepsis", 71.0, "Fever,  hypotension"],
            ["SIM-006", "Chest pain", 54, "Crushing chest pain"],
        ]}},
    {"name": "blank rows are reported as blank, not as duplicates", "fn": "signRows", "input": {
        "header": scenario_header, "columns": ["Title", "Age"],
        "rows": [["SIM-1", "A", 1], ["SIM-2", "", None], ["SIM-3", "N/A", "  "], ["SIM-4", "A", "1"]]}},
    {"name": "ragged rows read as empty past their end", "fn": "signRows", "input": {
        "header": ["A", "B", "C"], "rows": [["x"], ["x", None, ""], ["x", "y", "z", "extra"], []]}},
    {"name": "column order follows the spec, not the sheet", "fn": "signRows", "input": {
        "header": ["A", "B"], "columns": ["B", "A"], "rows": [["1", "2"], ["2", "1"]]}},
    {"name": "first row number is used for sheet rows", "fn": "signRows", "input": {
        "header": ["A"], "firstRow": 10, "rows": [["x"], ["y"], ["x"], ["x"]]}},
    {"name": "a duplicate header name is fine while no column names it", "fn": "signRows", "input": {
        "header": ["A", "", "", "Note", "Note"], "columns": ["A"], "rows": [["x", 1, 2, 3, 4]]}},
    {"name": "empty block", "fn": "signRows", "input": {"header": ["A"], "rows": []}},
    {"name": "signRows: unknown columns are all listed", "fn": "signRows", "input": {
        "header": scenario_header, "columns": ["Title", "Agee", "Presentaton"], "rows": []},
     "error": {"code": "invalid_input", "paths": ["columns[1]", "columns[2]"]}},
    {"name": "signRows: no columns", "fn": "signRows", "input": {"header": ["A"], "columns": [], "rows": []},
     "error": {"code": "invalid_input", "paths": ["columns"]}},
    {"name": "signRows: a column named twice in the header", "fn": "signRows", "input": {
        "header": ["A", "B", "A"], "columns": ["A"], "rows": []},
     "error": {"code": "invalid_input", "paths": ["columns[0]"]}},
    {"name": "signRows: rows is not a list", "fn": "signRows", "input": {"header": ["A"], "rows": "x"},
     "error": {"code": "invalid_input", "paths": ["rows"]}},
    {"name": "signRows: a row is not a list", "fn": "signRows", "input": {"header": ["A"], "rows": [["x"], 5]},
     "error": {"code": "invalid_input", "paths": ["rows[1]"]}},
    {"name": "signRows: a cell that is a list", "fn": "signRows", "input": {"header": ["A", "B"], "rows": [["x", "y"], ["x", [1]]]},
     "error": {"code": "invalid_input", "paths": ["rows[1][1]"]}},
    {"name": "signRows: header missing", "fn": "signRows", "input": {"rows": []},
     "error": {"code": "invalid_input", "paths": ["header"]}},
    {"name": "signRows: firstRow is not a row number", "fn": "signRows", "input": {"header": ["A"], "rows": [], "firstRow": -1},
     "error": {"code": "invalid_input", "paths": ["firstRow"]}},
]

path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "vectors", "signature.json")
vectorfile.write(path, "Golden vectors for row signatures. Inputs: tools/vectors/signature_inputs.py; outputs "
             "written by the Rust core (UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors) "
             "and checked unchanged by cargo test and by tests/js/vectors.test.mjs in every host.", cases)
