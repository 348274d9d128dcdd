#!/usr/bin/env bash
# Installs what Nimbus needs on a fresh Debian/Ubuntu machine (run as root):
# system packages first (only the missing ones, so a second run costs nothing),
# then a virtualenv in .venv with the package and the extras named in $1.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(python3-venv python3-dev gcc make iproute2)
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
    .venv/bin/pip install -q --upgrade pip setuptools wheel
fi

# $1: the extras to install with the package, e.g. "cli" or "cli,test".
extra=""
[ -n "${1:-}" ] && extra="[$1]"
stamp=".venv/.installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "install-deps: pip install -e .$extra"
    .venv/bin/pip install -q -e ".$extra"
    touch "$stamp"
fi
