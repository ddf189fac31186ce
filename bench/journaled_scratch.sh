#!/usr/bin/env bash
# A journaled ext4 to run the benches on (bench/speed.sh's SCRATCH_DIR), for comparison with a
# root filesystem without a journal: an image file loop-mounted. Needs root.
#
#   bench/journaled_scratch.sh up [IMAGE [MOUNT]]    # prints the scratch dir to pass on
#   bench/journaled_scratch.sh down [IMAGE [MOUNT]]
set -euo pipefail
action=${1:-up}
image=${2:-/var/tmp/baton-bench-ext4.img}
mnt=${3:-/mnt/baton-bench}
case $action in
  up)
    if ! mountpoint -q "$mnt"; then
      mkdir -p "$mnt"
      [[ -f $image ]] || { truncate -s 8G "$image" && mkfs.ext4 -q -F "$image"; }
      mount -o loop "$image" "$mnt"
    fi
    install -d -m 1777 "$mnt/tmp"
    echo "$mnt/tmp"
    ;;
  down)
    if mountpoint -q "$mnt"; then umount "$mnt"; fi
    rm -f "$image"
    ;;
  *)
    echo "journaled_scratch.sh: up or down, not '$action'" >&2
    exit 2
    ;;
esac
