#!/usr/bin/env python3
"""Summarize a Tempest run for run.sh and decide its exit status.

Inputs:
  --selected FILE   test ids selected for the run (output of
                    `tempest run --list-tests`; lines not starting with
                    'tempest.' are ignored)
  --results FILE    CSV from `stestr last --subunit | subunit2csv`
                    (columns: test,status,start_time,stop_time)
  --interop FILE    the refstack-format interop list (test_id[id-uuid] lines)
  --expect-interop PREFIX
                    interop tests whose id starts with PREFIX are expected to
                    be selected (repeatable; '' = the whole list). Expected
                    tests that tempest does not know are reported as
                    'missing' and count as interop failures.
  --failing-out FILE  write the ids of failed / not-run tests there
  --strict          non-interop failures also make the exit status non-zero
  --known-gap-patterns FILE
                    lines 'REGEX  # reason': tests outside the interop list
                    whose id starts with the --known-gap-scope prefix, matches
                    REGEX (re.search) and that fail or skip are printed as
                    known gaps with their reason, apart from the other
                    failures (octavia_known_gaps.txt, migration_known_gaps.txt)
  --known-gap-scope PREFIX
                    the tests the patterns are written for (default
                    'octavia_tempest_plugin.')

Every selected test gets one status: its own result, else the result of its
class's setUpClass (tempest reports a class-level skip or error once, as
'setUpClass (module.Class)'), else 'not run'.

Exit status: 1 if any interop test that was selected (or expected) did not
pass -- failed, skipped, not run or missing -- or if a class fixture of a class
holding interop tests failed, or (with --strict) if anything failed;
2 if there is nothing to summarize; 0 otherwise.
"""

import argparse
import csv
import os
import re
import sys

# Status words written by subunit2csv (testtools): success, failure, error,
# skip, xfail (an unexpected success is reported as success).
PASS = {"success", "xfail"}
SKIP = {"skip"}
FIXTURE_RE = re.compile(r"^(setUpClass|tearDownClass|setUpModule|"
                        r"tearDownModule) \((.+)\)$")


def base_id(test_id):
    """Test id without the '[attrs]' suffix."""
    return test_id.split("[", 1)[0].strip()


def class_of(test_base):
    return test_base.rsplit(".", 1)[0]


def category(status):
    if status in PASS:
        return "pass"
    if status in SKIP:
        return "skip"
    # failure, error, and anything unexpected (e.g. 'inprogress' from a
    # crashed worker)
    return "fail"


RANK = {"pass": 0, "skip": 1, "not run": 2, "fail": 3}


def worst(a, b):
    return a if RANK[a] >= RANK[b] else b


def read_interop(path):
    ids = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                ids.append(base_id(line))
    return ids


def read_selected(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(("tempest.", "octavia_tempest_plugin.")):
                out.append(base_id(line))
    return list(dict.fromkeys(out))


def read_results(path):
    tests, fixtures = {}, {}
    try:
        f = open(path, newline="")
    except FileNotFoundError:
        return tests, fixtures
    with f:
        for row in csv.DictReader(f):
            tid = (row.get("test") or "").strip()
            cat = category((row.get("status") or "").strip())
            if not tid:
                continue
            m = FIXTURE_RE.match(tid)
            if m:
                key = (m.group(1), m.group(2))
                fixtures[key] = worst(fixtures.get(key, "pass"), cat)
            else:
                b = base_id(tid)
                tests[b] = worst(tests[b], cat) if b in tests else cat
    return tests, fixtures


def counts(statuses):
    c = {"pass": 0, "fail": 0, "skip": 0, "not run": 0}
    for s in statuses:
        c[s] += 1
    return c


def fmt(c, total):
    return ("total %d: pass %d, fail %d, skip %d, not run %d"
            % (total, c["pass"], c["fail"], c["skip"], c["not run"]))


def read_gaps(path):
    """Test id -> reason, from a known_gaps.txt (comments and blank lines ignored)."""
    gaps = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            test, _, why = line.partition("#")
            gaps[test.strip()] = why.strip()
    return gaps


def read_gap_patterns(path):
    """[(compiled regex, reason)] from a file of 'REGEX  # reason' lines."""
    out = []
    try:
        f = open(path)
    except FileNotFoundError:
        return out
    with f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            pattern, _, why = line.partition("#")
            out.append((re.compile(pattern.strip()), why.strip()))
    return out


def gap_reason(patterns, test_id):
    for rx, why in patterns:
        if rx.search(test_id):
            return why
    return None


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--selected", required=True)
    p.add_argument("--results", required=True, action="append",
                   help="results CSV; a later one's results replace an earlier one's")
    p.add_argument("--interop", required=True)
    p.add_argument("--expect-interop", action="append", default=[])
    p.add_argument("--failing-out")
    p.add_argument("--strict", action="store_true")
    p.add_argument("--known-gaps", help="interop tests whose skip is a documented gap")
    p.add_argument("--known-gap-patterns",
                   help="regexes of non-interop tests whose failure or skip is a documented gap")
    p.add_argument("--known-gap-scope", default="octavia_tempest_plugin.",
                   help="the tests the --known-gap-patterns apply to (an id prefix)")
    a = p.parse_args(argv)

    interop_all = read_interop(a.interop)
    interop_set = set(interop_all)
    selected = read_selected(a.selected)
    tests, fixtures = {}, {}
    for path in a.results:
        t, f = read_results(path)
        tests.update(t)
        fixtures.update(f)

    if not selected:
        print("summary: no tests were selected", file=sys.stderr)
        return 2

    setup_status = {cls: st for (kind, cls), st in fixtures.items()
                    if kind == "setUpClass"}
    status = {}
    for t in selected:
        if t in tests:
            status[t] = tests[t]
        else:
            status[t] = setup_status.get(class_of(t), "not run")
    # Results for tests that were not in the selected list (should not
    # happen; keep them visible).
    for t, st in tests.items():
        status.setdefault(t, st)

    total = len(status)
    c_all = counts(status.values())
    failed_fixtures = sorted("%s (%s)" % k for k, v in fixtures.items()
                             if v == "fail")

    expected = [t for t in interop_all
                if any(t.startswith(pre) for pre in a.expect_interop)]
    interop_run = [t for t in status if t in interop_set]
    interop_considered = list(dict.fromkeys(expected + interop_run))
    missing = [t for t in interop_considered if t not in status]
    interop_status = {t: status.get(t, "not run") for t in interop_considered}
    c_int = counts(interop_status.values())
    interop_classes = {class_of(t) for t in interop_considered}
    interop_fixture_fail = sorted(
        "%s (%s)" % (kind, cls) for (kind, cls), v in fixtures.items()
        if v == "fail" and cls in interop_classes)

    print("")
    print("=" * 72)
    print("Tempest results (all selected tests): " + fmt(c_all, total))
    if failed_fixtures:
        print("  failed class fixtures: %d" % len(failed_fixtures))
    print("Interop guideline tests:              "
          + fmt(c_int, len(interop_considered)))
    # Per service suite (tempest.api.<service>), e.g. the compute and volume suites' counts.
    by_suite = {}
    for t, st in status.items():
        parts = t.split(".")
        if len(parts) > 2 and parts[0] == "tempest" and parts[1] == "api":
            by_suite.setdefault(".".join(parts[:3]), []).append(st)
        elif len(parts) > 2 and parts[0] == "tempest" and parts[1] == "scenario":
            by_suite.setdefault("tempest.scenario", []).append(st)
        elif len(parts) > 4 and parts[0] == "octavia_tempest_plugin":
            # octavia_tempest_plugin.tests.api.v2 / .scenario.v2
            by_suite.setdefault(".".join(parts[:4]), []).append(st)
    for suite in sorted(by_suite):
        print("Suite results %-22s  %s" % (suite + ":", fmt(counts(by_suite[suite]), len(by_suite[suite]))))
    if missing:
        print("  of these, %d are not known to this tempest (missing):"
              % len(missing))
        for t in missing:
            print("    MISSING  " + t)
    print("=" * 72)

    patterns = (read_gap_patterns(a.known_gap_patterns)
                if a.known_gap_patterns else [])
    # Only the tests the patterns are written for (the plugin's, by default), never an
    # interop test.
    pattern_gaps = {t: gap_reason(patterns, t) for t, s in status.items()
                    if s in ("fail", "not run", "skip")
                    and t.startswith(a.known_gap_scope) and t not in interop_set}
    pattern_gaps = {t: why for t, why in pattern_gaps.items() if why}
    bad = sorted(t for t, s in status.items() if s in ("fail", "not run")
                 and t not in pattern_gaps)
    if pattern_gaps:
        print("Known gaps outside the interop list (%d failed or skipped; "
              "%s):" % (len(pattern_gaps), os.path.basename(a.known_gap_patterns)))
        for t in sorted(pattern_gaps):
            print("  KNOWN GAP  %-4s %s  # %s"
                  % (status[t].upper(), t, pattern_gaps[t]))
    if bad or failed_fixtures:
        print("Failing tests (fail / not run):")
        for t in failed_fixtures:
            print("  FIXTURE  " + t)
        for t in bad:
            tag = "INTEROP " if t in interop_set else "        "
            print("  %s %-7s %s" % (tag, status[t].upper(), t))
    gaps = read_gaps(a.known_gaps) if a.known_gaps else {}
    int_skipped = sorted(t for t, s in interop_status.items()
                         if s == "skip" and t not in gaps)
    gap_skipped = sorted(t for t, s in interop_status.items()
                         if s == "skip" and t in gaps)
    if gap_skipped:
        print("Skipped interop tests that are known gaps (%d; known_gaps.txt):"
              % len(gap_skipped))
        for t in gap_skipped:
            print("  KNOWN GAP  %s  # %s" % (t, gaps[t]))
    if int_skipped:
        print("Skipped interop tests (must not be skipped):")
        for t in int_skipped:
            print("  " + t)

    if a.failing_out:
        with open(a.failing_out, "w") as f:
            for t in failed_fixtures:
                f.write(t + "\n")
            for t in bad:
                f.write(t + "\n")
            for t in missing:
                f.write(t + "  # missing from tempest\n")

    interop_ok = (c_int["fail"] == 0 and not int_skipped
                  and c_int["not run"] == 0 and not interop_fixture_fail)
    # Failures that are documented gaps (--known-gap-patterns) do not count.
    broad_ok = not bad and not failed_fixtures
    if not tests and not fixtures:
        print("RESULT: FAIL (no test results were recorded)")
        return 1
    if not interop_ok:
        why = "interop tests must all pass, none skipped"
        if interop_fixture_fail:
            why += "; failed class fixtures of interop tests: " + \
                ", ".join(interop_fixture_fail)
        print("RESULT: FAIL (%s)" % why)
        return 1
    if not broad_ok:
        if a.strict:
            print("RESULT: FAIL (CIEL_STRICT=1 and non-interop tests failed)")
            return 1
        print("RESULT: PASS for the interop tests; other failures are "
              "reported only (set CIEL_STRICT=1 to fail on them)")
        return 0
    print("RESULT: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
