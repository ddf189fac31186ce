#!/bin/sh
# cppcheck and clang-tidy over source/src. Reports go to reports/; the task fails when the
# error-level findings (cppcheck severity "error", clang-tidy checks in .clang-tidy's
# WarningsAsErrors) number more than MAX_ERRORS (default 0).
set -eu
max=${MAX_ERRORS:-0}
mkdir -p reports
# compile_commands.json for clang-tidy (configure only: nothing is built here).
cmake -S source -B build -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null

echo "cppcheck $(cppcheck --version | cut -d' ' -f2)"
cppcheck --enable=warning,style,performance,portability --std=c++20 --inline-suppr \
  --suppress=missingIncludeSystem --quiet --xml --output-file=reports/cppcheck.xml source/src
cppcheck --enable=warning,style,performance,portability --std=c++20 --inline-suppr \
  --suppress=missingIncludeSystem --quiet --template='{file}:{line}: {severity}: {message} [{id}]' \
  source/src 2>&1 | tee reports/cppcheck.txt
cppcheck_errors=$(grep -c 'severity="error"' reports/cppcheck.xml || true)

echo "clang-tidy $(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n1)"
# One clang-tidy per file, JOBS at a time.
ls source/src/*.cpp | xargs -P "${JOBS:-2}" -n 1 clang-tidy -p build --quiet \
  >reports/clang-tidy.txt 2>/dev/null || true
grep -E ': (error|warning):' reports/clang-tidy.txt || true
tidy_errors=$(grep -c ': error:' reports/clang-tidy.txt || true)

total=$((cppcheck_errors + tidy_errors))
echo "error-level findings: cppcheck $cppcheck_errors, clang-tidy $tidy_errors (allowed: $max)"
echo "reports: $(ls reports | tr '\n' ' ')"
if [ "$total" -gt "$max" ]; then echo "static analysis FAILED"; exit 1; fi
echo "static analysis passed"
