#!/bin/sh
# flawfinder over source/src: every hit (risk level 1-5) goes into the reports; any hit at
# level FAIL_LEVEL (default 4) or above fails the task.
set -eu
level=${FAIL_LEVEL:-4}
mkdir -p reports
echo "flawfinder $(flawfinder --version), failing at risk level $level and above"
flawfinder --sarif --minlevel=1 source/src >reports/flawfinder.sarif
flawfinder --html --minlevel=1 source/src >reports/flawfinder.html
status=0
flawfinder --minlevel=1 --columns --error-level="$level" source/src >reports/flawfinder.txt || status=$?
sed -n '/^FINAL RESULTS/,/^ANALYSIS SUMMARY/p' reports/flawfinder.txt | grep -v '^ANALYSIS SUMMARY' || true
grep -E '^Hits@level' reports/flawfinder.txt || true
if [ "$status" != 0 ]; then echo "secure coding FAILED: a hit at risk level $level or above"; exit 1; fi
echo "secure coding passed: no hit at risk level $level or above"
