#!/bin/sh
# Runs the tests that the compile stage compiled: its target/ is put beside this task's copy of
# the sources and `mvn surefire:test` runs them without compiling anything again. JUnit XML (the
# surefire reports) goes to reports/.
set -eu
work=$PWD
stage="unit tests"
. "$(dirname "$0")/maven-settings.sh"
mkdir -p reports
[ -d build/target/test-classes ] || { echo "unit tests FAILED: the compile stage built no test classes (no src/test/java?)"; exit 1; }
rm -rf source/target && cp -r build/target source/target
status=0
# shellcheck disable=SC2086
(cd source && mvn -B -ntp -s "$work/settings.xml" ${MAVEN_ARGS:-} surefire:test) || status=$?
cp source/target/surefire-reports/*.xml reports/ 2>/dev/null || true
cases=$(cat reports/*.xml 2>/dev/null | grep -c '<testcase' || true)
echo "JUnit reports: reports/ (${cases:-0} test cases)"
[ "$status" = 0 ] || echo "unit tests FAILED"
exit "$status"
