#!/bin/sh
# Configures and builds the project with CMake at the fixed paths /tmp/project/source and
# /tmp/project/build: symlinks, in the task's private /tmp, to this task's `source` input and
# to build/tree in its `build` output. CMake and CTest write absolute paths into the build tree
# (CTestTestfile.cmake, test commands, working directories); because every task has its own
# /tmp, the unit-test stage can make the same two symlinks to its own copies and run the tree as
# it is, with no change to the project. The app (APP, a CMake executable target) goes to
# build/app for deploy.
set -eu
work=$PWD
mkdir -p /tmp/project build/tree
ln -sfn "$work/source" /tmp/project/source
ln -sfn "$work/build/tree" /tmp/project/build
launcher=""
if command -v ccache >/dev/null; then
  export CCACHE_DIR="$work/ccache" CCACHE_BASEDIR=/tmp/project CCACHE_NOHASHDIR=1
  launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
fi
generator=""
command -v ninja >/dev/null && generator="-G Ninja"
# shellcheck disable=SC2086
cmake -S /tmp/project/source -B /tmp/project/build $generator \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" $launcher ${CMAKE_ARGS:-}
cmake --build /tmp/project/build -j "${JOBS:-2}"
# Object files are only for linking: the later stages need the binaries and CTest's files.
find build/tree -name '*.o' -delete
if [ -n "${APP:-}" ]; then
  exe=$(find build/tree -type f -name "$APP" -perm -u+x | head -n1)
  [ -n "$exe" ] || { echo "compile FAILED: no executable named $APP in the build tree (set APP in ci/tasks/compile.yml to the CMake target to deploy)"; exit 1; }
  mkdir -p build/app
  cp "$exe" build/app/
  echo "app: build/app/$APP"
fi
echo "commit $(cat source/.git/ref 2>/dev/null || echo unknown)" > build/BUILD_INFO
if [ -n "$launcher" ]; then ccache --show-stats 2>/dev/null | grep -iE 'hits|misses' | head -3 || true; fi
echo "build tree: $(du -sh build/tree | cut -f1)"
