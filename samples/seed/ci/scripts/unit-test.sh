#!/bin/sh
# Runs the seed_tests binary that the compile job built, through ctest, with a JUnit report.
set -eu
work=$PWD
mkdir -p reports
cmake -S source -B build -DSEED_PREBUILT_TESTS="$work/binaries/tests" >/dev/null
status=0
ctest --test-dir build --output-on-failure --output-junit "$work/reports/junit.xml" || status=$?
echo "JUnit report: reports/junit.xml ($(grep -c '<testcase' reports/junit.xml || true) test cases)"
exit "$status"
