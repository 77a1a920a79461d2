#!/usr/bin/env python3
"""Convert a folder of Sigma rules with pySigma, as the reference for `detdex convert`.

Usage:
  scripts/oracle-pysigma.py [FOLDER] [--target kql-xdr|kql-asim|spl|esql|eql ...] [--without-pipeline]
                            [--out FILE] [--jobs N]

FOLDER defaults to ../shared/corpora/sigma/rules beside the checkout. Every .yml/.yaml file under
it is read and converted on its own (one rule file at a time, a fresh backend and pipeline per
file) with the target's pySigma backend and pipeline, once per target:

  kql-xdr   KustoBackend, sigma.pipelines.microsoftxdr.microsoft_xdr_pipeline()
  kql-asim  KustoBackend, sigma.pipelines.sentinelasim.sentinel_asim_pipeline()
  spl       SplunkBackend, sigma.pipelines.splunk.splunk_windows_pipeline()
  esql      ESQLBackend, sigma.pipelines.elasticsearch.ecs_windows()
  eql       EqlBackend, sigma.pipelines.elasticsearch.ecs_windows()

--without-pipeline converts with the backend alone (sigma-cli's --without-pipeline; the
record's target stays the same, so write such a run to its own file).

Output (stdout, or --out FILE): JSONL, one line per (rule, target); target by target, by path:
  {"path": "<relative to FOLDER>", "id": "<rule id>"|null, "target": "kql-xdr",
   "status": "ok", "query": "..."}
  {"path": ..., "id": ..., "target": ..., "status": "error", "error": "<ExceptionClass>: <message>"}
A file holding several rules (a multi-document file, a Sigma 1 collection) gives one line per rule;
if pySigma cannot read such a file, every rule id found in it gets the same error. A rule with
several conditions (several queries) gets them joined by a newline and "queries": N; a rule for
which pySigma returns no query at all (its condition converted to nothing, as when the only item is
an EventID the pipeline drops) is an error "NoQuery: ..." (the oracle's label, not pySigma's).
The " in /abs/path/file.yml" suffix pySigma adds to its error messages is left out (the path is in
the line already).

A summary goes to stderr: per target, rules ok/error, wall time, the most frequent error messages
(field names, values and paths replaced by placeholders) and the logsources of the failed rules.

The script runs itself under a venv of scripts/ (created if missing or different): the KQL
targets under scripts/.venv (pysigma==1.5.1, pysigma-backend-kusto==1.0.1), the Splunk and
Elastic targets under scripts/.venv-splunk-elastic (pysigma-backend-splunk==2.1.0,
pysigma-backend-elasticsearch==2.1.1, which both take pysigma==1.5.1). One run takes targets of
one venv only. Not part of CI.
"""
import argparse
import collections
import json
import os
import pathlib
import re
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_FOLDER = HERE.parent.parent / "shared" / "corpora" / "sigma" / "rules"
# target: (venv, backend module, backend class, pipeline module, pipeline function)
TARGETS = {
    "kql-xdr": (".venv", "sigma.backends.kusto", "KustoBackend", "sigma.pipelines.microsoftxdr", "microsoft_xdr_pipeline"),
    "kql-asim": (".venv", "sigma.backends.kusto", "KustoBackend", "sigma.pipelines.sentinelasim", "sentinel_asim_pipeline"),
    "spl": (".venv-splunk-elastic", "sigma.backends.splunk", "SplunkBackend", "sigma.pipelines.splunk", "splunk_windows_pipeline"),
    "esql": (".venv-splunk-elastic", "sigma.backends.elasticsearch", "ESQLBackend", "sigma.pipelines.elasticsearch", "ecs_windows"),
    "eql": (".venv-splunk-elastic", "sigma.backends.elasticsearch", "EqlBackend", "sigma.pipelines.elasticsearch", "ecs_windows"),
}
VENV_PINS = {
    ".venv": {"pysigma": "1.5.1", "pysigma-backend-kusto": "1.0.1"},
    ".venv-splunk-elastic": {
        "pysigma": "1.5.1",
        "pysigma-backend-splunk": "2.1.0",
        "pysigma-backend-elasticsearch": "2.1.1",
    },
}
VENV = HERE / ".venv"
VENV_PY = VENV / "bin" / "python"
PINS = VENV_PINS[".venv"]


def choose_venv(targets):
    global VENV, VENV_PY, PINS
    names = {TARGETS[t][0] for t in targets}
    if len(names) != 1:
        sys.exit("oracle-pysigma: the KQL targets and the Splunk/Elastic targets run in different venvs; run them apart")
    name = names.pop()
    VENV = HERE / name
    VENV_PY = VENV / "bin" / "python"
    PINS = VENV_PINS[name]


# ---------------------------------------------------------------- the venv


def venv_ok():
    if not VENV_PY.exists():
        return False
    check = "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in %r}))" % list(PINS)
    r = subprocess.run([str(VENV_PY), "-c", check], capture_output=True, text=True)
    return r.returncode == 0 and json.loads(r.stdout) == PINS


def ensure_venv():
    """Create or repair scripts/.venv, then re-run this script with its interpreter."""
    inside = pathlib.Path(sys.prefix).resolve() == VENV.resolve()
    if inside and venv_ok():
        return
    if not venv_ok():
        print(f"oracle-pysigma: setting up {VENV} ...", file=sys.stderr)
        if not VENV_PY.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pins = [f"{p}=={v}" for p, v in PINS.items()]
        subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", *pins], check=True)
    os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])


# ---------------------------------------------------------------- conversion (in the workers)

_target = None
_without_pipeline = False


def init_worker(target, without_pipeline=False):
    global _target, _without_pipeline
    _target = target
    _without_pipeline = without_pipeline


def logsource_text(ls):
    """product/category/service with '-' for a missing part."""
    if ls is None:
        return "-/-/-"
    if isinstance(ls, dict):
        parts = [ls.get("product"), ls.get("category"), ls.get("service")]
    else:
        parts = [ls.product, ls.category, ls.service]
    return "/".join(str(p) if p else "-" for p in parts)


def error_text(e, abspath, rel):
    # pySigma appends " in <path>[:line[:col]]" to SigmaError messages; the line has the path
    msg = re.sub(re.escape(" in " + str(abspath)) + r"(:\d+)*", "", str(e))
    return f"{type(e).__name__}: {msg.replace(str(abspath), rel)}"


def fallback_rules(text):
    """(id, logsource) of each rule-looking document, for a file pySigma could not read."""
    import yaml

    out = []
    try:
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and "action" not in doc and any(k in doc for k in ("detection", "correlation", "filter")):
                rid = doc.get("id")
                out.append((str(rid) if rid is not None else None, logsource_text(doc.get("logsource") if isinstance(doc.get("logsource"), dict) else None)))
    except Exception:
        pass
    return out or [(None, "-/-/-")]


def convert_file(job):
    """Convert one file for _target. Returns (records, [logsource per record], timings)."""
    folder, rel = job
    import importlib

    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaRuleLocation

    abspath = pathlib.Path(folder, rel).resolve()
    t0 = time.perf_counter()
    text = abspath.read_bytes()  # as pySigma reads a file: YAML decodes it
    records, logsources = [], []
    base = {"path": rel}
    try:
        coll = SigmaCollection.from_yaml(text, source=SigmaRuleLocation(abspath))
    except Exception as e:
        err = error_text(e, abspath, rel)
        for rid, ls in fallback_rules(text):
            records.append({**base, "id": rid, "target": _target, "status": "error", "error": err})
            logsources.append(ls)
        return records, logsources, (time.perf_counter() - t0, 0.0, 0.0)
    t1 = time.perf_counter()
    # A fresh backend and pipeline per file: pySigma-backend-kusto's InvalidFieldTransformation
    # prepends each failing field name to its own message, so a reused pipeline accumulates them.
    _, bmod, bclass, module, func = TARGETS[_target]
    pipeline = None if _without_pipeline else getattr(importlib.import_module(module), func)()
    backend = getattr(importlib.import_module(bmod), bclass)(processing_pipeline=pipeline)
    backend.init_processing_pipeline()
    t2 = time.perf_counter()
    for rule in coll.rules:
        rid = str(rule.id) if getattr(rule, "id", None) else None
        rec = {**base, "id": rid, "target": _target}
        try:
            if isinstance(rule, SigmaCorrelationRule):
                queries = backend.convert_correlation_rule(rule)
            else:
                queries = backend.convert_rule(rule)
            if not queries:
                # e.g. a rule whose only item is EventID, which the pipelines drop: pySigma
                # prints nothing for it, so it is not a conversion
                rec["status"] = "error"
                rec["error"] = "NoQuery: pySigma gave no query for this rule (its condition converted to nothing)"
            else:
                rec["status"] = "ok"
                rec["query"] = "\n".join(str(q) for q in queries)
                if len(queries) != 1:
                    rec["queries"] = len(queries)
        except Exception as e:
            rec["status"] = "error"
            rec["error"] = error_text(e, abspath, rel)
        records.append(rec)
        logsources.append(logsource_text(getattr(rule, "logsource", None)))
    t3 = time.perf_counter()
    return records, logsources, (t1 - t0, t2 - t1, t3 - t2)


# ---------------------------------------------------------------- summary

FIELD_ERROR = re.compile(
    r"(Invalid SigmaDetectionItem field name encountered: )\S+?\. (Please use valid fields for the \S+ table).*", re.S
)
PATTERNS = [
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r'"[^"]*"'), '"…"'),
    (re.compile(r"\(while [^()]*? rule [^)]*\)"), "(while … rule …)"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
]


def pattern_of(error):
    """The error message with its particulars replaced, for grouping."""
    # the kusto pipelines' field error ends with the list of every valid field: keep the head
    s = FIELD_ERROR.sub(r"\1<field>. \2 …", error).split("\n", 1)[0]
    for rx, rep in PATTERNS:
        s = rx.sub(rep, s)
    return s if len(s) <= 160 else s[:157] + "…"


def field_of(error):
    m = re.search(r"field name encountered: (\S+?)\. Please use valid fields for the (\S+) table", error)
    return (m.group(2), m.group(1)) if m else None


def kind_of(error):
    """A short class of the error: no table for the logsource, a field with no column, or other."""
    if "Unable to determine table name" in error or "not yet supported by the" in error:
        return "no table for the logsource"
    if (f := field_of(error)):
        return f"field with no column in {f[0]}"
    return pattern_of(error)[:70]


def summarize(target, records, logsources, wall, timings, top, out=sys.stderr):
    ok = sum(r["status"] == "ok" for r in records)
    err = len(records) - ok
    files = len({r["path"] for r in records})
    parse, build, conv = (sum(t[i] for t in timings) for i in range(3))
    p = lambda *a: print(*a, file=out)
    p(f"== {target}: {files} files, {len(records)} rules: {ok} ok, {err} error; wall {wall:.2f} s")
    p(f"   time in workers: reading rules {parse:.2f} s, building backend+pipeline {build:.2f} s, converting {conv:.2f} s")
    per_file = collections.Counter(r["path"] for r in records)
    multi = [path for path, n in per_file.items() if n > 1]
    if multi:
        p(f"   {len(multi)} file(s) hold several rules (one line each), e.g. {multi[0]}")
    if (nq := sum(1 for r in records if r.get("queries", 1) != 1)):
        p(f"   {nq} rule(s) gave several queries (joined by a newline, \"queries\": N)")
    errs = [(r, ls) for r, ls in zip(records, logsources) if r["status"] == "error"]
    if not errs:
        return
    p(f"   top error messages (count, pattern):")
    for msg, n in collections.Counter(pattern_of(r["error"]) for r, _ in errs).most_common(top):
        p(f"   {n:6d}  {msg}")
    p(f"   logsources of the failed rules (product/category/service; count: why):")
    by_ls = collections.defaultdict(collections.Counter)
    for r, ls in errs:
        by_ls[ls][kind_of(r["error"])] += 1
    for ls, kinds in sorted(by_ls.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:top]:
        p(f"   {sum(kinds.values()):6d}  {ls}: " + "; ".join(f"{n} {k}" for k, n in kinds.most_common(3)))
    fields = collections.Counter(f for r, _ in errs if (f := field_of(r["error"])))
    if fields:
        p(f"   fields with no column (table: field; count):")
        for (table, field), n in fields.most_common(top):
            p(f"   {n:6d}  {table}: {field}")


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="folder of Sigma rules (default: %(default)s)")
    ap.add_argument("--target", action="append", choices=list(TARGETS), help="target(s); default: kql-xdr and kql-asim")
    ap.add_argument("--without-pipeline", action="store_true", help="the backend alone, no pipeline")
    ap.add_argument("--out", help="write the JSONL here instead of stdout")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2; 1 = no pool)")
    ap.add_argument("--top", type=int, default=15, help="how many error groups to print per target (default 15)")
    args = ap.parse_args()
    targets = args.target or ["kql-xdr", "kql-asim"]
    choose_venv(targets)
    ensure_venv()

    import multiprocessing

    folder = pathlib.Path(args.folder).resolve()
    if not folder.is_dir():
        sys.exit(f"oracle-pysigma: not a folder: {folder}")
    rels = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    jobs = [(str(folder), rel) for rel in rels]
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    import sigma  # noqa: F401  (imported before timing, as workers fork with it loaded)
    import importlib
    import sigma.collection  # noqa: F401

    for t in targets:
        importlib.import_module(TARGETS[t][1])

    print(f"oracle-pysigma: {len(rels)} files under {folder}, targets {', '.join(targets)}, jobs {args.jobs}", file=sys.stderr)
    for target in targets:
        t0 = time.perf_counter()
        if args.jobs <= 1:
            init_worker(target, args.without_pipeline)
            results = [convert_file(j) for j in jobs]
        else:
            with multiprocessing.get_context("fork").Pool(args.jobs, initializer=init_worker, initargs=(target, args.without_pipeline)) as pool:
                results = pool.map(convert_file, jobs, chunksize=16)
        wall = time.perf_counter() - t0
        records = [r for recs, _, _ in results for r in recs]
        logsources = [ls for _, lss, _ in results for ls in lss]
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        out.flush()
        summarize(target, records, logsources, wall, [t for _, _, t in results], args.top)
    if args.out:
        out.close()
        print(f"oracle-pysigma: wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
