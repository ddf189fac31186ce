#!/usr/bin/env bash
# Every figure of the speed targets (docs/benchmarks.md, "Every figure in one sitting") in one
# run, beside make: the client's start (bench_start), `baton run` on W1-W4 with make -j2 on the
# same commands (bench_engine), and the server: idle RSS, W5 through the API, the CLI and a
# signed webhook, W1-W4 through the API, W4 with ten followers, RSS once quiet, and W3 with
# 100,000 finished builds in the store (bench_server). Each part prints the load average at its
# start; run it on a quiet machine, the figures move with the load.
#
#   bench/speed.sh [BUILD_DIR]      # default build; ~6 min on 2 cores
set -euo pipefail
build=${1:-build}
bin=$build/bin
for b in baton bench_start bench_engine bench_server; do
  if [[ ! -x $bin/$b ]]; then
    echo "speed.sh: $bin/$b is missing: build it first (cmake --build $build --target $b)" >&2
    exit 1
  fi
done
part() {
  echo "== $1 $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "speed.sh: $(git describe --always --dirty 2>/dev/null || echo '?') on $(nproc) cores," \
  "$(date -u +%Y-%m-%d)"
part bench_start
"$bin/bench_start" --runs 200
part bench_engine
"$bin/bench_engine" --runs 5 --baton "$bin/baton"
part bench_server
"$bin/bench_server"
part end
