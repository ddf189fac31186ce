#!/bin/sh
# Compiles the app and its tests into the `binaries` output.
set -eu
cd source
g++ -std=c++17 -O2 -Wall -Wextra -o ../binaries/hello main.cpp greeting.cpp
g++ -std=c++17 -O2 -Wall -Wextra -o ../binaries/greeting_test greeting_test.cpp greeting.cpp
echo "compiled commit $(cat .git/short_ref 2>/dev/null || echo unknown)"
ls -l ../binaries
