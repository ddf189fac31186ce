#!/bin/sh
set -eu
binaries/greeting_test
binaries/hello "$GREETEE"
