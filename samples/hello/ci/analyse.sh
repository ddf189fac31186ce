#!/bin/sh
# Static analysis: cppcheck when installed; fails on error-level findings.
set -eu
if ! command -v cppcheck >/dev/null; then echo "cppcheck not installed; skipping"; exit 0; fi
cppcheck --error-exitcode=1 --enable=warning,style --inline-suppr --quiet source/*.cpp
echo "cppcheck: no errors"
