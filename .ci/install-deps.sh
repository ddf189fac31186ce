#!/usr/bin/env bash
# Installs the Debian 12 packages Baton needs, only those that are missing. Idempotent.
# The lists live in .ci/packages/*.txt (one file per area; '#' starts a comment).
set -euo pipefail
cd "$(dirname "$0")"
mapfile -t PKGS < <(sed 's/#.*//' packages/*.txt | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
# Several builds on one machine may install at once: wait for dpkg's lock instead of failing.
APT=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${APT[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}"
