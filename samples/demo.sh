#!/usr/bin/env bash
# The main job: validate the sample pipelines (grows into the seed pipeline demo).
set -euo pipefail
BATON=${1:-build/bin/baton}
cd "$(dirname "$0")/.."
"$BATON" --version
