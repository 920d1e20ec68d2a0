"""Writes a vector file: the given cases, keeping each case's recorded output (by name) so that
only `UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors` ever changes outputs."""
import json, os, sys


def write(path, about, cases):
    old = {}
    if os.path.exists(path):
        old = {c["name"]: c for c in json.load(open(path, encoding="utf-8"))["cases"]}
    for c in cases:
        if "error" not in c:
            c["output"] = old.get(c["name"], {}).get("output")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"about": about, "cases": cases}, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print(f"{len(cases)} cases -> {os.path.normpath(path)}", file=sys.stderr)
