#!/usr/bin/env bash
# `make demo`: the seed pipeline (samples/seed) on a real Baton server, end to end.
#
#   source -> compile -> static-analysis + unit-test + secure-coding -> deploy (3 cf pushes)
#
# Makes a git repository from samples/seed/app, starts a Cloud Foundry stand-in
# (baton-fake-cf) and `baton quickstart` on free ports, logs in, sets the pipeline, shows every
# job live, checks the three deployed apps answer HTTP, then commits a change and shows the
# pipeline build and deploy it again by itself. The server and the stand-in keep running.
#
# Usage: samples/demo.sh [path/to/baton]     (BATON_DEMO_DIR=DIR to choose the demo directory)
# Exit status: 0 when everything worked; non-zero (with the reason) otherwise.
set -euo pipefail

BATON=$(realpath "${1:-build/bin/baton}")
FAKE_CF=${BATON_FAKE_CF:-$(dirname "$BATON")/baton-fake-cf}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Not under /tmp: every task gets a private /tmp in its sandbox.
DEMO=${BATON_DEMO_DIR:-$(mktemp -d /var/tmp/baton-demo-XXXXXX)}
DEMO=$(mkdir -p "$DEMO" && cd "$DEMO" && pwd)
REPO="$DEMO/seed-app"
TARGET=seed-demo
PIPELINE=seed
JOBS=(source compile static-analysis unit-test secure-coding deploy)
JOB_DEADLINE=${BATON_DEMO_JOB_DEADLINE:-900}  # seconds a job may take to start and finish
CF_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD="" PLAIN=""; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
die() { printf '\ndemo FAILED: %s\n(logs and data in %s)\n' "$*" "$DEMO" >&2; exit 1; }
b() { "$BATON" "$@"; }

for tool in git cmake ninja cppcheck clang-tidy flawfinder curl jq; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run .ci/install-deps.sh)"
done
[ -x "$BATON" ] || die "no baton binary at $BATON (make build)"
[ -x "$FAKE_CF" ] || die "no Cloud Foundry stand-in at $FAKE_CF (build the baton-fake-cf target)"
DEMO_START=$(date +%s)
say "baton $(b --version | cut -d' ' -f2): demo in $DEMO"

# Waits up to $2 seconds for file $1 to exist and be non-empty.
wait_for_file() {
  local deadline=$(($(date +%s) + $2))
  until [ -s "$1" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

make_repository() {
  say "a git repository with the sample app: $REPO"
  rm -rf "$REPO" && mkdir -p "$REPO/ci"
  cp -r "$ROOT/samples/seed/app/." "$REPO/"
  cp -r "$ROOT/samples/seed/ci/tasks" "$ROOT/samples/seed/ci/scripts" "$REPO/ci/"
  git -C "$REPO" init -q -b main
  git -C "$REPO" add -A
  git -C "$REPO" -c user.name="Seed Demo" -c user.email=demo@example.com commit -qm "seed: first commit"
  git -C "$REPO" log --oneline
}

start_cloud_foundry() {
  say "a Cloud Foundry stand-in (baton-fake-cf; no real Cloud Foundry runs on this machine)"
  mkdir -p "$DEMO/cf"
  setsid "$FAKE_CF" --data-dir "$DEMO/cf" --listen 127.0.0.1:0 --tls --user admin \
    --password "$CF_PASSWORD" --org baton-org --space demo >"$DEMO/cf.log" 2>&1 </dev/null &
  echo $! >"$DEMO/cf.pid"
  wait_for_file "$DEMO/cf/api-url" 30 || die "baton-fake-cf did not start: $(tail -5 "$DEMO/cf.log")"
  CF_API=$(head -n1 "$DEMO/cf/api-url")
  CF_CA="$DEMO/cf/tls-cert.pem"  # made by the stand-in at start; the pipeline trusts it
  echo "Cloud Foundry API (stand-in): $CF_API   org baton-org, space demo, user admin"
  echo "TLS certificate (its own CA): $CF_CA"
}

start_baton() {
  say "baton quickstart (API, scheduler and a local worker in one process)"
  setsid "$BATON" quickstart --bind 127.0.0.1:0 --data-dir "$DEMO/baton" \
    >"$DEMO/baton.log" 2>&1 </dev/null &
  echo $! >"$DEMO/baton.pid"
  wait_for_file "$DEMO/baton/server-url" 60 || die "baton did not start: $(tail -5 "$DEMO/baton.log")"
  URL=$(head -n1 "$DEMO/baton/server-url")
  echo "server: $URL (log: $DEMO/baton.log)"
  b login -c "$URL" --token "$(head -n1 "$DEMO/baton/admin-token")" -t "$TARGET"
}

set_pipeline() {
  say "baton set-pipeline -p $PIPELINE -c samples/seed/ci/pipeline.yml (credentials as vars)"
  b graph -c "$ROOT/samples/seed/ci/pipeline.yml" -v repo="$REPO"
  b set-pipeline -t "$TARGET" -p "$PIPELINE" -c "$ROOT/samples/seed/ci/pipeline.yml" -n \
    -v repo="$REPO" -v cf_api="$CF_API" -v cf_org=baton-org -v cf_space=demo \
    -v cf_username=admin -v cf_password="$CF_PASSWORD" -v cf_domain=apps.baton.local \
    -v cf_ca_cert="$(cat "$CF_CA")" \
    -v app_bind=127.0.0.1 >"$DEMO/set-pipeline.log" || die "set-pipeline: $(cat "$DEMO/set-pipeline.log")"
  echo "pipeline $PIPELINE set: the scheduler checks its git resource now and every 5s, and"
  echo "the new commit triggers the job \`source\` (trigger: true); the rest follow through passed:"
}

# How many builds job $1 has.
build_count() {
  b builds -t "$TARGET" -j "$PIPELINE/$1" --json 2>/dev/null | jq 'length' 2>/dev/null || echo 0
}

# Waits for build number $2 of job $1 to exist, then streams it live; fails unless it succeeded.
watch_build() {
  local job=$1 name=$2 deadline=$(($(date +%s) + JOB_DEADLINE))
  until [ "$(build_count "$job")" -ge "$name" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "job $job did not start build #$name in ${JOB_DEADLINE}s"
    sleep 0.5
  done
  say "baton watch -j $PIPELINE/$job -b $name"
  b watch -t "$TARGET" -j "$PIPELINE/$job" -b "$name" || die "$PIPELINE/$job #$name did not succeed"
}

watch_pipeline() {
  for job in "${JOBS[@]}"; do watch_build "$job" "$1"; done
}

# Prints a JSON app list from the stand-in and checks that every app answers HTTP.
check_apps() {
  local expect_version=$1 apps url name path body
  say "the three apps, pushed by the deploy job (GET $CF_API/fake/apps)"
  apps=$(curl -fsS --cacert "$CF_CA" "$CF_API/fake/apps") || die "cannot list the stand-in's apps"
  echo "$apps" | jq -r '.[] | "\(.name) \(.state) \(.url)"' | while read -r n s u; do
    printf '  %-12s %-9s %s\n' "$n" "$s" "$u"
  done
  for name in seed-api seed-admin seed-user; do
    url=$(echo "$apps" | jq -r --arg n "$name" '.[] | select(.name == $n) | .url')
    [ -n "$url" ] && [ "$url" != null ] || die "app $name was not pushed"
    [[ $url == http* ]] || url="http://$url"
    case $name in
      seed-api) path=/api/v1/seeds/basil ;;
      *) path=/ ;;
    esac
    echo "--- curl $url$path"
    body=$(curl -fsS --max-time 5 "$url$path") || die "app $name does not answer at $url$path"
    echo "${body:0:400}"
    body=$(curl -fsS --max-time 5 "$url/") || die "app $name does not answer at $url/"
    [[ $body == *"$expect_version"* ]] || die "app $name does not serve version $expect_version"
  done
  APPS=$apps
}

# Downloads the newest version of artifact resource $1 into $DEMO/reports/$1, over the API.
restore_reports() {
  local resource=$1 out="$DEMO/reports/$1"
  rm -rf "$out"
  b download-artifact -t "$TARGET" -r "$PIPELINE/$resource" -o "$out" >/dev/null || return 0
  echo "  $out/: $(cd "$out" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')"
}

# Prints every build of every job with its duration (from the API's RFC 3339 times).
durations() {
  say "builds (baton builds -t $TARGET -j $PIPELINE/JOB)"
  printf '%-16s %-6s %-10s %s\n' JOB BUILD STATUS DURATION
  for job in "${JOBS[@]}"; do
    b builds -t "$TARGET" -j "$PIPELINE/$job" --json | jq -r --arg j "$job" '
      def secs: (sub("\\.[0-9]+"; "") | fromdateiso8601)
        + ((capture("\\.(?<f>[0-9]+)").f // "0") | "0." + . | tonumber);
      reverse[] | "\($j) #\(.name) \(.status) " +
        (if .end_time != "" and .start_time != "" then
           "\((.end_time | secs) - (.start_time | secs) | . * 10 | round / 10)s" else "-" end)' |
      while read -r j n s d; do printf '%-16s %-6s %-10s %s\n' "$j" "$n" "$s" "$d"; done
  done
}

second_commit() {
  say "a second commit (version 1.1.0): the pipeline runs again by itself"
  sed -i 's/project(seed VERSION 1.0.0/project(seed VERSION 1.1.0/' "$REPO/CMakeLists.txt"
  git -C "$REPO" -c user.name="Seed Demo" -c user.email=demo@example.com \
    commit -qam "seed: release 1.1.0"
  git -C "$REPO" log --oneline -n1
}

make_repository
start_cloud_foundry
start_baton
set_pipeline
watch_pipeline 1
check_apps 1.0.0
FIRST_DONE=$(date +%s)
second_commit
watch_pipeline 2
check_apps 1.1.0

say "reports kept as artifacts (baton download-artifact -r $PIPELINE/RESOURCE -o DIR)"
for r in static-analysis-reports unit-test-reports secure-coding-reports; do restore_reports "$r"; done
durations

cat <<EOF

== demo done in $(($(date +%s) - DEMO_START))s (first commit deployed after $((FIRST_DONE - DEMO_START))s)
Everything is in $DEMO. Look around:
  $BATON builds -t $TARGET                         # history of every job
  $BATON watch -t $TARGET -j $PIPELINE/unit-test           # a build's log (-b N for build N)
  $BATON artifacts -t $TARGET -r $PIPELINE/unit-test-reports
  $BATON write-baseline -t $TARGET -r $PIPELINE/static-analysis-reports -o ci/baselines/static-analysis.json
  ls $DEMO/reports/*                     # JUnit XML, cppcheck/clang-tidy, flawfinder SARIF+HTML
  $URL/api/v1  (API; token in $DEMO/baton/admin-token)
  apps: $(echo "$APPS" | jq -r '[.[] | "\(.name) \(.url)"] | join(", ")')
Commit to $REPO and the pipeline builds and deploys again within seconds.
The server and the Cloud Foundry stand-in keep running. Stop them with:
  kill $(cat "$DEMO/baton.pid") $(cat "$DEMO/cf.pid")

${BOLD}Web UI: $URL/teams/main/pipelines/$PIPELINE${PLAIN}
Log in with the token: $(head -n1 "$DEMO/baton/admin-token")
EOF
