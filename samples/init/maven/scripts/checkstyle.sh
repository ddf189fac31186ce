#!/bin/sh
# checkstyle over SCAN_PATHS (default src/main/java) with CHECKSTYLE_CONFIG, for two stages:
#   static analysis (default): checkstyle.xml at the repository's root, baseline
#     ci/baselines/static-analysis.json, report reports/checkstyle.sarif;
#   secure coding (STAGE="secure coding", REPORT=secure-coding): ci/secure-coding.xml, the
#     secure-coding rules baton init writes, baseline ci/baselines/secure-coding.json.
# The report becomes SARIF in reports/ and is gated against the checked-in BASELINE: checkstyle's
# severity error is a SARIF error, warning a warning, info a note; the task fails when the new
# findings of a level number more than MAX_NEW_ERRORS (default 0), MAX_NEW_WARNINGS (default 0)
# or MAX_NEW_NOTES (default -1: not gated). No configuration, a missing tool or a crash of
# checkstyle fails the task with that reason.
set -eu
work=$PWD
scripts=$(cd "$(dirname "$0")" && pwd)
mkdir -p reports
stage=${STAGE:-static analysis}
report=${REPORT:-checkstyle}
fail() { echo "$stage FAILED: $*"; exit 1; }
# Why a tool stopped, from its exit status: past 128 a signal killed it (a crash).
why() {
  if [ "$1" -gt 128 ] && sig=$(kill -l "$(($1 - 128))" 2>/dev/null); then echo "crashed (killed by signal SIG$sig)"; else echo "exited with status $1"; fi
}
for tool in checkstyle python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed on the worker (apt-get install $tool)"
done
cd source
config=${CHECKSTYLE_CONFIG:-checkstyle.xml}
[ -f "$config" ] || fail "no checkstyle configuration $config in the repository: add one (baton init writes a starter) or set CHECKSTYLE_CONFIG"
paths=""
for p in ${SCAN_PATHS:-src/main/java}; do [ -e "$p" ] && paths="$paths $p"; done
[ -n "$paths" ] || fail "none of SCAN_PATHS (${SCAN_PATHS:-src/main/java}) exists in the repository: set SCAN_PATHS to the directories with your code"
echo "$(checkstyle --version 2>&1 | head -n1) over:$paths with $config"
status=0
# shellcheck disable=SC2086
checkstyle -c "$config" -f xml -o "$work/reports/$report.xml" $paths >"$work/reports/$report.log" 2>&1 || status=$?
# checkstyle exits with the number of error-severity findings; without a complete report it failed.
grep -q '</checkstyle>' "$work/reports/$report.xml" 2>/dev/null ||
  { cat "$work/reports/$report.log"; fail "checkstyle $(why "$status") before finishing its report (an invalid configuration also stops it); its output: reports/$report.log"; }
python3 "$scripts/findings.py" checkstyle-to-sarif "$work/reports/$report.xml" "$work/reports/$report.sarif" --root "$PWD" || fail "checkstyle's report is unusable"
status=0
python3 "$scripts/findings.py" gate --stage "$stage" --baseline "${BASELINE:-ci/baselines/static-analysis.json}" \
  --max "error=${MAX_NEW_ERRORS:-0}" --max "warning=${MAX_NEW_WARNINGS:-0}" --max "note=${MAX_NEW_NOTES:--1}" \
  --write-baseline "$work/reports/baseline.json" "$work/reports/$report.sarif" || status=$?
[ "$status" = 2 ] && fail "the findings could not be gated (see the error above)"
[ "$status" = 0 ] || exit 1
echo "$stage passed"
