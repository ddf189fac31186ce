#!/bin/sh
# The `source` job: names the commit and checks that it has what the later jobs need.
set -eu
cd source
echo "commit $(cat .git/short_ref 2>/dev/null || echo '?') by $(cat .git/committer 2>/dev/null || echo '?')"
echo "message: $(head -n1 .git/commit_message 2>/dev/null || echo '?')"
missing=0
for path in CMakeLists.txt src tests ci/tasks ci/scripts; do
  if [ ! -e "$path" ]; then echo "missing: $path"; missing=1; fi
done
[ "$missing" = 0 ] || { echo "this does not look like the seed app"; exit 1; }
echo "sources: $(find src -name '*.cpp' | wc -l) .cpp, $(find tests -name '*_test.cpp' | wc -l) test files"
