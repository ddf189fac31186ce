#!/usr/bin/env bash
# Every figure of the speed targets (docs/benchmarks.md, "Every figure in one sitting") in one
# run, beside make: the client's start (bench_start), `baton run` on W1-W4 with make -j2 on the
# same commands (bench_engine), W1 again with its tasks unsandboxed (the engine's own share of
# W1, once the sandbox and its network are taken away: not a target, a guide to where W1's time
# goes), and the server: idle RSS, W5 through the API, the CLI and a signed webhook, W1-W4
# through the API, W4 with ten followers, RSS once quiet, and W3 with 100,000 finished builds in
# the store (bench_server). Each part prints the load average at its start; run it on a quiet
# machine, the figures move with the load.
#
#   bench/speed.sh [BUILD_DIR [SCRATCH_DIR]]   # default build and $TMPDIR or /tmp; ~75 s at rest
#
# SCRATCH_DIR holds every data dir, repository and temporary file the benches make. Its
# filesystem shows in the figures: on an ext4 without a journal (these VMs' root), each new
# inode is found by scanning the inodes deleted in the last seconds to minutes, so anything that
# creates files (a build's directories, a checkout) slows with what the machine deleted
# recently. bench_engine therefore waits (up to 7 minutes, printed) before its first workload
# until a file's creation there is back at rest, and prints that figure before each workload;
# bench/journaled_scratch.sh makes a journaled ext4 to compare (docs/benchmarks.md).
set -euo pipefail
build=${1:-build}
bin=$build/bin
if [[ -n ${2:-} ]]; then export TMPDIR=$2; fi
scratch=${TMPDIR:-/tmp}
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
read -r source fstype < <(findmnt -no SOURCE,FSTYPE -T "$scratch")
journal=""
if [[ $fstype == ext4 ]]; then
  journal=", no journal"
  compgen -G "/proc/fs/jbd2/$(basename "$source")-*" >/dev/null && journal=", journaled"
fi
echo "scratch: $scratch on $source ($fstype$journal)"
part bench_start
"$bin/bench_start" --runs 200
# bench_engine's data dirs (thousands of inodes: W3's builds, W4's logs) are removed at the end,
# not by bench_engine itself: removed between the parts, they slowed every file bench_server's
# baton created for the next minute or so on an ext4 without a journal (above), the signed
# webhook's checkout among them (docs/benchmarks.md, fifteenth stop).
engine_dirs=$(mktemp -d "$scratch/speed-engine.XXXXXX")
trap 'rm -rf "$engine_dirs"' EXIT
part bench_engine
"$bin/bench_engine" --runs 11 --baton "$bin/baton" --keep "$engine_dirs"
part "bench_engine, W1 unsandboxed (the engine alone; not a target)"
"$bin/bench_engine" --runs 11 --only W1 --unsandboxed --baton "$bin/baton" \
  --keep "$engine_dirs/unsandboxed"
part bench_server
"$bin/bench_server"
part end
