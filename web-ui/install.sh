#!/bin/sh
# `npm ci` only when package-lock.json changed since the last install here: a rebuild does not
# reinstall, a clean CI clone installs once (from npm's cache in ~/.npm when it has the files).
set -eu
cd "$(dirname "$0")"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat node_modules/.baton-lock-sha256 2>/dev/null || true)
[ "$want" = "$have" ] && touch node_modules/.baton-lock-sha256 && exit 0
npm ci --no-audit --no-fund --prefer-offline --loglevel=error
echo "$want" > node_modules/.baton-lock-sha256
