"""A pytest plugin for scripts/replay-kusto-tests: while pySigma-backend-kusto's own tests run,
record every conversion they make with the microsoft_xdr (or its alias microsoft_365_defender)
and sentinel_asim pipelines: the rule's YAML, the pipeline's parameters and what pySigma
returned (the queries, or the exception). Written as JSON to $REPLAY_KUSTO_OUT at the end.

Load with `python -m pytest -p replay_kusto_record` (scripts/ on PYTHONPATH) before the test
modules import the pipelines, so that their `from … import microsoft_xdr_pipeline` binds the
recording wrapper.
"""
import json
import os
import threading

import sigma.backends.kusto.kusto as kusto
import sigma.collection
import sigma.pipelines.microsoft365defender as m365
import sigma.pipelines.microsoftxdr as xdr
import sigma.pipelines.sentinelasim as asim
import sigma.rule

CASES = []
_depth = threading.local()


def _wrap_pipeline(module, name, target):
    f = getattr(module, name)

    def wrapper(*args, **kwargs):
        p = f(*args, **kwargs)
        try:
            p._replay = (target, {k: v for k, v in kwargs.items()})
        except AttributeError:
            pass
        return p

    setattr(module, name, wrapper)


_wrap_pipeline(xdr, "microsoft_xdr_pipeline", "kql-xdr")
_wrap_pipeline(m365, "microsoft_365_defender_pipeline", "kql-xdr")
_wrap_pipeline(asim, "sentinel_asim_pipeline", "kql-asim")


def _wrap_from_yaml(cls):
    f = cls.from_yaml.__func__

    def from_yaml(c, text, *args, **kwargs):
        obj = f(c, text, *args, **kwargs)
        try:
            obj._replay_yaml = text
        except AttributeError:
            pass
        return obj

    cls.from_yaml = classmethod(from_yaml)


_wrap_from_yaml(sigma.collection.SigmaCollection)
_wrap_from_yaml(sigma.rule.SigmaRule)

_init = kusto.KustoBackend.__init__


def _backend_init(self, processing_pipeline=None, *args, **kwargs):
    _init(self, processing_pipeline, *args, **kwargs)
    self._replay = getattr(processing_pipeline, "_replay", None)


kusto.KustoBackend.__init__ = _backend_init


def _wrap_convert(name):
    f = getattr(kusto.KustoBackend, name)

    def convert(self, obj, *args, **kwargs):
        outer = getattr(_depth, "n", 0) == 0
        _depth.n = getattr(_depth, "n", 0) + 1
        try:
            out = f(self, obj, *args, **kwargs)
            result = {"queries": [str(q) for q in out]}
            return out
        except Exception as e:  # recorded, then raised again for the test
            result = {"error": f"{type(e).__name__}: {e}"}
            raise
        finally:
            _depth.n -= 1
            replay = getattr(self, "_replay", None)
            text = getattr(obj, "_replay_yaml", None)
            if outer and replay and text is not None:
                CASES.append({"target": replay[0], "args": replay[1], "rule": text,
                              "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0], **result})

    setattr(kusto.KustoBackend, name, convert)


_wrap_convert("convert")
_wrap_convert("convert_rule")


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["REPLAY_KUSTO_OUT"], "w", encoding="utf-8") as f:
        json.dump(CASES, f, indent=1)
