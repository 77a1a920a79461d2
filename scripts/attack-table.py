#!/usr/bin/env python3
"""Write data/attack/{tactics,techniques}.tsv from an ATT&CK Enterprise STIX 2.1 bundle.

Usage: scripts/attack-table.py PATH/enterprise-attack.json
The tables are what detdex needs of ATT&CK (names, tactics, order); the bundle itself is
MITRE's (see data/attack/NOTICE). Deprecated and revoked techniques are kept, marked, because
rules still name them.
"""
import json, sys, pathlib

bundle = json.load(open(sys.argv[1]))
out = pathlib.Path(__file__).resolve().parent.parent / "data" / "attack"
version = next((o.get("x_mitre_version", "") for o in bundle["objects"] if o["type"] == "x-mitre-collection"), "")

def ext_id(o):
    return next((r["external_id"] for r in o.get("external_references", []) if r.get("source_name") == "mitre-attack"), None)

matrix = next(o for o in bundle["objects"] if o["type"] == "x-mitre-matrix")
tactics = {o["id"]: o for o in bundle["objects"] if o["type"] == "x-mitre-tactic"}
with open(out / "tactics.tsv", "w") as f:
    f.write(f"# ATT&CK Enterprise {version} tactics in matrix order: id, shortname, name\n")
    for ref in matrix["tactic_refs"]:
        t = tactics[ref]
        f.write(f"{ext_id(t)}\t{t['x_mitre_shortname']}\t{t['name']}\n")

rows = []
for o in bundle["objects"]:
    if o["type"] != "attack-pattern" or not ext_id(o):
        continue
    phases = ",".join(p["phase_name"] for p in o.get("kill_chain_phases", []) if p["kill_chain_name"] == "mitre-attack")
    state = "revoked" if o.get("revoked") else "deprecated" if o.get("x_mitre_deprecated") else "active"
    rows.append((ext_id(o), o["name"], phases, state))
rows.sort(key=lambda r: [int(x) if x.isdigit() else x for x in r[0][1:].split(".")])
with open(out / "techniques.tsv", "w") as f:
    f.write(f"# ATT&CK Enterprise {version} techniques: id, name, tactic shortnames, active|deprecated|revoked\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"{len(tactics)} tactics, {len(rows)} techniques -> {out}")
