#!/usr/bin/env bash
# Installs the Debian packages afterlaunch needs, only those missing, so a second run is
# instant. `system-deps.sh` installs what the service needs (scripts/apt-packages.txt);
# `system-deps.sh test` adds what the test suite needs (scripts/apt-packages-test.txt).
# Needs root or sudo when anything is missing.
set -euo pipefail
cd "$(dirname "$0")"
lists=(apt-packages.txt)
[ "${1:-}" = "test" ] && lists+=(apt-packages-test.txt)
mapfile -t wanted < <(cat "${lists[@]}" | grep -vE '^\s*(#|$)' || true)
[ ${#wanted[@]} -eq 0 ] && exit 0
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
