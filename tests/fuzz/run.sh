#!/usr/bin/env bash
# Runs a libFuzzer target for a while, seeded with the shared conformance data: Concourse's own
# pipeline and task files, or real forges' webhook payloads.
# Usage: tests/fuzz/run.sh FUZZER_BINARY [SECONDS]   (from the repository root, as `make fuzz` does)
set -euo pipefail
fuzzer=${1:?usage: run.sh FUZZER_BINARY [SECONDS]}
seconds=${2:-60}
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${BATON_SHARED_DIR:-$repo/../shared}
work=$(dirname "$fuzzer")/fuzz-work/$(basename "$fuzzer")
corpus=$work/corpus
artifacts=$work/artifacts
mkdir -p "$corpus" "$artifacts"
seeds=0
case "$(basename "$fuzzer")" in
  fuzz_webhooks)
    # The target's first byte picks the forge and event (fuzz_webhooks.cpp's kDeliveries):
    # github 0, gitea 2, gitlab 4, bitbucket 6 (cloud) / 7 (server).
    for f in "$shared"/conformance/webhooks/*.json; do
      [ -e "$f" ] || continue
      case "$(basename "$f")" in
        github-*) sel='\x00' ;; gitea-*) sel='\x02' ;; gitlab-*) sel='\x04' ;;
        bitbucket-cloud-*) sel='\x06' ;; bitbucket-*) sel='\x07' ;; *) continue ;;
      esac
      { printf "$sel"; cat "$f"; } >"$corpus/$(basename "$f")"
      seeds=$((seeds + 1))
    done ;;
  fuzz_api)
    # fuzz_api.cpp's input: a route byte (kRoutes), a path/query line, a header line, the body.
    i=0
    for f in "$shared"/conformance/concourse/*.yml; do
      [ -e "$f" ] || continue
      # PUT .../config and validate take {"config": "<yaml>"} (api_pipelines.cpp).
      { printf '\x00p%d\n1\n' "$i"; jq -Rs '{config: .}' "$f"; } >"$corpus/config-$i"
      { printf '\x01\n\n'; jq -Rs '{config: .}' "$f"; } >"$corpus/validate-$i"
      i=$((i + 1)); seeds=$((seeds + 2))
    done
    for f in "$shared"/conformance/webhooks/github-*.json; do
      [ -e "$f" ] || continue
      { printf '\x0bgithub\nsha256=00\n'; cat "$f"; } >"$corpus/hook-$(basename "$f")"
      seeds=$((seeds + 1))
    done
    printf '\x02p\n\n{"paused":true}' >"$corpus/pause"
    printf '\x03?limit=5&since=2\n\n' >"$corpus/builds"
    printf '\x04%s\n\n' 1 >"$corpus/build"
    printf '\x05?limit=10\n\n' >"$corpus/versions"
    printf '\x06%s\n\n' 1 >"$corpus/pin"
    printf '\x07r\n\n{"from":{"ref":"x"}}' >"$corpus/check"
    printf '\x08j\n\n{"params":{"a":1}}' >"$corpus/trigger"
    printf '\x0a\n\n{"token":"x"}' >"$corpus/session"
    printf '\x0c?webhook_token=hook\n\n{}' >"$corpus/resource-hook"
    seeds=$((seeds + 9)) ;;
  fuzz_layers)
    # Image layers made here with GNU tar: links in and out of the root, a whiteout, an opaque
    # directory, a device node, as plain tar, gzip and zstd, and two layers in one input
    # (fuzz_layers.cpp's separator).
    tree=$(mktemp -d)
    mkdir -p "$tree/l1/etc/conf.d" "$tree/l1/usr/bin" "$tree/l2/etc/conf.d"
    echo root:x:0:0 >"$tree/l1/etc/passwd"
    echo one >"$tree/l1/etc/conf.d/a"
    echo tool >"$tree/l1/usr/bin/tool"
    ln "$tree/l1/usr/bin/tool" "$tree/l1/usr/bin/tool2"
    ln -s ../../../../etc/shadow "$tree/l1/usr/bin/out"
    ln -s /etc "$tree/l1/abs"
    touch "$tree/l2/etc/.wh.passwd" "$tree/l2/etc/conf.d/.wh..wh..opq"
    echo two >"$tree/l2/etc/conf.d/b"
    mknod "$tree/l2/null" c 1 3 2>/dev/null || true
    tar -C "$tree/l1" -cf "$corpus/l1.tar" .
    tar -C "$tree/l2" -cf "$tree/l2.tar" .
    gzip -c "$corpus/l1.tar" >"$corpus/l1.tar.gz"
    zstd -q -c "$corpus/l1.tar" >"$corpus/l1.tar.zst"
    { cat "$corpus/l1.tar"; printf '\n--baton-next-layer--\n'; cat "$tree/l2.tar"; } >"$corpus/l1-l2"
    rm -rf "$tree"
    seeds=4 ;;
  fuzz_volumes)
    # Volume streams: a tree with a file, a directory and a link inside, as plain tar, zstd and
    # gzip (what PackVolume writes is tar + zstd), and streams a peer must refuse, made with
    # Python's tarfile: `..` and absolute names, links out, a hard link to /etc/passwd, a device.
    tree=$(mktemp -d)
    mkdir -p "$tree/v/out/lib"
    echo 'int main() {}' >"$tree/v/main.cpp"
    echo binary >"$tree/v/out/lib/app"
    ln -s lib/app "$tree/v/out/app"
    tar -C "$tree/v" -cf "$corpus/volume.tar" .
    zstd -q -c "$corpus/volume.tar" >"$corpus/volume.tar.zst"
    gzip -c "$corpus/volume.tar" >"$corpus/volume.tar.gz"
    python3 - "$corpus/hostile.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
    def add(name, kind=tarfile.REGTYPE, link="", data=b"x", mode=0o644):
        i = tarfile.TarInfo(name); i.type = kind; i.linkname = link; i.mode = mode
        i.size = len(data) if kind == tarfile.REGTYPE else 0
        t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    add("ok/file"); add("../escape"); add("/abs"); add("ok/setuid", mode=0o4755)
    add("up", tarfile.SYMTYPE, "../.."); add("up/through"); add("abs", tarfile.SYMTYPE, "/etc")
    add("hard", tarfile.LNKTYPE, "/etc/passwd"); add("dev", tarfile.CHRTYPE)
PY
    rm -rf "$tree"
    seeds=4 ;;
  *)
    # Pipelines and task files (fuzz_pipeline loads each input as both).
    for f in "$shared"/conformance/concourse/*.yml; do
      [ -e "$f" ] || continue
      cp -f "$f" "$corpus/"
      seeds=$((seeds + 1))
    done ;;
esac
echo "fuzz: $fuzzer for ${seconds}s, $seeds seed files, corpus $corpus"
# Sanitizers should report leaks and errors; a finding exits non-zero and leaves a crash-* file.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$fuzzer" "$corpus" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" -print_final_stats=1
