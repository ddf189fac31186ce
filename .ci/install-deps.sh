#!/usr/bin/env bash
# Installs the Debian 12 packages Baton needs, only those that are missing. Idempotent.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git ccache clang libclang-rt-14-dev
      libgit2-dev libyaml-cpp-dev libboost-dev libboost-filesystem-dev libboost-system-dev
      libsqlite3-dev sqlite3 libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
      nlohmann-json3-dev libssl-dev
      python3-jsonschema python3-yaml cppcheck
      flawfinder clang-tidy jq curl
      libzip-dev
      wrk)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
