#!/usr/bin/env bash
# Installs what Nimbus needs on a fresh Debian/Ubuntu machine (run as root):
# system packages first (only the missing ones, so a second run costs nothing),
# then a virtualenv in .venv with the package and the extras named in $1.
set -euo pipefail
cd "$(dirname "$0")/.."

# qemu and its image tools run the guests; genisoimage writes config drives; busybox,
# mtools, syslinux, dosfstools, e2fsprogs and fdisk build the guest image; dnsmasq and
# nftables are the network data plane; the tests log into guests with ssh.
SYSTEM_PACKAGES=(
    python3-venv python3-dev gcc make iproute2
    qemu-system-x86 qemu-utils genisoimage openssh-client
    busybox-static mtools syslinux syslinux-common dosfstools e2fsprogs fdisk
    dnsmasq-base nftables curl procps
)
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
