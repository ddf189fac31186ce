#!/bin/sh
# cppcheck and clang-tidy over the project's SCAN_PATHS (default: those of `src include` that
# exist). Both reports become SARIF in reports/ and are gated against the checked-in baseline
# BASELINE (default ci/baselines/static-analysis.json): only findings not in it count, and the
# task fails when the new ones of a level number more than MAX_NEW_ERRORS (default 0),
# MAX_NEW_WARNINGS (default 0) or MAX_NEW_NOTES (default -1: not gated). A tool that is missing
# or crashes, no .clang-tidy, or a project CMake cannot configure fails the task with that reason.
set -eu
work=$PWD
scripts=$(cd "$(dirname "$0")" && pwd)
mkdir -p reports
fail() { echo "static analysis FAILED: $*"; exit 1; }
# Why a tool stopped, from its exit status: past 128 a signal killed it (a crash).
why() {
  if [ "$1" -gt 128 ] && sig=$(kill -l "$(($1 - 128))" 2>/dev/null); then echo "crashed (killed by signal SIG$sig)"; else echo "exited with status $1"; fi
}
for tool in cppcheck clang-tidy cmake python3 jq; do
  command -v "$tool" >/dev/null || fail "$tool is not installed on the worker (apt-get install $tool)"
done
cd source
paths=""
for p in ${SCAN_PATHS:-src include}; do [ -e "$p" ] && paths="$paths $p"; done
[ -n "$paths" ] || fail "none of SCAN_PATHS (${SCAN_PATHS:-src include}) exists in the repository: set SCAN_PATHS to the directories with your code"
[ -f .clang-tidy ] || fail "no .clang-tidy at the repository's root: clang-tidy would check nothing; add one (baton init writes a starter)"
echo "scanning:$paths"

echo "cppcheck $(cppcheck --version | cut -d' ' -f2)"
status=0
# shellcheck disable=SC2086
cppcheck --enable=warning,style,performance,portability --std=c++20 --inline-suppr \
  --suppress=missingIncludeSystem --quiet --xml $paths 2>"$work/reports/cppcheck.xml" || status=$?
[ "$status" = 0 ] || fail "cppcheck $(why "$status") before finishing its report; its output: reports/cppcheck.xml"
python3 "$scripts/findings.py" cppcheck-to-sarif "$work/reports/cppcheck.xml" "$work/reports/cppcheck.sarif" || fail "cppcheck's report is unusable"

echo "clang-tidy $(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n1)"
# compile_commands.json for clang-tidy (configure only: nothing is built here).
cmake -S . -B "$work/tidy-build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$work/reports/cmake-configure.log" 2>&1 ||
  { cat "$work/reports/cmake-configure.log"; fail "cmake could not configure the project for clang-tidy (log above)"; }
# The translation units under the scanned paths; headers follow .clang-tidy's HeaderFilterRegex.
: >"$work/tidy-files"
for p in $paths; do
  jq -r '.[].file' "$work/tidy-build/compile_commands.json" | grep -F "$PWD/$p/" >>"$work/tidy-files" || true
done
sort -u -o "$work/tidy-files" "$work/tidy-files"
echo "clang-tidy over $(wc -l <"$work/tidy-files") translation units"
status=0
# One clang-tidy per file, JOBS at a time. xargs: 123 = some file had error-level findings
# (findings, gated below); 124/125 = clang-tidy crashed or was killed.
xargs -P "${JOBS:-2}" -n 1 clang-tidy -p "$work/tidy-build" --quiet <"$work/tidy-files" \
  >"$work/reports/clang-tidy.txt" 2>"$work/reports/clang-tidy.stderr" || status=$?
if [ "$status" != 0 ] && [ "$status" != 123 ]; then
  tail -n 20 "$work/reports/clang-tidy.stderr"
  # xargs says which signal ("terminated by signal 11") or that it exited with 255.
  reason=$(grep -m1 -o 'terminated by signal [0-9]*\|exited with status 255' "$work/reports/clang-tidy.stderr" || echo "xargs status $status")
  fail "clang-tidy crashed ($reason); its stderr: reports/clang-tidy.stderr"
fi
python3 "$scripts/findings.py" clang-tidy-to-sarif "$work/reports/clang-tidy.txt" "$work/reports/clang-tidy.sarif" --root "$PWD" || fail "clang-tidy's output is unusable"

status=0
python3 "$scripts/findings.py" gate --stage "static analysis" --baseline "${BASELINE:-ci/baselines/static-analysis.json}" \
  --max "error=${MAX_NEW_ERRORS:-0}" --max "warning=${MAX_NEW_WARNINGS:-0}" --max "note=${MAX_NEW_NOTES:--1}" \
  --write-baseline "$work/reports/baseline.json" "$work/reports/cppcheck.sarif" "$work/reports/clang-tidy.sarif" || status=$?
echo "reports: $(ls "$work/reports" | tr '\n' ' ')"
[ "$status" = 2 ] && fail "the findings could not be gated (see the error above)"
[ "$status" = 0 ] || exit 1
echo "static analysis passed"
