#!/usr/bin/env python3
"""Writes the inputs of tests/vectors/ledger.json (keys, plans, reconciliation, batch records);
`UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors` fills in the outputs."""
import copy, csv, json, os

import vectorfile

here = os.path.dirname(__file__)
root = os.path.join(here, "..", "..")
clinical = json.load(open(os.path.join(root, "examples", "clinical", "job.json"), encoding="utf-8"))
with open(os.path.join(root, "examples", "clinical", "scenarios.csv"), encoding="utf-8") as f:
    table = list(csv.reader(f))
header, rows = table[0], [[int(c) if c.isdigit() else (c or None) for c in r] for r in table[1:]]

unkeyed = copy.deepcopy(clinical)
del unkeyed["input"]["key"]
reprocess = copy.deepcopy(clinical)
reprocess["input"]["onEdit"] = "reprocess"
tight = copy.deepcopy(clinical)
tight["limits"]["waveSize"] = 3
tight["limits"]["attemptsPerRow"] = 2

NOW = 1_800_000_000_000
SPEC = "SPEC_x"  # a version from an older spec; the current one is in the outputs


def keyed(keys, first=2, excluded=()):
    return {"firstRow": first, "keys": keys, "signatures": [f"SIG_{k}" if k else "" for k in keys],
            "excluded": list(excluded), "duplicateGroups": []}


def out(key, sig=None, status="done", note=""):
    return [key, sig or f"SIG_{key}", SPEC, status, note]


def prog(key, attempts=0, not_before=None, by=None, until=None, error=None):
    return [key, attempts, not_before, by, until, error]


def plan(spec, inputs, outputs=(), progress=(), **kw):
    p = {"spec": spec, "inputs": inputs, "outputs": {"firstRow": 2, "rows": list(outputs)},
         "progress": {"firstRow": 2, "rows": list(progress)}, "execution": "exec-B", "now": NOW,
         "deadline": NOW + 270_000}
    p.update(kw)
    return p


five = keyed(["A", "B", "C", "D", "E"])
mixed_outputs = [out("A"), out("B", "SIG_old"), out("C", status="failed", note="400: bad request"),
                 out("Z"), [None, None, None, None, None]]
mixed_progress = [prog("D", 1, NOW + 60_000, None, None, "503"), prog("E", 0, None, "exec-A", NOW + 100_000),
                  prog("A", 0, None, "exec-A", NOW - 1)]
dupes = keyed(["A", "B", "C", "D"])
dupes["signatures"] = ["SIG_1", "SIG_2", "SIG_1", "SIG_3"]

cases = [
    {"name": "keys of the clinical example (blank row, invalid rows, duplicate content)", "fn": "keyRows",
     "input": {"spec": clinical, "header": header, "rows": rows}},
    {"name": "without a key column the signature is the key", "fn": "keyRows",
     "input": {"spec": unkeyed, "header": header, "rows": rows[:3] + [rows[0]], "firstRow": 10}},
    {"name": "a key on two rows with different content excludes both", "fn": "keyRows",
     "input": {"spec": clinical, "header": header, "rows": [rows[0], [rows[0][0]] + rows[1][1:], rows[2], rows[2]]}},
    {"name": "keys: a header missing a column", "fn": "keyRows",
     "input": {"spec": clinical, "header": header[:3], "rows": rows[:2]},
     "error": {"code": "invalid_input", "paths": ["header"]}},
    {"name": "a fresh job sends the first wave in sheet order and leases it", "fn": "planWave",
     "input": plan(tight, five)},
    {"name": "done, stale, failed, waiting, in flight, lapsed lease and an orphan output", "fn": "planWave",
     "input": plan(clinical, five, mixed_outputs, mixed_progress)},
    {"name": "edits are reprocessed when the spec asks", "fn": "planWave",
     "input": plan(reprocess, five, mixed_outputs, mixed_progress)},
    {"name": "due retries go before new rows", "fn": "planWave",
     "input": plan(clinical, five, [], [prog("D", 1, NOW - 5_000, None, None, "429"), prog("B", 1, NOW - 1_000)])},
    {"name": "duplicate content: the done row stands for the group", "fn": "planWave",
     "input": plan(clinical, dupes, [out("C", "SIG_1")])},
    {"name": "capacity: the token limit cuts the wave", "fn": "planWave",
     "input": plan(clinical, five, capacity={"tokens": 5000}, reserve={"tokens": 2000, "usd": 0.001})},
    {"name": "capacity: the budget headroom cuts the wave", "fn": "planWave",
     "input": plan(clinical, five, capacity={"usd": 0.0025, "requests": 100}, reserve={"tokens": 2000, "usd": 0.001})},
    {"name": "no wave starts that cannot finish before the deadline", "fn": "planWave",
     "input": plan(clinical, five, deadline=NOW + 60_000)},
    {"name": "a finished job", "fn": "planWave",
     "input": plan(clinical, keyed(["A", "", "B"], excluded=[{"sheetRow": 3, "reason": "blank", "cells": [],
                                                           "message": "the row is empty"}]),
                   [out("A"), out("B", status="failed", note="refused")])},
    {"name": "plan: an unknown field in the inputs", "fn": "planWave",
     "input": plan(clinical, dict(five, extra=1)),
     "error": {"code": "invalid_input", "paths": ["inputs.extra"]}},
    {"name": "reconcile: answers, a retry, a failure and one already written", "fn": "reconcile",
     "input": {"spec": clinical, "execution": "exec-B", "now": NOW,
               "outputs": {"rows": [out("A")]},
               "progress": {"rows": [prog("A", 0, None, "exec-A", NOW + 1), prog("B", 0, None, "exec-B", NOW + 9),
                                     prog("C", 1, None, "exec-B", NOW + 9, "503")]},
               "results": [{"key": "A", "signature": "SIG_A", "status": "done"},
                           {"key": "B", "signature": "SIG_B", "status": "done"},
                           {"key": "C", "signature": "SIG_C", "status": "retry", "note": "503", "notBefore": NOW + 4000},
                           {"key": "D", "signature": "SIG_D", "status": "failed", "note": "refused"}]}},
    {"name": "reconcile: the last attempt fails for good; an answer replaces a failure", "fn": "reconcile",
     "input": {"spec": tight, "execution": "exec-B", "now": NOW,
               "outputs": {"rows": [out("A", status="failed", note="timeout")]},
               "progress": {"rows": [prog("B", 1, None, "exec-B", NOW + 9, "429")]},
               "results": [{"key": "A", "signature": "SIG_A", "status": "done"},
                           {"key": "B", "signature": "SIG_B", "status": "retry", "note": "429 again"}]}},
    {"name": "reconcile: a fatal stop releases the leases without using attempts", "fn": "reconcile",
     "input": {"spec": clinical, "execution": "exec-B", "now": NOW,
               "progress": {"rows": [prog("A", 1, None, "exec-B", NOW + 9, "503"), prog("B", 0, None, "exec-C", NOW + 9)]},
               "results": [{"key": "A", "signature": "SIG_A", "status": "released", "note": "401"},
                           {"key": "B", "signature": "SIG_B", "status": "released", "note": "401"}]}},
    {"name": "reconcile: a result status that does not exist", "fn": "reconcile",
     "input": {"spec": clinical, "execution": "x", "now": NOW,
               "results": [{"key": "A", "signature": "SIG_A", "status": "ok"}]},
     "error": {"code": "invalid_input", "paths": ["results[0].status"]}},
    {"name": "a running batch", "fn": "batchRecord",
     "input": {"spec": clinical, "id": "run-1", "startedAt": NOW - 600_000, "now": NOW, "costUsd": 0.0123456789,
               "counts": {"rows": 28, "done": 10, "failed": 1, "duplicates": 2, "excluded": 5, "due": 8, "waiting": 2},
               "finished": False}},
    {"name": "a finished batch with failures", "fn": "batchRecord",
     "input": {"spec": clinical, "id": "run-1", "startedAt": NOW - 600_000, "now": NOW, "costUsd": 0.5,
               "counts": {"rows": 28, "done": 20, "failed": 1, "duplicates": 2, "excluded": 5}, "finished": True}},
    {"name": "a batch stopped by a fatal error", "fn": "batchRecord",
     "input": {"spec": clinical, "id": "run-2", "startedAt": NOW, "now": NOW + 1, "costUsd": 0,
               "counts": {"rows": 28, "due": 20}, "finished": False, "stopped": "401: the API key was refused"}},
]

path = os.path.join(root, "tests", "vectors", "ledger.json")
vectorfile.write(path, "Golden vectors for row keys, wave plans, at-write reconciliation and batch records. "
                 "Inputs: tools/vectors/ledger_inputs.py; outputs written by the Rust core (UPDATE_VECTORS=1 "
                 "cargo test -p rowbatch-core --test vectors) and checked in every host.", cases)
