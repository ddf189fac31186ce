#!/usr/bin/env bash
# The main job of `make demo`: validate the sample, make a git repository from it, run the whole
# pipeline locally with the server's engine, then commit a change and run again.
set -euo pipefail
BATON=$(realpath "${1:-build/bin/baton}")
cd "$(dirname "$0")/.."
DEMO=${BATON_DEMO_DIR:-$(mktemp -d /tmp/baton-demo-XXXXXX)}
REPO="$DEMO/hello.git-work"
echo "== baton $("$BATON" --version | cut -d' ' -f2): demo in $DEMO"

echo "== validate-pipeline"
"$BATON" validate-pipeline -c samples/hello/pipeline.yml -v repo="$REPO"

echo "== the job graph"
"$BATON" graph -c samples/hello/pipeline.yml -v repo="$REPO"

echo "== a git repository with the sample app"
rm -rf "$REPO" && mkdir -p "$REPO"
cp -r samples/hello/app/. "$REPO/" && cp -r samples/hello/ci "$REPO/ci"
git -C "$REPO" init -q -b main
git -C "$REPO" -c user.name=demo -c user.email=demo@example.com add -A
git -C "$REPO" -c user.name=demo -c user.email=demo@example.com commit -qm "first commit"

echo "== baton run (every job, in DAG order, sandboxed)"
"$BATON" run -c samples/hello/pipeline.yml -v repo="$REPO" --data-dir "$DEMO/data" -p hello

echo "== a second commit, run again"
sed -i 's/hello, /hello again, /' "$REPO/greeting.cpp"
sed -i 's/hello, baton/hello again, baton/; s/hello, world/hello again, world/' "$REPO/greeting_test.cpp"
git -C "$REPO" -c user.name=demo -c user.email=demo@example.com commit -qam "second commit"
"$BATON" run -c samples/hello/pipeline.yml -v repo="$REPO" --data-dir "$DEMO/data" -p hello

echo "== history is in $DEMO/data/baton.db:"
sqlite3 "$DEMO/data/baton.db" \
  "select b.id, j.name, b.name, b.status from builds b join jobs j on j.id = b.job_id order by b.id" \
  2>/dev/null || true
