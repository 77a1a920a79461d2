#!/usr/bin/env python3
"""Tests of scripts/compare-kql on the hand-written files in scripts/testdata/.

Run: python3 scripts/test_compare_kql.py   (or python3 -m pytest scripts/)
"""
import contextlib
import importlib.machinery
import importlib.util
import io
import pathlib
import re
import subprocess
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
A = HERE / "testdata" / "compare-a.jsonl"
B = HERE / "testdata" / "compare-b.jsonl"


def load_module():
    path = HERE / "compare-kql"
    loader = importlib.machinery.SourceFileLoader("compare_kql", str(path))
    spec = importlib.util.spec_from_loader("compare_kql", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


ck = load_module()


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = ck.main([str(A), str(B), *args])
    return code, out.getvalue(), err.getvalue()


class Figures(unittest.TestCase):
    def setUp(self):
        warnings = []
        self.a = ck.load(A, warnings.append)
        self.b = ck.load(B, warnings.append)
        self.assertEqual(warnings, [])
        self.res, self.fallback = ck.compare(self.a, self.b)

    def paths(self, target, kind):
        return [k[0] for k, _ in self.res[target][kind]]

    def test_targets_in_order_of_appearance(self):
        self.assertEqual(list(self.res), ["kql-xdr", "kql-asim"])

    def test_xdr_counts(self):
        r = self.res["kql-xdr"]
        # a converted: same, spaces, different, b-error, missing, no-id
        self.assertEqual(r["a_ok"], 6)
        self.assertEqual(r["b_ok"], 4)
        # same (exact), spaces (whitespace only, and "./" before the path), no-id (matched by path)
        self.assertEqual(r["identical"], 3)

    def test_whitespace_only_is_identical(self):
        self.assertNotIn("win/spaces.yml", self.paths("kql-xdr", "different"))
        self.assertEqual(ck.normalize(" a \n\t b  "), "a b")

    def test_different(self):
        self.assertEqual(self.paths("kql-xdr", "different"), ["win/different.yml"])

    def test_error_in_b(self):
        self.assertEqual(self.paths("kql-xdr", "b_error"), ["win/b-error.yml"])
        self.assertIn("FileVersion", self.res["kql-xdr"]["b_error"][0][1])

    def test_missing_from_b(self):
        self.assertEqual(self.paths("kql-xdr", "missing"), ["win/missing.yml"])

    def test_b_only(self):
        # a failed and b converted; and a rule a does not have. Both failing is not listed.
        self.assertEqual(self.paths("kql-xdr", "b_only"), ["win/a-error.yml", "win/b-only.yml"])
        self.assertEqual(self.paths("kql-asim", "b_only"), ["win/same.yml"])

    def test_fallback_match_by_path(self):
        self.assertEqual(self.fallback, 1)

    def test_asim(self):
        r = self.res["kql-asim"]
        self.assertEqual((r["a_ok"], r["b_ok"], r["identical"]), (1, 1, 1))

    def test_target_filter(self):
        res, _ = ck.compare(self.a, self.b, ["kql-asim"])
        self.assertEqual(list(res), ["kql-asim"])


class Diff(unittest.TestCase):
    def test_lines_cut_outside_strings_only(self):
        lines = ck.display_lines('T\n| where A contains "x and y|z" and B =~ "1" or C')
        self.assertEqual(lines, ["T", '| where A contains "x and y|z"', 'and B =~ "1"', "or C"])

    def test_short_diff_points_at_the_change(self):
        d = ck.short_diff('T | where A =~ "x" and B =~ "y"', 'T | where A =~ "x" and B == "y"')
        self.assertIn('-and B =~ "y"', d)
        self.assertIn('+and B == "y"', d)

    def test_first_difference(self):
        xa, xb = ck.first_difference("abc =~ d", "abc == d", width=3)
        self.assertEqual((xa, xb), ("…c =~ d", "…c == d"))


class Output(unittest.TestCase):
    def test_text(self):
        code, out, err = run()
        self.assertEqual(code, 0)
        self.assertIn("== kql-xdr", out)
        self.assertIn("identical after whitespace norm: 3 (50.0%)", out)
        self.assertIn('+and AccountName == "SYSTEM"', out)
        self.assertIn("matched by (path, target) alone", err)

    def test_limit(self):
        code, out, _ = run("--limit", "1", "--target", "kql-xdr")
        self.assertEqual(code, 0)
        self.assertIn("converted by b but not by a (2, first 1)", out)
        self.assertNotIn("win/b-only.yml", out)
        self.assertNotIn("kql-asim", out)

    def test_markdown(self):
        code, out, _ = run("--markdown")
        self.assertEqual(code, 0)
        self.assertIn("| kql-xdr | 6 | 4 | 3 (50.0%) | 1 | 1 | 1 | 2 |", out)
        self.assertIn("| different |", out)
        self.assertIn("| error in b |", out)
        self.assertIn("| missing from b |", out)
        # every table row has the same number of cells; pipes in queries are escaped
        for line in out.splitlines():
            if line.startswith("| kql-") and "| different |" in line:
                self.assertEqual(line.replace("\\|", "").count("|"), 7)

    def test_pipes_escaped(self):
        self.assertEqual(ck.md_cell("T | where x"), "T \\| where x")

    def test_executable(self):
        r = subprocess.run([sys.executable, str(HERE / "compare-kql"), str(A), str(B)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("== kql-asim", r.stdout)

    def test_malformed_lines_skipped(self):
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(A.read_text())
            f.write("not json\n{\"path\": \"x.yml\"}\n")
        warnings = []
        a = ck.load(f.name, warnings.append)
        pathlib.Path(f.name).unlink()
        self.assertEqual(len(a), len(ck.load(A, lambda s: None)))
        self.assertTrue(any("2 malformed" in w for w in warnings))


# Pairs (pySigma, detdex) of the shapes met in the corpus, one per documented cause.
CAUSE_PAIRS = [
    ("kql-xdr", 'DeviceRegistryEvents | where RegistryKey endswith "\\\\Run*"',
     'DeviceRegistryEvents | where RegistryKey contains "\\\\Run\\\\"',
     "value ending in `\\` before a wildcard"),
    ("kql-xdr", 'DeviceProcessEvents | where ProcessCommandLine matches regex ".*a.*b"',
     'DeviceProcessEvents | where ProcessCommandLine matches regex "(?is)^.*a.*b$"',
     "wildcards inside a value"),
    ("kql-xdr", 'T | where (C contains "a" or (C contains "p" and C contains ".txt"))',
     'T | where (C contains "a" or C matches regex "(?is)^.*p.*\\\\.txt$")',
     "wildcards inside a value"),
    ("kql-xdr", 'T | where ipv4_is_in_range(RemoteIP, "fe80::/10")',
     'T | where ipv6_is_in_range(RemoteIP, "fe80::/10")', "IPv6 CIDR"),
    ("kql-xdr", 'T | where RegistryKey =~ "HKEY_LOCAL_MACHINE\\\\SYSTEM\\\\CurrentControlSet001\\\\X"',
     'T | where RegistryKey =~ "HKEY_LOCAL_MACHINE\\\\SYSTEM\\\\ControlSet001\\\\X"',
     "`HKLM\\SYSTEM\\CurrentControlSet`"),
    ("kql-xdr", 'T | where ActionType =~ "DeleteValue"', 'T | where ActionType =~ "RegistryValueDeleted"',
     "registry `EventType` values"),
    ("kql-asim", 'imFileEvent | where TargetFileName endswith "\\\\a.exe"',
     'imFileEvent | where TargetFilePath endswith "\\\\a.exe"',
     "ASIM file events: `TargetFilename`, `Image`"),
    ("kql-asim", 'imNetworkSession | where NetworkDirection =~ "true"',
     'imNetworkSession | where NetworkDirection =~ "Outbound"', "ASIM `Initiated` → `NetworkDirection`"),
    ("kql-xdr", 'T | where (AccountName =~ "SYSTEM" and AccountDomain startswith "")',
     'T | where AccountName =~ "SYSTEM"', "`User` with a domain on kql-xdr"),
    ("kql-xdr", 'T | where AccountName contains "AUTHORI"',
     'T | where (AccountDomain contains "AUTHORI" or AccountName contains "AUTHORI")',
     "`User` with a domain on kql-xdr"),
    ("kql-asim", 'imRegistry | where RegistryKey endswith "\\\\Run\\\\Updater"',
     'imRegistry | extend RegistryPath = iff(isempty(RegistryValue), RegistryKey, strcat(RegistryKey, "\\\\", RegistryValue)) | where RegistryPath endswith "\\\\Run\\\\Updater"',
     "registry value names: the full path `RegistryPath`"),
    ("kql-xdr", 'T | where not(A endswith "x" and isnull(C))', 'T | where not(A endswith "x" and isempty(C))',
     "`null` on a string column: `isempty`"),
    ("kql-xdr", 'T | where RemotePort in~ ("888", "999") and LogonId =~ "0x3e7"',
     'T | where RemotePort in (888, 999) and LogonId == 999', "numbers by the column's type"),
    ("kql-xdr", 'T | where RemotePort == 5900', 'T | where ActionType =~ "InboundConnectionAccepted" and RemotePort == 5900',
     "`Initiated` on kql-xdr: `ActionType`"),
    ("kql-xdr", 'T | where A endswith "x"', 'T | where (ActionType in~ ("ConnectionSuccess", "ConnectionFailed")) and A endswith "x"',
     "`Initiated` on kql-xdr: `ActionType`"),
    ("kql-xdr", 'DeviceRegistryEvents | where RegistryKey endswith "\\\\x"',
     'DeviceRegistryEvents | where ActionType =~ "RegistryValueSet" and RegistryKey endswith "\\\\x"',
     "the registry / file category as `ActionType` / `EventType`"),
    ("kql-xdr", 'DeviceProcessEvents | where FolderPath endswith "/sh"',
     'DeviceProcessEvents | join kind=leftsemi (DeviceInfo | where OSPlatform =~ "Linux") on DeviceId | where FolderPath endswith "/sh"',
     "Linux / macOS rules restricted to their operating system"),
    ("kql-asim", 'imProcessCreate | where TargetProcessName endswith "/sh"',
     'imProcessCreate | where DvcOs =~ "macOS" and TargetProcessName endswith "/sh"',
     "Linux / macOS rules restricted to their operating system"),
    ("kql-xdr", 'T | where RegistryKey contains "HKU\\\\" and RegistryKey endswith "\\\\x"',
     'T | where RegistryKey contains "HKEY_USERS\\\\" and RegistryKey endswith "\\\\x"',
     "registry hive after a leading wildcard (`contains: 'HKU\\'`)"),
    ("kql-asim", 'imRegistry | where EventType == 4663',
     'SecurityEvent | where EventID == 4663', "Windows Security log on kql-asim"),
]


class Causes(unittest.TestCase):
    def test_each_cause_explains_its_pair(self):
        for target, a, b, cause in CAUSE_PAIRS:
            with self.subTest(cause=cause, b=b):
                self.assertEqual(ck.causes(target, a, b), {cause})

    def test_identical_needs_no_cause(self):
        self.assertEqual(ck.causes("kql-xdr", 'T | where a =~ "x"', 'T | where a =~ "x"'), set())

    def test_any_other_change_is_unexplained(self):
        # each detdex query changed once more: another value, connective, column, operator or a `not`
        for target, a, b, cause in CAUSE_PAIRS:
            if cause == "Windows Security log on kql-asim":
                continue  # another table: the rest cannot be compared
            for mutated in (
                b.replace('"', '"zz', 1),
                b.replace(" | where ", " | where not ", 1),
                b.replace(" | where ", ' | where Other =~ "1" or ', 1),
                re.sub(r" (contains|endswith|startswith|=~) ", lambda m: {"contains": "startswith",
                       "endswith": "contains", "startswith": "endswith", "=~": "!="}[m.group(1)].join("  "), b,
                       count=1),
            ):
                if mutated == b:
                    continue  # no operator of that kind to change
                with self.subTest(cause=cause, mutated=mutated):
                    self.assertIsNone(ck.causes(target, a, mutated))

    def test_report(self):
        code, out, _ = run("--causes")
        self.assertEqual(code, 0)
        self.assertIn("unexplained:", out)


if __name__ == "__main__":
    unittest.main()
