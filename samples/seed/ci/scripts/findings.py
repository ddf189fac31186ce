#!/usr/bin/env python3
"""Findings of the analysis stages, in SARIF, gated against a checked-in baseline.

  findings.py cppcheck-to-sarif REPORT.xml OUT.sarif
  findings.py clang-tidy-to-sarif REPORT.txt OUT.sarif --root DIR
  findings.py checkstyle-to-sarif REPORT.xml OUT.sarif --root DIR
  findings.py gate --stage NAME --baseline FILE [--max LEVEL=N ...] --write-baseline OUT SARIF...

A finding is keyed by tool, file, check and message, never by line: a finding that moves with
the code around it stays known. The baseline is a multiset of such keys, so a file with two
known findings of one check and message may keep two. `gate` prints every finding not in the
baseline (with its line) and fails when the new findings of a SARIF level (error, warning,
note) number more than that level's --max; levels without --max are reported, not gated. It
always writes the whole run as a baseline (--write-baseline), which `baton write-baseline`
fetches from the stored reports. Exit codes: 0 passed, 1 new findings over a threshold, 2 the
input is unusable (the message says why).
"""
import argparse
import collections
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

LEVELS = ("error", "warning", "note")
# cppcheck severities as SARIF levels.
CPPCHECK_LEVELS = {"error": "error", "warning": "warning", "performance": "warning",
                   "portability": "warning", "style": "note", "information": "note"}
TIDY_LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): "
                       r"(?P<level>error|warning|note): (?P<msg>.*?)(?: \[(?P<check>[^\]]+)\])?$")


class Unusable(Exception):
    """The input cannot be read; the message says what to do."""


def sarif(tool, results):
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": tool}}, "results": results}]}


def result(check, level, message, path, line, column=0):
    region = {"startLine": max(int(line), 1)}
    if int(column) > 0:
        region["startColumn"] = int(column)
    return {"ruleId": check, "level": level, "message": {"text": message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": path, "uriBaseId": "SRCROOT"}, "region": region}}]}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as out:
        json.dump(value, out, indent=2, sort_keys=True)
        out.write("\n")


def cppcheck_to_sarif(xml_path, out_path):
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError) as e:
        raise Unusable(f"cannot read cppcheck's XML report {xml_path}: {e} (did cppcheck crash?)")
    results = []
    for error in root.iter("error"):
        location = error.find("location")
        if location is None:
            continue  # whole-run notes (e.g. a missing include path) have no place in the code
        level = CPPCHECK_LEVELS.get(error.get("severity", ""), "note")
        results.append(result(error.get("id", "cppcheck"), level, error.get("msg", ""),
                              location.get("file", ""), location.get("line", 1),
                              location.get("column", 0)))
    write_json(out_path, sarif("cppcheck", results))
    return len(results)


def relative(path, root):
    path = os.path.normpath(path)
    if root and os.path.isabs(path):
        rel = os.path.relpath(path, root)
        return None if rel.startswith("..") else rel
    return path


def clang_tidy_to_sarif(text_path, out_path, root):
    results, seen = [], set()
    try:
        lines = open(text_path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        raise Unusable(f"cannot read clang-tidy's output {text_path}: {e}")
    for text in lines:
        m = TIDY_LINE.match(text)
        if not m or m["level"] == "note":
            continue  # notes explain the finding above them
        path = relative(m["file"], os.path.abspath(root) if root else "")
        if path is None:
            continue  # system and third-party headers outside the project
        # "[check,-warnings-as-errors]": the key stays the same when WarningsAsErrors changes.
        check = (m["check"] or "clang-diagnostic").split(",")[0]
        key = (path, m["line"], m["col"], check, m["msg"])
        if key in seen:
            continue  # a header's finding repeats for each file that includes it
        seen.add(key)
        results.append(result(check, m["level"], m["msg"], path, m["line"], m["col"]))
    write_json(out_path, sarif("clang-tidy", results))
    return len(results)


CHECKSTYLE_LEVELS = {"error": "error", "warning": "warning", "info": "note", "ignore": "note"}


def checkstyle_to_sarif(xml_path, out_path, root):
    try:
        doc = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError) as e:
        raise Unusable(f"cannot read checkstyle's XML report {xml_path}: {e} (did it crash?)")
    results = []
    for file in doc.iter("file"):
        path = relative(file.get("name", ""), os.path.abspath(root) if root else "")
        if path is None:
            continue
        for error in file.iter("error"):
            # "com.puppycrawl.tools.checkstyle.checks.coding.EmptyStatementCheck" -> EmptyStatement
            check = error.get("source", "checkstyle").rsplit(".", 1)[-1]
            check = check[:-len("Check")] if check.endswith("Check") else check
            results.append(result(check, CHECKSTYLE_LEVELS.get(error.get("severity", ""), "warning"),
                                  error.get("message", ""), path, error.get("line", 1),
                                  error.get("column", 0)))
    write_json(out_path, sarif("checkstyle", results))
    return len(results)


def load_findings(paths):
    findings = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise Unusable(f"cannot read SARIF report {path}: {e}")
        for run in doc.get("runs", []):
            tool = run.get("tool", {}).get("driver", {}).get("name", "?")
            for r in run.get("results", []):
                loc = (r.get("locations") or [{}])[0].get("physicalLocation", {})
                uri = loc.get("artifactLocation", {}).get("uri", "")
                if uri.startswith("file://"):
                    uri = uri[len("file://"):]
                findings.append({"tool": tool, "file": os.path.normpath(uri) if uri else "",
                                 "check": r.get("ruleId", ""),
                                 "message": r.get("message", {}).get("text", ""),
                                 "level": r.get("level", "warning"),
                                 "line": loc.get("region", {}).get("startLine", 0)})
    return findings


def key(f):
    return (f["tool"], f["file"], f["check"], f["message"])


def load_baseline(path):
    if not os.path.exists(path):
        print(f"no baseline at {path}: every finding counts as new "
              "(write one with `baton write-baseline` and commit it)")
        return collections.Counter()
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        entries = doc["findings"]
        return collections.Counter((e["tool"], e["file"], e["check"], e["message"])
                                   for e in entries)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Unusable(f"the baseline {path} is not a findings baseline ({e}): write it again "
                       "with `baton write-baseline`")


def parse_max(values):
    limits = {}
    for text in values:
        level, _, number = text.partition("=")
        if level not in LEVELS or not number.lstrip("-").isdigit():
            raise Unusable(f"--max takes LEVEL=N with LEVEL one of {', '.join(LEVELS)}, "
                           f"got {text!r}")
        if int(number) >= 0:
            limits[level] = int(number)  # a negative number: report only
    return limits


def gate(args):
    limits = parse_max(args.max or [])
    findings = load_findings(args.sarif)
    known = load_baseline(args.baseline)
    remaining = collections.Counter(known)
    new = []
    for f in sorted(findings, key=lambda f: (f["file"], f["line"], f["check"])):
        if remaining[key(f)] > 0:
            remaining[key(f)] -= 1
        else:
            new.append(f)
    baseline = {"format": 1, "stage": args.stage, "findings": sorted(
        ({"tool": f["tool"], "file": f["file"], "check": f["check"], "message": f["message"]}
         for f in findings), key=lambda e: (e["file"], e["tool"], e["check"], e["message"]))}
    write_json(args.write_baseline, baseline)
    fixed = sum(remaining.values())
    print(f"{args.stage}: {len(findings)} findings, {len(findings) - len(new)} known from the "
          f"baseline, {len(new)} new" + (f", {fixed} fixed since the baseline" if fixed else ""))
    for f in new:
        print(f"NEW {f['level']}: {f['file']}:{f['line']}: {f['message']} "
              f"[{f['check']}] ({f['tool']})")
    counts = collections.Counter(f["level"] for f in new)
    over = []
    for level in LEVELS:
        limit = limits.get(level)
        shown = "not gated" if limit is None else f"allowed {limit}"
        print(f"new {level}s: {counts[level]} ({shown})")
        if limit is not None and counts[level] > limit:
            over.append(f"{counts[level]} new {level}s (allowed {limit})")
    if over:
        print(f"{args.stage} FAILED: {', '.join(over)}; fix them, or if they are accepted, "
              "add them to the baseline with `baton write-baseline`")
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cppcheck-to-sarif")
    p.add_argument("xml")
    p.add_argument("out")
    p = sub.add_parser("clang-tidy-to-sarif")
    p.add_argument("text")
    p.add_argument("out")
    p.add_argument("--root", default="")
    p = sub.add_parser("checkstyle-to-sarif")
    p.add_argument("xml")
    p.add_argument("out")
    p.add_argument("--root", default="")
    p = sub.add_parser("gate")
    p.add_argument("--stage", required=True)
    p.add_argument("--baseline", required=True)
    p.add_argument("--max", action="append")
    p.add_argument("--write-baseline", required=True)
    p.add_argument("sarif", nargs="+")
    args = parser.parse_args()
    try:
        if args.command == "cppcheck-to-sarif":
            print(f"cppcheck: {cppcheck_to_sarif(args.xml, args.out)} findings")
        elif args.command == "clang-tidy-to-sarif":
            print(f"clang-tidy: {clang_tidy_to_sarif(args.text, args.out, args.root)} findings")
        elif args.command == "checkstyle-to-sarif":
            print(f"checkstyle: {checkstyle_to_sarif(args.xml, args.out, args.root)} findings")
        else:
            return gate(args)
    except Unusable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
