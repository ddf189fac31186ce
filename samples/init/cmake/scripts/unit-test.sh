#!/bin/sh
# Runs the project's CTest tests in the build tree the compile stage made. That tree names
# /tmp/project/source and /tmp/project/build in absolute paths (see compile.sh), so the same two
# symlinks in this task's private /tmp, to this task's copies of `source` and the tree, make it
# run unchanged: nothing is rebuilt, and nothing in the project has to know about the pipeline.
set -eu
work=$PWD
mkdir -p reports /tmp/project
[ -f build/tree/CTestTestfile.cmake ] || { echo "unit tests FAILED: the build tree has no CTestTestfile.cmake: call enable_testing() and add_test() in CMakeLists.txt"; exit 1; }
ln -sfn "$work/source" /tmp/project/source
ln -sfn "$work/build/tree" /tmp/project/build
status=0
ctest --test-dir /tmp/project/build --output-on-failure -j "${JOBS:-2}" \
  --output-junit "$work/reports/junit.xml" || status=$?
cases=$(grep -c '<testcase' reports/junit.xml 2>/dev/null || true)
echo "JUnit report: reports/junit.xml (${cases:-0} test cases)"
[ "${cases:-0}" != 0 ] || { echo "unit tests FAILED: ctest found no tests: add_test() them in CMakeLists.txt"; exit 1; }
[ "$status" = 0 ] || echo "unit tests FAILED"
exit "$status"
