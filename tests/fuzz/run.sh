#!/usr/bin/env bash
# Runs a libFuzzer target for a while, seeded with Concourse's own pipeline and task files.
# Usage: tests/fuzz/run.sh FUZZER_BINARY [SECONDS]   (from the repository root, as `make fuzz` does)
set -euo pipefail
fuzzer=${1:?usage: run.sh FUZZER_BINARY [SECONDS]}
seconds=${2:-60}
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${BATON_SHARED_DIR:-$repo/../shared}
work=$(dirname "$fuzzer")/fuzz-work
corpus=$work/corpus
artifacts=$work/artifacts
mkdir -p "$corpus" "$artifacts"
seeds=0
for f in "$shared"/conformance/concourse/*.yml; do
  [ -e "$f" ] || continue
  cp -f "$f" "$corpus/"
  seeds=$((seeds + 1))
done
echo "fuzz: $fuzzer for ${seconds}s, $seeds seed files, corpus $corpus"
# Sanitizers should report leaks and errors; a finding exits non-zero and leaves a crash-* file.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$fuzzer" "$corpus" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" -print_final_stats=1
