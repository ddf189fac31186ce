#!/bin/sh
# CMake build (Release, Ninja, ccache in the task cache when installed). Puts into binaries/:
#   app/seed-server   what `cf push` uploads (path: binaries/app)
#   tests/seed_tests  the GoogleTest binary the unit-test job runs
#   manifest.yml      the cf manifest, one app per role through ((role)) and ((domain))
set -eu
work=$PWD
launcher=""
if command -v ccache >/dev/null; then
  export CCACHE_DIR="$work/ccache" CCACHE_BASEDIR="$work" CCACHE_NOHASHDIR=1
  launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
cmake -S source -B build -G Ninja -DCMAKE_BUILD_TYPE=Release $launcher >/dev/null
cmake --build build -j "${JOBS:-2}"
mkdir -p binaries/app binaries/tests
cp build/seed-server binaries/app/
cp build/seed_tests binaries/tests/
cat > binaries/manifest.yml <<'MANIFEST'
---
applications:
- name: seed-((role))
  command: ./seed-server --role ((role))
  buildpacks: [binary_buildpack]
  memory: 64M
  instances: 1
  routes:
  - route: seed-((role)).((domain))
  env:
    SEED_ROLE: ((role))
MANIFEST
echo "commit $(cat source/.git/ref 2>/dev/null || echo unknown)" > binaries/BUILD_INFO
if [ -n "$launcher" ]; then ccache --show-stats 2>/dev/null | grep -iE 'hits|misses' | head -3 || true; fi
ls -l binaries/app binaries/tests
