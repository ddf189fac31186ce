#!/bin/sh
# The runner's core (baton_runner_core: build engine, planner, build status and actions) must stay
# pure: no store, no scheduler, no workers, no SQLite, no Boost.Asio, no threads, no clock, no
# processes, no files. Its include paths already keep out Baton's own higher layers; this check
# reads the library's symbols so that system libraries (whose headers every target can see) are
# kept out too.
# Usage: core_purity.sh path/to/libbaton_runner_core.a
set -eu
lib="$1"
[ -f "$lib" ] || { echo "core_purity: $lib does not exist; build the target baton_runner_core first" >&2; exit 2; }
forbidden='sqlite3_|boost::asio|baton::workers::|baton::runner::Scheduler|baton::runner::SqliteStore|baton::runner::BuildExecutor|system_clock::now|steady_clock::now|pthread_create|\bfork\b|\bexecve?\b|\bfopen\b|\bopen64?\b|basic_ifstream|basic_ofstream|\btime\b|\bsleep\b|\bgetenv\b'
found=$(nm -C --undefined-only "$lib" | grep -E "$forbidden" | sort -u || true)
if [ -n "$found" ]; then
  echo "core_purity: $lib uses what the pure core must not (runner/core must do no I/O, see" >&2
  echo "CONVENTIONS.md rule 13); move the code that needs these to runner/src (scheduler/executor):" >&2
  echo "$found" >&2
  exit 1
fi
echo "core_purity: $lib uses no store, scheduler, workers, SQLite, Asio, threads, clock, processes or files"
