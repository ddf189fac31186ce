#!/bin/sh
# flawfinder over the project's SCAN_PATHS (default: those of `src include` that exist): SARIF,
# HTML and text reports in reports/, gated against the checked-in baseline BASELINE (default
# ci/baselines/secure-coding.json). flawfinder's risk levels 4-5 are SARIF errors, 3 warnings,
# 1-2 notes; the task fails when the new findings of a level number more than MAX_NEW_ERRORS
# (default 0), MAX_NEW_WARNINGS (default -1: not gated) or MAX_NEW_NOTES (default -1).
set -eu
work=$PWD
scripts=$(cd "$(dirname "$0")" && pwd)
mkdir -p reports
fail() { echo "secure coding FAILED: $*"; exit 1; }
# Why a tool stopped, from its exit status: past 128 a signal killed it (a crash).
why() {
  if [ "$1" -gt 128 ] && sig=$(kill -l "$(($1 - 128))" 2>/dev/null); then echo "crashed (killed by signal SIG$sig)"; else echo "exited with status $1"; fi
}
for tool in flawfinder python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed on the worker (apt-get install $tool)"
done
cd source
paths=""
for p in ${SCAN_PATHS:-src include}; do [ -e "$p" ] && paths="$paths $p"; done
[ -n "$paths" ] || fail "none of SCAN_PATHS (${SCAN_PATHS:-src include}) exists in the repository: set SCAN_PATHS to the directories with your code"
echo "flawfinder $(flawfinder --version) over:$paths"
status=0
# shellcheck disable=SC2086
flawfinder --sarif --minlevel=1 $paths >"$work/reports/flawfinder.sarif" || status=$?
[ "$status" = 0 ] || fail "flawfinder $(why "$status") before finishing its report"
# shellcheck disable=SC2086
flawfinder --html --minlevel=1 $paths >"$work/reports/flawfinder.html" || true
# shellcheck disable=SC2086
flawfinder --minlevel=1 --columns $paths >"$work/reports/flawfinder.txt" || true
sed -n '/^FINAL RESULTS/,/^ANALYSIS SUMMARY/p' "$work/reports/flawfinder.txt" | grep -v '^ANALYSIS SUMMARY' || true
status=0
python3 "$scripts/findings.py" gate --stage "secure coding" --baseline "${BASELINE:-ci/baselines/secure-coding.json}" \
  --max "error=${MAX_NEW_ERRORS:-0}" --max "warning=${MAX_NEW_WARNINGS:--1}" --max "note=${MAX_NEW_NOTES:--1}" \
  --write-baseline "$work/reports/baseline.json" "$work/reports/flawfinder.sarif" || status=$?
[ "$status" = 2 ] && fail "the findings could not be gated (see the error above)"
[ "$status" = 0 ] || exit 1
echo "secure coding passed"
